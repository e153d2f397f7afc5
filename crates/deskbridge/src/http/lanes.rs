//! The connections kept for known clients.
//!
//! Most of `max_connections` is open to anyone; the rest (`reserved_connections`)
//! is taken only when the open share is full, and serves only clients deskbridge
//! knows: a phone system or an integration with a group's token (in its
//! `Authorization` header, or in the path for Zammad CTI), Twilio's signed
//! callbacks, a signed-in agent or admin, the metrics scraper with its token,
//! and the health probes. So anonymous clients filling the open share (a flood
//! of connections that never read their answers, say) leave the PBX's webhooks
//! and the agents' pages working.
//!
//! A connection in the reserved share serves one request and closes (`serve.rs`
//! turns keep-alive off for it), so a known client holds its slot only as long
//! as one answer takes, and a probe cannot keep a slot by pipelining. Whether a
//! request is known is checked before its body is read: a token against the
//! configured ones (constant time), a session cookie against the store (one
//! read, only in this share). Twilio's signature covers the body, so the
//! handler checks it; here a signed request to a group that takes Twilio is
//! let through, and a forged one costs its sender the one request its
//! connection may carry.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;
use super::auth::{groups_for_token, is_metrics_token, sent_bearer};
use super::caller::session_cookie;
use crate::agent_auth::session_hash;
use crate::state::AppState;

/// Which share of the connection slots a connection holds (a request
/// extension, set by the accept loop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// The share open to any client.
    Open,
    /// The share kept for known clients: taken only when the open one is full.
    Reserved,
}

/// Lets a request on a reserved connection through only from a known client;
/// any other gets the same 503 as a connection beyond the cap.
pub async fn known_clients_only(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    if request.extensions().get::<Lane>() != Some(&Lane::Reserved) {
        return next.run(request).await;
    }
    if is_known(&state, request.uri().path(), request.headers()).await {
        metrics::counter!("deskbridge_reserved_connections_served_total").increment(1);
        return next.run(request).await;
    }
    metrics::counter!("deskbridge_connections_refused_total").increment(1);
    let mut refused = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "too_many_connections",
        "the server is at its connection limit; retry later",
    )
    .into_response();
    refused
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    refused
}

/// Whether the request comes from a client deskbridge knows. (Its head only:
/// the request itself, body included, is not `Sync`, so the check borrows the
/// parts it reads.)
async fn is_known(state: &AppState, path: &str, headers: &HeaderMap) -> bool {
    if matches!(path, "/healthz" | "/readyz") {
        return true;
    }
    if let Some(token) = sent_bearer(headers)
        && (is_metrics_token(state, token) || !groups_for_token(state, token).is_empty())
    {
        return true;
    }
    if let Some(token) = path.strip_prefix("/api/v1/cti/")
        && !groups_for_token(state, token).is_empty()
    {
        return true;
    }
    if let Some(group) = path.strip_prefix("/api/v1/twilio/")
        && headers.contains_key("x-twilio-signature")
        && state
            .group(group)
            .is_some_and(|g| g.twilio_auth_token.is_some())
    {
        return true;
    }
    match session_cookie(headers) {
        Some(id) => matches!(
            state
                .store
                .session(&session_hash(&id), chrono::Utc::now())
                .await,
            Ok(Some(_))
        ),
        None => false,
    }
}
