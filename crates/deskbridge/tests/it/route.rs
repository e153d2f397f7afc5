//! `GET /api/v1/route`: while a call rings, the PBX asks where to send it; the
//! answer is the owner of the caller's open ticket (their directory `target`,
//! else extension), with the reason, as JSON or as plain text for dialplans.

use serde_json::{Value, json};

use crate::common::*;

const TOKEN: &str = "route-token-0123456789abcdef";

fn start() -> TestApp {
    let config = format!(
        r#"
[[agents]]
email = "ann@acme.com"
name = "Ann Example"
extension = "101"
target = "sip:ann@pbx.acme.com"

[[agents]]
email = "bob@acme.com"
extension = "102"

[[groups]]
name = "support"
tokens = ["{TOKEN}"]
numbers = ["+14155550199"]
"#
    );
    TestApp::with_config(&config, TOKEN)
}

/// A customer with a ticket in `status` assigned to `assignee`.
fn customer(app: &TestApp, phone: &str, status: &str, assignee: Option<&str>) {
    let (s, contact) = app.send(
        "POST",
        "/api/v1/crm/contacts",
        Some(&json!({"name": format!("Customer {phone}"), "phones": [phone]})),
    );
    assert_eq!(s, 201, "{contact}");
    let (s, ticket) = app.send(
        "POST",
        "/api/v1/crm/tickets",
        Some(
            &json!({"subject": "Open case", "requester_id": contact["id"],
                     "status": status, "assignee": assignee}),
        ),
    );
    assert_eq!(s, 201, "{ticket}");
}

fn text(app: &TestApp, query: &str) -> (u16, String) {
    let resp = app
        .client()
        .get(app.url(&format!("/api/v1/route?{query}&format=text")))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    (resp.status().as_u16(), resp.text().unwrap())
}

#[test]
fn a_caller_with_an_open_ticket_is_routed_to_its_owner() {
    let app = start();
    customer(&app, "+14155550101", "open", Some("ann@acme.com"));
    customer(&app, "+14155550102", "pending", Some("bob@acme.com"));
    let (status, answer) = app.get("/api/v1/route?from=%2B14155550101&to=%2B14155550199");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["target"], "sip:ann@pbx.acme.com");
    assert_eq!(answer["agent"]["email"], "ann@acme.com");
    assert_eq!(answer["reason"], "open_ticket_owner");
    // Any format of the number; the owner without a target is reached on their extension.
    let (_, answer) = app.get("/api/v1/route?from=(415)%20555-0102");
    assert_eq!(answer["target"], "102", "{answer}");
    assert_eq!(
        text(&app, "from=%2B14155550101"),
        (200, "sip:ann@pbx.acme.com".into())
    );
}

#[test]
fn no_preference_says_why_and_is_an_empty_text_body() {
    let app = start();
    customer(&app, "+14155550111", "solved", Some("ann@acme.com"));
    customer(&app, "+14155550112", "open", None);
    customer(&app, "+14155550113", "open", Some("eve@elsewhere.com"));
    for (from, reason) in [
        ("anonymous", "no_caller_number"),
        ("%2B14155550110", "unknown_caller"),
        ("%2B14155550111", "no_open_ticket"),
        ("%2B14155550112", "unassigned"),
        ("%2B14155550113", "owner_not_in_directory"),
    ] {
        let (status, answer): (u16, Value) = app.get(&format!("/api/v1/route?from={from}"));
        assert_eq!(status, 200);
        assert_eq!(answer["target"], Value::Null, "{from}: {answer}");
        assert_eq!(answer["reason"], reason, "{from}");
        assert_eq!(text(&app, &format!("from={from}")), (200, String::new()));
    }
    let resp = app
        .client()
        .get(app.url("/api/v1/route?from=%2B14155550111"))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 401, "the routing answer needs credentials");
}

/// A ringing caller is never kept waiting on the helpdesk: when it fails (or is
/// slow), the answer is "no preference", at once, and says why.
#[test]
fn a_failing_helpdesk_gives_no_preference_not_an_error() {
    use crate::zendesk::{TOKEN as ZD_TOKEN, Zd, config};
    let (zd, ann) = Zd::with_ann();
    let app = TestApp::with_config(&config(&zd, ann, ""), ZD_TOKEN);
    zd.emu.set_faults(1.0, std::time::Duration::ZERO);
    let started = std::time::Instant::now();
    let (status, answer) = app.get("/api/v1/route?from=%2B14155550177");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["target"], Value::Null);
    assert_eq!(answer["reason"], "helpdesk_unavailable");
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
}
