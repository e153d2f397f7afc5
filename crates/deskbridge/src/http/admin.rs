//! The admin page and its API: what an operator checks first when calls do
//! not reach the helpdesk (the groups and their backends, the instances, the
//! queue, the calls that failed and why, the triggers' dead letters) and the
//! one repair it offers for each (retry a failed call, replay a dead letter).
//!
//! Who may: an agent signed in with `admin = true` (`[[agents]]`). A
//! non-admin agent is refused with 403 `not_admin`, saying so. A group token
//! may retry its own groups' calls and replay their dead letters (what it
//! could already read), but not read the overview, which spans every group
//! and instance: 403 `not_admin` too.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use deskbridge_core::WorkLane;
use deskbridge_store::{DeliveryStatus, RetriedCall};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiError;
use super::caller::Caller;
use super::calls::CallView;
use super::openapi::bodies as doc;
use crate::state::{AppState, BackendRef, ConnectorKind};

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(overview))
        .routes(routes!(retry_call))
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

const PAGE_HTML: &str = include_str!("../../assets/admin/index.html");
const PAGE_JS: &str = include_str!("../../assets/admin/app.js");
const PAGE_CSS: &str = include_str!("../../assets/admin/app.css");

/// The most failed calls the overview lists.
const FAILED_SHOWN: u32 = 50;
/// Dead letters are counted up to this many (`dead_letters.more` beyond).
const DEAD_LETTERS_COUNTED: u32 = 500;

/// What an admin action may touch: the groups' names. A group token, its own
/// groups; an admin agent, every group; any other agent is refused.
pub(super) fn admin_groups(state: &AppState, caller: &Caller) -> Result<Vec<String>, ApiError> {
    match caller {
        Caller::Group(auth) => Ok(auth.names()),
        Caller::Agent(session) if state.agent_page.is_admin(&session.email) => {
            Ok(state.groups.iter().map(|g| g.name.clone()).collect())
        }
        Caller::Agent(_) => Err(not_admin()),
    }
}

fn not_admin() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "not_admin",
        "not an admin: the admin page needs `admin = true` on your agent in the \
         config ([[agents]])",
    )
}

/// The admin page: the agent page's CSP and headers.
#[utoipa::path(
    get,
    path = "/admin",
    operation_id = "admin_page",
    tag = "admin page",
    responses(
        (status = 200, description = "The admin page (a strict CSP, as the agent page's)", content_type = "text/html", body = String),
    )
)]
async fn page(State(state): State<Arc<AppState>>) -> Response {
    super::agent::page_response(&state, PAGE_HTML)
}

/// The page, at `/admin/` too.
#[utoipa::path(
    get,
    path = "/admin/",
    operation_id = "admin_page_slash",
    tag = "admin page",
    responses((status = 200, description = "The admin page", content_type = "text/html", body = String))
)]
async fn page_slash(state: State<Arc<AppState>>) -> Response {
    page(state).await
}

#[utoipa::path(
    get,
    path = "/admin/app.js",
    operation_id = "admin_script",
    tag = "admin page",
    responses(
        (status = 200, description = "The page's script", content_type = "text/javascript", body = String),
    )
)]
async fn script() -> Response {
    super::agent::asset(super::agent::JS, PAGE_JS)
}

#[utoipa::path(
    get,
    path = "/admin/app.css",
    operation_id = "admin_style",
    tag = "admin page",
    responses(
        (status = 200, description = "The page's style", content_type = "text/css", body = String),
    )
)]
async fn style() -> Response {
    super::agent::asset(super::agent::CSS, PAGE_CSS)
}

/// Everything the admin page shows, read at once.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminOverview {
    pub groups: Vec<GroupView>,
    /// The instances alive, as `GET /api/v1/instances` shows them.
    pub instances: InstancesView,
    /// Per lane: the steps due and waiting for a worker, and how long the
    /// oldest has waited (what `/metrics` reports as `deskbridge_queue_steps`
    /// and `deskbridge_queue_oldest_seconds`).
    pub queue: Vec<LaneQueue>,
    /// Calls (and chats) whose step failed for good, newest first, at most 50.
    pub failed_calls: Vec<FailedCallView>,
    /// The CRM triggers' notifications that gave up (dead letters).
    pub dead_letters: DeadLetters,
    /// The Zendesk backends' local mirrors (`mirror = true`), by backend name;
    /// empty when no backend keeps one.
    pub mirrors: Vec<MirrorView>,
}

/// A connector group as the admin page shows it (never its tokens).
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupView {
    pub name: String,
    pub backend: BackendRef,
    pub connectors: Vec<ConnectorKind>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InstancesView {
    /// The instance that answered.
    pub this_instance: String,
    pub instances: Vec<InstanceView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InstanceView {
    pub id: String,
    pub hostname: String,
    pub pid: i64,
    pub version: String,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    /// Steps this instance holds a live lease on.
    pub running_steps: i64,
}

/// A work lane: `live` calls, or calls imported by `deskbridge backfill`
/// (`bulk`).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Lane {
    Live,
    Bulk,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LaneQueue {
    pub lane: Lane,
    /// Steps due and not yet taken by a worker (a step waiting for its time,
    /// such as a recording's wait, is not counted).
    pub waiting: u64,
    /// How long the oldest of them has waited, in seconds (0 when none).
    pub oldest_seconds: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FailedCallView {
    pub call_id: String,
    pub group: String,
    /// The customer's number (E.164), when the call has one.
    pub from: Option<String>,
    /// When the call started.
    pub at: Option<DateTime<Utc>>,
    /// When its step failed.
    pub failed_at: Option<DateTime<Utc>>,
    /// The step that failed (`identify_caller`, `open_ticket`, ...).
    pub step: String,
    /// Why, as the helpdesk or the worker said.
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetters {
    /// Counted up to 500.
    pub count: u64,
    /// There are more than `count`.
    pub more: bool,
}

/// Where a Zendesk backend's local mirror stands.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MirrorPhase {
    /// The first export has not reached its end: calls are identified through
    /// Zendesk's search meanwhile.
    Loading,
    /// Synced within twice the poll interval: lookups are answered locally.
    Current,
    /// Its last sync is older than that: lookups go to Zendesk until it
    /// catches up.
    Behind,
}

/// A Zendesk backend's mirror as the admin page shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MirrorView {
    /// The backend mirrored (a key of `[backends]`).
    pub backend: String,
    pub phase: MirrorPhase,
    /// Seconds since the mirror last reached the end of both exports (what
    /// `deskbridge_mirror_lag_seconds` reports); null while loading.
    pub lag_seconds: Option<u64>,
    /// The users and not-closed tickets it holds.
    pub users: i64,
    pub tickets: i64,
}

async fn mirror_views(state: &AppState) -> Result<Vec<MirrorView>, ApiError> {
    use deskbridge_mirror::MirrorState;
    let mut views = Vec::with_capacity(state.mirrors.len());
    for mirror in &state.mirrors {
        let backend = mirror.backend().to_string();
        let (phase, lag_seconds) = match mirror.state().await {
            Some(MirrorState::Current { lag_seconds }) => (MirrorPhase::Current, Some(lag_seconds)),
            Some(MirrorState::Behind { lag_seconds }) => (MirrorPhase::Behind, Some(lag_seconds)),
            Some(MirrorState::Loading) | None => (MirrorPhase::Loading, None),
        };
        let (users, tickets) = state.store.mirror_counts(&backend).await?;
        views.push(MirrorView {
            backend,
            phase,
            lag_seconds,
            users,
            tickets,
        });
    }
    Ok(views)
}

/// `GET /api/v1/admin/overview`: the admin page's data, for an admin's
/// session only.
#[utoipa::path(
    get,
    path = "/admin/overview",
    operation_id = "admin_overview",
    tag = "admin",
    security(("agent_session" = [])),
    responses(
        (status = 200, description = "Groups, instances, the queue, recent failed calls, dead letters and the Zendesk mirrors", body = AdminOverview),
        (status = 401, description = "Not signed in, or the session expired (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 403, description = "Not an admin: an agent without `admin = true`, or a group token (`not_admin`)", body = doc::ApiErrorBody),
    )
)]
async fn overview(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<AdminOverview>, ApiError> {
    let Caller::Agent(session) = &caller else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_admin",
            "the overview spans every group: sign in to /admin as an agent with \
             `admin = true`; a group token reads its calls at /api/v1/calls",
        ));
    };
    let groups = admin_groups(&state, &caller)?;
    tracing::debug!(agent = %session.email, "admin overview");
    let now = Utc::now();
    let mut queue = Vec::new();
    for (lane, name) in [(WorkLane::Live, Lane::Live), (WorkLane::Bulk, Lane::Bulk)] {
        // The query `/metrics` reads the queue with.
        let waiting = state.store.waiting_steps(lane, now).await?;
        queue.push(LaneQueue {
            lane: name,
            waiting: waiting.count,
            oldest_seconds: waiting.oldest_due.map_or(0.0, |due| {
                (now - due).num_milliseconds().max(0) as f64 / 1000.0
            }),
        });
    }
    let alive = state.alive_instances().await?;
    let failed = state.store.recent_failures(FAILED_SHOWN).await?;
    let dead = state
        .store
        .deliveries(&groups, Some(DeliveryStatus::Failed), DEAD_LETTERS_COUNTED)
        .await?;
    Ok(Json(AdminOverview {
        groups: state
            .groups
            .iter()
            .map(|g| GroupView {
                name: g.name.clone(),
                backend: g.backend.clone(),
                connectors: g.connectors.clone(),
            })
            .collect(),
        instances: InstancesView {
            this_instance: state.instance.id.clone(),
            instances: alive
                .into_iter()
                .map(|i| InstanceView {
                    id: i.id,
                    hostname: i.hostname,
                    pid: i.pid,
                    version: i.version,
                    started_at: i.started_at,
                    heartbeat_at: i.heartbeat_at,
                    running_steps: i.running_steps,
                })
                .collect(),
        },
        queue,
        failed_calls: failed
            .into_iter()
            .map(|f| FailedCallView {
                call_id: f.call_id,
                group: f.group,
                from: f.from,
                at: f.first_at,
                failed_at: f.failed_at,
                step: f.step,
                reason: f.error,
            })
            .collect(),
        dead_letters: DeadLetters {
            count: dead.len() as u64,
            more: dead.len() as u64 >= u64::from(DEAD_LETTERS_COUNTED),
        },
        mirrors: mirror_views(&state).await?,
    }))
}

/// `POST /api/v1/calls/{call_id}/retry`: a call whose step failed for good
/// runs that step again (attempts reset, due now; its idempotency key makes
/// the re-run safe) and then its next steps.
#[utoipa::path(
    post,
    path = "/calls/{call_id}/retry",
    operation_id = "retry_call",
    tag = "calls",
    params(("call_id" = String, Path, description = "The call's id, as the phone system gave it")),
    security(("group_token" = []), ("agent_session" = [])),
    responses(
        (status = 202, description = "The failed step is queued again: the call, its `sync` pending", body = CallView),
        (status = 401, description = "No credentials, or not valid (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 403, description = "An agent without `admin = true` (`not_admin`), or signed in by the session cookie without its `X-CSRF-Token` (`csrf`)", body = doc::ApiErrorBody),
        (status = 404, description = "No such call in the token's groups (`not_found`)", body = doc::ApiErrorBody),
        (status = 409, description = "The call has not failed: it is pending or done (`not_failed`)", body = doc::ApiErrorBody),
    )
)]
async fn retry_call(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(call_id): Path<String>,
) -> Result<Response, ApiError> {
    let groups = admin_groups(&state, &caller)?;
    let mut not_failed = None;
    for group in &groups {
        match state.store.retry_call(group, &call_id).await? {
            RetriedCall::Queued(record) => {
                tracing::info!(group = %group, call_id = %call_id, "a failed call is retried");
                let view = CallView::new(&record, true);
                return Ok((StatusCode::ACCEPTED, Json(view)).into_response());
            }
            refused @ RetriedCall::NotFailed(_) => not_failed = Some(refused),
            RetriedCall::NoSuchCall => {}
        }
    }
    match not_failed {
        Some(refused) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_failed",
            refused.to_string(),
        )),
        None => Err(ApiError::not_found(format!(
            "no call {call_id:?} in your groups"
        ))),
    }
}
