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
//! No I/O here: the store reads the number's open callback inside the
//! transaction that saves the call, asks [`follow`] what the call does to it,
//! writes the answer with the call and keeps the [`CallbackMark`] on the call, so
//! that a call acts on its number's callback once however often it is saved.
//! Claims and closes by an agent are decided by [`claim`], [`release`] and
//! [`close_by_agent`], and written only over the version they were decided on.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::agent::AgentRef;
use crate::event::Direction;
use crate::interaction::{Interaction, Outcome};

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

/// What the store writes for a call: the callback (a new one when its id is 0)
/// and the call's mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Followed {
    pub callback: Option<Callback>,
    pub mark: CallbackMark,
}

/// The number whose callback the call may act on, when it may act now: a call
/// (not a chat) in a group with callbacks, from or to an E.164 number, that has
/// not acted yet and has been answered or has ended.
pub fn concerns(call: &Interaction) -> Option<&str> {
    if call.callback.is_some() || call.is_chat() || !call.plan.callbacks.enabled {
        return None;
    }
    if call.answered_at.is_none() && call.ended_at.is_none() {
        return None;
    }
    call.customer_phone()?.e164()
}

/// What the call does to its number's open callback (`open`, read under the
/// number's lock): answered, it closes it as reached; a missed call in opens one
/// or folds into it; an unanswered call out is one more attempt, the last one
/// closing it as unreached. `None` when the call does not concern callbacks
/// ([`concerns`]).
pub fn follow(call: &Interaction, open: Option<&Callback>) -> Option<Followed> {
    let phone = concerns(call)?;
    let open = open.filter(|c| c.is_open());
    if let Some(answered_at) = call.answered_at {
        return Some(match open {
            Some(cb) => {
                let mut cb = cb.clone();
                cb.closed = Some(Closing {
                    at: answered_at,
                    reason: CloseReason::Reached {
                        direction: call.direction,
                        agent: call.agents.first().cloned(),
                    },
                    call_id: Some(call.call_id.clone()),
                });
                let mark = CallbackMark::Reached {
                    id: cb.id,
                    missed: cb.missed,
                    first_missed_at: cb.first_missed_at,
                };
                Followed {
                    callback: Some(cb),
                    mark,
                }
            }
            None => nothing(),
        });
    }
    let ended_at = call.ended_at?;
    let outcome = call.outcome()?;
    Some(match (call.direction, open) {
        (Direction::Inbound, _) if !call.is_missed() => nothing(),
        (Direction::Inbound, None) => {
            let cb = Callback {
                id: 0,
                group: call.group.clone(),
                phone: phone.to_string(),
                queue: call.queue.clone(),
                missed: 1,
                first_missed_at: missed_at(call, ended_at),
                last_missed_at: missed_at(call, ended_at),
                last_call_id: call.call_id.clone(),
                attempts: 0,
                rules: call.plan.callbacks,
                claim: None,
                closed: None,
            };
            Followed {
                callback: Some(cb),
                mark: CallbackMark::Opened { id: 0 },
            }
        }
        (Direction::Inbound, Some(cb)) => {
            let mut cb = cb.clone();
            let at = missed_at(call, ended_at);
            cb.missed += 1;
            cb.first_missed_at = cb.first_missed_at.min(at);
            if at >= cb.last_missed_at {
                cb.last_missed_at = at;
                cb.last_call_id = call.call_id.clone();
                if call.queue.is_some() {
                    cb.queue = call.queue.clone();
                }
            }
            let mark = CallbackMark::Folded {
                id: cb.id,
                missed: cb.missed,
            };
            Followed {
                callback: Some(cb),
                mark,
            }
        }
        (Direction::Outbound, None) => nothing(),
        (Direction::Outbound, Some(_)) if outcome == Outcome::Forwarded => nothing(),
        (Direction::Outbound, Some(cb)) => {
            let mut cb = cb.clone();
            cb.attempts += 1;
            let of = cb.rules.attempts.max(1);
            let mark = if cb.attempts >= of {
                cb.closed = Some(Closing {
                    at: ended_at,
                    reason: CloseReason::Unreached {
                        attempts: cb.attempts,
                    },
                    call_id: Some(call.call_id.clone()),
                });
                CallbackMark::Unreached {
                    id: cb.id,
                    attempts: cb.attempts,
                }
            } else {
                CallbackMark::Attempt {
                    id: cb.id,
                    attempt: cb.attempts,
                    of,
                }
            };
            Followed {
                callback: Some(cb),
                mark,
            }
        }
    })
}

fn nothing() -> Followed {
    Followed {
        callback: None,
        mark: CallbackMark::None,
    }
}

/// When a missed call counts as missed: when it rang, else when it started.
fn missed_at(call: &Interaction, ended_at: DateTime<Utc>) -> DateTime<Utc> {
    call.ringing_at.unwrap_or(call.first_at).min(ended_at)
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

/// Whether `agent` may act on the callback now: it is open and no colleague's
/// claim holds.
fn open_to(cb: &Callback, agent: &str, now: DateTime<Utc>) -> Result<(), Refused> {
    if !cb.is_open() {
        return Err(Refused::Closed);
    }
    match cb.holder(now) {
        Some(held) if !held.agent.eq_ignore_ascii_case(agent) => Err(Refused::HeldBy {
            name: held.name.clone(),
            at: held.at,
        }),
        _ => Ok(()),
    }
}

/// `agent` (email) claims the callback: refused while it is closed or a
/// colleague's claim holds ([`CLAIM_MINUTES`]); claiming one's own again renews
/// it.
pub fn claim(
    cb: &Callback,
    agent: &str,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Callback, Refused> {
    open_to(cb, agent, now)?;
    let mut cb = cb.clone();
    cb.claim = Some(Claim {
        agent: agent.to_string(),
        name: name.to_string(),
        at: now,
    });
    Ok(cb)
}

/// The claimant gives the callback back to the group.
pub fn release(cb: &Callback, agent: &str) -> Result<Callback, Refused> {
    if !cb.is_open() {
        return Err(Refused::Closed);
    }
    match &cb.claim {
        Some(c) if c.agent.eq_ignore_ascii_case(agent) => {
            let mut cb = cb.clone();
            cb.claim = None;
            Ok(cb)
        }
        _ => Err(Refused::NotYours),
    }
}

/// An agent closes the callback with a reason (the customer wrote in, a wrong
/// number): allowed to whoever holds it, or anyone while nobody does.
pub fn close_by_agent(
    cb: &Callback,
    agent: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Callback, Refused> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(Refused::Reason);
    }
    open_to(cb, agent, now)?;
    let mut cb = cb.clone();
    cb.closed = Some(Closing {
        at: now,
        reason: CloseReason::ByAgent {
            agent: agent.to_string(),
            reason: reason.to_string(),
        },
        call_id: None,
    });
    Ok(cb)
}

/// The line a call's comment carries about the callback it acted on.
pub fn comment_line(call: &Interaction) -> Option<String> {
    let at = |t: DateTime<Utc>| t.format("%H:%M UTC").to_string();
    let calls = |n: u32| match n {
        1 => "1 missed call".to_string(),
        n => format!("{n} missed calls"),
    };
    match call.callback.as_ref()? {
        CallbackMark::Reached { missed, .. } => {
            let who = call
                .agents
                .first()
                .map_or_else(|| "an agent".to_string(), AgentRef::label);
            let when = at(call.answered_at?);
            Some(match call.direction {
                Direction::Outbound => {
                    format!(
                        "Called back by {who} at {when}, reached after {}",
                        calls(*missed)
                    )
                }
                Direction::Inbound => format!(
                    "Callback closed: the customer called again and {who} answered at {when}, after {}",
                    calls(*missed)
                ),
            })
        }
        CallbackMark::Attempt { attempt, of, .. } => {
            Some(format!("Callback attempt {attempt} of {of}: not reached"))
        }
        CallbackMark::Unreached { attempts, .. } => Some(format!(
            "Callback closed unreached after {attempts} unanswered calls"
        )),
        CallbackMark::Folded { missed, .. } => Some(format!(
            "Callback pending: {} from this number",
            calls(*missed)
        )),
        CallbackMark::Opened { .. } => Some("Callback opened for this number".to_string()),
        CallbackMark::None => None,
    }
}

/// One group's callbacks as `/metrics` reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupSummary {
    pub open: u64,
    /// Seconds since the first missed call of the oldest open callback.
    pub oldest_open_seconds: i64,
    pub reached_within_target: u64,
    pub reached_late: u64,
    pub unreached: u64,
    pub closed_by_agent: u64,
}

/// Sums the callbacks (open ones and those closed lately) per group.
pub fn summarize(
    callbacks: &[Callback],
    now: DateTime<Utc>,
) -> std::collections::BTreeMap<String, GroupSummary> {
    let mut by_group = std::collections::BTreeMap::<String, GroupSummary>::new();
    for cb in callbacks {
        let s = by_group.entry(cb.group.clone()).or_default();
        match cb.closed.as_ref().map(|c| &c.reason) {
            None => {
                s.open += 1;
                s.oldest_open_seconds = s
                    .oldest_open_seconds
                    .max((now - cb.first_missed_at).num_seconds().max(0));
            }
            Some(CloseReason::Reached { .. }) => match cb.reached_within_target() {
                Some(true) => s.reached_within_target += 1,
                _ => s.reached_late += 1,
            },
            Some(CloseReason::Unreached { .. }) => s.unreached += 1,
            Some(CloseReason::ByAgent { .. }) => s.closed_by_agent += 1,
        }
    }
    by_group
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

#[cfg(test)]
mod tests;
