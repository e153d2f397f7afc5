//! The triggers' outbox (see [`crate::outbox`]). Notifications are inserted by
//! the CRM's writes, inside their transaction ([`insert`]); workers claim the
//! first pending notification of each line (endpoint and record) that is due, so
//! a record's notifications go out in order and a dead letter (`failed`) does not
//! hold up the ones after it.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deskbridge_core::trigger::{Notification, Verdict};
use rand::RngCore;

use super::{Conn, SqlStore};
use crate::StoreError;
use crate::outbox::{AttemptOutcome, Delivery, DeliveryStatus, EndpointBacklog, Outbox, excerpt};
use crate::rows::DbRow;
use crate::time::{from_ms, now_ms, to_text};
use crate::turns::Turn;

/// A new message id: `msg_` and 128 random bits (the `webhook-id`).
fn message_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("msg_{hex}")
}

/// Writes `group`'s notification into the outbox, due now, on the connection of
/// the transaction that makes the change it reports.
pub(super) async fn insert(
    conn: &mut Conn,
    group: &str,
    notification: &Notification,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO trigger_outbox (message_id, group_name, endpoint, order_key, request,
                                     status, attempts, next_at, created_at)
         VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7)",
    )
    .bind(message_id())
    .bind(group)
    .bind(&notification.endpoint)
    .bind(&notification.order_key)
    .bind(serde_json::to_string(&notification.request)?)
    .bind(now_ms())
    .bind(to_text(Utc::now()))
    .execute(conn)
    .await?;
    Ok(())
}

fn delivery(row: &impl DbRow) -> Result<Delivery, StoreError> {
    let status = row.text("status")?;
    let pending = status == "pending";
    Ok(Delivery {
        id: row.int("id")?,
        message_id: row.text("message_id")?,
        group: row.text("group_name")?,
        endpoint: row.text("endpoint")?,
        order_key: row.text("order_key")?,
        request: row.json("request")?,
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("delivery status {status:?}")))?,
        attempts: row.int("attempts")?,
        next_at: match pending {
            true => from_ms(row.int("next_at")?),
            false => None,
        },
        last_status: row.opt_int("last_status")?,
        last_error: row.opt_text("last_error")?,
        created_at: row.time("created_at")?,
        delivered_at: row.opt_time("delivered_at")?,
    })
}

#[async_trait]
impl Outbox for SqlStore {
    async fn backlog(&self) -> Result<Vec<EndpointBacklog>, StoreError> {
        sqlx::query(
            "SELECT endpoint, count(*) AS pending,
                    count(CASE WHEN last_error IS NOT NULL THEN 1 END) AS retrying,
                    min(created_at) AS oldest
             FROM trigger_outbox WHERE status = 'pending' GROUP BY endpoint ORDER BY endpoint",
        )
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(|r| {
            Ok(EndpointBacklog {
                endpoint: r.text("endpoint")?,
                pending: r.int("pending")?,
                retrying: r.int("retrying")?,
                oldest: r.time("oldest")?,
            })
        })
        .collect()
    }

    async fn claim_delivery(
        &self,
        owner: &str,
        lease: Duration,
    ) -> Result<Option<Delivery>, StoreError> {
        let now = now_ms();
        let mut tx = self.begin_write(Turn::Ordinary).await?;
        let row = sqlx::query(concat!(
            "UPDATE trigger_outbox SET lease_owner = $1, lease_until = $2, attempts = attempts + 1
             WHERE id = (
                 SELECT o.id FROM trigger_outbox o
                 WHERE o.status = 'pending' AND o.next_at <= $3
                   AND (o.lease_until IS NULL OR o.lease_until < $3)
                   AND NOT EXISTS (
                       SELECT 1 FROM trigger_outbox p
                       WHERE p.status = 'pending' AND p.endpoint = o.endpoint
                         AND p.order_key = o.order_key AND p.id < o.id)
                 ORDER BY o.next_at, o.id
                 LIMIT 1",
            skip_locked!(),
            ")
             RETURNING *"
        ))
        .bind(owner)
        .bind(now + lease.as_millis() as i64)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        row.map(|r| delivery(&r)).transpose()
    }

    async fn record_attempt(
        &self,
        d: &Delivery,
        owner: &str,
        outcome: &AttemptOutcome,
    ) -> Result<bool, StoreError> {
        let now = Utc::now();
        let (status, next_at, delivered_at) = match outcome.verdict {
            Verdict::Delivered => ("delivered", now.timestamp_millis(), Some(to_text(now))),
            Verdict::RetryIn(wait) => (
                "pending",
                now.timestamp_millis() + wait.as_millis() as i64,
                None,
            ),
            Verdict::DeadLetter => ("failed", now.timestamp_millis(), None),
        };
        let updated = sqlx::query(
            "UPDATE trigger_outbox SET status = $1, next_at = $2, delivered_at = $3,
                    last_status = $4, last_error = $5, lease_owner = NULL, lease_until = NULL
             WHERE id = $6 AND status = 'pending' AND lease_owner = $7 AND attempts = $8",
        )
        .bind(status)
        .bind(next_at)
        .bind(delivered_at)
        .bind(outcome.status.map(i64::from))
        .bind(excerpt(&outcome.excerpt))
        .bind(d.id)
        .bind(owner)
        .bind(d.attempts)
        .execute(self.writer())
        .await?
        .rows_affected();
        Ok(updated > 0)
    }

    async fn deliveries(
        &self,
        groups: &[String],
        status: Option<DeliveryStatus>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        sqlx::query(concat!(
            "SELECT * FROM trigger_outbox WHERE ($1 = '' OR status = $1) AND group_name ",
            in_json_array!("$3"),
            " ORDER BY id DESC LIMIT $2"
        ))
        .bind(status.map_or("", |s| s.as_str()))
        .bind(i64::from(limit))
        .bind(serde_json::to_string(groups)?)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(delivery)
        .collect()
    }

    async fn delivery(&self, id: i64) -> Result<Option<Delivery>, StoreError> {
        sqlx::query("SELECT * FROM trigger_outbox WHERE id = $1")
            .bind(id)
            .fetch_optional(self.reader())
            .await?
            .map(|r| delivery(&r))
            .transpose()
    }

    async fn replay_delivery(&self, id: i64) -> Result<Option<bool>, StoreError> {
        let updated = sqlx::query(
            "UPDATE trigger_outbox SET status = 'pending', attempts = 0, next_at = $1,
                    lease_owner = NULL, lease_until = NULL
             WHERE id = $2 AND status = 'failed'",
        )
        .bind(now_ms())
        .bind(id)
        .execute(self.writer())
        .await?
        .rows_affected();
        if updated > 0 {
            return Ok(Some(true));
        }
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM trigger_outbox WHERE id = $1")
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        Ok(exists.map(|_| false))
    }

    async fn replay_failed_since(
        &self,
        groups: &[String],
        since: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let n = sqlx::query(concat!(
            "UPDATE trigger_outbox SET status = 'pending', attempts = 0, next_at = $1,
                    lease_owner = NULL, lease_until = NULL
             WHERE status = 'failed' AND created_at >= $2 AND group_name ",
            in_json_array!("$3")
        ))
        .bind(now_ms())
        .bind(to_text(since))
        .bind(serde_json::to_string(groups)?)
        .execute(self.writer())
        .await?
        .rows_affected();
        Ok(n)
    }
}
