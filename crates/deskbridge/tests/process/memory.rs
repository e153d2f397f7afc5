//! Issue 10, point 2: many calls at the field bounds, listed concurrently with the
//! largest `limit`, keep the server's memory under a stated bound (README,
//! "Limits"): lists stop at a byte budget instead of loading every call.

use std::time::Duration;

use serde_json::{Value, json};

use crate::server::Server;

/// The bound the README states for this load.
const PEAK_RSS_MB: u64 = 150;

/// A `/proc/PID/status` value in MiB (`VmRSS`, `VmHWM`: the peak).
pub(crate) fn status_mb(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {status}"));
    kb / 1024
}

/// One event with every field at its bound (about 480 KB).
fn maximal(i: usize) -> Value {
    let attributes: serde_json::Map<String, Value> = (0..100)
        .map(|k| (format!("attribute_{k:03}"), json!("v".repeat(4096))))
        .collect();
    json!({
        "id": format!("{i:0>256}"), "call_id": format!("{i:c>256}"), "type": "ended",
        "direction": "inbound", "from": "+14155550100", "to": "+14155550199",
        "reason": "no_answer", "queue": "q".repeat(256),
        "agent": {"name": "n".repeat(256), "email": "e".repeat(256), "extension": "1".repeat(256)},
        "attributes": attributes, "transcript": "t".repeat(65_536),
        "recording_url": format!("https://r.example/{}", "r".repeat(2000)),
    })
}

#[test]
fn many_maximal_calls_listed_concurrently_stay_under_the_memory_bound() {
    let server = Server::start();
    for i in 0..40 {
        let (status, body) = server.post_events(&maximal(i));
        assert_eq!(status, 202, "{body}");
    }
    // The calls' own steps first: what is bounded here is what the lists
    // hold, not the lists and forty 480 KB calls' steps at the same moment.
    for i in 0..40 {
        server.wait_synced(&format!("{i:c>256}"));
    }
    let started = status_mb(server.pid(), "VmRSS:");
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                for _ in 0..5 {
                    let (status, body) = server.get("/api/v1/calls?limit=500");
                    assert_eq!(status, 200);
                    let listed = body["calls"].as_array().map_or(0, Vec::len);
                    assert!(listed >= 1, "{listed}");
                    if listed < 40 {
                        assert_eq!(body["truncated"], true);
                    }
                }
            });
        }
    });
    std::thread::sleep(Duration::from_millis(200));
    let peak = status_mb(server.pid(), "VmHWM:");
    let after = status_mb(server.pid(), "VmRSS:");
    eprintln!("RSS: {started} MiB after ingest, peak {peak} MiB, {after} MiB after the lists");
    assert!(
        peak < PEAK_RSS_MB,
        "peak RSS {peak} MiB; the README states {PEAK_RSS_MB}"
    );
}
