//! Zammad's generic CTI at `/api/v1/cti/{token}`: the cases of Zammad's own
//! request spec (zammad/zammad, spec/requests/integration/cti_spec.rb) played
//! against deskbridge, checking Zammad's answers and what lands in the
//! built-in CRM and the caller log.

use serde_json::{Value, json};

use crate::common::*;

const TOKEN: &str = "cti-token-0123456789abcdef";

/// Zammad's spec config: German numbers, its routing table, default caller id
/// and block list.
fn start() -> TestApp {
    let config = format!(
        r#"
[phone]
default_region = "DE"

[[agents]]
email = "ann@acme.com"
name = "user 1"
extension = "101"

[[groups]]
name = "support"
tokens = ["{TOKEN}"]
numbers = ["+4930600000000"]
default_caller_id = "4930777000000"
block = [{{ number = "491715000000", note = "some note" }}]
[[groups.caller_id_rules]]
dest = "41*"
caller_id = "41715880339000"
[[groups.caller_id_rules]]
dest = "491714000000"
caller_id = "41715880339000"
"#
    );
    TestApp::with_config(&config, TOKEN)
}

/// Posts a form, as PBX scripts do; returns the status and Zammad's answer.
fn form(server: &TestApp, token: &str, body: &str) -> (u16, Value) {
    let resp = server
        .client()
        .post(server.url(&format!("/api/v1/cti/{token}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_string())
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

fn json_post(server: &TestApp, body: Value) -> (u16, Value) {
    let resp = server
        .client()
        .post(server.url(&format!("/api/v1/cti/{TOKEN}")))
        .json(&body)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

fn ok(server: &TestApp, body: &str) -> Value {
    let (status, answer) = form(server, TOKEN, body);
    assert_eq!(status, 200, "{body}: {answer}");
    answer
}

#[test]
fn a_wrong_token_and_a_wrong_direction_get_zammads_errors() {
    let server = start();
    let (status, body) = form(
        &server,
        "not_existing_token",
        "event=newCall&direction=in&from=4912347114711&to=4930600000000&call_id=x-1&user=user+1",
    );
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({"error": "Invalid token, please contact your admin!"})
    );
    let (status, body) = form(
        &server,
        TOKEN,
        "event=newCall&direction=sideways&from=4912347114711&callId=x-2",
    );
    assert_eq!(status, 422);
    assert_eq!(body, json!({"error": "Invalid direction!"}));
}

#[test]
fn a_blocked_caller_is_rejected_and_logged_but_gets_no_ticket() {
    let server = start();
    let answer = ok(
        &server,
        "event=newCall&direction=in&from=491715000000&to=4930600000000&call_id=b-1&user%5B%5D=user+1&user%5B%5D=user+2",
    );
    assert_eq!(answer, json!({"action": "reject", "reason": "busy"}));
    let call = server.wait_synced("b-1");
    assert_eq!(call["state"], "ended", "{call}");
    assert_eq!(call["attributes"]["blocked"], "some note");
    assert_eq!(call["from"], "+491715000000");
    assert!(call["ticket_id"].is_null(), "{call}");
    assert!(server.contacts_by_phone("+491715000000").is_empty());
    // Not blocked: the same request from another number is answered {}.
    let answer = ok(
        &server,
        "event=newCall&direction=in&from=4912347114711&to=4930600000000&call_id=b-2&user=user+1",
    );
    assert_eq!(answer, json!({}));
}

#[test]
fn outbound_calls_get_the_caller_id_of_the_rules() {
    let server = start();
    for (to, caller_id) in [
        ("4912347114711", "4930777000000"),  // the default
        ("491714000000", "41715880339000"),  // an exact destination
        ("4147110000000", "41715880339000"), // 41*
    ] {
        let answer = ok(
            &server,
            &format!(
                "event=newCall&direction=out&from=4930600000000&to={to}&call_id=o-{to}&user=user+1"
            ),
        );
        assert_eq!(
            answer,
            json!({"action": "dial", "number": to, "caller_id": caller_id}),
            "{to}"
        );
    }
}

/// Zammad's "does log call": an inbound call answered and hung up is a ticket
/// with the agent; one hung up unanswered is missed; one the voicemail took is a
/// voicemail; a forwarded one is not missed.
#[test]
fn answered_missed_voicemail_and_forwarded_calls_as_zammad_plays_them() {
    let server = start();
    let base = "direction=in&to=4930600000000&from=4912347114711";
    ok(
        &server,
        &format!("event=newCall&{base}&call_id=l-3&user=user+1"),
    );
    ok(
        &server,
        &format!("event=answer&{base}&call_id=l-3&user=user+1&answeringNumber=101"),
    );
    ok(
        &server,
        &format!("event=hangup&{base}&call_id=l-3&cause=normalClearing"),
    );
    // Zammad tolerates an answer after the hangup.
    let (status, _) = json_post(
        &server,
        json!({"event": "answer", "direction": "in", "call_id": "l-3",
               "to": "4930600000000", "from": "4912347114711"}),
    );
    assert_eq!(status, 200);
    let answered = server.wait_synced("l-3");
    assert_eq!(answered["outcome"], "answered", "{answered}");
    assert_eq!(answered["from"], "+4912347114711");
    assert_eq!(answered["agent"]["extension"], "101", "{answered}");
    assert_eq!(answered["assignee"], "ann@acme.com", "{answered}");
    let ticket = answered["ticket_id"]
        .as_str()
        .expect("a ticket")
        .to_string();
    let comments = server.comments(&ticket);
    assert_eq!(comments.len(), 1, "{comments:?}");

    ok(
        &server,
        &format!("event=newCall&{base}&call_id=l-4&user=user+1,user+2"),
    );
    ok(
        &server,
        &format!("event=answer&{base}&call_id=l-4&user=voicemail"),
    );
    ok(
        &server,
        &format!("event=hangup&{base}&call_id=l-4&cause=normalClearing"),
    );
    assert_eq!(server.wait_synced("l-4")["outcome"], "voicemail");

    ok(
        &server,
        &format!("event=newCall&{base}&call_id=l-5&user=user+1,user+2"),
    );
    ok(
        &server,
        &format!("event=hangup&{base}&call_id=l-5&cause=normalClearing"),
    );
    assert_eq!(server.wait_synced("l-5")["outcome"], "missed");

    ok(
        &server,
        &format!("event=newCall&{base}&call_id=l-6&user=user+1"),
    );
    ok(
        &server,
        &format!("event=hangup&{base}&call_id=l-6&cause=forwarded"),
    );
    assert_eq!(server.wait_synced("l-6")["outcome"], "forwarded");

    ok(
        &server,
        "event=newCall&direction=in&to=4930600000000&from=anonymous&call_id=l-7&user=user+1,user+2&queue=some_queue_name",
    );
    let (_, anonymous) = server.get("/api/v1/calls/l-7");
    assert_eq!(anonymous["from"], "anonymous");
    assert_eq!(anonymous["queue"], "some_queue_name");

    // A PBX resending a webhook makes no second event.
    ok(
        &server,
        &format!("event=hangup&{base}&call_id=l-3&cause=normalClearing"),
    );
    server.settle();
    assert_eq!(server.comments(&ticket).len(), 1);
}

/// DESIGN: a number written internationally that libphonenumber finds possible
/// but not valid is normalized and matched exactly. Zammad's own fixture
/// numbers (its CTI request spec: the caller `4912347114711`, the caller id
/// `41715880339000`) are such numbers: the CRM API takes them as the calls do,
/// and the caller's calls find the contact.
#[test]
fn the_crm_takes_the_possible_numbers_calls_take_and_their_calls_find_the_contact() {
    let server = start();
    let (status, contact) = server.send(
        "POST",
        "/api/v1/crm/contacts",
        Some(&json!({"name": "Zammad Fixture", "phones": ["+4912347114711", "0041 715880339000"]})),
    );
    assert_eq!(status, 201, "{contact}");
    assert_eq!(
        contact["phones"],
        json!(["+4912347114711", "+41715880339000"]),
        "{contact}"
    );
    let id = contact["id"].as_str().expect("an id").to_string();
    let found = server.contacts_by_phone("0049 1234 7114711");
    let found_ids: Vec<&str> = found.iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(found_ids, [id.as_str()], "{found:?}");

    let base = "direction=in&to=4930600000000&from=4912347114711";
    ok(
        &server,
        &format!("event=newCall&{base}&call_id=p-1&user=user+1"),
    );
    ok(
        &server,
        &format!("event=answer&{base}&call_id=p-1&user=user+1&answeringNumber=101"),
    );
    ok(
        &server,
        &format!("event=hangup&{base}&call_id=p-1&cause=normalClearing"),
    );
    let call = server.wait_synced("p-1");
    assert_eq!(call["from"], "+4912347114711", "{call}");
    assert_eq!(
        call["contact_id"],
        id.as_str(),
        "the caller is the contact: {call}"
    );
}
