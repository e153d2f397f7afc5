//! The built-in CRM behind the helpdesk port.

use async_trait::async_trait;
use deskbridge_core::ports::*;
use deskbridge_core::ticket_rules::reopened_by_comment;
use deskbridge_store::StoreError;
use deskbridge_store::crm::{
    CommentFields, Contact, ContactFields, OrganizationFields, Page, Ticket, TicketFields, parse_id,
};

use crate::BuiltinCrm;

/// Sorts a store failure for the worker. The reason is shown on the call
/// (`GET /api/v1/calls/{id}`), so it never carries the database's own text (table
/// and constraint names, SQL); that goes to the server log. A refused write (a
/// constraint: a record it refers to is gone) fails the same way every time, so
/// it is permanent and never retried; anything else from the database (a lost
/// connection, a busy or full disk) may pass, so it is transient.
fn store_error(e: StoreError) -> HelpdeskError {
    tracing::warn!(error = %e, "the built-in CRM's store failed");
    if e.is_constraint() {
        HelpdeskError::Permanent(
            "the built-in CRM refused the write: a record it refers to was deleted while \
             the call was in progress"
                .into(),
        )
    } else if e.is_transient() {
        HelpdeskError::Transient(
            "the database is unavailable; the server log has the details".into(),
        )
    } else {
        HelpdeskError::Permanent(
            "the built-in CRM's data is inconsistent; the server log has the details".into(),
        )
    }
}

fn summary(c: Contact) -> ContactSummary {
    ContactSummary {
        id: c.id.to_string(),
        name: c.name,
        phones: c.phones,
        created_at: c.created_at,
    }
}

fn ticket_summary(t: Ticket) -> TicketSummary {
    TicketSummary {
        assignee: t.assignee.clone(),
        id: t.id.to_string(),
        status: t.status,
        requester_id: t.requester_id.map(|r| r.to_string()),
        updated_at: t.updated_at,
    }
}

/// An id sent by a caller that is no id of ours: treated as "no such record".
/// Lenient, unlike the API's ids: an IVR may collect a ticket number with
/// leading zeros or spaces, and it still means that ticket.
fn our_id(id: &str) -> Option<i64> {
    id.trim().parse::<i64>().ok().filter(|id| *id > 0)
}

impl BuiltinCrm {
    /// What a call's comment changes on its ticket besides adding itself: the last
    /// agent of a transferred call takes the ticket, and a solved ticket is open
    /// again (the group's `reopen_solved`), so that an agent sees the call.
    async fn update_with_comment(
        &self,
        ticket_id: i64,
        comment: &NewComment,
    ) -> Result<(), HelpdeskError> {
        let marks = !comment.tags.is_empty() || !comment.custom_fields.is_empty();
        if comment.reassign.is_none() && !comment.reopen_solved && !marks {
            return Ok(());
        }
        let Some(ticket) = self.store.ticket(ticket_id).await.map_err(store_error)? else {
            return Ok(());
        };
        let reopened = reopened_by_comment(&ticket.status, comment.reopen_solved);
        if comment.reassign.is_none() && reopened.is_none() && !marks {
            return Ok(());
        }
        // Tags are added beside the ticket's own (as Zendesk's
        // `additional_tags`), fields set.
        let mut tags = ticket.tags;
        for tag in &comment.tags {
            if !tags.contains(tag) {
                tags.push(tag.clone());
            }
        }
        let mut custom_fields = ticket.custom_fields;
        for (field, value) in &comment.custom_fields {
            custom_fields.insert(field.clone(), serde_json::Value::String(value.clone()));
        }
        let fields = TicketFields {
            subject: ticket.subject,
            status: match reopened {
                Some(status) => status.as_str().to_string(),
                None => ticket.status,
            },
            priority: ticket.priority,
            ticket_type: ticket.ticket_type,
            requester_id: ticket.requester_id,
            assignee: comment.reassign.clone().or(ticket.assignee),
            tags,
            custom_fields,
        };
        self.store
            .update_ticket(ticket_id, &fields)
            .await
            .map_err(store_error)?;
        Ok(())
    }
}

#[async_trait]
impl Helpdesk for BuiltinCrm {
    async fn find_contacts_by_phone(
        &self,
        e164: &str,
    ) -> Result<Vec<ContactSummary>, HelpdeskError> {
        let page = Page {
            after: None,
            limit: crate::MAX_PAGE,
        };
        let mut found: Vec<_> = self
            .store
            .contacts(Some(e164), page)
            .await
            .map_err(store_error)?
            .into_iter()
            .map(summary)
            .collect();
        found.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(found)
    }

    /// The CRM's contact search (name or email containing the text), kept to
    /// the contacts whose email is this one.
    async fn find_contacts_by_email(
        &self,
        email: &str,
    ) -> Result<Vec<ContactSummary>, HelpdeskError> {
        let email = email.trim();
        let mut found: Vec<ContactSummary> = self
            .store
            .search_contacts(email, crate::MAX_PAGE)
            .await
            .map_err(store_error)?
            .into_iter()
            .filter(|c| {
                c.email
                    .as_deref()
                    .is_some_and(|e| e.trim().eq_ignore_ascii_case(email))
            })
            .map(summary)
            .collect();
        found.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(found)
    }

    async fn get_contact(&self, id: &str) -> Result<Option<ContactSummary>, HelpdeskError> {
        let Some(id) = our_id(id) else {
            return Ok(None);
        };
        Ok(self
            .store
            .contact(id)
            .await
            .map_err(store_error)?
            .map(summary))
    }

    async fn create_organization(
        &self,
        name: &str,
        key: &IdempotencyKey,
    ) -> Result<String, HelpdeskError> {
        let fields = OrganizationFields {
            name: name.to_string(),
            custom_fields: Default::default(),
        };
        let org = self
            .store
            .insert_organization(&fields, Some(&key.key))
            .await
            .map_err(store_error)?;
        Ok(org.record.id.to_string())
    }

    async fn get_ticket(&self, id: &str) -> Result<Option<TicketSummary>, HelpdeskError> {
        let Some(id) = our_id(id) else {
            return Ok(None);
        };
        Ok(self
            .store
            .ticket(id)
            .await
            .map_err(store_error)?
            .map(ticket_summary))
    }

    async fn caller_tickets(&self, contact_id: &str) -> Result<Vec<TicketSummary>, HelpdeskError> {
        let Some(id) = our_id(contact_id) else {
            return Ok(Vec::new());
        };
        Ok(self
            .store
            .open_tickets_of(id, 100)
            .await
            .map_err(store_error)?
            .into_iter()
            .map(ticket_summary)
            .collect())
    }

    async fn tickets_with_field(
        &self,
        field: &str,
        value: &str,
    ) -> Result<Vec<TicketSummary>, HelpdeskError> {
        Ok(self
            .store
            .open_tickets_with_field(field, value, 100)
            .await
            .map_err(store_error)?
            .into_iter()
            .map(ticket_summary)
            .collect())
    }

    async fn create_contact(
        &self,
        contact: &NewContact,
        key: &IdempotencyKey,
    ) -> Result<ContactSummary, HelpdeskError> {
        let organization_id = match &contact.organization_id {
            Some(id) => Some(parse_id(id).map_err(HelpdeskError::Permanent)?),
            None => None,
        };
        let fields = ContactFields {
            name: contact.name.clone(),
            email: contact.email.clone(),
            phones: contact.phone.iter().cloned().collect(),
            organization_id,
            ..ContactFields::default()
        };
        let created = self
            .store
            .insert_contact(&fields, Some(&key.key))
            .await
            .map_err(store_error)?;
        Ok(summary(created.record))
    }

    async fn ticket_made_by(&self, key: &IdempotencyKey) -> Result<Option<String>, HelpdeskError> {
        let made = self
            .store
            .ticket_by_key(&key.key)
            .await
            .map_err(store_error)?;
        Ok(made.map(|t| t.id.to_string()))
    }

    async fn create_ticket(
        &self,
        ticket: &NewTicket,
        key: &IdempotencyKey,
    ) -> Result<TicketCreated, HelpdeskError> {
        let requester_id = match &ticket.requester_id {
            Some(id) => Some(parse_id(id).map_err(HelpdeskError::Permanent)?),
            None => None,
        };
        // The caller's contact may have been deleted (through the CRM API) since
        // the call identified it. A ticket for a contact that is gone cannot be
        // made, now or later: the call fails with that reason instead of retrying.
        // (A delete racing this check is caught by the foreign key, also as a
        // permanent failure.)
        if let Some(id) = requester_id
            && self.store.contact(id).await.map_err(store_error)?.is_none()
        {
            return Err(HelpdeskError::Permanent(format!(
                "the caller's contact {id} was deleted while the call was in progress; \
                 no ticket was made (create one in the CRM, or send the call again \
                 with a new call_id to identify the caller again)"
            )));
        }
        let fields = TicketFields {
            subject: ticket.subject.clone(),
            status: ticket.status.as_str().into(),
            priority: ticket.priority.as_str().into(),
            ticket_type: ticket.ticket_type.as_str().into(),
            requester_id,
            assignee: ticket.assignee.clone(),
            tags: ticket.tags.clone(),
            custom_fields: ticket
                .custom_fields
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .chain(ticket.ticket_form.iter().map(|f| {
                    (
                        "ticket_form".to_string(),
                        serde_json::Value::String(f.clone()),
                    )
                }))
                .collect(),
        };
        let comment = ticket.comment.as_ref().map(|c| CommentFields {
            body: c.body.clone(),
            public: c.public,
        });
        let created = self
            .store
            .insert_ticket(&fields, comment.as_ref(), Some(&key.key))
            .await
            .map_err(store_error)?;
        let (ticket, comment) = created.record;
        Ok(TicketCreated {
            earlier_text: None,
            id: ticket.id.to_string(),
            comment_id: comment.map(|c| c.id.to_string()),
            // Shown on deskbridge's agent page, from the call's record.
            displayed: None,
        })
    }

    async fn add_comment(
        &self,
        ticket_id: &str,
        comment: &NewComment,
        key: &IdempotencyKey,
    ) -> Result<CommentAdded, HelpdeskError> {
        let id = parse_id(ticket_id).map_err(HelpdeskError::Permanent)?;
        let fields = CommentFields {
            body: comment.body.clone(),
            public: comment.public,
        };
        match self
            .store
            .insert_comment(id, &fields, Some(&key.key))
            .await
            .map_err(store_error)?
        {
            Some(created) => {
                self.update_with_comment(id, comment).await?;
                Ok(CommentAdded {
                    earlier_text: None,
                    id: created.record.id.to_string(),
                    ticket_id: ticket_id.to_string(),
                    call_record: None,
                })
            }
            None => Err(HelpdeskError::Permanent(format!(
                "ticket {ticket_id} no longer exists in the built-in CRM"
            ))),
        }
    }

    async fn add_contact_phone(&self, contact_id: &str, e164: &str) -> Result<(), HelpdeskError> {
        let Some(id) = our_id(contact_id) else {
            return Err(HelpdeskError::Permanent(format!(
                "contact {contact_id} does not exist"
            )));
        };
        let Some(contact) = self.store.contact(id).await.map_err(store_error)? else {
            return Err(HelpdeskError::Permanent(format!(
                "contact {contact_id} does not exist"
            )));
        };
        if contact.phones.iter().any(|p| p == e164) {
            return Ok(());
        }
        let mut phones = contact.phones;
        phones.push(e164.to_string());
        let fields = ContactFields {
            name: contact.name,
            email: contact.email,
            phones,
            organization_id: contact.organization_id,
            custom_fields: contact.custom_fields,
        };
        self.store
            .update_contact(id, &fields)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn search_contacts(
        &self,
        query: &str,
        limit: usize,
    ) -> Result<Vec<ContactSummary>, HelpdeskError> {
        let limit = u32::try_from(limit)
            .unwrap_or(u32::MAX)
            .min(crate::MAX_PAGE);
        // A query that reads as a number finds the contacts with that number.
        let found = match self.phone_filter(query) {
            Some(e164) => {
                let page = Page { after: None, limit };
                self.store.contacts(Some(&e164), page).await
            }
            None => self.store.search_contacts(query.trim(), limit).await,
        };
        Ok(found
            .map_err(store_error)?
            .into_iter()
            .map(summary)
            .collect())
    }
}
