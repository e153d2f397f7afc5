//! `POST /api/v1/amazon-connect` (a group's bearer token): Amazon Connect's
//! contact-flow Lambda events and EventBridge contact events, on one path.
//!
//! A Lambda event records (or updates) the call and is answered with a flat
//! map of strings the flow can branch on ("Check contact attributes"): whether
//! the caller is known, their contact and open ticket, and where to route them
//! (the same answer as `GET /api/v1/route`). Contact events are answered with
//! the ingest report.

use super::openapi::bodies as doc;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde_json::{Value, json};

use super::ingest::commit;
use super::lookup::{call_caller_and_route, caller_and_route};
use super::{ApiError, GroupAuth};
use crate::adapters::connect::{self, ConnectRequest};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(amazon_connect))
}

#[utoipa::path(
    post,
    path = "/amazon-connect",
    tag = "amazon-connect",
    request_body(content = doc::ConnectEvent),
    security(("group_token" = [])),
    responses(
        (status = 200, description = "A flow event: flat strings about the caller and the route; a contact event: the ingest report", body = doc::ConnectAnswer),
        (status = 401, description = "No credentials, or not valid (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 422, description = "Neither a contact-flow event nor a contact event (`invalid`, field `body`), or a field out of the bounds of every event (README, \"Limits\"; `invalid`, with the event's `field`: `ContactId` is `call_id`, an agent ARN `agent.extension`)", body = doc::ApiErrorBody),
        (status = 502, description = "The helpdesk did not answer the caller lookup (`helpdesk_unavailable`)", body = doc::ApiErrorBody),
        (status = 503, description = "The commit queue is full; nothing was stored: retry after `Retry-After` seconds (`busy`)", body = doc::ApiErrorBody),
    )
)]
async fn amazon_connect(
    State(state): State<Arc<AppState>>,
    auth: GroupAuth,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let request = connect::parse(&body).map_err(|e| {
        let source = crate::ingest::Source::AmazonConnect;
        crate::ingest::rejected(
            source,
            Some(auth.primary()),
            crate::ingest::Rejection::Invalid,
        );
        ApiError::invalid("body", e.0)
    })?;
    // The token's group that has the call, else the one whose number the
    // flow's call dialed, else the token's first (the core's `group_for`).
    let group = super::routing::group_for(&state, &auth.0, &request.addressed(), None).await?;
    let now = chrono::Utc::now();
    let event = match &request {
        ConnectRequest::Flow(flow) => flow.is_voice().then(|| flow.event(group.region, now)),
        ConnectRequest::Contact(contact) => contact.event(now),
    };
    // The customer's number as the call records it (`customer_number` first).
    let customer = event.as_ref().and_then(|e| match e.direction {
        Some(deskbridge_core::Direction::Outbound) => e.to.as_ref(),
        _ => e.from.as_ref(),
    });
    let customer = customer.map(|p| p.as_str().to_string());
    let event_recorded = event.is_some();
    let report = match event {
        Some(event) => {
            let events = [crate::ingest::for_group(&group, event)];
            Some(commit(&state, crate::ingest::Source::AmazonConnect, &events).await?)
        }
        None => None,
    };
    match request {
        ConnectRequest::Flow(flow) => {
            // The call as recorded (with what earlier invocations taught it) is
            // identified as its steps will identify it; a flow event that made
            // no call (not voice) is answered from the number alone.
            let call = match event_recorded {
                true => state
                    .store
                    .call(&group.name, flow.call_id())
                    .await
                    .map_err(ApiError::internal)?,
                false => None,
            };
            let (card, route) = match call {
                Some(call) => call_caller_and_route(&state, &group, &call.interaction).await,
                None => caller_and_route(&state, &group, customer.as_deref()).await?,
            };
            let card = card.unwrap_or_default();
            let text = |v: Option<String>| v.unwrap_or_default();
            // Flat strings only: a contact flow reads nothing else.
            Ok(Json(json!({
                "deskbridge_call_id": flow.call_id(),
                "caller_found": card.contact_id.is_some().to_string(),
                "contact_id": text(card.contact_id),
                "contact_name": text(card.name),
                "open_ticket_id": text(card.open_ticket.map(|t| t.id)),
                "route_target": text(route.target),
                "route_agent": text(route.agent.map(|a| a.email)),
                "route_reason": serde_json::to_value(route.reason)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
            })))
        }
        ConnectRequest::Contact(_) => Ok(Json(json!({
            "accepted": report.as_ref().map_or(0, |r| r.accepted),
            "duplicates": report.as_ref().map_or(0, |r| r.duplicates),
        }))),
    }
}
