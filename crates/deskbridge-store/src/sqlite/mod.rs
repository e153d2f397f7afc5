//! The SQLite store: the embedded default.
//!
//! SQLite allows one writer at a time, so writes go through a pool of exactly one
//! connection: transactions queue in the pool instead of failing with "database is
//! locked". Reads use a separate pool and, in WAL mode, never wait for the writer.
//! `synchronous = FULL` makes a commit survive power loss, which is what
//! acknowledging an event promises.

mod calls;
mod crm;
mod jobs;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deskbridge_core::{Policy, StepOutcome};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use tokio::sync::broadcast;

use crate::locks::LocalLocks;
use crate::{
    CallRecord, Change, ClaimedStep, GroupEvent, IngestReport, InstanceRecord, PhoneGuard,
    PolicyBook, Store, StoreError,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    changes: broadcast::Sender<Change>,
    phones: LocalLocks,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies migrations.
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        Self::connect(options).await
    }

    /// Opens a `sqlite://` URL (as in `database.url`).
    pub async fn open_url(url: &str) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        Self::connect(options).await
    }

    async fn connect(options: SqliteConnectOptions) -> Result<SqliteStore, StoreError> {
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await?;
        Ok(SqliteStore {
            writer,
            reader,
            changes: broadcast::channel(1024).0,
            phones: LocalLocks::default(),
        })
    }

    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ingest(
        &self,
        events: &[GroupEvent],
        policies: &dyn PolicyBook,
    ) -> Result<IngestReport, StoreError> {
        let report = calls::ingest(&self.writer, events, policies).await?;
        for (group, call_id) in &report.calls {
            let _ = self.changes.send(Change::Call {
                group: group.clone(),
                call_id: call_id.clone(),
            });
        }
        if report.steps > 0 {
            let _ = self.changes.send(Change::Work);
        }
        Ok(report)
    }

    async fn call(&self, group: &str, call_id: &str) -> Result<Option<CallRecord>, StoreError> {
        calls::call(&self.reader, group, call_id).await
    }

    async fn calls(
        &self,
        groups: &[String],
        customer_phone: Option<&str>,
        limit: u32,
    ) -> Result<Vec<CallRecord>, StoreError> {
        calls::calls(&self.reader, groups, customer_phone, limit).await
    }

    async fn claim_step(
        &self,
        owner: &str,
        lease: Duration,
    ) -> Result<Option<ClaimedStep>, StoreError> {
        jobs::claim(&self.writer, owner, lease).await
    }

    async fn complete_step(
        &self,
        step: &ClaimedStep,
        outcome: &StepOutcome,
        policy: &Policy,
    ) -> Result<bool, StoreError> {
        let done = jobs::complete(&self.writer, step, outcome, policy).await?;
        if done {
            let _ = self.changes.send(Change::Call {
                group: step.group.clone(),
                call_id: step.call_id.clone(),
            });
            let _ = self.changes.send(Change::Work);
        }
        Ok(done)
    }

    async fn retry_step(
        &self,
        step: &ClaimedStep,
        error: &str,
        delay: Duration,
    ) -> Result<bool, StoreError> {
        jobs::retry(&self.writer, step, error, delay).await
    }

    async fn fail_step(&self, step: &ClaimedStep, error: &str) -> Result<bool, StoreError> {
        let failed = jobs::fail(&self.writer, step, error).await?;
        if failed {
            let _ = self.changes.send(Change::Call {
                group: step.group.clone(),
                call_id: step.call_id.clone(),
            });
        }
        Ok(failed)
    }

    async fn extend_lease(&self, step: &ClaimedStep, lease: Duration) -> Result<bool, StoreError> {
        jobs::extend(&self.writer, step, lease).await
    }

    async fn release_step(&self, step: &ClaimedStep) -> Result<(), StoreError> {
        jobs::release(&self.writer, step).await
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        jobs::next_due(&self.reader).await
    }

    async fn ready(&self) -> Result<(), StoreError> {
        let applied: i64 =
            sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success = 1")
                .fetch_one(&self.reader)
                .await?;
        let known = MIGRATOR.iter().count() as i64;
        if applied < known {
            return Err(StoreError::Invalid(format!(
                "{applied} of {known} migrations applied"
            )));
        }
        Ok(())
    }

    fn is_shared(&self) -> bool {
        false
    }

    async fn close(&self) {
        SqliteStore::close(self).await
    }

    fn changes(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    async fn lock_phone(&self, e164: &str) -> Result<PhoneGuard, StoreError> {
        Ok(self.phones.lock(e164).await)
    }

    async fn heartbeat(&self, instance: &InstanceRecord) -> Result<(), StoreError> {
        crate::instances::sqlite_heartbeat(&self.writer, instance).await
    }

    async fn instances(&self, alive_within: Duration) -> Result<Vec<InstanceRecord>, StoreError> {
        crate::instances::sqlite_list(&self.reader, alive_within).await
    }

    async fn take_budget(
        &self,
        _account: &str,
        _capacity: f64,
        _per_second: f64,
        _floor: f64,
    ) -> Result<Option<Option<Duration>>, StoreError> {
        // One process: its own budget is the whole budget.
        Ok(None)
    }

    async fn pause_budget(&self, _account: &str, _until_ms: i64) -> Result<(), StoreError> {
        Ok(())
    }
}
