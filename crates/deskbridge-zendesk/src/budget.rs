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
}

pub struct Budget {
    per_second: f64,
    capacity: f64,
    reserve: f64,
    state: Mutex<State>,
    shared: Option<Box<dyn SharedBudget>>,
}

impl std::fmt::Debug for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budget")
            .field("per_second", &self.per_second)
            .field("capacity", &self.capacity)
            .field("shared", &self.shared.is_some())
            .finish()
    }
}

impl Budget {
    pub fn new(requests_per_minute: u32) -> Budget {
        let rpm = f64::from(requests_per_minute.max(1));
        let capacity = (rpm / 10.0).floor().max(1.0);
        let per_second = ((rpm - capacity) / 60.0).max(1.0 / 60.0);
        Budget {
            per_second,
            capacity,
            reserve: (capacity / 5.0).floor(),
            state: Mutex::new(State {
                tokens: capacity,
                refilled: Instant::now(),
                paused_until: None,
                interactive_waiting: 0,
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

    /// Waits until the budget allows one request in `lane`, and takes it.
    pub async fn acquire(&self, lane: Lane) {
        if let Some(shared) = &self.shared {
            let floor = match lane {
                Lane::Interactive => 0.0,
                Lane::Bulk => self.reserve,
            };
            while let Some(wait) = shared.take(self.capacity, self.per_second, floor).await {
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
                let now = Instant::now();
                let elapsed = now.duration_since(s.refilled).as_secs_f64();
                s.tokens = (s.tokens + elapsed * self.per_second).min(self.capacity);
                s.refilled = now;
                match s.paused_until {
                    Some(until) if until > now => until - now,
                    _ => {
                        s.paused_until = None;
                        let floor = match lane {
                            Lane::Interactive => 0.0,
                            Lane::Bulk if s.interactive_waiting > 0 => self.capacity,
                            Lane::Bulk => self.reserve,
                        };
                        if s.tokens >= floor + 1.0 {
                            s.tokens -= 1.0;
                            if lane == Lane::Interactive {
                                s.interactive_waiting -= 1;
                            }
                            return;
                        }
                        let missing = floor + 1.0 - s.tokens;
                        Duration::from_secs_f64((missing / self.per_second).clamp(0.005, 1.0))
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
