//! Records as Freshdesk's JSON. The key sets follow freshdesk-api.md (§3 contact
//! keys, §4 ticket keys, §5 the note answer, §6 the agent element); keys for
//! what the emulator does not model carry Freshdesk's empty values (`[]`,
//! `null`, `false`) so that a client's parsing sees the whole shape.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::model::{Agent, Company, Contact, Note, Ticket, TicketField};
use crate::state::Store;

/// `"2016-05-19T05:36:12Z"` (PF `note_1.json`).
pub(crate) fn time(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub(crate) fn contact(contact: &Contact, store: &Store) -> Value {
    let mut json = json!({
        "active": contact.active,
        "address": contact.address,
        "company_id": contact.company_id,
        "view_all_tickets": false,
        "description": contact.description,
        "email": contact.email,
        "id": contact.id,
        "job_title": contact.job_title,
        "language": contact.language,
        "mobile": contact.mobile,
        "name": contact.name,
        "phone": contact.phone,
        "time_zone": contact.time_zone,
        "twitter_id": contact.twitter_id,
        "custom_fields": {},
        "tags": contact.tags,
        "other_emails": [],
        "facebook_id": null,
        "csat_rating": null,
        "preferred_source": null,
        "created_at": time(&contact.created_at),
        "updated_at": time(&contact.updated_at),
    });
    // "plus `unique_external_id` when enabled" (§3).
    if store.unique_external_id {
        json["unique_external_id"] = json!(contact.unique_external_id);
    }
    // A soft-deleted contact is "returned with `"deleted": true`" (§3).
    if contact.deleted {
        json["deleted"] = json!(true);
    }
    json
}

pub(crate) fn company(company: &Company) -> Value {
    json!({
        "id": company.id,
        "name": company.name,
        "description": company.description,
        "note": company.note,
        "domains": company.domains,
        "custom_fields": {},
        "health_score": null,
        "account_tier": null,
        "renewal_date": null,
        "industry": null,
        "created_at": time(&company.created_at),
        "updated_at": time(&company.updated_at),
    })
}

pub(crate) fn agent(agent: &Agent) -> Value {
    json!({
        "available": agent.available,
        "occasional": agent.occasional,
        "id": agent.id,
        "ticket_scope": agent.ticket_scope,
        "signature": null,
        "group_ids": [],
        "role_ids": [],
        "skill_ids": [],
        "available_since": null,
        "type": "support_agent",
        "contact": {
            "active": true,
            "email": agent.email,
            "job_title": null,
            "language": "en",
            "last_login_at": null,
            "mobile": agent.mobile,
            "name": agent.name,
            "phone": agent.phone,
            "time_zone": "Eastern Time (US & Canada)",
            "created_at": time(&agent.created_at),
            "updated_at": time(&agent.updated_at),
        },
        "created_at": time(&agent.created_at),
        "updated_at": time(&agent.updated_at),
        "last_active_at": null,
    })
}

/// A ticket; `view` adds what the view answers and the list leaves out unless
/// asked (`include=description`; freshdesk-api.md §4 and the List All Tickets
/// transcription: "you must use include=description to get description fields").
pub(crate) fn ticket(ticket: &Ticket, store: &Store, view: bool, description: bool) -> Value {
    // "every account custom field present, null when unset".
    let custom: Map<String, Value> = store
        .custom_fields()
        .map(|field| {
            let value = ticket
                .custom_fields
                .get(&field.name)
                .cloned()
                .unwrap_or(Value::Null);
            (field.name.clone(), value)
        })
        .collect();
    let mut json = json!({
        "cc_emails": ticket.cc_emails,
        "fwd_emails": [],
        "reply_cc_emails": ticket.cc_emails,
        "ticket_cc_emails": ticket.cc_emails,
        "fr_escalated": false,
        "spam": false,
        "email_config_id": null,
        "group_id": ticket.group_id,
        "priority": ticket.priority,
        "requester_id": ticket.requester_id,
        "responder_id": ticket.responder_id,
        "source": ticket.source,
        "company_id": ticket.company_id,
        "status": ticket.status,
        "subject": ticket.subject,
        "association_type": null,
        "support_email": null,
        "to_emails": null,
        "product_id": ticket.product_id,
        "id": ticket.id,
        "type": ticket.ticket_type,
        "due_by": time(&ticket.due_by),
        "fr_due_by": time(&ticket.fr_due_by),
        "is_escalated": false,
        "custom_fields": custom,
        "created_at": time(&ticket.created_at),
        "updated_at": time(&ticket.updated_at),
        "tags": ticket.tags,
    });
    if view || description {
        json["description"] = json!(ticket.description);
        json["description_text"] = json!(ticket.description_text);
    }
    if view {
        json["attachments"] = json!([]);
    }
    json
}

/// `include=requester`: the requester's id, name, email, mobile and phone.
pub(crate) fn requester(store: &Store, id: u64) -> Value {
    if let Some(c) = store.contacts.get(&id) {
        return json!({"id": c.id, "name": c.name, "email": c.email, "mobile": c.mobile, "phone": c.phone});
    }
    match store.agents.get(&id) {
        Some(a) => {
            json!({"id": a.id, "name": a.name, "email": a.email, "mobile": a.mobile, "phone": a.phone})
        }
        None => Value::Null,
    }
}

/// The answer to `POST /tickets/{id}/notes` (§5).
pub(crate) fn note(note: &Note) -> Value {
    json!({
        "body": note.body,
        "body_text": note.body_text,
        "id": note.id,
        "incoming": note.incoming,
        "private": note.private,
        "user_id": note.user_id,
        "support_email": null,
        "ticket_id": note.ticket_id,
        "to_emails": note.to_emails,
        "attachments": [],
        "created_at": time(&note.created_at),
        "updated_at": time(&note.updated_at),
    })
}

/// A note in a ticket's conversations: the note plus `source` 2, a note's
/// conversation source (unverified), and the email keys a reply would fill.
pub(crate) fn conversation(n: &Note) -> Value {
    let mut json = note(n);
    json["source"] = json!(2);
    json["from_email"] = Value::Null;
    json["cc_emails"] = json!([]);
    json["bcc_emails"] = json!([]);
    json
}

pub(crate) fn ticket_field(field: &TicketField, store: &Store) -> Value {
    let named = |pairs: Vec<(String, u64)>| -> Value {
        Value::Object(
            pairs
                .into_iter()
                .map(|(name, id)| (name, json!(id)))
                .collect(),
        )
    };
    let choices = match field.field_type.as_str() {
        "default_group" => named(
            store
                .groups
                .iter()
                .map(|(id, n)| (n.clone(), *id))
                .collect(),
        ),
        "default_product" => named(
            store
                .products
                .iter()
                .map(|(id, n)| (n.clone(), *id))
                .collect(),
        ),
        "default_agent" => named(
            store
                .agents
                .values()
                .map(|a| (a.name.clone(), a.id))
                .collect(),
        ),
        _ => field.choices.clone(),
    };
    let mut json = json!({
        "id": field.id,
        "name": field.name,
        "label": field.label,
        "description": null,
        "position": field.position,
        "required_for_closure": false,
        "required_for_agents": field.required_for_agents,
        "type": field.field_type,
        "default": field.default,
        "customers_can_edit": !field.default,
        "label_for_customers": field.label,
        "required_for_customers": false,
        "displayed_to_customers": !field.default,
        "created_at": time(&field.created_at),
        "updated_at": time(&field.updated_at),
    });
    if !choices.is_null() {
        json["choices"] = choices;
    }
    json
}
