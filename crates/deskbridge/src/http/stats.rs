//! `GET /api/v1/stats`: the contact center's figures per hour or day, as
//! JSON or (`Accept: text/csv`) CSV.
//!
//! Nothing is counted here. Each measure is the core's (`deskbridge_core::stats`);
//! the store keeps their sums per hour as calls are saved and sums the hours
//! asked for ([`deskbridge_store::Figures`]); the core's `Period` rolls the
//! hours up into the intervals and `StatsReport` derives the service level
//! and averages. So a day of 100,000 calls is a few hundred rows summed, not
//! 100,000 calls recounted per request.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use deskbridge_core::AgentRef;
use deskbridge_core::stats::{Interval, Period, StatsError, StatsReport, agent_key};
use deskbridge_store::FiguresFilter;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiError;
use super::caller::Caller;
use super::openapi::bodies as doc;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(stats))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// The period's start, RFC 3339 (`2026-11-22T00:00:00Z`; a `+` offset
    /// written `%2B`), rounded down to the interval. Default: the start of
    /// today (UTC).
    from: Option<String>,
    /// The period's end (excluded), RFC 3339, rounded up to the interval.
    /// Default: the end of the current hour, so today so far.
    to: Option<String>,
    /// One of the groups you read (default: all of them).
    group: Option<String>,
    /// One queue, as the phone system names it (default: every queue, and
    /// the calls that came without one).
    queue: Option<String>,
    /// The calls one agent answered: their email (any case), else the
    /// extension or the name the phone system gave.
    agent: Option<String>,
    /// `hour` (the default) or `day` (UTC days).
    interval: Option<String>,
}

/// `GET /api/v1/stats`: the figures of the period, one entry per interval
/// (empty ones included), summed over the groups, queues and agents the
/// filters leave in.
#[utoipa::path(
    get,
    path = "/stats",
    operation_id = "get_stats",
    tag = "stats",
    params(StatsQuery),
    security(("group_token" = []), ("agent_session" = [])),
    responses(
        (status = 200, description = "The figures per interval; the same columns as CSV with `Accept: text/csv`", content(
            (StatsReport = "application/json"),
            (String = "text/csv"),
        )),
        (status = 422, description = "A time that is not RFC 3339, a group you do not read (`invalid`, with `field`), an unknown interval (`unknown_interval`), `to` not after `from` (`empty_period`), or over 10,000 intervals (`too_many_intervals`)", body = doc::ApiErrorBody),
        (status = 401, description = "No credentials, or not valid (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 403, description = "A signed-in agent who is neither a supervisor nor an admin (`not_supervisor`)", body = doc::ApiErrorBody),
    )
)]
async fn stats(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    Query(q): Query<StatsQuery>,
) -> Result<Response, ApiError> {
    let Some(readable) = caller.figure_groups(&state) else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_supervisor",
            "the figures are for supervisors: set `supervisor = true` (or `admin = true`) \
             on your agent in the config ([[agents]])",
        ));
    };
    let groups: Vec<String> = match q.group.as_deref().filter(|g| !g.is_empty()) {
        None => readable.iter().map(|g| g.name.clone()).collect(),
        Some(name) if readable.iter().any(|g| g.name == name) => vec![name.to_string()],
        Some(name) => {
            let names: Vec<&str> = readable.iter().map(|g| g.name.as_str()).collect();
            return Err(bad(
                "group",
                "invalid",
                format!(
                    "you may not read group {name:?}; you read: {}",
                    names.join(", ")
                ),
            ));
        }
    };
    let period = period(&q, Utc::now())?;
    let filter = FiguresFilter {
        groups,
        from: period.from(),
        to: period.to(),
        // Queue names are kept trimmed, as the phone systems' events name them.
        queue: q
            .queue
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        agent: q.agent.as_deref().and_then(figures_agent),
    };
    let hours = state.store.hourly_figures(&filter).await?;
    let report = StatsReport::new(&period.roll_up(hours));
    Ok(match wants_csv(&headers) {
        true => (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            report.to_csv(),
        )
            .into_response(),
        false => Json(report).into_response(),
    })
}

/// The period the query asks for, with its defaults: today (UTC) so far,
/// by the hour.
fn period(q: &StatsQuery, now: DateTime<Utc>) -> Result<Period, ApiError> {
    let interval = match q.interval.as_deref() {
        None | Some("") => Interval::Hour,
        Some(given) => given.parse().map_err(|e| refused("interval", &e))?,
    };
    let from = match q.from.as_deref() {
        Some(text) => time("from", text)?,
        None => Interval::Day.start_of(now),
    };
    let to = match q.to.as_deref() {
        Some(text) => time("to", text)?,
        None => Interval::Hour.next(Interval::Hour.start_of(now)),
    };
    Period::new(from, to, interval).map_err(|e| {
        let field = match e {
            StatsError::EmptyPeriod if q.to.is_none() => "from",
            StatsError::UnknownInterval(_) => "interval",
            _ => "to",
        };
        refused(field, &e)
    })
}

/// An RFC 3339 time. A `+` offset sent unencoded reaches the query as a
/// space: read it as the `+` it was.
fn time(field: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text)
        .or_else(|e| DateTime::parse_from_rfc3339(&text.replace(' ', "+")).map_err(|_| e))
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            bad(
                field,
                "invalid",
                format!(
                    "{text:?} is not an RFC 3339 time ({e}); send e.g. 2026-11-22T00:00:00Z \
                     (a + offset as %2B)"
                ),
            )
        })
}

/// The key the figures keep an agent's calls under (the core's
/// [`agent_key`]): an email compared in lowercase, an extension or a name as
/// given.
fn figures_agent(given: &str) -> Option<String> {
    let given = given.trim();
    if given.is_empty() {
        return None;
    }
    let agent = match given.contains('@') {
        true => AgentRef {
            email: Some(given.to_string()),
            ..AgentRef::default()
        },
        false => AgentRef {
            extension: Some(given.to_string()),
            ..AgentRef::default()
        },
    };
    agent_key(&agent)
}

/// Whether the client asked for CSV (`Accept: text/csv`, alone or first).
fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|media| media.split(';').next().unwrap_or("").trim())
        .find(|media| *media == "text/csv" || *media == "application/json")
        .is_some_and(|media| media == "text/csv")
}

/// A 422 naming the query parameter to change, as the rest of the API answers
/// a parameter it cannot take.
fn bad(field: &str, code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError {
        field: Some(field.to_string()),
        ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }
}

fn refused(field: &str, e: &StatsError) -> ApiError {
    bad(field, e.code(), e.to_string())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn query(from: Option<&str>, to: Option<&str>, interval: Option<&str>) -> StatsQuery {
        StatsQuery {
            from: from.map(str::to_string),
            to: to.map(str::to_string),
            group: None,
            queue: None,
            agent: None,
            interval: interval.map(str::to_string),
        }
    }

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, h, m, 0).unwrap()
    }

    #[test]
    fn the_default_period_is_today_so_far_by_the_hour() {
        let p = period(&query(None, None, None), at(10, 30)).unwrap();
        assert_eq!(
            (p.from(), p.to(), p.interval()),
            (at(0, 0), at(11, 0), Interval::Hour)
        );
        let days = period(&query(None, None, Some("day")), at(10, 30)).unwrap();
        assert_eq!(days.starts().count(), 1);
    }

    #[test]
    fn times_are_rfc_3339_with_an_offset_sent_unencoded_read_as_plus() {
        let q = query(
            Some("2026-11-22T11:00:00 01:00"),
            Some("2026-11-22T12:00:00Z"),
            None,
        );
        let p = period(&q, at(23, 0)).unwrap();
        assert_eq!((p.from(), p.to()), (at(10, 0), at(12, 0)));
    }

    #[test]
    fn bad_input_is_refused_naming_what_to_change() {
        let now = at(10, 30);
        for (q, field, code) in [
            (query(Some("yesterday"), None, None), "from", "invalid"),
            (query(None, Some("2026-11-22"), None), "to", "invalid"),
            (
                query(None, None, Some("week")),
                "interval",
                "unknown_interval",
            ),
            (
                query(
                    Some("2026-11-22T12:00:00Z"),
                    Some("2026-11-22T11:00:00Z"),
                    None,
                ),
                "to",
                "empty_period",
            ),
            (
                query(None, Some("2026-11-21T11:00:00Z"), None),
                "to",
                "empty_period",
            ),
            (
                query(Some("2026-11-23T00:00:00Z"), None, None),
                "from",
                "empty_period",
            ),
            (
                query(
                    Some("2000-01-01T00:00:00Z"),
                    Some("2026-01-01T00:00:00Z"),
                    None,
                ),
                "to",
                "too_many_intervals",
            ),
        ] {
            let e = period(&q, now).unwrap_err();
            assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY, "{q:?}");
            assert_eq!(
                (e.field.as_deref(), e.code),
                (Some(field), code),
                "{q:?}: {}",
                e.message
            );
        }
    }

    #[test]
    fn an_agent_is_asked_for_by_the_key_the_figures_keep() {
        assert_eq!(
            figures_agent(" Ann@Acme.COM ").as_deref(),
            Some("ann@acme.com")
        );
        assert_eq!(figures_agent("101").as_deref(), Some("101"));
        assert_eq!(figures_agent("  "), None);
    }

    #[test]
    fn csv_is_given_when_asked_for_first() {
        let with = |accept: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT, accept.parse().unwrap());
            wants_csv(&h)
        };
        assert!(with("text/csv"));
        assert!(with("text/csv; charset=utf-8, */*"));
        assert!(!with("application/json, text/csv"));
        assert!(!with("*/*"));
        assert!(!wants_csv(&HeaderMap::new()));
    }
}
