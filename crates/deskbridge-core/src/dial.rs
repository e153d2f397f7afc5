//! Click-to-call, the vocabulary: an agent asks deskbridge to ring their own
//! phone and then the customer (`POST /api/v1/agent/dial`); the phone system's
//! dialer carries it out. What the dial is (its call id, caller id, the call's
//! first event and where it is logged) is decided by
//! `crate::decide::dial::dial`; the dialers (Asterisk's `Originate`, a dial
//! webhook) only send it.

use serde::{Deserialize, Serialize};

use crate::agent::AgentRef;
use crate::event::CallEvent;

/// The call attribute saying why a dial never reached the customer (the
/// agent's phone was busy, the PBX refused it): set by the dialers, shown to
/// the agent on the call, and read by the callback loop, for which such a
/// call is no attempt to reach the customer.
pub const DIAL_FAILURE_ATTRIBUTE: &str = "dial_failure";

/// Where the call an agent dials is logged.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DialLog {
    /// On the ticket the agent dialed from (`ticket_id`).
    Ticket,
    /// On a new ticket.
    #[default]
    NewTicket,
    /// Nowhere in the helpdesk: the call is in deskbridge's call log only.
    None,
}

/// What deskbridge decided to dial: the PBX is asked to ring `agent`'s phone,
/// then `to`, showing `caller_id`; the events the PBX sends back carry
/// `call_id`, which `first_event` starts in the journal.
#[derive(Debug, Clone, PartialEq)]
pub struct Dial {
    pub call_id: String,
    pub group: String,
    pub agent: AgentRef,
    /// The agent's extension (the dialers ring it).
    pub extension: String,
    /// The customer's number, E.164.
    pub to: String,
    /// The caller id the customer sees, by the group's caller-id rules.
    pub caller_id: Option<String>,
    pub log: DialLog,
    /// The ticket the call is logged on (`log = "ticket"`).
    pub ticket: Option<String>,
    /// The call as the journal starts it, before the PBX says anything.
    pub first_event: CallEvent,
}

impl Dial {
    /// The plan the dialed call starts under: the group's, with where the
    /// agent chose to log it.
    pub fn plan(&self, group: &crate::policy::CallPlan) -> crate::policy::CallPlan {
        let mut plan = group.clone();
        plan.record_in_helpdesk = self.log != DialLog::None;
        plan.log_on_ticket = self.ticket.clone();
        plan
    }

    /// A dial as the configuration check renders dialers' templates over.
    pub fn sample() -> Dial {
        let agent = AgentRef {
            email: Some("ann@example.com".into()),
            name: Some("Ann".into()),
            extension: Some("101".into()),
        };
        let first_event = CallEvent::new(
            "dial:sample",
            "dial-sample",
            crate::event::EventKind::Ringing,
            chrono::DateTime::UNIX_EPOCH,
        );
        Dial {
            call_id: "dial-sample".into(),
            group: "sample".into(),
            agent,
            extension: "101".into(),
            to: "+14155550123".into(),
            caller_id: Some("+14155550199".into()),
            log: DialLog::NewTicket,
            ticket: None,
            first_event,
        }
    }
}

/// Why a dial was refused: each says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialRefused {
    #[error(
        "{0:?} is not a phone number deskbridge can dial; give it with its country code, e.g. +14155550123"
    )]
    NotANumber(String),
    #[error(
        "your agent entry has no extension, so your phone cannot be rung; give the agent an extension in [[agents]]"
    )]
    NoExtension,
    #[error("log = \"ticket\" needs the ticket_id to log the call on")]
    NoTicket,
    #[error(
        "the group has no dialer; configure [groups.asterisk] agent_channel or [groups.dial_webhook]"
    )]
    NoDialer,
}
