//! Talk Partner Edition's Calls API: `POST /api/v2/calls` (Create Call) and
//! `GET /api/v2/calls/{id}` (Show Call). Source: "Calls", Talk Partner Edition
//! API reference,
//! <https://developer.zendesk.com/api-reference/voice/talk-partner-edition-api/calls/>,
//! and "Creating a voice comment in ticket" (the `comment` section). The rules
//! are in `state/calls.rs`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::{Origin, parse_id, reply};
use crate::Shared;
use crate::body;
use crate::error::ApiError;

/// 201 `{"call": {...}}`. "Talk Partner Edition is required to use this API"
/// (the API's introduction): an account without it gets 403.
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    Origin(origin): Origin,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    // Taken before the store's lock (no path holds two locks).
    let lose_answer = {
        let mut control = shared.control();
        if !control.talk_partner_edition {
            return Err(ApiError::Forbidden);
        }
        let lose = control.updates.calls_lost > 0;
        control.updates.calls_lost = control.updates.calls_lost.saturating_sub(1);
        lose
    };
    let body = body::parse(&bytes)?;
    let call = shared.store().create_call(&body["call"], origin)?;
    if lose_answer {
        // Made, but the answer is lost on the way back.
        return Err(ApiError::BadGateway);
    }
    Ok(reply(StatusCode::CREATED, json!({ "call": call })))
}

pub(crate) async fn show(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if !shared.control().talk_partner_edition {
        return Err(ApiError::Forbidden);
    }
    let id = parse_id(&id)?;
    let call = shared.store().call(id).cloned().ok_or(ApiError::NotFound)?;
    Ok(reply(StatusCode::OK, json!({ "call": call })))
}

/// 200 `{"call": {...}}` with the fields sent changed (`PATCH`, "Update
/// Call"): the method, the wrapped partial body and the answer as a live
/// account gave them in zenpy's recorded tests (`TestCallPE.test_create_update_get`).
pub(crate) async fn update(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    if !shared.control().talk_partner_edition {
        return Err(ApiError::Forbidden);
    }
    let id = parse_id(&id)?;
    let body = body::parse(&bytes)?;
    let call = shared.store().update_call(id, &body["call"])?;
    Ok(reply(StatusCode::OK, json!({ "call": call })))
}
