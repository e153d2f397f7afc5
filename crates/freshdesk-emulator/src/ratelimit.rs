//! The plan's per-minute limits.
//!
//! Freshdesk limits each account per minute "irrespective of the number of agents
//! you have or IP addresses used to make the calls", with sub-limits for ticket
//! create, ticket update, tickets list and contacts list (SA-RL, table in
//! freshdesk-api.md §2). The counter is incremented before the request is
//! processed, so invalid requests count too, and `Retry-After` is what is left
//! of the window key's time to live (both unverified, freshdesk-api.md §2): a
//! fixed window, not a sliding one.

use std::time::{Duration, Instant};

/// The Freshdesk plans with per-minute limits (SA-RL).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Plan {
    #[default]
    Growth,
    Pro,
    Enterprise,
}

/// Calls per minute: for the whole account and for four endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanLimits {
    pub per_minute: u32,
    /// `POST /api/v2/tickets`.
    pub ticket_create: u32,
    /// `PUT /api/v2/tickets/{id}`.
    pub ticket_update: u32,
    /// `GET /api/v2/tickets`.
    pub tickets_list: u32,
    /// `GET /api/v2/contacts`.
    pub contacts_list: u32,
}

impl PlanLimits {
    /// No limit at all (not a Freshdesk plan: for benchmarks of the client alone).
    pub const UNLIMITED: PlanLimits = PlanLimits {
        per_minute: u32::MAX,
        ticket_create: u32::MAX,
        ticket_update: u32::MAX,
        tickets_list: u32::MAX,
        contacts_list: u32::MAX,
    };
}

impl Plan {
    /// SA-RL's table ("What are the rate limits for the API calls to Freshdesk?").
    pub fn limits(self) -> PlanLimits {
        let (per_minute, ticket_create, ticket_update, tickets_list, contacts_list) = match self {
            Plan::Growth => (200, 80, 80, 20, 20),
            Plan::Pro => (400, 160, 160, 100, 100),
            Plan::Enterprise => (700, 280, 280, 200, 200),
        };
        PlanLimits {
            per_minute,
            ticket_create,
            ticket_update,
            tickets_list,
            contacts_list,
        }
    }

    /// `growth`, `pro` or `enterprise`.
    pub fn parse(text: &str) -> Option<Plan> {
        match text.to_ascii_lowercase().as_str() {
            "growth" => Some(Plan::Growth),
            "pro" => Some(Plan::Pro),
            "enterprise" => Some(Plan::Enterprise),
            _ => None,
        }
    }
}

/// The endpoints with a sub-limit of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bucket {
    TicketCreate = 0,
    TicketUpdate = 1,
    TicketsList = 2,
    ContactsList = 3,
}

/// How long after a 429 a request may still arrive without having ignored it: a
/// client with requests on the wire cannot recall them. Freshdesk keeps no such
/// count; it is the emulator's measure of a client that honours `Retry-After`.
const IN_FLIGHT: Duration = Duration::from_secs(1);

/// One counter with its own fixed window, started by its first request.
#[derive(Debug, Default)]
struct Window {
    started: Option<Instant>,
    used: u32,
    /// When the last 429 of this window was answered.
    refused_at: Option<Instant>,
}

impl Window {
    fn roll(&mut self, now: Instant, length: Duration) {
        if self.started.is_none_or(|started| now >= started + length) {
            *self = Window {
                started: Some(now),
                ..Window::default()
            };
        }
    }

    fn left(&self, now: Instant, length: Duration) -> u64 {
        let end = self.started.unwrap_or(now) + length;
        whole_seconds(end.saturating_duration_since(now))
    }
}

/// What the limiter decided about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Served; the account has `remaining` of `total` credits left.
    Allowed {
        total: u32,
        remaining: u32,
        cost: u32,
    },
    /// Refused with 429. `impatient`: an earlier 429 of the same counter had
    /// been answered more than [`IN_FLIGHT`] before.
    Limited {
        retry_after_secs: u64,
        impatient: bool,
    },
}

#[derive(Debug)]
pub(crate) struct RateLimiter {
    limits: PlanLimits,
    length: Duration,
    account: Window,
    buckets: [Window; 4],
}

impl RateLimiter {
    pub(crate) fn new(limits: PlanLimits, length: Duration) -> RateLimiter {
        RateLimiter {
            limits,
            length: length.max(Duration::from_secs(1)),
            account: Window::default(),
            buckets: Default::default(),
        }
    }

    pub(crate) fn set_limits(&mut self, limits: PlanLimits) {
        *self = RateLimiter::new(limits, self.length);
    }

    fn bucket_limit(&self, bucket: Bucket) -> u32 {
        match bucket {
            Bucket::TicketCreate => self.limits.ticket_create,
            Bucket::TicketUpdate => self.limits.ticket_update,
            Bucket::TicketsList => self.limits.tickets_list,
            Bucket::ContactsList => self.limits.contacts_list,
        }
    }

    /// Counts a request costing `cost` credits on the account (and one on its
    /// endpoint's counter) and decides whether it is served. Both counters are
    /// incremented before the decision, so a request its endpoint's limit
    /// refuses has still used an account credit (inferred from the counter
    /// being "incremented before processing", freshdesk-api.md §2).
    pub(crate) fn admit(&mut self, now: Instant, bucket: Option<Bucket>, cost: u32) -> Admission {
        let length = self.length;
        self.account.roll(now, length);
        self.account.used = self.account.used.saturating_add(cost);
        let account_over = self.account.used > self.limits.per_minute;
        let window = if account_over {
            Some(&mut self.account)
        } else if let Some(bucket) = bucket {
            let limit = self.bucket_limit(bucket);
            let window = &mut self.buckets[bucket as usize];
            window.roll(now, length);
            window.used = window.used.saturating_add(1);
            (window.used > limit).then_some(window)
        } else {
            None
        };
        match window {
            Some(window) => {
                let impatient = window
                    .refused_at
                    .is_some_and(|at| now.saturating_duration_since(at) >= IN_FLIGHT);
                if window.refused_at.is_none() {
                    window.refused_at = Some(now);
                }
                Admission::Limited {
                    retry_after_secs: window.left(now, length),
                    impatient,
                }
            }
            None => Admission::Allowed {
                total: self.limits.per_minute,
                remaining: self.limits.per_minute.saturating_sub(self.account.used),
                cost,
            },
        }
    }
}

/// `Retry-After` is whole seconds, rounded up so that a client waiting exactly
/// that long finds a new window, and never 0.
fn whole_seconds(duration: Duration) -> u64 {
    (duration.as_secs() + u64::from(duration.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_minute: u32, tickets_list: u32) -> PlanLimits {
        PlanLimits {
            per_minute,
            tickets_list,
            ..Plan::Growth.limits()
        }
    }

    #[test]
    fn the_account_limit_refuses_until_the_window_ends() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(limits(2, 20), Duration::from_secs(60));
        assert_eq!(
            limiter.admit(start, None, 1),
            Admission::Allowed {
                total: 2,
                remaining: 1,
                cost: 1
            }
        );
        assert!(matches!(
            limiter.admit(start, None, 1),
            Admission::Allowed { remaining: 0, .. }
        ));
        let at = start + Duration::from_millis(10_500);
        assert_eq!(
            limiter.admit(at, None, 1),
            Admission::Limited {
                retry_after_secs: 50,
                impatient: false
            }
        );
        assert_eq!(
            limiter.admit(at + Duration::from_secs(2), None, 1),
            Admission::Limited {
                retry_after_secs: 48,
                impatient: true
            }
        );
        assert!(matches!(
            limiter.admit(start + Duration::from_secs(60), None, 1),
            Admission::Allowed { remaining: 1, .. }
        ));
    }

    #[test]
    fn an_endpoint_limit_leaves_other_endpoints_served_but_costs_the_account() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(limits(10, 1), Duration::from_secs(60));
        let list = Some(Bucket::TicketsList);
        assert!(matches!(
            limiter.admit(start, list, 1),
            Admission::Allowed { .. }
        ));
        assert!(matches!(
            limiter.admit(start, list, 1),
            Admission::Limited { .. }
        ));
        assert_eq!(
            limiter.admit(start, Some(Bucket::ContactsList), 1),
            Admission::Allowed {
                total: 10,
                remaining: 7,
                cost: 1
            }
        );
    }

    #[test]
    fn plans_have_the_documented_limits() {
        assert_eq!(Plan::Pro.limits().tickets_list, 100);
        assert_eq!(Plan::Enterprise.limits().per_minute, 700);
        assert_eq!(Plan::parse("Growth"), Some(Plan::Growth));
        assert_eq!(whole_seconds(Duration::ZERO), 1);
    }
}
