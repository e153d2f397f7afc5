//! The store's SQL, written once for SQLite and PostgreSQL.
//!
//! This directory is not a module of the crate on its own: each driver module,
//! `sqlite/mod.rs` and `postgres/mod.rs`, includes it,
//!
//! ```text
//! pub(crate) type Db = sqlx::Sqlite;   // or sqlx::Postgres
//! type SqlStore = SqliteStore;         // or PgStore
//! #[macro_use]
//! mod dialect;
//! #[allow(clippy::duplicate_mod)]
//! #[path = "../sql/mod.rs"]
//! mod sql;
//! ```
//!
//! so the same source is compiled twice, each time against one driver's concrete
//! types: every query, row, connection and transaction is the driver's own
//! (`SqliteRow`, `PgConnection`, ...), and the trait implementations here
//! ([`Journal`](crate::Journal), [`JobQueue`](crate::JobQueue), [`Coordination`],
//! [`Store`], [`CrmStore`](crate::CrmStore)) are those of that driver's store. The
//! SQL text is the same on both: sqlx binds `$N` placeholders on SQLite too (SQLite
//! takes `$NNN` as a named parameter and sqlx-sqlite binds it to argument N), and
//! the statements keep to what both accept (`ON CONFLICT ... DO NOTHING`,
//! `RETURNING`, subqueries).
//!
//! What really differs, the including module provides, each under one name:
//! - `Db`, the sqlx database; `SqlStore`, the store type, with a field
//!   `changes: broadcast::Sender<Change>` (the local change stream) and the methods
//!   `writer()` and `reader()` (its pools: SQLite writes through a pool of one
//!   connection and reads through another; PostgreSQL has one pool for both) and
//!   `close()`; `MIGRATOR`, the driver's migrations.
//! - `dialect`, the hooks, each documented in both drivers' `dialect.rs`:
//!   - `lock`: takes a `TxLock`, a call or a number's callback (nothing to do with SQLite's single
//!     writer; `pg_advisory_xact_lock`, in sorted order, with PostgreSQL);
//!   - `commit`: commits and announces the changes (SQLite: broadcast after the
//!     commit; PostgreSQL: `pg_notify` inside the transaction, delivered on commit
//!     to every instance's listener). Every write that announces anything goes
//!     through it, so both stores announce the same changes, and only committed
//!     ones;
//!   - `lock_phone`; `SHARED`; `BEGIN_SNAPSHOT`, how a call and its steps are read
//!     as one snapshot;
//!   - SQL fragments, as macros so that statements stay `&'static str` made by
//!     `concat!`: `skip_locked!()` (the claim's `FOR UPDATE SKIP LOCKED`, or
//!     nothing), `json_field!("column", "$N")` (a JSON object column's text value under a
//!     key parameter), `in_json_array!("$N")` (membership in a JSON array parameter,
//!     with `json_each` or `json_array_elements_text`), `contact_phones!()` (a
//!     contact's phones as a JSON array in order, with `json_group_array` or
//!     `json_agg`), `figure_rows!()` (the figures' hour rows from one JSON
//!     parameter, with `json_each` or `json_array_elements`).
//!
//! Why this shape: code generic over `sqlx::Database` needs a long list of
//! higher-ranked bounds on every function (`for<'c> &'c mut DB::Connection:
//! Executor<'c, Database = DB>`, `Encode + Type` for each bound type, `Decode` and
//! `ColumnIndex` for each read, ...), and its hooks would become a trait with
//! associated types; `sqlx::Any` is configured from a URL and erases the drivers,
//! so it would lose what they are chosen for (SQLite's connect options: WAL,
//! `synchronous = FULL`, foreign keys, the read-only pool; PostgreSQL's
//! `PgListener`). One source compiled per driver keeps plain, concrete code and
//! puts each difference behind one named hook. The costs: the source is checked
//! twice (a compile error shows once per driver), clippy's `duplicate_mod` is
//! allowed at the two includes, and an item used by one driver only would be dead
//! code in the other (so driver-only code lives in the driver's module).
//!
//! Nothing here decides. What a call needs next, whether that becomes a job
//! (`deskbridge_core::queue::enqueue`) and whether a call is synced
//! (`deskbridge_core::queue::sync_of`) are the core's answers; the store asks once
//! each (`jobs::queue_next`, `journal::record`) and carries them out. A new call
//! starts under the plan its event carries ([`GroupEvent`](crate::GroupEvent)).

mod call_row;
mod callbacks;
pub(crate) mod crm;
mod figures;
mod jobs;
mod journal;
mod mirror;
mod outbox;
mod pauses;
mod sessions;

use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::broadcast;

use super::{Db, MIGRATOR, SqlStore, dialect};
use crate::time::{now_ms, to_text};
use crate::{Change, Coordination, InstanceRecord, PhoneGuard, Store, StoreError, rows};

/// A connection of the driver, as `&mut *tx` gives it.
type Conn = <Db as sqlx::Database>::Connection;

#[async_trait]
impl Coordination for SqlStore {
    fn is_shared(&self) -> bool {
        dialect::SHARED
    }

    fn changes(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    async fn lock_phone(&self, e164: &str) -> Result<PhoneGuard, StoreError> {
        dialect::lock_phone(self, e164).await
    }

    async fn heartbeat(&self, i: &InstanceRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO instances (id, hostname, pid, version, started_at, heartbeat_ms)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (id) DO UPDATE SET heartbeat_ms = excluded.heartbeat_ms",
        )
        .bind(&i.id)
        .bind(&i.hostname)
        .bind(i.pid)
        .bind(&i.version)
        .bind(to_text(i.started_at))
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// A worker's lease owner is `{instance id}/w{n}`, which ties steps to
    /// instances.
    async fn instances(&self, alive_within: Duration) -> Result<Vec<InstanceRecord>, StoreError> {
        let now = now_ms();
        sqlx::query(
            "SELECT i.id, i.hostname, i.pid, i.version, i.started_at, i.heartbeat_ms,
                    (SELECT count(*) FROM jobs j WHERE j.status = 'running' AND j.lease_until > $2
                        AND j.lease_owner LIKE i.id || '/%') AS running_steps
             FROM instances i WHERE i.heartbeat_ms >= $1 ORDER BY i.started_at, i.id",
        )
        .bind(now - alive_within.as_millis() as i64)
        .bind(now)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(rows::instance)
        .collect()
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn ready(&self) -> Result<(), StoreError> {
        let applied: i64 =
            sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(self.reader())
                .await?;
        let known = MIGRATOR.iter().count() as i64;
        if applied < known {
            return Err(StoreError::Invalid(format!(
                "{applied} of {known} migrations applied"
            )));
        }
        Ok(())
    }

    async fn close(&self) {
        SqlStore::close(self).await
    }
}
