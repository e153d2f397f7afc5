//! What one ended call counts for, in each queue it waited in: every measure
//! of the contact center's figures is defined here, once.
//!
//! `GET /api/v1/stats` counts from [`offers`], and so must anything else
//! that shows these figures (a wallboard, `/metrics`), so they cannot disagree about what "offered" or "answered in
//! time" means. The definitions, and where they come from, are in the
//! module's documentation ([`crate::stats`]) and in `docs/operations.md`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::agent::AgentRef;
use crate::event::{Direction, Outcome};
use crate::interaction::{Interaction, QueueLeft};
use crate::policy::Thresholds;

/// How a call's stay in one queue counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// An agent answered the caller from this queue.
    Answered,
    /// The caller hung up while waiting here, after waiting at least
    /// `short_abandon_seconds`.
    Abandoned,
    /// The caller hung up while waiting, sooner than `short_abandon_seconds`.
    ShortAbandoned,
    /// Nobody took the call and the caller did not hang up: it rang agents
    /// nobody answered, the queue gave up on it, it went to voicemail, or
    /// the line was busy.
    Missed,
    /// The caller was sent on while waiting: to another queue (where the
    /// call is offered again and ends), or forwarded to another destination
    /// before anyone here answered. Counted where the wait ended, not here.
    Transferred,
}

/// One offer of a call to one queue: what the call counts for there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueOffer {
    /// `None`: the call came without queue data and counts in its group.
    pub queue: Option<String>,
    /// Who answered it ([`agent_key`]), for an answered offer.
    pub agent: Option<String>,
    /// When the caller joined the queue: the interval the offer counts in.
    pub offered_at: DateTime<Utc>,
    pub ending: Ending,
    /// The caller's wait until this queue answered them, hung up, or gave up
    /// on them, from when they joined the call's first queue (their whole
    /// wait: a transfer between queues does not restart the caller's clock),
    /// in milliseconds.
    pub wait_ms: i64,
    /// Answered after waiting at most `service_level_seconds`.
    pub answered_within: bool,
    /// The talk time of an answered offer (answer to hang-up), in
    /// milliseconds; 0 otherwise.
    pub talk_ms: i64,
}

/// The key an agent's figures are kept under: their email (lowercased),
/// else their extension, else their name as the phone system gave it.
pub fn agent_key(agent: &AgentRef) -> Option<String> {
    let clean = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    clean(&agent.email)
        .map(|e| e.to_ascii_lowercase())
        .or_else(|| clean(&agent.extension))
        .or_else(|| clean(&agent.name))
}

/// Whether an ended call is one the contact center was offered: an inbound
/// call (not a chat) that reached it. An outbound call is the agent's own;
/// a call that failed (network, congestion) or was refused (a blocked
/// caller) never reached a queue.
pub fn is_offered(call: &Interaction) -> bool {
    call.direction == Direction::Inbound
        && !call.is_chat()
        && !matches!(call.outcome(), None | Some(Outcome::Failed))
}

/// What an ended call counts for, one offer per stay in a queue, in order;
/// nothing for a call not offered ([`is_offered`]) or not over.
pub fn offers(call: &Interaction, thresholds: &Thresholds) -> Vec<QueueOffer> {
    if !is_offered(call) {
        return Vec::new();
    }
    let Some(outcome) = call.outcome() else {
        return Vec::new();
    };
    let visits = call.queue_visits();
    let Some(clock) = visits.first().map(|v| v.entered_at) else {
        return Vec::new();
    };
    let waited =
        |until: Option<DateTime<Utc>>| until.map_or(0, |at| (at - clock).num_milliseconds().max(0));
    let in_time_ms = millis(thresholds.service_level_seconds);
    let short_ms = millis(thresholds.short_abandon_seconds);
    visits
        .iter()
        .map(|visit| {
            let wait_ms = waited(visit.left_at);
            let ending = match (visit.left, outcome) {
                (Some(QueueLeft::Transferred), _) => Ending::Transferred,
                (_, Outcome::Answered) => Ending::Answered,
                (_, Outcome::Abandoned) if wait_ms < short_ms => Ending::ShortAbandoned,
                (_, Outcome::Abandoned) => Ending::Abandoned,
                (_, Outcome::Forwarded) => Ending::Transferred,
                // `Failed` is not offered (`is_offered`).
                (_, Outcome::Missed | Outcome::Voicemail | Outcome::Busy | Outcome::Failed) => {
                    Ending::Missed
                }
            };
            let answered = ending == Ending::Answered;
            QueueOffer {
                queue: visit.queue.clone(),
                agent: call.agents.first().filter(|_| answered).and_then(agent_key),
                offered_at: visit.entered_at,
                ending,
                wait_ms,
                answered_within: answered && wait_ms <= in_time_ms,
                talk_ms: if answered { talk_ms(call) } else { 0 },
            }
        })
        .collect()
}

/// Talk time in milliseconds: the reported `duration_s`, else from the
/// answer to the hang-up.
fn talk_ms(call: &Interaction) -> i64 {
    if let Some(secs) = call.duration_s {
        return i64::try_from(secs).map_or(0, |s| s.saturating_mul(1000));
    }
    match (call.answered_at, call.ended_at) {
        (Some(start), Some(end)) => (end - start).num_milliseconds().max(0),
        _ => 0,
    }
}

/// Seconds as milliseconds; a threshold too large to count in is never
/// reached, not an overflow.
fn millis(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}
