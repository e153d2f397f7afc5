//! The Zendesk app (issue 26): agents open deskbridge in Zendesk's top bar and
//! Zendesk signs them in, with no password and no `[[agents]]` at all. The
//! emulator plays Zendesk: it installs the app, serves its public key and
//! signs the tokens of its signed URLs as Zendesk does.

use serde_json::{Value, json};
use zendesk_emulator::apps::{claims, sign};
use zendesk_emulator::{SeedTicket, SeedUser};

use crate::agent::read_stream;
use crate::common::*;
use crate::zendesk::{TOKEN, Zd, id};

/// A Zendesk backend (account `acme`, the one the tokens name) and one group
/// in agent mode, popping on ringing; no agents configured.
pub(crate) fn app(zd: &Zd) -> TestApp {
    app_with(zd, "")
}

/// [`app`], with `backend_keys` added to the backend.
fn app_with(zd: &Zd, backend_keys: &str) -> TestApp {
    let config = format!(
        r#"{backend}{backend_keys}
[[groups]]
name = "support"
backend = "zendesk"
tokens = ["{TOKEN}"]
pop_on = "ringing"
"#,
        backend = crate::zendesk::backend(&zd.emu.base_url)
    );
    TestApp::with_config(&config, TOKEN)
}

/// The app installed in the account for this deskbridge, from the manifest
/// `deskbridge zendesk app-package` writes for it: its installation id.
pub(crate) fn install(zd: &Zd, app: &TestApp) -> u64 {
    let manifest =
        deskbridge::zendesk_app::package::file("manifest.json", &app.base).expect("the manifest");
    let manifest: Value = serde_json::from_slice(&manifest).expect("JSON");
    let (_, installation) = zd.emu.install_app_with_manifest(
        &manifest,
        json!({"name": "deskbridge", "deskbridge_url": app.base}),
    );
    installation
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

#[test]
fn an_agent_zendesk_signs_in_gets_a_pop_and_picks_the_ticket_with_no_agents_configured() {
    let (zd, ann) = Zd::with_ann();
    let grace = zd
        .emu
        .seed_user(SeedUser::end_user("Grace Hopper", "+14155550123"));
    let printer = zd
        .emu
        .seed_ticket(SeedTicket::new(grace, "Printer on fire"));
    let app = app(&zd);
    let installation = install(&zd, &app);

    // Zendesk loads the top bar: the page comes back with a session cookie a
    // page in Zendesk's frame keeps.
    let token = zd.emu.zaf_token(installation, ann, "top_bar");
    let (status, headers, page) = app.zendesk_first_load(Some(&token));
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(r#"<script src="/zendesk/zaf_sdk.min.js" defer></script>"#));
    assert!(page.contains(r#"<script src="/zendesk/app.js" defer></script>"#));
    let cookie = headers["set-cookie"].to_str().unwrap();
    for attribute in ["HttpOnly", "SameSite=None", "Secure", "Partitioned"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    // Framed by Zendesk's agent interface only (and the emulator's host).
    let csp = headers["content-security-policy"].to_str().unwrap();
    let ancestors = csp.split("frame-ancestors ").nth(1).unwrap_or("");
    assert_eq!(
        ancestors.split(' ').collect::<Vec<_>>(),
        [zd.emu.base_url.as_str(), "https://acme.zendesk.com"],
        "{csp}"
    );

    let browser = app.zendesk_sign_in(&zd.emu.zaf_token(installation, ann, "top_bar"));
    let (status, me) = browser.get("/api/v1/agent/me");
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["agent"]["email"], "ann@acme.com");
    assert_eq!(me["agent"]["name"], "Ann Example");
    assert_eq!(me["agent"]["admin"], false);

    // A call rings Ann: her stream pops the caller's ticket.
    let ringing = json!([{"id": "za-1", "call_id": "za", "type": "ringing",
        "direction": "inbound", "from": "+14155550123", "to": "+14155550199",
        "agent": {"email": "ann@acme.com"},
        "attributes": {"ticket_assignment": "agent"}}]);
    let events = read_stream(
        &app,
        &browser,
        || assert_eq!(app.post_events(&ringing).0, 202),
        |events| events.iter().any(|(name, _)| name == "pop"),
    );
    let (_, pop) = events
        .iter()
        .find(|(name, _)| name == "pop")
        .expect("Ann's pop");
    assert_eq!(pop["pop"]["agent"], "ann@acme.com");
    // Agent mode: the caller pops; the ticket is Ann's to pick, from the card.
    assert_eq!(id(&pop["pop"]["contact_id"]), grace);
    assert_eq!(pop["card"]["name"], "Grace Hopper");
    assert_eq!(id(&pop["card"]["open_ticket"]["id"]), printer);
    // And Zendesk showed Grace in Ann's browser.
    assert_eq!(zd.emu.stats().pops[&ann][0].id, grace);

    // She picks the ticket in agent mode; the call lands there.
    let answered = json!([{"id": "za-2", "call_id": "za", "type": "answered",
        "direction": "inbound", "from": "+14155550123", "to": "+14155550199",
        "agent": {"email": "ann@acme.com"}}]);
    assert_eq!(app.post_events(&answered).0, 202);
    app.wait_call("za", |c| !c["agent_decision"]["waiting"].is_null());
    let (status, decided) = browser.send(
        "POST",
        "/api/v1/calls/za/decision",
        Some(&json!({"action": "attach", "ticket_id": printer.to_string()})),
    );
    assert_eq!(status, 200, "{decided}");
    assert_eq!(decided["agent_decision"]["choice"]["by"], "ann@acme.com");
    let ended = json!([{"id": "za-3", "call_id": "za", "type": "ended",
        "direction": "inbound", "from": "+14155550123", "to": "+14155550199",
        "reason": "completed"}]);
    assert_eq!(app.post_events(&ended).0, 202);
    let call = app.wait_synced("za");
    assert_eq!(call["sync"], "done", "{call}");
    assert_eq!(id(&call["ticket_id"]), printer);
    // With the app installed (and no zendesk_app_id in the config), the call
    // on the existing ticket is a call record of the app, its voice comment on
    // the ticket.
    let state = zd.emu.state();
    let (app_id, _) = zd
        .emu
        .installations()
        .iter()
        .map(|i| (i.app_id, i.id))
        .find(|(_, i)| *i == installation)
        .unwrap();
    assert_eq!(state.calls.len(), 1, "{:?}", state.calls);
    assert_eq!(state.calls[0]["app_id"], app_id);
    assert_eq!(state.calls[0]["ticket_id"], printer, "{:?}", state.calls);
    let comments = state.comments_of(printer);
    assert!(
        comments.iter().any(|c| c.call.is_some()),
        "no voice comment on the ticket: {comments:?}"
    );
    assert_eq!(state.tickets.len(), 1, "no ticket made");
    // The ticket's calls and the caller's, as the sidebars list them: to
    // any agent of the group (Bob), not only to the agent who took the call.
    let bob = zd.emu.seed_agent("bob@acme.com", "Bob Example");
    let bob = app.zendesk_sign_in(&zd.emu.zaf_token(installation, bob, "ticket_sidebar"));
    for query in [
        format!("ticket_id={printer}"),
        format!("contact_id={grace}"),
    ] {
        let (status, log) = bob.get(&format!("/api/v1/calls?{query}"));
        assert_eq!(status, 200, "{log}");
        assert_eq!(ids(&log), ["za"], "{query}");
    }
    assert!(bob.call_ids("").is_empty(), "Bob's own calls: none");
}

/// Tokens Zendesk did not sign for this account, this deskbridge's app and an
/// agent sign no one in: 401, no cookie.
#[test]
fn tokens_zendesk_did_not_mint_for_this_app_and_an_agent_sign_no_one_in() {
    let (zd, ann) = Zd::with_ann();
    let grace = zd
        .emu
        .seed_user(SeedUser::end_user("Grace Hopper", "+14155550123"));
    let app = app(&zd);
    let installation = install(&zd, &app);
    // Another app in the same account, pointing elsewhere: its key is the
    // emulator's too, so only the installation tells it apart.
    let (_, elsewhere) = zd
        .emu
        .install_app(json!({"deskbridge_url": "https://other.example.com"}));
    let now = chrono::Utc::now().timestamp();
    let mut expired = claims(installation, ann, "top_bar");
    expired["exp"] = json!(now - 600);
    let mut other_account = claims(installation, ann, "top_bar");
    other_account["iss"] = json!("evil.zendesk.com");
    let mut garbled = zd.emu.zaf_token(installation, ann, "top_bar");
    garbled.replace_range(garbled.len() - 6.., "AAAAAA");
    for (what, token) in [
        ("no token", None),
        ("a bad signature", Some(garbled)),
        ("an expired token", Some(sign(&expired))),
        ("another account", Some(sign(&other_account))),
        (
            "another app's installation",
            Some(zd.emu.zaf_token(elsewhere, ann, "top_bar")),
        ),
        (
            "an end user",
            Some(zd.emu.zaf_token(installation, grace, "top_bar")),
        ),
    ] {
        let (status, headers, body) = app.zendesk_first_load(token.as_deref());
        assert_eq!(status, 401, "{what}: {body}");
        assert!(headers.get("set-cookie").is_none(), "{what}");
    }
    // Five tokens that signed no one in from this address: the next waits,
    // before it costs Zendesk a request (as wrong agent tokens do).
    let requests = zd.emu.stats().total_requests;
    let (status, headers, _) = app.zendesk_first_load(Some(&sign(&expired)));
    assert_eq!(status, 429);
    assert!(headers.get("retry-after").is_some());
    assert_eq!(zd.emu.stats().total_requests, requests);
    // The agent page's own sign-in knows no such agent either.
    let (status, _) = app.send_anonymous(
        "POST",
        "/api/v1/agent/login",
        Some(&json!({"email": "ann@acme.com", "password": "anything"})),
    );
    assert_eq!(status, 401);
}

#[test]
fn an_agent_suspended_in_zendesk_loses_the_session_at_the_next_listing() {
    let (zd, ann) = Zd::with_ann();
    let app = app(&zd);
    let installation = install(&zd, &app);
    let browser = app.zendesk_sign_in(&zd.emu.zaf_token(installation, ann, "top_bar"));
    assert_eq!(browser.get("/api/v1/agent/me").0, 200);

    zd.emu.set_suspended(ann, true);
    let state = app.state().clone();
    app.block_on(deskbridge::zendesk_app::accounts::refresh_directory(&state));
    let (status, body) = browser.get("/api/v1/agent/me");
    assert_eq!(status, 401, "{body}");
    assert!(
        s(&body["message"]).contains("no longer an agent in Zendesk"),
        "{body}"
    );
    // And Zendesk signs her in no more.
    let (status, _, _) =
        app.zendesk_first_load(Some(&zd.emu.zaf_token(installation, ann, "top_bar")));
    assert_eq!(status, 401);
}

/// Agents come from Zendesk's list, extensions from a user field: a call the
/// PBX names by extension pops for the right agent and their ticket is
/// assigned to them, though nobody wrote them into the config and they have
/// not opened the app yet.
#[test]
fn agents_listed_by_zendesk_with_an_extension_field_get_their_pops_by_extension() {
    let zd = Zd::start(|_| {});
    let ann = zd
        .emu
        .seed_user(SeedUser::agent("ann@acme.com", "Ann Example").field("extension", "101"));
    zd.emu
        .seed_user(SeedUser::end_user("Grace Hopper", "+14155550123"));
    let app = app_with(&zd, "agent_extension_field = \"extension\"\n");
    let state = app.state().clone();
    app.block_on(deskbridge::zendesk_app::accounts::refresh_directory(&state));
    // Zendesk's agents and admins (the API's admin too), Ann with her extension.
    let listed = state.directory.agents();
    let emails: Vec<&str> = listed.iter().map(|a| a.email.as_str()).collect();
    assert_eq!(emails, ["admin@acme.com", "ann@acme.com"], "{listed:?}");
    assert_eq!(listed[1].extension.as_deref(), Some("101"));

    let ringing = json!([
        {"id": "ext-1", "call_id": "ext", "type": "ringing", "direction": "inbound",
         "from": "+14155550123", "to": "+14155550199", "agent": {"extension": "101"}}
    ]);
    assert_eq!(app.post_events(&ringing).0, 202);
    app.wait_call("ext", |c| {
        c["pops"].as_array().is_some_and(|p| !p.is_empty())
    });
    let rest = json!([
        {"id": "ext-2", "call_id": "ext", "type": "answered", "agent": {"extension": "101"}},
        {"id": "ext-3", "call_id": "ext", "type": "ended", "reason": "completed"}
    ]);
    assert_eq!(app.post_events(&rest).0, 202);
    let done = app.wait_synced("ext");
    assert_eq!(done["sync"], "done", "{done}");
    assert_eq!(done["pops"][0]["agent"], "ann@acme.com", "{done}");
    assert_eq!(zd.emu.stats().pops[&ann].len(), 1);
    assert_eq!(
        done["pops"][0]["deliveries"][1]["status"], "delivered",
        "{done}"
    );
    // The pop made the ticket while the phone rang; Ann answered it, so the
    // call's comment assigns it to her (matched by her extension).
    assert_eq!(done["assignee"], "ann@acme.com", "{done}");
    assert_eq!(
        done["decisions"]["assignee_rule"], "agent_extension",
        "{done}"
    );
    let ticket = zd
        .emu
        .state()
        .ticket(id(&done["ticket_id"]))
        .cloned()
        .unwrap();
    assert_eq!(ticket.assignee_id, Some(ann));
}
