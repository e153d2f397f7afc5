//! Live views across instances: the stream of call changes of the token's groups,
//! and the instances sharing the database.

use super::openapi::bodies as doc;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::Json;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use serde_json::{Value, json};

use super::caller::Caller;
use super::calls::CallView;
use super::feed::{self, FeedItem, STREAMS_PER_TOKEN, StreamTicket};
use super::{ApiError, GroupAuth};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(stream_calls))
        .routes(routes!(instances))
}

/// `GET /api/v1/calls/stream`: one `call` event (the call as `GET /calls/{id}`
/// shows it) per change of a call of the token's groups, whichever instance
/// handled it.
#[utoipa::path(
    get,
    path = "/calls/stream",
    tag = "calls",
    security(("group_token" = [])),
    responses(
        (status = 200, description = "Server-Sent Events: `call` (data: the call as `GET /api/v1/calls/{call_id}` shows it, without `steps`) per change of a call of the token's groups; `lagged` when changes were missed (`missed`: how many, or null when the instance could not count them)", content_type = "text/event-stream", body = String),
        (status = 401, description = "No credentials, or not valid (`unauthorized`)", body = doc::ApiErrorBody),
    )
)]
async fn stream_calls(
    State(state): State<Arc<AppState>>,
    auth: GroupAuth,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let feed = state.feed.subscribe();
    let ticket = state.stream_caps.open(
        &format!("token:{}", auth.names().join(",")),
        STREAMS_PER_TOKEN,
    );
    let groups = auth.0;
    let stream = stream::unfold(Some((feed, groups, ticket)), |open| async move {
        let (mut feed, groups, mut ticket) = open?;
        loop {
            // Only the token's groups' calls.
            let wanted = |group: &str| groups.iter().any(|g| g.name == group);
            let record = match next_call(&mut feed, &mut ticket, wanted).await {
                Next::Call(record) => record,
                Next::Event(event) => return Some((Ok(event), Some((feed, groups, ticket)))),
                Next::Replaced => return Some((Ok(feed::replaced()), None)),
                Next::Closed => return None,
            };
            let call = &record.interaction;
            let event = with_call_id(Event::default().event("call"), &call.group, &call.call_id)
                .json_data(CallView::new(&record, false));
            match event {
                Ok(event) => return Some((Ok(event), Some((feed, groups, ticket)))),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot write a changed call to the stream")
                }
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// The event with the SSE `id` of a call (`{group}/{call_id}`), or without
/// one when the id cannot be sent: axum's `Event::id` panics on CR, LF and
/// NUL (they would end the field), and a call stored before every adapter was
/// held to the ids' character rules (issue 25) may carry them. A stream never
/// fails on stored data; the event's data names the call either way.
pub(super) fn with_call_id(event: Event, group: &str, call_id: &str) -> Event {
    let id = format!("{group}/{call_id}");
    match id.contains(['\r', '\n', '\0']) {
        true => event,
        false => event.id(id),
    }
}

/// What a stream of call changes gets next.
pub(super) enum Next {
    /// A call that changed, as it is now.
    Call(Arc<deskbridge_store::CallRecord>),
    /// An event to pass on as it is (`lagged`: changes were missed, the
    /// client reads again).
    Event(Event),
    /// A newer stream of the same client took this one's place.
    Replaced,
    /// The server is stopping.
    Closed,
}

/// Waits for the next changed call of the groups `wanted` says yes to (read
/// once for all streams by the feed), whichever instance changed it, or for
/// the stream's end. Shared by the group stream and the agent stream.
pub(super) async fn next_call(
    feed: &mut tokio::sync::broadcast::Receiver<FeedItem>,
    ticket: &mut StreamTicket,
    wanted: impl Fn(&str) -> bool,
) -> Next {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let item = tokio::select! {
            item = feed.recv() => item,
            _ = &mut ticket.ended => return Next::Replaced,
        };
        match item {
            Ok(FeedItem::Call(record)) if wanted(&record.interaction.group) => {
                return Next::Call(record);
            }
            Ok(FeedItem::Call(_)) => continue,
            Ok(FeedItem::Callbacks(group)) if wanted(&group) => {
                if let Ok(e) = Event::default()
                    .event("callbacks")
                    .json_data(serde_json::json!({ "group": group }))
                {
                    return Next::Event(e);
                }
            }
            Ok(FeedItem::Callbacks(_)) => continue,
            Ok(FeedItem::Agent { group, agent }) if wanted(&group) => {
                if let Ok(e) = Event::default()
                    .event("queue")
                    .json_data(serde_json::json!({ "group": group, "agent": agent }))
                {
                    return Next::Event(e);
                }
            }
            Ok(FeedItem::Agent { .. }) => continue,
            Ok(FeedItem::Missed(n)) => return Next::Event(FeedItem::lagged(n)),
            Err(RecvError::Lagged(n)) => return Next::Event(FeedItem::lagged(Some(n))),
            Err(RecvError::Closed) => return Next::Closed,
        }
    }
}

/// `GET /api/v1/instances`: the instances alive (a heartbeat within three
/// periods), and the steps each holds. For admins and the metrics scraper
/// only: it names the hosts the server runs on, which a PBX's group token has
/// no need to know.
#[utoipa::path(
    get,
    path = "/instances",
    tag = "instances",
    security(("agent_session" = []), ("metrics_token" = [])),
    responses(
        (status = 200, description = "The instances alive (a heartbeat within three periods)", body = doc::Instances),
        (status = 401, description = "No credentials, or not valid (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 403, description = "A group token, or an agent without `admin = true` (`not_admin`)", body = doc::ApiErrorBody),
    )
)]
async fn instances(
    State(state): State<Arc<AppState>>,
    headers: axum::http::HeaderMap,
    caller: Result<Caller, ApiError>,
) -> Result<Json<Value>, ApiError> {
    if !super::auth::from_scraper(&state, &headers) {
        match caller? {
            Caller::Agent(session) if session.admin => {}
            _ => {
                return Err(ApiError::new(
                    axum::http::StatusCode::FORBIDDEN,
                    "not_admin",
                    "the instances are shown to admins (an agent with `admin = true`, \
                     signed in) and to the `[metrics] token`",
                ));
            }
        }
    }
    let alive = state.alive_instances().await?;
    metrics::gauge!("deskbridge_instances_alive").set(alive.len() as f64);
    Ok(Json(json!({
        "this_instance": state.instance.id,
        "instances": alive,
    })))
}
