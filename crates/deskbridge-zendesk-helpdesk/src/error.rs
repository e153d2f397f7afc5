//! Zendesk's failures as the helpdesk port reports them, and Zendesk ids read
//! from the port's strings.

use deskbridge_core::ports::HelpdeskError;
use deskbridge_zendesk::ZendeskError;

/// The client's sorting of a failure, for the worker: it retries transient ones
/// (not before Zendesk's `Retry-After`), waits out held-back ones
/// without spending an attempt, and records permanent ones.
pub(crate) fn helpdesk_error(e: ZendeskError) -> HelpdeskError {
    match e {
        ZendeskError::HeldBack(after) => HelpdeskError::held_back(after, e.to_string()),
        e => HelpdeskError::sorted(e.is_transient(), e.retry_after(), e.to_string()),
    }
}

pub(crate) fn zid(id: &str, what: &str) -> Result<u64, HelpdeskError> {
    id.parse()
        .map_err(|_| HelpdeskError::Permanent(format!("{what} {id:?} is not a Zendesk id")))
}
