//! Notes (freshdesk-api.md §5): `body` HTML required, `private` defaulting to
//! true, `user_id` defaulting to the key's owner. Closed tickets take notes (the
//! notes endpoint loads the ticket with no status check), and a note moves its
//! ticket's `updated_at`.

use serde_json::{Map, Value};

use super::tickets::required_text;
use super::{Store, now};
use crate::body::Input;
use crate::error::ApiError;
use crate::html;
use crate::model::Note;

/// The keys a note takes; `attachments` is not modelled (`invalid_field`).
const NOTE_FIELDS: &[&str] = &["body", "private", "incoming", "user_id", "notify_emails"];

impl Store {
    /// `POST /api/v2/tickets/{id}/notes`: the new note's id.
    pub(crate) fn create_note(
        &mut self,
        ticket_id: u64,
        body: &Map<String, Value>,
    ) -> Result<u64, ApiError> {
        if !self.tickets.contains_key(&ticket_id) {
            return Err(ApiError::NotFound);
        }
        let mut input = Input::new(body, NOTE_FIELDS);
        let text = required_text(&mut input, "body", true);
        let private = input.boolean("private").flatten().unwrap_or(true);
        let incoming = input.boolean("incoming").flatten().unwrap_or(false);
        let user_id = input.id("user_id").flatten();
        if user_id.is_some_and(|id| !self.user_exists(id)) {
            input
                .errors
                .invalid("user_id", "There is no contact matching the given user_id");
        }
        let notify = input.strings("notify_emails").unwrap_or_default();
        if notify
            .iter()
            .any(|email| self.agent_with_email(email).is_none())
        {
            input
                .errors
                .invalid("notify_emails", "Accepts only emails of agents");
        }
        input.errors.finish()?;
        let body = text.unwrap_or_default();
        let at = now();
        let id = self.next_note_id();
        self.notes.insert(
            id,
            Note {
                id,
                ticket_id,
                body_text: html::to_text(&body),
                body,
                private,
                incoming,
                user_id: user_id.unwrap_or(self.owner_id),
                to_emails: notify,
                created_at: at,
                updated_at: at,
            },
        );
        self.touch_ticket(ticket_id);
        Ok(id)
    }
}
