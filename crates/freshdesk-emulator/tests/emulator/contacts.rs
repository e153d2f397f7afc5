use serde_json::json;

use freshdesk_emulator::{EmulatorConfig, SeedContact};

use crate::common::{Harness, config, id};

#[tokio::test]
async fn a_contact_is_created_with_its_phone_as_given() {
    let harness = Harness::new().await;
    let answer = harness
        .post(
            "/api/v2/contacts",
            &json!({"name": "Ann Lee", "phone": " +1 (555) 123-4567 ", "tags": ["caller"]}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let contact = answer.json();
    let id = id(&contact);
    assert_eq!(
        contact["phone"], "+1 (555) 123-4567",
        "trimmed, not normalised"
    );
    assert_eq!(contact["mobile"], json!(null));
    assert_eq!(contact["unique_external_id"], json!(null));
    assert!(
        contact["created_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z') && t.len() == 20)
    );
    assert_eq!(
        answer.header("location"),
        Some(harness.url(&format!("/api/v2/contacts/{id}")).as_str())
    );
    assert_eq!(
        harness.get(&format!("/api/v2/contacts/{id}")).await.json(),
        contact
    );
    let state = harness.emulator.state();
    assert_eq!(state.contacts_with_number("+1 (555) 123-4567").len(), 1);
}

#[tokio::test]
async fn validation_lists_every_problem() {
    let harness = Harness::new().await;
    let answer = harness
        .post(
            "/api/v2/contacts",
            &json!({"job_title": "CTO", "junk": 1, "phone": 5}),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["description"], "Validation failed");
    assert_eq!(
        answer.errors(),
        [
            ("email".to_owned(), "missing_field".to_owned()),
            ("junk".to_owned(), "invalid_field".to_owned()),
            ("name".to_owned(), "missing_field".to_owned()),
            ("phone".to_owned(), "datatype_mismatch".to_owned()),
        ]
    );
    let bad_email = harness
        .post(
            "/api/v2/contacts",
            &json!({"name": "A", "email": "not-an-email"}),
        )
        .await;
    assert_eq!(
        bad_email.errors(),
        [("email".to_owned(), "invalid_value".to_owned())]
    );
    assert!(harness.emulator.state().contacts.is_empty());
}

#[tokio::test]
async fn a_taken_email_or_external_id_is_409_naming_the_holder_but_phones_may_repeat() {
    let harness = Harness::new().await;
    let ann = harness
        .create_contact(json!({"name": "Ann", "email": "ann@x.io", "unique_external_id": "crm-1"}))
        .await;
    let again = harness
        .post(
            "/api/v2/contacts",
            &json!({"name": "Ann 2", "email": "ANN@x.io"}),
        )
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(
        again.json(),
        json!({"description": "Validation failed", "errors": [{
            "field": "email", "message": "It should be a unique value",
            "code": "duplicate_value", "additional_info": {"user_id": ann}}]})
    );
    let external = harness
        .post(
            "/api/v2/contacts",
            &json!({"name": "X", "unique_external_id": "crm-1"}),
        )
        .await;
    assert_eq!(external.status, 409);
    assert_eq!(
        external.json()["errors"][0]["additional_info"]["user_id"],
        json!(ann)
    );
    // Phone and mobile are not unique.
    harness
        .create_contact(json!({"name": "B", "phone": "+15550001"}))
        .await;
    harness
        .create_contact(json!({"name": "C", "phone": "+15550001"}))
        .await;
    assert_eq!(
        harness
            .emulator
            .state()
            .contacts_with_number("+15550001")
            .len(),
        2
    );
}

#[tokio::test]
async fn unique_external_id_needs_the_feature() {
    let harness = Harness::start(EmulatorConfig {
        unique_external_id: false,
        ..config()
    })
    .await;
    let answer = harness
        .post(
            "/api/v2/contacts",
            &json!({"name": "A", "phone": "1", "unique_external_id": "u"}),
        )
        .await;
    assert_eq!(
        answer.errors(),
        [(
            "unique_external_id".to_owned(),
            "inaccessible_field".to_owned()
        )]
    );
    let created = harness
        .create_contact(json!({"name": "A", "phone": "1"}))
        .await;
    let shown = harness
        .get(&format!("/api/v2/contacts/{created}"))
        .await
        .json();
    assert!(shown.get("unique_external_id").is_none());
}

#[tokio::test]
async fn the_list_filters_by_exact_column_values() {
    let harness = Harness::new().await;
    let ann = harness
        .emulator
        .seed_contact(SeedContact::with_phone("Ann", "+15551234567"));
    let bob = harness
        .emulator
        .seed_contact(SeedContact::with_phone("Bob", "5551234567").mobile("+15551234567"));
    harness
        .emulator
        .seed_contact(SeedContact::new("Cy").email("cy@x.io"));
    let ids = |answer: crate::common::Answer| -> Vec<u64> {
        answer
            .json()
            .as_array()
            .expect("array")
            .iter()
            .map(id)
            .collect()
    };
    assert_eq!(
        ids(harness.get("/api/v2/contacts?phone=%2B15551234567").await),
        [ann]
    );
    assert_eq!(
        ids(harness.get("/api/v2/contacts?mobile=%2B15551234567").await),
        [bob]
    );
    // An unencoded '+' is a space, so nothing has that phone.
    assert!(ids(harness.get("/api/v2/contacts?phone=+15551234567").await).is_empty());
    assert_eq!(
        ids(harness.get("/api/v2/contacts?email=CY@x.io").await).len(),
        1
    );
    assert_eq!(ids(harness.get("/api/v2/contacts").await).len(), 3);
    harness.emulator.delete_contact(ann);
    assert_eq!(ids(harness.get("/api/v2/contacts").await).len(), 2);
    assert_eq!(
        ids(harness.get("/api/v2/contacts?state=deleted").await),
        [ann]
    );
    assert_eq!(
        harness.get(&format!("/api/v2/contacts/{ann}")).await.json()["deleted"],
        true
    );
    let unknown = harness.get("/api/v2/contacts?name=Ann").await;
    assert_eq!(
        unknown.errors(),
        [("name".to_owned(), "invalid_field".to_owned())]
    );
    let later = harness
        .get("/api/v2/contacts?_updated_since=2999-01-01T00:00:00Z")
        .await;
    assert!(ids(later).is_empty());
}

#[tokio::test]
async fn update_and_autocomplete() {
    let harness = Harness::new().await;
    let id = harness
        .create_contact(json!({"name": "John Jonz", "phone": "1"}))
        .await;
    let path = format!("/api/v2/contacts/{id}");
    let updated = harness.put(&path, &json!({"mobile": "+15550002"})).await;
    assert_eq!(updated.status, 200);
    assert_eq!(updated.json()["mobile"], "+15550002");
    assert_eq!(harness.put(&path, &json!({})).await.status, 400);
    let cleared = harness
        .put(&path, &json!({"phone": null, "mobile": null}))
        .await;
    assert_eq!(
        cleared.errors(),
        [("email".to_owned(), "missing_field".to_owned())]
    );
    let found = harness.get("/api/v2/contacts/autocomplete?term=jon").await;
    assert_eq!(found.json(), json!([{"id": id, "name": "John Jonz"}]));
    let none = harness.get("/api/v2/contacts/autocomplete?term=hn").await;
    assert_eq!(none.json(), json!([]));
}
