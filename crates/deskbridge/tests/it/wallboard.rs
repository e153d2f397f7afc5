//! The supervisors' wallboard (issue 30, point 1): the floor as a
//! supervisor reads it while calls come and go, and the wallboard token,
//! which a TV screen carries and which reads the wallboard and nothing else.

use deskbridge_testkit::{Agent, CallScript};
use serde_json::{Value, json};

use crate::common::{TestApp, metrics_section};

const TOKEN: &str = "wallboard-group-token-0123456789";
const WALLBOARD: &str = "wallboard-tv-token-0123456789";
const LEAD_TOKEN: &str = "lead-agent-token-0123456789";
const BOB_TOKEN: &str = "bob-agent-token-0123456789";

fn app() -> TestApp {
    let config = format!(
        r#"
[[agents]]
email = "lead@acme.com"
token = "{LEAD_TOKEN}"
supervisor = true

[[agents]]
email = "bob@acme.com"
name = "Bob Example"
extension = "102"
token = "{BOB_TOKEN}"

[[groups]]
name = "support"
tokens = ["{TOKEN}"]
wallboard_token = "{WALLBOARD}"
service_level_seconds = 20
"#
    );
    TestApp::with_config(&format!("{}\n{config}", metrics_section()), TOKEN)
}

fn send(app: &TestApp, events: &Value) {
    let (status, body) = app.post_events(events);
    assert_eq!(status, 202, "{body}");
}

/// The wallboard as the TV reads it, once a new snapshot is made (one a
/// second) and `ready` says it shows what was sent.
fn board_when(app: &TestApp, ready: impl Fn(&Value) -> bool) -> Value {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (status, body) = app.as_token(WALLBOARD).get("/api/v1/wallboard");
        assert_eq!(status, 200, "{body}");
        if ready(&body) {
            return body;
        }
        assert!(std::time::Instant::now() < until, "never shown: {body}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn queue<'a>(board: &'a Value, name: &str) -> &'a Value {
    board["queues"]
        .as_array()
        .and_then(|q| q.iter().find(|q| q["queue"] == name))
        .unwrap_or_else(|| panic!("no queue {name}: {board}"))
}

fn agent<'a>(board: &'a Value, email: &str) -> &'a Value {
    board["agents"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["email"] == email))
        .unwrap_or_else(|| panic!("no agent {email}: {board}"))
}

#[test]
fn the_wallboard_shows_callers_waiting_and_an_agent_taking_a_call() {
    let app = app();
    let bob = || Agent::new("bob@acme.com");
    let call = CallScript::inbound("w1", "+14155550123")
        .started_ago(30)
        .queue("sales")
        .answered_by(bob())
        .at(25)
        .ends_after(28);
    send(&app, &json!([call.event(0)]));
    let board = board_when(&app, |b| {
        b["queues"].as_array().is_some_and(|q| !q.is_empty())
    });
    let sales = queue(&board, "sales");
    assert_eq!(sales["waiting"], 1, "{board}");
    assert!(sales["longest_waiting_since"].is_string(), "{board}");
    assert_eq!(agent(&board, "bob@acme.com")["state"], "available");

    send(&app, &json!([call.event(1)]));
    let board = board_when(&app, |b| agent(b, "bob@acme.com")["state"] == "on_call");
    assert_eq!(queue(&board, "sales")["waiting"], 0, "{board}");
    assert_eq!(agent(&board, "bob@acme.com")["name"], "Bob Example");

    send(&app, &json!([call.event(2)]));
    let board = board_when(&app, |b| agent(b, "bob@acme.com")["state"] == "available");
    let sales = queue(&board, "sales");
    assert_eq!(
        (&sales["today"]["offered"], &sales["today"]["answered"]),
        (&json!(1), &json!(1)),
        "{board}"
    );
    // Answered after 25 s: outside the group's 20 s.
    assert_eq!(board["today"]["service_level"], 0.0, "{board}");
    assert_eq!(agent(&board, "bob@acme.com")["calls_today"], 1, "{board}");
    assert_eq!(board["service_level_seconds"], 20);
}

#[test]
fn the_wallboard_token_reads_the_wallboard_and_nothing_else() {
    let app = app();
    let tv = app.as_token(WALLBOARD);
    let (status, body) = tv.get("/api/v1/wallboard");
    assert_eq!((status, &body["group"]), (200, &json!("support")), "{body}");
    let (status, _) =
        app.send_anonymous("GET", &format!("/api/v1/wallboard?token={WALLBOARD}"), None);
    assert_eq!(
        status, 200,
        "the token in the query, as a TV's page sends it"
    );
    let call = CallScript::inbound("w2", "+14155550123").started_ago(5);
    for (method, path, body) in [
        ("POST", "/api/v1/events", Some(call.events())),
        ("GET", "/api/v1/calls", None),
        ("GET", "/api/v1/calls/stream", None),
        ("GET", "/api/v1/stats", None),
        ("GET", "/api/v1/lookup?phone=%2B14155550123", None),
        ("GET", "/api/v1/callbacks", None),
    ] {
        let (status, answer) = tv.send(method, path, body.as_ref());
        assert!(
            status == 401 || status == 403,
            "{method} {path} answered {status} to the wallboard token: {answer}"
        );
    }
    let (status, body) =
        app.send_anonymous("GET", "/api/v1/wallboard?token=not-a-wallboard-token", None);
    assert_eq!(status, 401, "{body}");
    let (status, body) = tv.get("/api/v1/wallboard?group=other");
    assert_eq!(status, 422, "{body}");
}

#[test]
fn supervisors_and_group_tokens_read_the_wallboard_and_other_agents_do_not() {
    let app = app();
    let lead = app.sign_in(&json!({"token": LEAD_TOKEN}));
    let (status, body) = lead.get("/api/v1/wallboard");
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.get("/api/v1/wallboard?group=support");
    assert_eq!(status, 200, "{body}");
    let bob = app.sign_in(&json!({"token": BOB_TOKEN}));
    let (status, body) = bob.get("/api/v1/wallboard");
    assert_eq!(
        (status, &body["error"]),
        (403, &json!("not_supervisor")),
        "{body}"
    );
    let (status, _) = app.send_anonymous("GET", "/api/v1/wallboard", None);
    assert_eq!(status, 401);
    let (status, _) = app.send_anonymous("GET", "/wallboard", None);
    assert_eq!(status, 200, "the page itself holds no data");
}

/// Snapshots the server made, as `/metrics` counts them.
fn snapshots_made(app: &TestApp) -> u64 {
    app.scrape()
        .lines()
        .find_map(|l| l.strip_prefix("deskbridge_wallboard_snapshots_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn screens_asking_at_once_share_one_snapshot() {
    let app = app();
    let bob = Agent::new("bob@acme.com");
    let call = CallScript::inbound("w3", "+14155550123")
        .started_ago(10)
        .queue("sales")
        .answered_by(bob);
    send(&app, &call.events());
    let started = std::time::Instant::now();
    let before = snapshots_made(&app);
    // Twenty screens hear the change and ask at once.
    std::thread::scope(|s| {
        for _ in 0..20 {
            s.spawn(|| {
                let (status, body) = app.as_token(WALLBOARD).get("/api/v1/wallboard");
                assert_eq!(status, 200, "{body}");
            });
        }
    });
    let made = snapshots_made(&app) - before;
    let seconds = started.elapsed().as_secs();
    assert!(
        made >= 1 && made <= seconds + 1,
        "{made} snapshots made for 20 screens in {seconds} s"
    );
}
