//! The account's request budget, shared by everything that talks to one Zendesk
//! account from this process.
//!
//! A token bucket holds a tenth of the minute's allowance and refills at the rest
//! spread over the minute, so that no 60-second window (however it is placed) sees
//! more than `requests_per_minute` requests: a burst plus the steady rate stay
//! within the plan. Two lanes share it: a bulk request
//! waits while any interactive request waits, and never takes the last fifth of the
//! bucket, which stays for screen pops and lookups. A 429's `Retry-After` pauses
//! the whole budget: no lane sends until it has passed.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::limits::{Counted, Limit};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Screen pops and lookups: an agent or a caller is waiting.
    Interactive,
    /// Creates, comments, backfill.
    Bulk,
}

#[derive(Debug)]
struct State {
    tokens: f64,
    refilled: Instant,
    paused_until: Option<Instant>,
    interactive_waiting: usize,
    /// The bucket, from the configured plan or the lower one Zendesk announced.
    rates: Rates,
}

/// A token bucket for so many requests a minute.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rates {
    requests_per_minute: u32,
    per_second: f64,
    capacity: f64,
    reserve: f64,
}

impl Rates {
    fn of(requests_per_minute: u32) -> Rates {
        let rpm = f64::from(requests_per_minute.max(1));
        let capacity = (rpm / 10.0).floor().max(1.0);
        let per_second = ((rpm - capacity) / 60.0).max(1.0 / 60.0);
        Rates {
            requests_per_minute: requests_per_minute.max(1),
            per_second,
            capacity,
            reserve: (capacity / 5.0).floor(),
        }
    }
}

/// A budget kept outside this process (in a database several instances share), so
/// that N instances never send N times the plan's rate.
#[async_trait::async_trait]
pub trait SharedBudget: Send + Sync {
    /// Takes one request: `None` when taken, else how long to wait before asking
    /// again. `capacity`, `per_second` and `floor` describe the bucket.
    async fn take(&self, capacity: f64, per_second: f64, floor: f64) -> Option<Duration>;
    /// Pauses every instance until `retry_after` has passed.
    async fn pause(&self, retry_after: Duration);
    /// Counts one request under every one of Zendesk's endpoint limits in
    /// `counts`, across every instance: `Some(Ok(()))` when counted,
    /// `Some(Err((i, wait)))` when `counts[i]` has no room for `wait` (nothing
    /// counted), `None` when the counts are not shared (the client keeps its
    /// own).
    async fn admit(&self, counts: &[(Counted, Limit)]) -> Option<Result<(), (usize, Duration)>> {
        let _ = counts;
        None
    }
}

pub struct Budget {
    state: Mutex<State>,
    shared: Option<Box<dyn SharedBudget>>,
}

impl std::fmt::Debug for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budget")
            .field("rates", &self.lock().rates)
            .field("shared", &self.shared.is_some())
            .finish()
    }
}

impl Budget {
    pub fn new(requests_per_minute: u32) -> Budget {
        let rates = Rates::of(requests_per_minute);
        Budget {
            state: Mutex::new(State {
                tokens: rates.capacity,
                refilled: Instant::now(),
                paused_until: None,
                interactive_waiting: 0,
                rates,
            }),
            shared: None,
        }
    }

    /// The same budget, kept in `shared` instead of this process.
    pub fn shared(requests_per_minute: u32, shared: Box<dyn SharedBudget>) -> Budget {
        Budget {
            shared: Some(shared),
            ..Budget::new(requests_per_minute)
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Zendesk announced the account's requests per minute (`X-Rate-Limit`,
    /// "Rate limits": "the account's current rate limit"): a plan lower than the
    /// configured `requests_per_minute` is the one kept from now on, so the
    /// client slows before Zendesk says no. A higher one changes nothing (the
    /// configuration may keep a share for other integrations).
    pub fn observe_plan(&self, requests_per_minute: u32) {
        let mut s = self.lock();
        if requests_per_minute > 0 && requests_per_minute < s.rates.requests_per_minute {
            tracing::warn!(
                configured = s.rates.requests_per_minute,
                announced = requests_per_minute,
                "Zendesk announces a lower rate limit than requests_per_minute: keeping Zendesk's"
            );
            s.rates = Rates::of(requests_per_minute);
            s.tokens = s.tokens.min(s.rates.capacity);
        }
    }

    /// The requests per minute the budget keeps to.
    pub fn requests_per_minute(&self) -> u32 {
        self.lock().rates.requests_per_minute
    }

    /// Counts one request under Zendesk's endpoint limits in the shared count,
    /// when the budget is shared (see [`SharedBudget::admit`]).
    pub(crate) async fn admit_shared(
        &self,
        counts: &[(Counted, Limit)],
    ) -> Option<Result<(), (usize, Duration)>> {
        self.shared.as_ref()?.admit(counts).await
    }

    /// Waits until the budget allows one request in `lane`, and takes it.
    pub async fn acquire(&self, lane: Lane) {
        if let Some(shared) = &self.shared {
            let rates = self.lock().rates;
            let floor = match lane {
                Lane::Interactive => 0.0,
                Lane::Bulk => rates.reserve,
            };
            while let Some(wait) = shared.take(rates.capacity, rates.per_second, floor).await {
                tokio::time::sleep(wait).await;
            }
            return;
        }
        if lane == Lane::Interactive {
            self.lock().interactive_waiting += 1;
        }
        loop {
            let wait = {
                let mut s = self.lock();
                let rates = s.rates;
                let now = Instant::now();
                let elapsed = now.duration_since(s.refilled).as_secs_f64();
                s.tokens = (s.tokens + elapsed * rates.per_second).min(rates.capacity);
                s.refilled = now;
                match s.paused_until {
                    Some(until) if until > now => until - now,
                    _ => {
                        s.paused_until = None;
                        let floor = match lane {
                            Lane::Interactive => 0.0,
                            Lane::Bulk if s.interactive_waiting > 0 => rates.capacity,
                            Lane::Bulk => rates.reserve,
                        };
                        if s.tokens >= floor + 1.0 {
                            s.tokens -= 1.0;
                            if lane == Lane::Interactive {
                                s.interactive_waiting -= 1;
                            }
                            return;
                        }
                        let missing = floor + 1.0 - s.tokens;
                        Duration::from_secs_f64((missing / rates.per_second).clamp(0.005, 1.0))
                    }
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Stops every lane, in every instance sharing the budget, until `retry_after`
    /// has passed (a 429 was received).
    pub async fn pause_all(&self, retry_after: Duration) {
        self.pause(retry_after);
        if let Some(shared) = &self.shared {
            shared.pause(retry_after).await;
        }
    }

    /// Stops every lane of this process until `retry_after` has passed.
    pub fn pause(&self, retry_after: Duration) {
        let until = Instant::now() + retry_after;
        let mut s = self.lock();
        if s.paused_until.is_none_or(|t| t < until) {
            s.paused_until = Some(until);
        }
        // What was spent before the 429 is gone.
        s.tokens = 0.0;
    }

    /// When the current pause ends, if the budget is paused.
    pub fn paused_until(&self) -> Option<Instant> {
        self.lock().paused_until.filter(|t| *t > Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn no_minute_sees_more_than_the_plan() {
        let b = Budget::new(120); // bucket of 12, then 108 a minute
        let start = Instant::now();
        let mut sent = Vec::new();
        for _ in 0..300 {
            b.acquire(Lane::Interactive).await;
            sent.push(Instant::now() - start);
        }
        // Any 60-second window holds at most 120 requests.
        for (i, t) in sent.iter().enumerate() {
            let in_window = sent[i..]
                .iter()
                .take_while(|u| **u < *t + Duration::from_secs(60))
                .count();
            assert!(
                in_window <= 120,
                "{in_window} requests in the minute from {t:?}"
            );
        }
        // And the plan is used: 300 requests take about (300 - 12) / 108 minutes.
        let took = *sent.last().unwrap();
        assert!(took < Duration::from_secs(165), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_lower_plan_announced_by_zendesk_is_kept() {
        let b = Budget::new(700);
        b.observe_plan(1000);
        assert_eq!(
            b.requests_per_minute(),
            700,
            "a higher plan changes nothing"
        );
        b.observe_plan(200);
        assert_eq!(b.requests_per_minute(), 200);
        let start = Instant::now();
        let mut sent = 0;
        while Instant::now() - start < Duration::from_secs(60) {
            b.acquire(Lane::Interactive).await;
            sent += 1;
        }
        assert!(sent <= 201, "{sent} requests in the first minute");
        assert!(sent >= 190, "{sent} requests in the first minute");
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_stops_every_lane() {
        let b = Budget::new(6000);
        b.pause(Duration::from_secs(3));
        let start = Instant::now();
        b.acquire(Lane::Interactive).await;
        assert!(Instant::now() - start >= Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn bulk_leaves_a_reserve_for_interactive() {
        let b = Budget::new(1000); // bucket 100, reserve 20
        for _ in 0..80 {
            b.acquire(Lane::Bulk).await;
        }
        let start = Instant::now();
        b.acquire(Lane::Interactive).await;
        assert_eq!(
            Instant::now(),
            start,
            "interactive takes the reserve at once"
        );
        b.acquire(Lane::Bulk).await;
        assert!(
            Instant::now() > start,
            "bulk waits instead of eating the reserve"
        );
    }
}
