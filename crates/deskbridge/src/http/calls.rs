//! The calls API: one call with every decision explained, and the caller log.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use deskbridge_core::Phone;
use deskbridge_store::CallRecord;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, GroupAuth};
use crate::state::{AppState, Group};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/calls", get(list))
        .route("/calls/{call_id}", get(one))
}

async fn one(
    State(state): State<Arc<AppState>>,
    auth: GroupAuth,
    Path(call_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    for group in &auth.0 {
        if let Some(record) = state.store.call(&group.name, &call_id).await? {
            return Ok(Json(call_json(&record, group, true)));
        }
    }
    Err(ApiError::not_found(format!(
        "no call {call_id:?} in group(s) {}",
        auth.names().join(", ")
    )))
}

#[derive(Deserialize)]
struct ListQuery {
    phone: Option<String>,
    limit: Option<String>,
    group: Option<String>,
}

async fn list(
    State(state): State<Arc<AppState>>,
    auth: GroupAuth,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = match q.limit.as_deref() {
        None => 50,
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=500).contains(l))
            .ok_or_else(|| ApiError::invalid("limit", "must be a number from 1 to 500"))?,
    };
    let groups: Vec<Arc<Group>> = match q.group.as_deref() {
        Some(name) => vec![auth.get(name).cloned().ok_or_else(|| {
            ApiError::invalid(
                "group",
                format!(
                    "this token may not read group {name:?}; it reads: {}",
                    auth.names().join(", ")
                ),
            )
        })?],
        None => auth.0.clone(),
    };
    let phone = q
        .phone
        .as_deref()
        .map(|raw| Phone::parse(raw, groups[0].region).as_str().to_string());
    let names: Vec<String> = groups.iter().map(|g| g.name.clone()).collect();
    let calls = state.store.calls(&names, phone.as_deref(), limit).await?;
    let calls: Vec<Value> = calls
        .iter()
        .filter_map(|c| {
            let group = groups.iter().find(|g| g.name == c.interaction.group)?;
            Some(call_json(c, group, false))
        })
        .collect();
    Ok(Json(json!({ "calls": calls })))
}

pub(super) fn call_json(record: &CallRecord, group: &Group, with_steps: bool) -> Value {
    let call = &record.interaction;
    let policy = &group.policy;
    let ticket_rules = call.ticket_rules_shown(policy);
    let agent_wait = call
        .agent_wait(policy)
        .map(|reason| json!({ "reason": reason, "deadline": call.agent_deadline(policy) }));
    let mut v = json!({
        "call_id": call.call_id,
        "group": call.group,
        "direction": call.direction,
        "from": call.from,
        "to": call.to,
        "state": call.state().as_str(),
        "outcome": call.outcome().map(|o| o.as_str()),
        "contact_id": call.contact_id,
        "ticket_id": call.ticket_id,
        "agent": call.last_agent(),
        "agents": call.agents,
        "queue": call.queue,
        "attributes": call.attributes,
        "started_at": call.first_at,
        "ringing_at": call.ringing_at,
        "answered_at": call.answered_at,
        "ended_at": call.ended_at,
        "duration_s": call.talk_seconds(),
        "reason": call.end_reason,
        "recording_url": call.recording_url,
        "sync": record.sync,
        "sync_error": record.sync_error,
        "assignee": call.assignee,
        "agent_decision": {
            "mode": call.ticket_assignment(policy),
            "waiting": agent_wait,
            "timed_out": call.agent_timed_out,
        },
        // Why the call went where it went. `ticket_rule` is the first rule that
        // applied (a rejected IVR ticket shows here); `ticket_rules` lists them all,
        // the last one decided.
        "decisions": {
            "contact_rule": call.contact_rule,
            "contact_candidates": call.contact_candidates,
            "ticket_rule": ticket_rules.first(),
            "ticket_rules": ticket_rules,
            "assignee_rule": call.assignee_rule,
        },
        "updated_at": record.updated_at,
    });
    if with_steps {
        v["steps"] = json!(record.steps);
    }
    v
}
