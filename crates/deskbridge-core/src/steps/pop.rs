//! `Pop`: open the caller's contact or ticket on one agent's screen.
//!
//! The pop does the call's own work early rather than work of its own: it finds
//! the caller as `IdentifyCaller` would (the same procedure, so the call records
//! it and identifies nobody twice), and a ticket it opens (found, or created as
//! new) is the call's ticket. So a call with a pop costs at most the display
//! request more than a call without; a new ticket is created and shown in one
//! request where the helpdesk can.

use super::ticket::new_ticket;
use super::{Cx, Progress, Request, StepError, done, identify, need, skipped};
use crate::decide::pop::{PopChoice, PopFacts, PopLookup, choose_pop, pop_due, pop_lookup};
use crate::decide::{choose_assignee, directory_match};
use crate::interaction::StepOutcome;
use crate::pop::{DeliveryStatus, PopChannel, PopDelivery, PopRecord, PopTarget};

pub(super) fn run(cx: &Cx) -> Result<Progress, StepError> {
    let (call, policy, a) = (cx.call, cx.rules.policy, cx.answers);
    let Some(agent_ref) = pop_due(call) else {
        return skipped("no pop is due");
    };
    let Some((agent, _)) = directory_match(cx.rules.directory, agent_ref) else {
        // Nobody to show it to: a pop goes only to an agent the directory knows.
        return done(StepOutcome {
            pop_for: Some(agent_ref.clone()),
            skipped: Some("the agent is not in the agents directory".into()),
            ..StepOutcome::default()
        });
    };
    // 1. The caller, found (or created) as IdentifyCaller would, once per call.
    let mut outcome = StepOutcome::default();
    if call.contact_rule.is_none() && !call.done.identify {
        match identify::run(cx)? {
            Progress::Need(request) => return need(request),
            Progress::Done(found) => {
                outcome = StepOutcome {
                    skipped: None,
                    ..found
                }
            }
        }
    }
    let contact_id = call.contact_id.clone().or(outcome.contact_id.clone());
    // 2. The ticket to open, looked up only as the group's pop action needs.
    let mut facts = PopFacts::default();
    match pop_lookup(call, policy, contact_id.as_deref()) {
        PopLookup::Nothing => {}
        PopLookup::Ticket(id) => match &a.ivr_ticket {
            None => return need(Request::GetTicket(id)),
            Some(t) => facts.ticket = t.clone(),
        },
        PopLookup::CallerTickets(contact) => match &a.caller_tickets {
            None => return need(Request::CallerTickets(contact)),
            Some(t) => facts.tickets = t.clone(),
        },
        PopLookup::TicketsByField { field, value } => match &a.field_tickets {
            None => return need(Request::TicketsWithField { field, value }),
            Some(t) => facts.tickets = t.clone(),
        },
    }
    // The pop decides with the contact it found, before it is recorded.
    let (choice, rules) = {
        let mut seen = call.clone();
        seen.contact_id.clone_from(&contact_id);
        choose_pop(&seen, policy, contact_id.as_deref(), &facts)
    };
    let mut new = false;
    let mut shown: Option<Option<PopDelivery>> = None;
    let target = match choice {
        PopChoice::Ticket(id) => {
            if call.ticket_id.is_none() {
                outcome.ticket_id = Some(id.clone());
                outcome.ticket_rules = rules;
            }
            Some(PopTarget::Ticket(id))
        }
        PopChoice::Contact(id) => Some(PopTarget::Contact(id)),
        PopChoice::Nothing => None,
        PopChoice::NewTicket => {
            let mut seen = call.clone();
            seen.contact_id.clone_from(&contact_id);
            let (assignee, assignee_rule) = choose_assignee(&seen, policy, cx.rules.directory);
            let Some(created) = &a.created_ticket else {
                let mut ticket = new_ticket(&seen, policy, cx.rules.templates, assignee)?;
                if let Some(field) = cx.rules.templates.pop_field_value(&seen)? {
                    ticket.custom_fields.retain(|(id, _)| *id != field.0);
                    ticket.custom_fields.push(field);
                }
                ticket.display_to = Some(agent.email.clone());
                return need(Request::CreateTicket {
                    ticket: Box::new(ticket),
                    key: (cx.key)("pop/ticket"),
                });
            };
            // As in OpenTicket: a call that had ended is logged by the create.
            let logged = call.outcome().is_some() && policy.create.comment;
            outcome.ticket_id = Some(created.id.clone());
            outcome.ticket_rules = rules;
            outcome.assignee = assignee;
            outcome.assignee_rule = Some(assignee_rule);
            outcome.call_logged = logged;
            outcome.comment_id = created.comment_id.clone().filter(|_| logged);
            outcome.wrap_up_logged =
                logged && crate::decide::wrap_up::carried(call, created.earlier_text.as_deref());
            outcome.logged_recording =
                super::ticket::logged_recording(call, logged, created.earlier_text.as_deref());
            new = true;
            // The create showed it, where the helpdesk shows records at all.
            shown = Some(created.displayed.clone());
            Some(PopTarget::Ticket(created.id.clone()))
        }
    };
    // 3. Shown in the helpdesk's agent UI (unless the create did it).
    if shown.is_none()
        && let Some(target) = &target
    {
        match &a.displayed {
            None => {
                return need(Request::Display {
                    agent: agent.email.clone(),
                    target: target.clone(),
                });
            }
            Some(d) => shown = Some(d.clone()),
        }
    }
    // deskbridge's agent page reads every pop from the call's record.
    let mut deliveries = vec![PopDelivery {
        channel: PopChannel::Page,
        status: DeliveryStatus::Delivered,
        detail: None,
    }];
    deliveries.extend(shown.flatten());
    let (contact_shown, ticket_shown) = match &target {
        Some(PopTarget::Ticket(id)) => (contact_id.clone(), Some(id.clone())),
        _ => (contact_id.clone(), None),
    };
    done(StepOutcome {
        pop_for: Some(agent_ref.clone()),
        pop: Some(Box::new(PopRecord {
            agent: agent.email.clone(),
            at: cx.now,
            on: crate::decide::pop::pop_moment(call),
            action: policy.pop_action,
            contact_id: contact_shown,
            ticket_id: ticket_shown,
            new_ticket: new,
            deliveries,
        })),
        ..outcome
    })
}
