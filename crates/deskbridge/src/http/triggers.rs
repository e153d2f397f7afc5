//! The CRM triggers' deliveries: what was sent, what is waiting, the dead
//! letters, and their replay. A group token sees its groups' notifications only;
//! an admin signed in to the admin page sees every group's (`admin::admin_groups`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use deskbridge_core::trigger::shown_url;
use deskbridge_store::crm::parse_id;
use deskbridge_store::{Delivery, DeliveryStatus};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiError;
use super::admin::admin_groups;
use super::caller::Caller;
use super::openapi::bodies as doc;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list_deliveries))
        .routes(routes!(replay_delivery))
}

#[derive(Debug, Deserialize)]
pub struct DeliveriesQuery {
    status: Option<String>,
    limit: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Deliveries {
    deliveries: Vec<DeliveryView>,
}

/// A notification as the API shows it. Not the store's [`Delivery`] row: its
/// `endpoint` is the configured URL, which may carry the receiver's key
/// (`user:pass@`, `?api_key=`), and a group token must not reveal it; the view
/// shows it through the core's `shown_url`. Fields as `doc::Delivery`.
#[derive(Debug, Serialize)]
pub struct DeliveryView {
    id: String,
    message_id: String,
    group: String,
    endpoint: String,
    order_key: String,
    status: DeliveryStatus,
    attempts: i64,
    next_at: Option<chrono::DateTime<chrono::Utc>>,
    last_status: Option<i64>,
    last_error: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
    delivered_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        DeliveryView {
            id: d.id.to_string(),
            endpoint: shown_url(&d.endpoint),
            message_id: d.message_id,
            group: d.group,
            order_key: d.order_key,
            status: d.status,
            attempts: d.attempts,
            next_at: d.next_at,
            last_status: d.last_status,
            last_error: d.last_error,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
        }
    }
}

/// The most notifications one list returns.
const MAX_LIMIT: u32 = 500;

/// `GET /api/v1/triggers/deliveries`: the token's groups' notifications (an
/// admin's: every group's), newest first.
#[utoipa::path(
    get,
    path = "/triggers/deliveries",
    tag = "triggers",
    params(doc::DeliveriesParams),
    security(("group_token" = []), ("agent_session" = [])),
    responses(
        (status = 200, description = "The notifications, newest first", body = doc::Deliveries),
        (status = 401, description = "No credentials, or not valid (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 403, description = "An agent without `admin = true` (`not_admin`)", body = doc::ApiErrorBody),
        (status = 422, description = "A parameter is not valid (`invalid`, `field` names it)", body = doc::ApiErrorBody),
    )
)]
async fn list_deliveries(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<DeliveriesQuery>,
) -> Result<Json<Deliveries>, ApiError> {
    let status =
        match q.status.as_deref() {
            None | Some("") => None,
            Some(s) => Some(DeliveryStatus::parse(s).ok_or_else(|| {
                ApiError::invalid("status", "must be pending, delivered or failed")
            })?),
        };
    let limit = match q.limit.as_deref() {
        None => 100,
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| {
                ApiError::invalid("limit", format!("must be a number from 1 to {MAX_LIMIT}"))
            })?,
    };
    let groups = admin_groups(&state, &caller)?;
    let deliveries = state.store.deliveries(&groups, status, limit).await?;
    Ok(Json(Deliveries {
        deliveries: deliveries.into_iter().map(DeliveryView::from).collect(),
    }))
}

/// `POST /api/v1/triggers/deliveries/{id}/replay`: a dead letter is sent
/// again, as a new series of attempts with the same `webhook-id`.
#[utoipa::path(
    post,
    path = "/triggers/deliveries/{id}/replay",
    tag = "triggers",
    params(("id" = String, Path, description = "The notification's id")),
    security(("group_token" = []), ("agent_session" = [])),
    responses(
        (status = 200, description = "The notification, pending again", body = doc::Delivery),
        (status = 401, description = "No credentials, or not valid (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 403, description = "An agent without `admin = true` (`not_admin`), or signed in by the session cookie without its `X-CSRF-Token` (`csrf`)", body = doc::ApiErrorBody),
        (status = 404, description = "No such notification of the token's groups (`not_found`)", body = doc::ApiErrorBody),
        (status = 409, description = "Not a dead letter: it is pending or was delivered (`not_failed`)", body = doc::ApiErrorBody),
    )
)]
async fn replay_delivery(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<DeliveryView>, ApiError> {
    let groups = admin_groups(&state, &caller)?;
    let not_found = || ApiError::not_found(format!("notification {raw:?} not found"));
    let id = parse_id(&raw).map_err(ApiError::not_found)?;
    let Some(delivery) = state.store.delivery(id).await? else {
        return Err(not_found());
    };
    if !groups.contains(&delivery.group) {
        return Err(not_found());
    }
    match state.store.replay_delivery(id).await? {
        Some(true) => {}
        None => return Err(not_found()),
        Some(false) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "not_failed",
                "only a failed notification (a dead letter) is replayed; this one is pending or delivered",
            ));
        }
    }
    let replayed = state.store.delivery(id).await?.ok_or_else(not_found)?;
    Ok(Json(replayed.into()))
}
