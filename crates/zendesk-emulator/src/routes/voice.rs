//! Talk Partner Edition screen pops: "open this ticket / user in this agent's
//! browser". The emulator has no browser; it records each delivered pop so tests
//! can assert who saw what, and when.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde_json::json;

use super::{parse_id, reply};
use crate::Shared;
use crate::error::ApiError;
use crate::stats::{Pop, PopKind};

/// 200 `{}` when the agent (role agent or admin) and the target exist, else 404.
fn display(
    shared: &Shared,
    agent_id: &str,
    kind: PopKind,
    target_id: &str,
) -> Result<Response, ApiError> {
    let agent_id = parse_id(agent_id)?;
    let target_id = parse_id(target_id)?;
    {
        let store = shared.store();
        let agent_ok = store
            .user(agent_id)
            .is_some_and(|agent| agent.role.is_staff());
        let target_ok = match kind {
            PopKind::Ticket => store.ticket(target_id).is_some(),
            PopKind::User => store.user(target_id).is_some(),
        };
        if !agent_ok || !target_ok {
            return Err(ApiError::NotFound);
        }
    }
    shared.stats().pops.entry(agent_id).or_default().push(Pop {
        kind,
        id: target_id,
        at: Utc::now(),
    });
    Ok(reply(StatusCode::OK, json!({})))
}

pub(crate) async fn display_ticket(
    State(shared): State<Arc<Shared>>,
    Path((agent_id, ticket_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    display(&shared, &agent_id, PopKind::Ticket, &ticket_id)
}

pub(crate) async fn display_user(
    State(shared): State<Arc<Shared>>,
    Path((agent_id, user_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    display(&shared, &agent_id, PopKind::User, &user_id)
}
