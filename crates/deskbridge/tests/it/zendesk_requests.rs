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
{backend}
[[groups]]
name = "support"
backend = "zendesk"
tokens = ["{TOKEN}"]
{extra}
"#,
        backend = crate::zendesk::backend(&zd.base_url)
    )
}

/// The assignee of the call's ticket in Zendesk.
fn assignee_of(zd: &RunningEmulator, call: &Value) -> Option<u64> {
    let ticket_id: u64 = call["ticket_id"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no ticket: {call}"));
    let state = zd.state();
    let ticket = state.tickets.iter().find(|t| t.id == ticket_id);
    ticket.and_then(|t| t.assignee_id)
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
        assert_eq!(assignee_of(&zd, &call), Some(ann), "{call}");
    }
    assert_eq!(
        zd.stats().endpoints.get("GET /api/v2/users/search"),
        Some(&1),
        "one agent lookup for {calls} calls"
    );
    app.running.stop().await.expect("stop");
}

/// A PBX asking who is calling, for number after number, as fast as it can,
/// while a call comes in, on an account of 60 requests a minute (a bucket of
/// 6): the lookups wait for the routing lane's share (a quarter of the plan);
/// the call's search, contact and ticket go out at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_flood_waits_for_its_share_and_the_call_is_written_at_once() {
    let zd = emulator(|_| {}).await;
    let ann = zd.seed_agent("ann@acme.com", "Ann Example");
    let config = config(
        &zd,
        &format!("\n[[agents]]\nemail = \"ann@acme.com\"\nzendesk_id = \"{ann}\"\n"),
    )
    .replace("requests_per_minute = 6000", "requests_per_minute = 60");
    let app = App::start(&config).await;
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let flood: Vec<_> = (0..12)
        .map(|i| {
            let (http, base, answered) = (app.http.clone(), app.base.clone(), answered.clone());
            tokio::spawn(async move {
                let resp = http
                    .get(format!("{base}/api/v1/lookup?phone=%2B141555503{i:02}"))
                    .bearer_auth(TOKEN)
                    .send()
                    .await;
                if resp.is_ok_and(|r| r.status() == 200) {
                    answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let asked = Instant::now();
    app.post_events(&answered_call("l1", "+14155550100")).await;
    let call = app.settled("l1").await;
    let took = asked.elapsed();
    assert_eq!(call["sync"], "done", "{call}");
    assert_eq!(assignee_of(&zd, &call), Some(ann), "{call}");
    assert!(
        took < Duration::from_secs(3),
        "the call waited {took:?} behind the lookups"
    );
    // The lookups went at their share's pace: the first at once, the next
    // after about 4.4 s (a quarter of 54 a minute).
    let lookups = answered.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        (1..=2).contains(&lookups),
        "{lookups} lookups answered in the first {took:?}"
    );
    for lookup in flood {
        lookup.abort();
    }
    app.running.stop().await.expect("stop");
}
