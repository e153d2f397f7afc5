//! A call's note on an existing ticket: private, ending with its step's key
//! (a retried step looks for it first), with what the note must change on the
//! ticket (a transferred call's agent, a solved ticket reopened, a wrap-up's
//! tag and field) in one update after it; a closed ticket's note on a
//! follow-up ticket.

use deskbridge_core::ports::*;
use deskbridge_core::ticket_rules::{self, ClosedTicket, CommentTarget, FollowUpAgent};
use deskbridge_freshdesk::types as fd;

use crate::known::STATUS_TTL;
use crate::text::{html, key_tag, note_reference};
use crate::tickets::custom_fields;
use crate::{FreshdeskHelpdesk, fid, helpdesk_error};

/// What a note needs to know of its ticket now.
enum Now {
    /// Closed: the note goes onto a follow-up of it.
    Closed(fd::Ticket),
    /// Not closed: its status (the port's word) and tags.
    Open { status: String, tags: Vec<String> },
}

impl Now {
    fn of(t: fd::Ticket) -> Now {
        match t.status {
            fd::STATUS_CLOSED => Now::Closed(t),
            _ => Now::Open {
                status: crate::known::status_word(t.status).to_string(),
                tags: t.tags,
            },
        }
    }
}

impl FreshdeskHelpdesk {
    /// The note a step's earlier try wrote on the ticket, found by its
    /// reference line among the ticket's conversations.
    pub(crate) async fn earlier_note(
        &self,
        tid: u64,
        key: &IdempotencyKey,
    ) -> Result<Option<fd::Note>, HelpdeskError> {
        let reference = note_reference(key);
        let notes = self
            .client
            .conversations(tid)
            .await
            .map_err(helpdesk_error)?;
        Ok(notes.into_iter().find(|n| {
            n.body_text
                .as_deref()
                .is_some_and(|b| b.contains(&reference))
        }))
    }

    /// The comment as a note, ending with its step's reference line.
    pub(crate) async fn write_note(
        &self,
        tid: u64,
        comment: &NewComment,
        key: &IdempotencyKey,
    ) -> Result<fd::Note, HelpdeskError> {
        let body = format!("{}\n\n{}", comment.body, note_reference(key));
        self.client
            .add_note(
                tid,
                &fd::NewNote {
                    body: html(&body),
                    private: !comment.public,
                },
            )
            .await
            .map_err(helpdesk_error)
    }

    /// The ticket as it is now: from a current mirror (which keeps no closed
    /// ticket, and no tags: a note that adds tags reads the ticket), as the
    /// step just read it, else read again.
    async fn ticket_now(&self, id: u64, needs_tags: bool) -> Result<Now, HelpdeskError> {
        if !needs_tags
            && let Some(mirror) = &self.mirror
            && let Some(t) = mirror.ticket(id).await
        {
            return Ok(Now::Open {
                status: t.status,
                tags: Vec::new(),
            });
        }
        if let Some(t) = self.known().read_within(id, STATUS_TTL) {
            return Ok(Now::of(t));
        }
        let t = self
            .client
            .ticket(id)
            .await
            .map_err(helpdesk_error)?
            .ok_or_else(|| HelpdeskError::Permanent(format!("Freshdesk has no ticket {id}")))?;
        self.known().read_ticket(&t);
        Ok(Now::of(t))
    }

    pub(crate) async fn note_on(
        &self,
        ticket_id: &str,
        comment: &NewComment,
        key: &IdempotencyKey,
    ) -> Result<CommentAdded, HelpdeskError> {
        let tid = fid(ticket_id, "ticket")?;
        // On a retry its note counts wherever the ticket has gone since
        // (closed meanwhile, it is not written again onto a follow-up).
        let earlier = match key.first_try {
            true => None,
            false => self.earlier_note(tid, key).await?,
        };
        let (status, tags) = match self.ticket_now(tid, !comment.tags.is_empty()).await? {
            // Freshdesk would take the note, even on a closed ticket: the
            // core says where it goes.
            Now::Closed(ticket) => {
                match ticket_rules::comment_target("closed", earlier.is_some()) {
                    CommentTarget::FollowUp => return self.follow_up(&ticket, comment, key).await,
                    CommentTarget::Ticket => ("closed".to_string(), ticket.tags),
                }
            }
            Now::Open { status, tags } => (status, tags),
        };
        let (note, earlier_text) = match earlier {
            Some(n) => {
                let text = n.body_text.clone();
                (n, text)
            }
            None => (self.write_note(tid, comment, key).await?, None),
        };
        // What the note changes on the ticket, in one update after it (again
        // on a retry: setting the same values twice changes nothing).
        let reopened = ticket_rules::reopened_by_comment(&status, comment.reopen_solved);
        let mut update = fd::TicketUpdate {
            status: reopened.map(crate::tickets::status_number),
            responder_id: self.agent_id(comment.reassign.as_deref()).await?,
            tags: None,
            custom_fields: custom_fields(&comment.custom_fields),
        };
        let new_tags: Vec<&String> = comment.tags.iter().filter(|t| !tags.contains(t)).collect();
        if !new_tags.is_empty() {
            // `tags` replaces the ticket's: its tags, with the new ones.
            let mut all = tags.clone();
            all.extend(new_tags.into_iter().cloned());
            update.tags = Some(all);
        }
        if !update.is_empty() {
            let updated = self
                .client
                .update_ticket(tid, &update)
                .await
                .map_err(helpdesk_error)?;
            self.known().ticket(&updated);
            self.mirror_ticket(&updated).await;
        }
        Ok(CommentAdded {
            earlier_text,
            id: note.id.to_string(),
            ticket_id: ticket_id.to_string(),
            call_record: comment
                .call_record
                .as_ref()
                .map(|_| CallRecordStatus::Refused {
                    reason: "Freshdesk keeps no call records: the call is a private note".into(),
                }),
        })
    }

    /// A closed ticket's call on a follow-up ticket: the same requester, agent
    /// and subject (`ticket_rules::follow_up`), made once per step as any
    /// ticket deskbridge makes, and naming the closed one.
    async fn follow_up(
        &self,
        closed: &fd::Ticket,
        comment: &NewComment,
        key: &IdempotencyKey,
    ) -> Result<CommentAdded, HelpdeskError> {
        let follow = ticket_rules::follow_up(
            &ClosedTicket {
                id: closed.id,
                subject: closed.subject.clone(),
                requester_id: closed.requester_id,
                assignee_id: closed.responder_id,
                group_id: closed.group_id,
                priority: closed.priority,
            },
            comment,
        );
        // The call in the description only where it may be read by the
        // requester (see `FreshdeskHelpdesk::in_description`).
        let in_description = comment.public || self.call_in_description;
        let heading = &follow.names_closed;
        let made = match key.first_try {
            true => None,
            false => self.ticket_with_key(key.as_str()).await?,
        };
        let mut earlier_text = None;
        let created = match made {
            Some(t) => {
                if in_description {
                    // The call's text as the earlier try wrote it, after the
                    // line naming the closed ticket.
                    let text = self.description_of(&t).await?;
                    earlier_text = Some(
                        text.split_once("\n\n")
                            .map_or(text.clone(), |(_, call)| call.to_string()),
                    );
                }
                t
            }
            None => {
                let requester = follow.requester_id.ok_or_else(|| {
                    HelpdeskError::Permanent(format!(
                        "closed ticket {} has no requester to follow up with",
                        closed.id
                    ))
                })?;
                let mut tags = follow.tags.clone();
                tags.push(key_tag(key.as_str()));
                let responder_id = match &follow.agent {
                    FollowUpAgent::OfClosed(agent) => *agent,
                    FollowUpAgent::Reassigned(email) => self.agent_id(Some(email)).await?,
                };
                let description = match in_description {
                    true => format!("{heading}\n\n{}", comment.body),
                    false => heading.clone(),
                };
                let body = fd::NewTicket {
                    subject: follow.subject,
                    description: html(&description),
                    requester_id: requester,
                    status: fd::STATUS_OPEN,
                    // Freshdesk needs one; 1 (Low) is its own default.
                    priority: follow.priority.unwrap_or(fd::PRIORITY_LOW),
                    source: fd::SOURCE_PHONE,
                    ticket_type: None,
                    responder_id,
                    group_id: follow.group_id,
                    product_id: None,
                    tags,
                    custom_fields: custom_fields(&follow.custom_fields),
                };
                let created = self
                    .client
                    .create_ticket(&body)
                    .await
                    .map_err(helpdesk_error)?;
                self.known().ticket(&created);
                self.mirror_ticket(&created).await;
                created
            }
        };
        if !in_description {
            let earlier = match key.first_try {
                true => None,
                false => self.earlier_note(created.id, key).await?,
            };
            let note = match earlier {
                Some(n) => {
                    earlier_text = n.body_text.clone();
                    n
                }
                None => self.write_note(created.id, comment, key).await?,
            };
            return Ok(CommentAdded {
                id: note.id.to_string(),
                ticket_id: created.id.to_string(),
                call_record: None,
                earlier_text,
            });
        }
        Ok(CommentAdded {
            id: format!("description:{}", created.id),
            ticket_id: created.id.to_string(),
            call_record: None,
            earlier_text,
        })
    }
}
