//! Decision functions: given what the helpdesk answered, which record a call uses.
//! Pure, so every rule is tested with tables rather than servers.

use crate::interaction::Interaction;
use crate::phone::Phone;
use crate::policy::Policy;
use crate::ports::ContactSummary;

/// How to find the caller's contact, decided before any lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactQuery {
    /// The IVR named the contact (`zendesk_user`); verify it exists, then fall back
    /// to the phone number.
    ById {
        id: String,
        then_phone: Option<String>,
    },
    /// Look up by this E.164 number.
    ByPhone(String),
    /// Nothing to look up: the number was withheld or is not a valid number.
    Nothing { reason: &'static str },
}

pub fn contact_query(call: &Interaction, policy: &Policy) -> ContactQuery {
    let phone = call
        .customer_phone()
        .and_then(Phone::e164)
        .map(str::to_string);
    if let Some(id) = call
        .attributes
        .get(&policy.contact_attribute)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty() && *v != "0")
    {
        return ContactQuery::ById {
            id: id.to_string(),
            then_phone: phone,
        };
    }
    match (phone, call.customer_phone()) {
        (Some(p), _) => ContactQuery::ByPhone(p),
        (None, Some(Phone::Anonymous)) | (None, None) => ContactQuery::Nothing {
            reason: "caller_anonymous",
        },
        (None, Some(_)) => ContactQuery::Nothing {
            reason: "caller_number_invalid",
        },
    }
}

/// What the phone lookup means for the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneMatch {
    /// Use this contact; `rule` says why.
    Use { id: String, rule: &'static str },
    /// Nobody has the number: create a contact.
    Create,
}

/// Picks the contact among those sharing the number. One match is used; several are
/// ambiguous, and the newest is used (the rule is recorded on the call so the agent
/// can see that it was a choice).
pub fn phone_match(matches: &[ContactSummary]) -> PhoneMatch {
    match matches {
        [] => PhoneMatch::Create,
        [one] => PhoneMatch::Use {
            id: one.id.clone(),
            rule: "phone_match",
        },
        many => {
            let newest = many
                .iter()
                .max_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)))
                .expect("many is not empty");
            PhoneMatch::Use {
                id: newest.id.clone(),
                rule: "phone_ambiguous_newest",
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn contact(id: &str, day: u32) -> ContactSummary {
        ContactSummary {
            id: id.into(),
            name: id.into(),
            phones: vec![],
            created_at: Utc.with_ymd_and_hms(2026, 1, day, 0, 0, 0).unwrap(),
        }
    }

    #[test]
    fn phone_matches() {
        assert_eq!(phone_match(&[]), PhoneMatch::Create);
        assert_eq!(
            phone_match(&[contact("a", 1)]),
            PhoneMatch::Use {
                id: "a".into(),
                rule: "phone_match"
            }
        );
        assert_eq!(
            phone_match(&[contact("a", 1), contact("b", 3), contact("c", 2)]),
            PhoneMatch::Use {
                id: "b".into(),
                rule: "phone_ambiguous_newest"
            }
        );
    }
}
