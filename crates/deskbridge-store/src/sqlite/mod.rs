//! The SQLite store: the embedded default, one instance.
//!
//! SQLite allows one writer at a time, so writes go through a pool of exactly one
//! connection: transactions queue in the pool instead of failing with "database is
//! locked", and they are serialized, which is what PostgreSQL's per-call locks
//! achieve there. Reads use a separate pool and, in WAL mode, never wait for the
//! writer. `synchronous = FULL` makes a commit survive power loss, which is what
//! acknowledging an event promises.
//!
//! The queries are the shared ones of `src/sql/`, compiled here for SQLite; what is
//! SQLite's own is in `dialect.rs`.

#[macro_use]
mod dialect;
// The shared SQL, compiled once per driver by design (see its documentation).
#[allow(clippy::duplicate_mod)]
#[path = "../sql/mod.rs"]
mod sql;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::broadcast;

use crate::locks::LocalLocks;
use crate::{Change, SharedBudget, StoreError};

/// The driver the shared SQL is compiled for here.
pub(crate) type Db = sqlx::Sqlite;
/// The store the shared SQL implements the traits for here.
type SqlStore = SqliteStore;

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
        Self::connect(SqliteConnectOptions::new().filename(path)).await
    }

    /// Opens a `sqlite://` URL (as in `database.url`).
    pub async fn open_url(url: &str) -> Result<SqliteStore, StoreError> {
        Self::connect(SqliteConnectOptions::from_str(url)?).await
    }

    async fn connect(options: SqliteConnectOptions) -> Result<SqliteStore, StoreError> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
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

    /// The pool of the one writer connection.
    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// Read-only connections; in WAL mode they never wait for the writer.
    fn reader(&self) -> &SqlitePool {
        &self.reader
    }
}

#[async_trait]
impl SharedBudget for SqliteStore {
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
