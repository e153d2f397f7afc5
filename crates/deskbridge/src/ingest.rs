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

/// The event as the store takes it: with its group and the plan a new call of the
/// group starts under.
pub fn for_group(group: &Group, event: CallEvent) -> GroupEvent {
    GroupEvent {
        group: group.name.clone(),
        plan: group.plan.clone(),
        event,
    }
}

/// Commits the events (journal + interactions + next steps, one transaction,
/// shared with other requests) and counts them; returns only once they are
/// durable. Waits for room when the commit queue is full: for callers with no one
/// to refuse (the AMI client, the backfill).
pub async fn commit(state: &AppState, events: &[GroupEvent]) -> Result<IngestReport, StoreError> {
    let report = state.commits.commit(events).await?;
    count(events, &report);
    Ok(report)
}

/// [`commit`] for a request someone waits on: refused at once ([`Busy`], a 503
/// with `Retry-After`) when the commit queue is full.
pub async fn try_commit(
    state: &AppState,
    events: &[GroupEvent],
) -> Result<IngestReport, CommitError> {
    let report = state.commits.try_commit(events).await?;
    count(events, &report);
    Ok(report)
}

fn count(events: &[GroupEvent], report: &IngestReport) {
    for e in events {
        metrics::counter!("deskbridge_events_total", "group" => e.group.clone()).increment(1);
    }
    if report.duplicates > 0 {
        metrics::counter!("deskbridge_events_duplicate_total").increment(report.duplicates as u64);
    }
}
