//! Records written straight into the account, bypassing the API: what a real
//! account already holds before a test starts (customers, agents, old and closed
//! tickets, the admin's custom ticket fields). Seeds skip validation on purpose,
//! so a test can set up what the API would refuse or what only the web interface
//! makes (a formatted phone, two contacts with one number, a closed ticket).

use serde_json::{Map, Value};

/// A contact to seed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeedContact {
    pub name: String,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub company_id: Option<u64>,
}

impl SeedContact {
    /// A contact with a name only.
    pub fn new(name: impl Into<String>) -> SeedContact {
        SeedContact {
            name: name.into(),
            ..SeedContact::default()
        }
    }

    /// A contact whose `phone` is `phone`, stored as given.
    pub fn with_phone(name: impl Into<String>, phone: impl Into<String>) -> SeedContact {
        SeedContact::new(name).phone(phone)
    }

    pub fn phone(mut self, phone: impl Into<String>) -> SeedContact {
        self.phone = Some(phone.into());
        self
    }

    pub fn mobile(mut self, mobile: impl Into<String>) -> SeedContact {
        self.mobile = Some(mobile.into());
        self
    }

    pub fn email(mut self, email: impl Into<String>) -> SeedContact {
        self.email = Some(email.into());
        self
    }

    pub fn company(mut self, company_id: u64) -> SeedContact {
        self.company_id = Some(company_id);
        self
    }
}

/// A ticket to seed: priority low, source portal, the subject as description.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedTicket {
    pub requester_id: u64,
    pub subject: String,
    /// 2 open (the default), 3 pending, 4 resolved, 5 closed.
    pub status: u8,
    pub tags: Vec<String>,
    /// `cf_*` → value.
    pub custom_fields: Map<String, Value>,
}

impl SeedTicket {
    pub fn new(requester_id: u64, subject: impl Into<String>) -> SeedTicket {
        SeedTicket {
            requester_id,
            subject: subject.into(),
            status: 2,
            tags: Vec::new(),
            custom_fields: Map::new(),
        }
    }

    pub fn status(mut self, status: u8) -> SeedTicket {
        self.status = status;
        self
    }

    pub fn tag(mut self, tag: impl Into<String>) -> SeedTicket {
        self.tags.push(tag.into());
        self
    }

    pub fn custom_field(mut self, name: impl Into<String>, value: impl Into<Value>) -> SeedTicket {
        self.custom_fields.insert(name.into(), value.into());
        self
    }
}

/// A custom ticket field as an admin would add it.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedTicketField {
    /// `cf_...`: the name the API uses in `custom_fields`.
    pub name: String,
    pub label: String,
    /// `custom_text`, `custom_paragraph`, `custom_number`, `custom_decimal`,
    /// `custom_checkbox`, `custom_date` or `custom_dropdown`.
    pub field_type: String,
    /// "Required when submitting the form" for agents: then the API requires
    /// it on create (freshdesk-api.md §4).
    pub required: bool,
    /// A dropdown's choices.
    pub choices: Vec<String>,
}

impl SeedTicketField {
    pub fn new(
        name: impl Into<String>,
        label: impl Into<String>,
        field_type: impl Into<String>,
    ) -> SeedTicketField {
        SeedTicketField {
            name: name.into(),
            label: label.into(),
            field_type: field_type.into(),
            required: false,
            choices: Vec::new(),
        }
    }

    /// A single-line text field.
    pub fn text(name: impl Into<String>, label: impl Into<String>) -> SeedTicketField {
        SeedTicketField::new(name, label, "custom_text")
    }

    /// A whole-number field.
    pub fn number(name: impl Into<String>, label: impl Into<String>) -> SeedTicketField {
        SeedTicketField::new(name, label, "custom_number")
    }

    /// A checkbox.
    pub fn checkbox(name: impl Into<String>, label: impl Into<String>) -> SeedTicketField {
        SeedTicketField::new(name, label, "custom_checkbox")
    }

    /// A dropdown with these choices.
    pub fn dropdown<I, S>(
        name: impl Into<String>,
        label: impl Into<String>,
        choices: I,
    ) -> SeedTicketField
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut field = SeedTicketField::new(name, label, "custom_dropdown");
        field.choices = choices.into_iter().map(Into::into).collect();
        field
    }

    /// Required on create.
    pub fn required(mut self) -> SeedTicketField {
        self.required = true;
        self
    }
}
