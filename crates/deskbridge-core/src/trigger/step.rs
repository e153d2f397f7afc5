//! What a call's or chat's step changed in a helpdesk that announces nothing
//! itself (Zendesk): the [`Change`]s a recorded [`StepOutcome`] makes, so the
//! store can write their notifications in the transaction that records the
//! outcome. A step run again after a crash records one outcome, so it announces
//! once.
//!
//! Only what deskbridge did is known here: a contact it created, a ticket it
//! created or wrote to, a comment it added. `data` is the record as deskbridge
//! knows it (the ids and what the call carried), not Zendesk's whole record.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{Action, Change, Entity, Ids};
use crate::agent_mode::AgentAction;
use crate::interaction::{Interaction, StepOutcome};
use crate::rule::{CallerMatch, ContactRule, TicketRule};

/// The changes the step's `outcome` made, in the order they were made (the
/// contact, then the ticket, then its comment); `call` is the call as it was
/// before the outcome was recorded.
pub fn step_changes(call: &Interaction, outcome: &StepOutcome, at: DateTime<Utc>) -> Vec<Change> {
    let mut changes = Vec::new();
    let contact_id = outcome.contact_id.as_ref().or(call.contact_id.as_ref());
    if let (Some(id), true) = (&outcome.contact_id, created_contact(outcome)) {
        changes.push(Change {
            entity: Entity::Contact,
            action: Action::Create,
            ids: Ids {
                account: Some(id.clone()),
                ..Ids::default()
            },
            data: contact_data(id, call),
            at,
        });
    }
    if let Some((id, phone)) = phone_added(call, outcome) {
        changes.push(Change {
            entity: Entity::Contact,
            action: Action::Edit,
            ids: Ids {
                account: Some(id.to_string()),
                ..Ids::default()
            },
            data: json!({"id": id, "phone": phone}),
            at,
        });
    }
    let wrote_comment = outcome.call_logged || outcome.comment_id.is_some();
    let new_ticket = outcome.ticket_id.is_some() && created_ticket(outcome);
    // The ticket the step wrote to: its own, or the call's (a later comment).
    let Some(ticket_id) = outcome.ticket_id.as_ref().or(call.ticket_id.as_ref()) else {
        return changes;
    };
    let ticket_ids = Ids {
        account: contact_id.cloned(),
        case: Some(ticket_id.clone()),
        ..Ids::default()
    };
    let assignee = outcome.assignee.as_ref().or(call.assignee.as_ref());
    if new_ticket {
        changes.push(Change {
            entity: Entity::Ticket,
            action: Action::Create,
            ids: ticket_ids.clone(),
            data: ticket_data(ticket_id, contact_id, assignee),
            at,
        });
    } else if wrote_comment {
        // A comment added to a ticket is an update of that ticket (Zendesk
        // records it as one audit, and may reopen or assign it with it).
        changes.push(Change {
            entity: Entity::Ticket,
            action: Action::Edit,
            ids: ticket_ids.clone(),
            data: ticket_data(ticket_id, contact_id, assignee),
            at,
        });
    }
    if wrote_comment {
        let mut data = Map::new();
        if let Some(id) = &outcome.comment_id {
            data.insert("id".into(), json!(id));
        }
        data.insert("ticket_id".into(), json!(ticket_id));
        if let Some(author) = contact_id {
            data.insert("requester_id".into(), json!(author));
        }
        changes.push(Change {
            entity: Entity::Comment,
            action: Action::Create,
            ids: Ids {
                followup: outcome.comment_id.clone(),
                ..ticket_ids
            },
            data: Value::Object(data),
            at,
        });
    }
    changes
}

/// Whether the step created the contact it names.
fn created_contact(outcome: &StepOutcome) -> bool {
    match &outcome.contact_rule {
        Some(ContactRule::ByPhone { found, .. }) => matches!(
            found,
            CallerMatch::NewContact | CallerMatch::PhoneAmbiguousNewContact
        ),
        Some(ContactRule::VisitorNewContact) => true,
        _ => false,
    }
}

/// The contact the agent chose and asked the caller's number added to, with
/// that number: the step that carried the choice out added it.
fn phone_added<'a>(call: &'a Interaction, outcome: &StepOutcome) -> Option<(&'a str, &'a str)> {
    if outcome.contact_rule != Some(ContactRule::AgentChose) {
        return None;
    }
    match &call.agent_choice.as_ref()?.action {
        AgentAction::Contact {
            contact_id,
            add_phone: true,
        } if outcome.contact_id.as_ref() == Some(contact_id) => {
            Some((contact_id, call.customer_phone()?.e164()?))
        }
        _ => None,
    }
}

/// Whether the step created the ticket it names (the last rule decided).
fn created_ticket(outcome: &StepOutcome) -> bool {
    outcome
        .ticket_rules
        .last()
        .is_some_and(TicketRule::makes_a_ticket)
}

/// A new contact: its id and what the call or chat said of the person.
fn contact_data(id: &str, call: &Interaction) -> Value {
    let mut data = Map::new();
    data.insert("id".into(), json!(id));
    if let Some(phone) = call.customer_phone() {
        data.insert("phone".into(), json!(phone));
    }
    if let Some(visitor) = call.chat.as_ref().map(|c| &c.visitor) {
        if let Some(name) = &visitor.name {
            data.insert("name".into(), json!(name));
        }
        if let Some(email) = &visitor.email {
            data.insert("email".into(), json!(email));
        }
        if let Some(phone) = &visitor.phone {
            data.insert("phone".into(), json!(phone));
        }
    }
    Value::Object(data)
}

fn ticket_data(id: &str, requester: Option<&String>, assignee: Option<&String>) -> Value {
    let mut data = Map::new();
    data.insert("id".into(), json!(id));
    if let Some(r) = requester {
        data.insert("requester_id".into(), json!(r));
    }
    if let Some(a) = assignee {
        data.insert("assignee_id".into(), json!(a));
    }
    Value::Object(data)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::rule::NumberSource;
    use crate::{CallEvent, CallPlan, Direction, EventKind, Phone};

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
    }

    fn call() -> Interaction {
        let mut ring = CallEvent::new("1", "c1", EventKind::Ringing, at());
        ring.direction = Some(Direction::Inbound);
        ring.from = Some(Phone::E164("+14155550100".into()));
        let mut call = Interaction::start("support", &CallPlan::default(), &ring).unwrap();
        call.apply(&ring);
        call
    }

    fn kinds(changes: &[Change]) -> Vec<String> {
        changes
            .iter()
            .map(|c| format!("{}.{}", c.entity.as_str(), c.action.past()))
            .collect()
    }

    fn by_phone(found: CallerMatch) -> Option<ContactRule> {
        Some(ContactRule::ByPhone {
            source: NumberSource::CallerId,
            after_unknown_attribute: false,
            found,
        })
    }

    #[test]
    fn a_new_callers_contact_is_created_a_known_one_is_not() {
        let created = StepOutcome {
            contact_id: Some("7".into()),
            contact_rule: by_phone(CallerMatch::NewContact),
            ..StepOutcome::default()
        };
        let changes = step_changes(&call(), &created, at());
        assert_eq!(kinds(&changes), ["contact.created"]);
        assert_eq!(changes[0].ids.account.as_deref(), Some("7"));
        assert_eq!(changes[0].data, json!({"id": "7", "phone": "+14155550100"}));

        let found = StepOutcome {
            contact_rule: by_phone(CallerMatch::PhoneMatch),
            ..created
        };
        assert!(step_changes(&call(), &found, at()).is_empty());
    }

    #[test]
    fn the_callers_number_added_to_the_contact_the_agent_chose_is_an_edit() {
        use crate::agent_mode::AgentChoice;
        let mut call = call();
        call.agent_choice = Some(AgentChoice {
            action: AgentAction::Contact {
                contact_id: "8".into(),
                add_phone: true,
            },
            by: None,
            at: at(),
        });
        let chosen = StepOutcome {
            contact_id: Some("8".into()),
            contact_rule: Some(ContactRule::AgentChose),
            ..StepOutcome::default()
        };
        let changes = step_changes(&call, &chosen, at());
        assert_eq!(kinds(&changes), ["contact.updated"]);
        assert_eq!(changes[0].data, json!({"id": "8", "phone": "+14155550100"}));

        if let Some(AgentChoice {
            action: AgentAction::Contact { add_phone, .. },
            ..
        }) = &mut call.agent_choice
        {
            *add_phone = false;
        }
        assert!(step_changes(&call, &chosen, at()).is_empty());
    }

    #[test]
    fn a_new_ticket_with_the_call_comment_is_a_ticket_and_a_comment() {
        let mut call = call();
        call.contact_id = Some("7".into());
        let outcome = StepOutcome {
            ticket_id: Some("42".into()),
            ticket_rules: vec![TicketRule::NewTicket],
            comment_id: Some("900".into()),
            call_logged: true,
            ..StepOutcome::default()
        };
        let changes = step_changes(&call, &outcome, at());
        assert_eq!(kinds(&changes), ["ticket.created", "comment.created"]);
        assert_eq!(changes[0].ids.case.as_deref(), Some("42"));
        assert_eq!(changes[0].ids.account.as_deref(), Some("7"));
        assert_eq!(changes[0].data, json!({"id": "42", "requester_id": "7"}));
        let comment = &changes[1];
        assert_eq!(comment.ids.followup.as_deref(), Some("900"));
        assert_eq!(comment.ids.case.as_deref(), Some("42"));
        assert_eq!(
            comment.data,
            json!({"id": "900", "ticket_id": "42", "requester_id": "7"})
        );
    }

    #[test]
    fn a_comment_on_an_existing_ticket_updates_it() {
        let mut call = call();
        call.contact_id = Some("7".into());
        call.ticket_id = Some("42".into());
        // A recording comment on the call's ticket.
        let outcome = StepOutcome {
            comment_id: Some("901".into()),
            ..StepOutcome::default()
        };
        let changes = step_changes(&call, &outcome, at());
        assert_eq!(kinds(&changes), ["ticket.updated", "comment.created"]);
        assert_eq!(changes[0].ids.case.as_deref(), Some("42"));

        // The call attached to the caller's open ticket and assigned.
        let attached = StepOutcome {
            ticket_id: Some("43".into()),
            ticket_rules: vec![TicketRule::OpenTicket],
            assignee: Some("5".into()),
            call_logged: true,
            ..StepOutcome::default()
        };
        let changes = step_changes(&call, &attached, at());
        assert_eq!(kinds(&changes), ["ticket.updated", "comment.created"]);
        assert_eq!(
            changes[0].data,
            json!({"id": "43", "requester_id": "7", "assignee_id": "5"})
        );
        assert_eq!(changes[1].ids.followup, None, "no comment id was given");
    }

    #[test]
    fn a_step_that_wrote_nothing_announces_nothing() {
        let mut call = call();
        call.ticket_id = Some("42".into());
        let skipped = StepOutcome {
            skipped: Some("nothing to log".into()),
            ..StepOutcome::default()
        };
        assert!(step_changes(&call, &skipped, at()).is_empty());
        let creation_off = StepOutcome {
            ticket_rules: vec![TicketRule::TicketCreationOff],
            ..StepOutcome::default()
        };
        assert!(step_changes(&call, &creation_off, at()).is_empty());
    }
}
