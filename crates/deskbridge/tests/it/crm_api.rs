//! The built-in CRM API under `/api/v1/crm/` and the credentials and limits that
//! guard every `/api/v1/` endpoint, driven over HTTP against the app running in this process.

use crate::common::*;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// Creates a record and returns it, failing the test unless the answer is 201.
fn create(server: &TestApp, path: &str, body: Value) -> Value {
    let (status, record) = server.send("POST", path, Some(&body));
    assert_eq!(status, 201, "POST {path} {body} -> {record}");
    record
}

/// Asserts a 422 naming `field`, and returns the error body.
fn assert_invalid(status: u16, body: &Value, field: &str) {
    assert_eq!(status, 422, "expected 422 for {field}: {body}");
    assert_eq!(body["error"], "invalid", "{body}");
    assert_eq!(body["field"], field, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "an invalid request says what to send instead: {body}"
    );
}

fn assert_not_found(status: u16, body: &Value) {
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"], "not_found", "{body}");
}

fn id_of(record: &Value) -> String {
    record["id"]
        .as_str()
        .unwrap_or_else(|| panic!("ids are strings: {record}"))
        .to_string()
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(id_of).collect()
}

fn time(v: &Value) -> DateTime<Utc> {
    let text = v
        .as_str()
        .unwrap_or_else(|| panic!("timestamp is a string: {v}"));
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("timestamp {text:?} is not RFC 3339: {e}"))
        .with_timezone(&Utc)
}

/// A request with full control over the credentials and the raw body.
fn raw(
    server: &TestApp,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: Option<Vec<u8>>,
) -> (u16, String, String) {
    let mut req = server
        .client()
        .request(method.parse().expect("method"), server.url(path));
    if let Some(auth) = auth {
        req = req.header("Authorization", auth);
    }
    if let Some(body) = body {
        req = req.header("Content-Type", "application/json").body(body);
    }
    let resp = req.send().expect("request");
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, content_type, resp.text().unwrap_or_default())
}

// ---- contacts ----

#[test]
fn contacts_store_e164_and_are_found_by_any_phone_format() {
    let server = TestApp::start();

    let created = create(
        &server,
        "/api/v1/crm/contacts",
        json!({
            "name": "  Ann Example ",
            "email": "ann@example.com",
            "phones": ["(415) 555-0100", "+44 20 7946 0958", "415-555-0100"],
            "custom_fields": {"tier": "gold", "seats": 12},
        }),
    );
    let id = id_of(&created);
    assert_eq!(created["name"], "Ann Example", "names are trimmed");
    assert_eq!(created["email"], "ann@example.com");
    assert_eq!(
        created["phones"],
        json!(["+14155550100", "+442079460958"]),
        "phones are stored in E.164 (default region US), duplicates dropped"
    );
    assert_eq!(created["organization_id"], Value::Null);
    assert_eq!(
        created["custom_fields"],
        json!({"tier": "gold", "seats": 12})
    );
    time(&created["created_at"]);
    time(&created["updated_at"]);

    // GET one returns the stored record.
    let (status, one) = server.get(&format!("/api/v1/crm/contacts/{id}"));
    assert_eq!(status, 200, "{one}");
    assert_eq!(one, created);

    // The phone filter accepts any format and normalizes it like calls do.
    for written in [
        "415.555.0100",
        "+1 415 555 0100",
        "(415) 555-0100",
        "+14155550100",
        "tel:+1-415-555-0100",
    ] {
        let found = server.contacts_by_phone(written);
        assert_eq!(ids(&found), vec![id.clone()], "lookup by {written:?}");
        assert_eq!(found[0]["name"], "Ann Example");
    }
    let found = server.contacts_by_phone("+44 (0)20 7946 0958");
    assert_eq!(
        ids(&found),
        vec![id.clone()],
        "the second phone matches too"
    );

    // A number nobody has, and text that is no phone number, find nothing.
    assert!(server.contacts_by_phone("+1 415 555 0199").is_empty());
    for bad in ["not a number", "12", "+"] {
        assert!(
            server.contacts_by_phone(bad).is_empty(),
            "an invalid phone filter {bad:?} matches nobody"
        );
    }

    // PATCH changes the name and keeps everything else.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let (status, patched) = server.send(
        "PATCH",
        &format!("/api/v1/crm/contacts/{id}"),
        Some(&json!({"name": "Ann Other"})),
    );
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["name"], "Ann Other");
    assert_eq!(patched["email"], "ann@example.com");
    assert_eq!(patched["phones"], json!(["+14155550100", "+442079460958"]));
    assert_eq!(
        patched["custom_fields"],
        json!({"tier": "gold", "seats": 12})
    );
    assert_eq!(patched["created_at"], created["created_at"]);
    assert!(
        time(&patched["updated_at"]) > time(&created["updated_at"]),
        "PATCH moves updated_at: {created} -> {patched}"
    );
    let (_, after_patch) = server.get(&format!("/api/v1/crm/contacts/{id}"));
    assert_eq!(after_patch, patched, "the PATCH answer is what is stored");
    assert_eq!(
        ids(&server.contacts_by_phone("4155550100")),
        vec![id.clone()],
        "phones still match after a PATCH that did not touch them"
    );

    // An invalid PATCH is rejected and changes nothing.
    let (status, err) = server.send(
        "PATCH",
        &format!("/api/v1/crm/contacts/{id}"),
        Some(&json!({"name": "Should Not Stick", "email": "not-an-email"})),
    );
    assert_invalid(status, &err, "email");
    let (_, unchanged) = server.get(&format!("/api/v1/crm/contacts/{id}"));
    assert_eq!(
        unchanged, patched,
        "a rejected PATCH leaves the record as it was"
    );

    // PATCH replacing the phones: the old number no longer finds the contact.
    let (status, rephoned) = server.send(
        "PATCH",
        &format!("/api/v1/crm/contacts/{id}"),
        Some(&json!({"phones": ["+49 30 901820"]})),
    );
    assert_eq!(status, 200, "{rephoned}");
    assert_eq!(rephoned["phones"], json!(["+4930901820"]));
    assert!(server.contacts_by_phone("415.555.0100").is_empty());
    assert_eq!(
        ids(&server.contacts_by_phone("+4930901820")),
        vec![id.clone()]
    );

    // DELETE, then it is gone everywhere.
    let (status, body) = server.send("DELETE", &format!("/api/v1/crm/contacts/{id}"), None);
    assert_eq!(status, 204, "{body}");
    let (status, body) = server.get(&format!("/api/v1/crm/contacts/{id}"));
    assert_not_found(status, &body);
    assert!(server.contacts_by_phone("+4930901820").is_empty());
    assert!(server.all("contacts").is_empty());
    let (status, body) = server.send("DELETE", &format!("/api/v1/crm/contacts/{id}"), None);
    assert_not_found(status, &body);
    let (status, body) = server.send(
        "PATCH",
        &format!("/api/v1/crm/contacts/{id}"),
        Some(&json!({"name": "Ghost"})),
    );
    assert_not_found(status, &body);
}

/// A number written with another country's code is read by that country's
/// rules, not the group's region's: in the default region (US) a German
/// mobile number keeps its `1` (it was read as a US trunk prefix, making it
/// `+495112345678`, a valid number in Hannover: someone else's), in the CRM
/// and in the calls alike.
#[test]
fn a_foreign_number_is_not_read_with_the_regions_trunk_prefix() {
    let server = TestApp::start();
    let created = create(
        &server,
        "/api/v1/crm/contacts",
        json!({"name": "Berlin Mobile", "phones": ["+49 151 12345678"]}),
    );
    assert_eq!(created["phones"], json!(["+4915112345678"]), "{created}");
    let (status, body) =
        server.post_events(&answered_call("f-1", "+49 151 12345678", "ann@acme.com"));
    assert_eq!(status, 202, "{body}");
    let call = server.wait_synced("f-1");
    assert_eq!(call["from"], "+4915112345678", "{call}");
    assert_eq!(call["contact_id"], created["id"], "{call}");
}

#[test]
fn contact_validation_names_the_field() {
    let server = TestApp::start();

    let (status, err) = server.send(
        "POST",
        "/api/v1/crm/contacts",
        Some(&json!({"name": "Bob", "phones": ["+14155550100", "12345"]})),
    );
    assert_invalid(status, &err, "phones[1]");

    let (status, err) = server.send(
        "POST",
        "/api/v1/crm/contacts",
        Some(&json!({"phones": ["+14155550100"]})),
    );
    assert_invalid(status, &err, "name");

    let (status, err) = server.send(
        "POST",
        "/api/v1/crm/contacts",
        Some(&json!({"name": "   "})),
    );
    assert_invalid(status, &err, "name");

    let (status, err) = server.send(
        "POST",
        "/api/v1/crm/contacts",
        Some(&json!({"name": "Bob", "email": "bob at example"})),
    );
    assert_invalid(status, &err, "email");

    let (status, err) = server.send(
        "POST",
        "/api/v1/crm/contacts",
        Some(&json!({"name": "Bob", "nickname": "bobby"})),
    );
    assert_invalid(status, &err, "nickname");

    let (status, err) = server.send(
        "POST",
        "/api/v1/crm/contacts",
        Some(&json!({"name": "Bob", "id": "7"})),
    );
    assert_invalid(status, &err, "id");

    let (status, err) = server.send(
        "POST",
        "/api/v1/crm/contacts",
        Some(&json!({"name": "Bob", "custom_fields": ["a"]})),
    );
    assert_invalid(status, &err, "custom_fields");

    let (status, err) = server.send("POST", "/api/v1/crm/contacts", Some(&json!(["Bob"])));
    assert_eq!(status, 422, "a body that is not an object: {err}");
    assert_eq!(err["error"], "invalid");

    assert!(
        server.all("contacts").is_empty(),
        "no rejected request stored anything"
    );

    // Ids that are not ids are simply not found.
    for path in [
        "/api/v1/crm/contacts/abc",
        "/api/v1/crm/contacts/0",
        "/api/v1/crm/contacts/-1",
        "/api/v1/crm/contacts/999999",
    ] {
        let (status, body) = server.get(path);
        assert_not_found(status, &body);
    }
}

// ---- organizations ----

#[test]
fn organizations_and_contacts_that_belong_to_them() {
    let server = TestApp::start();

    let org = create(
        &server,
        "/api/v1/crm/organizations",
        json!({"name": "Acme Inc", "custom_fields": {"plan": "enterprise"}}),
    );
    let org_id = id_of(&org);
    assert_eq!(org["name"], "Acme Inc");
    assert_eq!(org["custom_fields"], json!({"plan": "enterprise"}));
    let (status, one) = server.get(&format!("/api/v1/crm/organizations/{org_id}"));
    assert_eq!(status, 200, "{one}");
    assert_eq!(one, org);
    assert_eq!(ids(&server.all("organizations")), vec![org_id.clone()]);

    let contact = create(
        &server,
        "/api/v1/crm/contacts",
        json!({"name": "Carol", "phones": ["+1 212 555 0147"], "organization_id": org_id}),
    );
    assert_eq!(contact["organization_id"], org_id.as_str());
    let (_, stored) = server.get(&format!("/api/v1/crm/contacts/{}", id_of(&contact)));
    assert_eq!(stored["organization_id"], org_id.as_str());

    // A numeric id is read the same way.
    let numeric: i64 = org_id.parse().expect("numeric id");
    let contact2 = create(
        &server,
        "/api/v1/crm/contacts",
        json!({"name": "Dan", "organization_id": numeric}),
    );
    assert_eq!(contact2["organization_id"], org_id.as_str());

    // Unknown organization: rejected, nothing stored.
    let (status, err) = server.send(
        "POST",
        "/api/v1/crm/contacts",
        Some(&json!({"name": "Eve", "organization_id": "999999"})),
    );
    assert_invalid(status, &err, "organization_id");
    let (status, err) = server.send(
        "POST",
        "/api/v1/crm/contacts",
        Some(&json!({"name": "Eve", "organization_id": "acme"})),
    );
    assert_invalid(status, &err, "organization_id");
    let (status, err) = server.send(
        "PATCH",
        &format!("/api/v1/crm/contacts/{}", id_of(&contact)),
        Some(&json!({"organization_id": "999999"})),
    );
    assert_invalid(status, &err, "organization_id");
    let (_, still) = server.get(&format!("/api/v1/crm/contacts/{}", id_of(&contact)));
    assert_eq!(still["organization_id"], org_id.as_str());
    assert_eq!(server.all("contacts").len(), 2);

    // PATCH an organization.
    let (status, renamed) = server.send(
        "PATCH",
        &format!("/api/v1/crm/organizations/{org_id}"),
        Some(&json!({"name": "Acme Corp"})),
    );
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["name"], "Acme Corp");
    assert_eq!(renamed["custom_fields"], json!({"plan": "enterprise"}));
    let (status, err) = server.send(
        "POST",
        "/api/v1/crm/organizations",
        Some(&json!({"name": "X", "domain": "x.com"})),
    );
    assert_invalid(status, &err, "domain");

    // Deleting the organization keeps its contacts, without the link.
    let (status, _) = server.send(
        "DELETE",
        &format!("/api/v1/crm/organizations/{org_id}"),
        None,
    );
    assert_eq!(status, 204);
    let (status, body) = server.get(&format!("/api/v1/crm/organizations/{org_id}"));
    assert_not_found(status, &body);
    let (status, orphan) = server.get(&format!("/api/v1/crm/contacts/{}", id_of(&contact)));
    assert_eq!(status, 200, "{orphan}");
    assert_eq!(orphan["organization_id"], Value::Null);
    assert_eq!(orphan["name"], "Carol");
}

// ---- tickets ----

#[test]
fn tickets_defaults_requester_filter_validation_and_patch() {
    let server = TestApp::start();
    let ann = id_of(&create(
        &server,
        "/api/v1/crm/contacts",
        json!({"name": "Ann", "phones": ["+14155550100"]}),
    ));
    let bob = id_of(&create(
        &server,
        "/api/v1/crm/contacts",
        json!({"name": "Bob", "phones": ["+14155550101"]}),
    ));

    let ticket = create(
        &server,
        "/api/v1/crm/tickets",
        json!({
            "subject": "Inbound call from +14155550100",
            "requester_id": ann,
            "tags": ["phone", "inbound"],
            "custom_fields": {"360000001": "google"},
            "comment": {"body": "Caller asked about the invoice."},
        }),
    );
    let tid = id_of(&ticket);
    assert_eq!(ticket["subject"], "Inbound call from +14155550100");
    assert_eq!(ticket["status"], "new", "default status");
    assert_eq!(ticket["priority"], "normal", "default priority");
    assert_eq!(ticket["type"], "question", "default type");
    assert_eq!(ticket["requester_id"], ann.as_str());
    assert_eq!(ticket["assignee"], Value::Null);
    assert_eq!(ticket["tags"], json!(["phone", "inbound"]));
    assert_eq!(ticket["custom_fields"], json!({"360000001": "google"}));
    assert_eq!(ticket["created_at"], ticket["updated_at"]);
    assert!(ticket.get("comment").is_none(), "{ticket}");
    assert_eq!(server.ticket(&tid), ticket);

    // The inline comment became the ticket's first comment (private by default).
    let comments = server.comments(&tid);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert_eq!(comments[0]["body"], "Caller asked about the invoice.");
    assert_eq!(comments[0]["public"], false);
    time(&comments[0]["created_at"]);

    let explicit = create(
        &server,
        "/api/v1/crm/tickets",
        json!({"subject": "Outage", "status": "open", "priority": "urgent",
               "type": "incident", "requester_id": bob, "assignee": "lead@acme.com"}),
    );
    assert_eq!(explicit["status"], "open");
    assert_eq!(explicit["priority"], "urgent");
    assert_eq!(explicit["type"], "incident");
    assert_eq!(explicit["assignee"], "lead@acme.com");
    assert_eq!(explicit["tags"], json!([]));
    assert_eq!(explicit["custom_fields"], json!({}));
    assert!(server.comments(&id_of(&explicit)).is_empty());
    let no_requester = create(&server, "/api/v1/crm/tickets", json!({"subject": "Loose"}));
    assert_eq!(no_requester["requester_id"], Value::Null);

    // ?contact_id= returns the requester's tickets only.
    let (status, list) = server.get(&format!("/api/v1/crm/tickets?contact_id={ann}"));
    assert_eq!(status, 200, "{list}");
    assert_eq!(
        ids(list["items"].as_array().expect("items")),
        vec![tid.clone()]
    );
    assert_eq!(list["items"][0], ticket);
    assert_eq!(list["next_after"], Value::Null);
    let (_, list) = server.get(&format!("/api/v1/crm/tickets?contact_id={bob}"));
    assert_eq!(
        ids(list["items"].as_array().expect("items")),
        vec![id_of(&explicit)]
    );
    let (_, list) = server.get("/api/v1/crm/tickets?contact_id=999999");
    assert_eq!(list["items"], json!([]));
    let (status, err) = server.get("/api/v1/crm/tickets?contact_id=ann");
    assert_invalid(status, &err, "contact_id");
    assert_eq!(server.all("tickets").len(), 3);

    // Validation.
    let bad = [
        (json!({"subject": "x", "status": "resolved"}), "status"),
        (json!({"subject": "x", "priority": "critical"}), "priority"),
        (json!({"subject": "x", "type": "bug"}), "type"),
        (json!({"subject": "x", "status": 2}), "status"),
        (json!({"subject": "x", "colour": "red"}), "colour"),
        (
            json!({"subject": "x", "created_at": "2026-01-01T00:00:00Z"}),
            "created_at",
        ),
        (json!({"status": "open"}), "subject"),
        (
            json!({"subject": "x", "requester_id": "999999"}),
            "requester_id",
        ),
        (json!({"subject": "x", "tags": "phone"}), "tags"),
        (json!({"subject": "x", "tags": ["ok", ""]}), "tags[1]"),
        (
            json!({"subject": "x", "comment": {"body": ""}}),
            "comment.body",
        ),
        (json!({"subject": "x", "comment": "hello"}), "comment"),
    ];
    for (body, field) in bad {
        let (status, err) = server.send("POST", "/api/v1/crm/tickets", Some(&body));
        assert_invalid(status, &err, field);
    }
    assert_eq!(server.all("tickets").len(), 3, "nothing invalid was stored");

    // PATCH: status to solved, everything else kept.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let (status, solved) = server.send(
        "PATCH",
        &format!("/api/v1/crm/tickets/{tid}"),
        Some(&json!({"status": "solved"})),
    );
    assert_eq!(status, 200, "{solved}");
    assert_eq!(solved["status"], "solved");
    for kept in [
        "subject",
        "priority",
        "type",
        "requester_id",
        "tags",
        "custom_fields",
        "created_at",
    ] {
        assert_eq!(solved[kept], ticket[kept], "PATCH kept {kept}");
    }
    assert!(time(&solved["updated_at"]) > time(&ticket["updated_at"]));
    assert_eq!(server.ticket(&tid), solved);

    // An invalid PATCH leaves the ticket alone; a comment cannot be sent on PATCH.
    let (status, err) = server.send(
        "PATCH",
        &format!("/api/v1/crm/tickets/{tid}"),
        Some(&json!({"status": "done"})),
    );
    assert_invalid(status, &err, "status");
    let (status, err) = server.send(
        "PATCH",
        &format!("/api/v1/crm/tickets/{tid}"),
        Some(&json!({"comment": {"body": "hi"}})),
    );
    assert_invalid(status, &err, "comment");
    assert_eq!(server.ticket(&tid), solved);

    // Deleting a requester keeps their tickets, without the link.
    let (status, _) = server.send("DELETE", &format!("/api/v1/crm/contacts/{bob}"), None);
    assert_eq!(status, 204);
    let orphan = server.ticket(&id_of(&explicit));
    assert_eq!(orphan["requester_id"], Value::Null);
    assert_eq!(orphan["subject"], "Outage");
    let (_, list) = server.get(&format!("/api/v1/crm/tickets?contact_id={bob}"));
    assert_eq!(list["items"], json!([]));

    // DELETE takes its comments with it.
    let (status, _) = server.send("DELETE", &format!("/api/v1/crm/tickets/{tid}"), None);
    assert_eq!(status, 204);
    let (status, body) = server.get(&format!("/api/v1/crm/tickets/{tid}"));
    assert_not_found(status, &body);
    let (status, body) = server.get(&format!("/api/v1/crm/tickets/{tid}/comments"));
    assert_not_found(status, &body);
}

// ---- comments ----

#[test]
fn comments_crud_and_they_touch_the_ticket() {
    let server = TestApp::start();
    let ticket = create(&server, "/api/v1/crm/tickets", json!({"subject": "Call"}));
    let tid = id_of(&ticket);
    let base = format!("/api/v1/crm/tickets/{tid}/comments");

    std::thread::sleep(std::time::Duration::from_millis(5));
    let first = create(&server, &base, json!({"body": " Left a voicemail. "}));
    let cid = id_of(&first);
    assert_eq!(first["body"], "Left a voicemail.");
    assert_eq!(first["public"], false);
    let second = create(
        &server,
        &base,
        json!({"body": "We called you back.", "public": true}),
    );
    assert_eq!(second["public"], true);

    // Adding a comment moves the ticket's updated_at to the comment's time.
    let touched = server.ticket(&tid);
    assert!(
        time(&touched["updated_at"]) > time(&ticket["updated_at"]),
        "{ticket} -> {touched}"
    );
    assert_eq!(touched["updated_at"], second["created_at"]);
    assert_eq!(touched["created_at"], ticket["created_at"]);

    // List, in order; GET one.
    let listed = server.comments(&tid);
    assert_eq!(ids(&listed), vec![cid.clone(), id_of(&second)]);
    assert_eq!(listed[0], first);
    let (status, one) = server.get(&format!("{base}/{cid}"));
    assert_eq!(status, 200, "{one}");
    assert_eq!(one, first);

    // PATCH the body, keep public.
    let (status, edited) = server.send(
        "PATCH",
        &format!("{base}/{cid}"),
        Some(&json!({"body": "Left a voicemail at 10:00."})),
    );
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["body"], "Left a voicemail at 10:00.");
    assert_eq!(edited["public"], false);
    assert_eq!(edited["created_at"], first["created_at"]);
    let (status, edited2) = server.send(
        "PATCH",
        &format!("{base}/{cid}"),
        Some(&json!({"public": true})),
    );
    assert_eq!(status, 200, "{edited2}");
    assert_eq!(edited2["body"], "Left a voicemail at 10:00.");
    assert_eq!(edited2["public"], true);
    assert_eq!(server.comments(&tid)[0], edited2);

    // Validation.
    let (status, err) = server.send("POST", &base, Some(&json!({"body": ""})));
    assert_invalid(status, &err, "body");
    let (status, err) = server.send("POST", &base, Some(&json!({})));
    assert_invalid(status, &err, "body");
    let (status, err) = server.send("POST", &base, Some(&json!({"body": "x", "public": "yes"})));
    assert_invalid(status, &err, "public");
    let (status, err) = server.send("POST", &base, Some(&json!({"body": "x", "author": "me"})));
    assert_invalid(status, &err, "author");
    let (status, err) = server.send(
        "PATCH",
        &format!("{base}/{cid}"),
        Some(&json!({"body": "  "})),
    );
    assert_invalid(status, &err, "body");
    assert_eq!(server.comments(&tid).len(), 2);
    assert_eq!(server.comments(&tid)[0], edited2);

    // Missing ticket or comment: 404.
    let (status, body) = server.send(
        "POST",
        "/api/v1/crm/tickets/999999/comments",
        Some(&json!({"body": "hello"})),
    );
    assert_not_found(status, &body);
    let (status, body) = server.get("/api/v1/crm/tickets/999999/comments");
    assert_not_found(status, &body);
    let (status, body) = server.get(&format!("{base}/999999"));
    assert_not_found(status, &body);
    let other = id_of(&create(
        &server,
        "/api/v1/crm/tickets",
        json!({"subject": "Other"}),
    ));
    let (status, body) = server.get(&format!("/api/v1/crm/tickets/{other}/comments/{cid}"));
    assert_not_found(status, &body);
    let (status, body) = server.send(
        "DELETE",
        &format!("/api/v1/crm/tickets/{other}/comments/{cid}"),
        None,
    );
    assert_not_found(status, &body);

    // DELETE.
    let (status, _) = server.send("DELETE", &format!("{base}/{cid}"), None);
    assert_eq!(status, 204);
    let (status, body) = server.get(&format!("{base}/{cid}"));
    assert_not_found(status, &body);
    assert_eq!(ids(&server.comments(&tid)), vec![id_of(&second)]);
    let (status, body) = server.send("DELETE", &format!("{base}/{cid}"), None);
    assert_not_found(status, &body);
}

// ---- tasks ----

#[test]
fn tasks_with_due_dates_and_links() {
    let server = TestApp::start();
    let contact = id_of(&create(
        &server,
        "/api/v1/crm/contacts",
        json!({"name": "Ann", "phones": ["+14155550100"]}),
    ));
    let ticket = id_of(&create(
        &server,
        "/api/v1/crm/tickets",
        json!({"subject": "Missed call", "requester_id": contact}),
    ));

    let task = create(
        &server,
        "/api/v1/crm/tasks",
        json!({"subject": "Call back", "due_at": "2026-11-22T16:00:00+01:00",
               "contact_id": contact, "ticket_id": ticket, "assignee": "ann@acme.com"}),
    );
    let id = id_of(&task);
    assert_eq!(task["subject"], "Call back");
    assert_eq!(task["status"], "open", "default status");
    assert_eq!(
        time(&task["due_at"]),
        time(&json!("2026-11-22T15:00:00Z")),
        "due_at is kept as the same instant: {task}"
    );
    assert_eq!(task["contact_id"], contact.as_str());
    assert_eq!(task["ticket_id"], ticket.as_str());
    assert_eq!(task["assignee"], "ann@acme.com");
    let (status, one) = server.get(&format!("/api/v1/crm/tasks/{id}"));
    assert_eq!(status, 200, "{one}");
    assert_eq!(one, task);
    assert_eq!(ids(&server.all("tasks")), vec![id.clone()]);

    let bare = create(&server, "/api/v1/crm/tasks", json!({"subject": "Someday"}));
    assert_eq!(bare["due_at"], Value::Null);
    assert_eq!(bare["contact_id"], Value::Null);
    assert_eq!(bare["ticket_id"], Value::Null);

    // Validation.
    let bad = [
        (json!({"subject": "x", "due_at": "tomorrow"}), "due_at"),
        (
            json!({"subject": "x", "due_at": "2026-11-22 15:00"}),
            "due_at",
        ),
        (json!({"subject": "x", "due_at": "2026-11-22"}), "due_at"),
        (json!({"subject": "x", "status": "pending"}), "status"),
        (json!({"subject": "x", "status": "solved"}), "status"),
        (
            json!({"subject": "x", "contact_id": "999999"}),
            "contact_id",
        ),
        (json!({"subject": "x", "ticket_id": "999999"}), "ticket_id"),
        (json!({"subject": "x", "priority": "high"}), "priority"),
        (json!({"due_at": "2026-11-22T15:00:00Z"}), "subject"),
    ];
    for (body, field) in bad {
        let (status, err) = server.send("POST", "/api/v1/crm/tasks", Some(&body));
        assert_invalid(status, &err, field);
    }
    assert_eq!(server.all("tasks").len(), 2, "nothing invalid was stored");

    // Status is open|done only.
    let (status, done) = server.send(
        "PATCH",
        &format!("/api/v1/crm/tasks/{id}"),
        Some(&json!({"status": "done"})),
    );
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "done");
    assert_eq!(done["due_at"], task["due_at"]);
    assert_eq!(done["contact_id"], task["contact_id"]);
    assert_eq!(done["ticket_id"], task["ticket_id"]);
    let (status, err) = server.send(
        "PATCH",
        &format!("/api/v1/crm/tasks/{id}"),
        Some(&json!({"status": "closed"})),
    );
    assert_invalid(status, &err, "status");
    let (status, err) = server.send(
        "PATCH",
        &format!("/api/v1/crm/tasks/{id}"),
        Some(&json!({"due_at": "next week"})),
    );
    assert_invalid(status, &err, "due_at");
    let (_, stored) = server.get(&format!("/api/v1/crm/tasks/{id}"));
    assert_eq!(stored, done);

    // Clearing the due date with null.
    let (status, undated) = server.send(
        "PATCH",
        &format!("/api/v1/crm/tasks/{id}"),
        Some(&json!({"due_at": null})),
    );
    assert_eq!(status, 200, "{undated}");
    assert_eq!(undated["due_at"], Value::Null);
    assert_eq!(undated["status"], "done");

    // Deleting the linked ticket keeps the task, unlinked.
    let (status, _) = server.send("DELETE", &format!("/api/v1/crm/tickets/{ticket}"), None);
    assert_eq!(status, 204);
    let (_, unlinked) = server.get(&format!("/api/v1/crm/tasks/{id}"));
    assert_eq!(unlinked["ticket_id"], Value::Null);
    assert_eq!(unlinked["contact_id"], contact.as_str());

    let (status, _) = server.send("DELETE", &format!("/api/v1/crm/tasks/{id}"), None);
    assert_eq!(status, 204);
    let (status, body) = server.get(&format!("/api/v1/crm/tasks/{id}"));
    assert_not_found(status, &body);
}

// ---- paging ----

#[test]
fn paging_walks_every_record_once_in_id_order() {
    let server = TestApp::start();
    let mut created = Vec::new();
    for i in 0..7 {
        let c = create(
            &server,
            "/api/v1/crm/contacts",
            json!({"name": format!("Contact {i}")}),
        );
        created.push(id_of(&c));
    }

    let mut seen = Vec::new();
    let mut pages = 0;
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            None => "/api/v1/crm/contacts?limit=3".to_string(),
            Some(a) => format!("/api/v1/crm/contacts?limit=3&after={a}"),
        };
        let (status, page) = server.get(&path);
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 3, "limit respected: {page}");
        seen.extend(ids(items));
        pages += 1;
        assert!(pages <= 4, "paging does not end: {page}");
        match &page["next_after"] {
            Value::Null => break,
            Value::String(next) => {
                assert_eq!(Some(next), items.last().map(id_of).as_ref(), "{page}");
                after = Some(next.clone());
            }
            other => panic!("next_after is a string id or null: {other}"),
        }
    }
    assert_eq!(seen, created, "all 7 seen once, in id order");
    assert_eq!(pages, 3);
    let as_numbers: Vec<i64> = seen.iter().map(|s| s.parse().expect("id")).collect();
    assert!(as_numbers.windows(2).all(|w| w[0] < w[1]), "{seen:?}");

    // Without a limit everything fits in the default page.
    let (_, all) = server.get("/api/v1/crm/contacts");
    assert_eq!(ids(all["items"].as_array().expect("items")), created);
    assert_eq!(all["next_after"], Value::Null);

    // Bad paging parameters name themselves.
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("after=x", "after"),
    ] {
        let (status, err) = server.get(&format!("/api/v1/crm/contacts?{query}"));
        assert_invalid(status, &err, field);
    }
    let (status, max) = server.get("/api/v1/crm/contacts?limit=100");
    assert_eq!(status, 200, "{max}");
    assert_eq!(max["items"].as_array().map(Vec::len), Some(7));
}

// ---- credentials ----

#[test]
fn every_api_endpoint_needs_a_valid_token() {
    let server = TestApp::start();
    let endpoints: [(&str, &str, Option<Value>); 7] = [
        ("GET", "/api/v1/crm/contacts", None),
        (
            "POST",
            "/api/v1/crm/contacts",
            Some(json!({"name": "Mallory"})),
        ),
        ("GET", "/api/v1/crm/tickets/1", None),
        ("DELETE", "/api/v1/crm/contacts/1", None),
        (
            "POST",
            "/api/v1/events",
            Some(answered_call("c1", "+14155550100", "ann@acme.com")),
        ),
        ("GET", "/api/v1/calls", None),
        ("GET", "/api/v1/calls/x", None),
    ];
    let wrong = format!("Bearer {}x", server.token);
    let credentials = [
        None,
        Some("Bearer wrong-token"),
        Some(wrong.as_str()),
        Some("Bearer "),
        Some("Basic dXNlcjpwYXNz"),
        Some(server.token.as_str()),
    ];
    for (method, path, body) in &endpoints {
        for auth in credentials {
            let bytes = body.as_ref().map(|b| b.to_string().into_bytes());
            let (status, content_type, text) = raw(&server, method, path, auth, bytes);
            assert_eq!(status, 401, "{method} {path} with {auth:?}: {text}");
            assert!(
                content_type.starts_with("application/json"),
                "{method} {path}: {content_type}"
            );
            let err: Value = serde_json::from_str(&text).expect("401 body is JSON");
            assert_eq!(err["error"], "unauthorized", "{method} {path}: {err}");
            assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
    }
    // Nothing got through.
    assert!(server.all("contacts").is_empty());
    let (status, calls) = server.get("/api/v1/calls");
    assert_eq!(status, 200, "{calls}");
    assert_eq!(calls["calls"], json!([]));

    // The right token works on the same endpoints.
    let good = format!("Bearer {}", server.token);
    let (status, _, text) = raw(&server, "GET", "/api/v1/crm/contacts", Some(&good), None);
    assert_eq!(status, 200, "{text}");
    let (status, _, text) = raw(&server, "GET", "/api/v1/calls/x", Some(&good), None);
    assert_eq!(status, 404, "an unknown call with a good token: {text}");

    // Health endpoints are open.
    for path in ["/healthz", "/readyz"] {
        let (status, _, text) = raw(&server, "GET", path, None, None);
        assert_eq!(status, 200, "{path}: {text}");
        let (status, _, text) = raw(&server, "GET", path, Some("Bearer wrong"), None);
        assert_eq!(status, 200, "{path} ignores credentials: {text}");
    }
    let (_, _, text) = raw(&server, "GET", "/healthz", None, None);
    assert_eq!(
        serde_json::from_str::<Value>(&text).ok(),
        Some(json!({"status": "ok"}))
    );
    let (_, _, text) = raw(&server, "GET", "/readyz", None, None);
    assert_eq!(
        serde_json::from_str::<Value>(&text).ok(),
        Some(json!({"status": "ready"}))
    );
}

// ---- limits ----

#[test]
fn oversized_and_malformed_bodies_are_rejected() {
    let server = TestApp::start();
    let auth = format!("Bearer {}", server.token);

    // 2 MiB of valid JSON: over the 1 MiB limit.
    let big = json!({"name": "Big", "custom_fields": {"blob": "x".repeat(2 * 1024 * 1024)}});
    let (status, _, text) = raw(
        &server,
        "POST",
        "/api/v1/crm/contacts",
        Some(&auth),
        Some(big.to_string().into_bytes()),
    );
    assert_eq!(status, 413, "{}", &text[..text.len().min(200)]);
    assert!(server.all("contacts").is_empty(), "nothing stored");

    // Just under the limit is fine.
    let fits = json!({"name": "Fits", "custom_fields": {"blob": "x".repeat(900 * 1024)}});
    let (status, _, text) = raw(
        &server,
        "POST",
        "/api/v1/crm/contacts",
        Some(&auth),
        Some(fits.to_string().into_bytes()),
    );
    assert_eq!(status, 201, "{}", &text[..text.len().min(200)]);

    // Malformed JSON: 400 malformed_json, on create and on PATCH.
    let contact = id_of(&server.all("contacts")[0]);
    for (method, path) in [
        ("POST", "/api/v1/crm/contacts".to_string()),
        ("POST", "/api/v1/crm/tickets".to_string()),
        ("PATCH", format!("/api/v1/crm/contacts/{contact}")),
        ("POST", "/api/v1/events".to_string()),
    ] {
        for body in ["{\"name\": ", "not json", "", "{\"name\": \"a\"} trailing"] {
            let bytes = body.as_bytes().to_vec();
            let (status, _, text) = raw(&server, method, &path, Some(&auth), Some(bytes));
            assert_eq!(status, 400, "{method} {path} {body:?}: {text}");
            let err: Value = serde_json::from_str(&text).expect("400 body is JSON");
            assert_eq!(err["error"], "malformed_json", "{err}");
            assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
    }
    assert_eq!(server.all("contacts").len(), 1);
    assert_eq!(server.all("contacts")[0]["name"], "Fits");
    assert!(server.all("tickets").is_empty());
}

/// DESIGN.md "Public interface v1": every HTTP error is
/// `{"error": "<code>", "message": "..."}`. Some are answered by the framework
/// instead, as plain text or with an empty body.
#[test]
fn framework_errors_use_the_json_error_shape() {
    let server = TestApp::start();
    let auth = format!("Bearer {}", server.token);
    let big = json!({"name": "Big", "custom_fields": {"blob": "x".repeat(2 * 1024 * 1024)}});
    let cases = [
        (
            "POST",
            "/api/v1/crm/contacts",
            Some(big.to_string().into_bytes()),
            413,
        ),
        (
            "POST",
            "/api/v1/events",
            Some(big.to_string().into_bytes()),
            413,
        ),
        ("PUT", "/api/v1/crm/contacts", None, 405),
        ("GET", "/api/v1/crm/contacts?limit=1&limit=2", None, 400),
    ];
    let mut failures = Vec::new();
    for (method, path, body, expected) in cases {
        let (status, content_type, text) = raw(&server, method, path, Some(&auth), body);
        let json_error = serde_json::from_str::<Value>(&text)
            .ok()
            .is_some_and(|v| v["error"].as_str().is_some_and(|e| !e.is_empty()));
        if status != expected || !json_error {
            failures.push(format!(
                "{method} {path}: {status} {content_type:?} {:?}",
                &text[..text.len().min(120)]
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
