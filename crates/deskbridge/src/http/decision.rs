//! Agent mode: `POST /api/v1/calls/{call_id}/decision`, the agent's choice for a
//! call waiting for one. The handler checks what only the helpdesk knows (the
//! ticket exists and is not closed, the contact exists); whether the call may
//! still be decided is the core's answer (`Interaction::decide`), given inside
//! the store's transaction.

use super::openapi::bodies as doc;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use deskbridge_core::agent_mode::{AgentAction, AgentChoice, DecisionRefused, attachable};
use deskbridge_store::Decided;
use serde_json::Value;

use super::ApiError;
use super::caller::Caller;
use super::calls::{CallView, find_call};
use super::lookup::helpdesk_error;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(decide))
}

/// An id sent as a string or a number.
fn id_field(body: &Value, field: &str) -> Result<String, ApiError> {
    match body.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(ApiError::invalid(field, format!("send the {field}"))),
    }
}

fn action_of(body: &Value) -> Result<AgentAction, ApiError> {
    let action = body.get("action").and_then(Value::as_str).unwrap_or("");
    match action {
        "new_ticket" => Ok(AgentAction::NewTicket),
        "attach" => Ok(AgentAction::Attach {
            ticket_id: id_field(body, "ticket_id")?,
        }),
        "contact" => Ok(AgentAction::Contact {
            contact_id: id_field(body, "contact_id")?,
            add_phone: match body.get("add_phone") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(ApiError::invalid("add_phone", "must be true or false")),
            },
        }),
        _ => Err(ApiError::invalid(
            "action",
            "must be \"new_ticket\", \"attach\" (with ticket_id) or \"contact\" (with contact_id)",
        )),
    }
}

fn refused(r: DecisionRefused) -> ApiError {
    let (status, code, field) = match &r {
        DecisionRefused::TimedOut { .. } => (StatusCode::CONFLICT, "decision_too_late", None),
        DecisionRefused::AlreadyDecided(_) => (StatusCode::CONFLICT, "already_decided", None),
        DecisionRefused::NotWaiting => (StatusCode::CONFLICT, "not_waiting", None),
        DecisionRefused::TicketNotFound(_) | DecisionRefused::TicketClosed(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("ticket_id"),
        ),
        DecisionRefused::ContactNotFound(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("contact_id"),
        ),
        DecisionRefused::NoNumberToAdd => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some("add_phone"),
        ),
    };
    debug_assert_eq!(r.is_conflict(), status == StatusCode::CONFLICT);
    let mut e = ApiError::new(status, code, r.to_string());
    e.field = field.map(str::to_string);
    e
}

#[utoipa::path(
    post,
    path = "/calls/{call_id}/decision",
    tag = "calls",
    params(("call_id" = String, Path, description = "The call's id, as the phone system gave it")),
    request_body(content = doc::DecisionRequest),
    security(("group_token" = []), ("agent_session" = [])),
    responses(
        (status = 200, description = "The choice is recorded; the call as it now stands", body = super::calls::CallView),
        (status = 400, description = "The body is not JSON (`malformed_json`)", body = doc::ApiErrorBody),
        (status = 401, description = "No credentials, or not valid (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 403, description = "Signed in by the session cookie without its `X-CSRF-Token` (`csrf`)", body = doc::ApiErrorBody),
        (status = 404, description = "No such call that you may decide (`not_found`)", body = doc::ApiErrorBody),
        (status = 409, description = "Too late, already decided, or the call does not wait for a decision (`decision_too_late`, `already_decided`, `not_waiting`)", body = doc::ApiErrorBody),
        (status = 422, description = "A missing or unknown action, a ticket that does not exist or is closed, a contact that does not exist, no number to add (`invalid`, with `field`)", body = doc::ApiErrorBody),
        (status = 502, description = "The helpdesk did not answer the check of the ticket or contact (`helpdesk_unavailable`)", body = doc::ApiErrorBody),
    )
)]
async fn decide(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(call_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<CallView>, ApiError> {
    let body = super::parse_json(&body)?;
    let action = action_of(&body)?;
    // An agent decides only their own calls; another's is "not found".
    let record = find_call(&state, &caller, &call_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no call {call_id:?} that you may decide")))?;
    let group_name = record.interaction.group.clone();
    let group = state
        .group(&group_name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("no group {group_name:?}")))?;
    match &action {
        AgentAction::Attach { ticket_id } => {
            let ticket = group
                .helpdesk
                .get_ticket(ticket_id)
                .await
                .map_err(helpdesk_error)?;
            attachable(ticket_id, ticket.as_ref()).map_err(refused)?;
        }
        AgentAction::Contact { contact_id, .. } => {
            let contact = group
                .helpdesk
                .get_contact(contact_id)
                .await
                .map_err(helpdesk_error)?;
            if contact.is_none() {
                return Err(refused(DecisionRefused::ContactNotFound(
                    contact_id.clone(),
                )));
            }
        }
        AgentAction::NewTicket => {}
    }
    let choice = AgentChoice {
        action,
        by: caller.agent().map(str::to_string),
        at: chrono::Utc::now(),
    };
    match state.store.decide(&group_name, &call_id, choice).await? {
        Decided::Recorded(record) => Ok(Json(CallView::new(&record, true))),
        Decided::Refused(r) => Err(refused(r)),
        Decided::NoSuchCall => Err(ApiError::not_found(format!("no call {call_id:?}"))),
    }
}
