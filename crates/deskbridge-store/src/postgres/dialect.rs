//! What the shared SQL (`src/sql/`) needs that is PostgreSQL's own. Every item
//! here has a namesake in `sqlite/dialect.rs`; `src/sql/mod.rs` lists them.

use sqlx::Transaction;

use super::{Db, PgStore, encode};
use crate::locks::TxLock;
use crate::{Change, PhoneGuard, StoreError};

/// The claim's lock on the row it picks: workers of every instance claim at once,
/// and each skips the rows another is taking.
macro_rules! skip_locked {
    () => {
        "
                 FOR UPDATE SKIP LOCKED"
    };
}

/// `= ANY` of the text values of a JSON array parameter (the array is built once,
/// and `= ANY` can use an index).
macro_rules! in_json_array {
    ($param:literal) => {
        concat!(
            "= ANY (ARRAY(SELECT json_array_elements_text(",
            $param,
            "::json)))"
        )
    };
}

/// The rows of a JSON array parameter `$1` of 13-element arrays, as the
/// columns of the figures' hour rows (`sql/figures.rs`), the last column the
/// stripe of this connection: one statement text whatever the number of
/// rows, and one round trip.
///
/// The stripe is the id of the connection's server process
/// (`pg_backend_pid()`) modulo 16 (migration 0017): the concurrent group
/// commits, each on a connection of its own, add to rows of their own
/// instead of queueing on one row's lock until the commit ahead ends. The
/// ids spread the connections over the stripes; two that meet on one only
/// wait for each other, as every commit did before.
macro_rules! figure_rows {
    () => {
        "SELECT e->>0, e->>1, e->>2, e->>3, (e->>4)::bigint, (e->>5)::bigint,
                (e->>6)::bigint, (e->>7)::bigint, (e->>8)::bigint, (e->>9)::bigint,
                (e->>10)::bigint, (e->>11)::bigint, (e->>12)::bigint,
                (pg_backend_pid() % 16)::smallint
         FROM json_array_elements($1::json) AS e"
    };
}

/// The phones of contact `c`, in position order, as a JSON array (`[]` for none).
macro_rules! contact_phones {
    () => {
        "(SELECT COALESCE(json_agg(p.phone ORDER BY p.position), '[]')::text
          FROM contact_phones p WHERE p.contact_id = c.id)"
    };
}

/// The text value under the key given as parameter `$param` of a JSON object
/// column (custom fields), or NULL.
macro_rules! json_field {
    ($column:literal, $param:literal) => {
        concat!("(", $column, "::json ->> ", $param, ")")
    };
}

/// Other instances may use the database.
pub(super) const SHARED: bool = true;

/// How a call and its steps are read as one snapshot.
pub(super) const BEGIN_SNAPSHOT: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

/// Serializes work on each key across instances until the transaction ends,
/// taking them in the order given (callers sort them, so two transactions
/// cannot deadlock) in one round trip: `unnest` yields the array in order, and
/// each row's lock is taken as the row is produced.
async fn lock_keys(tx: &mut Transaction<'_, Db>, keys: Vec<String>) -> Result<(), StoreError> {
    if keys.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k",
    )
    .bind(keys)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Takes `what` for every instance until the transaction ends ([`TxLock`]).
pub(super) async fn lock(tx: &mut Transaction<'_, Db>, what: TxLock<'_>) -> Result<(), StoreError> {
    lock_keys(tx, vec![what.to_string()]).await
}

/// Takes every one of `what`, in the order given ([`lock_keys`]).
pub(super) async fn lock_all(
    tx: &mut Transaction<'_, Db>,
    what: &[TxLock<'_>],
) -> Result<(), StoreError> {
    lock_keys(tx, what.iter().map(ToString::to_string).collect()).await
}

/// Announces the changes to every instance (this one included, through its
/// listener) and commits: PostgreSQL delivers a `NOTIFY` only when its transaction
/// commits, and not at all if it rolls back.
pub(super) async fn commit(
    _store: &PgStore,
    mut tx: Transaction<'_, Db>,
    changes: &[Change],
) -> Result<(), StoreError> {
    // One round trip for all, in order.
    if !changes.is_empty() {
        let payloads: Vec<String> = changes.iter().map(encode).collect();
        sqlx::query(
            "SELECT pg_notify('deskbridge_' || current_schema(), c) FROM unnest($1::text[]) AS c",
        )
        .bind(payloads)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// An advisory lock held by an open transaction, so every instance sees it;
/// dropping the guard rolls the transaction back, which releases the lock.
pub(super) async fn lock_phone(store: &PgStore, e164: &str) -> Result<PhoneGuard, StoreError> {
    let mut tx = store.pool.begin().await?;
    lock_keys(&mut tx, vec![format!("phone:{e164}")]).await?;
    Ok(PhoneGuard::new(tx))
}
