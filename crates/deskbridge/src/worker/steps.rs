//! What each step does. A step reads the call as it is when the step runs, asks
//! the decision functions what to do, and does it through the group's helpdesk with
//! an idempotency key derived from the call and the step.

use chrono::Utc;
use deskbridge_core::comment::{call_comment, recording_comment};
use deskbridge_core::decide::{
    ContactQuery, PhoneMatch, TicketChoice, TicketFacts, choose_assignee, choose_ticket,
    contact_query, phone_match, ticket_lookups,
};
use deskbridge_core::ports::{
    CommentAdded, HelpdeskError, IdempotencyKey, NewComment, NewContact, NewTicket,
};
use deskbridge_core::{Interaction, Step, StepOutcome};
use deskbridge_store::ClaimedStep;

use crate::app::{AppState, Group};

pub async fn run(
    state: &AppState,
    group: &Group,
    step: &ClaimedStep,
) -> Result<StepOutcome, HelpdeskError> {
    let call = &step.interaction;
    let retried = step.attempt > 1;
    let key = |suffix: &str| {
        IdempotencyKey::for_step(&step.group, &step.call_id, suffix).retried(retried)
    };
    match step.step {
        Step::IdentifyCaller => identify(state, group, call, &key).await,
        Step::AwaitAgent => Ok(agent_timeout(call)),
        Step::OpenTicket => open_ticket(state, group, call, &key("open_ticket")).await,
        Step::LogCall => log_call(state, group, call, &key("log_call")).await,
        Step::AddRecording => {
            add_recording(group, call, &key(&format!("add_recording/{}", step.job_id))).await
        }
    }
}

fn template_error(e: deskbridge_core::policy::TemplateError) -> HelpdeskError {
    HelpdeskError::Permanent(format!("template {e}"))
}

async fn identify(
    state: &AppState,
    group: &Group,
    call: &Interaction,
    key: &(dyn Fn(&str) -> IdempotencyKey + Sync),
) -> Result<StepOutcome, HelpdeskError> {
    let helpdesk = &group.helpdesk;
    let policy = &group.policy;
    let (phone, source, prefix) = match contact_query(call, policy, group.region) {
        ContactQuery::ById { id, then_phone } => {
            if let Some(contact) = helpdesk.get_contact(&id).await? {
                return Ok(contact_found(contact.id, "attribute_contact".into()));
            }
            match then_phone {
                Some(p) => (p, "phone", "attribute_contact_not_found_"),
                None => {
                    return Ok(StepOutcome {
                        contact_rule: Some("attribute_contact_not_found".into()),
                        skipped: Some(format!("no contact {id} and no number to look up")),
                        ..StepOutcome::default()
                    });
                }
            }
        }
        ContactQuery::ByPhone { phone, rule } => (phone, rule, ""),
        ContactQuery::Nothing { reason } => {
            return Ok(StepOutcome {
                contact_rule: Some(reason.into()),
                skipped: Some("no number to look up".into()),
                ..StepOutcome::default()
            });
        }
    };
    let rule = |r: &str| match source {
        "customer_number" => format!("{prefix}customer_number_{r}"),
        _ => format!("{prefix}{r}"),
    };
    // Look up and create under the number's lock, held across instances: a
    // concurrent call from the same new number waits here and then finds this
    // contact.
    let _guard = state
        .store
        .lock_phone(&phone)
        .await
        .map_err(|e| HelpdeskError::Transient(e.to_string()))?;
    let found = helpdesk.find_contacts_by_phone(&phone).await?;
    match phone_match(&found, policy.ambiguous_caller) {
        PhoneMatch::Use { id, rule: r } => Ok(contact_found(id, rule(r))),
        PhoneMatch::AskAgent { candidates } => Ok(StepOutcome {
            contact_rule: Some(rule("phone_ambiguous_agent_decides")),
            contact_candidates: candidates,
            ..StepOutcome::default()
        }),
        PhoneMatch::Create { .. } if !policy.create.contact => Ok(StepOutcome {
            contact_rule: Some(rule("contact_creation_off")),
            ..StepOutcome::default()
        }),
        PhoneMatch::Create { rule: r } => {
            let organization_id = match policy.organization_name(call).map_err(template_error)? {
                Some(name) if policy.create.organization => Some(
                    helpdesk
                        .create_organization(&name, &key("identify_caller/organization"))
                        .await?,
                ),
                _ => None,
            };
            let name = policy.contact_name(call).map_err(template_error)?;
            let contact = NewContact {
                name,
                phone,
                organization_id,
            };
            let created = helpdesk
                .create_contact(&contact, &key("identify_caller"))
                .await?;
            Ok(contact_found(created.id, rule(r)))
        }
    }
}

fn contact_found(id: String, rule: String) -> StepOutcome {
    StepOutcome {
        contact_id: Some(id),
        contact_rule: Some(rule),
        ..StepOutcome::default()
    }
}

/// The agent's deadline passed without a decision: the group's fallback runs (the
/// call's next step follows from `agent_timed_out`). A number shared by several
/// contacts then goes to the newest of them.
fn agent_timeout(call: &Interaction) -> StepOutcome {
    let newest = call
        .contact_id
        .is_none()
        .then(|| call.contact_candidates.first().cloned())
        .flatten();
    StepOutcome {
        contact_rule: newest
            .as_ref()
            .map(|_| "phone_ambiguous_timeout_newest".into()),
        contact_id: newest,
        agent_timed_out: true,
        ..StepOutcome::default()
    }
}

async fn open_ticket(
    state: &AppState,
    group: &Group,
    call: &Interaction,
    key: &IdempotencyKey,
) -> Result<StepOutcome, HelpdeskError> {
    let helpdesk = &group.helpdesk;
    let policy = &group.policy;
    if call.ticket_id.is_some() {
        return Ok(StepOutcome {
            skipped: Some("the call already has a ticket".into()),
            ..StepOutcome::default()
        });
    }
    // Fetch only what a rule of this call would use.
    let lookups = ticket_lookups(call, policy);
    let mut facts = TicketFacts::default();
    if let Some(id) = &lookups.ivr_ticket {
        facts.ivr_ticket = helpdesk.get_ticket(id).await?;
    }
    if lookups.caller_tickets
        && let Some(contact) = &call.contact_id
    {
        facts.caller_tickets = helpdesk.caller_tickets(contact).await?;
    }
    let (choice, rules) = choose_ticket(call, policy, &facts, Utc::now());
    let (assignee, assignee_rule) = choose_assignee(call, policy, &state.directory);
    let decided = |ticket_id: Option<String>| StepOutcome {
        ticket_id,
        ticket_rules: rules.clone(),
        ..StepOutcome::default()
    };
    match choice {
        TicketChoice::NoTicket => Ok(decided(None)),
        TicketChoice::Existing(id) => Ok(decided(Some(id))),
        TicketChoice::New => {
            // A ticket needs a first comment (Zendesk refuses one without). A call
            // that has ended by now is logged by it, in the same request; a call
            // still going gets a note of what is known so far, and its log later.
            let ended = call.outcome().is_some();
            let subject = policy.ticket_subject(call).map_err(template_error)?;
            let comment = NewComment {
                body: match policy.create.comment {
                    true => call_comment(call),
                    false => subject.clone(),
                },
                public: false,
                reassign: None,
            };
            let ticket = NewTicket {
                subject,
                requester_id: call.contact_id.clone(),
                priority: policy.ticket_priority,
                ticket_type: policy.ticket_type,
                status: policy.ticket_status,
                tags: policy.ticket_tags.clone(),
                ticket_form: policy.ticket_form.clone(),
                custom_fields: policy.custom_field_values(call).map_err(template_error)?,
                assignee: assignee.clone(),
                comment: Some(comment),
            };
            let created = helpdesk.create_ticket(&ticket, key).await?;
            let logged = ended && policy.create.comment && created.comment_id.is_some();
            Ok(StepOutcome {
                assignee,
                assignee_rule: Some(assignee_rule.into()),
                comment_id: created.comment_id.filter(|_| logged),
                logged_recording: call.recording_url.clone().filter(|_| logged),
                ..decided(Some(created.id))
            })
        }
    }
}

async fn log_call(
    state: &AppState,
    group: &Group,
    call: &Interaction,
    key: &IdempotencyKey,
) -> Result<StepOutcome, HelpdeskError> {
    let Some(ticket_id) = &call.ticket_id else {
        return Ok(StepOutcome {
            skipped: Some("no ticket for this call".into()),
            ..StepOutcome::default()
        });
    };
    // A transfer after the ticket was made: the ticket follows the last agent.
    let (assignee, rule) = choose_assignee(call, &group.policy, &state.directory);
    let reassign =
        assignee.filter(|a| call.assignee.is_some() && Some(a) != call.assignee.as_ref());
    let comment = NewComment {
        body: call_comment(call),
        public: false,
        reassign: reassign.clone(),
    };
    let added = group.helpdesk.add_comment(ticket_id, &comment, key).await?;
    Ok(StepOutcome {
        assignee_rule: reassign.as_ref().map(|_| rule.to_string()),
        assignee: reassign,
        comment_id: Some(added.id.clone()),
        logged_recording: call.recording_url.clone(),
        ..moved_to_followup(ticket_id, &added)
    })
}

async fn add_recording(
    group: &Group,
    call: &Interaction,
    key: &IdempotencyKey,
) -> Result<StepOutcome, HelpdeskError> {
    let (Some(url), Some(ticket_id)) = (&call.recording_url, &call.ticket_id) else {
        return Ok(StepOutcome {
            skipped: Some("no recording or no ticket".into()),
            ..StepOutcome::default()
        });
    };
    let comment = NewComment {
        body: recording_comment(call, url),
        public: false,
        reassign: None,
    };
    let added = group.helpdesk.add_comment(ticket_id, &comment, key).await?;
    Ok(StepOutcome {
        logged_recording: Some(url.clone()),
        ..moved_to_followup(ticket_id, &added)
    })
}

/// When the ticket was closed and the comment went into a follow-up, the call
/// moves to the follow-up.
fn moved_to_followup(asked: &str, added: &CommentAdded) -> StepOutcome {
    match added.ticket_id == asked {
        true => StepOutcome::default(),
        false => StepOutcome {
            ticket_id: Some(added.ticket_id.clone()),
            ticket_rules: vec!["followup_of_closed_ticket".into()],
            ..StepOutcome::default()
        },
    }
}
