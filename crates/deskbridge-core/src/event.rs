//! A call event after translation: whatever protocol it came in by (native JSON,
//! Zammad CTI, Twilio, Amazon Connect), the engine sees only [`CallEvent`].

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::agent::AgentRef;
use crate::conversation::Conversation;
use crate::phone::Phone;
use crate::wrap_up::WrapUp;

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
    /// The agent's wrap-up of the call: the event's `wrap_up`
    /// (`POST /api/v1/calls/{id}/wrap_up`).
    WrapUp,
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

/// How a call ended, from the contact center's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Answered,
    Missed,
    Voicemail,
    Busy,
    Abandoned,
    Failed,
    /// Sent on to another destination before anyone here answered: not missed.
    Forwarded,
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Missed => "missed",
            Outcome::Voicemail => "voicemail",
            Outcome::Busy => "busy",
            Outcome::Abandoned => "abandoned",
            Outcome::Failed => "failed",
            Outcome::Forwarded => "forwarded",
        }
    }

    /// Nobody talked to the caller.
    pub fn is_unanswered(&self) -> bool {
        !matches!(self, Outcome::Answered)
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
    pub conversation: Option<Box<Conversation>>,
    /// The wrap-up a [`EventKind::WrapUp`] event carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrap_up: Option<Box<WrapUp>>,
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
            wrap_up: None,
        }
    }
}
