//! The SQLite store: the embedded default, one instance.
//!
//! SQLite allows one writer at a time, so writes go through a pool of exactly one
//! connection: transactions queue in the pool instead of failing with "database is
//! locked", and they are serialized, which is what PostgreSQL's per-call locks
//! achieve there. Reads use a separate pool and, in WAL mode, never wait for the
//! writer. `synchronous = FULL` makes a commit survive power loss, which is what
//! acknowledging an event promises.
//!
//! The database holds customers' names and numbers, so its file is readable by its
//! owner only (0600); SQLite gives the `-wal` and `-shm` files the database file's
//! permissions.
//!
//! The queries are the shared ones of `src/sql/`, compiled here for SQLite; what is
//! SQLite's own is in `dialect.rs`.

#[macro_use]
mod dialect;
// The shared SQL, compiled once per driver by design (see its documentation).
#[allow(clippy::duplicate_mod)]
#[path = "../sql/mod.rs"]
mod sql;

/// The built-in CRM records of one tenant (`SqliteStore::crm`).
pub use sql::crm::Records as SqliteCrm;

use std::fs::{OpenOptions, Permissions};
use std::io::ErrorKind;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Transaction;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::{broadcast, oneshot};

use crate::locks::LocalLocks;
use crate::turns::{Turn, Turnstile};
use crate::{Change, SharedBudget, StoreError};

/// The driver the shared SQL is compiled for here.
pub(crate) type Db = sqlx::Sqlite;
/// The store the shared SQL implements the traits for here.
type SqlStore = SqliteStore;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Owner read and write only.
const PRIVATE_FILE: u32 = 0o600;

#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    changes: broadcast::Sender<Change>,
    phones: LocalLocks,
    turns: Arc<Turnstile>,
    /// Whether the writer connection was last set to `synchronous = NORMAL`.
    synced_normal: Arc<AtomicBool>,
    /// Dropped with the last clone of the store: the checkpoints stop.
    _checkpoints: Arc<oneshot::Sender<()>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies migrations. A new
    /// file is created readable by its owner only, before SQLite opens it.
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        create_private(path)?;
        Self::connect(SqliteConnectOptions::new().filename(path)).await
    }

    /// Opens a `sqlite://` URL (as in `database.url`).
    pub async fn open_url(url: &str) -> Result<SqliteStore, StoreError> {
        Self::connect(SqliteConnectOptions::from_str(url)?).await
    }

    async fn connect(options: SqliteConnectOptions) -> Result<SqliteStore, StoreError> {
        /// How many rows a reader's thread may read ahead of the task taking
        /// them (sqlx's default is 50). A list stops at a byte budget
        /// (`call_log`), but rows read ahead past it are held all the same:
        /// with 50, three lists of calls at their 1 MiB bound could hold 150
        /// MiB of rows they never use (`tests/process/memory.rs`: peak RSS
        /// 133-151 MiB with 50, 129-134 MiB with 4).
        const READ_AHEAD_ROWS: usize = 4;
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        // No ping before each use: a connection to a file cannot go stale as a
        // network connection can, and the ping is a hand-over to the
        // connection's thread and back, as costly as a statement (a caller
        // card's two statements were four hand-overs with it).
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            // The writer never checkpoints (`checkpoints` does, beside it).
            .connect_with(options.clone().pragma("wal_autocheckpoint", "0"))
            .await?;
        // A file made by SQLite itself (from a URL) or by an older version is made
        // private now, with the WAL and shared-memory files opened beside it.
        restrict(options.get_filename());
        MIGRATOR.run(&writer).await?;
        let checkpointer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        let (stop_checkpoints, stopped) = oneshot::channel();
        tokio::spawn(checkpoints(checkpointer, stopped));
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options.read_only(true).row_buffer_size(READ_AHEAD_ROWS))
            .await?;
        Ok(SqliteStore {
            writer,
            reader,
            _checkpoints: Arc::new(stop_checkpoints),
            changes: broadcast::channel(1024).0,
            phones: LocalLocks::default(),
            turns: Arc::default(),
            synced_normal: Arc::default(),
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

    /// A write transaction on the one writer connection, its place in the queue
    /// and its durability given by what it is for (`turns.rs`).
    ///
    /// An acknowledgement's commit waits for the disk (`synchronous = FULL`): its
    /// 202 promises the events survive a power cut. Every other write commits
    /// without waiting (`NORMAL`; in WAL mode the database stays consistent, and
    /// the commit survives the process being killed): a power cut may undo the
    /// last of them, never an acknowledged event (the WAL is written in order,
    /// so the next acknowledgement's sync makes everything before it durable
    /// too), and a step whose record is undone runs again and finds what it
    /// wrote by its idempotency key, as after a crash between the helpdesk's
    /// answer and the record. A step's transactions were most of the writer's
    /// syncs: each call's claim, records and outcome.
    async fn begin_write(&self, turn: Turn) -> Result<Transaction<'static, Db>, StoreError> {
        let passed = self.turns.pass(turn).await;
        let mut conn = self.writer.acquire().await?;
        drop(passed);
        // An acknowledgement sets FULL every time, whatever this process
        // believes the connection is set to (one statement per group commit):
        // its sync never depends on that belief. An ordinary write sets NORMAL
        // only when the last setting was FULL; a wrong belief there (a setting
        // interrupted, a connection the pool opened anew, which starts FULL)
        // only costs it its speed.
        if turn == Turn::Acknowledgement {
            self.synced_normal.store(false, Ordering::Relaxed);
            sqlx::query("PRAGMA synchronous = FULL")
                .execute(&mut *conn)
                .await?;
        } else if !self.synced_normal.load(Ordering::Relaxed) {
            sqlx::query("PRAGMA synchronous = NORMAL")
                .execute(&mut *conn)
                .await?;
            self.synced_normal.store(true, Ordering::Relaxed);
        }
        Ok(Transaction::begin(conn, None).await?)
    }

    /// Read-only connections; in WAL mode they never wait for the writer.
    fn reader(&self) -> &SqlitePool {
        &self.reader
    }
}

/// How often the WAL's committed pages are moved into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Checkpoints the write-ahead log beside the writer until the store is dropped.
///
/// SQLite's automatic checkpoint runs inside the commit that fills the WAL past
/// 1,000 pages: that commit (an acknowledgement's, as often as not) copied the
/// pages and synced the database file before it returned, on the one writer
/// connection everything else waits for. A passive checkpoint on a connection
/// of its own waits for nobody and nobody waits for it; it moves what no reader
/// still needs, and the writer starts the WAL over once all of it was moved.
/// Measured: 5,000 calls synced in 18.1-19.2 s instead of 20.5 s, one-event
/// ingest 5,468-6,330 events/s instead of 5,393-5,491 (BENCHMARKS.md,
/// "Performance, third round").
async fn checkpoints(pool: SqlitePool, mut stopped: oneshot::Receiver<()>) {
    let mut every = tokio::time::interval(CHECKPOINT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            _ = every.tick() => {}
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::warn!(error = %e, "cannot checkpoint the database's write-ahead log; retrying");
        }
    }
    pool.close().await;
}

/// One process: its own budget and counts are the whole ones (the trait's
/// defaults share nothing).
#[async_trait]
impl SharedBudget for SqliteStore {}

/// Creates the database file, empty and owner-only, unless it exists. SQLite
/// creates a missing file with the process's default permissions (usually
/// world-readable), and the `-wal` and `-shm` files with the database file's.
fn create_private(path: &Path) -> Result<(), StoreError> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE_FILE)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Invalid(format!(
            "creating the database file {}: {e}",
            path.display()
        ))),
    }
}

/// Makes the database file and its `-wal` and `-shm` files owner-only, those that
/// exist (an in-memory database has none). A file this process may not change
/// (another user's) is left as it is, with a warning: the database still opens.
fn restrict(db: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        let path = PathBuf::from(name);
        match std::fs::set_permissions(&path, Permissions::from_mode(PRIVATE_FILE)) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(
                file = %path.display(), error = %e,
                "cannot make the database file readable by its owner only"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::{Coordination, InstanceRecord};

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    /// Writes something, so that the WAL holds data.
    async fn write(store: &SqliteStore) {
        let now = chrono::Utc::now();
        store
            .heartbeat(&InstanceRecord {
                id: "i".into(),
                hostname: "h".into(),
                pid: 1,
                version: "v".into(),
                started_at: now,
                heartbeat_at: now,
                running_steps: 0,
            })
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn the_database_and_its_wal_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("deskbridge.db");
        let store = SqliteStore::open(&db).await.unwrap();
        write(&store).await;
        let wal = dir.path().join("deskbridge.db-wal");
        assert!(wal.exists(), "WAL mode keeps a -wal file while open");
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&wal), 0o600);
        assert_eq!(mode(&dir.path().join("deskbridge.db-shm")), 0o600);
        store.close().await;
    }

    #[tokio::test]
    async fn an_existing_readable_database_is_made_private() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("deskbridge.db");
        let url = format!("sqlite://{}", db.display());
        // As an older version left it.
        let old = SqliteStore::open_url(&url).await.unwrap();
        old.close().await;
        std::fs::set_permissions(&db, Permissions::from_mode(0o644)).unwrap();

        let store = SqliteStore::open_url(&url).await.unwrap();
        write(&store).await;
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&dir.path().join("deskbridge.db-wal")), 0o600);
        store.close().await;
    }
}
