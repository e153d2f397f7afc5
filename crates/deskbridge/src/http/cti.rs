//! `POST /api/v1/cti/{token}`: Zammad's generic CTI, answered as Zammad answers,
//! so that a PBX script written for Zammad works by changing the host.
//!
//! The token is in the path (PBXs configure one URL, no headers). Answers:
//! `{}`; `{"action":"reject","reason":"busy"}` for a blocked inbound caller
//! (the call is still logged); `{"action":"dial","number":..,"caller_id":..}`
//! for an outbound call the group has a caller id for; Zammad's 401 and 422
//! bodies (`{"error": "..."}`) otherwise.

use super::openapi::bodies as doc;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header::CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use deskbridge_core::CallEvent;
use deskbridge_core::event::{Direction, EndReason, EventKind};
use deskbridge_core::group_for::Addressed;

use serde_json::json;

use super::auth::groups_for_token;
use super::ingest::commit;
use crate::adapters::zammad::{self, CtiEvent, CtiRequest};
use crate::ingest::{Rejection, Source};
use crate::state::{AppState, Group};

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(cti))
}

/// Zammad's error shape: `{"error": "<message>"}`.
fn refuse(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

#[utoipa::path(
    post,
    path = "/cti/{token}",
    tag = "cti",
    params(("token" = String, Path, description = "A connector group's token (PBXs configure one URL, no headers)")),
    request_body(content(
        (doc::CtiRequest = "application/x-www-form-urlencoded"),
        (doc::CtiRequest = "application/json"),
    )),
    responses(
        (status = 200, description = "Zammad's answer", body = doc::CtiAnswer),
        (status = 401, description = "The token is not a group's", body = doc::CtiError),
        (status = 422, description = "The request is not Zammad's CTI (no `callId`, an unknown `event`), or a field is out of the bounds of every event (README, \"Limits\": a `callId` with control characters or over 256 bytes)", body = doc::CtiError),
        (status = 500, description = "The call could not be recorded; send it again", body = doc::CtiError),
        (status = 503, description = "The server is at its ingest limit; send it again after `Retry-After` seconds", body = doc::CtiError),
    )
)]
async fn cti(
    State(state): State<Arc<AppState>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let groups = groups_for_token(&state, &token);
    if groups.is_empty() {
        crate::ingest::rejected(Source::Zammad, None, Rejection::Unauthorized);
        return refuse(
            StatusCode::UNAUTHORIZED,
            "Invalid token, please contact your admin!",
        );
    }
    let json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    let request = match zammad::parse(&body, json) {
        Ok(r) => r,
        Err(e) => {
            crate::ingest::rejected(
                Source::Zammad,
                groups.first().map(|g| g.as_ref()),
                Rejection::Invalid,
            );
            return refuse(StatusCode::UNPROCESSABLE_ENTITY, &e.0);
        }
    };
    // The token's group that has the call already, else the one whose number
    // it is, else the token's first (the core's `group_for`).
    let addressed = Addressed {
        call_id: Some(request.call_id.as_str()),
        dialed: request.our_number().into_iter().collect(),
        reads_numbers: Some(zammad::phone),
        ..Addressed::default()
    };
    let group = match super::routing::group_for(&state, &groups, &addressed, None).await {
        Ok(group) => group,
        Err(e) => {
            tracing::error!(error = %e, "cannot tell which group has the call");
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The call could not be recorded; send it again.",
            );
        }
    };
    let now = chrono::Utc::now();
    let event = request.event(group.region, now);
    let answer = answer(&group, &request, &event);
    let mut events = vec![event];
    if let Some(note) = answer.blocked {
        // Logged, never worked on: the call ends as rejected at once.
        let first = &mut events[0];
        first
            .attributes
            .insert("blocked".into(), note.unwrap_or_else(|| "blocked".into()));
        let mut ended = CallEvent::new(
            format!("cti:{}:rejected", request.call_id),
            request.call_id.clone(),
            EventKind::Ended,
            now,
        );
        ended.reason = Some(EndReason::Rejected);
        events.push(ended);
    }
    let events: Vec<_> = events
        .into_iter()
        .map(|event| crate::ingest::for_group(&group, event))
        .collect();
    if let Err(e) = commit(&state, crate::ingest::Source::Zammad, &events).await {
        if let crate::ingest::CommitError::Busy(_) = e {
            let mut busy = refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "The server is at its ingest limit; send it again shortly.",
            );
            busy.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
            return busy;
        }
        if let crate::ingest::CommitError::Store(deskbridge_store::StoreError::Apply {
            source: deskbridge_core::ApplyError::OutOfBounds(out),
            ..
        }) = &e
        {
            crate::ingest::rejected(Source::Zammad, Some(&group), Rejection::Invalid);
            return refuse(StatusCode::UNPROCESSABLE_ENTITY, &out.to_string());
        }
        tracing::error!(error = %e, "cannot record a CTI event");
        return refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The call could not be recorded; send it again.",
        );
    }
    (StatusCode::OK, Json(answer.body)).into_response()
}

struct Answer {
    body: serde_json::Value,
    /// The caller is blocked (with the block list's note).
    blocked: Option<Option<String>>,
}

/// What the PBX is told for this webhook (the core's dialing rules decide).
fn answer(group: &Group, request: &CtiRequest, event: &CallEvent) -> Answer {
    let nothing = Answer {
        body: json!({}),
        blocked: None,
    };
    if request.event != CtiEvent::NewCall {
        return nothing;
    }
    match request.direction {
        Some(Direction::Inbound) => {
            match event.from.as_ref().and_then(|f| group.dialing.blocked(f)) {
                Some(entry) => Answer {
                    body: json!({ "action": "reject", "reason": "busy" }),
                    blocked: Some(entry.note.clone()),
                },
                None => nothing,
            }
        }
        Some(Direction::Outbound) => {
            let caller_id = event.to.as_ref().and_then(|to| group.dialing.caller_id(to));
            match (caller_id, &request.to) {
                // The number is echoed as the PBX sent it.
                (Some(caller_id), Some(number)) => Answer {
                    body: json!({ "action": "dial", "number": number, "caller_id": caller_id }),
                    blocked: None,
                },
                _ => nothing,
            }
        }
        None => nothing,
    }
}
