//! `POST /api/v1/twilio/{group}`: Twilio's voice and recording status callbacks
//! for a group, accepted only when signed with the group's `twilio_auth_token`
//! over the URL Twilio called (`[server] public_url` + this path). A dial's
//! legs (click-to-call, `[groups.twilio_dial]`) report here too, and
//! `POST /api/v1/twilio/{group}/dial/{call_id}` gives Twilio the TwiML that
//! dials the customer once the agent picked up.

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
use deskbridge_adapters::twilio_dial::{Leg, leg_event};

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(callback))
        .routes(routes!(dial_twiml))
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

/// The TwiML of a dial (click-to-call): Twilio fetches it when the agent
/// picks up, and it dials the customer with the dial's caller id, their leg
/// reporting back to the group's Twilio address.
#[utoipa::path(
    post,
    path = "/twilio/{group}/dial/{call_id}",
    tag = "twilio",
    params(
        ("group" = String, Path, description = "The connector group, with `twilio_dial`"),
        ("call_id" = String, Path, description = "The dial's call id"),
        ("X-Twilio-Signature" = String, Header, description = "Twilio's signature over `[server] public_url` + this path and the form"),
    ),
    request_body(content = doc::TwilioCallback, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "TwiML: `<Dial callerId><Number>` the customer", content_type = "text/xml", body = String),
        (status = 403, description = "Not signed by Twilio for this group (`forbidden`)", body = doc::ApiErrorBody),
        (status = 404, description = "No such dial (`not_found`)", body = doc::ApiErrorBody),
    )
)]
async fn dial_twiml(
    State(state): State<Arc<AppState>>,
    Path((group, call_id)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let (group, _) = verified(&state, &group, &uri, &headers, &body)?;
    let dial = state
        .store
        .call(&group.name, &call_id)
        .await?
        .map(|r| r.interaction)
        .filter(|c| c.direction == deskbridge_core::Direction::Outbound)
        .ok_or_else(|| ApiError::not_found(format!("no dial {call_id:?}")))?;
    let (Some(to), Some(crate::dialers::Dialer::Twilio { address, .. })) =
        (dial.to.as_ref(), &group.dialer)
    else {
        return Err(ApiError::not_found(format!("no Twilio dial {call_id:?}")));
    };
    let agent = dial.rang.first().and_then(|a| a.email.as_deref());
    let twiml = deskbridge_adapters::twilio_dial::dial_twiml(
        to.as_str(),
        dial.from.as_ref().map(|p| p.as_str()),
        &address.status_url(&call_id, Leg::Customer, agent),
    );
    Ok(([(axum::http::header::CONTENT_TYPE, "text/xml")], twiml).into_response())
}

/// A request Twilio signed for a group: the group, and the form's pairs.
type Signed = (Arc<crate::state::Group>, Vec<(String, String)>);

/// The group and the form of a request Twilio signed for it (its signature
/// checked over `[server] public_url` + the path and query, and the form).
fn verified(
    state: &Arc<AppState>,
    group: &str,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Signed, ApiError> {
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
    Ok((group, pairs))
}

async fn accept(
    state: &Arc<AppState>,
    group: &str,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<StatusCode, ApiError> {
    let (group, pairs) = verified(state, group, uri, headers, body)?;
    let now = chrono::Utc::now();
    // A leg of a dial (click-to-call): the dial's call id and the leg are in
    // the query of the address deskbridge gave Twilio.
    let query: Vec<(String, String)> = uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let in_query = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let event = match (in_query("call_id"), in_query("leg").and_then(Leg::parse)) {
        (Some(call_id), Some(leg)) => leg_event(
            call_id,
            leg,
            in_query("agent"),
            param("CallStatus").unwrap_or_default(),
            param("CallDuration").and_then(|d| d.parse().ok()),
            now,
        ),
        _ => twilio::event(&pairs, group.region, now),
    };
    let Some(event) = event else {
        return Ok(StatusCode::NO_CONTENT);
    };
    let events = [crate::ingest::for_group(&group, event)];
    commit(state, crate::ingest::Source::Twilio, &events).await?;
    Ok(StatusCode::NO_CONTENT)
}
