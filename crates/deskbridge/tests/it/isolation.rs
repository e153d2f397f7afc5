//! Two groups with two built-in backends: each group's token reaches its own
//! calls and its own backend's records, and nothing of the other group's (issue
//! 10, point 1).

use serde_json::{Value, json};

use crate::common::{TestApp, answered_call, urlencode};

const TOKEN_A: &str = "token-a-0123456789abcdef";
const TOKEN_B: &str = "token-b-0123456789abcdef";
const CALLER: &str = "+14155550123";

fn two_backends() -> TestApp {
    let config = format!(
        r#"[backends.crm_a]
kind = "builtin"

[backends.crm_b]
kind = "builtin"

[[groups]]
name = "a"
backend = "crm_a"
tokens = ["{TOKEN_A}"]

[[groups]]
name = "b"
backend = "crm_b"
tokens = ["{TOKEN_B}"]
"#
    );
    TestApp::with_config(&config, TOKEN_A)
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_string()
}

/// What group B owns, made through the API as B's token.
struct BRecords {
    org: String,
    contact: String,
    ticket: String,
    comment: String,
    task: String,
    call_id: String,
    call_contact: String,
}

fn b_records(app: &TestApp) -> BRecords {
    let b = app.as_token(TOKEN_B);
    let created = |path: &str, body: Value| {
        let (status, body) = b.send("POST", path, Some(&body));
        assert_eq!(status, 201, "{path}: {body}");
        id(&body)
    };
    let org = created("/api/v1/crm/organizations", json!({"name": "B Corp"}));
    let contact = created(
        "/api/v1/crm/contacts",
        json!({"name": "Bob", "phones": [CALLER], "organization_id": org}),
    );
    let ticket = created(
        "/api/v1/crm/tickets",
        json!({"subject": "B's ticket", "requester_id": contact}),
    );
    let comment = created(
        &format!("/api/v1/crm/tickets/{ticket}/comments"),
        json!({"body": "B's note"}),
    );
    let task = created(
        "/api/v1/crm/tasks",
        json!({"subject": "Call Bob back", "contact_id": contact}),
    );
    let (status, body) = b.post_events(&answered_call("b-call", CALLER, "ann@acme.com"));
    assert_eq!(status, 202, "{body}");
    let call = b.wait_synced("b-call");
    assert_eq!(call["sync"], "done", "{call}");
    assert_eq!(
        call["contact_id"],
        contact.as_str(),
        "B's call matches B's contact"
    );
    BRecords {
        org,
        contact,
        ticket,
        comment,
        task,
        call_id: "b-call".into(),
        call_contact: call["contact_id"].as_str().unwrap_or_default().into(),
    }
}

/// Everything B can see, to compare before and after A tried.
fn b_view(app: &TestApp, r: &BRecords) -> Vec<Value> {
    let b = app.as_token(TOKEN_B);
    let mut paths = vec![
        "/api/v1/crm/contacts?limit=100".to_string(),
        "/api/v1/crm/organizations?limit=100".to_string(),
        "/api/v1/crm/tickets?limit=100".to_string(),
        "/api/v1/crm/tasks?limit=100".to_string(),
        format!("/api/v1/crm/tickets/{}/comments?limit=100", r.ticket),
        "/api/v1/calls?limit=100".to_string(),
    ];
    paths.push(format!("/api/v1/calls/{}", r.call_id));
    paths
        .iter()
        .map(|p| {
            let (status, body) = b.get(p);
            assert_eq!(status, 200, "{p}: {body}");
            body
        })
        .collect()
}

#[test]
fn a_token_reaches_no_endpoint_of_another_groups_records_or_calls() {
    let app = two_backends();
    let r = b_records(&app);
    let before = b_view(&app, &r);
    let a = app.as_token(TOKEN_A);

    // Lists: empty, whatever filter names B's records.
    for path in [
        "/api/v1/crm/contacts".to_string(),
        format!("/api/v1/crm/contacts?phone={}", urlencode(CALLER)),
        "/api/v1/crm/organizations".to_string(),
        "/api/v1/crm/tickets".to_string(),
        format!("/api/v1/crm/tickets?contact_id={}", r.contact),
        "/api/v1/crm/tasks".to_string(),
        format!("/api/v1/calls?phone={}", urlencode(CALLER)),
        "/api/v1/calls".to_string(),
    ] {
        let (status, body) = a.get(&path);
        assert_eq!(status, 200, "{path}: {body}");
        let items = match path.starts_with("/api/v1/calls") {
            true => &body["calls"],
            false => &body["items"],
        };
        assert_eq!(items, &json!([]), "{path} shows B's records: {body}");
    }

    // One record, by id, with every method: not found, and nothing changes.
    let patch = json!({"name": "Mallory", "subject": "Mallory", "body": "Mallory"});
    let one = [
        format!("/api/v1/crm/contacts/{}", r.contact),
        format!("/api/v1/crm/organizations/{}", r.org),
        format!("/api/v1/crm/tickets/{}", r.ticket),
        format!("/api/v1/crm/tickets/{}/comments/{}", r.ticket, r.comment),
        format!("/api/v1/crm/tasks/{}", r.task),
    ];
    for path in &one {
        for (method, body) in [("GET", None), ("PATCH", Some(&patch)), ("DELETE", None)] {
            let (status, resp) = a.send(method, path, body);
            assert_eq!(status, 404, "{method} {path}: {resp}");
            assert_eq!(resp["error"], "not_found", "{method} {path}: {resp}");
        }
    }
    let comments = format!("/api/v1/crm/tickets/{}/comments", r.ticket);
    let (status, body) = a.get(&comments);
    assert_eq!(status, 404, "{body}");
    let (status, body) = a.send("POST", &comments, Some(&json!({"body": "A's note"})));
    assert_eq!(status, 404, "{body}");
    let (status, body) = a.get(&format!("/api/v1/calls/{}", r.call_id));
    assert_eq!(status, 404, "{body}");

    // A's records cannot point at B's.
    for (path, body, field) in [
        (
            "/api/v1/crm/tickets",
            json!({"subject": "x", "requester_id": r.contact}),
            "requester_id",
        ),
        (
            "/api/v1/crm/contacts",
            json!({"name": "x", "organization_id": r.org}),
            "organization_id",
        ),
        (
            "/api/v1/crm/tasks",
            json!({"subject": "x", "ticket_id": r.ticket}),
            "ticket_id",
        ),
    ] {
        let (status, resp) = a.send("POST", path, Some(&body));
        assert_eq!(status, 422, "{path}: {resp}");
        assert_eq!(resp["field"], field, "{path}: {resp}");
    }

    // A's call from B's contact's number does not match B's contact: A's backend
    // makes its own.
    let (status, body) = a.post_events(&answered_call("a-call", CALLER, "ann@acme.com"));
    assert_eq!(status, 202, "{body}");
    let call = a.wait_synced("a-call");
    assert_eq!(call["sync"], "done", "{call}");
    assert_ne!(call["contact_id"], r.call_contact.as_str(), "{call}");
    let (_, mine) = a.get(&format!("/api/v1/crm/contacts?phone={}", urlencode(CALLER)));
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(1), "{mine}");
    assert_eq!(mine["items"][0]["id"], call["contact_id"], "{mine}");

    // B sees exactly what it saw before (A's call and contact are not among them).
    assert_eq!(b_view(&app, &r), before);
}

/// The call stream of A's token carries A's calls and none of B's.
#[test]
fn the_call_stream_of_one_group_carries_none_of_anothers_calls() {
    let app = two_backends();
    let seen = app.read_call_stream(TOKEN_A);
    let b = app.as_token(TOKEN_B);
    assert_eq!(
        b.post_events(&answered_call("b-streamed", CALLER, "ann@acme.com"))
            .0,
        202
    );
    b.wait_synced("b-streamed");
    let a = app.as_token(TOKEN_A);
    assert_eq!(
        a.post_events(&answered_call("a-streamed", CALLER, "ann@acme.com"))
            .0,
        202
    );
    a.wait_synced("a-streamed");
    // A's own call arriving shows the stream works; B's must not be in it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let text = seen.lock().map(|s| s.clone()).unwrap_or_default();
        if text.contains("a-streamed") {
            assert!(!text.contains("b-streamed"), "{text}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "A's call never streamed: {text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
