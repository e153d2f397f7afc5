//! The contact center's figures: what each measure means, defined once.
//!
//! A supervisor reads the figures from `GET /api/v1/stats` (and is to read
//! the same on a wallboard and in `/metrics`); if each counted "offered" or
//! "answered in time" its own way they would disagree, and nobody would
//! trust any. So the definitions live here, as functions of an ended call
//! ([`offers`]), and everything else sums what they return
//! ([`contributions`] into [`Totals`] rows per hour, group, queue and agent,
//! rolled up per hour or day by [`Period`]). `docs/operations.md`
//! ("Contact-center figures") says the same in an admin's words.
//!
//! # The measures
//!
//! A call counts once in every queue it waited in (an *offer*), from the
//! queue history its events give ([`Interaction::queue_visits`]); a call
//! without queue data counts in its group (queue `None`).
//!
//! - **Offered**: an inbound call that reached the contact center, once per
//!   queue it joined. Outbound calls, chats, and calls that failed
//!   (network, congestion) or were refused (a blocked caller) are not
//!   offered.
//! - **Answered**: an agent answered the caller from this queue.
//! - **Wait** (speed of answer): from when the caller joined the call's
//!   first queue (without queue data: its first ringing) until the answer.
//!   The whole wait, across queues: a transfer between queues is the
//!   contact center's doing and does not restart the caller's clock.
//! - **Answered within**: answered after a wait of at most
//!   `service_level_seconds` (default 20): "within 20 s" includes 20 s, as
//!   Asterisk's `app_queue` counts a call completed within its
//!   `servicelevel`.
//! - **Abandoned**: the caller hung up while waiting (before any answer),
//!   after waiting at least `short_abandon_seconds`.
//! - **Short abandon**: the caller hung up sooner than
//!   `short_abandon_seconds`; most likely a wrong number or a wrong IVR
//!   choice. Talkdesk's definition ("abandoned on or after the threshold"
//!   is a real abandon; those before it do not count against the service
//!   level).
//! - **Missed**: nobody took the call and the caller did not hang up: it
//!   rang agents and nobody answered, the queue gave up on it, it went to
//!   voicemail, or the line was busy (the outcomes `missed`, `voicemail`,
//!   `busy` of [`crate::Outcome`]). Zendesk Talk's statuses keep the same
//!   line between "abandoned in queue" (the caller's doing) and a call not
//!   answered or sent to voicemail.
//! - **Transferred**: sent on while waiting, to another queue (offered
//!   there again, where its wait ends) or to another destination before
//!   anyone answered (outcome `forwarded`). In a queue, offered = answered +
//!   missed + abandoned + short abandons + transferred.
//! - **Service level**: answered within over offered less short abandons
//!   (Talkdesk Live's "Service Level": answered within the threshold over
//!   inbound contacts less short-abandoned contacts), and less those
//!   transferred: a call sent on is judged once, in the queue where its wait
//!   ended, so a group's service level (the sum of its queues) counts each
//!   call once. 0..1; none when nothing was offered.
//! - **Average speed of answer**: the waits of answered calls over answered
//!   calls. **Average talk time**: talk time (the reported duration, else
//!   answer to hang-up) of answered calls over answered calls.
//!
//! An offer counts in the hour (UTC) its caller joined the queue and under
//! the agent who answered it (`None` when nobody did).

mod intervals;
mod measures;
mod report;
mod totals;

/// The thresholds are the group's policy, carried on each call's plan.
pub use crate::policy::Thresholds;
pub use intervals::{Interval, MAX_INTERVALS, Period, StatsError};
pub use measures::{Ending, QueueOffer, agent_key, is_offered, offers};
pub use report::{CSV_HEADER, IntervalFigures, StatsReport};
pub use totals::{Totals, TotalsKey, contributions, revise};

#[cfg(doc)]
use crate::interaction::Interaction;

#[cfg(test)]
mod tests;
