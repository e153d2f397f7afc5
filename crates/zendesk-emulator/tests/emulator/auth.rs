use serde_json::json;

use crate::common::{EMAIL, Harness, TOKEN};

#[tokio::test]
async fn missing_or_wrong_credentials_get_401_and_are_not_counted() {
    let harness = Harness::new().await;
    let url = harness.url("/api/v2/users/me.json");
    let none = harness.raw(harness.client.get(&url)).await;
    assert_eq!(none.status, 401);
    assert_eq!(none.json(), json!({"error": "Couldn't authenticate you"}));

    let wrong_token = harness
        .raw(
            harness
                .client
                .get(&url)
                .basic_auth(format!("{EMAIL}/token"), Some("nope")),
        )
        .await;
    assert_eq!(wrong_token.status, 401);

    let password_style = harness
        .raw(harness.client.get(&url).basic_auth(EMAIL, Some(TOKEN)))
        .await;
    assert_eq!(password_style.status, 401, "Basic needs the /token suffix");

    let stats = harness.emulator.stats();
    assert_eq!(stats.total_requests, 0);
    assert_eq!(stats.unauthorized, 3);
}

#[tokio::test]
async fn basic_token_and_bearer_both_work() {
    let harness = Harness::new().await;
    let me = harness.get("/api/v2/users/me").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["user"]["role"], "admin");
    assert_eq!(me.json()["user"]["email"], EMAIL);

    let bearer = harness
        .raw(
            harness
                .client
                .get(harness.url("/api/v2/users/me.json"))
                .bearer_auth(TOKEN),
        )
        .await;
    assert_eq!(bearer.status, 200);
    assert_eq!(bearer.json()["user"]["id"], me.json()["user"]["id"]);
    assert_eq!(
        harness.emulator.stats().requests_to("GET /api/v2/users/me"),
        2
    );
}

#[tokio::test]
async fn unknown_endpoints_are_404_after_auth() {
    let harness = Harness::new().await;
    let answer = harness.get("/api/v2/macros.json").await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.json()["error"], "InvalidEndpoint");
    let anonymous = harness
        .raw(harness.client.get(harness.url("/api/v2/macros.json")))
        .await;
    assert_eq!(anonymous.status, 401);
}
