//! The agent's place in their queues: `GET /api/v1/agent/queue` (paused or
//! not, and why, per group), `POST /api/v1/agent/pause` with a reason and
//! `POST /api/v1/agent/resume`. What a pause asks of the phone system is the
//! core's answer (`deskbridge_core::decide::pause`), carried out by
//! [`crate::pauses`]; the page hears every change (its own, the phone's
//! pause key, a wrap-up's) as a `queue` event on its stream.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use deskbridge_core::decide::pause::time_per_reason;
use deskbridge_core::pause::{Pause, PauseRefused};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiError;
use super::caller::{Caller, agent_ref};
use super::openapi::bodies as doc;
use crate::pauses::PauseError;
use crate::state::{AppState, Group};

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(queue_state))
        .routes(routes!(pause))
        .routes(routes!(resume))
}

/// The agent in each of their groups' queues.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueState {
    pub groups: Vec<GroupQueueState>,
    /// Paused time per reason today (UTC), the longest first.
    pub paused_today: Vec<PauseTime>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupQueueState {
    pub group: String,
    /// The group's phone system takes pauses (`[groups.asterisk]` with
    /// `agent_channel`).
    pub can_pause: bool,
    /// The reasons to offer.
    pub reasons: Vec<String>,
    /// The agent's pause now, if paused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<Pause>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PauseTime {
    pub reason: String,
    pub seconds: i64,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PauseRequest {
    /// Why (one of the group's `pause_reasons`, or the agent's own words).
    #[serde(default)]
    pub reason: Option<String>,
    /// The group whose queues; default: the agent's first group that takes
    /// pauses.
    #[serde(default)]
    pub group: Option<String>,
}

#[utoipa::path(
    get,
    path = "/agent/queue",
    tag = "agent",
    security(("agent_session" = [])),
    responses(
        (status = 200, description = "Paused or not in each of the agent's groups, and paused time per reason today", body = QueueState),
        (status = 401, description = "Not signed in (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 403, description = "A group token (`agent_only`)", body = doc::ApiErrorBody),
    )
)]
async fn queue_state(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<QueueState>, ApiError> {
    let email = agent_only(&caller)?;
    Ok(Json(state_of(&state, &caller, email).await?))
}

#[utoipa::path(
    post,
    path = "/agent/pause",
    tag = "agent",
    request_body(content = PauseRequest),
    security(("agent_session" = [])),
    responses(
        (status = 200, description = "Paused in the group's queues; the agent's queue state", body = QueueState),
        (status = 400, description = "The body is not JSON (`malformed_json`)", body = doc::ApiErrorBody),
        (status = 401, description = "Not signed in (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 403, description = "A group token, or no `X-CSRF-Token` (`agent_only`, `csrf`)", body = doc::ApiErrorBody),
        (status = 409, description = "Paused already (`already_paused`, naming the reason)", body = doc::ApiErrorBody),
        (status = 422, description = "No queues to pause in, no extension, an agent_channel that does not render, a reason too long (`no_queues`, `no_extension`, `agent_channel`, `reason_too_long`)", body = doc::ApiErrorBody),
        (status = 502, description = "The phone system refused (`pbx_refused`, its message)", body = doc::ApiErrorBody),
        (status = 503, description = "The phone system is not connected (`pbx_unavailable`)", body = doc::ApiErrorBody),
    )
)]
async fn pause(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<Json<QueueState>, ApiError> {
    act(&state, &caller, &body, true).await
}

#[utoipa::path(
    post,
    path = "/agent/resume",
    tag = "agent",
    request_body(content = PauseRequest),
    security(("agent_session" = [])),
    responses(
        (status = 200, description = "Taking queue calls again; the agent's queue state", body = QueueState),
        (status = 400, description = "The body is not JSON (`malformed_json`)", body = doc::ApiErrorBody),
        (status = 401, description = "Not signed in (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 403, description = "A group token, or no `X-CSRF-Token` (`agent_only`, `csrf`)", body = doc::ApiErrorBody),
        (status = 409, description = "Not paused (`not_paused`)", body = doc::ApiErrorBody),
        (status = 422, description = "No queues, no extension (`no_queues`, `no_extension`, `agent_channel`)", body = doc::ApiErrorBody),
        (status = 502, description = "The phone system refused (`pbx_refused`, its message)", body = doc::ApiErrorBody),
        (status = 503, description = "The phone system is not connected (`pbx_unavailable`)", body = doc::ApiErrorBody),
    )
)]
async fn resume(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<Json<QueueState>, ApiError> {
    act(&state, &caller, &body, false).await
}

fn agent_only(caller: &Caller) -> Result<&str, ApiError> {
    caller.agent().ok_or_else(|| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "agent_only",
            "sign in as an agent: a pause is the signed-in agent's",
        )
    })
}

async fn act(
    state: &AppState,
    caller: &Caller,
    body: &[u8],
    pause: bool,
) -> Result<Json<QueueState>, ApiError> {
    let email = agent_only(caller)?;
    let ask: PauseRequest = match body.is_empty() {
        true => PauseRequest::default(),
        false => serde_json::from_value(super::parse_json(body)?)
            .map_err(|e| ApiError::invalid("reason", format!("the pause's body: {e}")))?,
    };
    let groups = caller.reach(state);
    let group = match &ask.group {
        Some(name) => groups.iter().find(|g| &g.name == name),
        None => groups.iter().find(|g| takes_pauses(g)).or(groups.first()),
    }
    .cloned()
    .ok_or_else(|| ApiError::invalid("group", "no group of yours by that name"))?;
    let agent = agent_ref(state, email);
    crate::pauses::order(state, &group, &agent, pause, ask.reason.as_deref())
        .await
        .map_err(refused)?;
    tracing::info!(group = %group.name, agent = %email, pause, "queue pause");
    Ok(Json(state_of(state, caller, email).await?))
}

fn takes_pauses(g: &Group) -> bool {
    g.queues.as_ref().is_some_and(|q| q.agent_channel.is_some())
}

async fn state_of(state: &AppState, caller: &Caller, email: &str) -> Result<QueueState, ApiError> {
    let open = state.store.open_pauses(email).await?;
    let groups = caller
        .reach(state)
        .iter()
        .map(|g| GroupQueueState {
            group: g.name.clone(),
            can_pause: takes_pauses(g),
            reasons: g
                .queues
                .as_ref()
                .map(|q| q.reasons.clone())
                .unwrap_or_default(),
            paused: open.iter().find(|p| p.group == g.name).cloned(),
        })
        .collect();
    Ok(QueueState {
        groups,
        paused_today: paused_today(state, email).await?,
    })
}

/// The agent's paused time per reason today (UTC).
pub async fn paused_today(state: &AppState, email: &str) -> Result<Vec<PauseTime>, ApiError> {
    let now = Utc::now();
    let midnight: DateTime<Utc> = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map_or(now, |t| t.and_utc());
    let pauses = state.store.pauses_between(email, midnight, now).await?;
    Ok(time_per_reason(&pauses, midnight, now)
        .into_iter()
        .map(|(reason, seconds)| PauseTime { reason, seconds })
        .collect())
}

fn refused(e: PauseError) -> ApiError {
    match e {
        PauseError::Refused(r) => {
            let status = match r {
                PauseRefused::AlreadyPaused(_) | PauseRefused::NotPaused => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            ApiError::new(status, r.code(), r.to_string())
        }
        PauseError::PbxRefused(why) => ApiError::new(StatusCode::BAD_GATEWAY, "pbx_refused", why),
        PauseError::Unavailable(why) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "pbx_unavailable", why)
        }
        PauseError::Store(e) => e.into(),
    }
}
