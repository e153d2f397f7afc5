//! The stats module's tests: each measure's definition one case at a time
//! (`measures.rs`), the sums and their report (`sums.rs`), and a generated
//! day against a brute-force recount (`recount.rs`).

mod measures;
mod recount;
mod sums;

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;
use crate::event::{AgentRef, CallEvent, Direction, EndReason, EventKind};
use crate::interaction::{Interaction, QueueLeft};
use crate::policy::{CallPlan, Policy};

fn t(ms: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap() + Duration::milliseconds(ms)
}

fn secs(s: i64) -> i64 {
    s * 1000
}

fn ann() -> AgentRef {
    AgentRef {
        email: Some("Ann@Acme.com".into()),
        ..AgentRef::default()
    }
}

/// A call's events, built in the words of the test.
struct Script {
    direction: Direction,
    events: Vec<CallEvent>,
}

impl Script {
    fn inbound() -> Script {
        Script {
            direction: Direction::Inbound,
            events: Vec::new(),
        }
    }

    fn outbound() -> Script {
        Script {
            direction: Direction::Outbound,
            events: Vec::new(),
        }
    }

    fn add(
        mut self,
        kind: EventKind,
        ms: i64,
        queue: Option<&str>,
        fill: impl FnOnce(&mut CallEvent),
    ) -> Script {
        let mut e = CallEvent::new(format!("e{}", self.events.len()), "c1", kind, t(ms));
        e.direction = Some(self.direction);
        e.queue = queue.map(str::to_string);
        fill(&mut e);
        self.events.push(e);
        self
    }

    fn ringing(self, ms: i64, queue: Option<&str>) -> Script {
        self.add(EventKind::Ringing, ms, queue, |_| {})
    }

    fn answered(self, ms: i64, queue: Option<&str>) -> Script {
        self.add(EventKind::Answered, ms, queue, |e| e.agent = Some(ann()))
    }

    fn voicemail(self, ms: i64, queue: Option<&str>) -> Script {
        self.add(EventKind::Voicemail, ms, queue, |_| {})
    }

    fn ended(self, ms: i64, reason: EndReason, queue: Option<&str>) -> Script {
        self.add(EventKind::Ended, ms, queue, |e| e.reason = Some(reason))
    }

    fn call(&self) -> Interaction {
        play(&self.events)
    }
}

fn play(events: &[CallEvent]) -> Interaction {
    let plan = CallPlan::of(&Policy::default());
    let mut call = Interaction::start("support-group", &plan, &events[0]).unwrap();
    for e in events {
        call.apply(e);
    }
    call
}

fn endings(call: &Interaction, th: &Thresholds) -> Vec<(Option<String>, Ending)> {
    offers(call, th)
        .into_iter()
        .map(|o| (o.queue, o.ending))
        .collect()
}

fn q(name: &str) -> Option<String> {
    Some(name.to_string())
}

fn totals(call: &Interaction, th: &Thresholds) -> Totals {
    contributions(call, th).into_iter().map(|(_, t)| t).sum()
}

const TH: Thresholds = Thresholds {
    service_level_seconds: 20,
    short_abandon_seconds: 5,
};

fn answered_after(ms: i64) -> Interaction {
    Script::inbound()
        .ringing(0, Some("sales"))
        .answered(ms, Some("sales"))
        .ended(ms + secs(60), EndReason::Completed, Some("sales"))
        .call()
}

fn hung_up_after(ms: i64) -> Interaction {
    Script::inbound()
        .ringing(0, Some("sales"))
        .ended(ms, EndReason::Abandoned, Some("sales"))
        .call()
}
