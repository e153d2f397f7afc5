//! The HTTP surface: the emulated Zendesk endpoints behind the [`gate`](crate::gate)
//! and the unauthenticated `/__emulator/*` control endpoints beside them.

mod admin;
mod agent_ui;
mod apps;
mod calls;
mod catalog;
mod export;
mod search;
mod tickets;
mod users;
mod voice;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tower::ServiceExt as _;
use tower::util::MapRequest;

use crate::Shared;
use crate::error::ApiError;
use crate::gate::gate;
use crate::model::RequestOrigin;

pub(crate) use export::EXPORT_LAG;

/// The whole service: routes behind a path rewrite that drops a `.json` suffix,
/// since Zendesk serves `/api/v2/tickets/1` and `/api/v2/tickets/1.json` alike.
pub(crate) type App = MapRequest<Router, fn(Request) -> Request>;

pub(crate) fn app(shared: Arc<Shared>) -> App {
    let api = Router::new()
        .route("/api/v2/users/me", get(users::me))
        .route("/api/v2/users/search", get(users::search))
        .route("/api/v2/users", get(users::index).post(users::create))
        .route(
            "/api/v2/users/create_or_update",
            post(users::create_or_update),
        )
        .route("/api/v2/users/{id}", get(users::show))
        .route(
            "/api/v2/users/{id}/tickets/requested",
            get(users::requested_tickets),
        )
        .route(
            "/api/v2/users/{id}/identities",
            get(users::identities).post(users::create_identity),
        )
        .route("/api/v2/search", get(search::search))
        .route("/api/v2/organizations", post(catalog::create_organization))
        .route(
            "/api/v2/organizations/search",
            get(catalog::search_organizations),
        )
        .route(
            "/api/v2/organizations/{id}",
            get(catalog::show_organization),
        )
        .route("/api/v2/tickets", get(tickets::index).post(tickets::create))
        .route(
            "/api/v2/tickets/{id}",
            get(tickets::show).put(tickets::update),
        )
        .route("/api/v2/tickets/{id}/comments", get(tickets::comments))
        .route("/api/v2/ticket_fields", get(catalog::list_ticket_fields))
        .route(
            "/api/v2/ticket_fields/{id}",
            get(catalog::show_ticket_field),
        )
        .route("/api/v2/ticket_forms", get(catalog::list_ticket_forms))
        .route("/api/v2/ticket_forms/{id}", get(catalog::show_ticket_form))
        .route(
            "/api/v2/channels/voice/agents/{agent_id}/tickets/{ticket_id}/display",
            post(voice::display_ticket),
        )
        .route(
            "/api/v2/channels/voice/agents/{agent_id}/users/{user_id}/display",
            post(voice::display_user),
        )
        .route("/api/v2/channels/voice/tickets", post(voice::create_ticket))
        .route("/api/v2/incremental/users/cursor", get(export::users))
        .route("/api/v2/incremental/tickets/cursor", get(export::tickets))
        .route("/api/v2/calls", post(calls::create))
        .route("/api/v2/calls/{id}", get(calls::show).patch(calls::update))
        .route("/api/v2/apps/installations", get(apps::installations))
        .fallback(|| async { ApiError::InvalidEndpoint })
        .layer(middleware::from_fn_with_state(shared.clone(), gate));
    // Anonymous, as Zendesk serves it (no credentials, no rate limit).
    // The reference's example asks for `public_key.pem`.
    let public = Router::new()
        .route("/api/v2/apps/{app_id}/public_key", get(apps::public_key))
        .route(
            "/api/v2/apps/{app_id}/public_key.pem",
            get(apps::public_key),
        );
    let control = Router::new()
        .route("/__emulator/stats", get(admin::stats))
        .route("/__emulator/agent", get(agent_ui::agent_ui))
        .route("/__emulator/state", get(admin::state))
        .route("/__emulator/reset", post(admin::reset))
        .route(
            "/__emulator/faults",
            get(admin::faults).post(admin::set_faults),
        )
        .route("/__emulator/seed/users", post(admin::seed_users))
        .route("/__emulator/seed/agents", post(admin::seed_agents))
        .route("/__emulator/seed/tickets", post(admin::seed_tickets))
        .route(
            "/__emulator/seed/ticket_fields",
            post(admin::seed_ticket_fields),
        )
        .route(
            "/__emulator/seed/ticket_forms",
            post(admin::seed_ticket_forms),
        );
    let router = api.merge(public).merge(control).with_state(shared);
    router.map_request(strip_json_suffix as fn(Request) -> Request)
}

/// `/api/v2/users/1.json` → `/api/v2/users/1`, query kept.
fn strip_json_suffix(mut request: Request) -> Request {
    let uri = request.uri();
    let Some(path) = uri.path().strip_suffix(".json") else {
        return request;
    };
    let rebuilt = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    if let Ok(path_and_query) = rebuilt.parse() {
        parts.path_and_query = Some(path_and_query);
        if let Ok(uri) = Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// `http://{Host}`: the base of the `url` fields, so that links point back at the
/// address the client used.
pub(crate) struct Base(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for Base {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Base, Infallible> {
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|host| host.to_str().ok())
            .unwrap_or("localhost");
        Ok(Base(format!("http://{host}")))
    }
}

/// The caller's `User-Agent` and address, for audit metadata.
pub(crate) struct Origin(pub(crate) RequestOrigin);

impl<S: Send + Sync> FromRequestParts<S> for Origin {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Origin, Infallible> {
        let client = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|agent| agent.to_str().ok())
            .map(str::to_owned);
        let ip_address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string());
        Ok(Origin(RequestOrigin { client, ip_address }))
    }
}

/// A path id; anything but digits is a 404, as in Zendesk.
pub(crate) fn parse_id(text: &str) -> Result<u64, ApiError> {
    text.parse().map_err(|_| ApiError::NotFound)
}

/// A JSON answer.
pub(crate) fn reply(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// A 201 with the `Location` of the new record, as Zendesk sends.
pub(crate) fn created(location: &str, body: Value) -> Response {
    let mut response = reply(StatusCode::CREATED, body);
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// An offset-paginated list's envelope with a single page.
pub(crate) fn list(key: &str, items: Vec<Value>) -> Value {
    let count = items.len();
    serde_json::json!({
        key: items,
        "count": count,
        "next_page": null,
        "previous_page": null,
    })
}
