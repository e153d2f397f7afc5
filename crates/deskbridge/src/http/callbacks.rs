//! The missed-call callbacks: `GET /api/v1/callbacks` (the open ones, oldest
//! first, or those closed lately) and an agent's claim, release and close.
//!
//! Which callback a call opens, folds into or closes is decided inside the
//! journal's transaction (`deskbridge_core::decide::callback::follow`); what an agent
//! may do to one is the core's answer too (`claim`, `release`,
//! `close_by_agent`), written over the version it was decided on and decided
//! again when a colleague wrote first. Each write is announced to the group's
//! callback triggers in its own transaction; their `data` is this API's
//! callback ([`CallbackShown`]) without its reader-clock fields.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use deskbridge_core::callback::{Callback, Refused};
use deskbridge_core::decide::callback;
use deskbridge_core::trigger::CallbackShown;
use deskbridge_store::{CallbackFilter, CallbackRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiError;
use super::caller::Caller;
use super::openapi::bodies as doc;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(claim))
        .routes(routes!(release))
        .routes(routes!(close))
}

/// A callback as the page and the app show it: what its trigger
/// notifications carry, and what depends on the reader's clock.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackView {
    // One type for the API and the notifications, so the two never drift.
    #[serde(flatten)]
    pub callback: CallbackShown,
    /// Open past its `due_at`.
    pub overdue: bool,
    /// Seconds since the first missed call.
    pub age_seconds: i64,
}

impl CallbackView {
    fn new(r: &CallbackRecord, now: DateTime<Utc>) -> CallbackView {
        let cb = &r.callback;
        CallbackView {
            callback: CallbackShown::new(cb, &r.last_call, now),
            overdue: cb.is_open() && now > cb.due_at(),
            age_seconds: (now - cb.first_missed_at).num_seconds().max(0),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackList {
    pub callbacks: Vec<CallbackView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `true`: the callbacks closed in the last 24 hours, newest first, instead
    /// of the open ones.
    closed: Option<bool>,
    /// At most this many (1 to 500, default 100).
    limit: Option<u32>,
}

/// `GET /api/v1/callbacks`: the open callbacks of the caller's groups (a group
/// token's, or the signed-in agent's), oldest first.
#[utoipa::path(
    get,
    path = "/callbacks",
    tag = "callbacks",
    params(ListQuery),
    security(("group_token" = []), ("agent_session" = [])),
    responses(
        (status = 200, description = "The callbacks, open ones oldest first", body = CallbackList),
        (status = 401, description = "No credentials, or not valid (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 422, description = "A limit outside 1 to 500 (`invalid`, with `field`)", body = doc::ApiErrorBody),
    )
)]
async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<CallbackList>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid("limit", "give 1 to 500"));
    }
    let now = Utc::now();
    let filter = CallbackFilter {
        groups: caller
            .reach(&state)
            .iter()
            .map(|g| g.name.clone())
            .collect(),
        closed_since: q
            .closed
            .unwrap_or(false)
            .then(|| now - chrono::Duration::hours(24)),
        limit,
    };
    let callbacks = state
        .store
        .callbacks(&filter)
        .await?
        .iter()
        .map(|r| CallbackView::new(r, now))
        .collect();
    Ok(Json(CallbackList { callbacks }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CloseRequest {
    /// Why it needs no call back (the customer wrote in, a wrong number).
    pub reason: String,
}

/// `POST /api/v1/callbacks/{id}/claim`: the signed-in agent takes the callback
/// (a colleague then sees who has it).
#[utoipa::path(
    post,
    path = "/callbacks/{id}/claim",
    tag = "callbacks",
    params(("id" = i64, Path, description = "The callback's id")),
    security(("agent_session" = [])),
    responses(
        (status = 200, description = "Claimed: the callback as it now stands", body = CallbackView),
        (status = 401, description = "Not signed in (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 403, description = "A group token, or no `X-CSRF-Token` (`agent_only`, `csrf`)", body = doc::ApiErrorBody),
        (status = 404, description = "No such callback in your groups (`not_found`)", body = doc::ApiErrorBody),
        (status = 409, description = "A colleague has it, or it is closed (`callback_held`, `callback_closed`)", body = doc::ApiErrorBody),
    )
)]
async fn claim(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<CallbackView>, ApiError> {
    let (email, name) = agent_of(&state, &caller)?;
    act(&state, &caller, id, |cb, now| {
        callback::claim(cb, &email, &name, now)
    })
    .await
}

/// `POST /api/v1/callbacks/{id}/release`: the agent who claimed it gives it
/// back to the group.
#[utoipa::path(
    post,
    path = "/callbacks/{id}/release",
    tag = "callbacks",
    params(("id" = i64, Path, description = "The callback's id")),
    security(("agent_session" = [])),
    responses(
        (status = 200, description = "Released: the callback as it now stands", body = CallbackView),
        (status = 401, description = "Not signed in (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 403, description = "A group token, or no `X-CSRF-Token` (`agent_only`, `csrf`)", body = doc::ApiErrorBody),
        (status = 404, description = "No such callback in your groups (`not_found`)", body = doc::ApiErrorBody),
        (status = 409, description = "Not yours, or closed (`callback_not_yours`, `callback_closed`)", body = doc::ApiErrorBody),
    )
)]
async fn release(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<CallbackView>, ApiError> {
    let (email, _) = agent_of(&state, &caller)?;
    act(&state, &caller, id, |cb, _| callback::release(cb, &email)).await
}

/// `POST /api/v1/callbacks/{id}/close`: the agent closes it with a reason.
#[utoipa::path(
    post,
    path = "/callbacks/{id}/close",
    tag = "callbacks",
    params(("id" = i64, Path, description = "The callback's id")),
    request_body(content = CloseRequest),
    security(("agent_session" = [])),
    responses(
        (status = 200, description = "Closed: the callback as it now stands", body = CallbackView),
        (status = 400, description = "The body is not JSON (`malformed_json`)", body = doc::ApiErrorBody),
        (status = 401, description = "Not signed in (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 403, description = "A group token, or no `X-CSRF-Token` (`agent_only`, `csrf`)", body = doc::ApiErrorBody),
        (status = 404, description = "No such callback in your groups (`not_found`)", body = doc::ApiErrorBody),
        (status = 409, description = "A colleague has it, or it is closed (`callback_held`, `callback_closed`)", body = doc::ApiErrorBody),
        (status = 422, description = "No reason, or one past 500 characters (`invalid`, field `reason`)", body = doc::ApiErrorBody),
    )
)]
async fn close(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Json<CallbackView>, ApiError> {
    let (email, _) = agent_of(&state, &caller)?;
    let body = super::parse_json(&body)?;
    // A missing or non-text reason is refused by the core as no reason.
    let reason = serde_json::from_value::<CloseRequest>(body)
        .map(|b| b.reason)
        .unwrap_or_default();
    act(&state, &caller, id, |cb, now| {
        callback::close_by_agent(cb, &email, &reason, now)
    })
    .await
}

/// The signed-in agent's email and name: a callback is claimed by a person.
fn agent_of(state: &AppState, caller: &Caller) -> Result<(String, String), ApiError> {
    let email = caller.agent().ok_or_else(|| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "agent_only",
            "sign in as an agent: a callback is claimed and closed by a person",
        )
    })?;
    let name = state
        .agent_page
        .agent(email)
        .and_then(|a| a.name)
        .unwrap_or_else(|| email.to_string());
    Ok((email.to_string(), name))
}

/// How often an agent's action is decided again when colleagues keep writing
/// the callback first.
const TRIES: usize = 5;

/// Reads the callback, asks the core what the action makes of it, and writes
/// that over the version read; decides again on the newer one if someone wrote
/// in between (so two agents claiming at once: one wins, the other is told who).
async fn act(
    state: &AppState,
    caller: &Caller,
    id: i64,
    decide: impl Fn(&Callback, DateTime<Utc>) -> Result<Callback, Refused>,
) -> Result<Json<CallbackView>, ApiError> {
    let reach = caller.reach(state);
    for _ in 0..TRIES {
        let (record, group) = state
            .store
            .callback(id)
            .await?
            .and_then(|r| {
                let group = reach.iter().find(|g| g.name == r.callback.group)?;
                Some((r, group))
            })
            .ok_or_else(|| ApiError::not_found(format!("no callback {id} in your groups")))?;
        let now = Utc::now();
        let next = decide(&record.callback, now).map_err(refused)?;
        let written = state
            .store
            .replace_callback(record.version, &next, &group.callback_triggers)
            .await?;
        if written {
            let written = CallbackRecord {
                callback: next,
                version: record.version + 1,
                last_call: record.last_call,
            };
            return Ok(Json(CallbackView::new(&written, now)));
        }
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "callback_busy",
        "colleagues keep changing this callback; try again",
    ))
}

fn refused(r: Refused) -> ApiError {
    let (status, code, field) = match r {
        Refused::Closed => (StatusCode::CONFLICT, "callback_closed", None),
        Refused::HeldBy { .. } => (StatusCode::CONFLICT, "callback_held", None),
        Refused::NotYours => (StatusCode::CONFLICT, "callback_not_yours", None),
        Refused::Reason => (StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("reason")),
    };
    let mut e = ApiError::new(status, code, r.to_string());
    e.field = field.map(str::to_string);
    e
}
