//! The queues a call waited in: kept as facts, read as a history.
//!
//! Phone systems name a call's queue on its events (the native `queue`
//! field, Amazon Connect's queue, Twilio's queue, Asterisk's queue events as
//! the tracker reads them). When a waiting caller is sent on to another queue
//! (an overflow, a timeout, an IVR choice), later events name the new queue.
//! The contact center's figures need that history: each queue the caller
//! waited in, when they joined it and how they left it (answered from it,
//! hung up in it, sent on to the next).
//!
//! Events arrive in any order, so the call keeps only what cannot depend on
//! it: every (queue, time) an event named ([`QueueMention`]), sorted by time.
//! The history ([`Interaction::queue_visits`]) is derived from those and
//! from the answer and the end, each time it is read; a late event that
//! names a queue earlier in the call changes the history as if it had come
//! first.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Interaction, Outcome};

/// The most queue mentions a call keeps: the earliest ones by time, which are
/// the ones the wait is made of (a call's events are few; the bound keeps a
/// chatty sender from growing the stored call).
pub const MAX_QUEUE_MENTIONS: usize = 64;

/// An event of the call named this queue at this time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct QueueMention {
    pub at: DateTime<Utc>,
    pub queue: String,
}

/// How a caller left a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueLeft {
    /// Answered from this queue: the answer ends the wait.
    Answered,
    /// Sent on to the next queue while still waiting.
    Transferred,
    /// The call ended here unanswered (the caller hung up, nobody took it,
    /// voicemail, forwarded elsewhere: the call's outcome says which).
    Ended,
}

/// One stay of the caller in one queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueVisit {
    /// `None`: the phone system named no queue; the caller waited in the
    /// call's group.
    pub queue: Option<String>,
    pub entered_at: DateTime<Utc>,
    /// When the caller left it; `None` while they wait.
    pub left_at: Option<DateTime<Utc>>,
    pub left: Option<QueueLeft>,
}

/// Notes that an event named `queue` at `at`; keeps the mentions sorted and
/// bounded, so the same events give the same list in any order.
pub(super) fn note_queue(mentions: &mut Vec<QueueMention>, queue: &str, at: DateTime<Utc>) {
    let queue = queue.trim();
    if queue.is_empty() {
        return;
    }
    let mention = QueueMention {
        at,
        queue: queue.to_string(),
    };
    if let Err(place) = mentions.binary_search(&mention) {
        mentions.insert(place, mention);
        mentions.truncate(MAX_QUEUE_MENTIONS);
    }
}

impl Interaction {
    /// When the caller started waiting, if no queue says otherwise: the first
    /// ringing, else the call's first event.
    pub fn wait_started_at(&self) -> DateTime<Utc> {
        self.ringing_at.unwrap_or(self.first_at)
    }

    /// When the caller stopped waiting: the answer (any answer: a voicemail
    /// that picks up ends the wait too); for a call reported only as
    /// completed with its talk time, its end less that time; else the end.
    /// `None` while the caller waits.
    pub fn wait_ended_at(&self) -> Option<DateTime<Utc>> {
        if let Some(answered) = self.answered_at {
            return Some(answered);
        }
        let ended = self.ended_at?;
        let answered_at = self
            .duration_s
            .filter(|_| self.outcome() == Some(Outcome::Answered))
            .and_then(|s| chrono::TimeDelta::try_seconds(i64::try_from(s).ok()?))
            .and_then(|talk| ended.checked_sub_signed(talk));
        Some(answered_at.unwrap_or(ended))
    }

    /// The queues the caller waited in, in order, until the answer or the
    /// end; for a call without queue data, one stay in its group (queue
    /// `None`) from its first ringing.
    ///
    /// A queue named first by the event that ended the wait (Asterisk's
    /// tracker names the queue on the answer, not when the caller joined)
    /// did not say when the caller joined it: the first such stay starts with
    /// the call, as if there were no queue data, and a later one at that
    /// moment. A queue named only after the wait (on the hang-up of an
    /// answered call) is the one the caller waited in. Queues named after
    /// the answer besides (a transfer by the agent) are not part of the wait.
    pub fn queue_visits(&self) -> Vec<QueueVisit> {
        let wait_end = self.wait_ended_at();
        let start = self.wait_started_at();
        let mut named: Vec<&QueueMention> = self
            .queue_mentions
            .iter()
            .filter(|m| wait_end.is_none_or(|end| m.at <= end))
            .collect();
        if named.is_empty() {
            named.extend(self.queue_mentions.first());
        }
        let mut visits: Vec<QueueVisit> = Vec::new();
        for m in named {
            if visits.last().and_then(|v| v.queue.as_deref()) == Some(m.queue.as_str()) {
                continue;
            }
            if let Some(last) = visits.last_mut() {
                last.left_at = Some(m.at);
                last.left = Some(QueueLeft::Transferred);
            }
            visits.push(QueueVisit {
                queue: Some(m.queue.clone()),
                entered_at: m.at,
                left_at: None,
                left: None,
            });
        }
        match visits.first_mut() {
            // Joined when the wait ended, or after: the phone system did not
            // say when the caller joined; they waited from the call's start.
            Some(first) if wait_end.is_some_and(|end| first.entered_at >= end) => {
                first.entered_at = first.entered_at.min(start);
            }
            Some(_) => {}
            None => visits.push(QueueVisit {
                queue: None,
                entered_at: start,
                left_at: None,
                left: None,
            }),
        }
        let left = if self.outcome() == Some(Outcome::Answered)
            || (self.ended_at.is_none() && self.answered_at.is_some())
        {
            Some(QueueLeft::Answered)
        } else {
            self.ended_at.map(|_| QueueLeft::Ended)
        };
        if let Some(last) = visits.last_mut()
            && left.is_some()
        {
            last.left_at = wait_end.map(|end| end.max(last.entered_at));
            last.left = left;
        }
        visits
    }

    /// The queue the caller waits in now, if they are still waiting.
    pub fn waiting_in(&self) -> Option<QueueVisit> {
        if self.wait_ended_at().is_some() {
            return None;
        }
        self.queue_visits().pop()
    }
}
