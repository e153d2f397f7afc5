//! Liveness and readiness, open without credentials.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::state::AppState;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/healthz",
            get(|| async { Json(json!({ "status": "ok" })) }),
        )
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
}

/// Prometheus metrics, when `metrics.enabled` (the default).
async fn metrics(State(state): State<Arc<AppState>>) -> Result<String, super::ApiError> {
    match &state.metrics {
        Some(handle) => Ok(handle.render()),
        None => Err(super::ApiError::not_found(
            "metrics are off; set [metrics] enabled = true",
        )),
    }
}

async fn ready(State(state): State<Arc<AppState>>) -> (StatusCode, Json<Value>) {
    match state.store.ready().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not_ready", "reason": e.to_string() })),
        ),
    }
}
