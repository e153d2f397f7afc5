//! The intervals figures are given per: hours and days, in UTC.
//!
//! The store keeps one row per hour ([`super::TotalsKey`]); a day is the sum
//! of its 24 hours, so both intervals come from the same rows and always
//! agree. Days are UTC days: hours add up into them without a time zone, and
//! a contact center in another zone asks for hours and sums its own day.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::totals::Totals;

/// The most intervals one request may ask for: over a year by the hour.
pub const MAX_INTERVALS: i64 = 10_000;

/// How figures are split in time (`interval=hour|day`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    #[default]
    Hour,
    Day,
}

/// Why a request for figures cannot be answered; each says what to send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatsError {
    #[error("unknown interval {0:?}: send \"hour\" or \"day\"")]
    UnknownInterval(String),
    #[error("`to` must be after `from`")]
    EmptyPeriod,
    #[error(
        "the period has {0} intervals; ask for at most {MAX_INTERVALS} (a shorter period, or days)"
    )]
    TooManyIntervals(i64),
}

impl StatsError {
    /// A stable machine-readable name for the API's error body.
    pub fn code(&self) -> &'static str {
        match self {
            StatsError::UnknownInterval(_) => "unknown_interval",
            StatsError::EmptyPeriod => "empty_period",
            StatsError::TooManyIntervals(_) => "too_many_intervals",
        }
    }
}

impl Interval {
    pub fn as_str(self) -> &'static str {
        match self {
            Interval::Hour => "hour",
            Interval::Day => "day",
        }
    }

    fn length(self) -> TimeDelta {
        match self {
            Interval::Hour => TimeDelta::hours(1),
            Interval::Day => TimeDelta::days(1),
        }
    }

    /// The start of the interval `at` falls in (UTC).
    pub fn start_of(self, at: DateTime<Utc>) -> DateTime<Utc> {
        // Rounding down to an hour or a day of a valid time cannot fail.
        at.duration_trunc(self.length()).unwrap_or(at)
    }

    /// The start of the interval after the one starting at `start`.
    pub fn next(self, start: DateTime<Utc>) -> DateTime<Utc> {
        start + self.length()
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Interval {
    type Err = StatsError;
    fn from_str(s: &str) -> Result<Interval, StatsError> {
        match s {
            "hour" => Ok(Interval::Hour),
            "day" => Ok(Interval::Day),
            other => Err(StatsError::UnknownInterval(other.to_string())),
        }
    }
}

/// A period cut into intervals: `from` rounded down and `to` rounded up to
/// the interval, since the rows are kept per hour (a request for 10:30 to
/// 11:15 by the hour covers 10:00 to 12:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    interval: Interval,
}

impl Period {
    pub fn new(
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        interval: Interval,
    ) -> Result<Period, StatsError> {
        if to <= from {
            return Err(StatsError::EmptyPeriod);
        }
        let start = interval.start_of(from);
        let mut end = interval.start_of(to);
        if end < to {
            end = interval.next(end);
        }
        let count = (end - start).num_seconds() / interval.length().num_seconds();
        if count > MAX_INTERVALS {
            return Err(StatsError::TooManyIntervals(count));
        }
        Ok(Period {
            from: start,
            to: end,
            interval,
        })
    }

    /// The first hour the period covers: the store reads rows with
    /// `from() <= hour < to()`.
    pub fn from(&self) -> DateTime<Utc> {
        self.from
    }

    /// The end of the period (excluded).
    pub fn to(&self) -> DateTime<Utc> {
        self.to
    }

    pub fn interval(&self) -> Interval {
        self.interval
    }

    /// The start of every interval of the period, in order.
    pub fn starts(&self) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        std::iter::successors(Some(self.from), |s| Some(self.interval.next(*s)))
            .take_while(|s| *s < self.to)
    }

    /// Hour rows summed into the period's intervals: one entry for every
    /// interval, empty ones included (a wallboard's chart has no holes);
    /// rows outside the period are left out.
    pub fn roll_up(
        &self,
        hours: impl IntoIterator<Item = (DateTime<Utc>, Totals)>,
    ) -> Vec<(DateTime<Utc>, Totals)> {
        let mut sums: BTreeMap<DateTime<Utc>, Totals> =
            self.starts().map(|s| (s, Totals::default())).collect();
        for (hour, totals) in hours {
            if hour < self.from || hour >= self.to {
                continue;
            }
            *sums.entry(self.interval.start_of(hour)).or_default() += totals;
        }
        sums.into_iter().collect()
    }
}
