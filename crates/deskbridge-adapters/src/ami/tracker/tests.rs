//! The tracker on event sequences; the full scenarios (queues, transfers,
//! reconnects) run through a scripted AMI server in `tests/it/ami.rs`.

use chrono::Utc;
use deskbridge_core::decide::DirectoryAgent;
use deskbridge_core::{CallEvent, Direction, EndReason, EventKind, Phone, Region};

use super::{Tracker, extension_of};
use crate::ami::frame::{Item, parse};

fn tracker() -> Tracker {
    Tracker::new(
        Region::US,
        vec![DirectoryAgent {
            email: "ann@acme.com".into(),
            name: Some("Ann".into()),
            extension: Some("101".into()),
            target: None,
        }],
    )
}

/// Plays `script` (blocks of `Key: Value` lines) and returns the events made.
fn play(t: &mut Tracker, script: &str) -> Vec<CallEvent> {
    let wire: String = script
        .trim()
        .lines()
        .map(|l| format!("{}\r\n", l.trim()))
        .collect();
    let items = parse(format!("Asterisk Call Manager/7.0.3\r\n{wire}\r\n").as_bytes()).unwrap();
    let now = Utc::now();
    items
        .iter()
        .filter_map(|i| match i {
            Item::Frame(f) => Some(t.on_frame(f, now)),
            Item::Banner(_) => None,
        })
        .flatten()
        .collect()
}

#[test]
fn channel_names_give_the_devices_extension() {
    for (channel, ext) in [
        ("PJSIP/101-00000002", Some("101")),
        ("SIP/101-0000000a", Some("101")),
        ("PJSIP/101", Some("101")),
        ("Local/101@from-queue-00000001;1", Some("101")),
        ("Local/101@from-queue/n", Some("101")),
        ("PJSIP/trunk-provider-0000001f", Some("trunk-provider")),
        ("nonsense", None),
    ] {
        assert_eq!(extension_of(channel).as_deref(), ext, "{channel}");
    }
}

#[test]
fn an_agents_call_to_a_customer_is_outbound_and_answered_by_that_agent() {
    let mut t = tracker();
    let events = play(
        &mut t,
        "Event: Newchannel
        Channel: PJSIP/101-00000001
        CallerIDNum: 101
        Exten: 4155550100
        Uniqueid: 1.1
        Linkedid: 1.1

        Event: Newchannel
        Channel: PJSIP/trunk-00000002
        Uniqueid: 1.2
        Linkedid: 1.1

        Event: DialBegin
        Channel: PJSIP/101-00000001
        Uniqueid: 1.1
        Linkedid: 1.1
        DestChannel: PJSIP/trunk-00000002
        DestUniqueid: 1.2
        DestLinkedid: 1.1
        DialString: trunk/4155550100

        Event: DialEnd
        Channel: PJSIP/101-00000001
        Uniqueid: 1.1
        Linkedid: 1.1
        DestChannel: PJSIP/trunk-00000002
        DestUniqueid: 1.2
        DestLinkedid: 1.1
        DialStatus: ANSWER

        Event: Hangup
        Channel: PJSIP/trunk-00000002
        Uniqueid: 1.2
        Linkedid: 1.1
        Cause: 16

        Event: Hangup
        Channel: PJSIP/101-00000001
        Uniqueid: 1.1
        Linkedid: 1.1
        Cause: 16",
    );
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [EventKind::Ringing, EventKind::Answered, EventKind::Ended]
    );
    assert!(events.iter().all(|e| e.call_id == "1.1"));
    assert_eq!(events[0].direction, Some(Direction::Outbound));
    assert_eq!(events[0].to, Some(Phone::E164("+14155550100".into())));
    assert_eq!(
        events[1].agent.as_ref().and_then(|a| a.email.as_deref()),
        Some("ann@acme.com")
    );
    assert_eq!(events[2].reason, Some(EndReason::Completed));
    assert_eq!(events[2].id, "ami:1.1:ended");
    assert_eq!(t.calls_in_progress(), 0);
}

#[test]
fn a_call_between_agents_makes_no_events() {
    let mut t = Tracker::new(
        Region::US,
        vec![
            DirectoryAgent {
                email: "ann@acme.com".into(),
                name: None,
                extension: Some("101".into()),
                target: None,
            },
            DirectoryAgent {
                email: "bob@acme.com".into(),
                name: None,
                extension: Some("102".into()),
                target: None,
            },
        ],
    );
    let events = play(
        &mut t,
        "Event: Newchannel
        Channel: PJSIP/101-00000001
        Exten: 102
        Uniqueid: 2.1
        Linkedid: 2.1

        Event: DialEnd
        Uniqueid: 2.1
        Linkedid: 2.1
        DestChannel: PJSIP/102-00000002
        DestUniqueid: 2.2
        DestLinkedid: 2.1
        DialStatus: ANSWER

        Event: Hangup
        Channel: PJSIP/102-00000002
        Uniqueid: 2.2
        Linkedid: 2.1

        Event: Hangup
        Channel: PJSIP/101-00000001
        Uniqueid: 2.1
        Linkedid: 2.1",
    );
    assert_eq!(events, []);
    assert_eq!(t.calls_in_progress(), 0);
}

#[test]
fn a_busy_dial_ends_busy_and_voicemail_is_told() {
    let mut t = tracker();
    let events = play(
        &mut t,
        "Event: Newchannel
        Channel: PJSIP/trunk-00000001
        CallerIDNum: 4155550100
        Exten: 4155550199
        Uniqueid: 3.1
        Linkedid: 3.1
        Timestamp: 1700000000.250000

        Event: DialEnd
        Uniqueid: 3.1
        Linkedid: 3.1
        DestChannel: PJSIP/101-00000002
        DestUniqueid: 3.2
        DestLinkedid: 3.1
        DialStatus: BUSY

        Event: Hangup
        Channel: PJSIP/101-00000002
        Uniqueid: 3.2
        Linkedid: 3.1
        Cause: 17

        Event: Hangup
        Channel: PJSIP/trunk-00000001
        Uniqueid: 3.1
        Linkedid: 3.1
        Cause: 16",
    );
    assert_eq!(events[0].at.timestamp(), 1_700_000_000);
    assert_eq!(events[0].from, Some(Phone::E164("+14155550100".into())));
    assert_eq!(events.last().unwrap().reason, Some(EndReason::Busy));

    let events = play(
        &mut t,
        "Event: Newchannel
        Channel: PJSIP/trunk-00000003
        CallerIDNum: 4155550100
        Uniqueid: 4.1
        Linkedid: 4.1

        Event: Newexten
        Channel: PJSIP/trunk-00000003
        Uniqueid: 4.1
        Linkedid: 4.1
        Application: VoiceMail
        AppData: 101@default",
    );
    assert_eq!(events[1].kind, EventKind::Voicemail);
}

#[test]
fn fields_past_the_native_bounds_are_not_taken() {
    let mut t = tracker();
    let long_id = "9".repeat(200);
    let events = play(
        &mut t,
        &format!(
            "Event: Newchannel
            Channel: PJSIP/trunk-00000001
            Uniqueid: {long_id}
            Linkedid: {long_id}"
        ),
    );
    assert_eq!(events, []);
    let events = play(
        &mut t,
        &format!(
            "Event: Newchannel
            Channel: PJSIP/trunk-00000001
            CallerIDNum: {}
            Exten: 4155550199
            Uniqueid: 5.1
            Linkedid: 5.1",
            "4".repeat(100)
        ),
    );
    assert_eq!(events[0].from, None);
    assert_eq!(events[0].to, Some(Phone::E164("+14155550199".into())));
}

/// Issue 25, point 7: calls whose hangup never comes are not kept for good.
/// Past its bound the tracker drops the oldest call with its channels, counts
/// it, and goes on tracking new calls (which still end).
#[test]
fn calls_that_never_hang_up_are_dropped_oldest_first_past_the_bound() {
    let mut t = Tracker::with_bounds(Region::US, Vec::new(), 3, 100);
    let ring = |n: usize| {
        format!(
            "Event: Newchannel
            Channel: PJSIP/trunk-{n:08}
            CallerIDNum: 41555501{n:02}
            Exten: 4155550199
            Uniqueid: 9.{n}
            Linkedid: 9.{n}"
        )
    };
    for n in 0..5 {
        let events = play(&mut t, &ring(n));
        assert_eq!(events.len(), 1, "call {n} rings");
    }
    assert_eq!(t.calls_in_progress(), 3);
    assert_eq!(t.take_dropped(), 2, "the two oldest dropped");
    assert_eq!(t.take_dropped(), 0, "counted once");
    // A dropped call's late hangup still ends it, as for a call that began
    // before the tracker (the journal knows it), only without what the tracker
    // had learnt of it; a kept one ends as before.
    let gone = play(
        &mut t,
        "Event: Hangup
        Channel: PJSIP/trunk-00000000
        Uniqueid: 9.0
        Linkedid: 9.0
        Cause: 16",
    );
    assert_eq!(gone.len(), 1, "{gone:?}");
    assert_eq!(gone[0].kind, EventKind::Ended);
    assert_eq!(gone[0].direction, None, "what was known of it is gone");
    let ended = play(
        &mut t,
        "Event: Hangup
        Channel: PJSIP/trunk-00000004
        Uniqueid: 9.4
        Linkedid: 9.4
        Cause: 16",
    );
    assert_eq!(ended.last().map(|e| e.kind), Some(EventKind::Ended));
    assert_eq!(t.calls_in_progress(), 2);
}

/// Channels are bounded too, whatever calls they claim to belong to.
#[test]
fn channels_of_calls_never_seen_are_bounded() {
    let mut t = Tracker::with_bounds(Region::US, Vec::new(), 100, 4);
    for n in 0..10 {
        play(
            &mut t,
            &format!(
                "Event: DialBegin
                Channel: PJSIP/x-{n:08}
                Uniqueid: 7.{n}
                Linkedid: 7.{n}
                DestChannel: PJSIP/y-{n:08}
                DestUniqueid: 8.{n}
                DestLinkedid: 7.{n}"
            ),
        );
    }
    assert!(
        t.channels_kept() <= 4,
        "{} channels kept",
        t.channels_kept()
    );
    assert!(t.take_dropped() >= 6);
}
