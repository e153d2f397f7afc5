//! The figures summed the store's way (each call's contributions per hour,
//! then hours into days) against a brute-force recount straight from what
//! each generated call was: its queues, its waits and how it ended, counted
//! without the stats code. The events are played in a scrambled order, so
//! this also checks that the queue history does not depend on it.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;

use super::super::*;
use crate::event::{AgentRef, CallEvent, Direction, EndReason, EventKind};
use crate::interaction::Interaction;
use crate::policy::{CallPlan, Policy};

const DAY_MS: i64 = 86_400_000;
const QUEUES: [&str; 3] = ["sales", "support", "billing"];
const AGENTS: [&str; 3] = ["ann@acme.com", "bob@acme.com", "cy@acme.com"];

/// How a generated call ends.
#[derive(Debug, Clone, Copy)]
enum End {
    Answered { talk_s: u64, agent: usize },
    Abandoned,
    NoAnswer,
    Voicemail,
    Busy,
    Forwarded,
    Failed,
}

/// One generated call, as it happened.
#[derive(Debug, Clone)]
struct Scenario {
    id: usize,
    start_ms: i64,
    inbound: bool,
    /// Before the first queue (an IVR), or the whole wait without queues.
    ivr_ms: i64,
    /// The queues in order, with the time spent in each (at least 1 ms);
    /// empty: the phone system named no queue.
    path: Vec<(usize, i64)>,
    end: End,
}

fn day0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap()
}

fn at(ms: i64) -> DateTime<Utc> {
    day0() + Duration::milliseconds(ms)
}

impl Scenario {
    fn first_queue_ms(&self) -> i64 {
        self.start_ms + if self.path.is_empty() { 0 } else { self.ivr_ms }
    }

    fn wait_end_ms(&self) -> i64 {
        self.start_ms + self.ivr_ms + self.path.iter().map(|(_, ms)| ms).sum::<i64>()
    }

    fn last_queue(&self) -> Option<&'static str> {
        self.path.last().map(|(q, _)| QUEUES[*q])
    }

    fn event(&self, n: usize, kind: EventKind, ms: i64, queue: Option<&str>) -> CallEvent {
        let mut e = CallEvent::new(
            format!("{}-{n}", self.id),
            format!("call-{}", self.id),
            kind,
            at(ms),
        );
        e.direction = Some(if self.inbound {
            Direction::Inbound
        } else {
            Direction::Outbound
        });
        e.queue = queue.map(str::to_string);
        e
    }

    fn events(&self) -> Vec<CallEvent> {
        let mut events = vec![self.event(0, EventKind::Ringing, self.start_ms, None)];
        let mut entry = self.start_ms + self.ivr_ms;
        for (q, ms) in &self.path {
            events.push(self.event(events.len(), EventKind::Ringing, entry, Some(QUEUES[*q])));
            entry += ms;
        }
        let end = self.wait_end_ms();
        let last = self.last_queue();
        let ended = |n: usize, ms, reason| {
            let mut e = self.event(n, EventKind::Ended, ms, last);
            e.reason = Some(reason);
            e
        };
        let reason = match self.end {
            End::Answered { talk_s, agent } => {
                let mut answer = self.event(events.len(), EventKind::Answered, end, last);
                answer.agent = Some(AgentRef {
                    email: Some(AGENTS[agent].to_ascii_uppercase()),
                    ..AgentRef::default()
                });
                events.push(answer);
                let talk = i64::try_from(talk_s).unwrap() * 1000;
                let mut hang_up = ended(events.len(), end + talk, EndReason::Completed);
                hang_up.duration_s = Some(talk_s);
                events.push(hang_up);
                return events;
            }
            End::Voicemail => {
                events.push(self.event(events.len(), EventKind::Voicemail, end, last));
                let hang_up = ended(events.len(), end + 20_000, EndReason::Completed);
                events.push(hang_up);
                return events;
            }
            End::Abandoned => EndReason::Abandoned,
            End::NoAnswer => EndReason::NoAnswer,
            End::Busy => EndReason::Busy,
            End::Forwarded => EndReason::Forwarded,
            End::Failed => EndReason::Failed,
        };
        let hang_up = ended(events.len(), end, reason);
        events.push(hang_up);
        events
    }
}

/// An hour row's start and totals.
type Hour = (DateTime<Utc>, Totals);

/// Key of the recount: the interval's start, the queue, the agent.
type Cell = (DateTime<Utc>, Option<String>, Option<String>);

/// The brute-force recount: each offer of each call, from the scenario,
/// into `interval`.
fn recount(calls: &[Scenario], th: &Thresholds, interval: Interval) -> BTreeMap<Cell, Totals> {
    let mut cells: BTreeMap<Cell, Totals> = BTreeMap::new();
    let sl_ms = i64::try_from(th.service_level_seconds).unwrap() * 1000;
    let short_ms = i64::try_from(th.short_abandon_seconds).unwrap() * 1000;
    for c in calls {
        if !c.inbound || matches!(c.end, End::Failed) {
            continue;
        }
        let wait = c.wait_end_ms() - c.first_queue_ms();
        let mut stays: Vec<(Option<String>, i64)> = Vec::new();
        let mut entry = c.first_queue_ms();
        for (q, ms) in &c.path {
            stays.push((Some(QUEUES[*q].to_string()), entry));
            entry += ms;
        }
        if stays.is_empty() {
            stays.push((None, c.start_ms));
        }
        let last = stays.len() - 1;
        for (i, (queue, entered)) in stays.into_iter().enumerate() {
            let mut t = Totals {
                offered: 1,
                ..Totals::default()
            };
            let mut agent = None;
            if i < last {
                t.transferred = 1;
            } else {
                match c.end {
                    End::Answered { talk_s, agent: a } => {
                        t.answered = 1;
                        t.answered_within = i64::from(wait <= sl_ms);
                        t.wait_ms = wait;
                        t.talk_ms = i64::try_from(talk_s).unwrap() * 1000;
                        agent = Some(AGENTS[a].to_string());
                    }
                    End::Abandoned if wait < short_ms => t.short_abandoned = 1,
                    End::Abandoned => t.abandoned = 1,
                    End::NoAnswer | End::Voicemail | End::Busy => t.missed = 1,
                    End::Forwarded => t.transferred = 1,
                    End::Failed => unreachable!(),
                }
            }
            let start = interval.start_of(at(entered));
            *cells.entry((start, queue, agent)).or_default() += t;
        }
    }
    cells
}

/// The store's way: each call's contributions added to hour rows, then the
/// rows of each queue and agent rolled up over `period`.
fn summed(
    calls: &[Scenario],
    th: &Thresholds,
    period: &Period,
    scramble: u64,
) -> BTreeMap<Cell, Totals> {
    let plan = CallPlan::of(&Policy::default());
    let mut rows: BTreeMap<TotalsKey, Totals> = BTreeMap::new();
    let mut rng = Rng::seeded(scramble);
    for c in calls {
        let mut events = c.events();
        rng.shuffle(&mut events);
        let Some(mut call) = events
            .iter()
            .find_map(|e| Interaction::start("g", &plan, e).ok())
        else {
            continue;
        };
        for e in &events {
            call.apply(e);
        }
        for (key, t) in revise(&[], &contributions(&call, th)) {
            *rows.entry(key).or_default() += t;
        }
    }
    let mut by_cell: BTreeMap<(Option<String>, Option<String>), Vec<Hour>> = BTreeMap::new();
    for (key, t) in rows {
        by_cell
            .entry((key.queue, key.agent))
            .or_default()
            .push((key.hour, t));
    }
    let mut cells = BTreeMap::new();
    for ((queue, agent), hours) in by_cell {
        for (start, t) in period.roll_up(hours) {
            if !t.is_zero() {
                cells.insert((start, queue.clone(), agent.clone()), t);
            }
        }
    }
    cells
}

/// The 100,000-call day and the event orders, the same each run (a seeded
/// `StdRng`).
struct Rng(rand::rngs::StdRng);

impl Rng {
    fn seeded(seed: u64) -> Rng {
        Rng(rand::SeedableRng::seed_from_u64(seed))
    }

    fn below(&mut self, n: u64) -> u64 {
        rand::Rng::random_range(&mut self.0, 0..n)
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        rand::seq::SliceRandom::shuffle(items, &mut self.0);
    }

    fn ms(&mut self, max: i64) -> i64 {
        i64::try_from(self.below(u64::try_from(max).unwrap())).unwrap()
    }

    /// A call of a busy day: mostly inbound, mostly one queue, some
    /// transfers, every ending.
    fn scenario(&mut self, id: usize) -> Scenario {
        let queues = [0, 1, 1, 1, 1, 1, 2, 3][usize::try_from(self.below(8)).unwrap()];
        let end = match self.below(20) {
            0..=13 => End::Answered {
                talk_s: 1 + self.below(900),
                agent: usize::try_from(self.below(3)).unwrap(),
            },
            14 | 15 => End::Abandoned,
            16 => End::NoAnswer,
            17 => End::Voicemail,
            18 => [End::Busy, End::Forwarded][usize::try_from(self.below(2)).unwrap()],
            _ => End::Failed,
        };
        Scenario {
            id,
            start_ms: self.ms(DAY_MS),
            inbound: self.below(10) > 0,
            ivr_ms: self.ms(30_000),
            path: raw_path((0..queues).map(|_| (self.below(u64::MAX), 1 + self.ms(60_000)))),
            end,
        }
    }
}

/// Queue indexes from raw numbers, never the same queue twice in a row
/// (that would be one stay).
fn raw_path(raw: impl Iterator<Item = (u64, i64)>) -> Vec<(usize, i64)> {
    let mut path: Vec<(usize, i64)> = Vec::new();
    for (r, ms) in raw {
        let mut q = usize::try_from(r % 3).unwrap();
        if path.last().is_some_and(|(last, _)| *last == q) {
            q = (q + 1) % 3;
        }
        path.push((q, ms));
    }
    path
}

#[test]
fn a_day_of_100_000_calls_sums_to_its_brute_force_recount() {
    let mut rng = Rng::seeded(30);
    let calls: Vec<Scenario> = (0..100_000).map(|id| rng.scenario(id)).collect();
    let th = Thresholds {
        service_level_seconds: 20,
        short_abandon_seconds: 5,
    };
    let two_days = Period::new(day0(), day0() + Duration::days(2), Interval::Day).unwrap();
    let by_day = summed(&calls, &th, &two_days, 7);
    assert_eq!(by_day, recount(&calls, &th, Interval::Day));
    let hours = Period::new(day0(), day0() + Duration::days(2), Interval::Hour).unwrap();
    assert_eq!(
        summed(&calls, &th, &hours, 8),
        recount(&calls, &th, Interval::Hour)
    );

    // Every kind of offer is in the day, and the group's figures hold.
    let day: Totals = by_day.values().copied().sum();
    assert!(day.offered > 100_000, "{day:?}");
    for n in [
        day.answered,
        day.answered_within,
        day.abandoned,
        day.short_abandoned,
        day.missed,
        day.transferred,
    ] {
        assert!(n > 0, "{day:?}");
    }
    assert_eq!(
        day.offered,
        day.answered + day.missed + day.abandoned + day.short_abandoned + day.transferred
    );
    let level = day.service_level().unwrap();
    assert!((0.0..=1.0).contains(&level));
}

fn end_strategy() -> impl Strategy<Value = End> {
    prop_oneof![
        4 => (1..900u64, 0..3usize).prop_map(|(talk_s, agent)| End::Answered { talk_s, agent }),
        1 => Just(End::Abandoned),
        1 => Just(End::NoAnswer),
        1 => Just(End::Voicemail),
        1 => Just(End::Busy),
        1 => Just(End::Forwarded),
        1 => Just(End::Failed),
    ]
}

fn scenario_strategy() -> impl Strategy<Value = Scenario> {
    (
        0..2 * DAY_MS,
        prop::bool::weighted(0.9),
        0..30_000i64,
        prop::collection::vec((any::<u64>(), 1..60_000i64), 0..4),
        end_strategy(),
    )
        .prop_map(|(start_ms, inbound, ivr_ms, raw, end)| Scenario {
            id: 0,
            start_ms,
            inbound,
            ivr_ms,
            path: raw_path(raw.into_iter()),
            end,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Summing calls per hour, then hours into days, gives what counting all
    /// the calls at once gives, whatever the thresholds and event orders.
    #[test]
    fn hours_then_days_equal_a_recount_of_every_call(
        mut calls in prop::collection::vec(scenario_strategy(), 1..40),
        service_level_seconds in 0..40u64,
        short_abandon_seconds in 0..10u64,
        scramble in any::<u64>(),
    ) {
        for (i, c) in calls.iter_mut().enumerate() {
            c.id = i;
        }
        let th = Thresholds { service_level_seconds, short_abandon_seconds };
        let days = Period::new(day0(), day0() + Duration::days(3), Interval::Day).unwrap();
        prop_assert_eq!(summed(&calls, &th, &days, scramble), recount(&calls, &th, Interval::Day));
        let hours = Period::new(day0(), day0() + Duration::days(3), Interval::Hour).unwrap();
        prop_assert_eq!(summed(&calls, &th, &hours, scramble), recount(&calls, &th, Interval::Hour));
    }
}
