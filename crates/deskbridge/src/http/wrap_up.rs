//! Wrap-up: `POST /api/v1/calls/{call_id}/wrap_up`, the agent's code and note
//! for a call they answered. The core decides whether it is taken
//! (`deskbridge_core::decide::wrap_up::accept`); it then reaches the call as an
//! event of its own through the journal, like any phone system's event, so it
//! is on disk before the agent hears "saved", and the call's waiting comment
//! (or a comment of its own, if the comment went already) carries it.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use deskbridge_core::Interaction;
use deskbridge_core::decide::wrap_up::{WrapUpAsk, accept, due, event};
use deskbridge_core::wrap_up::{WrapUp, WrapUpCode, WrapUpRefused};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiError;
use super::caller::{Caller, agent_ref};
use super::calls::{CallView, find_call};
use super::openapi::bodies as doc;
use crate::ingest::{Source, for_group};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(wrap_up))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct WrapUpRequest {
    /// One of the group's codes (`[groups.wrap_up] codes`); required when the
    /// group says `required = true`.
    #[serde(default)]
    pub code: Option<String>,
    /// What the agent wants the ticket to say.
    #[serde(default)]
    pub note: Option<String>,
}

#[utoipa::path(
    post,
    path = "/calls/{call_id}/wrap_up",
    tag = "agent",
    params(("call_id" = String, Path, description = "The call's id, as the phone system gave it")),
    request_body(content = WrapUpRequest),
    security(("agent_session" = [])),
    responses(
        (status = 200, description = "The wrap-up is stored; the call as it now stands (its `wrap_up`)", body = super::calls::CallView),
        (status = 400, description = "The body is not JSON (`malformed_json`)", body = doc::ApiErrorBody),
        (status = 401, description = "Not signed in (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 403, description = "A group token, no `X-CSRF-Token`, or a call another agent answered (`agent_only`, `csrf`, `not_your_call`)", body = doc::ApiErrorBody),
        (status = 404, description = "No such call of yours (`not_found`)", body = doc::ApiErrorBody),
        (status = 409, description = "Wrapped up already (`already_wrapped_up`, naming who)", body = doc::ApiErrorBody),
        (status = 422, description = "A code the group does not have, a code the group requires, nothing given, a note too long, an unanswered call, or a group without wrap-up (`unknown_code`, `code_required`, `empty_wrap_up`, `note_too_long`, `not_answered`, `no_wrap_up`, with `field`)", body = doc::ApiErrorBody),
    )
)]
async fn wrap_up(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(call_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<CallView>, ApiError> {
    let email = caller.agent().ok_or_else(|| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "agent_only",
            "sign in as an agent: a wrap-up is the answering agent's",
        )
    })?;
    let ask: WrapUpRequest = serde_json::from_value(super::parse_json(&body)?)
        .map_err(|e| ApiError::invalid("code", format!("the wrap-up's body: {e}")))?;
    let record = find_call(&state, &caller, &call_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no call {call_id:?} of yours")))?;
    let call = &record.interaction;
    let group = state
        .group(&call.group)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("no group {:?}", call.group)))?;
    let agent = agent_ref(&state, email);
    let taken = accept(
        call,
        &agent,
        WrapUpAsk {
            code: ask.code.as_deref(),
            note: ask.note.as_deref(),
        },
        chrono::Utc::now(),
    )
    .map_err(refused)?;
    // Under the plan the call started with: the event joins the call, it
    // starts nothing.
    let mut e = for_group(&group, event(call, taken));
    e.plan = call.plan.clone();
    crate::ingest::try_commit(&state, Source::WrapUp, &[e]).await?;
    tracing::info!(group = %group.name, call_id = %call_id, agent = %email, "wrapped up");
    let now = state
        .store
        .call(&group.name, &call_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no call {call_id:?}")))?;
    Ok(Json(CallView::new(&now, true)))
}

/// A call's wrap-up as the agent page shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WrapUpView {
    /// The group's codes, in the order to offer them.
    pub codes: Vec<WrapUpCode>,
    /// A code must be chosen.
    pub required: bool,
    /// While owed: until when the call's comment waits for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    /// The wrap-up given, once given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done: Option<WrapUp>,
    /// It is on the ticket (with the call's comment, or in a comment of its
    /// own).
    pub on_ticket: bool,
}

impl WrapUpView {
    pub fn of(call: &Interaction) -> Option<WrapUpView> {
        let rules = call.plan.wrap_up.as_ref()?;
        if call.answered_at.is_none() || call.is_chat() {
            return None;
        }
        Some(WrapUpView {
            codes: rules.codes.clone(),
            required: rules.required,
            due_at: due(call),
            done: call.wrap_up.clone(),
            on_ticket: call.done.wrap_up,
        })
    }
}

fn refused(r: WrapUpRefused) -> ApiError {
    let status = match r {
        WrapUpRefused::AlreadyWrappedUp(_) => StatusCode::CONFLICT,
        WrapUpRefused::NotYourCall => StatusCode::FORBIDDEN,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let field = match r {
        WrapUpRefused::UnknownCode { .. } | WrapUpRefused::CodeRequired(_) => Some("code"),
        WrapUpRefused::NoteTooLong => Some("note"),
        WrapUpRefused::Empty => Some("code"),
        _ => None,
    };
    let mut e = ApiError::new(status, r.code(), r.to_string());
    e.field = field.map(str::to_string);
    e
}
