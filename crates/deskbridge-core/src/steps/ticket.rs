//! `OpenTicket`: the ticket the call goes to, existing or new.

use super::{Cx, Progress, Request, StepError, done, need, skipped};
use crate::comment::call_comment;
use crate::decide::{TicketChoice, TicketFacts, choose_assignee, choose_ticket, ticket_lookups};
use crate::interaction::{Interaction, StepOutcome};
use crate::policy::Policy;
use crate::ports::{CallRecord, NewComment, NewTicket, TicketChannel, VoiceComment};
use crate::rule::{AssigneeRule, TicketRule};
use crate::templates::Templates;

pub(super) fn run(cx: &Cx) -> Result<Progress, StepError> {
    let (call, policy, a) = (cx.call, cx.rules.policy, cx.answers);
    if call.ticket_id.is_some() {
        return skipped("the call already has a ticket");
    }
    // Fetch only what a rule of this call would use.
    let lookups = ticket_lookups(call, policy);
    if let Some(id) = lookups.ivr_ticket
        && a.ivr_ticket.is_none()
    {
        return need(Request::GetTicket(id));
    }
    let key = (cx.key)("open_ticket");
    // A retry whose first try made the ticket and stopped before recording it
    // must not choose again: the ticket it made holds the call comment, and a
    // recent ticket chosen now would get the call a second time. The helpdesk
    // is asked by the create's key, since a list of the caller's tickets need
    // not show a ticket made a moment ago (another instance's cache, a search
    // index behind). The create is then asked for again: the helpdesk answers
    // with the ticket made then and its text (`TicketCreated::earlier_text`).
    if !key.first_try && a.made_ticket.is_none() {
        return need(Request::TicketMadeBy(key));
    }
    let made_before = a.made_ticket.as_ref().is_some_and(Option::is_some);
    if !made_before
        && lookups.caller_tickets
        && let Some(contact) = &call.contact_id
        && a.caller_tickets.is_none()
    {
        return need(Request::CallerTickets(contact.clone()));
    }
    // The first try chose a new ticket: the rules as it saw them, before its
    // own ticket existed.
    let facts = TicketFacts {
        ivr_ticket: a.ivr_ticket.clone().flatten(),
        caller_tickets: match made_before {
            true => Vec::new(),
            false => a.caller_tickets.clone().unwrap_or_default(),
        },
    };
    let (choice, rules) = choose_ticket(call, policy, &facts, cx.now);
    let choice = if made_before {
        TicketChoice::New
    } else {
        choice
    };
    let decided = |ticket_id: Option<String>| StepOutcome {
        ticket_id,
        ticket_rules: rules.clone(),
        ..StepOutcome::default()
    };
    match choice {
        TicketChoice::NoTicket => done(decided(None)),
        TicketChoice::Existing(id) => done(decided(Some(id))),
        TicketChoice::New => {
            let (assignee, assignee_rule) = choose_assignee(call, policy, cx.rules.directory);
            let Some(created) = &a.created_ticket else {
                let ticket = new_ticket(call, policy, cx.rules.templates, assignee)?;
                // Asked just now and told no earlier try made it: the create
                // need not look for it again.
                let key = match a.made_ticket {
                    Some(None) => key.nothing_made_before(),
                    _ => key,
                };
                return need(Request::CreateTicket {
                    ticket: Box::new(ticket),
                    key,
                });
            };
            // The create carried the call comment when the call had ended; its
            // success proves the comment exists, whether or not the helpdesk's
            // answer names it, so the comment is never written a second time.
            let logged = logs_call(call, policy);
            done(StepOutcome {
                assignee,
                assignee_rule: Some(assignee_rule),
                comment_id: created.comment_id.clone().filter(|_| logged),
                call_logged: logged,
                // The tag and field went with the create whatever the
                // comment; the line with the call's comment.
                wrap_up_logged: logged
                    && crate::decide::wrap_up::carried(call, created.earlier_text.as_deref()),
                logged_recording: logged_recording(call, logged, created.earlier_text.as_deref()),
                ..decided(Some(created.id.clone()))
            })
        }
    }
}

/// The recording a call comment just written (`logged`) carries: the call's,
/// unless the comment was found, written by an earlier try of the step before
/// the recording arrived (its `earlier_text` lacks the link). Then the recording
/// is still to be added, by `AddRecording`.
pub(super) fn logged_recording(
    call: &Interaction,
    logged: bool,
    earlier_text: Option<&str>,
) -> Option<String> {
    let url = call.recording_url.as_ref().filter(|_| logged)?;
    match earlier_text {
        Some(text) if !text.contains(url.as_str()) => None,
        _ => Some(url.clone()),
    }
}

/// Whether a ticket created now carries the call comment: the call has ended and
/// the group writes call comments, as text or voice comments. A group writing
/// Talk Partner Edition call records writes the call once the ticket exists (a
/// call record names its ticket), in the `LogCall` step.
fn logs_call(call: &Interaction, policy: &Policy) -> bool {
    call.outcome().is_some() && writes_in_create(policy)
}

/// The call's details go in a new ticket's first comment (not in a call
/// record written after it).
fn writes_in_create(policy: &Policy) -> bool {
    policy.create.comment && policy.call_record_app_id.is_none()
}

/// A new ticket for the call, as the group's policy describes it.
///
/// A ticket needs a first comment (Zendesk refuses one without). A call that has
/// ended by now is logged by it, in the same request; a call still going (tickets
/// created at the answer, agent mode) gets a note of what is known so far, and its
/// log later. A group that writes no call comments opens tickets with the subject.
pub fn new_ticket(
    call: &Interaction,
    policy: &Policy,
    templates: &Templates,
    assignee: Option<String>,
) -> Result<NewTicket, StepError> {
    let assignee_email = assignee.clone();
    let subject = templates.ticket_subject(call)?;
    let body = match writes_in_create(policy) {
        true => call_comment(call),
        false => subject.clone(),
    };
    // The wrap-up's tag and field, when the agent gave it before the ticket
    // was made (the ticket waits for it with the call's comment).
    let marks = crate::decide::wrap_up::ticket_marks(call);
    let mut tags = policy.ticket_tags.clone();
    tags.extend(marks.tags);
    let mut custom_fields = templates.custom_field_values(call)?;
    custom_fields.extend(marks.custom_fields);
    Ok(NewTicket {
        channel: TicketChannel::Call,
        requester_id: call.contact_id.clone(),
        priority: policy.ticket_priority,
        ticket_type: policy.ticket_type,
        status: policy.ticket_status,
        tags,
        ticket_form: policy.ticket_form.clone(),
        group: templates.ticket_group(call)?,
        product: templates.ticket_product(call)?,
        custom_fields,
        assignee,
        comment: Some(NewComment::private(body)),
        subject,
        voice: voice_comment(call, policy, assignee_email).filter(|_| writes_in_create(policy)),
        display_to: None,
    })
}

/// The call as a voice comment, when the group writes them and the call has
/// ended with a recording (a voice comment needs one).
pub(super) fn voice_comment(
    call: &Interaction,
    policy: &Policy,
    answered_by: Option<String>,
) -> Option<VoiceComment> {
    let outcome = call.outcome()?;
    let recording_url = call.recording_url.clone()?;
    if !policy.voice_comments || !policy.create.comment {
        return None;
    }
    let shown =
        |p: Option<&crate::phone::Phone>| p.map_or(String::new(), |p| p.as_str().to_string());
    Some(VoiceComment {
        inbound: call.direction == crate::event::Direction::Inbound,
        voicemail: outcome == crate::interaction::Outcome::Voicemail,
        from: shown(call.from.as_ref()),
        to: shown(call.to.as_ref()),
        recording_url,
        started_at: call
            .ringing_at
            .or(call.answered_at)
            .unwrap_or(call.first_at),
        duration_s: call.talk_seconds().unwrap_or(0),
        answered_by: answered_by.filter(|_| outcome == crate::interaction::Outcome::Answered),
        transcript: call.transcript.clone(),
    })
}

/// The call as a record of the group's telephony app in the helpdesk's call
/// log, once it has ended, when the group keeps one (`zendesk_app_id`).
/// Unanswered calls are records too: the record's outcome says what happened.
pub(super) fn call_record(
    call: &Interaction,
    policy: &Policy,
    answered_by: Option<String>,
) -> Option<CallRecord> {
    let app_id = policy.call_record_app_id?;
    let outcome = call.outcome()?;
    if !policy.create.comment {
        return None;
    }
    let shown =
        |p: Option<&crate::phone::Phone>| p.map_or(String::new(), |p| p.as_str().to_string());
    let inbound = call.direction == crate::event::Direction::Inbound;
    let (from, to) = (shown(call.from.as_ref()), shown(call.to.as_ref()));
    let title = match inbound {
        true => format!("Inbound call from {from}"),
        false => format!("Outbound call to {to}"),
    };
    Some(CallRecord {
        app_id,
        inbound,
        from,
        to,
        started_at: call
            .ringing_at
            .or(call.answered_at)
            .unwrap_or(call.first_at),
        ended_at: call.ended_at,
        answered_by: answered_by.filter(|_| outcome == crate::interaction::Outcome::Answered),
        outcome,
        voicemail: outcome == crate::interaction::Outcome::Voicemail,
        duration_s: call.talk_seconds().unwrap_or(0),
        recording_url: call.recording_url.clone(),
        transcript: call.transcript.clone(),
        title,
    })
}

/// The ticket's new assignee, written with the call's comment: the agent who
/// had the call last (a transfer moves it on), when deskbridge assigned the
/// ticket to someone else, or made the ticket for this call before anyone
/// answered (a pop opened it while the phone rang). A ticket deskbridge found
/// keeps its assignee.
pub(super) fn reassignment(cx: &Cx) -> Option<(String, AssigneeRule)> {
    let (assignee, rule) = choose_assignee(cx.call, cx.rules.policy, cx.rules.directory);
    let ours = match &cx.call.assignee {
        Some(current) => assignee.as_ref() != Some(current),
        None => cx
            .call
            .ticket_rules
            .last()
            .is_some_and(TicketRule::makes_a_ticket),
    };
    assignee.filter(|_| ours).map(|a| (a, rule))
}
