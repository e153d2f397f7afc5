//! Creating and updating contacts (freshdesk-api.md §3): `name` required, at
//! least one of email, mobile, phone, twitter_id, unique_external_id; email,
//! twitter_id and unique_external_id unique (409 with the holder's id), phone and
//! mobile free text that any number of contacts may share.

use serde_json::{Map, Value, json};

use super::Store;
use super::seeding::blank_contact;
use crate::body::{Input, looks_like_email, present};
use crate::error::{ApiError, Errors, msg};
use crate::model::Contact;

/// The keys `POST /contacts` takes (freshdesk-api.md §3, unverified list).
const CONTACT_FIELDS: &[&str] = &[
    "active",
    "address",
    "avatar",
    "avatar_id",
    "view_all_tickets",
    "company_id",
    "description",
    "email",
    "job_title",
    "language",
    "mobile",
    "name",
    "other_companies",
    "other_emails",
    "phone",
    "time_zone",
    "twitter_id",
    "unique_external_id",
    "tags",
    "custom_fields",
];
// Accepted but not modelled (the emulator stores and answers nothing for
// them): active, avatar, avatar_id, view_all_tickets, other_companies,
// other_emails, custom_fields.

/// Phone, mobile and the other short strings: at most 255 characters (§3).
const MAX_LENGTH: usize = 255;

/// The message when the feature behind `unique_external_id` is off: the
/// template "The %{feature} feature is required to support %{attribute}
/// attribute in the request" (unverified).
pub(crate) fn feature_required(attribute: &str) -> String {
    format!(
        "The unique_contact_identifier feature is required to support {attribute} attribute in the request"
    )
}

/// A short free-text value: trimmed, `None` when blank, refused when too long.
fn short(input: &mut Input<'_>, key: &str, target: &mut Option<String>) {
    if let Some(value) = input.string(key) {
        let value = value.filter(|v| !v.is_empty());
        if let Some(text) = &value
            && text.chars().count() > MAX_LENGTH
        {
            input
                .errors
                .invalid(key, msg::too_long(text.chars().count(), MAX_LENGTH));
        }
        *target = value;
    }
}

impl Store {
    /// Reads a create or update body into `contact`.
    fn read_contact(&self, input: &mut Input<'_>, contact: &mut Contact) {
        match input.string("name") {
            Some(Some(name)) if !name.is_empty() => contact.name = name,
            Some(Some(_)) => input.errors.invalid("name", "It should not be blank"),
            Some(None) => input.errors.missing("name", msg::MISSING),
            None => {}
        }
        let email = input.string("email");
        if present(&email).is_some_and(|e| !looks_like_email(e)) {
            input
                .errors
                .invalid("email", "It should be in the 'valid email address' format");
        }
        if let Some(email) = email {
            contact.email = email.filter(|e| !e.is_empty());
        }
        short(input, "phone", &mut contact.phone);
        short(input, "mobile", &mut contact.mobile);
        short(input, "twitter_id", &mut contact.twitter_id);
        if input.has("unique_external_id") && !self.unique_external_id {
            input.errors.add(
                "unique_external_id",
                feature_required("unique_external_id"),
                "inaccessible_field",
            );
        } else {
            short(input, "unique_external_id", &mut contact.unique_external_id);
        }
        if let Some(company_id) = input.id("company_id") {
            if company_id.is_some_and(|id| !self.companies.contains_key(&id)) {
                input.errors.invalid(
                    "company_id",
                    "There is no company matching the given company_id",
                );
            }
            contact.company_id = company_id;
        }
        if let Some(tags) = input.strings("tags") {
            contact.tags = tags;
        }
        short(input, "job_title", &mut contact.job_title);
        short(input, "address", &mut contact.address);
        if let Some(description) = input.text("description") {
            contact.description = description;
        }
        for (key, target) in [
            ("language", &mut contact.language),
            ("time_zone", &mut contact.time_zone),
        ] {
            if let Some(Some(value)) = input.string(key) {
                *target = value;
            }
        }
    }

    /// The rules on the contact as it would be stored.
    fn validate_contact(&self, contact: &Contact, errors: &mut Errors) {
        let identifiers = [
            &contact.email,
            &contact.mobile,
            &contact.phone,
            &contact.twitter_id,
            &contact.unique_external_id,
        ];
        if identifiers.iter().all(|value| value.is_none()) {
            let list = if self.unique_external_id {
                "email, mobile, phone, twitter_id, unique_external_id"
            } else {
                "email, mobile, phone, twitter_id"
            };
            errors.missing("email", format!("Please fill at least 1 of {list} fields"));
        }
        if let Some(email) = &contact.email
            && let Some(holder) = self.user_with_email(email).filter(|&id| id != contact.id)
        {
            errors.duplicate("email", json!({"user_id": holder}));
        }
        let others = || self.contacts.values().filter(|c| c.id != contact.id);
        if let Some(handle) = &contact.twitter_id
            && let Some(holder) = others().find(|c| c.twitter_id.as_ref() == Some(handle))
        {
            errors.duplicate("twitter_id", json!({"user_id": holder.id}));
        }
        if let Some(external) = &contact.unique_external_id
            && let Some(holder) = others().find(|c| c.unique_external_id.as_ref() == Some(external))
        {
            errors.duplicate("unique_external_id", json!({"user_id": holder.id}));
        }
    }

    /// `POST /api/v2/contacts`: the new contact's id.
    pub(crate) fn create_contact(&mut self, body: &Map<String, Value>) -> Result<u64, ApiError> {
        let mut input = Input::new(body, CONTACT_FIELDS);
        let mut contact = blank_contact(0, String::new());
        if !input.has("name") {
            input.errors.missing("name", msg::MISSING);
        }
        self.read_contact(&mut input, &mut contact);
        let mut errors = input.errors;
        self.validate_contact(&contact, &mut errors);
        errors.finish()?;
        contact.id = self.next_user_id();
        let visible_at = self.visible_at();
        let id = contact.id;
        self.put_contact(contact, visible_at);
        Ok(id)
    }

    /// `PUT /api/v2/contacts/{id}`.
    pub(crate) fn update_contact(
        &mut self,
        id: u64,
        body: &Map<String, Value>,
    ) -> Result<(), ApiError> {
        let mut contact = self.contacts.get(&id).cloned().ok_or(ApiError::NotFound)?;
        if body.is_empty() {
            return Err(ApiError::MissingParams);
        }
        let mut input = Input::new(body, CONTACT_FIELDS);
        self.read_contact(&mut input, &mut contact);
        let mut errors = input.errors;
        self.validate_contact(&contact, &mut errors);
        errors.finish()?;
        contact.updated_at = super::now();
        let visible_at = self.visible_at();
        self.put_contact(contact, visible_at);
        Ok(())
    }

    /// A new contact made as a ticket's requester (validated by the caller).
    pub(crate) fn add_requester(&mut self, mut contact: Contact) -> u64 {
        contact.id = self.next_user_id();
        let id = contact.id;
        let visible_at = self.visible_at();
        self.put_contact(contact, visible_at);
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EmulatorConfig;

    fn body(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("object")
    }

    fn codes(result: Result<u64, ApiError>) -> Vec<String> {
        match result {
            Err(ApiError::Validation(errors)) => errors.into_iter().map(|e| e.code).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn phones_are_shared_emails_are_not() {
        let mut store = Store::new(&EmulatorConfig::new("KEY"));
        let first = store
            .create_contact(&body(
                json!({"name": "Ann", "phone": " +15551234567 ", "email": "a@x.io"}),
            ))
            .expect("created");
        assert_eq!(
            store.contacts[&first].phone.as_deref(),
            Some("+15551234567")
        );
        assert!(
            store
                .create_contact(&body(json!({"name": "Bob", "phone": "+15551234567"})))
                .is_ok()
        );
        let duplicate = store.create_contact(&body(json!({"name": "C", "email": "A@X.io"})));
        let Err(ApiError::Validation(errors)) = duplicate else {
            panic!("409 expected");
        };
        assert_eq!(errors[0].additional_info, Some(json!({"user_id": first})));
    }

    #[test]
    fn name_and_an_identifier_are_required() {
        let mut store = Store::new(&EmulatorConfig::new("KEY"));
        assert_eq!(
            codes(store.create_contact(&body(json!({"job_title": "x"})))),
            ["missing_field", "missing_field"]
        );
        assert_eq!(
            codes(store.create_contact(&body(json!({"name": "A", "phone": 5, "x": 1})))),
            ["invalid_field", "datatype_mismatch", "missing_field"]
        );
    }

    #[test]
    fn unique_external_id_needs_its_feature() {
        let mut store = Store::new(&EmulatorConfig {
            unique_external_id: false,
            ..EmulatorConfig::new("KEY")
        });
        let result = store.create_contact(&body(json!({"name": "A", "unique_external_id": "u1"})));
        assert_eq!(codes(result), ["inaccessible_field", "missing_field"]);
    }
}
