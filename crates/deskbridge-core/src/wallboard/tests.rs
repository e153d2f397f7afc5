//! An agent's state and the waiting callers, as a supervisor reads them.

use chrono::{Duration, TimeZone};

use super::*;
use crate::event::{CallEvent, Direction, EndReason, EventKind};
use crate::policy::{CallPlan, Policy};
use crate::wrap_up::{WrapUp, WrapUpRules};
use EventKind::{Answered, Ended, Ringing};

fn t(s: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap() + Duration::seconds(s)
}

fn ann() -> AgentRef {
    AgentRef {
        email: Some("Ann@Acme.com".into()),
        ..AgentRef::default()
    }
}

const ANN: Member<'static> = Member {
    email: "ann@acme.com",
    extension: Some("101"),
};

/// A call of `id` with its events: (kind, second, queue); the agent rings
/// and answers as Ann.
fn call(id: &str, events: &[(EventKind, i64, Option<&str>)], wrap_up: bool) -> Interaction {
    let mut policy = Policy::default();
    if wrap_up {
        policy.wrap_up = Some(WrapUpRules::default());
    }
    let plan = CallPlan::of(&policy);
    let events: Vec<CallEvent> = events
        .iter()
        .enumerate()
        .map(|(n, (kind, s, queue))| {
            let mut e = CallEvent::new(format!("{id}-{n}"), id, *kind, t(*s));
            e.direction = Some(Direction::Inbound);
            e.queue = queue.map(str::to_string);
            if matches!(kind, EventKind::Answered | EventKind::Ringing) {
                e.agent = Some(ann());
            }
            if *kind == EventKind::Ended {
                e.reason = Some(EndReason::Completed);
            }
            e
        })
        .collect();
    let mut c = Interaction::start("support", &plan, &events[0]).unwrap();
    for e in &events {
        c.apply(e);
    }
    c
}

fn pause(source: PauseSource, reason: &str) -> Pause {
    Pause {
        id: 1,
        group: "support".into(),
        agent: "ann@acme.com".into(),
        reason: Some(reason.into()),
        source,
        started_at: t(100),
        until: None,
        ended_at: None,
    }
}

fn state_of(calls: &[Interaction], pause: Option<&Pause>, now: i64) -> (AgentState, Option<i64>) {
    let calls: Vec<&Interaction> = calls.iter().collect();
    let p = agent_presence(ANN, &calls, pause, t(now));
    (p.state, p.since.map(|s| (s - t(0)).num_seconds()))
}

#[test]
fn an_agent_goes_ringing_then_on_a_call_then_wrap_up_then_available() {
    let ringing = call("c1", &[(Ringing, 10, Some("sales"))], true);
    assert_eq!(
        state_of(&[ringing], None, 12),
        (AgentState::Ringing, Some(10))
    );
    let talking = call("c1", &[(Ringing, 10, None), (Answered, 15, None)], true);
    assert_eq!(
        state_of(&[talking], None, 20),
        (AgentState::OnCall, Some(15))
    );
    let ended = call(
        "c1",
        &[(Ringing, 10, None), (Answered, 15, None), (Ended, 75, None)],
        true,
    );
    assert_eq!(
        state_of(std::slice::from_ref(&ended), None, 80),
        (AgentState::WrapUp, Some(75))
    );
    let calls = [&ended];
    assert_eq!(
        agent_presence(ANN, &calls, None, t(80)).until,
        Some(t(135)),
        "the page reads again when the wrap-up time runs out"
    );
    // The wrap-up time (60 s) ran out: available since the call ended.
    assert_eq!(
        state_of(std::slice::from_ref(&ended), None, 200),
        (AgentState::Available, Some(75))
    );
    let mut wrapped = ended;
    wrapped.wrap_up = Some(WrapUp {
        code: None,
        note: Some("done".into()),
        agent: "ann@acme.com".into(),
        agent_name: None,
        at: t(90),
    });
    assert_eq!(
        state_of(&[wrapped], None, 95),
        (AgentState::Available, Some(90))
    );
}

#[test]
fn a_group_without_wrap_up_frees_the_agent_when_the_call_ends() {
    let ended = call("c1", &[(Answered, 15, None), (Ended, 75, None)], false);
    assert_eq!(
        state_of(std::slice::from_ref(&ended), None, 80),
        (AgentState::Available, Some(75))
    );
    // A wrap-up time of 0 asks for no wrap-up window either.
    let mut no_time = ended;
    no_time.plan.wrap_up = Some(WrapUpRules {
        seconds: 0,
        ..WrapUpRules::default()
    });
    assert_eq!(
        state_of(&[no_time], None, 80),
        (AgentState::Available, Some(75))
    );
    assert_eq!(state_of(&[], None, 80), (AgentState::Available, None));
}

#[test]
fn a_call_in_hand_outranks_a_pause_and_a_pause_says_why() {
    let lunch = pause(PauseSource::Agent, "Lunch");
    let p = agent_presence(ANN, &[], Some(&lunch), t(150));
    assert_eq!(
        (p.state, p.reason.as_deref()),
        (AgentState::Paused, Some("Lunch"))
    );
    let talking = call("c1", &[(Answered, 120, None)], false);
    assert_eq!(
        state_of(&[talking], Some(&lunch), 150),
        (AgentState::OnCall, Some(120))
    );
    let wrap = pause(PauseSource::WrapUp, "Wrap-up");
    assert_eq!(
        state_of(&[], Some(&wrap), 150),
        (AgentState::WrapUp, Some(100))
    );
}

#[test]
fn another_agents_call_or_one_taken_by_another_is_not_theirs() {
    let mut other = call("c1", &[(Answered, 15, None)], false);
    other.agents = vec![AgentRef {
        extension: Some("102".into()),
        ..AgentRef::default()
    }];
    assert_eq!(state_of(&[other], None, 20).0, AgentState::Available);
    let by_extension = AgentRef {
        extension: Some("101".into()),
        ..AgentRef::default()
    };
    let mut mine = call("c2", &[(Answered, 15, None)], false);
    mine.agents = vec![by_extension];
    assert_eq!(state_of(&[mine], None, 20).0, AgentState::OnCall);
}

#[test]
fn waiting_callers_are_counted_per_queue_with_the_longest_wait() {
    let a = call("a", &[(Ringing, 10, Some("sales"))], false);
    let mut b = call("b", &[(Ringing, 20, Some("sales"))], false);
    b.rang.clear();
    let c = call("c", &[(Ringing, 5, Some("billing"))], false);
    let answered = call(
        "d",
        &[(Ringing, 1, Some("sales")), (Answered, 3, None)],
        false,
    );
    let now = waiting_now(&[&a, &b, &c, &answered]);
    let seen: Vec<(Option<&str>, usize, i64)> = now
        .iter()
        .map(|w| {
            (
                w.queue.as_deref(),
                w.callers,
                (w.longest_since - t(0)).num_seconds(),
            )
        })
        .collect();
    assert_eq!(seen, vec![(Some("billing"), 1, 5), (Some("sales"), 2, 10)]);
}
