//! Wrap-up (issue 27, point 3) on the embedded default: the agent who
//! answered gives a code and a note; the call's one comment waits for it and
//! carries it, with the code's tag and field on the ticket; a wrap-up given
//! after the comment went is added on its own; refusals say what to change.

use serde_json::{Value, json};

use super::{ann, answered_now, app, bob, end_now, s};
use crate::common::TestApp;

const CALLER: &str = "+14155550177";

fn wrap_up_keys(seconds: u64, required: bool) -> String {
    format!(
        r#"
[groups.wrap_up]
codes = ["sale", {{ code = "complaint", label = "Complaint" }}]
seconds = {seconds}
required = {required}
custom_field = "wrap_code"
"#
    )
}

/// Ann answers a call and it ends.
fn answered_and_ended(app: &TestApp, call_id: &str) {
    let (status, body) = app.post_events(&answered_now(call_id, CALLER, "ann@acme.com", json!({})));
    assert_eq!(status, 202, "{body}");
    end_now(app, call_id);
}

fn tags(ticket: &Value) -> Vec<&str> {
    ticket["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(s)
        .collect()
}

#[test]
fn a_wrap_up_in_time_goes_onto_the_ticket_with_the_calls_one_comment() {
    let app = app(&wrap_up_keys(60, false));
    answered_and_ended(&app, "w1");
    // The call waits for Ann: no ticket yet, and the view says until when.
    let waiting = app.wait_call("w1", |c| !c["wrap_up"]["due_at"].is_null());
    assert_eq!(waiting["sync"], "pending");
    assert!(waiting["ticket_id"].is_null(), "{waiting:?}");
    assert_eq!(waiting["wrap_up"]["codes"][1]["label"], "Complaint");
    let ann = ann(&app);
    let (status, view) = ann.send(
        "POST",
        "/api/v1/calls/w1/wrap_up",
        Some(&json!({"code": "sale", "note": "wants the blue one"})),
    );
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["wrap_up"]["done"]["code"]["code"], "sale");
    assert_eq!(view["wrap_up"]["done"]["agent"], "ann@acme.com");
    // Synced well before the 60 seconds: the wrap-up moved the step forward.
    let call = app.wait_synced("w1");
    assert_eq!(call["wrap_up"]["on_ticket"], true, "{call:?}");
    let ticket = app.ticket(call.ticket());
    assert!(tags(&ticket).contains(&"wrap_up_sale"), "{ticket}");
    assert_eq!(ticket["custom_fields"]["wrap_code"], "sale");
    let comments = app.comments(call.ticket());
    assert_eq!(comments.len(), 1, "one write: {comments:?}");
    let body = s(&comments[0]["body"]);
    assert!(body.contains("Outcome: answered"), "{body}");
    assert!(
        body.contains("Wrap-up: sale (Ann Example): wants the blue one"),
        "{body}"
    );
}

#[test]
fn a_wrap_up_after_the_comment_went_is_added_on_its_own() {
    let app = app(&wrap_up_keys(0, false));
    answered_and_ended(&app, "w2");
    let call = app.wait_synced("w2");
    assert_eq!(app.comments(call.ticket()).len(), 1);
    let (status, body) = ann(&app).send(
        "POST",
        "/api/v1/calls/w2/wrap_up",
        Some(&json!({"code": "COMPLAINT"})),
    );
    assert_eq!(status, 200, "{body}");
    let call = app.wait_call("w2", |c| c["wrap_up"]["on_ticket"] == true);
    let comments = app.comments(call.ticket());
    assert_eq!(comments.len(), 2, "{comments:?}");
    assert!(
        s(&comments[1]["body"]).contains("Wrap-up: Complaint (Ann Example)"),
        "{comments:?}"
    );
    let ticket = app.ticket(call.ticket());
    assert!(tags(&ticket).contains(&"wrap_up_complaint"), "{ticket}");
    assert_eq!(ticket["custom_fields"]["wrap_code"], "complaint");
}

#[test]
fn refusals_say_what_to_change() {
    let app = app(&wrap_up_keys(60, true));
    answered_and_ended(&app, "w3");
    let path = "/api/v1/calls/w3/wrap_up";
    let ann = ann(&app);
    let (status, err) = ann.send("POST", path, Some(&json!({"code": "refund"})));
    assert_eq!((status, s(&err["error"])), (422, "unknown_code"), "{err}");
    assert_eq!(err["field"], "code");
    assert!(s(&err["message"]).contains("sale, complaint"), "{err}");
    let (status, err) = ann.send("POST", path, Some(&json!({"note": "only a note"})));
    assert_eq!((status, s(&err["error"])), (422, "code_required"), "{err}");
    // Bob did not answer the call: it is not his to see, let alone wrap up.
    let (status, err) = bob(&app).send("POST", path, Some(&json!({"code": "sale"})));
    assert_eq!(status, 404, "{err}");
    // A group token is not an agent.
    let (status, err) = app.send("POST", path, Some(&json!({"code": "sale"})));
    assert_eq!((status, s(&err["error"])), (403, "agent_only"), "{err}");
    let (status, _) = ann.send("POST", path, Some(&json!({"code": "sale"})));
    assert_eq!(status, 200);
    let (status, err) = ann.send("POST", path, Some(&json!({"code": "complaint"})));
    assert_eq!(
        (status, s(&err["error"])),
        (409, "already_wrapped_up"),
        "{err}"
    );
    assert!(s(&err["message"]).contains("Ann Example"), "{err}");
    // The first one stands on the ticket.
    let call = app.wait_synced("w3");
    assert!(tags(&app.ticket(call.ticket())).contains(&"wrap_up_sale"));
}

#[test]
fn without_a_wrap_up_the_comment_goes_when_the_time_runs_out() {
    let app = app(&wrap_up_keys(2, false));
    answered_and_ended(&app, "w4");
    let call = app.wait_synced("w4");
    let comments = app.comments(call.ticket());
    assert_eq!(comments.len(), 1);
    assert!(!s(&comments[0]["body"]).contains("Wrap-up"), "{comments:?}");
    assert_eq!(call["wrap_up"]["on_ticket"], false);
}
