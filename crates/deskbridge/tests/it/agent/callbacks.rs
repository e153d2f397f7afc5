//! The missed-call callback loop (issue 27, point 2) on the embedded default:
//! missed calls from one number make one callback, agents claim it one at a
//! time, and it closes by itself when the customer is reached (the line on the
//! ticket says so), or as unreached after the attempts.

use deskbridge_core::EndReason;
use deskbridge_testkit::{Agent, CallScript};
use serde_json::{Value, json};

use super::{ann, app, bob, s};
use crate::common::{TestApp, metrics_section};

const CUSTOMER: &str = "+14155550123";

fn missed(app: &TestApp, call_id: &str, started_ago: i64) {
    let script = CallScript::inbound(call_id, CUSTOMER)
        .started_ago(started_ago)
        .queue("support")
        .ends(EndReason::NoAnswer)
        .at(20);
    let (status, body) = app.post_events(&script.events());
    assert_eq!(status, 202, "{body}");
    app.wait_synced(call_id);
}

/// The group's open callbacks, as the page lists them.
fn open_callbacks(app: &TestApp) -> Vec<Value> {
    let (status, body) = app.get("/api/v1/callbacks");
    assert_eq!(status, 200, "{body}");
    body["callbacks"].as_array().expect("callbacks").clone()
}

fn closed_callbacks(app: &TestApp) -> Vec<Value> {
    let (status, body) = app.get("/api/v1/callbacks?closed=true");
    assert_eq!(status, 200, "{body}");
    body["callbacks"].as_array().expect("callbacks").clone()
}

#[test]
fn three_missed_calls_from_one_number_make_one_callback_with_count_3() {
    let app = app("callback_within_minutes = 30");
    missed(&app, "m1", 600);
    missed(&app, "m2", 300);
    missed(&app, "m3", 60);
    let open = open_callbacks(&app);
    assert_eq!(open.len(), 1, "{open:?}");
    let cb = &open[0];
    assert_eq!(cb["phone"], CUSTOMER);
    assert_eq!(cb["missed"], 3);
    assert_eq!(cb["queue"], "support");
    assert_eq!(cb["attempts"], 0);
    assert_eq!(cb["attempts_allowed"], 3);
    assert!(cb["age_seconds"].as_i64().unwrap() >= 600, "{cb}");
    assert_eq!(cb["overdue"], false, "10 minutes into a 30-minute target");
    // The callback's ticket is the one the last missed call went to.
    let last = app.wait_synced("m3");
    assert_eq!(cb["ticket_id"].as_str(), last.ticket_id());
    // Each missed call's comment says what it did to the callback.
    let comments = app.comments(last.ticket());
    assert!(
        comments
            .iter()
            .any(|c| s(&c["body"]).contains("Callback pending: 3 missed calls")),
        "{comments:?}"
    );
}

#[test]
fn two_agents_claiming_at_once_one_wins_and_the_other_sees_who() {
    let app = app("");
    missed(&app, "m1", 60);
    let id = open_callbacks(&app)[0]["id"].as_i64().unwrap();
    let (ann, bob) = (ann(&app), bob(&app));
    let path = format!("/api/v1/callbacks/{id}/claim");
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| ann.send("POST", &path, None));
        let b = scope.spawn(|| bob.send("POST", &path, None));
        (a.join().unwrap(), b.join().unwrap())
    });
    let statuses = [a.0, b.0];
    assert!(
        statuses.contains(&200) && statuses.contains(&409),
        "{a:?} {b:?}"
    );
    let (winner, loser) = if a.0 == 200 { (a, b) } else { (b, a) };
    assert_eq!(loser.1["error"], "callback_held");
    let name = s(&winner.1["claim"]["name"]).to_string();
    assert!(
        s(&loser.1["message"]).contains(&name),
        "the loser is told who has it: {}",
        loser.1
    );
    // Both see the claim in the list.
    assert_eq!(open_callbacks(&app)[0]["claim"]["name"], name.as_str());
    // A group token lists but does not claim.
    let (status, body) = app.send("POST", &path, None);
    assert_eq!((status, s(&body["error"])), (403, "agent_only"));
}

#[test]
fn an_answered_call_out_closes_it_with_a_line_on_the_ticket() {
    let app = app("");
    missed(&app, "m1", 600);
    missed(&app, "m2", 300);
    let out = CallScript::outbound("back1", CUSTOMER)
        .started_ago(30)
        .placed_by(Agent::new("ann@acme.com").named("Ann"))
        .answered_by(Agent::new("ann@acme.com").named("Ann"))
        .at(5)
        .ends_after(25);
    let (status, body) = app.post_events(&out.events());
    assert_eq!(status, 202, "{body}");
    let call = app.wait_synced("back1");
    assert!(open_callbacks(&app).is_empty());
    let closed = closed_callbacks(&app);
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0]["closed"]["reason"]["kind"], "reached");
    assert_eq!(closed[0]["closed"]["reason"]["direction"], "outbound");
    assert_eq!(closed[0]["closed"]["call_id"], "back1");
    let comments = app.comments(call.ticket());
    let line = comments
        .iter()
        .map(|c| s(&c["body"]))
        .find(|b| b.contains("Called back by"))
        .unwrap_or_else(|| panic!("no callback line in {comments:?}"));
    assert!(
        line.contains("Called back by Ann <ann@acme.com> at ")
            && line.contains("reached after 2 missed calls"),
        "{line}"
    );
}

#[test]
fn the_customer_calling_in_again_and_answered_closes_it_too() {
    let app = app("");
    missed(&app, "m1", 600);
    let again = CallScript::inbound("in2", CUSTOMER)
        .started_ago(60)
        .answered_by(Agent::new("bob@acme.com").named("Bob"))
        .at(5)
        .ends_after(50);
    let (status, body) = app.post_events(&again.events());
    assert_eq!(status, 202, "{body}");
    let call = app.wait_synced("in2");
    assert!(open_callbacks(&app).is_empty());
    let closed = closed_callbacks(&app);
    assert_eq!(closed[0]["closed"]["reason"]["direction"], "inbound");
    assert!(
        app.comments(call.ticket())
            .iter()
            .any(|c| s(&c["body"]).contains("the customer called again and Bob")),
    );
}

#[test]
fn unanswered_calls_out_close_it_as_unreached_after_the_attempts() {
    let app = app("callback_attempts = 2");
    missed(&app, "m1", 900);
    for (n, ago) in [(1, 600), (2, 300)] {
        let id = format!("try{n}");
        let out = CallScript::outbound(&id, CUSTOMER)
            .started_ago(ago)
            .placed_by("ann@acme.com")
            .ends(EndReason::NoAnswer)
            .at(30);
        let (status, body) = app.post_events(&out.events());
        assert_eq!(status, 202, "{body}");
        app.wait_synced(&id);
        if n == 1 {
            let open = open_callbacks(&app);
            assert_eq!(
                (open[0]["attempts"].as_u64(), open.len()),
                (Some(1), 1),
                "{open:?}"
            );
        }
    }
    assert!(open_callbacks(&app).is_empty());
    let closed = closed_callbacks(&app);
    assert_eq!(
        closed[0]["closed"]["reason"],
        json!({"kind": "unreached", "attempts": 2})
    );
    // The next missed call opens a new callback.
    missed(&app, "m2", 10);
    assert_eq!(open_callbacks(&app)[0]["missed"], 1);
}

#[test]
fn an_agent_closes_one_with_a_reason_and_metrics_count_them() {
    let app = TestApp::with_config(
        &format!("{}{}", metrics_section(), super::config("")),
        super::TOKEN,
    );
    missed(&app, "m1", 120);
    let id = open_callbacks(&app)[0]["id"].as_i64().unwrap();
    let ann = ann(&app);
    let path = format!("/api/v1/callbacks/{id}/close");
    let (status, body) = ann.send("POST", &path, Some(&json!({"reason": " "})));
    assert_eq!((status, s(&body["field"])), (422, "reason"), "{body}");
    let metrics = app.scrape();
    assert!(
        metrics.contains("deskbridge_callbacks_open{group=\"support\"} 1"),
        "{metrics}"
    );
    let (status, body) = ann.send("POST", &path, Some(&json!({"reason": "wrote in by email"})));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["closed"]["reason"]["kind"], "by_agent");
    assert!(open_callbacks(&app).is_empty());
    let (status, body) = ann.send("POST", &format!("/api/v1/callbacks/{id}/claim"), None);
    assert_eq!((status, s(&body["error"])), (409, "callback_closed"));
    let metrics = app.scrape();
    assert!(
        metrics.contains("deskbridge_callbacks_open{group=\"support\"} 0")
            && metrics
                .contains("deskbridge_callbacks_closed{group=\"support\",how=\"by_agent\"} 1"),
        "{metrics}"
    );
}
