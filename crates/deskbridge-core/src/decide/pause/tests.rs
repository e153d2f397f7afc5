use super::*;
use crate::decide::wrap_up::tests::t;
use crate::wrap_up::WrapUpRules;

fn directory() -> Vec<DirectoryAgent> {
    vec![
        DirectoryAgent {
            email: "ann@acme.com".into(),
            name: Some("Ann".into()),
            extension: Some("101".into()),
            target: None,
        },
        DirectoryAgent {
            email: "bob@acme.com".into(),
            name: Some("Bob".into()),
            extension: Some("102".into()),
            target: None,
        },
    ]
}

fn member(interface: &str, state: Option<&str>, name: Option<&str>) -> QueueMember {
    QueueMember {
        interface: interface.into(),
        state_interface: state.map(str::to_string),
        member_name: name.map(str::to_string),
        queue: Some("support".into()),
        paused: true,
        reason: Some("Break".into()),
    }
}

fn email(found: Option<&DirectoryAgent>) -> Option<&str> {
    found.map(|d| d.email.as_str())
}

const CHANNEL: Option<&str> = Some("PJSIP/{{ agent.extension }}");

#[test]
fn a_queue_member_is_the_agent_its_interface_names() {
    let d = directory();
    let bob = member("PJSIP/102", None, None);
    assert_eq!(email(agent_of(&bob, &d, CHANNEL)), Some("bob@acme.com"));
    // FreePBX's members are Local channels whose state follows the device
    // (the goami2 capture's `Local/9921-12@from-queue/n`, `SIP/9921-12`).
    let local = member("Local/101@from-queue/n", Some("PJSIP/101"), None);
    assert_eq!(email(agent_of(&local, &d, CHANNEL)), Some("ann@acme.com"));
    assert_eq!(email(agent_of(&local, &d, None)), Some("ann@acme.com"));
    // By the member's name when the interface names no known extension.
    let named = member("SIP/trunk-7", None, Some("Bob"));
    assert_eq!(email(agent_of(&named, &d, CHANNEL)), Some("bob@acme.com"));
    let stranger = member("SIP/999", None, Some("Zed"));
    assert_eq!(agent_of(&stranger, &d, CHANNEL), None);
}

fn ann_paused(reason: &str, source: PauseSource) -> Pause {
    Pause {
        id: 7,
        group: "support".into(),
        agent: "ann@acme.com".into(),
        reason: Some(reason.into()),
        source,
        started_at: t(61),
        until: None,
        ended_at: None,
    }
}

#[test]
fn an_agent_pauses_with_a_reason_and_resumes() {
    let ann = AgentRef {
        email: Some("ann@acme.com".into()),
        name: Some("Ann".into()),
        extension: Some("101".into()),
    };
    let iface = interface(&ann, CHANNEL, "support").unwrap();
    assert_eq!(iface, "PJSIP/101");
    let order = ask(iface.clone(), None, true, Some(" Lunch ")).unwrap();
    let expected = PauseOrder {
        interface: "PJSIP/101".into(),
        paused: true,
        reason: Some("Lunch".into()),
    };
    assert_eq!(order, expected);
    let open = ann_paused("Lunch", PauseSource::Agent);
    assert_eq!(
        ask(iface.clone(), Some(&open), true, Some("Break")),
        Err(PauseRefused::AlreadyPaused("Lunch".into()))
    );
    assert_eq!(
        ask(iface.clone(), None, false, None),
        Err(PauseRefused::NotPaused)
    );
    let resume = ask(iface, Some(&open), false, Some("ignored")).unwrap();
    assert!(!resume.paused && resume.reason.is_none(), "{resume:?}");
    let no_phone = AgentRef {
        extension: None,
        ..ann.clone()
    };
    assert_eq!(
        interface(&no_phone, CHANNEL, "support"),
        Err(PauseRefused::NoExtension)
    );
    assert_eq!(
        interface(&ann, None, "support"),
        Err(PauseRefused::NoQueues("support".into()))
    );
}

fn report(open: Option<&Pause>, paused: bool, reason: Option<&str>, at: i64) -> PauseChange {
    follow(
        "support",
        "ann@acme.com",
        open,
        paused,
        reason,
        PauseSource::Phone,
        t(at),
    )
}

#[test]
fn the_phone_systems_reports_start_change_and_end_pauses_once() {
    let PauseChange::Start(open) = report(None, true, Some("Break"), 0) else {
        panic!("a start")
    };
    assert_eq!(open.reason.as_deref(), Some("Break"));
    assert_eq!(open.source, PauseSource::Phone);
    let open = Pause { id: 3, ..open };
    // The same pause from a second queue, or without its reason: nothing.
    assert_eq!(
        report(Some(&open), true, Some("Break"), 1),
        PauseChange::Nothing
    );
    assert_eq!(report(Some(&open), true, None, 1), PauseChange::Nothing);
    let other = report(Some(&open), true, Some("Lunch"), 60);
    assert!(
        matches!(other, PauseChange::Replace { end: 3, .. }),
        "{other:?}"
    );
    assert_eq!(
        report(Some(&open), false, None, 90),
        PauseChange::End { id: 3, at: t(90) }
    );
    assert_eq!(report(None, false, None, 91), PauseChange::Nothing);
    // deskbridge's own wrap-up pause, reported back, is the wrap-up's.
    let PauseChange::Start(w) = report(None, true, Some("wrap-up"), 0) else {
        panic!("a start")
    };
    assert_eq!(w.source, PauseSource::WrapUp);
}

fn answered_call(pause: bool) -> Interaction {
    let rules = WrapUpRules {
        seconds: 45,
        pause,
        ..WrapUpRules::default()
    };
    crate::decide::wrap_up::tests::call(Some(rules), true)
}

#[test]
fn an_answered_call_pauses_its_agent_for_the_wrap_up_time() {
    let call = answered_call(true);
    let (agent, until) = wrap_up_pause(&call, None).unwrap();
    assert_eq!(agent.extension.as_deref(), Some("101"));
    assert_eq!(until, t(105));
    assert_eq!(wrap_up_pause(&answered_call(false), None), None);
    // Paused already (for lunch): the wrap-up leaves it alone, and never ends it.
    let lunch = ann_paused("Lunch", PauseSource::Agent);
    assert_eq!(wrap_up_pause(&call, Some(&lunch)), None);
    let mut wrapped = call.clone();
    wrapped.wrap_up = Some(crate::wrap_up::WrapUp {
        code: None,
        note: Some("done".into()),
        agent: "ann@acme.com".into(),
        agent_name: None,
        at: t(90),
    });
    assert!(!ended_by_wrap_up(&lunch, &wrapped));
    assert!(!wrap_up_expired(&lunch, t(10_000)));
    let this = Pause {
        until: Some(t(105)),
        ..ann_paused("wrap-up", PauseSource::WrapUp)
    };
    assert!(!ended_by_wrap_up(&this, &call), "not wrapped up yet");
    assert!(ended_by_wrap_up(&this, &wrapped));
    // Another call's wrap-up pause is not this call's to end.
    let other = Pause {
        until: Some(t(500)),
        ..this.clone()
    };
    assert!(!ended_by_wrap_up(&other, &wrapped));
    assert!(!wrap_up_expired(&this, t(100)));
    assert!(wrap_up_expired(&this, t(105)));
}

#[test]
fn paused_time_is_summed_per_reason_within_the_period() {
    let p = |reason: Option<&str>, from: i64, to: Option<i64>| Pause {
        reason: reason.map(str::to_string),
        started_at: t(from),
        ended_at: to.map(t),
        ..ann_paused("", PauseSource::Agent)
    };
    let pauses = [
        p(Some("Lunch"), -600, Some(1800)),
        p(Some("Break"), 2000, Some(2300)),
        p(Some("Break"), 3000, None),
        p(None, 100, Some(160)),
    ];
    assert_eq!(
        time_per_reason(&pauses, t(0), t(3600)),
        vec![
            ("Lunch".to_string(), 1800),
            ("Break".to_string(), 900),
            ("no reason".to_string(), 60)
        ]
    );
}
