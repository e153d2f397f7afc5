//! Freshdesk behind the helpdesk port, spending as few requests per call as it
//! can, under limits far below Zendesk's (Growth: 200 a minute, 20 contact
//! lists).
//!
//! What deskbridge created or looked up is remembered (`known`), so a repeat
//! caller costs no lookup. Freshdesk keeps no idempotency key, so every write
//! carries a mark its retry looks for first: a contact the number's
//! `unique_external_id` (a second create answers 409 with the first), a ticket
//! a tag made from its step's key (`text::key_tag`), a note its step's key as
//! its last line.
//!
//! Split by what it does: `contacts` (callers, visitors, companies), `tickets`,
//! `notes` (the call on an existing ticket, a closed ticket's follow-up),
//! `agents`, `known` (what is remembered), `mirror` (the account's local copy,
//! asked first while current), `text` (HTML and marks). Every
//! decision about a call is the core's (`deskbridge_core::ticket_rules`,
//! `decide`, `policy`): this crate carries it out in Freshdesk's requests.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use deskbridge_core::ports::*;
use deskbridge_freshdesk::{FreshdeskClient, FreshdeskError};
use deskbridge_mirror::AccountMirror;

mod agents;
mod contacts;
mod known;
pub mod mirror;
mod notes;
mod text;
mod tickets;

pub use text::phone_external_id;

use known::Known;

pub struct FreshdeskHelpdesk {
    client: Arc<FreshdeskClient>,
    known: Mutex<Known>,
    /// The account's local mirror (`mirror = true`): asked first while it is
    /// current, so a caller costs no search and a ticket no GET.
    mirror: Option<Arc<dyn AccountMirror>>,
    /// A private call may be a new ticket's description (`call_in_description`):
    /// one request instead of two, the requester able to read it.
    call_in_description: bool,
    /// Reads a number an agent types without its country code (the agent
    /// page's search): the server's `default_region`.
    region: deskbridge_core::Region,
}

impl FreshdeskHelpdesk {
    pub fn new(client: Arc<FreshdeskClient>) -> FreshdeskHelpdesk {
        FreshdeskHelpdesk {
            client,
            known: Mutex::new(Known::default()),
            mirror: None,
            call_in_description: false,
            region: deskbridge_core::Region::default(),
        }
    }

    /// Reads numbers typed without a country code as `region`'s.
    pub fn with_region(mut self, region: deskbridge_core::Region) -> FreshdeskHelpdesk {
        self.region = region;
        self
    }

    /// Puts a private call into a new ticket's description (one request),
    /// where its requester can read it.
    pub fn with_call_in_description(mut self, allowed: bool) -> FreshdeskHelpdesk {
        self.call_in_description = allowed;
        self
    }

    /// Asks `mirror` first while it is current.
    pub fn with_mirror(mut self, mirror: Arc<dyn AccountMirror>) -> FreshdeskHelpdesk {
        self.mirror = Some(mirror);
        self
    }

    /// A ticket deskbridge just made or changed, into the mirror at once.
    async fn mirror_ticket(&self, t: &deskbridge_freshdesk::types::Ticket) {
        if let Some(mirror) = &self.mirror {
            mirror.put_ticket(&mirror::ticket_of(t)).await;
        }
    }

    pub fn client(&self) -> &Arc<FreshdeskClient> {
        &self.client
    }

    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The client's sorting of a failure, for the worker: it retries transient ones
/// (not before Freshdesk's `Retry-After`), waits out held-back ones
/// without spending an attempt, and records permanent ones.
pub(crate) fn helpdesk_error(e: FreshdeskError) -> HelpdeskError {
    match e {
        FreshdeskError::HeldBack(after) => HelpdeskError::held_back(after, e.to_string()),
        e => HelpdeskError::sorted(e.is_transient(), e.retry_after(), e.to_string()),
    }
}

/// A Freshdesk id from the port's string.
pub(crate) fn fid(id: &str, what: &str) -> Result<u64, HelpdeskError> {
    id.parse()
        .map_err(|_| HelpdeskError::Permanent(format!("{what} {id:?} is not a Freshdesk id")))
}

#[async_trait]
impl Helpdesk for FreshdeskHelpdesk {
    async fn find_contacts_by_phone(
        &self,
        e164: &str,
    ) -> Result<Vec<ContactSummary>, HelpdeskError> {
        self.callers_with_number(e164).await
    }

    async fn get_contact(&self, id: &str) -> Result<Option<ContactSummary>, HelpdeskError> {
        self.contact(id).await
    }

    async fn find_contacts_by_email(
        &self,
        email: &str,
    ) -> Result<Vec<ContactSummary>, HelpdeskError> {
        self.visitors_with_email(email).await
    }

    async fn create_organization(
        &self,
        name: &str,
        _key: &IdempotencyKey,
    ) -> Result<String, HelpdeskError> {
        self.company_named(name).await
    }

    async fn get_ticket(&self, id: &str) -> Result<Option<TicketSummary>, HelpdeskError> {
        self.show_ticket(id).await
    }

    async fn caller_tickets(&self, contact_id: &str) -> Result<Vec<TicketSummary>, HelpdeskError> {
        self.open_tickets_of(contact_id).await
    }

    async fn ticket_made_by(&self, key: &IdempotencyKey) -> Result<Option<String>, HelpdeskError> {
        Ok(self
            .ticket_with_key(key.as_str())
            .await?
            .map(|t| t.id.to_string()))
    }

    async fn create_contact(
        &self,
        contact: &NewContact,
        key: &IdempotencyKey,
    ) -> Result<ContactSummary, HelpdeskError> {
        self.make_contact(contact, key).await
    }

    async fn create_ticket(
        &self,
        ticket: &NewTicket,
        key: &IdempotencyKey,
    ) -> Result<TicketCreated, HelpdeskError> {
        self.open_ticket(ticket, key).await
    }

    async fn add_comment(
        &self,
        ticket_id: &str,
        comment: &NewComment,
        key: &IdempotencyKey,
    ) -> Result<CommentAdded, HelpdeskError> {
        self.note_on(ticket_id, comment, key).await
    }

    async fn add_contact_phone(&self, contact_id: &str, e164: &str) -> Result<(), HelpdeskError> {
        self.add_number(contact_id, e164).await
    }

    async fn search_contacts(
        &self,
        query: &str,
        limit: usize,
    ) -> Result<Vec<ContactSummary>, HelpdeskError> {
        self.contacts_matching(query, limit).await
    }

    async fn tickets_with_field(
        &self,
        field: &str,
        value: &str,
    ) -> Result<Vec<TicketSummary>, HelpdeskError> {
        self.tickets_by_field(field, value).await
    }
}
