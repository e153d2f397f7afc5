//! An in-memory helpdesk for tests of the code that drives the [`Helpdesk`] port
//! (the worker's step loop): it keeps contacts, tickets and comments, honours
//! idempotency keys as the built-in CRM does, moves comments on closed tickets to
//! follow-ups, logs every request, and fails on request.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{
    CommentAdded, ContactSummary, Helpdesk, HelpdeskError, IdempotencyKey, NewComment, NewContact,
    NewTicket, TicketCreated, TicketSummary,
};

/// A ticket as the fake keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeTicket {
    pub id: String,
    pub subject: String,
    pub status: String,
    pub requester_id: Option<String>,
    pub assignee: Option<String>,
    pub comments: Vec<String>,
    /// Tags added by comments' updates (a wrap-up's).
    pub tags: Vec<String>,
    /// Fields set by comments' updates.
    pub custom_fields: Vec<(String, String)>,
}

#[derive(Debug, Default)]
pub struct FakeState {
    pub contacts: Vec<ContactSummary>,
    /// (contact id, email, lowercased) of contacts that have one.
    pub contact_emails: Vec<(String, String)>,
    pub tickets: Vec<FakeTicket>,
    /// Every request, in order, as `operation argument`.
    pub requests: Vec<String>,
    /// Errors the next requests answer with, first one first.
    pub failures: Vec<HelpdeskError>,
    /// Idempotency key → the id of the record made with it.
    keys: HashMap<String, String>,
    next_id: u64,
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct FakeHelpdesk {
    state: Mutex<FakeState>,
    now: Option<DateTime<Utc>>,
}

impl FakeHelpdesk {
    pub fn new() -> FakeHelpdesk {
        FakeHelpdesk::default()
    }

    /// What the fake holds and was asked.
    pub fn state(&self) -> MutexGuard<'_, FakeState> {
        // A test that panicked while holding the lock has failed already.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Answers the next request with this error.
    pub fn fail_next(&self, error: HelpdeskError) {
        self.state().failures.push(error);
    }

    fn now(&self) -> DateTime<Utc> {
        self.now.unwrap_or_else(Utc::now)
    }

    /// Logs the request, then fails it if a failure is due.
    fn request(&self, what: String) -> Result<MutexGuard<'_, FakeState>, HelpdeskError> {
        let mut state = self.state();
        state.requests.push(what);
        if !state.failures.is_empty() {
            return Err(state.failures.remove(0));
        }
        Ok(state)
    }
}

impl FakeState {
    fn id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }

    /// The record made earlier with this key, or a new one made by `make`.
    fn once(&mut self, key: &IdempotencyKey, make: impl FnOnce(&mut Self) -> String) -> String {
        if let Some(id) = self.keys.get(key.as_str()) {
            return id.clone();
        }
        let id = make(self);
        self.keys.insert(key.as_str().to_string(), id.clone());
        id
    }

    fn ticket(&mut self, id: &str) -> Option<&mut FakeTicket> {
        self.tickets.iter_mut().find(|t| t.id == id)
    }
}

#[async_trait]
impl Helpdesk for FakeHelpdesk {
    async fn find_contacts_by_phone(
        &self,
        e164: &str,
    ) -> Result<Vec<ContactSummary>, HelpdeskError> {
        let state = self.request(format!("find_contacts_by_phone {e164}"))?;
        let mut found: Vec<ContactSummary> = state
            .contacts
            .iter()
            .filter(|c| c.phones.iter().any(|p| p == e164))
            .cloned()
            .collect();
        found.reverse();
        Ok(found)
    }

    async fn find_contacts_by_email(
        &self,
        email: &str,
    ) -> Result<Vec<ContactSummary>, HelpdeskError> {
        let state = self.request(format!("find_contacts_by_email {email}"))?;
        let email = email.to_lowercase();
        let mut found: Vec<ContactSummary> = state
            .contacts
            .iter()
            .filter(|c| {
                state
                    .contact_emails
                    .contains(&(c.id.clone(), email.clone()))
            })
            .cloned()
            .collect();
        found.reverse();
        Ok(found)
    }

    async fn get_contact(&self, id: &str) -> Result<Option<ContactSummary>, HelpdeskError> {
        let state = self.request(format!("get_contact {id}"))?;
        Ok(state.contacts.iter().find(|c| c.id == id).cloned())
    }

    async fn create_organization(
        &self,
        name: &str,
        key: &IdempotencyKey,
    ) -> Result<String, HelpdeskError> {
        let mut state = self.request(format!("create_organization {name}"))?;
        Ok(state.once(key, |s| s.id()))
    }

    async fn get_ticket(&self, id: &str) -> Result<Option<TicketSummary>, HelpdeskError> {
        let now = self.now();
        let mut state = self.request(format!("get_ticket {id}"))?;
        Ok(state.ticket(id).map(|t| TicketSummary {
            assignee: None,
            id: t.id.clone(),
            status: t.status.clone(),
            requester_id: t.requester_id.clone(),
            updated_at: now,
        }))
    }

    async fn caller_tickets(&self, contact_id: &str) -> Result<Vec<TicketSummary>, HelpdeskError> {
        let now = self.now();
        let state = self.request(format!("caller_tickets {contact_id}"))?;
        Ok(state
            .tickets
            .iter()
            .rev()
            .filter(|t| t.requester_id.as_deref() == Some(contact_id) && t.status != "closed")
            .map(|t| TicketSummary {
                assignee: None,
                id: t.id.clone(),
                status: t.status.clone(),
                requester_id: t.requester_id.clone(),
                updated_at: now,
            })
            .collect())
    }

    async fn ticket_made_by(&self, key: &IdempotencyKey) -> Result<Option<String>, HelpdeskError> {
        let state = self.request(format!("ticket_made_by {}", key.as_str()))?;
        let id = state.keys.get(key.as_str());
        Ok(id
            .filter(|id| state.tickets.iter().any(|t| &t.id == *id))
            .cloned())
    }

    async fn create_contact(
        &self,
        contact: &NewContact,
        key: &IdempotencyKey,
    ) -> Result<ContactSummary, HelpdeskError> {
        let now = self.now();
        let mut state = self.request(format!(
            "create_contact {}",
            contact
                .phone
                .as_deref()
                .or(contact.email.as_deref())
                .unwrap_or("")
        ))?;
        let id = state.once(key, |s| {
            let id = s.id();
            s.contacts.push(ContactSummary {
                id: id.clone(),
                name: contact.name.clone(),
                phones: contact.phone.iter().cloned().collect(),
                created_at: now,
            });
            if let Some(email) = &contact.email {
                s.contact_emails.push((id.clone(), email.to_lowercase()));
            }
            id
        });
        let found = state.contacts.iter().find(|c| c.id == id).cloned();
        found.ok_or_else(|| HelpdeskError::Permanent(format!("contact {id} was deleted")))
    }

    async fn create_ticket(
        &self,
        ticket: &NewTicket,
        key: &IdempotencyKey,
    ) -> Result<TicketCreated, HelpdeskError> {
        let mut state = self.request(format!("create_ticket {}", ticket.subject))?;
        let id = state.once(key, |s| {
            let id = s.id();
            s.tickets.push(FakeTicket {
                id: id.clone(),
                subject: ticket.subject.clone(),
                status: ticket.status.as_str().to_string(),
                requester_id: ticket.requester_id.clone(),
                assignee: ticket.assignee.clone(),
                comments: ticket.comment.iter().map(|c| c.body.clone()).collect(),
                tags: ticket.tags.clone(),
                custom_fields: ticket.custom_fields.clone(),
            });
            id
        });
        Ok(TicketCreated {
            earlier_text: None,
            id,
            comment_id: None,
            displayed: None,
        })
    }

    async fn add_comment(
        &self,
        ticket_id: &str,
        comment: &NewComment,
        key: &IdempotencyKey,
    ) -> Result<CommentAdded, HelpdeskError> {
        let mut state = self.request(format!("add_comment {ticket_id}"))?;
        let Some(ticket) = state.ticket(ticket_id).cloned() else {
            return Err(HelpdeskError::Permanent(format!(
                "ticket {ticket_id} does not exist"
            )));
        };
        let target = state.once(key, |s| {
            let target = match ticket.status == "closed" {
                false => ticket.id.clone(),
                true => {
                    let id = s.id();
                    s.tickets.push(FakeTicket {
                        id: id.clone(),
                        comments: Vec::new(),
                        status: "open".into(),
                        ..ticket.clone()
                    });
                    id
                }
            };
            if let Some(t) = s.ticket(&target) {
                t.comments.push(comment.body.clone());
                if let Some(agent) = &comment.reassign {
                    t.assignee = Some(agent.clone());
                }
                if comment.reopen_solved && t.status == "solved" {
                    t.status = "open".into();
                }
                t.tags.extend(comment.tags.iter().cloned());
                t.custom_fields
                    .extend(comment.custom_fields.iter().cloned());
            }
            target
        });
        Ok(CommentAdded {
            earlier_text: None,
            id: format!("{target}/{}", key.as_str()),
            ticket_id: target,
            call_record: None,
        })
    }

    async fn add_contact_phone(&self, contact_id: &str, e164: &str) -> Result<(), HelpdeskError> {
        let mut state = self.request(format!("add_contact_phone {contact_id} {e164}"))?;
        let Some(contact) = state.contacts.iter_mut().find(|c| c.id == contact_id) else {
            return Err(HelpdeskError::Permanent(format!(
                "contact {contact_id} does not exist"
            )));
        };
        if !contact.phones.iter().any(|p| p == e164) {
            contact.phones.push(e164.to_string());
        }
        Ok(())
    }

    async fn search_contacts(
        &self,
        query: &str,
        limit: usize,
    ) -> Result<Vec<ContactSummary>, HelpdeskError> {
        let state = self.request(format!("search_contacts {query}"))?;
        let q = query.to_lowercase();
        Ok(state
            .contacts
            .iter()
            .filter(|c| {
                c.name.to_lowercase().contains(&q) || c.phones.iter().any(|p| p.contains(&q))
            })
            .take(limit)
            .cloned()
            .collect())
    }

    async fn tickets_with_field(
        &self,
        field: &str,
        value: &str,
    ) -> Result<Vec<TicketSummary>, HelpdeskError> {
        // The fake's tickets carry no custom fields.
        drop(self.request(format!("tickets_with_field {field} {value}"))?);
        Ok(Vec::new())
    }
}
