//! The records the emulated account holds. They keep only what the emulator needs
//! to answer; `render` turns them into Zendesk's much wider JSON shapes.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A user's role, as Zendesk spells it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    #[default]
    EndUser,
    Agent,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::EndUser => "end-user",
            Role::Agent => "agent",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "end-user" | "end_user" => Some(Role::EndUser),
            "agent" => Some(Role::Agent),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// Agents and admins can be assignees and receive screen pops.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Agent | Role::Admin)
    }
}

/// Where a write came from; Zendesk shows it in audit and comment `metadata`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestOrigin {
    /// The caller's `User-Agent`.
    pub client: Option<String>,
    pub ip_address: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: u64,
    pub name: String,
    pub email: Option<String>,
    /// As written; API writes are validated as E.164, seeds may carry formatting.
    pub phone: Option<String>,
    /// Set when the phone was already another user's: Zendesk then keeps it as a
    /// shared number, which caller identification must not trust.
    pub shared_phone_number: bool,
    pub role: Role,
    pub external_id: Option<String>,
    pub organization_id: Option<u64>,
    pub tags: Vec<String>,
    /// Identities added through `POST /users/{id}/identities`.
    pub identities: Vec<Identity>,
    /// Suspended by an admin: signs in nowhere.
    pub suspended: bool,
    /// The account's custom user fields, by key ("User Fields").
    pub user_fields: std::collections::BTreeMap<String, serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When search starts returning this user (index lag).
    #[serde(skip)]
    pub(crate) indexed_at: Instant,
}

impl User {
    /// The user's phone and its phone identities, each with the instant it became
    /// searchable. A phone that came from an identity is indexed with the identity,
    /// not with the (older) user.
    pub(crate) fn phones(&self) -> impl Iterator<Item = (&str, Instant)> {
        let from_identity = |phone: &str| {
            self.identities
                .iter()
                .any(|identity| identity.kind == "phone_number" && identity.value == phone)
        };
        self.phone
            .as_deref()
            .filter(move |phone| !from_identity(phone))
            .map(|phone| (phone, self.indexed_at))
            .into_iter()
            .chain(
                self.identities
                    .iter()
                    .filter(|identity| identity.kind == "phone_number")
                    .map(|identity| (identity.value.as_str(), identity.indexed_at)),
            )
    }

    /// The user's email and its email identities.
    pub(crate) fn emails(&self) -> impl Iterator<Item = &str> {
        self.email.as_deref().into_iter().chain(
            self.identities
                .iter()
                .filter(|identity| identity.kind == "email")
                .map(|identity| identity.value.as_str()),
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Identity {
    pub id: u64,
    pub user_id: u64,
    /// `phone_number`, `email`, ...
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
    pub verified: bool,
    pub primary: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip)]
    pub(crate) indexed_at: Instant,
}

#[derive(Debug, Clone, Serialize)]
pub struct Organization {
    pub id: u64,
    pub name: String,
    pub external_id: Option<String>,
    pub domain_names: Vec<String>,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Ticket statuses in Zendesk's order (search's `status<solved` uses it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TicketStatus {
    New,
    Open,
    Pending,
    Hold,
    Solved,
    Closed,
}

impl TicketStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::New => "new",
            TicketStatus::Open => "open",
            TicketStatus::Pending => "pending",
            TicketStatus::Hold => "hold",
            TicketStatus::Solved => "solved",
            TicketStatus::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<TicketStatus> {
        Some(match text {
            "new" => TicketStatus::New,
            "open" => TicketStatus::Open,
            "pending" => TicketStatus::Pending,
            "hold" => TicketStatus::Hold,
            "solved" => TicketStatus::Solved,
            "closed" => TicketStatus::Closed,
            _ => return None,
        })
    }

    /// The account's system custom status for this status category, which Zendesk
    /// reports as `custom_status_id`.
    pub(crate) fn custom_status_id(self) -> u64 {
        const BASE: u64 = 12_480_498_776_780;
        BASE + self as u64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Urgent,
    High,
    Normal,
    Low,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Urgent => "urgent",
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }

    pub fn parse(text: &str) -> Option<Priority> {
        Some(match text {
            "urgent" => Priority::Urgent,
            "high" => Priority::High,
            "normal" => Priority::Normal,
            "low" => Priority::Low,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TicketType {
    Problem,
    Incident,
    Question,
    Task,
}

impl TicketType {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketType::Problem => "problem",
            TicketType::Incident => "incident",
            TicketType::Question => "question",
            TicketType::Task => "task",
        }
    }

    pub fn parse(text: &str) -> Option<TicketType> {
        Some(match text {
            "problem" => TicketType::Problem,
            "incident" => TicketType::Incident,
            "question" => TicketType::Question,
            "task" => TicketType::Task,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Ticket {
    pub id: u64,
    pub subject: Option<String>,
    /// The first comment's body.
    pub description: String,
    pub status: TicketStatus,
    pub priority: Option<Priority>,
    pub ticket_type: Option<TicketType>,
    pub requester_id: u64,
    pub submitter_id: u64,
    pub assignee_id: Option<u64>,
    pub organization_id: Option<u64>,
    pub group_id: Option<u64>,
    pub tags: Vec<String>,
    /// Ticket field id → value, for the fields that were set.
    pub custom_fields: BTreeMap<u64, Value>,
    pub ticket_form_id: Option<u64>,
    pub brand_id: u64,
    pub external_id: Option<String>,
    /// The closed ticket this one follows up.
    pub via_followup_source_id: Option<u64>,
    pub followup_ids: Vec<u64>,
    /// Whether the first comment was public.
    pub is_public: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip)]
    pub(crate) indexed_at: Instant,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comment {
    /// Also the id of the audit's `Comment` event, as in Zendesk.
    pub id: u64,
    pub ticket_id: u64,
    pub audit_id: u64,
    pub author_id: u64,
    pub body: String,
    pub html_body: String,
    pub public: bool,
    pub origin: RequestOrigin,
    pub created_at: DateTime<Utc>,
    /// A Talk Partner Edition voice comment: the call record it shows
    /// (`POST /api/v2/calls` with a `comment` section), listed as a
    /// `TpeVoiceComment` whose `data` is the call.
    pub call: Option<serde_json::Value>,
}

/// One write to a ticket: its creation or an update, with what changed.
#[derive(Debug, Clone, Serialize)]
pub struct Audit {
    pub id: u64,
    pub ticket_id: u64,
    pub author_id: u64,
    pub events: Vec<AuditEvent>,
    pub origin: RequestOrigin,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum AuditEvent {
    /// A comment was added; `id` is the comment's id.
    Comment { id: u64 },
    /// A field was set at creation.
    Create {
        id: u64,
        field_name: String,
        value: Value,
    },
    /// A field changed on update.
    Change {
        id: u64,
        field_name: String,
        value: Value,
        previous_value: Value,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldOption {
    #[serde(default)]
    pub id: u64,
    pub name: String,
    pub value: String,
    #[serde(default)]
    pub default: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TicketField {
    pub id: u64,
    /// `text`, `tagger`, `checkbox`, `integer`, ..., or a system type such as
    /// `subject`.
    pub field_type: String,
    pub title: String,
    pub description: String,
    pub active: bool,
    /// Agents must fill it before a ticket can be solved.
    pub required: bool,
    pub position: u64,
    pub options: Vec<FieldOption>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TicketField {
    /// Fields of these types are the ticket's own properties and never appear in
    /// `custom_fields`.
    pub fn is_system(&self) -> bool {
        matches!(
            self.field_type.as_str(),
            "subject"
                | "description"
                | "status"
                | "tickettype"
                | "priority"
                | "group"
                | "assignee"
                | "custom_status"
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TicketForm {
    pub id: u64,
    pub name: String,
    pub ticket_field_ids: Vec<u64>,
    pub active: bool,
    pub default: bool,
    pub end_user_visible: bool,
    pub position: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
