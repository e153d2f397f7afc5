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
use deskbridge_store::Change;
use futures_util::stream::{self, Stream};
use serde_json::{Value, json};

use super::calls::CallView;
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
    let changes = state.store.changes();
    let groups = auth.0;
    let stream = stream::unfold(
        (state, changes, groups),
        |(state, mut changes, groups)| async move {
            loop {
                // Only the token's groups' calls.
                let wanted = |group: &str| groups.iter().any(|g| g.name == group);
                let (group, call_id, record) = match next_call(&state, &mut changes, wanted).await {
                    Next::Call(group, call_id, record) => (group, call_id, record),
                    Next::Lagged(event) => return Some((Ok(event), (state, changes, groups))),
                    Next::Closed => return None,
                };
                let event = with_call_id(Event::default().event("call"), &group, &call_id)
                    .json_data(CallView::new(&record, false));
                match event {
                    Ok(event) => return Some((Ok(event), (state, changes, groups))),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot write a changed call to the stream")
                    }
                }
            }
        },
    );
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
    /// A call that changed: its group, id and record as it is now.
    Call(String, String, Box<deskbridge_store::CallRecord>),
    /// The stream fell behind: tell the client how many changes it missed.
    Lagged(Event),
    /// The server is stopping.
    Closed,
}

/// Waits for the next change of a call and reads the call (changes that are not
/// a call's, and calls that cannot be read, are skipped), whichever instance made
/// it, of the groups `wanted` says yes to. Shared by the group stream and the
/// agent stream.
pub(super) async fn next_call(
    state: &AppState,
    changes: &mut tokio::sync::broadcast::Receiver<Change>,
    wanted: impl Fn(&str) -> bool,
) -> Next {
    loop {
        let (group, call_id) = match changes.recv().await {
            Ok(Change::Call { group, call_id }) => (group, call_id),
            Ok(Change::Work) => continue,
            // The instance stopped hearing the others for a while: the client
            // reads again, as after falling behind.
            Ok(Change::Missed) => {
                return Next::Lagged(
                    Event::default()
                        .event("lagged")
                        .data(json!({ "missed": null, "reason": "reconnected" }).to_string()),
                );
            }
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                return Next::Lagged(
                    Event::default()
                        .event("lagged")
                        .data(json!({ "missed": n }).to_string()),
                );
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return Next::Closed,
        };
        // Filtered before the call is read: every open stream hears every change.
        if !wanted(&group) {
            continue;
        }
        match state.store.call(&group, &call_id).await {
            // The streams are the calls'; a chat is read at
            // `/api/v1/conversations/{id}`.
            Ok(Some(record)) if record.interaction.is_chat() => continue,
            Ok(Some(record)) => return Next::Call(group, call_id, Box::new(record)),
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read a changed call for a stream");
                continue;
            }
        }
    }
}

/// `GET /api/v1/instances`: the instances alive (a heartbeat within three
/// periods), and the steps each holds.
#[utoipa::path(
    get,
    path = "/instances",
    tag = "instances",
    security(("group_token" = [])),
    responses(
        (status = 200, description = "The instances alive (a heartbeat within three periods)", body = doc::Instances),
        (status = 401, description = "No credentials, or not valid (`unauthorized`)", body = doc::ApiErrorBody),
    )
)]
async fn instances(
    State(state): State<Arc<AppState>>,
    _auth: GroupAuth,
) -> Result<Json<Value>, ApiError> {
    let alive = state.alive_instances().await?;
    metrics::gauge!("deskbridge_instances_alive").set(alive.len() as f64);
    Ok(Json(json!({
        "this_instance": state.instance.id,
        "instances": alive,
    })))
}
