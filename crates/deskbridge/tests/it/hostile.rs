//! What a hostile or clumsy client tried (issue 10): each test here failed before
//! its fix.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::TestApp;

const CALLER: &str = "+14155550123";

fn event(id: &str, call_id: &str, kind: &str, extra: Value) -> Value {
    let mut e = json!({"id": id, "call_id": call_id, "type": kind, "direction": "inbound",
        "from": CALLER, "to": "+14155550199", "at": "2026-11-22T10:00:00Z"});
    if let (Some(e), Some(extra)) = (e.as_object_mut(), extra.as_object()) {
        e.extend(extra.clone());
    }
    e
}

/// Point 4: the call's contact is deleted between "identify the caller" and "open
/// the ticket". The call fails at once with a reason that says so, the step is not
/// retried, and no database text reaches the API.
#[test]
fn deleting_the_contact_of_a_live_call_fails_the_call_with_a_clear_reason() {
    let app = TestApp::start();
    let answered = json!([
        event("d-1", "d", "ringing", json!({})),
        event(
            "d-2",
            "d",
            "answered",
            json!({"at": "2026-11-22T10:00:05Z"})
        ),
    ]);
    assert_eq!(app.post_events(&answered).0, 202);
    let call = app.wait_call("d", |c| c["contact_id"].is_string());
    let contact = call["contact_id"].as_str().expect("identified").to_string();
    let (status, body) = app.send("DELETE", &format!("/api/v1/crm/contacts/{contact}"), None);
    assert_eq!(status, 204, "{body}");

    let ended = json!([event(
        "d-3",
        "d",
        "ended",
        json!({"reason": "completed", "at": "2026-11-22T10:01:05Z"})
    )]);
    assert_eq!(app.post_events(&ended).0, 202);
    let call = app.wait_call_for(&app.token, "d", Duration::from_secs(20), |c| {
        c["sync"] != "pending"
    });
    assert_eq!(call["sync"], "failed", "{call}");
    let reason = call["sync_error"].as_str().unwrap_or_default();
    assert!(
        reason.contains("deleted while the call was in progress"),
        "{reason}"
    );
    let steps = call["steps"].as_array().cloned().unwrap_or_default();
    let open = steps
        .iter()
        .find(|s| s["step"] == "open_ticket")
        .unwrap_or_else(|| panic!("no open_ticket step: {call}"));
    assert_eq!(
        open["attempts"], 1,
        "a permanent failure is not retried: {call}"
    );
    let text = call.to_string().to_lowercase();
    for leak in ["foreign key", "sqlite", "constraint", "database error"] {
        assert!(
            !text.contains(leak),
            "the API shows database text {leak:?}: {call}"
        );
    }
}
