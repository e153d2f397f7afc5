//! Which calls are synced, as the server announces them on
//! `GET /api/v1/calls/stream`, instead of asking for every call again and again.
//!
//! Polling each pending call every 100 ms costs the server (on the same two
//! cores) a read of the call and its steps per call per round: with thousands of
//! calls pending that is more work than syncing them, and the figure measured
//! the poller. The stream costs one read per change of a call (it is what a
//! supervisor's screen costs), and says when each call's `sync` became `done` to
//! within the stream's delivery. When the stream reports `lagged` (changes
//! missed) or ends, the calls still pending are asked once each
//! (`poll_pending`), so nothing is waited for in vain.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// A call seen synced: when, and its first pop's time.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    pub failed: bool,
    pub at: Instant,
    pub popped_at: Option<DateTime<Utc>>,
}

impl Seen {
    /// From a call as `GET /api/v1/calls/{id}` (and the stream) shows it, if synced.
    pub fn of(call: &Value, at: Instant) -> Option<Seen> {
        let failed = match call["sync"].as_str()? {
            "done" => false,
            "failed" => true,
            _ => return None,
        };
        let popped_at = call["pops"][0]["at"].as_str().and_then(|t| t.parse().ok());
        Some(Seen {
            failed,
            at,
            popped_at,
        })
    }
}

/// The stream's reader, running until dropped.
pub struct SyncWatch {
    seen: Arc<Mutex<HashMap<String, Seen>>>,
    /// Changes were missed, or the stream ended: ask for what is still pending.
    unsure: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SyncWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SyncWatch {
    /// Opens the stream of the token's groups; returns once the server has
    /// answered, so no change after this is missed.
    pub async fn open(http: &reqwest::Client, base: &str, token: &str) -> anyhow::Result<Self> {
        let mut resp = http
            .get(format!("{base}/api/v1/calls/stream"))
            .bearer_auth(token)
            .send()
            .await
            .context("opening /api/v1/calls/stream")?
            .error_for_status()?;
        let seen = Arc::new(Mutex::new(HashMap::new()));
        let unsure = Arc::new(AtomicBool::new(false));
        let (into, flag) = (seen.clone(), unsure.clone());
        let task = tokio::spawn(async move {
            let mut buffer = String::new();
            loop {
                let chunk = match resp.chunk().await {
                    Ok(Some(chunk)) => chunk,
                    _ => break,
                };
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                // Events are separated by a blank line (the server writes `\n`).
                while let Some(end) = buffer.find("\n\n") {
                    let event: String = buffer.drain(..end + 2).collect();
                    read_event(&event, &into, &flag);
                }
            }
            flag.store(true, Ordering::Relaxed);
        });
        Ok(SyncWatch { seen, unsure, task })
    }

    /// The call, if seen synced.
    pub fn seen(&self, call_id: &str) -> Option<Seen> {
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(call_id)
            .copied()
    }

    /// A call found synced by asking for it.
    pub fn note(&self, call_id: &str, seen: Seen) {
        remember(&self.seen, call_id, seen);
    }

    /// Whether changes may have been missed since the last call (and forgets it).
    pub fn take_unsure(&self) -> bool {
        self.unsure.swap(false, Ordering::Relaxed)
    }
}

fn read_event(event: &str, seen: &Mutex<HashMap<String, Seen>>, unsure: &AtomicBool) {
    let mut name = "message";
    let mut data = String::new();
    for line in event.lines() {
        if let Some(n) = line.strip_prefix("event:") {
            name = n.trim();
        } else if let Some(d) = line.strip_prefix("data:") {
            data.push_str(d.trim_start());
        }
    }
    match name {
        "call" => {
            let Ok(call) = serde_json::from_str::<Value>(&data) else {
                return;
            };
            let (Some(id), Some(synced)) =
                (call["call_id"].as_str(), Seen::of(&call, Instant::now()))
            else {
                return;
            };
            remember(seen, id, synced);
        }
        "lagged" | "replaced" => unsure.store(true, Ordering::Relaxed),
        _ => {}
    }
}

/// The first time a call was seen synced is when it synced.
fn remember(seen: &Mutex<HashMap<String, Seen>>, call_id: &str, synced: Seen) {
    seen.lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .entry(call_id.to_string())
        .or_insert(synced);
}
