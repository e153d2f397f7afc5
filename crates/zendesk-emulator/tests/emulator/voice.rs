use serde_json::json;
use zendesk_emulator::{PopKind, SeedTicket, SeedUser};

use crate::common::Harness;

#[tokio::test]
async fn pops_are_delivered_to_agents_and_recorded() {
    let harness = Harness::new().await;
    let agent = harness.emulator.seed_agent("ann@acme.com", "Ann");
    let caller = harness
        .emulator
        .seed_user(SeedUser::end_user("Caller", "+14155550100"));
    let ticket = harness
        .emulator
        .seed_ticket(SeedTicket::new(caller, "Call"));

    let ticket_pop = harness
        .post(
            &format!("/api/v2/channels/voice/agents/{agent}/tickets/{ticket}/display.json"),
            &json!({}),
        )
        .await;
    assert_eq!(ticket_pop.status, 200);
    assert_eq!(ticket_pop.json(), json!({}));
    let user_pop = harness
        .post(
            &format!("/api/v2/channels/voice/agents/{agent}/users/{caller}/display"),
            &json!({}),
        )
        .await;
    assert_eq!(user_pop.status, 200);

    // Not an agent, unknown ticket, unknown user.
    for path in [
        format!("/api/v2/channels/voice/agents/{caller}/tickets/{ticket}/display"),
        format!("/api/v2/channels/voice/agents/{agent}/tickets/999/display"),
        format!("/api/v2/channels/voice/agents/{agent}/users/5/display"),
    ] {
        assert_eq!(harness.post(&path, &json!({})).await.status, 404, "{path}");
    }

    let stats = harness.emulator.stats();
    let pops = &stats.pops[&agent];
    assert_eq!(pops.len(), 2);
    assert_eq!((pops[0].kind, pops[0].id), (PopKind::Ticket, ticket));
    assert_eq!((pops[1].kind, pops[1].id), (PopKind::User, caller));
    assert_eq!(stats.pop_count(), 2);

    let over_http = harness
        .raw(harness.client.get(harness.url("/__emulator/stats")))
        .await
        .json();
    assert_eq!(over_http["pops"][agent.to_string()][0]["kind"], "ticket");
    assert_eq!(
        over_http["endpoints"]["POST /api/v2/channels/voice/agents/{agent_id}/tickets/{ticket_id}/display"],
        3
    );
}

/// "When the message is successfully delivered to an agent's browser: 200";
/// an agent with no browser open gets nothing, and the only failure Zendesk
/// documents is the 404.
#[tokio::test]
async fn a_pop_for_an_agent_not_signed_in_is_a_404_and_not_recorded() {
    let harness = Harness::new().await;
    let agent = harness.emulator.seed_agent("ann@acme.com", "Ann");
    let caller = harness
        .emulator
        .seed_user(SeedUser::end_user("Caller", "+14155550100"));
    let path = format!("/api/v2/channels/voice/agents/{agent}/users/{caller}/display.json");
    harness.emulator.set_signed_in(agent, false);
    assert_eq!(harness.post(&path, &json!({})).await.status, 404);
    assert!(harness.emulator.stats().pops.is_empty());
    harness.emulator.set_signed_in(agent, true);
    assert_eq!(harness.post(&path, &json!({})).await.status, 200);
    assert_eq!(harness.emulator.stats().pop_count(), 1);
}

/// Talk Partner Edition's Create Ticket: a `via_id` of 44, 45 or 46 is
/// required; `display_to_agent` opens the new ticket in that agent's browser;
/// a `voice_comment` is the call's details as the first comment.
#[tokio::test]
async fn tickets_created_by_a_telephony_partner_pop_for_their_agent() {
    let harness = Harness::new().await;
    let agent = harness.emulator.seed_agent("ann@acme.com", "Ann");
    let caller = harness
        .emulator
        .seed_user(SeedUser::end_user("Caller", "+14155550100"));
    let path = "/api/v2/channels/voice/tickets.json";
    let without_via = harness
        .post(
            path,
            &json!({"ticket": {"subject": "Call", "comment": {"body": "x"}}}),
        )
        .await;
    assert_eq!(without_via.status, 422, "{}", without_via.text);
    assert!(without_via.text.contains("via_id"), "{}", without_via.text);

    // "The display_to_agent is validated before creating the ticket, returning
    // a 422 error if it is invalid."
    let refused = harness
        .post(
            path,
            &json!({"display_to_agent": caller, "ticket": {
                "subject": "Inbound call", "requester_id": caller, "via_id": 45,
                "comment": {"body": "x"}}}),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(
        refused.text.contains("display_to_agent"),
        "{}",
        refused.text
    );
    assert!(
        harness.emulator.state().tickets.is_empty(),
        "no ticket made"
    );
    let made = harness
        .post(
            path,
            &json!({"display_to_agent": agent, "ticket": {
                "subject": "Inbound call", "requester_id": caller, "via_id": 45,
                "comment": {"body": "Call from +14155550100", "public": false}}}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let ticket = made.json()["ticket"]["id"].as_u64().unwrap();
    let pops = &harness.emulator.stats().pops[&agent];
    assert_eq!((pops[0].kind, pops[0].id), (PopKind::Ticket, ticket));

    let voicemail = harness
        .post(
            path,
            &json!({"ticket": {"via_id": 44, "requester_id": caller, "voice_comment": {
                "from": "+14155550100", "to": "+14155550199",
                "recording_url": "https://rec.example/1.mp3",
                "started_at": "2026-11-28T10:00:00Z", "call_duration": 40}}}),
        )
        .await;
    assert_eq!(voicemail.status, 201, "{}", voicemail.text);
    let id = voicemail.json()["ticket"]["id"].as_u64().unwrap();
    let comments = harness
        .get(&format!("/api/v2/tickets/{id}/comments.json"))
        .await
        .json();
    let body = comments["comments"][0]["body"].as_str().unwrap();
    assert!(body.contains("https://rec.example/1.mp3"), "{body}");
    assert!(body.contains("40"), "{body}");
    assert_eq!(
        harness.emulator.stats().pop_count(),
        1,
        "no display_to_agent"
    );
}

/// `custom_field_{id}:value` finds tickets by a custom field's value.
#[tokio::test]
async fn search_finds_tickets_by_a_custom_field() {
    let harness = Harness::new().await;
    let caller = harness
        .emulator
        .seed_user(SeedUser::end_user("Caller", "+14155550100"));
    let mut marked = SeedTicket::new(caller, "Marked");
    marked.custom_fields.insert(360, json!("+14155550123"));
    let marked = harness.emulator.seed_ticket(marked);
    harness
        .emulator
        .seed_ticket(SeedTicket::new(caller, "Plain"));
    let found = harness
        .get("/api/v2/search.json?query=type%3Aticket%20custom_field_360%3A%22%2B14155550123%22")
        .await
        .json();
    let ids: Vec<u64> = found["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [marked]);
}
