//! A local mirror of a helpdesk account (`[backends.NAME] mirror = true`):
//! its contacts with their phones and its tickets that are not closed, kept in
//! the database from the helpdesk's lists of changes, so that a call is
//! identified, and an IVR's ticket number checked, without a search or a GET.
//! Each helpdesk brings its [`MirrorSource`] (Zendesk's incremental exports,
//! Freshdesk's `updated_since` lists); the rest is the same for all:
//!
//! - **Loading, then polling.** The first sync reads everything; each later
//!   one goes on from the cursors stored with the last page applied
//!   (`mirror_state`), every `mirror_poll_seconds`. So a restart goes on where
//!   the last instance stopped.
//! - **One instance polls.** The sync runs under a lease in the database
//!   (`MirrorStore::mirror_lease`, renewed with every page; a page is applied
//!   only by the lease's holder), so instances sharing a database do not all
//!   read the helpdesk; the others read the mirror it writes.
//! - **Current or not.** The mirror answers only while it is current: loaded
//!   (both lists reached their end once) and synced within twice the poll
//!   interval. Otherwise the backend asks the helpdesk as before.
//! - **What deskbridge creates is mirrored at once.** A contact or ticket made
//!   by a call is put into the mirror by the create itself, so the next call
//!   from the number finds it, long before the next sync (or a search) does.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use deskbridge_core::ports::{ContactSummary, TicketSummary};
use deskbridge_store::{MirrorBatch, MirrorRecord, MirrorTicket, MirrorUser, Store, StoreError};
use serde::Serialize;
use tokio::sync::watch;

/// What the admin page and `/metrics` show of a backend's mirror.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum MirrorState {
    /// The first export has not reached the end of its stream yet: calls are
    /// identified through the helpdesk's search.
    Loading,
    /// Synced `lag_seconds` ago, within twice the poll interval: lookups are
    /// answered from the mirror.
    Current { lag_seconds: u64 },
    /// Loaded, but its last sync is older than twice the poll interval (the
    /// exports fail or are held back): lookups go to Zendesk until it catches up.
    Behind { lag_seconds: u64 },
}

impl MirrorState {
    /// The state of a mirror whose record is `record` (none yet: loading).
    pub fn of(
        record: Option<&MirrorRecord>,
        poll: Duration,
        now: chrono::DateTime<chrono::Utc>,
    ) -> MirrorState {
        let Some(record) = record else {
            return MirrorState::Loading;
        };
        match (record.loaded_at, record.synced_at) {
            (Some(_), Some(synced)) => {
                let lag = (now - synced).num_seconds().max(0) as u64;
                if lag <= 2 * poll.as_secs().max(1) {
                    MirrorState::Current { lag_seconds: lag }
                } else {
                    MirrorState::Behind { lag_seconds: lag }
                }
            }
            _ => MirrorState::Loading,
        }
    }

    pub fn is_current(&self) -> bool {
        matches!(self, MirrorState::Current { .. })
    }
}

/// The mirror as a backend asks it: each lookup answers `None` when the mirror
/// is not current (or cannot be read), and the backend then asks the
/// helpdesk. A port, so that a backend can be tested with a mirror of its own.
#[async_trait]
pub trait AccountMirror: Send + Sync {
    /// The contacts with this number (E.164), when the mirror is current: an
    /// empty list means nobody has it.
    async fn users_by_phone(&self, e164: &str) -> Option<Vec<MirrorUser>>;

    /// The contact, when the mirror is current and has them.
    async fn user(&self, id: u64) -> Option<MirrorUser>;

    /// The ticket, when the mirror is current and has it (closed tickets are
    /// not kept: the backend asks the helpdesk for those).
    async fn ticket(&self, id: u64) -> Option<MirrorTicket>;

    /// The requester's not-closed tickets, newest change first, when current.
    async fn tickets_of(&self, requester_id: u64) -> Option<Vec<MirrorTicket>>;

    /// A contact deskbridge just created or changed, into the mirror at once.
    async fn put_user(&self, user: &MirrorUser);

    /// A ticket deskbridge just created or changed.
    async fn put_ticket(&self, ticket: &MirrorTicket);
}

/// A mirrored contact as the port shows a caller: their phones (E.164
/// already), the caller's number when the mirror had none to show.
pub fn caller(u: &MirrorUser, e164: &str) -> ContactSummary {
    let mut phones = u.phones.clone();
    if phones.is_empty() {
        phones.push(e164.to_string());
    }
    ContactSummary {
        id: u.id.to_string(),
        name: u.name.clone(),
        phones,
        created_at: u.created_at,
    }
}

/// A mirrored ticket as the port shows it, its assignee named by
/// `agent_email` (the agents the backend knows).
pub fn ticket(t: &MirrorTicket, agent_email: impl Fn(u64) -> Option<String>) -> TicketSummary {
    TicketSummary {
        id: t.id.to_string(),
        status: t.status.clone(),
        requester_id: t.requester_id.map(|r| r.to_string()),
        assignee: t
            .assignee_id
            .and_then(|a| u64::try_from(a).ok())
            .and_then(agent_email),
        updated_at: t.updated_at,
    }
}

/// Where a mirror's changes come from: one helpdesk's lists of what changed.
#[async_trait]
pub trait MirrorSource: Send + Sync {
    /// One round: from `record`'s cursors (none: from the start) to the end
    /// of the helpdesk's changes, each page handed to [`Pages::apply`] with
    /// its cursor; the last page of the round marks the mirror synced.
    async fn sync(&self, record: Option<&MirrorRecord>, pages: &Pages<'_>)
    -> Result<(), SyncError>;
}

/// What a [`MirrorSource`] writes its pages through: under the mirror's lease.
pub struct Pages<'a> {
    mirror: &'a Mirror,
    owner: &'a str,
}

impl Pages<'_> {
    /// Applies one page with its cursor, renewing the lease first (an initial
    /// load of many pages outlasts one lease).
    pub async fn apply(&self, batch: &MirrorBatch) -> Result<(), SyncError> {
        let (mirror, owner) = (self.mirror, self.owner);
        if !mirror
            .store
            .mirror_lease(&mirror.backend, owner, mirror.lease_until())
            .await?
            || !mirror
                .store
                .mirror_apply(&mirror.backend, owner, batch)
                .await?
        {
            return Err(SyncError::LeaseLost);
        }
        Ok(())
    }

    /// Waits out a limit the helpdesk keeps (a 429, an endpoint's limit),
    /// renewing the lease meanwhile.
    pub async fn wait_out(&self, wait: Duration) -> Result<(), SyncError> {
        let (mirror, owner) = (self.mirror, self.owner);
        tokio::time::sleep(wait.max(Duration::from_millis(100))).await;
        match mirror
            .store
            .mirror_lease(&mirror.backend, owner, mirror.lease_until())
            .await?
        {
            true => Ok(()),
            false => Err(SyncError::LeaseLost),
        }
    }
}

/// Why a sync round stopped; the next round goes on from the stored cursors.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{0}")]
    Helpdesk(String),
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("another instance took over the mirror's lease")]
    LeaseLost,
}

/// One backend's mirror: its sync task and the lookups.
pub struct Mirror {
    backend: String,
    store: Arc<dyn Store>,
    source: Arc<dyn MirrorSource>,
    poll: Duration,
    /// The state as last read, for a second: every lookup asks whether the
    /// mirror is current, and another instance may be the one syncing it.
    seen: Mutex<Option<(Instant, Option<MirrorRecord>)>>,
}

/// How long a read of the mirror's state is trusted by lookups.
const STATE_TTL: Duration = Duration::from_secs(1);

/// A helpdesk's ids fit in an `i64` (the database's integer).
pub fn db_id(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

impl Mirror {
    pub fn new(
        backend: &str,
        store: Arc<dyn Store>,
        source: Arc<dyn MirrorSource>,
        poll: Duration,
    ) -> Mirror {
        Mirror {
            backend: backend.to_string(),
            store,
            source,
            poll,
            seen: Mutex::new(None),
        }
    }

    pub fn backend(&self) -> &str {
        &self.backend
    }

    /// The mirror's state now, read from the database (`None`: it cannot be
    /// read).
    pub async fn state(&self) -> Option<MirrorState> {
        let record = self.store.mirror_state(&self.backend).await.ok()?;
        Some(MirrorState::of(
            record.as_ref(),
            self.poll,
            chrono::Utc::now(),
        ))
    }

    async fn is_current(&self) -> bool {
        let cached = {
            let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            seen.as_ref()
                .filter(|(at, _)| at.elapsed() < STATE_TTL)
                .map(|(_, record)| record.clone())
        };
        let record = match cached {
            Some(record) => record,
            None => match self.store.mirror_state(&self.backend).await {
                Ok(record) => {
                    *self.seen.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some((Instant::now(), record.clone()));
                    record
                }
                Err(e) => {
                    tracing::warn!(backend = %self.backend, error = %e, "cannot read the mirror's state; asking the helpdesk");
                    return false;
                }
            },
        };
        MirrorState::of(record.as_ref(), self.poll, chrono::Utc::now()).is_current()
    }

    fn lease_until(&self) -> i64 {
        let lease = (3 * self.poll).max(Duration::from_secs(30));
        chrono::Utc::now().timestamp_millis() + lease.as_millis() as i64
    }

    /// Polls until `stop`: each round takes (or renews) the lease, syncs if
    /// this instance holds it, and sets `deskbridge_mirror_lag_seconds`.
    pub async fn run(self: Arc<Self>, owner: String, mut stop: watch::Receiver<bool>) {
        loop {
            let wait = match self
                .store
                .mirror_lease(&self.backend, &owner, self.lease_until())
                .await
            {
                Ok(true) => match self.sync(&owner).await {
                    Ok(()) => self.poll,
                    Err(e) => {
                        tracing::warn!(backend = %self.backend, error = %e, "mirror sync failed; trying again at the next poll");
                        self.poll
                    }
                },
                Ok(false) => self.poll,
                Err(e) => {
                    tracing::warn!(backend = %self.backend, error = %e, "cannot take the mirror's lease");
                    self.poll
                }
            };
            self.observe().await;
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// Sets the lag gauge from the database's state (every instance does, so
    /// any instance's `/metrics` shows it).
    pub async fn observe(&self) {
        if let Some(MirrorState::Current { lag_seconds } | MirrorState::Behind { lag_seconds }) =
            self.state().await
        {
            metrics::gauge!("deskbridge_mirror_lag_seconds", "backend" => self.backend.clone())
                .set(lag_seconds as f64);
        }
    }

    /// One round of the source's changes, under the lease `owner` holds.
    pub async fn sync(&self, owner: &str) -> Result<(), SyncError> {
        let record = self.store.mirror_state(&self.backend).await?;
        let pages = Pages {
            mirror: self,
            owner,
        };
        self.source.sync(record.as_ref(), &pages).await
    }
}

#[async_trait]
impl AccountMirror for Mirror {
    async fn users_by_phone(&self, e164: &str) -> Option<Vec<MirrorUser>> {
        if !self.is_current().await {
            return None;
        }
        self.store
            .mirror_users_by_phone(&self.backend, e164)
            .await
            .inspect_err(
                |e| tracing::warn!(error = %e, "cannot read the mirror; asking the helpdesk"),
            )
            .ok()
    }

    async fn user(&self, id: u64) -> Option<MirrorUser> {
        if !self.is_current().await {
            return None;
        }
        self.store
            .mirror_user(&self.backend, db_id(id))
            .await
            .ok()
            .flatten()
    }

    async fn ticket(&self, id: u64) -> Option<MirrorTicket> {
        if !self.is_current().await {
            return None;
        }
        self.store
            .mirror_ticket(&self.backend, db_id(id))
            .await
            .ok()
            .flatten()
    }

    async fn tickets_of(&self, requester_id: u64) -> Option<Vec<MirrorTicket>> {
        if !self.is_current().await {
            return None;
        }
        self.store
            .mirror_tickets_of(&self.backend, db_id(requester_id))
            .await
            .ok()
    }

    async fn put_user(&self, user: &MirrorUser) {
        if let Err(e) = self.store.mirror_put_user(&self.backend, user).await {
            tracing::warn!(backend = %self.backend, error = %e, "cannot put a new user into the mirror");
        }
    }

    async fn put_ticket(&self, ticket: &MirrorTicket) {
        if let Err(e) = self.store.mirror_put_ticket(&self.backend, ticket).await {
            tracing::warn!(backend = %self.backend, error = %e, "cannot put a ticket into the mirror");
        }
    }
}

/// The state of `backend`'s mirror, for the admin page: `None` when the
/// backend keeps none (`mirror` not set).
pub async fn mirror_state(mirrors: &[Arc<Mirror>], backend: &str) -> Option<MirrorState> {
    let mirror = mirrors.iter().find(|m| m.backend() == backend)?;
    mirror.state().await
}

/// Starts every mirror's sync task; they stop when `stop` turns true.
pub fn spawn_all(
    mirrors: &[Arc<Mirror>],
    owner: &str,
    stop: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    mirrors
        .iter()
        .map(|m| tokio::spawn(m.clone().run(owner.to_string(), stop.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn record(
        loaded: bool,
        synced_secs_ago: Option<i64>,
        now: chrono::DateTime<Utc>,
    ) -> MirrorRecord {
        MirrorRecord {
            backend: "zd".into(),
            users_cursor: None,
            tickets_cursor: None,
            users_done: loaded,
            tickets_done: loaded,
            loaded_at: loaded.then_some(now),
            synced_at: synced_secs_ago.map(|s| now - chrono::Duration::seconds(s)),
            lease_owner: None,
            lease_until_ms: 0,
        }
    }

    #[test]
    fn a_mirror_is_current_while_synced_within_two_polls() {
        let now = Utc.with_ymd_and_hms(2026, 11, 29, 10, 0, 0).unwrap();
        let poll = Duration::from_secs(60);
        assert_eq!(MirrorState::of(None, poll, now), MirrorState::Loading);
        assert_eq!(
            MirrorState::of(Some(&record(false, None, now)), poll, now),
            MirrorState::Loading
        );
        assert_eq!(
            MirrorState::of(Some(&record(true, Some(30), now)), poll, now),
            MirrorState::Current { lag_seconds: 30 }
        );
        assert_eq!(
            MirrorState::of(Some(&record(true, Some(121), now)), poll, now),
            MirrorState::Behind { lag_seconds: 121 }
        );
        assert_eq!(
            serde_json::to_value(MirrorState::Current { lag_seconds: 3 }).unwrap(),
            serde_json::json!({"state": "current", "lag_seconds": 3})
        );
    }
}
