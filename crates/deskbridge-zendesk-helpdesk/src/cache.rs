//! What this process looked up or made in Zendesk, trusted for a while: a
//! repeat caller costs no lookup, and a user created seconds ago is never
//! searched for (Zendesk's search index lags by minutes).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use deskbridge_core::ports::{ContactSummary, TicketSummary};
use deskbridge_store::MirrorTicket;
use deskbridge_zendesk::types as zd;

use crate::ZendeskHelpdesk;

/// How long looked-up facts are trusted. Contacts change rarely; tickets change
/// whenever an agent works on them.
pub(crate) const CONTACT_TTL: Duration = Duration::from_secs(3600);
pub(crate) const TICKET_TTL: Duration = Duration::from_secs(120);

/// Looked-up facts with the moment each was learnt.
#[derive(Default)]
pub(crate) struct Cache {
    pub(crate) by_phone: HashMap<String, (Instant, Vec<ContactSummary>)>,
    pub(crate) contacts: HashMap<String, (Instant, ContactSummary)>,
    pub(crate) tickets: HashMap<String, (Instant, TicketSummary)>,
    /// Requester → their not-closed tickets, when fetched or all known.
    pub(crate) requested: HashMap<String, (Instant, Vec<String>)>,
}

/// The entry, while younger than `ttl`.
pub(crate) fn fresh<T: Clone>(entry: Option<&(Instant, T)>, ttl: Duration) -> Option<T> {
    entry
        .filter(|(at, _)| at.elapsed() < ttl)
        .map(|(_, v)| v.clone())
}

pub(crate) fn ticket(t: &zd::Ticket) -> TicketSummary {
    TicketSummary {
        // Filled from the agents deskbridge knows (`ZendeskHelpdesk::summary`).
        assignee: None,
        id: t.id.to_string(),
        status: t.status.clone(),
        requester_id: t.requester_id.map(|r| r.to_string()),
        updated_at: t.updated_at,
    }
}

impl ZendeskHelpdesk {
    /// A mirrored ticket as the port shows it.
    pub(crate) fn mirrored_ticket(&self, t: &MirrorTicket) -> TicketSummary {
        deskbridge_mirror::ticket(t, |a| self.agent_email(a))
    }

    /// Caches the ticket as `remember_ticket` does and puts it into the mirror.
    pub(crate) async fn remember_new_ticket(&self, t: &zd::Ticket) {
        self.remember_ticket(t);
        if let Some(mirror) = &self.mirror {
            mirror.put_ticket(&crate::mirror::ticket_of(t)).await;
        }
    }

    /// A ticket as the port shows it, its assignee named by email when the
    /// agent is one deskbridge knows (the directory's `zendesk_id`, or looked up).
    pub(crate) fn summary(&self, t: &zd::Ticket) -> TicketSummary {
        let mut summary = ticket(t);
        summary.assignee = t.assignee_id.and_then(|id| self.agent_email(id));
        summary
    }

    pub(crate) fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Caches the ticket (and its place in its requester's list); its summary.
    pub(crate) fn remember_ticket(&self, t: &zd::Ticket) -> TicketSummary {
        let summary = self.summary(t);
        let mut cache = self.cache();
        if let Some(requester) = &summary.requester_id
            && let Some((_, ids)) = cache.requested.get_mut(requester)
        {
            ids.retain(|id| *id != summary.id);
            if summary.status != "closed" {
                ids.insert(0, summary.id.clone());
            }
        }
        cache
            .tickets
            .insert(summary.id.clone(), (Instant::now(), summary.clone()));
        summary
    }
}
