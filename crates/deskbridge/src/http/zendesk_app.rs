//! The Zendesk app's pages: what its locations load.
//!
//! Zendesk loads a location of a server-side app by POSTing to its URL, with
//! the query `?origin=...&app_guid=...` (which the Apps framework SDK needs to
//! talk to Zendesk) and, because the manifest sets `signedUrls`, a token it
//! signed in the form field `token` ("Building a server-side app, part 5").
//! That first load is the sign-in: the token is verified
//! (`zendesk_app::accounts`), the agent gets the same session the agent page
//! uses, and the page comes back in the same answer. From then on the page
//! authenticates by its session cookie and CSRF token alone; no token a page's
//! script could have had signed is ever taken (the SDK's issue #206).
//!
//! The session cookie of a page in Zendesk's frame is a third-party cookie:
//! `SameSite=None; Secure`, and `Partitioned` (kept under Zendesk's site only,
//! which browsers that block third-party cookies still allow).

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use std::time::Instant;

use axum::Extension;
use axum::extract::ConnectInfo;
use deskbridge_zendesk::as_lookup;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiError;
use super::agent::{PAGE_HTML, framed_page, open_session, throttled};
use super::caller::SESSION_COOKIE;
use crate::agent_auth::Credential;
use crate::agent_auth::origin_of;
use crate::state::AppState;
use crate::zendesk_app::accounts::ours;
use crate::zendesk_app::{AppLocation, SignInFailed};

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(first_load, page))
        .routes(routes!(sdk))
        .routes(routes!(script))
        .routes(routes!(sidebar_script))
}

/// The agent page, with the SDK and the script that lets it act in Zendesk.
static TOP_BAR_HTML: LazyLock<String> = LazyLock::new(|| {
    PAGE_HTML.replace(
        r#"<script src="/agent/app.js" defer></script>"#,
        concat!(
            r#"<script src="/zendesk/zaf_sdk.min.js" defer></script>"#,
            "\n",
            r#"<script src="/agent/app.js" defer></script>"#,
            "\n",
            r#"<script src="/zendesk/app.js" defer></script>"#,
        ),
    )
});

/// The Apps framework SDK (npm `zendesk_app_framework_sdk`), served from here:
/// no CDN. See `assets/zendesk/README.md` for how it was built.
const SDK_JS: &str = include_str!("../../assets/zendesk/zaf_sdk.min.js");
/// What the top bar does in Zendesk: open records there, pop the pane.
const APP_JS: &str = include_str!("../../assets/zendesk/app.js");
/// The sidebars' page (ticket and user): the record's calls.
const SIDEBAR_HTML: &str = include_str!("../../assets/zendesk/sidebar.html");
const SIDEBAR_JS: &str = include_str!("../../assets/zendesk/sidebar.js");

/// The credential a Zendesk sign-in's session keeps: the account and user,
/// checked again while the session lives (`caller::AgentSession`).
pub fn zendesk_credential(account: &str, user_id: u64) -> String {
    format!("zendesk:{account}:{user_id}")
}

fn location_of(name: &str) -> Result<AppLocation, ApiError> {
    AppLocation::parse(name).ok_or_else(|| {
        ApiError::not_found(format!(
            "no app location {name:?}: the app has top_bar, ticket_sidebar and user_sidebar"
        ))
    })
}

fn page_of(state: &AppState, location: AppLocation) -> Response {
    match location {
        AppLocation::TopBar => framed_page(TOP_BAR_HTML.as_str(), &state.zendesk.origins()),
        AppLocation::TicketSidebar | AppLocation::UserSidebar => {
            framed_page(SIDEBAR_HTML, &state.zendesk.origins())
        }
    }
}

/// `scheme://host` this server is reached at: `server.public_url`'s, else the
/// request's `Host` over http.
fn own_origin(state: &AppState, headers: &HeaderMap) -> Option<String> {
    if let Some(url) = &state.public_url {
        return origin_of(url);
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    Some(format!("http://{host}"))
}

/// The page of a location loaded by Zendesk, signing the agent in with the
/// token Zendesk posted.
#[utoipa::path(
    post,
    path = "/zendesk/{location}",
    operation_id = "zendesk_app_first_load",
    tag = "zendesk app",
    params(("location" = String, Path, description = "The app's location: `top_bar`, `ticket_sidebar` or `user_sidebar`")),
    request_body(content = super::openapi::bodies::ZendeskFirstLoad, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Signed in: the page, and the session cookie", content_type = "text/html", body = String, headers(("Set-Cookie" = String, description = "The session cookie"))),
        (status = 401, description = "No token, or one that signs no one in (`unauthorized`; the reason is logged)", body = super::openapi::bodies::ApiErrorBody),
        (status = 404, description = "No such location (`not_found`)", body = super::openapi::bodies::ApiErrorBody),
        (status = 429, description = "Too many tokens that signed no one in from this address (`too_many_sign_ins`, with `Retry-After`)", body = super::openapi::bodies::ApiErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 502, description = "Zendesk did not answer the token's check (`helpdesk_unavailable`)", body = super::openapi::bodies::ApiErrorBody),
    )
)]
async fn first_load(
    State(state): State<Arc<AppState>>,
    Path(location): Path<String>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let location = match location_of(&location) {
        Ok(l) => l,
        Err(e) => return e.into_response(),
    };
    let token = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned());
    let Some(token) = token else {
        return refused(
            "open deskbridge from Zendesk: this page signs in with the token Zendesk sends",
        );
    };
    // Tokens that sign no one in are counted per client address, as wrong
    // agent tokens are: a flood of forged tokens waits instead of spending
    // the account's requests (each checks the installations). Those requests
    // go in the routing lane, never the calls' own.
    let address = peer.map(|Extension(ConnectInfo(a))| a.ip());
    let throttles = &state.agent_page.sign_ins;
    let attempt = match throttles.begin(Credential::Token, address, Instant::now()) {
        Ok(attempt) => attempt,
        Err(wait) => return throttled(wait),
    };
    let signed_in = as_lookup(
        state
            .zendesk
            .sign_in(&token, &ours(own_origin(&state, &headers))),
    )
    .await;
    // Zendesk not answering is nobody's wrong guess.
    throttles.finish(
        attempt,
        matches!(signed_in, Ok(_) | Err(SignInFailed::Zendesk(_))),
    );
    let agent = match signed_in {
        Ok(agent) => agent,
        Err(SignInFailed::Zendesk(e)) => {
            tracing::warn!(error = %e, "Zendesk app sign-in: Zendesk did not answer");
            return ApiError::new(
                StatusCode::BAD_GATEWAY,
                "helpdesk_unavailable",
                "Zendesk did not answer the sign-in's check; open the app again in a moment",
            )
            .into_response();
        }
        Err(e) => {
            tracing::warn!(reason = %e, "Zendesk app sign-in refused");
            return refused("this sign-in is not valid here: open deskbridge from Zendesk again");
        }
    };
    let credential = zendesk_credential(&agent.account, agent.user_id);
    let email = agent.email.clone();
    state.keep_zendesk_agent(agent);
    let (id, _) = match open_session(&state, &email, credential).await {
        Ok(opened) => opened,
        Err(e) => return e.into_response(),
    };
    tracing::info!(agent = %email, location = location.as_str(), "signed in through the Zendesk app");
    let mut response = page_of(&state, location);
    let cookie = format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=None; Secure; Partitioned; Max-Age={}",
        state.agent_page.session_ttl.as_secs()
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

fn refused(message: &'static str) -> Response {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response()
}

/// The page of a location, for a reload within the session (it signs in by
/// its cookie; without one it asks to be opened from Zendesk).
#[utoipa::path(
    get,
    path = "/zendesk/{location}",
    operation_id = "zendesk_app_page",
    tag = "zendesk app",
    params(("location" = String, Path, description = "The app's location: `top_bar`, `ticket_sidebar` or `user_sidebar`")),
    responses(
        (status = 200, description = "The page (framed only by the Zendesk accounts' origins)", content_type = "text/html", body = String),
        (status = 404, description = "No such location (`not_found`)", body = super::openapi::bodies::ApiErrorBody),
    )
)]
async fn page(State(state): State<Arc<AppState>>, Path(location): Path<String>) -> Response {
    match location_of(&location) {
        Ok(l) => page_of(&state, l),
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(
    get,
    path = "/zendesk/zaf_sdk.min.js",
    operation_id = "zendesk_app_sdk",
    tag = "zendesk app",
    responses((status = 200, description = "Zendesk's Apps framework SDK", content_type = "text/javascript", body = String))
)]
async fn sdk() -> impl IntoResponse {
    super::agent::asset(super::agent::JS, SDK_JS)
}

#[utoipa::path(
    get,
    path = "/zendesk/app.js",
    operation_id = "zendesk_app_script",
    tag = "zendesk app",
    responses((status = 200, description = "The pages' script inside Zendesk", content_type = "text/javascript", body = String))
)]
async fn script() -> impl IntoResponse {
    super::agent::asset(super::agent::JS, APP_JS)
}

#[utoipa::path(
    get,
    path = "/zendesk/sidebar.js",
    operation_id = "zendesk_app_sidebar_script",
    tag = "zendesk app",
    responses((status = 200, description = "The sidebars' script inside Zendesk", content_type = "text/javascript", body = String))
)]
async fn sidebar_script() -> impl IntoResponse {
    super::agent::asset(super::agent::JS, SIDEBAR_JS)
}
