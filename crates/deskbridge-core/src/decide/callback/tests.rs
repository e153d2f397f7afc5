use chrono::{Duration, TimeZone, Utc};

use super::*;
use crate::agent::AgentRef;
use crate::callback::CLAIM_MINUTES;
use crate::comment::call_comment;
use crate::event::{CallEvent, EndReason, EventKind};
use crate::phone::Phone;
use crate::policy::{CallPlan, Policy};

pub(crate) const CUSTOMER: &str = "+14155550100";

pub(crate) fn t(mins: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 6, 10, 0, 0).unwrap() + Duration::minutes(mins)
}

pub(crate) fn ann() -> AgentRef {
    AgentRef {
        email: Some("ann@acme.com".into()),
        name: Some("Ann".into()),
        extension: None,
    }
}

/// A call with the customer, from `at` (minutes), answered by Ann or not
/// (the callback triggers' tests play it too).
pub(crate) fn call(id: &str, direction: Direction, at: i64, answered: bool) -> Interaction {
    let (from, to) = match direction {
        Direction::Inbound => (CUSTOMER, "+14155550199"),
        Direction::Outbound => ("+14155550199", CUSTOMER),
    };
    let ev = |n: &str, kind, m| {
        let mut e = CallEvent::new(format!("{id}-{n}"), id, kind, t(m));
        e.direction = Some(direction);
        e.from = Some(Phone::E164(from.into()));
        e.to = Some(Phone::E164(to.into()));
        e.queue = Some("support".into());
        e
    };
    let ringing = ev("r", EventKind::Ringing, at);
    let mut c = Interaction::start("sales", &CallPlan::of(&Policy::default()), &ringing).unwrap();
    c.apply(&ringing);
    if answered {
        let mut a = ev("a", EventKind::Answered, at + 1);
        a.agent = Some(ann());
        c.apply(&a);
    }
    let mut e = ev("e", EventKind::Ended, at + 2);
    e.reason = Some(if answered {
        EndReason::Completed
    } else {
        EndReason::NoAnswer
    });
    c.apply(&e);
    c
}

/// Plays the calls in order against one number's callback, as the store does:
/// the open callback in, the written one kept (with its id once written).
fn play(calls: &mut [Interaction]) -> Option<Callback> {
    let mut stored: Option<Callback> = None;
    for c in calls.iter_mut() {
        let open = stored.clone().filter(|cb| cb.is_open());
        let Some(followed) = follow(c, open.as_ref()) else {
            continue;
        };
        let mut mark = followed.mark;
        if let Some(mut cb) = followed.callback {
            if cb.id == 0 {
                cb.id = 7;
            }
            mark = mark.with_id(cb.id);
            stored = Some(cb);
        }
        c.callback = Some(mark);
    }
    stored
}

#[test]
fn three_missed_calls_from_one_number_make_one_callback_with_count_3() {
    let mut calls = [
        call("m1", Direction::Inbound, 0, false),
        call("m2", Direction::Inbound, 10, false),
        call("m3", Direction::Inbound, 20, false),
    ];
    let cb = play(&mut calls).expect("a callback");
    assert_eq!(cb.missed, 3);
    assert_eq!(cb.phone, CUSTOMER);
    assert_eq!(cb.first_missed_at, t(0));
    assert_eq!(cb.last_missed_at, t(20));
    assert_eq!(cb.last_call_id, "m3");
    assert_eq!(cb.queue.as_deref(), Some("support"));
    assert!(cb.is_open());
    assert_eq!(calls[0].callback, Some(CallbackMark::Opened { id: 7 }));
    assert_eq!(
        calls[2].callback,
        Some(CallbackMark::Folded { id: 7, missed: 3 })
    );
}

#[test]
fn a_missed_call_arriving_late_counts_but_does_not_become_the_last() {
    let mut calls = [
        call("m2", Direction::Inbound, 10, false),
        call("m1", Direction::Inbound, 0, false),
    ];
    let cb = play(&mut calls).expect("a callback");
    assert_eq!(
        (cb.missed, cb.first_missed_at, cb.last_missed_at),
        (2, t(0), t(10))
    );
    assert_eq!(cb.last_call_id, "m2");
}

#[test]
fn an_answered_call_out_closes_it_as_reached_with_the_ticket_line() {
    let mut calls = [
        call("m1", Direction::Inbound, 0, false),
        call("m2", Direction::Inbound, 5, false),
        call("out", Direction::Outbound, 42, true),
    ];
    let cb = play(&mut calls).expect("a callback");
    let closed = cb.closed.clone().expect("closed");
    assert_eq!(closed.at, t(43));
    assert_eq!(closed.call_id.as_deref(), Some("out"));
    assert!(matches!(
        closed.reason,
        CloseReason::Reached { direction: Direction::Outbound, agent: Some(ref a) } if a.same_as(&ann())
    ));
    assert_eq!(cb.reached_within_target(), Some(true));
    assert!(
        call_comment(&calls[2]).ends_with(
            "\nCalled back by Ann <ann@acme.com> at 10:43 UTC, reached after 2 missed calls"
        ),
        "{}",
        call_comment(&calls[2])
    );
}

#[test]
fn the_customer_calling_again_and_answered_closes_it_too() {
    let mut calls = [
        call("m1", Direction::Inbound, 0, false),
        call("in", Direction::Inbound, 90, true),
    ];
    let cb = play(&mut calls).expect("a callback");
    assert!(matches!(
        cb.closed.as_ref().map(|c| &c.reason),
        Some(CloseReason::Reached {
            direction: Direction::Inbound,
            ..
        })
    ));
    // 91 minutes after the first missed call: past the 60-minute target.
    assert_eq!(cb.reached_within_target(), Some(false));
    assert!(call_comment(&calls[1]).contains("called again and Ann"));
}

#[test]
fn after_the_attempts_unanswered_it_closes_unreached() {
    let mut calls = [
        call("m1", Direction::Inbound, 0, false),
        call("try1", Direction::Outbound, 10, false),
        call("try2", Direction::Outbound, 20, false),
        call("try3", Direction::Outbound, 30, false),
    ];
    let cb = play(&mut calls).expect("a callback");
    assert_eq!(cb.attempts, 3);
    assert_eq!(
        cb.closed.as_ref().map(|c| &c.reason),
        Some(&CloseReason::Unreached { attempts: 3 })
    );
    assert_eq!(
        calls[2].callback,
        Some(CallbackMark::Attempt {
            id: 7,
            attempt: 2,
            of: 3
        })
    );
    // The next missed call opens a new one.
    let next = call("m9", Direction::Inbound, 60, false);
    let followed = follow(&next, None).unwrap();
    assert_eq!(followed.callback.unwrap().id, 0);
}

#[test]
fn a_call_acts_once_and_only_when_it_has_an_end_or_an_answer() {
    let mut ringing = call("m1", Direction::Inbound, 0, false);
    ringing.ended_at = None;
    assert_eq!(concerns(&ringing), None);
    let mut done = call("m1", Direction::Inbound, 0, false);
    assert_eq!(concerns(&done), Some(CUSTOMER));
    done.callback = Some(CallbackMark::Opened { id: 1 });
    assert_eq!(concerns(&done), None);
    assert_eq!(follow(&done, None), None);
}

#[test]
fn answered_calls_without_a_callback_and_groups_without_callbacks_do_nothing() {
    let answered = call("a", Direction::Inbound, 0, true);
    assert_eq!(
        follow(&answered, None).map(|f| f.mark),
        Some(CallbackMark::None)
    );
    let mut off = call("m", Direction::Inbound, 0, false);
    off.plan.callbacks.enabled = false;
    assert_eq!(follow(&off, None), None);
    let mut anonymous = call("m", Direction::Inbound, 0, false);
    anonymous.from = Some(Phone::Anonymous);
    assert_eq!(follow(&anonymous, None), None);
}

fn open_one() -> Callback {
    let mut calls = [call("m1", Direction::Inbound, 0, false)];
    play(&mut calls).unwrap()
}

#[test]
fn one_agent_at_a_time_holds_a_callback_until_the_claim_runs_out() {
    let cb = open_one();
    let held = claim(&cb, "ann@acme.com", "Ann", t(5)).unwrap();
    assert_eq!(
        claim(&held, "bob@acme.com", "Bob", t(6)),
        Err(Refused::HeldBy {
            name: "Ann".into(),
            at: t(5)
        })
    );
    assert!(claim(&held, "ANN@acme.com", "Ann", t(6)).is_ok());
    let later = t(5 + CLAIM_MINUTES);
    assert_eq!(
        claim(&held, "bob@acme.com", "Bob", later)
            .unwrap()
            .claim
            .unwrap()
            .agent,
        "bob@acme.com"
    );
    assert_eq!(release(&held, "bob@acme.com"), Err(Refused::NotYours));
    assert_eq!(release(&held, "ann@acme.com").unwrap().claim, None);
}

#[test]
fn an_agent_closes_with_a_reason_unless_a_colleague_holds_it() {
    let cb = open_one();
    assert_eq!(
        close_by_agent(&cb, "ann@acme.com", "  ", t(1)),
        Err(Refused::Reason)
    );
    let held = claim(&cb, "bob@acme.com", "Bob", t(1)).unwrap();
    assert!(matches!(
        close_by_agent(&held, "ann@acme.com", "wrote in", t(2)),
        Err(Refused::HeldBy { .. })
    ));
    let closed = close_by_agent(&held, "bob@acme.com", "wrote in by email", t(2)).unwrap();
    assert_eq!(
        closed.closed.as_ref().unwrap().reason,
        CloseReason::ByAgent {
            agent: "bob@acme.com".into(),
            reason: "wrote in by email".into()
        }
    );
    assert_eq!(
        claim(&closed, "ann@acme.com", "Ann", t(3)),
        Err(Refused::Closed)
    );
}

#[test]
fn a_dial_that_never_rang_the_customer_is_no_attempt() {
    let mut calls = [call("m1", Direction::Inbound, 0, false)];
    let open = play(&mut calls).unwrap();
    let mut busy_agent = call("d1", Direction::Outbound, 10, false);
    busy_agent
        .attributes
        .insert(crate::dial::DIAL_FAILURE_ATTRIBUTE.into(), "busy".into());
    let followed = follow(&busy_agent, Some(&open)).unwrap();
    assert_eq!(
        (followed.callback, followed.mark),
        (None, CallbackMark::None)
    );
}
