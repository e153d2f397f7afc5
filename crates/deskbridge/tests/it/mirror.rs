//! The Zendesk account's local mirror (`mirror = true`): deskbridge started
//! in-process against the Zendesk emulator, which counts requests per endpoint.
//! Loaded, the mirror answers a known caller and an IVR's ticket number with no
//! search and no GET, and a first-time caller becomes one user without a search,
//! however far behind Zendesk's search index is; not loaded, calls take the
//! search path as before.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use deskbridge::app::Running;
use deskbridge::config::{Config, Overrides};
use deskbridge_mirror::{MirrorState, mirror_state};
use serde_json::{Value, json};
use zendesk_emulator::{Emulator, EmulatorConfig, Role, RunningEmulator, SeedTicket, SeedUser};

const TOKEN: &str = "mirror-test-token-0123456789abcdef";

struct App {
    running: Running,
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl App {
    async fn start(zd: &RunningEmulator, mirror: bool) -> App {
        let config = format!(
            r#"
[metrics]
enabled = false

[backends.zendesk]
kind = "zendesk"
base_url = "{base}"
email = "admin@acme.com"
api_token = "emulator-token"
requests_per_minute = 6000
mirror = {mirror}
mirror_poll_seconds = 10

[[groups]]
name = "support"
backend = "zendesk"
tokens = ["{TOKEN}"]
"#,
            base = zd.base_url
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("deskbridge.toml");
        std::fs::write(&path, config).expect("write config");
        let overrides = Overrides {
            listen: Some("127.0.0.1:0".into()),
            data_dir: Some(dir.path().join("data")),
            database_url: None,
        };
        let config = Config::load(Some(&path), overrides).unwrap_or_else(|e| panic!("{e}"));
        let running = deskbridge::app::start(config).await.expect("start");
        App {
            base: format!("http://{}", running.addr),
            running,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    async fn mirror(&self) -> Option<MirrorState> {
        mirror_state(&self.running.state.mirrors, "zendesk").await
    }

    async fn until_current(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self.mirror().await.is_some_and(|s| s.is_current()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "mirror not loaded: {:?}",
                self.mirror().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn call(&self, call_id: &str, from: &str, attributes: Value) -> Value {
        let events = json!([
            {"id": format!("{call_id}-1"), "call_id": call_id, "type": "ringing",
             "direction": "inbound", "from": from, "to": "+14155550199",
             "attributes": attributes},
            {"id": format!("{call_id}-2"), "call_id": call_id, "type": "answered",
             "agent": {"email": "ann@acme.com", "name": "Ann Example"}},
            {"id": format!("{call_id}-3"), "call_id": call_id, "type": "ended", "reason": "completed"},
        ]);
        let resp = self
            .http
            .post(format!("{}/api/v1/events", self.base))
            .bearer_auth(TOKEN)
            .json(&events)
            .send()
            .await
            .expect("POST /api/v1/events");
        assert_eq!(resp.status().as_u16(), 202);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let call: Value = self
                .http
                .get(format!("{}/api/v1/calls/{call_id}", self.base))
                .bearer_auth(TOKEN)
                .send()
                .await
                .expect("GET call")
                .json()
                .await
                .expect("JSON");
            if call["sync"] != "pending" {
                assert_eq!(call["sync"], "done", "{call}");
                return call;
            }
            assert!(Instant::now() < deadline, "still pending: {call}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// An emulator whose search index lags two minutes behind its records, and
/// whose exports leave out nothing (Zendesk's last minute, shortened).
async fn emulator() -> RunningEmulator {
    let mut cfg = EmulatorConfig::new("admin@acme.com", "emulator-token");
    cfg.search_lag = Duration::from_secs(120);
    let zd = Emulator::new(cfg)
        .start("127.0.0.1:0")
        .await
        .expect("emulator");
    zd.set_export_lag(Duration::ZERO);
    zd
}

/// Requests per endpoint since `before`.
fn since(zd: &RunningEmulator, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    zd.stats()
        .endpoints
        .into_iter()
        .filter_map(|(endpoint, n)| {
            let new = n - before.get(&endpoint).copied().unwrap_or(0);
            (new > 0).then_some((endpoint, new))
        })
        .collect()
}

fn of(requests: &BTreeMap<String, u64>, endpoint: &str) -> u64 {
    requests.get(endpoint).copied().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loaded_mirror_answers_callers_and_ivr_tickets_without_search_or_get() {
    let zd = emulator().await;
    let ann = zd.seed_agent("ann@acme.com", "Ann Example");
    let bob = zd.seed_user(SeedUser::end_user("Bob Caller", "+14155550100"));
    let bobs = zd.seed_ticket(SeedTicket::new(bob, "Printer on fire").assignee(ann));
    let app = App::start(&zd, true).await;
    app.until_current().await;
    let exports = zd.stats().endpoints;
    assert_eq!(
        of(&exports, "GET /api/v2/incremental/users/cursor"),
        1,
        "{exports:?}"
    );

    // A known caller with the IVR's ticket number: the call lands on it.
    let before = zd.stats().endpoints;
    let comments = zd.state().comments_of(bobs).len();
    let call = app
        .call(
            "m1",
            "+14155550100",
            json!({"zendesk_ticket": bobs.to_string()}),
        )
        .await;
    assert_eq!(call["contact_id"], bob.to_string(), "{call}");
    assert_eq!(call["ticket_id"], bobs.to_string(), "{call}");
    let state = zd.state();
    assert_eq!(
        state.comments_of(bobs).len(),
        comments + 1,
        "the call's comment on Bob's ticket"
    );
    let requests = since(&zd, &before);
    assert_eq!(of(&requests, "GET /api/v2/search"), 0, "{requests:?}");
    assert_eq!(of(&requests, "GET /api/v2/tickets/{id}"), 0, "{requests:?}");
    assert_eq!(of(&requests, "GET /api/v2/users/{id}"), 0, "{requests:?}");

    // A first-time caller: no search, one user; a second call finds them,
    // although the search index will not for two minutes.
    let before = zd.stats().endpoints;
    let first = app.call("m2", "+14155550111", json!({})).await;
    let second = app.call("m3", "+14155550111", json!({})).await;
    let requests = since(&zd, &before);
    assert_eq!(of(&requests, "GET /api/v2/search"), 0, "{requests:?}");
    let users = zd.state();
    let users = users.users_with_phone("+14155550111");
    assert_eq!(users.len(), 1, "one user for the new number");
    assert_eq!(first["contact_id"], users[0].id.to_string());
    assert_eq!(second["contact_id"], users[0].id.to_string());
    app.running.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_loaded_mirror_callers_are_searched_as_before() {
    let zd = emulator().await;
    zd.seed_agent("ann@acme.com", "Ann Example");
    let bob = zd.seed_user(SeedUser::end_user("Bob Caller", "+14155550100"));
    // The exports are for admins: with an agent's token the mirror never loads.
    zd.set_api_role(Role::Agent);
    let app = App::start(&zd, true).await;
    let call = app.call("n1", "+14155550100", json!({})).await;
    assert_eq!(call["contact_id"], bob.to_string(), "{call}");
    assert_eq!(app.mirror().await, Some(MirrorState::Loading));
    let requests = zd.stats().endpoints;
    assert_eq!(of(&requests, "GET /api/v2/search"), 1, "{requests:?}");
    app.running.stop().await.expect("stop");
}
