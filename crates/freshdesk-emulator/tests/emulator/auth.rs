use serde_json::json;

use crate::common::{Harness, KEY};

#[tokio::test]
async fn a_wrong_or_missing_key_is_refused_with_401() {
    let harness = Harness::new().await;
    let url = harness.url("/api/v2/agents/me");
    let expected = json!({"code": "invalid_credentials", "message": "You have to be logged in to perform this action."});
    for request in [
        harness.client.get(&url),
        harness.client.get(&url).basic_auth("WRONG", Some("X")),
        harness
            .client
            .get(&url)
            .basic_auth("me@acme.com", Some(KEY)),
    ] {
        let answer = harness.send(request).await;
        assert_eq!(answer.status, 401);
        assert_eq!(answer.json(), expected);
    }
    // The password is ignored.
    let any_password = harness
        .send(harness.client.get(&url).basic_auth(KEY, Some("anything")))
        .await;
    assert_eq!(any_password.status, 200);
    assert_eq!(
        any_password.json()["id"],
        json!(harness.emulator.owner_id())
    );
    let stats = harness.emulator.stats();
    assert_eq!(stats.unauthorized, 3);
    assert_eq!(stats.total, 1);
    assert_eq!(stats.requests_to("GET /api/v2/agents/me"), 1);
}

#[tokio::test]
async fn unknown_routes_and_ids_are_404_with_an_empty_body() {
    let harness = Harness::new().await;
    for path in [
        "/api/v2/nothing",
        "/api/v2/contacts/999",
        "/api/v2/contacts/abc",
        "/api/v2/tickets/7",
    ] {
        let answer = harness.get(path).await;
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(answer.text, "", "{path}");
    }
    let note = harness
        .post("/api/v2/tickets/7/notes", &json!({"body": "x"}))
        .await;
    assert_eq!(note.status, 404);
}

#[tokio::test]
async fn writes_must_be_json_and_answers_may_only_be() {
    let harness = Harness::new().await;
    let form = harness
        .send(
            harness
                .client
                .post(harness.url("/api/v2/contacts"))
                .basic_auth(KEY, Some("X"))
                .header("content-type", "text/plain")
                .body("name=Ann"),
        )
        .await;
    assert_eq!(form.status, 415);
    assert_eq!(form.json()["code"], "invalid_content_type");
    let xml = harness
        .send(
            harness
                .client
                .get(harness.url("/api/v2/agents/me"))
                .basic_auth(KEY, Some("X"))
                .header("accept", "application/xml"),
        )
        .await;
    assert_eq!(xml.status, 406);
    let broken = harness
        .send(
            harness
                .client
                .post(harness.url("/api/v2/contacts"))
                .basic_auth(KEY, Some("X"))
                .header("content-type", "application/json")
                .body("{\"name\":"),
        )
        .await;
    assert_eq!(broken.status, 400);
    assert_eq!(
        broken.json(),
        json!({"code": "invalid_json", "message": "Request body has invalid json format"})
    );
    assert!(harness.emulator.state().contacts.is_empty());
}
