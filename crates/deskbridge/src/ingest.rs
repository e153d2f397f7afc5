//! The one way translated events enter the journal, whichever adapter made them
//! (the HTTP ingest, the Asterisk AMI client, the backfill): each event with its
//! group's plan, committed by the store before anyone is told it was accepted,
//! through the commit batcher ([`committer`]), so that concurrent requests share
//! one durable commit.

pub mod committer;

use deskbridge_core::CallEvent;
use deskbridge_store::{GroupEvent, IngestReport, StoreError};

pub use committer::{Busy, CommitError, Committer};

use crate::state::{AppState, Group};

/// The event as the store takes it: with its group, the plan a new call of the
/// group starts under, and the group's callback triggers (the store announces
/// a callback the call opens or changes in the same transaction).
pub fn for_group(group: &Group, event: CallEvent) -> GroupEvent {
    GroupEvent {
        group: group.name.clone(),
        plan: group.plan.clone(),
        event,
        callback_triggers: group.callback_triggers.clone(),
    }
}

/// Which adapter an event came through: the `source` label of
/// `deskbridge_events_total` and `deskbridge_events_rejected_total`, so an
/// admin sees which phone system stopped sending, or sends what we refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `POST /api/v1/events`.
    Native,
    /// `POST /api/v1/twilio/{group}`.
    Twilio,
    /// `POST /api/v1/cti/{token}` (Zammad's generic CTI).
    Zammad,
    /// `POST /api/v1/amazon-connect`.
    AmazonConnect,
    /// The AMI client.
    Asterisk,
    /// `POST /api/v1/conversations`.
    Chat,
    /// `deskbridge backfill`.
    Backfill,
    /// `POST /api/v1/agent/dial`: the dialed call's start (and its end when the
    /// phone system refuses it).
    Dial,
    /// `POST /api/v1/calls/{id}/wrap_up`: an agent's wrap-up of a call.
    WrapUp,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Native => "native",
            Source::Twilio => "twilio",
            Source::Zammad => "zammad",
            Source::AmazonConnect => "amazon_connect",
            Source::Asterisk => "asterisk",
            Source::Chat => "chat",
            Source::Backfill => "backfill",
            Source::Dial => "dial",
            Source::WrapUp => "wrap_up",
        }
    }
}

/// Why a request's events were refused: `unauthorized` (no or a wrong token or
/// signature: the sender's configuration) or `invalid` (the events themselves).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    Unauthorized,
    Invalid,
}

impl Rejection {
    /// The rejection an HTTP client error stands for (`None` for a success or
    /// a server error, which is ours, not the sender's).
    pub fn of_status(status: axum::http::StatusCode) -> Option<Rejection> {
        match status.as_u16() {
            401 | 403 => Some(Rejection::Unauthorized),
            400..=499 => Some(Rejection::Invalid),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Rejection::Unauthorized => "unauthorized",
            Rejection::Invalid => "invalid",
        }
    }
}

/// Counts a refused request in `deskbridge_events_rejected_total`. `group` is
/// a configured group's name, or `None` when the request named none of ours
/// (never the name it sent: the label's values stay the configured set).
pub fn rejected(source: Source, group: Option<&Group>, why: Rejection) {
    let group = group.map_or_else(|| "unknown".to_string(), |g| g.name.clone());
    metrics::counter!(
        "deskbridge_events_rejected_total",
        "source" => source.as_str(),
        "group" => group,
        "reason" => why.as_str(),
    )
    .increment(1);
}

/// Commits the events (journal + interactions + next steps, one transaction,
/// shared with other requests) and counts them; returns only once they are
/// durable. Waits for room when the commit queue is full: for callers with no one
/// to refuse (the AMI client, the backfill).
pub async fn commit(
    state: &AppState,
    source: Source,
    events: &[GroupEvent],
) -> Result<IngestReport, StoreError> {
    within_bounds(events)?;
    let report = state.commits.commit(events).await?;
    count(source, events, &report);
    Ok(report)
}

/// [`commit`] for a request someone waits on: refused at once ([`Busy`], a 503
/// with `Retry-After`) when the commit queue is full.
pub async fn try_commit(
    state: &AppState,
    source: Source,
    events: &[GroupEvent],
) -> Result<IngestReport, CommitError> {
    within_bounds(events)?;
    let report = state.commits.try_commit(events).await?;
    count(source, events, &report);
    Ok(report)
}

/// Every event within the core's [`bounds`](deskbridge_core::bounds), whichever
/// adapter made it: the first one out of bounds refuses the request as an
/// event the store cannot take ([`StoreError::Apply`], which each adapter
/// already answers: a 422 naming the field, a skipped AMI event, a bad
/// backfill line), before anything is queued.
fn within_bounds(events: &[GroupEvent]) -> Result<(), StoreError> {
    let now = chrono::Utc::now();
    for (index, e) in events.iter().enumerate() {
        deskbridge_core::bounds::check(&e.event, now).map_err(|out| StoreError::Apply {
            index,
            source: out.into(),
        })?;
    }
    Ok(())
}

fn count(source: Source, events: &[GroupEvent], report: &IngestReport) {
    for e in events {
        metrics::counter!(
            "deskbridge_events_total",
            "source" => source.as_str(),
            "group" => e.group.clone(),
        )
        .increment(1);
    }
    for (group, outcome) in &report.ended {
        metrics::counter!(
            "deskbridge_calls_total",
            "group" => group.clone(),
            "outcome" => outcome.as_str(),
        )
        .increment(1);
    }
    if report.duplicates > 0 {
        metrics::counter!("deskbridge_events_duplicate_total").increment(report.duplicates as u64);
    }
}
