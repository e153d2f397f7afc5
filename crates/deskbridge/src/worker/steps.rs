//! What each step does. A step reads the call as it is when the step runs (so it
//! sees facts that arrived after it was queued), asks the decision functions what
//! to do, and does it through the helpdesk port with an idempotency key derived from
//! the call and the step.

use deskbridge_core::comment::{call_comment, recording_comment};
use deskbridge_core::decide::{ContactQuery, PhoneMatch, contact_query, phone_match};
use deskbridge_core::ports::{HelpdeskError, IdempotencyKey, NewComment, NewContact, NewTicket};
use deskbridge_core::{Interaction, Step, StepOutcome};
use deskbridge_store::ClaimedStep;

use super::PhoneLocks;
use crate::app::AppState;

pub async fn run(
    state: &AppState,
    locks: &PhoneLocks,
    step: &ClaimedStep,
) -> Result<StepOutcome, HelpdeskError> {
    let group = state.group(&step.group).ok_or_else(|| {
        HelpdeskError::Permanent(format!(
            "connector group {:?} is no longer configured",
            step.group
        ))
    })?;
    let call = &step.interaction;
    let key = |suffix: &str| IdempotencyKey::for_step(&step.group, &step.call_id, suffix);
    match step.step {
        Step::IdentifyCaller => identify(state, locks, group, call, &key("identify_caller")).await,
        Step::OpenTicket => open_ticket(state, group, call, &key("open_ticket")).await,
        Step::LogCall => log_call(state, call, &key("log_call")).await,
        Step::AddRecording => {
            add_recording(state, call, &key(&format!("add_recording/{}", step.job_id))).await
        }
    }
}

async fn identify(
    state: &AppState,
    locks: &PhoneLocks,
    group: &crate::app::Group,
    call: &Interaction,
    key: &IdempotencyKey,
) -> Result<StepOutcome, HelpdeskError> {
    let helpdesk = &state.helpdesk;
    let phone = match contact_query(call, &group.policy) {
        ContactQuery::ById { id, then_phone } => {
            if let Some(contact) = helpdesk.get_contact(&id).await? {
                return Ok(contact_found(contact.id, "attribute_contact"));
            }
            match then_phone {
                Some(p) => p,
                None => {
                    return Ok(StepOutcome {
                        contact_rule: Some("attribute_contact_not_found".into()),
                        skipped: Some(format!("no contact {id} and no number to look up")),
                        ..StepOutcome::default()
                    });
                }
            }
        }
        ContactQuery::ByPhone(p) => p,
        ContactQuery::Nothing { reason } => {
            return Ok(StepOutcome {
                contact_rule: Some(reason.into()),
                skipped: Some("no number to look up".into()),
                ..StepOutcome::default()
            });
        }
    };
    // Look up and create under the number's lock: a concurrent call from the same
    // new number waits here and then finds this contact.
    let _guard = locks.lock(&phone).await;
    let found = helpdesk.find_contacts_by_phone(&phone).await?;
    match phone_match(&found) {
        PhoneMatch::Use { id, rule } => Ok(contact_found(id, rule)),
        PhoneMatch::Create => {
            let name = group
                .policy
                .contact_name(call)
                .map_err(|e| HelpdeskError::Permanent(e.to_string()))?;
            let contact = helpdesk
                .create_contact(&NewContact { name, phone }, key)
                .await?;
            Ok(contact_found(contact.id, "new_contact"))
        }
    }
}

fn contact_found(id: String, rule: &str) -> StepOutcome {
    StepOutcome {
        contact_id: Some(id),
        contact_rule: Some(rule.into()),
        ..StepOutcome::default()
    }
}

async fn open_ticket(
    state: &AppState,
    group: &crate::app::Group,
    call: &Interaction,
    key: &IdempotencyKey,
) -> Result<StepOutcome, HelpdeskError> {
    if call.ticket_id.is_some() {
        return Ok(StepOutcome {
            skipped: Some("the call already has a ticket".into()),
            ..StepOutcome::default()
        });
    }
    let policy = &group.policy;
    let subject = policy
        .ticket_subject(call)
        .map_err(|e| HelpdeskError::Permanent(e.to_string()))?;
    // A call that has ended by now is written into the ticket in the same request.
    let comment = call.outcome().map(|_| NewComment {
        body: call_comment(call),
        public: false,
    });
    let ticket = NewTicket {
        subject,
        requester_id: call.contact_id.clone(),
        priority: policy.ticket_priority,
        ticket_type: policy.ticket_type,
        tags: policy.ticket_tags.clone(),
        assignee: call.last_agent().and_then(|a| a.email.clone()),
        comment,
    };
    let created = state.helpdesk.create_ticket(&ticket, key).await?;
    let logged = created.comment_id.is_some();
    Ok(StepOutcome {
        ticket_id: Some(created.id),
        ticket_rule: Some("new_ticket".into()),
        comment_id: created.comment_id,
        logged_recording: call.recording_url.clone().filter(|_| logged),
        ..StepOutcome::default()
    })
}

async fn log_call(
    state: &AppState,
    call: &Interaction,
    key: &IdempotencyKey,
) -> Result<StepOutcome, HelpdeskError> {
    if call.comment_id.is_some() {
        return Ok(StepOutcome {
            skipped: Some("the call comment was written with the ticket".into()),
            ..StepOutcome::default()
        });
    }
    let Some(ticket_id) = &call.ticket_id else {
        return Ok(StepOutcome {
            skipped: Some("no ticket for this call (policy)".into()),
            ..StepOutcome::default()
        });
    };
    let comment = NewComment {
        body: call_comment(call),
        public: false,
    };
    let id = state.helpdesk.add_comment(ticket_id, &comment, key).await?;
    Ok(StepOutcome {
        comment_id: Some(id),
        logged_recording: call.recording_url.clone(),
        ..StepOutcome::default()
    })
}

async fn add_recording(
    state: &AppState,
    call: &Interaction,
    key: &IdempotencyKey,
) -> Result<StepOutcome, HelpdeskError> {
    let skip = |why: &str| {
        Ok(StepOutcome {
            skipped: Some(why.into()),
            ..StepOutcome::default()
        })
    };
    let Some(url) = &call.recording_url else {
        return skip("no recording");
    };
    if call.logged_recording.as_ref() == Some(url) {
        return skip("the call comment already links this recording");
    }
    let Some(ticket_id) = &call.ticket_id else {
        return skip("no ticket for this call (policy)");
    };
    let comment = NewComment {
        body: recording_comment(call, url),
        public: false,
    };
    let id = state.helpdesk.add_comment(ticket_id, &comment, key).await?;
    Ok(StepOutcome {
        comment_id: Some(id),
        logged_recording: Some(url.clone()),
        ..StepOutcome::default()
    })
}
