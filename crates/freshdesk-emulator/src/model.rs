//! The records the emulated account holds. They keep what the emulator models;
//! `render` turns them into Freshdesk's wider JSON shapes. Timestamps are whole
//! seconds, as Freshdesk renders them (`"2016-05-19T05:36:12Z"`, PF
//! `note_1.json`), so that a record and its JSON agree.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A customer (freshdesk-api.md §3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub id: u64,
    pub name: String,
    /// Free text as sent, surrounding whitespace stripped; not unique.
    pub phone: Option<String>,
    /// Free text as sent, surrounding whitespace stripped; not unique.
    pub mobile: Option<String>,
    /// Unique among users (contacts and agents).
    pub email: Option<String>,
    /// Unique among contacts.
    pub twitter_id: Option<String>,
    /// Unique among contacts; needs the `unique_contact_identifier` feature.
    pub unique_external_id: Option<String>,
    pub company_id: Option<u64>,
    pub tags: Vec<String>,
    pub job_title: Option<String>,
    pub description: Option<String>,
    pub address: Option<String>,
    pub language: String,
    pub time_zone: String,
    /// Verified (`active: true`) contacts have confirmed their email; API-made
    /// ones have not.
    pub active: bool,
    /// Soft-deleted: out of lists and search, still shown by id.
    pub deleted: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A company (`POST /api/v2/companies`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Company {
    pub id: u64,
    pub name: String,
    pub description: Option<String>,
    pub domains: Vec<String>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An agent. Its id is its user id (freshdesk-api.md §6): the id tickets carry
/// as `responder_id` and notes as `user_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub id: u64,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub available: bool,
    pub occasional: bool,
    /// 1 global, 2 group, 3 restricted access.
    pub ticket_scope: u8,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A ticket; `id` is Freshdesk's `display_id` (freshdesk-api.md §4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: u64,
    pub requester_id: u64,
    pub responder_id: Option<u64>,
    pub subject: String,
    /// HTML as sent.
    pub description: String,
    pub description_text: String,
    /// 2 open, 3 pending, 4 resolved, 5 closed.
    pub status: u8,
    /// 1 low, 2 medium, 3 high, 4 urgent.
    pub priority: u8,
    /// 1 email, 2 portal, 3 phone, ... 13 whatsapp.
    pub source: u8,
    /// `type` in JSON.
    pub ticket_type: Option<String>,
    pub group_id: Option<u64>,
    pub product_id: Option<u64>,
    pub company_id: Option<u64>,
    pub tags: Vec<String>,
    pub cc_emails: Vec<String>,
    /// `cf_*` → value, as sent; unset fields are absent here and `null` in JSON.
    pub custom_fields: Map<String, Value>,
    pub due_by: DateTime<Utc>,
    pub fr_due_by: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A note on a ticket (`POST /api/v2/tickets/{id}/notes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub id: u64,
    pub ticket_id: u64,
    /// HTML as sent.
    pub body: String,
    pub body_text: String,
    pub private: bool,
    pub incoming: bool,
    pub user_id: u64,
    /// The agents' emails the note was sent to (`notify_emails`), answered as
    /// `to_emails`.
    pub to_emails: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A ticket field, default (`default_subject`, ...) or custom (`cf_*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketField {
    pub id: u64,
    /// `subject`, `ticket_type`, ... or `cf_utm_source`.
    pub name: String,
    pub label: String,
    /// `default_subject`, ... or `custom_text`, `custom_paragraph`,
    /// `custom_number`, `custom_decimal`, `custom_checkbox`, `custom_date`,
    /// `custom_dropdown`.
    pub field_type: String,
    pub default: bool,
    pub required_for_agents: bool,
    pub position: u32,
    /// As Freshdesk answers `choices`: a list for types and dropdowns, an
    /// object for status, priority and source; `null` for the others.
    pub choices: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TicketField {
    /// A dropdown's or the ticket type's choices as strings.
    pub fn choice_list(&self) -> Vec<&str> {
        self.choices
            .as_array()
            .map(|items| items.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }
}
