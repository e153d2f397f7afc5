use std::time::Duration;

use serde_json::json;

use freshdesk_emulator::{EmulatorConfig, Plan};

use crate::common::{Harness, config};

#[tokio::test]
async fn every_answer_carries_the_account_budget() {
    let harness = Harness::start(EmulatorConfig {
        plan: Plan::Pro,
        ..config()
    })
    .await;
    let first = harness.get("/api/v2/agents/me").await;
    assert_eq!(first.header("x-ratelimit-total"), Some("400"));
    assert_eq!(first.header("x-ratelimit-remaining"), Some("399"));
    assert_eq!(first.header("x-ratelimit-used-currentrequest"), Some("1"));
    // Invalid requests count too.
    let invalid = harness.post("/api/v2/contacts", &json!({})).await;
    assert_eq!(invalid.status, 400);
    assert_eq!(invalid.header("x-ratelimit-remaining"), Some("398"));
}

#[tokio::test]
async fn an_endpoint_limit_answers_429_with_retry_after_while_others_are_served() {
    let harness = Harness::start(EmulatorConfig {
        rate_limit_window: Duration::from_secs(2),
        ..config()
    })
    .await;
    // Growth: 20 ticket lists a minute (here: a window).
    for _ in 0..20 {
        assert_eq!(harness.get("/api/v2/tickets").await.status, 200);
    }
    let limited = harness.get("/api/v2/tickets").await;
    assert_eq!(limited.status, 429);
    let retry_after: u64 = limited
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert!(
        limited.header("x-ratelimit-remaining").is_none(),
        "none on 429"
    );
    assert!(limited.json()["message"].is_string());
    assert_eq!(harness.get("/api/v2/contacts").await.status, 200);
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(harness.get("/api/v2/tickets").await.status, 200);
    let stats = harness.emulator.stats();
    assert_eq!(stats.throttled, 1);
    assert_eq!(stats.during_retry_after, 0);
    assert_eq!(stats.requests_to("GET /api/v2/tickets"), 22);
}

#[tokio::test]
async fn the_account_limit_covers_every_endpoint() {
    let harness = Harness::start(EmulatorConfig {
        requests_per_minute: Some(3),
        ..config()
    })
    .await;
    for remaining in ["2", "1", "0"] {
        let answer = harness.get("/api/v2/ticket_fields").await;
        assert_eq!(answer.header("x-ratelimit-remaining"), Some(remaining));
    }
    let limited = harness
        .post("/api/v2/contacts", &json!({"name": "A", "phone": "1"}))
        .await;
    assert_eq!(limited.status, 429);
    assert!(harness.emulator.state().contacts.is_empty());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(harness.get("/api/v2/agents/me").await.status, 429);
    assert_eq!(harness.emulator.stats().during_retry_after, 1);
}
