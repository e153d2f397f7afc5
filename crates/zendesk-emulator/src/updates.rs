//! What can happen to a ticket update besides success, as real Zendesk does it:
//!
//! - **409 `DatabaseConflict`** ("Database collision"): two writes to one ticket
//!   met; nothing was applied. Zendesk's own clients retry it (zenpy issue #58,
//!   zendesk_api_client_php issue #314, tap-zendesk PR #107).
//! - **Applied, then 502**: the change is made but the answer is lost between
//!   Zendesk and the client (a gateway error or a timeout after the write). A
//!   client that retries the update blindly writes it twice.
//! - **The per-ticket update limit**: "30 updates per 10 minutes per user per
//!   ticket" on `PUT /api/v2/tickets/{id}` (Zendesk's "Rate limits" page,
//!   endpoint rate limits), answered with 429 and `Retry-After` while the rest of
//!   the account is served.
//! - **The account's update limit**: "Update Ticket" also allows 100 requests a
//!   minute per account (300 with the High Volume add-on; same page, and Zendesk
//!   help article 8638126078234), whichever tickets they update.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// A failure queued for the next update of a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateFault {
    /// 409 `DatabaseConflict`, nothing applied.
    Conflict,
    /// The update is applied, then answered 502.
    AppliedThenBadGateway,
}

/// Zendesk's documented per-ticket update limit.
pub const TICKET_UPDATES_PER_WINDOW: u32 = 30;
pub const TICKET_UPDATE_WINDOW: Duration = Duration::from_secs(600);
/// Zendesk's documented account-wide update limit.
pub const ACCOUNT_UPDATES_PER_MINUTE: u32 = 100;

#[derive(Debug)]
pub(crate) struct TicketUpdates {
    /// `None`: the fault applies to the next update of any ticket.
    faults: VecDeque<(Option<u64>, UpdateFault)>,
    limit: Option<(u32, Duration)>,
    recent: HashMap<u64, VecDeque<Instant>>,
    account_limit: Option<(u32, Duration)>,
    account_recent: VecDeque<Instant>,
    /// Ticket creates to apply (and remember under their idempotency key) and
    /// then answer 502, as a create whose answer was lost.
    pub(crate) creates_lost: usize,
    /// Call records to store and then answer 502 (a lost answer).
    pub(crate) calls_lost: usize,
}

impl Default for TicketUpdates {
    fn default() -> TicketUpdates {
        TicketUpdates {
            faults: VecDeque::new(),
            limit: Some((TICKET_UPDATES_PER_WINDOW, TICKET_UPDATE_WINDOW)),
            recent: HashMap::new(),
            account_limit: Some((ACCOUNT_UPDATES_PER_MINUTE, Duration::from_secs(60))),
            account_recent: VecDeque::new(),
            creates_lost: 0,
            calls_lost: 0,
        }
    }
}

/// Drops what left the window; `Err(seconds)` when `recent` has no room for one
/// more under `limit`.
fn room(
    recent: &mut VecDeque<Instant>,
    (limit, window): (u32, Duration),
    now: Instant,
) -> Result<(), u64> {
    while recent
        .front()
        .is_some_and(|at| now.saturating_duration_since(*at) >= window)
    {
        recent.pop_front();
    }
    if recent.len() >= limit as usize {
        let oldest = recent.front().copied().unwrap_or(now);
        let wait = window.saturating_sub(now.saturating_duration_since(oldest));
        return Err(wait.as_secs_f64().ceil().max(1.0) as u64);
    }
    Ok(())
}

impl TicketUpdates {
    pub(crate) fn queue(&mut self, ticket: Option<u64>, fault: UpdateFault, count: usize) {
        for _ in 0..count {
            self.faults.push_back((ticket, fault));
        }
    }

    pub(crate) fn set_limit(&mut self, limit: Option<(u32, Duration)>) {
        self.limit = limit;
        self.recent.clear();
    }

    pub(crate) fn set_account_limit(&mut self, limit: Option<(u32, Duration)>) {
        self.account_limit = limit;
        self.account_recent.clear();
    }

    pub(crate) fn clear(&mut self) {
        self.faults.clear();
        self.recent.clear();
        self.account_recent.clear();
        self.creates_lost = 0;
        self.calls_lost = 0;
    }

    /// The fault for this update of `ticket`, if one is queued for it.
    pub(crate) fn take_fault(&mut self, ticket: u64) -> Option<UpdateFault> {
        let at = self
            .faults
            .iter()
            .position(|(t, _)| t.is_none_or(|t| t == ticket))?;
        self.faults.remove(at).map(|(_, fault)| fault)
    }

    /// Counts an update of `ticket`; `Err(seconds)` when it is over the limit, to
    /// be answered 429 with that `Retry-After`. A refused update is not counted.
    pub(crate) fn admit(&mut self, ticket: u64, now: Instant) -> Result<(), u64> {
        if let Some(limit) = self.limit {
            room(self.recent.entry(ticket).or_default(), limit, now)?;
        }
        if let Some(limit) = self.account_limit {
            room(&mut self.account_recent, limit, now)?;
        }
        if self.limit.is_some() {
            self.recent.entry(ticket).or_default().push_back(now);
        }
        if self.account_limit.is_some() {
            self.account_recent.push_back(now);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_101st_update_in_a_minute_is_refused_whichever_ticket_it_updates() {
        let mut updates = TicketUpdates::default();
        let start = Instant::now();
        for ticket in 0..100 {
            assert_eq!(updates.admit(ticket, start), Ok(()));
        }
        let later = start + Duration::from_secs(20);
        assert_eq!(updates.admit(500, later), Err(40), "a ticket never updated");
        assert_eq!(
            updates.admit(500, start + Duration::from_secs(60)),
            Ok(()),
            "the minute has passed"
        );
    }

    #[test]
    fn the_thirty_first_update_in_ten_minutes_is_refused_for_that_ticket_only() {
        let mut updates = TicketUpdates::default();
        let start = Instant::now();
        for _ in 0..30 {
            assert_eq!(updates.admit(1, start), Ok(()));
        }
        assert_eq!(updates.admit(1, start), Err(600));
        assert_eq!(updates.admit(2, start), Ok(()), "another ticket is served");
        assert_eq!(updates.admit(1, start + TICKET_UPDATE_WINDOW), Ok(()));
    }

    #[test]
    fn faults_apply_to_their_ticket_in_order() {
        let mut updates = TicketUpdates::default();
        updates.queue(Some(7), UpdateFault::Conflict, 1);
        updates.queue(None, UpdateFault::AppliedThenBadGateway, 1);
        assert_eq!(
            updates.take_fault(3),
            Some(UpdateFault::AppliedThenBadGateway)
        );
        assert_eq!(updates.take_fault(7), Some(UpdateFault::Conflict));
        assert_eq!(updates.take_fault(7), None);
    }
}
