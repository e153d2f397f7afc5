//! The caller card: who is calling, as the agent page and `GET /api/v1/lookup`
//! show it (name, number, organization, recent tickets with status and links).
//! One function makes it for both, from what the group's backend has at hand:
//! the built-in CRM's tables, or the Zendesk backend's cache (a caller seen
//! recently costs no request).

use deskbridge_core::Phone;
use deskbridge_core::decide::{PhoneMatch, phone_match};
use deskbridge_core::ports::HelpdeskError;
use serde::Serialize;

use crate::state::Group;

/// How many of the caller's recent tickets a card lists.
pub const CARD_TICKETS: usize = 5;

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct CallerCard {
    /// E.164, `anonymous`, or as given.
    pub phone: Option<String>,
    pub name: Option<String>,
    pub contact_id: Option<String>,
    pub contact_link: Option<String>,
    pub organization: Option<String>,
    /// Other contacts with the same number (the agent may pick one).
    pub other_contacts: Vec<ContactRef>,
    /// Several contacts share the number and the group's rule does not pick
    /// one (`ambiguous_caller = "agent"` or `"new_contact"`): no contact is
    /// shown as the caller, all of them are in `other_contacts`, newest first.
    pub shared_number: bool,
    /// The caller's most recently updated ticket that is not solved or closed.
    pub open_ticket: Option<TicketRef>,
    /// The caller's tickets that are not closed, most recently updated first.
    pub tickets: Vec<TicketRef>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ContactRef {
    pub id: String,
    pub name: String,
    pub phones: Vec<String>,
    pub link: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TicketRef {
    pub id: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub link: String,
    /// The agent it is assigned to (email), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// The card of the caller on `phone`, or of the contact `contact_id` when the
/// call already knows it (chosen by the agent, or named by the IVR).
pub async fn caller_card(
    group: &Group,
    phone: Option<&Phone>,
    contact_id: Option<&str>,
) -> Result<CallerCard, HelpdeskError> {
    let mut card = CallerCard {
        phone: phone.map(|p| p.as_str().to_string()),
        ..CallerCard::default()
    };
    let mut contacts = match phone.and_then(Phone::e164) {
        Some(e164) => group.helpdesk.find_contacts_by_phone(e164).await?,
        None => Vec::new(),
    };
    let chosen = match contact_id {
        Some(id) => match contacts.iter().position(|c| c.id == id) {
            Some(i) => Some(contacts.remove(i)),
            None => group.helpdesk.get_contact(id).await?,
        },
        // The contact a call from this number would be matched to, by the
        // same rule (`deskbridge_core::decide::phone_match`): a shared number
        // the group leaves to the agent, or to a new contact, shows as shared.
        None => {
            let matched = phone_match(&contacts, group.policy.ambiguous_caller);
            contacts.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
            match matched {
                PhoneMatch::Use { id, .. } => contacts
                    .iter()
                    .position(|c| c.id == id)
                    .map(|i| contacts.remove(i)),
                PhoneMatch::Create { .. } | PhoneMatch::AskAgent { .. } => {
                    card.shared_number = contacts.len() > 1;
                    None
                }
            }
        }
    };
    card.other_contacts = contacts
        .into_iter()
        .map(|c| ContactRef {
            link: group.links.contact(&c.id),
            id: c.id,
            name: c.name,
            phones: c.phones,
        })
        .collect();
    let Some(contact) = chosen else {
        return Ok(card);
    };
    card.contact_link = Some(group.links.contact(&contact.id));
    card.name = Some(contact.name.clone());
    card.contact_id = Some(contact.id.clone());
    card.tickets = match &group.crm {
        // The built-in CRM's own tables have the subjects and the organization.
        Some(crm) => {
            let Ok(id) = contact.id.parse::<i64>() else {
                return Ok(card);
            };
            // One statement for the organization and the tickets: with the
            // phone search, a card is two round trips to the database.
            let rows = crm
                .store()
                .card_of(id, CARD_TICKETS as u32)
                .await
                .map_err(crm_error)?;
            card.organization = rows.organization;
            rows.tickets
                .into_iter()
                .map(|t| TicketRef {
                    link: group.links.ticket(&t.id.to_string()),
                    id: t.id.to_string(),
                    status: t.status,
                    subject: Some(t.subject),
                    assignee: t.assignee,
                    updated_at: t.updated_at,
                })
                .collect()
        }
        None => {
            let mut tickets = group.helpdesk.caller_tickets(&contact.id).await?;
            tickets.sort_by(deskbridge_core::decide::newest_first);
            tickets
                .into_iter()
                .take(CARD_TICKETS)
                .map(|t| TicketRef {
                    link: group.links.ticket(&t.id),
                    id: t.id,
                    status: t.status,
                    subject: None,
                    assignee: t.assignee,
                    updated_at: t.updated_at,
                })
                .collect()
        }
    };
    card.open_ticket = card
        .tickets
        .iter()
        .find(|t| deskbridge_core::decide::is_open(&t.status))
        .cloned();
    Ok(card)
}

fn crm_error(e: deskbridge_store::StoreError) -> HelpdeskError {
    tracing::warn!(error = %e, "the built-in CRM's store failed");
    HelpdeskError::Transient("the database is unavailable; the server log has the details".into())
}
