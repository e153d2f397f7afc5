//! The account-wide requests-per-minute budget.
//!
//! Zendesk counts requests per account over a minute and answers 429 with
//! `Retry-After` once the budget is spent. A well-behaved client waits the
//! announced time; one that keeps sending while the announced window is open is
//! what deskbridge's invariant 5 ("a 429 pauses every worker") forbids, so those
//! requests are told apart and counted.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Zendesk counts requests over a minute.
const MINUTE: Duration = Duration::from_secs(60);

/// How long after a 429 a request may still arrive without having ignored it: a
/// client with several requests on the wire (or past its own budget check) when
/// the 429 comes back cannot recall them. Still refused with 429 like any request
/// in the window; only not counted as impatient. Real Zendesk keeps no such count:
/// this is the emulator's measure of invariant 5 ("a 429 pauses every worker"),
/// which is about requests *started* after the 429 was received.
const IN_FLIGHT: Duration = Duration::from_secs(1);

/// What the limiter decided about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// No limit configured: no rate-limit headers either.
    Unlimited,
    /// Served; `remaining` requests are left in the current window, and the
    /// oldest request counted leaves it in `reset_secs`.
    Allowed {
        limit: u32,
        remaining: u32,
        reset_secs: u64,
    },
    /// Refused with 429. `during_retry_after` is true when an earlier 429's
    /// `Retry-After` had not yet elapsed.
    Limited {
        limit: u32,
        retry_after_secs: u64,
        during_retry_after: bool,
    },
}

/// A sliding window (a minute, unless a test shortens it) of the instants at which
/// requests were admitted.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limit: Option<u32>,
    window: Duration,
    admitted: VecDeque<Instant>,
    /// End of the last announced `Retry-After` window.
    blocked_until: Option<Instant>,
    /// When that 429 was answered: requests arriving within [`IN_FLIGHT`] of it
    /// were already on their way and could not have known of it.
    blocked_at: Option<Instant>,
}

impl RateLimiter {
    pub(crate) fn new(limit: Option<u32>) -> RateLimiter {
        RateLimiter {
            limit,
            window: MINUTE,
            admitted: VecDeque::new(),
            blocked_until: None,
            blocked_at: None,
        }
    }

    pub(crate) fn with_window(mut self, window: Duration) -> RateLimiter {
        self.window = window.max(Duration::from_secs(1));
        self
    }

    /// A new budget starts from a clean window: the old announcements were made
    /// under another limit.
    pub(crate) fn set_limit(&mut self, limit: Option<u32>) {
        self.limit = limit;
        self.clear();
    }

    pub(crate) fn limit(&self) -> Option<u32> {
        self.limit
    }

    pub(crate) fn clear(&mut self) {
        self.admitted.clear();
        self.blocked_until = None;
        self.blocked_at = None;
    }

    pub(crate) fn admit(&mut self, now: Instant) -> Admission {
        let Some(limit) = self.limit else {
            return Admission::Unlimited;
        };
        while self
            .admitted
            .front()
            .is_some_and(|&at| now.saturating_duration_since(at) >= self.window)
        {
            self.admitted.pop_front();
        }
        if let Some(until) = self.blocked_until {
            if now < until {
                let in_flight = self
                    .blocked_at
                    .is_some_and(|at| now.saturating_duration_since(at) < IN_FLIGHT);
                return Admission::Limited {
                    limit,
                    retry_after_secs: whole_seconds(until - now),
                    during_retry_after: !in_flight,
                };
            }
            self.blocked_until = None;
        }
        let used = u32::try_from(self.admitted.len()).unwrap_or(u32::MAX);
        if used < limit {
            self.admitted.push_back(now);
            let oldest = self.admitted.front().copied().unwrap_or(now);
            return Admission::Allowed {
                limit,
                remaining: limit - used - 1,
                reset_secs: whole_seconds((oldest + self.window).saturating_duration_since(now)),
            };
        }
        // The oldest admitted request leaves the window first and frees a slot.
        let frees_in = self.admitted.front().map_or(self.window, |&oldest| {
            (oldest + self.window).saturating_duration_since(now)
        });
        let retry_after_secs = whole_seconds(frees_in);
        self.blocked_until = Some(now + Duration::from_secs(retry_after_secs));
        self.blocked_at = Some(now);
        Admission::Limited {
            limit,
            retry_after_secs,
            during_retry_after: false,
        }
    }
}

/// `Retry-After` is whole seconds, rounded up so that a client waiting exactly that
/// long finds a free slot, and never 0 (which clients read as "retry at once").
fn whole_seconds(duration: Duration) -> u64 {
    let secs = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_then_429_then_window_then_free_slot() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(Some(2));
        assert_eq!(
            limiter.admit(start),
            Admission::Allowed {
                limit: 2,
                remaining: 1,
                reset_secs: 60
            }
        );
        assert_eq!(
            limiter.admit(start + Duration::from_millis(500)),
            Admission::Allowed {
                limit: 2,
                remaining: 0,
                reset_secs: 60
            }
        );
        let at = start + Duration::from_secs(10);
        assert_eq!(
            limiter.admit(at),
            Admission::Limited {
                limit: 2,
                retry_after_secs: 50,
                during_retry_after: false
            }
        );
        assert_eq!(
            limiter.admit(at + Duration::from_secs(1)),
            Admission::Limited {
                limit: 2,
                retry_after_secs: 49,
                during_retry_after: true
            }
        );
        assert_eq!(
            limiter.admit(at + Duration::from_secs(50)),
            Admission::Allowed {
                limit: 2,
                remaining: 0,
                reset_secs: 1
            }
        );
    }

    #[test]
    fn requests_already_on_their_way_are_refused_but_not_counted_as_impatient() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(Some(1));
        assert!(matches!(limiter.admit(start), Admission::Allowed { .. }));
        assert!(matches!(
            limiter.admit(start + Duration::from_secs(1)),
            Admission::Limited {
                during_retry_after: false,
                ..
            }
        ));
        assert!(matches!(
            limiter.admit(start + Duration::from_millis(1500)),
            Admission::Limited {
                during_retry_after: false,
                ..
            }
        ));
        assert!(matches!(
            limiter.admit(start + Duration::from_secs(3)),
            Admission::Limited {
                during_retry_after: true,
                ..
            }
        ));
    }

    #[test]
    fn a_shorter_window_frees_its_slots_sooner() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(Some(1)).with_window(Duration::from_secs(5));
        assert!(matches!(limiter.admit(start), Admission::Allowed { .. }));
        assert_eq!(
            limiter.admit(start + Duration::from_secs(2)),
            Admission::Limited {
                limit: 1,
                retry_after_secs: 3,
                during_retry_after: false
            }
        );
        assert!(matches!(
            limiter.admit(start + Duration::from_secs(5)),
            Admission::Allowed { .. }
        ));
    }

    #[test]
    fn unlimited_admits_everything() {
        let mut limiter = RateLimiter::new(None);
        assert_eq!(limiter.admit(Instant::now()), Admission::Unlimited);
    }

    #[test]
    fn retry_after_is_at_least_one_second() {
        assert_eq!(whole_seconds(Duration::ZERO), 1);
        assert_eq!(whole_seconds(Duration::from_millis(1001)), 2);
    }
}
