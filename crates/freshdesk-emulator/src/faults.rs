//! Injected failures and latency.
//!
//! Freshdesk sometimes answers 500 (`{"message":"We're sorry, but something went
//! wrong."}`, freshdesk-api.md §7) and sometimes the answer to a write is lost
//! after the write was made — a timeout, a gateway error. There is no idempotency
//! key (§9), so a connector must then find its own earlier record instead of
//! creating a second one. Writes therefore fail either before anything happens or
//! after the record was made, as zendesk-emulator's "applied, then 502" does
//! (`updates.rs` there). Random failures come from a seeded generator so that a
//! chaos run that found a bug can be replayed.

use std::collections::VecDeque;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// When an injected failure happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Answered with this status before the handler runs: nothing changed.
    Before(u16),
    /// The handler runs (and writes), then its answer is replaced by this status.
    AfterWrite(u16),
}

#[derive(Debug)]
pub(crate) struct Faults {
    /// Probability that a request fails, clamped to 0.0–1.0 when drawn.
    pub(crate) fail_rate: f64,
    /// Added before every API answer.
    pub(crate) latency: Duration,
    rng: StdRng,
    before: VecDeque<u16>,
    after_write: VecDeque<u16>,
}

impl Faults {
    pub(crate) fn new(fail_rate: f64, latency: Duration, seed: u64) -> Faults {
        Faults {
            fail_rate,
            latency,
            rng: StdRng::seed_from_u64(seed),
            before: VecDeque::new(),
            after_write: VecDeque::new(),
        }
    }

    pub(crate) fn fail_next(&mut self, count: usize, status: u16) {
        self.before.extend(std::iter::repeat_n(status, count));
    }

    pub(crate) fn fail_next_after_write(&mut self, count: usize, status: u16) {
        self.after_write.extend(std::iter::repeat_n(status, count));
    }

    /// The failure for this request, if any: queued ones first, then a random
    /// one. A random failure of a write comes after the write half the time, and
    /// is then a 500 or a 503 (what a gateway answers when the application timed
    /// out; unverified for Freshdesk, which documents no 503 body).
    pub(crate) fn next(&mut self, write: bool) -> Option<Fault> {
        if let Some(status) = self.before.pop_front() {
            return Some(Fault::Before(status));
        }
        if write && let Some(status) = self.after_write.pop_front() {
            return Some(Fault::AfterWrite(status));
        }
        // Draws only when failures are on, so the sequence does not depend on
        // how many requests ran before they were.
        if self.fail_rate.is_nan() || self.fail_rate <= 0.0 {
            return None;
        }
        if self.rng.random::<f64>() >= self.fail_rate.min(1.0) {
            return None;
        }
        if write && self.rng.random_bool(0.5) {
            let status = if self.rng.random_bool(0.5) { 500 } else { 503 };
            Some(Fault::AfterWrite(status))
        } else {
            Some(Fault::Before(500))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draws(seed: u64) -> Vec<Option<Fault>> {
        let mut faults = Faults::new(0.3, Duration::ZERO, seed);
        (0..200).map(|i| faults.next(i % 2 == 0)).collect()
    }

    #[test]
    fn same_seed_same_failures_some_after_the_write() {
        assert_eq!(draws(7), draws(7));
        let all = draws(7);
        let failures = all.iter().flatten().count();
        assert!((30..90).contains(&failures), "{failures} of 200");
        assert!(all.iter().any(|f| matches!(f, Some(Fault::AfterWrite(_)))));
        // Reads never fail after the handler ran.
        assert!(
            all.iter()
                .skip(1)
                .step_by(2)
                .all(|f| !matches!(f, Some(Fault::AfterWrite(_))))
        );
    }

    #[test]
    fn queued_failures_come_first_and_after_write_ones_wait_for_a_write() {
        let mut faults = Faults::new(0.0, Duration::ZERO, 1);
        faults.fail_next(1, 503);
        faults.fail_next_after_write(1, 500);
        assert_eq!(faults.next(false), Some(Fault::Before(503)));
        assert_eq!(faults.next(false), None);
        assert_eq!(faults.next(true), Some(Fault::AfterWrite(500)));
        assert_eq!(faults.next(true), None);
    }
}
