//! How long a call's steps wait: for the agent's decision, and, so that one
//! write carries them, for the recording and the agent's wrap-up.

use chrono::{DateTime, Utc};

use super::{Interaction, Outcome};

/// `secs` after `at`; a number of seconds too large for a date is far away,
/// not an overflow.
fn seconds_after(at: DateTime<Utc>, secs: u64) -> DateTime<Utc> {
    at + chrono::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 2000))
}

impl Interaction {
    /// When the agent's time to decide runs out.
    pub fn agent_deadline(&self) -> DateTime<Utc> {
        seconds_after(self.first_at, self.plan.agent_timeout_seconds)
    }

    /// Until when the call comment waits: for the recording and for the
    /// agent's wrap-up, whichever is still owed and later, so that one write
    /// carries them.
    pub(super) fn comment_deadline(&self) -> Option<DateTime<Utc>> {
        self.recording_deadline().max(self.wrap_up_deadline())
    }

    /// When the wrap-up time of an answered call of a group with wrap-up
    /// (`[groups.wrap_up] seconds`) ends, owed or not: what a wrap-up pause
    /// of this call lasts until.
    pub fn wrap_up_ends_at(&self) -> Option<DateTime<Utc>> {
        let rules = self.plan.wrap_up.as_ref()?;
        let ended = self.ended_at?;
        let answered = !self.agents.is_empty() && self.outcome() == Some(Outcome::Answered);
        answered.then(|| seconds_after(ended, rules.seconds))
    }

    /// Until when the call's comment waits for its wrap-up: its wrap-up
    /// time, while the wrap-up is owed (`crate::decide::wrap_up::due`).
    pub fn wrap_up_deadline(&self) -> Option<DateTime<Utc>> {
        let waits = self.plan.wrap_up.as_ref().is_some_and(|w| w.seconds > 0);
        self.wrap_up_ends_at()
            .filter(|_| waits && self.wrap_up.is_none())
    }

    /// An answered call that ended without its recording waits this long for it
    /// (when the group waits for recordings), so one write carries it.
    fn recording_deadline(&self) -> Option<DateTime<Utc>> {
        let ended = self.ended_at?;
        let waits = self.plan.wait_for_recording_seconds > 0
            && self.recording_url.is_none()
            && self.outcome() == Some(Outcome::Answered);
        waits.then(|| seconds_after(ended, self.plan.wait_for_recording_seconds))
    }
}
