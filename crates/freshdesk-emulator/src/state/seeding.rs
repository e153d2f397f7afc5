//! Seeding and the agent-side actions of the in-process handle. They write
//! without validation, and what they write is searchable at once.

use std::time::Instant;

use chrono::{DateTime, Utc};

use super::{Store, now, take};
use crate::html;
use crate::model::{Agent, Company, Contact, Ticket};
use crate::seed::{SeedContact, SeedTicket, SeedTicketField};

/// A contact's defaults: English, the account's time zone (a new account's
/// default zone is unverified), not verified.
pub(crate) fn blank_contact(id: u64, name: String) -> Contact {
    let at = now();
    Contact {
        id,
        name,
        phone: None,
        mobile: None,
        email: None,
        twitter_id: None,
        unique_external_id: None,
        company_id: None,
        tags: Vec::new(),
        job_title: None,
        description: None,
        address: None,
        language: "en".to_owned(),
        time_zone: "Eastern Time (US & Canada)".to_owned(),
        active: false,
        deleted: false,
        created_at: at,
        updated_at: at,
    }
}

impl Store {
    pub(crate) fn seed_agent(&mut self, email: &str, name: &str) -> u64 {
        let id = self.user_id();
        let at = now();
        self.agents.insert(
            id,
            Agent {
                id,
                name: name.to_owned(),
                email: email.to_owned(),
                phone: None,
                mobile: None,
                available: true,
                occasional: false,
                ticket_scope: 1,
                created_at: at,
                updated_at: at,
            },
        );
        id
    }

    pub(crate) fn seed_contact(&mut self, seed: SeedContact) -> u64 {
        let id = self.user_id();
        let mut contact = blank_contact(id, seed.name);
        contact.phone = seed.phone;
        contact.mobile = seed.mobile;
        contact.email = seed.email;
        contact.company_id = seed.company_id;
        // Seeded contacts have been around: verified when they have an email.
        contact.active = contact.email.is_some();
        self.put_contact(contact, Instant::now());
        id
    }

    pub(crate) fn seed_company(&mut self, name: &str) -> u64 {
        let id = take(&mut self.next.company);
        let at = now();
        self.companies.insert(
            id,
            Company {
                id,
                name: name.to_owned(),
                description: None,
                domains: Vec::new(),
                note: None,
                created_at: at,
                updated_at: at,
            },
        );
        id
    }

    pub(crate) fn add_company(&mut self, company: Company) -> u64 {
        let id = take(&mut self.next.company);
        self.companies.insert(id, Company { id, ..company });
        id
    }

    pub(crate) fn seed_group(&mut self, name: &str) -> u64 {
        let id = take(&mut self.next.group);
        self.groups.insert(id, name.to_owned());
        id
    }

    pub(crate) fn seed_product(&mut self, name: &str) -> u64 {
        let id = take(&mut self.next.product);
        self.products.insert(id, name.to_owned());
        id
    }

    pub(crate) fn next_ticket_id(&mut self) -> u64 {
        take(&mut self.next.ticket)
    }

    pub(crate) fn next_note_id(&mut self) -> u64 {
        take(&mut self.next.note)
    }

    pub(crate) fn next_field_id(&mut self) -> u64 {
        take(&mut self.next.field)
    }

    pub(crate) fn next_user_id(&mut self) -> u64 {
        self.user_id()
    }

    pub(crate) fn seed_ticket(&mut self, seed: SeedTicket) -> u64 {
        let id = self.next_ticket_id();
        let at = now();
        let (due_by, fr_due_by) = super::tickets::due_dates(at);
        let company_id = self
            .contacts
            .get(&seed.requester_id)
            .and_then(|c| c.company_id);
        let ticket = Ticket {
            id,
            requester_id: seed.requester_id,
            responder_id: None,
            description: format!("<div>{}</div>", html::escape(&seed.subject)),
            description_text: seed.subject.clone(),
            subject: seed.subject,
            status: seed.status,
            priority: 1,
            source: 2,
            ticket_type: None,
            group_id: None,
            product_id: None,
            company_id,
            tags: seed.tags,
            cc_emails: Vec::new(),
            custom_fields: seed.custom_fields,
            due_by,
            fr_due_by,
            created_at: at,
            updated_at: at,
        };
        self.put_ticket(ticket, Instant::now());
        id
    }

    pub(crate) fn seed_ticket_field(&mut self, seed: SeedTicketField) {
        let choices = if seed.field_type == "custom_dropdown" {
            serde_json::json!(seed.choices)
        } else {
            serde_json::Value::Null
        };
        let at = now();
        if let Some(field) = self
            .ticket_fields
            .iter_mut()
            .find(|field| !field.default && field.name == seed.name)
        {
            field.label = seed.label;
            field.field_type = seed.field_type;
            field.required_for_agents = seed.required;
            field.choices = choices;
            field.updated_at = at;
            return;
        }
        let id = self.next_field_id();
        let position = u32::try_from(self.ticket_fields.len() + 1).unwrap_or(u32::MAX);
        self.ticket_fields.push(crate::model::TicketField {
            id,
            name: seed.name,
            label: seed.label,
            field_type: seed.field_type,
            default: false,
            required_for_agents: seed.required,
            position,
            choices,
            created_at: at,
            updated_at: at,
        });
    }

    pub(crate) fn set_ticket_status(&mut self, id: u64, status: u8) {
        if let Some(mut ticket) = self.tickets.get(&id).cloned() {
            ticket.status = status;
            ticket.updated_at = now();
            self.put_ticket(ticket, Instant::now());
        }
    }

    pub(crate) fn delete_contact(&mut self, id: u64) {
        if let Some(mut contact) = self.contacts.get(&id).cloned() {
            contact.deleted = true;
            contact.updated_at = now();
            self.put_contact(contact, Instant::now());
        }
    }

    pub(crate) fn backdate_ticket(&mut self, id: u64, at: DateTime<Utc>) {
        if let Some(mut ticket) = self.tickets.get(&id).cloned() {
            let at = chrono::SubsecRound::trunc_subsecs(at, 0);
            ticket.created_at = at;
            ticket.updated_at = at;
            (ticket.due_by, ticket.fr_due_by) = super::tickets::due_dates(at);
            self.put_ticket(ticket, Instant::now());
        }
    }
}
