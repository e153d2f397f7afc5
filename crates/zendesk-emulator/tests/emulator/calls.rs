//! Talk Partner Edition call records: `POST /api/v2/calls` ("Calls", Talk
//! Partner Edition API reference; "Creating a voice comment in ticket").

use serde_json::json;
use zendesk_emulator::{SeedTicket, SeedUser};

use crate::common::Harness;

fn call(ticket: u64) -> serde_json::Value {
    json!({"call": {
        "app_id": 735264019863524u64,
        "from_line": "+14155550100",
        "to_line": "+14155550199",
        "call_started_at": "2026-11-28T10:00:00+00:00",
        "call_ended_at": "2026-11-28T10:01:00+00:00",
        "direction": "inbound",
        "ticket_id": ticket,
        "recording_url": "https://pbx.example.com/rec/1.mp3",
        "external_id": "deskbridge:support/c1/log_call",
        "comment": {"title": "Inbound call from +14155550100", "public": false}
    }})
}

#[tokio::test]
async fn a_call_record_is_stored_and_its_comment_lands_on_the_ticket() {
    let harness = Harness::new().await;
    let caller = harness
        .emulator
        .seed_user(SeedUser::end_user("Caller", "+14155550100"));
    let ticket = harness
        .emulator
        .seed_ticket(SeedTicket::new(caller, "Call"));

    let made = harness.post("/api/v2/calls", &call(ticket)).await;
    assert_eq!(made.status, 201, "{:?}", made.json());
    let body = made.json();
    let call_id = body["call"]["id"].as_u64().expect("a call id");
    assert_eq!(body["call"]["ticket_id"], ticket);
    assert!(body["call"].get("comment").is_none(), "{body}");

    // Read back as stored.
    let shown = harness.get(&format!("/api/v2/calls/{call_id}")).await;
    assert_eq!(shown.status, 200);
    assert_eq!(shown.json()["call"]["from_line"], "+14155550100");

    // The ticket's newest comment is the Talk Partner Edition voice comment,
    // showing the call's fields.
    let comments = harness
        .get(&format!(
            "/api/v2/tickets/{ticket}/comments.json?sort_order=desc"
        ))
        .await
        .json();
    let newest = &comments["comments"][0];
    assert_eq!(newest["type"], "TpeVoiceComment", "{comments}");
    assert_eq!(newest["data"]["call_id"], call_id);
    assert_eq!(
        newest["data"]["external_id"],
        "deskbridge:support/c1/log_call"
    );
    assert_eq!(newest["public"], false);
    let text = newest["body"].as_str().unwrap();
    assert!(text.starts_with("Inbound call from +14155550100"), "{text}");
    assert!(text.contains("https://pbx.example.com/rec/1.mp3"), "{text}");

    // Without a comment section the ticket gets nothing ("Creating a call
    // record doesn't generate any output on the ticket").
    let mut quiet = call(ticket);
    quiet["call"].as_object_mut().unwrap().remove("comment");
    assert_eq!(harness.post("/api/v2/calls", &quiet).await.status, 201);
    assert_eq!(harness.emulator.state().comments_of(ticket).len(), 2);
    assert_eq!(harness.emulator.state().calls.len(), 2);
}

#[tokio::test]
async fn mandatory_fields_are_refused_with_422_and_nothing_is_stored() {
    let harness = Harness::new().await;
    let caller = harness
        .emulator
        .seed_user(SeedUser::end_user("Caller", "+14155550100"));
    let ticket = harness
        .emulator
        .seed_ticket(SeedTicket::new(caller, "Call"));
    for field in [
        "app_id",
        "from_line",
        "to_line",
        "call_started_at",
        "direction",
    ] {
        let mut body = call(ticket);
        body["call"].as_object_mut().unwrap().remove(field);
        let refused = harness.post("/api/v2/calls", &body).await;
        assert_eq!(refused.status, 422, "{field}");
        assert!(
            refused.json()["details"].get(field).is_some(),
            "{field}: {:?}",
            refused.json()
        );
    }
    let mut wrong = call(ticket);
    wrong["call"]["direction"] = json!("sideways");
    assert_eq!(harness.post("/api/v2/calls", &wrong).await.status, 422);
    assert_eq!(harness.post("/api/v2/calls", &call(999)).await.status, 422);
    assert!(harness.emulator.state().calls.is_empty());
    assert_eq!(harness.emulator.state().comments_of(ticket).len(), 1);
}

#[tokio::test]
async fn an_account_without_talk_partner_edition_is_forbidden() {
    let harness = Harness::new().await;
    harness.emulator.set_talk_partner_edition(false);
    let caller = harness
        .emulator
        .seed_user(SeedUser::end_user("Caller", "+14155550100"));
    let ticket = harness
        .emulator
        .seed_ticket(SeedTicket::new(caller, "Call"));
    assert_eq!(
        harness.post("/api/v2/calls", &call(ticket)).await.status,
        403
    );
    assert!(harness.emulator.state().calls.is_empty());
}
