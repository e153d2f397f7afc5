//! The agent page's API: sign-in and out, the signed-in agent, their live stream
//! (pops and call updates) and their caller log; and the page itself.

use super::openapi::bodies as doc;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::Extension;
use axum::Json;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use deskbridge_store::SessionRecord;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiError;
use super::caller::{AgentSession, SESSION_COOKIE};
use super::calls::{LogQuery, call_log};
use crate::agent_auth::{
    Credential, decoy_hash, random_secret, same_secret, session_hash, verify_password,
};
use crate::state::{AgentLogin, AppState};

/// Password checks running at once, for the whole process.
static PASSWORD_CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(agent_calls))
}

/// The page, its script and its style, outside `/api/v1/` (open: they hold no
/// data; everything they show comes from the API, signed in).
pub fn page_routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(page))
        .routes(routes!(page_slash))
        .routes(routes!(script))
        .routes(routes!(style))
}

pub(super) const PAGE_HTML: &str = include_str!("../../assets/agent/index.html");
const PAGE_JS: &str = include_str!("../../assets/agent/app.js");
const PAGE_CSS: &str = include_str!("../../assets/agent/app.css");

/// The page with a strict CSP: its own script and style only, API calls to this
/// origin only, and framed only by the origins in `server.frame_ancestors`.
#[utoipa::path(
    get,
    path = "/agent",
    tag = "agent page",
    responses(
        (status = 200, description = "The agent page (a strict CSP; framed only by `server.frame_ancestors`)", content_type = "text/html", body = String),
    )
)]
async fn page(State(state): State<Arc<AppState>>) -> Response {
    page_response(&state, PAGE_HTML)
}
/// The content types of the pages' embedded files.
pub(super) const JS: &str = "text/javascript; charset=utf-8";
pub(super) const CSS: &str = "text/css; charset=utf-8";

/// A script or style embedded in the binary, for any of the pages (agent,
/// admin, wallboard, Zendesk app): fetched again on every load (`no-cache`),
/// so a page never runs an older build's script against a newer server.
pub(super) fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// A page of this server (the agent page, the admin page) with the strict CSP
/// and its headers.
pub(super) fn page_response(state: &AppState, html: &'static str) -> Response {
    framed_page(html, &state.agent_page.frame_ancestors)
}

/// A page of this server that `ancestors` (origins) may frame, none if empty.
pub(super) fn framed_page(html: &'static str, ancestors: &[String]) -> Response {
    let ancestors = match ancestors.is_empty() {
        true => "'none'".to_string(),
        false => ancestors.join(" "),
    };
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
         img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors {ancestors}"
    );
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The page, at `/agent/` too.
#[utoipa::path(
    get,
    path = "/agent/",
    tag = "agent page",
    responses((status = 200, description = "The agent page", content_type = "text/html", body = String))
)]
async fn page_slash(state: State<Arc<AppState>>) -> Response {
    page(state).await
}

#[utoipa::path(
    get,
    path = "/agent/app.js",
    tag = "agent page",
    responses(
        (status = 200, description = "The page's script", content_type = "text/javascript", body = String),
    )
)]
async fn script() -> Response {
    asset(JS, PAGE_JS)
}

#[utoipa::path(
    get,
    path = "/agent/app.css",
    tag = "agent page",
    responses(
        (status = 200, description = "The page's style", content_type = "text/css", body = String),
    )
)]
async fn style() -> Response {
    asset(CSS, PAGE_CSS)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    email: Option<String>,
    password: Option<String>,
    /// The agent's `token` instead of email and password.
    token: Option<String>,
}

/// `POST /api/v1/agent/login`: `{"email", "password"}` (or `{"token"}`) → 200 with
/// the session cookie and the CSRF token; 401 with one message for an unknown
/// email and a wrong password, after the same argon2 work.
#[utoipa::path(
    post,
    path = "/agent/login",
    tag = "agent",
    request_body(content = doc::LoginRequest),
    responses(
        (status = 200, description = "Signed in: the session cookie (`Set-Cookie: deskbridge_session=...`) and the CSRF token", body = doc::AgentMe, headers(("Set-Cookie" = String, description = "The session cookie"))),
        (status = 400, description = "The body is not JSON (`malformed_json`)", body = doc::ApiErrorBody),
        (status = 401, description = "Wrong email or password, or wrong token (`unauthorized`; one message for an unknown email and a wrong password)", body = doc::ApiErrorBody),
        (status = 403, description = "An `Origin` other than this server's own or a `server.frame_ancestors` origin (`cross_origin`)", body = doc::ApiErrorBody),
        (status = 415, description = "A body other than `Content-Type: application/json` (`unsupported_media_type`)", body = doc::ApiErrorBody),
        (status = 422, description = "Neither `{email, password}` nor `{token}` (`invalid`)", body = doc::ApiErrorBody),
        (status = 429, description = "Too many failed sign-ins for the account or from the address, or too many sign-ins at once (`too_many_sign_ins`, with `Retry-After`)", body = doc::ApiErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
async fn login(
    State(state): State<Arc<AppState>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(e) = same_site_json(&state, &headers) {
        return e.into_response();
    }
    let address = peer.map(|Extension(ConnectInfo(a))| a.ip());
    match try_login(&state, address, &body).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

/// 429 with `Retry-After`: too many failed sign-ins for the account or from the
/// address; the attempt was not tried.
pub(super) fn throttled(wait: Duration) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let secs = secs.max(1);
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_sign_ins",
        format!(
            "too many failed sign-ins for this account or from this address; \
             try again in {secs} s (Retry-After)"
        ),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

/// Login CSRF: a page of another site can make a browser post a form to the
/// sign-in, and a `text/plain` form whose text is JSON would sign the victim in
/// as the attacker's agent (whose page then shows the victim's calls to the
/// attacker). A form cannot send `application/json`, and a script of another
/// site that sets it needs a CORS preflight this server never grants; so the
/// body must be JSON by its type. A browser also names the page that started
/// the request in `Origin`: one present must be this server's own (the request's
/// `Host`, or `server.public_url` behind a proxy) or a `server.frame_ancestors`
/// origin (the page framed there signs in from its own origin, which is this
/// server's; the entry covers browsers that send the framing site's). No
/// `Origin` (curl, scripts) is not a browser's cross-site request.
fn same_site_json(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the sign-in as JSON, with Content-Type: application/json",
        ));
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("").trim_end_matches('/');
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let own_host = host.is_some_and(|host| {
        origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"))
            .is_some_and(|o| o.eq_ignore_ascii_case(host))
    });
    let public = state
        .public_url
        .as_deref()
        .and_then(crate::agent_auth::origin_of)
        .is_some_and(|p| p.eq_ignore_ascii_case(origin));
    let framing = state
        .agent_page
        .frame_ancestors
        .iter()
        .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin));
    match own_host || public || framing {
        true => Ok(()),
        false => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_origin",
            format!(
                "a sign-in from the page at {origin:?} is refused: sign in from this server's \
                 own agent page, or add that origin to server.frame_ancestors"
            ),
        )),
    }
}

async fn try_login(
    state: &Arc<AppState>,
    address: Option<IpAddr>,
    body: &[u8],
) -> Result<Response, ApiError> {
    let value = super::parse_json(body)?;
    let login: Login = serde_json::from_value(value).map_err(|e| {
        ApiError::invalid(
            "body",
            format!("send {{\"email\", \"password\"}} or {{\"token\"}}: {e}"),
        )
    })?;
    let credential = match (&login.email, &login.password, &login.token) {
        (_, _, Some(_)) => Credential::Token,
        (Some(email), Some(_), None) => Credential::Password(email.trim().to_ascii_lowercase()),
        _ => {
            return Err(ApiError::invalid(
                "password",
                "send {\"email\", \"password\"} or {\"token\"}",
            ));
        }
    };
    // Failures are counted per account and address before any check runs, so a
    // flood of guesses for one account or from one address is turned away here,
    // without argon2 work, and cannot spend the checks other agents need.
    let throttles = &state.agent_page.sign_ins;
    let attempt = match throttles.begin(credential, address, Instant::now()) {
        Ok(attempt) => attempt,
        Err(wait) => return Ok(throttled(wait)),
    };
    let agent = check_credentials(state, &login).await;
    throttles.finish(attempt, agent.is_ok());
    let agent = agent?;
    let credential = crate::agent_auth::credential_fingerprint(
        agent.password_hash.as_deref(),
        agent.token.as_deref(),
    );
    let (id, session) = open_session(state, &agent.email, credential).await?;
    let cookie = session_cookie(state, &id, state.agent_page.session_ttl.as_secs());
    let mut response = Json(me_body(agent, &session.csrf_token)).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(response)
}

/// Opens a session for the agent `email`, signed in by `credential` (what
/// ends it when it changes): the cookie's value and the record kept.
pub(super) async fn open_session(
    state: &AppState,
    email: &str,
    credential: String,
) -> Result<(String, SessionRecord), ApiError> {
    let id = random_secret();
    let now = Utc::now();
    let ttl = state.agent_page.session_ttl;
    let session = SessionRecord {
        id_hash: session_hash(&id),
        agent_email: email.to_string(),
        csrf_token: random_secret(),
        created_at: now,
        expires_at: now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(12)),
        credential,
    };
    state.store.create_session(&session).await?;
    Ok((id, session))
}

/// The agent whose credentials `login` holds; 401 otherwise (one message for
/// an unknown email and a wrong password, after the same argon2 work).
async fn check_credentials<'a>(
    state: &'a AppState,
    login: &Login,
) -> Result<&'a AgentLogin, ApiError> {
    let refused = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "wrong email or password",
        )
    };
    let agents = &state.agent_page.agents;
    match (&login.email, &login.password, &login.token) {
        (_, _, Some(token)) => {
            // Every agent's token is compared, in constant time.
            let mut found = None;
            for a in agents {
                if let Some(t) = &a.token
                    && same_secret(t, token)
                {
                    found = Some(a);
                }
            }
            found.ok_or_else(|| {
                ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "wrong token")
            })
        }
        (Some(email), Some(password), None) => {
            let agent = state.agent_page.configured(email.trim());
            // An unknown email is checked against a decoy with a configured
            // hash's costs: as slow to refuse as a wrong password.
            let hash = match agent.and_then(|a| a.password_hash.clone()) {
                Some(hash) => hash,
                None => decoy_hash(agents.iter().find_map(|a| a.password_hash.as_deref())),
            };
            let password = password.clone();
            // argon2 takes tens of milliseconds of CPU and 19 MiB: off the async
            // threads, and only a few at once, so a flood of sign-ins is turned
            // away instead of filling the blocking pool (and guessing stays slow).
            let permit =
                tokio::time::timeout(Duration::from_secs(3), PASSWORD_CHECKS.acquire()).await;
            let Ok(Ok(_permit)) = permit else {
                return Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_sign_ins",
                    "too many sign-ins at once; try again in a moment",
                ));
            };
            let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
                .await
                .unwrap_or(false);
            match (ok, agent) {
                (true, Some(a)) if a.password_hash.is_some() => Ok(a),
                _ => Err(refused()),
            }
        }
        _ => Err(ApiError::invalid(
            "password",
            "send {\"email\", \"password\"} or {\"token\"}",
        )),
    }
}

/// The session cookie. `SameSite=Strict` by default: the page and its API share
/// one origin, so the cookie is never needed on a request another site starts
/// (a link from a ticket opens the page, which loads without it and then calls
/// the API same-site). A page allowed in another site's frame (a Zendesk sidebar
/// app, `server.frame_ancestors`) is a third-party context, where browsers send
/// only `SameSite=None; Secure` cookies: then that, with CSRF covered by the
/// `X-CSRF-Token` header alone.
fn session_cookie(state: &AppState, value: &str, max_age: u64) -> String {
    let page = &state.agent_page;
    let same_site = match page.frame_ancestors.is_empty() {
        true => "SameSite=Strict",
        false => "SameSite=None",
    };
    let secure = match page.secure_cookie || !page.frame_ancestors.is_empty() {
        true => "; Secure",
        false => "",
    };
    format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; {same_site}; Max-Age={max_age}{secure}")
}

fn me_body(agent: &AgentLogin, csrf: &str) -> Value {
    json!({
        "agent": { "email": agent.email, "name": agent.name, "admin": agent.admin },
        "csrf_token": csrf,
    })
}

/// `POST /api/v1/agent/logout`: ends the session (CSRF-checked like any unsafe
/// request) and clears the cookie.
#[utoipa::path(
    post,
    path = "/agent/logout",
    tag = "agent",
    security(("agent_session" = [])),
    responses(
        (status = 200, description = "Signed out; the cookie is cleared", body = doc::SignedOut),
        (status = 401, description = "Not signed in, or the session expired (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 403, description = "Signed in by the session cookie without its `X-CSRF-Token` (`csrf`)", body = doc::ApiErrorBody),
    )
)]
async fn logout(
    State(state): State<Arc<AppState>>,
    session: AgentSession,
) -> Result<Response, ApiError> {
    state.store.delete_session(&session.id_hash).await?;
    let mut response = Json(json!({ "signed_out": true })).into_response();
    let cleared = session_cookie(&state, "", 0);
    if let Ok(v) = HeaderValue::from_str(&cleared) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(response)
}

/// `GET /api/v1/agent/me`: the signed-in agent and the session's CSRF token (the
/// page reads it again after a reload).
#[utoipa::path(
    get,
    path = "/agent/me",
    tag = "agent",
    security(("agent_session" = [])),
    responses(
        (status = 200, description = "The signed-in agent and the session's CSRF token", body = doc::AgentMe),
        (status = 401, description = "Not signed in, or the session expired (`unauthorized`)", body = doc::ApiErrorBody),
    )
)]
async fn me(
    State(state): State<Arc<AppState>>,
    session: AgentSession,
) -> Result<Json<Value>, ApiError> {
    let agent = state
        .agent_page
        .agent(&session.email)
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "sign in"))?;
    Ok(Json(me_body(&agent, &session.csrf_token)))
}

/// `GET /api/v1/agent/calls`: the signed-in agent's caller log (the filters of
/// `GET /api/v1/calls`).
#[utoipa::path(
    get,
    path = "/agent/calls",
    tag = "agent",
    params(doc::LogParams),
    security(("agent_session" = [])),
    responses(
        (status = 200, description = "The agent's own calls, newest first", body = super::calls::CallLog),
        (status = 401, description = "Not signed in, or the session expired (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 422, description = "A filter that does not parse (`invalid`, with `field`)", body = doc::ApiErrorBody),
    )
)]
async fn agent_calls(
    State(state): State<Arc<AppState>>,
    session: AgentSession,
    Query(q): Query<LogQuery>,
) -> Result<Json<super::calls::CallLog>, ApiError> {
    let groups = state.groups.clone();
    let mut log = call_log(&state, &groups, Some(&session.email), q).await?;
    log.paused_today = Some(super::pause::paused_today(&state, &session.email).await?);
    Ok(Json(log))
}
