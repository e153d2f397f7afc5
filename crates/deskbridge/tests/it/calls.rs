//! The call-to-ticket pipeline on the embedded default, through HTTP.

use crate::common::*;
use serde_json::{Value, json};

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

#[test]
fn a_new_caller_gets_a_contact_a_ticket_and_the_call_comment() {
    let server = TestApp::start();
    let (status, body) = server.post_events(&answered_call("c1", "(415) 555-0100", "ann@acme.com"));
    assert_eq!(status, 202, "{body}");
    assert_eq!(body, json!({"accepted": 3, "duplicates": 0}));

    let call = server.wait_synced("c1");
    assert_eq!(call["sync"], "done", "{call}");
    assert_eq!(call["state"], "ended");
    assert_eq!(call["outcome"], "answered");
    assert_eq!(call["from"], "+14155550100");
    assert_eq!(call["direction"], "inbound");
    assert_eq!(call["duration_s"], 60);
    assert_eq!(call["decisions"]["contact_rule"], "new_contact");

    let contacts = server.contacts_by_phone("+14155550100");
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0]["name"], "Caller +14155550100");
    assert_eq!(contacts[0]["phones"], json!(["+14155550100"]));
    assert_eq!(call["contact_id"], contacts[0]["id"]);

    let ticket = server.ticket(s(&call["ticket_id"]));
    assert_eq!(ticket["subject"], "Inbound call +14155550100");
    assert_eq!(ticket["priority"], "normal");
    assert_eq!(ticket["type"], "question");
    assert_eq!(ticket["requester_id"], contacts[0]["id"]);
    assert_eq!(ticket["assignee"], "ann@acme.com");

    let comments = server.comments(s(&call["ticket_id"]));
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0]["public"], false);
    let body = s(&comments[0]["body"]);
    for line in [
        "Direction: inbound",
        "From: +14155550100",
        "To: +14155550199",
        "Agent: Ann Example <ann@acme.com>",
        "Started: 2026-11-22 10:00:00 UTC",
        "Talk time: 1m 0s",
        "Outcome: answered",
        "Queue: support",
    ] {
        assert!(body.contains(line), "{line:?} missing from:\n{body}");
    }
}

#[test]
fn a_repeat_caller_in_another_format_reuses_the_contact() {
    let server = TestApp::start();
    server.post_events(&answered_call("c1", "+1 415 555 0100", "ann@acme.com"));
    let first = server.wait_synced("c1");
    server.post_events(&answered_call("c2", "415.555.0100", "ann@acme.com"));
    let second = server.wait_synced("c2");
    server.post_events(&answered_call("c3", "001 (415) 555-0100", "ann@acme.com"));
    let third = server.wait_synced("c3");

    assert_eq!(second["contact_id"], first["contact_id"]);
    assert_eq!(second["decisions"]["contact_rule"], "phone_match");
    // "001 ..." from the US is the US international prefix, the same number.
    assert_eq!(third["contact_id"], first["contact_id"]);
    assert_eq!(server.all("contacts").len(), 1);
    // A new ticket per answered call.
    assert_ne!(second["ticket_id"], first["ticket_id"]);
    assert_eq!(server.all("tickets").len(), 3);
}

#[test]
fn the_zendesk_user_attribute_names_the_contact() {
    let server = TestApp::start();
    let (_, known) = server.send(
        "POST",
        "/api/v1/crm/contacts",
        Some(&json!({"name": "Grace Hopper", "email": "grace@example.com"})),
    );
    let known_id = s(&known["id"]).to_string();
    let mut events = answered_call("c1", "+14155550100", "ann@acme.com");
    events[0]["attributes"] = json!({"zendesk_user": known_id});
    server.post_events(&events);
    let call = server.wait_synced("c1");
    assert_eq!(call["contact_id"], json!(known_id));
    assert_eq!(call["decisions"]["contact_rule"], "attribute_contact");
    assert_eq!(
        server.ticket(s(&call["ticket_id"]))["requester_id"],
        json!(known_id)
    );
    assert!(server.contacts_by_phone("+14155550100").is_empty());

    // An id that does not exist falls back to the phone number.
    let mut events = answered_call("c2", "+14155550101", "ann@acme.com");
    events[0]["attributes"] = json!({"zendesk_user": "999999"});
    server.post_events(&events);
    let call = server.wait_synced("c2");
    let by_phone = server.contacts_by_phone("+14155550101");
    assert_eq!(by_phone.len(), 1);
    assert_eq!(call["contact_id"], by_phone[0]["id"]);
}

#[test]
fn a_missed_call_gets_a_ticket_with_the_missed_call_comment() {
    let server = TestApp::start();
    server.post_events(&json!([
        {"id": "m1", "call_id": "m", "type": "ringing", "direction": "inbound",
         "from": "+442079460958", "to": "+14155550199", "at": "2026-11-22T10:00:00Z"},
        {"id": "m2", "call_id": "m", "type": "ended", "reason": "no_answer",
         "at": "2026-11-22T10:00:30Z"},
    ]));
    let call = server.wait_synced("m");
    assert_eq!(call["outcome"], "missed");
    assert_eq!(call["sync"], "done");
    assert_eq!(call["agent"], Value::Null);
    let comments = server.comments(s(&call["ticket_id"]));
    assert_eq!(comments.len(), 1);
    let body = s(&comments[0]["body"]);
    assert!(body.starts_with("Missed inbound call"), "{body}");
    assert!(body.contains("Outcome: missed"));
    assert!(!body.contains("Talk time"), "{body}");
    assert_eq!(server.contacts_by_phone("+442079460958").len(), 1);
}

#[test]
fn a_late_recording_adds_its_link_to_the_ticket() {
    let server = TestApp::start();
    server.post_events(&answered_call("c1", "+14155550100", "ann@acme.com"));
    let call = server.wait_synced("c1");
    let ticket_id = s(&call["ticket_id"]).to_string();
    assert_eq!(server.comments(&ticket_id).len(), 1);

    let (status, _) = server.post_events(&json!({
        "id": "c1-rec", "call_id": "c1", "type": "recording",
        "recording_url": "https://pbx.example.com/rec/c1.mp3"
    }));
    assert_eq!(status, 202);
    let call = server.wait_synced("c1");
    assert_eq!(call["recording_url"], "https://pbx.example.com/rec/c1.mp3");
    let comments = server.comments(&ticket_id);
    assert_eq!(comments.len(), 2, "{comments:?}");
    assert!(s(&comments[1]["body"]).contains("https://pbx.example.com/rec/c1.mp3"));

    // The same recording again is a new event id but adds no comment.
    server.post_events(&json!({
        "id": "c1-rec-again", "call_id": "c1", "type": "recording",
        "recording_url": "https://pbx.example.com/rec/c1.mp3"
    }));
    server.wait_synced("c1");
    assert_eq!(server.comments(&ticket_id).len(), 2);
}

#[test]
fn a_recording_sent_with_the_end_goes_into_the_call_comment() {
    let server = TestApp::start();
    let mut events = answered_call("c1", "+14155550100", "ann@acme.com");
    events[2]["recording_url"] = json!("https://pbx.example.com/rec/c1.mp3");
    server.post_events(&events);
    let call = server.wait_synced("c1");
    let comments = server.comments(s(&call["ticket_id"]));
    assert_eq!(comments.len(), 1);
    assert!(s(&comments[0]["body"]).contains("Recording: https://pbx.example.com/rec/c1.mp3"));
}

#[test]
fn duplicate_events_are_acknowledged_and_ignored() {
    let server = TestApp::start();
    let events = answered_call("c1", "+14155550100", "ann@acme.com");
    assert_eq!(
        server.post_events(&events).1,
        json!({"accepted": 3, "duplicates": 0})
    );
    assert_eq!(
        server.post_events(&events).1,
        json!({"accepted": 0, "duplicates": 3})
    );
    // A batch repeating an id inside itself.
    let (status, body) = server.post_events(&json!([
        {"id": "x1", "call_id": "c2", "type": "ringing", "direction": "inbound", "from": "+14155550111"},
        {"id": "x1", "call_id": "c2", "type": "ringing", "direction": "inbound", "from": "+14155550111"},
    ]));
    assert_eq!(
        (status, body),
        (202, json!({"accepted": 1, "duplicates": 1}))
    );
    let call = server.wait_synced("c1");
    assert_eq!(call["sync"], "done");
    assert_eq!(server.all("tickets").len(), 1);
    assert_eq!(server.comments(s(&call["ticket_id"])).len(), 1);
    assert_eq!(server.contacts_by_phone("+14155550100").len(), 1);
}

#[test]
fn out_of_order_events_make_the_same_call() {
    let server = TestApp::start();
    let events = answered_call("c1", "+14155550100", "ann@acme.com");
    let arr = events.as_array().unwrap();
    // ended first (it carries the direction here, as the first event must), then
    // answered, then ringing, each in its own request.
    let mut ended = arr[2].clone();
    ended["direction"] = json!("inbound");
    ended["from"] = json!("+14155550100");
    for e in [ended, arr[1].clone(), arr[0].clone()] {
        assert_eq!(server.post_events(&e).0, 202);
    }
    let call = server.wait_synced("c1");
    assert_eq!(call["state"], "ended");
    assert_eq!(call["outcome"], "answered");
    assert_eq!(call["answered_at"], "2026-11-22T10:00:05Z");
    assert_eq!(call["ringing_at"], "2026-11-22T10:00:00Z");
    assert_eq!(call["duration_s"], 60);
    assert_eq!(server.all("tickets").len(), 1);
    assert_eq!(server.comments(s(&call["ticket_id"])).len(), 1);
}

#[test]
fn an_anonymous_caller_gets_a_ticket_without_a_contact() {
    let server = TestApp::start();
    server.post_events(&answered_call("c1", "anonymous", "ann@acme.com"));
    let call = server.wait_synced("c1");
    assert_eq!(call["from"], "anonymous");
    assert_eq!(call["contact_id"], Value::Null);
    assert_eq!(call["decisions"]["contact_rule"], "caller_anonymous");
    assert_eq!(
        server.ticket(s(&call["ticket_id"]))["subject"],
        "Inbound call anonymous"
    );
    assert!(server.all("contacts").is_empty());
}

#[test]
fn an_invalid_number_is_kept_but_never_matched() {
    let server = TestApp::start();
    server.post_events(&answered_call("c1", "12345", "ann@acme.com"));
    let call = server.wait_synced("c1");
    assert_eq!(call["from"], "12345");
    assert_eq!(call["contact_id"], Value::Null);
    assert_eq!(call["decisions"]["contact_rule"], "caller_number_invalid");
    assert!(server.all("contacts").is_empty());
}

#[test]
fn bad_input_gets_a_clear_error_and_stores_nothing() {
    let server = TestApp::start();
    let good = json!({"id": "g1", "call_id": "g", "type": "ringing", "direction": "inbound",
                      "from": "+14155550100"});
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!([good.clone(), {"id": "b1", "call_id": "g", "type": "hungup"}]),
            422,
            "[1].type",
        ),
        (
            json!({"id": "b2", "type": "ringing", "direction": "inbound"}),
            422,
            "call_id",
        ),
        (
            json!({"id": "b3", "call_id": "new", "type": "ended"}),
            422,
            "direction",
        ),
        (
            json!([good.clone(), {"id": "b4", "call_id": "other", "type": "ended"}]),
            422,
            "[1].direction",
        ),
        (
            json!({"id": "b5", "call_id": "g", "type": "ended", "duration_s": -4}),
            422,
            "duration_s",
        ),
        (
            json!({"id": "b6", "call_id": "g", "type": "ringing", "at": "10 o'clock"}),
            422,
            "at",
        ),
    ];
    for (body, want_status, want_field) in cases {
        let (status, resp) = server.post_events(&body);
        assert_eq!(status, want_status, "{body} -> {resp}");
        assert_eq!(resp["error"], "invalid", "{resp}");
        assert_eq!(resp["field"], want_field, "{resp}");
        assert!(!s(&resp["message"]).is_empty());
    }
    // Malformed JSON.
    let resp = server
        .client()
        .post(server.url("/api/v1/events"))
        .bearer_auth(&server.token)
        .body("{\"id\": ")
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(resp.json::<Value>().unwrap()["error"], "malformed_json");
    // Nothing was stored: not even the good event that shared a rejected batch.
    assert_eq!(server.get("/api/v1/calls/g").0, 404);
    assert_eq!(server.get("/api/v1/calls/new").0, 404);
    assert_eq!(server.get("/api/v1/calls").1["calls"], json!([]));
    // And the good event is accepted on its own, so it was not kept as a duplicate.
    assert_eq!(
        server.post_events(&good).1,
        json!({"accepted": 1, "duplicates": 0})
    );
}

#[test]
fn the_caller_log_lists_a_numbers_calls_newest_first() {
    let server = TestApp::start();
    for (i, at) in [
        "2026-11-22T09:00:00Z",
        "2026-11-22T11:00:00Z",
        "2026-11-22T10:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        server.post_events(&json!({"id": format!("e{i}"), "call_id": format!("c{i}"),
            "type": "ringing", "direction": "inbound", "from": "+14155550100", "at": at}));
    }
    server.post_events(&json!({"id": "o", "call_id": "other", "type": "ringing",
        "direction": "inbound", "from": "+14155550999", "at": "2026-11-22T12:00:00Z"}));
    let (status, body) = server.get("/api/v1/calls?phone=(415)%20555-0100");
    assert_eq!(status, 200);
    let ids: Vec<&str> = body["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| s(&c["call_id"]))
        .collect();
    assert_eq!(ids, ["c1", "c2", "c0"]);
    assert_eq!(body["calls"][0]["sync"], "pending");
    assert_eq!(body["calls"][0]["state"], "ringing");
    let (_, body) = server.get("/api/v1/calls?limit=2");
    let ids: Vec<&str> = body["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| s(&c["call_id"]))
        .collect();
    assert_eq!(ids, ["other", "c1"]);
    assert_eq!(server.get("/api/v1/calls?limit=0").1["field"], "limit");
}

#[test]
fn concurrent_calls_from_one_new_number_make_one_contact() {
    let server = TestApp::start();
    // Twenty calls from the same unknown number, sent at once from several threads
    // in different formats.
    let formats = [
        "+14155550177",
        "(415) 555-0177",
        "415.555.0177",
        "1 415 555 0177",
    ];
    std::thread::scope(|scope| {
        for i in 0..20 {
            let server = &server;
            let from = formats[i % formats.len()];
            scope.spawn(move || {
                let (status, body) =
                    server.post_events(&answered_call(&format!("cc{i}"), from, "ann@acme.com"));
                assert_eq!(status, 202, "{body}");
            });
        }
    });
    let mut contact_ids = Vec::new();
    for i in 0..20 {
        let call = server.wait_synced(&format!("cc{i}"));
        assert_eq!(call["sync"], "done", "{call}");
        contact_ids.push(call["contact_id"].clone());
    }
    let contacts = server.contacts_by_phone("+14155550177");
    assert_eq!(contacts.len(), 1, "{contacts:?}");
    assert!(contact_ids.iter().all(|id| *id == contacts[0]["id"]));
    assert_eq!(server.all("tickets").len(), 20);
}

#[test]
fn health_and_readiness() {
    let server = TestApp::start();
    let client = server.client();
    let health = client.get(server.url("/healthz")).send().unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let ready: Value = client
        .get(server.url("/readyz"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(ready["status"], "ready");
}

/// `/readyz` is open to anyone: a database that does not answer is a reason
/// code, and the driver's text stays in the log.
#[test]
fn readiness_names_a_reason_code_not_the_databases_error() {
    let server = TestApp::start();
    server.block_on(server.state().store.close());
    let resp = server.client().get(server.url("/readyz")).send().unwrap();
    assert_eq!(resp.status().as_u16(), 503);
    let body: Value = resp.json().unwrap();
    assert_eq!(
        body,
        json!({"status": "not_ready", "reason": "database_unavailable"}),
        "{body}"
    );
}
