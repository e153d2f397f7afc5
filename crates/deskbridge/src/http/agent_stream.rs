//! The agent's live stream (`GET /api/v1/agent/stream`): their calls, pops
//! and withdrawn cards, read from the shared call feed.

use super::openapi::bodies as doc;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::Utc;
use deskbridge_core::decide::pop::taken_from;
use deskbridge_store::CallFilter;
use futures_util::stream::{self, Stream};
use serde_json::json;

use super::caller::AgentSession;
use super::calls::{CallView, MAX_LIST_BYTES};
use super::feed::STREAMS_PER_SESSION;
use super::live::{Next, next_call};
use crate::card::caller_card;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(stream_agent))
}

/// `GET /api/v1/agent/stream`: Server-Sent Events for the signed-in agent only:
/// `call` (one of their calls changed, as `GET /api/v1/calls/{id}` shows it) and
/// `pop` (a screen pop made for them: the call, the caller's card and the record
/// chosen), from whichever instance handled it.
///
/// The stream opens with `hello`, then the agent's calls still live, pops
/// included: a page that (re)connects while the phone rings still shows who is
/// calling, even though the pop was made before it listened.
#[utoipa::path(
    get,
    path = "/agent/stream",
    tag = "agent",
    security(("agent_session" = [])),
    responses(
        (status = 200, description = "Server-Sent Events: `hello`, then `pop` (a screen pop for this agent: the call, the caller card, the record chosen), `withdrawn` (a call that popped here was answered by a colleague: `call_id`, `taken_by` with their email and name) `call` (one of the agent's calls changed: its view, with its `wrap_up` once it is owed), `callbacks` (a callback of the agent's groups changed: `group`) and `queue` (an agent of those groups paused or resumed: `group`, `agent`); the agent's live calls first", content_type = "text/event-stream", body = String),
        (status = 401, description = "Not signed in, or the session expired (`unauthorized`)", body = doc::ApiErrorBody),
    )
)]
async fn stream_agent(
    State(state): State<Arc<AppState>>,
    session: AgentSession,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // Subscribed before the live calls are read: a change in between is sent
    // twice (harmless, the page keeps the newest), never missed.
    let feed = state.feed.subscribe();
    let ticket = state
        .stream_caps
        .open(&format!("session:{}", session.id_hash), STREAMS_PER_SESSION);
    let me = session.email;
    let id_hash = session.id_hash;
    let mut stream = AgentStream {
        me: me.clone(),
        seen: HashMap::new(),
        withdrawn: Default::default(),
    };
    let mut opening = vec![
        Event::default()
            .event("hello")
            .data(json!({ "agent": me }).to_string()),
    ];
    for record in live_calls_of(&state, &me).await {
        opening.extend(stream.events(&state, &record).await);
    }
    // Sent in order: popped from the end.
    opening.reverse();
    let updates = stream::unfold(
        Some((state, feed, ticket, id_hash, stream, opening)),
        |open| async move {
            let (state, mut feed, mut ticket, id_hash, mut stream, mut queued) = open?;
            loop {
                if let Some(event) = queued.pop() {
                    let next = Some((state, feed, ticket, id_hash, stream, queued));
                    return Some((Ok(event), next));
                }
                let record = match next_call(&mut feed, &mut ticket, |_| true).await {
                    Next::Call(record) => record,
                    Next::Event(event) => {
                        let next = Some((state, feed, ticket, id_hash, stream, queued));
                        return Some((Ok(event), next));
                    }
                    Next::Replaced => return Some((Ok(super::feed::replaced()), None)),
                    Next::Closed => return None,
                };
                if !stream.concerns(&record.interaction) {
                    continue;
                }
                // A session signed out (or expired) since the stream opened gets
                // nothing more: the stream ends.
                match state.store.session(&id_hash, Utc::now()).await {
                    Ok(Some(_)) => {}
                    Ok(None) => return None,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot check the agent's session");
                        continue;
                    }
                }
                let mut events = stream.events(&state, &record).await;
                events.reverse();
                queued = events;
            }
        },
    );
    Sse::new(updates).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// How long a call without its end is taken for live when a page opens: a call
/// whose `ended` event was lost must not pop again on every reload.
const LIVE_AT_MOST: chrono::TimeDelta = chrono::TimeDelta::hours(4);

/// The agent's calls still live (newest first from the store; oldest first here,
/// so the newest is shown last): not ended, and begun within [`LIVE_AT_MOST`].
async fn live_calls_of(state: &AppState, me: &str) -> Vec<deskbridge_store::CallRecord> {
    let filter = CallFilter {
        groups: state.groups.iter().map(|g| g.name.clone()).collect(),
        agent: Some(me.to_string()),
        ..Default::default()
    };
    match state.store.call_log(&filter, 20, MAX_LIST_BYTES).await {
        Ok(page) => {
            let mut live: Vec<_> = page
                .calls
                .into_iter()
                .filter(|c| c.interaction.ended_at.is_none())
                .filter(|c| Utc::now() - c.interaction.first_at < LIVE_AT_MOST)
                .collect();
            live.reverse();
            live
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the agent's live calls");
            Vec::new()
        }
    }
}

/// What one agent's stream has sent: the pops per call, since a call changes
/// many times after its pop.
struct AgentStream {
    me: String,
    seen: HashMap<(String, String), usize>,
    /// The calls whose card was withdrawn from this agent (another answered).
    withdrawn: std::collections::HashSet<(String, String)>,
}

impl AgentStream {
    /// Whether the call is one of this agent's (rung, popped or answered).
    fn concerns(&self, call: &deskbridge_core::Interaction) -> bool {
        call.agent_emails().iter().any(|e| e == &self.me)
    }

    /// The events the agent gets for the call as it is now: its pops not yet
    /// sent (only while the call is live: a pop is worth showing only while the
    /// phone rings or the agent talks), then the call itself.
    async fn events(
        &mut self,
        state: &AppState,
        record: &deskbridge_store::CallRecord,
    ) -> Vec<Event> {
        let call = &record.interaction;
        let view = CallView::new(record, false);
        let mut events = Vec::new();
        let mine: Vec<_> = call
            .pops
            .iter()
            .filter(|p| p.agent.eq_ignore_ascii_case(&self.me))
            .collect();
        let sent = self
            .seen
            .entry((call.group.clone(), call.call_id.clone()))
            .or_insert(0);
        if mine.len() > *sent && call.ended_at.is_none() {
            let group = state.group(&call.group).cloned();
            for pop in &mine[*sent..] {
                let card = match &group {
                    Some(g) => caller_card(
                        g,
                        call.customer_phone(),
                        pop.contact_id.as_deref().or(call.contact_id.as_deref()),
                    )
                    .await
                    .unwrap_or_default(),
                    None => Default::default(),
                };
                let ticket_link = pop
                    .ticket_id
                    .as_ref()
                    .and_then(|t| group.as_ref().map(|g| g.links.ticket(t)));
                let data = json!({
                    "call": view,
                    "card": card,
                    "pop": pop,
                    "ticket_link": ticket_link,
                });
                if let Ok(e) = Event::default().event("pop").json_data(data) {
                    events.push(e);
                }
            }
        }
        *sent = mine.len().max(*sent);
        let key = (call.group.clone(), call.call_id.clone());
        // A colleague answered a live call that popped here: the card goes,
        // saying who took it (the core says when, `taken_from`).
        if call.ended_at.is_none()
            && !self.withdrawn.contains(&key)
            && let Some(taken_by) = taken_from(call, &self.me, &state.directory.agents())
        {
            let data =
                json!({ "call_id": call.call_id, "group": call.group, "taken_by": taken_by });
            if let Ok(e) = super::live::with_call_id(
                Event::default().event("withdrawn"),
                &call.group,
                &call.call_id,
            )
            .json_data(data)
            {
                events.push(e);
            }
            self.withdrawn.insert(key.clone());
        }
        if call.ended_at.is_some() {
            // No pop is sent for an ended call: forget it.
            self.seen.remove(&key);
            self.withdrawn.remove(&key);
        }
        if let Ok(e) =
            super::live::with_call_id(Event::default().event("call"), &call.group, &call.call_id)
                .json_data(&view)
        {
            events.push(e);
        }
        events
    }
}
