//! The agent page's API (issue 11, points 3 to 6): sign-in and out, CSRF, what an
//! agent may see, agent-mode decisions landing the call on the right record,
//! the caller lookup card, and the caller log's filters, done flags and purge.

use deskbridge_testkit::CallScript;
use serde_json::{Value, json};

use crate::common::{AgentBrowser, CallView, TestApp, ids};

const TOKEN: &str = "support-token-0123456789";
const ANN_PASSWORD: &str = "ann-password-1";
const BOB_TOKEN: &str = "bob-agent-token-0123456789";

/// A group in agent mode (or not), Ann signing in with a password and Bob with
/// a token.
fn config(group_keys: &str) -> String {
    let hash = deskbridge::agent_auth::hash_password(ANN_PASSWORD).expect("a hash");
    format!(
        r#"
[[agents]]
email = "ann@acme.com"
name = "Ann Example"
extension = "101"
password_hash = "{hash}"

[[agents]]
email = "bob@acme.com"
name = "Bob Example"
token = "{BOB_TOKEN}"

[[groups]]
name = "support"
tokens = ["{TOKEN}"]
{group_keys}
"#
    )
}

fn app(group_keys: &str) -> TestApp {
    TestApp::with_config(&config(group_keys), TOKEN)
}

fn ann(app: &TestApp) -> AgentBrowser<'_> {
    app.sign_in(&json!({"email": "ann@acme.com", "password": ANN_PASSWORD}))
}

fn bob(app: &TestApp) -> AgentBrowser<'_> {
    app.sign_in(&json!({"token": BOB_TOKEN}))
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// A call ringing now and answered by `agent` (times left out: now).
fn answered_now(call_id: &str, from: &str, agent: &str, attributes: Value) -> Value {
    CallScript::inbound(call_id, from)
        .attributes(attributes)
        .queue("support")
        .answered_by(agent)
        .events()
}

fn end_now(app: &TestApp, call_id: &str) {
    let (status, body) = app.post_events(&json!({"id": format!("{call_id}-end"),
        "call_id": call_id, "type": "ended", "reason": "completed"}));
    assert_eq!(status, 202, "{body}");
}

/// How many comments on the call's ticket are the call's own (its outcome).
/// (A ticket made while the call is live opens with a note of the call so far.)
fn call_comments(app: &TestApp, call: &Value) -> usize {
    app.comments(s(&call["ticket_id"]))
        .iter()
        .filter(|c| s(&c["body"]).contains("Outcome: answered"))
        .count()
}

fn create(app: &TestApp, path: &str, body: Value) -> Value {
    let (status, created) = app.send("POST", path, Some(&body));
    assert_eq!(status, 201, "{created}");
    created
}

// ---- sign-in ----

#[test]
fn an_agent_signs_in_and_out_and_a_wrong_password_reads_like_an_unknown_email() {
    let app = app("");
    let (wrong, wrong_body) = app.send_anonymous(
        "POST",
        "/api/v1/agent/login",
        Some(&json!({"email": "ann@acme.com", "password": "nope"})),
    );
    let (unknown, unknown_body) = app.send_anonymous(
        "POST",
        "/api/v1/agent/login",
        Some(&json!({"email": "eve@acme.com", "password": "nope"})),
    );
    assert_eq!((wrong, unknown), (401, 401));
    assert_eq!(wrong_body, unknown_body, "the same answer for both");

    let ann = ann(&app);
    assert!(ann.set_cookie.contains("HttpOnly"), "{}", ann.set_cookie);
    assert!(
        ann.set_cookie.contains("SameSite=Strict"),
        "{}",
        ann.set_cookie
    );
    assert!(
        !ann.set_cookie.contains("Secure"),
        "plain http: {}",
        ann.set_cookie
    );
    let (status, me) = ann.get("/api/v1/agent/me");
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["agent"]["email"], "ann@acme.com");
    assert_eq!(me["agent"]["name"], "Ann Example");
    assert_eq!(me["csrf_token"], ann.csrf.as_str());

    // Bob signs in with his token.
    let bob = bob(&app);
    assert_eq!(
        bob.get("/api/v1/agent/me").1["agent"]["email"],
        "bob@acme.com"
    );

    // Signing out needs the CSRF header like any unsafe request.
    let (status, body) = ann.send_with("POST", "/api/v1/agent/logout", None, None);
    assert_eq!(status, 403, "{body}");
    let (status, body) = ann.send("POST", "/api/v1/agent/logout", None);
    assert_eq!(status, 200, "{body}");
    for path in ["/api/v1/agent/me", "/api/v1/agent/calls", "/api/v1/calls"] {
        let (status, body) = ann.get(path);
        assert_eq!(status, 401, "{path}: {body}");
    }
    // Bob's session is another one.
    assert_eq!(bob.get("/api/v1/agent/me").0, 200);
    // Signed out: nothing.
    assert_eq!(
        app.send_anonymous("GET", "/api/v1/agent/calls", None).0,
        401
    );
    assert_eq!(
        app.send_anonymous("GET", "/api/v1/lookup?phone=1", None).0,
        401
    );
}

/// A sign-in by hand: (status, its `Set-Cookie` if any, body).
fn raw_sign_in(
    app: &TestApp,
    content_type: &str,
    origin: Option<&str>,
    body: &str,
) -> (u16, Option<String>, Value) {
    let mut req = app
        .client()
        .post(app.url("/api/v1/agent/login"))
        .header("content-type", content_type)
        .body(body.to_string());
    if let Some(origin) = origin {
        req = req.header("origin", origin);
    }
    let resp = req.send().expect("request");
    let status = resp.status().as_u16();
    let cookie = resp
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().expect("text").to_string());
    (status, cookie, resp.json().unwrap_or(Value::Null))
}

#[test]
fn login_csrf_a_cross_site_form_or_origin_signs_nobody_in() {
    let app = app("");
    let creds = json!({"email": "ann@acme.com", "password": ANN_PASSWORD}).to_string();
    // A cross-site form posts text/plain (or urlencoded) with JSON as its text.
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let (status, cookie, body) = raw_sign_in(&app, content_type, None, &creds);
        assert_eq!(status, 415, "{content_type}: {body}");
        assert_eq!(body["error"], "unsupported_media_type", "{body}");
        assert!(
            body["message"]
                .as_str()
                .expect("message")
                .contains("application/json"),
            "says what to send: {body}"
        );
        assert_eq!(cookie, None, "{content_type}: no session");
    }
    // JSON from another site's page (a browser names it in Origin).
    let token = json!({"token": BOB_TOKEN}).to_string();
    for origin in [
        "https://evil.example",
        "null",
        "http://127.0.0.1.evil.example",
    ] {
        for body in [&creds, &token] {
            let (status, cookie, answer) =
                raw_sign_in(&app, "application/json", Some(origin), body);
            assert_eq!(status, 403, "{origin}: {answer}");
            assert_eq!(answer["error"], "cross_origin", "{answer}");
            assert_eq!(cookie, None, "{origin}: no session");
        }
    }
    // The page's own sign-in: same origin, JSON (charset or not); and a client
    // that sends no Origin at all.
    let own = app.url("");
    let (status, cookie, body) =
        raw_sign_in(&app, "application/json; charset=utf-8", Some(&own), &creds);
    assert_eq!(status, 200, "{body}");
    assert!(cookie.is_some());
    let (status, _, body) = raw_sign_in(&app, "application/json", None, &token);
    assert_eq!(status, 200, "{body}");
}

/// Ann's app reached at `public_url` and framed by `https://acme.zendesk.com`.
fn framed_app(public_url: &str) -> TestApp {
    let hash = deskbridge::agent_auth::hash_password(ANN_PASSWORD).expect("a hash");
    TestApp::with_config(
        &format!(
            r#"
[server]
public_url = "{public_url}"
frame_ancestors = ["https://acme.zendesk.com"]

[[agents]]
email = "ann@acme.com"
password_hash = "{hash}"

[[groups]]
name = "support"
tokens = ["{TOKEN}"]
"#
        ),
        TOKEN,
    )
}

#[test]
fn login_csrf_the_public_url_and_frame_ancestors_origins_may_sign_in() {
    let app = framed_app("https://deskbridge.acme.com/base");
    let creds = json!({"email": "ann@acme.com", "password": ANN_PASSWORD}).to_string();
    for origin in ["https://deskbridge.acme.com", "https://acme.zendesk.com"] {
        let (status, cookie, body) = raw_sign_in(&app, "application/json", Some(origin), &creds);
        assert_eq!(status, 200, "{origin}: {body}");
        assert!(cookie.is_some());
    }
    let (status, _, body) = raw_sign_in(
        &app,
        "application/json",
        Some("https://other.zendesk.com"),
        &creds,
    );
    assert_eq!(status, 403, "{body}");
}

/// A sign-in from `from` (a loopback address: the server counts failures per
/// client address): (status, `Retry-After`, body).
fn sign_in_from(app: &TestApp, from: [u8; 4], body: &Value) -> (u16, Option<u64>, Value) {
    let client = reqwest::blocking::Client::builder()
        .local_address(std::net::IpAddr::from(from))
        .build()
        .expect("a client");
    let resp = client
        .post(app.url("/api/v1/agent/login"))
        .json(body)
        .send()
        .expect("request");
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().expect("text").parse().expect("seconds"));
    (status, retry_after, resp.json().unwrap_or(Value::Null))
}

#[test]
fn throttle_wrong_passwords_for_one_account_wait_while_others_sign_in() {
    let app = app("");
    let wrong = json!({"email": "ann@acme.com", "password": "guess"});
    for i in 0..5 {
        let (status, _, body) = sign_in_from(&app, [127, 0, 0, 1], &wrong);
        assert_eq!(status, 401, "attempt {i}: {body}");
    }
    let (status, retry_after, body) = sign_in_from(&app, [127, 0, 0, 1], &wrong);
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"], "too_many_sign_ins", "{body}");
    assert!(retry_after.is_some_and(|s| s >= 1), "{retry_after:?}");
    // The account waits from any address, even with the right password...
    let right = json!({"email": "ANN@acme.com", "password": ANN_PASSWORD});
    let (status, _, body) = sign_in_from(&app, [127, 0, 0, 2], &right);
    assert_eq!(status, 429, "{body}");
    // ...and an unknown email is throttled alike (no telling which exist).
    let unknown = json!({"email": "eve@acme.com", "password": "guess"});
    for _ in 0..5 {
        assert_eq!(sign_in_from(&app, [127, 0, 0, 3], &unknown).0, 401);
    }
    assert_eq!(sign_in_from(&app, [127, 0, 0, 3], &unknown).0, 429);
    // Another agent signs in, from the guesser's address too.
    let (status, _, body) = sign_in_from(&app, [127, 0, 0, 1], &json!({"token": BOB_TOKEN}));
    assert_eq!(status, 200, "{body}");
    // After the wait, the right password signs Ann in, and clears her count.
    std::thread::sleep(std::time::Duration::from_secs(retry_after.unwrap_or(1)));
    let (status, _, body) = sign_in_from(&app, [127, 0, 0, 2], &right);
    assert_eq!(status, 200, "{body}");
    assert_eq!(sign_in_from(&app, [127, 0, 0, 1], &wrong).0, 401);
}

#[test]
fn throttle_wrong_tokens_from_one_address_wait_while_others_sign_in() {
    let app = app("");
    let wrong = json!({"token": "a-guessed-token-0123456789"});
    for i in 0..5 {
        let (status, _, body) = sign_in_from(&app, [127, 0, 0, 1], &wrong);
        assert_eq!(status, 401, "attempt {i}: {body}");
    }
    let (status, retry_after, body) = sign_in_from(&app, [127, 0, 0, 1], &wrong);
    assert_eq!(status, 429, "{body}");
    assert!(retry_after.is_some_and(|s| s >= 1), "{retry_after:?}");
    // A token from that address waits too, right or not.
    assert_eq!(
        sign_in_from(&app, [127, 0, 0, 1], &json!({"token": BOB_TOKEN})).0,
        429
    );
    // From another address, Bob's token works; from the same one, Ann's password.
    assert_eq!(
        sign_in_from(&app, [127, 0, 0, 2], &json!({"token": BOB_TOKEN})).0,
        200
    );
    let right = json!({"email": "ann@acme.com", "password": ANN_PASSWORD});
    let (status, _, body) = sign_in_from(&app, [127, 0, 0, 1], &right);
    assert_eq!(status, 200, "{body}");
}

#[test]
fn throttle_a_flood_of_wrong_passwords_does_not_shut_out_another_agent() {
    let app = app("");
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..40 {
            scope.spawn(|| {
                let wrong = json!({"email": "bob@acme.com", "password": "guess"});
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = sign_in_from(&app, [127, 0, 0, 9], &wrong);
                }
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        let right = json!({"email": "ann@acme.com", "password": ANN_PASSWORD});
        let answers: Vec<u16> = (0..6)
            .map(|_| sign_in_from(&app, [127, 0, 0, 1], &right).0)
            .collect();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(answers, [200; 6], "Ann's sign-ins during the flood");
    });
}

#[test]
fn a_framed_page_gets_a_samesite_none_secure_cookie_and_its_csp_names_the_frame_origins() {
    let app = framed_app("https://deskbridge.acme.com");
    let ann = ann(&app);
    assert!(
        ann.set_cookie.contains("SameSite=None"),
        "{}",
        ann.set_cookie
    );
    assert!(ann.set_cookie.contains("Secure"), "{}", ann.set_cookie);
    let page = app.client().get(app.url("/agent")).send().expect("page");
    assert_eq!(page.status().as_u16(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("text")
        .to_string();
    assert!(
        csp.contains("frame-ancestors https://acme.zendesk.com"),
        "{csp}"
    );
    assert!(
        page.text()
            .expect("html")
            .contains("<h2 id=\"signin-title\">Sign in</h2>")
    );
}

#[test]
fn unsafe_requests_by_the_session_cookie_need_the_sessions_csrf_token() {
    let app = app("");
    let ann = ann(&app);
    let body = json!({"call_ids": ["c1"]});
    let (status, err) = ann.send_with("POST", "/api/v1/calls/done", Some(&body), None);
    assert_eq!(status, 403, "{err}");
    assert_eq!(err["error"], "csrf");
    let (status, _) = ann.send_with("POST", "/api/v1/calls/done", Some(&body), Some("forged"));
    assert_eq!(status, 403);
    // Another session's token is not this one's.
    let bob = bob(&app);
    let (status, _) = ann.send_with("POST", "/api/v1/calls/done", Some(&body), Some(&bob.csrf));
    assert_eq!(status, 403);
    let (status, answer) = ann.send("POST", "/api/v1/calls/done", Some(&body));
    assert_eq!(status, 200, "{answer}");
    // A bearer token needs no CSRF header.
    let (status, _) = app.send("POST", "/api/v1/calls/done", Some(&body));
    assert_eq!(status, 200);
}

// ---- what an agent sees ----

#[test]
fn an_agent_sees_only_their_own_calls() {
    let app = app("");
    for (call, from, agent) in [
        ("ann-1", "+14155550101", "ann@acme.com"),
        ("bob-1", "+14155550102", "bob@acme.com"),
    ] {
        let (status, body) = app.post_events(&answered_now(call, from, agent, json!({})));
        assert_eq!(status, 202, "{body}");
        end_now(&app, call);
        app.wait_synced(call);
    }
    let ann = ann(&app);
    assert_eq!(ann.call_ids(""), ["ann-1"]);
    let (status, log) = ann.get("/api/v1/calls");
    assert_eq!(status, 200);
    assert_eq!(ids(&log), ["ann-1"]);
    assert_eq!(ann.get("/api/v1/calls/ann-1").0, 200);
    let (status, err) = ann.get("/api/v1/calls/bob-1");
    assert_eq!(
        status, 404,
        "another agent's call does not exist for Ann: {err}"
    );
    // Nor can she decide or mark it.
    let (status, _) = ann.send(
        "POST",
        "/api/v1/calls/bob-1/decision",
        Some(&json!({"action": "new_ticket"})),
    );
    assert_eq!(status, 404);
    // The group's token sees both.
    let (_, all) = app.get("/api/v1/calls");
    assert_eq!(ids(&all).len(), 2);
    assert_eq!(bob(&app).call_ids(""), ["bob-1"]);
}

// ---- agent mode ----

/// An agent-mode call answered by Ann, identified, waiting for her decision.
fn waiting_call(app: &TestApp, call_id: &str, from: &str) -> CallView {
    let (status, body) = app.post_events(&answered_now(
        call_id,
        from,
        "ann@acme.com",
        json!({"ticket_assignment": "agent"}),
    ));
    assert_eq!(status, 202, "{body}");
    app.wait_call(call_id, |c| {
        !c["contact_id"].is_null() && !c["agent_decision"]["waiting"].is_null()
    })
}

#[test]
fn agent_mode_new_ticket_lands_the_comment_on_a_new_ticket() {
    let app = app("");
    let waiting = waiting_call(&app, "am-new", "+14155550110");
    let ann = ann(&app);
    let (status, decided) = ann.send(
        "POST",
        "/api/v1/calls/am-new/decision",
        Some(&json!({"action": "new_ticket"})),
    );
    assert_eq!(status, 200, "{decided}");
    assert_eq!(decided["agent_decision"]["choice"]["action"], "new_ticket");
    assert_eq!(decided["agent_decision"]["choice"]["by"], "ann@acme.com");
    // The ticket is made at once, not at the deadline.
    let open = app.wait_call("am-new", |c| !c["ticket_id"].is_null());
    assert_eq!(
        open["decisions"]["ticket_rules"],
        json!(["agent_new_ticket"])
    );
    end_now(&app, "am-new");
    let call = app.wait_synced("am-new");
    assert_eq!(call["sync"], "done", "{call}");
    assert_eq!(call["agent_decision"]["timed_out"], false);
    let ticket = app.ticket(s(&call["ticket_id"]));
    assert_eq!(ticket["requester_id"], waiting["contact_id"]);
    let comments = app.comments(s(&call["ticket_id"]));
    assert_eq!(call_comments(&app, &call), 1, "{comments:?}");
    // A second decision is refused: the call is decided.
    let (status, err) = ann.send(
        "POST",
        "/api/v1/calls/am-new/decision",
        Some(&json!({"action": "new_ticket"})),
    );
    assert_eq!(status, 409, "{err}");
}

#[test]
fn agent_mode_attach_lands_the_comment_on_the_chosen_ticket() {
    let app = app("");
    let waiting = waiting_call(&app, "am-attach", "+14155550111");
    let contact = s(&waiting["contact_id"]).to_string();
    let ticket = create(
        &app,
        "/api/v1/crm/tickets",
        json!({"subject": "Broken router", "requester_id": contact, "status": "open"}),
    );
    let closed = create(
        &app,
        "/api/v1/crm/tickets",
        json!({"subject": "Old", "requester_id": contact, "status": "closed"}),
    );
    let ann = ann(&app);
    // A closed ticket, or one that does not exist, is refused, naming the field.
    for id in [s(&closed["id"]), "999999"] {
        let (status, err) = ann.send(
            "POST",
            "/api/v1/calls/am-attach/decision",
            Some(&json!({"action": "attach", "ticket_id": id})),
        );
        assert_eq!(status, 422, "{err}");
        assert_eq!(err["field"], "ticket_id");
    }
    let (status, decided) = ann.send(
        "POST",
        "/api/v1/calls/am-attach/decision",
        Some(&json!({"action": "attach", "ticket_id": ticket["id"]})),
    );
    assert_eq!(status, 200, "{decided}");
    end_now(&app, "am-attach");
    let call = app.wait_synced("am-attach");
    assert_eq!(call["sync"], "done", "{call}");
    assert_eq!(call["ticket_id"], ticket["id"]);
    assert_eq!(call["decisions"]["ticket_rules"], json!(["agent_attached"]));
    assert_eq!(app.comments(s(&ticket["id"])).len(), 1);
    assert_eq!(app.all("tickets").len(), 2, "no ticket made");
}

#[test]
fn agent_mode_contact_choice_moves_the_call_and_adds_the_number() {
    let app = app("");
    let waiting = waiting_call(&app, "am-contact", "+14155550112");
    let chosen = create(
        &app,
        "/api/v1/crm/contacts",
        json!({"name": "Carol Customer", "phones": ["+14155550999"]}),
    );
    assert_ne!(waiting["contact_id"], chosen["id"]);
    let bob_browser = bob(&app);
    // Bob is not the call's agent.
    let (status, _) = bob_browser.send(
        "POST",
        "/api/v1/calls/am-contact/decision",
        Some(&json!({"action": "contact", "contact_id": chosen["id"]})),
    );
    assert_eq!(status, 404);
    // The contact search finds Carol by name.
    let ann = ann(&app);
    let (status, found) = ann.get("/api/v1/contacts?q=carol");
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["contacts"][0]["id"], chosen["id"]);
    let (status, decided) = ann.send(
        "POST",
        "/api/v1/calls/am-contact/decision",
        Some(&json!({"action": "contact", "contact_id": chosen["id"], "add_phone": true})),
    );
    assert_eq!(status, 200, "{decided}");
    end_now(&app, "am-contact");
    let call = app.wait_synced("am-contact");
    assert_eq!(call["sync"], "done", "{call}");
    assert_eq!(call["contact_id"], chosen["id"]);
    assert_eq!(call["decisions"]["contact_rule"], "agent_chose");
    let ticket = app.ticket(s(&call["ticket_id"]));
    assert_eq!(ticket["requester_id"], chosen["id"]);
    assert_eq!(call_comments(&app, &call), 1);
    let carol = app
        .get(&format!("/api/v1/crm/contacts/{}", s(&chosen["id"])))
        .1;
    assert_eq!(carol["phones"], json!(["+14155550999", "+14155550112"]));
}

#[test]
fn a_decision_after_the_timeout_is_refused_with_a_conflict() {
    let app = app("agent_timeout_seconds = 1");
    waiting_call(&app, "am-late", "+14155550113");
    let call = app.wait_call("am-late", |c| c["agent_decision"]["timed_out"] == true);
    assert!(call["agent_decision"]["waiting"].is_null());
    let ann = ann(&app);
    let (status, err) = ann.send(
        "POST",
        "/api/v1/calls/am-late/decision",
        Some(&json!({"action": "new_ticket"})),
    );
    assert_eq!(status, 409, "{err}");
    assert_eq!(err["error"], "decision_too_late");
    assert!(s(&err["message"]).contains("fallback"), "{err}");
    // A call not in agent mode has nothing to decide.
    let (status, body) = app.post_events(&answered_now(
        "auto-1",
        "+14155550114",
        "ann@acme.com",
        json!({}),
    ));
    assert_eq!(status, 202, "{body}");
    let (status, err) = app.send(
        "POST",
        "/api/v1/calls/auto-1/decision",
        Some(&json!({"action": "new_ticket"})),
    );
    assert_eq!(status, 409, "{err}");
    assert_eq!(err["error"], "not_waiting");
}

// ---- lookup ----

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

// ---- caller log ----

fn missed_now(app: &TestApp, call_id: &str, from: &str, agent: &str, queue: &str) {
    let (status, body) = app.post_events(&json!([
        {"id": format!("{call_id}-1"), "call_id": call_id, "type": "ringing",
         "direction": "inbound", "from": from, "to": "+14155550199", "queue": queue,
         "agent": {"email": agent}},
        {"id": format!("{call_id}-2"), "call_id": call_id, "type": "ended",
         "reason": "no_answer"},
    ]));
    assert_eq!(status, 202, "{body}");
}

#[test]
fn the_caller_log_filters_by_agent_queue_and_missed_and_keeps_missed_calls_until_done() {
    let app = app("");
    let (status, _) = app.post_events(&answered_now(
        "log-a",
        "+14155550130",
        "ann@acme.com",
        json!({}),
    ));
    assert_eq!(status, 202);
    end_now(&app, "log-a");
    missed_now(&app, "log-m1", "+14155550131", "ann@acme.com", "sales");
    missed_now(&app, "log-m2", "+14155550132", "bob@acme.com", "support");
    missed_now(&app, "log-m3", "+14155550133", "ann@acme.com", "support");
    for id in ["log-a", "log-m1", "log-m2", "log-m3"] {
        app.wait_synced(id);
    }
    let log = |q: &str| {
        let (status, body) = app.get(&format!("/api/v1/calls{q}"));
        assert_eq!(status, 200, "{q}: {body}");
        let mut found = ids(&body);
        found.sort();
        found
    };
    assert_eq!(log("?missed=true"), ["log-m1", "log-m2", "log-m3"]);
    assert_eq!(log("?missed=false"), ["log-a"]);
    assert_eq!(log("?queue=sales"), ["log-m1"]);
    assert_eq!(log("?agent=ann@acme.com"), ["log-a", "log-m1", "log-m3"]);
    assert_eq!(
        log("?agent=ann@acme.com&missed=true&queue=support"),
        ["log-m3"]
    );
    assert_eq!(log("?phone=4155550132"), ["log-m2"]);
    let (status, err) = app.get("/api/v1/calls?missed=maybe");
    assert_eq!((status, err["field"].clone()), (422, json!("missed")));

    // Ann marks one of hers done; Bob's is not hers to mark.
    let ann = ann(&app);
    let (status, body) = ann.send("POST", "/api/v1/calls/log-m1/done", None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(ann.send("POST", "/api/v1/calls/log-m2/done", None).0, 404);
    // An answered call is no missed call to mark.
    assert_eq!(app.send("POST", "/api/v1/calls/log-a/done", None).0, 404);
    assert_eq!(log("?missed=true&done=false"), ["log-m2", "log-m3"]);
    assert_eq!(log("?done=true"), ["log-m1"]);
    let (_, one) = app.get("/api/v1/calls/log-m1");
    assert!(one["done_at"].is_string(), "{one}");
    // Many at once, by the group's token; marking twice is no error.
    let (status, body) = app.send(
        "POST",
        "/api/v1/calls/done",
        Some(&json!({"call_ids": ["log-m1", "log-m2", "log-m3", "nope"]})),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["not_found"], json!(["nope"]));
    assert_eq!(log("?missed=true&done=false"), Vec::<String>::new());
    // The agent's own log, newest first.
    assert_eq!(ann.call_ids("?missed=true"), ["log-m3", "log-m1"]);
}

#[test]
fn calls_older_than_the_retention_are_purged() {
    let app = app("");
    let (status, body) = app.post_events(&json!([
        {"id": "old-1", "call_id": "old", "type": "ringing", "direction": "inbound",
         "from": "+14155550140", "at": "2026-01-02T10:00:00Z"},
        {"id": "old-2", "call_id": "old", "type": "ended", "reason": "no_answer",
         "at": "2026-01-02T10:00:30Z"},
    ]));
    assert_eq!(status, 202, "{body}");
    missed_now(&app, "recent", "+14155550141", "ann@acme.com", "support");
    app.wait_synced("old");
    app.wait_synced("recent");
    let retention = app.state().agent_page.call_log_ttl;
    assert_eq!(retention.as_secs(), 90 * 86_400, "the default: 90 days");
    let cutoff = chrono::Utc::now() - chrono::Duration::from_std(retention).expect("fits");
    let purged = app
        .block_on(app.state().store.purge_calls(cutoff))
        .expect("purge");
    assert_eq!(purged, 1);
    assert_eq!(app.get("/api/v1/calls/old").0, 404);
    assert_eq!(app.get("/api/v1/calls/recent").0, 200);
    // Again (another instance): nothing left to do.
    let again = app
        .block_on(app.state().store.purge_calls(cutoff))
        .expect("purge");
    assert_eq!(again, 0);
}

// ---- agent mode against the Zendesk emulator ----

mod zendesk {
    use serde_json::json;
    use zendesk_emulator::SeedTicket;
    use zendesk_emulator::SeedUser;

    use super::{answered_now, end_now, s};
    use crate::common::{CallView, TestApp};
    use crate::zendesk::{TOKEN, Zd, config, id};

    fn waiting(app: &TestApp, call_id: &str, from: &str) -> CallView {
        let (status, body) = app.post_events(&answered_now(
            call_id,
            from,
            "ann@acme.com",
            json!({"ticket_assignment": "agent"}),
        ));
        assert_eq!(status, 202, "{body}");
        app.wait_call(call_id, |c| !c["contact_id"].is_null())
    }

    /// The call's comments (its outcome) on a Zendesk ticket.
    fn logged_on(zd: &Zd, ticket: u64) -> usize {
        zd.emu
            .state()
            .comments
            .iter()
            .filter(|c| c.ticket_id == ticket && c.body.contains("Outcome: answered"))
            .count()
    }

    /// A group that makes no contacts: an unknown caller stays unknown until the
    /// agent says who it is, and their number is added to that user.
    #[test]
    fn a_chosen_zendesk_user_gets_the_callers_number() {
        let (zd, ann) = Zd::with_ann();
        let hal = zd
            .emu
            .seed_user(SeedUser::end_user("Hal Chosen", "+14155550777"));
        let app = TestApp::with_config(
            &config(&zd, ann, "create = [\"ticket\", \"comment\"]"),
            TOKEN,
        );
        let (status, body) = app.post_events(&answered_now(
            "zd-add",
            "+14155550153",
            "ann@acme.com",
            json!({"ticket_assignment": "agent"}),
        ));
        assert_eq!(status, 202, "{body}");
        app.wait_call("zd-add", |c| !c["decisions"]["contact_rule"].is_null());
        let (status, body) = app.send(
            "POST",
            "/api/v1/calls/zd-add/decision",
            Some(&json!({"action": "contact", "contact_id": hal, "add_phone": true})),
        );
        assert_eq!(status, 200, "{body}");
        end_now(&app, "zd-add");
        let call = app.wait_synced("zd-add");
        assert_eq!(call["sync"], "done", "{call}");
        assert_eq!(id(&call["contact_id"]), hal);
        let state = zd.emu.state();
        let identities = &state.user(hal).unwrap().identities;
        assert!(
            identities
                .iter()
                .any(|i| i.kind == "phone_number" && i.value == "+14155550153"),
            "{identities:?}"
        );
        let ticket = id(&call["ticket_id"]);
        assert_eq!(logged_on(&zd, ticket), 1);
    }

    #[test]
    fn each_decision_lands_the_call_on_the_chosen_zendesk_record() {
        let (zd, ann) = Zd::with_ann();
        let grace = zd
            .emu
            .seed_user(SeedUser::end_user("Grace Hopper", "+14155550150"));
        let open = zd
            .emu
            .seed_ticket(SeedTicket::new(grace, "Printer on fire"));
        let hal = zd
            .emu
            .seed_user(SeedUser::end_user("Hal Chosen", "+14155550777"));
        let app = zd.app(ann, "");

        // Attach: the call goes on Grace's open ticket.
        waiting(&app, "zd-att", "+14155550150");
        let (status, body) = app.send(
            "POST",
            "/api/v1/calls/zd-att/decision",
            Some(&json!({"action": "attach", "ticket_id": open})),
        );
        assert_eq!(status, 200, "{body}");
        end_now(&app, "zd-att");
        let call = app.wait_synced("zd-att");
        assert_eq!(call["sync"], "done", "{call}");
        assert_eq!(id(&call["ticket_id"]), open);
        assert_eq!(logged_on(&zd, open), 1);

        // New ticket: a ticket for the caller, carrying the call.
        waiting(&app, "zd-new", "+14155550151");
        let (status, body) = app.send(
            "POST",
            "/api/v1/calls/zd-new/decision",
            Some(&json!({"action": "new_ticket"})),
        );
        assert_eq!(status, 200, "{body}");
        end_now(&app, "zd-new");
        let call = app.wait_synced("zd-new");
        assert_eq!(call["sync"], "done", "{call}");
        let ticket = id(&call["ticket_id"]);
        assert_ne!(ticket, open);
        let state = zd.emu.state();
        let made = state.tickets.iter().find(|t| t.id == ticket).unwrap();
        assert_eq!(made.requester_id, id(&call["contact_id"]));
        assert_eq!(logged_on(&zd, ticket), 1);

        // Contact: the caller is Hal. The number already belongs to the user
        // made for the unknown caller, so Zendesk keeps it there (a phone
        // identity is one user's only); the call still goes to Hal.
        let made_for_caller = waiting(&app, "zd-con", "+14155550152");
        let (status, found) = app.get("/api/v1/contacts?q=Hal");
        assert_eq!(status, 200, "{found}");
        assert_eq!(id(&found["contacts"][0]["id"]), hal);
        assert_eq!(
            s(&found["contacts"][0]["link"]),
            format!("{}/agent/users/{hal}", zd.emu.base_url)
        );
        let (status, body) = app.send(
            "POST",
            "/api/v1/calls/zd-con/decision",
            Some(&json!({"action": "contact", "contact_id": hal.to_string(), "add_phone": true})),
        );
        assert_eq!(status, 200, "{body}");
        end_now(&app, "zd-con");
        let call = app.wait_synced("zd-con");
        assert_eq!(call["sync"], "done", "{call}");
        assert_eq!(id(&call["contact_id"]), hal);
        assert_ne!(call["contact_id"], made_for_caller["contact_id"]);
        let state = zd.emu.state();
        let ticket = state
            .tickets
            .iter()
            .find(|t| t.id == id(&call["ticket_id"]))
            .unwrap();
        assert_eq!(ticket.requester_id, hal);
        assert_eq!(logged_on(&zd, ticket.id), 1);

        // Lookup: Grace's card, with links into Zendesk. Her call found her, so
        // the first lookup only fetches her tickets; the next is all cache.
        let before = zd.emu.stats();
        let (status, _) = app.get("/api/v1/lookup?phone=4155550150");
        assert_eq!(status, 200);
        assert_eq!(
            zd.since(&before),
            crate::zendesk::endpoints(&[("GET /api/v2/users/{id}/tickets/requested", 1)])
        );
        let before = zd.emu.stats();
        let (status, card) = app.get("/api/v1/lookup?phone=+1%20415%20555%200150");
        assert_eq!(status, 200, "{card}");
        assert!(zd.since(&before).is_empty(), "{:?}", zd.since(&before));
        assert_eq!(card["name"], "Grace Hopper");
        assert_eq!(
            s(&card["open_ticket"]["link"]),
            format!("{}/agent/tickets/{open}", zd.emu.base_url)
        );
    }
}

// ---- the agent's stream ----

/// The agent's stream opened with the browser's session: its lines, read for
/// at most 20 s.
fn open_stream(
    app: &TestApp,
    browser: &AgentBrowser<'_>,
) -> std::io::Lines<std::io::BufReader<reqwest::blocking::Response>> {
    use std::io::BufRead;
    let resp = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .expect("client")
        .get(app.url("/api/v1/agent/stream"))
        .header("cookie", &browser.cookie)
        .send()
        .expect("stream");
    assert_eq!(resp.status().as_u16(), 200);
    std::io::BufReader::new(resp).lines()
}

/// The stream's events (`event:` name and `data:` JSON), read until `done`
/// says stop, or the stream's 20 s are up.
pub(crate) fn read_stream(
    app: &TestApp,
    browser: &AgentBrowser<'_>,
    after_connect: impl FnOnce(),
    done: impl Fn(&[(String, Value)]) -> bool,
) -> Vec<(String, Value)> {
    let mut lines = open_stream(app, browser);
    let mut events = Vec::new();
    let mut name = String::new();
    let mut connected = Some(after_connect);
    while let Some(Ok(line)) = lines.next() {
        if let Some(n) = line.strip_prefix("event:") {
            name = n.trim().to_string();
        } else if let Some(data) = line.strip_prefix("data:") {
            let value: Value = serde_json::from_str(data.trim()).unwrap_or(Value::Null);
            events.push((name.clone(), value));
            if name == "hello"
                && let Some(f) = connected.take()
            {
                f();
            }
            if done(&events) {
                break;
            }
        }
    }
    events
}

#[test]
fn an_agents_stream_carries_their_calls_only() {
    let app = app("");
    let ann = ann(&app);
    let events = read_stream(
        &app,
        &ann,
        || {
            // Bob's call first, then Ann's.
            let (status, _) = app.post_events(&answered_now(
                "st-bob",
                "+14155550170",
                "bob@acme.com",
                json!({}),
            ));
            assert_eq!(status, 202);
            let (status, _) = app.post_events(&answered_now(
                "st-ann",
                "+14155550171",
                "ann@acme.com",
                json!({}),
            ));
            assert_eq!(status, 202);
        },
        |events| {
            events
                .iter()
                .any(|(name, data)| name == "call" && data["call_id"] == "st-ann")
        },
    );
    assert_eq!(events[0].0, "hello");
    assert_eq!(events[0].1["agent"], "ann@acme.com");
    let calls: Vec<&str> = events
        .iter()
        .filter(|(name, _)| name == "call")
        .map(|(_, data)| s(&data["call_id"]))
        .collect();
    assert!(calls.contains(&"st-ann"), "{events:?}");
    assert!(!calls.contains(&"st-bob"), "Ann saw Bob's call: {events:?}");
    // Signed out: no stream.
    assert_eq!(
        app.send_anonymous("GET", "/api/v1/agent/stream", None).0,
        401
    );
}

#[test]
fn a_stream_open_when_its_agent_signs_out_ends_without_another_event() {
    let app = app("");
    let ann = ann(&app);
    let events = read_stream(
        &app,
        &ann,
        || {
            let (status, _) = ann.send("POST", "/api/v1/agent/logout", None);
            assert_eq!(status, 200);
            let (status, _) = app.post_events(&answered_now(
                "st-out",
                "+14155550172",
                "ann@acme.com",
                json!({}),
            ));
            assert_eq!(status, 202);
        },
        |_| false,
    );
    let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["hello"], "{events:?}");
}

// ---- pops on the agent's stream ----

#[test]
fn a_pop_reaches_only_the_agent_it_was_made_for_with_the_callers_card() {
    let app = app("pop_on = \"ringing\"\npop_action = \"contact_by_ani\"");
    let paula = create(
        &app,
        "/api/v1/crm/contacts",
        json!({"name": "Paula Popped", "phones": ["+14155550180"]}),
    );
    let ringing = |call_id: &str, from: &str, agent: &str| {
        json!([{"id": format!("{call_id}-1"), "call_id": call_id, "type": "ringing",
                "direction": "inbound", "from": from, "to": "+14155550199",
                "agent": {"email": agent}}])
    };
    let bob = bob(&app);
    let ann = ann(&app);
    let bob_events = std::thread::scope(|scope| {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let bob_stream = scope.spawn(|| {
            read_stream(
                &app,
                &bob,
                move || ready_tx.send(()).expect("ready"),
                |events| events.iter().any(|(name, _)| name == "pop"),
            )
        });
        ready_rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("Bob's stream opened within 30 s");
        let ann_events = read_stream(
            &app,
            &ann,
            || {
                let (status, _) =
                    app.post_events(&ringing("pop-ann", "+14155550180", "ann@acme.com"));
                assert_eq!(status, 202);
            },
            |events| events.iter().any(|(name, _)| name == "pop"),
        );
        let (_, pop) = ann_events
            .iter()
            .find(|(name, _)| name == "pop")
            .expect("Ann's pop");
        assert_eq!(pop["call"]["call_id"], "pop-ann");
        assert_eq!(pop["pop"]["agent"], "ann@acme.com");
        assert_eq!(pop["pop"]["contact_id"], paula["id"]);
        assert_eq!(pop["card"]["name"], "Paula Popped");
        assert_eq!(pop["card"]["phone"], "+14155550180");
        // Then a call for Bob: the first pop Bob gets is his own.
        let (status, _) = app.post_events(&ringing("pop-bob", "+14155550181", "bob@acme.com"));
        assert_eq!(status, 202);
        bob_stream.join().expect("Bob's stream")
    });
    let pops: Vec<&Value> = bob_events
        .iter()
        .filter(|(name, _)| name == "pop")
        .map(|(_, data)| data)
        .collect();
    assert_eq!(pops[0]["call"]["call_id"], "pop-bob", "{bob_events:?}");
    assert!(
        !bob_events
            .iter()
            .any(|(_, data)| data["call_id"] == "pop-ann" || data["call"]["call_id"] == "pop-ann"),
        "Bob saw Ann's call: {bob_events:?}"
    );
}

/// A queue call rings Ann and Bob and pops on both screens; Bob answers, and
/// Ann's card is withdrawn at once, saying who took it. Bob keeps his.
#[test]
fn a_pop_is_withdrawn_from_the_other_agents_when_one_answers() {
    let app = app("pop_on = \"ringing\"\npop_action = \"contact_by_ani\"");
    let ann = ann(&app);
    let ring = json!([
        {"id": "ra-1", "call_id": "ra", "type": "ringing", "direction": "inbound",
         "from": "+14155550185", "to": "+14155550199", "agent": {"email": "ann@acme.com"}},
        {"id": "ra-2", "call_id": "ra", "type": "ringing", "agent": {"email": "bob@acme.com"}}
    ]);
    let events = std::thread::scope(|scope| {
        let answer = scope.spawn(|| {
            app.wait_call("ra", |c| c["pops"].as_array().is_some_and(|p| p.len() == 2));
            let answered = json!([{"id": "ra-3", "call_id": "ra", "type": "answered",
                                   "agent": {"email": "bob@acme.com"}}]);
            assert_eq!(app.post_events(&answered).0, 202);
        });
        let events = read_stream(
            &app,
            &ann,
            || assert_eq!(app.post_events(&ring).0, 202),
            |events| events.iter().any(|(name, _)| name == "withdrawn"),
        );
        answer.join().expect("Bob answered");
        events
    });
    let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
    let pop = names.iter().position(|n| *n == "pop").expect("Ann's pop");
    let gone = names
        .iter()
        .position(|n| *n == "withdrawn")
        .expect("withdrawn");
    assert!(pop < gone, "{names:?}");
    let (_, withdrawn) = &events[gone];
    assert_eq!(withdrawn["call_id"], "ra");
    assert_eq!(
        withdrawn["taken_by"],
        json!({"email": "bob@acme.com", "name": "Bob Example"})
    );
}

/// A token signs its agent in: `deskbridge check` (the config's validation)
/// refuses two agents with the same token, naming both and never the token.
#[test]
fn two_agents_with_one_token_are_refused_by_the_check() {
    let shared = "shared-agent-token-0123456789";
    let text = format!(
        r#"
[[agents]]
email = "ann@acme.com"
token = "{shared}"

[[agents]]
email = "bob@acme.com"
token = "{shared}"
"#
    );
    let errors =
        deskbridge::config::Config::from_toml(&text, deskbridge::config::Overrides::default())
            .expect_err("two agents with one token")
            .to_string();
    assert!(
        errors.contains("agents[1].token: agents[0] (ann@acme.com) has the same token"),
        "{errors}"
    );
    assert!(!errors.contains(shared), "the token is not shown: {errors}");
}

/// A call of the agent's whose id the stream cannot send as an SSE `id` (LF;
/// stored by an earlier version) does not end the agent's stream.
#[test]
fn a_stored_call_id_with_a_newline_does_not_end_the_agents_stream() {
    let app = app("");
    let bob = app.sign_in(&json!({"token": BOB_TOKEN}));
    let events = read_stream(
        &app,
        &bob,
        || {
            crate::hostile::store_call_with_id(&app, "support", "old\ncall", Some("bob@acme.com"));
            crate::hostile::store_call_with_id(&app, "support", "after-bad", Some("bob@acme.com"));
        },
        |events| {
            events
                .iter()
                .any(|(name, data)| name == "call" && data["call_id"] == "after-bad")
        },
    );
    assert!(
        events
            .iter()
            .any(|(name, data)| name == "call" && data["call_id"] == "after-bad"),
        "the call after the bad id never streamed: {events:?}"
    );
}

/// Issue 25, point 4: 800 streams of one session used to hold 800 connections
/// and read every change 800 times. A session holds at most four: a fifth ends
/// the oldest, which is told `closed` (the page then stops reconnecting), and
/// the four newest go on carrying the agent's calls.
#[test]
fn a_fifth_stream_of_one_session_ends_the_oldest() {
    let app = app("");
    let ann = ann(&app);
    let open = || open_stream(&app, &ann);
    std::thread::scope(|scope| {
        let (listening, heard) = std::sync::mpsc::channel();
        let oldest = scope.spawn(|| {
            read_stream(
                &app,
                &ann,
                move || listening.send(()).expect("send"),
                |_| false,
            )
        });
        heard
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("the first stream says hello");
        let mut newer: Vec<_> = (0..4).map(|_| open()).collect();
        let events = oldest.join().expect("the oldest stream's reader");
        assert_eq!(
            events.last(),
            Some(&("closed".to_string(), json!({"reason": "too_many_streams"}))),
            "{events:?}"
        );
        // The newest still carry Ann's calls.
        let (status, _) = app.post_events(&answered_now(
            "cap-ann",
            "+14155550172",
            "ann@acme.com",
            json!({}),
        ));
        assert_eq!(status, 202);
        let last = newer.last_mut().expect("a stream");
        let heard = last
            .by_ref()
            .map_while(Result::ok)
            .any(|line| line.contains("\"call_id\":\"cap-ann\""));
        assert!(heard, "the newest stream did not carry Ann's call");
    });
}

/// Issue 25, point 6: a session keeps a fingerprint of its agent's credentials
/// at sign-in; once the configured password or token differs (changed after a
/// leak, and the server restarted on the new config), the session is refused
/// and the agent signs in again. Here the store holds two sessions of Ann's:
/// one made under the credentials configured now, one under others.
#[test]
fn a_session_from_before_a_password_change_is_refused() {
    use deskbridge::agent_auth::{credential_fingerprint, session_hash};
    use deskbridge_store::SessionRecord;
    let app = app("");
    let ann_now = app
        .state()
        .agent_page
        .agent("ann@acme.com")
        .expect("Ann in the directory");
    let session = |id: &str, credential: String| SessionRecord {
        id_hash: session_hash(id),
        agent_email: "ann@acme.com".into(),
        csrf_token: "csrf".into(),
        created_at: chrono::Utc::now(),
        expires_at: chrono::Utc::now() + chrono::Duration::hours(1),
        credential,
    };
    let current =
        credential_fingerprint(ann_now.password_hash.as_deref(), ann_now.token.as_deref());
    let before = credential_fingerprint(Some("$argon2id$v=19$the-old-password"), None);
    app.block_on(async {
        let store = &app.state().store;
        store
            .create_session(&session("current-id", current))
            .await
            .unwrap();
        store
            .create_session(&session("old-id", before))
            .await
            .unwrap();
    });
    let me = |id: &str| {
        let resp = reqwest::blocking::Client::new()
            .get(app.url("/api/v1/agent/me"))
            .header("cookie", format!("deskbridge_session={id}"))
            .send()
            .expect("request");
        let status = resp.status().as_u16();
        (status, resp.json::<Value>().unwrap_or(Value::Null))
    };
    let (status, body) = me("current-id");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["agent"]["email"], "ann@acme.com");
    let (status, body) = me("old-id");
    assert_eq!(status, 401, "{body}");
    assert!(
        s(&body["message"]).contains("password or token changed"),
        "{body}"
    );
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
