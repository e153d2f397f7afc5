//! Tickets: read (the cache, then the mirror, then Zendesk), listed for a
//! caller, and created once per step whatever happens to the answer: with an
//! `Idempotency-Key`, and the step's key as the ticket's `external_id`, which a
//! retry looks for first.

use std::time::Instant;

use deskbridge_core::pop::{DeliveryStatus, PopChannel, PopDelivery};
use deskbridge_core::ports::*;
use deskbridge_zendesk::ZendeskError;
use deskbridge_zendesk::types::{self as zd, CustomFieldValue};

use crate::ZendeskHelpdesk;
use crate::agents::agent_unknown;
use crate::cache::{TICKET_TTL, fresh};
use crate::error::{helpdesk_error, zid};

/// Ticket field id → value, as Zendesk's `custom_fields` takes them.
pub(crate) fn custom_field_values(
    fields: &[(String, String)],
) -> Result<Vec<CustomFieldValue>, HelpdeskError> {
    fields
        .iter()
        .map(|(id, value)| {
            Ok(CustomFieldValue {
                id: zid(id, "custom field")?,
                value: serde_json::Value::String(value.clone()),
            })
        })
        .collect()
}

/// The external id of a ticket deskbridge creates: its step's key.
pub fn ticket_external_id(key: &str) -> String {
    format!("deskbridge:{key}")
}

impl ZendeskHelpdesk {
    pub(crate) fn new_ticket(
        &self,
        t: &NewTicket,
        assignee_id: Option<u64>,
    ) -> Result<zd::NewTicket, HelpdeskError> {
        let custom_fields = custom_field_values(&t.custom_fields)?;
        Ok(zd::NewTicket {
            subject: t.subject.clone(),
            comment: t.comment.as_ref().map(|c| zd::NewComment {
                body: c.body.clone(),
                public: c.public,
            }),
            requester_id: t
                .requester_id
                .as_deref()
                .map(|r| zid(r, "requester"))
                .transpose()?,
            assignee_id,
            group_id: t
                .group
                .as_deref()
                .map(|g| zid(g, "ticket_group"))
                .transpose()?,
            priority: Some(t.priority.as_str().into()),
            ticket_type: Some(t.ticket_type.as_str().into()),
            status: Some(t.status.as_str().into()),
            tags: t.tags.clone(),
            custom_fields,
            ticket_form_id: t
                .ticket_form
                .as_deref()
                .map(|f| zid(f, "ticket form"))
                .transpose()?,
            via_followup_source_id: None,
            external_id: None,
        })
    }

    /// Creates the ticket once per key, even when Zendesk no longer takes the key
    /// as proof. Zendesk keeps an `Idempotency-Key` for a limited time and refuses
    /// the same key with another body (`IdempotentRequestError`, "Idempotency" in
    /// the Support API introduction); a step re-run after a crash rebuilds its body
    /// from the call as it is now (a recording may have arrived since). So the
    /// ticket carries the key as its `external_id`, and a retried create first
    /// looks for it (List Tickets by `external_id`): a crash between the create
    /// and its record makes one ticket whatever the body or the delay.
    pub(crate) async fn create_once(
        &self,
        body: zd::NewTicket,
        key: &str,
        first_try: bool,
        talk: Option<zd::TalkTicket>,
    ) -> Result<TicketCreated, HelpdeskError> {
        self.create_once_keyed(body, key, key, first_try, talk)
            .await
    }

    /// [`Self::create_once`] with an `Idempotency-Key` of its own (a second body
    /// for the same step), the ticket still marked with the step's key.
    pub(crate) async fn create_once_keyed(
        &self,
        mut body: zd::NewTicket,
        key: &str,
        idempotency_key: &str,
        first_try: bool,
        talk: Option<zd::TalkTicket>,
    ) -> Result<TicketCreated, HelpdeskError> {
        let external_id = ticket_external_id(key);
        body.external_id = Some(external_id.clone());
        if !first_try && let Some(found) = self.ticket_with_external_id(&external_id).await? {
            return Ok(found);
        }
        let sent = match &talk {
            Some(talk) => {
                self.client
                    .create_voice_ticket(&body, talk, idempotency_key)
                    .await
            }
            None => self.client.create_ticket(&body, idempotency_key).await,
        };
        match sent {
            Ok(created) => {
                self.remember_new_ticket(&created.ticket).await;
                Ok(TicketCreated {
                    earlier_text: None,
                    id: created.ticket.id.to_string(),
                    comment_id: created.comment_id().map(|c| c.to_string()),
                    displayed: None,
                })
            }
            Err(ZendeskError::IdempotencyKeyReused) => self
                .ticket_with_external_id(&external_id)
                .await?
                .ok_or_else(|| {
                    HelpdeskError::Transient(format!(
                        "Zendesk holds key {key} for another request and no ticket carries it yet"
                    ))
                }),
            Err(e) => Err(helpdesk_error(e)),
        }
    }

    /// The ticket an earlier try of this key made, if any (the oldest, should
    /// two exist).
    pub(crate) async fn ticket_with_external_id(
        &self,
        external_id: &str,
    ) -> Result<Option<TicketCreated>, HelpdeskError> {
        let found = self
            .client
            .tickets_by_external_id(external_id)
            .await
            .map_err(helpdesk_error)?;
        let Some(first) = found.iter().min_by_key(|t| t.id) else {
            return Ok(None);
        };
        self.remember_ticket(first);
        Ok(Some(TicketCreated {
            // Its first comment as the earlier try wrote it.
            earlier_text: Some(first.description.clone().unwrap_or_default()),
            id: first.id.to_string(),
            comment_id: None,
            displayed: None,
        }))
    }

    pub(crate) async fn show_ticket(
        &self,
        id: &str,
    ) -> Result<Option<TicketSummary>, HelpdeskError> {
        let Ok(tid) = id.parse::<u64>() else {
            return Ok(None);
        };
        if let Some(hit) = fresh(self.cache().tickets.get(id), TICKET_TTL) {
            return Ok(Some(hit));
        }
        // The mirror keeps the tickets that are not closed: an IVR's number of
        // one of them needs no GET. A number it lacks (closed, mistyped, or
        // made within the export's last minute) is asked of Zendesk.
        if let Some(mirror) = &self.mirror
            && let Some(t) = mirror.ticket(tid).await
        {
            return Ok(Some(self.mirrored_ticket(&t)));
        }
        let found = self.client.show_ticket(tid).await.map_err(helpdesk_error)?;
        Ok(found.as_ref().map(|t| self.remember_ticket(t)))
    }

    pub(crate) async fn open_tickets_of(
        &self,
        contact_id: &str,
    ) -> Result<Vec<TicketSummary>, HelpdeskError> {
        let Ok(uid) = contact_id.parse::<u64>() else {
            return Ok(Vec::new());
        };
        {
            let cache = self.cache();
            if let Some(ids) = fresh(cache.requested.get(contact_id), TICKET_TTL) {
                let known: Option<Vec<TicketSummary>> = ids
                    .iter()
                    .map(|id| fresh(cache.tickets.get(id), TICKET_TTL))
                    .collect();
                if let Some(tickets) = known {
                    return Ok(tickets);
                }
            }
        }
        if let Some(mirror) = &self.mirror
            && let Some(tickets) = mirror.tickets_of(uid).await
        {
            return Ok(tickets.iter().map(|t| self.mirrored_ticket(t)).collect());
        }
        let tickets = self
            .client
            .requested_tickets(uid)
            .await
            .map_err(helpdesk_error)?;
        let open: Vec<&zd::Ticket> = tickets.iter().filter(|t| t.status != "closed").collect();
        let now = Instant::now();
        let mut cache = self.cache();
        for t in &open {
            cache
                .tickets
                .insert(t.id.to_string(), (now, self.summary(t)));
        }
        cache.requested.insert(
            contact_id.to_string(),
            (now, open.iter().map(|t| t.id.to_string()).collect()),
        );
        Ok(open.into_iter().map(|t| self.summary(t)).collect())
    }

    /// Zendesk's list of tickets by `external_id` (read from its database, not
    /// from the search index, and never from this instance's cache).
    pub(crate) async fn ticket_of_key(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Option<String>, HelpdeskError> {
        let made = self
            .ticket_with_external_id(&ticket_external_id(key.as_str()))
            .await?;
        Ok(made.map(|t| t.id))
    }

    pub(crate) async fn open_ticket(
        &self,
        t: &NewTicket,
        key: &IdempotencyKey,
    ) -> Result<TicketCreated, HelpdeskError> {
        let assignee_id = self.agent_id_of(t.assignee.as_deref()).await?;
        let body = self.new_ticket(t, assignee_id)?;
        // A popped new ticket is created and shown in one request (Talk Partner
        // Edition's `display_to_agent`), when Zendesk knows the agent.
        let (display, unknown) = match &t.display_to {
            Some(email) => match self.agent_id(email).await? {
                Some(id) => (Some(id), None),
                None => (None, Some(agent_unknown(email))),
            },
            None => (None, None),
        };
        // A call with a recording, where the group wants it: a voice comment
        // (Talk Partner Edition's ticket create takes it with the ticket).
        let voice = match &t.voice {
            Some(v) => Some(self.voice_input(v).await?),
            None => None,
        };
        let via_id = match &t.voice {
            Some(v) if v.voicemail => zd::VIA_VOICEMAIL,
            Some(v) if !v.inbound => zd::VIA_PHONE_CALL_OUTBOUND,
            _ => zd::VIA_PHONE_CALL_INBOUND,
        };
        let talk = (display.is_some() || voice.is_some()).then_some(zd::TalkTicket {
            via_id,
            display_to_agent: display,
            voice_comment: voice,
        });
        let sent = self
            .create_once(body.clone(), key.as_str(), key.first_try, talk.clone())
            .await;
        // Zendesk validates `display_to_agent` before it creates the ticket and
        // refuses the whole request (422) when the id is no agent's (a wrong
        // `zendesk_id`): the ticket is made without the pop, which is recorded.
        let (mut created, display) = match (sent, talk) {
            (Err(HelpdeskError::Permanent(reason)), Some(mut talk))
                if talk.display_to_agent.is_some() && reason.contains("display_to_agent") =>
            {
                let agent = talk.display_to_agent.take();
                tracing::warn!(
                    ?agent,
                    "Zendesk refused display_to_agent; creating the ticket without the pop"
                );
                let talk = talk.voice_comment.is_some().then_some(talk);
                // Another body under another key: Zendesk refuses a key sent
                // again with a different body. The external id stays the step's,
                // so a retry still finds the ticket.
                let without = format!("{}/without-display", key.as_str());
                let created = self
                    .create_once_keyed(body, key.as_str(), &without, key.first_try, talk)
                    .await?;
                return Ok(TicketCreated {
                    displayed: Some(PopDelivery {
                        channel: PopChannel::Zendesk,
                        status: DeliveryStatus::AgentUnknown,
                        detail: Some(format!(
                            "Zendesk refused agent {} as display_to_agent (422): not an agent of this account; fix zendesk_id in [[agents]]",
                            agent.unwrap_or_default()
                        )),
                    }),
                    ..created
                });
            }
            (sent, _) => (sent?, display),
        };
        created.displayed = match display {
            Some(_) => Some(PopDelivery {
                channel: PopChannel::Zendesk,
                status: DeliveryStatus::Delivered,
                detail: Some(
                    "sent with the ticket's create (display_to_agent); Zendesk does not \
                     say whether the agent's browser was open"
                        .into(),
                ),
            }),
            None => unknown,
        };
        Ok(created)
    }

    pub(crate) async fn tickets_by_field(
        &self,
        field: &str,
        value: &str,
    ) -> Result<Vec<TicketSummary>, HelpdeskError> {
        let field = zid(field, "ticket field")?;
        let found = self
            .client
            .search_tickets_by_field(field, value)
            .await
            .map_err(helpdesk_error)?;
        let mut open: Vec<TicketSummary> = found
            .iter()
            .filter(|t| t.status != "closed")
            .map(|t| self.remember_ticket(t))
            .collect();
        open.sort_by(deskbridge_core::decide::newest_first);
        Ok(open)
    }
}
