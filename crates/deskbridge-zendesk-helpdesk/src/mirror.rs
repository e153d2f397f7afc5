//! The Zendesk account's changes for its local mirror (`deskbridge_mirror`):
//! the cursor-based incremental exports of users and tickets.
//!
//! - The first sync exports everything from `start_time=0`; each later one
//!   goes on from the cursors stored with the last page applied, so a poll
//!   that finds nothing new costs two requests (users, tickets).
//! - **The exports' own limit.** Each request is counted under Zendesk's 10
//!   incremental exports a minute before it is sent (the client's
//!   `admit_incremental_export`, shared by instances) and goes in the budget's
//!   bulk lane, after every live lookup.
//! - Zendesk leaves out of an export what changed within the last minute, so
//!   the mirror's data is that much older than its `lag`.

use std::sync::Arc;

use async_trait::async_trait;
use deskbridge_core::phone::{Phone, Region};
use deskbridge_mirror::{MirrorSource, Pages, SyncError, db_id};
use deskbridge_store::{MirrorBatch, MirrorRecord, MirrorTicket, MirrorUser};
use deskbridge_zendesk::types::{self as zd, ExportStart};
use deskbridge_zendesk::{ZendeskClient, ZendeskError};

pub use deskbridge_mirror::{AccountMirror, Mirror, MirrorState, mirror_state, spawn_all};

/// A Zendesk user as the mirror keeps them: the number as libphonenumber
/// reads it in the account's region, E.164 only.
pub fn user_of(u: &zd::User, region: Region) -> MirrorUser {
    MirrorUser {
        id: db_id(u.id),
        name: u.name.clone(),
        email: u.email.clone(),
        external_id: u.external_id.clone(),
        is_agent: u.is_agent(),
        shared_phone: u.shared_phone_number == Some(true),
        phones: u
            .phone
            .iter()
            .filter_map(|p| Phone::parse(p, region).e164().map(str::to_string))
            .collect(),
        created_at: u.created_at,
    }
}

pub fn ticket_of(t: &zd::Ticket) -> MirrorTicket {
    MirrorTicket {
        id: db_id(t.id),
        requester_id: t.requester_id.map(db_id),
        assignee_id: t.assignee_id.map(db_id),
        status: t.status.clone(),
        updated_at: t.updated_at,
        external_id: t.external_id.clone(),
    }
}

/// Zendesk's exports as a mirror's source.
pub struct Exports {
    client: Arc<ZendeskClient>,
    region: Region,
}

impl Exports {
    pub fn new(client: Arc<ZendeskClient>, region: Region) -> Exports {
        Exports { client, region }
    }
}

fn zendesk(e: ZendeskError) -> SyncError {
    SyncError::Helpdesk(format!("Zendesk: {e}"))
}

#[async_trait]
impl MirrorSource for Exports {
    /// The users export, then the tickets export, each from its stored cursor
    /// to the end of its stream, page by page, each page applied with its
    /// cursor in one transaction; then the mirror is synced.
    async fn sync(
        &self,
        record: Option<&MirrorRecord>,
        pages: &Pages<'_>,
    ) -> Result<(), SyncError> {
        // No cursor stored (or an empty one: a page that came without one):
        // everything from the start.
        let start = |cursor: Option<&String>| match cursor {
            Some(cursor) if !cursor.is_empty() => ExportStart::Cursor(cursor.clone()),
            _ => ExportStart::StartTime(0),
        };
        let mut users = start(record.and_then(|r| r.users_cursor.as_ref()));
        loop {
            let page = loop {
                match self.client.export_users(&users).await {
                    Ok(page) => break page,
                    Err(ZendeskError::RateLimited(wait) | ZendeskError::HeldBack(wait)) => {
                        pages.wait_out(wait).await?
                    }
                    Err(e) => return Err(zendesk(e)),
                }
            };
            let mut batch = MirrorBatch::default();
            for u in &page.items {
                match u.active {
                    Some(false) => batch.removed_users.push(db_id(u.id)),
                    _ => batch.users.push(user_of(u, self.region)),
                }
            }
            let next = page.next_start(&users);
            batch.users_cursor = Some((cursor_text(&next), page.end_of_stream));
            pages.apply(&batch).await?;
            users = next;
            if page.end_of_stream {
                break;
            }
        }
        let mut tickets = start(record.and_then(|r| r.tickets_cursor.as_ref()));
        loop {
            let page = loop {
                match self.client.export_tickets(&tickets).await {
                    Ok(page) => break page,
                    Err(ZendeskError::RateLimited(wait) | ZendeskError::HeldBack(wait)) => {
                        pages.wait_out(wait).await?
                    }
                    Err(e) => return Err(zendesk(e)),
                }
            };
            let mut batch = MirrorBatch::default();
            for t in &page.items {
                match t.status.as_str() {
                    "closed" | "deleted" => batch.removed_tickets.push(db_id(t.id)),
                    _ => batch.tickets.push(ticket_of(t)),
                }
            }
            let next = page.next_start(&tickets);
            batch.tickets_cursor = Some((cursor_text(&next), page.end_of_stream));
            batch.synced = page.end_of_stream;
            pages.apply(&batch).await?;
            tickets = next;
            if page.end_of_stream {
                break;
            }
        }
        Ok(())
    }
}

fn cursor_text(start: &ExportStart) -> String {
    match start {
        ExportStart::Cursor(cursor) => cursor.clone(),
        // No cursor yet (Zendesk always sends one): start over next time.
        ExportStart::StartTime(_) => String::new(),
    }
}
