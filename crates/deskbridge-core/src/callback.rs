//! The missed-call callback loop, decided.
//!
//! A caller nobody answered is owed a call back. Contact centers keep one
//! *callback* per number and group: every further missed call from the number
//! folds into it (a count, the first and last missed time), an agent claims it
//! so that two agents do not ring the same customer, and it closes by itself
//! once the customer is reached, whichever way: an agent's call out to the
//! number is answered, or the customer calls in again and an agent answers.
//! After [`CallbackRules::attempts`] unanswered tries it closes as unreached; an
//! agent may also close it with a reason.
//!
//! This module is the vocabulary (a leaf: `Interaction` carries a
//! [`CallbackMark`], a call's plan its [`CallbackRules`]); the decisions are in
//! `crate::decide::callback`. No I/O: the store reads the number's open
//! callback inside the transaction that saves the call, asks `follow` what the
//! call does to it, writes the answer with the call and keeps the
//! [`CallbackMark`] on the call, so that a call acts on its number's callback
//! once however often it is saved. Claims and closes by an agent are decided by
//! `claim`, `release` and `close_by_agent`, and written only over the version
//! they were decided on.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::agent::AgentRef;
use crate::event::Direction;

/// A group's callback rules (`callbacks`, `callback_within_minutes`,
/// `callback_attempts`), kept on each call's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CallbackRules {
    /// Missed calls open callbacks in this group.
    pub enabled: bool,
    /// The group's target: a callback should be closed this many minutes after
    /// the first missed call.
    pub within_minutes: u32,
    /// Unanswered calls out to the number before the callback closes as
    /// unreached.
    pub attempts: u32,
}

impl Default for CallbackRules {
    fn default() -> Self {
        CallbackRules {
            enabled: true,
            within_minutes: 60,
            attempts: 3,
        }
    }
}

/// How long a claim keeps other agents off a callback: an agent who claimed
/// one and walked away does not hold it for the rest of the day.
pub const CLAIM_MINUTES: i64 = 30;

/// Longest reason an agent may give for closing a callback.
pub const MAX_REASON_CHARS: usize = 500;

/// One callback: a number in a group that missed calls and has not been
/// reached since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Callback {
    /// The store's id (0 until it is first written).
    pub id: i64,
    pub group: String,
    /// The customer's number, E.164.
    pub phone: String,
    /// The queue of the last missed call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Missed calls folded into it.
    pub missed: u32,
    pub first_missed_at: DateTime<Utc>,
    pub last_missed_at: DateTime<Utc>,
    /// The last missed call: the callback's ticket is the one it was logged on.
    pub last_call_id: String,
    /// Unanswered calls out to the number so far.
    pub attempts: u32,
    /// The rules it was opened under.
    pub rules: CallbackRules,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<Claim>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<Closing>,
}

/// Who is calling the customer back.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The agent's email, as signed in.
    pub agent: String,
    /// Their name, for the colleague who sees the claim.
    pub name: String,
    pub at: DateTime<Utc>,
}

/// How and when a callback closed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closing {
    pub at: DateTime<Utc>,
    pub reason: CloseReason,
    /// The call that closed it (reached or the last unanswered try).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
}

/// Why a callback closed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CloseReason {
    /// An agent talked to the customer: on a call out (`outbound`) or when the
    /// customer called again (`inbound`).
    Reached {
        direction: Direction,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent: Option<AgentRef>,
    },
    /// `attempts` calls out went unanswered.
    Unreached { attempts: u32 },
    /// An agent closed it, saying why.
    ByAgent { agent: String, reason: String },
}

impl Callback {
    pub fn is_open(&self) -> bool {
        self.closed.is_none()
    }

    /// When the group's target says it should be closed.
    pub fn due_at(&self) -> DateTime<Utc> {
        self.first_missed_at + Duration::minutes(i64::from(self.rules.within_minutes))
    }

    /// Reached by the group's target (`callback_within_minutes`); `None` while
    /// open or when closed another way.
    pub fn reached_within_target(&self) -> Option<bool> {
        match &self.closed {
            Some(Closing {
                at,
                reason: CloseReason::Reached { .. },
                ..
            }) => Some(*at <= self.due_at()),
            _ => None,
        }
    }

    /// The agent whose claim still holds at `now`.
    pub fn holder(&self, now: DateTime<Utc>) -> Option<&Claim> {
        self.claim
            .as_ref()
            .filter(|c| now - c.at < Duration::minutes(CLAIM_MINUTES))
    }
}

/// What a call did to its number's callback, kept on the call: the call acts
/// once, and its comment says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum CallbackMark {
    /// Nothing to do (an answered call with no callback open, a forwarded call).
    None,
    /// This missed call opened callback `id`.
    Opened { id: i64 },
    /// This missed call folded into callback `id`, now at `missed` calls.
    Folded { id: i64, missed: u32 },
    /// This answered call closed callback `id`: the customer was reached after
    /// `missed` missed calls, the first at `first_missed_at`.
    Reached {
        id: i64,
        missed: u32,
        first_missed_at: DateTime<Utc>,
    },
    /// This call out went unanswered: try `attempt` of `of`.
    Attempt { id: i64, attempt: u32, of: u32 },
    /// This call out was the last unanswered try: the callback closed unreached.
    Unreached { id: i64, attempts: u32 },
}

impl CallbackMark {
    /// The mark with the callback's id as stored (a new callback gets its id
    /// when it is written).
    pub fn with_id(self, stored: i64) -> CallbackMark {
        match self {
            CallbackMark::None => CallbackMark::None,
            CallbackMark::Opened { .. } => CallbackMark::Opened { id: stored },
            CallbackMark::Folded { missed, .. } => CallbackMark::Folded { id: stored, missed },
            CallbackMark::Reached {
                missed,
                first_missed_at,
                ..
            } => CallbackMark::Reached {
                id: stored,
                missed,
                first_missed_at,
            },
            CallbackMark::Attempt { attempt, of, .. } => CallbackMark::Attempt {
                id: stored,
                attempt,
                of,
            },
            CallbackMark::Unreached { attempts, .. } => CallbackMark::Unreached {
                id: stored,
                attempts,
            },
        }
    }
}

/// Why an agent's action on a callback was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the callback is closed already")]
    Closed,
    #[error("{name} is calling this customer back (claimed at {at}); wait until they finish")]
    HeldBy { name: String, at: DateTime<Utc> },
    #[error("you have not claimed this callback; claim it first")]
    NotYours,
    #[error("give a reason for closing the callback (1 to {MAX_REASON_CHARS} characters)")]
    Reason,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::Reached { direction, .. } => write!(f, "reached ({direction})"),
            CloseReason::Unreached { attempts } => {
                write!(f, "unreached after {attempts} attempts")
            }
            CloseReason::ByAgent { agent, reason } => write!(f, "closed by {agent}: {reason}"),
        }
    }
}
