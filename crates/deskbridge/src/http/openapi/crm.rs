//! Schemas of the built-in CRM API's records (`/api/v1/crm/...`): the CRM
//! handlers answer JSON values made from the store's records and read input
//! field by field (`deskbridge_crm::input`), so the schemas are written here,
//! after those two.

// Schema-only types: described, never built.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use serde_json::Value;
use utoipa::{IntoParams, IntoResponses, ToSchema};

use super::bodies::ApiErrorBody;

/// A page of records: `next_after` is the `after` of the next page (none on
/// the last one).
#[derive(ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    pub next_after: Option<String>,
}

/// The list filters and paging.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// From 1 to 100 (default 50).
    pub limit: Option<u32>,
    /// The last id of the previous page.
    pub after: Option<String>,
    /// Contacts with this number (contacts only).
    pub phone: Option<String>,
    /// Tickets whose requester, or tasks whose contact, this is.
    pub contact_id: Option<String>,
}

#[derive(ToSchema)]
pub struct Contact {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    /// E.164.
    pub phones: Vec<String>,
    pub organization_id: Option<String>,
    pub custom_fields: BTreeMap<String, Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A contact to create (`name` required) or a patch (any of the fields).
#[derive(ToSchema)]
pub struct ContactInput {
    pub name: Option<String>,
    pub email: Option<String>,
    /// Any format, read in the backend's region.
    pub phones: Option<Vec<String>>,
    pub organization_id: Option<String>,
    pub custom_fields: Option<BTreeMap<String, Value>>,
}

#[derive(ToSchema)]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub custom_fields: BTreeMap<String, Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An organization to create (`name` required) or a patch.
#[derive(ToSchema)]
pub struct OrganizationInput {
    pub name: Option<String>,
    pub custom_fields: Option<BTreeMap<String, Value>>,
}

#[derive(ToSchema)]
pub struct Ticket {
    pub id: String,
    pub subject: String,
    /// `new`, `open`, `pending`, `solved` or `closed`.
    pub status: String,
    /// `urgent`, `high`, `normal` or `low`.
    pub priority: String,
    /// `problem`, `incident`, `question` or `task`.
    #[schema(rename = "type")]
    pub ticket_type: String,
    pub requester_id: Option<String>,
    /// The assignee's email.
    pub assignee: Option<String>,
    pub tags: Vec<String>,
    pub custom_fields: BTreeMap<String, Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A ticket to create (`subject` required; `comment` its first comment) or a
/// patch.
#[derive(ToSchema)]
pub struct TicketInput {
    pub subject: Option<String>,
    pub status: Option<String>,
    pub priority: Option<String>,
    #[schema(rename = "type")]
    pub ticket_type: Option<String>,
    pub requester_id: Option<String>,
    pub assignee: Option<String>,
    pub tags: Option<Vec<String>>,
    pub custom_fields: Option<BTreeMap<String, Value>>,
    pub comment: Option<CommentInput>,
}

#[derive(ToSchema)]
pub struct Comment {
    pub id: String,
    pub ticket_id: String,
    pub body: String,
    pub public: bool,
    pub created_at: DateTime<Utc>,
}

/// A comment to create (`body` required) or a patch.
#[derive(ToSchema)]
pub struct CommentInput {
    pub body: Option<String>,
    pub public: Option<bool>,
}

#[derive(ToSchema)]
pub struct Task {
    pub id: String,
    pub subject: String,
    pub status: String,
    pub due_at: Option<DateTime<Utc>>,
    pub contact_id: Option<String>,
    pub ticket_id: Option<String>,
    pub assignee: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A task to create (`subject` required) or a patch.
#[derive(ToSchema)]
pub struct TaskInput {
    pub subject: Option<String>,
    pub status: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub contact_id: Option<String>,
    pub ticket_id: Option<String>,
    pub assignee: Option<String>,
}

/// The errors of a list.
#[derive(IntoResponses)]
pub enum ListErrors {
    /// No credentials, or not valid (`unauthorized`)
    #[response(status = 401)]
    Unauthorized(ApiErrorBody),
    /// A token of groups with different built-in backends (`ambiguous_backend`)
    #[response(status = 403)]
    Forbidden(ApiErrorBody),
    /// The group's backend is not the built-in CRM, or (comments) no such ticket
    /// (`not_found`)
    #[response(status = 404)]
    NotFound(ApiErrorBody),
    /// `limit` or `after` out of range (`invalid`, with `field`)
    #[response(status = 422)]
    Invalid(ApiErrorBody),
}

/// The errors of reading one record.
#[derive(IntoResponses)]
pub enum ReadErrors {
    /// No credentials, or not valid (`unauthorized`)
    #[response(status = 401)]
    Unauthorized(ApiErrorBody),
    /// A token of groups with different built-in backends (`ambiguous_backend`)
    #[response(status = 403)]
    Forbidden(ApiErrorBody),
    /// No such record, or the group's backend is not the built-in CRM
    /// (`not_found`)
    #[response(status = 404)]
    NotFound(ApiErrorBody),
}

/// The errors of a create or a patch.
#[derive(IntoResponses)]
pub enum WriteErrors {
    /// The body is not JSON (`malformed_json`)
    #[response(status = 400)]
    Malformed(ApiErrorBody),
    /// No credentials, or not valid (`unauthorized`)
    #[response(status = 401)]
    Unauthorized(ApiErrorBody),
    /// An agent who is not an admin (`read_only`), a token of groups with
    /// different built-in backends (`ambiguous_backend`), or the session cookie
    /// without `X-CSRF-Token` (`csrf`)
    #[response(status = 403)]
    Forbidden(ApiErrorBody),
    /// No such record (or ticket of a comment), or the group's backend is not
    /// the built-in CRM (`not_found`)
    #[response(status = 404)]
    NotFound(ApiErrorBody),
    /// A field is missing or not valid (`invalid`, with `field`)
    #[response(status = 422)]
    Invalid(ApiErrorBody),
}

/// The errors of a delete.
#[derive(IntoResponses)]
pub enum DeleteErrors {
    /// No credentials, or not valid (`unauthorized`)
    #[response(status = 401)]
    Unauthorized(ApiErrorBody),
    /// An agent who is not an admin (`read_only`), a token of groups with
    /// different built-in backends (`ambiguous_backend`), or the session cookie
    /// without `X-CSRF-Token` (`csrf`)
    #[response(status = 403)]
    Forbidden(ApiErrorBody),
    /// No such record, or the group's backend is not the built-in CRM
    /// (`not_found`)
    #[response(status = 404)]
    NotFound(ApiErrorBody),
}
