//! Callbacks, decided: which callback a call opens, folds into or closes
//! ([`follow`]), and what an agent may do to one ([`claim`], [`release`],
//! [`close_by_agent`]). The vocabulary is `crate::callback`, where the loop is
//! described.

use chrono::{DateTime, Utc};

use crate::callback::{
    Callback, CallbackMark, Claim, CloseReason, Closing, MAX_REASON_CHARS, Refused,
};
use crate::dial::DIAL_FAILURE_ATTRIBUTE;
use crate::event::Direction;
use crate::interaction::{Interaction, Outcome};

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
        // A dial that never rang the customer (the agent's phone failed).
        (Direction::Outbound, Some(_)) if call.attributes.contains_key(DIAL_FAILURE_ATTRIBUTE) => {
            nothing()
        }
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

#[cfg(test)]
pub(crate) mod tests;
