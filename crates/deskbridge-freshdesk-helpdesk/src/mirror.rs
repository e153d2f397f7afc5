//! The Freshdesk account's changes for its local mirror (`deskbridge_mirror`):
//! List All Contacts by `_updated_since` and List All Tickets by
//! `updated_since` (oldest change first), page by page (`Link`), in the
//! budget's bulk lane and counted under the plan's contact-list and
//! ticket-list limits (Growth: 20 a minute each), so a poll that finds
//! nothing new costs three requests (contacts, deleted contacts, tickets).
//!
//! - **Cursors are times.** Each list goes on from the `updated_at` it last
//!   reached, less [`OVERLAP`]: a record changed while the round paged
//!   through the list (contacts come ordered by name, not by change) is read
//!   again next round rather than missed. Reading a record twice changes
//!   nothing.
//! - **Page limits.** Freshdesk refuses a ticket list page beyond the 300th;
//!   a round that reaches it goes on from the newest change it has read
//!   (tickets come oldest change first, so nothing is skipped). Contacts come
//!   ordered by name, so their list is read to its end, never cut short.
//! - **Deleted contacts.** The contact list leaves them out, so each round
//!   after the first load also lists the contacts deleted since the cursor
//!   (`state=deleted`, one more contact-list request) and takes them out of
//!   the mirror: a call from their number is looked up again in Freshdesk,
//!   not given a contact that is gone. Closed tickets leave the mirror.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deskbridge_core::phone::{Phone, Region};
use deskbridge_freshdesk::types as fd;
use deskbridge_freshdesk::{FreshdeskClient, FreshdeskError};
use deskbridge_mirror::{MirrorSource, Pages, SyncError, db_id};
use deskbridge_store::{MirrorBatch, MirrorRecord, MirrorTicket, MirrorUser};

use crate::known::status_word;

/// How far back of the newest change read a list is read again next round.
const OVERLAP: chrono::Duration = chrono::Duration::minutes(2);

/// The last page of tickets Freshdesk lists ("You cannot access tickets
/// beyond the 300th page").
const LAST_TICKETS_PAGE: u32 = 300;

/// A contact as the mirror keeps it: its phone and mobile as libphonenumber
/// reads them in `region`, E.164 only.
pub fn contact_of(c: &fd::Contact, region: Region) -> MirrorUser {
    MirrorUser {
        id: db_id(c.id),
        name: c.name.clone(),
        email: c.email.clone(),
        external_id: c.unique_external_id.clone(),
        is_agent: false,
        shared_phone: false,
        phones: c
            .numbers()
            .filter_map(|p| Phone::parse(p, region).e164().map(str::to_string))
            .collect(),
        created_at: c.created_at,
    }
}

pub fn ticket_of(t: &fd::Ticket) -> MirrorTicket {
    MirrorTicket {
        id: db_id(t.id),
        requester_id: t.requester_id.map(db_id),
        assignee_id: t.responder_id.map(db_id),
        status: status_word(t.status).to_string(),
        updated_at: t.updated_at,
        external_id: None,
    }
}

/// Freshdesk's change lists as a mirror's source.
pub struct Lists {
    client: Arc<FreshdeskClient>,
    region: Region,
}

impl Lists {
    pub fn new(client: Arc<FreshdeskClient>, region: Region) -> Lists {
        Lists { client, region }
    }
}

/// A stored cursor as the time to list from (none: from the start).
fn since(cursor: Option<&String>) -> DateTime<Utc> {
    cursor
        .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
        .map_or(DateTime::UNIX_EPOCH, |t| t.with_timezone(&Utc))
}

/// Where one list stands in a round.
struct Walk {
    since: DateTime<Utc>,
    page: u32,
    newest: DateTime<Utc>,
    started: DateTime<Utc>,
    /// Past this page the list starts over from its newest change (a list
    /// ordered by change only); `None`: read to the end.
    last_page: Option<u32>,
}

impl Walk {
    fn new(cursor: Option<&String>, last_page: Option<u32>) -> Walk {
        let since = since(cursor);
        Walk {
            since,
            page: 1,
            newest: since,
            started: Utc::now(),
            last_page,
        }
    }

    /// The cursor the next round starts from.
    fn cursor(&self) -> String {
        let next = (self.newest.min(self.started) - OVERLAP).max(DateTime::UNIX_EPOCH);
        next.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    /// After a page: whether the list is at its end; else the next page (or,
    /// at the last page Freshdesk lists, the first from the newest change).
    fn next(&mut self, more: bool, newest: Option<DateTime<Utc>>) -> bool {
        if let Some(newest) = newest {
            self.newest = self.newest.max(newest);
        }
        if !more {
            return true;
        }
        match self.last_page {
            Some(last) if self.page >= last => {
                self.since = self.newest;
                self.page = 1;
            }
            _ => self.page += 1,
        }
        false
    }
}

/// One list, from its stored `cursor` to its end: each page fetched by
/// `fetch(since, page)`, made a batch by `batch_of(items, (cursor, done))`
/// and applied. Until the list's end the stored cursor stays where this round
/// began, so a round stopped halfway starts over from there.
async fn walk_list<T, Fetched>(
    cursor: Option<&String>,
    last_page: Option<u32>,
    pages: &Pages<'_>,
    fetch: impl Fn(DateTime<Utc>, u32) -> Fetched,
    updated_at: impl Fn(&T) -> DateTime<Utc>,
    batch_of: impl Fn(&[T], (String, bool)) -> MirrorBatch,
) -> Result<(), SyncError>
where
    Fetched: std::future::Future<Output = Result<(Vec<T>, bool), FreshdeskError>>,
{
    let mut walk = Walk::new(cursor, last_page);
    loop {
        let (items, more) = match fetch(walk.since, walk.page).await {
            Ok(page) => page,
            Err(FreshdeskError::RateLimited(wait) | FreshdeskError::HeldBack(wait)) => {
                pages.wait_out(wait).await?;
                continue;
            }
            Err(e) => return Err(SyncError::Helpdesk(format!("Freshdesk: {e}"))),
        };
        let done = walk.next(more, items.iter().map(&updated_at).max());
        let stored = match done {
            true => walk.cursor(),
            false => cursor.cloned().unwrap_or_default(),
        };
        pages.apply(&batch_of(&items, (stored, done))).await?;
        if done {
            return Ok(());
        }
    }
}

#[async_trait]
impl MirrorSource for Lists {
    /// The contacts, then the tickets, each from its stored cursor to the end
    /// of its list; the tickets' end marks the mirror synced.
    async fn sync(
        &self,
        record: Option<&MirrorRecord>,
        pages: &Pages<'_>,
    ) -> Result<(), SyncError> {
        let users_cursor = record.and_then(|r| r.users_cursor.as_ref());
        // Deletions first, from the cursor the contacts start from: the
        // contacts' walk stores the next cursor only at its end, so a round
        // cut short lists both again.
        if users_cursor.is_some() {
            walk_list(
                users_cursor,
                None,
                pages,
                |since, page| self.client.deleted_contacts_since(since, page),
                |c: &fd::Contact| c.updated_at,
                |contacts, _| MirrorBatch {
                    removed_users: contacts.iter().map(|c| db_id(c.id)).collect(),
                    ..MirrorBatch::default()
                },
            )
            .await?;
        }
        walk_list(
            users_cursor,
            None,
            pages,
            |since, page| self.client.contacts_changed_since(since, page),
            |c: &fd::Contact| c.updated_at,
            |contacts, cursor| {
                let mut batch = MirrorBatch::default();
                for c in contacts {
                    match c.deleted {
                        true => batch.removed_users.push(db_id(c.id)),
                        false => batch.users.push(contact_of(c, self.region)),
                    }
                }
                batch.users_cursor = Some(cursor);
                batch
            },
        )
        .await?;
        walk_list(
            record.and_then(|r| r.tickets_cursor.as_ref()),
            Some(LAST_TICKETS_PAGE),
            pages,
            |since, page| self.client.tickets_changed_page(since, page),
            |t: &fd::Ticket| t.updated_at,
            |tickets, cursor| {
                let mut batch = MirrorBatch::default();
                for t in tickets {
                    match t.status {
                        fd::STATUS_CLOSED => batch.removed_tickets.push(db_id(t.id)),
                        _ => batch.tickets.push(ticket_of(t)),
                    }
                }
                batch.synced = cursor.1;
                batch.tickets_cursor = Some(cursor);
                batch
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_round_goes_on_from_its_newest_change_less_the_overlap() {
        let mut walk = Walk::new(None, None);
        assert_eq!(walk.since, DateTime::UNIX_EPOCH);
        let t = Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap();
        assert!(!walk.next(true, Some(t)));
        assert_eq!(walk.page, 2);
        assert!(walk.next(false, None));
        assert_eq!(walk.cursor(), "2026-12-01T09:58:00Z");
        let again = Walk::new(Some(&walk.cursor()), None);
        assert_eq!(again.since, t - OVERLAP);
    }

    #[test]
    fn the_last_listed_page_of_tickets_starts_over_from_the_newest_change() {
        let mut walk = Walk::new(None, Some(LAST_TICKETS_PAGE));
        walk.page = LAST_TICKETS_PAGE;
        let t = Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap();
        assert!(!walk.next(true, Some(t)));
        assert_eq!((walk.page, walk.since), (1, t));
        // Contacts (ordered by name) are read on, whatever the page.
        let mut contacts = Walk::new(None, None);
        contacts.page = 400;
        assert!(!contacts.next(true, Some(t)));
        assert_eq!((contacts.page, contacts.since), (401, DateTime::UNIX_EPOCH));
    }
}
