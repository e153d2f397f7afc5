//! The calls API: one call with every decision explained, and the caller log.
//!
//! Both answer [`CallView`]s, the call as the public v1 API shows it. The view is
//! its own type, not the stored [`Interaction`], so the stored form can change
//! without changing what clients read.

use super::openapi::bodies as doc;
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use deskbridge_core::interaction::AgentWait;
use deskbridge_core::policy::TicketAssignment;
use deskbridge_core::pop::PopRecord;
use deskbridge_core::{
    AgentRef, AssigneeRule, ContactRule, Direction, EndReason, Interaction, JobStatus, Phone, Step,
    TicketRule,
};
use deskbridge_store::{CallFilter, CallRecord, StepRecord, SyncStatus};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::ApiError;
use super::caller::Caller;
use crate::state::{AppState, Group};

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(mark_many_done))
        .routes(routes!(one))
        .routes(routes!(mark_one_done))
}

/// `GET /api/v1/calls/{id}`: a call of the token's groups, or one of the
/// signed-in agent's own calls (another's is "not found", as if it did not
/// exist); an admin's session reads any call.
#[utoipa::path(
    get,
    path = "/calls/{call_id}",
    operation_id = "get_call",
    tag = "calls",
    params(("call_id" = String, Path, description = "The call's id, as the phone system gave it")),
    security(("group_token" = []), ("agent_session" = [])),
    responses(
        (status = 200, description = "The call with its decisions and steps", body = CallView),
        (status = 401, description = "No credentials, or not valid (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 404, description = "No such call that you may see (`not_found`)", body = doc::ApiErrorBody),
    )
)]
async fn one(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(call_id): Path<String>,
) -> Result<Json<CallView>, ApiError> {
    let mut found = None;
    for group in caller.groups(&state) {
        if let Some(record) = state.store.call(&group.name, &call_id).await?
            && caller.may_read(&record.interaction)
        {
            found = Some(record);
            break;
        }
    }
    match found {
        Some(record) => Ok(Json(CallView::new(&record, true))),
        None => Err(ApiError::not_found(format!(
            "no call {call_id:?} that you may see"
        ))),
    }
}

/// The call, if the caller may see it (first group that has it).
pub async fn find_call(
    state: &AppState,
    caller: &Caller,
    call_id: &str,
) -> Result<Option<CallRecord>, ApiError> {
    for group in caller.groups(state) {
        if let Some(record) = state.store.call(&group.name, call_id).await?
            && caller.may_see(&record.interaction)
        {
            return Ok(Some(record));
        }
    }
    Ok(None)
}

/// The caller log's filters (`GET /api/v1/calls`, `GET /api/v1/agent/calls`).
#[derive(Deserialize, Default)]
pub struct LogQuery {
    phone: Option<String>,
    limit: Option<String>,
    group: Option<String>,
    /// An agent's email (a group token only; an agent sees their own calls).
    agent: Option<String>,
    queue: Option<String>,
    missed: Option<String>,
    done: Option<String>,
    ticket_id: Option<String>,
    contact_id: Option<String>,
}

/// The caller log: `{"calls": [...]}`, newest first; `"truncated": true` when it
/// stopped before `limit` because its calls reached [`MAX_LIST_BYTES`] (ask for
/// fewer, or filter by `phone`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CallLog {
    pub calls: Vec<CallView>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// On the agent's own log (`/agent/calls`): their paused time per reason
    /// today (UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_today: Option<Vec<super::pause::PauseTime>>,
}

/// The most stored call data one caller-log response reads, in bytes: its
/// memory is bounded whatever `limit` asks and however large the calls are.
pub const MAX_LIST_BYTES: usize = 4 * 1024 * 1024;

#[utoipa::path(
    get,
    path = "/calls",
    operation_id = "list_calls",
    tag = "calls",
    params(doc::LogParams),
    security(("group_token" = []), ("agent_session" = [])),
    responses(
        (status = 200, description = "The caller log, newest first", body = CallLog),
        (status = 401, description = "No credentials, or not valid (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 422, description = "A filter that does not parse, or `agent` from a signed-in agent (`invalid`, with `field`)", body = doc::ApiErrorBody),
    )
)]
async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<LogQuery>,
) -> Result<Json<CallLog>, ApiError> {
    if caller.agent().is_some() && q.agent.is_some() {
        return Err(ApiError::invalid(
            "agent",
            "a signed-in agent sees their own calls; leave agent out",
        ));
    }
    let of_a_record = q.ticket_id.is_some() || q.contact_id.is_some();
    let (groups, agent) = match caller.agent() {
        // The calls of a ticket or contact the agent works on (the Zendesk
        // app's sidebars): every agent's, in the agent's own groups.
        Some(_) if of_a_record => (caller.reach(&state), None),
        agent => (caller.groups(&state), agent.map(str::to_string)),
    };
    call_log(&state, &groups, agent.as_deref(), q)
        .await
        .map(Json)
}

fn flag(name: &str, value: Option<&str>) -> Result<Option<bool>, ApiError> {
    match value {
        None | Some("") => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(ApiError::invalid(name, "must be true or false")),
    }
}

/// The caller log of `groups` (only `agent`'s calls when given: a signed-in
/// agent), under the query's filters.
pub async fn call_log(
    state: &AppState,
    groups: &[Arc<Group>],
    agent: Option<&str>,
    q: LogQuery,
) -> Result<CallLog, ApiError> {
    let limit = match q.limit.as_deref() {
        None => 50,
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=500).contains(l))
            .ok_or_else(|| ApiError::invalid("limit", "must be a number from 1 to 500"))?,
    };
    let groups: Vec<Arc<Group>> = match q.group.as_deref() {
        Some(name) => vec![
            groups
                .iter()
                .find(|g| g.name == name)
                .cloned()
                .ok_or_else(|| {
                    ApiError::invalid(
                        "group",
                        format!(
                            "you may not read group {name:?}; you read: {}",
                            groups
                                .iter()
                                .map(|g| g.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                })?,
        ],
        None => groups.to_vec(),
    };
    let Some(first) = groups.first() else {
        return Ok(CallLog {
            calls: Vec::new(),
            truncated: false,
            paused_today: None,
        });
    };
    let phone = q
        .phone
        .as_deref()
        .map(|raw| Phone::parse(raw, first.region).as_str().to_string());
    let filter = CallFilter {
        groups: groups.iter().map(|g| g.name.clone()).collect(),
        customer_phone: phone,
        agent: agent.map(str::to_string).or(q.agent.clone()),
        queue: q.queue.clone().filter(|s| !s.is_empty()),
        missed: flag("missed", q.missed.as_deref())?,
        done: flag("done", q.done.as_deref())?,
        ticket_id: q.ticket_id.clone().filter(|s| !s.is_empty()),
        contact_id: q.contact_id.clone().filter(|s| !s.is_empty()),
    };
    let page = state.store.call_log(&filter, limit, MAX_LIST_BYTES).await?;
    // The store read only the caller's groups (and the agent's calls).
    let calls = page.calls.iter().map(|c| CallView::new(c, false)).collect();
    Ok(CallLog {
        calls,
        truncated: page.truncated,
        paused_today: None,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DoneBody {
    call_ids: Vec<String>,
}

/// `POST /api/v1/calls/{id}/done`: marks a missed call handled.
#[utoipa::path(
    post,
    path = "/calls/{call_id}/done",
    tag = "calls",
    params(("call_id" = String, Path, description = "The call's id, as the phone system gave it")),
    security(("group_token" = []), ("agent_session" = [])),
    responses(
        (status = 200, description = "Marked", body = doc::DoneAnswer),
        (status = 401, description = "No credentials, or not valid (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 403, description = "Signed in by the session cookie without its `X-CSRF-Token` (`csrf`)", body = doc::ApiErrorBody),
        (status = 404, description = "No missed call of that id that you may mark (`not_found`)", body = doc::ApiErrorBody),
    )
)]
async fn mark_one_done(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(call_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (marked, not_marked) = mark_done(&state, &caller, vec![call_id.clone()]).await?;
    if marked.is_empty() {
        return Err(ApiError::not_found(format!(
            "no missed call {call_id:?} that you may mark done"
        )));
    }
    Ok(Json(json!({ "done": marked, "not_found": not_marked })))
}

/// `POST /api/v1/calls/done` with `{"call_ids": [...]}`: marks missed calls
/// handled; answers which were marked and which are no missed call of the
/// caller's.
#[utoipa::path(
    post,
    path = "/calls/done",
    tag = "calls",
    request_body(content = doc::DoneRequest),
    security(("group_token" = []), ("agent_session" = [])),
    responses(
        (status = 200, description = "Which were marked, which are no missed call of yours", body = doc::DoneAnswer),
        (status = 400, description = "The body is not JSON (`malformed_json`)", body = doc::ApiErrorBody),
        (status = 401, description = "No credentials, or not valid (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 403, description = "Signed in by the session cookie without its `X-CSRF-Token` (`csrf`)", body = doc::ApiErrorBody),
        (status = 422, description = "Not a `call_ids` list of 1 to 500 ids (`invalid`, field `call_ids`)", body = doc::ApiErrorBody),
    )
)]
async fn mark_many_done(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let body: DoneBody = serde_json::from_value(super::parse_json(&body)?)
        .map_err(|e| ApiError::invalid("call_ids", format!("send {{\"call_ids\": [...]}}: {e}")))?;
    if body.call_ids.is_empty() || body.call_ids.len() > 500 {
        return Err(ApiError::invalid("call_ids", "send from 1 to 500 call ids"));
    }
    let (marked, not_marked) = mark_done(&state, &caller, body.call_ids).await?;
    Ok(Json(json!({ "done": marked, "not_found": not_marked })))
}

async fn mark_done(
    state: &AppState,
    caller: &Caller,
    ids: Vec<String>,
) -> Result<(Vec<String>, Vec<String>), ApiError> {
    let groups: Vec<String> = caller
        .groups(state)
        .iter()
        .map(|g| g.name.clone())
        .collect();
    let marked = state
        .store
        .mark_done(&groups, &ids, caller.agent(), chrono::Utc::now())
        .await?;
    let not_marked = ids.into_iter().filter(|id| !marked.contains(id)).collect();
    Ok((marked, not_marked))
}

// The views' fields are declared in alphabetical order: the API wrote them in that
// order before it was typed (serde_json's maps sort their keys), and clients that
// compare bodies as text keep working.

/// A call as `GET /api/v1/calls/{id}`, the caller log and the call stream show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CallView {
    /// The agent who had the call last (its ticket's assignee).
    pub agent: Option<AgentView>,
    pub agent_decision: AgentDecision,
    /// Every agent who answered, in order (transfers, queues).
    pub agents: Vec<AgentView>,
    pub answered_at: Option<DateTime<Utc>>,
    pub assignee: Option<String>,
    pub attributes: BTreeMap<String, String>,
    pub call_id: String,
    pub contact_id: Option<String>,
    pub decisions: Decisions,
    pub direction: Direction,
    /// When an agent marked the (missed) call handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done_at: Option<DateTime<Utc>>,
    /// Talk time, answer to hang-up.
    pub duration_s: Option<u64>,
    pub ended_at: Option<DateTime<Utc>>,
    /// E.164, `anonymous`, or the number as given when it is not one.
    pub from: Option<Phone>,
    pub group: String,
    /// `answered|missed|voicemail|...`, once ended.
    pub outcome: Option<&'static str>,
    /// Screen pops made for the call's agents, in order: whom each was for,
    /// what it opened, and how each delivery went.
    pub pops: Vec<PopRecord>,
    pub queue: Option<String>,
    /// Why the call ended, as the phone system said.
    pub reason: Option<EndReason>,
    pub recording_url: Option<String>,
    pub ringing_at: Option<DateTime<Utc>>,
    pub started_at: DateTime<Utc>,
    /// `ringing|answered|ended`.
    pub state: &'static str,
    /// The call's steps; only on the one-call endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<StepView>>,
    /// Whether all helpdesk work for the call is finished.
    pub sync: SyncStatus,
    pub sync_error: Option<String>,
    pub ticket_id: Option<String>,
    pub to: Option<Phone>,
    pub updated_at: DateTime<Utc>,
    /// The call's wrap-up, for an answered call of a group with wrap-up
    /// (`[groups.wrap_up]`): the codes to offer, and what was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrap_up: Option<super::wrap_up::WrapUpView>,
}

/// An agent as the call names them; fields the phone system did not send are left
/// out.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgentView {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Agent mode: who picks the ticket, and whether the call waits for the agent now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgentDecision {
    /// What the agent chose (`POST /api/v1/calls/{id}/decision`), once chosen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub choice: Option<deskbridge_core::agent_mode::AgentChoice>,
    pub mode: TicketAssignment,
    pub timed_out: bool,
    pub waiting: Option<AgentWaiting>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgentWaiting {
    /// When the fallback decides if the agent has not.
    pub deadline: DateTime<Utc>,
    pub reason: AgentWait,
}

/// Why the call went where it went.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Decisions {
    pub assignee_rule: Option<AssigneeRule>,
    /// Contacts sharing the caller's number, when the rule had to choose.
    pub contact_candidates: Vec<String>,
    pub contact_rule: Option<ContactRule>,
    /// The first ticket rule that applied (a rejected IVR ticket shows here).
    pub ticket_rule: Option<TicketRule>,
    /// Every ticket rule that applied; the last one decided.
    pub ticket_rules: Vec<TicketRule>,
}

/// One step of the call's helpdesk work.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StepView {
    pub attempts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// What the step recorded on the call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<serde_json::Value>,
    pub status: JobStatus,
    pub step: Step,
}

impl From<&AgentRef> for AgentView {
    fn from(a: &AgentRef) -> AgentView {
        AgentView {
            email: a.email.clone(),
            extension: a.extension.clone(),
            name: a.name.clone(),
        }
    }
}

impl From<&StepRecord> for StepView {
    fn from(s: &StepRecord) -> StepView {
        StepView {
            attempts: s.attempts,
            last_error: s.last_error.clone(),
            outcome: s.outcome.clone(),
            status: s.status,
            step: s.step,
        }
    }
}

impl CallView {
    /// The call as it was decided, under the plan it started with (which explains
    /// the agent decision and the ticket rules); `with_steps` for the one-call
    /// endpoint.
    pub fn new(record: &CallRecord, with_steps: bool) -> CallView {
        let call: &Interaction = &record.interaction;
        let ticket_rules = call.ticket_rules_shown();
        CallView {
            agent: call.last_agent().map(AgentView::from),
            agent_decision: AgentDecision {
                choice: call.agent_choice.clone(),
                mode: call.ticket_assignment(),
                timed_out: call.agent_timed_out,
                waiting: call.agent_wait().map(|reason| AgentWaiting {
                    deadline: call.agent_deadline(),
                    reason,
                }),
            },
            agents: call.agents.iter().map(AgentView::from).collect(),
            answered_at: call.answered_at,
            assignee: call.assignee.clone(),
            attributes: call.attributes.clone(),
            call_id: call.call_id.clone(),
            contact_id: call.contact_id.clone(),
            decisions: Decisions {
                assignee_rule: call.assignee_rule,
                contact_candidates: call.contact_candidates.clone(),
                contact_rule: call.contact_rule,
                ticket_rule: ticket_rules.first().cloned(),
                ticket_rules,
            },
            direction: call.direction,
            done_at: record.done_at,
            duration_s: call.talk_seconds(),
            ended_at: call.ended_at,
            from: call.from.clone(),
            group: call.group.clone(),
            outcome: call.outcome().map(|o| o.as_str()),
            pops: call.pops.clone(),
            queue: call.queue.clone(),
            reason: call.end_reason,
            recording_url: call.recording_url.clone(),
            ringing_at: call.ringing_at,
            started_at: call.first_at,
            state: call.state().as_str(),
            steps: with_steps.then(|| record.steps.iter().map(StepView::from).collect()),
            sync: record.sync,
            sync_error: record.sync_error.clone(),
            ticket_id: call.ticket_id.clone(),
            to: call.to.clone(),
            updated_at: record.updated_at,
            wrap_up: super::wrap_up::WrapUpView::of(call),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use serde_json::json;

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
            "ticket_rules": ["ivr_ticket_rejected_not_found", "new_ticket"],
            "assignee": "ann@acme.com", "assignee_rule": "agent_email",
            "logged_recordings": [], "comment_id": null, "agent_timed_out": false,
            "done": {"identify": true, "ticket": false, "log": false}
        }))
        .expect("a stored interaction");
        CallRecord {
            interaction,
            done_at: None,
            sync: SyncStatus::Failed,
            sync_error: Some("log_call: Zendesk refused the request".into()),
            updated_at: at("2026-11-22T10:01:07Z"),
            steps: vec![
                StepRecord {
                    step: Step::IdentifyCaller,
                    status: JobStatus::Done,
                    attempts: 1,
                    last_error: None,
                    outcome: Some(json!({"contact_id": "17"})),
                },
                StepRecord {
                    step: Step::LogCall,
                    status: JobStatus::Failed,
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
            done_at: None,
            sync: SyncStatus::Pending,
            sync_error: None,
            updated_at: at("2026-11-22T10:00:01Z"),
            steps: Vec::new(),
        }
    }

    /// The bytes `GET /api/v1/calls/{id}` (with steps) and the caller log (without)
    /// answered before the view was typed: clients of the v1 API read these names
    /// and types, and the key order stays too.
    const FULL: &str = r#"{"agent":{"extension":"102"},"agent_decision":{"mode":"agent","timed_out":false,"waiting":{"deadline":"2026-11-22T10:05:00Z","reason":"agent_mode"}},"agents":[{"email":"ann@acme.com","extension":"101","name":"Ann"},{"extension":"102"}],"answered_at":"2026-11-22T10:00:05Z","assignee":"ann@acme.com","attributes":{"ticket_assignment":"agent","utm_source":"ads"},"call_id":"c-full","contact_id":"17","decisions":{"assignee_rule":"agent_email","contact_candidates":["17","18"],"contact_rule":"phone_match","ticket_rule":"ivr_ticket_rejected_not_found","ticket_rules":["ivr_ticket_rejected_not_found","new_ticket"]},"direction":"inbound","duration_s":61,"ended_at":"2026-11-22T10:01:06Z","from":"+14155550100","group":"support","outcome":"answered","pops":[],"queue":"support","reason":"completed","recording_url":"https://rec.example/1.mp3","ringing_at":"2026-11-22T10:00:00Z","started_at":"2026-11-22T10:00:00Z","state":"ended","steps":[{"attempts":1,"outcome":{"contact_id":"17"},"status":"done","step":"identify_caller"},{"attempts":3,"last_error":"Zendesk refused the request","status":"failed","step":"log_call"}],"sync":"failed","sync_error":"log_call: Zendesk refused the request","ticket_id":"42","to":"+14155550199","updated_at":"2026-11-22T10:01:07Z"}"#;
    const FULL_IN_LOG: &str = r#"{"agent":{"extension":"102"},"agent_decision":{"mode":"agent","timed_out":false,"waiting":{"deadline":"2026-11-22T10:05:00Z","reason":"agent_mode"}},"agents":[{"email":"ann@acme.com","extension":"101","name":"Ann"},{"extension":"102"}],"answered_at":"2026-11-22T10:00:05Z","assignee":"ann@acme.com","attributes":{"ticket_assignment":"agent","utm_source":"ads"},"call_id":"c-full","contact_id":"17","decisions":{"assignee_rule":"agent_email","contact_candidates":["17","18"],"contact_rule":"phone_match","ticket_rule":"ivr_ticket_rejected_not_found","ticket_rules":["ivr_ticket_rejected_not_found","new_ticket"]},"direction":"inbound","duration_s":61,"ended_at":"2026-11-22T10:01:06Z","from":"+14155550100","group":"support","outcome":"answered","pops":[],"queue":"support","reason":"completed","recording_url":"https://rec.example/1.mp3","ringing_at":"2026-11-22T10:00:00Z","started_at":"2026-11-22T10:00:00Z","state":"ended","sync":"failed","sync_error":"log_call: Zendesk refused the request","ticket_id":"42","to":"+14155550199","updated_at":"2026-11-22T10:01:07Z"}"#;
    const RINGING: &str = r#"{"agent":null,"agent_decision":{"mode":"auto","timed_out":false,"waiting":null},"agents":[],"answered_at":null,"assignee":null,"attributes":{},"call_id":"c-ring","contact_id":null,"decisions":{"assignee_rule":null,"contact_candidates":[],"contact_rule":null,"ticket_rule":null,"ticket_rules":[]},"direction":"outbound","duration_s":null,"ended_at":null,"from":null,"group":"support","outcome":null,"pops":[],"queue":null,"reason":null,"recording_url":null,"ringing_at":"2026-11-22T10:00:00Z","started_at":"2026-11-22T10:00:00Z","state":"ringing","steps":[],"sync":"pending","sync_error":null,"ticket_id":null,"to":"anonymous","updated_at":"2026-11-22T10:00:01Z"}"#;
    const RINGING_IN_LOG: &str = r#"{"agent":null,"agent_decision":{"mode":"auto","timed_out":false,"waiting":null},"agents":[],"answered_at":null,"assignee":null,"attributes":{},"call_id":"c-ring","contact_id":null,"decisions":{"assignee_rule":null,"contact_candidates":[],"contact_rule":null,"ticket_rule":null,"ticket_rules":[]},"direction":"outbound","duration_s":null,"ended_at":null,"from":null,"group":"support","outcome":null,"pops":[],"queue":null,"reason":null,"recording_url":null,"ringing_at":"2026-11-22T10:00:00Z","started_at":"2026-11-22T10:00:00Z","state":"ringing","sync":"pending","sync_error":null,"ticket_id":null,"to":"anonymous","updated_at":"2026-11-22T10:00:01Z"}"#;

    #[test]
    fn the_call_json_is_byte_for_byte_what_v1_clients_read() {
        let cases = [
            (full(), true, FULL),
            (full(), false, FULL_IN_LOG),
            (ringing(), true, RINGING),
            (ringing(), false, RINGING_IN_LOG),
        ];
        for (record, steps, want) in cases {
            let got = serde_json::to_string(&CallView::new(&record, steps)).expect("JSON");
            assert_eq!(got, want);
        }
    }
}
