//! The supervisors' wallboard (`/wallboard`): the page, its snapshot
//! (`GET /api/v1/wallboard`) and the stream that says when to read it again
//! (`GET /api/v1/wallboard/stream`).
//!
//! Who reads it: a signed-in supervisor or admin, a group token (as for the
//! figures), or a group's `wallboard_token`, which a TV screen carries in
//! its URL and which opens the wallboard and nothing else: every other
//! endpoint takes only group tokens and sessions, which it is not.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiError;
use super::auth::sent_bearer;
use super::caller::Caller;
use super::feed;
use super::live::{Next, next_call};
use super::openapi::bodies as doc;
use crate::state::{AppState, Group};
use crate::wallboard::Wallboard;

/// Wallboard streams of one group at once (its screens).
const STREAMS_PER_WALLBOARD: usize = 64;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(snapshot))
        .routes(routes!(changes))
}

pub fn page_routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(page))
        .routes(routes!(script))
        .routes(routes!(style))
}

const PAGE_HTML: &str = include_str!("../../assets/wallboard/index.html");
const PAGE_JS: &str = include_str!("../../assets/wallboard/app.js");
const PAGE_CSS: &str = include_str!("../../assets/wallboard/app.css");

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WallboardQuery {
    /// The group to show (default: the first you read).
    group: Option<String>,
    /// The group's `wallboard_token`, when not sent as a bearer token (a
    /// browser's event stream cannot send headers).
    token: Option<String>,
}

/// The group whose wallboard the request may read: the wallboard token's
/// (sent as a bearer token or as `token`), else one of the groups whose
/// figures the caller reads.
async fn group_shown(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    q: &WallboardQuery,
    caller: Result<Caller, ApiError>,
) -> Result<Arc<Group>, ApiError> {
    let sent = q
        .token
        .as_deref()
        .map(str::trim)
        .or_else(|| sent_bearer(headers));
    if let Some(token) = sent {
        let mut found = None;
        for g in &state.groups {
            let same = g
                .wallboard_token
                .as_deref()
                .is_some_and(|t| bool::from(t.as_bytes().ct_eq(token.as_bytes())));
            if same && found.is_none() {
                found = Some(g.clone());
            }
        }
        if let Some(g) = found {
            return match q.group.as_deref().filter(|n| !n.is_empty()) {
                Some(n) if n != g.name => Err(not_yours(n)),
                _ => Ok(g),
            };
        }
        if q.token.is_some() {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "the token is no group's wallboard_token".to_string(),
            ));
        }
    }
    let Some(readable) = caller?.figure_groups(state) else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_supervisor",
            "the wallboard is for supervisors: set `supervisor = true` (or `admin = true`) \
             on your agent in the config ([[agents]]), or open it with the group's \
             `wallboard_token`",
        ));
    };
    let wanted = q.group.as_deref().filter(|n| !n.is_empty());
    readable
        .into_iter()
        .find(|g| wanted.is_none_or(|n| n == g.name))
        .ok_or_else(|| not_yours(wanted.unwrap_or_default()))
}

fn not_yours(name: &str) -> ApiError {
    ApiError {
        field: Some("group".into()),
        ..ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("you may not read group {name:?}'s wallboard"),
        )
    }
}

/// `GET /api/v1/wallboard`: the group's floor now (callers waiting per
/// queue, today's figures, each agent's state), made at most once a second
/// for every screen at once.
#[utoipa::path(
    get,
    path = "/wallboard",
    operation_id = "get_wallboard",
    tag = "stats",
    params(WallboardQuery),
    security(("group_token" = []), ("agent_session" = []), ("wallboard_token" = [])),
    responses(
        (status = 200, description = "The group's floor now", body = Wallboard),
        (status = 401, description = "No credentials, or not valid (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 403, description = "A signed-in agent who is neither a supervisor nor an admin (`not_supervisor`)", body = doc::ApiErrorBody),
        (status = 422, description = "A group you do not read (`invalid`, `field`: `group`)", body = doc::ApiErrorBody),
    )
)]
async fn snapshot(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<WallboardQuery>,
    caller: Result<Caller, ApiError>,
) -> Result<Response, ApiError> {
    let group = group_shown(&state, &headers, &q, caller).await?;
    let board = state.wallboards.snapshot(&state, &group).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(board)).into_response())
}

/// `GET /api/v1/wallboard/stream`: a `changed` event whenever something of
/// the group changed (a call, an agent's pause); the page then reads the
/// snapshot again. The events name no call: the wallboard token reads the
/// floor, not the calls.
#[utoipa::path(
    get,
    path = "/wallboard/stream",
    operation_id = "stream_wallboard",
    tag = "stats",
    params(WallboardQuery),
    security(("group_token" = []), ("agent_session" = []), ("wallboard_token" = [])),
    responses(
        (status = 200, description = "Server-Sent Events: `changed` (data: `{\"group\"}`) when the group's floor changed; `lagged` when changes were missed", content_type = "text/event-stream", body = String),
        (status = 401, description = "No credentials, or not valid (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 403, description = "A signed-in agent who is neither a supervisor nor an admin (`not_supervisor`)", body = doc::ApiErrorBody),
        (status = 422, description = "A group you do not read (`invalid`, `field`: `group`)", body = doc::ApiErrorBody),
    )
)]
async fn changes(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<WallboardQuery>,
    caller: Result<Caller, ApiError>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let group = group_shown(&state, &headers, &q, caller)
        .await?
        .name
        .clone();
    let feed = state.feed.subscribe();
    let ticket = state
        .stream_caps
        .open(&format!("wallboard:{group}"), STREAMS_PER_WALLBOARD);
    let stream = stream::unfold(Some((feed, group, ticket)), |open| async move {
        let (mut feed, group, mut ticket) = open?;
        let event = match next_call(&mut feed, &mut ticket, |g| g == group).await {
            Next::Call(_) | Next::Event(_) => Event::default()
                .event("changed")
                .data(serde_json::json!({ "group": group }).to_string()),
            Next::Replaced => return Some((Ok(feed::replaced()), None)),
            Next::Closed => return None,
        };
        Some((Ok(event), Some((feed, group, ticket))))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// The wallboard page (open: it holds no data; it reads the API with the
/// session or the token in its URL's fragment, `#token=`).
#[utoipa::path(
    get,
    path = "/wallboard",
    operation_id = "wallboard_page",
    tag = "wallboard page",
    responses(
        (status = 200, description = "The wallboard page (a strict CSP)", content_type = "text/html", body = String),
    )
)]
async fn page(State(state): State<Arc<AppState>>) -> Response {
    super::agent::page_response(&state, PAGE_HTML)
}

#[utoipa::path(
    get,
    path = "/wallboard/app.js",
    operation_id = "wallboard_script",
    tag = "wallboard page",
    responses((status = 200, description = "The page's script", content_type = "text/javascript", body = String))
)]
async fn script() -> Response {
    super::agent::asset(super::agent::JS, PAGE_JS)
}

#[utoipa::path(
    get,
    path = "/wallboard/app.css",
    operation_id = "wallboard_style",
    tag = "wallboard page",
    responses((status = 200, description = "The page's style", content_type = "text/css", body = String))
)]
async fn style() -> Response {
    super::agent::asset(super::agent::CSS, PAGE_CSS)
}
