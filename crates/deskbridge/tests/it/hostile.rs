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

fn one(call_id: &str, extra: Value) -> Value {
    event(&format!("{call_id}-1"), call_id, "ended", extra)
}

/// Posts one event and returns the 422's `field` and message.
fn refused(app: &TestApp, body: &Value) -> (String, String) {
    let (status, resp) = app.post_events(body);
    assert_eq!(status, 422, "{resp}");
    assert_eq!(resp["error"], "invalid", "{resp}");
    (
        resp["field"].as_str().unwrap_or("<none>").to_string(),
        resp["message"].as_str().unwrap_or_default().to_string(),
    )
}

/// Point 6: a time far in the future and an absurd duration are refused with a
/// 422 naming the field; a time a little ahead (clock drift) is kept.
#[test]
fn implausible_times_and_durations_are_refused_naming_the_field() {
    let app = TestApp::start();
    let (field, message) = refused(&app, &one("t1", json!({"at": "9999-01-01T00:00:00Z"})));
    assert_eq!(field, "at", "{message}");
    assert!(message.contains("in the future"), "{message}");
    let (field, message) = refused(
        &app,
        &one("t2", json!({"reason": "completed", "duration_s": u64::MAX})),
    );
    assert_eq!(field, "duration_s", "{message}");
    assert!(message.contains("604800"), "{message}");

    let soon = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let (status, body) = app.post_events(&one(
        "t3",
        json!({"at": soon, "reason": "completed", "duration_s": 3600}),
    ));
    assert_eq!(status, 202, "{body}");
}

/// Point 2 (ingest): every field has a bound, and a 422 names the field and the
/// bound; a call at the bounds is accepted.
#[test]
fn oversized_fields_are_refused_naming_the_field_and_the_bound() {
    let app = TestApp::start();
    // Under the body limit (1 MiB), so that the field is what is refused.
    let big = "x".repeat(200_000);
    let cases = [
        (json!({"call_id": big}), "call_id", "256"),
        (json!({"id": big}), "id", "256"),
        (json!({"from": big}), "from", "64"),
        (json!({"queue": big}), "queue", "256"),
        (json!({"agent": {"name": big}}), "agent.name", "256"),
        (
            json!({"attributes": {"utm": big}}),
            "attributes.utm",
            "4096",
        ),
        (json!({"transcript": big}), "transcript", "65536"),
        (
            json!({"recording_url": format!("https://r/{big}")}),
            "recording_url",
            "2048",
        ),
    ];
    for (extra, field, bound) in cases {
        let (got, message) = refused(&app, &one("big", extra));
        assert_eq!(got, field, "{message}");
        assert!(message.contains(bound), "{field}: {message}");
        assert!(message.len() < 300, "the message does not echo the value");
    }
    let many: serde_json::Map<String, Value> =
        (0..50_000).map(|i| (format!("k{i}"), json!("v"))).collect();
    let (field, message) = refused(&app, &one("many", json!({"attributes": many})));
    assert!(field.starts_with("attributes"), "{field}: {message}");
    assert!(message.contains("100"), "{message}");

    // At the bounds: accepted, and readable back.
    let call_id = "c".repeat(256);
    let attributes: serde_json::Map<String, Value> = (0..100)
        .map(|i| (format!("k{i}"), json!("v".repeat(4096))))
        .collect();
    let event = json!({"id": "max-1", "call_id": call_id, "type": "ringing",
        "direction": "inbound", "from": CALLER, "attributes": attributes,
        "agent": {"name": "a".repeat(256)}, "queue": "q".repeat(256)});
    let (status, body) = app.post_events(&event);
    assert_eq!(status, 202, "{body}");
    let (status, call) = app.get(&format!("/api/v1/calls/{call_id}"));
    assert_eq!(status, 200, "{call}");
    assert_eq!(call["attributes"].as_object().map(|a| a.len()), Some(100));
}

/// Point 8: a batch too large is the request's fault, not its first event's.
#[test]
fn a_batch_too_large_names_no_event() {
    let app = TestApp::start();
    let batch: Vec<Value> = (0..1001)
        .map(|i| event(&format!("b-{i}"), "b", "ringing", json!({})))
        .collect();
    let (status, resp) = app.post_events(&json!(batch));
    assert_eq!(status, 422, "{resp}");
    assert!(resp.get("field").is_none(), "{resp}");
    assert!(
        resp["message"]
            .as_str()
            .unwrap_or_default()
            .contains("1000"),
        "{resp}"
    );
}

/// Point 8: the bearer scheme's name is case-insensitive (RFC 9110).
#[test]
fn the_bearer_scheme_is_matched_case_insensitively() {
    let app = TestApp::start();
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let resp = app
            .client()
            .get(app.url("/api/v1/calls"))
            .header("Authorization", format!("{scheme} {}", app.token))
            .send()
            .expect("response");
        assert_eq!(resp.status(), 200, "{scheme}");
    }
    let resp = app
        .client()
        .get(app.url("/api/v1/calls"))
        .header("Authorization", format!("Basic {}", app.token))
        .send()
        .expect("response");
    assert_eq!(resp.status(), 401);
}

/// Point 8: one record has one id; `+1` and `01` are not `1`.
#[test]
fn crm_ids_have_one_spelling() {
    let app = TestApp::start();
    let (status, body) = app.send(
        "POST",
        "/api/v1/crm/contacts",
        Some(&json!({"name": "Ada", "phones": [CALLER]})),
    );
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().expect("id").to_string();
    assert_eq!(app.get(&format!("/api/v1/crm/contacts/{id}")).0, 200);
    for other in [format!("%2B{id}"), format!("0{id}"), format!("%20{id}")] {
        let (status, body) = app.get(&format!("/api/v1/crm/contacts/{other}"));
        assert_eq!(status, 404, "{other}: {body}");
    }
}

/// Point 8: unknown keys inside `agent` are refused like unknown top-level keys.
#[test]
fn unknown_keys_inside_agent_are_refused_like_top_level_ones() {
    let app = TestApp::start();
    let (field, message) = refused(
        &app,
        &one("u1", json!({"agent": {"emial": "ann@acme.com"}})),
    );
    assert_eq!(field, "agent.emial", "{message}");
    let (field, _) = refused(&app, &one("u2", json!({"emial": "ann@acme.com"})));
    assert_eq!(field, "emial");
}

/// Point 5: ids are read back in URLs and written to logs; a newline or escape
/// sequence in one is refused, naming the field.
#[test]
fn control_characters_in_ids_are_refused() {
    let app = TestApp::start();
    for bad in ["c1\n2026-11-28 INFO forged", "c1\u{1b}[2J", "c1\rX"] {
        let (field, message) = refused(&app, &event("x-1", bad, "ringing", json!({})));
        assert_eq!(field, "call_id", "{message}");
        assert!(message.contains("control characters"), "{message}");
    }
}

/// Issue 15, point 6: JSON nested deeper than any event needs, bytes that are
/// not UTF-8, and a flood of headers each get a 4xx with the JSON error shape
/// (or, for the headers, hyper's refusal before any handler runs), and nothing
/// of them is stored; the server goes on taking events.
#[test]
fn deep_json_invalid_utf8_and_a_header_flood_are_refused_and_store_nothing() {
    let app = TestApp::start();
    let post_raw = |body: Vec<u8>| {
        let resp = app
            .client()
            .post(app.url("/api/v1/events"))
            .bearer_auth(&app.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .expect("response");
        let status = resp.status().as_u16();
        (status, resp.json::<Value>().unwrap_or(Value::Null))
    };

    // 100,000 levels of arrays inside an attribute: serde_json stops at 128.
    let deep = format!(
        r#"{{"id":"deep-1","call_id":"deep","type":"ended","direction":"inbound","from":"{CALLER}","attributes":{{"a":{}{}}}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let (status, body) = post_raw(deep.into_bytes());
    assert!(
        status == 400 || status == 422,
        "deep JSON answered {status}: {body}"
    );
    assert!(body["error"].is_string(), "JSON error shape: {body}");
    assert!(body["message"].is_string(), "a message: {body}");

    // A name with a byte that is not UTF-8.
    let mut invalid = format!(
        r#"{{"id":"utf-1","call_id":"utf","type":"ended","direction":"inbound","from":"{CALLER}","agent":{{"name":"Ann "#
    )
    .into_bytes();
    invalid.extend_from_slice(&[0xff, 0xfe]);
    invalid.extend_from_slice(br#""}}"#);
    let (status, body) = post_raw(invalid);
    assert!(
        status == 400 || status == 422,
        "invalid UTF-8 answered {status}: {body}"
    );
    assert!(body["error"].is_string(), "JSON error shape: {body}");

    // 1,000 headers of a few bytes each: under the byte bound, over hyper's
    // count of headers.
    let mut flood = app
        .client()
        .post(app.url("/api/v1/events"))
        .bearer_auth(&app.token)
        .json(&one("flood", json!({"reason": "completed"})));
    for i in 0..1000 {
        flood = flood.header(format!("x-flood-{i}"), "1");
    }
    match flood.send() {
        Ok(resp) => assert_eq!(resp.status().as_u16(), 431, "header flood"),
        // Refused by closing the connection: also a clear refusal.
        Err(e) => assert!(e.is_request() || e.is_connect() || e.is_body(), "{e}"),
    }

    for call in ["deep", "utf", "flood"] {
        let (status, body) = app.get(&format!("/api/v1/calls/{call}"));
        assert_eq!(status, 404, "call {call} must not be stored: {body}");
    }
    let (status, body) = app.post_events(&one("after", json!({"reason": "completed"})));
    assert_eq!(status, 202, "the server still takes events: {body}");
}

// ---- issue 25, point F: every adapter under the same bounds ----

/// Zammad's `callId`, Amazon Connect's `ContactId`, attributes and agent ARN,
/// and Twilio's `CallSid` are held to the bounds and character rules of
/// `/api/v1/events` (README, "Limits"): an id with CR, LF or NUL, an id of
/// 300 KB, 150 attributes, an attribute of 900 KB and an agent id of 1 KB are
/// refused, and nothing is stored.
#[test]
fn every_adapter_refuses_what_the_native_events_refuse() {
    const TOKEN: &str = "bounds-token-0123456789abcdef";
    let app = TestApp::with_config(
        &format!(
            r#"
[server]
public_url = "https://deskbridge.example.com"

[[groups]]
name = "support"
tokens = ["{TOKEN}"]
twilio_auth_token = "12345"
"#
        ),
        TOKEN,
    );
    let client = app.client();
    // Zammad generic CTI (form), a call id with CR LF, and with NUL.
    for call_id in ["z%0D%0Ainjected", "z%00nul"] {
        let resp = client
            .post(app.url(&format!("/api/v1/cti/{TOKEN}")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "event=newCall&direction=in&from=4915112345678&to=4930600000000&callId={call_id}"
            ))
            .send()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 422, "callId {call_id}");
    }
    // Amazon Connect's contact-flow Lambda event (AWS's "ContactFlowEvent").
    let flow = |contact_id: &str, attributes: Value| {
        json!({"Name": "ContactFlowEvent", "Details": {"ContactData": {
            "ContactId": contact_id, "InitialContactId": contact_id, "Channel": "VOICE",
            "InitiationMethod": "INBOUND",
            "CustomerEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": CALLER},
            "SystemEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": "+14155550199"},
            "Queue": null, "Attributes": attributes}, "Parameters": {}}})
    };
    let many: serde_json::Map<String, Value> = (0..150)
        .map(|i| (format!("attribute_{i}"), Value::String("x".repeat(4000))))
        .collect();
    let cases = [
        ("a CR LF", flow("c\r\ninjected", json!({}))),
        ("a NUL", flow("c\u{0}nul", json!({}))),
        ("300 KB", flow(&"c".repeat(300 * 1024), json!({}))),
        ("150 attributes", flow("c-many", Value::Object(many))),
        (
            "a 900 KB attribute",
            flow("c-big", json!({"note": "x".repeat(900 * 1024)})),
        ),
    ];
    for (what, body) in cases {
        let (status, answer) = app.send("POST", "/api/v1/amazon-connect", Some(&body));
        assert_eq!(
            status, 422,
            "a ContactId or attributes with {what}: {answer}"
        );
        assert_eq!(answer["error"], "invalid", "{answer}");
    }
    let agent = json!({"version": "0", "id": "ev", "detail-type": "Amazon Connect Contact Event",
        "source": "aws.connect", "time": "2026-11-22T10:00:00Z", "detail": {
        "eventType": "CONNECTED_TO_AGENT", "contactId": "c-agent", "channel": "VOICE",
        "initiationMethod": "INBOUND",
        "agentInfo": {"agentArn": format!("arn:aws:connect:us-east-1:1:instance/i/agent/{}", "a".repeat(1024))}}});
    let (status, answer) = app.send("POST", "/api/v1/amazon-connect", Some(&agent));
    assert_eq!(status, 422, "an agent id of 1 KB: {answer}");
    for id in ["c-many", "c-big", "c-agent"] {
        let (status, _) = app.get(&format!("/api/v1/calls/{id}"));
        assert_eq!(status, 404, "{id} was stored");
    }
    // Twilio, signed as Twilio signs: a CallSid with LF.
    let pairs = vec![
        ("CallSid".to_string(), "CA\ninjected".to_string()),
        ("CallStatus".to_string(), "ringing".to_string()),
        ("Direction".to_string(), "inbound".to_string()),
        ("From".to_string(), CALLER.to_string()),
    ];
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&pairs)
        .finish();
    let signature = deskbridge::adapters::twilio::signature(
        "12345",
        "https://deskbridge.example.com/api/v1/twilio/support",
        &pairs,
    );
    let resp = client
        .post(app.url("/api/v1/twilio/support"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("X-Twilio-Signature", signature)
        .body(body)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 422, "a CallSid with LF");
    let (_, log) = app.get("/api/v1/calls?limit=100");
    assert_eq!(log["calls"].as_array().map(Vec::len), Some(0), "{log}");
}

/// A call id the stream cannot send as an SSE `id` (CR, LF; stored by an
/// earlier version, which took them from Zammad and Amazon Connect) does not
/// end the call stream: the id is left out, and the calls after it stream.
#[test]
fn a_stored_call_id_with_a_newline_does_not_end_the_call_stream() {
    let app = TestApp::start();
    let seen = app.read_call_stream(&app.token);
    store_call_with_id(&app, "default", "old\r\ncall", None);
    let (status, _) = app.post_events(&event("after-1", "after", "ringing", json!({})));
    assert_eq!(status, 202);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let text = seen.lock().map(|s| s.clone()).unwrap_or_default();
        if text.contains("\"call_id\":\"after\"") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the call after the bad id never streamed: {text:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stores a call straight through the store, as an earlier version did,
/// bypassing today's adapters.
pub fn store_call_with_id(app: &TestApp, group: &str, call_id: &str, agent: Option<&str>) {
    use deskbridge_core::event::{AgentRef, CallEvent, Direction, EventKind};
    let mut e = CallEvent::new(
        format!("stored-{}", call_id.len()),
        call_id,
        EventKind::Answered,
        chrono::Utc::now(),
    );
    e.direction = Some(Direction::Inbound);
    e.agent = agent.map(|email| AgentRef {
        email: Some(email.to_string()),
        ..AgentRef::default()
    });
    let group = app.state().group(group).expect("the group").clone();
    let events = [deskbridge::ingest::for_group(&group, e)];
    app.block_on(app.state().store.ingest(&events))
        .expect("stored");
}
