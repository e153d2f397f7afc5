//! `POST /api/v1/twilio/{group}`: Twilio's voice and recording status callbacks
//! for a group, accepted only when signed with the group's `twilio_auth_token`
//! over the URL Twilio called (`[server] public_url` + this path).

use super::openapi::bodies as doc;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode};

use super::ApiError;
use super::ingest::commit;
use crate::adapters::twilio;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(callback))
}

#[utoipa::path(
    post,
    path = "/twilio/{group}",
    tag = "twilio",
    params(
        ("group" = String, Path, description = "The connector group, with `twilio_auth_token`"),
        ("X-Twilio-Signature" = String, Header, description = "Twilio's signature over `[server] public_url` + this path and the form"),
    ),
    request_body(content = doc::TwilioCallback, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 204, description = "Recorded (or a callback that says nothing about the call)"),
        (status = 403, description = "No `X-Twilio-Signature`, no group takes Twilio callbacks here, or the signature does not match (`forbidden`; the same answer for each, so a group's name cannot be probed)", body = doc::ApiErrorBody),
        (status = 422, description = "A field is out of the bounds of every event (README, \"Limits\"; `invalid`, with `field`: a `CallSid` with control characters is `call_id`)", body = doc::ApiErrorBody),
        (status = 503, description = "The commit queue is full; nothing was stored: retry after `Retry-After` seconds (`busy`)", body = doc::ApiErrorBody),
    )
)]
async fn callback(
    State(state): State<Arc<AppState>>,
    Path(group): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let answer = accept(&state, &group, &uri, &headers, &body).await;
    if let Err(e) = &answer
        && let Some(why) = crate::ingest::Rejection::of_status(e.status)
    {
        let ours = state.group(&group).map(|g| g.as_ref());
        crate::ingest::rejected(crate::ingest::Source::Twilio, ours, why);
    }
    answer
}

async fn accept(
    state: &Arc<AppState>,
    group: &str,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<StatusCode, ApiError> {
    // One answer for an unknown group, a group without a token and a request
    // without a signature: someone probing unsigned cannot tell which group
    // names exist (a 401 naming the missing signature would say "this one").
    let unknown = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "no group takes unsigned Twilio callbacks at this address: Twilio signs with \
             X-Twilio-Signature, with the auth token set as the group's twilio_auth_token",
        )
    };
    let group = state.group(group).cloned().ok_or_else(unknown)?;
    let token = group.twilio_auth_token.as_deref().ok_or_else(unknown)?;
    let Some(public_url) = &state.public_url else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Twilio signs the URL it calls: set [server] public_url to the address Twilio uses",
        ));
    };
    let signature = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(unknown)?;
    let called = format!(
        "{public_url}{}",
        uri.path_and_query().map_or(uri.path(), |p| p.as_str())
    );
    let pairs = twilio::parse(body);
    if !twilio::signed_by_twilio(token, &called, &pairs, signature) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "X-Twilio-Signature does not match: check the group's twilio_auth_token and that \
             [server] public_url is the address Twilio calls",
        ));
    }
    let Some(event) = twilio::event(&pairs, group.region, chrono::Utc::now()) else {
        return Ok(StatusCode::NO_CONTENT);
    };
    let events = [crate::ingest::for_group(&group, event)];
    commit(state, crate::ingest::Source::Twilio, &events).await?;
    Ok(StatusCode::NO_CONTENT)
}
