//! Chats as tickets (issue 13): closed conversations from a chat platform, on the
//! built-in CRM and on the Zendesk emulator: archived (solved, the transcript
//! readable, requester and assignee by email), escalated (open, the agent's note
//! under the site's label), the site's form, tags and fields, a re-sent
//! conversation, a visitor without email, another group's token, the input's
//! bounds, and `check --online` finding a chat form's required field.

use serde_json::{Value, json};
use zendesk_emulator::{SeedTicketField, SeedTicketForm, SeedUser};

use crate::common::TestApp;
use crate::zendesk::{TOKEN, Zd, config, id};

const SITE_A: &str = "site-a-token-0123456789abcdef";
const SITE_B: &str = "site-b-token-0123456789abcdef";

/// The site's chat keys: its tags, fields and note label.
const CHAT_KEYS: &str = r#"
[groups.chat]
tags = ["Chat", "site_a"]
note_label = "Note from Ann's team"
[groups.chat.fields]
"360000001" = "conversation_id"
"360000002" = "channel"
"360000003" = "tags"
"360000004" = "attribute:order_id"
"#;

/// Two sites on two built-in backends, Ann in the directory.
fn crm_app() -> TestApp {
    let config = format!(
        r#"[backends.crm_a]
kind = "builtin"

[backends.crm_b]
kind = "builtin"

[[agents]]
email = "ann@acme.com"
name = "Ann Example"

[[groups]]
name = "a"
backend = "crm_a"
tokens = ["{SITE_A}"]
{CHAT_KEYS}
[[groups]]
name = "b"
backend = "crm_b"
tokens = ["{SITE_B}"]
"#
    );
    TestApp::with_config(&config, SITE_A)
}

fn conversation(id: &str) -> Value {
    json!({
        "id": id,
        "channel": "chat",
        "visitor": {"name": "Vera Visitor", "email": "Vera@Example.com", "phone": "+1 415 555 0100"},
        "agent": {"email": "ann@acme.com", "name": "Ann"},
        "started_at": "2026-11-29T10:00:00Z",
        "ended_at": "2026-11-29T10:07:00Z",
        "transcript": [
            {"from": "bot", "text": "Hello! How can we help?", "at": "2026-11-29T10:00:10Z"},
            {"from": "visitor", "text": "My order is late.", "at": "2026-11-29T10:01:00Z"},
            {"from": "agent", "text": "Let me check.", "at": "2026-11-29T10:02:00Z"}
        ],
        "tags": ["late order"],
        "note": "Call her back tomorrow",
        "escalate": false,
        "attributes": {"order_id": "A-77"}
    })
}

/// Posts the conversation; waits until its work is done; returns its view.
fn send(app: &TestApp, body: &Value) -> Value {
    let (status, receipt) = app.send("POST", "/api/v1/conversations", Some(body));
    assert_eq!(status, 202, "{receipt}");
    let id = body["id"].as_str().expect("id");
    app.wait_synced(&format!("chat:{id}"));
    let (status, view) = app.get(&format!("/api/v1/conversations/{id}"));
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["sync"], "done", "{view}");
    view
}

fn create(app: &TestApp, path: &str, body: Value) -> String {
    let (status, created) = app.send("POST", path, Some(&body));
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().expect("id").to_string()
}

#[test]
fn an_archived_chat_is_a_solved_ticket_with_its_transcript_on_the_crm() {
    let app = crm_app();
    let vera = create(
        &app,
        "/api/v1/crm/contacts",
        json!({"name": "Vera V.", "email": "vera@example.com"}),
    );
    let view = send(&app, &conversation("conv-1"));
    assert_eq!(view["contact_id"], vera.as_str(), "{view}");
    assert_eq!(view["decisions"]["contact_rule"], "visitor_email");
    assert_eq!(view["decisions"]["ticket_rules"], json!(["chat_archive"]));
    assert_eq!(view["decisions"]["assignee_rule"], "agent_email");

    let ticket_id = view["ticket_id"].as_str().expect("a ticket").to_string();
    let ticket = app.ticket(&ticket_id);
    assert_eq!(ticket["status"], "solved");
    assert_eq!(ticket["subject"], "Chat with Vera Visitor");
    assert_eq!(ticket["requester_id"], vera.as_str());
    assert_eq!(ticket["assignee"], "ann@acme.com");
    assert_eq!(
        ticket["tags"],
        json!(["chat", "site_a", "late_order", "deskbridge_chat_archive"])
    );
    assert_eq!(
        ticket["custom_fields"],
        json!({"360000001": "conv-1", "360000002": "chat", "360000003": "late order", "360000004": "A-77"})
    );
    let comments = app.comments(&ticket_id);
    assert_eq!(comments.len(), 1, "{comments:?}");
    let text = comments[0]["body"].as_str().unwrap();
    for line in [
        "[10:00] Bot: Hello! How can we help?",
        "[10:01] Vera Visitor (visitor): My order is late.",
        "[10:02] Ann (agent): Let me check.",
    ] {
        assert!(text.contains(line), "{line:?} not in:\n{text}");
    }
    assert_eq!(comments[0]["public"], false);
    // The archive's note ends the transcript, under the site's label.
    assert!(
        text.ends_with(
            "[10:02] Ann (agent): Let me check.\n\nNote from Ann's team:\nCall her back tomorrow"
        ),
        "{text}"
    );

    // The caller log is the calls': the chat is not in it.
    let (status, log) = app.get("/api/v1/calls");
    assert_eq!(status, 200);
    assert_eq!(log["calls"], json!([]), "{log}");

    // Sent again (even changed): 202, a duplicate, nothing new.
    let mut again = conversation("conv-1");
    again["escalate"] = json!(true);
    let (status, receipt) = app.send("POST", "/api/v1/conversations", Some(&again));
    assert_eq!(status, 202, "{receipt}");
    assert_eq!(receipt["duplicates"], 1);
    assert_eq!(receipt["accepted"], 0);
    app.settle();
    assert_eq!(app.all("tickets").len(), 1);
    assert_eq!(app.comments(&ticket_id).len(), 1);
    assert_eq!(app.ticket(&ticket_id)["status"], "solved");
}

#[test]
fn an_escalated_chat_is_an_open_ticket_with_the_note_under_the_label_on_the_crm() {
    let app = crm_app();
    let mut body = conversation("conv-2");
    body["escalate"] = json!(true);
    let view = send(&app, &body);
    assert_eq!(view["escalate"], true);
    assert_eq!(
        view["decisions"]["ticket_rules"],
        json!(["chat_escalation"])
    );
    // Nobody had that email or number: a new contact with all three.
    assert_eq!(view["decisions"]["contact_rule"], "visitor_new_contact");
    let contact = app.get(&format!(
        "/api/v1/crm/contacts/{}",
        view["contact_id"].as_str().unwrap()
    ));
    assert_eq!(contact.1["name"], "Vera Visitor");
    assert_eq!(contact.1["email"], "vera@example.com");
    assert_eq!(contact.1["phones"], json!(["+14155550100"]));

    let ticket_id = view["ticket_id"].as_str().unwrap();
    let ticket = app.ticket(ticket_id);
    assert_eq!(ticket["status"], "open");
    assert!(
        ticket["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("deskbridge_chat_escalation"))
    );
    let comments = app.comments(ticket_id);
    assert_eq!(comments.len(), 2, "{comments:?}");
    assert!(
        comments[0]["body"]
            .as_str()
            .unwrap()
            .contains("[10:02] Ann (agent): Let me check.")
    );
    assert_eq!(
        comments[1]["body"],
        "Note from Ann's team:\nCall her back tomorrow"
    );
    assert_eq!(comments[1]["public"], false);
}

#[test]
fn a_visitor_without_email_is_found_by_phone_or_created_on_the_crm() {
    let app = crm_app();
    let known = create(
        &app,
        "/api/v1/crm/contacts",
        json!({"name": "Phone Only", "phones": ["+14155550177"]}),
    );
    let mut body = conversation("conv-3");
    body["visitor"] = json!({"phone": "(415) 555-0177"});
    let view = send(&app, &body);
    assert_eq!(view["contact_id"], known.as_str());
    assert_eq!(view["decisions"]["contact_rule"], "visitor_phone");
    let ticket = app.ticket(view["ticket_id"].as_str().unwrap());
    assert_eq!(ticket["requester_id"], known.as_str());

    let mut body = conversation("conv-4");
    body["visitor"] = json!({"name": "Nadia"});
    let view = send(&app, &body);
    assert_eq!(view["decisions"]["contact_rule"], "visitor_new_contact");
    let (_, contact) = app.get(&format!(
        "/api/v1/crm/contacts/{}",
        view["contact_id"].as_str().unwrap()
    ));
    assert_eq!(contact["name"], "Nadia");
    assert_eq!(contact["email"], Value::Null);
    assert_eq!(contact["phones"], json!([]));
}

#[test]
fn another_sites_token_cannot_read_or_send_for_it() {
    let app = crm_app();
    send(&app, &conversation("conv-5"));
    let b = app.as_token(SITE_B);
    let (status, body) = b.get("/api/v1/conversations/conv-5");
    assert_eq!(status, 404, "{body}");
    let (status, _) = b.get("/api/v1/calls/chat:conv-5");
    assert_eq!(status, 404);
    let mut named = conversation("conv-6");
    named["group"] = json!("a");
    let (status, body) = b.send("POST", "/api/v1/conversations", Some(&named));
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "group");
    // B's own conversation with the same id is B's, on B's backend.
    let view = {
        let (status, receipt) = b.send(
            "POST",
            "/api/v1/conversations",
            Some(&conversation("conv-5")),
        );
        assert_eq!(status, 202, "{receipt}");
        assert_eq!(receipt["accepted"], 1);
        b.wait_synced("chat:conv-5");
        b.get("/api/v1/conversations/conv-5").1
    };
    assert_eq!(view["group"], "b");
    assert_eq!(view["decisions"]["contact_rule"], "visitor_new_contact");
}

#[test]
fn bad_conversations_are_refused_naming_the_field() {
    let app = crm_app();
    let refused = |edit: &dyn Fn(&mut Value), field: &str| {
        let mut body = conversation("bad");
        edit(&mut body);
        let (status, err) = app.send("POST", "/api/v1/conversations", Some(&body));
        assert_eq!(status, 422, "{field}: {err}");
        assert_eq!(err["field"], field, "{err}");
    };
    refused(
        &|b| {
            b.as_object_mut().unwrap().remove("visitor");
        },
        "visitor",
    );
    refused(
        &|b| {
            b["transcript"][1].as_object_mut().unwrap().remove("text");
        },
        "transcript[1].text",
    );
    refused(
        &|b| b["transcript"][0]["from"] = json!("cat"),
        "transcript[0].from",
    );
    refused(
        &|b| b["visitor"]["email"] = json!("not-an-email"),
        "visitor.email",
    );
    refused(
        &|b| b["visitor"]["phone"] = json!("call me"),
        "visitor.phone",
    );
    refused(
        &|b| b["ended_at"] = json!("2026-11-29T09:00:00Z"),
        "ended_at",
    );
    refused(
        &|b| {
            b.as_object_mut().unwrap().remove("id");
        },
        "id",
    );
    // Hostile sizes.
    refused(&|b| b["id"] = json!("x".repeat(1000)), "id");
    refused(
        &|b| b["transcript"][0]["text"] = json!("x".repeat(20_000)),
        "transcript[0].text",
    );
    refused(
        &|b| {
            let m = json!({"from": "bot", "text": "x", "at": "2026-11-29T10:00:00Z"});
            b["transcript"] = json!(vec![m; 2001]);
        },
        "transcript",
    );
    refused(&|b| b["tags"] = json!(vec!["t"; 51]), "tags");
    refused(&|b| b["note"] = json!("n".repeat(17_000)), "note");
    // Nothing was stored.
    app.settle();
    assert!(app.all("tickets").is_empty());
    let (status, _) = app.get("/api/v1/conversations/bad");
    assert_eq!(status, 404);
}

// ---- Zendesk ----

/// The emulator with the chat form 4242 (fields 360000001..4, the last
/// required) and Vera as an end user with an email.
fn zendesk_site(zd: &Zd) -> (u64, u64) {
    for (id, title) in [
        (360000001, "Conversation"),
        (360000002, "Channel"),
        (360000003, "Chat tags"),
    ] {
        zd.emu
            .seed_ticket_field(SeedTicketField::new(id, "text", title));
    }
    zd.emu
        .seed_ticket_field(SeedTicketField::new(360000004, "text", "Order").required());
    zd.emu.seed_ticket_form(SeedTicketForm::new(
        4242,
        "Chat",
        vec![360000001, 360000002, 360000003, 360000004],
    ));
    let ann = zd.emu.seed_agent("ann@acme.com", "Ann Example");
    let vera = zd
        .emu
        .seed_user(SeedUser::new("Vera V.").email("vera@example.com"));
    (ann, vera)
}

fn zendesk_app(zd: &Zd, ann: u64) -> TestApp {
    let keys = CHAT_KEYS.replace("[groups.chat]", "[groups.chat]\nticket_form = \"4242\"");
    TestApp::with_config(&config(zd, ann, &keys), TOKEN)
}

#[test]
fn chats_on_zendesk_archive_escalate_and_are_not_sent_twice() {
    let zd = Zd::start(|_| {});
    let (ann, vera) = zendesk_site(&zd);
    let app = zendesk_app(&zd, ann);

    let view = send(&app, &conversation("zc-1"));
    assert_eq!(id(&view["contact_id"]), vera);
    let state = zd.emu.state();
    let ticket = state
        .tickets
        .iter()
        .find(|t| t.id == id(&view["ticket_id"]))
        .expect("the ticket");
    assert_eq!(format!("{:?}", ticket.status).to_lowercase(), "solved");
    assert_eq!(ticket.requester_id, vera);
    assert_eq!(ticket.assignee_id, Some(ann));
    assert_eq!(ticket.ticket_form_id, Some(4242));
    assert_eq!(
        ticket.tags,
        ["chat", "site_a", "late_order", "deskbridge_chat_archive"]
    );
    assert_eq!(ticket.custom_fields[&360000001], json!("zc-1"));
    assert_eq!(ticket.custom_fields[&360000002], json!("chat"));
    assert_eq!(ticket.custom_fields[&360000003], json!("late order"));
    assert_eq!(ticket.custom_fields[&360000004], json!("A-77"));
    let comments: Vec<_> = state
        .comments
        .iter()
        .filter(|c| c.ticket_id == ticket.id)
        .collect();
    assert_eq!(comments.len(), 1);
    assert!(!comments[0].public);
    assert!(
        comments[0]
            .body
            .contains("[10:01] Vera Visitor (visitor): My order is late."),
        "{}",
        comments[0].body
    );
    let tickets_before = state.tickets.len();
    drop(state);

    // Re-sent: nothing new in Zendesk.
    let (status, receipt) = app.send("POST", "/api/v1/conversations", Some(&conversation("zc-1")));
    assert_eq!(status, 202, "{receipt}");
    assert_eq!(receipt["duplicates"], 1);
    app.settle();
    assert_eq!(zd.emu.state().tickets.len(), tickets_before);

    // Escalated: open, with the note as a private comment under the label.
    let mut body = conversation("zc-2");
    body["escalate"] = json!(true);
    let view = send(&app, &body);
    let state = zd.emu.state();
    let ticket = state
        .tickets
        .iter()
        .find(|t| t.id == id(&view["ticket_id"]))
        .expect("the ticket");
    assert_eq!(format!("{:?}", ticket.status).to_lowercase(), "open");
    let comments: Vec<_> = state
        .comments
        .iter()
        .filter(|c| c.ticket_id == ticket.id)
        .collect();
    assert_eq!(comments.len(), 2);
    // The Zendesk backend ends each comment with its step's reference (how a
    // retried step finds it).
    assert!(
        comments[1]
            .body
            .starts_with("Note from Ann's team:\nCall her back tomorrow\n"),
        "{}",
        comments[1].body
    );
    assert!(!comments[1].public);
}

#[test]
fn a_visitor_without_email_on_zendesk_is_found_by_phone_or_created_with_the_number() {
    let zd = Zd::start(|_| {});
    let (ann, _) = zendesk_site(&zd);
    let app = zendesk_app(&zd, ann);
    // Found by phone (no email given).
    let known = zd
        .emu
        .seed_user(SeedUser::end_user("Phone Known", "+14155550177"));
    let mut body = conversation("zc-4");
    body["visitor"] = json!({"phone": "(415) 555-0177"});
    let view = send(&app, &body);
    assert_eq!(view["decisions"]["contact_rule"], "visitor_phone");
    assert_eq!(id(&view["contact_id"]), known);

    let mut body = conversation("zc-3");
    body["visitor"] = json!({"name": "Pat", "phone": "+14155550188"});
    let view = send(&app, &body);
    assert_eq!(view["decisions"]["contact_rule"], "visitor_new_contact");
    let state = zd.emu.state();
    let user = state
        .users
        .iter()
        .find(|u| u.id == id(&view["contact_id"]))
        .expect("the user");
    assert_eq!(user.name, "Pat");
    assert_eq!(user.phone.as_deref(), Some("+14155550188"));
    assert_eq!(user.email, None);
    let ticket = state
        .tickets
        .iter()
        .find(|t| t.id == id(&view["ticket_id"]))
        .expect("the ticket");
    assert_eq!(ticket.requester_id, user.id);
}

#[test]
fn check_online_finds_a_chat_form_whose_required_field_gets_no_value() {
    let zd = Zd::start(|_| {});
    let (ann, _) = zendesk_site(&zd);
    let check = |chat_keys: &str| {
        let config = deskbridge::config::Config::from_toml(
            &config(&zd, ann, chat_keys),
            deskbridge::config::Overrides::default(),
        )
        .expect("valid config");
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(deskbridge::check::online(&config))
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
    };
    // Every required field of the form filled: nothing to report.
    let good = CHAT_KEYS.replace("[groups.chat]", "[groups.chat]\nticket_form = \"4242\"");
    assert_eq!(check(&good), Vec::<String>::new());
    // The order field left out.
    let bad = good.replace("\"360000004\" = \"attribute:order_id\"\n", "");
    let findings = check(&bad);
    assert!(
        findings.iter().any(|f| f.starts_with(
            "error: groups[0].chat.ticket_form: form 4242 requires field 360000004 (Order)"
        ) && f.contains("[groups.chat.fields]")),
        "{findings:?}"
    );
}

#[test]
fn on_zendesk_an_archive_whose_form_lacks_a_required_value_fails_saying_which() {
    let zd = Zd::start(|_| {});
    let (ann, _) = zendesk_site(&zd);
    // The order field (required to solve) is not filled: what `check --online`
    // reports before the first chat.
    let keys = CHAT_KEYS
        .replace("[groups.chat]", "[groups.chat]\nticket_form = \"4242\"")
        .replace("\"360000004\" = \"attribute:order_id\"\n", "");
    let app = zd.app(ann, &keys);
    let (status, receipt) = app.send("POST", "/api/v1/conversations", Some(&conversation("zc-9")));
    assert_eq!(status, 202, "{receipt}");
    app.wait_synced("chat:zc-9");
    let (_, view) = app.get("/api/v1/conversations/zc-9");
    assert_eq!(view["sync"], "failed", "{view}");
    let error = view["sync_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("Order: is required when solving a ticket"),
        "{view}"
    );
    assert!(zd.emu.state().tickets.is_empty());
}
