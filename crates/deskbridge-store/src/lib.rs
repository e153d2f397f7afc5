//! deskbridge's persistence.
//!
//! [`Store`] is the journal, the calls and the durable job queue; [`CrmStore`] holds
//! the built-in CRM's records. Both live in the same database so that the embedded
//! default needs nothing but a data directory. The SQLite implementation is in
//! [`sqlite`]; a PostgreSQL one implements the same traits and passes the same
//! contract tests.

pub mod crm;
pub(crate) mod instances;
mod locks;
pub mod postgres;
mod rows;
pub mod sqlite;
mod time;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deskbridge_core::{ApplyError, CallEvent, Interaction, Policy, Step, StepOutcome};

use serde::Serialize;

pub use crm::CrmStore;
pub use locks::PhoneGuard;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("event {index}: {source}")]
    Apply {
        /// Position of the offending event in the request.
        index: usize,
        source: ApplyError,
    },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Invalid(String),
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// An event and the connector group it belongs to.
#[derive(Debug, Clone)]
pub struct GroupEvent {
    pub group: String,
    pub event: CallEvent,
}

/// The policy of each connector group, for deciding steps inside the store's
/// transactions.
pub trait PolicyBook: Send + Sync {
    fn policy(&self, group: &str) -> Option<&Policy>;
}

/// Something changed that other parts, or other instances, wait for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A call's facts or its helpdesk work changed.
    Call { group: String, call_id: String },
    /// A step became runnable.
    Work,
}

/// An instance sharing the database.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceRecord {
    pub id: String,
    pub hostname: String,
    pub pid: i64,
    pub version: String,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    /// Steps this instance holds a live lease on.
    pub running_steps: i64,
}

/// What one ingest did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IngestReport {
    pub accepted: usize,
    pub duplicates: usize,
    /// Calls that changed (group, call id), for live streams.
    #[serde(skip)]
    pub calls: Vec<(String, String)>,
    /// Steps that became due.
    #[serde(skip)]
    pub steps: usize,
}

/// Whether all helpdesk work for a call is finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    Pending,
    Done,
    Failed,
}

/// A call as the calls API shows it.
#[derive(Debug, Clone)]
pub struct CallRecord {
    pub interaction: Interaction,
    pub sync: SyncStatus,
    pub sync_error: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub steps: Vec<StepRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    pub step: String,
    pub status: String,
    pub attempts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<serde_json::Value>,
}

/// A step handed to one worker, leased until `lease_until`.
#[derive(Debug, Clone)]
pub struct ClaimedStep {
    pub job_id: i64,
    pub group: String,
    pub call_id: String,
    pub step: Step,
    /// 1 on the first run.
    pub attempt: i64,
    pub owner: String,
    /// The call as it is now, outcomes of earlier steps included.
    pub interaction: Interaction,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Appends events to the journal, skipping ids already seen, applies the new ones
    /// to their calls and queues each call's next step, all in one transaction:
    /// when this returns `Ok` every event is durable. On `Err` nothing was stored.
    async fn ingest(
        &self,
        events: &[GroupEvent],
        policies: &dyn PolicyBook,
    ) -> Result<IngestReport, StoreError>;

    async fn call(&self, group: &str, call_id: &str) -> Result<Option<CallRecord>, StoreError>;

    /// Calls of the groups, newest first, optionally only those of one customer
    /// number.
    async fn calls(
        &self,
        groups: &[String],
        customer_phone: Option<&str>,
        limit: u32,
    ) -> Result<Vec<CallRecord>, StoreError>;

    /// Leases the next runnable step: queued and due, or running with an expired lease
    /// (its worker died), and the first unfinished step of its call.
    async fn claim_step(
        &self,
        owner: &str,
        lease: Duration,
    ) -> Result<Option<ClaimedStep>, StoreError>;

    /// Records the step's outcome on the job and the call, and queues the call's next
    /// step. Returns false if the lease was lost (another worker took the step over),
    /// in which case nothing changed.
    async fn complete_step(
        &self,
        step: &ClaimedStep,
        outcome: &StepOutcome,
        policy: &Policy,
    ) -> Result<bool, StoreError>;

    /// Puts the step back in the queue to run again after `delay`.
    async fn retry_step(
        &self,
        step: &ClaimedStep,
        error: &str,
        delay: Duration,
    ) -> Result<bool, StoreError>;

    /// Marks the step failed for good; the call's sync becomes `failed`.
    async fn fail_step(&self, step: &ClaimedStep, error: &str) -> Result<bool, StoreError>;

    /// Extends the lease of a step still running (a step waiting out a helpdesk's
    /// Retry-After must not be taken over). False if the lease was already lost.
    async fn extend_lease(&self, step: &ClaimedStep, lease: Duration) -> Result<bool, StoreError>;

    /// Gives a leased step back without counting an attempt (graceful shutdown).
    async fn release_step(&self, step: &ClaimedStep) -> Result<(), StoreError>;

    /// When the next queued step becomes due, if any (for the workers' sleep).
    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Database reachable and migrations applied.
    async fn ready(&self) -> Result<(), StoreError>;

    /// Whether other instances may share this database (and so its locks, budgets
    /// and change stream).
    fn is_shared(&self) -> bool;

    async fn close(&self);

    /// Changes committed by this instance, and (with a shared database) by the
    /// others.
    fn changes(&self) -> tokio::sync::broadcast::Receiver<Change>;

    /// Serializes contact lookup and creation for one phone number, across every
    /// instance sharing the database, until the guard is dropped.
    async fn lock_phone(&self, e164: &str) -> Result<PhoneGuard, StoreError>;

    /// Records that this instance is alive (call every few seconds).
    async fn heartbeat(&self, instance: &InstanceRecord) -> Result<(), StoreError>;

    /// Instances seen within `alive_within`, with the steps each holds.
    async fn instances(&self, alive_within: Duration) -> Result<Vec<InstanceRecord>, StoreError>;

    /// Takes one request from a shared upstream budget (a token bucket of
    /// `capacity` refilled at `per_second`, keeping `floor` tokens untouched).
    /// `Ok(None)` when taken, else how long to wait. `None` from a store that does
    /// not share budgets (one instance): the caller keeps its own.
    async fn take_budget(
        &self,
        account: &str,
        capacity: f64,
        per_second: f64,
        floor: f64,
    ) -> Result<Option<Option<Duration>>, StoreError>;

    /// Pauses a shared budget until `until_ms` (unix ms), after a 429.
    async fn pause_budget(&self, account: &str, until_ms: i64) -> Result<(), StoreError>;
}

/// The plan a new call of the group starts under.
pub(crate) fn plan_of(
    policies: &dyn PolicyBook,
    group: &str,
) -> Result<deskbridge_core::CallPlan, StoreError> {
    policies
        .policy(group)
        .map(deskbridge_core::CallPlan::of)
        .ok_or_else(|| StoreError::Invalid(format!("no policy for group {group:?}")))
}

/// `failed` if a step failed for good; `done` once the call ended and every step
/// finished; `pending` otherwise.
pub(crate) fn sync_of(call: &Interaction, steps: &[StepRecord]) -> (SyncStatus, Option<String>) {
    if let Some(failed) = steps.iter().find(|s| s.status == "failed") {
        let error = format!(
            "{}: {}",
            failed.step,
            failed.last_error.as_deref().unwrap_or("failed")
        );
        return (SyncStatus::Failed, Some(error));
    }
    let open = steps.iter().any(|s| s.status != "done");
    if open || call.ended_at.is_none() {
        (SyncStatus::Pending, None)
    } else {
        (SyncStatus::Done, None)
    }
}
