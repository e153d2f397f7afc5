//! Zendesk behind the helpdesk port, spending as few requests per call as it can.
//!
//! What deskbridge created or looked up is remembered, so a repeat caller costs no
//! lookup and a user created seconds ago is never searched for (Zendesk's search
//! index lags by minutes). Users are created with `create_or_update` and an
//! external id derived from the phone, so a retried create, from this process or
//! another, returns the same user. Tickets are created with an `Idempotency-Key`.
//! Comments have no such key: a comment step that ran before (and may have
//! written before a crash) first looks for its comment on the ticket.
//!
//! Split by what it does: `users` (callers and visitors), `tickets`, `comments`
//! (with `batch`: comments for a busy ticket in one update), `call_records`,
//! `pops`, `cache` and `agents` (what is remembered), `mirror` (the account's
//! local copy). Every decision about a call is the core's (`deskbridge_core::
//! ticket_rules`, `decide`, `policy`): this crate carries it out in Zendesk's
//! requests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use deskbridge_core::pop::{PopDelivery, PopTarget};
use deskbridge_core::ports::*;
use deskbridge_zendesk::ZendeskClient;

mod agents;
mod batch;
mod cache;
mod call_records;
mod comments;
mod error;
pub mod mirror;
mod pops;
mod tickets;
mod users;

use agents::AgentLookup;
use batch::Batches;
use cache::Cache;
use mirror::AccountMirror;

pub use tickets::ticket_external_id;
pub use users::phone_external_id;

pub struct ZendeskHelpdesk {
    client: Arc<ZendeskClient>,
    /// Agents from the directory that carry their Zendesk id.
    known_agents: HashMap<String, u64>,
    match_shared_numbers: bool,
    cache: Mutex<Cache>,
    /// Agent email (lowercase) → its lookup.
    agents: Mutex<HashMap<String, AgentLookup>>,
    /// Comments waiting for a busy ticket, combined into one update.
    batches: Batches,
    /// The account refused call records (403 or 404: no Talk Partner Edition):
    /// later calls write their text comment straight away instead of spending
    /// a request on a refusal each.
    calls_refused: Mutex<Option<String>>,
    /// The account's local mirror (`mirror = true`): asked first while it is
    /// current, so a caller costs no search and an IVR's ticket no GET.
    mirror: Option<Arc<dyn AccountMirror>>,
}

impl ZendeskHelpdesk {
    pub fn new(
        client: Arc<ZendeskClient>,
        known_agents: HashMap<String, u64>,
        match_shared_numbers: bool,
    ) -> ZendeskHelpdesk {
        ZendeskHelpdesk {
            client,
            known_agents: known_agents
                .into_iter()
                .map(|(email, id)| (email.to_ascii_lowercase(), id))
                .collect(),
            match_shared_numbers,
            cache: Mutex::new(Cache::default()),
            agents: Mutex::new(HashMap::new()),
            batches: Batches::default(),
            calls_refused: Mutex::new(None),
            mirror: None,
        }
    }

    /// Asks `mirror` first while it is current.
    pub fn with_mirror(mut self, mirror: Arc<dyn AccountMirror>) -> ZendeskHelpdesk {
        self.mirror = Some(mirror);
        self
    }
}

#[async_trait]
impl Helpdesk for ZendeskHelpdesk {
    async fn find_contacts_by_phone(
        &self,
        e164: &str,
    ) -> Result<Vec<ContactSummary>, HelpdeskError> {
        self.callers_with_number(e164).await
    }

    async fn find_contacts_by_email(
        &self,
        email: &str,
    ) -> Result<Vec<ContactSummary>, HelpdeskError> {
        self.visitors_with_email(email).await
    }

    async fn get_contact(&self, id: &str) -> Result<Option<ContactSummary>, HelpdeskError> {
        self.user(id).await
    }

    async fn create_organization(
        &self,
        name: &str,
        _key: &IdempotencyKey,
    ) -> Result<String, HelpdeskError> {
        self.organization_named(name, _key).await
    }

    async fn create_contact(
        &self,
        new: &NewContact,
        key: &IdempotencyKey,
    ) -> Result<ContactSummary, HelpdeskError> {
        self.upsert_user(new, key).await
    }

    async fn get_ticket(&self, id: &str) -> Result<Option<TicketSummary>, HelpdeskError> {
        self.show_ticket(id).await
    }

    async fn caller_tickets(&self, contact_id: &str) -> Result<Vec<TicketSummary>, HelpdeskError> {
        self.open_tickets_of(contact_id).await
    }

    async fn ticket_made_by(&self, key: &IdempotencyKey) -> Result<Option<String>, HelpdeskError> {
        self.ticket_of_key(key).await
    }

    async fn create_ticket(
        &self,
        t: &NewTicket,
        key: &IdempotencyKey,
    ) -> Result<TicketCreated, HelpdeskError> {
        self.open_ticket(t, key).await
    }

    async fn tickets_with_field(
        &self,
        field: &str,
        value: &str,
    ) -> Result<Vec<TicketSummary>, HelpdeskError> {
        self.tickets_by_field(field, value).await
    }

    async fn display(
        &self,
        agent_email: &str,
        target: &PopTarget,
    ) -> Result<Option<PopDelivery>, HelpdeskError> {
        self.pop(agent_email, target).await
    }

    async fn add_comment(
        &self,
        ticket_id: &str,
        comment: &NewComment,
        key: &IdempotencyKey,
    ) -> Result<CommentAdded, HelpdeskError> {
        self.comment_on(ticket_id, comment, key).await
    }

    async fn add_contact_phone(&self, contact_id: &str, e164: &str) -> Result<(), HelpdeskError> {
        self.add_number(contact_id, e164).await
    }

    async fn update_call_record(
        &self,
        record_id: &str,
        recording_url: &str,
    ) -> Result<(), HelpdeskError> {
        self.add_recording_to_call(record_id, recording_url).await
    }

    async fn search_contacts(
        &self,
        query: &str,
        limit: usize,
    ) -> Result<Vec<ContactSummary>, HelpdeskError> {
        self.search_users(query, limit).await
    }
}

#[cfg(test)]
mod tests;
