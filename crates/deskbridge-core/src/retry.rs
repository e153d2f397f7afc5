//! Whether, and when, a failed attempt is tried again: one judgement for a
//! call's steps (its pops included) and the CRM triggers' notifications.
//!
//! Both are retried the same way: a failure that retrying cannot fix (a
//! helpdesk's validation error, a trigger address that may not be reached)
//! gives up at once; any other is tried again after its schedule's wait for
//! that attempt, never sooner than the other side asked (`Retry-After`, up to
//! [`MAX_RETRY_AFTER`]), until the schedule runs out. What differs is only the
//! schedule: a step backs off exponentially over minutes ([`Backoff`]); a
//! notification is spread over about a day
//! ([`crate::trigger::retry::RetrySchedule`]). The workers carry the verdict
//! out (they put the step or notification back with its wait, or record it as
//! failed); they decide nothing themselves.
//!
//! A request a helpdesk client held back unsent ([`HelpdeskError::HeldBack`])
//! was not an attempt: it waits exactly until its limit has room and spends
//! nothing of the schedule ([`Retry::Held`]). Counting it would turn a plan's
//! busy minute (Freshdesk Growth creates 80 tickets a minute; a busy queue
//! may ring more) into exponential waits and, at `max_attempts`, a call given
//! up without a single request having failed.

use std::time::Duration;

use crate::ports::HelpdeskError;

/// The longest a `Retry-After` is honoured: an answer asking for more is tried
/// again then anyway (and, for a notification, ends as a dead letter when its
/// schedule runs out).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(6 * 3600);

/// What a failed attempt says about trying again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    /// Trying again may succeed.
    pub retryable: bool,
    /// The earliest time to try again that the other side named, if any.
    pub retry_after: Option<Duration>,
    /// Nothing was sent: a limit counted before sending held it back.
    pub held_back: bool,
}

impl Failure {
    /// A failed attempt, retryable or not, with the wait asked for.
    pub fn tried(retryable: bool, retry_after: Option<Duration>) -> Failure {
        Failure {
            retryable,
            retry_after,
            held_back: false,
        }
    }
}

impl Failure {
    /// The failure of a step's run that `wrote` before it failed: a request
    /// held back after a write is an attempt (the re-run must look for what
    /// was written, as any retry does), not a hold.
    pub fn after_writes(mut self, wrote: bool) -> Failure {
        self.held_back &= !wrote;
        self
    }
}

impl From<&HelpdeskError> for Failure {
    fn from(e: &HelpdeskError) -> Self {
        Failure {
            retryable: e.is_transient(),
            retry_after: e.retry_after(),
            held_back: matches!(e, HelpdeskError::HeldBack { .. }),
        }
    }
}

/// What becomes of a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Try again after this wait.
    In(Duration),
    /// Nothing was tried: try again after this wait, the attempt not spent.
    Held(Duration),
    /// Do not try again: retrying cannot help, or the attempts are used up.
    GiveUp,
}

/// The verdict on a failure, given the schedule's wait before the next attempt
/// (`None` when the schedule has no attempt left).
pub fn judge(failure: Failure, wait: Option<Duration>) -> Retry {
    let asked = failure.retry_after.map(|r| r.min(MAX_RETRY_AFTER));
    match (failure.retryable, failure.held_back, wait) {
        (false, _, _) => Retry::GiveUp,
        // Until the limit has room, and not a busy loop if it named none.
        (true, true, _) => Retry::Held(asked.unwrap_or(HELD_AT_LEAST).max(HELD_AT_LEAST)),
        (true, false, None) => Retry::GiveUp,
        (true, false, Some(wait)) => Retry::In(wait.max(asked.unwrap_or_default())),
    }
}

/// The shortest wait of a held-back step: a limit that says "room now" (its
/// window turned while the step was on its way back) is asked again a moment
/// later, not in a loop.
pub const HELD_AT_LEAST: Duration = Duration::from_millis(100);

/// The attempt a step's run is judged as: its claims (`claims`, 1 for the
/// first) less its earlier runs cut off before they could succeed or fail
/// (`cut_off`: the worker stopped, and another took the step over when the
/// lease ran out). A run cut off learnt nothing of the helpdesk, so it spends
/// none of the schedule. Counting it, a call whose step was running through a
/// few restarts gave up after fewer failures than `max_attempts` (the
/// 10,000-call chaos runs of stop 39 each lost a call so: twelve claims, a
/// third of them takeovers).
pub fn counted_attempt(claims: u32, cut_off: u32) -> u32 {
    claims.saturating_sub(cut_off).max(1)
}

/// A call's steps: exponential backoff with jitter, `max_attempts` in all
/// (`[jobs]` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub max_attempts: u32,
    pub base: Duration,
    pub max: Duration,
}

/// The range a caller draws a step's jitter from: ±25%, so that a burst of
/// failures does not retry in lockstep.
pub const JITTER: std::ops::RangeInclusive<f64> = 0.75..=1.25;

impl Backoff {
    /// The wait after failed attempt `attempt` (1 for the first): base ×
    /// 2^(attempt-1), capped at `max`, times `jitter` (drawn by the caller from
    /// [`JITTER`], so that this stays pure); `None` once `max_attempts` are used.
    pub fn wait(&self, attempt: u32, jitter: f64) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let exp = attempt.clamp(1, 20) - 1;
        let raw = self.base.saturating_mul(1u32 << exp.min(16)).min(self.max);
        Some(raw.mul_f64(jitter.clamp(*JITTER.start(), *JITTER.end())))
    }

    /// Whether a step whose runs were cut off `cut_off` times runs again. Cut-off
    /// runs spend no attempt ([`counted_attempt`]), but a step whose run stops
    /// its instance every time (a crash it causes) must still end: it may be cut
    /// off `max_attempts` times, a bound of its own.
    pub fn runs_again_after(&self, cut_off: u32) -> bool {
        cut_off < self.max_attempts
    }

    /// The verdict on step attempt `attempt` that failed with `error`, having
    /// sent a write first or not (`wrote`).
    pub fn judge(&self, attempt: u32, error: &HelpdeskError, wrote: bool, jitter: f64) -> Retry {
        let failure = Failure::from(error).after_writes(wrote);
        judge(failure, self.wait(attempt, jitter))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BACKOFF: Backoff = Backoff {
        max_attempts: 5,
        base: Duration::from_millis(1000),
        max: Duration::from_secs(10),
    };

    fn ms(d: Retry) -> u128 {
        match d {
            Retry::In(d) => d.as_millis(),
            Retry::Held(_) => panic!("held back"),
            Retry::GiveUp => panic!("gave up"),
        }
    }

    #[test]
    fn a_step_held_back_unsent_waits_for_its_limit_and_spends_no_attempt() {
        let held = |millis| HelpdeskError::HeldBack {
            reason: "Freshdesk POST /api/v2/tickets: 80 a minute".into(),
            after: Duration::from_millis(millis),
        };
        // Exactly the limit's wait, not the backoff's (which would be 4 s).
        assert_eq!(
            BACKOFF.judge(3, &held(40_000), false, 1.0),
            Retry::Held(Duration::from_secs(40))
        );
        assert_eq!(
            BACKOFF.judge(1, &held(250), false, 1.25),
            Retry::Held(Duration::from_millis(250))
        );
        // Its attempts are not used up by holds: even at the last one it waits.
        assert_eq!(
            BACKOFF.judge(5, &held(1000), false, 1.0),
            Retry::Held(Duration::from_secs(1))
        );
        // "Room now" is asked again a moment later, and a hold is capped.
        assert_eq!(
            BACKOFF.judge(1, &held(0), false, 1.0),
            Retry::Held(HELD_AT_LEAST)
        );
        assert_eq!(
            BACKOFF.judge(1, &held(9 * 3600 * 1000), false, 1.0),
            Retry::Held(MAX_RETRY_AFTER)
        );
        // Held back after a write in the same run: an attempt, so the re-run
        // looks for what was written instead of writing it again.
        assert_eq!(ms(BACKOFF.judge(1, &held(40_000), true, 1.0)), 40_000);
        assert_eq!(BACKOFF.judge(5, &held(1000), true, 1.0), Retry::GiveUp);
        // A 429 answered is an attempt: it waits as long as asked, and counts.
        let answered = HelpdeskError::RetryAfter {
            reason: "Freshdesk rate limit".into(),
            after: Duration::from_secs(40),
        };
        assert_eq!(ms(BACKOFF.judge(1, &answered, false, 1.0)), 40_000);
        assert_eq!(BACKOFF.judge(5, &answered, false, 1.0), Retry::GiveUp);
    }

    #[test]
    fn a_run_cut_off_by_a_stopped_worker_spends_no_attempt_but_has_a_bound() {
        let plain = HelpdeskError::Transient("timeout".into());
        // Claimed five times, four of them after a worker stopped: the run
        // failing now is the step's first failure, and waits as one.
        assert_eq!(counted_attempt(5, 4), 1);
        assert_eq!(
            ms(BACKOFF.judge(counted_attempt(5, 4), &plain, false, 1.0)),
            1000
        );
        // Without the takeovers it would have been the last attempt.
        assert_eq!(BACKOFF.judge(5, &plain, false, 1.0), Retry::GiveUp);
        // Failures still count: two failed, two cut off, the fifth claim fails.
        assert_eq!(counted_attempt(5, 2), 3);
        // The first claim is attempt 1 whatever the count says.
        assert_eq!(counted_attempt(1, 0), 1);
        assert_eq!(counted_attempt(0, 0), 1);
        // A step cut off as often as it may be attempted runs no more.
        assert!(BACKOFF.runs_again_after(4));
        assert!(!BACKOFF.runs_again_after(5));
    }

    #[test]
    fn a_steps_wait_doubles_and_caps_within_its_jitter() {
        let plain = HelpdeskError::Transient("timeout".into());
        assert_eq!(ms(BACKOFF.judge(1, &plain, false, 1.0)), 1000);
        assert_eq!(ms(BACKOFF.judge(2, &plain, false, 1.0)), 2000);
        assert_eq!(ms(BACKOFF.judge(3, &plain, false, 1.0)), 4000);
        assert_eq!(ms(BACKOFF.judge(4, &plain, false, 1.0)), 8000);
        assert_eq!(ms(BACKOFF.judge(1, &plain, false, 0.75)), 750);
        assert_eq!(ms(BACKOFF.judge(1, &plain, false, 1.25)), 1250);
        // A jitter out of range is held to it.
        assert_eq!(ms(BACKOFF.judge(1, &plain, false, 9.0)), 1250);
        let long = Backoff {
            max_attempts: 30,
            ..BACKOFF
        };
        assert_eq!(
            ms(long.judge(20, &plain, false, 1.0)),
            10_000,
            "capped at max"
        );
    }

    #[test]
    fn a_step_gives_up_when_its_attempts_are_used_or_retrying_cannot_help() {
        let plain = HelpdeskError::Transient("timeout".into());
        assert_eq!(BACKOFF.judge(5, &plain, false, 1.0), Retry::GiveUp);
        assert_eq!(BACKOFF.judge(6, &plain, false, 1.0), Retry::GiveUp);
        let invalid = HelpdeskError::Permanent("requester: is invalid".into());
        assert_eq!(BACKOFF.judge(1, &invalid, false, 1.0), Retry::GiveUp);
    }

    #[test]
    fn a_retry_waits_at_least_as_long_as_the_other_side_asked_up_to_the_cap() {
        let limited = |secs| HelpdeskError::RetryAfter {
            reason: "Zendesk rate limit".into(),
            after: Duration::from_secs(secs),
        };
        // Longer than the backoff, and than its cap: Retry-After wins.
        assert_eq!(ms(BACKOFF.judge(1, &limited(30), false, 1.0)), 30_000);
        // Shorter than the backoff: the backoff wins.
        assert_eq!(ms(BACKOFF.judge(3, &limited(1), false, 1.0)), 4000);
        // Past the cap: the cap.
        assert_eq!(
            BACKOFF.judge(1, &limited(7 * 3600), false, 1.0),
            Retry::In(MAX_RETRY_AFTER)
        );
        // The attempts still run out.
        assert_eq!(BACKOFF.judge(5, &limited(30), false, 1.0), Retry::GiveUp);
    }

    #[test]
    fn the_one_judgement_reads_a_failure_and_a_schedules_wait() {
        let wait = Some(Duration::from_secs(5));
        let retryable = Failure::tried(true, None);
        assert_eq!(judge(retryable, wait), Retry::In(Duration::from_secs(5)));
        assert_eq!(judge(retryable, None), Retry::GiveUp);
        let refused = Failure::tried(false, Some(Duration::from_secs(1)));
        assert_eq!(judge(refused, wait), Retry::GiveUp);
    }
}
