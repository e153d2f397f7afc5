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

use crate::{CallRecord, ClaimedStep, GroupEvent, IngestReport, PolicyBook, Store, StoreError};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
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
        Ok(SqliteStore { writer, reader })
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
        calls::ingest(&self.writer, events, policies).await
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
        jobs::complete(&self.writer, step, outcome, policy).await
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
        jobs::fail(&self.writer, step, error).await
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
}
