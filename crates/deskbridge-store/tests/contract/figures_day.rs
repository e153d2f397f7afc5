//! A generated day of calls through the store's ingest, against a
//! brute-force recount (issue 30, "Must show"): every call replayed from its
//! events and counted by the core's `offers`, all at once, per hour and per
//! day, for each group and for a queue and an agent. The events of each
//! call come in a scrambled order, split over two commits, so calls are
//! counted, then revised by late events, as a live day would have them.
//!
//! `STATS_CALLS` sets the size (default 2,000, for CI); the 100,000-call day
//! of the issue is run by hand:
//! `STATS_CALLS=100000 cargo nextest run -p deskbridge-store --no-capture -E 'test(a_generated_day)'`.
//! It prints how long the figures of the whole day took to read.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{DateTime, Duration, TimeZone, Utc};
use deskbridge_core::policy::Thresholds;
use deskbridge_core::stats::{Interval, Period, Totals, agent_key, offers};
use deskbridge_core::{
    AgentRef, CallEvent, CallPlan, Direction, EndReason, EventKind, Interaction, Phone,
};
use deskbridge_store::{FiguresFilter, GroupEvent, Store};

const DAY_MS: u64 = 86_400_000;
const QUEUES: [&str; 3] = ["sales", "support", "billing"];
/// Calls whose events one commit carries (one request each).
const CALLS_PER_COMMIT: usize = 250;

fn day0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap()
}

fn at(ms: u64) -> DateTime<Utc> {
    day0() + Duration::milliseconds(i64::try_from(ms).unwrap())
}

/// Two groups with thresholds of their own, carried on their calls' plans.
fn plan(group: &str) -> CallPlan {
    let thresholds = match group {
        "g" => Thresholds {
            service_level_seconds: 20,
            short_abandon_seconds: 5,
        },
        _ => Thresholds {
            service_level_seconds: 30,
            short_abandon_seconds: 0,
        },
    };
    CallPlan {
        thresholds,
        ..CallPlan::default()
    }
}

/// Agents as phone systems name them: by email in any case, by extension,
/// by name.
fn agent(i: u64) -> AgentRef {
    let mut a = AgentRef::default();
    match i {
        0 => a.email = Some("ann@acme.com".into()),
        1 => a.email = Some("Bob@ACME.com".into()),
        2 => a.extension = Some("103".into()),
        _ => a.name = Some("Cy Agent".into()),
    }
    a
}

/// The same day every run (a seeded `StdRng`).
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
}

/// One generated call: its group and its events as they happened.
struct Generated {
    group: &'static str,
    events: Vec<CallEvent>,
}

/// A call of a busy day: mostly inbound; mostly one queue, some without
/// queue data, some sent on to other queues; waits on either side of the
/// thresholds; every way a call ends.
fn generate(rng: &mut Rng, n: usize) -> Generated {
    let group = if rng.below(3) == 0 { "h" } else { "g" };
    let inbound = rng.below(10) > 0;
    let call_id = format!("call-{n}");
    let number = Phone::E164(format!("+1415555{:04}", rng.below(10_000)));
    let event = |n: usize, kind: EventKind, ms: u64, queue: Option<&str>| {
        let mut e = CallEvent::new(format!("{call_id}-{n}"), &call_id, kind, at(ms));
        e.direction = Some(if inbound {
            Direction::Inbound
        } else {
            Direction::Outbound
        });
        match inbound {
            true => e.from = Some(number.clone()),
            false => e.to = Some(number.clone()),
        }
        e.queue = queue.map(str::to_string);
        e
    };
    let start = rng.below(DAY_MS);
    let mut events = vec![event(0, EventKind::Ringing, start, None)];
    let mut clock = start + rng.below(30_000);
    let stays = [0, 1, 1, 1, 1, 1, 2, 3][usize::try_from(rng.below(8)).unwrap()];
    let mut last: Option<usize> = None;
    for _ in 0..stays {
        let mut q = usize::try_from(rng.below(3)).unwrap();
        if last == Some(q) {
            q = (q + 1) % 3;
        }
        events.push(event(
            events.len(),
            EventKind::Ringing,
            clock,
            Some(QUEUES[q]),
        ));
        // Up to 45 s in each: waits fall on both sides of 5, 20 and 30 s.
        clock += 1 + rng.below(45_000);
        last = Some(q);
    }
    let queue = last.map(|q| QUEUES[q]);
    let (end_at, reason) = match rng.below(20) {
        0..=12 => {
            let mut answer = event(events.len(), EventKind::Answered, clock, queue);
            answer.agent = Some(agent(rng.below(4)));
            events.push(answer);
            let talk_s = 1 + rng.below(900);
            let mut hang_up = event(events.len(), EventKind::Ended, clock + talk_s * 1000, queue);
            hang_up.reason = Some(EndReason::Completed);
            if rng.below(2) == 0 {
                hang_up.duration_s = Some(talk_s);
            }
            events.push(hang_up);
            return Generated { group, events };
        }
        13 => {
            events.push(event(events.len(), EventKind::Voicemail, clock, queue));
            (clock + 20_000, EndReason::Completed)
        }
        14..=16 => (clock, EndReason::Abandoned),
        17 => (clock, EndReason::NoAnswer),
        18 => (
            clock,
            [EndReason::Busy, EndReason::Forwarded][usize::try_from(rng.below(2)).unwrap()],
        ),
        _ => (clock, EndReason::Failed),
    };
    let mut end = event(events.len(), EventKind::Ended, end_at, queue);
    end.reason = Some(reason);
    events.push(end);
    Generated { group, events }
}

/// (group, hour, queue, agent key) → the totals of the offers there.
type Recount = BTreeMap<(&'static str, DateTime<Utc>, Option<String>, Option<String>), Totals>;

/// The brute force: each call replayed from all its events, each of its
/// offers added where it counts.
fn recount(calls: &[Generated]) -> Recount {
    let mut cells = Recount::new();
    for c in calls {
        let plan = plan(c.group);
        let mut call = Interaction::start(c.group, &plan, &c.events[0]).unwrap();
        for e in &c.events {
            call.apply(e);
        }
        for offer in offers(&call, &plan.thresholds) {
            let hour = Interval::Hour.start_of(offer.offered_at);
            *cells
                .entry((c.group, hour, offer.queue.clone(), offer.agent.clone()))
                .or_default() += Totals::of(&offer);
        }
    }
    cells
}

/// The recount's hours under a filter, summed over the rest.
fn recounted(
    cells: &Recount,
    group: &str,
    queue: Option<&str>,
    agent: Option<&str>,
) -> Vec<(DateTime<Utc>, Totals)> {
    let mut hours: BTreeMap<DateTime<Utc>, Totals> = BTreeMap::new();
    for ((g, hour, q, a), t) in cells {
        if *g == group
            && queue.is_none_or(|queue| q.as_deref() == Some(queue))
            && agent.is_none_or(|agent| a.as_deref() == Some(agent))
        {
            *hours.entry(*hour).or_default() += *t;
        }
    }
    hours.into_iter().collect()
}

/// Hours rolled up over `period`, without the empty intervals.
fn rolled(period: &Period, hours: Vec<(DateTime<Utc>, Totals)>) -> Vec<(DateTime<Utc>, Totals)> {
    period
        .roll_up(hours)
        .into_iter()
        .filter(|(_, t)| !t.is_zero())
        .collect()
}

pub(super) async fn a_generated_day_of_calls_sums_to_a_brute_force_recount(store: &dyn Store) {
    let size: usize = std::env::var("STATS_CALLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000);
    let mut rng = Rng::seeded(30);
    let calls: Vec<Generated> = (0..size).map(|n| generate(&mut rng, n)).collect();

    // Each call's events scrambled and split: the first part in one commit,
    // the rest in a later one.
    let mut early: Vec<Vec<GroupEvent>> = Vec::with_capacity(size);
    let mut late: Vec<Vec<GroupEvent>> = Vec::with_capacity(size);
    let mut sent: Vec<Generated> = Vec::with_capacity(size);
    for c in calls {
        let mut events = c.events;
        rng.shuffle(&mut events);
        let split = 1 + usize::try_from(rng.below(events.len() as u64)).unwrap();
        let as_group = |e: &CallEvent| GroupEvent {
            group: c.group.into(),
            plan: plan(c.group),
            event: e.clone(),
            callback_triggers: Default::default(),
        };
        early.push(events[..split].iter().map(as_group).collect());
        late.push(events[split..].iter().map(as_group).collect());
        sent.push(Generated {
            group: c.group,
            events,
        });
    }
    let started = Instant::now();
    for round in [&early, &late] {
        for commit in round.chunks(CALLS_PER_COMMIT) {
            let requests: Vec<&[GroupEvent]> = commit
                .iter()
                .filter(|r| !r.is_empty())
                .map(Vec::as_slice)
                .collect();
            for result in store.ingest_each(&requests).await {
                result.unwrap();
            }
        }
    }
    let ingested = started.elapsed();

    let everything = FiguresFilter {
        groups: vec!["g".into(), "h".into()],
        from: day0(),
        to: day0() + Duration::days(1),
        queue: None,
        agent: None,
    };
    let started = Instant::now();
    let day = store.hourly_figures(&everything).await.unwrap();
    let read = started.elapsed();
    let offered: i64 = day.iter().map(|(_, t)| t.offered).sum();
    let database = match store.is_shared() {
        true => "PostgreSQL",
        false => "SQLite",
    };
    println!(
        "{database}: the figures of a day of {size} calls ({offered} offers, {} hours) \
         read in {read:?} (the calls ingested in {ingested:?})",
        day.len()
    );

    let cells = recount(&sent);
    let hours = Period::new(day0(), day0() + Duration::days(2), Interval::Hour).unwrap();
    let days = Period::new(day0(), day0() + Duration::days(2), Interval::Day).unwrap();
    let ann = agent_key(&agent(0));
    let extension = agent_key(&agent(2));
    let filters = [
        (None, None),
        (Some("sales"), None),
        (Some("billing"), None),
        (None, ann.as_deref()),
        (Some("support"), extension.as_deref()),
    ];
    for group in ["g", "h"] {
        for (queue, agent) in filters {
            let filter = FiguresFilter {
                groups: vec![group.into()],
                from: hours.from(),
                to: hours.to(),
                queue: queue.map(str::to_string),
                agent: agent.map(str::to_string),
            };
            let stored = store.hourly_figures(&filter).await.unwrap();
            let expected = recounted(&cells, group, queue, agent);
            assert!(!expected.is_empty(), "{filter:?}: the day has such calls");
            let what = format!("{group} {queue:?} {agent:?}");
            assert_eq!(
                rolled(&hours, stored.clone()),
                rolled(&hours, expected.clone()),
                "per hour: {what}"
            );
            assert_eq!(
                rolled(&days, stored),
                rolled(&days, expected),
                "per day: {what}"
            );
        }
    }
    // Every kind of offer is in the day, and the whole day adds up.
    let whole: Totals = cells.values().copied().sum();
    for n in [
        whole.answered,
        whole.answered_within,
        whole.abandoned,
        whole.short_abandoned,
        whole.missed,
        whole.transferred,
    ] {
        assert!(n > 0, "{whole:?}");
    }
    assert!(
        whole.offered > i64::try_from(size).unwrap() / 2,
        "{whole:?}"
    );
}
