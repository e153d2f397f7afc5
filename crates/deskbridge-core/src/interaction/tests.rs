use chrono::{Duration, TimeZone, Utc};

use super::*;

fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap() + Duration::seconds(secs)
}

fn ev(id: &str, kind: EventKind, at: i64) -> CallEvent {
    CallEvent {
        id: id.into(),
        call_id: "c1".into(),
        kind,
        direction: Some(Direction::Inbound),
        from: Some(Phone::E164("+14155550100".into())),
        to: Some(Phone::E164("+14155550199".into())),
        at: t(at),
        agent: None,
        queue: None,
        attributes: BTreeMap::new(),
        reason: None,
        duration_s: None,
        recording_url: None,
        transcript: None,
    }
}

fn ann() -> AgentRef {
    AgentRef {
        email: Some("ann@acme.com".into()),
        name: Some("Ann".into()),
        extension: None,
    }
}

fn answered(id: &str, at: i64, agent: AgentRef) -> CallEvent {
    CallEvent {
        agent: Some(agent),
        ..ev(id, EventKind::Answered, at)
    }
}

fn ended(id: &str, at: i64, reason: EndReason) -> CallEvent {
    CallEvent {
        reason: Some(reason),
        ..ev(id, EventKind::Ended, at)
    }
}

fn recording(id: &str, at: i64, url: &str) -> CallEvent {
    CallEvent {
        recording_url: Some(url.into()),
        ..ev(id, EventKind::Recording, at)
    }
}

/// Plays events in order; returns the interaction and every step handed out.
fn play(events: &[CallEvent], policy: &Policy) -> (Interaction, Vec<Step>) {
    let mut call: Option<Interaction> = None;
    let mut steps = Vec::new();
    for e in events {
        let c = call.get_or_insert_with(|| Interaction::start("default", e).unwrap());
        steps.extend(c.apply(e, policy));
    }
    (call.unwrap(), steps)
}

fn permutations<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first.clone());
            out.push(tail);
        }
    }
    out
}

/// Every order of `events`, and every order with one event sent twice.
fn all_orders(events: &[CallEvent]) -> Vec<Vec<CallEvent>> {
    let mut orders = permutations(events);
    for dup in events {
        let mut with_dup = events.to_vec();
        with_dup.push(dup.clone());
        orders.extend(permutations(&with_dup));
    }
    orders
}

fn count(steps: &[Step], step: Step) -> usize {
    steps.iter().filter(|s| **s == step).count()
}

#[test]
fn an_answered_call_in_order() {
    let p = Policy::default();
    let mut call = Interaction::start("default", &ev("1", EventKind::Ringing, 0)).unwrap();
    assert_eq!(call.apply(&ev("1", EventKind::Ringing, 0), &p), vec![]);
    assert_eq!(call.state(), CallState::Ringing);
    assert_eq!(
        call.apply(&answered("2", 5, ann()), &p),
        vec![Step::IdentifyCaller, Step::OpenTicket]
    );
    assert_eq!(call.state(), CallState::Answered);
    assert_eq!(call.outcome(), None);
    assert_eq!(
        call.apply(&ended("3", 65, EndReason::Completed), &p),
        vec![Step::LogCall]
    );
    assert_eq!(call.state(), CallState::Ended);
    assert_eq!(call.outcome(), Some(Outcome::Answered));
    assert_eq!(call.talk_seconds(), Some(60));
    assert_eq!(
        call.apply(&recording("4", 90, "https://rec/1.mp3"), &p),
        vec![Step::AddRecording]
    );
    // The same recording again adds nothing.
    assert_eq!(
        call.apply(&recording("5", 95, "https://rec/1.mp3"), &p),
        vec![]
    );
}

#[test]
fn a_missed_call_gets_a_ticket_by_default_and_nothing_with_log_only() {
    let events = [
        ev("1", EventKind::Ringing, 0),
        ended("2", 20, EndReason::NoAnswer),
    ];
    let (call, steps) = play(&events, &Policy::default());
    assert_eq!(call.outcome(), Some(Outcome::Missed));
    assert_eq!(
        steps,
        vec![Step::IdentifyCaller, Step::OpenTicket, Step::LogCall]
    );

    let log_only = Policy {
        missed: MissedPolicy::LogOnly,
        ..Policy::default()
    };
    let (_, steps) = play(&events, &log_only);
    assert_eq!(steps, vec![Step::LogCall]);
}

#[test]
fn outcomes_from_reasons() {
    let cases = [
        (EndReason::NoAnswer, false, Outcome::Missed),
        (EndReason::Busy, false, Outcome::Busy),
        (EndReason::Abandoned, false, Outcome::Abandoned),
        (EndReason::Failed, false, Outcome::Failed),
        (EndReason::Rejected, false, Outcome::Failed),
        (EndReason::Completed, false, Outcome::Answered),
        (EndReason::Completed, true, Outcome::Answered),
        (EndReason::NoAnswer, true, Outcome::Answered),
    ];
    for (reason, was_answered, want) in cases {
        let mut events = vec![ev("1", EventKind::Ringing, 0)];
        if was_answered {
            events.push(answered("2", 3, ann()));
        }
        events.push(ended("3", 30, reason));
        let (call, _) = play(&events, &Policy::default());
        assert_eq!(
            call.outcome(),
            Some(want),
            "{reason:?} answered={was_answered}"
        );
    }
}

#[test]
fn ended_without_direction_cannot_start_a_call() {
    let e = CallEvent {
        direction: None,
        ..ended("1", 0, EndReason::Completed)
    };
    assert_eq!(
        Interaction::start("default", &e),
        Err(ApplyError::MissingDirection {
            call_id: "c1".into()
        })
    );
}

/// The state machine's promise: whatever the order, and with any event repeated,
/// the call ends with the same facts, and each step is handed out exactly once.
#[test]
fn every_order_of_an_answered_call_gives_the_same_call() {
    let events = [
        ev("1", EventKind::Ringing, 0),
        answered("2", 4, ann()),
        CallEvent {
            duration_s: Some(61),
            ..ended("3", 65, EndReason::Completed)
        },
        recording("4", 100, "https://rec/1.mp3"),
    ];
    let (reference, _) = play(&events, &Policy::default());
    let orders = all_orders(&events);
    assert_eq!(orders.len(), 24 + 4 * 120);
    for order in orders {
        let (call, steps) = play(&order, &Policy::default());
        let ids: Vec<_> = order.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(call.state(), CallState::Ended, "{ids:?}");
        assert_eq!(call.outcome(), Some(Outcome::Answered), "{ids:?}");
        assert_eq!(call.answered_at, reference.answered_at, "{ids:?}");
        assert_eq!(call.ended_at, reference.ended_at, "{ids:?}");
        assert_eq!(call.ringing_at, reference.ringing_at, "{ids:?}");
        assert_eq!(call.agents, vec![ann()], "{ids:?}");
        assert_eq!(call.talk_seconds(), Some(61), "{ids:?}");
        assert_eq!(call.recording_url.as_deref(), Some("https://rec/1.mp3"));
        assert_eq!(count(&steps, Step::IdentifyCaller), 1, "{ids:?}");
        assert_eq!(count(&steps, Step::OpenTicket), 1, "{ids:?}");
        assert_eq!(count(&steps, Step::LogCall), 1, "{ids:?}");
        assert!(count(&steps, Step::AddRecording) <= 1, "{ids:?}");
        // The ticket is always opened before the call is logged.
        let open = steps.iter().position(|s| *s == Step::OpenTicket).unwrap();
        let log = steps.iter().position(|s| *s == Step::LogCall).unwrap();
        assert!(open < log, "{ids:?}");
        // A recording known when the log step is handed out needs no step of its own.
        let rec_pos = ids.iter().position(|i| *i == "4").unwrap();
        let end_pos = ids.iter().position(|i| *i == "3").unwrap();
        if rec_pos < end_pos {
            assert_eq!(count(&steps, Step::AddRecording), 0, "{ids:?}");
        }
    }
}

#[test]
fn every_order_of_a_voicemail_gives_a_voicemail() {
    let events = [
        ev("1", EventKind::Ringing, 0),
        CallEvent {
            recording_url: Some("https://rec/vm.mp3".into()),
            ..ev("2", EventKind::Voicemail, 25)
        },
        ended("3", 60, EndReason::NoAnswer),
    ];
    for order in all_orders(&events) {
        let (call, steps) = play(&order, &Policy::default());
        assert_eq!(call.outcome(), Some(Outcome::Voicemail));
        assert_eq!(call.recording_url.as_deref(), Some("https://rec/vm.mp3"));
        assert_eq!(count(&steps, Step::OpenTicket), 1);
        assert_eq!(count(&steps, Step::LogCall), 1);
    }
}

#[test]
fn every_order_of_a_missed_call_gives_a_missed_call() {
    let events = [
        ev("1", EventKind::Ringing, 0),
        ended("2", 20, EndReason::NoAnswer),
    ];
    for order in all_orders(&events) {
        let (call, steps) = play(&order, &Policy::default());
        assert_eq!(call.outcome(), Some(Outcome::Missed));
        assert_eq!(steps.len(), 3);
    }
}

#[test]
fn a_transfer_keeps_every_agent_in_order() {
    let bob = AgentRef {
        email: Some("bob@acme.com".into()),
        ..AgentRef::default()
    };
    let events = [
        ev("1", EventKind::Ringing, 0),
        answered("2", 3, ann()),
        answered("3", 40, bob.clone()),
        answered("4", 41, bob.clone()),
        ended("5", 90, EndReason::Completed),
    ];
    let (call, steps) = play(&events, &Policy::default());
    assert_eq!(call.agents, vec![ann(), bob.clone()]);
    assert_eq!(call.last_agent(), Some(&bob));
    assert_eq!(count(&steps, Step::OpenTicket), 1);
}

#[test]
fn outbound_customer_is_the_callee() {
    let e = CallEvent {
        direction: Some(Direction::Outbound),
        from: Some(Phone::E164("+14155550199".into())),
        to: Some(Phone::E164("+442079460958".into())),
        ..ev("1", EventKind::Ringing, 0)
    };
    let (call, _) = play(&[e], &Policy::default());
    assert_eq!(
        call.customer_phone(),
        Some(&Phone::E164("+442079460958".into()))
    );
}

#[test]
fn recorded_outcomes_fill_the_call() {
    let (mut call, _) = play(&[ev("1", EventKind::Ringing, 0)], &Policy::default());
    call.record(&StepOutcome {
        contact_id: Some("7".into()),
        contact_rule: Some("phone_match".into()),
        ..StepOutcome::default()
    });
    call.record(&StepOutcome {
        ticket_id: Some("9".into()),
        ..StepOutcome::default()
    });
    assert_eq!(call.contact_id.as_deref(), Some("7"));
    assert_eq!(call.contact_rule.as_deref(), Some("phone_match"));
    assert_eq!(call.ticket_id.as_deref(), Some("9"));
}
