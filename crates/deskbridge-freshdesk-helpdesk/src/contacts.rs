//! Callers and visitors as Freshdesk contacts: found by number (the search
//! index, asked for the ways people type it, each hit's numbers then read as
//! libphonenumber reads them), by email, made with the number's
//! `unique_external_id` so a retried create finds the first; companies.

use std::time::Instant;

use deskbridge_core::phone::{Phone, Region};
use deskbridge_core::ports::*;
use deskbridge_freshdesk::types as fd;
use deskbridge_freshdesk::{FreshdeskError, quoted};

use crate::known::{CONTACT_TTL, fresh};
use crate::text::phone_external_id;
use crate::{FreshdeskHelpdesk, fid, helpdesk_error};

/// The contact an earlier try of this step (or another instance, a moment
/// ago) made for the caller: the number's, under the name deskbridge gives
/// it, the first made. A contact someone else made with the number is not
/// taken: the core weighed the number's contacts and asked for a new one
/// (`ambiguous_caller = "new_contact"`).
fn made_earlier<'a>(listed: &'a [fd::Contact], new: &NewContact) -> Option<&'a fd::Contact> {
    listed
        .iter()
        .filter(|c| !c.deleted && c.name == new.name)
        .min_by_key(|c| c.id)
}

/// A contact as the port shows it: its numbers as typed.
pub(crate) fn summary(c: &fd::Contact) -> ContactSummary {
    ContactSummary {
        id: c.id.to_string(),
        name: c.name.clone(),
        phones: c.numbers().map(str::to_string).collect(),
        created_at: c.created_at,
    }
}

/// Whether one of the contact's numbers, read in the caller's own country
/// (the region a person typing it without a country code most likely meant),
/// is `e164`.
fn has_number(c: &fd::Contact, e164: &str, region: Region) -> bool {
    c.numbers()
        .any(|typed| Phone::parse(typed, region).e164() == Some(e164))
}

/// The contact, its numbers normalized to E.164 so the core matches them.
fn caller(c: &fd::Contact, region: Region) -> ContactSummary {
    let mut s = summary(c);
    s.phones = c
        .numbers()
        .filter_map(|p| Phone::parse(p, region).e164().map(str::to_string))
        .collect();
    s
}

/// The search query for a number: each spelling in `phone` or `mobile`
/// ("Filter Contacts": string values in single quotes, clauses joined by OR,
/// at most 512 characters).
fn number_query(e164: &str) -> String {
    let mut clauses = Vec::new();
    for spelling in Phone::spellings(e164) {
        for field in ["phone", "mobile"] {
            let clause = format!("{field}:{}", quoted(&spelling));
            let length: usize = clauses.iter().map(|c: &String| c.len() + 4).sum();
            if length + clause.len() > 500 {
                break;
            }
            clauses.push(clause);
        }
    }
    clauses.join(" OR ")
}

/// Freshdesk refused the contact's `unique_external_id`: the account lacks
/// the unique contact identifier (`inaccessible_field`, or `invalid_field`).
fn external_id_refused(e: &FreshdeskError) -> bool {
    match e {
        FreshdeskError::Invalid { errors, .. } => errors
            .iter()
            .any(|f| f.field.as_deref() == Some("unique_external_id")),
        _ => false,
    }
}

impl FreshdeskHelpdesk {
    pub(crate) async fn callers_with_number(
        &self,
        e164: &str,
    ) -> Result<Vec<ContactSummary>, HelpdeskError> {
        if let Some(hit) = fresh(self.known().by_phone.get(e164), CONTACT_TTL) {
            return Ok(hit);
        }
        // A current mirror knows every contact with the number (E.164, as
        // its lists' numbers were read): nobody there is a first-time caller,
        // with no search. Contacts deskbridge made are in it from their create.
        if let Some(mirror) = &self.mirror
            && let Some(contacts) = mirror.users_by_phone(e164).await
        {
            let mut found: Vec<ContactSummary> = contacts
                .iter()
                .map(|c| deskbridge_mirror::caller(c, e164))
                .collect();
            found.sort_by_key(|c| std::cmp::Reverse(c.created_at));
            if !found.is_empty() {
                self.known()
                    .by_phone
                    .insert(e164.to_string(), (Instant::now(), found.clone()));
            }
            return Ok(found);
        }
        let Some((region, _)) = Phone::national(e164) else {
            return Ok(Vec::new());
        };
        let hits = self
            .client
            .search_contacts(&number_query(e164))
            .await
            .map_err(helpdesk_error)?;
        let mut found: Vec<ContactSummary> = hits
            .iter()
            .filter(|c| !c.deleted && has_number(c, e164, region))
            .map(|c| caller(c, region))
            .collect();
        if found.is_empty() && self.known().no_external_ids {
            // The search index lags by minutes, and without external ids a
            // contact made meanwhile (by another instance) would be made again:
            // the database's exact list has it, as deskbridge typed it.
            let listed = self
                .client
                .contacts_where("phone", e164)
                .await
                .map_err(helpdesk_error)?;
            found = listed
                .iter()
                .filter(|c| !c.deleted)
                .map(|c| caller(c, region))
                .collect();
        }
        found.sort_by_key(|c| std::cmp::Reverse(c.created_at));
        if !found.is_empty() {
            self.known()
                .by_phone
                .insert(e164.to_string(), (Instant::now(), found.clone()));
        }
        Ok(found)
    }

    pub(crate) async fn contact(&self, id: &str) -> Result<Option<ContactSummary>, HelpdeskError> {
        let Ok(id) = id.parse::<u64>() else {
            return Ok(None);
        };
        if let Some(mirror) = &self.mirror
            && let Some(c) = mirror.user(id).await
        {
            return Ok(Some(ContactSummary {
                id: c.id.to_string(),
                name: c.name,
                phones: c.phones,
                created_at: c.created_at,
            }));
        }
        let found = self.client.contact(id).await.map_err(helpdesk_error)?;
        Ok(found.filter(|c| !c.deleted).as_ref().map(summary))
    }

    pub(crate) async fn visitors_with_email(
        &self,
        email: &str,
    ) -> Result<Vec<ContactSummary>, HelpdeskError> {
        let listed = self
            .client
            .contacts_where("email", &email.to_ascii_lowercase())
            .await
            .map_err(helpdesk_error)?;
        let mut found: Vec<ContactSummary> =
            listed.iter().filter(|c| !c.deleted).map(summary).collect();
        found.sort_by_key(|c| std::cmp::Reverse(c.created_at));
        Ok(found)
    }

    /// Makes the contact once: a caller's carries the number's
    /// `unique_external_id`, a visitor's the email, both unique in Freshdesk,
    /// so a second create answers 409 naming the first. Without the unique
    /// contact identifier, a retried step first lists the number's contacts.
    pub(crate) async fn make_contact(
        &self,
        new: &NewContact,
        key: &IdempotencyKey,
    ) -> Result<ContactSummary, HelpdeskError> {
        let company_id = new
            .organization_id
            .as_deref()
            .map(|o| fid(o, "company"))
            .transpose()?;
        let no_external_ids = self.known().no_external_ids;
        if no_external_ids
            && !key.first_try
            && let Some(phone) = &new.phone
        {
            let listed = self
                .client
                .contacts_where("phone", phone)
                .await
                .map_err(helpdesk_error)?;
            if let Some(c) = made_earlier(&listed, new) {
                return Ok(self.remember_caller(c, phone));
            }
        }
        let mut body = fd::NewContact {
            name: new.name.clone(),
            phone: new.phone.clone(),
            email: new.email.clone(),
            company_id,
            unique_external_id: match no_external_ids {
                true => None,
                false => new.phone.as_deref().map(phone_external_id),
            },
        };
        let created = match self.client.create_contact(&body).await {
            Err(e) if external_id_refused(&e) => {
                tracing::warn!(
                    "Freshdesk refused unique_external_id (the account lacks the unique contact \
                     identifier): contacts are made without it, and a retry lists the number first"
                );
                self.known().no_external_ids = true;
                // Learnt only now (a new process, or one where another made
                // the contact a moment ago): the number's contacts are listed
                // first, from Freshdesk's database, before one is made.
                if let Some(phone) = &new.phone {
                    let listed = self
                        .client
                        .contacts_where("phone", phone)
                        .await
                        .map_err(helpdesk_error)?;
                    if let Some(c) = made_earlier(&listed, new) {
                        return Ok(self.remember_caller(c, phone));
                    }
                }
                body.unique_external_id = None;
                self.client.create_contact(&body).await
            }
            other => other,
        };
        let contact = match created {
            Ok(c) => c,
            Err(FreshdeskError::Duplicate {
                existing: Some(id), ..
            }) => self
                .client
                .contact(id)
                .await
                .map_err(helpdesk_error)?
                .ok_or_else(|| {
                    HelpdeskError::Transient(format!(
                        "Freshdesk names contact {id} as holding this number or email, but has no such contact"
                    ))
                })?,
            Err(e) => return Err(helpdesk_error(e)),
        };
        self.mirror_contact(&contact, new.phone.as_deref()).await;
        Ok(match &new.phone {
            Some(phone) => self.remember_caller(&contact, phone),
            None => summary(&contact),
        })
    }

    async fn mirror_contact(&self, c: &fd::Contact, e164: Option<&str>) {
        if let Some(mirror) = &self.mirror {
            let region = e164
                .and_then(Phone::national)
                .map_or_else(Region::default, |(r, _)| r);
            mirror.put_user(&crate::mirror::contact_of(c, region)).await;
        }
    }

    fn remember_caller(&self, c: &fd::Contact, e164: &str) -> ContactSummary {
        let region = Phone::national(e164).map(|(r, _)| r);
        let mut s = match region {
            Some(region) => caller(c, region),
            None => summary(c),
        };
        if s.phones.is_empty() {
            s.phones.push(e164.to_string());
        }
        self.known()
            .by_phone
            .insert(e164.to_string(), (Instant::now(), vec![s.clone()]));
        s
    }

    /// A company's id: made, or, when the name is taken (company names are
    /// unique: 409 `duplicate_value`), the company that has it. Which one
    /// that is, is read by name ("Search Companies"), since the 409's
    /// `additional_info` is documented for contacts, not for companies; its
    /// id is the fallback when the search finds no exact name.
    pub(crate) async fn company_named(&self, name: &str) -> Result<String, HelpdeskError> {
        let named = match self.client.create_company(name).await {
            Ok(c) => return Ok(c.id.to_string()),
            Err(FreshdeskError::Duplicate { existing, .. }) => existing,
            Err(e) => return Err(helpdesk_error(e)),
        };
        let found = self
            .client
            .companies_named(name)
            .await
            .map_err(helpdesk_error)?;
        let same = |c: &&fd::Company| c.name.trim().eq_ignore_ascii_case(name.trim());
        match (found.iter().find(same), named) {
            (Some(c), _) => Ok(c.id.to_string()),
            (None, Some(id)) => Ok(id.to_string()),
            (None, None) => Err(HelpdeskError::Transient(format!(
                "Freshdesk says the company {name:?} exists but does not find it by name yet"
            ))),
        }
    }

    /// Agent mode: the number onto the contact the agent chose, in its empty
    /// `phone`, else its empty `mobile` (Freshdesk keeps one of each).
    pub(crate) async fn add_number(
        &self,
        contact_id: &str,
        e164: &str,
    ) -> Result<(), HelpdeskError> {
        let id = fid(contact_id, "contact")?;
        let contact = self
            .client
            .contact(id)
            .await
            .map_err(helpdesk_error)?
            .ok_or_else(|| HelpdeskError::Permanent(format!("Freshdesk has no contact {id}")))?;
        let region = Phone::national(e164).map_or_else(Region::default, |(r, _)| r);
        if has_number(&contact, e164, region) {
            return Ok(());
        }
        let empty = |n: &Option<String>| n.as_deref().is_none_or(|n| n.trim().is_empty());
        let numbers = match (empty(&contact.phone), empty(&contact.mobile)) {
            (true, _) => fd::ContactNumbers {
                phone: Some(e164.into()),
                mobile: None,
            },
            (false, true) => fd::ContactNumbers {
                phone: None,
                mobile: Some(e164.into()),
            },
            (false, false) => {
                return Err(HelpdeskError::Permanent(format!(
                    "Freshdesk contact {id} has a phone and a mobile already, and keeps no third \
                     number: add {e164} to it by hand, or choose another contact"
                )));
            }
        };
        let updated = self
            .client
            .set_contact_numbers(id, &numbers)
            .await
            .map_err(helpdesk_error)?;
        self.mirror_contact(&updated, Some(e164)).await;
        self.remember_caller(&updated, e164);
        Ok(())
    }

    /// The agent page's contact search: a number by its spellings, an email
    /// exactly, else names starting with the query.
    pub(crate) async fn contacts_matching(
        &self,
        query: &str,
        limit: usize,
    ) -> Result<Vec<ContactSummary>, HelpdeskError> {
        let query = query.trim();
        if query.contains('@') {
            let mut found = self.visitors_with_email(query).await?;
            found.truncate(limit);
            return Ok(found);
        }
        if let Some(e164) = Phone::parse(query, self.region).e164()
            && query.chars().filter(char::is_ascii_digit).count() >= 6
        {
            let mut found = self.callers_with_number(e164).await?;
            found.truncate(limit);
            return Ok(found);
        }
        let ids = self
            .client
            .contacts_named(query)
            .await
            .map_err(helpdesk_error)?;
        let mut found = Vec::new();
        for id in ids.into_iter().take(limit) {
            if let Some(c) = self.client.contact(id).await.map_err(helpdesk_error)? {
                found.push(summary(&c));
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_numbers_query_asks_every_spelling_in_phone_and_mobile_within_512() {
        let q = number_query("+14155550123");
        assert!(
            q.starts_with("phone:'+14155550123' OR mobile:'+14155550123' OR "),
            "{q}"
        );
        assert!(q.contains("phone:'(415) 555-0123'"), "{q}");
        assert!(q.len() <= 512, "{}", q.len());
    }
}
