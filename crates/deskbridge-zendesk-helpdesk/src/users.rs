//! Callers and visitors as Zendesk users: found by number (a wildcard search,
//! then each hit's number read as libphonenumber reads it), by email, made with
//! `create_or_update` and an external id from the number, so that a retried
//! create, from this process or another, returns the same user.

use std::time::Instant;

use deskbridge_core::phone::{Phone, Region};
use deskbridge_core::ports::*;
use deskbridge_core::ticket_rules::{self, FoundUser};
use deskbridge_zendesk::ZendeskError;
use deskbridge_zendesk::types as zd;

use crate::ZendeskHelpdesk;
use crate::cache::{CONTACT_TTL, fresh};
use crate::error::{helpdesk_error, zid};

/// The external id deskbridge gives the users it creates: one per number.
pub fn phone_external_id(e164: &str) -> String {
    format!("deskbridge:phone:{e164}")
}

/// A Zendesk user as the core's [`ticket_rules::counts_as_caller`] sees them.
pub(crate) fn found_user(u: &zd::User) -> FoundUser {
    FoundUser {
        is_agent: u.is_agent(),
        shared_number: u.shared_phone_number == Some(true),
    }
}

pub(crate) fn contact(u: &zd::User) -> ContactSummary {
    ContactSummary {
        id: u.id.to_string(),
        name: u.name.clone(),
        phones: u.phone.iter().cloned().collect(),
        created_at: u.created_at,
    }
}

/// Whether the user's number, read as libphonenumber reads it (a number typed
/// without a country code in the caller's own country, which is the region a
/// person typing it most likely meant), is `e164`.
///
/// Only the primary `phone` is in the search result; a user the wildcard found
/// through another phone identity has no primary number or a different one. One
/// without a primary number is kept (the search matched one of their
/// identities, ending in the caller's national number); one whose primary
/// number is another has their identities checked.
pub(crate) fn has_number(u: &zd::User, e164: &str, region: Region) -> bool {
    match u.phone.as_deref() {
        None | Some("") => true,
        Some(typed) => Phone::parse(typed, region).e164() == Some(e164),
    }
}

/// The contact, its phones normalized to E.164 so the core matches them.
pub(crate) fn contact_with(u: &zd::User, e164: &str, region: Region) -> ContactSummary {
    let mut summary = contact(u);
    summary.phones = u
        .phone
        .iter()
        .filter_map(|p| Phone::parse(p, region).e164().map(str::to_string))
        .collect();
    if summary.phones.is_empty() {
        summary.phones.push(e164.to_string());
    }
    summary
}

impl ZendeskHelpdesk {
    pub(crate) async fn callers_with_number(
        &self,
        e164: &str,
    ) -> Result<Vec<ContactSummary>, HelpdeskError> {
        if let Some(hit) = fresh(self.cache().by_phone.get(e164), CONTACT_TTL) {
            return Ok(hit);
        }
        // A current mirror knows every user with the number (E.164, as the
        // export's phones were normalized): nobody there is a first-time
        // caller, with no search. Users deskbridge created are in it from
        // their create on, so this never makes a second user for a number.
        if let Some(mirror) = &self.mirror
            && let Some(users) = mirror.users_by_phone(e164).await
        {
            let found: Vec<ContactSummary> = users
                .iter()
                .filter(|u| {
                    let found = FoundUser {
                        is_agent: u.is_agent,
                        shared_number: u.shared_phone,
                    };
                    ticket_rules::counts_as_caller(found, self.match_shared_numbers)
                })
                .map(|u| deskbridge_mirror::caller(u, e164))
                .collect();
            if !found.is_empty() {
                self.cache()
                    .by_phone
                    .insert(e164.to_string(), (Instant::now(), found.clone()));
            }
            return Ok(found);
        }
        // Search the national number with a leading wildcard (numbers typed by
        // hand are found only so), then keep the users whose number is really the
        // caller's: `phone:*4155550100` also finds `+44 4155550100`.
        let Some((region, national)) = Phone::national(e164) else {
            return Ok(Vec::new());
        };
        let users = self
            .client
            .search_users_by_phone(&national)
            .await
            .map_err(helpdesk_error)?;
        let mut found = Vec::new();
        for u in users
            .iter()
            .filter(|u| ticket_rules::counts_as_caller(found_user(u), self.match_shared_numbers))
        {
            if has_number(u, e164, region) {
                found.push(contact_with(u, e164, region));
                continue;
            }
            // The primary number is another: the search may have matched one of
            // the user's other phone identities. Rare, so asked only then.
            let identities = self
                .client
                .user_identities(u.id)
                .await
                .map_err(helpdesk_error)?;
            let theirs = identities.iter().any(|i| {
                i.kind == "phone_number" && Phone::parse(&i.value, region).e164() == Some(e164)
            });
            if theirs {
                let mut summary = contact_with(u, e164, region);
                summary.phones.push(e164.to_string());
                found.push(summary);
            }
        }
        // Only a hit is remembered: "nobody" may change with the lagging index.
        if !found.is_empty() {
            self.cache()
                .by_phone
                .insert(e164.to_string(), (Instant::now(), found.clone()));
        }
        Ok(found)
    }

    /// Zendesk's user search by email (exact, any role), kept to end users: a
    /// chat's visitor is never an agent's account.
    pub(crate) async fn visitors_with_email(
        &self,
        email: &str,
    ) -> Result<Vec<ContactSummary>, HelpdeskError> {
        let user = self
            .client
            .find_user_by_email(email)
            .await
            .map_err(helpdesk_error)?;
        // Whoever has the email is the visitor: a shared email is no question.
        Ok(user
            .iter()
            .filter(|u| ticket_rules::counts_as_caller(found_user(u), true))
            .map(contact)
            .collect())
    }

    pub(crate) async fn user(&self, id: &str) -> Result<Option<ContactSummary>, HelpdeskError> {
        let Ok(uid) = id.parse::<u64>() else {
            return Ok(None);
        };
        if let Some(hit) = fresh(self.cache().contacts.get(id), CONTACT_TTL) {
            return Ok(Some(hit));
        }
        if let Some(mirror) = &self.mirror
            && let Some(u) = mirror.user(uid).await
        {
            return Ok(Some(ContactSummary {
                id: u.id.to_string(),
                name: u.name.clone(),
                phones: u.phones.clone(),
                created_at: u.created_at,
            }));
        }
        let user = self.client.show_user(uid).await.map_err(helpdesk_error)?;
        let summary = user.as_ref().map(contact);
        if let Some(s) = &summary {
            self.cache()
                .contacts
                .insert(id.to_string(), (Instant::now(), s.clone()));
        }
        Ok(summary)
    }

    pub(crate) async fn organization_named(
        &self,
        name: &str,
        _key: &IdempotencyKey,
    ) -> Result<String, HelpdeskError> {
        // Zendesk organization names are unique: a retry finds the first.
        match self.client.create_organization(name).await {
            Ok(org) => Ok(org.id.to_string()),
            Err(ZendeskError::Invalid { details, .. }) if details.contains("name") => {
                let org = self
                    .client
                    .find_organization_by_name(name)
                    .await
                    .map_err(helpdesk_error)?
                    .ok_or_else(|| {
                        HelpdeskError::Permanent(format!("organization {name:?}: {details}"))
                    })?;
                Ok(org.id.to_string())
            }
            Err(e) => Err(helpdesk_error(e)),
        }
    }

    pub(crate) async fn upsert_user(
        &self,
        new: &NewContact,
        key: &IdempotencyKey,
    ) -> Result<ContactSummary, HelpdeskError> {
        // `create_or_update` finds the user a retried create made by its
        // external id (from the number) or its email; a visitor with neither
        // gets an external id from the step's key.
        let external_id = match (&new.phone, &new.email) {
            (Some(phone), _) => Some(phone_external_id(phone)),
            (None, Some(_)) => None,
            (None, None) => Some(format!("deskbridge:{}", key.as_str())),
        };
        let user = zd::NewUser {
            name: new.name.clone(),
            phone: new.phone.clone(),
            email: new.email.clone(),
            external_id,
            organization_id: new
                .organization_id
                .as_deref()
                .map(|o| zid(o, "organization"))
                .transpose()?,
            role: Some("end-user".into()),
        };
        let zd::Upserted {
            user: created,
            created: is_new,
        } = self
            .client
            .create_or_update_user(&user)
            .await
            .map_err(helpdesk_error)?;
        if let Some(mirror) = &self.mirror {
            // Its number is the caller's, E.164 already: read in its own country.
            let region = new
                .phone
                .as_deref()
                .and_then(Phone::national)
                .map_or_else(Region::default, |(region, _)| region);
            mirror
                .put_user(&crate::mirror::user_of(&created, region))
                .await;
        }
        let summary = contact(&created);
        let mut cache = self.cache();
        let now = Instant::now();
        if let Some(phone) = &new.phone {
            cache
                .by_phone
                .insert(phone.clone(), (now, vec![summary.clone()]));
        }
        cache
            .contacts
            .insert(summary.id.clone(), (now, summary.clone()));
        // A new user has no tickets yet: no need to ask. A user Zendesk
        // matched instead (this step's earlier try made them, or another
        // instance did) may have: the next lookup asks.
        if is_new {
            cache
                .requested
                .entry(summary.id.clone())
                .or_insert((now, Vec::new()));
        } else {
            cache.requested.remove(&summary.id);
        }
        Ok(summary)
    }

    pub(crate) async fn add_number(
        &self,
        contact_id: &str,
        e164: &str,
    ) -> Result<(), HelpdeskError> {
        let uid = zid(contact_id, "contact")?;
        // Zendesk refuses a number the user has already (422); look first.
        let identities = self
            .client
            .user_identities(uid)
            .await
            .map_err(helpdesk_error)?;
        let region = Phone::national(e164).map(|(r, _)| r).unwrap_or_default();
        let has = identities.iter().any(|i| {
            i.kind == "phone_number" && Phone::parse(&i.value, region).e164() == Some(e164)
        });
        if !has {
            match self.client.add_phone_identity(uid, e164).await {
                Ok(()) => {}
                // Zendesk keeps a phone identity on one user only: a number
                // another user has (e.g. the contact made for the unknown caller
                // before the agent chose) is refused with `DuplicateValue`. The
                // call still goes to the chosen contact; the number stays where
                // it is, which an admin merges in Zendesk.
                Err(ZendeskError::Invalid { details, .. })
                    if details.contains("DuplicateValue") =>
                {
                    tracing::warn!(
                        contact = contact_id,
                        "the caller's number belongs to another Zendesk user; not added"
                    );
                }
                Err(e) => return Err(helpdesk_error(e)),
            }
        }
        // The number's callers are this user now too.
        let mut cache = self.cache();
        cache.by_phone.remove(e164);
        cache.contacts.remove(contact_id);
        Ok(())
    }

    pub(crate) async fn search_users(
        &self,
        query: &str,
        limit: usize,
    ) -> Result<Vec<ContactSummary>, HelpdeskError> {
        let users = self
            .client
            .search_users(query.trim())
            .await
            .map_err(helpdesk_error)?;
        Ok(users
            .iter()
            .filter(|u| !u.is_agent())
            .take(limit)
            .map(contact)
            .collect())
    }
}
