//! Schemas of the bodies that handlers build as JSON values (or read by hand)
//! rather than as typed structs: each mirrors what its handler writes or
//! reads, and `tests/it/openapi.rs` validates the real answers against them.
//! Types the handlers do use (`CallView`, `CallerCard`, the core's enums) derive
//! `ToSchema` where they are defined.

// Schema-only types: described, never built.
#![allow(dead_code)]

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// An error, as every endpoint but Zammad's CTI reports it.
#[derive(ToSchema)]
#[schema(as = ApiError)]
pub struct ApiErrorBody {
    /// A stable code: `invalid`, `not_found`, `unauthorized`, `csrf`, ...
    pub error: String,
    /// What went wrong and what to change, in words.
    pub message: String,
    /// The input to change (a JSON path such as `agent.email`, a query
    /// parameter), when one is to blame.
    pub field: Option<String>,
}

/// Zammad's error shape, which the CTI endpoint keeps.
#[derive(ToSchema)]
pub struct CtiError {
    pub error: String,
}

/// `{"status": "ok"}`.
#[derive(ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
}

/// Whether the database answers.
#[derive(ToSchema)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: String,
    /// Why not ready, as a code: `database_unavailable` or
    /// `migrations_pending` (the details are in the server log).
    pub reason: Option<String>,
}

/// One call event, the native format (README, "What it does today"). Most fields may be
/// left out: a call's first event needs `direction`.
#[derive(serde::Serialize, ToSchema)]
pub struct NativeEvent {
    /// The event's own id: the dedupe key (a repeat is a duplicate).
    pub id: String,
    pub call_id: String,
    #[serde(rename = "type")]
    pub kind: NativeEventType,
    pub direction: Option<deskbridge_core::Direction>,
    /// The caller's number, in any format (read in the group's region).
    pub from: Option<String>,
    /// The dialed number.
    pub to: Option<String>,
    /// When it happened (RFC 3339); the time received if left out.
    pub at: Option<DateTime<Utc>>,
    pub agent: Option<NativeAgent>,
    pub queue: Option<String>,
    /// The connector group the event is for (a token of several groups).
    pub group: Option<String>,
    /// Attributes from the IVR: `customer_number`, `zendesk_user`,
    /// `zendesk_ticket`, `force_ticket_creation`, ...
    pub attributes: Option<BTreeMap<String, String>>,
    pub reason: Option<deskbridge_core::EndReason>,
    pub duration_s: Option<u64>,
    pub recording_url: Option<String>,
    pub transcript: Option<String>,
}

#[derive(serde::Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NativeEventType {
    Ringing,
    Answered,
    Ended,
    Recording,
    Voicemail,
}

/// The agent of an event.
#[derive(serde::Serialize, ToSchema)]
pub struct NativeAgent {
    pub email: Option<String>,
    pub name: Option<String>,
    pub extension: Option<String>,
}

/// One event or a batch.
#[derive(serde::Serialize, ToSchema)]
#[serde(untagged)]
pub enum NativeEvents {
    One(Box<NativeEvent>),
    Batch(Vec<NativeEvent>),
}

/// What an ingest did.
#[derive(ToSchema)]
pub struct IngestReport {
    /// Events recorded.
    pub accepted: u64,
    /// Events already recorded (same `id`), ignored.
    pub duplicates: u64,
}

/// `POST /api/v1/calls/done`.
#[derive(ToSchema)]
pub struct DoneRequest {
    /// From 1 to 500 call ids.
    pub call_ids: Vec<String>,
}

/// Which calls were marked done.
#[derive(ToSchema)]
pub struct DoneAnswer {
    pub done: Vec<String>,
    /// Ids that are no missed call of the caller's.
    pub not_found: Vec<String>,
}

/// The agent's choice for a call waiting for one.
#[derive(ToSchema)]
pub struct DecisionRequest {
    /// `new_ticket`, `attach` (with `ticket_id`) or `contact` (with `contact_id`).
    pub action: DecisionAction,
    pub ticket_id: Option<String>,
    pub contact_id: Option<String>,
    /// With `contact`: add the caller's number to the contact.
    pub add_phone: Option<bool>,
}

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum DecisionAction {
    NewTicket,
    Attach,
    Contact,
}

/// Zammad's generic CTI request (`application/x-www-form-urlencoded` or JSON).
#[derive(ToSchema)]
pub struct CtiRequest {
    /// `newCall`, `answer` or `hangup`.
    pub event: String,
    /// The call's id (or `callId`).
    pub call_id: Option<String>,
    #[schema(rename = "callId")]
    pub call_id_camel: Option<String>,
    /// `in` or `out`.
    pub direction: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// The agent(s): a name, comma-joined names, or (`user[]` in a form) a list.
    pub user: Option<Value>,
    /// The extension that answered.
    #[schema(rename = "answeringNumber")]
    pub answering_number: Option<String>,
    /// With `hangup`: `normalClearing`, `busy`, `cancel`, `noAnswer`, ...
    pub cause: Option<String>,
}

/// Zammad's answer: `{}`, a `reject` of a blocked caller, or the caller id to
/// `dial` an outbound call with.
#[derive(ToSchema)]
pub struct CtiAnswer {
    /// `reject` or `dial`.
    pub action: Option<String>,
    /// With `reject`: `busy`.
    pub reason: Option<String>,
    /// With `dial`: the number to dial.
    pub number: Option<String>,
    /// With `dial`: the caller id to show.
    pub caller_id: Option<String>,
}

/// Twilio's status or recording callback (`application/x-www-form-urlencoded`),
/// signed with `X-Twilio-Signature`. Only the fields deskbridge reads.
#[derive(ToSchema)]
#[schema(rename_all = "PascalCase")]
pub struct TwilioCallback {
    pub call_sid: String,
    pub parent_call_sid: Option<String>,
    pub call_status: Option<String>,
    pub direction: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub call_duration: Option<String>,
    pub recording_url: Option<String>,
    pub recording_status: Option<String>,
}

/// An Amazon Connect contact-flow Lambda event (`{"Details": {"ContactData":
/// ...}, "Name": "ContactFlowEvent"}`) or an EventBridge contact event
/// (`{"detail-type": "Amazon Connect Contact Event", "detail": ...}`), as
/// Amazon Connect sends them.
#[derive(ToSchema)]
pub struct ConnectEvent {
    #[schema(rename = "Details")]
    pub details: Option<Value>,
    #[schema(rename = "Name")]
    pub name: Option<String>,
    #[schema(rename = "detail-type")]
    pub detail_type: Option<String>,
    pub detail: Option<Value>,
}

/// A contact flow's answer: flat strings for "Check contact attributes".
#[derive(serde::Serialize, ToSchema)]
pub struct ConnectFlowAnswer {
    pub deskbridge_call_id: String,
    /// `true` or `false`.
    pub caller_found: String,
    pub contact_id: String,
    pub contact_name: String,
    pub open_ticket_id: String,
    pub route_target: String,
    pub route_agent: String,
    pub route_reason: String,
}

/// A contact event's answer.
#[derive(serde::Serialize, ToSchema)]
pub struct ConnectContactAnswer {
    pub accepted: u64,
    pub duplicates: u64,
}

#[derive(serde::Serialize, ToSchema)]
#[serde(untagged)]
pub enum ConnectAnswer {
    Flow(ConnectFlowAnswer),
    Contact(ConnectContactAnswer),
}

/// The instances alive.
#[derive(ToSchema)]
pub struct Instances {
    pub this_instance: String,
    pub instances: Vec<Instance>,
}

#[derive(ToSchema)]
pub struct Instance {
    pub id: String,
    pub hostname: String,
    pub pid: i64,
    pub version: String,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    /// Steps this instance holds a live lease on.
    pub running_steps: i64,
}

/// Sign in with email and password, or with the agent's token.
#[derive(ToSchema)]
pub struct LoginRequest {
    pub email: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
}

/// The signed-in agent and the session's CSRF token.
#[derive(ToSchema)]
pub struct AgentMe {
    pub agent: AgentIdentity,
    /// Send it as `X-CSRF-Token` with every request but GET, HEAD, OPTIONS.
    pub csrf_token: String,
}

#[derive(ToSchema)]
pub struct AgentIdentity {
    pub email: String,
    pub name: Option<String>,
    pub admin: bool,
}

#[derive(ToSchema)]
pub struct SignedOut {
    pub signed_out: bool,
}

/// `GET /api/v1/contacts?q=`.
#[derive(ToSchema)]
pub struct ContactSearch {
    pub contacts: Vec<ContactHit>,
}

#[derive(ToSchema)]
pub struct ContactHit {
    pub id: String,
    pub name: String,
    pub phones: Vec<String>,
    pub link: String,
}

/// The caller-log filters (`GET /api/v1/calls`, `GET /api/v1/agent/calls`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogParams {
    /// The caller's number, any format.
    pub phone: Option<String>,
    /// At most this many calls (default 50, at most 500).
    pub limit: Option<u32>,
    pub group: Option<String>,
    /// An agent's email (a group token only; an agent sees their own calls).
    pub agent: Option<String>,
    pub queue: Option<String>,
    /// `true` or `false`.
    pub missed: Option<bool>,
    /// `true` or `false`.
    pub done: Option<bool>,
    /// The calls of this helpdesk ticket. A signed-in agent asking for a
    /// ticket's or a contact's calls sees every agent's, in their groups (the
    /// Zendesk app's sidebars).
    pub ticket_id: Option<String>,
    /// The calls of this helpdesk contact (as `ticket_id`).
    pub contact_id: Option<String>,
}

/// A closed conversation from a chat platform (`POST /api/v1/conversations`).
#[derive(serde::Serialize, ToSchema)]
pub struct Conversation {
    /// The platform's conversation id, unique per site: the dedupe key (sent
    /// again, it is a duplicate and changes nothing).
    pub id: String,
    /// The site's connector group, when the token sends for several.
    pub group: Option<String>,
    /// `chat`, `messaging`, ... as the platform names it.
    pub channel: Option<String>,
    /// The customer: found by email, then phone, else created.
    pub visitor: ConversationVisitor,
    /// The agent who handled it: the ticket's assignee when the directory (or
    /// the helpdesk) knows the email.
    pub agent: Option<NativeAgent>,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    /// The messages, in order (at least one).
    pub transcript: Vec<ConversationMessage>,
    /// Tags for the ticket, beside the site's own.
    pub tags: Option<Vec<String>>,
    /// The agent's private note, under the site's `note_label`.
    pub note: Option<String>,
    /// `true`: an open ticket for the team to follow up; `false` (the default):
    /// a solved ticket that archives the chat.
    pub escalate: Option<bool>,
    /// Anything else the platform knows; the site's `[groups.chat.fields]` can
    /// copy one into a ticket field (`attribute:NAME`).
    pub attributes: Option<BTreeMap<String, String>>,
}

/// The visitor of a conversation; none of the parts is required.
#[derive(serde::Serialize, ToSchema)]
pub struct ConversationVisitor {
    pub name: Option<String>,
    pub email: Option<String>,
    /// Any phone format, read in the group's region.
    pub phone: Option<String>,
}

/// One message of a transcript.
#[derive(serde::Serialize, ToSchema)]
pub struct ConversationMessage {
    pub from: deskbridge_core::chat::Speaker,
    /// The writer's display name.
    pub name: Option<String>,
    pub text: String,
    pub at: DateTime<Utc>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesParams {
    /// `pending`, `delivered` or `failed` (a dead letter); default: all.
    pub status: Option<String>,
    /// At most this many (default 100, at most 500).
    pub limit: Option<u32>,
}

/// CRM triggers' notifications, newest first.
#[derive(ToSchema)]
pub struct Deliveries {
    pub deliveries: Vec<Delivery>,
}

/// One notification of one change to one endpoint.
#[derive(ToSchema)]
pub struct Delivery {
    pub id: String,
    /// The `webhook-id` (JSON triggers): the same on every attempt and replay.
    pub message_id: String,
    pub group: String,
    /// The configured URL without its user, password, query values and
    /// fragment (`https://hooks.example.com/crm?api_key=…`): a key carried in
    /// the URL is never shown.
    pub endpoint: String,
    /// `ticket:42`: one record's notifications to one endpoint go in order.
    pub order_key: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i64,
    /// When a pending notification is tried next.
    pub next_at: Option<DateTime<Utc>>,
    /// The last answer's HTTP status.
    pub last_status: Option<i64>,
    /// The last answer's start, or why there was none (at most 500 characters).
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// What Zendesk POSTs on the first load of a location of an app with signed
/// URLs ("Building a server-side app, part 5: securing the app").
#[derive(ToSchema)]
pub struct ZendeskFirstLoad {
    /// The JWT Zendesk signed for this load (RS256, the app's key).
    pub token: String,
}
