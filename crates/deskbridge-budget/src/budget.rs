//! The account's request budget, shared by everything that talks to one
//! helpdesk account (Zendesk, Freshdesk) from this process.
//!
//! A token bucket holds a tenth of the minute's allowance and refills at the rest
//! spread over the minute, so that no 60-second window (however it is placed) sees
//! more than `requests_per_minute` requests: a burst plus the steady rate stay
//! within the plan. Three lanes share it:
//!
//! - a call's own interactive requests (its screen pop, identifying its caller)
//!   may take the whole bucket;
//! - bulk requests (creates, comments, backfill) wait while a call's interactive
//!   request waits, and never take the last fifth of the bucket, which stays for
//!   calls;
//! - lookups (the routing lane: `/lookup`, `/route`, a contact flow's question,
//!   an agent's contact search) never take that fifth either, and have a bucket
//!   of their own on top, a share of the plan (`lookup_percent`): a PBX or an
//!   agent asking as fast as it can slows its own answers, never the calls'
//!   pops and records. Which requests are lookups the caller says, by running
//!   them inside [`as_lookup`].
//!
//! A 429's `Retry-After` pauses the whole budget: no lane sends until it has
//! passed.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::limits::{Counted, Counts, Limit};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// A call's screen pop and the identification of its caller: an agent or a
    /// caller is waiting.
    Interactive,
    /// A lookup or routing answer someone asked for (a PBX, a contact flow, an
    /// agent's search): the routing lane, with its own share of the plan.
    Lookup,
    /// Creates, comments, backfill.
    Bulk,
}

tokio::task_local! {
    static LOOKUP: ();
}

/// Runs `work` with its interactive requests in the [`Lane::Lookup`] lane: the
/// HTTP handlers of lookups and routing answers wrap their helpdesk calls in
/// it, so the requests a lookup costs come out of the routing lane's share and
/// never out of what the calls' own pops and records need. (The lane is the
/// caller's to say, as a span is: the backend in between need not know.)
pub async fn as_lookup<F: std::future::Future>(work: F) -> F::Output {
    LOOKUP.scope((), work).await
}

/// Whether the current task runs inside [`as_lookup`].
pub fn in_lookup() -> bool {
    LOOKUP.try_with(|_| ()).is_ok()
}

/// Which shared bucket a [`SharedBudget::take`] draws on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// The account's: every request takes one from it.
    Account,
    /// The routing lane's own share, taken by a lookup before the account's.
    Lookups,
}

/// The share of the plan lookups may spend when the config names none.
pub const DEFAULT_LOOKUP_PERCENT: u8 = 25;

#[derive(Debug)]
struct State {
    tokens: f64,
    refilled: Instant,
    paused_until: Option<Instant>,
    interactive_waiting: usize,
    /// The routing lane's own bucket.
    lookup_tokens: f64,
    /// The bucket, from the configured plan or the lower one the helpdesk announced.
    rates: Rates,
}

/// A token bucket for so many requests a minute.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rates {
    requests_per_minute: u32,
    per_second: f64,
    capacity: f64,
    reserve: f64,
    lookup_percent: u8,
    /// The routing lane's bucket: the same shape, scaled to its share.
    lookup_per_second: f64,
    lookup_capacity: f64,
}

impl Rates {
    fn of(requests_per_minute: u32, lookup_percent: u8) -> Rates {
        let rpm = f64::from(requests_per_minute.max(1));
        let capacity = (rpm / 10.0).floor().max(1.0);
        let per_second = ((rpm - capacity) / 60.0).max(1.0 / 60.0);
        let share = f64::from(lookup_percent.clamp(1, 100)) / 100.0;
        Rates {
            requests_per_minute: requests_per_minute.max(1),
            per_second,
            capacity,
            reserve: (capacity / 5.0).floor(),
            lookup_percent,
            lookup_per_second: per_second * share,
            lookup_capacity: (capacity * share).floor().max(1.0),
        }
    }

    /// What `lane` may not take of the account's bucket.
    fn floor(&self, lane: Lane, calls_waiting: bool) -> f64 {
        match lane {
            Lane::Interactive => 0.0,
            // A call waiting goes first.
            Lane::Bulk | Lane::Lookup if calls_waiting => self.capacity,
            Lane::Bulk | Lane::Lookup => self.reserve,
        }
    }
}

/// How long until `tokens` (refilling at `per_second`) holds `needed`.
fn time_to(needed: f64, tokens: f64, per_second: f64) -> Duration {
    Duration::from_secs_f64(((needed - tokens).max(0.0) / per_second).clamp(0.005, 1.0))
}

/// A budget kept outside this process (in a database several instances share), so
/// that N instances never send N times the plan's rate.
#[async_trait::async_trait]
pub trait SharedBudget: Send + Sync {
    /// Takes one request from `bucket`: `None` when taken, else how long to
    /// wait before asking again. `capacity`, `per_second` and `floor` describe
    /// the bucket.
    async fn take(
        &self,
        bucket: Bucket,
        capacity: f64,
        per_second: f64,
        floor: f64,
    ) -> Option<Duration>;
    /// Pauses every instance until `retry_after` has passed.
    async fn pause(&self, retry_after: Duration);
    /// Counts one request under every one of the helpdesk's endpoint limits in
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
        let rates = Rates::of(requests_per_minute, DEFAULT_LOOKUP_PERCENT);
        Budget {
            state: Mutex::new(State {
                tokens: rates.capacity,
                refilled: Instant::now(),
                paused_until: None,
                interactive_waiting: 0,
                lookup_tokens: rates.lookup_capacity,
                rates,
            }),
            shared: None,
        }
    }

    /// The same budget, with lookups spending at most `percent` of the plan
    /// (1 to 100).
    pub fn with_lookup_percent(self, percent: u8) -> Budget {
        {
            let mut s = self.lock();
            s.rates = Rates::of(s.rates.requests_per_minute, percent);
            s.lookup_tokens = s.rates.lookup_capacity;
        }
        self
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

    /// The helpdesk announced the account's requests per minute (Zendesk's
    /// `X-Rate-Limit`, "the account's current rate limit"; Freshdesk's
    /// `X-RateLimit-Total`): a plan lower than the configured
    /// `requests_per_minute` is the one kept from now on, so the client slows
    /// before the helpdesk says no. A higher one changes nothing (the
    /// configuration may keep a share for other integrations).
    pub fn observe_plan(&self, requests_per_minute: u32) {
        let mut s = self.lock();
        if requests_per_minute > 0 && requests_per_minute < s.rates.requests_per_minute {
            tracing::warn!(
                configured = s.rates.requests_per_minute,
                announced = requests_per_minute,
                "the helpdesk announces a lower rate limit than requests_per_minute: keeping the helpdesk's"
            );
            s.rates = Rates::of(requests_per_minute, s.rates.lookup_percent);
            s.tokens = s.tokens.min(s.rates.capacity);
            s.lookup_tokens = s.lookup_tokens.min(s.rates.lookup_capacity);
        }
    }

    /// The requests per minute the budget keeps to.
    pub fn requests_per_minute(&self) -> u32 {
        self.lock().rates.requests_per_minute
    }

    /// Counts one request under every one of the endpoint limits in `counts`
    /// before it is sent, or says how long until one is allowed (counting
    /// nothing). `own` is this process's count; when the budget is shared the
    /// shared count decides ([`SharedBudget::admit`]), and a refusal it gives
    /// is remembered in `own` so that the next request asks nothing.
    pub async fn admit(&self, own: &Counts, counts: &[(Counted, Limit)]) -> Result<(), Duration> {
        // What this process sent, or was told to wait for, is in the shared
        // count too: no need to ask it.
        let known = own.wait(counts);
        if !known.is_zero() {
            return Err(known);
        }
        let Some(shared) = &self.shared else {
            return own.admit(counts);
        };
        match shared.admit(counts).await {
            Some(Ok(())) => {
                own.record(counts);
                Ok(())
            }
            Some(Err((refusing, wait))) => {
                if let Some((counted, _)) = counts.get(refusing) {
                    own.hold(counted, wait);
                }
                Err(wait)
            }
            None => own.admit(counts),
        }
    }

    /// Waits until the budget allows one request in `lane`, and takes it.
    pub async fn acquire(&self, lane: Lane) {
        if let Some(shared) = &self.shared {
            let rates = self.lock().rates;
            if lane == Lane::Lookup {
                while let Some(wait) = shared
                    .take(
                        Bucket::Lookups,
                        rates.lookup_capacity,
                        rates.lookup_per_second,
                        0.0,
                    )
                    .await
                {
                    tokio::time::sleep(wait).await;
                }
            }
            // Instances do not see each other's waiting calls: bulk and
            // lookups keep off the reserve, which is the calls' share.
            let floor = rates.floor(lane, false);
            while let Some(wait) = shared
                .take(Bucket::Account, rates.capacity, rates.per_second, floor)
                .await
            {
                tokio::time::sleep(wait).await;
            }
            return;
        }
        // Counted while it waits, and uncounted however the wait ends: a call's
        // request given up on (a deadline, a client gone) must not hold the
        // other lanes back for good.
        let _waiting = (lane == Lane::Interactive).then(|| CallWaiting::new(self));
        loop {
            let wait = {
                let mut s = self.lock();
                let rates = s.rates;
                let now = Instant::now();
                let elapsed = now.duration_since(s.refilled).as_secs_f64();
                s.tokens = (s.tokens + elapsed * rates.per_second).min(rates.capacity);
                s.lookup_tokens = (s.lookup_tokens + elapsed * rates.lookup_per_second)
                    .min(rates.lookup_capacity);
                s.refilled = now;
                match s.paused_until {
                    Some(until) if until > now => until - now,
                    _ => {
                        s.paused_until = None;
                        let floor = rates.floor(lane, s.interactive_waiting > 0);
                        let own_share = lane != Lane::Lookup || s.lookup_tokens >= 1.0;
                        if s.tokens >= floor + 1.0 && own_share {
                            s.tokens -= 1.0;
                            if lane == Lane::Lookup {
                                s.lookup_tokens -= 1.0;
                            }
                            return;
                        }
                        let account = time_to(floor + 1.0, s.tokens, rates.per_second);
                        match lane {
                            Lane::Lookup => {
                                account.max(time_to(1.0, s.lookup_tokens, rates.lookup_per_second))
                            }
                            _ => account,
                        }
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

/// A call's request waiting for the budget, counted from creation to drop.
struct CallWaiting<'a>(&'a Budget);

impl<'a> CallWaiting<'a> {
    fn new(budget: &'a Budget) -> CallWaiting<'a> {
        budget.lock().interactive_waiting += 1;
        CallWaiting(budget)
    }
}

impl Drop for CallWaiting<'_> {
    fn drop(&mut self) {
        self.0.lock().interactive_waiting -= 1;
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

    /// A minute of lookups asked as fast as they can go, beside a call's
    /// request every half second and bulk writes as fast as they can go.
    #[tokio::test(start_paused = true)]
    async fn a_lookup_flood_spends_its_own_share_never_the_calls() {
        // A bucket of 100 refilling at 15 a second; lookups get a quarter:
        // a bucket of 25 refilling at 3.75 a second.
        let b = std::sync::Arc::new(Budget::new(1000));
        let minute = Duration::from_secs(60);
        let start = Instant::now();
        let flood = |lane: Lane| {
            let b = b.clone();
            tokio::spawn(async move {
                let mut sent = 0u32;
                while Instant::now() - start < minute {
                    b.acquire(lane).await;
                    sent += 1;
                }
                sent
            })
        };
        let lookups = flood(Lane::Lookup);
        let bulk = flood(Lane::Bulk);
        let mut slowest_call = Duration::ZERO;
        while Instant::now() - start < minute {
            let asked = Instant::now();
            b.acquire(Lane::Interactive).await;
            slowest_call = slowest_call.max(Instant::now() - asked);
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let lookups = lookups.await.unwrap();
        let bulk = bulk.await.unwrap();
        assert!(
            slowest_call < Duration::from_millis(100),
            "a call's request waited {slowest_call:?}"
        );
        // 25 at once, then 3.75 a second: 250 in the minute at most.
        assert!(lookups <= 251, "{lookups} lookups in the minute");
        assert!(lookups >= 200, "the share is theirs to use: {lookups}");
        // The rest of the plan goes to the calls' records.
        assert!(bulk >= 600, "{bulk} bulk requests beside the lookups");
    }

    #[tokio::test(start_paused = true)]
    async fn lookups_keep_off_the_calls_reserve_and_wait_for_a_waiting_call() {
        let b = Budget::new(1000).with_lookup_percent(100); // bucket 100, reserve 20
        for _ in 0..80 {
            b.acquire(Lane::Lookup).await;
        }
        let start = Instant::now();
        b.acquire(Lane::Interactive).await;
        assert_eq!(Instant::now(), start, "the reserve is the call's at once");
        b.acquire(Lane::Lookup).await;
        assert!(Instant::now() > start, "the lookup waits for a token");
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_request_given_up_on_does_not_hold_the_other_lanes() {
        let b = Budget::new(60); // bucket 6, reserve 1
        b.pause(Duration::from_secs(5));
        // A call's request waits out the pause, and its caller stops waiting.
        let given_up =
            tokio::time::timeout(Duration::from_secs(1), b.acquire(Lane::Interactive)).await;
        assert!(given_up.is_err());
        let bulk = tokio::time::timeout(Duration::from_secs(10), b.acquire(Lane::Bulk)).await;
        assert!(bulk.is_ok(), "bulk still waits for a call nobody waits for");
    }
}
