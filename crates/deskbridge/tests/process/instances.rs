//! Several instances on one PostgreSQL database: failover without loss or
//! duplicates, one contact per new number across instances, and live call updates
//! from whichever instance handled the call.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::server::*;
use serde_json::Value;

const TOKEN: &str = "instances-test-token-0123456789";

pub(crate) fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A schema of its own for one test, dropped at the end.
pub(crate) struct Schema {
    name: String,
}

impl Schema {
    pub(crate) fn new() -> Schema {
        let name = format!(
            "deskbridge_it_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
                % 1_000_000_000
        );
        psql(&format!("CREATE SCHEMA {name}"));
        Schema { name }
    }

    pub(crate) fn url(&self) -> String {
        format!(
            "{}?options=-c%20search_path%3D{}",
            database_url(),
            self.name
        )
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        psql(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}

fn psql(sql: &str) {
    let out = Command::new("psql")
        .arg(database_url())
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const CONFIG: &str = r#"
[metrics]
token = "instances-metrics-token-0123456789"

[[groups]]
name = "support"
tokens = ["instances-test-token-0123456789"]
"#;

/// The scraper's token: `/api/v1/instances` is for admins and the scraper.
const METRICS_TOKEN: &str = "instances-metrics-token-0123456789";

/// Starts one instance on the shared database.
fn instance(
    dir: &tempfile::TempDir,
    n: usize,
    schema: &Schema,
    extra_env: &[(&str, &str)],
) -> Server {
    let data = dir.path().join(format!("instance-{n}"));
    let mut opts = Options {
        config: Some(CONFIG.to_string()),
        token: Some(TOKEN.to_string()),
        ..Options::default()
    };
    opts.env
        .push(("DESKBRIDGE_DATABASE_URL".into(), schema.url()));
    for (k, v) in extra_env {
        opts.env.push((k.to_string(), v.to_string()));
    }
    Server::start_in(&data, opts)
}

fn wait_all_done(server: &Server, ids: &[String]) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut calls = Vec::new();
    for id in ids {
        loop {
            let (status, call) = server.get(&format!("/api/v1/calls/{id}"));
            if status == 200 && call["sync"] == "done" {
                calls.push(call);
                break;
            }
            assert_ne!(call["sync"], "failed", "{call}");
            assert!(Instant::now() < deadline, "call {id} not done: {call}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    calls
}

#[test]
fn killing_an_instance_mid_stream_loses_and_doubles_nothing() {
    let schema = Schema::new();
    let dir = tempfile::tempdir().unwrap();
    let a = instance(&dir, 0, &schema, &[]);
    // The victim runs slow steps, so it surely holds leases when it dies.
    let mut b = instance(
        &dir,
        1,
        &schema,
        &[("DESKBRIDGE_FAULT_STEP_DELAY_MS", "400")],
    );
    let c = instance(&dir, 2, &schema, &[]);
    let numbers: Vec<String> = (0..12).map(|i| format!("+1415555{:04}", 200 + i)).collect();
    let calls = 48;
    let ids: Vec<String> = (0..calls).map(|i| format!("f{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let events = answered_call(id, &numbers[i % numbers.len()], "ann@acme.com");
        if i == 30 {
            // Mid-stream: B dies without warning, holding leases and queued work.
            b.kill();
        }
        let target = match i % 3 {
            1 if i < 30 => &b,
            1 | 2 => &c,
            _ => &a,
        };
        let (status, body) = target.post_events(&events);
        assert_eq!(status, 202, "{body}");
    }
    let done = wait_all_done(&a, &ids);

    // Exactly one ticket and one comment per call, one contact per number.
    let tickets = a.all("tickets");
    let mut all_tickets = tickets.clone();
    let mut after = tickets
        .last()
        .map(|t| t["id"].as_str().unwrap().to_string());
    while let Some(cursor) = after.take() {
        let (_, page) = a.get(&format!("/api/v1/crm/tickets?limit=100&after={cursor}"));
        let items = page["items"].as_array().cloned().unwrap_or_default();
        if let Some(last) = items.last() {
            after = Some(last["id"].as_str().unwrap().to_string());
        }
        all_tickets.extend(items);
    }
    assert_eq!(all_tickets.len(), calls, "one ticket per call");
    let ticket_ids: BTreeSet<&str> = done
        .iter()
        .map(|c| c["ticket_id"].as_str().unwrap())
        .collect();
    assert_eq!(ticket_ids.len(), calls, "no two calls share a ticket");
    for t in &ticket_ids {
        assert_eq!(a.comments(t).len(), 1, "comments on ticket {t}");
    }
    for n in &numbers {
        assert_eq!(a.contacts_by_phone(n).len(), 1, "contacts for {n}");
    }
    // Steps B held when it died were taken over and finished by the others.
    let retried: usize = done
        .iter()
        .flat_map(|c| c["steps"].as_array().cloned().unwrap_or_default())
        .filter(|s| s["attempts"].as_i64().unwrap_or(0) >= 2)
        .count();
    assert!(retried > 0, "no step of the dead instance was taken over");
    drop(c);
}

#[test]
fn one_new_number_calling_several_instances_at_once_makes_one_contact() {
    let schema = Schema::new();
    let dir = tempfile::tempdir().unwrap();
    let servers: Vec<Server> = (0..3).map(|n| instance(&dir, n, &schema, &[])).collect();
    let ids: Vec<String> = (0..12).map(|i| format!("same{i}")).collect();
    std::thread::scope(|scope| {
        for (i, id) in ids.iter().enumerate() {
            let server = &servers[i % servers.len()];
            scope.spawn(move || {
                let (status, body) =
                    server.post_events(&answered_call(id, "(415) 555-0177", "ann@acme.com"));
                assert_eq!(status, 202, "{body}");
            });
        }
    });
    let done = wait_all_done(&servers[0], &ids);
    let contacts = servers[1].contacts_by_phone("+14155550177");
    assert_eq!(contacts.len(), 1, "{contacts:?}");
    assert!(done.iter().all(|c| c["contact_id"] == contacts[0]["id"]));
}

#[test]
fn a_stream_on_one_instance_sees_calls_handled_by_another() {
    let schema = Schema::new();
    let dir = tempfile::tempdir().unwrap();
    let a = instance(&dir, 0, &schema, &[]);
    let b = instance(&dir, 1, &schema, &[]);
    let url = a.url("/api/v1/calls/stream");
    // The stream subscribes to changes before it answers: once its headers are
    // here, no change of the call can be missed.
    let (subscribed, is_subscribed) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let resp = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap()
            .get(url)
            .bearer_auth(TOKEN)
            .send()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let _ = subscribed.send(());
        // Read events until the call has ended with its ticket.
        let mut seen: BTreeMap<String, Value> = BTreeMap::new();
        let mut buf = String::new();
        let mut resp = resp;
        let mut chunk = [0u8; 4096];
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            use std::io::Read;
            let n = resp.read(&mut chunk).unwrap_or(0);
            if n == 0 {
                break;
            }
            buf.push_str(&String::from_utf8_lossy(&chunk[..n]));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) {
                    let call: Value = serde_json::from_str(data).unwrap();
                    seen.insert(
                        call["state"].as_str().unwrap_or("").to_string(),
                        call.clone(),
                    );
                    if call["sync"] == "done" {
                        return (seen, call);
                    }
                }
            }
        }
        panic!("the stream never showed the call done: {seen:?}");
    });
    if is_subscribed.recv_timeout(Duration::from_secs(20)).is_err() {
        // The reader failed before subscribing; its panic says why.
        let _ = reader.join();
        panic!("the stream did not answer");
    }
    let (status, _) = b.post_events(&answered_call("live1", "+14155550111", "ann@acme.com"));
    assert_eq!(status, 202);
    let (seen, last) = reader.join().unwrap();
    assert_eq!(last["call_id"], "live1");
    assert_eq!(last["outcome"], "answered");
    assert!(last["ticket_id"].is_string(), "{last}");
    assert!(seen.contains_key("ended"), "{seen:?}");

    // Both instances list each other.
    let (_, listed) = a.as_token(METRICS_TOKEN).get("/api/v1/instances");
    assert_eq!(listed["instances"].as_array().unwrap().len(), 2, "{listed}");
    let (_, from_b) = b.as_token(METRICS_TOKEN).get("/api/v1/instances");
    assert_ne!(listed["this_instance"], from_b["this_instance"]);
}

#[test]
fn instances_share_one_zendesk_request_budget() {
    use zendesk_emulator::{Emulator, EmulatorConfig};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut cfg = EmulatorConfig::new("admin@acme.com", "emulator-token");
    cfg.requests_per_minute = Some(120);
    let emu = rt
        .block_on(Emulator::new(cfg).start("127.0.0.1:0"))
        .unwrap();
    // In the directory with its Zendesk id: no agent lookups to count.
    let ann = emu.seed_agent("ann@acme.com", "Ann Example");
    let schema = Schema::new();
    let dir = tempfile::tempdir().unwrap();
    // The plan allows 120 a minute: a burst of 12, then 1.8 a second, for all
    // instances together.
    let config = format!(
        r#"
[backends.zendesk]
kind = "zendesk"
base_url = "{}"
email = "admin@acme.com"
api_token = "emulator-token"
requests_per_minute = 120

[[agents]]
email = "ann@acme.com"
zendesk_id = "{ann}"

[[groups]]
name = "support"
backend = "zendesk"
tokens = ["{TOKEN}"]
"#,
        emu.base_url
    );
    let servers: Vec<Server> = (0..3)
        .map(|n| {
            let mut opts = Options {
                config: Some(config.clone()),
                token: Some(TOKEN.to_string()),
                ..Options::default()
            };
            opts.env
                .push(("DESKBRIDGE_DATABASE_URL".into(), schema.url()));
            Server::start_in(&dir.path().join(format!("i{n}")), opts)
        })
        .collect();
    // 12 new callers, 3 requests each, spread over the instances.
    let ids: Vec<String> = (0..12).map(|i| format!("b{i}")).collect();
    let started = Instant::now();
    for (i, id) in ids.iter().enumerate() {
        let from = format!("+1415555{:04}", 300 + i);
        let (status, _) = servers[i % 3].post_events(&answered_call(id, &from, "ann@acme.com"));
        assert_eq!(status, 202);
    }
    std::thread::sleep(Duration::from_secs(3).saturating_sub(started.elapsed()));
    let early = emu.stats().total_requests;
    // One shared bucket: at most 12 + 3 s × 1.8 (+1 for timing); three separate
    // budgets would have sent all 36 by now.
    assert!(early <= 19, "{early} requests in the first 3 s");
    wait_all_done(&servers[0], &ids);
    let stats = emu.stats();
    assert_eq!(stats.rate_limited, 0, "{stats:?}");
    let count = |e: &str| stats.endpoints.get(e).copied().unwrap_or(0);
    assert_eq!(count("GET /api/v2/search"), 12);
    assert_eq!(count("POST /api/v2/users/create_or_update"), 12);
    assert_eq!(count("POST /api/v2/tickets"), 12);
    assert_eq!(stats.total_requests, 36, "{stats:?}");
}

/// Zendesk's limit on ticket updates (here `ticket_updates_per_minute = 3`) is
/// kept by the instances together, before Zendesk refuses: six callers with an
/// open ticket each, their calls spread over two instances, make 3 updates in
/// the minute, not 3 per instance; the held-back comments wait unsent while a
/// new caller's call (a create, not an update) goes through.
#[test]
fn instances_keep_zendesks_ticket_update_limit_together() {
    use zendesk_emulator::{Emulator, EmulatorConfig, SeedTicket, SeedUser};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt
        .block_on(
            Emulator::new(EmulatorConfig::new("admin@acme.com", "emulator-token"))
                .start("127.0.0.1:0"),
        )
        .unwrap();
    // Zendesk itself would allow more: only deskbridge's own count holds back.
    emu.set_account_update_limit(None);
    let ann = emu.seed_agent("ann@acme.com", "Ann Example");
    let tickets: Vec<u64> = (0..6)
        .map(|i| {
            let user = emu.seed_user(SeedUser::end_user(
                format!("Customer {i}"),
                format!("+1415555{:04}", 400 + i),
            ));
            emu.seed_ticket(SeedTicket::new(user, "Open case"))
        })
        .collect();
    let comments_on = |t: u64| {
        emu.state()
            .comments
            .iter()
            .filter(|c| c.ticket_id == t)
            .count()
    };
    let seeded: Vec<usize> = tickets.iter().map(|t| comments_on(*t)).collect();
    let schema = Schema::new();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"
[backends.zendesk]
kind = "zendesk"
base_url = "{}"
email = "admin@acme.com"
api_token = "emulator-token"
ticket_updates_per_minute = 3

[[agents]]
email = "ann@acme.com"
zendesk_id = "{ann}"

[[groups]]
name = "support"
backend = "zendesk"
tokens = ["{TOKEN}"]
attach_open_ticket = true
"#,
        emu.base_url
    );
    let servers: Vec<Server> = (0..2)
        .map(|n| {
            let mut opts = Options {
                config: Some(config.clone()),
                token: Some(TOKEN.to_string()),
                ..Options::default()
            };
            opts.env
                .push(("DESKBRIDGE_DATABASE_URL".into(), schema.url()));
            Server::start_in(&dir.path().join(format!("u{n}")), opts)
        })
        .collect();
    let ids: Vec<String> = (0..6).map(|i| format!("u{i}")).collect();
    let started = Instant::now();
    for (i, id) in ids.iter().enumerate() {
        let from = format!("+1415555{:04}", 400 + i);
        let (status, _) = servers[i % 2].post_events(&answered_call(id, &from, "ann@acme.com"));
        assert_eq!(status, 202);
    }
    // A new caller's call needs no update and is not held back.
    let (status, _) = servers[1].post_events(&answered_call("new", "+14155550499", "ann@acme.com"));
    assert_eq!(status, 202);
    wait_all_done(&servers[1], &["new".to_string()]);
    // Until every call that can be written this minute has been.
    let done = |s: &Server| {
        ids.iter()
            .filter(|id| s.get(&format!("/api/v1/calls/{id}")).1["sync"] == "done")
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while done(&servers[0]) < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        started.elapsed() < Duration::from_secs(55),
        "too slow to check within the minute"
    );
    let stats = emu.stats();
    let updates = stats
        .endpoints
        .get("PUT /api/v2/tickets/{id}")
        .copied()
        .unwrap_or(0);
    assert_eq!(updates, 3, "3 updates for both instances: {stats:?}");
    assert_eq!(done(&servers[0]), 3, "3 calls written, 3 held back");
    assert_eq!(stats.rate_limited, 0, "{stats:?}");
    let commented = tickets
        .iter()
        .zip(&seeded)
        .filter(|(t, before)| comments_on(**t) > **before)
        .count();
    assert_eq!(commented, 3, "the held-back comments are not written yet");
}
