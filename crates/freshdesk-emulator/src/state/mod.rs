//! The account's records and the rules for changing them.
//!
//! Every mutation validates completely before it writes anything, so a request
//! that fails leaves the account as it was, like a database transaction in the
//! real service. The HTTP layer only routes and renders; the rules live here.

mod contacts;
mod fields;
mod notes;
mod requester;
mod seeding;
mod tickets;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use crate::EmulatorConfig;
use crate::model::{Agent, Company, Contact, Note, Ticket, TicketField};
use crate::search::Index;

/// Where each id sequence starts. Users (contacts and agents) share one, as in
/// Freshdesk where an agent's id is its user id; different ranges per kind, so a
/// client that sends a company id where a contact id belongs gets an error
/// instead of a lucky match. Tickets count from 1 (`display_id`).
struct NextIds {
    user: u64,
    company: u64,
    note: u64,
    field: u64,
    group: u64,
    product: u64,
    ticket: u64,
}

impl NextIds {
    fn new() -> NextIds {
        NextIds {
            user: 43_000_000_001,
            company: 43_100_000_001,
            note: 43_200_000_001,
            field: 43_300_000_001,
            group: 43_400_000_001,
            product: 43_500_000_001,
            ticket: 1,
        }
    }
}

fn take(counter: &mut u64) -> u64 {
    let id = *counter;
    *counter += 1;
    id
}

/// Now, in whole seconds (see `model`).
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

pub(crate) struct Store {
    /// How long a write stays out of search.
    pub(crate) search_lag: Duration,
    /// The `unique_contact_identifier` feature.
    pub(crate) unique_external_id: bool,
    /// The agent who owns the API key.
    pub(crate) owner_id: u64,
    pub(crate) contacts: BTreeMap<u64, Contact>,
    pub(crate) agents: BTreeMap<u64, Agent>,
    pub(crate) companies: BTreeMap<u64, Company>,
    pub(crate) groups: BTreeMap<u64, String>,
    pub(crate) products: BTreeMap<u64, String>,
    pub(crate) tickets: BTreeMap<u64, Ticket>,
    pub(crate) notes: BTreeMap<u64, Note>,
    /// Default fields first, then custom ones, in `position` order.
    pub(crate) ticket_fields: Vec<TicketField>,
    pub(crate) contact_index: Index<Contact>,
    pub(crate) ticket_index: Index<Ticket>,
    next: NextIds,
}

impl Store {
    pub(crate) fn new(config: &EmulatorConfig) -> Store {
        let mut store = Store {
            search_lag: config.search_lag,
            unique_external_id: config.unique_external_id,
            owner_id: 0,
            contacts: BTreeMap::new(),
            agents: BTreeMap::new(),
            companies: BTreeMap::new(),
            groups: BTreeMap::new(),
            products: BTreeMap::new(),
            tickets: BTreeMap::new(),
            notes: BTreeMap::new(),
            ticket_fields: Vec::new(),
            contact_index: Index::default(),
            ticket_index: Index::default(),
            next: NextIds::new(),
        };
        store.add_default_fields();
        let domain = if config.domain.is_empty() {
            "acme"
        } else {
            config.domain.as_str()
        };
        store.owner_id = store.seed_agent(&format!("admin@{domain}.com"), "Account Admin");
        store
    }

    fn user_id(&mut self) -> u64 {
        take(&mut self.next.user)
    }

    /// When a write made now reaches search.
    fn visible_at(&self) -> Instant {
        Instant::now() + self.search_lag
    }

    /// Stores a contact and queues its new version for the search index.
    pub(crate) fn put_contact(&mut self, contact: Contact, visible_at: Instant) {
        self.contact_index
            .write(contact.id, visible_at, contact.clone());
        self.contacts.insert(contact.id, contact);
    }

    /// Stores a ticket and queues its new version for the search index.
    pub(crate) fn put_ticket(&mut self, ticket: Ticket, visible_at: Instant) {
        self.ticket_index
            .write(ticket.id, visible_at, ticket.clone());
        self.tickets.insert(ticket.id, ticket);
    }

    /// A contact or agent: who can request a ticket or write a note.
    pub(crate) fn user_exists(&self, id: u64) -> bool {
        self.contacts.contains_key(&id) || self.agents.contains_key(&id)
    }

    /// The user (contact or agent) whose email this is, compared as MySQL
    /// compares it: case-insensitively (inferred).
    pub(crate) fn user_with_email(&self, email: &str) -> Option<u64> {
        let contact = self.contacts.values().find(|c| {
            c.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        });
        contact.map(|c| c.id).or_else(|| {
            self.agents
                .values()
                .find(|a| a.email.eq_ignore_ascii_case(email))
                .map(|a| a.id)
        })
    }

    pub(crate) fn agent_with_email(&self, email: &str) -> Option<&Agent> {
        self.agents
            .values()
            .find(|a| a.email.eq_ignore_ascii_case(email))
    }

    /// A ticket's notes, oldest first.
    pub(crate) fn notes_of(&self, ticket_id: u64) -> Vec<&Note> {
        let mut notes: Vec<&Note> = self
            .notes
            .values()
            .filter(|note| note.ticket_id == ticket_id)
            .collect();
        notes.sort_by_key(|note| (note.created_at, note.id));
        notes
    }

    pub(crate) fn custom_fields(&self) -> impl Iterator<Item = &TicketField> {
        self.ticket_fields.iter().filter(|field| !field.default)
    }

    pub(crate) fn snapshot(&self) -> StateSnapshot {
        StateSnapshot {
            contacts: self.contacts.values().cloned().collect(),
            companies: self.companies.values().cloned().collect(),
            agents: self.agents.values().cloned().collect(),
            tickets: self.tickets.values().cloned().collect(),
            notes: self.notes.values().cloned().collect(),
            ticket_fields: self.ticket_fields.clone(),
        }
    }
}

/// A copy of every record at one moment, in id order, for assertions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateSnapshot {
    pub contacts: Vec<Contact>,
    pub companies: Vec<Company>,
    /// The key's owner first, then the seeded agents.
    pub agents: Vec<Agent>,
    pub tickets: Vec<Ticket>,
    pub notes: Vec<Note>,
    /// Default fields, then custom ones.
    pub ticket_fields: Vec<TicketField>,
}

impl StateSnapshot {
    pub fn contact(&self, id: u64) -> Option<&Contact> {
        self.contacts.iter().find(|c| c.id == id)
    }

    pub fn ticket(&self, id: u64) -> Option<&Ticket> {
        self.tickets.iter().find(|t| t.id == id)
    }

    /// Contacts whose `phone` or `mobile` is exactly `number`: how a test checks
    /// that one caller became one contact.
    pub fn contacts_with_number(&self, number: &str) -> Vec<&Contact> {
        self.contacts
            .iter()
            .filter(|c| c.phone.as_deref() == Some(number) || c.mobile.as_deref() == Some(number))
            .collect()
    }

    /// A ticket's notes, in id order.
    pub fn notes_of(&self, ticket_id: u64) -> Vec<&Note> {
        self.notes
            .iter()
            .filter(|n| n.ticket_id == ticket_id)
            .collect()
    }

    /// Tickets requested by a contact, in id order.
    pub fn tickets_of(&self, requester_id: u64) -> Vec<&Ticket> {
        self.tickets
            .iter()
            .filter(|t| t.requester_id == requester_id)
            .collect()
    }
}

/// Record builders for unit tests elsewhere in the crate.
#[cfg(test)]
pub(crate) mod tests_support {
    use crate::model::{Contact, Ticket};

    pub(crate) fn contact(id: u64) -> Contact {
        super::seeding::blank_contact(id, format!("Contact {id}"))
    }

    pub(crate) fn ticket(id: u64) -> Ticket {
        let at = super::now();
        let (due_by, fr_due_by) = super::tickets::due_dates(at);
        Ticket {
            id,
            requester_id: 1,
            responder_id: None,
            subject: "Call".to_owned(),
            description: "<div>Call</div>".to_owned(),
            description_text: "Call".to_owned(),
            status: 2,
            priority: 1,
            source: 3,
            ticket_type: None,
            group_id: None,
            product_id: None,
            company_id: None,
            tags: Vec::new(),
            cc_emails: Vec::new(),
            custom_fields: serde_json::Map::new(),
            due_by,
            fr_due_by,
            created_at: at,
            updated_at: at,
        }
    }
}
