//! What the shared SQL (`src/sql/`) needs that is SQLite's own. Every item here
//! has a namesake in `postgres/dialect.rs`; `src/sql/mod.rs` lists them.

use sqlx::Transaction;

use super::{Db, SqliteStore};
use crate::locks::TxLock;
use crate::{Change, PhoneGuard, StoreError};

/// The claim's lock on the row it picks: none, as the one writer connection
/// already runs one claim at a time.
macro_rules! skip_locked {
    () => {
        ""
    };
}

/// `IN` the text values of a JSON array parameter (SQLite has no array type).
macro_rules! in_json_array {
    ($param:literal) => {
        concat!("IN (SELECT value FROM json_each(", $param, "))")
    };
}

/// The text value under the key given as parameter `$param` of a JSON object
/// column (custom fields), or NULL.
macro_rules! json_field {
    ($column:literal, $param:literal) => {
        concat!(
            "json_extract(",
            $column,
            ", '$.\"' || ",
            $param,
            " || '\"')"
        )
    };
}

/// The rows of a JSON array parameter `$1` of 13-element arrays, as the
/// columns of the figures' hour rows (`sql/figures.rs`), the last column the
/// stripe, always 0 (one writer: no commits run side by side to spread over
/// stripes): one statement text whatever the number of rows. `WHERE true` lets SQLite read
/// the `ON CONFLICT` that follows as the upsert's, not the join's.
macro_rules! figure_rows {
    () => {
        "SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5,
                value->>6, value->>7, value->>8, value->>9, value->>10, value->>11,
                value->>12, 0
         FROM json_each($1) WHERE true"
    };
}

/// The phones of contact `c`, in position order, as a JSON array (`[]` for none).
macro_rules! contact_phones {
    () => {
        "(SELECT json_group_array(p.phone ORDER BY p.position) FROM contact_phones p
          WHERE p.contact_id = c.id)"
    };
}

/// One process uses the database.
pub(super) const SHARED: bool = false;

/// How a call and its steps are read as one snapshot: a read transaction on a
/// reader connection (in WAL mode, it sees the database as of its first read).
pub(super) const BEGIN_SNAPSHOT: &str = "BEGIN";

/// Takes `what` until the transaction ends ([`TxLock`]): nothing to do,
/// transactions on the one writer connection already run one at a time.
pub(super) async fn lock(
    _tx: &mut Transaction<'_, Db>,
    _what: TxLock<'_>,
) -> Result<(), StoreError> {
    Ok(())
}

/// Takes every one of `what` (in the order given, which callers sort): nothing
/// to do here either.
pub(super) async fn lock_all(
    _tx: &mut Transaction<'_, Db>,
    _what: &[TxLock<'_>],
) -> Result<(), StoreError> {
    Ok(())
}

/// Commits, then tells this process's listeners (there are no others): a change is
/// announced only once it is durable.
pub(super) async fn commit(
    store: &SqliteStore,
    tx: Transaction<'_, Db>,
    changes: &[Change],
) -> Result<(), StoreError> {
    tx.commit().await?;
    for change in changes {
        // No receiver is not an error.
        let _ = store.changes.send(change.clone());
    }
    Ok(())
}

/// Per-phone locks in the process: only this process creates contacts.
pub(super) async fn lock_phone(store: &SqliteStore, e164: &str) -> Result<PhoneGuard, StoreError> {
    Ok(store.phones.lock(e164).await)
}
