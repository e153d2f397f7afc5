//! A chat's steps: `IdentifyCaller` finds the visitor, `OpenTicket` makes the
//! chat's one ticket (see [`crate::chat`] for what goes in it).

use super::{Cx, Progress, Request, StepError, done, need, skipped};
use crate::chat::{self, Conversation};
use crate::decide::choose_assignee;
use crate::interaction::{Step, StepOutcome};
use crate::ports::NewContact;
use crate::rule::{ContactRule, TicketRule};

pub(super) fn run(cx: &Cx, step: Step, c: &Conversation) -> Result<Progress, StepError> {
    match step {
        Step::IdentifyCaller => identify(cx, c),
        Step::OpenTicket => open_ticket(cx, c),
        // A chat never queues these; a stray one does nothing.
        Step::AwaitAgent | Step::LogCall | Step::AddRecording | Step::AddWrapUp | Step::Pop => {
            skipped("a chat has no such step")
        }
    }
}

/// The contact with the visitor's email, else the newest with their number, else
/// a new contact with their name, email and number. Lookup and creation hold the
/// lock on the email (or the number), so two chats of one new visitor make one
/// contact.
fn identify(cx: &Cx, c: &Conversation) -> Result<Progress, StepError> {
    let a = cx.answers;
    let q = chat::visitor_query(c);
    let lock = match (&q.email, &q.phone) {
        (Some(email), _) => Some(format!("email:{email}")),
        (None, Some(phone)) => Some(phone.clone()),
        (None, None) => None,
    };
    if let Some(lock) = lock
        && !a.locked
    {
        return need(Request::LockPhone(lock));
    }
    if let Some(email) = &q.email {
        match &a.contacts_by_email {
            None => return need(Request::FindContactsByEmail(email.clone())),
            Some(found) => {
                if let Some(first) = found.first() {
                    return done(found_contact(first.id.clone(), ContactRule::VisitorEmail));
                }
            }
        }
    }
    if let Some(phone) = &q.phone {
        match &a.contacts_by_phone {
            None => return need(Request::FindContactsByPhone(phone.clone())),
            Some(found) => {
                if let Some(first) = found.first() {
                    return done(found_contact(first.id.clone(), ContactRule::VisitorPhone));
                }
            }
        }
    }
    if !cx.rules.policy.create.contact {
        return done(StepOutcome {
            contact_rule: Some(ContactRule::VisitorContactCreationOff),
            ..StepOutcome::default()
        });
    }
    match &a.created_contact {
        Some(contact) => done(found_contact(
            contact.id.clone(),
            ContactRule::VisitorNewContact,
        )),
        None => need(Request::CreateContact {
            contact: NewContact {
                name: chat::visitor_name(c),
                phone: q.phone,
                email: q.email,
                organization_id: None,
            },
            key: (cx.key)("identify_caller"),
        }),
    }
}

fn found_contact(id: String, rule: ContactRule) -> StepOutcome {
    StepOutcome {
        contact_id: Some(id),
        contact_rule: Some(rule),
        ..StepOutcome::default()
    }
}

/// The chat's ticket with the transcript (one request), then, for an escalated
/// chat with a note, the note as a private comment.
fn open_ticket(cx: &Cx, c: &Conversation) -> Result<Progress, StepError> {
    let a = cx.answers;
    let policy = cx.rules.policy;
    if !policy.create.ticket {
        return done(StepOutcome {
            ticket_rules: vec![TicketRule::TicketCreationOff],
            skipped: Some("the site creates no tickets".into()),
            ..StepOutcome::default()
        });
    }
    let (assignee, assignee_rule) = choose_assignee(cx.call, policy, cx.rules.directory);
    let Some(created) = &a.created_ticket else {
        let ticket = chat::new_ticket(c, policy, cx.call.contact_id.clone(), assignee);
        return need(Request::CreateTicket {
            ticket: Box::new(ticket),
            key: (cx.key)("open_ticket"),
        });
    };
    let mut comment_id = created.comment_id.clone();
    if let Some(note) = chat::escalation_note(c, &policy.chat) {
        match &a.comment {
            None => {
                return need(Request::AddComment {
                    ticket_id: created.id.clone(),
                    comment: note,
                    key: (cx.key)("open_ticket/note"),
                });
            }
            Some(added) => comment_id = comment_id.or_else(|| Some(added.id.clone())),
        }
    }
    let rule = if c.escalate {
        TicketRule::ChatEscalation
    } else {
        TicketRule::ChatArchive
    };
    done(StepOutcome {
        ticket_id: Some(created.id.clone()),
        ticket_rules: vec![rule],
        assignee,
        assignee_rule: Some(assignee_rule),
        comment_id,
        call_logged: true,
        ..StepOutcome::default()
    })
}
