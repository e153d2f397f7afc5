use std::time::{Duration, Instant};

use serde_json::json;
use zendesk_emulator::EmulatorConfig;

use crate::common::{Harness, config};

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after_and_counts_impatient_requests() {
    let harness = Harness::start(EmulatorConfig {
        requests_per_minute: Some(3),
        ..config()
    })
    .await;
    for remaining in ["2", "1", "0"] {
        let answer = harness.get("/api/v2/users/me.json").await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("x-rate-limit"), Some("3"));
        assert_eq!(answer.header("x-rate-limit-remaining"), Some(remaining));
    }
    let limited = harness.get("/api/v2/users/me.json").await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.text, "Rate limit exceeded");
    assert!(
        limited
            .header("content-type")
            .is_some_and(|value| value.starts_with("text/plain"))
    );
    let retry_after: u64 = limited
        .header("retry-after")
        .and_then(|value| value.parse().ok())
        .expect("Retry-After seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(limited.header("x-rate-limit-remaining"), Some("0"));

    // A client that ignores Retry-After: a request started after the 429 was
    // received (later than a request still in flight could arrive).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let impatient = harness
        .post("/api/v2/users", &json!({"user": {"name": "X"}}))
        .await;
    assert_eq!(impatient.status, 429);

    let stats = harness.emulator.stats();
    assert_eq!(stats.total_requests, 5);
    assert_eq!(stats.rate_limited, 2);
    assert_eq!(stats.requests_during_retry_after, 1);
    assert_eq!(stats.requests_to("GET /api/v2/users/me"), 4);
    assert_eq!(stats.requests_to("POST /api/v2/users"), 1);
    assert_eq!(harness.emulator.state().users.len(), 1, "nothing created");

    // Lifting the limit at run time.
    harness.emulator.set_rate_limit(None);
    let free = harness.get("/api/v2/users/me").await;
    assert_eq!(free.status, 200);
    assert_eq!(free.header("x-rate-limit"), None);
}

#[tokio::test]
async fn injected_failures_happen_before_any_state_change() {
    let harness = Harness::start(EmulatorConfig {
        fail_rate: 1.0,
        ..config()
    })
    .await;
    let answer = harness
        .post(
            "/api/v2/users",
            &json!({"user": {"name": "X", "phone": "+14155550100"}}),
        )
        .await;
    assert_eq!(answer.status, 500);
    assert_eq!(answer.json(), json!({"error": "InternalError"}));
    assert_eq!(harness.emulator.state().users.len(), 1);
    let stats = harness.emulator.stats();
    assert_eq!(stats.injected_failures, 1);
    assert_eq!(stats.requests_to("POST /api/v2/users"), 1);
    // Control endpoints are never failed.
    let control = harness
        .raw(harness.client.get(harness.url("/__emulator/stats")))
        .await;
    assert_eq!(control.status, 200);
}

async fn failure_pattern(seed: u64) -> Vec<u16> {
    let harness = Harness::start(EmulatorConfig {
        fail_rate: 0.5,
        seed,
        ..config()
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..24 {
        statuses.push(harness.get("/api/v2/users/me").await.status);
    }
    statuses
}

#[tokio::test]
async fn failures_are_deterministic_from_the_seed() {
    let first = failure_pattern(42).await;
    let second = failure_pattern(42).await;
    assert_eq!(first, second);
    let failures = first.iter().filter(|&&status| status == 500).count();
    assert!((3..=21).contains(&failures), "{first:?}");
    assert!(first.iter().all(|&status| status == 200 || status == 500));
}

#[tokio::test]
async fn latency_delays_responses() {
    let harness = Harness::new().await;
    harness.emulator.set_faults(0.0, Duration::from_millis(150));
    let started = Instant::now();
    assert_eq!(harness.get("/api/v2/users/me").await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    harness.emulator.set_faults(0.0, Duration::ZERO);
}
