//! Endpoint limits, kept by a client before it sends.
//!
//! Besides the plan's requests per minute, helpdesks limit some endpoints on
//! their own (Zendesk: one ticket's updates, the account's ticket updates;
//! Freshdesk: ticket creates, contact lists). A request the limits would
//! refuse is held back here instead of being sent: it would cost a request and
//! answer a 429 anyway, while every other request, to other records or other
//! endpoints, goes on.
//!
//! The count is this process's, unless the account's budget is shared by
//! several instances ([`crate::SharedBudget::admit`], kept in their database):
//! then the shared count decides, and a refusal it gives is remembered here so
//! that [`Counts::wait`] tells it without asking again.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// So many requests (`updates`) per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub updates: usize,
    pub window: Duration,
}

/// What an endpoint limit counts: one ticket's updates, the account's ticket
/// updates, one user's updates, the account's incremental exports.
///
/// A helpdesk client names its own: an account-wide count (`Counted::account
/// ("ticket_updates")`) or one record's (`Counted::of("ticket_update", id)`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Counted {
    name: &'static str,
    of: Option<u64>,
}

impl Counted {
    /// A count of the whole account's requests to one endpoint.
    pub const fn account(name: &'static str) -> Counted {
        Counted { name, of: None }
    }

    /// A count of the requests about one record (one ticket's updates).
    pub const fn of(name: &'static str, id: u64) -> Counted {
        Counted { name, of: Some(id) }
    }

    /// The name of the count where instances share it (a row key).
    pub fn key(&self) -> String {
        match self.of {
            Some(id) => format!("{}:{id}", self.name),
            None => self.name.to_string(),
        }
    }
}

#[derive(Default)]
struct Sent {
    /// When each counted request was sent, oldest first.
    times: HashMap<Counted, VecDeque<Instant>>,
    /// Until when a count is known to refuse (a shared count's answer, or a
    /// 429 on the endpoint).
    held: HashMap<Counted, Instant>,
}

/// The requests sent in the current windows, per [`Counted`].
pub struct Counts {
    sent: Mutex<Sent>,
}

/// How long until `times` (oldest first) leaves room for one more under `limit`.
fn wait_for(times: &VecDeque<Instant>, limit: Limit, now: Instant) -> Duration {
    if times.len() < limit.updates {
        return Duration::ZERO;
    }
    if limit.updates == 0 {
        return limit.window;
    }
    // The request that must leave the window before one more fits.
    let blocking = times[times.len() - limit.updates];
    limit.window.saturating_sub(now.duration_since(blocking))
}

impl Counts {
    pub fn new() -> Counts {
        Counts {
            sent: Mutex::new(Sent::default()),
        }
    }

    fn sent(&self, now: Instant, longest: Duration) -> std::sync::MutexGuard<'_, Sent> {
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        // Forget what left every window, so the maps stay small.
        sent.times.retain(|_, times| {
            times.retain(|at| now.duration_since(*at) < longest);
            !times.is_empty()
        });
        sent.held.retain(|_, until| *until > now);
        sent
    }

    fn wait_locked(sent: &Sent, counts: &[(Counted, Limit)], now: Instant) -> Duration {
        counts
            .iter()
            .map(|(counted, limit)| {
                let of_times = sent
                    .times
                    .get(counted)
                    .map_or(Duration::ZERO, |t| wait_for(t, *limit, now));
                let held = sent
                    .held
                    .get(counted)
                    .map_or(Duration::ZERO, |until| until.saturating_duration_since(now));
                of_times.max(held)
            })
            .max()
            .unwrap_or(Duration::ZERO)
    }

    fn longest(counts: &[(Counted, Limit)]) -> Duration {
        counts
            .iter()
            .map(|(_, l)| l.window)
            .max()
            .unwrap_or(Duration::ZERO)
            .max(Duration::from_secs(600))
    }

    /// How long until a request counted under every one of `counts` would be
    /// allowed (zero: now).
    pub fn wait(&self, counts: &[(Counted, Limit)]) -> Duration {
        let now = Instant::now();
        let sent = self.sent(now, Self::longest(counts));
        Self::wait_locked(&sent, counts, now)
    }

    /// Counts one request under every one of `counts` now, or says how long
    /// until one is allowed (and counts nothing).
    pub fn admit(&self, counts: &[(Counted, Limit)]) -> Result<(), Duration> {
        let now = Instant::now();
        let mut sent = self.sent(now, Self::longest(counts));
        let wait = Self::wait_locked(&sent, counts, now);
        if !wait.is_zero() {
            return Err(wait);
        }
        for (counted, _) in counts {
            sent.times
                .entry(counted.clone())
                .or_default()
                .push_back(now);
        }
        Ok(())
    }

    /// Counts a request that a shared count admitted (so this process's own
    /// view stays close, should the shared count become unreachable).
    pub fn record(&self, counts: &[(Counted, Limit)]) {
        let now = Instant::now();
        let mut sent = self.sent(now, Self::longest(counts));
        for (counted, _) in counts {
            sent.times
                .entry(counted.clone())
                .or_default()
                .push_back(now);
        }
    }

    /// Remembers that `counted` refuses for `wait` (a shared count said so, or
    /// Zendesk answered 429 on that endpoint).
    pub fn hold(&self, counted: &Counted, wait: Duration) {
        let now = Instant::now();
        let mut sent = self.sent(now, Duration::from_secs(600));
        let until = now + wait;
        let held = sent.held.entry(counted.clone()).or_insert(until);
        if *held < until {
            *held = until;
        }
    }
}

impl Default for Counts {
    fn default() -> Self {
        Counts::new()
    }
}
