//! Zendesk's endpoint limits, kept by the client before it sends.
//!
//! Besides the plan's requests per minute, some endpoints have limits of their
//! own (Zendesk API reference, "Rate limits", Endpoint rate limits): "Update
//! Ticket", 30 updates per 10 minutes per user per ticket and 100 requests per
//! minute per account (300 with the High Volume add-on); "Update User", 5
//! requests per minute per user; "Incremental Exports", 10 requests per minute
//! (30 with the High Volume add-on). A request the limits would refuse is held
//! back here instead of being sent: it would cost a request and answer a 429
//! anyway, while every other request, to other tickets or other endpoints, goes
//! on.
//!
//! The counting itself is the budget crate's ([`Counts`]), as for any helpdesk.

use std::time::Duration;

pub use deskbridge_budget::{Counted, Counts, Limit};

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

/// "Update User": 5 requests per minute per user.
pub const USER_UPDATES: Limit = Limit {
    updates: 5,
    window: Duration::from_secs(60),
};

/// "Incremental Exports": 10 requests per minute (30 with the High Volume
/// add-on, which [`ClientConfig::incremental_exports`](crate::ClientConfig) can
/// be set to).
pub const INCREMENTAL_EXPORTS: Limit = Limit {
    updates: 10,
    window: Duration::from_secs(60),
};

/// The names of Zendesk's counts (shared instances key their rows by them).
pub(crate) const TICKET_UPDATE: &str = "ticket_update";
pub(crate) const USER_UPDATE: &str = "user_update";
pub(crate) const EXPORTS: &str = "incremental_exports";

/// The counts of one ticket update under `limits`.
pub(crate) fn ticket_update(ticket: u64, limits: UpdateLimits) -> [(Counted, Limit); 2] {
    [
        (Counted::of(TICKET_UPDATE, ticket), limits.per_ticket),
        (Counted::account("ticket_updates"), limits.per_account),
    ]
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

    /// The ticket-update counts, as the client keeps them.
    struct TicketUpdates {
        counts: Counts,
        limits: UpdateLimits,
    }

    impl TicketUpdates {
        fn new(limits: UpdateLimits) -> TicketUpdates {
            TicketUpdates {
                counts: Counts::new(),
                limits,
            }
        }
        fn admit(&self, ticket: u64) -> Result<(), Duration> {
            self.counts.admit(&ticket_update(ticket, self.limits))
        }
        fn wait(&self, ticket: u64) -> Duration {
            self.counts.wait(&ticket_update(ticket, self.limits))
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

#[cfg(test)]
mod endpoint_tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn incremental_exports_are_kept_to_ten_a_minute() {
        let counts = Counts::new();
        let export = [(Counted::account(EXPORTS), INCREMENTAL_EXPORTS)];
        for _ in 0..10 {
            assert_eq!(counts.admit(&export), Ok(()));
        }
        assert_eq!(
            counts.admit(&export),
            Err(Duration::from_secs(60)),
            "the 11th export in a minute"
        );
        // Ticket updates are another count.
        assert_eq!(
            counts.admit(&ticket_update(1, UpdateLimits::default())),
            Ok(())
        );
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(counts.admit(&export), Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_users_updates_are_kept_to_five_a_minute_each() {
        let counts = Counts::new();
        let user = |id| [(Counted::of(USER_UPDATE, id), USER_UPDATES)];
        for _ in 0..5 {
            assert_eq!(counts.admit(&user(7)), Ok(()));
        }
        tokio::time::advance(Duration::from_secs(15)).await;
        assert_eq!(counts.admit(&user(7)), Err(Duration::from_secs(45)));
        assert_eq!(counts.admit(&user(8)), Ok(()), "another user goes on");
    }

    #[tokio::test(start_paused = true)]
    async fn a_hold_refuses_until_it_has_passed() {
        let counts = Counts::new();
        let one = ticket_update(1, UpdateLimits::default());
        counts.hold(&Counted::of(TICKET_UPDATE, 1), Duration::from_secs(30));
        assert_eq!(counts.wait(&one), Duration::from_secs(30));
        assert_eq!(counts.admit(&one), Err(Duration::from_secs(30)));
        assert_eq!(
            counts.admit(&ticket_update(2, UpdateLimits::default())),
            Ok(()),
            "only that ticket is held"
        );
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(counts.admit(&one), Ok(()));
    }
}
