//! `GET /api/v1/stats` (issue 30, point 2): a few calls sent as events, and
//! the figures a supervisor checks (offered, answered, the service level by
//! the group's own thresholds) as JSON and as CSV; who may read them.

use chrono::{TimeZone, Utc};
use deskbridge_core::EndReason;
use deskbridge_testkit::{Agent, CallScript};
use serde_json::{Value, json};

use crate::common::TestApp;

const TOKEN: &str = "stats-group-token-0123456789";
const LEAD_TOKEN: &str = "lead-agent-token-0123456789";
const BOB_TOKEN: &str = "bob-agent-token-0123456789";
const DAY: &str = "from=2026-11-22T00:00:00Z&to=2026-11-23T00:00:00Z";

fn app() -> TestApp {
    let config = format!(
        r#"
[[agents]]
email = "lead@acme.com"
token = "{LEAD_TOKEN}"
supervisor = true

[[agents]]
email = "bob@acme.com"
token = "{BOB_TOKEN}"

[[groups]]
name = "support"
tokens = ["{TOKEN}"]
service_level_seconds = 20
short_abandon_seconds = 5
"#
    );
    TestApp::with_config(&config, TOKEN)
}

/// On 2026-11-22 from 10:00 UTC, in queue `queue`.
fn call(call_id: &str, queue: &str) -> CallScript {
    let ten = Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap();
    CallScript::inbound(call_id, "+14155550123")
        .starting_at(ten)
        .queue(queue)
}

fn send(app: &TestApp, script: &CallScript) {
    let (status, body) = app.post_events(&script.events());
    assert_eq!(status, 202, "{body}");
}

/// The day's calls: in sales, one answered in 5 s, one in 30 s (after the
/// 20 s target) and a caller gone after 3 s (a short abandon); in support
/// one who gave up after 40 s; and an outbound call, which is nobody's
/// offer.
fn a_day_of_calls(app: &TestApp) {
    let ann = || Agent::new("ann@acme.com");
    send(
        app,
        &call("in-time", "sales")
            .answered_by(ann())
            .at(5)
            .ends_after(65),
    );
    send(
        app,
        &call("late", "sales")
            .answered_by(ann())
            .at(30)
            .ends_after(90),
    );
    send(
        app,
        &call("wrong-number", "sales")
            .ends(EndReason::Abandoned)
            .at(3),
    );
    send(
        app,
        &call("gave-up", "support").ends(EndReason::Abandoned).at(40),
    );
    let out = CallScript::outbound("out", "+14155550123")
        .starting_at(Utc.with_ymd_and_hms(2026, 11, 22, 10, 5, 0).unwrap())
        .placed_by("ann@acme.com")
        .answered_by(ann())
        .at(10)
        .ends_after(70);
    send(app, &out);
}

fn intervals(body: &Value) -> &Vec<Value> {
    body["intervals"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
}

#[test]
fn the_days_figures_count_each_call_once_by_the_groups_thresholds() {
    let app = app();
    a_day_of_calls(&app);

    let (status, body) = app.get(&format!("/api/v1/stats?{DAY}&interval=day"));
    assert_eq!(status, 200, "{body}");
    let day = intervals(&body);
    assert_eq!(day.len(), 1, "{body}");
    assert_eq!(
        day[0],
        json!({
            "start": "2026-11-22T00:00:00Z",
            "offered": 4,
            "answered": 2,
            "missed": 0,
            "abandoned": 1,
            "answered_within": 1,
            // Answered within 20 s over offers less the short abandon.
            "service_level": 0.3333,
            "average_speed_of_answer_s": 17.5,
            "average_talk_s": 60.0,
            "short_abandoned": 1,
            "transferred": 0,
        })
    );

    // By the hour, every hour of the day is there; one queue's, one agent's.
    let (_, body) = app.get(&format!("/api/v1/stats?{DAY}&queue=sales"));
    let hours = intervals(&body);
    assert_eq!(hours.len(), 24, "{body}");
    assert_eq!(hours[10]["start"], "2026-11-22T10:00:00Z");
    assert_eq!(
        (
            &hours[10]["offered"],
            &hours[10]["answered"],
            &hours[10]["service_level"]
        ),
        (&json!(3), &json!(2), &json!(0.5))
    );
    assert_eq!(hours[9]["offered"], 0);
    assert_eq!(hours[9]["service_level"], Value::Null, "nothing to judge");
    let (_, body) = app.get(&format!(
        "/api/v1/stats?{DAY}&interval=day&agent=Ann@Acme.com"
    ));
    assert_eq!(intervals(&body)[0]["answered"], 2, "{body}");
    assert_eq!(intervals(&body)[0]["offered"], 2, "{body}");
}

#[test]
fn the_same_figures_come_as_csv_when_asked_for() {
    let app = app();
    a_day_of_calls(&app);
    let resp = app
        .client()
        .get(app.url(&format!("/api/v1/stats?{DAY}&interval=day")))
        .bearer_auth(TOKEN)
        .header("accept", "text/csv")
        .send()
        .expect("request");
    assert_eq!(resp.status(), 200);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let text = resp.text().unwrap();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines,
        [
            "start,offered,answered,missed,abandoned,answered_within,service_level,\
             average_speed_of_answer_s,average_talk_s,short_abandoned,transferred",
            "2026-11-22T00:00:00Z,4,2,0,1,1,0.3333,17.5,60,1,0",
            "",
        ]
    );
}

#[test]
fn supervisors_and_group_tokens_read_the_figures_and_other_agents_do_not() {
    let app = app();
    a_day_of_calls(&app);
    let path = format!("/api/v1/stats?{DAY}&interval=day");
    let lead = app.sign_in(&json!({"token": LEAD_TOKEN}));
    let (status, body) = lead.get(&path);
    assert_eq!(status, 200, "{body}");
    assert_eq!(intervals(&body)[0]["offered"], 4, "{body}");
    let bob = app.sign_in(&json!({"token": BOB_TOKEN}));
    let (status, body) = bob.get(&path);
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "not_supervisor", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("supervisor = true"),
        "{body}"
    );

    // Bad input is refused, saying what to change.
    for (query, field, code) in [
        ("interval=week", "interval", "unknown_interval"),
        ("from=yesterday", "from", "invalid"),
        (
            "from=2026-11-23T00:00:00Z&to=2026-11-22T00:00:00Z",
            "to",
            "empty_period",
        ),
        ("group=sales-team", "group", "invalid"),
    ] {
        let (status, body) = app.get(&format!("/api/v1/stats?{query}"));
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(
            (&body["field"], &body["error"]),
            (&json!(field), &json!(code)),
            "{query}"
        );
    }
}
