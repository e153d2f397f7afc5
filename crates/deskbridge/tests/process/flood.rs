//! Group commit across a crash: a 202 is sent only once the commit it shared with
//! other requests is on disk, so SIGKILL in the middle of a flood of one-event
//! requests loses no acknowledged event.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::server::*;

#[test]
fn sigkill_during_a_flood_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut first = Server::start_in(&data, Options::default());
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..8)
        .map(|t| {
            let (url, token) = (first.url("/api/v1/events"), first.token.clone());
            let (acked, stop) = (acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let http = reqwest::blocking::Client::new();
                for n in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let id = format!("f{t}-{n}");
                    let event = json!({"id": id, "call_id": id, "type": "ringing",
                        "direction": "inbound", "from": "+14155550100"});
                    match http.post(&url).bearer_auth(&token).json(&event).send() {
                        Ok(resp) if resp.status().as_u16() == 202 => acked.lock().unwrap().push(id),
                        // The server is gone: whatever was not acknowledged may be lost.
                        _ => break,
                    }
                }
            })
        })
        .collect();
    // Kill it once the flood is well under way.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while acked.lock().unwrap().len() < 300 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    first.kill();
    stop.store(true, Ordering::Relaxed);
    for sender in senders {
        sender.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 100,
        "the flood got going: {} acks",
        acked.len()
    );

    // Every acknowledged event is in the journal after the restart: sent again,
    // each is a duplicate.
    let second = Server::start_in(&data, Options::default());
    let mut duplicates = 0;
    for chunk in acked.chunks(100) {
        let events: Vec<Value> = chunk
            .iter()
            .map(|id| {
                json!({"id": id, "call_id": id, "type": "ringing",
                "direction": "inbound", "from": "+14155550100"})
            })
            .collect();
        let (status, body) = second.post_events(&Value::Array(events));
        assert_eq!(status, 202, "{body}");
        assert_eq!(
            body["accepted"], 0,
            "an acknowledged event was lost: {body}"
        );
        duplicates += body["duplicates"].as_u64().unwrap();
    }
    assert_eq!(duplicates, acked.len() as u64);
}
