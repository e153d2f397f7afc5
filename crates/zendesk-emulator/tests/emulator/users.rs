use std::time::Duration;

use serde_json::json;
use zendesk_emulator::{EmulatorConfig, SeedUser};

use crate::common::{Harness, config, id};

fn lagged() -> EmulatorConfig {
    EmulatorConfig {
        search_lag: Duration::from_millis(200),
        ..config()
    }
}

#[tokio::test]
async fn created_user_is_searchable_only_after_the_index_lag() {
    let harness = Harness::start(lagged()).await;
    let user_id = harness
        .create_user("Caller +14155550100", "+14155550100")
        .await;
    let query = "/api/v2/search.json?query=role%3Aend-user%20phone%3A14155550100";

    let before = harness.get(query).await;
    assert_eq!(before.status, 200);
    assert_eq!(before.json()["count"], 0, "{}", before.text);
    // The record itself is there at once.
    assert_eq!(
        harness
            .get(&format!("/api/v2/users/{user_id}.json"))
            .await
            .status,
        200
    );
    // external_id and create_or_update read records, not the index: no lag.

    tokio::time::sleep(Duration::from_millis(250)).await;
    let after = harness.get(query).await.json();
    assert_eq!(after["count"], 1, "{after}");
    assert_eq!(after["results"][0]["id"], user_id);
    assert_eq!(after["results"][0]["result_type"], "user");
    assert_eq!(after["next_page"], json!(null));
    assert_eq!(after["facets"], json!(null));
}

#[tokio::test]
async fn phone_search_is_exact_on_e164_and_wildcard_sees_formatting() {
    let harness = Harness::new().await;
    let clean = harness
        .emulator
        .seed_user(SeedUser::end_user("Clean", "+14155551212"));
    let formatted = harness
        .emulator
        .seed_user(SeedUser::end_user("Formatted", "+1 (415) 555-3434"));
    let ids = |answer: serde_json::Value| -> Vec<u64> {
        answer["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(id)
            .collect()
    };
    let exact = harness
        .get("/api/v2/search?query=role:end-user%20phone:14155551212")
        .await
        .json();
    assert_eq!(ids(exact), vec![clean]);
    let exact_formatted = harness
        .get("/api/v2/search?query=role:end-user%20phone:14155553434")
        .await
        .json();
    assert_eq!(ids(exact_formatted), Vec::<u64>::new());
    let wildcard = harness
        .get("/api/v2/search?query=role:end-user%20phone:*14155553434")
        .await
        .json();
    assert_eq!(ids(wildcard), vec![formatted]);
    // Agents are not end users.
    harness
        .emulator
        .seed_user(SeedUser::agent("ann@acme.com", "Ann").phone("+14155551212"));
    let end_users = harness
        .get("/api/v2/search?query=role:end-user%20phone:14155551212")
        .await
        .json();
    assert_eq!(ids(end_users), vec![clean]);
}

#[tokio::test]
async fn shared_numbers_are_returned_and_flagged() {
    let harness = Harness::new().await;
    let first = harness.create_user("First", "+442071234567").await;
    let second = harness.create_user("Second", "+442071234567").await;
    let answer = harness
        .get("/api/v2/search.json?query=type:user%20phone:442071234567")
        .await
        .json();
    assert_eq!(answer["count"], 2, "{answer}");
    let flag = |user_id: u64| {
        answer["results"]
            .as_array()
            .expect("results")
            .iter()
            .find(|user| user["id"] == user_id)
            .map(|user| user["shared_phone_number"].clone())
    };
    assert_eq!(flag(first), Some(json!(false)));
    assert_eq!(flag(second), Some(json!(true)));
}

#[tokio::test]
async fn user_validation_errors() {
    let harness = Harness::new().await;
    let no_name = harness
        .post("/api/v2/users", &json!({"user": {"phone": "+14155550100"}}))
        .await;
    assert_eq!(no_name.status, 422);
    assert_eq!(no_name.json()["error"], "RecordInvalid");
    assert_eq!(no_name.json()["description"], "Record validation errors");
    assert!(no_name.json()["details"]["name"].is_array());

    let bad_phone = harness
        .post(
            "/api/v2/users",
            &json!({"user": {"name": "X", "phone": "0415 555 0100"}}),
        )
        .await;
    assert_eq!(bad_phone.status, 422);
    assert_eq!(
        bad_phone.json()["details"]["phone"],
        json!([{"description": "Phone is invalid", "error": "InvalidValue"}])
    );

    let ok = harness
        .post(
            "/api/v2/users",
            &json!({"user": {"name": "A", "phone": "+14155550100", "external_id": "crm-1"}}),
        )
        .await;
    assert_eq!(ok.status, 201);
    assert!(ok.header("location").is_some());
    let duplicate = harness
        .post(
            "/api/v2/users",
            &json!({"user": {"name": "B", "external_id": "crm-1"}}),
        )
        .await;
    assert_eq!(duplicate.status, 422);
    assert!(duplicate.json()["details"]["external_id"].is_array());
    // Nothing was written by the failed requests.
    assert_eq!(harness.emulator.state().users.len(), 2);
}

#[tokio::test]
async fn create_or_update_matches_external_id_then_email_without_lag() {
    let harness = Harness::start(lagged()).await;
    let body =
        json!({"user": {"name": "Caller", "phone": "+14155550100", "external_id": "call-7"}});
    let first = harness.post("/api/v2/users/create_or_update", &body).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let user_id = id(&first.json()["user"]);

    let renamed = json!({"user": {"name": "Caller Renamed", "external_id": "call-7"}});
    let second = harness
        .post("/api/v2/users/create_or_update.json", &renamed)
        .await;
    assert_eq!(second.status, 200);
    assert_eq!(id(&second.json()["user"]), user_id);
    assert_eq!(second.json()["user"]["name"], "Caller Renamed");
    assert_eq!(second.json()["user"]["phone"], "+14155550100");

    let by_email = json!({"user": {"name": "Mail", "email": "mail@example.org"}});
    let created = harness
        .post("/api/v2/users/create_or_update", &by_email)
        .await;
    assert_eq!(created.status, 201);
    let again = harness
        .post("/api/v2/users/create_or_update", &by_email)
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(id(&again.json()["user"]), id(&created.json()["user"]));

    let state = harness.emulator.state();
    assert_eq!(state.users.len(), 3, "admin + two users");

    let by_external = harness
        .get("/api/v2/users/search.json?external_id=call-7")
        .await
        .json();
    assert_eq!(by_external["count"], 1);
    assert_eq!(by_external["users"][0]["id"], user_id);
}

#[tokio::test]
async fn identity_adds_a_searchable_phone() {
    let harness = Harness::new().await;
    let user_id = harness
        .emulator
        .seed_user(SeedUser::new("Multi").email("multi@example.org"));
    let answer = harness
        .post(
            &format!("/api/v2/users/{user_id}/identities.json"),
            &json!({"identity": {"type": "phone_number", "value": "+1 415-555-0199"}}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let identity = &answer.json()["identity"];
    assert_eq!(identity["user_id"], user_id);
    assert_eq!(identity["type"], "phone_number");
    assert_eq!(identity["value"], "+14155550199");
    for key in ["id", "verified", "primary", "created_at", "updated_at"] {
        assert!(identity.get(key).is_some(), "identity lacks {key}");
    }
    let found = harness
        .get("/api/v2/search?query=role:end-user%20phone:14155550199")
        .await
        .json();
    assert_eq!(found["count"], 1);
    assert_eq!(found["results"][0]["id"], user_id);

    let missing = harness
        .post(
            "/api/v2/users/999/identities",
            &json!({"identity": {"type": "phone_number", "value": "+14155550199"}}),
        )
        .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn users_search_by_query_and_email_search() {
    let harness = Harness::new().await;
    let ann = harness.emulator.seed_user(
        SeedUser::new("Ann Lee")
            .email("ann@example.org")
            .phone("+14155550111"),
    );
    let by_name = harness
        .get("/api/v2/users/search?query=ann%20lee")
        .await
        .json();
    assert_eq!(by_name["users"][0]["id"], ann);
    let by_phone = harness
        .get("/api/v2/users/search?query=%2B14155550111")
        .await
        .json();
    assert_eq!(by_phone["count"], 1, "{by_phone}");
    let by_email = harness
        .get("/api/v2/search?query=type:user%20email:ann@example.org")
        .await
        .json();
    assert_eq!(by_email["results"][0]["id"], ann);
}

#[tokio::test]
async fn missing_user_is_404_with_zendesk_body() {
    let harness = Harness::new().await;
    let answer = harness.get("/api/v2/users/123.json").await;
    assert_eq!(answer.status, 404);
    assert_eq!(
        answer.json(),
        json!({"error": "RecordNotFound", "description": "Not found"})
    );
    assert_eq!(harness.get("/api/v2/users/abc").await.status, 404);
}

#[tokio::test]
async fn organizations_have_unique_names() {
    let harness = Harness::new().await;
    let first = harness
        .post(
            "/api/v2/organizations.json",
            &json!({"organization": {"name": "Acme"}}),
        )
        .await;
    assert_eq!(first.status, 201);
    let organization_id = id(&first.json()["organization"]);
    let again = harness
        .post(
            "/api/v2/organizations",
            &json!({"organization": {"name": "acme"}}),
        )
        .await;
    assert_eq!(again.status, 422);
    assert_eq!(
        again.json()["details"]["name"][0]["description"],
        "Name: has already been taken"
    );
    let member = harness
        .post(
            "/api/v2/users",
            &json!({"user": {"name": "M", "organization_id": organization_id}}),
        )
        .await;
    assert_eq!(member.status, 201);
    assert_eq!(member.json()["user"]["organization_id"], organization_id);
    let stray = harness
        .post(
            "/api/v2/users",
            &json!({"user": {"name": "S", "organization_id": 5}}),
        )
        .await;
    assert_eq!(stray.status, 422);
}

/// Talk Partner Edition guide, "Retrieving the Zendesk user id of a caller":
/// `phone:{digits}` finds compact numbers only, a leading `*` finds the number
/// however it was typed, and a `+` is not to be sent (it finds nobody).
#[tokio::test]
async fn phone_search_finds_typed_numbers_only_with_a_leading_wildcard() {
    let harness = Harness::new().await;
    let typed = [
        "+14155550100",
        "+1 (415) 555-0100",
        "415-555-0100",
        "1 415 555 0100",
    ];
    let mut ids_typed = Vec::new();
    for (i, phone) in typed.iter().enumerate() {
        ids_typed.push(
            harness
                .emulator
                .seed_user(SeedUser::end_user(format!("Caller {i}"), *phone)),
        );
    }
    let found = |query: &'static str| {
        let harness = &harness;
        async move {
            let answer = harness
                .get(&format!("/api/v2/search?query={query}"))
                .await
                .json();
            let mut ids: Vec<u64> = answer["results"]
                .as_array()
                .expect("results")
                .iter()
                .map(id)
                .collect();
            ids.sort_unstable();
            ids
        }
    };
    assert_eq!(
        found("role:end-user%20phone:14155550100").await,
        vec![ids_typed[0]]
    );
    assert_eq!(
        found("role:end-user%20phone:%2B14155550100").await,
        Vec::<u64>::new()
    );
    assert_eq!(found("role:end-user%20phone:*4155550100").await, ids_typed);
}

/// Support API reference, Create Or Update User: "Allowed For: Admins and agents
/// in custom roles with permission to manage end users".
#[tokio::test]
async fn create_or_update_is_refused_to_a_plain_agent() {
    let harness = Harness::new().await;
    harness.emulator.set_api_role(zendesk_emulator::Role::Agent);
    let refused = harness
        .post(
            "/api/v2/users/create_or_update",
            &json!({"user": {"name": "Caller", "phone": "+14155550100", "external_id": "x"}}),
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json()["error"], "Forbidden");
    assert!(
        harness
            .emulator
            .state()
            .users
            .iter()
            .all(|u| u.name != "Caller")
    );
}
