//! Callbacks in the store (issue 27, point 2): missed calls fold into one
//! callback per number, written with the call; a claim is written only over
//! the version it was decided on; each write is announced to the group's
//! callback triggers in its own transaction; and two instances on one
//! PostgreSQL database, each ingesting a missed call from one number at the
//! same moment, make one callback.

use std::sync::Arc;

use deskbridge_core::callback::{self, CloseReason};
use deskbridge_core::decide::callback::claim;
use deskbridge_core::trigger::{Action, Entity, Trigger};
use deskbridge_core::{Direction, EndReason, EventKind, Phone, Step, StepOutcome};
use deskbridge_store::{CallbackFilter, Callbacks, GroupEvent, Journal, Store};

use super::{LEASE, bounded, ev, groups, trigger, two_instances};

/// A missed call from `from`: ringing, then ended unanswered.
fn missed_call(call: &str, from: &str, secs: i64) -> Vec<GroupEvent> {
    let mut events = vec![
        ev(&format!("{call}-1"), call, EventKind::Ringing, secs),
        ev(&format!("{call}-2"), call, EventKind::Ended, secs + 20),
    ];
    for e in &mut events {
        e.event.from = Some(Phone::E164(from.into()));
    }
    events[1].event.reason = Some(EndReason::NoAnswer);
    events
}

fn open_of(group: &str) -> CallbackFilter {
    CallbackFilter {
        groups: vec![group.into()],
        closed_since: None,
        limit: 10,
    }
}

pub(super) async fn missed_calls_fold_into_one_callback_per_number(store: &dyn Store) {
    store
        .ingest(&missed_call("m1", "+14155550100", 0))
        .await
        .unwrap();
    store
        .ingest(&missed_call("m2", "+14155550100", 60))
        .await
        .unwrap();
    store
        .ingest(&missed_call("m3", "+14155550177", 90))
        .await
        .unwrap();
    // A resent event acts on nothing twice.
    store
        .ingest(&missed_call("m2", "+14155550100", 60))
        .await
        .unwrap();
    let open = store.callbacks(&open_of("g")).await.unwrap();
    let counts: Vec<(&str, u32)> = open
        .iter()
        .map(|r| (r.callback.phone.as_str(), r.callback.missed))
        .collect();
    assert_eq!(counts, [("+14155550100", 2), ("+14155550177", 1)]);
    assert_eq!(open[0].callback.last_call_id, "m2");
    // The call keeps what it did.
    let m2 = store.call("g", "m2").await.unwrap().unwrap();
    assert_eq!(
        m2.interaction.callback,
        Some(callback::CallbackMark::Folded {
            id: open[0].callback.id,
            missed: 2
        })
    );
    // An answered call from the number closes it, as reached.
    let mut answered = missed_call("in", "+14155550100", 300);
    answered[1].event.kind = EventKind::Answered;
    answered[1].event.reason = None;
    store.ingest(&answered).await.unwrap();
    let open = store.callbacks(&open_of("g")).await.unwrap();
    assert_eq!(open.len(), 1);
    let closed = store
        .callbacks(&CallbackFilter {
            closed_since: Some(chrono::DateTime::UNIX_EPOCH),
            ..open_of("g")
        })
        .await
        .unwrap();
    assert!(matches!(
        closed[0].callback.closed.as_ref().map(|c| &c.reason),
        Some(CloseReason::Reached {
            direction: Direction::Inbound,
            ..
        })
    ));
    // Another group's agents see none of them.
    assert!(store.callbacks(&open_of("other")).await.unwrap().is_empty());
}

pub(super) async fn a_claim_is_written_only_over_the_version_it_was_decided_on(store: &dyn Store) {
    store
        .ingest(&missed_call("m1", "+14155550100", 0))
        .await
        .unwrap();
    let read = store.callbacks(&open_of("g")).await.unwrap().remove(0);
    let now = chrono::Utc::now();
    let ann = claim(&read.callback, "ann@acme.com", "Ann", now).unwrap();
    let bob = claim(&read.callback, "bob@acme.com", "Bob", now).unwrap();
    assert!(
        store
            .replace_callback(read.version, &ann, &[])
            .await
            .unwrap()
    );
    assert!(
        !store
            .replace_callback(read.version, &bob, &[])
            .await
            .unwrap(),
        "Bob decided on the version Ann's claim replaced"
    );
    let now_stored = store.callback(read.callback.id).await.unwrap().unwrap();
    assert_eq!(now_stored.callback.claim.unwrap().agent, "ann@acme.com");
    assert_eq!(now_stored.version, read.version + 1);
}

/// The notifications' URLs of group "g", oldest first, with their order keys.
async fn announced(store: &dyn Store) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = store
        .deliveries(&groups(), None, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.request.url().to_string(), d.order_key))
        .collect();
    all.reverse();
    all
}

/// Runs the call's next step, recording `outcome` for it.
async fn run_step(store: &dyn Store, step: Step, outcome: StepOutcome) {
    let claimed = store.claim_step("w", LEASE).await.unwrap().unwrap();
    assert_eq!(claimed.step, step);
    assert!(store.complete_step(&claimed, &outcome).await.unwrap());
}

pub(super) async fn a_callbacks_writes_commit_with_their_notifications(store: &dyn Store) {
    let hook = "https://crm.example.com/cb";
    let triggers: Arc<[Trigger]> = [Action::Create, Action::Edit]
        .map(|a| trigger(Entity::Callback, a, hook))
        .into();
    let heard = |mut events: Vec<GroupEvent>| {
        for e in &mut events {
            e.callback_triggers = triggers.clone();
        }
        events
    };
    // A missed call opens a callback: created, in the ingest's transaction.
    store
        .ingest(&heard(missed_call("m1", "+14155550100", 0)))
        .await
        .unwrap();
    let open = store.callbacks(&open_of("g")).await.unwrap().remove(0);
    let id = open.callback.id;
    let key = format!("callback:{id}");
    assert_eq!(
        announced(store).await,
        [(
            format!("{hook}?AccountID=&CaseID=&CallbackID={id}"),
            key.clone()
        )]
    );
    // The missed call is logged: its contact and ticket name the callback.
    run_step(
        store,
        Step::IdentifyCaller,
        StepOutcome {
            contact_id: Some("5".into()),
            ..StepOutcome::default()
        },
    )
    .await;
    run_step(
        store,
        Step::OpenTicket,
        StepOutcome {
            ticket_id: Some("42".into()),
            call_logged: true,
            ..StepOutcome::default()
        },
    )
    .await;
    // A group without callback triggers announces nothing.
    store
        .ingest(&missed_call("q1", "+14155550177", 0))
        .await
        .unwrap();
    assert_eq!(announced(store).await.len(), 1);
    let named = format!("{hook}?AccountID=5&CaseID=42&CallbackID={id}");
    let read = store.callback(id).await.unwrap().unwrap();
    assert_eq!(
        (
            read.last_call.contact_id.as_deref(),
            read.last_call.ticket_id.as_deref()
        ),
        (Some("5"), Some("42"))
    );

    // An agent's claim: written with its notification; one decided on an
    // older version writes nothing and announces nothing.
    let now = chrono::Utc::now();
    let ann = claim(&read.callback, "ann@acme.com", "Ann", now).unwrap();
    let bob = claim(&read.callback, "bob@acme.com", "Bob", now).unwrap();
    assert!(
        store
            .replace_callback(read.version, &ann, &triggers)
            .await
            .unwrap()
    );
    assert!(
        !store
            .replace_callback(read.version, &bob, &triggers)
            .await
            .unwrap()
    );
    assert_eq!(announced(store).await.len(), 2);
    assert_eq!(announced(store).await[1], (named.clone(), key.clone()));

    // The customer calls again and is answered: closed, an edit.
    let mut answered = missed_call("in", "+14155550100", 300);
    answered[1].event.kind = EventKind::Answered;
    answered[1].event.reason = None;
    store.ingest(&heard(answered)).await.unwrap();
    let all = announced(store).await;
    assert_eq!(all.len(), 3, "{all:?}");
    assert_eq!(all[2], (named, key));
}

/// Two instances each commit a missed call from the same number at the same
/// moment, many times over: every pair makes one callback with both calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_fold_missed_calls_from_one_number_into_one_callback() {
    let (a, b, schema) = two_instances().await;
    for round in 0..20 {
        let phone = format!("+1415555{:04}", 1000 + round);
        let (x, y) = (
            missed_call(&format!("a{round}"), &phone, 0),
            missed_call(&format!("b{round}"), &phone, 1),
        );
        let (ra, rb) = bounded("two ingests", async {
            tokio::join!(a.ingest(&x), b.ingest(&y))
        })
        .await;
        ra.unwrap();
        rb.unwrap();
    }
    let open = a
        .callbacks(&CallbackFilter {
            limit: 100,
            ..open_of("g")
        })
        .await
        .unwrap();
    assert_eq!(open.len(), 20, "one callback per number");
    assert!(
        open.iter().all(|r| r.callback.missed == 2),
        "{:?}",
        open.iter().map(|r| r.callback.missed).collect::<Vec<_>>()
    );
    a.close().await;
    b.close().await;
    drop(schema);
}
