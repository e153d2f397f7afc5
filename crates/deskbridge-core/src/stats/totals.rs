//! Sums that add up: what the store keeps per hour, group, queue and agent.
//!
//! A day of 100,000 calls must answer in milliseconds, so the figures are not
//! recounted from the calls on each request: when a call ends, its
//! [`contributions`] are added to rows keyed by [`TotalsKey`], and a request
//! sums the rows it covers. That only works for measures that add up, so
//! [`Totals`] holds counts and sums only; the ratios and averages are
//! derived from summed totals, here and nowhere else
//! ([`Totals::service_level`], [`Totals::average_speed_of_answer_s`],
//! [`Totals::average_talk_s`]). The counters are signed so that a call whose
//! facts change after it was counted (a late event) can be taken back out
//! ([`revise`]).

use std::collections::BTreeMap;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::intervals::Interval;
use super::measures::{Ending, QueueOffer, offers};
use crate::interaction::Interaction;
use crate::policy::Thresholds;

/// Counts and sums of offers; see [`crate::stats`] for each definition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct Totals {
    pub offered: i64,
    pub answered: i64,
    pub answered_within: i64,
    pub abandoned: i64,
    pub short_abandoned: i64,
    pub missed: i64,
    pub transferred: i64,
    /// Waits of answered offers, summed (for the average speed of answer).
    pub wait_ms: i64,
    /// Talk times of answered offers, summed.
    pub talk_ms: i64,
}

impl Totals {
    /// What one offer adds.
    pub fn of(offer: &QueueOffer) -> Totals {
        let one = |ending: Ending| i64::from(offer.ending == ending);
        let answered = one(Ending::Answered);
        Totals {
            offered: 1,
            answered,
            answered_within: i64::from(offer.answered_within),
            abandoned: one(Ending::Abandoned),
            short_abandoned: one(Ending::ShortAbandoned),
            missed: one(Ending::Missed),
            transferred: one(Ending::Transferred),
            wait_ms: answered * offer.wait_ms,
            talk_ms: answered * offer.talk_ms,
        }
    }

    pub fn is_zero(&self) -> bool {
        *self == Totals::default()
    }

    /// The offers the service level judges: those offered less short
    /// abandons and less those sent on (judged where their wait ended).
    pub fn service_level_offers(&self) -> i64 {
        self.offered - self.short_abandoned - self.transferred
    }

    /// Answered in time over [`Totals::service_level_offers`], 0..1; `None`
    /// when there is nothing to judge.
    pub fn service_level(&self) -> Option<f64> {
        ratio(self.answered_within, self.service_level_offers())
    }

    /// The average wait of answered calls, in seconds.
    pub fn average_speed_of_answer_s(&self) -> Option<f64> {
        ratio(self.wait_ms, self.answered).map(|ms| ms / 1000.0)
    }

    /// The average talk time of answered calls, in seconds.
    pub fn average_talk_s(&self) -> Option<f64> {
        ratio(self.talk_ms, self.answered).map(|ms| ms / 1000.0)
    }
}

/// `part / whole`, `None` over nothing. Counts and milliseconds summed over
/// a contact center's history stay far below 2^53, where `f64` is exact.
fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

impl AddAssign for Totals {
    fn add_assign(&mut self, o: Totals) {
        self.offered += o.offered;
        self.answered += o.answered;
        self.answered_within += o.answered_within;
        self.abandoned += o.abandoned;
        self.short_abandoned += o.short_abandoned;
        self.missed += o.missed;
        self.transferred += o.transferred;
        self.wait_ms += o.wait_ms;
        self.talk_ms += o.talk_ms;
    }
}

impl Add for Totals {
    type Output = Totals;
    fn add(mut self, o: Totals) -> Totals {
        self += o;
        self
    }
}

impl Neg for Totals {
    type Output = Totals;
    fn neg(self) -> Totals {
        Totals {
            offered: -self.offered,
            answered: -self.answered,
            answered_within: -self.answered_within,
            abandoned: -self.abandoned,
            short_abandoned: -self.short_abandoned,
            missed: -self.missed,
            transferred: -self.transferred,
            wait_ms: -self.wait_ms,
            talk_ms: -self.talk_ms,
        }
    }
}

impl SubAssign for Totals {
    fn sub_assign(&mut self, o: Totals) {
        *self += -o;
    }
}

impl Sub for Totals {
    type Output = Totals;
    fn sub(self, o: Totals) -> Totals {
        self + -o
    }
}

impl std::iter::Sum for Totals {
    fn sum<I: Iterator<Item = Totals>>(iter: I) -> Totals {
        iter.fold(Totals::default(), Add::add)
    }
}

/// Where a call's offer is added: the hour (UTC) the caller joined the
/// queue, the call's group, the queue (`None`: no queue data) and the agent
/// who answered (`None` for an offer nobody answered).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TotalsKey {
    pub hour: DateTime<Utc>,
    pub group: String,
    pub queue: Option<String>,
    pub agent: Option<String>,
}

/// What an ended call adds to the store's rows, one entry per key (offers
/// under the same key are summed); nothing for a call that is not offered or
/// not over.
pub fn contributions(call: &Interaction, thresholds: &Thresholds) -> Vec<(TotalsKey, Totals)> {
    let mut rows: BTreeMap<TotalsKey, Totals> = BTreeMap::new();
    for offer in offers(call, thresholds) {
        let key = TotalsKey {
            hour: Interval::Hour.start_of(offer.offered_at),
            group: call.group.clone(),
            queue: offer.queue.clone(),
            agent: offer.agent.clone(),
        };
        *rows.entry(key).or_default() += Totals::of(&offer);
    }
    rows.into_iter().collect()
}

/// What to add to the rows when a counted call changes (a late event moved
/// its answer, named another queue): its new contributions less its old
/// ones, without the keys that do not change. Counting a call for the first
/// time is `revise(&[], &new)`.
pub fn revise(
    before: &[(TotalsKey, Totals)],
    after: &[(TotalsKey, Totals)],
) -> Vec<(TotalsKey, Totals)> {
    let mut rows: BTreeMap<TotalsKey, Totals> = BTreeMap::new();
    for (key, totals) in after {
        *rows.entry(key.clone()).or_default() += *totals;
    }
    for (key, totals) in before {
        *rows.entry(key.clone()).or_default() -= *totals;
    }
    rows.into_iter().filter(|(_, t)| !t.is_zero()).collect()
}
