//! Creating and updating tickets (freshdesk-api.md §4). `PUT` takes the create
//! fields minus `cc_emails`, works on closed tickets (a `status: 2` reopens
//! them), and refuses an empty body with `missing_params`.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use super::fields::TICKET_TYPES;
use super::requester::RequesterInput;
use super::{Store, now};
use crate::body::{Field, Input, looks_like_email};
use crate::error::{ApiError, Errors, msg};
use crate::html;
use crate::model::Ticket;

/// The keys `POST /tickets` takes and the emulator models. Freshdesk also takes
/// `facebook_id`, `email_config_id`, `internal_group_id`, `internal_agent_id`,
/// `parent_id` and `attachments` (§4); the emulator answers those
/// `invalid_field`.
const CREATE_FIELDS: &[&str] = &[
    "description",
    "due_by",
    "fr_due_by",
    "group_id",
    "priority",
    "email",
    "phone",
    "twitter_id",
    "requester_id",
    "name",
    "responder_id",
    "source",
    "status",
    "subject",
    "type",
    "product_id",
    "company_id",
    "unique_external_id",
    "tags",
    "cc_emails",
    "custom_fields",
];

/// Sources a create accepts, and those an update accepts (5, 6 and 13 not).
const CREATE_SOURCES: [i64; 9] = [1, 2, 3, 5, 6, 7, 8, 9, 11];
const UPDATE_SOURCES: [i64; 10] = [1, 2, 3, 4, 7, 8, 9, 10, 11, 12];

/// A tag's maximum length (§4; the message is unverified).
const MAX_TAG: usize = 32;

/// `due_by` and `fr_due_by` of a new ticket. Freshdesk computes them from the
/// SLA policy and business hours; the emulator does not model those and gives
/// every ticket three days to resolve and one to respond.
pub(crate) fn due_dates(created_at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        created_at + Duration::days(3),
        created_at + Duration::days(1),
    )
}

/// The validated changes of a create or update body.
#[derive(Default)]
struct Changes {
    subject: Option<String>,
    description: Option<String>,
    status: Option<u8>,
    priority: Option<u8>,
    source: Option<u8>,
    ticket_type: Field<String>,
    responder_id: Field<u64>,
    group_id: Field<u64>,
    product_id: Field<u64>,
    company_id: Field<u64>,
    tags: Option<Vec<String>>,
    cc_emails: Option<Vec<String>>,
    custom_fields: Option<Map<String, Value>>,
    due_by: Option<DateTime<Utc>>,
    fr_due_by: Option<DateTime<Utc>>,
}

/// An integer field that must be one of `allowed`.
fn choice(input: &mut Input<'_>, key: &str, allowed: &[i64]) -> Option<u8> {
    let value = input.integer(key);
    pick(&mut input.errors, key, value, allowed)
}

fn pick(errors: &mut Errors, key: &str, value: Field<i64>, allowed: &[i64]) -> Option<u8> {
    match value?.filter(|v| allowed.contains(v)) {
        Some(v) => u8::try_from(v).ok(),
        None => {
            let list: Vec<String> = allowed.iter().map(i64::to_string).collect();
            errors.invalid(key, msg::one_of(&list.join(",")));
            None
        }
    }
}

/// `subject`, `description`, a note's `body`: required on create, never null.
/// A value of another type has its `datatype_mismatch` already.
pub(crate) fn required_text(input: &mut Input<'_>, key: &str, creating: bool) -> Option<String> {
    let sent = input.has(key);
    match input.text(key) {
        Some(Some(text)) => Some(text),
        Some(None) => {
            input.errors.missing(key, msg::data_type("String"));
            None
        }
        None if creating && !sent => {
            input.errors.missing(key, msg::data_type("String"));
            None
        }
        None => None,
    }
}

fn time(input: &mut Input<'_>, key: &str) -> Option<DateTime<Utc>> {
    let text = input.string(key)??;
    match DateTime::parse_from_rfc3339(&text) {
        Ok(at) => Some(at.with_timezone(&Utc)),
        Err(_) => {
            input
                .errors
                .invalid(key, "It should be in the 'valid date time' format");
            None
        }
    }
}

impl Store {
    /// An id that must name one of `records`, or be null.
    fn reference<T>(
        input: &mut Input<'_>,
        key: &str,
        records: &std::collections::BTreeMap<u64, T>,
        what: &str,
    ) -> Field<u64> {
        let value = input.id(key)?;
        if value.is_some_and(|id| !records.contains_key(&id)) {
            input
                .errors
                .invalid(key, format!("There is no {what} matching the given {key}"));
        }
        Some(value)
    }

    fn read_changes(&self, input: &mut Input<'_>, creating: bool) -> Changes {
        let mut changes = Changes {
            subject: required_text(input, "subject", creating),
            description: required_text(input, "description", creating),
            status: choice(input, "status", &[2, 3, 4, 5]),
            priority: choice(input, "priority", &[1, 2, 3, 4]),
            ..Changes::default()
        };
        if let Some(subject) = &changes.subject
            && subject.chars().count() > 255
        {
            let length = subject.chars().count();
            input.errors.invalid("subject", msg::too_long(length, 255));
        }
        // "Unset or 0 becomes 2 (portal)" on create (§4).
        changes.source = match input.integer("source") {
            Some(Some(0)) if creating => Some(2),
            source if creating => pick(&mut input.errors, "source", source, &CREATE_SOURCES),
            source => pick(&mut input.errors, "source", source, &UPDATE_SOURCES),
        };
        changes.ticket_type = input.string("type");
        if let Some(Some(kind)) = &changes.ticket_type
            && !TICKET_TYPES.contains(&kind.as_str())
        {
            input
                .errors
                .invalid("type", msg::one_of(&TICKET_TYPES.join(",")));
        }
        changes.responder_id = Self::reference(input, "responder_id", &self.agents, "agent");
        changes.group_id = Self::reference(input, "group_id", &self.groups, "group");
        changes.product_id = Self::reference(input, "product_id", &self.products, "product");
        changes.company_id = Self::reference(input, "company_id", &self.companies, "company");
        changes.tags = input.strings("tags");
        for tag in changes.tags.iter().flatten() {
            if tag.chars().count() > MAX_TAG {
                input.errors.invalid(
                    "tags",
                    format!(
                        "It should only contain elements that have maximum of {MAX_TAG} characters"
                    ),
                );
            } else if tag.contains(',') {
                input.errors.invalid("tags", "It should not contain commas");
            }
        }
        changes.cc_emails = input.strings("cc_emails");
        if changes
            .cc_emails
            .iter()
            .flatten()
            .any(|e| !looks_like_email(e))
        {
            input.errors.invalid(
                "cc_emails",
                "It should contain elements that are in the 'valid email address' format",
            );
        }
        let custom = input.object("custom_fields");
        self.check_custom_fields(custom, creating, &mut input.errors);
        changes.custom_fields = custom.cloned();
        changes.due_by = time(input, "due_by");
        changes.fr_due_by = time(input, "fr_due_by");
        changes
    }

    /// `POST /api/v2/tickets`: the new ticket's id.
    pub(crate) fn create_ticket(&mut self, body: &Map<String, Value>) -> Result<u64, ApiError> {
        let mut input = Input::new(body, CREATE_FIELDS);
        let requester = RequesterInput::read(&mut input, self.unique_external_id);
        let changes = self.read_changes(&mut input, true);
        let mut errors: Errors = input.errors;
        let resolved = self.resolve_requester(&requester, &mut errors);
        errors.finish()?;
        let Some(resolved) = resolved else {
            return Err(ApiError::field(
                "requester_id",
                msg::MISSING,
                "missing_field",
            ));
        };
        let requester_id = self.settle_requester(resolved);
        let at = now();
        let (due_by, fr_due_by) = due_dates(at);
        let mut ticket = Ticket {
            id: self.next_ticket_id(),
            requester_id,
            responder_id: None,
            subject: String::new(),
            description: String::new(),
            description_text: String::new(),
            status: 2,
            priority: 1,
            source: 2,
            ticket_type: None,
            group_id: None,
            product_id: None,
            company_id: self.contacts.get(&requester_id).and_then(|c| c.company_id),
            tags: Vec::new(),
            cc_emails: Vec::new(),
            custom_fields: Map::new(),
            due_by,
            fr_due_by,
            created_at: at,
            updated_at: at,
        };
        apply(&mut ticket, changes);
        let id = ticket.id;
        let visible_at = self.visible_at();
        self.put_ticket(ticket, visible_at);
        Ok(id)
    }

    /// `PUT /api/v2/tickets/{id}`.
    pub(crate) fn update_ticket(
        &mut self,
        id: u64,
        body: &Map<String, Value>,
    ) -> Result<(), ApiError> {
        let mut ticket = self.tickets.get(&id).cloned().ok_or(ApiError::NotFound)?;
        if body.is_empty() {
            return Err(ApiError::MissingParams);
        }
        let allowed: Vec<&str> = CREATE_FIELDS
            .iter()
            .copied()
            .filter(|&key| key != "cc_emails")
            .collect();
        let mut input = Input::new(body, &allowed);
        let requester = RequesterInput::read(&mut input, self.unique_external_id);
        let changes = self.read_changes(&mut input, false);
        let mut errors = input.errors;
        let resolved = if requester.given() {
            self.resolve_requester(&requester, &mut errors)
        } else {
            None
        };
        errors.finish()?;
        if let Some(resolved) = resolved {
            ticket.requester_id = self.settle_requester(resolved);
        }
        apply(&mut ticket, changes);
        ticket.updated_at = now();
        let visible_at = self.visible_at();
        self.put_ticket(ticket, visible_at);
        Ok(())
    }

    /// A note was added: the ticket's `updated_at` moves (and search sees it).
    pub(crate) fn touch_ticket(&mut self, id: u64) {
        if let Some(mut ticket) = self.tickets.get(&id).cloned() {
            ticket.updated_at = now();
            let visible_at = self.visible_at();
            self.put_ticket(ticket, visible_at);
        }
    }
}

fn set<T>(target: &mut Option<T>, field: Field<T>) {
    if let Some(value) = field {
        *target = value;
    }
}

fn apply(ticket: &mut Ticket, changes: Changes) {
    if let Some(subject) = changes.subject {
        ticket.subject = subject;
    }
    if let Some(description) = changes.description {
        ticket.description_text = html::to_text(&description);
        ticket.description = description;
    }
    ticket.status = changes.status.unwrap_or(ticket.status);
    ticket.priority = changes.priority.unwrap_or(ticket.priority);
    ticket.source = changes.source.unwrap_or(ticket.source);
    set(&mut ticket.ticket_type, changes.ticket_type);
    set(&mut ticket.responder_id, changes.responder_id);
    set(&mut ticket.group_id, changes.group_id);
    set(&mut ticket.product_id, changes.product_id);
    set(&mut ticket.company_id, changes.company_id);
    if let Some(tags) = changes.tags {
        ticket.tags = tags;
    }
    if let Some(cc_emails) = changes.cc_emails {
        ticket.cc_emails = cc_emails;
    }
    for (name, value) in changes.custom_fields.into_iter().flatten() {
        if value.is_null() {
            ticket.custom_fields.remove(&name);
        } else {
            ticket.custom_fields.insert(name, value);
        }
    }
    ticket.due_by = changes.due_by.unwrap_or(ticket.due_by);
    ticket.fr_due_by = changes.fr_due_by.unwrap_or(ticket.fr_due_by);
}
