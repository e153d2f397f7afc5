//! Click-to-call: `POST /api/v1/agent/dial`. The signed-in agent asks
//! deskbridge to ring their own phone and then the customer; the core decides
//! the dial (`deskbridge_core::decide::dial`: the number, the caller id, where
//! the call is logged), the call is started in the journal under deskbridge's
//! call id, and the group's dialer asks the phone system to place it. The
//! events the phone system then sends carry that call id, so the call record
//! is one from the click to the comment.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use deskbridge_core::decide::dial::{DialAsk, DialGroup, dial};
use deskbridge_core::dial::{DIAL_FAILURE_ATTRIBUTE, Dial, DialLog, DialRefused};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiError;
use super::caller::Caller;
use super::openapi::bodies as doc;
use crate::dialers::NotPlaced;
use crate::ingest::{Source, for_group};
use crate::state::{AppState, Group};

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(dial_number))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DialRequest {
    /// The customer's number (E.164, or national in the group's region).
    pub to: String,
    /// The ticket the agent dials from: with `log = "ticket"` the call is
    /// logged on it.
    #[serde(default)]
    pub ticket_id: Option<String>,
    /// Where the call is logged (default `new_ticket`).
    #[serde(default)]
    pub log: DialLog,
    /// The group to dial through; default: the agent's first group with a
    /// dialer.
    #[serde(default)]
    pub group: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DialAnswer {
    /// deskbridge's id of the call: `GET /api/v1/calls/{call_id}` follows it.
    pub call_id: String,
    pub group: String,
    /// The customer's number, E.164.
    pub to: String,
    /// The caller id the customer sees.
    pub caller_id: Option<String>,
    /// The dialer that placed the call (`asterisk`, `webhook`).
    pub dialer: &'static str,
}

#[utoipa::path(
    post,
    path = "/agent/dial",
    tag = "agent",
    request_body(content = DialRequest),
    security(("agent_session" = [])),
    responses(
        (status = 202, description = "The phone system rings the agent's phone, then the customer; the call follows under `call_id`", body = DialAnswer),
        (status = 400, description = "The body is not JSON (`malformed_json`)", body = doc::ApiErrorBody),
        (status = 401, description = "Not signed in (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 403, description = "A group token, or no `X-CSRF-Token` (`agent_only`, `csrf`)", body = doc::ApiErrorBody),
        (status = 422, description = "Not a number, no ticket for `log = \"ticket\"`, no extension for the agent, or no dialer in the group (`invalid`, with `field`)", body = doc::ApiErrorBody),
        (status = 502, description = "The phone system refused the dial (`dial_refused`, its message)", body = doc::ApiErrorBody),
        (status = 503, description = "The phone system is not connected (`pbx_unavailable`)", body = doc::ApiErrorBody),
    )
)]
async fn dial_number(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<DialAnswer>), ApiError> {
    let email = caller.agent().ok_or_else(|| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "agent_only",
            "sign in as an agent: a dial rings the signed-in agent's phone",
        )
    })?;
    let body: DialRequest = serde_json::from_value(super::parse_json(&body)?)
        .map_err(|e| ApiError::invalid("to", format!("the dial's body: {e}")))?;
    let groups = caller.reach(&state);
    let group = match &body.group {
        Some(name) => groups.iter().find(|g| &g.name == name),
        None => groups.iter().find(|g| has_dialer(g)).or(groups.first()),
    }
    .cloned()
    .ok_or_else(|| ApiError::invalid("group", "no group of yours by that name"))?;
    let agent = super::caller::agent_ref(&state, email);
    let decided = dial(
        &DialAsk {
            to: &body.to,
            ticket_id: body.ticket_id.as_deref(),
            log: body.log,
        },
        &agent,
        DialGroup {
            name: &group.name,
            region: group.region,
            dialing: &group.dialing,
            attributes: &group.policy.attributes,
            has_dialer: has_dialer(&group),
        },
        format!("dial-{}", crate::agent_auth::random_secret()),
        chrono::Utc::now(),
    )
    .map_err(refused)?;
    // The call exists before the phone rings: whatever the PBX says next
    // lands on it.
    let mut first = for_group(&group, decided.first_event.clone());
    first.plan = decided.plan(&group.plan);
    crate::ingest::try_commit(&state, Source::Dial, &[first]).await?;
    let dialer = place(&state, &group, &decided).await?;
    tracing::info!(group = %group.name, call_id = %decided.call_id, agent = %email, "dialing");
    Ok((
        StatusCode::ACCEPTED,
        Json(DialAnswer {
            call_id: decided.call_id,
            group: group.name.clone(),
            to: decided.to,
            caller_id: decided.caller_id,
            dialer,
        }),
    ))
}

fn has_dialer(group: &Group) -> bool {
    group.dialer.is_some()
}

/// Asks the group's phone system to place the dial. A dial it did not take
/// ends the call record at once, saying why, so it does not stay ringing.
async fn place(state: &AppState, group: &Group, d: &Dial) -> Result<&'static str, ApiError> {
    let Some(dialer) = &group.dialer else {
        return Err(refused(DialRefused::NoDialer));
    };
    match dialer.place(&state.http, d).await {
        Ok(()) => Ok(dialer.name()),
        Err(not) => {
            end(state, group, d, &not.to_string()).await;
            Err(match not {
                NotPlaced::Refused(why) => {
                    ApiError::new(StatusCode::BAD_GATEWAY, "dial_refused", why)
                }
                NotPlaced::Unavailable(why) => {
                    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "pbx_unavailable", why)
                }
            })
        }
    }
}

/// Ends a dial the phone system never placed, with why in `dial_failure`.
async fn end(state: &AppState, group: &Group, d: &Dial, why: &str) {
    let mut e = deskbridge_core::CallEvent::new(
        format!("dial:{}:refused", d.call_id),
        d.call_id.clone(),
        deskbridge_core::EventKind::Ended,
        chrono::Utc::now(),
    );
    e.direction = Some(deskbridge_core::Direction::Outbound);
    e.reason = Some(deskbridge_core::EndReason::Failed);
    e.attributes.insert(
        DIAL_FAILURE_ATTRIBUTE.into(),
        why.chars().take(200).collect(),
    );
    if let Err(err) = crate::ingest::commit(state, Source::Dial, &[for_group(group, e)]).await {
        tracing::warn!(call_id = %d.call_id, error = %err, "cannot record a refused dial");
    }
}

fn refused(r: DialRefused) -> ApiError {
    let field = match r {
        DialRefused::NotANumber(_) => "to",
        DialRefused::NoExtension => "agent",
        DialRefused::NoTicket => "ticket_id",
        DialRefused::NoDialer => "group",
    };
    ApiError::invalid(field, r.to_string())
}
