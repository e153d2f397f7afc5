//! Who a ticket is for (freshdesk-api.md §4, "Requester"): `requester_id`, or a
//! contact found by its email, twitter_id, `phone` column (not mobile) or
//! unique_external_id, in that order; with no match, a new contact. When `phone`
//! is the only identifier, `name` is required ("It should not be blank if phone is
//! only given"), whether or not a contact has that phone.

use super::Store;
use super::contacts::feature_required;
use super::seeding::blank_contact;
use crate::body::{Input, looks_like_email, present};
use crate::error::Errors;
use crate::model::Contact;

/// The requester keys of a ticket body.
#[derive(Debug, Default)]
pub(crate) struct RequesterInput {
    requester_id: Option<u64>,
    email: Option<String>,
    phone: Option<String>,
    twitter_id: Option<String>,
    unique_external_id: Option<String>,
    name: Option<String>,
}

/// How the requester was resolved.
pub(crate) enum Requester {
    Existing(u64),
    /// A contact to create with the ticket (its id is not assigned yet).
    New(Box<Contact>),
}

impl RequesterInput {
    pub(crate) fn read(input: &mut Input<'_>, unique_feature: bool) -> RequesterInput {
        let mut read = |key: &str| {
            let value = input.string(key);
            present(&value).map(str::to_owned)
        };
        let mut requester = RequesterInput {
            email: read("email"),
            phone: read("phone"),
            twitter_id: read("twitter_id"),
            name: read("name"),
            ..RequesterInput::default()
        };
        if input.has("unique_external_id") && !unique_feature {
            input.errors.add(
                "unique_external_id",
                feature_required("unique_external_id"),
                "inaccessible_field",
            );
        } else {
            let value = input.string("unique_external_id");
            requester.unique_external_id = present(&value).map(str::to_owned);
        }
        requester.requester_id = input.id("requester_id").flatten();
        requester
    }

    /// Whether the body names a requester at all (an update may not).
    pub(crate) fn given(&self) -> bool {
        self.requester_id.is_some()
            || self.email.is_some()
            || self.phone.is_some()
            || self.twitter_id.is_some()
            || self.unique_external_id.is_some()
    }
}

impl Store {
    /// Finds or plans the requester, adding what is wrong to `errors`.
    pub(crate) fn resolve_requester(
        &self,
        given: &RequesterInput,
        errors: &mut Errors,
    ) -> Option<Requester> {
        if let Some(id) = given.requester_id {
            if self.user_exists(id) {
                return Some(Requester::Existing(id));
            }
            errors.invalid(
                "requester_id",
                "There is no contact matching the given requester_id",
            );
            return None;
        }
        if !given.given() {
            let list = if self.unique_external_id {
                "requester_id, phone, email, twitter_id, facebook_id, unique_external_id"
            } else {
                "requester_id, phone, email, twitter_id, facebook_id"
            };
            errors.missing(
                "requester_id",
                format!("Please fill at least 1 of {list} fields"),
            );
            return None;
        }
        let mut ok = true;
        if given.email.as_deref().is_some_and(|e| !looks_like_email(e)) {
            errors.invalid("email", "It should be in the 'valid email address' format");
            ok = false;
        }
        let phone_only = given.phone.is_some()
            && given.email.is_none()
            && given.twitter_id.is_none()
            && given.unique_external_id.is_none();
        if phone_only && given.name.is_none() {
            errors.missing("name", "It should not be blank if phone is only given");
            ok = false;
        }
        if !ok {
            return None;
        }
        if let Some(id) = self.find_requester(given) {
            return Some(Requester::Existing(id));
        }
        let name = given
            .name
            .clone()
            .or_else(|| {
                // A new contact from an email is named after the address's
                // local part (unverified).
                given
                    .email
                    .as_deref()
                    .and_then(|e| e.split('@').next())
                    .map(str::to_owned)
            })
            .or_else(|| given.twitter_id.clone())
            .or_else(|| given.unique_external_id.clone())
            .unwrap_or_default();
        let mut contact = blank_contact(0, name);
        contact.email = given.email.clone();
        contact.phone = given.phone.clone();
        contact.twitter_id = given.twitter_id.clone();
        contact.unique_external_id = given.unique_external_id.clone();
        Some(Requester::New(Box::new(contact)))
    }

    /// The existing user the identifiers name, in Freshdesk's order.
    fn find_requester(&self, given: &RequesterInput) -> Option<u64> {
        let contacts = || self.contacts.values();
        given
            .email
            .as_deref()
            .and_then(|email| self.user_with_email(email))
            .or_else(|| {
                let handle = given.twitter_id.as_deref()?;
                contacts()
                    .find(|c| c.twitter_id.as_deref() == Some(handle))
                    .map(|c| c.id)
            })
            .or_else(|| {
                let phone = given.phone.as_deref()?;
                contacts()
                    .find(|c| c.phone.as_deref() == Some(phone))
                    .map(|c| c.id)
            })
            .or_else(|| {
                let external = given.unique_external_id.as_deref()?;
                contacts()
                    .find(|c| c.unique_external_id.as_deref() == Some(external))
                    .map(|c| c.id)
            })
    }

    /// Creates a planned requester; the id of whoever requests the ticket.
    pub(crate) fn settle_requester(&mut self, requester: Requester) -> u64 {
        match requester {
            Requester::Existing(id) => id,
            Requester::New(contact) => self.add_requester(*contact),
        }
    }
}
