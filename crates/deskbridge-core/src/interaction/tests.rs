use chrono::{Duration, TimeZone, Utc};

use super::*;
use crate::policy::Policy;

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
        conversation: None,
        wrap_up: None,
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

/// What a fast fake helpdesk answers for each step.
fn fake_outcome(call: &Interaction, step: Step) -> StepOutcome {
    match step {
        Step::IdentifyCaller => StepOutcome {
            contact_id: Some("7".into()),
            contact_rule: Some("phone_match".parse().unwrap()),
            ..StepOutcome::default()
        },
        Step::OpenTicket => StepOutcome {
            ticket_id: Some("10".into()),
            ticket_rules: vec![TicketRule::NewTicket],
            // Like the real step: an ended call's comment goes in with the ticket.
            comment_id: call.outcome().map(|_| "c1".to_string()),
            logged_recording: call.outcome().and(call.recording_url.clone()),
            ..StepOutcome::default()
        },
        Step::AwaitAgent => StepOutcome {
            agent_timed_out: true,
            ..StepOutcome::default()
        },
        Step::LogCall => StepOutcome {
            comment_id: Some("c2".into()),
            logged_recording: call.recording_url.clone(),
            ..StepOutcome::default()
        },
        Step::AddRecording => StepOutcome {
            logged_recording: call.recording_url.clone(),
            ..StepOutcome::default()
        },
        Step::AddWrapUp => StepOutcome {
            wrap_up_logged: true,
            ..StepOutcome::default()
        },
        Step::Pop => StepOutcome {
            pop_for: crate::decide::pop::pop_due(call).cloned(),
            ..StepOutcome::default()
        },
    }
}

/// Runs every step the call needs now, as workers would; returns them.
fn drain(call: &mut Interaction) -> Vec<Step> {
    let mut ran = Vec::new();
    while let Some(next) = call.next_step() {
        let outcome = fake_outcome(call, next.step);
        call.record(next.step, &outcome);
        ran.push(next.step);
        assert!(ran.len() < 20, "steps never settle: {ran:?}");
    }
    ran
}

/// Plays events in order; with `eager` workers run steps after every event, else
/// only at the end (slow workers). Returns the call and every step run.
fn play_with(events: &[CallEvent], policy: &Policy, eager: bool) -> (Interaction, Vec<Step>) {
    let mut call: Option<Interaction> = None;
    let mut steps = Vec::new();
    for e in events {
        let c = call.get_or_insert_with(|| {
            Interaction::start("default", &CallPlan::of(policy), e).unwrap()
        });
        c.apply(e);
        if eager {
            steps.extend(drain(c));
        }
    }
    let mut call = call.unwrap();
    steps.extend(drain(&mut call));
    (call, steps)
}

fn play(events: &[CallEvent], policy: &Policy) -> (Interaction, Vec<Step>) {
    play_with(events, policy, true)
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
    let mut call = Interaction::start(
        "default",
        &CallPlan::of(&p),
        &ev("1", EventKind::Ringing, 0),
    )
    .unwrap();
    call.apply(&ev("1", EventKind::Ringing, 0));
    assert_eq!(call.state(), CallState::Ringing);
    assert_eq!(call.next_step(), None);
    call.apply(&answered("2", 5, ann()));
    assert_eq!(call.state(), CallState::Answered);
    assert_eq!(call.outcome(), None);
    // The caller is identified at once; the ticket waits for the end of the call,
    // so one write carries ticket and comment.
    assert_eq!(drain(&mut call), vec![Step::IdentifyCaller]);
    call.apply(&ended("3", 65, EndReason::Completed));
    assert_eq!(call.state(), CallState::Ended);
    assert_eq!(call.outcome(), Some(Outcome::Answered));
    assert_eq!(call.talk_seconds(), Some(60));
    assert_eq!(drain(&mut call), vec![Step::OpenTicket]);
    assert!(call.done.log, "the comment went in with the ticket");
    call.apply(&recording("4", 90, "https://rec/1.mp3"));
    assert_eq!(drain(&mut call), vec![Step::AddRecording]);
    // The same recording again adds nothing.
    call.apply(&recording("5", 95, "https://rec/1.mp3"));
    assert_eq!(call.next_step(), None);
}

#[test]
fn unanswered_calls_follow_their_policy() {
    let missed = [
        ev("1", EventKind::Ringing, 0),
        ended("2", 20, EndReason::NoAnswer),
    ];
    let (call, steps) = play(&missed, &Policy::default());
    assert_eq!(call.outcome(), Some(Outcome::Missed));
    // The comment goes in with the ticket: no separate log step.
    assert_eq!(steps, vec![Step::IdentifyCaller, Step::OpenTicket]);
    assert!(call.done.log);

    let log_only = Policy {
        missed_call: UnansweredPolicy::LogOnly,
        ..Policy::default()
    };
    let (_, steps) = play(&missed, &log_only);
    assert_eq!(steps, vec![]);

    // The voicemail policy is separate from the missed-call policy.
    let voicemail = [
        ev("1", EventKind::Ringing, 0),
        ev("2", EventKind::Voicemail, 20),
        ended("3", 50, EndReason::NoAnswer),
    ];
    let (call, steps) = play(&voicemail, &log_only);
    assert_eq!(call.outcome(), Some(Outcome::Voicemail));
    assert_eq!(steps, vec![Step::IdentifyCaller, Step::OpenTicket]);
}

#[test]
fn agent_mode_waits_until_the_deadline_then_falls_back() {
    let mut attrs = BTreeMap::new();
    attrs.insert("ticket_assignment".to_string(), "agent".to_string());
    let first = CallEvent {
        attributes: attrs,
        ..ev("1", EventKind::Ringing, 0)
    };
    let p = Policy {
        agent_timeout_seconds: 120,
        ..Policy::default()
    };
    let mut call = Interaction::start("default", &CallPlan::of(&p), &first).unwrap();
    call.apply(&first);
    call.apply(&answered("2", 5, ann()));
    call.record(
        Step::IdentifyCaller,
        &fake_outcome(&call, Step::IdentifyCaller),
    );
    assert_eq!(call.agent_wait(), Some(AgentWait::AgentMode));
    assert_eq!(
        call.next_step(),
        Some(NextStep {
            step: Step::AwaitAgent,
            not_before: Some(t(120))
        })
    );
    call.record(
        Step::AwaitAgent,
        &StepOutcome {
            agent_timed_out: true,
            ..StepOutcome::default()
        },
    );
    // Fallen back to the group's rules, timing included: the ticket is
    // opened when the call ends, with its comment in the same write.
    assert_eq!(call.next_step(), None, "nothing while the call goes on");
    call.apply(&ended("3", 30, EndReason::Completed));
    assert_eq!(call.next_step().map(|n| n.step), Some(Step::OpenTicket));

    // With a log-only fallback no ticket is made.
    let p = Policy {
        agent_fallback: AgentFallback::LogOnly,
        ..p
    };
    let (call, steps) = play(
        &[
            first.clone(),
            answered("2", 5, ann()),
            ended("3", 30, EndReason::Completed),
        ],
        &p,
    );
    assert_eq!(steps, vec![Step::IdentifyCaller, Step::AwaitAgent]);
    assert_eq!(call.ticket_id, None);

    // The group can be in agent mode and a call can switch back with the attribute.
    let group_agent = Policy {
        ticket_assignment: TicketAssignment::Agent,
        ..Policy::default()
    };
    let mut auto = BTreeMap::new();
    auto.insert("ticket_assignment".to_string(), "auto".to_string());
    let e = CallEvent {
        attributes: auto,
        ..answered("1", 0, ann())
    };
    let (_, steps) = play(&[e], &group_agent);
    assert_eq!(steps, vec![Step::IdentifyCaller]);
}

#[test]
fn tickets_at_answer_get_the_comment_at_the_end() {
    let p = Policy {
        create_ticket_at: crate::policy::TicketTiming::Answer,
        ..Policy::default()
    };
    let mut call =
        Interaction::start("default", &CallPlan::of(&p), &answered("1", 0, ann())).unwrap();
    call.apply(&answered("1", 0, ann()));
    assert_eq!(
        drain(&mut call),
        vec![Step::IdentifyCaller, Step::OpenTicket]
    );
    call.apply(&ended("2", 60, EndReason::Completed));
    assert_eq!(drain(&mut call), vec![Step::LogCall]);
}

#[test]
fn the_comment_waits_for_the_recording_when_told_to() {
    let p = Policy {
        wait_for_recording_seconds: 30,
        ..Policy::default()
    };
    let mut call =
        Interaction::start("default", &CallPlan::of(&p), &answered("1", 0, ann())).unwrap();
    call.apply(&answered("1", 0, ann()));
    drain(&mut call);
    call.apply(&ended("2", 60, EndReason::Completed));
    assert_eq!(
        call.next_step(),
        Some(NextStep {
            step: Step::OpenTicket,
            not_before: Some(t(90))
        })
    );
    // The recording arrives: no more waiting, and it goes into the one write.
    call.apply(&recording("3", 70, "https://rec/1.mp3"));
    assert_eq!(
        call.next_step(),
        Some(NextStep {
            step: Step::OpenTicket,
            not_before: None
        })
    );
    assert_eq!(drain(&mut call), vec![Step::OpenTicket]);
    assert_eq!(call.logged_recordings, ["https://rec/1.mp3"]);
    // Missed calls have no recording to wait for.
    let (missed, _) = play(
        &[
            ev("1", EventKind::Ringing, 0),
            ended("2", 20, EndReason::NoAnswer),
        ],
        &p,
    );
    assert!(missed.ticket_id.is_some());
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
        Interaction::start("default", &CallPlan::default(), &e),
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
        for eager in [true, false] {
            let (call, steps) = play_with(&order, &Policy::default(), eager);
            let ids: Vec<_> = order.iter().map(|e| e.id.as_str()).collect();
            let ctx = format!("{ids:?} eager={eager} steps={steps:?}");
            assert_eq!(call.state(), CallState::Ended, "{ctx}");
            assert_eq!(call.outcome(), Some(Outcome::Answered), "{ctx}");
            assert_eq!(call.answered_at, reference.answered_at, "{ctx}");
            assert_eq!(call.ended_at, reference.ended_at, "{ctx}");
            assert_eq!(call.ringing_at, reference.ringing_at, "{ctx}");
            assert_eq!(call.agents, vec![ann()], "{ctx}");
            assert_eq!(call.talk_seconds(), Some(61), "{ctx}");
            assert_eq!(call.recording_url.as_deref(), Some("https://rec/1.mp3"));
            assert_eq!(count(&steps, Step::IdentifyCaller), 1, "{ctx}");
            assert_eq!(count(&steps, Step::OpenTicket), 1, "{ctx}");
            // The call comment is written once: with the ticket if the call had
            // ended by then, else by its own step after the ticket.
            let with_ticket = call.comment_id.as_deref() == Some("c1");
            assert_eq!(
                count(&steps, Step::LogCall),
                usize::from(!with_ticket),
                "{ctx}"
            );
            if !with_ticket {
                let open = steps.iter().position(|s| *s == Step::OpenTicket).unwrap();
                let log = steps.iter().position(|s| *s == Step::LogCall).unwrap();
                assert!(open < log, "{ctx}");
            }
            // The recording is linked exactly once, whenever it arrived.
            assert_eq!(call.logged_recordings, ["https://rec/1.mp3"], "{ctx}");
            assert!(count(&steps, Step::AddRecording) <= 1, "{ctx}");
            assert_eq!(call.next_step(), None, "{ctx}");
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
        assert!(call.done.log);
        assert_eq!(call.logged_recordings, ["https://rec/vm.mp3"]);
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
        assert_eq!(steps, [Step::IdentifyCaller, Step::OpenTicket]);
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
fn a_comment_on_a_closed_ticket_moves_the_call_to_its_follow_up() {
    let p = Policy::default();
    let (mut call, _) = play(
        &[
            answered("1", 0, ann()),
            ended("2", 60, EndReason::Completed),
        ],
        &p,
    );
    assert_eq!(call.ticket_id.as_deref(), Some("10"));
    call.record(
        Step::AddRecording,
        &StepOutcome {
            ticket_id: Some("11".into()),
            ticket_rules: vec![TicketRule::FollowupOfClosedTicket],
            ..StepOutcome::default()
        },
    );
    assert_eq!(call.ticket_id.as_deref(), Some("11"));
    assert_eq!(
        call.ticket_rules,
        [TicketRule::NewTicket, TicketRule::FollowupOfClosedTicket]
    );
}

#[test]
fn recorded_outcomes_fill_the_call() {
    let p = Policy::default();
    let (mut call, _) = play(&[ev("1", EventKind::Ringing, 0)], &p);
    call.record(
        Step::IdentifyCaller,
        &fake_outcome(&call, Step::IdentifyCaller),
    );
    call.record(
        Step::OpenTicket,
        &StepOutcome {
            ticket_id: Some("9".into()),
            ticket_rules: vec![TicketRule::IvrTicketRejectedClosed, TicketRule::NewTicket],
            ..StepOutcome::default()
        },
    );
    assert_eq!(call.contact_id.as_deref(), Some("7"));
    assert_eq!(
        call.contact_rule.map(|r| r.to_string()).as_deref(),
        Some("phone_match")
    );
    assert_eq!(call.ticket_id.as_deref(), Some("9"));
    assert_eq!(
        call.ticket_rules,
        [TicketRule::IvrTicketRejectedClosed, TicketRule::NewTicket]
    );
    assert!(call.done.identify && call.done.ticket && !call.done.log);
}

/// With pops on ringing, whatever the order of the events: at most one pop per
/// agent, only while the call lasts, and always before the call's other steps
/// of that moment; the call's own steps run as without pops.
#[test]
fn every_order_of_a_popped_call_pops_each_agent_at_most_once() {
    let policy = Policy {
        pop_on: crate::pop::PopOn::Ringing,
        ..Policy::default()
    };
    let bob = AgentRef {
        email: Some("bob@acme.com".into()),
        ..AgentRef::default()
    };
    let events = [
        CallEvent {
            agent: Some(ann()),
            ..ev("1", EventKind::Ringing, 0)
        },
        CallEvent {
            agent: Some(bob.clone()),
            ..ev("1b", EventKind::Ringing, 1)
        },
        answered("2", 4, ann()),
        ended("3", 65, EndReason::Completed),
    ];
    for order in permutations(&events) {
        for eager in [true, false] {
            let (call, steps) = play_with(&order, &policy, eager);
            let ids: Vec<_> = order.iter().map(|e| e.id.as_str()).collect();
            let ctx = format!("{ids:?} eager={eager} steps={steps:?}");
            assert!(count(&steps, Step::Pop) <= 2, "{ctx}");
            assert_eq!(count(&steps, Step::Pop), call.popped.len(), "{ctx}");
            let end = order.iter().position(|e| e.id == "3").unwrap();
            if eager && end == 3 {
                assert_eq!(
                    count(&steps, Step::Pop),
                    2,
                    "both rang before the end: {ctx}"
                );
            }
            assert_eq!(count(&steps, Step::IdentifyCaller), 1, "{ctx}");
            assert_eq!(count(&steps, Step::OpenTicket), 1, "{ctx}");
            assert_eq!(call.next_step(), None, "{ctx}");
        }
    }
}
