//! Sign-in and out, login CSRF, the throttles, the framed page's cookie, the
//! session's CSRF token, one token per agent, and sessions from before a
//! credential change.

use super::*;

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
