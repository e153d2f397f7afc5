//! A callback's writes as CRM triggers hear them. The missed-call loop's record
//! (`crate::callback`) is kept by deskbridge itself, whatever the group's
//! backend, so it is an entity of every group's triggers. The store writes a
//! callback in two places, a call acting on it inside the journal's
//! transaction and an agent's claim, release or close written over its
//! version; in that same transaction it asks here which change the write is
//! ([`callback_action`]) and what its notification says ([`callback_change`]).
//!
//! What a receiver gets as `data` is [`CallbackShown`], the callback as
//! `GET /api/v1/callbacks` shows it (one type for both, so a receiver reads
//! either with the same code), less what depends on the reader's clock
//! (`overdue`, `age_seconds`: a notification delivered after its retries would
//! carry them stale, and `due_at` and `first_missed_at` say the same). Not the
//! stored `Callback`: its `rules` and `last_call_id` are deskbridge's own
//! bookkeeping, while a receiver wants the ticket and the contact to call back
//! about, and the claim only while it holds.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Action, Change, Entity, Ids};
use crate::callback::{Callback, Claim, Closing};

/// The records a callback's last missed call was logged on, as the store has
/// them. A missed call's ticket and contact are made by its steps after it
/// ended, so a callback just opened (or just folded) usually has neither yet;
/// by the time it is claimed or closed, its last call's ticket is known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastCall {
    pub ticket_id: Option<String>,
    pub contact_id: Option<String>,
}

/// A callback as the API and its trigger notifications show it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallbackShown {
    pub id: i64,
    pub group: String,
    /// The customer's number, E.164.
    pub phone: String,
    pub queue: Option<String>,
    /// Missed calls from the number since it was last reached.
    pub missed: u32,
    pub first_missed_at: DateTime<Utc>,
    pub last_missed_at: DateTime<Utc>,
    /// The ticket the last missed call was logged on (dial with it).
    pub ticket_id: Option<String>,
    /// The contact the last missed call was logged for.
    pub contact_id: Option<String>,
    /// Unanswered calls out so far, and how many close it as unreached.
    pub attempts: u32,
    pub attempts_allowed: u32,
    /// When the group's target (`callback_within_minutes`) says it should be
    /// closed.
    pub due_at: DateTime<Utc>,
    /// Who is calling back, while their claim holds.
    pub claim: Option<Claim>,
    pub closed: Option<Closing>,
}

impl CallbackShown {
    /// `cb` as it stands at `at`, with the records of its last missed call.
    pub fn new(cb: &Callback, last: &LastCall, at: DateTime<Utc>) -> CallbackShown {
        CallbackShown {
            id: cb.id,
            group: cb.group.clone(),
            phone: cb.phone.clone(),
            queue: cb.queue.clone(),
            missed: cb.missed,
            first_missed_at: cb.first_missed_at,
            last_missed_at: cb.last_missed_at,
            ticket_id: last.ticket_id.clone(),
            contact_id: last.contact_id.clone(),
            attempts: cb.attempts,
            attempts_allowed: cb.rules.attempts,
            due_at: cb.due_at(),
            // A lapsed claim, or one left on a closed callback, holds nobody.
            claim: cb.holder(at).cloned().filter(|_| cb.is_open()),
            closed: cb.closed.clone(),
        }
    }
}

/// Which change writing `decided` is, `decided` being the callback as the core
/// decided it (a call's `decide::callback::follow`, an agent's `claim`,
/// `release` or `close_by_agent`): one without an id yet is new, inserted by
/// this write (a missed call opened it); any other write edits a kept one (a
/// missed call folded into it, an unanswered call out counted, a claim or a
/// release, a close of any kind). Never a delete: callbacks are kept once
/// closed.
pub fn callback_action(decided: &Callback) -> Action {
    if decided.id == 0 {
        Action::Create
    } else {
        Action::Edit
    }
}

/// The change writing `decided` made, once the store gave it `stored_id`,
/// announced at `at` with the records of its last missed call. Its ids: the
/// callback, its ticket as `CaseID`, its contact as `AccountID`; it is
/// ordered by the callback (`callback:{id}`), so a receiver hears a
/// callback's changes in the order they were written.
pub fn callback_change(
    decided: &Callback,
    stored_id: i64,
    last: &LastCall,
    at: DateTime<Utc>,
) -> Result<Change, serde_json::Error> {
    let shown = CallbackShown {
        id: stored_id,
        ..CallbackShown::new(decided, last, at)
    };
    Ok(Change {
        entity: Entity::Callback,
        action: callback_action(decided),
        ids: Ids {
            account: last.contact_id.clone(),
            case: last.ticket_id.clone(),
            callback: Some(stored_id.to_string()),
            ..Ids::default()
        },
        data: serde_json::to_value(shown)?,
        at,
    })
}

#[cfg(test)]
mod tests;
