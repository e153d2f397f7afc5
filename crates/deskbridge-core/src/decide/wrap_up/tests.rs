use chrono::{Duration, TimeZone, Utc};

use super::*;
use crate::comment::call_comment;
use crate::event::{Direction, EndReason};
use crate::interaction::Step;
use crate::phone::Phone;
use crate::policy::{CallPlan, Policy};
use crate::wrap_up::WrapUpCode;

pub(crate) fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 6, 10, 0, 0).unwrap() + Duration::seconds(secs)
}

fn agent(email: &str, name: &str, extension: &str) -> AgentRef {
    AgentRef {
        email: Some(email.into()),
        name: Some(name.into()),
        extension: Some(extension.into()),
    }
}

fn ann() -> AgentRef {
    agent("ann@acme.com", "Ann", "101")
}

fn rules(required: bool) -> WrapUpRules {
    WrapUpRules {
        codes: vec![
            WrapUpCode {
                code: "sale".into(),
                label: "Sale closed".into(),
            },
            WrapUpCode {
                code: "complaint".into(),
                label: "Complaint".into(),
            },
        ],
        seconds: 90,
        required,
        custom_field: Some("360001".into()),
        ..WrapUpRules::default()
    }
}

/// An inbound call of a group with wrap-up, answered by the agent the phone
/// system names only by extension (as Asterisk does), and over at 60 s (the
/// pause decisions' tests use it too).
pub(crate) fn call(wrap_up: Option<WrapUpRules>, answered: bool) -> Interaction {
    let policy = Policy {
        wrap_up,
        ..Policy::default()
    };
    let ev = |n: &str, kind, s| {
        let mut e = CallEvent::new(format!("c1-{n}"), "c1", kind, t(s));
        e.direction = Some(Direction::Inbound);
        e.from = Some(Phone::E164("+14155550100".into()));
        e
    };
    let ringing = ev("r", EventKind::Ringing, 0);
    let mut c = Interaction::start("sales", &CallPlan::of(&policy), &ringing).unwrap();
    c.apply(&ringing);
    if answered {
        let mut a = ev("a", EventKind::Answered, 5);
        a.agent = Some(AgentRef {
            extension: Some("101".into()),
            ..AgentRef::default()
        });
        c.apply(&a);
    }
    let mut e = ev("e", EventKind::Ended, 60);
    e.reason = Some(match answered {
        true => EndReason::Completed,
        false => EndReason::NoAnswer,
    });
    c.apply(&e);
    c
}

fn ask<'a>(code: Option<&'a str>, note: Option<&'a str>) -> WrapUpAsk<'a> {
    WrapUpAsk { code, note }
}

#[test]
fn the_agent_who_answered_wraps_up_with_a_code_of_the_group() {
    let c = call(Some(rules(false)), true);
    let w = accept(
        &c,
        &ann(),
        ask(Some(" SALE "), Some(" wants the blue one ")),
        t(70),
    )
    .unwrap();
    assert_eq!(
        w.code.as_ref().map(|c| c.label.as_str()),
        Some("Sale closed")
    );
    assert_eq!(w.note.as_deref(), Some("wants the blue one"));
    assert_eq!(w.agent, "ann@acme.com");
    assert_eq!(w.line(), "Wrap-up: Sale closed (Ann): wants the blue one");
}

#[test]
fn refusals_say_what_to_change() {
    let c = call(Some(rules(true)), true);
    let refused = |a: &AgentRef, code, note| accept(&c, a, ask(code, note), t(70)).unwrap_err();
    assert_eq!(
        refused(&ann(), Some("refund"), None),
        WrapUpRefused::UnknownCode {
            code: "refund".into(),
            codes: "sale, complaint".into()
        }
    );
    assert_eq!(
        refused(&ann(), None, Some("a note alone")),
        WrapUpRefused::CodeRequired("sale, complaint".into())
    );
    assert_eq!(
        refused(&agent("bob@acme.com", "Bob", "102"), Some("sale"), None),
        WrapUpRefused::NotYourCall
    );
    let optional = call(Some(rules(false)), true);
    assert_eq!(
        accept(&optional, &ann(), ask(None, Some("  ")), t(70)).unwrap_err(),
        WrapUpRefused::Empty
    );
    let missed = call(Some(rules(false)), false);
    assert_eq!(
        accept(&missed, &ann(), ask(Some("sale"), None), t(70)).unwrap_err(),
        WrapUpRefused::NotAnswered
    );
    let none = call(None, true);
    assert_eq!(
        accept(&none, &ann(), ask(Some("sale"), None), t(70)).unwrap_err(),
        WrapUpRefused::NoWrapUp("sales".into())
    );
}

#[test]
fn the_first_wrap_up_stands() {
    let mut c = call(Some(rules(false)), true);
    let first = accept(&c, &ann(), ask(Some("sale"), None), t(70)).unwrap();
    c.apply(&event(&c, first.clone()));
    let mut second = first.clone();
    second.code = rules(false).code("complaint").cloned();
    c.apply(&event(&c, second));
    assert_eq!(c.wrap_up.as_ref(), Some(&first));
    assert_eq!(
        accept(&c, &ann(), ask(Some("complaint"), None), t(80)).unwrap_err(),
        WrapUpRefused::AlreadyWrappedUp("Ann".into())
    );
}

#[test]
fn the_comment_waits_for_the_wrap_up_then_carries_it_with_its_tag_and_field() {
    let mut c = call(Some(rules(false)), true);
    c.done.identify = true;
    c.contact_id = Some("7".into());
    // Owed: the ticket (and its one comment) waits until 90 s after the end.
    assert_eq!(due(&c), Some(t(150)));
    let next = c.next_step().unwrap();
    assert_eq!(
        (next.step, next.not_before),
        (Step::OpenTicket, Some(t(150)))
    );
    // The agent wraps up: the step is due now, and writes it.
    let w = accept(&c, &ann(), ask(Some("sale"), Some("blue one")), t(70)).unwrap();
    c.apply(&event(&c, w));
    assert_eq!(due(&c), None);
    let next = c.next_step().unwrap();
    assert_eq!((next.step, next.not_before), (Step::OpenTicket, None));
    assert!(call_comment(&c).contains("Wrap-up: Sale closed (Ann): blue one"));
    let marks = ticket_marks(&c);
    assert_eq!(marks.tags, vec!["wrap_up_sale".to_string()]);
    assert_eq!(
        marks.custom_fields,
        vec![("360001".to_string(), "sale".to_string())]
    );
}

#[test]
fn a_late_wrap_up_is_written_on_its_own() {
    let mut c = call(Some(rules(false)), true);
    c.done.identify = true;
    c.done.ticket = true;
    c.ticket_id = Some("42".into());
    c.done.log = true;
    assert_eq!(c.next_step(), None);
    let w = accept(&c, &ann(), ask(Some("complaint"), None), t(400)).unwrap();
    c.apply(&event(&c, w));
    assert_eq!(c.next_step().map(|n| n.step), Some(Step::AddWrapUp));
    c.record(
        Step::AddWrapUp,
        &crate::interaction::StepOutcome {
            wrap_up_logged: true,
            ..Default::default()
        },
    );
    assert_eq!(c.next_step(), None);
}

#[test]
fn nothing_waits_for_a_missed_call_or_a_group_without_wrap_up() {
    assert_eq!(due(&call(Some(rules(true)), false)), None);
    assert_eq!(due(&call(None, true)), None);
    let zero = WrapUpRules {
        seconds: 0,
        ..rules(false)
    };
    assert_eq!(due(&call(Some(zero), true)), None);
}

#[test]
fn a_retry_that_finds_its_comment_without_the_wrap_up_still_owes_it() {
    let mut c = call(Some(rules(false)), true);
    let w = accept(&c, &ann(), ask(Some("sale"), None), t(70)).unwrap();
    let line = w.line();
    c.apply(&event(&c, w));
    assert!(carried(&c, None));
    assert!(carried(&c, Some(&format!("Inbound call answered\n{line}"))));
    assert!(!carried(&c, Some("Inbound call answered")));
}
