use std::time::Duration;

use chrono::{TimeZone, Utc};
use serde_json::json;
use zendesk_emulator::{
    SeedTicket, SeedTicketField, SeedTicketForm, SeedUser, TICKET_UPDATES_PER_WINDOW, TicketStatus,
    UpdateFault,
};

use crate::common::{Harness, id};

#[tokio::test]
async fn create_ticket_with_comment_returns_ticket_and_audit() {
    let harness = Harness::new().await;
    let caller = harness
        .emulator
        .seed_user(SeedUser::end_user("Caller", "+14155550100"));
    let agent = harness.emulator.seed_agent("ann@acme.com", "Ann");
    harness
        .emulator
        .seed_ticket_field(SeedTicketField::new(360_001, "text", "Dialed number"));
    let answer = harness
        .post(
            "/api/v2/tickets.json",
            &json!({"ticket": {
                "subject": "Inbound call from +14155550100",
                "requester_id": caller,
                "assignee_id": agent,
                "priority": "normal",
                "type": "question",
                "tags": ["phone", "inbound"],
                "custom_fields": [{"id": 360_001, "value": "+18005550000"}],
                "comment": {"body": "Call answered by Ann, 42 s", "public": false},
            }}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let body = answer.json();
    let ticket = &body["ticket"];
    assert_eq!(ticket["requester_id"], caller);
    assert_eq!(ticket["assignee_id"], agent);
    assert_eq!(ticket["status"], "open", "assigned tickets start open");
    assert_eq!(ticket["priority"], "normal");
    assert_eq!(ticket["type"], "question");
    assert_eq!(ticket["description"], "Call answered by Ann, 42 s");
    assert_eq!(ticket["is_public"], false);
    assert_eq!(
        ticket["custom_fields"],
        json!([{"id": 360_001, "value": "+18005550000"}])
    );
    assert!(
        ticket["url"]
            .as_str()
            .is_some_and(|url| url.starts_with("http://127.0.0.1:")),
        "url from Host: {}",
        ticket["url"]
    );

    let audit = &body["audit"];
    let events = audit["events"].as_array().expect("events");
    let comment = events
        .iter()
        .find(|event| event["type"] == "Comment")
        .expect("a Comment event");
    assert_eq!(comment["body"], "Call answered by Ann, 42 s");
    assert_eq!(comment["public"], false);
    assert_eq!(comment["audit_id"], audit["id"]);
    let comment_id = id(comment);

    let ticket_id = id(ticket);
    let comments = harness
        .get(&format!("/api/v2/tickets/{ticket_id}/comments.json"))
        .await
        .json();
    assert_eq!(comments["count"], 1);
    assert_eq!(comments["comments"][0]["id"], comment_id);
    assert_eq!(comments["comments"][0]["type"], "Comment");
    assert_eq!(comments["comments"][0]["public"], false);
    let state = harness.emulator.state();
    assert_eq!(state.comments_of(ticket_id).len(), 1);
}

#[tokio::test]
async fn requester_defaults_to_the_admin() {
    let harness = Harness::new().await;
    let answer = harness
        .post(
            "/api/v2/tickets",
            &json!({"ticket": {"subject": "s", "comment": {"body": "b"}}}),
        )
        .await;
    assert_eq!(answer.status, 201);
    let admin = harness.emulator.state().admin_id;
    assert_eq!(answer.json()["ticket"]["requester_id"], admin);
    assert_eq!(answer.json()["ticket"]["status"], "new");
}

#[tokio::test]
async fn ticket_validation_errors_change_nothing() {
    let harness = Harness::new().await;
    let end_user = harness.emulator.seed_user(SeedUser::new("E"));
    let cases = [
        (json!({"subject": "no comment"}), "comment"),
        (
            json!({"comment": {"body": "x"}, "priority": "asap"}),
            "priority",
        ),
        (json!({"comment": {"body": "x"}, "type": "call"}), "type"),
        (
            json!({"comment": {"body": "x"}, "status": "closed"}),
            "status",
        ),
        (
            json!({"comment": {"body": "x"}, "requester_id": 42}),
            "requester_id",
        ),
        (
            json!({"comment": {"body": "x"}, "assignee_id": end_user}),
            "assignee_id",
        ),
        (
            json!({"comment": {"body": "x"}, "custom_fields": [{"id": 77, "value": "v"}]}),
            "custom_fields",
        ),
        (
            json!({"comment": {"body": "x"}, "ticket_form_id": 5}),
            "ticket_form_id",
        ),
    ];
    for (ticket, field) in cases {
        let answer = harness
            .post("/api/v2/tickets", &json!({"ticket": ticket}))
            .await;
        assert_eq!(answer.status, 422, "{field}: {}", answer.text);
        assert_eq!(answer.json()["error"], "RecordInvalid");
        assert!(
            answer.json()["details"][field].is_array(),
            "{field}: {}",
            answer.text
        );
    }
    assert!(harness.emulator.state().tickets.is_empty());
}

#[tokio::test]
async fn idempotency_key_miss_hit_and_conflict() {
    let harness = Harness::new().await;
    let body = json!({"ticket": {"subject": "Call", "comment": {"body": "first"}}});
    let first = harness
        .post_with_key("/api/v2/tickets.json", "default/call-1/ticket", &body)
        .await;
    assert_eq!(first.status, 201);
    assert_eq!(first.header("x-idempotency-lookup"), Some("miss"));

    let retry = harness
        .post_with_key("/api/v2/tickets.json", "default/call-1/ticket", &body)
        .await;
    assert_eq!(retry.status, 201);
    assert_eq!(retry.header("x-idempotency-lookup"), Some("hit"));
    assert_eq!(retry.json(), first.json());
    assert_eq!(harness.emulator.state().tickets.len(), 1);

    let other = json!({"ticket": {"subject": "Call", "comment": {"body": "second"}}});
    let conflict = harness
        .post_with_key("/api/v2/tickets.json", "default/call-1/ticket", &other)
        .await;
    assert_eq!(conflict.status, 400);
    assert_eq!(conflict.json()["error"], "IdempotentRequestError");
    assert_eq!(harness.emulator.state().tickets.len(), 1);

    let no_key = harness.post("/api/v2/tickets.json", &body).await;
    assert_eq!(no_key.status, 201);
    assert_eq!(no_key.header("x-idempotency-lookup"), None);
    assert_eq!(harness.emulator.state().tickets.len(), 2);
}

#[tokio::test]
async fn closed_ticket_rejects_updates_and_takes_a_follow_up() {
    let harness = Harness::new().await;
    let caller = harness.emulator.seed_user(SeedUser::new("Caller"));
    let mut closed = SeedTicket::new(caller, "Old call").status(TicketStatus::Closed);
    closed.tags = vec!["phone".into()];
    let closed = harness.emulator.seed_ticket(closed);
    let open = harness
        .emulator
        .seed_ticket(SeedTicket::new(caller, "Open call").status(TicketStatus::Open));

    let update = harness
        .put(
            &format!("/api/v2/tickets/{closed}.json"),
            &json!({"ticket": {"comment": {"body": "late recording", "public": false}}}),
        )
        .await;
    assert_eq!(update.status, 422);
    assert_eq!(
        update.json(),
        json!({
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": {"status": [{
                "description": "Status: closed prevents ticket update",
            }]},
        })
    );

    let follow_up = harness
        .post(
            "/api/v2/tickets",
            &json!({"ticket": {
                "via_followup_source_id": closed,
                "comment": {"body": "late recording", "public": false},
            }}),
        )
        .await;
    assert_eq!(follow_up.status, 201, "{}", follow_up.text);
    let ticket = &follow_up.json()["ticket"];
    assert_eq!(ticket["requester_id"], caller, "inherits the requester");
    assert_eq!(ticket["tags"], json!(["phone"]), "inherits the tags");
    assert_eq!(ticket["via"]["source"]["rel"], "follow_up");
    assert_eq!(ticket["via"]["source"]["from"]["ticket_id"], closed);
    let parent = harness
        .get(&format!("/api/v2/tickets/{closed}"))
        .await
        .json();
    assert_eq!(parent["ticket"]["followup_ids"], json!([id(ticket)]));

    let not_closed = harness
        .post(
            "/api/v2/tickets",
            &json!({"ticket": {"via_followup_source_id": open, "comment": {"body": "x"}}}),
        )
        .await;
    assert_eq!(not_closed.status, 422);
    assert!(not_closed.json()["details"]["via_followup_source_id"].is_array());
}

#[tokio::test]
async fn update_adds_comment_changes_fields_and_bumps_updated_at() {
    let harness = Harness::new().await;
    let caller = harness.emulator.seed_user(SeedUser::new("Caller"));
    let agent = harness.emulator.seed_agent("bob@acme.com", "Bob");
    let ticket_id = harness.create_ticket(caller, "ringing").await;
    let before = harness
        .emulator
        .state()
        .ticket(ticket_id)
        .cloned()
        .expect("ticket");
    tokio::time::sleep(Duration::from_millis(20)).await;

    let answer = harness
        .put(
            &format!("/api/v2/tickets/{ticket_id}"),
            &json!({"ticket": {
                "comment": {"body": "Recording: https://r.example/1.mp3", "public": false},
                "assignee_id": agent,
                "status": "pending",
            }}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = answer.json();
    assert_eq!(body["ticket"]["status"], "pending");
    assert_eq!(body["ticket"]["assignee_id"], agent);
    let events = body["audit"]["events"].as_array().expect("events");
    assert!(
        events.iter().any(|event| event["type"] == "Comment"
            && event["body"] == "Recording: https://r.example/1.mp3")
    );
    assert!(events.iter().any(|event| event["type"] == "Change"
        && event["field_name"] == "status"
        && event["previous_value"] == "new"
        && event["value"] == "pending"));

    let state = harness.emulator.state();
    let after = state.ticket(ticket_id).expect("ticket");
    assert!(after.updated_at > before.updated_at);
    assert_eq!(state.comments_of(ticket_id).len(), 2);

    let bad = harness
        .put(
            &format!("/api/v2/tickets/{ticket_id}"),
            &json!({"ticket": {"assignee_id": caller}}),
        )
        .await;
    assert_eq!(bad.status, 422);
    let missing = harness
        .put(
            "/api/v2/tickets/999",
            &json!({"ticket": {"status": "open"}}),
        )
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.json(),
        json!({"error": "RecordNotFound", "description": "Not found"})
    );
}

#[tokio::test]
async fn requested_tickets_sorted_as_asked_and_ticket_search_exclusions() {
    let harness = Harness::new().await;
    let caller = harness.emulator.seed_user(SeedUser::new("Caller"));
    let at = |hour| {
        Utc.with_ymd_and_hms(2024, 5, 1, hour, 0, 0)
            .single()
            .expect("date")
    };
    let old = harness.emulator.seed_ticket(
        SeedTicket::new(caller, "old")
            .status(TicketStatus::Open)
            .created_at(at(1))
            .updated_at(at(9)),
    );
    let solved = harness.emulator.seed_ticket(
        SeedTicket::new(caller, "solved")
            .status(TicketStatus::Solved)
            .created_at(at(2))
            .updated_at(at(3)),
    );
    let recent = harness.emulator.seed_ticket(
        SeedTicket::new(caller, "recent")
            .status(TicketStatus::Pending)
            .created_at(at(4))
            .updated_at(at(5)),
    );
    let ids = |value: &serde_json::Value, key: &str| -> Vec<u64> {
        value[key]
            .as_array()
            .expect("list")
            .iter()
            .map(id)
            .collect()
    };

    let by_updated = harness
        .get(&format!(
            "/api/v2/users/{caller}/tickets/requested.json?sort_by=updated_at&sort_order=desc"
        ))
        .await
        .json();
    assert_eq!(ids(&by_updated, "tickets"), vec![old, recent, solved]);
    assert_eq!(by_updated["count"], 3);
    let default = harness
        .get(&format!("/api/v2/users/{caller}/tickets/requested"))
        .await
        .json();
    assert_eq!(ids(&default, "tickets"), vec![old, solved, recent]);

    let search = harness
        .get(&format!(
            "/api/v2/search.json?query=type%3Aticket%20requester%3A{caller}%20-status%3Aclosed%20-status%3Asolved&sort_by=updated_at&sort_order=desc"
        ))
        .await
        .json();
    assert_eq!(ids(&search, "results"), vec![old, recent]);
    assert_eq!(search["results"][0]["result_type"], "ticket");
}

#[tokio::test]
async fn api_tickets_lag_in_search_but_not_in_requested() {
    let harness = Harness::start(zendesk_emulator::EmulatorConfig {
        search_lag: Duration::from_millis(200),
        ..crate::common::config()
    })
    .await;
    let caller = harness.emulator.seed_user(SeedUser::new("Caller"));
    let ticket_id = harness.create_ticket(caller, "call").await;
    let query = format!("/api/v2/search?query=type:ticket%20requester:{caller}");
    assert_eq!(harness.get(&query).await.json()["count"], 0);
    let requested = harness
        .get(&format!("/api/v2/users/{caller}/tickets/requested"))
        .await
        .json();
    assert_eq!(requested["tickets"][0]["id"], ticket_id);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(harness.get(&query).await.json()["count"], 1);
}

#[tokio::test]
async fn ticket_fields_forms_and_required_fields() {
    let harness = Harness::new().await;
    harness.emulator.seed_ticket_field(
        SeedTicketField::new(360_010, "tagger", "Call reason")
            .option("Billing", "billing")
            .option("Support", "support")
            .required(),
    );
    harness
        .emulator
        .seed_ticket_form(SeedTicketForm::new(360_020, "Phone", vec![360_010]));
    let field = harness
        .get("/api/v2/ticket_fields/360010.json")
        .await
        .json();
    assert_eq!(field["ticket_field"]["type"], "tagger");
    assert_eq!(field["ticket_field"]["required"], true);
    assert_eq!(
        field["ticket_field"]["custom_field_options"][1]["value"],
        "support"
    );
    let form = harness.get("/api/v2/ticket_forms/360020").await.json();
    assert_eq!(form["ticket_form"]["ticket_field_ids"], json!([360_010]));
    assert_eq!(harness.get("/api/v2/ticket_forms/1").await.status, 404);

    let solved_without = harness
        .post(
            "/api/v2/tickets",
            &json!({"ticket": {"ticket_form_id": 360_020, "status": "solved", "comment": {"body": "x"}}}),
        )
        .await;
    assert_eq!(solved_without.status, 422, "{}", solved_without.text);
    let solved_with = harness
        .post(
            "/api/v2/tickets",
            &json!({"ticket": {
                "ticket_form_id": 360_020,
                "status": "solved",
                "custom_fields": [{"id": 360_010, "value": "billing"}],
                "comment": {"body": "x"},
            }}),
        )
        .await;
    assert_eq!(solved_with.status, 201, "{}", solved_with.text);
}

/// zendesk_api_client_php issue #314: `409 {"error":"DatabaseConflict",
/// "description":"Database collision"}` on a ticket PUT; nothing is applied.
#[tokio::test]
async fn a_queued_conflict_answers_409_and_changes_nothing() {
    let harness = Harness::new().await;
    let caller = harness.emulator.seed_user(SeedUser::new("Caller"));
    let ticket = harness
        .emulator
        .seed_ticket(SeedTicket::new(caller, "Call").status(TicketStatus::Open));
    harness
        .emulator
        .fail_ticket_updates(Some(ticket), UpdateFault::Conflict, 1);
    let body = json!({"ticket": {"comment": {"body": "call log", "public": false}}});
    let path = format!("/api/v2/tickets/{ticket}.json");

    let conflict = harness.put(&path, &body).await;
    assert_eq!(conflict.status, 409);
    assert_eq!(
        conflict.json(),
        json!({"error": "DatabaseConflict", "description": "Database collision"})
    );
    let logged = |harness: &Harness| {
        harness
            .emulator
            .state()
            .comments
            .iter()
            .filter(|c| c.ticket_id == ticket && c.body == "call log")
            .count()
    };
    assert_eq!(logged(&harness), 0, "a conflict applies nothing");
    assert_eq!(harness.put(&path, &body).await.status, 200);
    assert_eq!(logged(&harness), 1);
}

/// A write applied whose answer is lost: the comment is there, the client saw 502.
#[tokio::test]
async fn an_update_applied_then_answered_502_keeps_its_comment() {
    let harness = Harness::new().await;
    let caller = harness.emulator.seed_user(SeedUser::new("Caller"));
    let ticket = harness
        .emulator
        .seed_ticket(SeedTicket::new(caller, "Call").status(TicketStatus::Open));
    harness
        .emulator
        .fail_ticket_updates(None, UpdateFault::AppliedThenBadGateway, 1);
    let path = format!("/api/v2/tickets/{ticket}.json");
    let lost = harness
        .put(
            &path,
            &json!({"ticket": {"comment": {"body": "call log", "public": false}}}),
        )
        .await;
    assert_eq!(lost.status, 502);
    let newest = harness
        .get(&format!(
            "/api/v2/tickets/{ticket}/comments.json?sort_order=desc"
        ))
        .await;
    assert_eq!(newest.json()["comments"][0]["body"], "call log");
}

/// Zendesk's "Rate limits" page: Update Ticket allows 30 updates per 10 minutes
/// per user per ticket; the 31st is a 429 with `Retry-After`, other tickets and
/// reads are still served.
#[tokio::test]
async fn the_per_ticket_update_limit_holds_back_only_that_ticket() {
    let harness = Harness::new().await;
    let caller = harness.emulator.seed_user(SeedUser::new("Caller"));
    let busy = harness
        .emulator
        .seed_ticket(SeedTicket::new(caller, "Busy").status(TicketStatus::Open));
    let other = harness
        .emulator
        .seed_ticket(SeedTicket::new(caller, "Other").status(TicketStatus::Open));
    let body = json!({"ticket": {"comment": {"body": "call", "public": false}}});
    for _ in 0..TICKET_UPDATES_PER_WINDOW {
        let ok = harness
            .put(&format!("/api/v2/tickets/{busy}.json"), &body)
            .await;
        assert_eq!(ok.status, 200);
    }
    let limited = harness
        .put(&format!("/api/v2/tickets/{busy}.json"), &body)
        .await;
    assert_eq!(limited.status, 429);
    let wait: u64 = limited
        .header("retry-after")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    assert!((1..=600).contains(&wait), "Retry-After {wait}");
    let served = harness
        .put(&format!("/api/v2/tickets/{other}.json"), &body)
        .await;
    assert_eq!(served.status, 200);
    assert_eq!(
        harness
            .get(&format!("/api/v2/tickets/{busy}.json"))
            .await
            .status,
        200
    );
}

/// List Tickets by `external_id` (Support API reference: not unique), and a
/// create whose answer is lost is still made and remembered under its key.
#[tokio::test]
async fn a_lost_create_answer_still_makes_the_ticket_found_by_external_id() {
    let harness = Harness::new().await;
    harness.emulator.lose_ticket_create_answers(1);
    let body = json!({"ticket": {"subject": "Call", "external_id": "deskbridge:k1",
        "comment": {"body": "first"}}});
    let lost = harness
        .post_with_key("/api/v2/tickets.json", "k1", &body)
        .await;
    assert_eq!(lost.status, 502);
    let listed = harness
        .get("/api/v2/tickets.json?external_id=deskbridge:k1")
        .await;
    assert_eq!(listed.status, 200);
    let tickets = listed.json()["tickets"].as_array().unwrap().clone();
    assert_eq!(tickets.len(), 1);
    let hit = harness
        .post_with_key("/api/v2/tickets.json", "k1", &body)
        .await;
    assert_eq!(hit.status, 201);
    assert_eq!(hit.header("x-idempotency-lookup"), Some("hit"));
    assert_eq!(id(&hit.json()["ticket"]), id(&tickets[0]));
}
