//! A call event after translation: whatever protocol it came in by (native JSON,
//! Zammad CTI, Twilio, Amazon Connect), the engine sees only [`CallEvent`].

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::phone::Phone;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Ringing,
    Answered,
    Ended,
    Recording,
    Voicemail,
    /// A closed chat, whole: the event's `conversation` (a chat's only event).
    Conversation,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        })
    }
}

/// Why a call ended, as the phone system reports it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    Completed,
    NoAnswer,
    Busy,
    Abandoned,
    Failed,
    Rejected,
    /// Left before anyone answered, to another destination (a forward, a
    /// follow-me): handled elsewhere, not missed.
    Forwarded,
}

/// The agent who answered (or was offered) the call, as the phone system knows
/// them. Any of the three may be missing; the agents directory maps them to a
/// helpdesk agent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
}

impl AgentRef {
    pub fn is_empty(&self) -> bool {
        self.email.is_none() && self.name.is_none() && self.extension.is_none()
    }

    /// The same person, judged by whichever identifiers both sides carry.
    pub fn same_as(&self, other: &AgentRef) -> bool {
        fn eq(a: &Option<String>, b: &Option<String>) -> Option<bool> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.eq_ignore_ascii_case(b)),
                _ => None,
            }
        }
        eq(&self.email, &other.email)
            .or_else(|| eq(&self.extension, &other.extension))
            .or_else(|| eq(&self.name, &other.name))
            .unwrap_or(false)
    }

    /// A short label for comments and logs: name, else email, else extension.
    pub fn label(&self) -> String {
        match (&self.name, &self.email, &self.extension) {
            (Some(n), Some(e), _) => format!("{n} <{e}>"),
            (Some(n), None, Some(x)) => format!("{n} (ext. {x})"),
            (Some(n), None, None) => n.clone(),
            (None, Some(e), _) => e.clone(),
            (None, None, Some(x)) => format!("ext. {x}"),
            (None, None, None) => "unknown agent".to_string(),
        }
    }
}

/// One event of one call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallEvent {
    /// Unique per event; a repeated id is acknowledged and ignored.
    pub id: String,
    pub call_id: String,
    pub kind: EventKind,
    pub direction: Option<Direction>,
    pub from: Option<Phone>,
    pub to: Option<Phone>,
    pub at: DateTime<Utc>,
    pub agent: Option<AgentRef>,
    pub queue: Option<String>,
    pub attributes: BTreeMap<String, String>,
    pub reason: Option<EndReason>,
    pub duration_s: Option<u64>,
    pub recording_url: Option<String>,
    pub transcript: Option<String>,
    /// The conversation a [`EventKind::Conversation`] event carries (boxed: calls
    /// have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<Box<crate::chat::Conversation>>,
}

impl CallEvent {
    /// An event with only its identity, kind and time; the rest is filled in by
    /// whoever builds it (an adapter, a test).
    pub fn new(
        id: impl Into<String>,
        call_id: impl Into<String>,
        kind: EventKind,
        at: DateTime<Utc>,
    ) -> CallEvent {
        CallEvent {
            id: id.into(),
            call_id: call_id.into(),
            kind,
            direction: None,
            from: None,
            to: None,
            at,
            agent: None,
            queue: None,
            attributes: BTreeMap::new(),
            reason: None,
            duration_s: None,
            recording_url: None,
            transcript: None,
            conversation: None,
        }
    }
}
