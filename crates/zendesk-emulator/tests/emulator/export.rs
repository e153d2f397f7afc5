//! The cursor-based incremental exports (Support API reference, "Incremental
//! Exports"; "Using the Incremental Export API").

use std::time::Duration;

use serde_json::Value;
use zendesk_emulator::{SeedTicket, SeedUser, TicketStatus};

use crate::common::{Harness, id};

fn ids(page: &Value, key: &str) -> Vec<u64> {
    page[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {page}"))
        .iter()
        .map(id)
        .collect()
}

#[tokio::test]
async fn users_are_exported_page_by_page_and_changes_come_after_the_cursor() {
    let harness = Harness::new().await;
    harness.emulator.set_export_lag(Duration::ZERO);
    let ann = harness
        .emulator
        .seed_user(SeedUser::end_user("Ann", "+14155550100"));
    let bob = harness
        .emulator
        .seed_user(SeedUser::end_user("Bob", "+14155550101"));

    // The admin, Ann and Bob, two a page.
    let first = harness
        .get("/api/v2/incremental/users/cursor.json?start_time=0&per_page=2")
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    let first = first.json();
    assert_eq!(first["end_of_stream"], false);
    assert_eq!(ids(&first, "users").len(), 2);
    let cursor = first["after_cursor"].as_str().expect("after_cursor");
    assert!(
        first["after_url"]
            .as_str()
            .is_some_and(|url| url.ends_with(&format!("cursor={cursor}")))
    );
    let second = harness
        .get(&format!(
            "/api/v2/incremental/users/cursor.json?cursor={cursor}&per_page=2"
        ))
        .await
        .json();
    assert_eq!(second["end_of_stream"], true);
    assert_eq!(ids(&second, "users"), vec![bob]);
    assert_eq!(second["users"][0]["phone"], "+14155550101");

    // Nothing new: an empty last page whose cursor stays where it was.
    let cursor = second["after_cursor"].as_str().expect("after_cursor");
    let idle = harness
        .get(&format!(
            "/api/v2/incremental/users/cursor.json?cursor={cursor}"
        ))
        .await
        .json();
    assert_eq!(ids(&idle, "users"), Vec::<u64>::new());
    assert_eq!(idle["end_of_stream"], true);
    assert_eq!(idle["after_cursor"], cursor);

    // A user changed since comes again, a new one too.
    let added = harness
        .post(
            &format!("/api/v2/users/{ann}/identities.json"),
            &serde_json::json!({"identity": {"type": "phone_number", "value": "+14155550199"}}),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.text);
    let carl = harness.create_user("Carl", "+14155550102").await;
    let changed = harness
        .get(&format!(
            "/api/v2/incremental/users/cursor.json?cursor={cursor}"
        ))
        .await
        .json();
    assert_eq!(ids(&changed, "users"), vec![ann, carl]);
}

#[tokio::test]
async fn tickets_carry_requester_assignee_status_and_closed_ones_are_exported_too() {
    let harness = Harness::new().await;
    harness.emulator.set_export_lag(Duration::ZERO);
    let agent = harness.emulator.seed_agent("ann@acme.com", "Ann");
    let caller = harness
        .emulator
        .seed_user(SeedUser::end_user("Bob", "+14155550101"));
    let open = harness
        .emulator
        .seed_ticket(SeedTicket::new(caller, "Open").assignee(agent));
    let closed = harness
        .emulator
        .seed_ticket(SeedTicket::new(caller, "Closed").status(TicketStatus::Closed));
    let page = harness
        .get("/api/v2/incremental/tickets/cursor.json?start_time=0")
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    let page = page.json();
    assert_eq!(ids(&page, "tickets"), vec![open, closed]);
    assert_eq!(page["tickets"][0]["requester_id"], caller);
    assert_eq!(page["tickets"][0]["assignee_id"], agent);
    assert_eq!(page["tickets"][1]["status"], "closed");
    assert_eq!(page["end_of_stream"], true);
}

#[tokio::test]
async fn the_last_minute_is_left_out_and_a_recent_start_time_is_refused() {
    let harness = Harness::new().await;
    harness
        .emulator
        .seed_user(SeedUser::end_user("Ann", "+14155550100"));
    let page = harness
        .get("/api/v2/incremental/users/cursor.json?start_time=0")
        .await
        .json();
    assert_eq!(
        ids(&page, "users"),
        Vec::<u64>::new(),
        "users changed within the minute wait for a later export"
    );
    let now = chrono::Utc::now().timestamp();
    let recent = harness
        .get(&format!(
            "/api/v2/incremental/users/cursor.json?start_time={now}"
        ))
        .await;
    assert_eq!(recent.status, 400, "{}", recent.text);
    let missing = harness.get("/api/v2/incremental/users/cursor.json").await;
    assert_eq!(missing.status, 400, "{}", missing.text);
    // "Allowed For: Admins".
    harness.emulator.set_api_role(zendesk_emulator::Role::Agent);
    let agent = harness
        .get("/api/v2/incremental/users/cursor.json?start_time=0")
        .await;
    assert_eq!(agent.status, 403, "{}", agent.text);
}

#[tokio::test]
async fn more_than_ten_exports_a_minute_are_refused_with_retry_after() {
    let harness = Harness::new().await;
    for _ in 0..10 {
        let answer = harness
            .get("/api/v2/incremental/tickets/cursor.json?start_time=0")
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    let refused = harness
        .get("/api/v2/incremental/tickets/cursor.json?start_time=0")
        .await;
    assert_eq!(refused.status, 429);
    assert!(refused.header("retry-after").is_some());
}
