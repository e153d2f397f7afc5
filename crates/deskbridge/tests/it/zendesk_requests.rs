//! What calls cost in Zendesk requests when Zendesk fails and when calls run at
//! once: deskbridge started in-process against the Zendesk emulator, which counts
//! requests per endpoint.

use deskbridge_core::EndReason;
use deskbridge_testkit::{Agent, CallScript};
use std::time::{Duration, Instant};

use deskbridge::app::Running;
use deskbridge::config::{Config, Overrides};
use serde_json::Value;
use zendesk_emulator::{Emulator, EmulatorConfig, RunningEmulator};

const TOKEN: &str = "zendesk-requests-token-0123456789";

struct App {
    running: Running,
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl App {
    /// deskbridge with `config` (the group `support`, sending with [`TOKEN`]).
    async fn start(config: &str) -> App {
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

    async fn post_events(&self, events: &Value) {
        let resp = self
            .http
            .post(format!("{}/api/v1/events", self.base))
            .bearer_auth(TOKEN)
            .json(events)
            .send()
            .await
            .expect("POST /api/v1/events");
        assert_eq!(resp.status().as_u16(), 202);
    }

    /// The call once its helpdesk work is finished, for good or not.
    async fn settled(&self, call_id: &str) -> Value {
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
                return call;
            }
            assert!(Instant::now() < deadline, "still pending: {call}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn emulator(configure: impl FnOnce(&mut EmulatorConfig)) -> RunningEmulator {
    let mut cfg = EmulatorConfig::new("admin@acme.com", "emulator-token");
    configure(&mut cfg);
    Emulator::new(cfg)
        .start("127.0.0.1:0")
        .await
        .expect("emulator")
}

/// A config for one Zendesk group; `extra` is appended (agents, jobs).
fn config(zd: &RunningEmulator, extra: &str) -> String {
    format!(
        r#"
[metrics]
enabled = false

[backends.zendesk]
kind = "zendesk"
base_url = "{base}"
email = "admin@acme.com"
api_token = "emulator-token"
requests_per_minute = 6000

[[groups]]
name = "support"
backend = "zendesk"
tokens = ["{TOKEN}"]
{extra}
"#,
        base = zd.base_url
    )
}

/// An answered call from `from` (no times: stamped on arrival), answered by Ann.
fn answered_call(call_id: &str, from: &str) -> Value {
    CallScript::inbound(call_id, from)
        .answered_by(Agent::ann())
        .ends(EndReason::Completed)
        .events()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_zendesk_gets_one_request_per_step_attempt() {
    // Every API request fails with 500.
    let zd = emulator(|cfg| cfg.fail_rate = 1.0).await;
    let app = App::start(&config(
        &zd,
        "[jobs]\nmax_attempts = 3\nretry_base_ms = 20\nworkers = 1\n",
    ))
    .await;
    app.post_events(&answered_call("r1", "+14155550100")).await;
    let call = app.settled("r1").await;

    assert_eq!(call["sync"], "failed", "{call}");
    let error = call["sync_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("gave up after 3 attempts") && error.contains("500"),
        "{call}"
    );
    assert_eq!(call["steps"][0]["step"], "identify_caller", "{call}");
    assert_eq!(call["steps"][0]["attempts"], 3, "{call}");
    // One request per attempt: the step's retry is the only one.
    let stats = zd.stats();
    assert_eq!(stats.injected_failures, 3, "{stats:?}");
    assert_eq!(stats.total_requests, 3, "{stats:?}");
    app.running.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_answered_at_once_by_a_new_agent_look_the_agent_up_once() {
    // Each request takes a while, so the calls reach their tickets together.
    let zd = emulator(|cfg| cfg.latency = Duration::from_millis(100)).await;
    let ann = zd.seed_agent("ann@acme.com", "Ann Example");
    // Ann is in the directory without her Zendesk id: looked up by email.
    let app = App::start(&config(
        &zd,
        "[jobs]\nworkers = 6\n\n[[agents]]\nemail = \"ann@acme.com\"\nname = \"Ann Example\"\n",
    ))
    .await;
    let calls = 6;
    for i in 0..calls {
        app.post_events(&answered_call(&format!("a{i}"), &format!("+1415555020{i}")))
            .await;
    }
    for i in 0..calls {
        let call = app.settled(&format!("a{i}")).await;
        assert_eq!(call["sync"], "done", "{call}");
        let ticket_id: u64 = call["ticket_id"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("no ticket: {call}"));
        let state = zd.state();
        let ticket = state.tickets.iter().find(|t| t.id == ticket_id).unwrap();
        assert_eq!(ticket.assignee_id, Some(ann), "{call}");
    }
    assert_eq!(
        zd.stats().endpoints.get("GET /api/v2/users/search"),
        Some(&1),
        "one agent lookup for {calls} calls"
    );
    app.running.stop().await.expect("stop");
}
