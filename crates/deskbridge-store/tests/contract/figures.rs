//! The contact center's figures in the store (issue 30, point 4): a call
//! counts in its hour's row once it ends, in the transaction that saves it;
//! a late event that changes what it counts for revises the rows, never
//! counting it twice; a read sums the rows of its groups, one queue or one
//! agent, per hour.

use chrono::{DateTime, Duration, TimeZone, Utc};
use deskbridge_core::stats::Totals;
use deskbridge_core::{AgentRef, Direction, EndReason, EventKind, StepOutcome};
use deskbridge_store::{FiguresFilter, GroupEvent, Store};

use super::{LEASE, ev};

fn hour(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, h, 0, 0).unwrap()
}

/// The whole of the test calls' day, in the groups named.
fn day(groups: &[&str]) -> FiguresFilter {
    FiguresFilter {
        groups: groups.iter().map(|g| g.to_string()).collect(),
        from: hour(0),
        to: hour(0) + Duration::days(1),
        queue: None,
        agent: None,
    }
}

async fn figures(store: &dyn Store, filter: &FiguresFilter) -> Vec<(DateTime<Utc>, Totals)> {
    store.hourly_figures(filter).await.unwrap()
}

/// The filter's totals over the whole period.
async fn summed(store: &dyn Store, filter: &FiguresFilter) -> Totals {
    figures(store, filter)
        .await
        .into_iter()
        .map(|(_, t)| t)
        .sum()
}

/// The whole test day's totals of one group.
pub(super) async fn day_totals(store: &dyn Store, group: &str) -> Totals {
    summed(store, &day(&[group])).await
}

fn agent(email: &str) -> AgentRef {
    AgentRef {
        email: Some(email.into()),
        ..AgentRef::default()
    }
}

/// An event of call `call` of group `group`, `secs` after 10:00, naming
/// `queue`.
fn event(group: &str, call: &str, n: u32, kind: EventKind, secs: i64, queue: &str) -> GroupEvent {
    let mut e = ev(&format!("{call}-{n}"), call, kind, secs);
    e.group = group.into();
    e.event.queue = Some(queue.into()).filter(|q: &String| !q.is_empty());
    e
}

fn answered_by(mut e: GroupEvent, email: &str) -> GroupEvent {
    e.event.agent = Some(agent(email));
    e
}

fn ended(mut e: GroupEvent, reason: EndReason) -> GroupEvent {
    e.event.reason = Some(reason);
    e
}

pub(super) async fn a_calls_figures_count_in_its_hour_once_it_ends(store: &dyn Store) {
    let going = [
        event("g", "c1", 1, EventKind::Ringing, 0, "sales"),
        answered_by(
            event("g", "c1", 2, EventKind::Answered, 12, "sales"),
            "Ann@Acme.com",
        ),
    ];
    store.ingest(&going).await.unwrap();
    assert!(
        figures(store, &day(&["g"])).await.is_empty(),
        "a call still going counts for nothing yet"
    );
    let end = [event("g", "c1", 3, EventKind::Ended, 72, "sales")];
    store.ingest(&end).await.unwrap();
    let counted = Totals {
        offered: 1,
        answered: 1,
        answered_within: 1,
        wait_ms: 12_000,
        talk_ms: 60_000,
        ..Totals::default()
    };
    assert_eq!(figures(store, &day(&["g"])).await, [(hour(10), counted)]);
    // Its steps' outcomes save the call again and change none of its
    // figures; its end sent again is a duplicate.
    let step = store.claim_step("w", LEASE).await.unwrap().unwrap();
    let outcome = StepOutcome {
        contact_id: Some("7".into()),
        ..StepOutcome::default()
    };
    assert!(store.complete_step(&step, &outcome).await.unwrap());
    store.ingest(&end).await.unwrap();
    assert_eq!(figures(store, &day(&["g"])).await, [(hour(10), counted)]);
    // Under the agent who answered (by the key the figures keep: the email
    // lowercased).
    let ann = FiguresFilter {
        agent: Some("ann@acme.com".into()),
        ..day(&["g"])
    };
    assert_eq!(summed(store, &ann).await, counted);
}

pub(super) async fn a_late_event_that_changes_a_calls_outcome_revises_its_figures(
    store: &dyn Store,
) {
    // Rang in sales from 10:00:00 and ended unanswered at 10:00:40: missed.
    let missed = [
        event("g", "c1", 1, EventKind::Ringing, 0, "sales"),
        ended(
            event("g", "c1", 2, EventKind::Ended, 40, "sales"),
            EndReason::NoAnswer,
        ),
    ];
    store.ingest(&missed).await.unwrap();
    let sales = FiguresFilter {
        queue: Some("sales".into()),
        ..day(&["g"])
    };
    assert_eq!(
        summed(store, &sales).await,
        Totals {
            offered: 1,
            missed: 1,
            ..Totals::default()
        }
    );
    // The answer arrives late: Ann took it at 30 s, after the 20 s target.
    let answer = [answered_by(
        event("g", "c1", 3, EventKind::Answered, 30, "sales"),
        "ann@acme.com",
    )];
    store.ingest(&answer).await.unwrap();
    let answered_late = Totals {
        offered: 1,
        answered: 1,
        wait_ms: 30_000,
        talk_ms: 10_000,
        ..Totals::default()
    };
    // Summed over its agents: the missed count was taken back out.
    assert_eq!(figures(store, &sales).await, [(hour(10), answered_late)]);
    // A late event says the caller first waited in "front", from 09:59:55:
    // the call now counts there too, in the hour before, as sent on; its
    // wait counts from then.
    let front = [event("g", "c1", 4, EventKind::Ringing, -5, "front")];
    store.ingest(&front).await.unwrap();
    let sent_on = Totals {
        offered: 1,
        transferred: 1,
        ..Totals::default()
    };
    assert_eq!(
        figures(store, &day(&["g"])).await,
        [
            (hour(9), sent_on),
            (
                hour(10),
                Totals {
                    wait_ms: 35_000,
                    ..answered_late
                }
            )
        ]
    );
}

pub(super) async fn figures_are_read_per_group_queue_and_agent(store: &dyn Store) {
    let calls = [
        // g: sales answered by Ann, support missed, sales answered by Bob
        // (the phone system spells his email its own way).
        vec![
            event("g", "c1", 1, EventKind::Ringing, 0, "sales"),
            answered_by(
                event("g", "c1", 2, EventKind::Answered, 5, "sales"),
                "ann@acme.com",
            ),
            event("g", "c1", 3, EventKind::Ended, 65, "sales"),
        ],
        vec![
            event("g", "c2", 1, EventKind::Ringing, 0, "support"),
            ended(
                event("g", "c2", 2, EventKind::Ended, 30, "support"),
                EndReason::NoAnswer,
            ),
        ],
        vec![
            event("g", "c3", 1, EventKind::Ringing, 3600, "sales"),
            answered_by(
                event("g", "c3", 2, EventKind::Answered, 3625, "sales"),
                "Bob@ACME.com",
            ),
            event("g", "c3", 3, EventKind::Ended, 3700, "sales"),
        ],
        // h: sales, abandoned.
        vec![
            event("h", "c4", 1, EventKind::Ringing, 0, "sales"),
            ended(
                event("h", "c4", 2, EventKind::Ended, 40, "sales"),
                EndReason::Abandoned,
            ),
        ],
        // An outbound call is the agent's own: offered nowhere.
        vec![
            answered_by(
                event("g", "c5", 1, EventKind::Answered, 0, "sales"),
                "ann@acme.com",
            ),
            event("g", "c5", 2, EventKind::Ended, 60, "sales"),
        ],
    ];
    let mut requests: Vec<Vec<GroupEvent>> = calls.to_vec();
    for e in &mut requests[4] {
        e.event.direction = Some(Direction::Outbound);
    }
    let requests: Vec<&[GroupEvent]> = requests.iter().map(Vec::as_slice).collect();
    store.ingest_together(&requests).await.unwrap();

    let offered = |t: Totals| (t.offered, t.answered, t.missed, t.abandoned);
    let g = day(&["g"]);
    let by_hour: Vec<(DateTime<Utc>, i64)> = figures(store, &g)
        .await
        .into_iter()
        .map(|(h, t)| (h, t.offered))
        .collect();
    assert_eq!(by_hour, [(hour(10), 2), (hour(11), 1)]);
    assert_eq!(offered(summed(store, &g).await), (3, 2, 1, 0));
    let of = |groups: &[&str], queue: Option<&str>, agent: Option<&str>| FiguresFilter {
        queue: queue.map(str::to_string),
        agent: agent.map(str::to_string),
        ..day(groups)
    };
    for (filter, expected) in [
        (of(&["g"], Some("sales"), None), (2, 2, 0, 0)),
        (of(&["g"], Some("support"), None), (1, 0, 1, 0)),
        (of(&["g", "h"], Some("sales"), None), (3, 2, 0, 1)),
        (of(&["h"], None, None), (1, 0, 0, 1)),
        (of(&["g", "h"], None, Some("bob@acme.com")), (1, 1, 0, 0)),
        (
            of(&["g"], Some("support"), Some("ann@acme.com")),
            (0, 0, 0, 0),
        ),
        (of(&["other"], None, None), (0, 0, 0, 0)),
        (of(&[], None, None), (0, 0, 0, 0)),
    ] {
        assert_eq!(
            offered(summed(store, &filter).await),
            expected,
            "{filter:?}"
        );
    }
    // Only the hours asked for.
    let eleven = FiguresFilter {
        from: hour(11),
        to: hour(12),
        ..day(&["g", "h"])
    };
    assert_eq!(offered(summed(store, &eleven).await), (1, 1, 0, 0));
}
