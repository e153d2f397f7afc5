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
use deskbridge_core::WorkLane;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(ready))
        .routes(routes!(metrics))
}

/// `/metrics` alone, for the listener of `[metrics] listen`.
pub fn metrics_routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// Marks a request that came through the listener of `[metrics] listen`.
#[derive(Debug, Clone, Copy)]
pub struct MetricsListener;

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

/// Prometheus metrics, when `metrics.enabled` (the default). They name the
/// hosts the server runs on and the hosts its triggers reach, so on the main
/// port they are for the scraper with `[metrics] token` and for signed-in
/// admins only; `[metrics] listen` (a private address) serves them to whoever
/// reaches it, or to the token when one is set.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    security(("metrics_token" = []), ("agent_session" = [])),
    responses(
        (status = 200, description = "Prometheus metrics in the text exposition format", content_type = "text/plain", body = String),
        (status = 401, description = "Not the `[metrics] token`, nor a signed-in admin (`unauthorized`); on the main port without `[metrics] token`, only admins", body = doc::ApiErrorBody),
        (status = 404, description = "Metrics are off (`[metrics] enabled = false`), or served on `[metrics] listen` instead", body = doc::ApiErrorBody),
    )
)]
async fn metrics(
    State(state): State<Arc<AppState>>,
    listener: Option<axum::Extension<MetricsListener>>,
    headers: axum::http::HeaderMap,
    session: Result<super::caller::AgentSession, super::ApiError>,
) -> Result<String, super::ApiError> {
    let Some(handle) = &state.metrics else {
        return Err(super::ApiError::not_found(
            "metrics are off; set [metrics] enabled = true",
        ));
    };
    if state.metrics_elsewhere && listener.is_none() {
        return Err(super::ApiError::not_found(
            "metrics are served on [metrics] listen, not on this port",
        ));
    }
    let scraper = super::auth::from_scraper(&state, &headers);
    let admin = matches!(&session, Ok(s) if s.admin);
    // `[metrics] listen` without a token: open, as configured (a private address).
    let private_and_open = listener.is_some() && state.metrics_token.is_none();
    if !(scraper || admin || private_and_open) {
        return Err(super::ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            match state.metrics_token {
                Some(_) => "send Authorization: Bearer with the token of [metrics] token",
                None => {
                    "/metrics on the main port is for [metrics] token (set one; Prometheus \
                     sends it as authorization.credentials) or a signed-in admin; or serve \
                     it on [metrics] listen, a private address"
                }
            },
        ));
    }
    refresh_gauges(&state).await;
    Ok(handle.render())
}

/// The gauges read from the database, refreshed at each scrape so they are
/// never older than the scrape: the queue's depth and the age of its oldest
/// due step per lane (`deskbridge_queue_steps`,
/// `deskbridge_queue_oldest_seconds`), and the live instances
/// (`deskbridge_instances_alive`). A database that does not answer leaves the
/// last values, and `deskbridge_up` says so (0).
async fn refresh_gauges(state: &AppState) {
    let now = chrono::Utc::now();
    let mut up = true;
    for lane in [WorkLane::Live, WorkLane::Bulk] {
        let name = match lane {
            WorkLane::Live => "live",
            WorkLane::Bulk => "bulk",
        };
        match state.store.waiting_steps(lane, now).await {
            Ok(waiting) => {
                metrics::gauge!("deskbridge_queue_steps", "lane" => name).set(waiting.count as f64);
                let age = waiting.oldest_due.map_or(0.0, |due| {
                    (now - due).num_milliseconds().max(0) as f64 / 1000.0
                });
                metrics::gauge!("deskbridge_queue_oldest_seconds", "lane" => name).set(age);
            }
            Err(e) => {
                up = false;
                tracing::warn!(error = %e, "cannot read the queue's depth for /metrics");
            }
        }
    }
    if let Err(e) = callback_gauges(state, now).await {
        up = false;
        tracing::warn!(error = %e, "cannot read the callbacks for /metrics");
    }
    match state.alive_instances().await {
        Ok(alive) => metrics::gauge!("deskbridge_instances_alive").set(alive.len() as f64),
        Err(_) => up = false,
    }
    metrics::gauge!("deskbridge_up").set(if up { 1.0 } else { 0.0 });
    metrics::gauge!(
        "deskbridge_build_info",
        "version" => env!("CARGO_PKG_VERSION"),
        "commit" => crate::COMMIT,
    )
    .set(1.0);
}

/// The callbacks per group: open (`deskbridge_callbacks_open`), the age of
/// the oldest (`deskbridge_callbacks_oldest_seconds`), and those closed in the
/// last 24 hours by how (`deskbridge_callbacks_closed`, `how` =
/// `reached_within_target`, `reached_late`, `unreached`, `by_agent`): read from
/// the database, so every instance reports the same.
async fn callback_gauges(
    state: &AppState,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), deskbridge_store::StoreError> {
    let recent = state
        .store
        .callbacks_for_metrics(now - chrono::Duration::hours(24))
        .await?;
    let summary = deskbridge_core::decide::callback::summarize(&recent, now);
    for g in &state.groups {
        let s = summary.get(&g.name).cloned().unwrap_or_default();
        let group = g.name.clone();
        metrics::gauge!("deskbridge_callbacks_open", "group" => group.clone()).set(s.open as f64);
        metrics::gauge!("deskbridge_callbacks_oldest_seconds", "group" => group.clone())
            .set(s.oldest_open_seconds as f64);
        for (how, n) in [
            ("reached_within_target", s.reached_within_target),
            ("reached_late", s.reached_late),
            ("unreached", s.unreached),
            ("by_agent", s.closed_by_agent),
        ] {
            metrics::gauge!("deskbridge_callbacks_closed", "group" => group.clone(), "how" => how)
                .set(n as f64);
        }
    }
    Ok(())
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "The database answers", body = doc::Readiness),
        (status = 503, description = "The database does not answer: `reason` is `database_unavailable` or `migrations_pending` (the details are in the server log)", body = doc::Readiness),
    )
)]
async fn ready(State(state): State<Arc<AppState>>) -> (StatusCode, Json<Value>) {
    match state.store.ready().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Err(e) => {
            // `/readyz` is open to anyone: the database's own text (its host,
            // user, schema, driver messages) goes to the log only.
            let reason = not_ready_reason(&e);
            tracing::warn!(error = %e, reason, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "not_ready", "reason": reason })),
            )
        }
    }
}

/// The reason code `/readyz` gives for a store that is not ready: the
/// migrations are not all applied (`migrations_pending`), or the database does
/// not answer as it should (`database_unavailable`).
fn not_ready_reason(e: &deskbridge_store::StoreError) -> &'static str {
    use deskbridge_store::StoreError;
    match e {
        StoreError::Invalid(_) | StoreError::Migrate(_) => "migrations_pending",
        _ => "database_unavailable",
    }
}
