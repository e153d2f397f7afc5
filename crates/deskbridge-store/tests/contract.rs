//! The store contract: what every `Store` implementation must do, run against each
//! of them (SQLite here; PostgreSQL joins with its implementation).

use std::time::Duration;

use chrono::{TimeZone, Utc};
use deskbridge_core::{
    CallEvent, Direction, EndReason, EventKind, Phone, Policy, Step, StepOutcome,
};
use deskbridge_store::{GroupEvent, PolicyBook, SqliteStore, Store, StoreError, SyncStatus};

struct OnePolicy(Policy);

impl PolicyBook for OnePolicy {
    fn policy(&self, _group: &str) -> Option<&Policy> {
        Some(&self.0)
    }
}

fn policy() -> OnePolicy {
    OnePolicy(Policy::default())
}

fn ev(id: &str, call: &str, kind: EventKind, secs: i64) -> GroupEvent {
    GroupEvent {
        group: "g".into(),
        event: CallEvent {
            id: id.into(),
            call_id: call.into(),
            kind,
            direction: Some(Direction::Inbound),
            from: Some(Phone::E164("+14155550100".into())),
            to: None,
            at: Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap()
                + chrono::Duration::seconds(secs),
            agent: None,
            queue: None,
            attributes: Default::default(),
            reason: (kind == EventKind::Ended).then_some(EndReason::Completed),
            duration_s: None,
            recording_url: None,
            transcript: None,
        },
    }
}

fn answered_call(call: &str) -> Vec<GroupEvent> {
    vec![
        ev(&format!("{call}-1"), call, EventKind::Ringing, 0),
        ev(&format!("{call}-2"), call, EventKind::Answered, 5),
    ]
}

async fn sqlite() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db.sqlite"))
        .await
        .unwrap();
    (store, dir)
}

const LEASE: Duration = Duration::from_secs(30);

async fn ingest_dedupes_and_queues_one_step_per_call(store: &dyn Store) {
    let events = answered_call("c1");
    let report = store.ingest(&events, &policy()).await.unwrap();
    assert_eq!(
        (report.accepted, report.duplicates, report.steps),
        (2, 0, 1)
    );
    let again = store.ingest(&events, &policy()).await.unwrap();
    assert_eq!((again.accepted, again.duplicates, again.steps), (0, 2, 0));
    let call = store.call("g", "c1").await.unwrap().unwrap();
    assert_eq!(call.sync, SyncStatus::Pending);
    assert_eq!(call.steps.len(), 1);
    assert_eq!(call.steps[0].step, "identify_caller");
    // Another group's call with the same id is another call.
    assert!(store.call("other", "c1").await.unwrap().is_none());
}

async fn a_rejected_batch_stores_nothing(store: &dyn Store) {
    let mut events = answered_call("c1");
    let mut orphan = ev("x", "c2", EventKind::Ended, 9);
    orphan.event.direction = None;
    events.push(orphan);
    match store.ingest(&events, &policy()).await {
        Err(StoreError::Apply { index: 2, .. }) => {}
        other => panic!("expected an apply error at index 2, got {other:?}"),
    }
    assert!(store.call("g", "c1").await.unwrap().is_none());
    let report = store.ingest(&answered_call("c1"), &policy()).await.unwrap();
    assert_eq!(report.accepted, 2, "the rejected events were not kept");
}

async fn steps_run_in_order_and_complete_queues_the_next(store: &dyn Store) {
    let mut events = answered_call("c1");
    events.push(ev("c1-3", "c1", EventKind::Ended, 60));
    store.ingest(&events, &policy()).await.unwrap();
    let first = store.claim_step("w1", LEASE).await.unwrap().unwrap();
    assert_eq!(first.step, Step::IdentifyCaller);
    assert_eq!(first.attempt, 1);
    // The call's next step is not claimable while this one runs.
    assert!(store.claim_step("w2", LEASE).await.unwrap().is_none());
    let outcome = StepOutcome {
        contact_id: Some("7".into()),
        ..StepOutcome::default()
    };
    assert!(
        store
            .complete_step(&first, &outcome, &Policy::default())
            .await
            .unwrap()
    );
    let second = store.claim_step("w2", LEASE).await.unwrap().unwrap();
    assert_eq!(second.step, Step::OpenTicket);
    assert_eq!(second.interaction.contact_id.as_deref(), Some("7"));
}

async fn an_expired_lease_is_taken_over_and_the_old_worker_cannot_record(store: &dyn Store) {
    store.ingest(&answered_call("c1"), &policy()).await.unwrap();
    let stale = store
        .claim_step("dead", Duration::from_millis(50))
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(120)).await;
    let taken = store.claim_step("alive", LEASE).await.unwrap().unwrap();
    assert_eq!(taken.job_id, stale.job_id);
    assert_eq!(taken.attempt, 2);
    let outcome = StepOutcome::default();
    assert!(
        !store
            .complete_step(&stale, &outcome, &Policy::default())
            .await
            .unwrap()
    );
    assert!(
        !store
            .retry_step(&stale, "late", Duration::ZERO)
            .await
            .unwrap()
    );
    assert!(
        store
            .complete_step(&taken, &outcome, &Policy::default())
            .await
            .unwrap()
    );
}

async fn retries_wait_and_failures_stop_only_their_call(store: &dyn Store) {
    store.ingest(&answered_call("c1"), &policy()).await.unwrap();
    store.ingest(&answered_call("c2"), &policy()).await.unwrap();
    let a = store.claim_step("w", LEASE).await.unwrap().unwrap();
    assert!(
        store
            .retry_step(&a, "timeout", Duration::from_secs(60))
            .await
            .unwrap()
    );
    // The retried step waits; the other call's step is next.
    let b = store.claim_step("w", LEASE).await.unwrap().unwrap();
    assert_ne!(b.call_id, a.call_id);
    assert!(store.fail_step(&b, "contact 9 is gone").await.unwrap());
    let failed = store.call("g", &b.call_id).await.unwrap().unwrap();
    assert_eq!(failed.sync, SyncStatus::Failed);
    assert!(failed.sync_error.unwrap().contains("contact 9 is gone"));
    // New events for a failed call queue nothing more.
    let more = vec![ev(
        &format!("{}-3", b.call_id),
        &b.call_id,
        EventKind::Ended,
        60,
    )];
    assert_eq!(store.ingest(&more, &policy()).await.unwrap().steps, 0);
    assert!(store.claim_step("w", LEASE).await.unwrap().is_none());
    assert!(store.next_due().await.unwrap().is_some());
    let pending = store.call("g", &a.call_id).await.unwrap().unwrap();
    assert_eq!(pending.steps[0].last_error.as_deref(), Some("timeout"));
}

async fn release_gives_the_step_back_without_an_attempt(store: &dyn Store) {
    store.ingest(&answered_call("c1"), &policy()).await.unwrap();
    let a = store.claim_step("w", LEASE).await.unwrap().unwrap();
    store.release_step(&a).await.unwrap();
    let again = store.claim_step("w", LEASE).await.unwrap().unwrap();
    assert_eq!((again.job_id, again.attempt), (a.job_id, 1));
}

async fn the_caller_log_is_newest_first_and_scoped_to_groups(store: &dyn Store) {
    for (i, secs) in [0, 120, 60].iter().enumerate() {
        store
            .ingest(
                &[ev(
                    &format!("e{i}"),
                    &format!("c{i}"),
                    EventKind::Ringing,
                    *secs,
                )],
                &policy(),
            )
            .await
            .unwrap();
    }
    let mut other = ev("o", "o", EventKind::Ringing, 500);
    other.group = "other".into();
    store.ingest(&[other], &policy()).await.unwrap();
    let ids = |calls: Vec<deskbridge_store::CallRecord>| {
        calls
            .into_iter()
            .map(|c| c.interaction.call_id)
            .collect::<Vec<_>>()
    };
    let g = vec!["g".to_string()];
    assert_eq!(
        ids(store.calls(&g, None, 10).await.unwrap()),
        ["c1", "c2", "c0"]
    );
    assert_eq!(
        ids(store.calls(&g, Some("+14155550100"), 2).await.unwrap()),
        ["c1", "c2"]
    );
    assert!(
        store
            .calls(&g, Some("+14155550199"), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let both = vec!["g".to_string(), "other".to_string()];
    assert_eq!(ids(store.calls(&both, None, 10).await.unwrap())[0], "o");
    store.ready().await.unwrap();
}

macro_rules! contract {
    ($backend:ident: $($test:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test]
                async fn $test() {
                    let (store, _guard) = super::$backend().await;
                    super::$test(&store).await;
                }
            )*
        }
    };
}

contract!(sqlite:
    ingest_dedupes_and_queues_one_step_per_call,
    a_rejected_batch_stores_nothing,
    steps_run_in_order_and_complete_queues_the_next,
    an_expired_lease_is_taken_over_and_the_old_worker_cannot_record,
    retries_wait_and_failures_stop_only_their_call,
    release_gives_the_step_back_without_an_attempt,
    the_caller_log_is_newest_first_and_scoped_to_groups,
);
