//! A helpdesk account's local mirror (migration 0009): users with their phones
//! and not-closed tickets, kept per backend from the helpdesk's incremental
//! exports, with the state of the sync (cursors, when loaded and last synced, the
//! lease of the instance that polls).
//!
//! The store keeps what it is given; what a record means (an agent, a shared
//! number, a closed ticket) is decided by the sync task, which hands over
//! [`MirrorBatch`]es.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::StoreError;

/// A user as the mirror keeps it; `phones` in E.164.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorUser {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub external_id: Option<String>,
    pub is_agent: bool,
    /// Zendesk's `shared_phone_number`: several users have this number.
    pub shared_phone: bool,
    pub phones: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// A ticket that is not closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorTicket {
    pub id: i64,
    pub requester_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub status: String,
    pub updated_at: DateTime<Utc>,
    /// Zendesk's `external_id` (deskbridge's create key on its own tickets).
    pub external_id: Option<String>,
}

/// One page of changes, applied in one transaction with the cursor that
/// follows it, so a restart goes on from the last page applied.
#[derive(Debug, Clone, Default)]
pub struct MirrorBatch {
    /// New or changed users (their phones replace the ones kept).
    pub users: Vec<MirrorUser>,
    /// Users gone (deleted: Zendesk exports them with `active: false`).
    pub removed_users: Vec<i64>,
    /// New or changed tickets that are not closed.
    pub tickets: Vec<MirrorTicket>,
    /// Tickets closed or deleted.
    pub removed_tickets: Vec<i64>,
    /// The users export's cursor after this page, and whether it reached the
    /// end of its stream (`None`: this page was not the users export's).
    pub users_cursor: Option<(String, bool)>,
    pub tickets_cursor: Option<(String, bool)>,
    /// This page ends a poll in which both exports reached the end of their
    /// stream: the mirror is synced now (and loaded, the first time).
    pub synced: bool,
}

/// The state of one backend's mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorRecord {
    pub backend: String,
    pub users_cursor: Option<String>,
    pub tickets_cursor: Option<String>,
    /// Each export reached the end of its stream at least once since the
    /// cursor was last taken.
    pub users_done: bool,
    pub tickets_done: bool,
    /// When both exports first reached the end of their stream: the mirror is
    /// loaded.
    pub loaded_at: Option<DateTime<Utc>>,
    /// When a poll last reached the end of both streams.
    pub synced_at: Option<DateTime<Utc>>,
    pub lease_owner: Option<String>,
    pub lease_until_ms: i64,
}

#[async_trait]
pub trait MirrorStore: Send + Sync {
    /// The backend's mirror state, `None` before its first sync.
    async fn mirror_state(&self, backend: &str) -> Result<Option<MirrorRecord>, StoreError>;

    /// Takes (or renews) the backend's polling lease for `owner` until
    /// `until_ms` (unix ms) when nobody else holds it: true when `owner` holds
    /// it. One instance polls; the others read the mirror it writes.
    async fn mirror_lease(
        &self,
        backend: &str,
        owner: &str,
        until_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Applies a page of changes and the cursor after it, in one transaction,
    /// if `owner` still holds the lease (false, nothing written, otherwise).
    async fn mirror_apply(
        &self,
        backend: &str,
        owner: &str,
        batch: &MirrorBatch,
    ) -> Result<bool, StoreError>;

    /// Puts a user deskbridge has just created into the mirror at once, so
    /// that the next call from the number finds them (the export brings them
    /// a minute or more later).
    async fn mirror_put_user(&self, backend: &str, user: &MirrorUser) -> Result<(), StoreError>;

    /// Puts a ticket deskbridge has just created or changed (closed: removed).
    async fn mirror_put_ticket(
        &self,
        backend: &str,
        ticket: &MirrorTicket,
    ) -> Result<(), StoreError>;

    /// The users with `e164` among their phones, oldest first.
    async fn mirror_users_by_phone(
        &self,
        backend: &str,
        e164: &str,
    ) -> Result<Vec<MirrorUser>, StoreError>;

    async fn mirror_user(&self, backend: &str, id: i64) -> Result<Option<MirrorUser>, StoreError>;

    async fn mirror_ticket(
        &self,
        backend: &str,
        id: i64,
    ) -> Result<Option<MirrorTicket>, StoreError>;

    /// The requester's not-closed tickets, newest change first.
    async fn mirror_tickets_of(
        &self,
        backend: &str,
        requester_id: i64,
    ) -> Result<Vec<MirrorTicket>, StoreError>;

    /// How many users and tickets the backend's mirror holds.
    async fn mirror_counts(&self, backend: &str) -> Result<(i64, i64), StoreError>;
}
