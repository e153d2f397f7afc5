//! `POST /api/v1/events`: 202 only after the events are committed.
//!
//! Each event goes to a group of the token that sent it: the one its `group` field
//! names (if the token may send for it), else the group that already has the call,
//! else the group owning the number it dialed, else the token's first group.

use super::openapi::bodies as doc;
use std::collections::HashMap;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use deskbridge_core::ApplyError;
use deskbridge_core::group_for::Addressed;
use deskbridge_store::{IngestReport, StoreError};
use serde_json::Value;

use super::{ApiError, GroupAuth, parse_json};
use crate::adapters::native::{self, FieldError};
use crate::ingest::CommitError;
/// The one commit path of every adapter (`crate::ingest`), as the HTTP adapters
/// call it: refused with a 503 when the commit queue is full.
pub(super) use crate::ingest::try_commit as commit;
use crate::state::{AppState, Group};

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(ingest))
}

#[utoipa::path(
    post,
    path = "/events",
    tag = "events",
    request_body(content = doc::NativeEvents, description = "One event, or an array of events (a batch is committed whole or not at all)"),
    security(("group_token" = [])),
    responses(
        (status = 202, description = "Every event is committed (a repeated `id` counted as a duplicate)", body = doc::IngestReport),
        (status = 400, description = "The body is not JSON (`malformed_json`)", body = doc::ApiErrorBody),
        (status = 401, description = "No credentials, or not valid (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 422, description = "An event is not valid: `field` names it, prefixed `[i].` in a batch (`invalid`)", body = doc::ApiErrorBody),
        (status = 503, description = "The commit queue is full; nothing was stored: retry after `Retry-After` seconds (`busy`)", body = doc::ApiErrorBody),
    )
)]
async fn ingest(
    State(state): State<Arc<AppState>>,
    auth: GroupAuth,
    body: Bytes,
) -> Result<(StatusCode, Json<IngestReport>), ApiError> {
    let answer = accept(&state, &auth, &body).await;
    if let Err(e) = &answer
        && let Some(why) = crate::ingest::Rejection::of_status(e.status)
    {
        crate::ingest::rejected(crate::ingest::Source::Native, Some(auth.primary()), why);
    }
    answer
}

async fn accept(
    state: &Arc<AppState>,
    auth: &GroupAuth,
    body: &Bytes,
) -> Result<(StatusCode, Json<IngestReport>), ApiError> {
    let (state, auth, body) = (state.clone(), auth, body);
    let value = parse_json(body)?;
    let is_array = value.is_array();
    let at = |index: usize, field: &str| match is_array {
        true => native::prefixed(index, field),
        false => field.to_string(),
    };
    let invalid = |index: usize, e: FieldError| ApiError::invalid(at(index, &e.field), e.message);
    // The batch as a whole: no event's index to name.
    let items = native::items(&value).map_err(|e| ApiError {
        field: None,
        ..ApiError::invalid(e.field, e.message)
    })?;
    let now = chrono::Utc::now();
    let mut events = Vec::with_capacity(items.len());
    // Calls routed earlier in this batch, for their later events.
    let mut routed: HashMap<String, Arc<Group>> = HashMap::new();
    for (index, item) in items.iter().enumerate() {
        let group = route(&state, auth, &routed, item).await.map_err(|mut e| {
            e.field = e.field.map(|field| at(index, &field));
            e
        })?;
        if let Some(call_id) = item.get("call_id").and_then(Value::as_str) {
            routed
                .entry(call_id.to_string())
                .or_insert_with(|| group.clone());
        }
        let event = native::event(item, group.region, now).map_err(|e| invalid(index, e))?;
        events.push(crate::ingest::for_group(&group, event));
    }
    let report = match commit(&state, crate::ingest::Source::Native, &events).await {
        Ok(report) => report,
        Err(CommitError::Store(StoreError::Apply { index, source })) => {
            return Err(match source {
                ApplyError::MissingDirection { .. } => {
                    ApiError::invalid(at(index, "direction"), source.to_string())
                }
                ApplyError::OutOfBounds(out) => {
                    ApiError::invalid(at(index, &out.field), out.message)
                }
            });
        }
        Err(CommitError::Store(e @ StoreError::CallTooLarge { .. })) => {
            return Err(ApiError::invalid("attributes", e.to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    Ok((StatusCode::ACCEPTED, Json(report)))
}

/// The event's group, as the core decides ([`deskbridge_core::group_for`]).
async fn route(
    state: &AppState,
    auth: &GroupAuth,
    routed: &HashMap<String, Arc<Group>>,
    item: &Value,
) -> Result<Arc<Group>, ApiError> {
    let (named, dialed) =
        native::addressing(item).map_err(|e| ApiError::invalid(e.field, e.message))?;
    let call_id = item.get("call_id").and_then(Value::as_str);
    let event = Addressed {
        group: named.as_deref(),
        call_id,
        dialed: dialed.iter().map(String::as_str).collect(),
        reads_numbers: None,
    };
    let in_batch = call_id.and_then(|id| routed.get(id));
    Ok(super::routing::group_for(state, &auth.0, &event, in_batch).await?)
}
