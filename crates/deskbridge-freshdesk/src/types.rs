//! Freshdesk API v2's bodies, as far as a call connector reads and writes them
//! (API reference: Contacts, Companies, Tickets, Conversations, Agents, Ticket
//! Fields). Unknown fields in answers are ignored; optional ones are skipped
//! when sending, since Freshdesk refuses a `null` where it wants a value.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Ticket `status`: "Status" table of the Tickets API (2 open, 3 pending,
/// 4 resolved, 5 closed; accounts may add their own above 5).
pub const STATUS_OPEN: u8 = 2;
pub const STATUS_PENDING: u8 = 3;
pub const STATUS_RESOLVED: u8 = 4;
pub const STATUS_CLOSED: u8 = 5;

/// Ticket `priority` 1, Low: Freshdesk's default ("Priority" table of the
/// Tickets API: 1 low, 2 medium, 3 high, 4 urgent).
pub const PRIORITY_LOW: u8 = 1;

/// Ticket `source` 3: a phone call ("Source" table of the Tickets API).
pub const SOURCE_PHONE: u8 = 3;
/// Ticket `source` 7: a chat.
pub const SOURCE_CHAT: u8 = 7;

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Contact {
    pub id: u64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub mobile: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub unique_external_id: Option<String>,
    #[serde(default)]
    pub company_id: Option<u64>,
    #[serde(default)]
    pub deleted: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Contact {
    /// Its numbers as typed into Freshdesk: `phone`, then `mobile`.
    pub fn numbers(&self) -> impl Iterator<Item = &str> {
        [self.phone.as_deref(), self.mobile.as_deref()]
            .into_iter()
            .flatten()
            .filter(|n| !n.trim().is_empty())
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct NewContact {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unique_external_id: Option<String>,
}

/// A contact's numbers to set (`PUT /api/v2/contacts/{id}`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ContactNumbers {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Company {
    pub id: u64,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Ticket {
    pub id: u64,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub description_text: Option<String>,
    pub status: u8,
    #[serde(default)]
    pub priority: Option<u8>,
    #[serde(default)]
    pub requester_id: Option<u64>,
    #[serde(default)]
    pub responder_id: Option<u64>,
    #[serde(default)]
    pub group_id: Option<u64>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub custom_fields: Map<String, Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NewTicket {
    pub subject: String,
    /// HTML.
    pub description: String,
    pub requester_id: u64,
    pub status: u8,
    pub priority: u8,
    pub source: u8,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub ticket_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responder_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_id: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub custom_fields: Map<String, Value>,
}

/// What an update changes (`PUT /api/v2/tickets/{id}`); `tags` replaces the
/// ticket's tags, so the caller sends the old ones with the new.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TicketUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responder_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub custom_fields: Map<String, Value>,
}

impl TicketUpdate {
    pub fn is_empty(&self) -> bool {
        self.status.is_none()
            && self.responder_id.is_none()
            && self.tags.is_none()
            && self.custom_fields.is_empty()
    }
}

/// A note or a reply on a ticket (`GET /api/v2/tickets/{id}/conversations`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Note {
    pub id: u64,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub body_text: Option<String>,
    #[serde(default)]
    pub private: bool,
    #[serde(default)]
    pub ticket_id: Option<u64>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NewNote {
    /// HTML.
    pub body: String,
    pub private: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Agent {
    /// The agent's user id: what `responder_id` takes.
    pub id: u64,
    pub contact: AgentContact,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AgentContact {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TicketField {
    pub id: u64,
    /// `cf_...` for a custom field.
    pub name: String,
    #[serde(default)]
    pub label: String,
    #[serde(rename = "type", default)]
    pub field_type: String,
    #[serde(default)]
    pub required_for_agents: bool,
    #[serde(default)]
    pub choices: Value,
}

/// `GET /api/v2/search/...`'s answer.
#[derive(Debug, Clone, Deserialize)]
pub struct SearchResults<T> {
    pub results: Vec<T>,
    #[serde(default)]
    pub total: u64,
}
