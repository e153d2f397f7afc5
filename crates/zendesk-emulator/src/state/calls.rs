//! Talk Partner Edition call records ("Calls", Talk Partner Edition API
//! reference, <https://developer.zendesk.com/api-reference/voice/talk-partner-edition-api/calls/>;
//! "Creating a call record in Zendesk" and "Creating a voice comment in
//! ticket", Talk Partner Edition developer guide).
//!
//! A call needs `app_id`, `from_line`, `to_line`, `call_started_at` and
//! `direction` (the reference's "Mandatory" column); a missing one is refused
//! with 422 like any invalid record. "Creating a call record doesn't generate
//! any output on the ticket": only a `comment` section does, and then the voice
//! comment is made from the call's own fields on its `ticket_id`. A `comment`
//! without `ticket_id` makes a new ticket in Zendesk; the emulator does not
//! model that and refuses it (422), saying so.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::error::{ApiError, Invalid};
use crate::model::{Audit, AuditEvent, Comment, RequestOrigin, TicketStatus};

use super::{Store, now, take};

const MANDATORY: [&str; 5] = [
    "app_id",
    "from_line",
    "to_line",
    "call_started_at",
    "direction",
];

impl Store {
    /// Stores the call (and its voice comment, with a `comment` section and a
    /// `ticket_id`); the call as Zendesk answers it.
    pub(crate) fn create_call(
        &mut self,
        input: &Value,
        origin: RequestOrigin,
    ) -> Result<Value, ApiError> {
        let Some(fields) = input.as_object() else {
            return Err(ApiError::invalid("call", "Call: is missing", "BlankValue"));
        };
        let mut invalid = Invalid::default();
        for name in MANDATORY {
            let blank = match fields.get(name) {
                None | Some(Value::Null) => true,
                Some(Value::String(s)) => s.trim().is_empty(),
                Some(_) => false,
            };
            if blank {
                invalid.add(name, format!("{name}: cannot be blank"), "BlankValue");
            }
        }
        if fields
            .get("app_id")
            .is_some_and(|v| !v.is_null() && !v.is_u64())
        {
            invalid.add("app_id", "App: is invalid", "InvalidValue");
        }
        if let Some(direction) = fields.get("direction").and_then(Value::as_str)
            && !["inbound", "outbound"].contains(&direction)
        {
            invalid.add(
                "direction",
                "Direction: is invalid (inbound or outbound)",
                "InvalidValue",
            );
        }
        for name in ["call_started_at", "call_ended_at"] {
            if let Some(text) = fields.get(name).and_then(Value::as_str)
                && !text.trim().is_empty()
                && DateTime::parse_from_rfc3339(text).is_err()
            {
                invalid.add(name, format!("{name}: is not ISO 8601"), "InvalidValue");
            }
        }
        let ticket_id = fields.get("ticket_id").and_then(Value::as_u64);
        let status = ticket_id.map(|id| self.tickets.get(&id).map(|t| t.status));
        if status == Some(None) {
            invalid.add("ticket_id", "Ticket: not found", "InvalidValue");
        }
        if fields.contains_key("comment") && ticket_id.is_none() {
            invalid.add(
                "ticket_id",
                "the emulator does not model a new ticket made by a call's comment section; give ticket_id",
                "InvalidValue",
            );
        }
        invalid.finish()?;
        // A voice comment is a ticket update: a closed ticket refuses it as it
        // refuses any update.
        if status == Some(Some(TicketStatus::Closed)) && fields.contains_key("comment") {
            return Err(super::tickets::closed_prevents_update());
        }

        let at = now();
        let id = take(&mut self.next.call);
        let mut call = input.clone();
        call["id"] = json!(id);
        call["created_at"] = json!(time(&at));
        call["updated_at"] = json!(time(&at));
        let comment = call
            .as_object_mut()
            .and_then(|c| c.remove("comment"))
            .filter(|c| !c.is_null());
        if let (Some(comment), Some(ticket_id)) = (comment, ticket_id) {
            self.add_call_comment(ticket_id, &call, &comment, origin, at);
        }
        self.calls.insert(id, call.clone());
        Ok(call)
    }

    /// Updates a call's fields (`PATCH /api/v2/calls/{id}` with the fields to
    /// change, as a live account answered it in zenpy's recorded tests):
    /// only the fields sent change; `app_id` is read-only ("Read-only" in the
    /// reference's field table) and `id`, `created_at` are Zendesk's. The
    /// voice comment showing the call shows the new fields, its "Data is
    /// directly retrieved from the call record".
    pub(crate) fn update_call(&mut self, id: u64, input: &Value) -> Result<Value, ApiError> {
        let Some(fields) = input.as_object() else {
            return Err(ApiError::invalid("call", "Call: is missing", "BlankValue"));
        };
        if !self.calls.contains_key(&id) {
            return Err(ApiError::NotFound);
        }
        let mut invalid = Invalid::default();
        for name in ["call_started_at", "call_ended_at"] {
            if let Some(text) = fields.get(name).and_then(Value::as_str)
                && !text.trim().is_empty()
                && DateTime::parse_from_rfc3339(text).is_err()
            {
                invalid.add(name, format!("{name}: is not ISO 8601"), "InvalidValue");
            }
        }
        invalid.finish()?;
        let at = now();
        let call = self.calls.get_mut(&id).ok_or(ApiError::NotFound)?;
        for (name, value) in fields {
            if !["id", "app_id", "created_at", "updated_at", "comment"].contains(&name.as_str()) {
                call[name] = value.clone();
            }
        }
        call["updated_at"] = json!(time(&at));
        let call = call.clone();
        for comment in self.comments.values_mut() {
            if comment.call.as_ref().and_then(|c| c["id"].as_u64()) == Some(id) {
                comment.call = Some(call.clone());
            }
        }
        Ok(call)
    }

    /// The Talk Partner Edition voice comment on the call's ticket: "Data is
    /// directly retrieved from the call record", shown here as text.
    fn add_call_comment(
        &mut self,
        ticket_id: u64,
        call: &Value,
        comment: &Value,
        origin: RequestOrigin,
        at: DateTime<Utc>,
    ) {
        let audit_id = take(&mut self.next.event);
        let comment_id = take(&mut self.next.event);
        let author_id = comment["author_id"]
            .as_u64()
            .or_else(|| call["agent_id"].as_u64())
            .unwrap_or(self.admin_id);
        let public = comment["public"].as_bool().unwrap_or(false);
        let body = call_text(call, comment["title"].as_str());
        let mut data = call.clone();
        data["call_id"] = call["id"].clone();
        self.comments.insert(
            comment_id,
            Comment {
                id: comment_id,
                ticket_id,
                audit_id,
                author_id,
                html_body: format!("<p>{}</p>", body.replace('\n', "<br>")),
                body,
                public,
                origin: origin.clone(),
                created_at: at,
                call: Some(data),
            },
        );
        self.audits.insert(
            audit_id,
            Audit {
                id: audit_id,
                ticket_id,
                author_id,
                events: vec![AuditEvent::Comment { id: comment_id }],
                origin,
                created_at: at,
            },
        );
        if let Some(ticket) = self.tickets.get_mut(&ticket_id) {
            ticket.updated_at = at;
        }
    }

    pub(crate) fn call(&self, id: u64) -> Option<&Value> {
        self.calls.get(&id)
    }
}

/// The voice comment as text: its title, then the call's details.
fn call_text(call: &Value, title: Option<&str>) -> String {
    let field = |k: &str| match &call[k] {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let mut lines = vec![title.unwrap_or("Call").to_string()];
    for (key, label) in [
        ("direction", "Direction"),
        ("from_line", "From"),
        ("to_line", "To"),
        ("call_started_at", "Started"),
        ("call_ended_at", "Ended"),
        ("agent_id", "Agent"),
        ("completion_status", "Completion status"),
        ("call_disposition", "Disposition"),
        ("talk_time", "Talk time (s)"),
        ("recording_url", "Recording"),
        ("transcript", "Transcript"),
    ] {
        if let Some(v) = field(key) {
            lines.push(format!("{label}: {v}"));
        }
    }
    lines.join("\n")
}

fn time(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
