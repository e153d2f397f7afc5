//! The caller card an agent looks up, and whose callers they may look up.

use super::*;

#[test]
fn lookup_answers_the_caller_card_from_the_crm() {
    let app = app("default_region = \"US\"");
    let org = create(
        &app,
        "/api/v1/crm/organizations",
        json!({"name": "Acme Corp"}),
    );
    let contact = create(
        &app,
        "/api/v1/crm/contacts",
        json!({"name": "Dana Caller", "phones": ["+14155550120"], "organization_id": org["id"]}),
    );
    let ticket = create(
        &app,
        "/api/v1/crm/tickets",
        json!({"subject": "Invoice", "requester_id": contact["id"], "status": "open"}),
    );
    // Any format, read in the group's region.
    let (status, card) = app.get("/api/v1/lookup?phone=(415)%20555-0120");
    assert_eq!(status, 200, "{card}");
    assert_eq!(card["name"], "Dana Caller");
    assert_eq!(card["phone"], "+14155550120");
    assert_eq!(card["contact_id"], contact["id"]);
    assert_eq!(
        card["contact_link"],
        format!("/api/v1/crm/contacts/{}", s(&contact["id"]))
    );
    assert_eq!(card["organization"], "Acme Corp");
    assert_eq!(card["open_ticket"]["id"], ticket["id"]);
    assert_eq!(card["tickets"][0]["subject"], "Invoice");
    assert_eq!(card["tickets"][0]["status"], "open");
    // A signed-in agent may look up too, and open the card's links; an unknown
    // number has an empty card.
    let ann = ann(&app);
    let (status, opened) = ann.get(s(&card["contact_link"]));
    assert_eq!(status, 200, "{opened}");
    assert_eq!(opened["name"], "Dana Caller");
    // Agents read the CRM; they do not change it (a group token does).
    let link = s(&card["contact_link"]).to_string();
    let (status, err) = ann.send("PATCH", &link, Some(&json!({"name": "Changed"})));
    assert_eq!(
        (status, err["error"].as_str()),
        (403, Some("read_only")),
        "{err}"
    );
    let (status, _) = ann.send("DELETE", s(&card["open_ticket"]["link"]), None);
    assert_eq!(status, 403);
    let (_, still) = app.get(&link);
    assert_eq!(still["name"], "Dana Caller");
    let (status, unknown) = ann.get("/api/v1/lookup?phone=+14155550999");
    assert_eq!(status, 200);
    assert_eq!(unknown["name"], Value::Null);
    assert_eq!(unknown["tickets"], json!([]));
}

/// A number two contacts share: the card matches the caller as a call from it
/// would be matched (issue 24: the card took the first contact whatever the
/// group's rule). Where the group picks the newest, the card shows the newest
/// and lists the other; where the agent picks, it shows no caller and both.
#[test]
fn a_shared_number_shows_on_the_card_as_the_groups_rule_matches_it() {
    for (rule, shared) in [("newest", false), ("agent", true), ("new_contact", true)] {
        let app = app(&format!(
            "default_region = \"US\"\nambiguous_caller = \"{rule}\""
        ));
        let older = create(
            &app,
            "/api/v1/crm/contacts",
            json!({"name": "Older Sharer", "phones": ["+14155550121"]}),
        );
        let newer = create(
            &app,
            "/api/v1/crm/contacts",
            json!({"name": "Newer Sharer", "phones": ["+14155550121"]}),
        );
        let (status, card) = app.get("/api/v1/lookup?phone=%2B14155550121");
        assert_eq!(status, 200, "{card}");
        assert_eq!(card["shared_number"], shared, "{rule}: {card}");
        let others: Vec<&Value> = card["other_contacts"]
            .as_array()
            .map(|a| a.iter().map(|c| &c["id"]).collect())
            .unwrap_or_default();
        if shared {
            assert_eq!(card["contact_id"], Value::Null, "{rule}: {card}");
            assert_eq!(card["name"], Value::Null, "{rule}: {card}");
            assert_eq!(others, [&newer["id"], &older["id"]], "{rule}: newest first");
        } else {
            assert_eq!(card["contact_id"], newer["id"], "{rule}: {card}");
            assert_eq!(card["name"], "Newer Sharer");
            assert_eq!(others, [&older["id"]], "{rule}: {card}");
        }
    }
}

/// Issue 25, point 9: with two teams, an agent looks up the callers of the
/// groups they work in, not the other team's: Ann works in `support` (named in
/// `[[agents]] groups`), Bob names none and so, with two groups, reaches none.
/// Each group has its own built-in CRM with a contact of the same number.
#[test]
fn an_agent_looks_up_only_the_callers_of_their_groups() {
    let hash = deskbridge::agent_auth::hash_password(ANN_PASSWORD).expect("a hash");
    let config = format!(
        r#"
[[agents]]
email = "ann@acme.com"
password_hash = "{hash}"
groups = ["support"]

[[agents]]
email = "bob@acme.com"
token = "{BOB_TOKEN}"

[backends.support_crm]
kind = "builtin"

[backends.sales_crm]
kind = "builtin"

[[groups]]
name = "support"
backend = "support_crm"
tokens = ["{TOKEN}"]

[[groups]]
name = "sales"
backend = "sales_crm"
tokens = ["sales-token-0123456789"]
"#
    );
    let app = TestApp::with_config(&config, TOKEN);
    for (token, name) in [
        (TOKEN, "Support Customer"),
        ("sales-token-0123456789", "Sales Lead"),
    ] {
        let (status, body) = app.as_token(token).send(
            "POST",
            "/api/v1/crm/contacts",
            Some(&json!({"name": name, "phones": ["+14155550300"]})),
        );
        assert_eq!(status, 201, "{body}");
    }
    let ann = ann(&app);
    let (status, card) = ann.get("/api/v1/lookup?phone=%2B14155550300");
    assert_eq!(status, 200, "{card}");
    assert_eq!(card["name"], "Support Customer", "{card}");
    let (status, body) = ann.get("/api/v1/lookup?phone=%2B14155550300&group=sales");
    assert_eq!(status, 422, "Ann looked into sales: {body}");
    let (status, found) = ann.get("/api/v1/contacts?q=Lead");
    assert_eq!(status, 200, "{found}");
    assert!(
        !found.to_string().contains("Sales Lead"),
        "Ann found sales' contact: {found}"
    );
    let (status, found) = ann.get("/api/v1/contacts?q=Support");
    assert_eq!(status, 200, "{found}");
    assert!(found.to_string().contains("Support Customer"), "{found}");
    let bob = bob(&app);
    let (status, body) = bob.get("/api/v1/lookup?phone=%2B14155550300");
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "no_group");
}
