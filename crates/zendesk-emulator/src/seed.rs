//! Records written straight into the account, bypassing the API: the data a real
//! account already holds before a test starts (customers, agents, old and closed
//! tickets, the admin-configured ticket fields and forms). Seeds skip validation on
//! purpose, so a test can set up what the API would refuse (a formatted phone, a
//! closed ticket, a shared number).
//!
//! The same types are the JSON bodies of `POST /__emulator/seed/*`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{FieldOption, Priority, Role, TicketStatus, TicketType};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SeedUser {
    pub name: String,
    pub email: Option<String>,
    /// Stored as given: formatting allowed (then only `phone:*digits` finds it).
    pub phone: Option<String>,
    pub role: Role,
    pub external_id: Option<String>,
    pub organization_id: Option<u64>,
    pub shared_phone_number: bool,
    pub tags: Vec<String>,
    /// Custom user fields, by key.
    pub user_fields: std::collections::BTreeMap<String, serde_json::Value>,
}

impl SeedUser {
    /// An end user with a name only.
    pub fn new(name: impl Into<String>) -> SeedUser {
        SeedUser {
            name: name.into(),
            ..SeedUser::default()
        }
    }

    /// An end user with a phone.
    pub fn end_user(name: impl Into<String>, phone: impl Into<String>) -> SeedUser {
        SeedUser::new(name).phone(phone)
    }

    /// An agent with an email.
    pub fn agent(email: impl Into<String>, name: impl Into<String>) -> SeedUser {
        SeedUser::new(name).email(email).role(Role::Agent)
    }

    pub fn phone(mut self, phone: impl Into<String>) -> SeedUser {
        self.phone = Some(phone.into());
        self
    }

    pub fn email(mut self, email: impl Into<String>) -> SeedUser {
        self.email = Some(email.into());
        self
    }

    /// Sets the custom user field `key` (an agent's extension, say).
    pub fn field(
        mut self,
        key: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> SeedUser {
        self.user_fields.insert(key.into(), value.into());
        self
    }

    pub fn role(mut self, role: Role) -> SeedUser {
        self.role = role;
        self
    }

    pub fn external_id(mut self, external_id: impl Into<String>) -> SeedUser {
        self.external_id = Some(external_id.into());
        self
    }

    pub fn organization_id(mut self, organization_id: u64) -> SeedUser {
        self.organization_id = Some(organization_id);
        self
    }

    /// Marks the phone as shared by several users.
    pub fn shared_phone_number(mut self) -> SeedUser {
        self.shared_phone_number = true;
        self
    }
}

/// `POST /__emulator/seed/agents` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedAgent {
    pub email: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SeedTicket {
    pub subject: Option<String>,
    /// The first comment's body; no comment when empty.
    pub description: String,
    /// Whether the first comment is public.
    pub public: bool,
    /// `None`: the admin.
    pub requester_id: Option<u64>,
    pub assignee_id: Option<u64>,
    pub group_id: Option<u64>,
    pub status: TicketStatus,
    pub priority: Option<Priority>,
    #[serde(rename = "type")]
    pub ticket_type: Option<TicketType>,
    pub tags: Vec<String>,
    /// Ticket field id → value.
    pub custom_fields: BTreeMap<u64, Value>,
    pub ticket_form_id: Option<u64>,
    pub external_id: Option<String>,
    /// `None`: now. Set it to place a ticket in the past (reuse windows).
    pub created_at: Option<DateTime<Utc>>,
    /// `None`: `created_at`.
    pub updated_at: Option<DateTime<Utc>>,
}

impl Default for SeedTicket {
    fn default() -> SeedTicket {
        SeedTicket {
            subject: None,
            description: String::new(),
            public: true,
            requester_id: None,
            assignee_id: None,
            group_id: None,
            status: TicketStatus::New,
            priority: None,
            ticket_type: None,
            tags: Vec::new(),
            custom_fields: BTreeMap::new(),
            ticket_form_id: None,
            external_id: None,
            created_at: None,
            updated_at: None,
        }
    }
}

impl SeedTicket {
    /// A ticket of `requester_id` with a subject and a public first comment.
    pub fn new(requester_id: u64, subject: impl Into<String>) -> SeedTicket {
        let subject = subject.into();
        SeedTicket {
            requester_id: Some(requester_id),
            description: subject.clone(),
            subject: Some(subject),
            ..SeedTicket::default()
        }
    }

    pub fn status(mut self, status: TicketStatus) -> SeedTicket {
        self.status = status;
        self
    }

    pub fn assignee(mut self, assignee_id: u64) -> SeedTicket {
        self.assignee_id = Some(assignee_id);
        self
    }

    pub fn updated_at(mut self, updated_at: DateTime<Utc>) -> SeedTicket {
        self.updated_at = Some(updated_at);
        self
    }

    pub fn created_at(mut self, created_at: DateTime<Utc>) -> SeedTicket {
        self.created_at = Some(created_at);
        self
    }
}

fn yes() -> bool {
    true
}

/// A ticket field as an admin would configure it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedTicketField {
    pub id: u64,
    /// `text`, `textarea`, `tagger`, `multiselect`, `checkbox`, `integer`,
    /// `decimal`, `date`, `regexp`, ...
    #[serde(rename = "type")]
    pub field_type: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default = "yes")]
    pub active: bool,
    /// Choices of `tagger` and `multiselect` fields (ids are assigned when 0).
    #[serde(default, alias = "custom_field_options")]
    pub options: Vec<FieldOption>,
}

impl SeedTicketField {
    pub fn new(
        id: u64,
        field_type: impl Into<String>,
        title: impl Into<String>,
    ) -> SeedTicketField {
        SeedTicketField {
            id,
            field_type: field_type.into(),
            title: title.into(),
            description: String::new(),
            required: false,
            active: true,
            options: Vec::new(),
        }
    }

    /// Must be filled before a ticket is solved.
    pub fn required(mut self) -> SeedTicketField {
        self.required = true;
        self
    }

    /// Adds a choice (for `tagger` and `multiselect`).
    pub fn option(mut self, name: impl Into<String>, value: impl Into<String>) -> SeedTicketField {
        self.options.push(FieldOption {
            id: 0,
            name: name.into(),
            value: value.into(),
            default: false,
        });
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedTicketForm {
    pub id: u64,
    pub name: String,
    #[serde(default)]
    pub ticket_field_ids: Vec<u64>,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub default: bool,
}

impl SeedTicketForm {
    pub fn new(id: u64, name: impl Into<String>, ticket_field_ids: Vec<u64>) -> SeedTicketForm {
        SeedTicketForm {
            id,
            name: name.into(),
            ticket_field_ids,
            active: true,
            default: false,
        }
    }
}
