//! The live streams' common source, and how many a client may hold.
//!
//! **One read per change.** Every open stream used to read each changed call
//! from the database itself before asking whether the call concerned it, so
//! 800 streams made every change 800 reads (issue 25, point 4). [`CallFeed`]
//! hears the store's changes once, reads each changed call once (only while
//! some stream listens), and hands the record to every stream, which keeps what
//! concerns it.
//!
//! **A cap per client.** [`StreamCaps`] counts the streams each session (the
//! agent page) and each group token (`/calls/stream`) holds; a new stream past
//! the cap ends the oldest, which gets a `closed` event first (the page then
//! stops reconnecting), so a client cannot pile up streams and slots, and a
//! page reopened in a new tab takes over from the old one.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::response::sse::Event;
use deskbridge_store::{CallRecord, Change, Store};
use serde_json::json;
use tokio::sync::{broadcast, oneshot};

/// Streams one agent session may hold at once (tabs of the agent page).
pub const STREAMS_PER_SESSION: usize = 4;
/// Streams one group token may hold at once (`/api/v1/calls/stream`).
pub const STREAMS_PER_TOKEN: usize = 16;

/// What a stream hears next.
#[derive(Debug, Clone)]
pub enum FeedItem {
    /// A call that changed, as it is now (read once for every stream).
    Call(Arc<CallRecord>),
    /// A callback of the group opened, changed or closed: pages listing the
    /// group's callbacks read them again.
    Callbacks(String),
    /// An agent of the group paused or resumed: their page reads their
    /// queue state again.
    Agent { group: String, agent: String },
    /// Changes were missed: how many, or `None` when they could not be
    /// counted (the store's listener reconnected).
    Missed(Option<u64>),
}

impl FeedItem {
    /// The `lagged` event a stream sends for missed changes: the client reads
    /// again.
    pub fn lagged(missed: Option<u64>) -> Event {
        let data = match missed {
            Some(n) => json!({ "missed": n }),
            None => json!({ "missed": null, "reason": "reconnected" }),
        };
        Event::default().event("lagged").data(data.to_string())
    }
}

/// Changed calls, read once, for every live stream of this instance.
#[derive(Clone)]
pub struct CallFeed {
    sender: broadcast::Sender<FeedItem>,
}

/// Records a stream may fall behind by before it is told it missed some.
const FEED_BUFFER: usize = 1024;

impl CallFeed {
    /// Starts reading the store's changes; runs until the store closes.
    pub fn start(store: Arc<dyn Store>) -> CallFeed {
        let (sender, _) = broadcast::channel(FEED_BUFFER);
        let feed = CallFeed {
            sender: sender.clone(),
        };
        let changes = store.changes();
        tokio::spawn(read_changes(store, changes, sender));
        feed
    }

    /// Hears every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<FeedItem> {
        self.sender.subscribe()
    }
}

async fn read_changes(
    store: Arc<dyn Store>,
    mut changes: broadcast::Receiver<Change>,
    feed: broadcast::Sender<FeedItem>,
) {
    use broadcast::error::RecvError;
    loop {
        let item = match changes.recv().await {
            Ok(Change::Call { group, call_id }) => {
                // Nobody listens: nothing to read.
                if feed.receiver_count() == 0 {
                    continue;
                }
                match store.call(&group, &call_id).await {
                    // The streams are the calls'; a chat is read at
                    // `/api/v1/conversations/{id}`.
                    Ok(Some(record)) if record.interaction.is_chat() => continue,
                    Ok(Some(record)) => FeedItem::Call(Arc::new(record)),
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read a changed call for the live streams");
                        continue;
                    }
                }
            }
            Ok(Change::Work | Change::Pop) => continue,
            Ok(Change::Callbacks { group }) => FeedItem::Callbacks(group),
            Ok(Change::Agent { group, agent }) => FeedItem::Agent { group, agent },
            Ok(Change::Missed) => FeedItem::Missed(None),
            Err(RecvError::Lagged(n)) => FeedItem::Missed(Some(n)),
            Err(RecvError::Closed) => return,
        };
        // No receiver: the streams closed meanwhile.
        let _ = feed.send(item);
    }
}

/// One client's open streams, oldest first: each one's id and how to end it.
type OpenStreams = VecDeque<(u64, oneshot::Sender<()>)>;

/// The streams each client holds.
#[derive(Default)]
pub struct StreamCaps {
    next_id: AtomicU64,
    open: Mutex<HashMap<String, OpenStreams>>,
}

/// A stream's place under its client's cap: `ended` resolves when a newer
/// stream of the same client took it; dropping the ticket frees the place.
pub struct StreamTicket {
    caps: Arc<StreamCaps>,
    client: String,
    id: u64,
    pub ended: oneshot::Receiver<()>,
}

impl StreamCaps {
    /// A place for a new stream of `client` (a session, a token); past `cap`,
    /// the client's oldest stream is told to end.
    pub fn open(self: &Arc<Self>, client: &str, cap: usize) -> StreamTicket {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (end, ended) = oneshot::channel();
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let streams = open.entry(client.to_string()).or_default();
        streams.push_back((id, end));
        while streams.len() > cap.max(1) {
            if let Some((_, oldest)) = streams.pop_front() {
                metrics::counter!("deskbridge_streams_replaced_total").increment(1);
                let _ = oldest.send(());
            }
        }
        StreamTicket {
            caps: self.clone(),
            client: client.to_string(),
            id,
            ended,
        }
    }

    /// Streams `client` holds.
    #[cfg(test)]
    fn count(&self, client: &str) -> usize {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.get(client).map_or(0, VecDeque::len)
    }
}

impl Drop for StreamTicket {
    fn drop(&mut self) {
        let mut open = self.caps.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(streams) = open.get_mut(&self.client) {
            streams.retain(|(id, _)| *id != self.id);
            if streams.is_empty() {
                open.remove(&self.client);
            }
        }
    }
}

/// The event a stream sends before it ends because a newer one of the same
/// client took its place: the page stops reconnecting.
pub fn replaced() -> Event {
    Event::default()
        .event("closed")
        .data(json!({ "reason": "too_many_streams" }).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_past_the_cap_ends_the_oldest_of_the_same_client() {
        let caps = Arc::new(StreamCaps::default());
        let mut first = caps.open("session-a", 2);
        let mut second = caps.open("session-a", 2);
        let other = caps.open("session-b", 2);
        assert_eq!(caps.count("session-a"), 2);
        let _third = caps.open("session-a", 2);
        assert!(first.ended.try_recv().is_ok(), "the oldest is told to end");
        assert!(second.ended.try_recv().is_err(), "the others go on");
        assert_eq!(caps.count("session-a"), 2);
        drop(first);
        assert_eq!(
            caps.count("session-a"),
            2,
            "an ended stream was no longer counted"
        );
        drop(second);
        assert_eq!(caps.count("session-a"), 1);
        assert_eq!(caps.count("session-b"), 1);
        drop(other);
        assert_eq!(caps.count("session-b"), 0);
    }
}
