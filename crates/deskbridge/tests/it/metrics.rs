//! Issue 16, point 1: `/metrics` after a few calls. deskbridge runs in this
//! process against the Zendesk emulator, with a screen pop on answer and a
//! trigger to a local receiver; the test reads `/metrics` as Prometheus would
//! and checks each listed series, with the numbers the calls it made give.
//!
//! The recorder is one per process (every in-process test app shares it), so
//! the series of this test carry its own group, `metered`, where they have a
//! group; a series without one (Zendesk's requests, 429s) is checked to have
//! counted at least what this test caused.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;

use crate::common::*;
use crate::zendesk::{Zd, backend_and_ann};

const TOKEN: &str = "metered-token-0123456789";
const GROUP: &str = "metered";
/// A receiver's key carried in its URL: it must never reach a label.
const URL_KEY: &str = "url-key-4b1d7e";

/// A trigger receiver on 127.0.0.1 that answers 204 to everything.
struct Receiver {
    base: String,
    _rt: tokio::runtime::Runtime,
}

impl Receiver {
    fn start() -> Receiver {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::<()>::new().fallback(|| async { StatusCode::NO_CONTENT });
        rt.spawn(async move { axum::serve(listener, app).await });
        Receiver { base, _rt: rt }
    }
}

/// The value of the one sample of `name` whose labels include every pair of
/// `labels` (the exposition format's `name{k="v",...} value`).
pub(crate) fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (n, rest) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            (n == name).then_some((rest.to_string(), value.parse::<f64>().ok()?))
        })
        .find(|(rest, _)| {
            labels
                .iter()
                .all(|(k, v)| rest.split(',').any(|pair| pair == format!("{k}=\"{v}\"")))
        })
        .map(|(_, v)| v)
}

fn metrics_text(app: &TestApp) -> String {
    app.scrape()
}

fn missed_call(call_id: &str, from: &str) -> serde_json::Value {
    json!([
        {"id": format!("{call_id}-1"), "call_id": call_id, "type": "ringing",
         "direction": "inbound", "from": from, "to": "+14155550199", "at": "2026-11-22T10:00:00Z"},
        {"id": format!("{call_id}-2"), "call_id": call_id, "type": "ended",
         "reason": "no_answer", "at": "2026-11-22T10:00:30Z"},
    ])
}

#[test]
fn metrics_show_the_listed_series_after_a_few_calls() {
    let receiver = Receiver::start();
    let hook = format!("{}/hook?key={URL_KEY}", receiver.base);
    // A limit of the emulator's makes it send Zendesk's rate-limit headers
    // (the budget left); it is never reached.
    let zd = Zd::start(|cfg| cfg.requests_per_minute = Some(5000));
    let ann = zd.emu.seed_agent("ann@acme.com", "Ann Example");
    let config = format!(
        r#"{backend}
[[groups]]
name = "{GROUP}"
backend = "zendesk"
tokens = ["{TOKEN}"]
reuse_recent_minutes = 30
pop_on = "answered"

[[groups.triggers]]
entity = "ticket"
action = "create"
url = "{hook}"
format = "query"

[triggers]
allow_private_networks = true
"#,
        backend = backend_and_ann(&zd, ann)
    );
    let app = TestApp::with_config(&format!("{}\n{config}", metrics_section()), TOKEN);
    // Issue 25: without the token, the main port's /metrics answers nobody
    // (it names hosts).
    let anonymous = app.client().get(app.url("/metrics")).send().unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);

    // Two answered calls from one caller, each popped while it goes on: a
    // ticket, then a comment on it.
    for id in ["m1", "m2"] {
        let events = answered_call(id, "+14155550150", "ann@acme.com");
        let (status, body) = app.post_events(&json!([events[0], events[1]]));
        assert_eq!(status, 202, "{body}");
        app.wait_call(id, |c| c["pops"].as_array().is_some_and(|p| !p.is_empty()));
        assert_eq!(app.post_events(&json!([events[2]])).0, 202);
        assert_eq!(app.wait_synced(id)["sync"], "done");
    }
    // The ticket may take one update per window: the fourth call's comment
    // meets Zendesk's 429 (an endpoint's limit) and waits it out.
    zd.emu
        .set_ticket_update_limit(Some((1, Duration::from_secs(2))));
    // One after the other: sent together, their comments could go as one
    // update (a busy ticket's comments are batched) and meet no limit.
    for id in ["m3", "m4"] {
        let (status, _) = app.post_events(&answered_call(id, "+14155550150", "ann@acme.com"));
        assert_eq!(status, 202);
        let call = app.wait_call_for(&app.token, id, Duration::from_secs(60), |c| {
            c["sync"] != "pending"
        });
        assert_eq!(call["sync"], "done", "{call}");
    }
    // A missed call, and a request refused for its content.
    let (status, _) = app.post_events(&missed_call("m5", "+14155550151"));
    assert_eq!(status, 202);
    app.wait_synced("m5");
    let (status, _) = app.post_events(&json!({"id": "bad", "type": "ringing"}));
    assert_eq!(status, 422);
    // The trigger's notifications of the two new tickets (the first caller's,
    // and the missed call's) are delivered.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let text = loop {
        let text = metrics_text(&app);
        if sample(
            &text,
            "deskbridge_trigger_attempts_total",
            &[("outcome", "delivered")],
        ) == Some(2.0)
        {
            break text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no delivery in\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let get = |name: &str, labels: &[(&str, &str)]| {
        sample(&text, name, labels).unwrap_or_else(|| panic!("no {name} {labels:?} in\n{text}"))
    };

    // Events by source and group: 4 answered calls of 3 events, a missed call of 2.
    let native = [("source", "native"), ("group", GROUP)];
    assert_eq!(get("deskbridge_events_total", &native), 14.0);
    let refused = [
        ("source", "native"),
        ("group", GROUP),
        ("reason", "invalid"),
    ];
    assert_eq!(get("deskbridge_events_rejected_total", &refused), 1.0);
    // Calls by outcome: each call once.
    let answered = [("group", GROUP), ("outcome", "answered")];
    assert_eq!(get("deskbridge_calls_total", &answered), 4.0);
    let missed = [("group", GROUP), ("outcome", "missed")];
    assert_eq!(get("deskbridge_calls_total", &missed), 1.0);
    // Steps by kind and result: the caller identified once per call, by the
    // pop for the two popped calls, by `identify_caller` for the three others.
    let identified = [
        ("group", GROUP),
        ("step", "identify_caller"),
        ("result", "done"),
    ];
    assert_eq!(get("deskbridge_steps_total", &identified), 3.0);
    let comment_retried = [("group", GROUP), ("step", "log_call"), ("result", "retry")];
    assert!(get("deskbridge_steps_total", &comment_retried) >= 1.0);
    // The queue: nothing left behind once the calls are done.
    assert_eq!(get("deskbridge_queue_steps", &[("lane", "live")]), 0.0);
    assert_eq!(
        get("deskbridge_queue_oldest_seconds", &[("lane", "live")]),
        0.0
    );
    // Zendesk: requests by endpoint and status, the 429, the budget left.
    let searches = [
        ("upstream", "zendesk"),
        ("endpoint", "GET /api/v2/search.json"),
        ("status", "200"),
    ];
    assert!(get("deskbridge_upstream_requests_total", &searches) >= 2.0);
    let limited = [
        ("endpoint", "PUT /api/v2/tickets/{id}.json"),
        ("status", "429"),
    ];
    assert!(get("deskbridge_upstream_requests_total", &limited) >= 1.0);
    assert!(get("deskbridge_zendesk_rate_limited_total", &[]) >= 1.0);
    let left = get("deskbridge_zendesk_requests_left", &[]);
    assert!(left > 0.0 && left < 5000.0, "{left}");
    // Pops: one per call answered while it went on, timed.
    let pops = get("deskbridge_pop_latency_seconds_count", &[("group", GROUP)]);
    assert_eq!(pops, 2.0);
    let popped = [("group", GROUP), ("step", "pop"), ("result", "done")];
    assert_eq!(get("deskbridge_steps_total", &popped), 2.0);
    // The trigger: counted under its URL without the key.
    let shown = format!("{}/hook?key=…", receiver.base);
    let delivered = [("endpoint", shown.as_str()), ("outcome", "delivered")];
    assert_eq!(get("deskbridge_trigger_attempts_total", &delivered), 2.0);
    // Liveness.
    assert!(get("deskbridge_instances_alive", &[]) >= 1.0);
    assert_eq!(get("deskbridge_up", &[]), 1.0);
    assert!(!text.contains(URL_KEY), "the receiver's key is in /metrics");
    // No phone number in any label.
    assert!(
        !text.contains("4155550150"),
        "a caller's number is in /metrics"
    );

    // The deliveries API shows the URL without its key, too.
    let (status, body) = app.get("/api/v1/triggers/deliveries");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["deliveries"][0]["endpoint"], shown.as_str(), "{body}");
    assert!(!body.to_string().contains(URL_KEY), "{body}");
}

#[test]
fn metrics_can_require_a_token_and_move_to_a_listener_of_their_own() {
    let app = Builder::default()
        .configure(|c| {
            c.metrics.token = Some("scrape-token-77".into());
            c.metrics.listen = Some("127.0.0.1:0".into());
        })
        .start();
    // Not on the main port any more.
    let main = app.client().get(app.url("/metrics")).send().unwrap();
    assert_eq!(main.status().as_u16(), 404);
    let at = app.metrics_addr().expect("the metrics listener's address");
    let url = format!("http://{at}/metrics");
    let client = reqwest::blocking::Client::new();
    assert_eq!(client.get(&url).send().unwrap().status().as_u16(), 401);
    let wrong = client
        .get(&url)
        .bearer_auth("scrape-token-78")
        .send()
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    let ok = client
        .get(&url)
        .bearer_auth("scrape-token-77")
        .send()
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    let text = ok.text().unwrap();
    assert_eq!(sample(&text, "deskbridge_up", &[]), Some(1.0), "{text}");
    // The listener serves nothing else.
    let other = client
        .get(format!("http://{at}/api/v1/calls"))
        .send()
        .unwrap();
    assert_eq!(other.status().as_u16(), 404);
}
