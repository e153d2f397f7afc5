//! What the CRM API accepts, checked field by field.
//!
//! A PATCH is the current record's writable fields with the patch laid over them,
//! validated exactly like a create, so both paths share one set of rules.

use chrono::{DateTime, Utc};
use deskbridge_core::Phone;
use deskbridge_store::crm::*;
use serde_json::{Map, Value, json};

use crate::BuiltinCrm;

/// A field the client must change, and how.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> Invalid {
    Invalid {
        field: field.into(),
        message: message.into(),
    }
}

pub fn object(body: &Value) -> Result<&Map<String, Value>, Invalid> {
    body.as_object()
        .ok_or_else(|| invalid("", "the body must be a JSON object"))
}

pub fn merge(mut current: Map<String, Value>, patch: &Map<String, Value>) -> Map<String, Value> {
    for (k, v) in patch {
        current.insert(k.clone(), v.clone());
    }
    current
}

fn only(obj: &Map<String, Value>, known: &[&str]) -> Result<(), Invalid> {
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(invalid(
            k.as_str(),
            format!(
                "unknown or read-only field; writable fields are: {}",
                known.join(", ")
            ),
        )),
        None => Ok(()),
    }
}

fn required_text(obj: &Map<String, Value>, field: &str) -> Result<String, Invalid> {
    match obj.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            Err(invalid(field, "is required and must not be empty"))
        }
        Some(_) => Err(invalid(field, "must be a string")),
    }
}

fn optional_text(obj: &Map<String, Value>, field: &str) -> Result<Option<String>, Invalid> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(_) => Err(invalid(field, "must be a string or null")),
    }
}

fn one_of(
    obj: &Map<String, Value>,
    field: &str,
    allowed: &[&str],
    default: &str,
) -> Result<String, Invalid> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(default.to_string()),
        Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(s.clone()),
        Some(_) => Err(invalid(
            field,
            format!("must be one of: {}", allowed.join(", ")),
        )),
    }
}

fn custom_fields(obj: &Map<String, Value>) -> Result<Fields, Invalid> {
    match obj.get("custom_fields") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err(invalid(
            "custom_fields",
            "must be an object of field name to value",
        )),
    }
}

fn optional_id(obj: &Map<String, Value>, field: &str) -> Result<Option<i64>, Invalid> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse_id(s).map(Some).map_err(|m| invalid(field, m)),
        Some(Value::Number(n)) => n
            .as_i64()
            .filter(|id| *id > 0)
            .map(Some)
            .ok_or_else(|| invalid(field, "must be a positive integer id")),
        Some(_) => Err(invalid(field, "must be an id (string) or null")),
    }
}

fn strings(obj: &Map<String, Value>, field: &str) -> Result<Vec<String>, Invalid> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
                _ => Err(invalid(
                    format!("{field}[{i}]"),
                    "must be a non-empty string",
                )),
            })
            .collect(),
        Some(_) => Err(invalid(field, "must be an array of strings")),
    }
}

async fn existing<T>(
    field: &str,
    id: Option<i64>,
    lookup: impl std::future::Future<Output = Result<Option<T>, deskbridge_store::StoreError>>,
) -> Result<(), crate::CrmError> {
    if id.is_some() && lookup.await?.is_none() {
        return Err(invalid(
            field,
            format!("no record with id {}", id.unwrap_or_default()),
        )
        .into());
    }
    Ok(())
}

fn id_json(id: Option<i64>) -> Value {
    id.map_or(Value::Null, |id| Value::String(id.to_string()))
}

// ---- contacts ----

const CONTACT: &[&str] = &[
    "name",
    "email",
    "phones",
    "organization_id",
    "custom_fields",
];

pub async fn contact(
    crm: &BuiltinCrm,
    obj: &Map<String, Value>,
) -> Result<ContactFields, crate::CrmError> {
    only(obj, CONTACT)?;
    let email = optional_text(obj, "email")?;
    if let Some(e) = &email
        && (!e.contains('@') || e.contains(char::is_whitespace))
    {
        return Err(invalid("email", "must be an email address such as ann@example.com").into());
    }
    let mut phones = Vec::new();
    for (i, raw) in strings(obj, "phones")?.iter().enumerate() {
        match Phone::parse(raw, crm.region) {
            Phone::E164(p) if !phones.contains(&p) => phones.push(p),
            Phone::E164(_) => {}
            _ => {
                return Err(invalid(
                    format!("phones[{i}]"),
                    format!(
                        "{raw:?} is not a valid phone number; write it with its country code, e.g. +14155550100"
                    ),
                )
                .into());
            }
        }
    }
    let organization_id = optional_id(obj, "organization_id")?;
    existing(
        "organization_id",
        organization_id,
        crm.store.organization(organization_id.unwrap_or_default()),
    )
    .await?;
    Ok(ContactFields {
        name: required_text(obj, "name")?,
        email,
        phones,
        organization_id,
        custom_fields: custom_fields(obj)?,
    })
}

pub fn contact_json(c: &Contact) -> Map<String, Value> {
    let v = json!({
        "name": c.name, "email": c.email, "phones": c.phones,
        "organization_id": id_json(c.organization_id), "custom_fields": c.custom_fields,
    });
    v.as_object().cloned().unwrap_or_default()
}

// ---- organizations ----

const ORGANIZATION: &[&str] = &["name", "custom_fields"];

pub fn organization(obj: &Map<String, Value>) -> Result<OrganizationFields, Invalid> {
    only(obj, ORGANIZATION)?;
    Ok(OrganizationFields {
        name: required_text(obj, "name")?,
        custom_fields: custom_fields(obj)?,
    })
}

pub fn organization_json(o: &Organization) -> Map<String, Value> {
    let v = json!({ "name": o.name, "custom_fields": o.custom_fields });
    v.as_object().cloned().unwrap_or_default()
}

// ---- tickets ----

pub const STATUSES: &[&str] = &["new", "open", "pending", "solved", "closed"];
pub const PRIORITIES: &[&str] = &["urgent", "high", "normal", "low"];
pub const TYPES: &[&str] = &["problem", "incident", "question", "task"];
const TICKET: &[&str] = &[
    "subject",
    "status",
    "priority",
    "type",
    "requester_id",
    "assignee",
    "tags",
    "custom_fields",
];
const TICKET_CREATE: &[&str] = &[
    "subject",
    "status",
    "priority",
    "type",
    "requester_id",
    "assignee",
    "tags",
    "custom_fields",
    "comment",
];

pub async fn ticket(
    crm: &BuiltinCrm,
    obj: &Map<String, Value>,
    creating: bool,
) -> Result<(TicketFields, Option<CommentFields>), crate::CrmError> {
    only(obj, if creating { TICKET_CREATE } else { TICKET })?;
    let requester_id = optional_id(obj, "requester_id")?;
    existing(
        "requester_id",
        requester_id,
        crm.store.contact(requester_id.unwrap_or_default()),
    )
    .await?;
    let first_comment = match obj.get("comment") {
        None | Some(Value::Null) => None,
        Some(Value::Object(c)) => Some(comment(c).map_err(|e| Invalid {
            field: format!("comment.{}", e.field),
            message: e.message,
        })?),
        Some(_) => return Err(invalid("comment", "must be an object with a body").into()),
    };
    let fields = TicketFields {
        subject: required_text(obj, "subject")?,
        status: one_of(obj, "status", STATUSES, "new")?,
        priority: one_of(obj, "priority", PRIORITIES, "normal")?,
        ticket_type: one_of(obj, "type", TYPES, "question")?,
        requester_id,
        assignee: optional_text(obj, "assignee")?,
        tags: strings(obj, "tags")?,
        custom_fields: custom_fields(obj)?,
    };
    Ok((fields, first_comment))
}

pub fn ticket_json(t: &Ticket) -> Map<String, Value> {
    let v = json!({
        "subject": t.subject, "status": t.status, "priority": t.priority, "type": t.ticket_type,
        "requester_id": id_json(t.requester_id), "assignee": t.assignee, "tags": t.tags,
        "custom_fields": t.custom_fields,
    });
    v.as_object().cloned().unwrap_or_default()
}

// ---- comments ----

pub fn comment(obj: &Map<String, Value>) -> Result<CommentFields, Invalid> {
    only(obj, &["body", "public"])?;
    let public = match obj.get("public") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("public", "must be true or false")),
    };
    Ok(CommentFields {
        body: required_text(obj, "body")?,
        public,
    })
}

pub fn comment_json(c: &Comment) -> Map<String, Value> {
    let v = json!({ "body": c.body, "public": c.public });
    v.as_object().cloned().unwrap_or_default()
}

// ---- tasks ----

const TASK: &[&str] = &[
    "subject",
    "status",
    "due_at",
    "contact_id",
    "ticket_id",
    "assignee",
];

pub async fn task(
    crm: &BuiltinCrm,
    obj: &Map<String, Value>,
) -> Result<TaskFields, crate::CrmError> {
    only(obj, TASK)?;
    let due_at = match optional_text(obj, "due_at")? {
        Some(s) => Some(
            DateTime::parse_from_rfc3339(&s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    invalid(
                        "due_at",
                        "must be an RFC 3339 time, e.g. 2026-11-22T15:00:00Z",
                    )
                })?,
        ),
        None => None,
    };
    let contact_id = optional_id(obj, "contact_id")?;
    existing(
        "contact_id",
        contact_id,
        crm.store.contact(contact_id.unwrap_or_default()),
    )
    .await?;
    let ticket_id = optional_id(obj, "ticket_id")?;
    existing(
        "ticket_id",
        ticket_id,
        crm.store.ticket(ticket_id.unwrap_or_default()),
    )
    .await?;
    Ok(TaskFields {
        subject: required_text(obj, "subject")?,
        status: one_of(obj, "status", &["open", "done"], "open")?,
        due_at,
        contact_id,
        ticket_id,
        assignee: optional_text(obj, "assignee")?,
    })
}

pub fn task_json(t: &Task) -> Map<String, Value> {
    let v = json!({
        "subject": t.subject, "status": t.status, "due_at": t.due_at,
        "contact_id": id_json(t.contact_id), "ticket_id": id_json(t.ticket_id),
        "assignee": t.assignee,
    });
    v.as_object().cloned().unwrap_or_default()
}
