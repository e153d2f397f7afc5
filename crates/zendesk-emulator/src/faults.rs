//! Injected failures and latency.
//!
//! Real Zendesk occasionally answers 500 and is sometimes slow; deskbridge must lose
//! nothing and duplicate nothing when that happens. The failures are drawn from a
//! seeded generator so that a chaos run that found a bug can be replayed.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(Debug)]
pub(crate) struct Faults {
    /// Probability that a request fails, clamped to 0.0–1.0 when drawn.
    pub(crate) fail_rate: f64,
    /// Added before every API response.
    pub(crate) latency: Duration,
    rng: StdRng,
}

impl Faults {
    pub(crate) fn new(fail_rate: f64, latency: Duration, seed: u64) -> Faults {
        Faults {
            fail_rate,
            latency,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// Restarts the failure sequence, so a reset emulator fails the same requests
    /// again.
    pub(crate) fn reseed(&mut self, seed: u64) {
        self.rng = StdRng::seed_from_u64(seed);
    }

    /// Whether this request fails. Draws only when failures are enabled, so the
    /// sequence does not depend on how many requests ran before they were.
    pub(crate) fn should_fail(&mut self) -> bool {
        if self.fail_rate.is_nan() || self.fail_rate <= 0.0 {
            return false;
        }
        self.rng.random::<f64>() < self.fail_rate.min(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draws(seed: u64) -> Vec<bool> {
        let mut faults = Faults::new(0.3, Duration::ZERO, seed);
        (0..200).map(|_| faults.should_fail()).collect()
    }

    #[test]
    fn same_seed_same_failures() {
        assert_eq!(draws(7), draws(7));
        let failures = draws(7).iter().filter(|&&failed| failed).count();
        assert!((30..90).contains(&failures), "{failures} of 200");
    }

    #[test]
    fn zero_and_one_are_exact() {
        let mut never = Faults::new(0.0, Duration::ZERO, 1);
        let mut always = Faults::new(1.0, Duration::ZERO, 1);
        assert!((0..100).all(|_| !never.should_fail()));
        assert!((0..100).all(|_| always.should_fail()));
    }
}
