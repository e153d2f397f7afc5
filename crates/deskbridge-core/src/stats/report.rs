//! The figures as `GET /api/v1/stats` gives them: JSON or CSV, the same
//! columns in the same order, each interval's values derived from its
//! summed [`Totals`] by the one set of formulas in `totals.rs`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::totals::Totals;

/// One interval's figures (`{"intervals": [...]}`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntervalFigures {
    /// The interval's start (UTC).
    pub start: DateTime<Utc>,
    /// Offers to the queues: a call sent from one queue to another is
    /// offered in both.
    pub offered: i64,
    pub answered: i64,
    /// Nobody took the call and the caller did not hang up (no answer,
    /// voicemail, busy).
    pub missed: i64,
    /// The caller hung up while waiting, after `short_abandon_seconds`.
    pub abandoned: i64,
    /// Answered after waiting at most `service_level_seconds`.
    pub answered_within: i64,
    /// `answered_within` over offers less short abandons and less calls
    /// sent on to another queue or destination, 0..1 (4 decimals); `null`
    /// when there is nothing to judge.
    pub service_level: Option<f64>,
    /// The average wait of answered calls, in seconds (1 decimal).
    pub average_speed_of_answer_s: Option<f64>,
    /// The average talk time of answered calls, in seconds (1 decimal).
    pub average_talk_s: Option<f64>,
    /// The caller hung up sooner than `short_abandon_seconds`.
    pub short_abandoned: i64,
    /// Sent on while waiting, to another queue or another destination.
    pub transferred: i64,
}

/// The body of `GET /api/v1/stats`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsReport {
    pub intervals: Vec<IntervalFigures>,
}

impl IntervalFigures {
    pub fn new(start: DateTime<Utc>, totals: &Totals) -> IntervalFigures {
        IntervalFigures {
            start,
            offered: totals.offered,
            answered: totals.answered,
            missed: totals.missed,
            abandoned: totals.abandoned,
            answered_within: totals.answered_within,
            service_level: totals.service_level().map(|v| round(v, 10_000.0)),
            average_speed_of_answer_s: totals.average_speed_of_answer_s().map(|v| round(v, 10.0)),
            average_talk_s: totals.average_talk_s().map(|v| round(v, 10.0)),
            short_abandoned: totals.short_abandoned,
            transferred: totals.transferred,
        }
    }
}

impl StatsReport {
    /// The report of intervals with their summed totals (as
    /// [`super::Period::roll_up`] gives them).
    pub fn new(intervals: &[(DateTime<Utc>, Totals)]) -> StatsReport {
        StatsReport {
            intervals: intervals
                .iter()
                .map(|(start, totals)| IntervalFigures::new(*start, totals))
                .collect(),
        }
    }

    /// The same figures as CSV (`Accept: text/csv`): a header line with the
    /// JSON's field names, one line per interval, an empty cell for `null`,
    /// lines ending in CRLF (RFC 4180). No value needs quoting: they are
    /// numbers and times.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(CSV_HEADER);
        out.push_str("\r\n");
        for f in &self.intervals {
            let cells = [
                f.start.to_rfc3339_opts(SecondsFormat::Secs, true),
                f.offered.to_string(),
                f.answered.to_string(),
                f.missed.to_string(),
                f.abandoned.to_string(),
                f.answered_within.to_string(),
                cell(f.service_level),
                cell(f.average_speed_of_answer_s),
                cell(f.average_talk_s),
                f.short_abandoned.to_string(),
                f.transferred.to_string(),
            ];
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        }
        out
    }
}

/// The CSV's header: the JSON's field names, in its order.
pub const CSV_HEADER: &str = "start,offered,answered,missed,abandoned,answered_within,\
service_level,average_speed_of_answer_s,average_talk_s,short_abandoned,transferred";

fn cell(value: Option<f64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn round(value: f64, scale: f64) -> f64 {
    (value * scale).round() / scale
}
