//! Tickets: read (what is known, then Freshdesk), listed for a caller, made
//! once per step (a tag from the step's key, which a retry looks for first),
//! found by a custom field for a pop.

use std::time::Instant;

use chrono::Utc;
use deskbridge_core::decide::newest_first;
use deskbridge_core::ports::*;
use deskbridge_core::ticket::{Priority, TicketStatus, TicketType};
use deskbridge_freshdesk::types as fd;
use deskbridge_freshdesk::{Lane, quoted};
use serde_json::{Map, Value};

use crate::known::{TICKET_TTL, fresh};
use crate::text::{html, key_tag};
use crate::{FreshdeskHelpdesk, fid, helpdesk_error};

/// How far back a retried create lists the account's changed tickets for its
/// own (Freshdesk's database; the search index covers older ones, having
/// caught up by then).
const RECENT_CHANGES: chrono::Duration = chrono::Duration::minutes(15);

/// The port's status as Freshdesk's number ("Status" table). A new ticket is
/// open: Freshdesk has no "new".
pub(crate) fn status_number(s: TicketStatus) -> u8 {
    match s {
        TicketStatus::New | TicketStatus::Open => fd::STATUS_OPEN,
        TicketStatus::Pending => fd::STATUS_PENDING,
        TicketStatus::Solved => fd::STATUS_RESOLVED,
    }
}

/// "Priority" table: 1 low, 2 medium, 3 high, 4 urgent.
fn priority_number(p: Priority) -> u8 {
    match p {
        Priority::Low => 1,
        Priority::Normal => 2,
        Priority::High => 3,
        Priority::Urgent => 4,
    }
}

/// The ticket type by its name in Freshdesk's default types (Question,
/// Incident, Problem, Feature Request, Refund). A task has none: the type is
/// left unset.
fn type_name(t: TicketType) -> Option<&'static str> {
    match t {
        TicketType::Question => Some("Question"),
        TicketType::Incident => Some("Incident"),
        TicketType::Problem => Some("Problem"),
        TicketType::Task => None,
    }
}

/// Custom fields as Freshdesk's `custom_fields` takes them: keyed by the
/// field's name (`cf_...`), the value as text.
pub(crate) fn custom_fields(fields: &[(String, String)]) -> Map<String, Value> {
    fields
        .iter()
        .map(|(name, value)| (name.clone(), Value::String(value.clone())))
        .collect()
}

impl FreshdeskHelpdesk {
    pub(crate) async fn show_ticket(
        &self,
        id: &str,
    ) -> Result<Option<TicketSummary>, HelpdeskError> {
        let Ok(tid) = id.parse::<u64>() else {
            return Ok(None);
        };
        {
            // One lock: `known` is a plain mutex, never taken twice.
            let known = self.known();
            if let Some(t) = fresh(known.tickets.get(&tid), TICKET_TTL) {
                return Ok(Some(known.summary(&t)));
            }
        }
        // The mirror keeps the tickets that are not closed: an IVR's number of
        // one of them needs no GET.
        if let Some(mirror) = &self.mirror
            && let Some(t) = mirror.ticket(tid).await
        {
            return Ok(Some(self.known().mirrored(&t)));
        }
        let found = self.client.ticket(tid).await.map_err(helpdesk_error)?;
        Ok(found.map(|t| self.known().read_ticket(&t)))
    }

    pub(crate) async fn open_tickets_of(
        &self,
        contact_id: &str,
    ) -> Result<Vec<TicketSummary>, HelpdeskError> {
        let Ok(requester) = contact_id.parse::<u64>() else {
            return Ok(Vec::new());
        };
        {
            let known = self.known();
            if let Some(ids) = fresh(known.requested.get(&requester), TICKET_TTL) {
                let all: Option<Vec<TicketSummary>> = ids
                    .iter()
                    .map(|id| fresh(known.tickets.get(id), TICKET_TTL).map(|t| known.summary(&t)))
                    .collect();
                if let Some(tickets) = all {
                    return Ok(tickets);
                }
            }
        }
        if let Some(mirror) = &self.mirror
            && let Some(tickets) = mirror.tickets_of(requester).await
        {
            let known = self.known();
            return Ok(tickets.iter().map(|t| known.mirrored(t)).collect());
        }
        let tickets = self
            .client
            .requested_tickets(requester)
            .await
            .map_err(helpdesk_error)?;
        let mut known = self.known();
        let open: Vec<&fd::Ticket> = tickets
            .iter()
            .filter(|t| t.status != fd::STATUS_CLOSED)
            .collect();
        let now = Instant::now();
        for t in &open {
            known.tickets.insert(t.id, (now, (*t).clone()));
            known.read.insert(t.id, now);
        }
        known
            .requested
            .insert(requester, (now, open.iter().map(|t| t.id).collect()));
        let mut summaries: Vec<TicketSummary> = open.iter().map(|t| known.summary(t)).collect();
        summaries.sort_by(newest_first);
        Ok(summaries)
    }

    /// The ticket a create with `key` made, from Freshdesk's own records: the
    /// account's tickets changed in the last minutes (its database), then the
    /// search index for older ones. Never from what this process remembers.
    pub(crate) async fn ticket_with_key(
        &self,
        key: &str,
    ) -> Result<Option<fd::Ticket>, HelpdeskError> {
        let tag = key_tag(key);
        let recent = self
            .client
            .tickets_changed_since(Lane::Interactive, Utc::now() - RECENT_CHANGES, 5)
            .await
            .map_err(helpdesk_error)?;
        let found = match recent
            .into_iter()
            .filter(|t| t.tags.contains(&tag))
            .min_by_key(|t| t.id)
        {
            Some(t) => Some(t),
            None => self
                .client
                .search_tickets(&format!("tag:{}", quoted(&tag)))
                .await
                .map_err(helpdesk_error)?
                .into_iter()
                .filter(|t| t.tags.contains(&tag))
                .min_by_key(|t| t.id),
        };
        if let Some(t) = &found {
            self.known().read_ticket(t);
        }
        Ok(found)
    }

    /// The text a ticket was made with (its first comment, as an earlier try
    /// wrote it). Freshdesk's lists and search leave the description out, so a
    /// ticket found there is read whole.
    pub(crate) async fn description_of(&self, t: &fd::Ticket) -> Result<String, HelpdeskError> {
        if let Some(text) = &t.description_text {
            return Ok(text.clone());
        }
        let whole = self
            .client
            .ticket(t.id)
            .await
            .map_err(helpdesk_error)?
            .ok_or_else(|| {
                HelpdeskError::Transient(format!(
                    "Freshdesk listed ticket {} but has no such ticket",
                    t.id
                ))
            })?;
        Ok(whole.description_text.unwrap_or_default())
    }

    /// The comment the ticket's description carries: a public one, or any
    /// when the backend allows it (`call_in_description`). Freshdesk shows a
    /// ticket's description to its requester (the portal, the new-ticket
    /// email), so a private call goes into a private note after the create.
    fn in_description<'a>(&self, t: &'a NewTicket) -> Option<&'a NewComment> {
        t.comment
            .as_ref()
            .filter(|c| c.public || self.call_in_description)
    }

    pub(crate) async fn open_ticket(
        &self,
        t: &NewTicket,
        key: &IdempotencyKey,
    ) -> Result<TicketCreated, HelpdeskError> {
        let in_description = self.in_description(t);
        let made = match key.first_try {
            true => None,
            false => self.ticket_with_key(key.as_str()).await?,
        };
        let (created, earlier_text) = match made {
            Some(made) => {
                let earlier = match in_description {
                    Some(_) => Some(self.description_of(&made).await?),
                    None => None,
                };
                (made, earlier)
            }
            None => (self.create_ticket_for(t, key, in_description).await?, None),
        };
        // The private call, once, in its own note (found again on a retry).
        let (comment_id, earlier_text) = match (&t.comment, in_description) {
            (Some(comment), None) => {
                let earlier = match key.first_try {
                    true => None,
                    false => self.earlier_note(created.id, key).await?,
                };
                match earlier {
                    Some(n) => (Some(n.id.to_string()), n.body_text),
                    None => {
                        let note = self.write_note(created.id, comment, key).await?;
                        (Some(note.id.to_string()), None)
                    }
                }
            }
            _ => (None, earlier_text),
        };
        Ok(TicketCreated {
            id: created.id.to_string(),
            comment_id,
            displayed: None,
            earlier_text,
        })
    }

    /// `POST /api/v2/tickets`, marked with the step's key.
    async fn create_ticket_for(
        &self,
        t: &NewTicket,
        key: &IdempotencyKey,
        in_description: Option<&NewComment>,
    ) -> Result<fd::Ticket, HelpdeskError> {
        let requester = t
            .requester_id
            .as_deref()
            .ok_or_else(|| {
                HelpdeskError::Permanent("a Freshdesk ticket needs its requester".into())
            })
            .and_then(|r| fid(r, "requester"))?;
        let responder = self.agent_id(t.assignee.as_deref()).await?;
        let mut tags = t.tags.clone();
        tags.push(key_tag(key.as_str()));
        // Freshdesk wants a description: the call when it may be shown there,
        // else what the ticket is for.
        let description = match in_description {
            Some(c) => html(&c.body),
            None => html(&t.subject),
        };
        let body = fd::NewTicket {
            subject: t.subject.clone(),
            description,
            requester_id: requester,
            status: status_number(t.status),
            priority: priority_number(t.priority),
            source: match t.channel {
                TicketChannel::Call => fd::SOURCE_PHONE,
                TicketChannel::Chat => fd::SOURCE_CHAT,
            },
            ticket_type: type_name(t.ticket_type).map(str::to_string),
            responder_id: responder,
            group_id: t
                .group
                .as_deref()
                .map(|g| fid(g, "ticket_group"))
                .transpose()?,
            product_id: t
                .product
                .as_deref()
                .map(|p| fid(p, "ticket_product"))
                .transpose()?,
            tags,
            custom_fields: custom_fields(&t.custom_fields),
        };
        let created = self
            .client
            .create_ticket(&body)
            .await
            .map_err(helpdesk_error)?;
        self.known().ticket(&created);
        self.mirror_ticket(&created).await;
        Ok(created)
    }

    pub(crate) async fn tickets_by_field(
        &self,
        field: &str,
        value: &str,
    ) -> Result<Vec<TicketSummary>, HelpdeskError> {
        let found = self
            .client
            .search_tickets(&format!("{field}:{}", quoted(value)))
            .await
            .map_err(helpdesk_error)?;
        let mut known = self.known();
        let mut open: Vec<TicketSummary> = found
            .iter()
            .filter(|t| t.status != fd::STATUS_CLOSED)
            .map(|t| known.read_ticket(t))
            .collect();
        open.sort_by(newest_first);
        Ok(open)
    }
}
