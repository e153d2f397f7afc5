use std::time::Duration;

use serde_json::json;

use freshdesk_emulator::{EmulatorConfig, SeedContact, SeedTicket, SeedTicketField};

use crate::common::{Harness, config, id};

fn search_path(kind: &str, query: &str) -> String {
    let encoded: String = query
        .chars()
        .map(|c| match c {
            ' ' => "%20".to_owned(),
            '+' => "%2B".to_owned(),
            '"' => "%22".to_owned(),
            '\'' => "%27".to_owned(),
            c => c.to_string(),
        })
        .collect();
    format!("/api/v2/search/{kind}?query={encoded}")
}

#[tokio::test]
async fn a_new_contact_reaches_search_only_after_the_index_lag() {
    let harness = Harness::start(EmulatorConfig {
        search_lag: Duration::from_millis(800),
        ..config()
    })
    .await;
    let seeded = harness
        .emulator
        .seed_contact(SeedContact::with_phone("Old", "+15550001"));
    let by_phone = search_path("contacts", "\"phone:'+15550001' OR phone:'+15550002'\"");
    let first = harness.get(&by_phone).await.json();
    assert_eq!(first["total"], 1, "seeded records are indexed at once");
    assert_eq!(first["results"][0]["id"], json!(seeded));

    let new = harness
        .create_contact(json!({"name": "New", "phone": "+15550002"}))
        .await;
    assert_eq!(harness.get(&by_phone).await.json()["total"], 1, "not yet");
    // The list filter reads the database: no lag.
    let listed = harness
        .get("/api/v2/contacts?phone=%2B15550002")
        .await
        .json();
    assert_eq!(listed[0]["id"], json!(new));
    // A change is found as it was until the lag has passed.
    harness
        .put(
            &format!("/api/v2/contacts/{seeded}"),
            &json!({"phone": "+15550003"}),
        )
        .await;
    let stale = harness.get(&by_phone).await.json();
    assert_eq!(stale["results"][0]["phone"], "+15550001");

    tokio::time::sleep(Duration::from_millis(900)).await;
    let later = harness.get(&by_phone).await;
    assert!(later.header("link").is_none());
    let later = later.json();
    assert_eq!(later["total"], 1);
    assert_eq!(later["results"][0]["id"], json!(new));
}

#[tokio::test]
async fn tickets_are_searched_by_status_priority_and_custom_fields() {
    let harness = Harness::new().await;
    harness
        .emulator
        .seed_ticket_field(SeedTicketField::text("cf_call_id", "Call id"));
    let ann = harness
        .emulator
        .seed_contact(SeedContact::with_phone("Ann", "1"));
    let open = harness
        .emulator
        .seed_ticket(SeedTicket::new(ann, "Call").custom_field("cf_call_id", "C-7"));
    harness
        .emulator
        .seed_ticket(SeedTicket::new(ann, "Other").status(5));
    let answer = harness
        .get(&search_path(
            "tickets",
            "\"cf_call_id:'C-7' AND (status:2 OR status:3)\"",
        ))
        .await
        .json();
    assert_eq!(answer["total"], 1);
    assert_eq!(answer["results"][0]["id"], json!(open));
    assert_eq!(answer["results"][0]["custom_fields"]["cf_call_id"], "C-7");
    let closed = harness
        .get(&search_path("tickets", "\"status:>4\""))
        .await
        .json();
    assert_eq!(closed["total"], 1);
    let unknown = harness
        .get(&search_path("tickets", "\"cf_nope:'x'\""))
        .await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.json()["errors"][0]["code"], "invalid_field");
}

#[tokio::test]
async fn bad_queries_and_pages_are_refused() {
    let harness = Harness::new().await;
    let unquoted = harness.get(&search_path("contacts", "phone:'1'")).await;
    assert_eq!(unquoted.status, 400);
    let long = format!("\"{}\"", vec!["phone:'1'"; 60].join(" OR "));
    assert_eq!(
        harness.get(&search_path("contacts", &long)).await.status,
        400
    );
    let page = format!("{}&page=11", search_path("contacts", "\"phone:'1'\""));
    assert_eq!(harness.get(&page).await.status, 400);
    let per_page = format!("{}&per_page=5", search_path("contacts", "\"phone:'1'\""));
    assert_eq!(harness.get(&per_page).await.status, 400);
    // 31 matches: 30 on the first page, `total` counts all.
    for n in 0..31 {
        harness
            .emulator
            .seed_contact(SeedContact::with_phone(format!("C{n}"), "+1"));
    }
    let first = harness
        .get(&search_path("contacts", "\"phone:'+1'\""))
        .await
        .json();
    assert_eq!(first["total"], 31);
    assert_eq!(first["results"].as_array().map(Vec::len), Some(30));
    let second = format!("{}&page=2", search_path("contacts", "\"phone:'+1'\""));
    let second = harness.get(&second).await.json();
    assert_eq!(
        second["results"]
            .as_array()
            .map(|r| r.iter().map(id).count()),
        Some(1)
    );
}
