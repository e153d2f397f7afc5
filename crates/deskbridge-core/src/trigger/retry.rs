//! What becomes of a delivery after an attempt. Delivery is at least once: a
//! notification is tried until the endpoint answers 2xx or the schedule runs
//! out, and then kept as a dead letter that an admin can replay. The default
//! schedule spreads the attempts from seconds to hours over about a day, so a
//! receiver down for a night still gets everything, in order.

use std::time::Duration;

use crate::retry::{self, Failure, Retry};

/// The waits before each retry: after the first failed attempt the first wait,
/// and so on; when they run out the notification is a dead letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    pub waits: Vec<Duration>,
}

/// The longest a `Retry-After` is honoured (the same for steps and
/// notifications: [`crate::retry`]).
pub use crate::retry::MAX_RETRY_AFTER;

impl Default for RetrySchedule {
    /// 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 8 h, 8 h: eleven
    /// attempts over about 24 hours.
    fn default() -> Self {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        RetrySchedule {
            waits: vec![
                Duration::from_secs(5),
                Duration::from_secs(30),
                minutes(2),
                minutes(10),
                minutes(30),
                minutes(60),
                minutes(120),
                minutes(240),
                minutes(480),
                minutes(480),
            ],
        }
    }
}

/// How an attempt went, as the delivery worker saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The endpoint answered with this status (after redirects), and the
    /// `Retry-After` it sent, if any, in seconds or as a date already turned
    /// into a wait.
    Answered {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// No answer: the connection failed or the request timed out.
    NoAnswer,
    /// The URL's address (or a redirect's) may not be reached.
    AddressRefused,
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// Try again after this wait.
    RetryIn(Duration),
    /// Give up: keep it as a dead letter, for an admin to see and replay.
    DeadLetter,
}

impl RetrySchedule {
    /// The verdict on attempt number `attempts` (1 for the first) that went as
    /// `attempt` says.
    pub fn judge(&self, attempts: u32, attempt: &Attempt) -> Verdict {
        let failure = match attempt {
            Attempt::Answered { status, .. } if (200..300).contains(status) => {
                return Verdict::Delivered;
            }
            // An address refused stays refused until the admin allows private
            // networks or fixes the URL; both end in a replay.
            Attempt::AddressRefused => Failure::tried(false, None),
            // Only "slow down" (429) and "come back later" (503) ask for a wait.
            Attempt::Answered {
                status: 429 | 503,
                retry_after,
            } => Failure::tried(true, *retry_after),
            Attempt::Answered { .. } | Attempt::NoAnswer => Failure::tried(true, None),
        };
        let wait = self.waits.get(attempts.saturating_sub(1) as usize).copied();
        match retry::judge(failure, wait) {
            // A notification is always sent, so never held; were it, it waits.
            Retry::In(wait) | Retry::Held(wait) => Verdict::RetryIn(wait),
            Retry::GiveUp => Verdict::DeadLetter,
        }
    }

    /// The most attempts a notification gets.
    pub fn max_attempts(&self) -> u32 {
        self.waits.len() as u32 + 1
    }
}
