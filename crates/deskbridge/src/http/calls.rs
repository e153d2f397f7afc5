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
use crate::app::AppState;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/calls", get(list))
        .route("/calls/{call_id}", get(one))
}

async fn one(
    State(state): State<Arc<AppState>>,
    GroupAuth(group): GroupAuth,
    Path(call_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let record = state
        .store
        .call(&group.name, &call_id)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!("no call {call_id:?} in group {:?}", group.name))
        })?;
    Ok(Json(call_json(&record, true)))
}

#[derive(Deserialize)]
struct ListQuery {
    phone: Option<String>,
    limit: Option<String>,
}

async fn list(
    State(state): State<Arc<AppState>>,
    GroupAuth(group): GroupAuth,
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
    let phone = q
        .phone
        .as_deref()
        .map(|raw| Phone::parse(raw, group.region).as_str().to_string());
    let calls = state
        .store
        .calls(&group.name, phone.as_deref(), limit)
        .await?;
    let calls: Vec<Value> = calls.iter().map(|c| call_json(c, false)).collect();
    Ok(Json(json!({ "calls": calls })))
}

fn call_json(record: &CallRecord, with_steps: bool) -> Value {
    let call = &record.interaction;
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
        "decisions": {
            "contact_rule": call.contact_rule,
            "ticket_rule": call.ticket_rule,
        },
        "updated_at": record.updated_at,
    });
    if with_steps {
        v["steps"] = json!(record.steps);
    }
    v
}
