//! The HTTP surface: the emulated `/api/v2/*` endpoints behind the
//! [`gate`](crate::gate), and the unauthenticated `/emulator/*` control
//! endpoints beside them.

mod admin;
mod catalog;
mod contacts;
mod search;
mod tickets;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

use crate::Shared;
use crate::error::ApiError;
use crate::gate::gate;

pub(crate) fn app(shared: Arc<Shared>) -> Router {
    let api = Router::new()
        .route(
            "/api/v2/contacts",
            get(contacts::index).post(contacts::create),
        )
        .route("/api/v2/contacts/autocomplete", get(contacts::autocomplete))
        .route(
            "/api/v2/contacts/{id}",
            get(contacts::show).put(contacts::update),
        )
        .route(
            "/api/v2/companies",
            get(catalog::companies).post(catalog::create_company),
        )
        .route(
            "/api/v2/companies/autocomplete",
            get(catalog::company_autocomplete),
        )
        .route("/api/v2/companies/{id}", get(catalog::company))
        .route("/api/v2/agents", get(catalog::agents))
        .route("/api/v2/agents/me", get(catalog::me))
        .route("/api/v2/agents/{id}", get(catalog::agent))
        .route("/api/v2/ticket_fields", get(catalog::ticket_fields))
        .route("/api/v2/tickets", get(tickets::index).post(tickets::create))
        .route(
            "/api/v2/tickets/{id}",
            get(tickets::show).put(tickets::update),
        )
        .route(
            "/api/v2/tickets/{id}/notes",
            axum::routing::post(tickets::create_note),
        )
        .route(
            "/api/v2/tickets/{id}/conversations",
            get(tickets::conversations),
        )
        .route("/api/v2/search/contacts", get(search::contacts))
        .route("/api/v2/search/tickets", get(search::tickets))
        // An unknown route is a 404 with an empty body, like an unknown id
        // (freshdesk-api.md §7).
        .fallback(|| async { ApiError::NotFound })
        .layer(middleware::from_fn_with_state(shared.clone(), gate));
    let control = Router::new()
        .route("/emulator/stats", get(admin::stats))
        .route("/emulator/state", get(admin::state));
    control.merge(api).with_state(shared)
}

/// A path id; anything but digits is a 404.
pub(crate) fn parse_id(text: &str) -> Result<u64, ApiError> {
    text.parse().map_err(|_| ApiError::NotFound)
}

/// A 200 with a JSON body.
pub(crate) fn ok(body: Value) -> Response {
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// A 201 with the new record's `Location` (freshdesk-api.md §1 and §5).
pub(crate) fn created(location: &str, body: Value) -> Response {
    let mut response = (StatusCode::CREATED, axum::Json(body)).into_response();
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}
