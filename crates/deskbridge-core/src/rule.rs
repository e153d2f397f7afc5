//! The names of the rules that made a call's decisions.
//!
//! Every choice the core makes (which contact, which ticket, which assignee) is
//! recorded on the call with the rule that made it, so an admin reading
//! `GET /api/v1/calls/{id}` can tell *why* a call landed where it did. The rules are
//! types, not strings built at the decision site, so a misspelt rule cannot be
//! recorded; they serialize as the snake_case names the API has always shown
//! (`"reuse_window"`, `"customer_number_phone_match"`), so stored calls and API
//! clients see no change.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a ticket was (or was not) chosen. A call records every rule the choice went
/// through, in order; the last one decided (a rejected IVR ticket comes first).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketRule {
    /// The IVR's ticket number: it exists, is not closed, and is the caller's.
    IvrTicket,
    IvrTicketRejectedNotFound,
    IvrTicketRejectedClosed,
    IvrTicketRejectedNotRequester,
    /// The caller's most recently updated ticket, within the reuse window.
    ReuseWindow,
    /// The caller's open ticket (`attach_open_ticket`).
    OpenTicket,
    NewTicket,
    /// A new ticket because the call asked for one (`force_ticket_creation`, or the
    /// IVR's ticket number `0`).
    NewTicketForced,
    /// The group creates no tickets (`create` lacks "ticket").
    TicketCreationOff,
    MissedCallLogOnly,
    VoicemailLogOnly,
    /// An unanswered call goes only onto a recent ticket, and there was none.
    MissedCallNoRecentTicket,
    VoicemailNoRecentTicket,
    /// The ticket was closed; the call's comment went into a follow-up.
    FollowupOfClosedTicket,
    /// Agent mode: the agent chose a new ticket.
    AgentNewTicket,
    /// Agent mode: the agent attached the call to an existing ticket.
    AgentAttached,
    /// The screen pop opened the call's IVR ticket (it exists, is not closed, and
    /// is the caller's); the call lands on it.
    PopTicket,
    /// The screen pop opened the caller's most recently updated ticket.
    PopTicketByAni,
    /// The screen pop opened the ticket whose configured custom field holds the
    /// caller's number.
    PopTicketByField,
    /// The screen pop opened a new ticket, the one the call's comment lands on.
    PopNewTicket,
    /// A chat archived: a solved ticket holding its transcript.
    ChatArchive,
    /// A chat the agent escalated: an open ticket with the transcript and the
    /// agent's note.
    ChatEscalation,
}

impl TicketRule {
    /// Whether the ticket the rule chose was created for the call.
    pub fn makes_a_ticket(&self) -> bool {
        matches!(
            self,
            TicketRule::NewTicket
                | TicketRule::NewTicketForced
                | TicketRule::AgentNewTicket
                | TicketRule::FollowupOfClosedTicket
                | TicketRule::PopNewTicket
                | TicketRule::ChatArchive
                | TicketRule::ChatEscalation
        )
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            TicketRule::IvrTicket => "ivr_ticket",
            TicketRule::IvrTicketRejectedNotFound => "ivr_ticket_rejected_not_found",
            TicketRule::IvrTicketRejectedClosed => "ivr_ticket_rejected_closed",
            TicketRule::IvrTicketRejectedNotRequester => "ivr_ticket_rejected_not_requester",
            TicketRule::ReuseWindow => "reuse_window",
            TicketRule::OpenTicket => "open_ticket",
            TicketRule::NewTicket => "new_ticket",
            TicketRule::NewTicketForced => "new_ticket_forced",
            TicketRule::TicketCreationOff => "ticket_creation_off",
            TicketRule::MissedCallLogOnly => "missed_call_log_only",
            TicketRule::VoicemailLogOnly => "voicemail_log_only",
            TicketRule::MissedCallNoRecentTicket => "missed_call_no_recent_ticket",
            TicketRule::VoicemailNoRecentTicket => "voicemail_no_recent_ticket",
            TicketRule::FollowupOfClosedTicket => "followup_of_closed_ticket",
            TicketRule::AgentNewTicket => "agent_new_ticket",
            TicketRule::AgentAttached => "agent_attached",
            TicketRule::PopTicket => "pop_ticket",
            TicketRule::PopTicketByAni => "pop_ticket_by_ani",
            TicketRule::PopTicketByField => "pop_ticket_by_field",
            TicketRule::PopNewTicket => "pop_new_ticket",
            TicketRule::ChatArchive => "chat_archive",
            TicketRule::ChatEscalation => "chat_escalation",
        }
    }
}

impl fmt::Display for TicketRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the ticket has its assignee.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssigneeRule {
    /// The group does not assign tickets.
    AssignmentOff,
    /// No agent had the call; the group's default assignee.
    DefaultAssigneeNoAgent,
    /// No agent had the call and the group has no default assignee.
    NoAgent,
    /// The agent matched the directory by email, name or extension.
    AgentEmail,
    AgentName,
    AgentExtension,
    /// The agent is not in the directory; the group's default assignee.
    DefaultAssignee,
    /// No directory at all: the agent's email as the event gave it.
    AgentEmailUnlisted,
    /// The agent is not in the directory and there is no default assignee.
    AgentNotInDirectory,
}

impl AssigneeRule {
    pub fn as_str(&self) -> &'static str {
        match self {
            AssigneeRule::AssignmentOff => "assignment_off",
            AssigneeRule::DefaultAssigneeNoAgent => "default_assignee_no_agent",
            AssigneeRule::NoAgent => "no_agent",
            AssigneeRule::AgentEmail => "agent_email",
            AssigneeRule::AgentName => "agent_name",
            AssigneeRule::AgentExtension => "agent_extension",
            AssigneeRule::DefaultAssignee => "default_assignee",
            AssigneeRule::AgentEmailUnlisted => "agent_email_unlisted",
            AssigneeRule::AgentNotInDirectory => "agent_not_in_directory",
        }
    }
}

impl fmt::Display for AssigneeRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the phone lookup found, or why there was none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallerMatch {
    /// Exactly one contact has the number.
    PhoneMatch,
    /// Nobody has the number: a new contact.
    NewContact,
    /// Several contacts share the number: the newest of them.
    PhoneAmbiguousNewest,
    /// Several contacts share the number: none of them, a new contact.
    PhoneAmbiguousNewContact,
    /// Several contacts share the number: the agent picks.
    PhoneAmbiguousAgentDecides,
    /// Nobody has the number and the group creates no contacts.
    ContactCreationOff,
}

impl CallerMatch {
    const ALL: [CallerMatch; 6] = [
        CallerMatch::PhoneMatch,
        CallerMatch::NewContact,
        CallerMatch::PhoneAmbiguousNewest,
        CallerMatch::PhoneAmbiguousNewContact,
        CallerMatch::PhoneAmbiguousAgentDecides,
        CallerMatch::ContactCreationOff,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            CallerMatch::PhoneMatch => "phone_match",
            CallerMatch::NewContact => "new_contact",
            CallerMatch::PhoneAmbiguousNewest => "phone_ambiguous_newest",
            CallerMatch::PhoneAmbiguousNewContact => "phone_ambiguous_new_contact",
            CallerMatch::PhoneAmbiguousAgentDecides => "phone_ambiguous_agent_decides",
            CallerMatch::ContactCreationOff => "contact_creation_off",
        }
    }
}

/// Which number the caller was looked up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NumberSource {
    /// The caller id (the callee on outbound calls).
    #[default]
    CallerId,
    /// The `customer_number` attribute: a callback number the IVR collected, or
    /// the real customer behind a forwarding service.
    CustomerNumber,
}

/// Why the call has its contact (or has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum ContactRule {
    /// The IVR named the contact (`zendesk_user`) and it exists.
    AttributeContact,
    /// The IVR named a contact that does not exist, and there is no number.
    AttributeContactNotFound,
    /// Looked up by number. `after_unknown_attribute`: the IVR named a contact
    /// that does not exist first.
    ByPhone {
        source: NumberSource,
        after_unknown_attribute: bool,
        found: CallerMatch,
    },
    /// The number was withheld.
    CallerAnonymous,
    /// The number is not a valid number, so it is never matched.
    CallerNumberInvalid,
    /// The agent did not pick among the contacts sharing the number in time: the
    /// newest of them.
    PhoneAmbiguousTimeoutNewest,
    /// The agent chose the contact (agent mode, or a shared number).
    AgentChose,
    /// A chat's visitor: the contact with their email.
    VisitorEmail,
    /// A chat's visitor: no contact with their email (or none given), the
    /// newest contact with their number.
    VisitorPhone,
    /// A chat's visitor: found by neither, a new contact.
    VisitorNewContact,
    /// A chat's visitor: found by neither, and the site creates no contacts.
    VisitorContactCreationOff,
}

const AFTER_UNKNOWN_ATTRIBUTE: &str = "attribute_contact_not_found_";
const CUSTOMER_NUMBER: &str = "customer_number_";

impl fmt::Display for ContactRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContactRule::AttributeContact => f.write_str("attribute_contact"),
            ContactRule::AttributeContactNotFound => f.write_str("attribute_contact_not_found"),
            ContactRule::CallerAnonymous => f.write_str("caller_anonymous"),
            ContactRule::CallerNumberInvalid => f.write_str("caller_number_invalid"),
            ContactRule::PhoneAmbiguousTimeoutNewest => {
                f.write_str("phone_ambiguous_timeout_newest")
            }
            ContactRule::AgentChose => f.write_str("agent_chose"),
            ContactRule::VisitorEmail => f.write_str("visitor_email"),
            ContactRule::VisitorPhone => f.write_str("visitor_phone"),
            ContactRule::VisitorNewContact => f.write_str("visitor_new_contact"),
            ContactRule::VisitorContactCreationOff => f.write_str("visitor_contact_creation_off"),
            ContactRule::ByPhone {
                source,
                after_unknown_attribute,
                found,
            } => {
                if *after_unknown_attribute {
                    f.write_str(AFTER_UNKNOWN_ATTRIBUTE)?;
                }
                if *source == NumberSource::CustomerNumber {
                    f.write_str(CUSTOMER_NUMBER)?;
                }
                f.write_str(found.as_str())
            }
        }
    }
}

/// A stored rule name that this version does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown contact rule {0:?}")]
pub struct UnknownRule(String);

impl FromStr for ContactRule {
    type Err = UnknownRule;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fixed = [
            ContactRule::AttributeContact,
            ContactRule::AttributeContactNotFound,
            ContactRule::CallerAnonymous,
            ContactRule::CallerNumberInvalid,
            ContactRule::PhoneAmbiguousTimeoutNewest,
            ContactRule::AgentChose,
            ContactRule::VisitorEmail,
            ContactRule::VisitorPhone,
            ContactRule::VisitorNewContact,
            ContactRule::VisitorContactCreationOff,
        ];
        if let Some(rule) = fixed.into_iter().find(|r| r.to_string() == s) {
            return Ok(rule);
        }
        let (after_unknown_attribute, rest) = match s.strip_prefix(AFTER_UNKNOWN_ATTRIBUTE) {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (source, rest) = match rest.strip_prefix(CUSTOMER_NUMBER) {
            Some(rest) => (NumberSource::CustomerNumber, rest),
            None => (NumberSource::CallerId, rest),
        };
        CallerMatch::ALL
            .into_iter()
            .find(|m| m.as_str() == rest)
            .map(|found| ContactRule::ByPhone {
                source,
                after_unknown_attribute,
                found,
            })
            .ok_or_else(|| UnknownRule(s.to_string()))
    }
}

impl From<ContactRule> for String {
    fn from(rule: ContactRule) -> String {
        rule.to_string()
    }
}

impl TryFrom<String> for ContactRule {
    type Error = UnknownRule;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// The API shows a contact rule as its name (`Display`), so its schema is a
/// string with every name this version writes.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ContactRule {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let fixed = [
            ContactRule::AttributeContact,
            ContactRule::AttributeContactNotFound,
            ContactRule::CallerAnonymous,
            ContactRule::CallerNumberInvalid,
            ContactRule::PhoneAmbiguousTimeoutNewest,
            ContactRule::AgentChose,
            ContactRule::VisitorEmail,
            ContactRule::VisitorPhone,
            ContactRule::VisitorNewContact,
            ContactRule::VisitorContactCreationOff,
        ];
        let by_phone = [false, true]
            .into_iter()
            .flat_map(|after_unknown_attribute| {
                [NumberSource::CallerId, NumberSource::CustomerNumber]
                    .into_iter()
                    .flat_map(move |source| {
                        CallerMatch::ALL
                            .into_iter()
                            .map(move |found| ContactRule::ByPhone {
                                source,
                                after_unknown_attribute,
                                found,
                            })
                    })
            });
        let names: Vec<String> = fixed
            .into_iter()
            .chain(by_phone)
            .map(String::from)
            .collect();
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("Why the call has its contact (or has none)."))
            .enum_values(Some(names))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ContactRule {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_rules_read_back_as_written() {
        let mut all = vec![
            ContactRule::AttributeContact,
            ContactRule::AttributeContactNotFound,
            ContactRule::CallerAnonymous,
            ContactRule::CallerNumberInvalid,
            ContactRule::PhoneAmbiguousTimeoutNewest,
            ContactRule::VisitorEmail,
            ContactRule::VisitorPhone,
            ContactRule::VisitorNewContact,
            ContactRule::VisitorContactCreationOff,
        ];
        for found in CallerMatch::ALL {
            for source in [NumberSource::CallerId, NumberSource::CustomerNumber] {
                for after_unknown_attribute in [false, true] {
                    all.push(ContactRule::ByPhone {
                        source,
                        after_unknown_attribute,
                        found,
                    });
                }
            }
        }
        for rule in all {
            let json = serde_json::to_string(&rule).unwrap();
            assert_eq!(serde_json::from_str::<ContactRule>(&json).unwrap(), rule);
        }
    }

    #[test]
    fn rules_keep_the_names_the_api_has_always_shown() {
        let by_number = ContactRule::ByPhone {
            source: NumberSource::CustomerNumber,
            after_unknown_attribute: true,
            found: CallerMatch::PhoneMatch,
        };
        assert_eq!(
            by_number.to_string(),
            "attribute_contact_not_found_customer_number_phone_match"
        );
        let plain = ContactRule::ByPhone {
            source: NumberSource::CallerId,
            after_unknown_attribute: false,
            found: CallerMatch::NewContact,
        };
        assert_eq!(serde_json::to_string(&plain).unwrap(), "\"new_contact\"");
        assert_eq!(
            serde_json::to_string(&TicketRule::IvrTicketRejectedNotRequester).unwrap(),
            "\"ivr_ticket_rejected_not_requester\""
        );
        for rule in [
            TicketRule::MissedCallNoRecentTicket,
            TicketRule::ReuseWindow,
        ] {
            assert_eq!(
                serde_json::to_string(&rule).unwrap(),
                format!("\"{}\"", rule.as_str())
            );
        }
        assert_eq!(
            serde_json::to_string(&AssigneeRule::DefaultAssigneeNoAgent).unwrap(),
            "\"default_assignee_no_agent\""
        );
        assert!("phone_matchx".parse::<ContactRule>().is_err());
    }
}
