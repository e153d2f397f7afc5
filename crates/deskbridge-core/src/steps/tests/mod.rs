//! Each step driven with scripted helpdesk answers: what it asks for, in which
//! order, and what it records. One file a step (`identify`, `ticket`,
//! `comment`, `pop`, and `chat`); the calls and the driver they share are here.

use chrono::{TimeZone, Utc};

use super::*;
use crate::event::{AgentRef, CallEvent, Direction, EndReason, EventKind};
use crate::phone::Phone;
use crate::policy::{CallPlan, CreateSet};
use crate::ports::CallRecordStatus;
use crate::rule::{AssigneeRule, ContactRule, TicketRule};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

/// An answered inbound call from +14155550100 that has ended, under `policy`.
fn ended_call(policy: &Policy, attrs: &[(&str, &str)]) -> Interaction {
    let mut ring = CallEvent::new("1", "c1", EventKind::Ringing, t0());
    ring.direction = Some(Direction::Inbound);
    ring.from = Some(Phone::E164("+14155550100".into()));
    ring.to = Some(Phone::E164("+14155550199".into()));
    ring.attributes = attrs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut call = Interaction::start("support", &CallPlan::of(policy), &ring).unwrap();
    call.apply(&ring);
    let mut answer = CallEvent::new("2", "c1", EventKind::Answered, t0());
    answer.agent = Some(AgentRef {
        email: Some("ann@acme.com".into()),
        ..AgentRef::default()
    });
    call.apply(&answer);
    let mut end = CallEvent::new(
        "3",
        "c1",
        EventKind::Ended,
        t0() + chrono::Duration::seconds(60),
    );
    end.reason = Some(EndReason::Completed);
    call.apply(&end);
    call
}

fn contact(id: &str) -> ContactSummary {
    ContactSummary {
        id: id.into(),
        name: format!("Contact {id}"),
        phones: vec!["+14155550100".into()],
        created_at: t0(),
    }
}

/// Runs the step to its end, answering each request with `answer`; returns the
/// requests made and the outcome.
fn drive(
    step: Step,
    call: &Interaction,
    policy: &Policy,
    attempt: i64,
    mut answer: impl FnMut(&Request) -> Reply,
) -> (Vec<Request>, StepOutcome) {
    let templates = Templates::compile(policy, "").unwrap();
    let rules = Rules {
        policy,
        templates: &templates,
        directory: &[],
        region: Region::US,
    };
    let mut run = StepRun::new(step, call, rules, t0(), 1, attempt);
    let mut asked = Vec::new();
    loop {
        match run.poll().unwrap() {
            Progress::Done(outcome) => return (asked, outcome),
            Progress::Need(request) => {
                let reply = answer(&request);
                asked.push(request);
                run.reply(reply);
                assert!(asked.len() < 10, "the step never ends: {asked:?}");
            }
        }
    }
}

mod chat;
mod comment;
mod identify;
mod pop;
mod ticket;
