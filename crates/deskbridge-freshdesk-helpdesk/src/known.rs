//! What this process looked up or made in Freshdesk, trusted for a while: a
//! repeat caller costs no lookup, a contact made seconds ago is never searched
//! for (the search index lags), and agents are looked up once.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use deskbridge_core::ports::{ContactSummary, TicketSummary};
use deskbridge_freshdesk::types as fd;

/// How long looked-up facts are trusted. Contacts change rarely; tickets change
/// whenever an agent works on them.
pub(crate) const CONTACT_TTL: Duration = Duration::from_secs(3600);
pub(crate) const TICKET_TTL: Duration = Duration::from_secs(120);
/// How long a ticket's status *read* from Freshdesk is taken as its status
/// now, before a note is added. Freshdesk takes a note on a closed ticket
/// without a word, where no agent looks; so the status is read again unless
/// the step itself just read it (the reuse window's list, an IVR's ticket).
/// What deskbridge's own create or update answered is not such a read: an
/// agent works on the ticket from then on (a ticket made at the answer).
pub(crate) const STATUS_TTL: Duration = Duration::from_secs(5);

#[derive(Default)]
pub(crate) struct Known {
    pub(crate) by_phone: HashMap<String, (Instant, Vec<ContactSummary>)>,
    pub(crate) tickets: HashMap<u64, (Instant, fd::Ticket)>,
    /// When each ticket was last read from Freshdesk (not written).
    pub(crate) read: HashMap<u64, Instant>,
    /// Requester → their not-closed tickets, when fetched or all known.
    pub(crate) requested: HashMap<u64, (Instant, Vec<u64>)>,
    /// Agent email (lowercase) → id, and back.
    pub(crate) agent_ids: HashMap<String, Option<u64>>,
    pub(crate) agent_emails: HashMap<u64, String>,
    /// Freshdesk refused `unique_external_id` (the account lacks the unique
    /// contact identifier): contacts are made without it.
    pub(crate) no_external_ids: bool,
}

/// The entry, while younger than `ttl`.
pub(crate) fn fresh<T: Clone>(entry: Option<&(Instant, T)>, ttl: Duration) -> Option<T> {
    entry
        .filter(|(at, _)| at.elapsed() < ttl)
        .map(|(_, v)| v.clone())
}

/// Freshdesk's status number as the port's word ("Status" table: 2 open,
/// 3 pending, 4 resolved, 5 closed). An account's own statuses (above 5) wait
/// on someone, as pending does.
pub(crate) fn status_word(status: u8) -> &'static str {
    match status {
        fd::STATUS_OPEN => "open",
        fd::STATUS_RESOLVED => "solved",
        fd::STATUS_CLOSED => "closed",
        _ => "pending",
    }
}

impl Known {
    pub(crate) fn summary(&self, t: &fd::Ticket) -> TicketSummary {
        TicketSummary {
            id: t.id.to_string(),
            status: status_word(t.status).into(),
            requester_id: t.requester_id.map(|r| r.to_string()),
            assignee: t
                .responder_id
                .and_then(|id| self.agent_emails.get(&id).cloned()),
            updated_at: t.updated_at,
        }
    }

    /// A mirrored ticket as the port shows it.
    pub(crate) fn mirrored(&self, t: &deskbridge_store::MirrorTicket) -> TicketSummary {
        deskbridge_mirror::ticket(t, |a| self.agent_emails.get(&a).cloned())
    }

    /// Remembers a ticket just read from Freshdesk.
    pub(crate) fn read_ticket(&mut self, t: &fd::Ticket) -> TicketSummary {
        self.read.insert(t.id, Instant::now());
        self.ticket(t)
    }

    /// The ticket as last read, while that read is younger than `ttl`.
    pub(crate) fn read_within(&self, id: u64, ttl: Duration) -> Option<fd::Ticket> {
        self.read
            .get(&id)
            .filter(|at| at.elapsed() < ttl)
            .and_then(|_| self.tickets.get(&id))
            .map(|(_, t)| t.clone())
    }

    /// Remembers the ticket (and its place in its requester's list).
    pub(crate) fn ticket(&mut self, t: &fd::Ticket) -> TicketSummary {
        if let Some(requester) = t.requester_id
            && let Some((_, ids)) = self.requested.get_mut(&requester)
        {
            ids.retain(|id| *id != t.id);
            if t.status != fd::STATUS_CLOSED {
                ids.insert(0, t.id);
            }
        }
        self.tickets.insert(t.id, (Instant::now(), t.clone()));
        self.summary(t)
    }
}
