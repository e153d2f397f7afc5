//! Amazon Connect at `/api/v1/amazon-connect`: the contact flow's Lambda event
//! records the call and is answered with flat attributes a flow can branch on;
//! EventBridge contact events answer and end it; a transfer stays one call.

use serde_json::{Value, json};

use crate::common::*;

const TOKEN: &str = "connect-token-0123456789abcdef";

fn start() -> TestApp {
    let config = format!(
        r#"
[[agents]]
email = "ann@acme.com"
name = "Ann Example"
extension = "ann-agent-id"
target = "sip:ann@connect"

[[groups]]
name = "support"
tokens = ["{TOKEN}"]
"#
    );
    TestApp::with_config(&config, TOKEN)
}

fn flow_event(contact: &str, initial: Option<&str>, customer: &str, attributes: Value) -> Value {
    json!({
        "Name": "ContactFlowEvent",
        "Details": {
            "ContactData": {
                "ContactId": contact, "InitialContactId": initial, "PreviousContactId": initial,
                "Channel": "VOICE", "InstanceARN": "arn:aws:connect:us-east-1:1:instance/i",
                "InitiationMethod": if initial.is_some() { "TRANSFER" } else { "INBOUND" },
                "CustomerEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": customer},
                "SystemEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": "+14155550199"},
                "Queue": null,
                "Attributes": attributes,
            },
            "Parameters": {}
        }
    })
}

fn contact_event(detail: Value) -> Value {
    json!({"version": "0", "id": "ev", "detail-type": "Amazon Connect Contact Event",
           "source": "aws.connect", "time": "2026-11-22T10:00:00Z", "detail": detail})
}

fn post(app: &TestApp, body: &Value) -> (u16, Value) {
    app.send("POST", "/api/v1/amazon-connect", Some(body))
}

#[test]
fn the_flow_learns_who_calls_and_where_to_route_and_the_call_lands_once() {
    let app = start();
    let (_, contact) = app.send(
        "POST",
        "/api/v1/crm/contacts",
        Some(&json!({"name": "Grace Hopper", "phones": ["+14155550123"]})),
    );
    let (_, ticket) = app.send(
        "POST",
        "/api/v1/crm/tickets",
        Some(
            &json!({"subject": "Printer", "requester_id": contact["id"], "status": "open",
                     "assignee": "ann@acme.com"}),
        ),
    );
    let (status, answer) = post(
        &app,
        &flow_event(
            "c-1",
            None,
            "+14155550123",
            json!({"ticket_assignment": "auto"}),
        ),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["caller_found"], "true");
    assert_eq!(answer["contact_id"], contact["id"].as_str().unwrap());
    assert_eq!(answer["contact_name"], "Grace Hopper");
    assert_eq!(answer["open_ticket_id"], ticket["id"].as_str().unwrap());
    assert_eq!(answer["route_target"], "sip:ann@connect");
    assert_eq!(answer["route_reason"], "open_ticket_owner");
    assert!(
        answer.as_object().unwrap().values().all(Value::is_string),
        "{answer}"
    );

    // Answered by Ann, transferred (a new contact id, same initial one), ended.
    let (status, _) = post(
        &app,
        &contact_event(
            json!({"eventType": "CONNECTED_TO_AGENT", "contactId": "c-1",
            "channel": "VOICE", "initiationMethod": "INBOUND",
            "agentInfo": {"agentArn": "arn:aws:connect:us-east-1:1:instance/i/agent/ann-agent-id",
                          "connectedToAgentTimestamp": "2026-11-22T10:00:05Z"}}),
        ),
    );
    assert_eq!(status, 200);
    let (_, transfer) = post(
        &app,
        &flow_event("c-2", Some("c-1"), "+14155550123", json!({})),
    );
    assert_eq!(transfer["deskbridge_call_id"], "c-1");
    let (_, report) = post(
        &app,
        &contact_event(json!({"eventType": "DISCONNECTED", "contactId": "c-2",
            "initialContactId": "c-1", "channel": "VOICE", "initiationMethod": "TRANSFER",
            "disconnectTimestamp": "2026-11-22T10:03:05Z", "disconnectReason": "CUSTOMER_DISCONNECT"})),
    );
    assert_eq!(report, json!({"accepted": 1, "duplicates": 0}));
    let call = app.wait_synced("c-1");
    assert_eq!(call["outcome"], "answered", "{call}");
    assert_eq!(call["assignee"], "ann@acme.com", "{call}");
    assert_eq!(call["from"], "+14155550123");
    assert_eq!(call["attributes"]["ticket_assignment"], "auto");
    assert_eq!(call["contact_id"], contact["id"]);
    let (_, second) = app.get("/api/v1/calls/c-2");
    assert_eq!(
        second["error"], "not_found",
        "a transfer is not a second call"
    );
}

#[test]
fn an_unknown_caller_and_the_runtimes_fixture_are_answered_and_bad_bodies_refused() {
    let app = start();
    let fixture: Value = serde_json::from_str(include_str!(
        "../fixtures/amazon-connect/example-connect-event.json"
    ))
    .unwrap();
    let (status, answer) = post(&app, &fixture);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["caller_found"], "false");
    assert_eq!(answer["route_reason"], "unknown_caller");
    assert_eq!(answer["route_target"], "");
    let (_, call) = app.get("/api/v1/calls/Acxsada-asdasdaxA");
    assert_eq!(call["from"], "+14802021091", "{call}");
    assert_eq!(call["queue"], "PrimaryPhoneQueue");

    let (status, err) = post(&app, &json!({"Details": {}}));
    assert_eq!(status, 422, "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("ContactData"),
        "{err}"
    );
    let resp = app
        .client()
        .post(app.url("/api/v1/amazon-connect"))
        .json(&fixture)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 401);
}

/// The IVR collected the caller's contact id (`zendesk_user`, the Amazon
/// Connect app for Zendesk's attribute): the flow's answer names that contact,
/// as the call does, not the one the caller's number finds.
#[test]
fn the_flows_answer_follows_the_contact_the_ivr_collected_as_the_call_does() {
    let app = start();
    let (_, by_number) = app.send(
        "POST",
        "/api/v1/crm/contacts",
        Some(&json!({"name": "Front Desk", "phones": ["+14155550160"]})),
    );
    let (_, collected) = app.send(
        "POST",
        "/api/v1/crm/contacts",
        Some(&json!({"name": "Ada Lovelace", "phones": ["+14155550161"]})),
    );
    let (_, ticket) = app.send(
        "POST",
        "/api/v1/crm/tickets",
        Some(
            &json!({"subject": "Engine", "requester_id": collected["id"], "status": "open",
                     "assignee": "ann@acme.com"}),
        ),
    );
    let collected_id = collected["id"].as_str().expect("an id");
    let (status, answer) = post(
        &app,
        &flow_event(
            "c-ivr",
            None,
            "+14155550160",
            json!({"zendesk_user": collected_id}),
        ),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["caller_found"], "true", "{answer}");
    assert_eq!(answer["contact_id"], collected_id, "{answer}");
    assert_eq!(answer["contact_name"], "Ada Lovelace", "{answer}");
    assert_eq!(answer["open_ticket_id"], ticket["id"], "{answer}");
    assert_eq!(answer["route_target"], "sip:ann@connect", "{answer}");

    // The call goes to the same contact.
    let (status, _) = post(
        &app,
        &contact_event(json!({"eventType": "DISCONNECTED", "contactId": "c-ivr",
            "channel": "VOICE", "initiationMethod": "INBOUND",
            "disconnectTimestamp": "2026-11-22T10:01:00Z", "disconnectReason": "CUSTOMER_DISCONNECT"})),
    );
    assert_eq!(status, 200);
    let call = app.wait_synced("c-ivr");
    assert_eq!(call["contact_id"], collected_id, "{call}");
    assert_ne!(call["contact_id"], by_number["id"], "{call}");

    // An id the helpdesk does not know: the call falls back to the number,
    // and so does the answer.
    let (_, answer) = post(
        &app,
        &flow_event(
            "c-ivr-2",
            None,
            "+14155550160",
            json!({"zendesk_user": "999999"}),
        ),
    );
    assert_eq!(answer["contact_id"], by_number["id"], "{answer}");
}

/// A Connect instance serving two groups: a call goes to the group whose
/// number the customer dialed, and its EventBridge events (which carry no
/// number) follow it there, as every other adapter's do (the core's
/// `group_for`; Connect once sent everything to the token's first group).
#[test]
fn a_call_to_the_second_groups_number_stays_in_that_group_to_its_end() {
    const SHARED: &str = "connect-shared-token-0123456789";
    let app = TestApp::with_config(
        &format!(
            r#"
[[groups]]
name = "support"
tokens = ["{SHARED}"]
numbers = ["+14155550100"]

[[groups]]
name = "sales"
tokens = ["{SHARED}"]
numbers = ["+14155550199"]
"#
        ),
        SHARED,
    );
    // `flow_event`'s SystemEndpoint is +14155550199: sales' number.
    let (status, answer) = post(&app, &flow_event("s-1", None, "+14155550123", json!({})));
    assert_eq!(status, 200, "{answer}");
    for (kind, extra) in [
        (
            "CONNECTED_TO_AGENT",
            json!({"agentInfo": {"agentArn": "arn:aws:connect:us-east-1:1:instance/i/agent/x",
            "connectedToAgentTimestamp": "2026-11-22T10:00:05Z"}}),
        ),
        (
            "DISCONNECTED",
            json!({"disconnectTimestamp": "2026-11-22T10:02:00Z",
            "disconnectReason": "CUSTOMER_DISCONNECT"}),
        ),
    ] {
        let mut detail = json!({"eventType": kind, "contactId": "s-1", "channel": "VOICE",
            "initiationMethod": "INBOUND"});
        detail
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let (status, report) = post(&app, &contact_event(detail));
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["accepted"], 1, "{report}");
    }
    let call = app.wait_synced("s-1");
    assert_eq!(call["group"], "sales", "{call}");
    assert_eq!(call["state"], "ended", "{call}");
    assert_eq!(call["outcome"], "answered", "{call}");
    let (_, log) = app.get("/api/v1/calls");
    let calls = log["calls"].as_array().unwrap_or_else(|| panic!("{log}"));
    assert_eq!(calls.len(), 1, "one call, in one group: {log}");
}
