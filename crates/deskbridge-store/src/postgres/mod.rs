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
use sqlx::Transaction;
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use std::sync::Arc;

use tokio::sync::{broadcast, oneshot, watch};

use crate::time::now_ms;
use crate::turns::Turn;
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
    listener: Arc<Listener>,
}

/// The background task that turns other instances' `NOTIFY`s into [`Change`]s,
/// and how to stop it.
///
/// It listens on a connection of its own, outside the store's pool, and stops on
/// a signal of the store's own. Both matter (issue 23): when it listened on a
/// pool connection and stopped on the pool's close event, a `close()` that fell
/// between sqlx's "is the pool closed?" and its subscription to the close event
/// was never heard, the listener kept its pool connection, and `close()` waited
/// for that connection forever. A `watch` value cannot be missed that way: the
/// listener sees `true` whenever it looks.
struct Listener {
    stop: watch::Sender<bool>,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// How long `open` waits for the listener's first `LISTEN` before going on
/// without it (the workers still poll, so nothing is lost, only later).
const SUBSCRIBE_WITHIN: Duration = Duration::from_secs(10);
/// How long `close` waits for the listener and then the pool; past that it
/// logs what it gave up on and returns, so a shutdown never hangs.
const CLOSE_WITHIN: Duration = Duration::from_secs(10);

impl PgStore {
    /// Connects, applies migrations (sqlx holds an advisory lock while it does, so
    /// instances starting together migrate once) and starts listening for the
    /// other instances' changes. It returns once the listener is subscribed, so
    /// that no change announced after `open` is missed. A schema chosen in the
    /// URL (`?options=-c%20search_path%3Dname`) must exist.
    pub async fn open(url: &str) -> Result<PgStore, StoreError> {
        // 15 in the pool and the listener's own: 16 an instance, as before the
        // listener had a connection of its own.
        let pool = PgPoolOptions::new()
            .max_connections(15)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        let schema: String = sqlx::query_scalar("SELECT current_schema()")
            .fetch_one(&pool)
            .await?;
        let channel = channel_for(&schema);
        let (changes, _) = broadcast::channel(4096);
        let (stop, stopped) = watch::channel(false);
        let (subscribed, on_subscribed) = oneshot::channel();
        let task = tokio::spawn(listen(
            url.to_string(),
            channel,
            changes.clone(),
            stopped,
            subscribed,
        ));
        if tokio::time::timeout(SUBSCRIBE_WITHIN, on_subscribed)
            .await
            .is_err()
        {
            tracing::warn!(
                "not yet listening for other instances' changes after {SUBSCRIBE_WITHIN:?}; going on (workers poll meanwhile)"
            );
        }
        Ok(PgStore {
            pool,
            changes,
            listener: Arc::new(Listener {
                stop,
                task: std::sync::Mutex::new(Some(task)),
            }),
        })
    }

    /// Stops the listener, then closes the pool once every connection is back;
    /// each wait is bounded by [`CLOSE_WITHIN`].
    pub async fn close(&self) {
        self.listener.stop.send_replace(true);
        let task = self
            .listener
            .task
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(task) = task
            && tokio::time::timeout(CLOSE_WITHIN, task).await.is_err()
        {
            tracing::warn!("the change listener did not stop within {CLOSE_WITHIN:?}");
        }
        if tokio::time::timeout(CLOSE_WITHIN, self.pool.close())
            .await
            .is_err()
        {
            tracing::warn!(
                "closing the database pool: a connection was not given back within {CLOSE_WITHIN:?}; closing anyway"
            );
        }
    }

    /// Instances write concurrently: one pool for writes and reads.
    fn writer(&self) -> &PgPool {
        &self.pool
    }

    /// A write transaction; the turn does not matter here (`turns.rs`).
    async fn begin_write(&self, _turn: Turn) -> Result<Transaction<'static, Db>, StoreError> {
        Ok(self.pool.begin().await?)
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }
}

/// Forwards NOTIFY payloads to the local change stream until `stop` turns true
/// (or the store is dropped); reconnects on errors. `subscribed` is told after
/// the first `LISTEN`.
async fn listen(
    url: String,
    channel: String,
    changes: broadcast::Sender<Change>,
    mut stop: watch::Receiver<bool>,
    subscribed: oneshot::Sender<()>,
) {
    let mut subscribed = Some(subscribed);
    loop {
        // Its own connection (sqlx gives it a pool of one that ignores closing),
        // never one of the store's pool.
        let connect = async {
            let mut listener = PgListener::connect(&url).await?;
            listener.listen(&channel).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let connected = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            connected = connect => connected,
        };
        let mut listener = match connected {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!(error = %e, "cannot LISTEN; retrying in 1 s (workers still poll)");
                tokio::select! {
                    _ = stop.wait_for(|stop| *stop) => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        match subscribed.take() {
            Some(subscribed) => {
                let _ = subscribed.send(());
            }
            // Listening again after a broken connection: what other instances
            // announced meanwhile was not heard.
            None => {
                let _ = changes.send(Change::Missed);
            }
        }
        // Something may have become runnable while not listening.
        let _ = changes.send(Change::Work);
        loop {
            tokio::select! {
                // Dropping the listener ends its connection.
                _ = stop.wait_for(|stop| *stop) => return,
                // `try_recv`, not `recv`: `recv` reconnects without a word, and
                // what was announced while it did is lost unseen.
                received = listener.try_recv() => match received {
                    Ok(Some(n)) => {
                        if let Some(change) = decode(n.payload()) {
                            let _ = changes.send(change);
                        }
                    }
                    // The connection was lost and is listening again.
                    Ok(None) => {
                        tracing::warn!("the notification connection was lost; listening again");
                        let _ = changes.send(Change::Missed);
                        let _ = changes.send(Change::Work);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "notification stream broke; listening again");
                        break;
                    }
                },
            }
        }
    }
}

/// `work`, or `call\t{group}\t{call_id}`.
fn encode(change: &Change) -> String {
    match change {
        Change::Work => "work".into(),
        Change::Pop => "pop".into(),
        Change::Call { group, call_id } => format!("call\t{group}\t{call_id}"),
        Change::Callbacks { group } => format!("callbacks\t{group}"),
        Change::Agent { group, agent } => format!("agent\t{group}\t{agent}"),
        // Local only: an instance's own listener says it; never announced.
        Change::Missed => "missed".into(),
    }
}

fn decode(payload: &str) -> Option<Change> {
    let mut parts = payload.splitn(3, '\t');
    match (parts.next()?, parts.next(), parts.next()) {
        ("work", None, None) => Some(Change::Work),
        ("pop", None, None) => Some(Change::Pop),
        ("callbacks", Some(group), None) => Some(Change::Callbacks {
            group: group.into(),
        }),
        ("agent", Some(group), Some(agent)) => Some(Change::Agent {
            group: group.into(),
            agent: agent.into(),
        }),
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
            Change::Pop,
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
