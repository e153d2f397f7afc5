//! Talk Partner Edition: screen pops ("open this ticket / user in this agent's
//! browser") and tickets created by a telephony partner. The emulator has no
//! browser; it records each delivered pop so tests can assert who saw what, and
//! when.
//!
//! Source: Zendesk developer docs, "Talk Partner Edition API" (Open Ticket in
//! Agent's Browser, Open a User's Profile in an Agent's Browser, Create Ticket or
//! Voicemail Ticket), and the official OpenAPI file (operations
//! `OpenTicketInAgentBrowser`, `OpenUsersProfileInAgentBrowser`,
//! `CreateTicketOrVoicemailTicket`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use serde_json::{Value, json};

use super::{Base, Origin, parse_id, reply, tickets};
use crate::Shared;
use crate::body;
use crate::error::ApiError;
use crate::stats::{Pop, PopKind};

/// Whether a pop for this agent reaches a browser: a staff user (agent or
/// admin) who is signed in.
fn reaches(shared: &Shared, agent_id: u64) -> bool {
    if shared.control().signed_out.contains(&agent_id) {
        return false;
    }
    shared
        .store()
        .user(agent_id)
        .is_some_and(|agent| agent.role.is_staff())
}

fn record(shared: &Shared, agent_id: u64, kind: PopKind, id: u64) {
    shared.stats().pops.entry(agent_id).or_default().push(Pop {
        kind,
        id,
        at: Utc::now(),
    });
}

/// 200 `{}` "when the message is successfully delivered to an agent's browser";
/// 404 "when `agent_id` or `ticket_id` is invalid". Those are the only answers
/// Zendesk documents, so an agent who exists but has no browser session (not
/// signed in: the message is delivered to no browser) gets the 404 too.
fn display(
    shared: &Shared,
    agent_id: &str,
    kind: PopKind,
    target_id: &str,
) -> Result<Response, ApiError> {
    let agent_id = parse_id(agent_id)?;
    let target_id = parse_id(target_id)?;
    let target_ok = {
        let store = shared.store();
        match kind {
            PopKind::Ticket => store.ticket(target_id).is_some(),
            PopKind::User => store.user(target_id).is_some(),
        }
    };
    if !target_ok || !reaches(shared, agent_id) {
        return Err(ApiError::NotFound);
    }
    record(shared, agent_id, kind, target_id);
    Ok(reply(StatusCode::OK, json!({})))
}

pub(crate) async fn display_ticket(
    State(shared): State<Arc<Shared>>,
    Path((agent_id, ticket_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    display(&shared, &agent_id, PopKind::Ticket, &ticket_id)
}

pub(crate) async fn display_user(
    State(shared): State<Arc<Shared>>,
    Path((agent_id, user_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    display(&shared, &agent_id, PopKind::User, &user_id)
}

/// The `via_id`s the endpoint takes ("Zendesk Talk Integration Via IDs"): 44
/// voicemail, 45 inbound call, 46 outbound call.
const VIA_IDS: [u64; 3] = [44, 45, 46];

/// `POST /api/v2/channels/voice/tickets`: "Creating tickets using Talk Partner
/// Edition follows the same conventions as the Create Ticket endpoint", with a
/// mandatory `via_id` and an optional `display_to_agent`, the agent "that will
/// see the newly created ticket". A `voice_comment` (from, to, recording_url,
/// started_at, call_duration, answered_by_id, transcription_text, location)
/// becomes the ticket's first comment, shown with the call's details. 201 with
/// the ticket; the pop to `display_to_agent` is recorded when it reaches a
/// browser (Zendesk's answer does not say whether it did).
pub(crate) async fn create_ticket(
    State(shared): State<Arc<Shared>>,
    Base(base): Base,
    Origin(origin): Origin,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let mut body = body::parse(&bytes)?;
    let via_id = body["ticket"]["via_id"].as_u64();
    if !via_id.is_some_and(|v| VIA_IDS.contains(&v)) {
        return Err(ApiError::invalid(
            "via_id",
            "Via: is invalid (use 44 voicemail, 45 inbound call or 46 outbound call)",
            "InvalidValue",
        ));
    }
    let display_to = match body.get("display_to_agent") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .ok_or_else(|| {
                    ApiError::invalid(
                        "display_to_agent",
                        "Display to agent: is invalid",
                        "InvalidValue",
                    )
                })?,
        ),
    };
    // "The display_to_agent is validated before creating the ticket, returning
    // a 422 error if it is invalid" (the endpoint's reference): no ticket then.
    if let Some(agent) = display_to
        && !shared
            .store()
            .user(agent)
            .is_some_and(|user| user.role.is_staff())
    {
        return Err(ApiError::invalid(
            "display_to_agent",
            "Display to agent: is invalid",
            "InvalidValue",
        ));
    }
    fold_voice_comment(&mut body);
    if let Some(ticket) = body["ticket"].as_object_mut() {
        ticket.remove("via_id");
    }
    let (response, made) = tickets::create_from(&shared, &base, origin, &headers, body);
    if let (Some(agent), Some(ticket)) = (display_to, made)
        && response.status() == StatusCode::CREATED
        && reaches(&shared, agent)
    {
        record(&shared, agent, PopKind::Ticket, ticket);
    }
    Ok(response)
}

/// A ticket's `voice_comment` ("Adding voice comments to tickets": on a create
/// or an update) becomes its comment, shown as text: the voice comment first,
/// then a text comment sent with it.
pub(crate) fn fold_voice_comment(body: &mut Value) {
    let Some(voice) = body["ticket"].get("voice_comment").cloned() else {
        return;
    };
    let mut text = voice_comment_text(&voice);
    if let Some(extra) = body["ticket"]["comment"]["body"].as_str() {
        text = format!("{text}\n\n{extra}");
    }
    let public = body["ticket"]["comment"]["public"]
        .as_bool()
        .unwrap_or(false);
    body["ticket"]["comment"] = json!({"body": text, "public": public});
    if let Some(ticket) = body["ticket"].as_object_mut() {
        ticket.remove("voice_comment");
    }
}

/// How Zendesk shows a voice comment, as text: the call's details, then the
/// recording and transcription.
pub(crate) fn voice_comment_text(voice: &Value) -> String {
    let field = |k: &str| match &voice[k] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let mut lines = vec!["Call details:".to_string()];
    for (key, label) in [
        ("from", "Call from"),
        ("to", "Call to"),
        ("started_at", "Time of call"),
        ("call_duration", "Length of phone call (s)"),
        ("answered_by_id", "Answered by"),
        ("location", "Location"),
        ("recording_url", "Recording"),
        ("transcription_text", "Transcription"),
    ] {
        if let Some(v) = field(key) {
            lines.push(format!("{label}: {v}"));
        }
    }
    lines.join("\n")
}
