use chrono::{Duration, Utc};
use serde_json::json;

use freshdesk_emulator::{SeedContact, SeedTicket, SeedTicketField};

use crate::common::{Harness, id};

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[tokio::test]
async fn a_phone_only_requester_needs_a_name_and_becomes_a_contact_once() {
    let harness = Harness::new().await;
    let call = json!({"phone": "+15551234567", "subject": "Call", "description": "<p>Hi</p>", "source": 3});
    let nameless = harness.post("/api/v2/tickets", &call).await;
    assert_eq!(nameless.status, 400);
    assert_eq!(nameless.errors(), pairs(&[("name", "missing_field")]));
    assert!(harness.emulator.state().contacts.is_empty());

    let mut named = call.clone();
    named["name"] = json!("Ann Caller");
    let answer = harness.post("/api/v2/tickets", &named).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let ticket = answer.json();
    assert_eq!(ticket["status"], 2);
    assert_eq!(ticket["priority"], 1);
    assert_eq!(ticket["source"], 3);
    assert_eq!(ticket["description_text"], "Hi");
    assert_eq!(
        answer.header("location"),
        Some(
            harness
                .url(&format!("/api/v2/tickets/{}", id(&ticket)))
                .as_str()
        )
    );
    let state = harness.emulator.state();
    let contact = &state.contacts_with_number("+15551234567")[0];
    assert_eq!(contact.name, "Ann Caller");
    assert_eq!(ticket["requester_id"], json!(contact.id));

    // The same number (the phone column) finds the same contact.
    let second = harness.create_ticket(named).await;
    let state = harness.emulator.state();
    assert_eq!(state.contacts.len(), 1);
    assert_eq!(
        state.ticket(second).map(|t| t.requester_id),
        Some(contact.id)
    );
}

#[tokio::test]
async fn a_mobile_is_not_matched_and_an_email_requester_is_found_or_made() {
    let harness = Harness::new().await;
    let mobile_only = harness
        .emulator
        .seed_contact(SeedContact::new("Mo").mobile("+15550009"));
    let ticket = harness
        .create_ticket(
            json!({"phone": "+15550009", "name": "Mo", "subject": "s", "description": "d"}),
        )
        .await;
    let state = harness.emulator.state();
    assert_ne!(
        state.ticket(ticket).map(|t| t.requester_id),
        Some(mobile_only)
    );
    assert_eq!(state.contacts.len(), 2);

    let by_email = harness
        .create_ticket(json!({"email": "new@x.io", "subject": "s", "description": "d"}))
        .await;
    let state = harness.emulator.state();
    let requester = state
        .ticket(by_email)
        .map(|t| t.requester_id)
        .expect("ticket");
    assert_eq!(
        state.contact(requester).map(|c| c.name.as_str()),
        Some("new")
    );
}

#[tokio::test]
async fn ticket_fields_are_validated() {
    let harness = Harness::new().await;
    harness
        .emulator
        .seed_ticket_field(SeedTicketField::text("cf_utm_source", "UTM source").required());
    let ann = harness
        .emulator
        .seed_contact(SeedContact::with_phone("Ann", "1"));
    let answer = harness
        .post(
            "/api/v2/tickets",
            &json!({"requester_id": ann, "subject": "s", "description": "d", "status": 9,
                    "priority": "2", "type": "Call", "responder_id": 42, "source": 4,
                    "tags": ["a,b"], "custom_fields": {"cf_other": 1}, "cc": []}),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.errors(),
        pairs(&[
            ("cc", "invalid_field"),
            ("cf_other", "invalid_field"),
            ("cf_utm_source", "missing_field"),
            ("priority", "datatype_mismatch"),
            ("responder_id", "invalid_value"),
            ("source", "invalid_value"),
            ("status", "invalid_value"),
            ("tags", "invalid_value"),
            ("type", "invalid_value"),
        ])
    );
    let missing = harness
        .post(
            "/api/v2/tickets",
            &json!({"custom_fields": {"cf_utm_source": "x"}}),
        )
        .await;
    assert_eq!(
        missing.errors(),
        pairs(&[
            ("description", "missing_field"),
            ("requester_id", "missing_field"),
            ("subject", "missing_field")
        ])
    );
    let agent = harness.emulator.seed_agent("ann@acme.com", "Ann Agent");
    let good = harness
        .post(
            "/api/v2/tickets",
            &json!({"requester_id": ann, "subject": "s", "description": "d", "type": "Incident",
                    "responder_id": agent, "custom_fields": {"cf_utm_source": "ads"}}),
        )
        .await;
    assert_eq!(good.status, 201, "{}", good.text);
    assert_eq!(
        good.json()["custom_fields"],
        json!({"cf_utm_source": "ads"})
    );
    assert!(harness.emulator.state().tickets.len() == 1);
}

#[tokio::test]
async fn update_works_on_closed_tickets_and_refuses_an_empty_body() {
    let harness = Harness::new().await;
    let ann = harness
        .emulator
        .seed_contact(SeedContact::with_phone("Ann", "1"));
    let ticket = harness
        .emulator
        .seed_ticket(SeedTicket::new(ann, "Old call").status(5));
    let path = format!("/api/v2/tickets/{ticket}");
    let empty = harness.put(&path, &json!({})).await;
    assert_eq!(empty.status, 400);
    assert_eq!(empty.json()["code"], "missing_params");
    let cc = harness.put(&path, &json!({"cc_emails": ["a@x.io"]})).await;
    assert_eq!(cc.errors(), pairs(&[("cc_emails", "invalid_field")]));
    let reopened = harness
        .put(&path, &json!({"status": 2, "priority": 3}))
        .await;
    assert_eq!(reopened.status, 200, "{}", reopened.text);
    assert_eq!(reopened.json()["status"], 2);
    assert_eq!(
        harness.emulator.state().ticket(ticket).map(|t| t.priority),
        Some(3)
    );
}

#[tokio::test]
async fn the_unfiltered_list_shows_the_last_30_days_without_descriptions() {
    let harness = Harness::new().await;
    let ann = harness
        .emulator
        .seed_contact(SeedContact::with_phone("Ann", "1"));
    let old = harness.emulator.seed_ticket(SeedTicket::new(ann, "Old"));
    let new = harness.emulator.seed_ticket(SeedTicket::new(ann, "New"));
    harness
        .emulator
        .backdate_ticket(old, Utc::now() - Duration::days(40));
    let list = harness.get("/api/v2/tickets").await.json();
    let ids: Vec<u64> = list.as_array().expect("array").iter().map(id).collect();
    assert_eq!(ids, [new]);
    assert!(list[0].get("description").is_none());
    let mine = harness
        .get(&format!(
            "/api/v2/tickets?requester_id={ann}&order_type=asc&include=description"
        ))
        .await;
    assert_eq!(mine.header("x-ratelimit-used-currentrequest"), Some("3"));
    let mine = mine.json();
    let ids: Vec<u64> = mine.as_array().expect("array").iter().map(id).collect();
    assert_eq!(ids, [old, new]);
    assert_eq!(mine[0]["description_text"], "Old");
    let far = harness.get("/api/v2/tickets?page=301").await;
    assert_eq!(far.errors(), pairs(&[("page", "invalid_value")]));
}
