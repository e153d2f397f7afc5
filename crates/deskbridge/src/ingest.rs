//! The one way translated events enter the journal, whichever adapter made them
//! (the HTTP ingest, the Asterisk AMI client): each event with its group's plan,
//! committed by the store before anyone is told it was accepted.

use deskbridge_core::CallEvent;
use deskbridge_store::{GroupEvent, IngestReport, StoreError};

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

/// Commits the events (journal + interactions + next steps, one transaction) and
/// counts them; returns only once they are durable.
pub async fn commit(state: &AppState, events: &[GroupEvent]) -> Result<IngestReport, StoreError> {
    let report = state.store.ingest(events).await?;
    for e in events {
        metrics::counter!("deskbridge_events_total", "group" => e.group.clone()).increment(1);
    }
    if report.duplicates > 0 {
        metrics::counter!("deskbridge_events_duplicate_total").increment(report.duplicates as u64);
    }
    Ok(report)
}
