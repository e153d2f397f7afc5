//! The admin API (issue 16, point 6): retrying a call that failed for good,
//! and the overview an admin reads. A call fails for good in the Zendesk
//! emulator when the API token's user may not create users (a plain agent:
//! Zendesk answers 403, a permanent error), and the emulator is healed by
//! giving that user the admin role back; then the retry must end with one
//! ticket and one comment.

use serde_json::json;
use zendesk_emulator::Role;

use crate::common::*;
use crate::zendesk::{TOKEN, Zd, backend_and_ann};

const ADMIN_TOKEN: &str = "admin-agent-token-0123456789";
const PLAIN_TOKEN: &str = "plain-agent-token-0123456789";

/// The emulator as the group `support`'s backend, Ann in the directory, and
/// two agents who sign in by token: Ada (admin) and Pat (not).
fn config(zd: &Zd, ann: u64) -> String {
    format!(
        r#"{backend}

[[agents]]
email = "ada@acme.com"
name = "Ada Admin"
token = "{ADMIN_TOKEN}"
admin = true

[[agents]]
email = "pat@acme.com"
name = "Pat Plain"
token = "{PLAIN_TOKEN}"

[[groups]]
name = "support"
backend = "zendesk"
tokens = ["{TOKEN}"]
"#,
        backend = backend_and_ann(zd, ann)
    )
}

/// A call whose caller cannot be created in Zendesk (the token's user is a
/// plain agent): it fails for good at `identify_caller`.
fn failed_call(zd: &Zd, server: &TestApp, call_id: &str, from: &str) -> CallView {
    zd.emu.set_api_role(Role::Agent);
    let (status, body) = server.post_events(&answered_call(call_id, from, "ann@acme.com"));
    assert_eq!(status, 202, "{body}");
    let call = server.wait_synced(call_id);
    assert_eq!(call["sync"], "failed", "{call}");
    call
}

/// The Zendesk tickets of the caller with this number, each with its comments.
fn tickets_of(zd: &Zd, phone: &str) -> Vec<(u64, Vec<String>)> {
    let state = zd.emu.state();
    let users: Vec<u64> = state
        .users
        .iter()
        .filter(|u| u.phone.as_deref() == Some(phone))
        .map(|u| u.id)
        .collect();
    assert_eq!(users.len(), 1, "one user for {phone}: {:?}", state.users);
    state
        .tickets
        .iter()
        .filter(|t| t.requester_id == users[0])
        .map(|t| {
            let comments = state
                .comments
                .iter()
                .filter(|c| c.ticket_id == t.id)
                .map(|c| c.body.clone())
                .collect();
            (t.id, comments)
        })
        .collect()
}

#[test]
fn a_call_that_failed_for_good_is_retried_and_lands_once() {
    let (zd, ann) = Zd::with_ann();
    let server = TestApp::with_config(&config(&zd, ann), TOKEN);
    let failed = failed_call(&zd, &server, "retry-1", "+14155550300");
    let reason = failed["sync_error"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("identify_caller") && reason.contains("admin role"),
        "{failed}"
    );
    assert!(zd.emu.state().tickets.is_empty());

    // The operator heals Zendesk (the token's user is an admin again), then
    // retries.
    zd.emu.set_api_role(Role::Admin);
    let (status, retried) = server.send("POST", "/api/v1/calls/retry-1/retry", None);
    assert_eq!(status, 202, "{retried}");
    assert_eq!(retried["call_id"], "retry-1");
    assert_eq!(retried["sync"], "pending", "{retried}");
    let call = server.wait_synced("retry-1");
    assert_eq!(call["sync"], "done", "{call}");
    assert!(call["sync_error"].is_null(), "{call}");

    // One ticket, with the call's one comment, for one new user.
    let tickets = tickets_of(&zd, "+14155550300");
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    assert_eq!(tickets[0].1.len(), 1, "{tickets:?}");
    assert!(tickets[0].1[0].contains("Outcome: answered"), "{tickets:?}");
    assert_eq!(call["ticket_id"], tickets[0].0.to_string());

    // Done now: a second retry is refused and changes nothing; an unknown
    // call is not found.
    let (status, refused) = server.send("POST", "/api/v1/calls/retry-1/retry", None);
    assert_eq!((status, &refused["error"]), (409, &json!("not_failed")));
    assert!(
        refused["message"].as_str().unwrap().contains("done"),
        "{refused}"
    );
    let (status, _) = server.send("POST", "/api/v1/calls/nobody/retry", None);
    assert_eq!(status, 404);
    assert_eq!(tickets_of(&zd, "+14155550300").len(), 1);
}

#[test]
fn the_overview_is_an_admins_and_an_admin_retries_from_it() {
    let (zd, ann) = Zd::with_ann();
    let server = TestApp::with_config(&config(&zd, ann), TOKEN);
    failed_call(&zd, &server, "ov-1", "+14155550310");

    // Signed out: 401. A group token: 403 (the overview spans every group).
    // A plain agent: 403, saying what is needed.
    let (status, _) = server.send_anonymous("GET", "/api/v1/admin/overview", None);
    assert_eq!(status, 401);
    let (status, body) = server.get("/api/v1/admin/overview");
    assert_eq!(
        (status, &body["error"]),
        (403, &json!("not_admin")),
        "{body}"
    );
    let pat = server.sign_in(&json!({ "token": PLAIN_TOKEN }));
    let (status, body) = pat.get("/api/v1/admin/overview");
    assert_eq!(
        (status, &body["error"]),
        (403, &json!("not_admin")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("admin = true"),
        "{body}"
    );
    let (status, body) = pat.send("POST", "/api/v1/calls/ov-1/retry", None);
    assert_eq!(
        (status, &body["error"]),
        (403, &json!("not_admin")),
        "{body}"
    );

    let ada = server.sign_in(&json!({ "token": ADMIN_TOKEN }));
    let (_, me) = ada.get("/api/v1/agent/me");
    assert_eq!(me["agent"]["admin"], true, "{me}");
    let (status, o) = ada.get("/api/v1/admin/overview");
    assert_eq!(status, 200, "{o}");
    assert_eq!(
        o["groups"],
        json!([{
            "name": "support",
            "backend": { "name": "zendesk", "kind": "zendesk" },
            "connectors": ["events"],
        }])
    );
    let instances = o["instances"]["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 1, "{o}");
    assert_eq!(instances[0]["id"], o["instances"]["this_instance"]);
    let lanes: Vec<&str> = o["queue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["lane"].as_str().unwrap())
        .collect();
    assert_eq!(lanes, ["live", "bulk"]);
    assert_eq!(o["queue"][0]["waiting"], 0, "{o}");
    let failed = &o["failed_calls"];
    assert_eq!(failed.as_array().unwrap().len(), 1, "{o}");
    assert_eq!(failed[0]["call_id"], "ov-1");
    assert_eq!(failed[0]["group"], "support");
    assert_eq!(failed[0]["from"], "+14155550310");
    assert_eq!(failed[0]["step"], "identify_caller");
    assert!(failed[0]["at"].is_string() && failed[0]["failed_at"].is_string());
    assert!(
        failed[0]["reason"].as_str().unwrap().contains("admin role"),
        "{o}"
    );
    assert_eq!(o["dead_letters"], json!({ "count": 0, "more": false }));
    assert_eq!(o["mirrors"], json!([]), "no backend keeps a mirror");

    // The admin's retry needs the session's CSRF token, like any unsafe
    // request signed in by the cookie.
    zd.emu.set_api_role(Role::Admin);
    let (status, body) = ada.send_with("POST", "/api/v1/calls/ov-1/retry", None, None);
    assert_eq!((status, &body["error"]), (403, &json!("csrf")), "{body}");
    let (status, retried) = ada.send("POST", "/api/v1/calls/ov-1/retry", None);
    assert_eq!(status, 202, "{retried}");
    // The admin follows the call, though it is not hers; Pat cannot read it.
    let call = server.wait_synced("ov-1");
    assert_eq!(call["sync"], "done", "{call}");
    let (status, seen) = ada.get("/api/v1/calls/ov-1");
    assert_eq!((status, &seen["sync"]), (200, &json!("done")), "{seen}");
    let (status, _) = pat.get("/api/v1/calls/ov-1");
    assert_eq!(status, 404);
    let (_, o) = ada.get("/api/v1/admin/overview");
    assert_eq!(o["failed_calls"], json!([]), "{o}");
    let tickets = tickets_of(&zd, "+14155550310");
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    assert_eq!(tickets[0].1.len(), 1, "{tickets:?}");
}

/// A backend with `mirror = true` shows on the overview: loading, then
/// current, with the users and open tickets it holds.
#[test]
fn the_overview_shows_the_zendesk_mirror() {
    let zd = Zd::start(|_| {});
    // Exported at once (Zendesk holds back the last minute; see the emulator).
    zd.emu.set_export_lag(std::time::Duration::ZERO);
    let ann = zd.emu.seed_agent("ann@acme.com", "Ann Example");
    let maria = zd.emu.seed_user(zendesk_emulator::SeedUser::end_user(
        "Maria Garcia",
        "+14155550101",
    ));
    zd.emu.seed_ticket(zendesk_emulator::SeedTicket {
        status: zendesk_emulator::TicketStatus::Open,
        ..zendesk_emulator::SeedTicket::new(maria, "Invoice shows the wrong plan")
    });
    let text = config(&zd, ann).replace(
        "requests_per_minute = 6000\n",
        "requests_per_minute = 6000\nmirror = true\n",
    );
    assert!(text.contains("mirror = true"));
    let server = TestApp::with_config(&text, TOKEN);
    let ada = server.sign_in(&json!({ "token": ADMIN_TOKEN }));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mirror = loop {
        let (status, o) = ada.get("/api/v1/admin/overview");
        assert_eq!(status, 200, "{o}");
        let mirror = o["mirrors"][0].clone();
        assert_eq!(mirror["backend"], "zendesk", "{o}");
        if mirror["phase"] == "current" {
            break mirror;
        }
        assert_eq!(mirror["phase"], "loading", "{o}");
        assert!(std::time::Instant::now() < deadline, "never loaded: {o}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    // Ann, the admin user of the emulator and Maria; Maria's open ticket.
    assert!(mirror["users"].as_i64().unwrap() >= 2, "{mirror}");
    assert_eq!(mirror["tickets"], 1, "{mirror}");
    assert!(mirror["lag_seconds"].as_u64().unwrap() < 60, "{mirror}");

    // The same lag on /metrics (issue 16's "mirror lag"), as Prometheus reads it.
    let series = "deskbridge_mirror_lag_seconds{backend=\"zendesk\"} ";
    let lag = loop {
        // An admin reads /metrics with their session.
        let (status, text) = ada.get("/metrics");
        assert_eq!(status, 200, "{text}");
        let text = text.as_str().unwrap_or_default().to_string();
        if let Some(line) = text.lines().find(|l| l.starts_with(series)) {
            break line[series.len()..]
                .trim()
                .parse::<f64>()
                .expect("a number");
        }
        assert!(std::time::Instant::now() < deadline, "no {series}in {text}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!((0.0..60.0).contains(&lag), "{lag}");
}
