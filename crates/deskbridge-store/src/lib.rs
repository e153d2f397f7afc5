//! deskbridge's persistence.
//!
//! [`Store`] is the journal and the calls ([`Journal`]), the durable job queue
//! ([`JobQueue`]), what instances sharing the database coordinate through
//! ([`Coordination`]) and shared upstream budgets ([`SharedBudget`]), among
//! others, such as the contact center's figures, kept per hour as calls are
//! saved ([`Figures`]); [`CrmStore`] holds the built-in CRM's records. All live
//! in the same database so that the embedded default needs nothing but a data
//! directory.
//!
//! Two databases implement these traits, [`sqlite`] (the embedded default, one
//! instance) and [`postgres`] (several instances), with one body of SQL: the
//! queries are written once in `src/sql/` and compiled once per driver, and what
//! really differs between the two is a short list of named hooks in each driver's
//! `dialect.rs` (see the `sql` module's documentation). One contract suite
//! (`tests/contract.rs`) runs on both.

pub mod crm;
pub mod figures;
pub mod group_commit;
mod jobs;
mod locks;
pub mod mirror;
pub mod outbox;
pub mod postgres;
mod rows;
pub mod sqlite;
mod time;
mod turns;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deskbridge_core::agent_mode::{AgentChoice, DecisionRefused};
use deskbridge_core::callback::Callback;
use deskbridge_core::pause::{Pause, PauseChange};
use deskbridge_core::trigger::{LastCall, Trigger};
use deskbridge_core::{ApplyError, CallEvent, CallPlan, Interaction, JobStatus, Outcome, Step};

use serde::Serialize;

pub use crm::CrmStore;
pub use deskbridge_core::SyncStatus;
pub use figures::{Figures, FiguresFilter};
pub use jobs::{ClaimedStep, FailedCall, JobQueue, RetriedCall, StepDone, WaitingSteps};
pub use locks::PhoneGuard;
pub use mirror::{MirrorBatch, MirrorRecord, MirrorStore, MirrorTicket, MirrorUser};
pub use outbox::{Delivery, DeliveryStatus, GroupTriggers, Outbox};
pub use postgres::{PgCrm, PgStore};
pub use sqlite::{SqliteCrm, SqliteStore};

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
    /// The call's record would outgrow [`MAX_CALL_BYTES`] (its attributes add up
    /// over its events).
    #[error(
        "call {call_id:?} would keep {bytes} bytes of data (attributes, agents, transcript); \
         a call keeps at most {max}: send fewer or shorter attributes"
    )]
    CallTooLarge {
        call_id: String,
        bytes: usize,
        max: usize,
    },
}

/// The most a call's stored record may hold, in bytes. Each event's fields are
/// bounded by the ingest, but a call's attributes and agents add up over its
/// events; this bounds what every step, `GET` and list reads of one call.
pub const MAX_CALL_BYTES: usize = 1024 * 1024;

impl StoreError {
    /// The database refused the write for a constraint (a foreign key, a unique or
    /// not-null column): the same write fails the same way again, so retrying is
    /// pointless.
    pub fn is_constraint(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(db))
            if !matches!(db.kind(), sqlx::error::ErrorKind::Other))
    }

    /// The database could not be reached or did not answer: it may pass.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Database(_)) && !self.is_constraint()
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// An event, the connector group it belongs to, and the plan a call of that
/// group starts under. The plan travels with the event so that the store decides
/// (through the core) which step a call needs without asking the application for
/// the group's policy.
#[derive(Debug, Clone)]
pub struct GroupEvent {
    pub group: String,
    pub plan: CallPlan,
    pub event: CallEvent,
    /// The group's triggers of `entity = "callback"`: a call acting on its
    /// number's callback writes their notifications in the ingest's own
    /// transaction (the callback and its notifications commit together), so
    /// they travel with the event as the plan does rather than the store
    /// asking the application. Not stored: the call keeps its plan, not these;
    /// a change of config applies to the next event.
    pub callback_triggers: Arc<[Trigger]>,
}

/// Something changed that other parts, or other instances, wait for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A call's facts or its helpdesk work changed.
    Call { group: String, call_id: String },
    /// A step became runnable.
    Work,
    /// A screen pop became runnable (announced with `Work`): the pop workers
    /// wake for these only, not for every step.
    Pop,
    /// A callback of the group opened, changed or closed.
    Callbacks { group: String },
    /// An agent of the group paused or resumed.
    Agent { group: String, agent: String },
    /// This instance may have missed other instances' changes: its listener
    /// lost its connection and is subscribed again. What was announced in
    /// between was not heard, so whoever follows calls reads them again (the
    /// live streams say `lagged`, as when they fall behind). Never sent between
    /// instances.
    Missed,
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
    /// Calls this batch ended (group, outcome): each call once, when its first
    /// end is applied, so a re-sent end or a later recording counts nothing.
    /// What `deskbridge_calls_total` counts.
    #[serde(skip)]
    pub ended: Vec<(String, Outcome)>,
}

/// A call as the calls API shows it.
#[derive(Debug, Clone)]
pub struct CallRecord {
    pub interaction: Interaction,
    /// When an agent marked the (missed) call handled in the caller log.
    pub done_at: Option<DateTime<Utc>>,
    pub sync: SyncStatus,
    pub sync_error: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub steps: Vec<StepRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    pub step: Step,
    pub status: JobStatus,
    pub attempts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<serde_json::Value>,
}

/// A step that failed for good: its call's sync is `failed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedStep {
    pub group: String,
    pub call_id: String,
    pub step: String,
    pub error: Option<String>,
}

/// The journal and the calls: what an ingest appends and applies, and what the
/// calls API reads back.
#[async_trait]
pub trait Journal: Send + Sync {
    /// Appends events to the journal, skipping ids already seen, applies the new ones
    /// to their calls and queues each call's next step, all in one transaction:
    /// when this returns `Ok` every event is durable. On `Err` nothing was stored.
    async fn ingest(&self, events: &[GroupEvent]) -> Result<IngestReport, StoreError>;

    /// Group commit: several requests' events ([`Journal::ingest`] of each, in
    /// order) in one transaction and one durable commit, with a report for each
    /// request. A later request's copy of an event an earlier one carried is
    /// that later request's duplicate; each call's events apply in the order of
    /// the requests. On `Err` nothing of any request was stored (an
    /// [`StoreError::Apply`]'s index is within the request that failed).
    async fn ingest_together(
        &self,
        requests: &[&[GroupEvent]],
    ) -> Result<Vec<IngestReport>, StoreError>;

    /// [`Journal::ingest_together`], and when the group's transaction fails, each
    /// request again alone, in order: so one request the store refuses (or a
    /// failure of the group's commit) is answered to that request only, and
    /// every other one is committed on its own. One result per request, in
    /// order; each `Ok` is durable.
    async fn ingest_each(
        &self,
        requests: &[&[GroupEvent]],
    ) -> Vec<Result<IngestReport, StoreError>> {
        if let [only] = requests {
            return vec![self.ingest(only).await];
        }
        match self.ingest_together(requests).await {
            Ok(reports) => reports.into_iter().map(Ok).collect(),
            Err(e) => {
                tracing::debug!(error = %e, requests = requests.len(),
                    "a group commit failed; committing its requests one by one");
                let mut results = Vec::with_capacity(requests.len());
                for request in requests {
                    results.push(self.ingest(request).await);
                }
                results
            }
        }
    }

    async fn call(&self, group: &str, call_id: &str) -> Result<Option<CallRecord>, StoreError>;

    /// Calls of the groups, newest first, optionally only those of one customer
    /// number.
    async fn calls(
        &self,
        groups: &[String],
        customer_phone: Option<&str>,
        limit: u32,
    ) -> Result<Vec<CallRecord>, StoreError> {
        Ok(self
            .calls_within(groups, customer_phone, limit, usize::MAX)
            .await?
            .calls)
    }

    /// [`Journal::calls`], stopping once the stored calls read add up to
    /// `max_bytes` (the first call is always read): what a list holds in memory
    /// is bounded however large its calls are. Rows are read one at a time, so
    /// the rows past the budget are never loaded.
    async fn calls_within(
        &self,
        groups: &[String],
        customer_phone: Option<&str>,
        limit: u32,
        max_bytes: usize,
    ) -> Result<CallPage, StoreError> {
        let filter = CallFilter {
            groups: groups.to_vec(),
            customer_phone: customer_phone.map(str::to_string),
            ..CallFilter::default()
        };
        self.call_log(&filter, limit, max_bytes).await
    }

    /// The caller log: calls matching every filter given, newest first, at most
    /// `limit`, stopping once the stored calls read add up to `max_bytes`.
    async fn call_log(
        &self,
        filter: &CallFilter,
        limit: u32,
        max_bytes: usize,
    ) -> Result<CallPage, StoreError>;

    /// Marks missed calls of the groups handled (`done_at = at`), those of
    /// `agent` only when given. Returns the ids of the calls marked now or before;
    /// an id not returned is no missed call of the groups (or not the agent's).
    async fn mark_done(
        &self,
        groups: &[String],
        call_ids: &[String],
        agent: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError>;

    /// Deletes the calls that started before `before` (their events and finished
    /// steps too), except calls with a step still queued or running. Safe to run
    /// on several instances at once: each delete is idempotent. Returns the
    /// number of calls deleted.
    async fn purge_calls(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Records the agent's choice on a call waiting for one (the core decides
    /// whether it may: [`Interaction::decide`]) and moves its waiting step
    /// forward, in one transaction.
    async fn decide(
        &self,
        group: &str,
        call_id: &str,
        choice: AgentChoice,
    ) -> Result<Decided, StoreError>;
}

/// The filters of the caller log; `None` = any.
#[derive(Debug, Clone, Default)]
pub struct CallFilter {
    pub groups: Vec<String>,
    /// E.164 (or the number as stored).
    pub customer_phone: Option<String>,
    /// An agent's email: calls they answered or were popped for.
    pub agent: Option<String>,
    pub queue: Option<String>,
    pub missed: Option<bool>,
    pub done: Option<bool>,
    /// The helpdesk ticket the call went to.
    pub ticket_id: Option<String>,
    /// The helpdesk contact the call went to.
    pub contact_id: Option<String>,
}

/// What became of an agent's choice.
#[derive(Debug, Clone)]
pub enum Decided {
    /// Recorded; the call as it is now.
    Recorded(Box<CallRecord>),
    Refused(DecisionRefused),
    NoSuchCall,
}

/// A signed-in agent's session on the agent page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 of the cookie's value, hex.
    pub id_hash: String,
    pub agent_email: String,
    /// What the page sends in `X-CSRF-Token` with every unsafe request.
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// A fingerprint of the agent's credentials at sign-in: the session ends
    /// when they change (`agent_auth::credential_fingerprint`).
    pub credential: String,
}

/// Agent page sessions, in the database so that any instance accepts them.
#[async_trait]
pub trait Sessions: Send + Sync {
    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError>;

    /// The session, if it exists and has not expired at `now`.
    async fn session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRecord>, StoreError>;

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError>;

    /// Deletes the sessions expired at `now`; returns how many.
    async fn purge_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// Which callbacks a list shows: the open ones of the groups, oldest first, or
/// (with `closed_since`) those closed since then, newest first.
#[derive(Debug, Clone)]
pub struct CallbackFilter {
    pub groups: Vec<String>,
    pub closed_since: Option<DateTime<Utc>>,
    pub limit: u32,
}

/// A callback as stored: its version (what a claim is written over) and the
/// ticket and contact its last missed call was logged on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackRecord {
    pub callback: Callback,
    pub version: i64,
    pub last_call: LastCall,
}

/// The missed-call callbacks (`deskbridge_core::callback`). Calls act on them
/// inside the journal's own transaction; these are the reads and an agent's
/// writes.
#[async_trait]
pub trait Callbacks: Send + Sync {
    async fn callbacks(&self, filter: &CallbackFilter) -> Result<Vec<CallbackRecord>, StoreError>;

    async fn callback(&self, id: i64) -> Result<Option<CallbackRecord>, StoreError>;

    /// Writes `callback` (an agent's claim, release or close, as the core
    /// decided it) if the stored one is still at `version`, with the
    /// notifications of `triggers` (the group's callback triggers) in the same
    /// transaction; false when it changed since (decide again on the new one),
    /// and then nothing is announced.
    async fn replace_callback(
        &self,
        version: i64,
        callback: &Callback,
        triggers: &[Trigger],
    ) -> Result<bool, StoreError>;

    /// The open callbacks and those closed since `closed_since`: what
    /// `/metrics` reports.
    async fn callbacks_for_metrics(
        &self,
        closed_since: DateTime<Utc>,
    ) -> Result<Vec<Callback>, StoreError>;
}

/// Agents' pauses (`deskbridge_core::pause`): written as the core decided
/// them, each write announced as [`Change::Agent`].
#[async_trait]
pub trait Pauses: Send + Sync {
    /// The agent's open pauses, one per group at most.
    async fn open_pauses(&self, agent: &str) -> Result<Vec<Pause>, StoreError>;

    /// Carries out a change the core decided over the open pause it saw;
    /// false when that changed meanwhile (a start found a pause open, an end
    /// found it ended): decide again.
    async fn change_pause(&self, change: &PauseChange) -> Result<bool, StoreError>;

    /// The agent's pauses overlapping `from`..`to`, oldest first.
    async fn pauses_between(
        &self,
        agent: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Pause>, StoreError>;

    /// Open wrap-up pauses whose time ran out by `now`.
    async fn wrap_up_pauses_due(&self, now: DateTime<Utc>) -> Result<Vec<Pause>, StoreError>;
}

/// Calls of a list, and whether the list stopped short of its limit for their
/// size.
#[derive(Debug, Clone)]
pub struct CallPage {
    pub calls: Vec<CallRecord>,
    pub truncated: bool,
}

/// What the instances sharing a database coordinate through: the change stream,
/// per-phone locks and heartbeats. With SQLite there is one instance, and each of
/// these is local to the process.
#[async_trait]
pub trait Coordination: Send + Sync {
    /// Whether other instances may share this database (and so its locks, budgets
    /// and change stream).
    fn is_shared(&self) -> bool;

    /// Changes committed by this instance, and (with a shared database) by the
    /// others. A change is announced only once its transaction has committed.
    fn changes(&self) -> tokio::sync::broadcast::Receiver<Change>;

    /// Serializes contact lookup and creation for one phone number, across every
    /// instance sharing the database, until the guard is dropped.
    async fn lock_phone(&self, e164: &str) -> Result<PhoneGuard, StoreError>;

    /// Records that this instance is alive (call every few seconds).
    async fn heartbeat(&self, instance: &InstanceRecord) -> Result<(), StoreError>;

    /// Instances seen within `alive_within`, with the steps each holds.
    async fn instances(&self, alive_within: Duration) -> Result<Vec<InstanceRecord>, StoreError>;
}

/// Upstream request budgets shared by the instances of one database (a Zendesk
/// account's requests per minute). A store that is not shared keeps none, and each
/// caller keeps its own.
#[async_trait]
pub trait SharedBudget: Send + Sync {
    /// Takes one request from a shared upstream budget (a token bucket of
    /// `capacity` refilled at `per_second`, keeping `floor` tokens untouched).
    /// `Ok(None)` when taken, else how long to wait. `None` from a store that does
    /// not share budgets (one instance, the default): the caller keeps its own.
    async fn take_budget(
        &self,
        _account: &str,
        _capacity: f64,
        _per_second: f64,
        _floor: f64,
    ) -> Result<Option<Option<Duration>>, StoreError> {
        Ok(None)
    }

    /// Pauses a shared budget until `until_ms` (unix ms), after a 429. Nothing
    /// to pause in a store that shares no budget (the default).
    async fn pause_budget(&self, _account: &str, _until_ms: i64) -> Result<(), StoreError> {
        Ok(())
    }

    /// Counts one request under every one of an upstream's endpoint limits in
    /// `counts` (each a sliding window, counted across every instance), all or
    /// none: `Ok(Some(Ok(())))` when counted, `Ok(Some(Err((i, wait))))` when
    /// `counts[i]` has no room for `wait` (nothing counted). `Ok(None)` from a
    /// store that does not share counts (one instance, the default): the caller
    /// keeps its own.
    async fn admit_sends(
        &self,
        _account: &str,
        _counts: &[SendCount],
    ) -> Result<Option<Result<(), (usize, Duration)>>, StoreError> {
        Ok(None)
    }
}

/// One endpoint limit a request is counted under: at most `max` requests named
/// `key` in any `window`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendCount {
    pub key: String,
    pub max: u32,
    pub window: Duration,
}

/// Everything the binary needs from its database: the roles above, and the
/// database's own life (ready, close). The binary holds an `Arc<dyn Store>`; a
/// part that needs one role only can take that role's trait.
#[async_trait]
pub trait Store:
    Journal
    + JobQueue
    + Coordination
    + SharedBudget
    + Sessions
    + Outbox
    + MirrorStore
    + Callbacks
    + Pauses
    + Figures
    + 'static
{
    /// Database reachable and migrations applied.
    async fn ready(&self) -> Result<(), StoreError>;

    async fn close(&self);
}
