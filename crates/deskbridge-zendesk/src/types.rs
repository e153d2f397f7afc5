//! Request and response bodies, as the Support API defines them. Only the fields
//! deskbridge reads are typed; unknown fields are ignored, so new Zendesk fields do
//! not break parsing. Tests parse the recorded real responses with these types.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What "Create Or Update User" did.
#[derive(Debug, Clone, PartialEq)]
pub struct Upserted {
    pub user: User,
    /// A new user (201); false when an existing one was matched and updated.
    pub created: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct User {
    pub id: u64,
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    /// Several users share this number: never pick one of them silently.
    #[serde(default)]
    pub shared_phone_number: Option<bool>,
    #[serde(default)]
    pub role: Option<String>,
    /// An agent's custom role (Enterprise), whose permissions the API does not
    /// show an agent; `None` for the built-in roles.
    #[serde(default)]
    pub custom_role_id: Option<u64>,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub organization_id: Option<u64>,
    #[serde(default)]
    pub active: Option<bool>,
    /// Suspended by an admin: signs in nowhere.
    #[serde(default)]
    pub suspended: Option<bool>,
    /// The account's custom user fields, by key.
    #[serde(default)]
    pub user_fields: Option<serde_json::Map<String, serde_json::Value>>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

impl User {
    /// An agent or admin who may work now: active and not suspended.
    pub fn is_working_agent(&self) -> bool {
        self.is_agent() && self.active != Some(false) && self.suspended != Some(true)
    }

    pub fn is_agent(&self) -> bool {
        matches!(self.role.as_deref(), Some("agent") | Some("admin"))
    }
}

/// One of a user's identities (`GET /users/{id}/identities`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Identity {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IdentitiesPage {
    pub identities: Vec<Identity>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UserEnvelope {
    pub user: User,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UsersPage {
    pub users: Vec<User>,
    #[serde(default)]
    pub next_page: Option<String>,
}

/// `GET /api/v2/search.json` with user results.
#[derive(Debug, Clone, Deserialize)]
pub struct SearchResults<T> {
    pub results: Vec<T>,
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default)]
    pub next_page: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct NewUser {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Organization {
    pub id: u64,
    pub name: String,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OrganizationEnvelope {
    pub organization: Organization,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OrganizationsPage {
    pub organizations: Vec<Organization>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct CustomFieldValue {
    pub id: u64,
    pub value: serde_json::Value,
}

/// What a comment's ticket update changes besides adding the comment.
#[derive(Debug, Clone, Copy, Default)]
pub struct CommentChanges<'a> {
    /// Reassign the ticket.
    pub assignee_id: Option<u64>,
    pub status: Option<&'a str>,
    /// A voice comment beside the text.
    pub voice: Option<&'a VoiceCommentInput>,
    /// Tags added beside the ticket's own.
    pub additional_tags: &'a [String],
    pub custom_fields: &'a [CustomFieldValue],
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Ticket {
    pub id: u64,
    #[serde(default)]
    pub subject: Option<String>,
    pub status: String,
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default, rename = "type")]
    pub ticket_type: Option<String>,
    #[serde(default)]
    pub requester_id: Option<u64>,
    #[serde(default)]
    pub assignee_id: Option<u64>,
    #[serde(default)]
    pub organization_id: Option<u64>,
    #[serde(default)]
    pub group_id: Option<u64>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub custom_fields: Vec<CustomFieldValue>,
    #[serde(default)]
    pub ticket_form_id: Option<u64>,
    /// The first comment's text ("Tickets": `description`, read-only).
    #[serde(default)]
    pub description: Option<String>,
    /// Set by whoever created the ticket through the API; deskbridge puts its
    /// create's key here (`deskbridge:{group}/{call}/{step}`).
    #[serde(default)]
    pub external_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TicketEnvelope {
    pub ticket: Ticket,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TicketsPage {
    pub tickets: Vec<Ticket>,
    #[serde(default)]
    pub next_page: Option<String>,
}

/// A create or update answers with the ticket and the audit of the change; the
/// audit's `Comment` event carries the new comment's id.
#[derive(Debug, Clone, Deserialize)]
pub struct TicketWithAudit {
    pub ticket: Ticket,
    #[serde(default)]
    pub audit: Option<Audit>,
}

impl TicketWithAudit {
    /// The id of the comment this change added, if it added one.
    pub fn comment_id(&self) -> Option<u64> {
        self.audit
            .as_ref()?
            .events
            .iter()
            .find(|e| e.event_type == "Comment")
            .map(|e| e.id)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Audit {
    pub id: u64,
    #[serde(default)]
    pub events: Vec<AuditEvent>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuditEvent {
    pub id: u64,
    #[serde(rename = "type")]
    pub event_type: String,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub public: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewComment {
    pub body: String,
    pub public: bool,
}

/// Talk Partner Edition's `via_id`s ("Zendesk Talk Integration Via IDs").
pub const VIA_VOICEMAIL: u64 = 44;
pub const VIA_PHONE_CALL_INBOUND: u64 = 45;
pub const VIA_PHONE_CALL_OUTBOUND: u64 = 46;

/// Talk Partner Edition's ticket extras ("Create Ticket or Voicemail Ticket").
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TalkTicket {
    /// 44 voicemail, 45 inbound call, 46 outbound call.
    pub via_id: u64,
    /// The agent "that will see the newly created ticket".
    pub display_to_agent: Option<u64>,
    pub voice_comment: Option<VoiceCommentInput>,
}

/// A voice comment: Zendesk shows a recording player with the call's details
/// ("Adding voice comments to tickets"; the `voice_comment` of Create Ticket or
/// Voicemail Ticket).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VoiceCommentInput {
    pub from: String,
    pub to: String,
    pub recording_url: String,
    /// ISO 8601.
    pub started_at: String,
    pub call_duration: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_by_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transcription_text: Option<String>,
}

/// A call record: Talk Partner Edition's standard call object ("Calls", Talk
/// Partner Edition API reference,
/// <https://developer.zendesk.com/api-reference/voice/talk-partner-edition-api/calls/>).
/// `app_id`, `from_line`, `to_line`, `call_started_at` and `direction` are
/// mandatory; with `ticket_id` and a `comment` section the same request puts
/// the Talk Partner Edition voice comment on that ticket ("Creating a voice
/// comment in ticket"). `external_id` is one of the call's fields (the TPE voice
/// comment shows it): deskbridge sets it from the step's key, which a retried
/// step looks for.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct NewCall {
    pub app_id: u64,
    pub from_line: String,
    pub to_line: String,
    /// ISO 8601.
    pub call_started_at: String,
    /// `inbound` or `outbound`.
    pub direction: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_ended_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_user_id: Option<u64>,
    /// `completed`, `abandoned_in_queue`, ... (empty while in progress).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_status: Option<String>,
    /// The outcome in words where no completion status fits (missed, busy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_disposition: Option<String>,
    pub voicemail: bool,
    /// Talk time in seconds.
    pub talk_time: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transcript: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<CallComment>,
}

/// The `comment` section of a call: the Talk Partner Edition voice comment
/// made on the call's ticket from the call's own fields.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct CallComment {
    pub title: String,
    pub public: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_id: Option<u64>,
}

/// A call record as Zendesk answers it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Call {
    pub id: u64,
    #[serde(default)]
    pub ticket_id: Option<u64>,
    #[serde(default)]
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CallEnvelope {
    pub call: Call,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct NewTicket {
    pub subject: String,
    pub comment: Option<NewComment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requester_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", rename = "type")]
    pub ticket_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub custom_fields: Vec<CustomFieldValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_form_id: Option<u64>,
    /// Makes this a follow-up of a closed ticket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via_followup_source_id: Option<u64>,
    /// Lets the creator find the ticket again (`GET /tickets?external_id=`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CommentRecord {
    pub id: u64,
    /// `Comment`, `VoiceComment`, `TpeVoiceComment`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub public: Option<bool>,
    /// A voice comment's call details (for a Talk Partner Edition voice
    /// comment, the call record's fields: `call_id`, `external_id`, ...).
    #[serde(default)]
    pub data: Option<serde_json::Value>,
}

impl CommentRecord {
    /// The call record a Talk Partner Edition voice comment shows, when it
    /// shows the one with this external id.
    pub fn shows_call(&self, external_id: &str) -> Option<u64> {
        let data = self.data.as_ref()?;
        (data["external_id"].as_str() == Some(external_id))
            .then(|| data["call_id"].as_u64())
            .flatten()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct CommentsPage {
    pub comments: Vec<CommentRecord>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TicketField {
    pub id: u64,
    #[serde(rename = "type")]
    pub field_type: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub required: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TicketFieldEnvelope {
    pub ticket_field: TicketField,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TicketForm {
    pub id: u64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub ticket_field_ids: Vec<u64>,
    #[serde(default)]
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TicketFormEnvelope {
    pub ticket_form: TicketForm,
}

/// Zendesk's error body: `{"error": "RecordInvalid", "description": ..., "details": {...}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorBody {
    pub error: serde_json::Value,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub details: Option<serde_json::Value>,
}

/// Where an incremental export starts: a time (the first export) or the
/// `after_cursor` of the page before (every later one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportStart {
    /// Unix seconds; Zendesk wants it at least a minute in the past.
    StartTime(i64),
    Cursor(String),
}

/// One page of a cursor-based incremental export ("Incremental Exports",
/// `CursorBasedExportIncrementalUsersResponse` / `...TicketsResponse`).
#[derive(Debug, Clone)]
pub struct ExportPage<T> {
    /// The users or tickets that changed, oldest change first.
    pub items: Vec<T>,
    /// Where the next request starts; on the last page, where the next
    /// scheduled export starts.
    pub after_cursor: Option<String>,
    /// "true if the current request has returned all the results up to the
    /// current time".
    pub end_of_stream: bool,
}

/// `CursorBasedExportIncrementalUsersResponse`.
#[derive(Debug, Clone, Deserialize)]
pub struct UsersExport {
    pub users: Vec<User>,
    #[serde(default)]
    pub after_cursor: Option<String>,
    pub end_of_stream: bool,
}

/// `CursorBasedExportIncrementalTicketsResponse`.
#[derive(Debug, Clone, Deserialize)]
pub struct TicketsExport {
    pub tickets: Vec<Ticket>,
    #[serde(default)]
    pub after_cursor: Option<String>,
    pub end_of_stream: bool,
}

impl<T> ExportPage<T> {
    /// The start of the request after this page: its cursor, else where this
    /// page started.
    pub fn next_start(&self, this: &ExportStart) -> ExportStart {
        match &self.after_cursor {
            Some(cursor) => ExportStart::Cursor(cursor.clone()),
            None => this.clone(),
        }
    }
}

/// One installation of an app in the account ("List App Installations").
#[derive(Debug, Clone, Deserialize)]
pub struct AppInstallation {
    pub id: u64,
    pub app_id: u64,
    #[serde(default)]
    pub enabled: bool,
    /// The installation's settings (the app's parameters, and `name`).
    #[serde(default)]
    pub settings: serde_json::Value,
}

#[derive(Debug, Deserialize)]
pub(crate) struct AppInstallations {
    pub installations: Vec<AppInstallation>,
}
