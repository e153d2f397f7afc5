//! The emulator's answers carry the keys real Zendesk sends (recorded by
//! go-zendesk, see tests/fixtures/README.md).

use serde_json::{Value, json};
use zendesk_emulator::{SeedTicketField, SeedTicketForm, SeedUser};

use crate::common::{Harness, assert_has_keys, assert_same_keys, fixture, id};

fn first(list: &Value) -> &Value {
    &list.as_array().expect("a list")[0]
}

#[tokio::test]
async fn user_shapes_match_the_fixtures() {
    let harness = Harness::new().await;
    let caller = harness
        .emulator
        .seed_user(SeedUser::end_user("Caller", "+14155550100"));

    let shown = harness
        .get(&format!("/api/v2/users/{caller}.json"))
        .await
        .json();
    let reference = fixture("GET/user.json");
    assert_same_keys("GET user envelope", &shown, &reference);
    assert_same_keys("GET user", &shown["user"], &reference["user"]);

    let created = harness
        .post(
            "/api/v2/users",
            &json!({"user": {"name": "New", "phone": "+14155550111"}}),
        )
        .await
        .json();
    assert_same_keys(
        "POST user",
        &created["user"],
        &fixture("POST/users.json")["user"],
    );

    let search = harness
        .get("/api/v2/search?query=role:end-user%20phone:14155550100")
        .await
        .json();
    let reference = fixture("GET/search_user.json");
    assert_same_keys("search envelope", &search, &reference);
    assert_same_keys(
        "search user",
        first(&search["results"]),
        first(&reference["results"]),
    );

    let users = harness
        .get("/api/v2/users/search?query=Caller")
        .await
        .json();
    let reference = fixture("GET/users.json");
    assert_same_keys("users list envelope", &users, &reference);
    assert_same_keys(
        "users list user",
        first(&users["users"]),
        first(&reference["users"]),
    );
}

#[tokio::test]
async fn ticket_shapes_match_the_fixtures() {
    let harness = Harness::new().await;
    let caller = harness
        .emulator
        .seed_user(SeedUser::end_user("Caller", "+14155550100"));
    let created = harness
        .post(
            "/api/v2/tickets.json",
            &json!({"ticket": {
                "subject": "Call",
                "requester_id": caller,
                "priority": "urgent",
                "comment": {"body": "(o_o)", "public": true},
            }}),
        )
        .await
        .json();
    let reference = fixture("POST/ticket.json");
    assert_same_keys("POST ticket envelope", &created, &reference);
    assert_has_keys("POST ticket", &created["ticket"], &reference["ticket"]);
    assert_same_keys("audit", &created["audit"], &reference["audit"]);
    let comment_event = |audit: &Value| {
        audit["events"]
            .as_array()
            .expect("events")
            .iter()
            .find(|event| event["type"] == "Comment")
            .cloned()
            .expect("Comment event")
    };
    assert_same_keys(
        "Comment event",
        &comment_event(&created["audit"]),
        &comment_event(&reference["audit"]),
    );
    let create_event = |audit: &Value| {
        audit["events"]
            .as_array()
            .expect("events")
            .iter()
            .find(|event| event["type"] == "Create")
            .cloned()
            .expect("Create event")
    };
    assert_same_keys(
        "Create event",
        &create_event(&created["audit"]),
        &create_event(&reference["audit"]),
    );
    assert_same_keys(
        "via",
        &created["ticket"]["via"],
        &reference["ticket"]["via"],
    );
    assert_same_keys(
        "via.source",
        &created["ticket"]["via"]["source"],
        &reference["ticket"]["via"]["source"],
    );

    let ticket_id = id(&created["ticket"]);
    let shown = harness
        .get(&format!("/api/v2/tickets/{ticket_id}"))
        .await
        .json();
    let reference = fixture("GET/ticket.json");
    assert_same_keys("GET ticket envelope", &shown, &reference);
    assert_same_keys("GET ticket", &shown["ticket"], &reference["ticket"]);

    let comments = harness
        .get(&format!("/api/v2/tickets/{ticket_id}/comments"))
        .await
        .json();
    let reference = fixture("GET/ticket_comments.json");
    assert_has_keys(
        "comment",
        first(&comments["comments"]),
        first(&reference["comments"]),
    );

    let search = harness
        .get(&format!(
            "/api/v2/search?query=type:ticket%20requester:{caller}"
        ))
        .await
        .json();
    let reference = fixture("GET/search_ticket.json");
    assert_same_keys("ticket search envelope", &search, &reference);
    assert_has_keys(
        "search ticket",
        first(&search["results"]),
        first(&reference["results"]),
    );
}

#[tokio::test]
async fn catalog_shapes_match_the_fixtures() {
    let harness = Harness::new().await;
    let organization = harness
        .post(
            "/api/v2/organizations",
            &json!({"organization": {"name": "Rebel Alliance"}}),
        )
        .await
        .json();
    assert_same_keys(
        "POST organization",
        &organization["organization"],
        &fixture("POST/organization.json")["organization"],
    );
    let organization_id = id(&organization["organization"]);
    let shown = harness
        .get(&format!("/api/v2/organizations/{organization_id}"))
        .await
        .json();
    assert_same_keys(
        "GET organization",
        &shown["organization"],
        &fixture("GET/organization.json")["organization"],
    );

    harness.emulator.seed_ticket_field(SeedTicketField::new(
        360_011_737_434,
        "text",
        "Dialed number",
    ));
    harness.emulator.seed_ticket_field(
        SeedTicketField::new(360_011_759_674, "tagger", "Tagger Field")
            .option("Option 1", "opt1")
            .option("Option 2", "opt2"),
    );
    let text_field = harness
        .get("/api/v2/ticket_fields/360011737434")
        .await
        .json();
    assert_same_keys(
        "ticket field",
        &text_field["ticket_field"],
        &fixture("GET/ticket_field.json")["ticket_field"],
    );
    let tagger = harness
        .get("/api/v2/ticket_fields/360011759674")
        .await
        .json();
    let reference = fixture("GET/ticket_fields.json");
    let reference_tagger = reference["ticket_fields"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|field| field["type"] == "tagger")
        .expect("a tagger fixture");
    assert_same_keys("tagger field", &tagger["ticket_field"], reference_tagger);
    assert_same_keys(
        "tagger option",
        first(&tagger["ticket_field"]["custom_field_options"]),
        first(&reference_tagger["custom_field_options"]),
    );

    harness.emulator.seed_ticket_form(SeedTicketForm::new(
        47,
        "Snowboard Problem",
        vec![360_011_737_434],
    ));
    let form = harness.get("/api/v2/ticket_forms/47.json").await.json();
    assert_same_keys(
        "ticket form",
        &form["ticket_form"],
        &fixture("GET/ticket_form.json")["ticket_form"],
    );
}
