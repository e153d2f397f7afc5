//! A call's comment on an existing ticket: a call record where the core says
//! so (`call_records.rs`), else a text comment; comments waiting for a busy
//! ticket written as one update (`batch.rs`); a closed ticket's comment on a
//! follow-up ticket; a solved ticket reopened. Comments take no idempotency
//! key, so each ends with its step's key, which a retried step looks for first.

use deskbridge_core::ports::*;
use deskbridge_core::ticket_rules::{self, ClosedTicket, CommentForm, FollowUpAgent};
use deskbridge_zendesk::ZendeskError;
use deskbridge_zendesk::types as zd;

use crate::ZendeskHelpdesk;
use crate::batch::{self, Turn, UpdateShape};
use crate::error::{helpdesk_error, zid};
use crate::tickets::custom_field_values;

/// The line that ends every comment deskbridge adds to an existing ticket: the
/// step's key (group, call, step), so a retried step recognises its own comment.
pub(crate) fn comment_reference(key: &IdempotencyKey) -> String {
    format!("deskbridge ref: {}", key.as_str())
}

impl ZendeskHelpdesk {
    pub(crate) async fn comment_on(
        &self,
        ticket_id: &str,
        comment: &NewComment,
        key: &IdempotencyKey,
    ) -> Result<CommentAdded, HelpdeskError> {
        let tid = zid(ticket_id, "ticket")?;
        // Comments take no idempotency key, and an update can be applied while
        // its answer is lost (a timeout, a 502). So each comment ends with its
        // step's key, and a step that ran before first looks for it among the
        // ticket's newest comments: two calls can write identical text (same
        // number, same minute), so the text alone cannot tell them apart.
        let mut recorded = None;
        // Reopened in the same update when its status is known to be solved;
        // otherwise the answer shows it, and a second update reopens it.
        let reopened =
            self.cache().tickets.get(ticket_id).and_then(|(_, t)| {
                ticket_rules::reopened_by_comment(&t.status, comment.reopen_solved)
            });
        let form = ticket_rules::comment_form(
            comment.call_record.is_some(),
            comment.reassign.is_some()
                || !comment.tags.is_empty()
                || !comment.custom_fields.is_empty(),
            reopened.is_some(),
        );
        if let CommentForm::Text {
            instead_of_record: Some(why),
        } = form
        {
            recorded = Some(CallRecordStatus::NotUsed { reason: why.into() });
        } else if let (CommentForm::CallRecord, Some(record)) = (&form, &comment.call_record) {
            match self.record_call(tid, record, key).await? {
                CallRecordStatus::Recorded { id } => {
                    return Ok(CommentAdded {
                        earlier_text: None,
                        id: format!("call:{id}"),
                        ticket_id: ticket_id.to_string(),
                        call_record: Some(CallRecordStatus::Recorded { id }),
                    });
                }
                refused => recorded = Some(refused),
            }
        }
        let reference = comment_reference(key);
        if !key.first_try {
            // This step ran before and may have written before it stopped.
            let existing = self
                .client
                .ticket_comments(tid)
                .await
                .map_err(helpdesk_error)?;
            if let Some(c) = existing
                .iter()
                .find(|c| c.body.as_deref().is_some_and(|b| b.contains(&reference)))
            {
                // The comment is there; the reopening that followed it may not be
                // (its own update can be held back by the ticket's limit).
                self.reopen_if_solved(tid, comment.reopen_solved).await?;
                return Ok(CommentAdded {
                    earlier_text: Some(c.body.clone().unwrap_or_default()),
                    id: c.id.to_string(),
                    ticket_id: ticket_id.to_string(),
                    call_record: recorded,
                });
            }
        }
        let body = format!("{}\n\n{reference}", comment.body);
        let fields = custom_field_values(&comment.custom_fields)?;
        let assignee_id = self.agent_id_of(comment.reassign.as_deref()).await?;
        let voice = match &comment.voice {
            Some(v) => Some(self.voice_input(v).await?),
            None => None,
        };
        let shape = UpdateShape {
            assignee_id,
            status: reopened.map(|s| s.as_str()),
        };
        let client_wait = self.client.ticket_update_wait(tid);
        // A voice comment carries one call's details, and a wrap-up's tag and
        // field are one call's: written alone, not merged with other calls'.
        let alone =
            voice.is_some() || !comment.tags.is_empty() || !comment.custom_fields.is_empty();
        let turn = match alone {
            true => None,
            false => Some(self.batches.turn(tid, shape, &body, client_wait)),
        };
        let written = match turn {
            None => {
                self.write_comment(tid, &body, comment, shape, voice.as_ref(), &fields)
                    .await
            }
            Some(turn) => match turn {
                Turn::Later(after) => {
                    // Not sent: the step waits without spending an attempt.
                    return Err(HelpdeskError::held_back(
                        after,
                        format!(
                            "ticket {tid} is at Zendesk's update limit; the comment waits for it"
                        ),
                    ));
                }
                Turn::Joined(heard) => heard.await.unwrap_or_else(|_| {
                    Err(ZendeskError::Network(
                        "the update carrying this comment was abandoned".into(),
                    ))
                }),
                Turn::Lead { after } => {
                    let mut leading = self.batches.leading(tid);
                    tokio::time::sleep(after).await;
                    let (bodies, answers): (Vec<String>, Vec<_>) = std::iter::once((body, None))
                        .chain(leading.close().into_iter().map(|(b, a)| (b, Some(a))))
                        .unzip();
                    let written = self
                        .write_comment(
                            tid,
                            &batch::combined(&bodies),
                            comment,
                            shape,
                            voice.as_ref(),
                            &fields,
                        )
                        .await;
                    for answer in answers.into_iter().flatten() {
                        // A follower that gave up waiting retries on its own.
                        let _ = answer.send(written.clone());
                    }
                    written
                }
            },
        };
        match written {
            Ok(id) => Ok(CommentAdded {
                earlier_text: None,
                id,
                ticket_id: ticket_id.to_string(),
                call_record: recorded,
            }),
            // Each call makes its own follow-up of a ticket closed meanwhile.
            Err(ZendeskError::TicketClosed) => {
                let added = self.follow_up(tid, comment, key).await?;
                Ok(CommentAdded {
                    call_record: recorded,
                    ..added
                })
            }
            Err(e) => Err(helpdesk_error(e)),
        }
    }

    /// A closed ticket cannot take a comment: a follow-up ticket carries it.
    pub(crate) async fn follow_up(
        &self,
        closed_id: u64,
        comment: &NewComment,
        key: &IdempotencyKey,
    ) -> Result<CommentAdded, HelpdeskError> {
        let closed = self
            .client
            .show_ticket(closed_id)
            .await
            .map_err(helpdesk_error)?
            .ok_or_else(|| {
                HelpdeskError::Permanent(format!("ticket {closed_id} no longer exists"))
            })?;
        let follow = ticket_rules::follow_up(
            &ClosedTicket {
                id: closed_id,
                subject: closed.subject.clone(),
                requester_id: closed.requester_id,
                assignee_id: closed.assignee_id,
                group_id: closed.group_id,
                priority: closed.priority.clone(),
            },
            comment,
        );
        let assignee_id = match &follow.agent {
            FollowUpAgent::OfClosed(agent) => *agent,
            FollowUpAgent::Reassigned(email) => self.agent_id(email).await?,
        };
        let followup = zd::NewTicket {
            subject: follow.subject,
            comment: Some(zd::NewComment {
                body: comment.body.clone(),
                public: comment.public,
            }),
            requester_id: follow.requester_id,
            assignee_id,
            group_id: follow.group_id,
            priority: follow.priority,
            tags: follow.tags,
            custom_fields: crate::tickets::custom_field_values(&follow.custom_fields)?,
            // Zendesk links the two and shows the link, so `names_closed`
            // is not written.
            via_followup_source_id: Some(follow.follows),
            ..zd::NewTicket::default()
        };
        let created = self
            .create_once(
                followup,
                &format!("{}/followup", key.as_str()),
                key.first_try,
                None,
            )
            .await?;
        Ok(CommentAdded {
            earlier_text: None,
            id: created.comment_id.unwrap_or_default(),
            ticket_id: created.id,
            call_record: None,
        })
    }

    /// Opens the ticket again if the core says so ([`ticket_rules::reopened_by_comment`])
    /// for its status as Zendesk has it now.
    pub(crate) async fn reopen_if_solved(
        &self,
        tid: u64,
        reopen_solved: bool,
    ) -> Result<(), HelpdeskError> {
        if !reopen_solved {
            return Ok(());
        }
        let ticket = self.client.show_ticket(tid).await.map_err(helpdesk_error)?;
        if let Some(t) = ticket {
            self.remember_ticket(&t);
            if let Some(status) = ticket_rules::reopened_by_comment(&t.status, reopen_solved) {
                let updated = self
                    .client
                    .set_status(tid, status.as_str())
                    .await
                    .map_err(helpdesk_error)?;
                self.remember_ticket(&updated.ticket);
            }
        }
        Ok(())
    }

    /// One ticket update carrying `body`; reopens the ticket when it turns out
    /// to be solved. The comment's id, or why not.
    pub(crate) async fn write_comment(
        &self,
        tid: u64,
        body: &str,
        comment: &NewComment,
        shape: UpdateShape,
        voice: Option<&zd::VoiceCommentInput>,
        custom_fields: &[zd::CustomFieldValue],
    ) -> Result<String, ZendeskError> {
        let body = zd::NewComment {
            body: body.to_string(),
            public: comment.public,
        };
        let changes = zd::CommentChanges {
            assignee_id: shape.assignee_id,
            status: shape.status,
            voice,
            additional_tags: &comment.tags,
            custom_fields,
        };
        let result = self.client.add_comment(tid, &body, &changes).await;
        let mut updated = match result {
            Ok(updated) => updated,
            Err(e) => {
                if let ZendeskError::RateLimited(wait) | ZendeskError::HeldBack(wait) = &e {
                    self.batches.held(tid, *wait);
                }
                return Err(e);
            }
        };
        let id = updated.comment_id().unwrap_or_default().to_string();
        if let Some(status) =
            ticket_rules::reopened_by_comment(&updated.ticket.status, comment.reopen_solved)
        {
            updated = self.client.set_status(tid, status.as_str()).await?;
        }
        self.remember_ticket(&updated.ticket);
        Ok(id)
    }
}
