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
