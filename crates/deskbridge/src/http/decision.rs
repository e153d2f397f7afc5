//! Agent mode: `POST /api/v1/calls/{call_id}/decision`, the agent's choice for a
//! call waiting for one. The handler checks what only the helpdesk knows (the
//! ticket exists and is not closed, the contact exists); whether the call may
//! still be decided is the core's answer (`Interaction::decide`), given inside
//! the store's transaction.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use deskbridge_core::agent_mode::{AgentAction, AgentChoice, DecisionRefused, attachable};
use deskbridge_store::Decided;
use serde_json::Value;

use super::ApiError;
use super::caller::Caller;
use super::calls::{CallView, find_call};
use super::lookup::helpdesk_error;
use crate::state::AppState;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/calls/{call_id}/decision", post(decide))
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
