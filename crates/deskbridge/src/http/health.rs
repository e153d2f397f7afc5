//! Liveness and readiness, open without credentials.

use super::openapi::bodies as doc;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::state::AppState;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(ready))
        .routes(routes!(metrics))
}

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses((status = 200, description = "The process is alive", body = doc::Health))
)]
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Prometheus metrics, when `metrics.enabled` (the default).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    responses(
        (status = 200, description = "Prometheus metrics in the text exposition format", content_type = "text/plain", body = String),
        (status = 404, description = "Metrics are off (`[metrics] enabled = false`)", body = doc::ApiErrorBody),
    )
)]
async fn metrics(State(state): State<Arc<AppState>>) -> Result<String, super::ApiError> {
    match &state.metrics {
        Some(handle) => Ok(handle.render()),
        None => Err(super::ApiError::not_found(
            "metrics are off; set [metrics] enabled = true",
        )),
    }
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "The database answers", body = doc::Readiness),
        (status = 503, description = "The database does not answer", body = doc::Readiness),
    )
)]
async fn ready(State(state): State<Arc<AppState>>) -> (StatusCode, Json<Value>) {
    match state.store.ready().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not_ready", "reason": e.to_string() })),
        ),
    }
}
