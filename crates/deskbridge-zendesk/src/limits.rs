//! Zendesk's limits on ticket updates, kept by the client before it sends.
//!
//! Besides the plan's requests per minute, "Update Ticket" has endpoint limits
//! of its own (Zendesk API reference, "Rate limits", Endpoint rate limits: 30
//! updates per 10 minutes per user per ticket, and 100 requests per minute per
//! account, 300 with the High Volume add-on). An update the limits would refuse
//! is held back here instead of being sent: it would cost a request and answer
//! a 429 anyway, while every other request, to other tickets or other
//! endpoints, goes on. Kept per process: several instances each keep their own
//! count, and Zendesk's own 429 (with `Retry-After`) covers what they add up to.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// So many updates per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub updates: usize,
    pub window: Duration,
}

/// The two limits on ticket updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpdateLimits {
    /// Updates of one ticket (Zendesk: 30 per 10 minutes).
    pub per_ticket: Limit,
    /// Updates of any ticket of the account (Zendesk: 100 a minute, 300 with the
    /// High Volume add-on).
    pub per_account: Limit,
}

impl Default for UpdateLimits {
    fn default() -> Self {
        UpdateLimits {
            per_ticket: Limit {
                updates: 30,
                window: Duration::from_secs(600),
            },
            per_account: Limit {
                updates: 100,
                window: Duration::from_secs(60),
            },
        }
    }
}

#[derive(Default)]
struct Sent {
    tickets: HashMap<u64, VecDeque<Instant>>,
    account: VecDeque<Instant>,
}

/// The updates sent in the current windows.
pub(crate) struct TicketUpdates {
    limits: UpdateLimits,
    sent: Mutex<Sent>,
}

/// How long until `times` (oldest first) leaves room for one more under `limit`.
fn wait_for(times: &VecDeque<Instant>, limit: Limit, now: Instant) -> Duration {
    if times.len() < limit.updates {
        return Duration::ZERO;
    }
    // The update that must leave the window before one more fits.
    let blocking = times[times.len() - limit.updates];
    limit.window.saturating_sub(now.duration_since(blocking))
}

impl TicketUpdates {
    pub(crate) fn new(limits: UpdateLimits) -> TicketUpdates {
        TicketUpdates {
            limits,
            sent: Mutex::new(Sent::default()),
        }
    }

    fn sent(&self, now: Instant) -> std::sync::MutexGuard<'_, Sent> {
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        let UpdateLimits {
            per_ticket,
            per_account,
        } = self.limits;
        // Forget what left the windows, so the map stays small.
        sent.tickets.retain(|_, times| {
            times.retain(|at| now.duration_since(*at) < per_ticket.window);
            !times.is_empty()
        });
        sent.account
            .retain(|at| now.duration_since(*at) < per_account.window);
        sent
    }

    /// How long until an update of `ticket` would be allowed (zero: now).
    pub(crate) fn wait(&self, ticket: u64) -> Duration {
        let now = Instant::now();
        let sent = self.sent(now);
        self.wait_locked(&sent, ticket, now)
    }

    fn wait_locked(&self, sent: &Sent, ticket: u64, now: Instant) -> Duration {
        let of_ticket = sent
            .tickets
            .get(&ticket)
            .map_or(Duration::ZERO, |t| wait_for(t, self.limits.per_ticket, now));
        of_ticket.max(wait_for(&sent.account, self.limits.per_account, now))
    }

    /// Counts an update of `ticket` now, or says how long until one is allowed.
    pub(crate) fn admit(&self, ticket: u64) -> Result<(), Duration> {
        let now = Instant::now();
        let mut sent = self.sent(now);
        let wait = self.wait_locked(&sent, ticket, now);
        if !wait.is_zero() {
            return Err(wait);
        }
        sent.tickets.entry(ticket).or_default().push_back(now);
        sent.account.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(ticket: usize, account: usize) -> UpdateLimits {
        UpdateLimits {
            per_ticket: Limit {
                updates: ticket,
                window: Duration::from_secs(600),
            },
            per_account: Limit {
                updates: account,
                window: Duration::from_secs(60),
            },
        }
    }

    #[test]
    fn zendesks_documented_limits_are_the_default() {
        let updates = TicketUpdates::new(UpdateLimits::default());
        for _ in 0..30 {
            assert_eq!(updates.admit(1), Ok(()));
        }
        let wait = updates.admit(1).expect_err("the 31st update in 10 minutes");
        assert!(wait > Duration::from_secs(590), "{wait:?}");
        for ticket in 2..=71 {
            assert_eq!(updates.admit(ticket), Ok(()));
        }
        let wait = updates.admit(72).expect_err("the 101st update in a minute");
        assert!(wait > Duration::from_secs(50), "{wait:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_ticket_waits_while_other_tickets_go_on() {
        let updates = TicketUpdates::new(limits(2, 100));
        assert_eq!(updates.admit(1), Ok(()));
        assert_eq!(updates.admit(1), Ok(()));
        let wait = updates
            .admit(1)
            .expect_err("the third update in the window");
        assert_eq!(wait, Duration::from_secs(600));
        assert_eq!(
            updates.wait(1),
            wait,
            "wait() tells the same without counting"
        );
        assert_eq!(updates.admit(2), Ok(()), "another ticket is not held back");
        tokio::time::advance(Duration::from_secs(600)).await;
        assert_eq!(updates.admit(1), Ok(()), "the window moved on");
    }

    #[tokio::test(start_paused = true)]
    async fn the_account_limit_holds_back_updates_of_every_ticket() {
        let updates = TicketUpdates::new(limits(30, 3));
        for ticket in 1..=3 {
            assert_eq!(updates.admit(ticket), Ok(()));
        }
        tokio::time::advance(Duration::from_secs(20)).await;
        assert_eq!(updates.admit(4), Err(Duration::from_secs(40)));
        assert_eq!(updates.wait(1), Duration::from_secs(40));
        tokio::time::advance(Duration::from_secs(40)).await;
        assert_eq!(updates.admit(4), Ok(()));
    }
}
