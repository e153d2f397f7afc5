//! Talk Partner Edition's call records and voice comments: a call's details as
//! Zendesk shows a call, in one request.

use deskbridge_core::ports::*;
use deskbridge_zendesk::ZendeskError;
use deskbridge_zendesk::types as zd;

use crate::ZendeskHelpdesk;
use crate::error::helpdesk_error;
use crate::tickets::ticket_external_id;

impl ZendeskHelpdesk {
    /// A voice comment as Zendesk takes it, the answering agent by Zendesk id.
    pub(crate) async fn voice_input(
        &self,
        v: &VoiceComment,
    ) -> Result<zd::VoiceCommentInput, HelpdeskError> {
        Ok(zd::VoiceCommentInput {
            from: v.from.clone(),
            to: v.to.clone(),
            recording_url: v.recording_url.clone(),
            started_at: v.started_at.to_rfc3339(),
            call_duration: v.duration_s,
            answered_by_id: self.agent_id_of(v.answered_by.as_deref()).await?,
            transcription_text: v.transcript.clone(),
        })
    }

    /// A recording that arrived after the call's record: set on the record
    /// (its voice comment shows the record's fields).
    pub(crate) async fn add_recording_to_call(
        &self,
        record_id: &str,
        recording_url: &str,
    ) -> Result<(), HelpdeskError> {
        let id: u64 = record_id.parse().map_err(|_| {
            HelpdeskError::Permanent(format!("call record id {record_id:?} is not a Zendesk id"))
        })?;
        self.client
            .update_call_recording(id, recording_url)
            .await
            .map_err(helpdesk_error)?;
        Ok(())
    }

    /// The call as a Talk Partner Edition call record on ticket `tid`, with its
    /// voice comment (`POST /api/v2/calls` with `ticket_id` and a `comment`
    /// section, "Creating a voice comment in ticket"): one request, where the
    /// text comment was one. Zendesk takes no `Idempotency-Key` on calls, so the
    /// record carries the step's key as its `external_id`, and a step that ran
    /// before first looks among the ticket's newest comments for the voice
    /// comment showing that external id (the comment shows the call's fields),
    /// as a retried text comment looks for its reference: a retry makes no
    /// second record. A refusal (403 or 404: the account has no Talk Partner
    /// Edition; 422: the app id or a field is wrong, or the ticket is closed)
    /// is `Refused`, and the caller writes the text comment instead; 403 and
    /// 404 are remembered, so later calls do not ask again.
    pub(crate) async fn record_call(
        &self,
        tid: u64,
        record: &CallRecord,
        key: &IdempotencyKey,
    ) -> Result<CallRecordStatus, HelpdeskError> {
        if let Some(reason) = self
            .calls_refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            return Ok(CallRecordStatus::Refused { reason });
        }
        let external_id = ticket_external_id(key.as_str());
        if !key.first_try {
            let existing = self
                .client
                .ticket_comments(tid)
                .await
                .map_err(helpdesk_error)?;
            if let Some(id) = existing.iter().find_map(|c| c.shows_call(&external_id)) {
                return Ok(CallRecordStatus::Recorded { id: id.to_string() });
            }
        }
        let agent_id = self.agent_id_of(record.answered_by.as_deref()).await?;
        let end_user_id = self
            .cache()
            .tickets
            .get(&tid.to_string())
            .and_then(|(_, t)| t.requester_id.as_deref().and_then(|r| r.parse().ok()));
        use deskbridge_core::interaction::Outcome;
        // Zendesk's completion statuses name where a caller gave up; the other
        // outcomes are said in words in `call_disposition`.
        let (completion_status, call_disposition) = match record.outcome {
            Outcome::Answered => (Some("completed"), None),
            Outcome::Abandoned => (Some("abandoned_in_queue"), None),
            other => (None, Some(other.as_str())),
        };
        let call = zd::NewCall {
            app_id: record.app_id,
            from_line: record.from.clone(),
            to_line: record.to.clone(),
            call_started_at: record.started_at.to_rfc3339(),
            direction: if record.inbound {
                "inbound"
            } else {
                "outbound"
            }
            .into(),
            call_ended_at: record.ended_at.map(|t| t.to_rfc3339()),
            ticket_id: Some(tid),
            agent_id,
            end_user_id,
            completion_status: completion_status.map(str::to_string),
            call_disposition: call_disposition.map(str::to_string),
            voicemail: record.voicemail,
            talk_time: record.duration_s,
            recording_url: record.recording_url.clone(),
            transcript: record.transcript.clone(),
            external_id: Some(external_id),
            comment: Some(zd::CallComment {
                title: record.title.clone(),
                public: false,
                author_id: None,
            }),
        };
        match self.client.create_call(&call).await {
            Ok(made) => Ok(CallRecordStatus::Recorded {
                id: made.id.to_string(),
            }),
            Err(e @ (ZendeskError::Forbidden { .. } | ZendeskError::NotFound)) => {
                let reason = format!(
                    "Zendesk refused call records ({}): the account has no Talk Partner \
                     Edition, or its API user may not create calls; calls get the text \
                     comment (remove zendesk_app_id, or add Talk Partner Edition)",
                    match e {
                        ZendeskError::NotFound => "404",
                        _ => "403",
                    }
                );
                tracing::warn!(%reason, "writing text comments instead of call records");
                *self.calls_refused.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(reason.clone());
                Ok(CallRecordStatus::Refused { reason })
            }
            Err(ZendeskError::TicketClosed) => Ok(CallRecordStatus::Refused {
                reason: format!(
                    "ticket {tid} is closed: the call's comment went to a follow-up ticket as text"
                ),
            }),
            Err(e @ ZendeskError::Invalid { .. }) => Ok(CallRecordStatus::Refused {
                reason: format!("{e}; the text comment was written instead"),
            }),
            Err(e) => Err(helpdesk_error(e)),
        }
    }
}
