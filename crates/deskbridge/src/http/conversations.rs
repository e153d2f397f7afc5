//! Chats: `POST /api/v1/conversations` (a closed conversation, 202 once
//! committed) and `GET /api/v1/conversations/{id}` (what became of it).
//!
//! A conversation enters the journal like a call's event (`crate::ingest`): one
//! event whose id is the conversation's, so a re-sent conversation is a
//! duplicate and changes nothing; its steps and `sync` are a call's.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use deskbridge_core::chat::Visitor;
use deskbridge_core::group_for::Addressed;
use deskbridge_core::{AssigneeRule, ContactRule, TicketRule};
use deskbridge_store::{CallRecord, StoreError, SyncStatus};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::caller::Caller;
use super::calls::{AgentView, StepView, find_call};
use super::openapi::bodies as doc;
use super::{ApiError, GroupAuth, parse_json};
use crate::adapters::chat as adapter;
use crate::state::{AppState, Group};

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(receive))
        .routes(routes!(one))
}

/// The answer to `POST /api/v1/conversations`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConversationReceipt {
    /// The conversation's id, as sent.
    pub id: String,
    pub group: String,
    /// 1 when stored now, 0 when it had been received before.
    pub accepted: usize,
    /// 1 when it had been received before (nothing changed).
    pub duplicates: usize,
}

/// `POST /api/v1/conversations`: one closed conversation, 202 once committed.
#[utoipa::path(
    post,
    path = "/conversations",
    operation_id = "receive_conversation",
    tag = "chats",
    request_body(content = doc::Conversation, description = "One closed conversation"),
    security(("group_token" = [])),
    responses(
        (status = 202, description = "Committed (or received before: `duplicates` is 1 and nothing changed)", body = ConversationReceipt),
        (status = 400, description = "The body is not JSON (`malformed_json`)", body = doc::ApiErrorBody),
        (status = 401, description = "No credentials, or not valid (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 422, description = "The conversation is not valid, or the token may not send for its `group`: `field` names what to change (`invalid`)", body = doc::ApiErrorBody),
        (status = 503, description = "The commit queue is full; nothing was stored: retry after `Retry-After` seconds (`busy`)", body = doc::ApiErrorBody),
    )
)]
async fn receive(
    State(state): State<Arc<AppState>>,
    auth: GroupAuth,
    body: Bytes,
) -> Result<(StatusCode, Json<ConversationReceipt>), ApiError> {
    // Counted as the chat source's rejections, under the token's first group.
    let refused = |e: ApiError| {
        let why = crate::ingest::Rejection::Invalid;
        crate::ingest::rejected(crate::ingest::Source::Chat, Some(auth.primary()), why);
        e
    };
    let value = parse_json(&body).map_err(refused)?;
    let input =
        adapter::parse(&value).map_err(|e| refused(ApiError::invalid(e.field, e.message)))?;
    let group = route(&state, &auth, &input).await.map_err(refused)?;
    let conversation = adapter::conversation(input, group.region, Utc::now())
        .map_err(|e| refused(ApiError::invalid(e.field, e.message)))?;
    let id = conversation.id.clone();
    let events = [crate::ingest::for_group(
        &group,
        adapter::event(conversation),
    )];
    let report = match crate::ingest::try_commit(&state, crate::ingest::Source::Chat, &events).await
    {
        Ok(report) => report,
        Err(crate::ingest::CommitError::Store(e @ StoreError::CallTooLarge { .. })) => {
            return Err(ApiError::invalid("transcript", e.to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(ConversationReceipt {
            id,
            group: group.name.clone(),
            accepted: report.accepted,
            duplicates: report.duplicates,
        }),
    ))
}

/// The site's group: the one `group` names (if the token sends for it), else the
/// token's group that has the conversation already, else the token's first (the
/// core's `group_for`; a chat dials no number).
async fn route(
    state: &AppState,
    auth: &GroupAuth,
    input: &adapter::ConversationIn,
) -> Result<Arc<Group>, ApiError> {
    let call_id = input
        .id
        .as_deref()
        .map(|id| adapter::interaction_id(id.trim()));
    let addressed = Addressed {
        group: input.group.as_deref(),
        call_id: call_id.as_deref(),
        ..Addressed::default()
    };
    Ok(super::routing::group_for(state, &auth.0, &addressed, None).await?)
}

/// `GET /api/v1/conversations/{id}`: a conversation of the token's groups (or
/// one the signed-in agent handled); another group's is "not found".
#[utoipa::path(
    get,
    path = "/conversations/{id}",
    operation_id = "get_conversation",
    tag = "chats",
    params(("id" = String, Path, description = "The conversation's id, as the chat platform gave it")),
    security(("group_token" = []), ("agent_session" = [])),
    responses(
        (status = 200, description = "The conversation, its contact, ticket and steps, and whether its helpdesk work is done", body = ConversationView),
        (status = 401, description = "No credentials, or not valid (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 404, description = "No such conversation that you may see (`not_found`)", body = doc::ApiErrorBody),
    )
)]
async fn one(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ConversationView>, ApiError> {
    let found = find_call(&state, &caller, &adapter::interaction_id(&id)).await?;
    match found.as_ref().and_then(ConversationView::new) {
        Some(view) => Ok(Json(view)),
        None => Err(ApiError::not_found(format!(
            "no conversation {id:?} that you may see"
        ))),
    }
}

/// A conversation as `GET /api/v1/conversations/{id}` shows it: what was sent
/// (without the transcript, which is on the ticket), and what became of it,
/// like a call.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConversationView {
    pub agent: Option<AgentView>,
    pub assignee: Option<String>,
    pub channel: Option<String>,
    pub contact_id: Option<String>,
    pub decisions: ConversationDecisions,
    pub ended_at: DateTime<Utc>,
    /// The agent escalated it (an open ticket) rather than closing it (solved).
    pub escalate: bool,
    pub group: String,
    pub id: String,
    pub messages: usize,
    pub started_at: DateTime<Utc>,
    pub steps: Vec<StepView>,
    /// `pending|done|failed`: whether its helpdesk work is finished.
    pub sync: SyncStatus,
    pub sync_error: Option<String>,
    pub tags: Vec<String>,
    pub ticket_id: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub visitor: Visitor,
}

/// Why the conversation went where it went.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConversationDecisions {
    pub assignee_rule: Option<AssigneeRule>,
    pub contact_rule: Option<ContactRule>,
    pub ticket_rules: Vec<TicketRule>,
}

impl ConversationView {
    /// The view of a chat's record; `None` for a call's.
    fn new(record: &CallRecord) -> Option<ConversationView> {
        let call = &record.interaction;
        let c = call.chat.as_deref()?;
        Some(ConversationView {
            agent: c.agent.as_ref().map(AgentView::from),
            assignee: call.assignee.clone(),
            channel: c.channel.clone(),
            contact_id: call.contact_id.clone(),
            decisions: ConversationDecisions {
                assignee_rule: call.assignee_rule,
                contact_rule: call.contact_rule,
                ticket_rules: call.ticket_rules.clone(),
            },
            ended_at: c.ended_at,
            escalate: c.escalate,
            group: call.group.clone(),
            id: c.id.clone(),
            messages: c.transcript.len(),
            started_at: c.started_at,
            steps: record.steps.iter().map(StepView::from).collect(),
            sync: record.sync,
            sync_error: record.sync_error.clone(),
            tags: c.tags.clone(),
            ticket_id: call.ticket_id.clone(),
            updated_at: record.updated_at,
            visitor: c.visitor.clone(),
        })
    }
}
