//! Records rendered as Zendesk's JSON, with every key the real API sends (the
//! tests compare key sets with recorded go-zendesk responses), so a client that
//! decodes the emulator's answers decodes production's too. Values the emulator
//! does not model take the value a plain API-created record has in Zendesk.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::model::{
    Audit, AuditEvent, Comment, Identity, Organization, Priority, RequestOrigin, Ticket,
    TicketField, TicketForm, TicketType, User,
};
use crate::state::Store;

/// Zendesk timestamps: UTC, whole seconds, `Z`.
pub(crate) fn time(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn resource_url(base: &str, kind: &str, id: u64) -> String {
    format!("{base}/api/v2/{kind}/{id}.json")
}

pub(crate) fn user(user: &User, base: &str) -> Value {
    let staff = user.role.is_staff();
    json!({
        "id": user.id,
        "url": resource_url(base, "users", user.id),
        "name": user.name,
        "email": user.email,
        "created_at": time(&user.created_at),
        "updated_at": time(&user.updated_at),
        "time_zone": "Eastern Time (US & Canada)",
        "iana_time_zone": "America/New_York",
        "phone": user.phone,
        "shared_phone_number": user.phone.as_ref().map(|_| user.shared_phone_number),
        "photo": null,
        "locale_id": 1,
        "locale": "en-US",
        "organization_id": user.organization_id,
        "role": user.role.as_str(),
        "verified": staff,
        "external_id": user.external_id,
        "tags": user.tags,
        "alias": null,
        "active": true,
        "shared": false,
        "shared_agent": false,
        "last_login_at": null,
        "two_factor_auth_enabled": false,
        "signature": null,
        "details": null,
        "notes": null,
        "role_type": null,
        "custom_role_id": null,
        "moderator": staff,
        "ticket_restriction": if staff { Value::Null } else { json!("requested") },
        "only_private_comments": false,
        "restricted_agent": !staff,
        "suspended": user.suspended,
        "chat_only": false,
        "default_group_id": null,
        "report_csv": false,
        "user_fields": user.user_fields,
    })
}

pub(crate) fn identity(identity: &Identity, base: &str) -> Value {
    let mut value = json!({
        "url": format!("{base}/api/v2/users/{}/identities/{}.json", identity.user_id, identity.id),
        "id": identity.id,
        "user_id": identity.user_id,
        "type": identity.kind,
        "value": identity.value,
        "verified": identity.verified,
        "primary": identity.primary,
        "created_at": time(&identity.created_at),
        "updated_at": time(&identity.updated_at),
        "undeliverable_count": 0,
    });
    if identity.kind == "email"
        && let Some(object) = value.as_object_mut()
    {
        object.insert("deliverable_state".into(), json!("deliverable"));
    }
    value
}

pub(crate) fn organization(organization: &Organization, base: &str) -> Value {
    json!({
        "url": resource_url(base, "organizations", organization.id),
        "id": organization.id,
        "name": organization.name,
        "shared_tickets": false,
        "shared_comments": false,
        "created_at": time(&organization.created_at),
        "updated_at": time(&organization.updated_at),
        "domain_names": organization.domain_names,
        "group_id": null,
        "tags": organization.tags,
    })
}

fn via(ticket: &Ticket, store: &Store) -> Value {
    match ticket.via_followup_source_id {
        Some(parent) => json!({
            "channel": "api",
            "source": {
                "from": {
                    "ticket_id": parent,
                    "subject": store.ticket(parent).and_then(|parent| parent.subject.clone()),
                },
                "to": {},
                "rel": "follow_up",
            },
        }),
        None => api_via(),
    }
}

fn api_via() -> Value {
    json!({"channel": "api", "source": {"from": {}, "to": {}, "rel": null}})
}

pub(crate) fn ticket(ticket: &Ticket, store: &Store, base: &str) -> Value {
    // Zendesk lists every active custom field of the account, set or not.
    let custom_fields: Vec<Value> = store
        .ticket_fields
        .values()
        .filter(|field| field.active && !field.is_system())
        .map(|field| {
            json!({
                "id": field.id,
                "value": ticket.custom_fields.get(&field.id).cloned().unwrap_or(Value::Null),
            })
        })
        .collect();
    json!({
        "url": resource_url(base, "tickets", ticket.id),
        "id": ticket.id,
        "external_id": ticket.external_id,
        "via": via(ticket, store),
        "created_at": time(&ticket.created_at),
        "updated_at": time(&ticket.updated_at),
        "type": ticket.ticket_type.map(TicketType::as_str),
        "subject": ticket.subject,
        "raw_subject": ticket.subject,
        "description": ticket.description,
        "priority": ticket.priority.map(Priority::as_str),
        "status": ticket.status.as_str(),
        "custom_status_id": ticket.status.custom_status_id(),
        "recipient": null,
        "requester_id": ticket.requester_id,
        "submitter_id": ticket.submitter_id,
        "assignee_id": ticket.assignee_id,
        "organization_id": ticket.organization_id,
        "group_id": ticket.group_id,
        "collaborator_ids": [],
        "follower_ids": [],
        "email_cc_ids": [],
        "forum_topic_id": null,
        "problem_id": null,
        "has_incidents": false,
        "is_public": ticket.is_public,
        "due_at": null,
        "tags": ticket.tags,
        "custom_fields": custom_fields,
        "satisfaction_rating": null,
        "sharing_agreement_ids": [],
        "fields": custom_fields,
        "followup_ids": ticket.followup_ids,
        "ticket_form_id": ticket.ticket_form_id,
        "brand_id": ticket.brand_id,
        "satisfaction_probability": null,
        "allow_channelback": false,
        "allow_attachments": true,
    })
}

fn metadata(origin: &RequestOrigin) -> Value {
    json!({
        "system": {
            "client": origin.client,
            "ip_address": origin.ip_address,
            "location": null,
            "latitude": null,
            "longitude": null,
        },
        "custom": {},
    })
}

/// A comment as `GET /tickets/{id}/comments` lists it.
pub(crate) fn comment(comment: &Comment) -> Value {
    if let Some(call) = &comment.call {
        // "Creating a voice comment in ticket": the Talk Partner Edition voice
        // comment shows the call record's fields.
        return json!({
            "id": comment.id,
            "type": "TpeVoiceComment",
            "author_id": comment.author_id,
            "body": comment.body,
            "html_body": comment.html_body,
            "plain_body": comment.body,
            "public": comment.public,
            "attachments": [],
            "audit_id": comment.audit_id,
            "data": call,
            "via": api_via(),
            "created_at": time(&comment.created_at),
            "metadata": metadata(&comment.origin),
        });
    }
    json!({
        "id": comment.id,
        "type": "Comment",
        "author_id": comment.author_id,
        "body": comment.body,
        "html_body": comment.html_body,
        "plain_body": comment.body,
        "public": comment.public,
        "attachments": [],
        "audit_id": comment.audit_id,
        "via": api_via(),
        "created_at": time(&comment.created_at),
        "metadata": metadata(&comment.origin),
    })
}

pub(crate) fn audit(audit: &Audit, store: &Store) -> Value {
    let events: Vec<Value> = audit
        .events
        .iter()
        .map(|event| match event {
            AuditEvent::Comment { id } => match store.comments.get(id) {
                Some(comment) => json!({
                    "id": comment.id,
                    "type": "Comment",
                    "author_id": comment.author_id,
                    "body": comment.body,
                    "html_body": comment.html_body,
                    "plain_body": comment.body,
                    "public": comment.public,
                    "attachments": [],
                    "audit_id": comment.audit_id,
                }),
                None => json!({"id": id, "type": "Comment"}),
            },
            AuditEvent::Create {
                id,
                field_name,
                value,
            } => json!({
                "id": id,
                "type": "Create",
                "value": value,
                "field_name": field_name,
            }),
            AuditEvent::Change {
                id,
                field_name,
                value,
                previous_value,
            } => json!({
                "id": id,
                "type": "Change",
                "value": value,
                "field_name": field_name,
                "previous_value": previous_value,
            }),
        })
        .collect();
    json!({
        "id": audit.id,
        "ticket_id": audit.ticket_id,
        "created_at": time(&audit.created_at),
        "author_id": audit.author_id,
        "metadata": metadata(&audit.origin),
        "events": events,
        "via": api_via(),
    })
}

pub(crate) fn ticket_field(field: &TicketField, base: &str) -> Value {
    let mut value = json!({
        "url": resource_url(base, "ticket_fields", field.id),
        "id": field.id,
        "type": field.field_type,
        "title": field.title,
        "raw_title": field.title,
        "description": field.description,
        "raw_description": field.description,
        "position": field.position,
        "active": field.active,
        "required": field.required,
        "collapsed_for_agents": false,
        "regexp_for_validation": null,
        "title_in_portal": field.title,
        "raw_title_in_portal": field.title,
        "visible_in_portal": false,
        "editable_in_portal": false,
        "required_in_portal": false,
        "tag": null,
        "created_at": time(&field.created_at),
        "updated_at": time(&field.updated_at),
        "removable": !field.is_system(),
        "agent_description": null,
    });
    if matches!(field.field_type.as_str(), "tagger" | "multiselect")
        && let Some(object) = value.as_object_mut()
    {
        let options: Vec<Value> = field
            .options
            .iter()
            .map(|option| {
                json!({
                    "id": option.id,
                    "name": option.name,
                    "raw_name": option.name,
                    "value": option.value,
                    "default": option.default,
                })
            })
            .collect();
        object.insert("custom_field_options".into(), Value::Array(options));
    }
    value
}

pub(crate) fn ticket_form(form: &TicketForm, base: &str) -> Value {
    json!({
        "id": form.id,
        "url": resource_url(base, "ticket_forms", form.id),
        "name": form.name,
        "raw_name": form.name,
        "display_name": form.name,
        "raw_display_name": form.name,
        "end_user_visible": form.end_user_visible,
        "position": form.position,
        "ticket_field_ids": form.ticket_field_ids,
        "active": form.active,
        "default": form.default,
        "in_all_brands": true,
        "restricted_brand_ids": [],
        "agent_conditions": [],
        "end_user_conditions": [],
        "created_at": time(&form.created_at),
        "updated_at": time(&form.updated_at),
    })
}

/// A search result: the record's JSON with its `result_type`.
pub(crate) fn with_result_type(mut value: Value, result_type: &str) -> Value {
    if let Some(object) = value.as_object_mut() {
        object.insert("result_type".into(), json!(result_type));
    }
    value
}
