//! Tickets, their comments and audits.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{Value, json};

use crate::error::{ApiError, FieldError, Invalid};
use crate::model::{
    Audit, AuditEvent, Comment, Priority, RequestOrigin, Ticket, TicketStatus, TicketType,
};
use crate::seed::SeedTicket;

use super::users::UserInput;
use super::{BRAND_ID, Store, now, take};

/// `ticket.comment` of a create or update body.
#[derive(Debug, Clone, Default)]
pub(crate) struct CommentInput {
    pub(crate) body: Option<String>,
    pub(crate) html_body: Option<String>,
    pub(crate) public: Option<bool>,
    pub(crate) author_id: Option<u64>,
}

/// `ticket.requester` given inline instead of `requester_id`.
#[derive(Debug, Clone, Default)]
pub(crate) struct InlineRequester {
    pub(crate) name: Option<String>,
    pub(crate) email: Option<String>,
}

/// The fields of a `POST /tickets` body.
#[derive(Debug, Clone, Default)]
pub(crate) struct NewTicket {
    pub(crate) subject: Option<String>,
    pub(crate) comment: Option<CommentInput>,
    pub(crate) requester_id: Option<u64>,
    pub(crate) requester: Option<InlineRequester>,
    pub(crate) assignee_id: Option<u64>,
    pub(crate) group_id: Option<u64>,
    pub(crate) priority: Option<String>,
    pub(crate) ticket_type: Option<String>,
    pub(crate) status: Option<String>,
    pub(crate) tags: Option<Vec<String>>,
    pub(crate) custom_fields: Option<Vec<(u64, Value)>>,
    pub(crate) ticket_form_id: Option<u64>,
    pub(crate) brand_id: Option<u64>,
    pub(crate) external_id: Option<String>,
    pub(crate) via_followup_source_id: Option<u64>,
}

/// The fields of a `PUT /tickets/{id}` body; `None` leaves a field as it is, and
/// `Some(None)` clears a nullable id.
#[derive(Debug, Clone, Default)]
pub(crate) struct TicketChanges {
    pub(crate) comment: Option<CommentInput>,
    pub(crate) status: Option<String>,
    pub(crate) assignee_id: Option<Option<u64>>,
    pub(crate) group_id: Option<Option<u64>>,
    pub(crate) priority: Option<String>,
    pub(crate) ticket_type: Option<String>,
    pub(crate) subject: Option<String>,
    pub(crate) tags: Option<Vec<String>>,
    /// Tickets API, "Updating tag lists": `additional_tags` adds tags to the
    /// ticket's own (after `tags`, when both are sent), without repeats.
    pub(crate) additional_tags: Option<Vec<String>>,
    pub(crate) custom_fields: Option<Vec<(u64, Value)>>,
    pub(crate) external_id: Option<String>,
}

/// The body and HTML body of a comment, or `None` when it has no text. Zendesk
/// derives whichever of the two the client left out.
fn resolve_comment(input: &CommentInput) -> Option<(String, String)> {
    let body = input.body.clone().filter(|body| !body.trim().is_empty());
    let html = input
        .html_body
        .clone()
        .filter(|html| !html.trim().is_empty());
    match (body, html) {
        (Some(body), Some(html)) => Some((body, html)),
        (Some(body), None) => {
            let html = html_from_text(&body);
            Some((body, html))
        }
        (None, Some(html)) => Some((text_from_html(&html), html)),
        (None, None) => None,
    }
}

/// Zendesk's rendering of a plain comment: paragraphs in a `zd-comment` div.
pub(crate) fn html_from_text(text: &str) -> String {
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let paragraphs: String = text
        .split("\n\n")
        .filter(|paragraph| !paragraph.trim().is_empty())
        .map(|paragraph| {
            format!(
                "<p dir=\"auto\">{}</p>",
                escape(paragraph.trim_matches('\n')).replace('\n', "<br>")
            )
        })
        .collect();
    format!("<div class=\"zd-comment\" dir=\"auto\">{paragraphs}</div>")
}

/// The text of an HTML body, tags dropped.
fn text_from_html(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
        .trim()
        .to_owned()
}

fn id_value(id: Option<u64>) -> Value {
    id.map_or(Value::Null, |id| Value::String(id.to_string()))
}

fn parse_choice<T>(
    invalid: &mut Invalid,
    field: &str,
    text: Option<&str>,
    parse: impl Fn(&str) -> Option<T>,
) -> Option<T> {
    let text = text?;
    let parsed = parse(text);
    if parsed.is_none() {
        let title = crate::body::label(field);
        invalid.add(
            field,
            format!("{title}: {text} is not valid"),
            "InvalidValue",
        );
    }
    parsed
}

/// The exact answer Zendesk gives to any update of a closed ticket: a 422
/// `RecordInvalid` whose `details.status` has a description and no error code
/// (ZendeskApi_v2 issue #59 shows the body Zendesk sent).
pub(super) fn closed_prevents_update() -> ApiError {
    ApiError::RecordInvalid(BTreeMap::from([(
        "status".to_owned(),
        vec![FieldError {
            description: "Status: closed prevents ticket update".to_owned(),
            error: None,
        }],
    )]))
}

impl Store {
    /// Writes a ticket as given (any status, any dates), searchable at once, with
    /// its first comment when `description` is not empty.
    pub(crate) fn seed_ticket(&mut self, seed: SeedTicket) -> u64 {
        let created_at = seed.created_at.unwrap_or_else(now);
        let updated_at = seed.updated_at.unwrap_or(created_at);
        let requester_id = seed.requester_id.unwrap_or(self.admin_id);
        let organization_id = self
            .user(requester_id)
            .and_then(|user| user.organization_id);
        let id = take(&mut self.next.ticket);
        let ticket = Ticket {
            id,
            subject: seed.subject,
            description: seed.description.clone(),
            status: seed.status,
            priority: seed.priority,
            ticket_type: seed.ticket_type,
            requester_id,
            submitter_id: requester_id,
            assignee_id: seed.assignee_id,
            organization_id,
            group_id: seed.group_id,
            tags: seed.tags,
            custom_fields: seed.custom_fields,
            ticket_form_id: seed.ticket_form_id,
            brand_id: BRAND_ID,
            external_id: seed.external_id,
            via_followup_source_id: None,
            followup_ids: Vec::new(),
            is_public: seed.public,
            created_at,
            updated_at,
            indexed_at: Instant::now(),
        };
        let mut events = Vec::new();
        let audit_id = take(&mut self.next.event);
        if !seed.description.trim().is_empty() {
            let comment_id = take(&mut self.next.event);
            events.push(AuditEvent::Comment { id: comment_id });
            self.comments.insert(
                comment_id,
                Comment {
                    id: comment_id,
                    ticket_id: id,
                    audit_id,
                    author_id: requester_id,
                    html_body: html_from_text(&seed.description),
                    body: seed.description,
                    public: seed.public,
                    origin: RequestOrigin::default(),
                    created_at,
                    call: None,
                },
            );
        }
        events.extend(self.creation_events(&ticket));
        self.audits.insert(
            audit_id,
            Audit {
                id: audit_id,
                ticket_id: id,
                author_id: requester_id,
                events,
                origin: RequestOrigin::default(),
                created_at,
            },
        );
        self.tickets.insert(id, ticket);
        id
    }

    /// `POST /tickets`: validates everything, then writes the ticket, its first
    /// comment and the creation audit. Returns (ticket id, audit id).
    pub(crate) fn create_ticket(
        &mut self,
        input: NewTicket,
        origin: RequestOrigin,
    ) -> Result<(u64, u64), ApiError> {
        let mut invalid = Invalid::default();
        let comment_input = input.comment.clone().unwrap_or_default();
        let comment = resolve_comment(&comment_input);
        if comment.is_none() {
            invalid.add("comment", "Description: cannot be blank", "BlankValue");
        }
        let priority = parse_choice(
            &mut invalid,
            "priority",
            input.priority.as_deref(),
            Priority::parse,
        );
        let ticket_type = parse_choice(
            &mut invalid,
            "type",
            input.ticket_type.as_deref(),
            TicketType::parse,
        );
        let status = parse_choice(&mut invalid, "status", input.status.as_deref(), |text| {
            TicketStatus::parse(text).filter(|status| *status != TicketStatus::Closed)
        });
        let source = self.followup_source(&mut invalid, input.via_followup_source_id);
        if let Some(requester_id) = input.requester_id
            && !self.users.contains_key(&requester_id)
        {
            invalid.add("requester_id", "Requester: is invalid", "InvalidValue");
        }
        self.check_assignee(&mut invalid, input.assignee_id);
        self.check_author(&mut invalid, comment_input.author_id);
        let custom_fields: BTreeMap<u64, Value> = input
            .custom_fields
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        self.check_custom_fields(&mut invalid, &custom_fields);
        if let Some(form_id) = input.ticket_form_id
            && !self
                .ticket_forms
                .get(&form_id)
                .is_some_and(|form| form.active)
        {
            invalid.add("ticket_form_id", "Ticket form: is invalid", "InvalidValue");
        }
        let status = status.unwrap_or(if input.assignee_id.is_some() {
            TicketStatus::Open
        } else {
            TicketStatus::New
        });
        if status == TicketStatus::Solved {
            self.check_required_fields(&mut invalid, input.ticket_form_id, &custom_fields);
        }
        invalid.finish()?;
        let Some((body, html_body)) = comment else {
            return Err(ApiError::invalid(
                "comment",
                "Description: cannot be blank",
                "BlankValue",
            ));
        };

        // Writes start here; the only fallible one (an inline requester) comes
        // first and validates before it writes.
        let requester_id = match (input.requester_id, input.requester) {
            (Some(id), _) => id,
            (None, Some(inline)) => self.inline_requester(inline)?,
            (None, None) => source
                .as_ref()
                .map_or(self.admin_id, |(requester_id, _)| *requester_id),
        };
        let tags = match (input.tags, source) {
            (Some(tags), _) => tags,
            (None, Some((_, parent_tags))) => parent_tags,
            (None, None) => Vec::new(),
        };
        let at = now();
        let id = take(&mut self.next.ticket);
        let audit_id = take(&mut self.next.event);
        let comment_id = take(&mut self.next.event);
        let public = comment_input.public.unwrap_or(true);
        let author_id = comment_input.author_id.unwrap_or(self.admin_id);
        let ticket = Ticket {
            id,
            subject: input.subject,
            description: body.clone(),
            status,
            priority,
            ticket_type,
            requester_id,
            submitter_id: self.admin_id,
            assignee_id: input.assignee_id,
            organization_id: self
                .user(requester_id)
                .and_then(|user| user.organization_id),
            group_id: input.group_id,
            tags,
            custom_fields,
            ticket_form_id: input.ticket_form_id,
            brand_id: input.brand_id.unwrap_or(BRAND_ID),
            external_id: input.external_id,
            via_followup_source_id: input.via_followup_source_id,
            followup_ids: Vec::new(),
            is_public: public,
            created_at: at,
            updated_at: at,
            indexed_at: self.index_time(),
        };
        let mut events = vec![AuditEvent::Comment { id: comment_id }];
        events.extend(self.creation_events(&ticket));
        self.comments.insert(
            comment_id,
            Comment {
                id: comment_id,
                ticket_id: id,
                audit_id,
                author_id,
                body,
                html_body,
                public,
                origin: origin.clone(),
                created_at: at,
                call: None,
            },
        );
        self.audits.insert(
            audit_id,
            Audit {
                id: audit_id,
                ticket_id: id,
                author_id: self.admin_id,
                events,
                origin,
                created_at: at,
            },
        );
        if let Some(parent) = ticket
            .via_followup_source_id
            .and_then(|parent| self.tickets.get_mut(&parent))
        {
            parent.followup_ids.push(id);
        }
        self.tickets.insert(id, ticket);
        Ok((id, audit_id))
    }

    /// `PUT /tickets/{id}`: validates, then applies the changes and records them
    /// in a new audit. Returns the audit id.
    pub(crate) fn update_ticket(
        &mut self,
        id: u64,
        changes: TicketChanges,
        origin: RequestOrigin,
    ) -> Result<u64, ApiError> {
        let ticket = self.tickets.get(&id).ok_or(ApiError::NotFound)?;
        if ticket.status == TicketStatus::Closed {
            return Err(closed_prevents_update());
        }
        let mut invalid = Invalid::default();
        let comment = match &changes.comment {
            None => None,
            Some(input) => {
                let resolved = resolve_comment(input);
                if resolved.is_none() {
                    invalid.add("comment", "Comment: cannot be blank", "BlankValue");
                }
                self.check_author(&mut invalid, input.author_id);
                resolved.map(|(body, html)| {
                    (
                        body,
                        html,
                        input.public.unwrap_or(true),
                        input.author_id.unwrap_or(self.admin_id),
                    )
                })
            }
        };
        let status = parse_choice(
            &mut invalid,
            "status",
            changes.status.as_deref(),
            TicketStatus::parse,
        );
        let priority = parse_choice(
            &mut invalid,
            "priority",
            changes.priority.as_deref(),
            Priority::parse,
        );
        let ticket_type = parse_choice(
            &mut invalid,
            "type",
            changes.ticket_type.as_deref(),
            TicketType::parse,
        );
        if let Some(assignee_id) = changes.assignee_id {
            self.check_assignee(&mut invalid, assignee_id);
        }
        let mut custom_fields = ticket.custom_fields.clone();
        let new_values: BTreeMap<u64, Value> = changes
            .custom_fields
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        self.check_custom_fields(&mut invalid, &new_values);
        custom_fields.extend(new_values.clone());
        let assignee_id = changes.assignee_id.unwrap_or(ticket.assignee_id);
        // Assigning a new ticket opens it, as Zendesk's default business rules do.
        let status = status.unwrap_or(
            if ticket.status == TicketStatus::New && assignee_id.is_some() {
                TicketStatus::Open
            } else {
                ticket.status
            },
        );
        if status == TicketStatus::Solved {
            self.check_required_fields(&mut invalid, ticket.ticket_form_id, &custom_fields);
        }
        invalid.finish()?;

        let at = now();
        let audit_id = take(&mut self.next.event);
        let mut events = Vec::new();
        if let Some((body, html_body, public, author_id)) = comment {
            let comment_id = take(&mut self.next.event);
            events.push(AuditEvent::Comment { id: comment_id });
            self.comments.insert(
                comment_id,
                Comment {
                    id: comment_id,
                    ticket_id: id,
                    audit_id,
                    author_id,
                    body,
                    html_body,
                    public,
                    origin: origin.clone(),
                    created_at: at,
                    call: None,
                },
            );
        }
        let mut change_values: Vec<(String, Value, Value)> = Vec::new();
        let ticket = self.tickets.get_mut(&id).ok_or(ApiError::NotFound)?;
        let mut record = |field: &str, previous: Value, value: Value| {
            if previous != value {
                change_values.push((field.to_owned(), value, previous));
            }
        };
        record(
            "status",
            json!(ticket.status.as_str()),
            json!(status.as_str()),
        );
        ticket.status = status;
        record(
            "assignee_id",
            id_value(ticket.assignee_id),
            id_value(assignee_id),
        );
        ticket.assignee_id = assignee_id;
        if let Some(group_id) = changes.group_id {
            record("group_id", id_value(ticket.group_id), id_value(group_id));
            ticket.group_id = group_id;
        }
        if let Some(priority) = priority {
            record(
                "priority",
                json!(ticket.priority.map(Priority::as_str)),
                json!(priority.as_str()),
            );
            ticket.priority = Some(priority);
        }
        if let Some(ticket_type) = ticket_type {
            record(
                "type",
                json!(ticket.ticket_type.map(TicketType::as_str)),
                json!(ticket_type.as_str()),
            );
            ticket.ticket_type = Some(ticket_type);
        }
        if let Some(subject) = changes.subject {
            record("subject", json!(ticket.subject), json!(subject));
            ticket.subject = Some(subject);
        }
        let mut tags = changes.tags.unwrap_or_else(|| ticket.tags.clone());
        for tag in changes.additional_tags.unwrap_or_default() {
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        if tags != ticket.tags {
            record("tags", json!(ticket.tags), json!(tags));
            ticket.tags = tags;
        }
        if let Some(external_id) = changes.external_id {
            ticket.external_id = Some(external_id);
        }
        for (field_id, value) in new_values {
            let previous = ticket
                .custom_fields
                .get(&field_id)
                .cloned()
                .unwrap_or(Value::Null);
            record(&field_id.to_string(), previous, value);
        }
        ticket.custom_fields = custom_fields;
        ticket.updated_at = at;
        for (field_name, value, previous_value) in change_values {
            events.push(AuditEvent::Change {
                id: take(&mut self.next.event),
                field_name,
                value,
                previous_value,
            });
        }
        self.audits.insert(
            audit_id,
            Audit {
                id: audit_id,
                ticket_id: id,
                author_id: self.admin_id,
                events,
                origin,
                created_at: at,
            },
        );
        Ok(audit_id)
    }

    /// The `Create` events of a new ticket's audit: the fields it was created with.
    fn creation_events(&mut self, ticket: &Ticket) -> Vec<AuditEvent> {
        let mut fields: Vec<(String, Value)> = vec![
            ("subject".into(), json!(ticket.subject)),
            (
                "priority".into(),
                json!(ticket.priority.map(Priority::as_str)),
            ),
            ("requester_id".into(), id_value(Some(ticket.requester_id))),
            ("status".into(), json!(ticket.status.as_str())),
            (
                "type".into(),
                json!(ticket.ticket_type.map(TicketType::as_str)),
            ),
        ];
        let optional = [
            ("assignee_id", ticket.assignee_id),
            ("group_id", ticket.group_id),
            ("organization_id", ticket.organization_id),
            ("brand_id", Some(ticket.brand_id)),
            ("ticket_form_id", ticket.ticket_form_id),
        ];
        fields.extend(
            optional
                .into_iter()
                .filter(|(_, id)| id.is_some())
                .map(|(name, id)| (name.to_owned(), id_value(id))),
        );
        if !ticket.tags.is_empty() {
            fields.push(("tags".into(), json!(ticket.tags)));
        }
        fields.extend(
            ticket
                .custom_fields
                .iter()
                .map(|(id, value)| (id.to_string(), value.clone())),
        );
        fields
            .into_iter()
            .map(|(field_name, value)| AuditEvent::Create {
                id: take(&mut self.next.event),
                field_name,
                value,
            })
            .collect()
    }

    /// A follow-up may only be opened from a closed ticket; returns the parent's
    /// requester and tags, which the follow-up inherits.
    fn followup_source(
        &self,
        invalid: &mut Invalid,
        source_id: Option<u64>,
    ) -> Option<(u64, Vec<String>)> {
        let source_id = source_id?;
        match self.tickets.get(&source_id) {
            Some(parent) if parent.status == TicketStatus::Closed => {
                Some((parent.requester_id, parent.tags.clone()))
            }
            Some(_) => {
                invalid.add(
                    "via_followup_source_id",
                    format!("Via followup source: ticket {source_id} is not closed"),
                    "InvalidValue",
                );
                None
            }
            None => {
                invalid.add(
                    "via_followup_source_id",
                    format!("Via followup source: ticket {source_id} is invalid"),
                    "InvalidValue",
                );
                None
            }
        }
    }

    fn check_assignee(&self, invalid: &mut Invalid, assignee_id: Option<u64>) {
        let Some(assignee_id) = assignee_id else {
            return;
        };
        match self.users.get(&assignee_id) {
            Some(user) if user.role.is_staff() => {}
            Some(_) => invalid.add("assignee_id", "Assignee: is not an agent", "InvalidValue"),
            None => invalid.add("assignee_id", "Assignee: is invalid", "InvalidValue"),
        }
    }

    fn check_author(&self, invalid: &mut Invalid, author_id: Option<u64>) {
        if let Some(author_id) = author_id
            && !self.users.contains_key(&author_id)
        {
            invalid.add("author_id", "Author: is invalid", "InvalidValue");
        }
    }

    fn check_custom_fields(&self, invalid: &mut Invalid, values: &BTreeMap<u64, Value>) {
        for field_id in values.keys() {
            if !self.ticket_fields.contains_key(field_id) {
                invalid.add(
                    "custom_fields",
                    format!("Custom field {field_id}: is invalid"),
                    "InvalidValue",
                );
            }
        }
    }

    /// Required fields must hold a value before a ticket is solved: those of the
    /// ticket's form, or every required field when it has none.
    fn check_required_fields(
        &self,
        invalid: &mut Invalid,
        form_id: Option<u64>,
        values: &BTreeMap<u64, Value>,
    ) {
        let form = form_id.and_then(|form_id| self.ticket_forms.get(&form_id));
        for field in self.ticket_fields.values() {
            let in_form = form.is_none_or(|form| form.ticket_field_ids.contains(&field.id));
            if !field.required || !field.active || field.is_system() || !in_form {
                continue;
            }
            let filled = values
                .get(&field.id)
                .is_some_and(|value| !value.is_null() && value != "");
            if !filled {
                invalid.add(
                    "custom_fields",
                    format!("{}: is required when solving a ticket", field.title),
                    "RequiredFieldMissing",
                );
            }
        }
    }

    /// Finds the inline requester by email or creates them.
    fn inline_requester(&mut self, inline: InlineRequester) -> Result<u64, ApiError> {
        if let Some(id) = inline
            .email
            .as_deref()
            .and_then(|email| self.find_by_email(email))
        {
            return Ok(id);
        }
        let name = inline.name.or_else(|| inline.email.clone());
        self.create_user(UserInput {
            name,
            email: inline.email,
            ..UserInput::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_rendering() {
        assert_eq!(
            html_from_text("a <b>\n\nc\nd"),
            "<div class=\"zd-comment\" dir=\"auto\"><p dir=\"auto\">a &lt;b&gt;</p><p dir=\"auto\">c<br>d</p></div>"
        );
        assert_eq!(text_from_html("<p>x &amp; y</p>"), "x & y");
    }
}
