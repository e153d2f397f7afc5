//! The CRM triggers' durable outbox: what the built-in CRM writes with each
//! change (in the change's own transaction, so there is no change without its
//! notification and none for a change that rolled back), and what the delivery
//! workers claim, one record's notifications to one endpoint in order.
//!
//! Delivery is at least once: a worker that dies mid-attempt loses its lease and
//! the notification is claimed again, with the same `message_id` (the
//! `webhook-id` receivers deduplicate by).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deskbridge_core::trigger::{Request, Trigger, Verdict};
use serde::Serialize;

use crate::StoreError;

/// One group's triggers, as a built-in CRM hears them: every group whose backend
/// is that CRM hears of its changes, and its notifications carry its name (which
/// says whose secrets sign them).
#[derive(Debug, Clone)]
pub struct GroupTriggers {
    pub group: String,
    pub triggers: Vec<Trigger>,
}

/// Where a notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting for its first attempt or a retry.
    Pending,
    Delivered,
    /// A dead letter: the retries ran out (or the address was refused); kept for
    /// an admin to see and replay.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        match s {
            "pending" => Some(DeliveryStatus::Pending),
            "delivered" => Some(DeliveryStatus::Delivered),
            "failed" => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }
}

/// One notification in the outbox.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    #[serde(with = "crate::crm::id_str")]
    pub id: i64,
    /// The `webhook-id`: the same on every attempt.
    pub message_id: String,
    pub group: String,
    /// The configured URL.
    pub endpoint: String,
    /// `ticket:42`: what orders one record's notifications to one endpoint.
    pub order_key: String,
    /// What is sent (a JSON body, never a secret).
    #[serde(skip)]
    pub request: Request,
    pub status: DeliveryStatus,
    /// Attempts made (the one under way included, for a claimed delivery).
    pub attempts: i64,
    /// When a pending notification is tried next.
    pub next_at: Option<DateTime<Utc>>,
    /// The HTTP status of the last answer.
    pub last_status: Option<i64>,
    /// The last answer's start, or why there was none (at most 500 characters).
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// How a delivery attempt went, to record with its verdict.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub verdict: Verdict,
    /// The HTTP status, when the endpoint answered.
    pub status: Option<u16>,
    /// The answer's start or the error (cut to [`MAX_EXCERPT`] characters).
    pub excerpt: String,
}

/// How much of an answer or an error is kept: enough to see what went wrong,
/// never a whole response body.
pub const MAX_EXCERPT: usize = 500;

/// `text` cut to [`MAX_EXCERPT`] characters.
pub fn excerpt(text: &str) -> String {
    text.chars().take(MAX_EXCERPT).collect()
}

/// One endpoint's waiting notifications, for the metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointBacklog {
    pub endpoint: String,
    /// Pending notifications.
    pub pending: i64,
    /// Pending ones that failed at least once.
    pub retrying: i64,
    /// When the oldest pending one was made.
    pub oldest: DateTime<Utc>,
}

#[async_trait]
pub trait Outbox: Send + Sync {
    /// The endpoints with pending notifications, and how far behind each is.
    async fn backlog(&self) -> Result<Vec<EndpointBacklog>, StoreError>;

    /// Claims the oldest due pending notification that is first in its line (no
    /// older pending one for the same endpoint and record), counting the attempt
    /// and leasing it to `owner` for `lease`.
    async fn claim_delivery(
        &self,
        owner: &str,
        lease: Duration,
    ) -> Result<Option<Delivery>, StoreError>;

    /// Records how attempt `delivery.attempts` went; false when the lease was
    /// lost (another worker took the notification over).
    async fn record_attempt(
        &self,
        delivery: &Delivery,
        owner: &str,
        outcome: &AttemptOutcome,
    ) -> Result<bool, StoreError>;

    /// Notifications of `groups`, newest first, with `status` if given (at most
    /// `limit`).
    async fn deliveries(
        &self,
        groups: &[String],
        status: Option<DeliveryStatus>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError>;

    async fn delivery(&self, id: i64) -> Result<Option<Delivery>, StoreError>;

    /// Makes a dead letter pending again, due now, with its attempts reset;
    /// `None` when there is no such notification, `Some(false)` when it is not
    /// a dead letter.
    async fn replay_delivery(&self, id: i64) -> Result<Option<bool>, StoreError>;

    /// Makes every dead letter of `groups` made at or after `since` pending
    /// again (as [`Outbox::replay_delivery`]); how many.
    async fn replay_failed_since(
        &self,
        groups: &[String],
        since: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
}
