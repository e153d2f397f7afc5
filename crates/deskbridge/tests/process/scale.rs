//! Lookup and routing at scale (issue 15, point 3; BENCHMARKS.md, "Lookup and
//! routing at 1,000,000 contacts"): the built-in CRM seeded with `SCALE_CONTACTS`
//! contacts (default 1,000,000), then the real binary started on that data: its
//! start time, its memory idle and after the lookups, and the latency of
//! `GET /api/v1/lookup` and `GET /api/v1/route` over HTTP for numbers spread over
//! all the contacts. Ignored by default (seeding takes minutes); run with
//! `cargo test -p deskbridge --test process -- --ignored --nocapture lookup_and_routing_at_scale`
//! (`SCALE_DATA=<dir>` keeps the seeded data there for the next run).

use std::time::{Duration, Instant};

use deskbridge_store::crm::ContactFields;

use crate::memory::status_mb;
use crate::server::{Options, Server};

const LOOKUPS: usize = 5_000;
/// Contacts per transaction while seeding.
const CHUNK: usize = 20_000;

/// A valid San Francisco number for each `i` below 8,000,000 (exchanges 200
/// to 999: libphonenumber refuses exchanges starting with 0 or 1).
fn number(i: usize) -> String {
    format!("+1415{}{:04}", 200 + (i / 10_000) % 800, i % 10_000)
}

fn seed(data_dir: &std::path::Path, contacts: usize) {
    let overrides = deskbridge::config::Overrides {
        listen: None,
        data_dir: Some(data_dir.to_path_buf()),
        database_url: None,
    };
    let config = deskbridge::config::Config::load(None, overrides).expect("the default config");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let (state, _) = deskbridge::app::open(&config, deskbridge_core::WorkLane::Live)
            .await
            .expect("open the store");
        let crm = state.groups[0].crm.clone().expect("the built-in CRM");
        let started = Instant::now();
        for start in (0..contacts).step_by(CHUNK) {
            let chunk: Vec<ContactFields> = (start..(start + CHUNK).min(contacts))
                .map(|i| ContactFields {
                    name: format!("Caller {i}"),
                    email: Some(format!("caller{i}@example.com")),
                    phones: vec![number(i)],
                    ..ContactFields::default()
                })
                .collect();
            let ids = crm.store().import_contacts(&chunk).await.expect("import");
            assert_eq!(ids.len(), chunk.len());
        }
        eprintln!(
            "seeded {contacts} contacts in {:.0} s",
            started.elapsed().as_secs_f64()
        );
        state.store.close().await;
    });
}

/// p50, p99 and max of `LOOKUPS` GETs of `path` + a number spread over the
/// contacts (a fixed stride, so each run asks the same numbers).
fn time(server: &Server, contacts: usize, path: &str) -> [Duration; 3] {
    let client = reqwest::blocking::Client::new();
    let stride = (contacts / LOOKUPS).max(1) * 7 + 1;
    let mut took: Vec<Duration> = (0..LOOKUPS)
        .map(|k| {
            let phone = number((k * stride) % contacts);
            let url = server.url(&format!("{path}{}", &phone[1..]));
            let started = Instant::now();
            let resp = client
                .get(url)
                .bearer_auth(&server.token)
                .send()
                .expect("request");
            assert_eq!(resp.status().as_u16(), 200);
            let body = resp.text().expect("body");
            let elapsed = started.elapsed();
            if path.contains("lookup") {
                assert!(body.contains("Caller "), "the caller is found: {body}");
            }
            elapsed
        })
        .collect();
    took.sort();
    let at = |p: f64| took[((took.len() as f64 * p) as usize).min(took.len() - 1)];
    [at(0.50), at(0.99), took[took.len() - 1]]
}

#[test]
#[ignore]
fn lookup_and_routing_at_scale() {
    let contacts: usize = std::env::var("SCALE_CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    // `SCALE_DATA=<dir>`: seed there once and keep it; a later run on the
    // same directory skips the minutes of seeding (to compare builds or
    // settings, or to profile the server, on the same data).
    let dir = tempfile::tempdir().expect("temp dir");
    let data = std::env::var_os("SCALE_DATA")
        .map_or_else(|| dir.path().join("data"), std::path::PathBuf::from);
    if data.join("deskbridge.db").exists() {
        eprintln!("reusing the contacts seeded in {}", data.display());
    } else {
        seed(&data, contacts);
    }
    let db_mb = std::fs::metadata(data.join("deskbridge.db")).map_or(0, |m| m.len() >> 20);

    let started = Instant::now();
    let server = Server::start_in(&data, Options::default());
    let start_time = started.elapsed();
    let idle = status_mb(server.pid(), "VmRSS:");

    // Warm the connection and the pages the lookups read.
    let _ = time(&server, contacts, "/api/v1/lookup?phone=");
    let [l50, l99, lmax] = time(&server, contacts, "/api/v1/lookup?phone=");
    let [r50, r99, rmax] = time(&server, contacts, "/api/v1/route?format=text&from=");
    let after = status_mb(server.pid(), "VmRSS:");
    let peak = status_mb(server.pid(), "VmHWM:");
    eprintln!(
        "{contacts} contacts (database {db_mb} MiB): started in {start_time:.2?}, RSS idle {idle} MiB, \
         after the lookups {after} MiB (peak {peak} MiB)\n\
         lookup: p50 {l50:.2?}, p99 {l99:.2?}, max {lmax:.2?} ({LOOKUPS} over HTTP)\n\
         route:  p50 {r50:.2?}, p99 {r99:.2?}, max {rmax:.2?} ({LOOKUPS} over HTTP)"
    );
    assert!(l99 < Duration::from_millis(50) && r99 < Duration::from_millis(50));
}
