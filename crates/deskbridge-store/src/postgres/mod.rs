//! The PostgreSQL store: several instances of deskbridge share one database.
//!
//! Work on one call is serialized across instances by a transaction-scoped
//! advisory lock on the call (taken in sorted order when a batch touches several
//! calls, so two batches cannot deadlock); steps are claimed with `FOR UPDATE SKIP
//! LOCKED`; changes are announced with `NOTIFY`, which every instance's listener
//! turns into its local [`Change`] stream, with polling as the fallback.
//!
//! The queries are the shared ones of `src/sql/`, compiled here for PostgreSQL;
//! what is PostgreSQL's own is in `dialect.rs` (the hooks), and here: the
//! listener and the shared request budget.

#[macro_use]
mod dialect;
// The shared SQL, compiled once per driver by design (see its documentation).
#[allow(clippy::duplicate_mod)]
#[path = "../sql/mod.rs"]
mod sql;

/// The built-in CRM records of one tenant (`SqliteStore::crm`).
pub use sql::crm::Records as PgCrm;

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use tokio::sync::broadcast;

use crate::time::now_ms;
use crate::{Change, SharedBudget, StoreError};

/// The driver the shared SQL is compiled for here.
pub(crate) type Db = sqlx::Postgres;
/// The store the shared SQL implements the traits for here.
type SqlStore = PgStore;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The channel notifications travel on: one per schema, so deployments sharing a
/// database under different schemas do not hear each other.
fn channel_for(schema: &str) -> String {
    format!("deskbridge_{schema}")
}

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    changes: broadcast::Sender<Change>,
}

impl PgStore {
    /// Connects, applies migrations (sqlx holds an advisory lock while it does, so
    /// instances starting together migrate once) and starts listening for the
    /// other instances' changes. A schema chosen in the URL
    /// (`?options=-c%20search_path%3Dname`) must exist.
    pub async fn open(url: &str) -> Result<PgStore, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        let schema: String = sqlx::query_scalar("SELECT current_schema()")
            .fetch_one(&pool)
            .await?;
        let channel = channel_for(&schema);
        let (changes, _) = broadcast::channel(4096);
        tokio::spawn(listen(pool.clone(), channel.clone(), changes.clone()));
        Ok(PgStore { pool, changes })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Instances write concurrently: one pool for writes and reads.
    fn writer(&self) -> &PgPool {
        &self.pool
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }
}

/// Forwards NOTIFY payloads to the local change stream; reconnects on errors.
async fn listen(pool: PgPool, channel: String, changes: broadcast::Sender<Change>) {
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                if pool.is_closed() {
                    return;
                }
                tracing::warn!(error = %e, "cannot LISTEN; retrying in 1 s (workers still poll)");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(&channel).await {
            tracing::warn!(error = %e, "LISTEN failed; retrying in 1 s");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        // Something may have happened while not listening.
        let _ = changes.send(Change::Work);
        loop {
            match listener.recv().await {
                Ok(n) => {
                    if let Some(change) = decode(n.payload()) {
                        let _ = changes.send(change);
                    }
                }
                Err(e) => {
                    if pool.is_closed() {
                        return;
                    }
                    tracing::warn!(error = %e, "notification stream broke; listening again");
                    break;
                }
            }
        }
    }
}

/// `work`, or `call\t{group}\t{call_id}`.
fn encode(change: &Change) -> String {
    match change {
        Change::Work => "work".into(),
        Change::Call { group, call_id } => format!("call\t{group}\t{call_id}"),
    }
}

fn decode(payload: &str) -> Option<Change> {
    let mut parts = payload.splitn(3, '\t');
    match (parts.next()?, parts.next(), parts.next()) {
        ("work", None, None) => Some(Change::Work),
        ("call", Some(group), Some(call_id)) => Some(Change::Call {
            group: group.into(),
            call_id: call_id.into(),
        }),
        _ => None,
    }
}

#[async_trait]
impl SharedBudget for PgStore {
    async fn take_budget(
        &self,
        account: &str,
        capacity: f64,
        per_second: f64,
        floor: f64,
    ) -> Result<Option<Option<Duration>>, StoreError> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO upstream_budgets (account, tokens, refilled_ms) VALUES ($1, $2, $3)
             ON CONFLICT (account) DO NOTHING",
        )
        .bind(account)
        .bind(capacity)
        .bind(now)
        .execute(&self.pool)
        .await?;
        let taken: Option<f64> = sqlx::query_scalar(
            "UPDATE upstream_budgets
             SET tokens = LEAST($2, tokens + ($3 - refilled_ms) / 1000.0 * $4) - 1,
                 refilled_ms = $3
             WHERE account = $1 AND paused_until_ms <= $3
               AND LEAST($2, tokens + ($3 - refilled_ms) / 1000.0 * $4) >= $5 + 1
             RETURNING tokens",
        )
        .bind(account)
        .bind(capacity)
        .bind(now)
        .bind(per_second)
        .bind(floor)
        .fetch_optional(&self.pool)
        .await?;
        if taken.is_some() {
            return Ok(Some(None));
        }
        let (tokens, refilled, paused): (f64, i64, i64) = sqlx::query_as(
            "SELECT tokens, refilled_ms, paused_until_ms FROM upstream_budgets WHERE account = $1",
        )
        .bind(account)
        .fetch_one(&self.pool)
        .await?;
        if paused > now {
            return Ok(Some(Some(Duration::from_millis((paused - now) as u64))));
        }
        let current = (tokens + (now - refilled) as f64 / 1000.0 * per_second).min(capacity);
        let missing = (floor + 1.0 - current).max(0.0);
        let wait = (missing / per_second.max(1e-6)).clamp(0.005, 1.0);
        Ok(Some(Some(Duration::from_secs_f64(wait))))
    }

    async fn pause_budget(&self, account: &str, until_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE upstream_budgets SET paused_until_ms = GREATEST(paused_until_ms, $2), tokens = 0
             WHERE account = $1",
        )
        .bind(account)
        .bind(until_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn admit_sends(
        &self,
        account: &str,
        counts: &[crate::SendCount],
    ) -> Result<Option<Result<(), (usize, Duration)>>, StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        // One admission per account at a time, so that two instances cannot
        // both take the last room of a window.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(format!("deskbridge upstream_sends {account}"))
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM upstream_sends WHERE account = $1 AND expires_ms <= $2")
            .bind(account)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        for (i, count) in counts.iter().enumerate() {
            if count.max == 0 {
                return Ok(Some(Err((i, count.window))));
            }
            // The request that must leave the window before one more fits: the
            // `max`-th newest still in it.
            let blocking: Option<i64> = sqlx::query_scalar(
                "SELECT expires_ms FROM upstream_sends
                 WHERE account = $1 AND count_key = $2 AND sent_ms > $3
                 ORDER BY sent_ms DESC OFFSET $4 LIMIT 1",
            )
            .bind(account)
            .bind(&count.key)
            .bind(now - count.window.as_millis() as i64)
            .bind(i64::from(count.max) - 1)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(expires) = blocking {
                let wait = Duration::from_millis((expires - now).max(1) as u64);
                return Ok(Some(Err((i, wait))));
            }
        }
        for count in counts {
            sqlx::query(
                "INSERT INTO upstream_sends (account, count_key, sent_ms, expires_ms)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(account)
            .bind(&count.key)
            .bind(now)
            .bind(now + count.window.as_millis() as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Some(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_round_trip() {
        for c in [
            Change::Work,
            Change::Call {
                group: "support".into(),
                call_id: "a\tb".into(),
            },
        ] {
            assert_eq!(decode(&encode(&c)), Some(c));
        }
        assert_eq!(decode("nonsense"), None);
    }
}
