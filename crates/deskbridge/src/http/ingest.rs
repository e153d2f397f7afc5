//! `POST /api/v1/events`: 202 only after the events are committed.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use deskbridge_core::ApplyError;
use deskbridge_store::{IngestReport, StoreError};

use super::{ApiError, GroupAuth, parse_json};
use crate::adapters::native;
use crate::app::AppState;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/events", post(ingest))
}

async fn ingest(
    State(state): State<Arc<AppState>>,
    GroupAuth(group): GroupAuth,
    body: Bytes,
) -> Result<(StatusCode, Json<IngestReport>), ApiError> {
    let value = parse_json(&body)?;
    let is_array = value.is_array();
    let events = native::parse(&value, group.region, &group.name, chrono::Utc::now())
        .map_err(|e| ApiError::invalid(e.field, e.message))?;
    let report = match state
        .store
        .ingest(&group.name, &events, &group.policy)
        .await
    {
        Ok(report) => report,
        Err(StoreError::Apply { index, source }) => {
            let field = match source {
                ApplyError::MissingDirection { .. } => "direction",
            };
            let field = match is_array {
                true => native::prefixed(index, field),
                false => field.to_string(),
            };
            return Err(ApiError::invalid(field, source.to_string()));
        }
        Err(e) => return Err(ApiError::internal(e)),
    };
    if report.steps > 0 {
        state.work.notify_waiters();
    }
    tracing::debug!(group = %group.name, accepted = report.accepted, duplicates = report.duplicates, "events committed");
    Ok((StatusCode::ACCEPTED, Json(report)))
}
