//! Carries out the core's choice of group for an incoming event
//! ([`deskbridge_core::group_for`]): the adapters say what the event names, this
//! asks the store the one thing the core may need (which group has the call).

use std::sync::Arc;

use deskbridge_core::group_for::{Addressed, CallFound, GroupFor, GroupNotAllowed, GroupNumbers};
use deskbridge_store::StoreError;

use crate::state::{AppState, Group};

/// Why no group took an event.
#[derive(Debug, thiserror::Error)]
pub(super) enum NoGroup {
    #[error(transparent)]
    NotAllowed(#[from] GroupNotAllowed),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<NoGroup> for super::ApiError {
    fn from(e: NoGroup) -> Self {
        match e {
            NoGroup::NotAllowed(refused) => super::ApiError::invalid("group", refused.to_string()),
            NoGroup::Store(e) => e.into(),
        }
    }
}

/// The group of `groups` (a sender's, never empty) that `event` belongs to.
/// `in_batch`: the group an earlier event of the same request put this call in
/// (it is not in the store yet).
pub(super) async fn group_for(
    state: &AppState,
    groups: &[Arc<Group>],
    event: &Addressed<'_>,
    in_batch: Option<&Arc<Group>>,
) -> Result<Arc<Group>, NoGroup> {
    let numbers: Vec<GroupNumbers<'_>> = groups
        .iter()
        .map(|g| GroupNumbers {
            name: &g.name,
            region: g.region,
            numbers: &g.numbers,
        })
        .collect();
    let mut found = CallFound::NotAsked;
    loop {
        match deskbridge_core::group_for::group_for(event, &numbers, found) {
            // `index` is one of `numbers`', so of `groups`.
            GroupFor::Group { index, .. } => return Ok(groups[index].clone()),
            GroupFor::NotAllowed(refused) => return Err(refused.into()),
            GroupFor::FindCall(call_id) => {
                found = match in_batch.and_then(|g| groups.iter().position(|o| Arc::ptr_eq(o, g))) {
                    Some(index) => CallFound::In(index),
                    None => has_call(state, groups, call_id).await?,
                };
            }
        }
    }
}

/// Which of `groups` has the call `call_id` already.
async fn has_call(
    state: &AppState,
    groups: &[Arc<Group>],
    call_id: &str,
) -> Result<CallFound, StoreError> {
    for (index, group) in groups.iter().enumerate() {
        if state.store.call(&group.name, call_id).await?.is_some() {
            return Ok(CallFound::In(index));
        }
    }
    Ok(CallFound::Nowhere)
}
