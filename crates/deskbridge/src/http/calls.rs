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

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use deskbridge_core::Interaction;
    use deskbridge_store::{StepRecord, SyncStatus};

    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("a time")
    }

    /// A call with every field of the view set: two agents (one with every field), attributes, the agent
    /// deciding, a failed step.
    fn full() -> CallRecord {
        let interaction: Interaction = serde_json::from_value(json!({
            "call_id": "c-full", "group": "support", "direction": "inbound",
            "from": "+14155550100", "to": "+14155550199",
            "first_at": "2026-11-22T10:00:00Z", "ringing_at": "2026-11-22T10:00:00Z",
            "answered_at": "2026-11-22T10:00:05Z", "ended_at": "2026-11-22T10:01:06Z",
            "agents": [{"email": "ann@acme.com", "name": "Ann", "extension": "101"}, {"extension": "102"}],
            "queue": "support", "attributes": {"ticket_assignment": "agent", "utm_source": "ads"},
            "end_reason": "completed", "duration_s": 61, "voicemail": false,
            "recording_url": "https://rec.example/1.mp3", "transcript": null,
            "contact_id": "17", "contact_rule": "phone_match",
            "contact_candidates": ["17", "18"], "ticket_id": "42",
            "ticket_rules": ["ivr_ticket_rejected", "new_ticket"],
            "assignee": "ann@acme.com", "assignee_rule": "agent_email",
            "logged_recordings": [], "comment_id": null, "agent_timed_out": false,
            "done": {"identify": true, "ticket": false, "log": false}
        }))
        .expect("a stored interaction");
        CallRecord {
            interaction,
            sync: SyncStatus::Failed,
            sync_error: Some("log_call: Zendesk refused the request".into()),
            updated_at: at("2026-11-22T10:01:07Z"),
            steps: vec![
                StepRecord {
                    step: "identify_caller".into(),
                    status: "done".into(),
                    attempts: 1,
                    last_error: None,
                    outcome: Some(json!({"contact_id": "17"})),
                },
                StepRecord {
                    step: "log_call".into(),
                    status: "failed".into(),
                    attempts: 3,
                    last_error: Some("Zendesk refused the request".into()),
                    outcome: None,
                },
            ],
        }
    }

    /// A call just ringing: most fields empty.
    fn ringing() -> CallRecord {
        let interaction: Interaction = serde_json::from_value(json!({
            "call_id": "c-ring", "group": "support", "direction": "outbound",
            "from": null, "to": "anonymous",
            "first_at": "2026-11-22T10:00:00Z", "ringing_at": "2026-11-22T10:00:00Z",
            "answered_at": null, "ended_at": null, "agents": [], "queue": null,
            "attributes": {}, "end_reason": null, "duration_s": null, "voicemail": false,
            "recording_url": null, "transcript": null, "contact_id": null,
            "contact_rule": null, "ticket_id": null, "comment_id": null
        }))
        .expect("a stored interaction");
        CallRecord {
            interaction,
            sync: SyncStatus::Pending,
            sync_error: None,
            updated_at: at("2026-11-22T10:00:01Z"),
            steps: Vec::new(),
        }
    }

    /// The bytes `GET /api/v1/calls/{id}` (with steps) and the caller log (without)
    /// answered before the view was typed: clients of the v1 API read these names
    /// and types, and the key order stays too.
    const FULL: &str = r#"{"agent":{"extension":"102"},"agent_decision":{"mode":"agent","timed_out":false,"waiting":{"deadline":"2026-11-22T10:05:00Z","reason":"agent_mode"}},"agents":[{"email":"ann@acme.com","extension":"101","name":"Ann"},{"extension":"102"}],"answered_at":"2026-11-22T10:00:05Z","assignee":"ann@acme.com","attributes":{"ticket_assignment":"agent","utm_source":"ads"},"call_id":"c-full","contact_id":"17","decisions":{"assignee_rule":"agent_email","contact_candidates":["17","18"],"contact_rule":"phone_match","ticket_rule":"ivr_ticket_rejected","ticket_rules":["ivr_ticket_rejected","new_ticket"]},"direction":"inbound","duration_s":61,"ended_at":"2026-11-22T10:01:06Z","from":"+14155550100","group":"support","outcome":"answered","queue":"support","reason":"completed","recording_url":"https://rec.example/1.mp3","ringing_at":"2026-11-22T10:00:00Z","started_at":"2026-11-22T10:00:00Z","state":"ended","steps":[{"attempts":1,"outcome":{"contact_id":"17"},"status":"done","step":"identify_caller"},{"attempts":3,"last_error":"Zendesk refused the request","status":"failed","step":"log_call"}],"sync":"failed","sync_error":"log_call: Zendesk refused the request","ticket_id":"42","to":"+14155550199","updated_at":"2026-11-22T10:01:07Z"}"#;
    const FULL_IN_LOG: &str = r#"{"agent":{"extension":"102"},"agent_decision":{"mode":"agent","timed_out":false,"waiting":{"deadline":"2026-11-22T10:05:00Z","reason":"agent_mode"}},"agents":[{"email":"ann@acme.com","extension":"101","name":"Ann"},{"extension":"102"}],"answered_at":"2026-11-22T10:00:05Z","assignee":"ann@acme.com","attributes":{"ticket_assignment":"agent","utm_source":"ads"},"call_id":"c-full","contact_id":"17","decisions":{"assignee_rule":"agent_email","contact_candidates":["17","18"],"contact_rule":"phone_match","ticket_rule":"ivr_ticket_rejected","ticket_rules":["ivr_ticket_rejected","new_ticket"]},"direction":"inbound","duration_s":61,"ended_at":"2026-11-22T10:01:06Z","from":"+14155550100","group":"support","outcome":"answered","queue":"support","reason":"completed","recording_url":"https://rec.example/1.mp3","ringing_at":"2026-11-22T10:00:00Z","started_at":"2026-11-22T10:00:00Z","state":"ended","sync":"failed","sync_error":"log_call: Zendesk refused the request","ticket_id":"42","to":"+14155550199","updated_at":"2026-11-22T10:01:07Z"}"#;
    const RINGING: &str = r#"{"agent":null,"agent_decision":{"mode":"auto","timed_out":false,"waiting":null},"agents":[],"answered_at":null,"assignee":null,"attributes":{},"call_id":"c-ring","contact_id":null,"decisions":{"assignee_rule":null,"contact_candidates":[],"contact_rule":null,"ticket_rule":null,"ticket_rules":[]},"direction":"outbound","duration_s":null,"ended_at":null,"from":null,"group":"support","outcome":null,"queue":null,"reason":null,"recording_url":null,"ringing_at":"2026-11-22T10:00:00Z","started_at":"2026-11-22T10:00:00Z","state":"ringing","steps":[],"sync":"pending","sync_error":null,"ticket_id":null,"to":"anonymous","updated_at":"2026-11-22T10:00:01Z"}"#;
    const RINGING_IN_LOG: &str = r#"{"agent":null,"agent_decision":{"mode":"auto","timed_out":false,"waiting":null},"agents":[],"answered_at":null,"assignee":null,"attributes":{},"call_id":"c-ring","contact_id":null,"decisions":{"assignee_rule":null,"contact_candidates":[],"contact_rule":null,"ticket_rule":null,"ticket_rules":[]},"direction":"outbound","duration_s":null,"ended_at":null,"from":null,"group":"support","outcome":null,"queue":null,"reason":null,"recording_url":null,"ringing_at":"2026-11-22T10:00:00Z","started_at":"2026-11-22T10:00:00Z","state":"ringing","sync":"pending","sync_error":null,"ticket_id":null,"to":"anonymous","updated_at":"2026-11-22T10:00:01Z"}"#;

    #[test]
    fn the_call_json_is_byte_for_byte_what_v1_clients_read() {
        let g = crate::state::tests::group("support", "token-0123456789abcdef");
        let cases = [
            (full(), true, FULL),
            (full(), false, FULL_IN_LOG),
            (ringing(), true, RINGING),
            (ringing(), false, RINGING_IN_LOG),
        ];
        for (record, steps, want) in cases {
            let got = call_json(&record, &g, steps).to_string();
            assert_eq!(got, want);
        }
    }
}
