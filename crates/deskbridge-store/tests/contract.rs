//! The store contract: what every `Store` and `CrmStore` implementation must do,
//! run against each of them: SQLite in a temporary directory and PostgreSQL
//! (`DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`) in a
//! fresh schema per test. PostgreSQL-only tests at the end run two stores on one
//! schema, as two deskbridge instances sharing a database.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

use chrono::{TimeZone, Utc};
use deskbridge_core::trigger::{Action, Entity, Format, Trigger, Verdict};
use deskbridge_core::{
    CallEvent, CallPlan, Direction, EndReason, EventKind, JobStatus, Outcome, Phone, Step,
    StepOutcome, WorkLane,
};
use deskbridge_store::crm::{
    CardRows, CommentFields, ContactFields, CrmStore, Fields, OrganizationFields, Page, TaskFields,
    TicketFields,
};
use deskbridge_store::outbox::AttemptOutcome;
use deskbridge_store::{
    Change, Coordination, DeliveryStatus, GroupEvent, GroupTriggers, JobQueue, Journal,
    MirrorBatch, MirrorTicket, MirrorUser, PgStore, SendCount, SharedBudget, SqliteStore, StepDone,
    Store, StoreError, SyncStatus,
};
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use tokio::sync::{Barrier, broadcast};

#[path = "contract/figures.rs"]
mod figures;
use figures::{
    a_calls_figures_count_in_its_hour_once_it_ends,
    a_late_event_that_changes_a_calls_outcome_revises_its_figures,
    figures_are_read_per_group_queue_and_agent,
};
#[path = "contract/figures_day.rs"]
mod figures_day;
use figures_day::a_generated_day_of_calls_sums_to_a_brute_force_recount;
#[path = "contract/callbacks.rs"]
mod callbacks;
use callbacks::{
    a_callbacks_writes_commit_with_their_notifications,
    a_claim_is_written_only_over_the_version_it_was_decided_on,
    missed_calls_fold_into_one_callback_per_number,
};

fn ev(id: &str, call: &str, kind: EventKind, secs: i64) -> GroupEvent {
    GroupEvent {
        group: "g".into(),
        plan: CallPlan::default(),
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
            conversation: None,
            wrap_up: None,
        },
        callback_triggers: Default::default(),
    }
}

/// How long a test waits for a spawned task, a barrier or a join before it
/// fails saying what it waited for: never without a bound (issue 23).
const BOUND: Duration = Duration::from_secs(60);

/// `fut`'s output, or a failure naming `what` after [`BOUND`].
async fn bounded<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, fut)
        .await
        .unwrap_or_else(|_| panic!("waited over {BOUND:?} for {what}"))
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

async fn postgres() -> (PgStore, PgSchema) {
    let schema = PgSchema::create().await;
    let store = PgStore::open(&schema.url()).await.unwrap();
    (store, schema)
}

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Test schemas are named `deskbridge_test_<hex>`; each carries its creation time
/// (unix seconds) as its comment, so that schemas a killed run left behind are
/// dropped by a later run.
const SCHEMA_PREFIX: &str = "deskbridge_test_";
const STALE_AFTER_SECS: u64 = 3600;

fn database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_string())
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

fn random_hex() -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // RandomState is seeded randomly per process; the rest tells apart schemas of
    // one process.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.write_u32(std::process::id());
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("{:016x}", h.finish())
}

async fn admin_connection(url: &str) -> PgConnection {
    PgConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to PostgreSQL at {url} (set DATABASE_URL): {e}"))
}

/// A fresh schema, dropped (with everything in it) when this is dropped.
struct PgSchema {
    base: String,
    name: String,
}

impl PgSchema {
    async fn create() -> PgSchema {
        let base = database_url();
        let name = format!("{SCHEMA_PREFIX}{}", random_hex());
        let mut conn = admin_connection(&base).await;
        sweep_stale_schemas(&mut conn).await;
        // One simple query, one implicit transaction: no schema without its time.
        sqlx::raw_sql(AssertSqlSafe(format!(
            "CREATE SCHEMA {name}; COMMENT ON SCHEMA {name} IS '{}'",
            unix_secs()
        )))
        .execute(&mut conn)
        .await
        .unwrap();
        let _ = conn.close().await;
        PgSchema { base, name }
    }

    /// The database URL with this schema as the search path.
    fn url(&self) -> String {
        let separator = if self.base.contains('?') { '&' } else { '?' };
        format!(
            "{}{separator}options=-c%20search_path%3D{}",
            self.base, self.name
        )
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        // Drop may run inside the test's runtime, which cannot be blocked on: a
        // thread with its own runtime drops the schema.
        let (base, name) = (self.base.clone(), self.name.clone());
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for dropping the test schema");
            runtime.block_on(async move {
                let mut conn = PgConnection::connect(&base).await?;
                // Sessions still holding locks in the schema (a transaction whose
                // rollback waits in a task of the test's runtime, which this drop
                // blocks) belong to the finished test: end them.
                sqlx::query(
                    "SELECT pg_terminate_backend(l.pid) FROM pg_locks l
                     JOIN pg_class c ON c.oid = l.relation
                     JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = $1 AND l.pid <> pg_backend_pid()",
                )
                .bind(&name)
                .execute(&mut conn)
                .await?;
                sqlx::raw_sql(AssertSqlSafe(format!(
                    "SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS {name} CASCADE"
                )))
                .execute(&mut conn)
                .await?;
                conn.close().await
            })
        });
        match cleanup.join() {
            Ok(Ok(())) => {}
            // A later run's sweep drops it.
            Ok(Err(e)) => eprintln!("test schema {} not dropped: {e}", self.name),
            Err(_) => eprintln!("test schema {} not dropped: cleanup panicked", self.name),
        }
    }
}

/// Drops test schemas older than an hour, or without a creation time (left by a
/// run that was killed before its guards ran). Once per test process.
async fn sweep_stale_schemas(conn: &mut PgConnection) {
    static SWEPT: AtomicBool = AtomicBool::new(false);
    if SWEPT.swap(true, Ordering::SeqCst) {
        return;
    }
    // A schema still in use is left for a later sweep rather than waited for.
    let _ = sqlx::raw_sql("SET lock_timeout = '2s'")
        .execute(&mut *conn)
        .await;
    let schemas: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT nspname::text, obj_description(oid, 'pg_namespace') FROM pg_namespace
         WHERE starts_with(nspname, $1)",
    )
    .bind(SCHEMA_PREFIX)
    .fetch_all(&mut *conn)
    .await
    .unwrap_or_default();
    let now = unix_secs();
    for (name, created) in schemas {
        let created = created.and_then(|c| c.trim().parse::<u64>().ok());
        if created.is_some_and(|c| now.saturating_sub(c) < STALE_AFTER_SECS) {
            continue;
        }
        // Another process may be sweeping the same schema: errors are harmless.
        let _ = sqlx::raw_sql(AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
            name.replace('"', "\"\"")
        )))
        .execute(&mut *conn)
        .await;
    }
}

const LEASE: Duration = Duration::from_secs(30);

async fn ingest_dedupes_and_queues_one_step_per_call(store: &dyn Store) {
    let events = answered_call("c1");
    let report = store.ingest(&events).await.unwrap();
    assert_eq!(
        (report.accepted, report.duplicates, report.steps),
        (2, 0, 1)
    );
    let again = store.ingest(&events).await.unwrap();
    assert_eq!((again.accepted, again.duplicates, again.steps), (0, 2, 0));
    let call = store.call("g", "c1").await.unwrap().unwrap();
    assert_eq!(call.sync, SyncStatus::Pending);
    assert_eq!(call.steps.len(), 1);
    assert_eq!(call.steps[0].step, Step::IdentifyCaller);
    // Another group's call with the same id is another call.
    assert!(store.call("other", "c1").await.unwrap().is_none());
    assert!(report.ended.is_empty(), "a call still going ended nothing");
    // Its end is reported once, with its outcome; the end sent again is not.
    let end = [ev("c1-3", "c1", EventKind::Ended, 60)];
    let ended = store.ingest(&end).await.unwrap();
    assert_eq!(ended.ended, vec![("g".to_string(), Outcome::Answered)]);
    let later = ev("c1-4", "c1", EventKind::Ended, 61);
    assert!(store.ingest(&end).await.unwrap().ended.is_empty());
    assert!(store.ingest(&[later]).await.unwrap().ended.is_empty());
}

async fn waiting_steps_are_the_due_ones_not_taken(store: &dyn Store) {
    let now = Utc::now();
    assert_eq!(
        store.waiting_steps(WorkLane::Live, now).await.unwrap(),
        deskbridge_store::WaitingSteps::default()
    );
    store.ingest(&answered_call("c1")).await.unwrap();
    store.ingest(&answered_call("c2")).await.unwrap();
    let later = Utc::now() + chrono::Duration::seconds(1);
    let waiting = store.waiting_steps(WorkLane::Live, later).await.unwrap();
    assert_eq!(waiting.count, 2);
    let oldest = waiting.oldest_due.expect("the oldest's time");
    assert!(oldest <= later, "{oldest} after {later}");
    assert!(
        oldest >= now - chrono::Duration::seconds(5),
        "{oldest} long before {now}"
    );
    // A step a worker holds is not waiting; the other lane has none.
    store.claim_step("w1", LEASE).await.unwrap().unwrap();
    assert_eq!(
        store
            .waiting_steps(WorkLane::Live, later)
            .await
            .unwrap()
            .count,
        1
    );
    assert_eq!(
        store
            .waiting_steps(WorkLane::Bulk, later)
            .await
            .unwrap()
            .count,
        0
    );
    // Before they were queued, nothing was due.
    let before = now - chrono::Duration::seconds(60);
    assert_eq!(
        store
            .waiting_steps(WorkLane::Live, before)
            .await
            .unwrap()
            .count,
        0
    );
}

async fn a_rejected_batch_stores_nothing(store: &dyn Store) {
    let mut events = answered_call("c1");
    let mut orphan = ev("x", "c2", EventKind::Ended, 9);
    orphan.event.direction = None;
    events.push(orphan);
    match store.ingest(&events).await {
        Err(StoreError::Apply { index: 2, .. }) => {}
        other => panic!("expected an apply error at index 2, got {other:?}"),
    }
    assert!(store.call("g", "c1").await.unwrap().is_none());
    let report = store.ingest(&answered_call("c1")).await.unwrap();
    assert_eq!(report.accepted, 2, "the rejected events were not kept");
}

async fn a_group_commit_answers_each_request_and_stores_each_event_once(store: &dyn Store) {
    // Four requests of one event each, as concurrent one-event requests arrive; the
    // third repeats the first's event (a retry racing its original).
    let a = [ev("c1-1", "c1", EventKind::Ringing, 0)];
    let b = [ev("c2-1", "c2", EventKind::Ringing, 0)];
    let again = [ev("c1-1", "c1", EventKind::Ringing, 0)];
    let c = [ev("c1-2", "c1", EventKind::Answered, 5)];
    let requests: Vec<&[GroupEvent]> = vec![&a, &b, &again, &c];
    let reports = store.ingest_together(&requests).await.unwrap();
    let counts: Vec<(usize, usize)> = reports.iter().map(|r| (r.accepted, r.duplicates)).collect();
    assert_eq!(counts, [(1, 0), (1, 0), (0, 1), (1, 0)]);
    assert_eq!(reports[0].calls, [("g".to_string(), "c1".to_string())]);
    assert!(reports[2].calls.is_empty(), "a duplicate changed no call");
    // c1's events applied in the requests' order: ringing, then answered.
    let c1 = store.call("g", "c1").await.unwrap().unwrap();
    assert!(c1.interaction.answered_at.is_some());
    assert_eq!(c1.steps.len(), 1, "one step queued for c1");
    assert_eq!(c1.steps[0].step, Step::IdentifyCaller);
    // Everything is in the journal once: sent again alone, all are duplicates.
    let all = [a[0].clone(), b[0].clone(), c[0].clone()];
    let report = store.ingest(&all).await.unwrap();
    assert_eq!((report.accepted, report.duplicates), (0, 3));
}

async fn a_refused_request_in_a_group_commit_fails_only_itself(store: &dyn Store) {
    let good = answered_call("c1");
    // A call's first event without a direction cannot start a call.
    let mut orphan = ev("x-1", "c2", EventKind::Ended, 9);
    orphan.event.direction = None;
    let bad = [ev("x-0", "c3", EventKind::Ringing, 0), orphan];
    let other = answered_call("c4");
    let requests: Vec<&[GroupEvent]> = vec![&good, &bad, &other];
    // Together the group fails as a whole, naming the event within its request...
    match store.ingest_together(&requests).await {
        Err(StoreError::Apply { index: 1, .. }) => {}
        other => panic!("expected the group to fail on request 2's event 1, got {other:?}"),
    }
    assert!(
        store.call("g", "c1").await.unwrap().is_none(),
        "nothing was kept"
    );
    // ...and each request gets its own answer: the others are stored.
    let results = store.ingest_each(&requests).await;
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].as_ref().unwrap().accepted, 2);
    assert!(matches!(
        results[1],
        Err(StoreError::Apply { index: 1, .. })
    ));
    assert_eq!(results[2].as_ref().unwrap().accepted, 2);
    assert!(store.call("g", "c1").await.unwrap().is_some());
    assert!(store.call("g", "c4").await.unwrap().is_some());
    // The refused request is whole or nothing: its good event was not kept.
    assert!(store.call("g", "c3").await.unwrap().is_none());
}

async fn concurrent_group_commits_store_every_event_exactly_once(store: &dyn Store) {
    // Eight tasks each commit groups of one-event requests; every second group
    // repeats the previous group's events (retries): each event is accepted once.
    let store: &(dyn Store + Sync) = store;
    let tasks = (0..8).map(|t| async move {
        let mut accepted = 0;
        for round in 0..10 {
            let n = round / 2;
            let events: Vec<[GroupEvent; 1]> = (0..5)
                .map(|i| {
                    let call = format!("t{t}-c{i}");
                    [ev(&format!("{call}-{n}"), &call, EventKind::Ringing, 0)]
                })
                .collect();
            let requests: Vec<&[GroupEvent]> = events.iter().map(|e| e.as_slice()).collect();
            for result in store.ingest_each(&requests).await {
                accepted += result.unwrap().accepted;
            }
        }
        accepted
    });
    let accepted: usize = bounded(
        "the concurrent group commits",
        futures_util::future::join_all(tasks),
    )
    .await
    .into_iter()
    .sum();
    assert_eq!(
        accepted,
        8 * 5 * 5,
        "each distinct event accepted exactly once"
    );
    for t in 0..8 {
        for i in 0..5 {
            let call = store.call("g", &format!("t{t}-c{i}")).await.unwrap();
            assert!(call.is_some(), "call t{t}-c{i} stored");
        }
    }
}

async fn steps_run_in_order_and_complete_queues_the_next(store: &dyn Store) {
    let mut events = answered_call("c1");
    events.push(ev("c1-3", "c1", EventKind::Ended, 60));
    store.ingest(&events).await.unwrap();
    let first = store.claim_step("w1", LEASE).await.unwrap().unwrap();
    assert_eq!(first.step, Step::IdentifyCaller);
    assert_eq!(first.attempt, 1);
    // The call's next step is not claimable while this one runs.
    assert!(store.claim_step("w2", LEASE).await.unwrap().is_none());
    let outcome = StepOutcome {
        contact_id: Some("7".into()),
        ..StepOutcome::default()
    };
    assert!(store.complete_step(&first, &outcome).await.unwrap());
    let second = store.claim_step("w2", LEASE).await.unwrap().unwrap();
    assert_eq!(second.step, Step::OpenTicket);
    assert_eq!(second.interaction.contact_id.as_deref(), Some("7"));
}

/// The ids of the caller log's calls under `filter` (at most 10), newest first.
async fn call_ids_of(store: &dyn Store, filter: &deskbridge_store::CallFilter) -> Vec<String> {
    store
        .call_log(filter, 10, usize::MAX)
        .await
        .unwrap()
        .calls
        .into_iter()
        .map(|c| c.interaction.call_id)
        .collect()
}

async fn the_caller_log_finds_the_calls_of_a_ticket_and_of_a_contact(store: &dyn Store) {
    use deskbridge_store::CallFilter;
    let mut events = answered_call("c1");
    events.push(ev("c1-3", "c1", EventKind::Ended, 60));
    store.ingest(&events).await.unwrap();
    // c1's caller is contact 7, and its ticket 42.
    for outcome in [
        StepOutcome {
            contact_id: Some("7".into()),
            ..StepOutcome::default()
        },
        StepOutcome {
            ticket_id: Some("42".into()),
            ..StepOutcome::default()
        },
    ] {
        let step = store.claim_step("w", LEASE).await.unwrap().unwrap();
        assert_eq!(step.interaction.call_id, "c1");
        assert!(store.complete_step(&step, &outcome).await.unwrap());
    }
    store.ingest(&answered_call("c2")).await.unwrap();
    let log = |ticket: Option<&str>, contact: Option<&str>| {
        let filter = CallFilter {
            groups: vec!["g".into()],
            ticket_id: ticket.map(str::to_string),
            contact_id: contact.map(str::to_string),
            ..CallFilter::default()
        };
        async move { call_ids_of(store, &filter).await }
    };
    assert_eq!(log(Some("42"), None).await, ["c1"]);
    assert_eq!(log(None, Some("7")).await, ["c1"]);
    assert!(log(Some("43"), None).await.is_empty());
    assert!(log(None, Some("8")).await.is_empty());
    assert_eq!(log(None, None).await.len(), 2);
}

async fn an_expired_lease_is_taken_over_and_the_old_worker_cannot_record(store: &dyn Store) {
    store.ingest(&answered_call("c1")).await.unwrap();
    let stale = store
        .claim_step("dead", Duration::from_millis(50))
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(120)).await;
    let taken = store.claim_step("alive", LEASE).await.unwrap().unwrap();
    assert_eq!(taken.job_id, stale.job_id);
    assert_eq!(taken.attempt, 2);
    assert_eq!(stale.takeovers, 0);
    assert_eq!(taken.takeovers, 1, "the first run was cut off, not failed");
    let outcome = StepOutcome::default();
    assert!(!store.complete_step(&stale, &outcome).await.unwrap());
    assert!(
        !store
            .retry_step(&stale, "late", Duration::ZERO)
            .await
            .unwrap()
    );
    // The run that took over fails: the claim after it counts the failure,
    // not a takeover, and carries the one before.
    assert!(
        store
            .retry_step(&taken, "timeout", Duration::ZERO)
            .await
            .unwrap()
    );
    let again = store.claim_step("alive", LEASE).await.unwrap().unwrap();
    assert_eq!((again.attempt, again.takeovers), (3, 1));
    assert!(store.complete_step(&again, &outcome).await.unwrap());
}

/// A step's notifications exist if and only if its outcome is recorded: a
/// worker that lost its lease writes neither.
async fn a_steps_notifications_commit_with_its_outcome_only(store: &dyn Store) {
    use deskbridge_core::trigger::{Change as CrmChange, Ids, notifications};
    store.ingest(&answered_call("c1")).await.unwrap();
    let triggers = [Trigger {
        entity: Entity::Contact,
        action: Action::Create,
        url: "https://hooks.example/contact".into(),
        format: Format::Query,
    }];
    let change = CrmChange {
        entity: Entity::Contact,
        action: Action::Create,
        ids: Ids {
            account: Some("7".into()),
            ..Ids::default()
        },
        data: serde_json::json!({"id": "7"}),
        at: Utc::now(),
    };
    let notes = notifications(&triggers, &change);
    let stale = store
        .claim_step("dead", Duration::from_millis(50))
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(120)).await;
    let taken = store.claim_step("alive", LEASE).await.unwrap().unwrap();
    let outcome = StepOutcome {
        contact_id: Some("7".into()),
        ..StepOutcome::default()
    };
    let group = vec![taken.group.clone()];
    assert!(
        !store
            .complete_step_announcing(&stale, &outcome, &notes)
            .await
            .unwrap()
    );
    assert!(store.deliveries(&group, None, 10).await.unwrap().is_empty());
    assert!(
        store
            .complete_step_announcing(&taken, &outcome, &notes)
            .await
            .unwrap()
    );
    let [written] = &store.deliveries(&group, None, 10).await.unwrap()[..] else {
        panic!("not one notification")
    };
    assert_eq!(written.endpoint, "https://hooks.example/contact");
    assert_eq!(
        written.request.url(),
        "https://hooks.example/contact?AccountID=7"
    );
    assert_eq!(written.order_key, "contact:7");
    assert_eq!(written.status, DeliveryStatus::Pending);
}

async fn retries_wait_and_failures_stop_only_their_call(store: &dyn Store) {
    store.ingest(&answered_call("c1")).await.unwrap();
    store.ingest(&answered_call("c2")).await.unwrap();
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
    assert_eq!(store.ingest(&more).await.unwrap().steps, 0);
    assert!(store.claim_step("w", LEASE).await.unwrap().is_none());
    assert!(
        store
            .next_due(deskbridge_core::WorkLane::Live)
            .await
            .unwrap()
            .is_some()
    );
    let pending = store.call("g", &a.call_id).await.unwrap().unwrap();
    assert_eq!(pending.steps[0].last_error.as_deref(), Some("timeout"));
}

/// A call that failed for good runs its failed step again after a retry (its
/// attempts reset, due now, `sync` pending); a call that has not failed, and
/// one that does not exist, are left as they are.
async fn a_failed_call_is_retried_once_and_others_are_not(store: &dyn Store) {
    use deskbridge_store::RetriedCall;
    store.ingest(&answered_call("f1")).await.unwrap();
    store.ingest(&answered_call("ok")).await.unwrap();
    let a = store.claim_step("w", LEASE).await.unwrap().unwrap();
    assert_eq!(a.call_id, "f1");
    assert!(store.fail_step(&a, "403: the admin role").await.unwrap());
    let failures = store.recent_failures(10).await.unwrap();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(
        (failures[0].call_id.as_str(), failures[0].step.as_str()),
        ("f1", "identify_caller")
    );
    assert_eq!(failures[0].error.as_deref(), Some("403: the admin role"));
    assert!(failures[0].failed_at.is_some());
    // The call "ok" is pending: nothing to retry.
    match store.retry_call("g", "ok").await.unwrap() {
        RetriedCall::NotFailed(SyncStatus::Pending) => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        store.retry_call("g", "nobody").await.unwrap(),
        RetriedCall::NoSuchCall
    ));
    let RetriedCall::Queued(call) = store.retry_call("g", "f1").await.unwrap() else {
        panic!("not retried");
    };
    assert_eq!(call.sync, SyncStatus::Pending);
    assert_eq!(call.steps[0].status, JobStatus::Queued);
    assert_eq!(call.steps[0].attempts, 0);
    assert!(store.recent_failures(10).await.unwrap().is_empty());
    // Retried twice: the second finds it pending.
    assert!(matches!(
        store.retry_call("g", "f1").await.unwrap(),
        RetriedCall::NotFailed(SyncStatus::Pending)
    ));
    // The step runs again as a first attempt (the other call's step first: it
    // was due before).
    let b = store.claim_step("w", LEASE).await.unwrap().unwrap();
    assert_eq!(b.call_id, "ok");
    let again = store.claim_step("w", LEASE).await.unwrap().unwrap();
    assert_eq!((again.call_id.as_str(), again.attempt), ("f1", 1));
    assert_eq!(again.job_id, a.job_id);
}

async fn release_gives_the_step_back_without_an_attempt(store: &dyn Store) {
    store.ingest(&answered_call("c1")).await.unwrap();
    let a = store.claim_step("w", LEASE).await.unwrap().unwrap();
    store.release_step(&a).await.unwrap();
    let again = store.claim_step("w", LEASE).await.unwrap().unwrap();
    assert_eq!((again.job_id, again.attempt), (a.job_id, 1));
}

/// A step held back unsent waits its delay and keeps its attempt number; a
/// failed attempt after it counts as the second; the call shows why it waits.
async fn a_held_step_waits_without_spending_an_attempt(store: &dyn Store) {
    store.ingest(&answered_call("h1")).await.unwrap();
    let first = store.claim_step("w", LEASE).await.unwrap().unwrap();
    assert_eq!(first.attempt, 1);
    let reason = "held back 1s: Freshdesk POST /api/v2/tickets, 80 a minute";
    assert!(
        store
            .hold_step(&first, reason, Duration::from_millis(300))
            .await
            .unwrap()
    );
    // Not due yet: the hold is a wait, not a retry now.
    assert!(store.claim_step("w", LEASE).await.unwrap().is_none());
    let waiting = store.call("g", "h1").await.unwrap().unwrap();
    assert_eq!(waiting.sync, SyncStatus::Pending);
    assert_eq!(waiting.steps[0].last_error.as_deref(), Some(reason));
    assert_eq!(waiting.steps[0].attempts, 0, "nothing was tried");
    // The stale claim cannot record over the queued step.
    assert!(
        !store
            .retry_step(&first, "late", Duration::ZERO)
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    let again = store.claim_step("w", LEASE).await.unwrap().unwrap();
    assert_eq!((again.job_id, again.attempt), (first.job_id, 1));
    assert!(
        store
            .retry_step(&again, "timeout", Duration::ZERO)
            .await
            .unwrap()
    );
    let third = store.claim_step("w", LEASE).await.unwrap().unwrap();
    assert_eq!(third.attempt, 2, "the failed attempt counted");
}

/// A list stops at its byte budget (the first call is always read), and says so;
/// a call whose record would outgrow `MAX_CALL_BYTES` is refused, storing nothing.
async fn lists_stop_at_their_byte_budget_and_calls_at_theirs(store: &dyn Store) {
    for (i, secs) in [0, 60, 120].iter().enumerate() {
        let e = ev(
            &format!("e{i}"),
            &format!("c{i}"),
            EventKind::Ringing,
            *secs,
        );
        store.ingest(&[e]).await.unwrap();
    }
    let groups = ["g".to_string()];
    let all = store
        .calls_within(&groups, None, 10, usize::MAX)
        .await
        .unwrap();
    assert_eq!((all.calls.len(), all.truncated), (3, false));
    let one = store.calls_within(&groups, None, 10, 1).await.unwrap();
    assert_eq!((one.calls.len(), one.truncated), (1, true));
    assert_eq!(one.calls[0].interaction.call_id, "c2", "newest first");

    // Attributes add up over a call's events, up to the bound.
    let big = |i: usize| {
        let mut e = ev(&format!("big{i}"), "big", EventKind::Ringing, 0);
        e.event.attributes = (0..100)
            .map(|k| (format!("a{i}_{k}"), "v".repeat(4096)))
            .collect();
        e
    };
    store.ingest(&[big(0)]).await.unwrap();
    let refused = store.ingest(&[big(1), big(2)]).await.unwrap_err();
    assert!(
        matches!(refused, StoreError::CallTooLarge { .. }),
        "{refused}"
    );
    let call = store.call("g", "big").await.unwrap().unwrap();
    assert_eq!(
        call.interaction.attributes.len(),
        100,
        "the refused batch stored nothing"
    );
}

async fn the_caller_log_is_newest_first_and_scoped_to_groups(store: &dyn Store) {
    for (i, secs) in [0, 120, 60].iter().enumerate() {
        store
            .ingest(&[ev(
                &format!("e{i}"),
                &format!("c{i}"),
                EventKind::Ringing,
                *secs,
            )])
            .await
            .unwrap();
    }
    let mut other = ev("o", "o", EventKind::Ringing, 500);
    other.group = "other".into();
    store.ingest(&[other]).await.unwrap();
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

/// A chat is an interaction beside the calls: stored, deduplicated and stepped
/// like one, read back by its id, and never in the caller log.
async fn chats_are_kept_beside_calls_but_not_in_the_caller_log(store: &dyn Store) {
    use deskbridge_core::chat::{Conversation, Visitor};
    let at = Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap();
    let conversation = Conversation {
        id: "x".into(),
        channel: None,
        visitor: Visitor {
            name: Some("Vera".into()),
            email: None,
            phone: Some(Phone::E164("+14155550100".into())),
        },
        agent: None,
        started_at: at,
        ended_at: at + chrono::Duration::seconds(300),
        transcript: Vec::new(),
        tags: Vec::new(),
        note: None,
        escalate: false,
        attributes: Default::default(),
    };
    let mut chat = ev("chat:x", "chat:x", EventKind::Conversation, 0);
    chat.event.conversation = Some(Box::new(conversation.clone()));
    let report = store.ingest(&[chat.clone()]).await.unwrap();
    assert_eq!((report.accepted, report.steps), (1, 1));
    store.ingest(&answered_call("c1")).await.unwrap();
    assert_eq!(store.ingest(&[chat]).await.unwrap().duplicates, 1);

    let record = store.call("g", "chat:x").await.unwrap().expect("the chat");
    assert_eq!(record.interaction.chat.as_deref(), Some(&conversation));
    assert_eq!(record.sync, SyncStatus::Pending);
    let g = vec!["g".to_string()];
    let log: Vec<String> = store
        .calls(&g, Some("+14155550100"), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.interaction.call_id)
        .collect();
    assert_eq!(log, ["c1"]);
}

// ---- the caller log's filters, done flags, purge; sessions; decisions ----

fn agent_event(
    id: &str,
    call: &str,
    kind: EventKind,
    secs: i64,
    agent: &str,
    queue: &str,
) -> GroupEvent {
    let mut e = ev(id, call, kind, secs);
    e.event.agent = Some(deskbridge_core::AgentRef {
        email: Some(agent.into()),
        name: None,
        extension: None,
    });
    e.event.queue = Some(queue.into());
    e
}

async fn the_caller_log_filters_marks_done_and_purges(store: &dyn Store) {
    use deskbridge_store::CallFilter;
    // An answered call of Ann's, a missed call of Ann's (her phone rang), a
    // missed call of Bob's in another queue.
    let missed_end = |id: &str, call: &str, secs| {
        let mut e = ev(id, call, EventKind::Ended, secs);
        e.event.reason = Some(EndReason::NoAnswer);
        e
    };
    store
        .ingest(&[
            agent_event("a1", "a", EventKind::Ringing, 0, "ann@acme.com", "support"),
            agent_event("a2", "a", EventKind::Answered, 5, "Ann@Acme.com", "support"),
            agent_event("a3", "a", EventKind::Ended, 60, "ann@acme.com", "support"),
            agent_event(
                "m1",
                "m",
                EventKind::Ringing,
                100,
                "ann@acme.com",
                "support",
            ),
            missed_end("m2", "m", 110),
            agent_event("b1", "b", EventKind::Ringing, 200, "bob@acme.com", "sales"),
            missed_end("b2", "b", 210),
        ])
        .await
        .unwrap();
    let g = vec!["g".to_string()];
    let log = |filter: CallFilter| async move { call_ids_of(store, &filter).await };
    let all = CallFilter {
        groups: g.clone(),
        ..CallFilter::default()
    };
    assert_eq!(log(all.clone()).await, ["b", "m", "a"]);
    let ann = CallFilter {
        agent: Some("ANN@acme.com".into()),
        ..all.clone()
    };
    assert_eq!(
        log(ann.clone()).await,
        ["m", "a"],
        "emails match in any case"
    );
    let sales = CallFilter {
        queue: Some("sales".into()),
        ..all.clone()
    };
    assert_eq!(log(sales).await, ["b"]);
    let phone = CallFilter {
        customer_phone: Some("+14155550100".into()),
        missed: Some(false),
        ..all.clone()
    };
    assert_eq!(log(phone).await, ["a"]);
    let missed = CallFilter {
        missed: Some(true),
        done: Some(false),
        ..all.clone()
    };
    assert_eq!(log(missed.clone()).await, ["b", "m"]);
    // Ann may mark only hers; an answered call is not marked.
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
    let ids = vec!["m".to_string(), "b".to_string(), "a".to_string()];
    let marked = store
        .mark_done(&g, &ids, Some("ann@acme.com"), at)
        .await
        .unwrap();
    assert_eq!(marked, ["m"]);
    assert_eq!(log(missed.clone()).await, ["b"]);
    let done = CallFilter {
        done: Some(true),
        ..all.clone()
    };
    assert_eq!(log(done).await, ["m"]);
    assert_eq!(
        store.call("g", "m").await.unwrap().unwrap().done_at,
        Some(at)
    );
    // Marking again keeps the first time; another group marks nothing here.
    let later = at + chrono::Duration::hours(1);
    assert_eq!(
        store.mark_done(&g, &ids, None, later).await.unwrap().len(),
        2
    );
    assert_eq!(
        store.call("g", "m").await.unwrap().unwrap().done_at,
        Some(at)
    );
    let other = vec!["other".to_string()];
    assert!(
        store
            .mark_done(&other, &ids, None, at)
            .await
            .unwrap()
            .is_empty()
    );

    // Purge: the calls whose work is over (here: failed) and that started before
    // the cutoff go; a call with a step still queued is kept.
    while let Some(step) = store
        .claim_step("w", Duration::from_secs(30))
        .await
        .unwrap()
    {
        assert!(store.fail_step(&step, "test").await.unwrap());
    }
    store.ingest(&answered_call("n")).await.unwrap();
    let before = Utc.with_ymd_and_hms(2026, 11, 22, 11, 0, 0).unwrap();
    assert_eq!(store.purge_calls(before).await.unwrap(), 3);
    assert_eq!(log(all.clone()).await, ["n"]);
    assert!(store.call("g", "m").await.unwrap().is_none());
    assert_eq!(store.purge_calls(before).await.unwrap(), 0, "idempotent");
}

async fn sessions_expire_and_sign_out(store: &dyn Store) {
    use deskbridge_store::SessionRecord;
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap();
    let session = SessionRecord {
        id_hash: "h1".into(),
        agent_email: "ann@acme.com".into(),
        csrf_token: "csrf1".into(),
        created_at: now,
        expires_at: now + chrono::Duration::hours(1),
        credential: "fingerprint-1".into(),
    };
    store.create_session(&session).await.unwrap();
    assert_eq!(
        store.session("h1", now).await.unwrap(),
        Some(session.clone())
    );
    assert_eq!(store.session("h2", now).await.unwrap(), None);
    let later = now + chrono::Duration::hours(2);
    assert_eq!(store.session("h1", later).await.unwrap(), None, "expired");
    assert_eq!(store.purge_sessions(now).await.unwrap(), 0);
    let other = SessionRecord {
        id_hash: "h2".into(),
        ..session.clone()
    };
    store.create_session(&other).await.unwrap();
    store.delete_session("h2").await.unwrap();
    assert_eq!(store.session("h2", now).await.unwrap(), None, "signed out");
    assert_eq!(store.purge_sessions(later).await.unwrap(), 1);
}

async fn a_decision_moves_the_waiting_step_forward(store: &dyn Store) {
    use deskbridge_core::agent_mode::{AgentAction, AgentChoice, DecisionRefused};
    use deskbridge_store::Decided;
    let mut ring = ev("d1", "d", EventKind::Ringing, 0);
    ring.event
        .attributes
        .insert("ticket_assignment".into(), "agent".into());
    // Now, so the deadline (300 s) is ahead.
    let now = Utc::now();
    ring.event.at = now;
    let mut answer = ev("d2", "d", EventKind::Answered, 0);
    answer.event.at = now;
    store.ingest(&[ring, answer]).await.unwrap();
    // Identify the caller.
    let step = store
        .claim_step("w", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(step.step, Step::IdentifyCaller);
    let outcome = StepOutcome {
        contact_id: Some("7".into()),
        ..StepOutcome::default()
    };
    assert!(store.complete_step(&step, &outcome).await.unwrap());
    // The call waits for the agent: nothing runnable before the deadline.
    assert!(
        store
            .claim_step("w", Duration::from_secs(30))
            .await
            .unwrap()
            .is_none()
    );
    let choice = AgentChoice {
        action: AgentAction::NewTicket,
        by: Some("ann@acme.com".into()),
        at: now,
    };
    let Decided::Recorded(record) = store.decide("g", "d", choice.clone()).await.unwrap() else {
        panic!("not recorded");
    };
    assert_eq!(record.interaction.agent_choice, Some(choice.clone()));
    // The waiting step is due now.
    let step = store
        .claim_step("w", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(step.step, Step::AwaitAgent);
    match store.decide("g", "d", choice.clone()).await.unwrap() {
        Decided::Refused(DecisionRefused::AlreadyDecided(_)) => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        store.decide("g", "nope", choice).await.unwrap(),
        Decided::NoSuchCall
    ));
}

// ---- the built-in CRM ----

const P1: &str = "+14155550101";
const P2: &str = "+14155550102";
const P3: &str = "+14155550103";

fn fields(pairs: &[(&str, serde_json::Value)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn contact(name: &str, phones: &[&str]) -> ContactFields {
    ContactFields {
        name: name.into(),
        email: Some(format!("{}@example.com", name.to_lowercase())),
        phones: phones.iter().map(|p| p.to_string()).collect(),
        organization_id: None,
        custom_fields: fields(&[("tier", "gold".into())]),
    }
}

fn ticket(subject: &str, status: &str, requester: Option<i64>) -> TicketFields {
    TicketFields {
        subject: subject.into(),
        status: status.into(),
        priority: "normal".into(),
        ticket_type: "question".into(),
        requester_id: requester,
        assignee: Some("agent@example.com".into()),
        tags: vec!["phone".into(), "inbound".into()],
        custom_fields: fields(&[("queue", "support".into())]),
    }
}

fn comment(body: &str) -> CommentFields {
    CommentFields {
        body: body.into(),
        public: false,
    }
}

fn page(after: Option<i64>, limit: u32) -> Page {
    Page { after, limit }
}

/// Lets the clock move past the millisecond stored timestamps are cut to.
async fn next_millisecond() {
    tokio::time::sleep(Duration::from_millis(5)).await;
}

/// Runs `n` copies of `op` at once (released together by a barrier), each with its
/// own handle on the store, as concurrent requests would.
async fn race<S, T, F, Fut>(store: &S, n: usize, op: F) -> Vec<T>
where
    S: Clone,
    F: Fn(S) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let barrier = Arc::new(Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let barrier = barrier.clone();
            let run = op(store.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                run.await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for task in tasks {
        out.push(bounded("one of the racing operations", task).await.unwrap());
    }
    out
}

async fn an_import_adds_every_contact_with_its_numbers<S: CrmStore>(store: &S) {
    let ids = store
        .import_contacts(&[contact("Ada", &[P1, P2]), contact("Bob", &[P3])])
        .await
        .unwrap();
    assert_eq!(ids.len(), 2);
    assert!(ids[1] > ids[0]);
    let ada = store.contact(ids[0]).await.unwrap().expect("Ada");
    assert_eq!(ada.name, "Ada");
    assert_eq!(ada.phones, [P1, P2]);
    let by_p3 = store.contacts(Some(P3), page(None, 10)).await.unwrap();
    assert_eq!(by_p3.iter().map(|c| c.id).collect::<Vec<_>>(), [ids[1]]);
    assert_eq!(by_p3[0].name, "Bob");
    assert!(store.import_contacts(&[]).await.unwrap().is_empty());
}

async fn contacts_keep_their_phones<S: CrmStore>(store: &S) {
    let ada = store
        .insert_contact(&contact("Ada", &[P1, P2]), None)
        .await
        .unwrap();
    assert!(ada.new);
    let ada = ada.record;
    assert_eq!(ada.name, "Ada");
    assert_eq!(ada.email.as_deref(), Some("ada@example.com"));
    assert_eq!(ada.phones, [P1, P2]);
    assert_eq!(ada.custom_fields, fields(&[("tier", "gold".into())]));
    assert_eq!(ada.created_at, ada.updated_at);
    assert_eq!(store.contact(ada.id).await.unwrap().as_ref(), Some(&ada));
    let bob = store
        .insert_contact(&contact("Bob", &[P1]), None)
        .await
        .unwrap()
        .record;
    assert!(bob.id > ada.id);

    let by_phone = |phone| async move {
        store
            .contacts(Some(phone), page(None, 10))
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        by_phone(P1).await,
        [ada.id, bob.id],
        "a number may be shared"
    );
    assert_eq!(by_phone(P2).await, [ada.id]);
    assert!(by_phone(P3).await.is_empty());
    let found = store.contacts(Some(P2), page(None, 10)).await.unwrap();
    assert_eq!(
        found,
        std::slice::from_ref(&ada),
        "a lookup returns the whole contact"
    );

    // An update replaces the phones, in the order given.
    next_millisecond().await;
    let mut changed = contact("Ada Lovelace", &[P3, P1]);
    changed.email = None;
    changed.custom_fields = Fields::new();
    let updated = store
        .update_contact(ada.id, &changed)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.id, ada.id);
    assert_eq!(updated.name, "Ada Lovelace");
    assert_eq!(updated.email, None);
    assert_eq!(updated.phones, [P3, P1]);
    assert!(updated.custom_fields.is_empty());
    assert_eq!(updated.created_at, ada.created_at);
    assert!(updated.updated_at > ada.updated_at);
    assert_eq!(
        store.contact(ada.id).await.unwrap().as_ref(),
        Some(&updated)
    );
    assert!(by_phone(P2).await.is_empty(), "the old number is gone");
    assert_eq!(by_phone(P3).await, [ada.id]);
    assert_eq!(by_phone(P1).await, [ada.id, bob.id]);
    assert!(
        store
            .update_contact(999_999, &changed)
            .await
            .unwrap()
            .is_none()
    );

    // Deleting removes the contact's numbers with it.
    assert!(store.delete_contact(ada.id).await.unwrap());
    assert!(store.contact(ada.id).await.unwrap().is_none());
    assert!(by_phone(P3).await.is_empty());
    assert_eq!(by_phone(P1).await, [bob.id]);
    assert!(!store.delete_contact(ada.id).await.unwrap());
    assert!(
        store
            .update_contact(ada.id, &changed)
            .await
            .unwrap()
            .is_none()
    );
}

async fn idempotency_keys_return_the_first_record<S: CrmStore>(store: &S) {
    // Contacts.
    let first = store
        .insert_contact(&contact("Ada", &[P1]), Some("contact-1"))
        .await
        .unwrap();
    assert!(first.new);
    let again = store
        .insert_contact(&contact("Someone else", &[P2]), Some("contact-1"))
        .await
        .unwrap();
    assert!(!again.new);
    assert_eq!(again.record, first.record);
    let other = store
        .insert_contact(&contact("Ada", &[P1]), Some("contact-2"))
        .await
        .unwrap();
    assert!(other.new);
    assert_ne!(other.record.id, first.record.id);
    // Without a key every create makes a record.
    let a = store
        .insert_contact(&contact("X", &[]), None)
        .await
        .unwrap();
    let b = store
        .insert_contact(&contact("X", &[]), None)
        .await
        .unwrap();
    assert!(a.new && b.new);
    assert_ne!(a.record.id, b.record.id);
    assert_eq!(
        store.contacts(None, page(None, 100)).await.unwrap().len(),
        4
    );

    // Organizations.
    let acme = OrganizationFields {
        name: "Acme".into(),
        custom_fields: fields(&[("plan", "pro".into())]),
    };
    let first = store
        .insert_organization(&acme, Some("org-1"))
        .await
        .unwrap();
    assert!(first.new);
    assert_eq!(first.record.name, "Acme");
    let renamed = OrganizationFields {
        name: "Other".into(),
        ..acme.clone()
    };
    let again = store
        .insert_organization(&renamed, Some("org-1"))
        .await
        .unwrap();
    assert!(!again.new);
    assert_eq!(again.record, first.record);
    assert!(store.insert_organization(&acme, None).await.unwrap().new);
    assert_eq!(store.organizations(page(None, 100)).await.unwrap().len(), 2);

    // Tickets, with their first comment.
    let requester = Some(first_contact(store).await);
    let first = store
        .insert_ticket(
            &ticket("Call from Ada", "open", requester),
            Some(&comment("Ringing")),
            Some("ticket-1"),
        )
        .await
        .unwrap();
    assert!(first.new);
    let (t, c) = &first.record;
    let c = c.as_ref().expect("the first comment");
    assert_eq!(t.subject, "Call from Ada");
    assert_eq!(t.tags, ["phone", "inbound"]);
    assert_eq!(t.requester_id, requester);
    assert_eq!(
        (c.ticket_id, c.body.as_str(), c.public),
        (t.id, "Ringing", false)
    );
    let again = store
        .insert_ticket(
            &ticket("Another subject", "new", None),
            Some(&comment("Another comment")),
            Some("ticket-1"),
        )
        .await
        .unwrap();
    assert!(!again.new);
    assert_eq!(again.record, first.record);
    // Asked without a first comment, the replay shows none.
    let bare = store
        .insert_ticket(&ticket("Bare", "open", None), None, Some("ticket-1"))
        .await
        .unwrap();
    assert!(!bare.new);
    assert_eq!(bare.record, (t.clone(), None));
    assert_eq!(store.tickets(None, page(None, 100)).await.unwrap().len(), 1);
    assert_eq!(
        store.comments(t.id, page(None, 100)).await.unwrap().len(),
        1
    );

    // Comments.
    let first = store
        .insert_comment(t.id, &comment("Answered"), Some("comment-1"))
        .await
        .unwrap()
        .unwrap();
    assert!(first.new);
    assert_eq!(first.record.body, "Answered");
    let again = store
        .insert_comment(t.id, &comment("Different"), Some("comment-1"))
        .await
        .unwrap()
        .unwrap();
    assert!(!again.new);
    assert_eq!(again.record, first.record);
    let bodies: Vec<_> = store
        .comments(t.id, page(None, 100))
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.body)
        .collect();
    assert_eq!(bodies, ["Ringing", "Answered"]);
}

async fn first_contact<S: CrmStore>(store: &S) -> i64 {
    store.contacts(None, page(None, 1)).await.unwrap()[0].id
}

async fn idempotency_keys_hold_under_concurrency<S: CrmStore + Clone>(store: &S) {
    const N: usize = 8;
    let contacts = race(store, N, |s: S| async move {
        s.insert_contact(&contact("Ada", &[P1, P2]), Some("race-contact"))
            .await
            .unwrap()
    })
    .await;
    assert_eq!(contacts.iter().filter(|c| c.new).count(), 1);
    assert!(contacts.iter().all(|c| c.record == contacts[0].record));
    assert_eq!(contacts[0].record.phones, [P1, P2]);
    assert_eq!(
        store.contacts(None, page(None, 100)).await.unwrap().len(),
        1
    );

    let orgs = race(store, N, |s: S| async move {
        let acme = OrganizationFields {
            name: "Acme".into(),
            custom_fields: Fields::new(),
        };
        s.insert_organization(&acme, Some("race-org"))
            .await
            .unwrap()
    })
    .await;
    assert_eq!(orgs.iter().filter(|o| o.new).count(), 1);
    assert!(orgs.iter().all(|o| o.record == orgs[0].record));
    assert_eq!(store.organizations(page(None, 100)).await.unwrap().len(), 1);

    let requester = Some(contacts[0].record.id);
    let tickets = race(store, N, move |s: S| async move {
        s.insert_ticket(
            &ticket("Call", "open", requester),
            Some(&comment("Ringing")),
            Some("race-ticket"),
        )
        .await
        .unwrap()
    })
    .await;
    assert_eq!(tickets.iter().filter(|t| t.new).count(), 1);
    assert!(tickets.iter().all(|t| t.record == tickets[0].record));
    let ticket_id = tickets[0].record.0.id;
    assert!(tickets[0].record.1.is_some());
    assert_eq!(store.tickets(None, page(None, 100)).await.unwrap().len(), 1);
    assert_eq!(
        store
            .comments(ticket_id, page(None, 100))
            .await
            .unwrap()
            .len(),
        1,
        "one first comment"
    );

    let comments = race(store, N, move |s: S| async move {
        s.insert_comment(ticket_id, &comment("Answered"), Some("race-comment"))
            .await
            .unwrap()
            .expect("the ticket exists")
    })
    .await;
    assert_eq!(comments.iter().filter(|c| c.new).count(), 1);
    assert!(comments.iter().all(|c| c.record == comments[0].record));
    assert_eq!(
        store
            .comments(ticket_id, page(None, 100))
            .await
            .unwrap()
            .len(),
        2
    );
}

async fn comments_need_their_ticket_and_touch_it<S: CrmStore>(store: &S) {
    assert!(
        store
            .insert_comment(999_999, &comment("Nobody reads this"), None)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .insert_comment(999_999, &comment("Nor this"), Some("orphan"))
            .await
            .unwrap()
            .is_none()
    );
    let (t, _) = store
        .insert_ticket(&ticket("Call", "open", None), None, None)
        .await
        .unwrap()
        .record;
    next_millisecond().await;
    let c = store
        .insert_comment(t.id, &comment("Answered"), Some("orphan"))
        .await
        .unwrap()
        .expect("the ticket exists")
        .record;
    assert_eq!(c.ticket_id, t.id);
    let touched = store.ticket(t.id).await.unwrap().unwrap();
    assert!(touched.updated_at > t.updated_at);
    assert_eq!(touched.updated_at, c.created_at);
    assert_eq!(touched.created_at, t.created_at);

    // Comments are addressed through their ticket.
    assert_eq!(store.comment(t.id, c.id).await.unwrap().as_ref(), Some(&c));
    assert!(store.comment(t.id + 1, c.id).await.unwrap().is_none());
    let edited = CommentFields {
        body: "Edited".into(),
        public: true,
    };
    assert!(
        store
            .update_comment(t.id + 1, c.id, &edited)
            .await
            .unwrap()
            .is_none()
    );
    let updated = store
        .update_comment(t.id, c.id, &edited)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((updated.body.as_str(), updated.public), ("Edited", true));
    assert_eq!(updated.created_at, c.created_at);
    assert!(!store.delete_comment(t.id + 1, c.id).await.unwrap());
    assert!(store.delete_comment(t.id, c.id).await.unwrap());
    assert!(store.comment(t.id, c.id).await.unwrap().is_none());

    // A deleted ticket takes its comments with it and takes no more.
    store
        .insert_comment(t.id, &comment("Another"), None)
        .await
        .unwrap()
        .unwrap();
    assert!(store.delete_ticket(t.id).await.unwrap());
    assert!(!store.delete_ticket(t.id).await.unwrap());
    assert!(
        store
            .comments(t.id, page(None, 10))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .insert_comment(t.id, &comment("Too late"), None)
            .await
            .unwrap()
            .is_none()
    );
}

async fn open_tickets_are_newest_first_without_closed_ones<S: CrmStore>(store: &S) {
    let ada = store
        .insert_contact(&contact("Ada", &[P1]), None)
        .await
        .unwrap()
        .record
        .id;
    let bob = store
        .insert_contact(&contact("Bob", &[P2]), None)
        .await
        .unwrap()
        .record
        .id;
    let mut made = Vec::new();
    for (subject, status, requester) in [
        ("one", "open", ada),
        ("two", "pending", ada),
        ("three", "closed", ada),
        ("four", "new", ada),
        ("bob's", "open", bob),
    ] {
        let (t, _) = store
            .insert_ticket(&ticket(subject, status, Some(requester)), None, None)
            .await
            .unwrap()
            .record;
        made.push(t.id);
        next_millisecond().await;
    }
    let open = |limit| async move {
        store
            .open_tickets_of(ada, limit)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.subject)
            .collect::<Vec<_>>()
    };
    assert_eq!(open(10).await, ["four", "two", "one"]);
    assert_eq!(open(2).await, ["four", "two"]);
    // A comment makes its ticket the most recent.
    store
        .insert_comment(made[0], &comment("Called again"), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(open(10).await, ["one", "four", "two"]);
    // So does an update; closing one removes it.
    next_millisecond().await;
    store
        .update_ticket(made[1], &ticket("two", "solved", Some(ada)))
        .await
        .unwrap()
        .unwrap();
    next_millisecond().await;
    let closed = store
        .update_ticket(made[3], &ticket("four", "closed", Some(ada)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(closed.status, "closed");
    assert_eq!(open(10).await, ["two", "one"]);
    assert!(store.open_tickets_of(999_999, 10).await.unwrap().is_empty());
    // A deleted requester leaves the tickets without one.
    assert!(store.delete_contact(bob).await.unwrap());
    let orphan = store.ticket(made[4]).await.unwrap().unwrap();
    assert_eq!(orphan.requester_id, None);
    assert!(
        store
            .update_ticket(999_999, &ticket("x", "open", None))
            .await
            .unwrap()
            .is_none()
    );
}

async fn tickets_are_found_by_a_custom_fields_value<S: CrmStore>(store: &S) {
    let mut made = Vec::new();
    for (subject, status, number) in [
        ("older", "open", "+14155550123"),
        ("newer", "pending", "+14155550123"),
        ("closed", "closed", "+14155550123"),
        ("someone else", "open", "+14155550999"),
    ] {
        let mut fields = ticket(subject, status, None);
        fields
            .custom_fields
            .insert("caller_number".into(), number.into());
        let (t, _) = store
            .insert_ticket(&fields, None, None)
            .await
            .unwrap()
            .record;
        made.push(t.id);
        next_millisecond().await;
    }
    let found = |field: &'static str, value: &'static str| async move {
        store
            .open_tickets_with_field(field, value, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.subject)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        found("caller_number", "+14155550123").await,
        ["newer", "older"]
    );
    assert_eq!(
        found("caller_number", "+14155550999").await,
        ["someone else"]
    );
    assert!(
        found("caller_number", "+1415555").await.is_empty(),
        "whole values only"
    );
    assert!(
        found("queue", "+14155550123").await.is_empty(),
        "that field only"
    );
    assert_eq!(found("queue", "support").await.len(), 3);
}

/// An imported call's steps are in the bulk lane: live claims never take them
/// (however old), bulk claims take only them, each lane counts and times its own.
async fn imported_calls_wait_in_the_bulk_lane(store: &dyn Store) {
    let bulk_plan = CallPlan {
        lane: WorkLane::Bulk,
        ..CallPlan::default()
    };
    let mut history = answered_call("old");
    history.push(ev("old-3", "old", EventKind::Ended, 60));
    for e in &mut history {
        e.plan = bulk_plan.clone();
    }
    store.ingest(&history).await.unwrap();
    assert!(store.claim_step("w", LEASE).await.unwrap().is_none());
    assert!(store.claim_pop("p", LEASE).await.unwrap().is_none());
    assert_eq!(store.active_steps(WorkLane::Bulk).await.unwrap(), 1);
    assert_eq!(store.active_steps(WorkLane::Live).await.unwrap(), 0);
    assert!(store.next_due(WorkLane::Live).await.unwrap().is_none());
    assert!(store.next_due(WorkLane::Bulk).await.unwrap().is_some());

    // A live call queued after it is claimed by the live workers.
    store.ingest(&answered_call("live")).await.unwrap();
    let live = store.claim_step("w", LEASE).await.unwrap().unwrap();
    assert_eq!(live.call_id, "live");
    let old = store.claim_bulk("b", LEASE).await.unwrap().unwrap();
    assert_eq!(
        (old.call_id.as_str(), old.step),
        ("old", Step::IdentifyCaller)
    );
    assert!(store.claim_bulk("b", LEASE).await.unwrap().is_none());
    // The call's next step stays in its lane.
    let outcome = StepOutcome {
        contact_id: Some("7".into()),
        ..StepOutcome::default()
    };
    assert!(store.complete_step(&old, &outcome).await.unwrap());
    assert!(store.claim_step("w2", LEASE).await.unwrap().is_none());
    let next = store.claim_bulk("b", LEASE).await.unwrap().unwrap();
    assert_eq!(
        (next.call_id.as_str(), next.step),
        ("old", Step::OpenTicket)
    );
    // A step failed for good is listed in its lane, with its reason.
    assert!(store.fail_step(&next, "refused").await.unwrap());
    let failed = store.failed_steps(WorkLane::Bulk, 10).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (failed[0].call_id.as_str(), failed[0].step.as_str()),
        ("old", "open_ticket")
    );
    assert_eq!(failed[0].error.as_deref(), Some("refused"));
    assert!(
        store
            .failed_steps(WorkLane::Live, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.active_steps(WorkLane::Bulk).await.unwrap(), 0);
}

/// A burst of ringing phones is claimed in one claim and recorded in one
/// transaction: each pop once, each recorded on its own call, and a pop whose
/// lease was lost meanwhile is left to the worker that took it over.
async fn pops_are_claimed_and_recorded_in_bursts(store: &dyn Store) {
    let plan = CallPlan {
        pop_on: deskbridge_core::pop::PopOn::Ringing,
        ..CallPlan::default()
    };
    let ringing: Vec<GroupEvent> = (0..5)
        .map(|n| {
            let mut ring = ev(&format!("b{n}-1"), &format!("b{n}"), EventKind::Ringing, n);
            ring.plan = plan.clone();
            ring.event.agent = Some(deskbridge_core::AgentRef {
                email: Some(format!("agent{n}@acme.com")),
                ..Default::default()
            });
            ring
        })
        .collect();
    store.ingest(&ringing).await.unwrap();
    // Three at once, then the other two with a short lease.
    let first = store.claim_pops("p1", LEASE, 3).await.unwrap();
    assert_eq!(first.len(), 3);
    let rest = store
        .claim_pops("p0", Duration::from_millis(50), 10)
        .await
        .unwrap();
    assert_eq!(rest.len(), 2);
    let mut calls: Vec<&str> = first
        .iter()
        .chain(&rest)
        .map(|s| s.call_id.as_str())
        .collect();
    calls.sort_unstable();
    assert_eq!(
        calls,
        ["b0", "b1", "b2", "b3", "b4"],
        "each pop claimed once"
    );
    assert!(first.iter().chain(&rest).all(|s| s.step == Step::Pop));

    // The short lease runs out and p1 takes one of those pops over.
    tokio::time::sleep(Duration::from_millis(120)).await;
    let taken = store.claim_pops("p1", LEASE, 1).await.unwrap();
    assert_eq!(taken.len(), 1);
    let lost = taken[0].call_id.clone();
    let outcomes: Vec<StepOutcome> = first
        .iter()
        .chain(&rest)
        .map(|s| StepOutcome {
            pop_for: s.interaction.rang.first().cloned(),
            ..StepOutcome::default()
        })
        .collect();
    let done: Vec<StepDone> = first
        .iter()
        .chain(&rest)
        .zip(&outcomes)
        .map(|(step, outcome)| StepDone {
            step,
            outcome,
            notifications: &[],
        })
        .collect();
    let recorded = store.complete_steps(&done).await.unwrap();
    let expected: Vec<bool> = first
        .iter()
        .chain(&rest)
        .map(|s| s.call_id != lost)
        .collect();
    assert_eq!(recorded, expected, "only the lost lease is refused");
    for n in 0..5 {
        let call_id = format!("b{n}");
        let call = store.call("g", &call_id).await.unwrap().unwrap();
        let popped: Vec<Option<String>> = call
            .interaction
            .popped
            .iter()
            .map(|a| a.email.clone())
            .collect();
        if call_id == lost {
            assert!(popped.is_empty(), "{call_id}: its take-over records it");
        } else {
            assert_eq!(popped, [Some(format!("agent{n}@acme.com"))], "{call_id}");
        }
    }
    // The take-over records its own, and nothing is left to pop.
    let outcome = StepOutcome {
        pop_for: taken[0].interaction.rang.first().cloned(),
        ..StepOutcome::default()
    };
    assert!(store.complete_step(&taken[0], &outcome).await.unwrap());
    assert!(store.claim_pops("p0", LEASE, 10).await.unwrap().is_empty());
    assert!(store.complete_steps(&[]).await.unwrap().is_empty());
}

/// A screen pop claimed by the fast lane, ahead of older work; a pop due while
/// the call's step waits (an agent's deadline) takes that step's place.
async fn pops_have_a_lane_of_their_own(store: &dyn Store) {
    // Older bulk work: a call whose identify step is queued.
    store.ingest(&answered_call("bulk")).await.unwrap();
    let plan = CallPlan {
        pop_on: deskbridge_core::pop::PopOn::Ringing,
        ..CallPlan::default()
    };
    let mut ring = ev("p-1", "p", EventKind::Ringing, 0);
    ring.plan = plan.clone();
    ring.event.agent = Some(deskbridge_core::AgentRef {
        email: Some("ann@acme.com".into()),
        ..Default::default()
    });
    store.ingest(&[ring]).await.unwrap();
    let pop = store.claim_pop("p0", LEASE).await.unwrap().unwrap();
    assert_eq!((pop.call_id.as_str(), pop.step), ("p", Step::Pop));
    assert!(
        store.claim_pop("p1", LEASE).await.unwrap().is_none(),
        "pops only"
    );
    let bulk = store.claim_step("w0", LEASE).await.unwrap().unwrap();
    assert_eq!(bulk.call_id, "bulk");
    store
        .complete_step(
            &pop,
            &StepOutcome {
                pop_for: pop.interaction.rang.first().cloned(),
                ..StepOutcome::default()
            },
        )
        .await
        .unwrap();
    assert!(
        store.claim_pop("p1", LEASE).await.unwrap().is_none(),
        "once per agent"
    );

    // Agent mode: the call waits for Ann's decision (its step queued for the
    // deadline); Bob answers meanwhile and his pop takes the waiting step's
    // place rather than queue behind it.
    let mut agent_mode = plan;
    agent_mode.ticket_assignment = deskbridge_core::policy::TicketAssignment::Agent;
    let mut events = answered_call("m");
    for e in &mut events {
        e.plan = agent_mode.clone();
        e.event.agent = Some(deskbridge_core::AgentRef {
            email: Some("ann@acme.com".into()),
            ..Default::default()
        });
    }
    store.ingest(&events).await.unwrap();
    let first = store.claim_pop("p0", LEASE).await.unwrap().unwrap();
    store
        .complete_step(
            &first,
            &StepOutcome {
                pop_for: first.interaction.rang.first().cloned(),
                ..StepOutcome::default()
            },
        )
        .await
        .unwrap();
    let identify = store.claim_step("w1", LEASE).await.unwrap().unwrap();
    assert_eq!(
        (identify.call_id.as_str(), identify.step),
        ("m", Step::IdentifyCaller)
    );
    store
        .complete_step(
            &identify,
            &StepOutcome {
                contact_id: Some("7".into()),
                contact_rule: Some("phone_match".parse().unwrap()),
                ..StepOutcome::default()
            },
        )
        .await
        .unwrap();
    assert!(
        store.claim_pop("p0", LEASE).await.unwrap().is_none(),
        "waiting for Ann"
    );
    let mut bob = ev("m-3", "m", EventKind::Answered, 30);
    bob.plan = agent_mode;
    bob.event.agent = Some(deskbridge_core::AgentRef {
        email: Some("bob@acme.com".into()),
        ..Default::default()
    });
    store.ingest(&[bob]).await.unwrap();
    let bobs = store.claim_pop("p0", LEASE).await.unwrap().unwrap();
    assert_eq!(
        (bobs.call_id.as_str(), bobs.step, bobs.attempt),
        ("m", Step::Pop, 1)
    );
    store
        .complete_step(
            &bobs,
            &StepOutcome {
                pop_for: bobs.interaction.agents.last().cloned(),
                ..StepOutcome::default()
            },
        )
        .await
        .unwrap();
    // The wait is derived again (its deadline, in these events' past, is due).
    let wait = store.claim_step("w1", LEASE).await.unwrap().unwrap();
    assert_eq!((wait.call_id.as_str(), wait.step), ("m", Step::AwaitAgent));
    assert_eq!(
        wait.interaction.pops.len(),
        0,
        "outcomes without pops record none"
    );
    assert_eq!(wait.interaction.popped.len(), 2);
}

/// Every id of a list, read `limit` at a time.
async fn all_pages<F, Fut>(limit: u32, list: F) -> Vec<Vec<i64>>
where
    F: Fn(Page) -> Fut,
    Fut: Future<Output = Vec<i64>>,
{
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let ids = list(page(after, limit)).await;
        assert!(ids.len() <= limit as usize);
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "in id order: {ids:?}");
        match ids.last() {
            Some(last) => after = Some(*last),
            None => return pages,
        }
        pages.push(ids);
    }
}

fn chunks(ids: &[i64], n: usize) -> Vec<Vec<i64>> {
    ids.chunks(n).map(<[i64]>::to_vec).collect()
}

async fn lists_page_by_id<S: CrmStore>(store: &S) {
    let mut contacts = Vec::new();
    let mut callers = Vec::new();
    for i in 0..5 {
        let phones: &[&str] = if i % 2 == 0 { &[P1] } else { &[P2] };
        let c = store
            .insert_contact(&contact(&format!("C{i}"), phones), None)
            .await
            .unwrap()
            .record;
        if i % 2 == 0 {
            callers.push(c.id);
        }
        contacts.push(c.id);
    }
    let pages = all_pages(2, |p| async move {
        let cs = store.contacts(None, p).await.unwrap();
        cs.into_iter().map(|c| c.id).collect()
    })
    .await;
    assert_eq!(pages, chunks(&contacts, 2));
    let pages = all_pages(2, |p| async move {
        let cs = store.contacts(Some(P1), p).await.unwrap();
        assert!(cs.iter().all(|c| c.phones == [P1]));
        cs.into_iter().map(|c| c.id).collect()
    })
    .await;
    assert_eq!(pages, chunks(&callers, 2));
    assert!(
        store
            .contacts(None, page(Some(contacts[4]), 10))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .contacts(None, page(None, 0))
            .await
            .unwrap()
            .is_empty()
    );

    let mut orgs = Vec::new();
    for i in 0..5 {
        let org = OrganizationFields {
            name: format!("O{i}"),
            custom_fields: Fields::new(),
        };
        orgs.push(
            store
                .insert_organization(&org, None)
                .await
                .unwrap()
                .record
                .id,
        );
    }
    let pages = all_pages(3, |p| async move {
        let os = store.organizations(p).await.unwrap();
        os.into_iter().map(|o| o.id).collect()
    })
    .await;
    assert_eq!(pages, chunks(&orgs, 3));

    let mut tickets = Vec::new();
    let mut adas = Vec::new();
    for i in 0..5 {
        let requester = (i % 2 == 0).then_some(contacts[0]);
        let (t, _) = store
            .insert_ticket(&ticket(&format!("T{i}"), "open", requester), None, None)
            .await
            .unwrap()
            .record;
        if requester.is_some() {
            adas.push(t.id);
        }
        tickets.push(t.id);
    }
    let pages = all_pages(2, |p| async move {
        let ts = store.tickets(None, p).await.unwrap();
        ts.into_iter().map(|t| t.id).collect()
    })
    .await;
    assert_eq!(pages, chunks(&tickets, 2));
    let requester = contacts[0];
    let pages = all_pages(2, |p| async move {
        let ts = store.tickets(Some(requester), p).await.unwrap();
        assert!(ts.iter().all(|t| t.requester_id == Some(requester)));
        ts.into_iter().map(|t| t.id).collect()
    })
    .await;
    assert_eq!(pages, chunks(&adas, 2));

    let mut comments = Vec::new();
    for i in 0..5 {
        let c = store
            .insert_comment(tickets[0], &comment(&format!("c{i}")), None)
            .await
            .unwrap()
            .unwrap();
        comments.push(c.record.id);
    }
    store
        .insert_comment(tickets[1], &comment("elsewhere"), None)
        .await
        .unwrap()
        .unwrap();
    let ticket_id = tickets[0];
    let pages = all_pages(2, |p| async move {
        let cs = store.comments(ticket_id, p).await.unwrap();
        cs.into_iter().map(|c| c.id).collect()
    })
    .await;
    assert_eq!(pages, chunks(&comments, 2));

    let mut tasks = Vec::new();
    for i in 0..5 {
        let task = TaskFields {
            subject: format!("task {i}"),
            status: "open".into(),
            ..TaskFields::default()
        };
        tasks.push(store.insert_task(&task).await.unwrap().id);
    }
    let pages = all_pages(4, |p| async move {
        let ts = store.tasks(p).await.unwrap();
        ts.into_iter().map(|t| t.id).collect()
    })
    .await;
    assert_eq!(pages, chunks(&tasks, 4));
}

async fn tasks_and_organizations_round_trip<S: CrmStore>(store: &S) {
    let acme = store
        .insert_organization(
            &OrganizationFields {
                name: "Acme".into(),
                custom_fields: fields(&[("plan", "pro".into())]),
            },
            None,
        )
        .await
        .unwrap()
        .record;
    assert_eq!(
        store.organization(acme.id).await.unwrap().as_ref(),
        Some(&acme)
    );
    next_millisecond().await;
    let renamed = store
        .update_organization(
            acme.id,
            &OrganizationFields {
                name: "Acme Inc".into(),
                custom_fields: Fields::new(),
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(renamed.name, "Acme Inc");
    assert!(renamed.custom_fields.is_empty());
    assert!(renamed.updated_at > acme.updated_at);
    assert_eq!(renamed.created_at, acme.created_at);
    let mut member = contact("Ada", &[P1]);
    member.organization_id = Some(acme.id);
    let ada = store.insert_contact(&member, None).await.unwrap().record;
    assert_eq!(ada.organization_id, Some(acme.id));

    let (t, _) = store
        .insert_ticket(&ticket("Call", "open", Some(ada.id)), None, None)
        .await
        .unwrap()
        .record;
    let due =
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 30, 0).unwrap() + chrono::Duration::milliseconds(250);
    let task = store
        .insert_task(&TaskFields {
            subject: "Call back".into(),
            status: "open".into(),
            due_at: Some(due),
            contact_id: Some(ada.id),
            ticket_id: Some(t.id),
            assignee: Some("agent@example.com".into()),
        })
        .await
        .unwrap();
    assert_eq!(task.due_at, Some(due));
    assert_eq!(
        (task.contact_id, task.ticket_id),
        (Some(ada.id), Some(t.id))
    );
    assert_eq!(store.task(task.id).await.unwrap().as_ref(), Some(&task));
    next_millisecond().await;
    let done = store
        .update_task(
            task.id,
            &TaskFields {
                subject: "Called back".into(),
                status: "done".into(),
                due_at: None,
                contact_id: Some(ada.id),
                ticket_id: Some(t.id),
                assignee: None,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((done.status.as_str(), done.due_at), ("done", None));
    assert!(done.updated_at > task.updated_at);
    assert!(
        store
            .update_task(999_999, &TaskFields::default())
            .await
            .unwrap()
            .is_none()
    );

    // Deleting what a record points to leaves the record, unlinked.
    assert!(store.delete_ticket(t.id).await.unwrap());
    assert_eq!(store.task(task.id).await.unwrap().unwrap().ticket_id, None);
    assert!(store.delete_organization(acme.id).await.unwrap());
    assert!(!store.delete_organization(acme.id).await.unwrap());
    assert!(store.organization(acme.id).await.unwrap().is_none());
    assert_eq!(
        store
            .contact(ada.id)
            .await
            .unwrap()
            .unwrap()
            .organization_id,
        None
    );
    assert!(store.delete_contact(ada.id).await.unwrap());
    assert_eq!(store.task(task.id).await.unwrap().unwrap().contact_id, None);
    assert!(store.delete_task(task.id).await.unwrap());
    assert!(!store.delete_task(task.id).await.unwrap());
    assert!(store.task(task.id).await.unwrap().is_none());
}

/// A store's CRM records, per tenant (one per built-in backend).
trait Tenants {
    type Crm: CrmStore + Clone;
    fn crm(&self, tenant: &str) -> Self::Crm;
    /// The tenant's records, announcing their changes to `triggers`.
    fn crm_with(&self, tenant: &str, triggers: Vec<GroupTriggers>) -> Self::Crm;
}

impl Tenants for SqliteStore {
    type Crm = deskbridge_store::SqliteCrm;
    fn crm(&self, tenant: &str) -> Self::Crm {
        SqliteStore::crm(self, tenant)
    }
    fn crm_with(&self, tenant: &str, triggers: Vec<GroupTriggers>) -> Self::Crm {
        SqliteStore::crm(self, tenant).with_triggers(triggers)
    }
}

impl Tenants for PgStore {
    type Crm = deskbridge_store::PgCrm;
    fn crm(&self, tenant: &str) -> Self::Crm {
        PgStore::crm(self, tenant)
    }
    fn crm_with(&self, tenant: &str, triggers: Vec<GroupTriggers>) -> Self::Crm {
        PgStore::crm(self, tenant).with_triggers(triggers)
    }
}

fn trigger(entity: Entity, action: Action, url: &str) -> Trigger {
    Trigger {
        entity,
        action,
        url: url.into(),
        format: Format::Query,
    }
}

/// The groups the outbox tests list notifications of.
fn groups() -> Vec<String> {
    vec!["support".into(), "g".into()]
}

fn outcome(verdict: Verdict, status: u16) -> AttemptOutcome {
    AttemptOutcome {
        verdict,
        status: Some(status),
        excerpt: "x".repeat(2000),
    }
}

/// The outbox: a change writes its notifications with it (none for a change
/// that did not happen); one record's notifications to one endpoint are
/// claimed in order, each only once its predecessor is delivered or dead; a
/// lost lease cannot record; a dead letter is listed and replayed.
async fn changes_write_their_notifications_and_they_go_in_order<D: Tenants + Store>(db: &D) {
    const HOOK: &str = "https://crm.example.com/hook?src=db";
    let crm = db.crm_with(
        "t",
        vec![GroupTriggers {
            group: "support".into(),
            triggers: vec![
                trigger(Entity::Ticket, Action::Create, HOOK),
                trigger(Entity::Ticket, Action::Edit, HOOK),
                trigger(
                    Entity::Comment,
                    Action::Create,
                    "https://other.example.com/c",
                ),
            ],
        }],
    );
    let ada = crm
        .insert_contact(&contact("Ada", &[P1]), None)
        .await
        .unwrap()
        .record;
    // Not a trigger's entity: nothing written.
    assert!(
        db.deliveries(&["other".to_string()], None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(db.deliveries(&groups(), None, 10).await.unwrap().is_empty());
    let (t, c) = crm
        .insert_ticket(
            &ticket("Help", "open", Some(ada.id)),
            Some(&comment("hi")),
            None,
        )
        .await
        .unwrap()
        .record;
    let mut changed = ticket("Help!", "open", Some(ada.id));
    crm.update_ticket(t.id, &changed).await.unwrap().unwrap();
    changed.status = "solved".into();
    crm.update_ticket(t.id, &changed).await.unwrap().unwrap();
    // A change that did not happen announces nothing.
    assert!(
        crm.update_ticket(t.id + 1000, &changed)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        crm.insert_comment(t.id + 1000, &comment("x"), None)
            .await
            .unwrap()
            .is_none()
    );
    let all = db.deliveries(&groups(), None, 10).await.unwrap();
    assert_eq!(all.len(), 4, "{all:?}");
    // Another group's list does not show them.
    assert!(
        db.deliveries(&["other".to_string()], None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let comment_hook = all.iter().find(|d| d.endpoint != HOOK).unwrap();
    let c = c.unwrap();
    assert_eq!(
        comment_hook.request.url(),
        format!(
            "https://other.example.com/c?AccountID={}&CaseID={}&FollowupID={}",
            ada.id, t.id, c.id
        )
    );
    let ids: HashSet<&str> = all.iter().map(|d| d.message_id.as_str()).collect();
    assert_eq!(ids.len(), 4);
    assert!(all.iter().all(|d| d.message_id.starts_with("msg_")));
    assert!(all.iter().all(|d| d.status == DeliveryStatus::Pending));

    let backlog = db.backlog().await.unwrap();
    assert_eq!(
        backlog
            .iter()
            .map(|b| (b.endpoint.as_str(), b.pending, b.retrying))
            .collect::<Vec<_>>(),
        [
            ("https://crm.example.com/hook?src=db", 3, 0),
            ("https://other.example.com/c", 1, 0)
        ]
    );
    // The comment's line and the ticket's first notification are claimable;
    // the ticket's later ones wait for the first.
    let lease = Duration::from_secs(30);
    let first = db.claim_delivery("w1", lease).await.unwrap().unwrap();
    let second = db.claim_delivery("w1", lease).await.unwrap().unwrap();
    assert!(db.claim_delivery("w1", lease).await.unwrap().is_none());
    let (created, other) = match first.endpoint == HOOK {
        true => (first, second),
        false => (second, first),
    };
    assert_eq!(
        created.request.url(),
        format!("{HOOK}&AccountID={}&CaseID={}", ada.id, t.id)
    );
    assert_eq!(created.attempts, 1);
    // Someone else's lease cannot record.
    let delivered = outcome(Verdict::Delivered, 204);
    assert!(!db.record_attempt(&created, "w2", &delivered).await.unwrap());
    // A retry keeps the line blocked until it is due again.
    let retry = outcome(Verdict::RetryIn(Duration::from_millis(0)), 500);
    assert!(db.record_attempt(&created, "w1", &retry).await.unwrap());
    next_millisecond().await;
    assert_eq!(db.backlog().await.unwrap()[0].retrying, 1);
    let again = db.claim_delivery("w1", lease).await.unwrap().unwrap();
    assert_eq!((again.id, again.attempts), (created.id, 2));
    assert_eq!(again.message_id, created.message_id);
    assert_eq!(again.last_status, Some(500));
    assert_eq!(again.last_error.as_deref().map(str::len), Some(500));
    assert!(db.record_attempt(&again, "w1", &delivered).await.unwrap());
    assert!(db.record_attempt(&other, "w1", &delivered).await.unwrap());
    // Then the first edit; dead, it does not hold up the second.
    let edit1 = db.claim_delivery("w1", lease).await.unwrap().unwrap();
    assert!(edit1.id > created.id);
    assert!(db.claim_delivery("w1", lease).await.unwrap().is_none());
    let dead = outcome(Verdict::DeadLetter, 410);
    assert!(db.record_attempt(&edit1, "w1", &dead).await.unwrap());
    let edit2 = db.claim_delivery("w1", lease).await.unwrap().unwrap();
    assert!(edit2.id > edit1.id);
    assert!(db.record_attempt(&edit2, "w1", &delivered).await.unwrap());
    assert!(db.claim_delivery("w1", lease).await.unwrap().is_none());

    let failed = db
        .deliveries(&groups(), Some(DeliveryStatus::Failed), 10)
        .await
        .unwrap();
    assert_eq!(failed.iter().map(|d| d.id).collect::<Vec<_>>(), [edit1.id]);
    assert_eq!(failed[0].last_status, Some(410));
    let done = db
        .deliveries(&groups(), Some(DeliveryStatus::Delivered), 10)
        .await
        .unwrap();
    assert_eq!(done.len(), 3);
    assert!(done.iter().all(|d| d.delivered_at.is_some()));
    // Replay: a dead letter only.
    assert_eq!(db.replay_delivery(edit2.id).await.unwrap(), Some(false));
    assert_eq!(db.replay_delivery(edit2.id + 1000).await.unwrap(), None);
    assert_eq!(db.replay_delivery(edit1.id).await.unwrap(), Some(true));
    let replayed = db.claim_delivery("w1", lease).await.unwrap().unwrap();
    assert_eq!((replayed.id, replayed.attempts), (edit1.id, 1));
    assert_eq!(replayed.message_id, edit1.message_id);
    // Dead again; replayed by time: not when made before it, nor another group's.
    assert!(db.record_attempt(&replayed, "w1", &dead).await.unwrap());
    let later = Utc::now() + chrono::Duration::seconds(5);
    assert_eq!(db.replay_failed_since(&groups(), later).await.unwrap(), 0);
    let earlier = Utc::now() - chrono::Duration::seconds(60);
    let others = ["other".to_string()];
    assert_eq!(db.replay_failed_since(&others, earlier).await.unwrap(), 0);
    assert_eq!(db.replay_failed_since(&groups(), earlier).await.unwrap(), 1);
    let pending = db
        .deliveries(&groups(), Some(DeliveryStatus::Pending), 10)
        .await
        .unwrap();
    assert_eq!(pending.iter().map(|d| d.id).collect::<Vec<_>>(), [edit1.id]);
}

/// Deletes are announced with the record as it was, and tasks by their contact.
async fn deletes_and_tasks_are_announced<D: Tenants + Store>(db: &D) {
    let hook = "https://crm.example.com/h";
    let triggers = [
        (Entity::Contact, Action::Delete),
        (Entity::Task, Action::Create),
        (Entity::Task, Action::Delete),
        (Entity::Comment, Action::Delete),
        (Entity::Ticket, Action::Delete),
    ]
    .map(|(e, a)| trigger(e, a, hook));
    let crm = db.crm_with(
        "t",
        vec![GroupTriggers {
            group: "g".into(),
            triggers: triggers.to_vec(),
        }],
    );
    let ada = crm
        .insert_contact(&contact("Ada", &[P1]), None)
        .await
        .unwrap()
        .record;
    let (t, c) = crm
        .insert_ticket(
            &ticket("Help", "open", Some(ada.id)),
            Some(&comment("hi")),
            None,
        )
        .await
        .unwrap()
        .record;
    let task = crm
        .insert_task(&TaskFields {
            subject: "Call back".into(),
            status: "open".into(),
            contact_id: Some(ada.id),
            ..TaskFields::default()
        })
        .await
        .unwrap();
    assert!(crm.delete_comment(t.id, c.unwrap().id).await.unwrap());
    assert!(crm.delete_task(task.id).await.unwrap());
    assert!(crm.delete_ticket(t.id).await.unwrap());
    assert!(crm.delete_contact(ada.id).await.unwrap());
    assert!(!crm.delete_contact(ada.id).await.unwrap());
    let mut urls: Vec<String> = db
        .deliveries(&groups(), None, 10)
        .await
        .unwrap()
        .iter()
        .map(|d| d.request.url().to_string())
        .collect();
    urls.reverse();
    let (a, t) = (ada.id, t.id);
    assert_eq!(
        urls,
        [
            format!("{hook}?AccountID={a}&TaskID={}", task.id),
            format!("{hook}?AccountID={a}&CaseID={t}&FollowupID={}", c_id(&urls)),
            format!("{hook}?AccountID={a}&TaskID={}", task.id),
            format!("{hook}?AccountID={a}&CaseID={t}"),
            format!("{hook}?AccountID={a}"),
        ]
    );
}

/// A delete's cascade is announced in its transaction, record by record: a
/// ticket's comments deleted and its tasks edited before the ticket's delete;
/// a contact's tickets and tasks edited before the contact's.
async fn a_deletes_cascade_is_announced<D: Tenants + Store>(db: &D) {
    let hook = "https://crm.example.com/h";
    let triggers = [
        (Entity::Comment, Action::Delete),
        (Entity::Task, Action::Edit),
        (Entity::Ticket, Action::Edit),
        (Entity::Ticket, Action::Delete),
        (Entity::Contact, Action::Delete),
    ]
    .map(|(e, a)| trigger(e, a, hook));
    let crm = db.crm_with(
        "t",
        vec![GroupTriggers {
            group: "g".into(),
            triggers: triggers.to_vec(),
        }],
    );
    let ada = crm
        .insert_contact(&contact("Ada", &[P1]), None)
        .await
        .unwrap()
        .record;
    let (doomed, c) = crm
        .insert_ticket(
            &ticket("Help", "open", Some(ada.id)),
            Some(&comment("hi")),
            None,
        )
        .await
        .unwrap()
        .record;
    let (kept, _) = crm
        .insert_ticket(&ticket("Toner", "open", Some(ada.id)), None, None)
        .await
        .unwrap()
        .record;
    let task = crm
        .insert_task(&TaskFields {
            subject: "Call back".into(),
            status: "open".into(),
            contact_id: Some(ada.id),
            ticket_id: Some(doomed.id),
            ..TaskFields::default()
        })
        .await
        .unwrap();
    assert!(crm.delete_ticket(doomed.id).await.unwrap());
    assert!(
        crm.comments(doomed.id, page(None, 10))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(crm.task(task.id).await.unwrap().unwrap().ticket_id, None);
    assert!(crm.delete_contact(ada.id).await.unwrap());
    let left = crm.ticket(kept.id).await.unwrap().unwrap();
    assert_eq!(left.requester_id, None);
    assert_eq!(crm.task(task.id).await.unwrap().unwrap().contact_id, None);
    let mut urls: Vec<String> = db
        .deliveries(&groups(), None, 10)
        .await
        .unwrap()
        .iter()
        .map(|d| d.request.url().to_string())
        .collect();
    urls.reverse();
    let (a, t, k) = (ada.id, doomed.id, task.id);
    assert_eq!(
        urls,
        [
            format!(
                "{hook}?AccountID={a}&CaseID={t}&FollowupID={}",
                c.unwrap().id
            ),
            format!("{hook}?AccountID={a}&TaskID={k}"),
            format!("{hook}?AccountID={a}&CaseID={t}"),
            format!("{hook}?AccountID={a}&CaseID={}", kept.id),
            format!("{hook}?AccountID={a}&TaskID={k}"),
            format!("{hook}?AccountID={a}"),
        ]
    );
}

/// The FollowupID a listed comment URL carries.
fn c_id(urls: &[String]) -> String {
    urls.iter()
        .find_map(|u| u.split("FollowupID=").nth(1))
        .unwrap_or_default()
        .to_string()
}

/// Two built-in backends on one database: neither reads, lists, changes, deletes,
/// refers to or replays (by idempotency key) the other's records.
async fn crm_records_are_scoped_to_their_tenant<D: Tenants>(db: &D) {
    let (a, b) = (db.crm("crm_a"), db.crm("crm_b"));
    let org = b
        .insert_organization(
            &OrganizationFields {
                name: "B Corp".into(),
                custom_fields: Fields::new(),
            },
            None,
        )
        .await
        .unwrap()
        .record;
    let bob = b
        .insert_contact(&contact("Bob", &[P1]), Some("k-contact"))
        .await
        .unwrap()
        .record;
    let (ticket, _) = b
        .insert_ticket(&ticket_of(bob.id), None, Some("k-ticket"))
        .await
        .unwrap()
        .record;
    let comment = b
        .insert_comment(
            ticket.id,
            &CommentFields {
                body: "B's".into(),
                public: false,
            },
            None,
        )
        .await
        .unwrap()
        .unwrap()
        .record;
    let task = b
        .insert_task(&TaskFields {
            subject: "Call back".into(),
            status: "open".into(),
            contact_id: Some(bob.id),
            ..TaskFields::default()
        })
        .await
        .unwrap();

    // A sees none of it: not in lists, not by id, not by phone.
    let all = page(None, 100);
    assert!(a.contacts(None, all).await.unwrap().is_empty());
    assert!(a.contacts(Some(P1), all).await.unwrap().is_empty());
    assert!(a.organizations(all).await.unwrap().is_empty());
    assert!(a.tickets(None, all).await.unwrap().is_empty());
    assert!(a.tickets(Some(bob.id), all).await.unwrap().is_empty());
    assert!(a.open_tickets_of(bob.id, 10).await.unwrap().is_empty());
    assert!(a.comments(ticket.id, all).await.unwrap().is_empty());
    assert!(a.tasks(all).await.unwrap().is_empty());
    assert!(a.contact(bob.id).await.unwrap().is_none());
    assert!(a.organization(org.id).await.unwrap().is_none());
    assert!(a.ticket(ticket.id).await.unwrap().is_none());
    assert!(a.comment(ticket.id, comment.id).await.unwrap().is_none());
    assert!(a.task(task.id).await.unwrap().is_none());

    // A changes and deletes nothing of B's.
    let name = OrganizationFields {
        name: "taken".into(),
        custom_fields: Fields::new(),
    };
    assert!(
        a.update_contact(bob.id, &contact("Mallory", &[P2]))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        a.update_organization(org.id, &name)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        a.update_ticket(ticket.id, &ticket_of(bob.id))
            .await
            .unwrap()
            .is_none()
    );
    let body = CommentFields {
        body: "A's".into(),
        public: true,
    };
    assert!(
        a.update_comment(ticket.id, comment.id, &body)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        a.insert_comment(ticket.id, &body, None)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        a.update_task(task.id, &TaskFields::default())
            .await
            .unwrap()
            .is_none()
    );
    assert!(!a.delete_comment(ticket.id, comment.id).await.unwrap());
    assert!(!a.delete_task(task.id).await.unwrap());
    assert!(!a.delete_ticket(ticket.id).await.unwrap());
    assert!(!a.delete_contact(bob.id).await.unwrap());
    assert!(!a.delete_organization(org.id).await.unwrap());
    assert_eq!(b.contact(bob.id).await.unwrap(), Some(bob.clone()));
    assert_eq!(b.organization(org.id).await.unwrap(), Some(org));
    assert_eq!(
        b.ticket(ticket.id).await.unwrap().map(|t| t.subject),
        Some(ticket.subject)
    );
    assert_eq!(
        b.comment(ticket.id, comment.id).await.unwrap(),
        Some(comment)
    );
    assert_eq!(b.task(task.id).await.unwrap(), Some(task));

    // Adoption moves a tenant's records whole (an upgrade to a named backend).
    let c = db.crm("crm_c");
    assert_eq!(c.adopt("crm_b").await.unwrap(), 5);
    assert!(b.contact(bob.id).await.unwrap().is_none());
    assert_eq!(
        c.contact(bob.id).await.unwrap().map(|c| c.name),
        Some("Bob".into())
    );
    assert_eq!(c.comments(ticket.id, all).await.unwrap().len(), 1);
    assert_eq!(b.adopt("crm_c").await.unwrap(), 5);

    // A's own contact with the same number is A's alone.
    let ann = a
        .insert_contact(&contact("Ann", &[P1]), None)
        .await
        .unwrap()
        .record;
    let ids =
        |cs: Vec<deskbridge_store::crm::Contact>| cs.into_iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(ids(a.contacts(Some(P1), all).await.unwrap()), [ann.id]);
    assert_eq!(ids(b.contacts(Some(P1), all).await.unwrap()), [bob.id]);
}

/// A caller card's rows: the contact's organization by name, its tickets that
/// are not closed newest first up to the limit, and nothing of another
/// tenant's, even where a row of one points at a row of the other.
async fn a_callers_card_has_its_organization_and_open_tickets<D: Tenants>(db: &D) {
    let (a, b) = (db.crm("crm_a"), db.crm("crm_b"));
    let organization = |name: &str| OrganizationFields {
        name: name.into(),
        custom_fields: Fields::new(),
    };
    let acme = a
        .insert_organization(&organization("Acme"), None)
        .await
        .unwrap()
        .record;
    let ada = a
        .insert_contact(
            &ContactFields {
                organization_id: Some(acme.id),
                ..contact("Ada", &[P1])
            },
            None,
        )
        .await
        .unwrap()
        .record
        .id;
    let bob = a
        .insert_contact(&contact("Bob", &[P2]), None)
        .await
        .unwrap()
        .record
        .id;
    let mut made = Vec::new();
    for (subject, status) in [
        ("one", "open"),
        ("two", "pending"),
        ("three", "closed"),
        ("four", "new"),
        ("five", "solved"),
    ] {
        let (t, _) = a
            .insert_ticket(&ticket(subject, status, Some(ada)), None, None)
            .await
            .unwrap()
            .record;
        made.push(t.id);
        next_millisecond().await;
    }
    let subjects = |card: &CardRows| {
        card.tickets
            .iter()
            .map(|t| t.subject.clone())
            .collect::<Vec<_>>()
    };

    let card = a.card_of(ada, 10).await.unwrap();
    assert_eq!(card.organization.as_deref(), Some("Acme"));
    assert_eq!(subjects(&card), ["five", "four", "two", "one"]);
    // The tickets as the store keeps them, as `open_tickets_of` reads them.
    assert_eq!(card.tickets, a.open_tickets_of(ada, 10).await.unwrap());
    assert_eq!(card.tickets[0].status, "solved");
    assert_eq!(
        card.tickets[0].assignee.as_deref(),
        Some("agent@example.com")
    );

    // The limit takes the newest; the organization comes even with no ticket.
    let card = a.card_of(ada, 2).await.unwrap();
    assert_eq!(subjects(&card), ["five", "four"]);
    assert_eq!(card.organization.as_deref(), Some("Acme"));
    let card = a.card_of(ada, 0).await.unwrap();
    assert!(card.tickets.is_empty());
    assert_eq!(card.organization.as_deref(), Some("Acme"));

    // A comment makes its ticket the most recent.
    a.insert_comment(made[0], &comment("Called again"), None)
        .await
        .unwrap()
        .unwrap();
    let card = a.card_of(ada, 3).await.unwrap();
    assert_eq!(subjects(&card), ["one", "five", "four"]);

    // A contact without an organization, whose only ticket is closed.
    a.insert_ticket(&ticket("done", "closed", Some(bob)), None, None)
        .await
        .unwrap();
    assert_eq!(a.card_of(bob, 10).await.unwrap(), CardRows::default());
    // A contact that does not exist.
    assert_eq!(a.card_of(999_999, 10).await.unwrap(), CardRows::default());

    // Another tenant's rows: a ticket of B's naming A's contact is not on
    // A's card, an organization of B's named by A's contact is not shown, and
    // B sees no card of A's contact.
    let (theirs, _) = b
        .insert_ticket(&ticket("B's", "open", Some(ada)), None, None)
        .await
        .unwrap()
        .record;
    assert_eq!(theirs.requester_id, Some(ada));
    let b_corp = b
        .insert_organization(&organization("B Corp"), None)
        .await
        .unwrap()
        .record;
    let carol = a
        .insert_contact(
            &ContactFields {
                organization_id: Some(b_corp.id),
                ..contact("Carol", &[P3])
            },
            None,
        )
        .await
        .unwrap()
        .record
        .id;
    let card = a.card_of(ada, 10).await.unwrap();
    assert_eq!(subjects(&card), ["one", "five", "four", "two"]);
    assert_eq!(a.card_of(carol, 10).await.unwrap(), CardRows::default());
    assert_eq!(b.card_of(ada, 10).await.unwrap(), CardRows::default());
}

fn ticket_of(requester: i64) -> TicketFields {
    TicketFields {
        subject: "Call".into(),
        status: "open".into(),
        priority: "normal".into(),
        ticket_type: "question".into(),
        requester_id: Some(requester),
        ..TicketFields::default()
    }
}

/// Closes a store at the end of a test, before its database is removed.
trait Close {
    async fn close(self);
}

impl Close for SqliteStore {
    async fn close(self) {}
}

impl Close for PgStore {
    async fn close(self) {
        // Waits for every connection to come back (pending rollbacks included).
        PgStore::close(&self).await;
    }
}

/// An upstream's endpoint limits (Zendesk's 30 updates per ticket per 10
/// minutes, ...): a store shared by instances counts every instance's requests
/// in one sliding window per count, all of a request's counts or none; a store
/// of one process leaves the count to it (`None`).
async fn endpoint_counts_are_kept_in_the_store_when_it_is_shared(store: &dyn Store) {
    let count = |key: &str, max: u32| SendCount {
        key: key.into(),
        max,
        window: Duration::from_secs(600),
    };
    let ticket = |id: u64| {
        vec![
            count(&format!("ticket_update:{id}"), 2),
            count("ticket_updates", 3),
        ]
    };
    let first = store.admit_sends("acme", &ticket(1)).await.unwrap();
    let Some(first) = first else {
        // One process: every answer leaves the count to the caller.
        assert_eq!(store.admit_sends("acme", &ticket(1)).await.unwrap(), None);
        return;
    };
    assert_eq!(first, Ok(()));
    assert_eq!(
        store.admit_sends("acme", &ticket(1)).await.unwrap(),
        Some(Ok(()))
    );
    // The ticket's third update in its window: refused by its own count (0),
    // for about the window, and nothing counted.
    let Some(Err((refusing, wait))) = store.admit_sends("acme", &ticket(1)).await.unwrap() else {
        panic!("the third update of ticket 1 was admitted");
    };
    assert_eq!(refusing, 0);
    assert!(
        wait > Duration::from_secs(590) && wait <= Duration::from_secs(600),
        "{wait:?}"
    );
    // Another ticket takes the account's last room; then the account is out.
    assert_eq!(
        store.admit_sends("acme", &ticket(2)).await.unwrap(),
        Some(Ok(()))
    );
    let Some(Err((refusing, _))) = store.admit_sends("acme", &ticket(3)).await.unwrap() else {
        panic!("the account's fourth update was admitted");
    };
    assert_eq!(refusing, 1, "refused by the account's count");
    // Another account counts apart.
    assert_eq!(
        store.admit_sends("other", &ticket(1)).await.unwrap(),
        Some(Ok(()))
    );
    // A short window lets requests through again once it has passed.
    let short = [SendCount {
        key: "incremental_exports".into(),
        max: 1,
        window: Duration::from_millis(300),
    }];
    assert_eq!(
        store.admit_sends("acme", &short).await.unwrap(),
        Some(Ok(()))
    );
    assert!(matches!(
        store.admit_sends("acme", &short).await.unwrap(),
        Some(Err((0, _)))
    ));
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        store.admit_sends("acme", &short).await.unwrap(),
        Some(Ok(()))
    );
}

fn mirror_user(id: i64, name: &str, phones: &[&str]) -> MirrorUser {
    MirrorUser {
        id,
        name: name.into(),
        email: None,
        external_id: Some(format!("ext-{id}")),
        is_agent: false,
        shared_phone: false,
        phones: phones.iter().map(|p| p.to_string()).collect(),
        created_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, id as u32).unwrap(),
    }
}

fn mirror_ticket(id: i64, requester: i64, status: &str, minute: u32) -> MirrorTicket {
    MirrorTicket {
        id,
        requester_id: Some(requester),
        assignee_id: Some(7),
        status: status.into(),
        updated_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, minute, 0).unwrap(),
        external_id: Some(format!("deskbridge:support/call-{id}/open_ticket")),
    }
}

async fn the_mirror_keeps_users_by_phone_and_open_tickets_under_one_lease(store: &dyn Store) {
    assert_eq!(store.mirror_state("zd").await.unwrap(), None);
    assert!(
        store
            .mirror_lease("zd", "a", now_ms() + 60_000)
            .await
            .unwrap()
    );
    assert!(
        !store
            .mirror_lease("zd", "b", now_ms() + 60_000)
            .await
            .unwrap(),
        "a second instance does not poll while the lease is held"
    );
    let first = MirrorBatch {
        users: vec![
            mirror_user(1, "Ann", &["+14155550100"]),
            mirror_user(2, "Bob", &["+14155550100", "+14155550101"]),
        ],
        tickets: vec![
            mirror_ticket(10, 1, "open", 1),
            mirror_ticket(11, 1, "pending", 2),
        ],
        users_cursor: Some(("u1".into(), false)),
        ..MirrorBatch::default()
    };
    assert!(store.mirror_apply("zd", "a", &first).await.unwrap());
    assert!(
        !store.mirror_apply("zd", "b", &first).await.unwrap(),
        "only the lease holder writes"
    );
    let state = store.mirror_state("zd").await.unwrap().unwrap();
    assert_eq!(state.users_cursor.as_deref(), Some("u1"));
    assert_eq!(state.loaded_at, None, "not loaded before both streams end");

    let found = store
        .mirror_users_by_phone("zd", "+14155550100")
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
        ["Ann", "Bob"]
    );
    assert_eq!(found[1].phones, ["+14155550100", "+14155550101"]);
    assert!(
        store
            .mirror_users_by_phone("other", "+14155550100")
            .await
            .unwrap()
            .is_empty()
    );

    // Bob changes his number, Ann's ticket 10 is closed, Carl is deleted.
    let second = MirrorBatch {
        users: vec![mirror_user(2, "Bob", &["+14155550101"])],
        removed_tickets: vec![10],
        users_cursor: Some(("u2".into(), true)),
        tickets_cursor: Some(("t1".into(), true)),
        synced: true,
        ..MirrorBatch::default()
    };
    assert!(store.mirror_apply("zd", "a", &second).await.unwrap());
    let found = store
        .mirror_users_by_phone("zd", "+14155550100")
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "Ann");
    let tickets = store.mirror_tickets_of("zd", 1).await.unwrap();
    assert_eq!(tickets.iter().map(|t| t.id).collect::<Vec<_>>(), [11]);
    assert_eq!(store.mirror_ticket("zd", 10).await.unwrap(), None);
    assert_eq!(
        store
            .mirror_ticket("zd", 11)
            .await
            .unwrap()
            .map(|t| t.status),
        Some("pending".into())
    );
    let state = store.mirror_state("zd").await.unwrap().unwrap();
    assert!(state.loaded_at.is_some() && state.synced_at.is_some());
    assert_eq!(state.tickets_cursor.as_deref(), Some("t1"));
    assert!(state.users_done && state.tickets_done);

    // A user deskbridge created is there at once, whoever holds the lease.
    store
        .mirror_put_user("zd", &mirror_user(3, "Carl", &["+14155550102"]))
        .await
        .unwrap();
    assert_eq!(
        store.mirror_user("zd", 3).await.unwrap().map(|u| u.name),
        Some("Carl".into())
    );
    store
        .mirror_put_ticket("zd", &mirror_ticket(11, 1, "closed", 3))
        .await
        .unwrap();
    assert!(store.mirror_tickets_of("zd", 1).await.unwrap().is_empty());
    assert_eq!(store.mirror_counts("zd").await.unwrap(), (3, 0));
    let removed = MirrorBatch {
        removed_users: vec![3],
        ..MirrorBatch::default()
    };
    assert!(store.mirror_apply("zd", "a", &removed).await.unwrap());
    assert_eq!(store.mirror_user("zd", 3).await.unwrap(), None);
    // An expired lease is taken over.
    assert!(store.mirror_lease("zd", "a", now_ms() - 1).await.unwrap());
    assert!(
        store
            .mirror_lease("zd", "b", now_ms() + 60_000)
            .await
            .unwrap()
    );
}

macro_rules! contract {
    ($($backend:ident),+ : $tests:tt) => {
        $( contract!(@backend $backend $tests); )+
    };
    (@backend $backend:ident [$($test:ident),* $(,)?]) => {
        mod $backend {
            $(
                #[tokio::test]
                async fn $test() {
                    let (store, guard) = super::$backend().await;
                    super::$test(&store).await;
                    // The store's connections go before its database does.
                    super::Close::close(store).await;
                    drop(guard);
                }
            )*
        }
    };
}

/// As `contract!`, for the CRM tests: each runs on one tenant's records.
macro_rules! crm_contract {
    ($($backend:ident),+ : $tests:tt) => {
        mod crm {
            $( crm_contract!(@backend $backend $tests); )+
        }
    };
    (@backend $backend:ident [$($test:ident),* $(,)?]) => {
        mod $backend {
            $(
                #[tokio::test]
                async fn $test() {
                    let (store, guard) = super::super::$backend().await;
                    super::super::$test(&store.crm("tenant-a")).await;
                    super::super::Close::close(store).await;
                    drop(guard);
                }
            )*
        }
    };
}

contract!(sqlite, postgres: [
    ingest_dedupes_and_queues_one_step_per_call,
    a_rejected_batch_stores_nothing,
    waiting_steps_are_the_due_ones_not_taken,
    a_group_commit_answers_each_request_and_stores_each_event_once,
    a_refused_request_in_a_group_commit_fails_only_itself,
    concurrent_group_commits_store_every_event_exactly_once,
    steps_run_in_order_and_complete_queues_the_next,
    the_caller_log_finds_the_calls_of_a_ticket_and_of_a_contact,
    an_expired_lease_is_taken_over_and_the_old_worker_cannot_record,
    a_steps_notifications_commit_with_its_outcome_only,
    retries_wait_and_failures_stop_only_their_call,
    a_failed_call_is_retried_once_and_others_are_not,
    release_gives_the_step_back_without_an_attempt,
    a_held_step_waits_without_spending_an_attempt,
    the_caller_log_is_newest_first_and_scoped_to_groups,
    chats_are_kept_beside_calls_but_not_in_the_caller_log,
    lists_stop_at_their_byte_budget_and_calls_at_theirs,
    crm_records_are_scoped_to_their_tenant,
    a_callers_card_has_its_organization_and_open_tickets,
    changes_write_their_notifications_and_they_go_in_order,
    deletes_and_tasks_are_announced,
    a_deletes_cascade_is_announced,
    the_caller_log_filters_marks_done_and_purges,
    sessions_expire_and_sign_out,
    a_decision_moves_the_waiting_step_forward,
    pops_have_a_lane_of_their_own,
    pops_are_claimed_and_recorded_in_bursts,
    imported_calls_wait_in_the_bulk_lane,
    endpoint_counts_are_kept_in_the_store_when_it_is_shared,
    the_mirror_keeps_users_by_phone_and_open_tickets_under_one_lease,
    missed_calls_fold_into_one_callback_per_number,
    a_claim_is_written_only_over_the_version_it_was_decided_on,
    a_callbacks_writes_commit_with_their_notifications,
    a_calls_figures_count_in_its_hour_once_it_ends,
    a_late_event_that_changes_a_calls_outcome_revises_its_figures,
    figures_are_read_per_group_queue_and_agent,
    a_generated_day_of_calls_sums_to_a_brute_force_recount,
]);

// The CRM contract, on one tenant's records.
crm_contract!(sqlite, postgres: [
    contacts_keep_their_phones,
    an_import_adds_every_contact_with_its_numbers,
    idempotency_keys_return_the_first_record,
    idempotency_keys_hold_under_concurrency,
    comments_need_their_ticket_and_touch_it,
    open_tickets_are_newest_first_without_closed_ones,
    tickets_are_found_by_a_custom_fields_value,
    lists_page_by_id,
    tasks_and_organizations_round_trip,
]);

// ---- several instances on one PostgreSQL database ----

/// Two stores on one schema, each with its own pool and listener, as two
/// deskbridge instances; opened together, so they also migrate together.
async fn two_instances() -> (PgStore, PgStore, PgSchema) {
    let schema = PgSchema::create().await;
    let url = schema.url();
    let (a, b) = tokio::join!(PgStore::open(&url), PgStore::open(&url));
    (a.unwrap(), b.unwrap(), schema)
}

/// Two instances keep under one endpoint limit together: what one counted, the
/// other sees, and the same request asked by both at once is admitted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_share_their_endpoint_counts() {
    let (a, b, _schema) = two_instances().await;
    let ticket = [SendCount {
        key: "ticket_update:7".into(),
        max: 3,
        window: Duration::from_secs(600),
    }];
    assert_eq!(a.admit_sends("acme", &ticket).await.unwrap(), Some(Ok(())));
    assert_eq!(b.admit_sends("acme", &ticket).await.unwrap(), Some(Ok(())));
    // The last room, asked by both at once: one gets it.
    let (x, y) = tokio::join!(
        a.admit_sends("acme", &ticket),
        b.admit_sends("acme", &ticket)
    );
    let admitted = [x.unwrap(), y.unwrap()]
        .iter()
        .filter(|r| **r == Some(Ok(())))
        .count();
    assert_eq!(admitted, 1);
    assert!(matches!(
        a.admit_sends("acme", &ticket).await.unwrap(),
        Some(Err((0, _)))
    ));
    a.close().await;
    b.close().await;
}

/// Waits for the next change that `wanted` accepts, skipping others (the
/// notification channel is shared by every schema of the database).
async fn wait_for(
    changes: &mut broadcast::Receiver<Change>,
    within: Duration,
    wanted: impl Fn(&Change) -> bool,
) -> Option<Change> {
    tokio::time::timeout(within, async {
        loop {
            match changes.recv().await {
                Ok(change) if wanted(&change) => return Some(change),
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
    .await
    .ok()
    .flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_never_claim_the_same_step() {
    let (a, b, schema) = two_instances().await;
    const CALLS: usize = 20;
    let events: Vec<GroupEvent> = (0..CALLS)
        .flat_map(|i| answered_call(&format!("c{i}")))
        .collect();
    let report = a.ingest(&events).await.unwrap();
    assert_eq!(report.steps, CALLS);

    let mut claimers = Vec::new();
    for (name, store) in [("a", &a), ("b", &b)] {
        for w in 0..4 {
            let store = store.clone();
            let owner = format!("{name}/w{w}");
            claimers.push(tokio::spawn(async move {
                let mut claimed = Vec::new();
                while let Some(step) = store.claim_step(&owner, LEASE).await.unwrap() {
                    claimed.push(step);
                }
                claimed
            }));
        }
    }
    let mut claimed = Vec::new();
    for claimer in claimers {
        claimed.extend(bounded("a claiming worker", claimer).await.unwrap());
    }
    // Nothing left over for a late worker either.
    assert!(a.claim_step("late", LEASE).await.unwrap().is_none());
    assert!(b.claim_step("late", LEASE).await.unwrap().is_none());
    let jobs: HashSet<i64> = claimed.iter().map(|s| s.job_id).collect();
    let calls: HashSet<&str> = claimed.iter().map(|s| s.call_id.as_str()).collect();
    assert_eq!(claimed.len(), CALLS, "every step claimed once");
    assert_eq!(jobs.len(), CALLS, "no step claimed twice");
    assert_eq!(calls.len(), CALLS);
    assert!(claimed.iter().all(|s| s.attempt == 1));
    // Both instances see every lease.
    for step in &claimed {
        let call = b.call("g", &step.call_id).await.unwrap().unwrap();
        assert_eq!(call.steps[0].status, JobStatus::Running);
    }
    a.close().await;
    b.close().await;
    drop(schema);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_on_one_instance_reaches_the_other() {
    let (a, b, schema) = two_instances().await;
    let mut changes = b.changes();
    // b's listener connects in the background: probe until it hears a's changes.
    let mut listening = false;
    for i in 0..20 {
        let probe = format!("probe-{i}-{}", schema.name);
        a.ingest(&[ev(&probe, &probe, EventKind::Ringing, 0)])
            .await
            .unwrap();
        let heard = wait_for(
            &mut changes,
            Duration::from_millis(500),
            |c| matches!(c, Change::Call { call_id, .. } if *call_id == probe),
        )
        .await;
        if heard.is_some() {
            listening = true;
            break;
        }
    }
    assert!(listening, "b's listener never heard a");
    let call_id = format!("call-of-{}", schema.name);
    let started = std::time::Instant::now();
    a.ingest(&answered_call(&call_id)).await.unwrap();
    let arrived = wait_for(
        &mut changes,
        Duration::from_secs(2),
        |c| matches!(c, Change::Call { group, call_id: id } if group == "g" && *id == call_id),
    )
    .await;
    assert!(arrived.is_some(), "b did not hear of a's call within 2 s");
    assert!(started.elapsed() < Duration::from_secs(2));
    // And the other way round, for work.
    let mut changes = a.changes();
    let claimed = b.claim_step("b/w0", LEASE).await.unwrap().unwrap();
    b.complete_step(&claimed, &StepOutcome::default())
        .await
        .unwrap();
    let arrived = wait_for(
        &mut changes,
        Duration::from_secs(2),
        |c| matches!(c, Change::Call { call_id: id, .. } if *id == call_id),
    )
    .await;
    assert!(arrived.is_some(), "a did not hear of b's completed step");
    a.close().await;
    b.close().await;
    drop(schema);
}

/// Two instances committing ended calls of one hour and group side by side:
/// the figures count every call once, summed over the stripes the commits
/// wrote to (migration 0017); and an instance of the release before, which
/// still adds to `hourly_figures` by its four-column key during a rolling
/// upgrade, can do so, and is counted too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn figures_from_commits_side_by_side_count_every_call() {
    let (a, b, schema) = two_instances().await;
    // Few enough that four such tests at once stay within PostgreSQL's
    // connections, enough to run commits side by side on each pool.
    const CALLS: usize = 8;
    let mut commits = Vec::new();
    for (name, store) in [("a", &a), ("b", &b)] {
        for i in 0..CALLS {
            let store = store.clone();
            let call = format!("{name}{i}");
            commits.push(tokio::spawn(async move {
                let mut events = answered_call(&call);
                events.push(ev(&format!("{call}-3"), &call, EventKind::Ended, 65));
                store.ingest(&events).await.unwrap();
            }));
        }
    }
    for commit in commits {
        bounded("a commit", commit).await.unwrap();
    }
    let offered = (2 * CALLS) as i64;
    let counted = figures::day_totals(&b, "g").await;
    assert_eq!((counted.offered, counted.answered), (offered, offered));
    assert_eq!(counted.talk_ms, offered * 60_000);
    // The rows went to the connections' stripes, 0 to 15, none to the old table.
    let mut conn = admin_connection(&schema.url()).await;
    let (rows, lowest, highest, old): (i64, i16, i16, i64) = sqlx::query_as(
        "SELECT count(*), min(stripe), max(stripe), (SELECT count(*) FROM hourly_figures)
         FROM hourly_figure_stripes",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!((1..=16).contains(&rows), "{rows} rows for one key");
    assert!(lowest >= 0 && highest < 16, "stripes {lowest} to {highest}");
    assert_eq!(old, 0);
    // The last release's upsert, as its instances still send it.
    sqlx::query(
        "INSERT INTO hourly_figures (hour, group_name, queue, agent, offered, answered)
         SELECT hour, group_name, queue, agent, 1, 1 FROM hourly_figure_stripes LIMIT 1
         ON CONFLICT (hour, group_name, queue, agent) DO UPDATE SET
           offered = hourly_figures.offered + excluded.offered,
           answered = hourly_figures.answered + excluded.answered",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let counted = figures::day_totals(&a, "g").await;
    assert_eq!(
        (counted.offered, counted.answered),
        (offered + 1, offered + 1)
    );
    let _ = conn.close().await;
    a.close().await;
    b.close().await;
    drop(schema);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_lock_holds_across_instances() {
    let (a, b, schema) = two_instances().await;
    let held = a.lock_phone(P1).await.unwrap();
    let waiter = {
        let b = b.clone();
        tokio::spawn(async move {
            let guard = b.lock_phone(P1).await.unwrap();
            (guard, std::time::Instant::now())
        })
    };
    // Another number is not held up.
    let other = tokio::time::timeout(Duration::from_secs(2), b.lock_phone(P2))
        .await
        .expect("another number's lock is free")
        .unwrap();
    drop(other);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiter.is_finished(), "b took a number a holds");
    let released = std::time::Instant::now();
    drop(held);
    let (guard, taken) = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("b gets the number once a lets go")
        .unwrap();
    assert!(taken >= released);
    // And now a waits for b.
    let a_waits = {
        let a = a.clone();
        tokio::spawn(async move { a.lock_phone(P1).await.unwrap() })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!a_waits.is_finished(), "a took a number b holds");
    drop(guard);
    let again = tokio::time::timeout(Duration::from_secs(5), a_waits)
        .await
        .expect("a gets the number back")
        .unwrap();
    drop(again);
    a.close().await;
    b.close().await;
    drop(schema);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_share_idempotency_keys() {
    let (a, b, schema) = two_instances().await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            store
                .crm("builtin")
                .insert_contact(&contact("Ada", &[P1]), Some("shared-key"))
                .await
                .unwrap()
        }));
    }
    let mut made = Vec::new();
    for task in tasks {
        made.push(bounded("a contact insert", task).await.unwrap());
    }
    assert_eq!(made.iter().filter(|c| c.new).count(), 1);
    assert!(made.iter().all(|c| c.record == made[0].record));
    let listed = a.crm("builtin").contacts(None, page(None, 10)).await;
    assert_eq!(listed.unwrap().len(), 1);
    a.close().await;
    b.close().await;
    drop(schema);
}

/// Closing an instance right as its listener hears a change returns: the
/// listener's connection is never one that `close()` waits for in vain (issue 23:
/// `a_change_on_one_instance_reaches_the_other` hung in `close()` for 17 minutes).
/// Each round closes the store the moment a notification arrives, the moment
/// the hang needed: sqlx's `PgListener` subscribes to the pool's close event
/// after checking that the pool is open, so a close falling between the two was
/// never heard, the listener kept its pool connection, and the pool's close
/// waited for it for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_as_a_change_arrives_never_waits_for_the_listener() {
    let schema = PgSchema::create().await;
    let url = schema.url();
    let rounds: usize = std::env::var("CLOSE_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(40);
    for round in 0..rounds {
        let store = bounded("the store to open", PgStore::open(&url))
            .await
            .unwrap();
        let mut changes = store.changes();
        // Probe until the listener hears the store's own changes.
        let mut heard = false;
        for probe in 0..50 {
            let call = format!("close-{round}-{probe}");
            store
                .ingest(&[ev(&call, &call, EventKind::Ringing, 0)])
                .await
                .unwrap();
            let wanted = |c: &Change| matches!(c, Change::Call { call_id, .. } if *call_id == call);
            if wait_for(&mut changes, Duration::from_millis(200), wanted)
                .await
                .is_some()
            {
                heard = true;
                break;
            }
        }
        assert!(
            heard,
            "round {round}: the store's listener never heard its own change"
        );
        tokio::time::timeout(Duration::from_secs(15), store.close())
            .await
            .unwrap_or_else(|_| panic!("round {round}: close() still waited after 15 s"));
    }
    drop(schema);
}

/// A change made right after `open` returns reaches the instance's own change
/// stream: `open` returns only once its listener is subscribed (issue 23: a
/// change announced before the listener's `LISTEN` was never heard, so the
/// second instance of `a_change_on_one_instance_reaches_the_other` could miss
/// the first's step, and a real instance could miss a call it should pop).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_right_after_open_is_heard() {
    let schema = PgSchema::create().await;
    let url = schema.url();
    for round in 0..10 {
        let (a, b) = bounded("two stores to open", async {
            tokio::join!(PgStore::open(&url), PgStore::open(&url))
        })
        .await;
        let (a, b) = (a.unwrap(), b.unwrap());
        let mut changes = b.changes();
        let call = format!("after-open-{round}");
        a.ingest(&[ev(&call, &call, EventKind::Ringing, 0)])
            .await
            .unwrap();
        let heard = wait_for(
            &mut changes,
            Duration::from_secs(5),
            |c| matches!(c, Change::Call { call_id, .. } if *call_id == call),
        )
        .await;
        assert!(
            heard.is_some(),
            "round {round}: b never heard of a's call made right after open"
        );
        a.close().await;
        b.close().await;
    }
    drop(schema);
}

/// An instance whose listener loses its connection listens again, says that it
/// may have missed changes (the live streams then tell their clients to read
/// again), and hears the next change: a dropped connection never leaves an
/// instance deaf to the others' calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_that_lost_its_connection_listens_again_and_says_so() {
    let (a, b, schema) = two_instances().await;
    let mut changes = b.changes();
    // End the listeners' connections, as a database restart or a proxy would.
    let mut admin = admin_connection(&database_url()).await;
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1",
    )
    .bind(format!(r#"LISTEN "deskbridge_{}""#, schema.name))
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(
        ended,
        [true, true],
        "both instances' listeners were found and ended"
    );
    let missed = wait_for(&mut changes, Duration::from_secs(10), |c| {
        *c == Change::Missed
    })
    .await;
    assert!(missed.is_some(), "b did not say it may have missed changes");
    let call = format!("after-reconnect-{}", schema.name);
    // b listens again: a's next change reaches it.
    let mut heard = None;
    for probe in 0..20 {
        let id = format!("{call}-{probe}");
        a.ingest(&[ev(&id, &id, EventKind::Ringing, 0)])
            .await
            .unwrap();
        heard = wait_for(
            &mut changes,
            Duration::from_millis(500),
            |c| matches!(c, Change::Call { call_id, .. } if *call_id == id),
        )
        .await;
        if heard.is_some() {
            break;
        }
    }
    assert!(
        heard.is_some(),
        "b never heard a again after its listener reconnected"
    );
    a.close().await;
    b.close().await;
    drop(schema);
}
