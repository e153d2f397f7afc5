use serde_json::json;

use freshdesk_emulator::EmulatorConfig;

use crate::common::{Harness, config};

#[tokio::test]
async fn a_fault_after_the_write_leaves_the_record_for_the_client_to_find() {
    let harness = Harness::new().await;
    harness.emulator.fail_next_after_write(1, 503);
    let contact = json!({"name": "Ann", "email": "ann@x.io", "phone": "+15550001"});
    let lost = harness.post("/api/v2/contacts", &contact).await;
    assert_eq!(lost.status, 503);
    let state = harness.emulator.state();
    assert_eq!(state.contacts.len(), 1, "the contact was made");
    let made = state.contacts[0].id;
    // A retry learns the contact's id from the 409.
    let retry = harness.post("/api/v2/contacts", &contact).await;
    assert_eq!(retry.status, 409);
    assert_eq!(
        retry.json()["errors"][0]["additional_info"]["user_id"],
        json!(made)
    );
    // A ticket retried blindly is made twice: there is no idempotency key.
    harness.emulator.fail_next_after_write(1, 500);
    let ticket = json!({"requester_id": made, "subject": "Call", "description": "d"});
    assert_eq!(harness.post("/api/v2/tickets", &ticket).await.status, 500);
    assert_eq!(harness.post("/api/v2/tickets", &ticket).await.status, 201);
    assert_eq!(harness.emulator.state().tickets.len(), 2);
    assert_eq!(harness.emulator.stats().faults, 2);
}

#[tokio::test]
async fn a_fault_before_the_write_changes_nothing() {
    let harness = Harness::new().await;
    harness.emulator.fail_next(1, 500);
    let answer = harness
        .post("/api/v2/contacts", &json!({"name": "Ann", "phone": "1"}))
        .await;
    assert_eq!(answer.status, 500);
    assert_eq!(
        answer.json(),
        json!({"message": "We're sorry, but something went wrong."})
    );
    assert!(harness.emulator.state().contacts.is_empty());
    harness.emulator.fail_next(1, 429);
    let throttled = harness.get("/api/v2/agents/me").await;
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.header("retry-after"), Some("1"));
}

/// With a fail rate, some writes fail after being made: more contacts exist
/// than the client was told of, and the same seed fails the same requests.
#[tokio::test]
async fn random_faults_are_reproducible_and_some_come_after_the_write() {
    async fn run() -> (Vec<u16>, usize) {
        let harness = Harness::start(EmulatorConfig {
            fail_rate: 0.5,
            seed: 11,
            ..config()
        })
        .await;
        let mut statuses = Vec::new();
        for n in 0..40 {
            let body = json!({"name": format!("C{n}"), "phone": "1"});
            statuses.push(harness.post("/api/v2/contacts", &body).await.status);
        }
        (statuses, harness.emulator.state().contacts.len())
    }
    let (statuses, contacts) = run().await;
    assert_eq!(run().await, (statuses.clone(), contacts));
    let created = statuses.iter().filter(|&&s| s == 201).count();
    assert!(
        statuses.iter().all(|s| [201, 500, 503].contains(s)),
        "{statuses:?}"
    );
    assert!(created < 40, "{statuses:?}");
    assert!(contacts > created, "some writes were made and then failed");
}
