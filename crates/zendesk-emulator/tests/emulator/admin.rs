use serde_json::json;

use crate::common::Harness;

#[tokio::test]
async fn control_endpoints_need_no_auth_and_are_not_counted() {
    let harness = Harness::new().await;
    let post = |path: &str, body: serde_json::Value| {
        harness.raw(harness.client.post(harness.url(path)).json(&body))
    };

    let agents = post(
        "/__emulator/seed/agents",
        json!([{"email": "ann@acme.com", "name": "Ann"}]),
    )
    .await;
    assert_eq!(agents.status, 201, "{}", agents.text);
    let agent = agents.json()["ids"][0].as_u64().expect("agent id");
    let users = post(
        "/__emulator/seed/users",
        json!({"users": [{"name": "Caller", "phone": "+14155550100"}]}),
    )
    .await;
    let caller = users.json()["ids"][0].as_u64().expect("user id");
    let tickets = post(
        "/__emulator/seed/tickets",
        json!({"requester_id": caller, "subject": "Old", "description": "d", "status": "closed", "assignee_id": agent}),
    )
    .await;
    assert_eq!(tickets.status, 201, "{}", tickets.text);
    let fields = post(
        "/__emulator/seed/ticket_fields",
        json!({"id": 360_001, "type": "text", "title": "Dialed"}),
    )
    .await;
    assert_eq!(fields.status, 201, "{}", fields.text);

    // Seeded users are searchable at once.
    let found = harness
        .get("/api/v2/search?query=role:end-user%20phone:14155550100")
        .await
        .json();
    assert_eq!(found["results"][0]["id"], caller);

    let faults = post(
        "/__emulator/faults",
        json!({"fail_rate": 0.0, "latency_ms": 0, "requests_per_minute": 100}),
    )
    .await;
    assert_eq!(faults.status, 200);
    assert_eq!(faults.json()["requests_per_minute"], 100);
    let limited = harness.get("/api/v2/users/me").await;
    assert_eq!(limited.header("x-rate-limit"), Some("100"));
    let unlimited = post("/__emulator/faults", json!({"requests_per_minute": null})).await;
    assert_eq!(unlimited.json()["requests_per_minute"], json!(null));

    let stats = harness
        .raw(harness.client.get(harness.url("/__emulator/stats")))
        .await
        .json();
    assert_eq!(stats["total_requests"], 2, "{stats}");
    for key in [
        "total_requests",
        "endpoints",
        "rate_limited",
        "injected_failures",
        "requests_during_retry_after",
        "pops",
    ] {
        assert!(stats.get(key).is_some(), "stats lacks {key}");
    }

    let state = harness
        .raw(harness.client.get(harness.url("/__emulator/state")))
        .await
        .json();
    assert_eq!(state["tickets"][0]["status"], "closed");

    let reset = post("/__emulator/reset", json!({})).await;
    assert_eq!(reset.status, 200);
    let after = harness.emulator.state();
    assert_eq!(after.users.len(), 1, "only the admin is left");
    assert!(after.tickets.is_empty());
    assert_eq!(harness.emulator.stats().total_requests, 0);
    assert_eq!(harness.get("/api/v2/users/me").await.status, 200);
}
