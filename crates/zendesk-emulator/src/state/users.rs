//! Users and their identities.

use std::time::Instant;

use crate::body::label;
use crate::error::{ApiError, Invalid};
use crate::model::{Identity, Role, User};
use crate::phone;
use crate::seed::SeedUser;

use super::{Store, now, take};

/// The fields of a `{"user": {...}}` body; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub(crate) struct UserInput {
    pub(crate) name: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) phone: Option<String>,
    pub(crate) role: Option<String>,
    pub(crate) external_id: Option<String>,
    pub(crate) organization_id: Option<u64>,
    pub(crate) tags: Option<Vec<String>>,
}

fn blank(text: &Option<String>) -> bool {
    text.as_deref().is_none_or(|text| text.trim().is_empty())
}

/// `""` clears a field, as Zendesk reads an empty string.
fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|text| !text.is_empty())
}

impl Store {
    /// Writes a user as given, searchable at once.
    pub(crate) fn seed_user(&mut self, seed: SeedUser) -> u64 {
        let id = take(&mut self.next.user);
        let at = now();
        self.users.insert(
            id,
            User {
                id,
                name: seed.name,
                email: seed.email,
                phone: seed.phone,
                shared_phone_number: seed.shared_phone_number,
                role: seed.role,
                external_id: seed.external_id,
                organization_id: seed.organization_id,
                tags: seed.tags,
                user_fields: seed.user_fields,
                identities: Vec::new(),
                suspended: false,
                created_at: at,
                updated_at: at,
                indexed_at: Instant::now(),
            },
        );
        id
    }

    /// `POST /users`: validates, then creates a user that search finds only after
    /// the index lag.
    pub(crate) fn create_user(&mut self, input: UserInput) -> Result<u64, ApiError> {
        let role = self.validate_user(&input, None)?;
        Ok(self.insert_user(input, role.unwrap_or_default()))
    }

    /// `POST /users/create_or_update`: the user with this `external_id`, else with
    /// this email, is updated (`false`); otherwise one is created (`true`). The
    /// match reads the records, not the search index, so there is no lag here.
    pub(crate) fn create_or_update_user(
        &mut self,
        input: UserInput,
    ) -> Result<(u64, bool), ApiError> {
        let existing = input
            .external_id
            .as_deref()
            .and_then(|external_id| self.find_by_external_id(external_id))
            .or_else(|| {
                input
                    .email
                    .as_deref()
                    .and_then(|email| self.find_by_email(email))
            });
        let Some(id) = existing else {
            return self.create_user(input).map(|id| (id, true));
        };
        let role = self.validate_user(&input, Some(id))?;
        let shared = match input.phone.as_deref() {
            Some(phone) if !phone.is_empty() => Some(self.phone_taken(phone, Some(id))),
            _ => None,
        };
        let user = self.users.get_mut(&id).ok_or(ApiError::NotFound)?;
        if let Some(name) = input.name {
            user.name = name;
        }
        if input.email.is_some() {
            user.email = non_empty(input.email);
        }
        if input.phone.is_some() {
            user.phone = non_empty(input.phone);
            user.shared_phone_number = shared.unwrap_or(false);
        }
        if let Some(role) = role {
            user.role = role;
        }
        if input.external_id.is_some() {
            user.external_id = non_empty(input.external_id);
        }
        if input.organization_id.is_some() {
            user.organization_id = input.organization_id;
        }
        if let Some(tags) = input.tags {
            user.tags = tags;
        }
        user.updated_at = now();
        Ok((id, false))
    }

    /// `POST /users/{id}/identities`.
    pub(crate) fn add_identity(
        &mut self,
        user_id: u64,
        kind: Option<String>,
        value: Option<String>,
    ) -> Result<u64, ApiError> {
        if !self.users.contains_key(&user_id) {
            return Err(ApiError::NotFound);
        }
        let kind = kind.unwrap_or_default();
        let value = value.unwrap_or_default();
        let value = match kind.as_str() {
            "phone_number" => {
                let normalized = phone::normalize_identity(&value).ok_or_else(|| {
                    ApiError::invalid(
                        "value",
                        format!("Value: {value} is not a valid phone number"),
                        "InvalidValue",
                    )
                })?;
                if self.phone_taken(&normalized, Some(user_id)) {
                    return Err(ApiError::invalid(
                        "value",
                        format!("Value: {normalized} is already being used by another user"),
                        "DuplicateValue",
                    ));
                }
                normalized
            }
            "email" => {
                if !looks_like_email(&value) {
                    return Err(ApiError::invalid(
                        "value",
                        format!("Value: {value} is not properly formatted"),
                        "InvalidFormat",
                    ));
                }
                if self.find_by_email(&value).is_some() {
                    return Err(ApiError::invalid(
                        "value",
                        format!("Value: {value} is already being used by another user"),
                        "DuplicateValue",
                    ));
                }
                value
            }
            "twitter" | "facebook" | "google" | "agent_forwarding" if !value.is_empty() => value,
            _ => {
                return Err(ApiError::invalid(
                    "type",
                    format!("Type: {kind} is not a valid identity type"),
                    "InvalidValue",
                ));
            }
        };
        let id = take(&mut self.next.identity);
        let at = now();
        let indexed_at = self.index_time();
        let user = self.users.get_mut(&user_id).ok_or(ApiError::NotFound)?;
        // The first identity of a kind becomes primary and, for phones and emails,
        // the user's `phone` / `email` attribute, as in Zendesk.
        let primary = match kind.as_str() {
            "phone_number" if user.phone.is_none() => {
                user.phone = Some(value.clone());
                user.shared_phone_number = false;
                true
            }
            "email" if user.email.is_none() => {
                user.email = Some(value.clone());
                true
            }
            _ => !user.identities.iter().any(|identity| identity.kind == kind),
        };
        user.identities.push(Identity {
            id,
            user_id,
            kind,
            value,
            verified: false,
            primary,
            created_at: at,
            updated_at: at,
            indexed_at,
        });
        user.updated_at = at;
        Ok(id)
    }

    pub(crate) fn find_by_external_id(&self, external_id: &str) -> Option<u64> {
        self.users
            .values()
            .find(|user| user.external_id.as_deref() == Some(external_id))
            .map(|user| user.id)
    }

    /// Emails are unique per account and compared without case.
    pub(crate) fn find_by_email(&self, email: &str) -> Option<u64> {
        self.users
            .values()
            .find(|user| user.emails().any(|have| have.eq_ignore_ascii_case(email)))
            .map(|user| user.id)
    }

    /// Whether another user already holds this number (as an unshared phone or a
    /// phone identity); a new holder then gets it as a shared number.
    fn phone_taken(&self, phone: &str, except: Option<u64>) -> bool {
        self.users.values().any(|user| {
            Some(user.id) != except
                && (user.phone.as_deref() == Some(phone) && !user.shared_phone_number
                    || user
                        .identities
                        .iter()
                        .any(|identity| identity.kind == "phone_number" && identity.value == phone))
        })
    }

    /// All of a user write's rules; returns the parsed role if one was given.
    fn validate_user(
        &self,
        input: &UserInput,
        existing: Option<u64>,
    ) -> Result<Option<Role>, ApiError> {
        let mut invalid = Invalid::default();
        let creating = existing.is_none();
        if (creating || input.name.is_some()) && blank(&input.name) {
            invalid.add("name", "Name: cannot be blank", "BlankValue");
        }
        if let Some(phone) = input.phone.as_deref().filter(|phone| !phone.is_empty())
            && !phone::is_e164(phone)
        {
            invalid.add("phone", "Phone is invalid", "InvalidValue");
        }
        if let Some(email) = input.email.as_deref().filter(|email| !email.is_empty()) {
            if !looks_like_email(email) {
                invalid.add(
                    "email",
                    format!("Email: {email} is not properly formatted"),
                    "InvalidFormat",
                );
            } else if self
                .find_by_email(email)
                .is_some_and(|id| Some(id) != existing)
            {
                invalid.add(
                    "email",
                    format!("Email: {email} is already being used by another user"),
                    "DuplicateValue",
                );
            }
        }
        if let Some(external_id) = input.external_id.as_deref().filter(|id| !id.is_empty())
            && self
                .find_by_external_id(external_id)
                .is_some_and(|id| Some(id) != existing)
        {
            invalid.add(
                "external_id",
                "External has already been taken",
                "DuplicateValue",
            );
        }
        if let Some(organization_id) = input.organization_id
            && !self.organizations.contains_key(&organization_id)
        {
            invalid.add(
                "organization_id",
                format!("{}: is invalid", label("organization_id")),
                "InvalidValue",
            );
        }
        let role = match input.role.as_deref() {
            None => None,
            Some(text) => {
                let role = Role::parse(text);
                if role.is_none() {
                    invalid.add("role", format!("Role: {text} is not valid"), "InvalidValue");
                }
                role
            }
        };
        invalid.finish()?;
        Ok(role)
    }

    fn insert_user(&mut self, input: UserInput, role: Role) -> u64 {
        let phone = non_empty(input.phone);
        let shared_phone_number = phone
            .as_deref()
            .is_some_and(|phone| self.phone_taken(phone, None));
        let id = take(&mut self.next.user);
        let at = now();
        let user = User {
            id,
            name: input.name.unwrap_or_default(),
            email: non_empty(input.email),
            phone,
            shared_phone_number,
            role,
            external_id: non_empty(input.external_id),
            organization_id: input.organization_id,
            tags: input.tags.unwrap_or_default(),
            user_fields: Default::default(),
            identities: Vec::new(),
            suspended: false,
            created_at: at,
            updated_at: at,
            indexed_at: self.index_time(),
        };
        self.users.insert(id, user);
        id
    }
}

fn looks_like_email(text: &str) -> bool {
    text.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !text.contains(char::is_whitespace)
    })
}
