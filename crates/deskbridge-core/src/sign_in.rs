//! Sign-in throttling: whether a sign-in attempt may be tried now, and if not,
//! how long it must wait.
//!
//! Passwords are guessed by trying many; argon2 makes each try slow, but not
//! slow enough on its own, and a flood of tries spends the server's CPU for
//! everyone. So failures are counted per key (an account, a client address):
//! after [`ThrottlePolicy::free_failures`] within [`ThrottlePolicy::window`],
//! the key waits [`ThrottlePolicy::first_wait`] after each further failure,
//! doubling up to [`ThrottlePolicy::max_wait`], as login throttles do. An
//! attempt is charged when it starts (not when its argon2 check ends), so many
//! attempts sent at once for one key cannot all slip through before the first
//! failure is counted; a success clears the key. Refused attempts are not
//! charged: they cost the server nothing, and the wait does not grow while
//! someone waits it out.
//!
//! This module decides; the HTTP layer keeps the state and reads the clock.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// How sign-in failures are throttled for one kind of key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures allowed within the window before attempts have to wait.
    pub free_failures: u32,
    /// Failures older than this (since the key's last one) are forgotten.
    pub window: Duration,
    /// The wait after the first failure beyond the free ones; each further one
    /// doubles it.
    pub first_wait: Duration,
    /// The longest wait.
    pub max_wait: Duration,
}

impl ThrottlePolicy {
    /// The wait after `failures` failures in the window.
    pub fn wait_after(&self, failures: u32) -> Duration {
        if failures < self.free_failures {
            return Duration::ZERO;
        }
        let doublings = (failures - self.free_failures).min(31);
        self.first_wait
            .saturating_mul(1u32 << doublings)
            .min(self.max_wait)
    }
}

/// Whether an attempt may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Try it (it has been charged as a failure until [`Throttle::succeeded`]).
    Allowed,
    /// Refused: try again after this long (a `Retry-After`).
    Wait(Duration),
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last: Instant,
}

/// The failures of each key, under one policy, holding at most `capacity` keys
/// (beyond it the key with the oldest failure is forgotten, so a flood of
/// addresses cannot grow memory without bound).
#[derive(Debug)]
pub struct Throttle<K> {
    policy: ThrottlePolicy,
    capacity: usize,
    entries: HashMap<K, Entry>,
}

impl<K: Eq + Hash + Clone> Throttle<K> {
    pub fn new(policy: ThrottlePolicy, capacity: usize) -> Self {
        Throttle {
            policy,
            capacity: capacity.max(1),
            entries: HashMap::new(),
        }
    }

    /// The key's failures still counted at `now`.
    fn failures(&self, key: &K, now: Instant) -> Option<Entry> {
        self.entries
            .get(key)
            .copied()
            .filter(|e| now.saturating_duration_since(e.last) < self.policy.window)
    }

    /// Whether an attempt for `key` may go ahead at `now`, without charging it.
    pub fn check(&self, key: &K, now: Instant) -> Verdict {
        let Some(entry) = self.failures(key, now) else {
            return Verdict::Allowed;
        };
        let until = entry.last + self.policy.wait_after(entry.failures);
        match until.checked_duration_since(now) {
            Some(left) if !left.is_zero() => Verdict::Wait(left),
            _ => Verdict::Allowed,
        }
    }

    /// Charges an attempt that was allowed as a failure (see the module's doc).
    pub fn charge(&mut self, key: &K, now: Instant) {
        let failures = self.failures(key, now).map_or(0, |e| e.failures);
        if !self.entries.contains_key(key) && self.entries.len() >= self.capacity {
            self.forget_old(now);
        }
        self.entries.insert(
            key.clone(),
            Entry {
                failures: failures.saturating_add(1),
                last: now,
            },
        );
    }

    /// The attempt succeeded: the key's failures are forgotten.
    pub fn succeeded(&mut self, key: &K) {
        self.entries.remove(key);
    }

    /// The attempt succeeded, but the key is shared (a client address, behind
    /// which an office may sit): only its own charge is taken back, so that a
    /// guesser cannot wipe the key's failures by signing in as themselves now
    /// and then.
    pub fn refund(&mut self, key: &K) {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.failures = entry.failures.saturating_sub(1);
            if entry.failures == 0 {
                self.entries.remove(key);
            }
        }
    }

    /// Drops the keys whose failures have expired; if that frees nothing, the
    /// key with the oldest failure.
    fn forget_old(&mut self, now: Instant) {
        let window = self.policy.window;
        self.entries
            .retain(|_, e| now.saturating_duration_since(e.last) < window);
        if self.entries.len() >= self.capacity
            && let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.last)
                .map(|(k, _)| k.clone())
        {
            self.entries.remove(&oldest);
        }
    }
}

/// The longer of two verdicts' waits (an attempt checked against several keys
/// waits for the slowest).
pub fn longest(a: Verdict, b: Verdict) -> Verdict {
    match (a, b) {
        (Verdict::Wait(x), Verdict::Wait(y)) => Verdict::Wait(x.max(y)),
        (Verdict::Wait(x), Verdict::Allowed) | (Verdict::Allowed, Verdict::Wait(x)) => {
            Verdict::Wait(x)
        }
        (Verdict::Allowed, Verdict::Allowed) => Verdict::Allowed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: ThrottlePolicy = ThrottlePolicy {
        free_failures: 5,
        window: Duration::from_secs(900),
        first_wait: Duration::from_secs(1),
        max_wait: Duration::from_secs(60),
    };

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn five_failures_are_free_then_each_waits_twice_the_last() {
        let t0 = Instant::now();
        let mut t = Throttle::new(POLICY, 100);
        for _ in 0..5 {
            assert_eq!(t.check(&"ann", t0), Verdict::Allowed);
            t.charge(&"ann", t0);
        }
        // The sixth waits 1 s; tried at once, refused, and not charged.
        assert_eq!(t.check(&"ann", t0), Verdict::Wait(secs(1)));
        assert_eq!(t.check(&"ann", t0), Verdict::Wait(secs(1)));
        // After the wait it may go ahead; failing, the next waits 2 s, then 4 s.
        let t1 = t0 + secs(1);
        assert_eq!(t.check(&"ann", t1), Verdict::Allowed);
        t.charge(&"ann", t1);
        assert_eq!(t.check(&"ann", t1), Verdict::Wait(secs(2)));
        let t2 = t1 + secs(2);
        t.charge(&"ann", t2);
        assert_eq!(t.check(&"ann", t2 + secs(1)), Verdict::Wait(secs(3)));
        // Other keys are not affected.
        assert_eq!(t.check(&"bob", t2), Verdict::Allowed);
    }

    #[test]
    fn the_wait_is_capped_and_forgotten_after_the_window() {
        assert_eq!(POLICY.wait_after(4), Duration::ZERO);
        assert_eq!(POLICY.wait_after(5), secs(1));
        assert_eq!(POLICY.wait_after(11), secs(60));
        assert_eq!(POLICY.wait_after(u32::MAX), secs(60));
        let t0 = Instant::now();
        let mut t = Throttle::new(POLICY, 100);
        for _ in 0..20 {
            t.charge(&"ann", t0);
        }
        assert_eq!(t.check(&"ann", t0), Verdict::Wait(secs(60)));
        assert_eq!(t.check(&"ann", t0 + secs(900)), Verdict::Allowed);
        // A failure after the window starts the count again.
        t.charge(&"ann", t0 + secs(900));
        assert_eq!(t.check(&"ann", t0 + secs(900)), Verdict::Allowed);
    }

    #[test]
    fn a_success_clears_the_key() {
        let t0 = Instant::now();
        let mut t = Throttle::new(POLICY, 100);
        for _ in 0..7 {
            t.charge(&"ann", t0);
        }
        t.succeeded(&"ann");
        assert_eq!(t.check(&"ann", t0), Verdict::Allowed);
    }

    #[test]
    fn a_refund_takes_back_one_charge_only() {
        let t0 = Instant::now();
        let mut t = Throttle::new(POLICY, 100);
        for _ in 0..6 {
            t.charge(&"10.0.0.1", t0);
        }
        t.refund(&"10.0.0.1");
        // Five failures left: still the first wait; four: free again.
        assert_eq!(t.check(&"10.0.0.1", t0), Verdict::Wait(secs(1)));
        t.refund(&"10.0.0.1");
        assert_eq!(t.check(&"10.0.0.1", t0), Verdict::Allowed);
        for _ in 0..10 {
            t.refund(&"10.0.0.1");
        }
        assert!(t.entries.is_empty());
    }

    #[test]
    fn a_flood_of_keys_is_held_to_the_capacity() {
        let t0 = Instant::now();
        let mut t = Throttle::new(POLICY, 3);
        for i in 0..1000u32 {
            t.charge(&i, t0 + Duration::from_millis(u64::from(i)));
        }
        assert!(t.entries.len() <= 3, "{}", t.entries.len());
        // The newest keys are kept.
        assert!(t.entries.contains_key(&999));
    }

    #[test]
    fn the_longest_wait_wins() {
        use Verdict::*;
        assert_eq!(longest(Allowed, Allowed), Allowed);
        assert_eq!(longest(Wait(secs(2)), Allowed), Wait(secs(2)));
        assert_eq!(longest(Allowed, Wait(secs(3))), Wait(secs(3)));
        assert_eq!(longest(Wait(secs(2)), Wait(secs(3))), Wait(secs(3)));
    }
}
