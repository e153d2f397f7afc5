use chrono::{Duration, Utc};
use serde_json::json;

use freshdesk_emulator::{SeedContact, SeedTicket};

use crate::common::{Harness, id};

#[tokio::test]
async fn a_closed_ticket_takes_a_private_note_and_moves_its_updated_at() {
    let harness = Harness::new().await;
    let ann = harness
        .emulator
        .seed_contact(SeedContact::with_phone("Ann", "1"));
    let ticket = harness.emulator.seed_ticket(SeedTicket::new(ann, "Call"));
    harness.emulator.close_ticket(ticket);
    harness
        .emulator
        .backdate_ticket(ticket, Utc::now() - Duration::days(2));
    let before = harness
        .emulator
        .state()
        .ticket(ticket)
        .map(|t| t.updated_at);

    let answer = harness
        .post(
            &format!("/api/v2/tickets/{ticket}/notes"),
            &json!({"body": "<div>Call ended &amp; logged</div>"}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let note = answer.json();
    let note_id = id(&note);
    assert_eq!(note["private"], true);
    assert_eq!(note["incoming"], false);
    assert_eq!(note["body_text"], "Call ended & logged");
    assert_eq!(note["user_id"], json!(harness.emulator.owner_id()));
    assert_eq!(
        answer.header("location"),
        Some(
            harness
                .url(&format!("/api/v2/conversations/{note_id}"))
                .as_str()
        )
    );
    let state = harness.emulator.state();
    let closed = state.ticket(ticket).expect("ticket");
    assert_eq!(closed.status, 5, "a note does not reopen");
    assert!(Some(closed.updated_at) > before);
    assert_eq!(state.notes_of(ticket).len(), 1);

    let conversations = harness
        .get(&format!("/api/v2/tickets/{ticket}/conversations"))
        .await
        .json();
    assert_eq!(conversations[0]["id"], json!(note_id));
    let view = harness
        .get(&format!(
            "/api/v2/tickets/{ticket}?include=conversations,requester"
        ))
        .await;
    assert_eq!(view.header("x-ratelimit-used-currentrequest"), Some("3"));
    let view = view.json();
    assert_eq!(view["conversations"][0]["body"], note["body"]);
    assert_eq!(view["requester"]["phone"], "1");
}

#[tokio::test]
async fn a_note_needs_a_body_and_a_real_author() {
    let harness = Harness::new().await;
    let ann = harness
        .emulator
        .seed_contact(SeedContact::with_phone("Ann", "1"));
    let ticket = harness.emulator.seed_ticket(SeedTicket::new(ann, "Call"));
    let path = format!("/api/v2/tickets/{ticket}/notes");
    let answer = harness
        .post(
            &path,
            &json!({"private": "yes", "user_id": 12, "notify_emails": ["x@y.io"]}),
        )
        .await;
    assert_eq!(answer.status, 400);
    let fields: Vec<String> = answer.errors().into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, ["body", "notify_emails", "private", "user_id"]);
    let agent = harness.emulator.seed_agent("bo@acme.com", "Bo");
    let public = harness
        .post(&path, &json!({"body": "hi", "private": false, "user_id": ann, "notify_emails": ["bo@acme.com"]}))
        .await;
    assert_eq!(public.status, 201, "{}", public.text);
    assert_eq!(public.json()["to_emails"], json!(["bo@acme.com"]));
    assert!(agent > 0);
}
