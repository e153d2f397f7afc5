//! Live views across instances: the stream of call changes of the token's groups,
//! and the instances sharing the database.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use deskbridge_store::Change;
use futures_util::stream::{self, Stream};
use serde_json::{Value, json};

use super::calls::CallView;
use super::{ApiError, GroupAuth};
use crate::app::HEARTBEAT;
use crate::state::AppState;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/calls/stream", get(stream_calls))
        .route("/instances", get(instances))
}

/// `GET /api/v1/calls/stream`: one `call` event (the call as `GET /calls/{id}`
/// shows it) per change of a call of the token's groups, whichever instance
/// handled it.
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
                let (group, call_id) = match changes.recv().await {
                    Ok(Change::Call { group, call_id }) => (group, call_id),
                    Ok(Change::Work) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        let event = Event::default()
                            .event("lagged")
                            .data(json!({ "missed": n }).to_string());
                        return Some((Ok(event), (state, changes, groups)));
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                };
                // Only the token's groups' calls.
                if !groups.iter().any(|g| g.name == group) {
                    continue;
                }
                let record = match state.store.call(&group, &call_id).await {
                    Ok(Some(r)) => r,
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read a changed call for the stream");
                        continue;
                    }
                };
                let event = Event::default()
                    .event("call")
                    .id(format!("{}/{}", group, call_id))
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

/// `GET /api/v1/instances`: the instances alive (a heartbeat within three
/// periods), and the steps each holds.
async fn instances(
    State(state): State<Arc<AppState>>,
    _auth: GroupAuth,
) -> Result<Json<Value>, ApiError> {
    let alive = state.store.instances(HEARTBEAT * 3).await?;
    metrics::gauge!("deskbridge_instances_alive").set(alive.len() as f64);
    Ok(Json(json!({
        "this_instance": state.instance.id,
        "instances": alive,
    })))
}
