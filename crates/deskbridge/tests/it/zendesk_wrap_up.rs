//! Wrap-up codes on Zendesk (issue 27, point 3): the agent's code reaches the
//! ticket in the call's one write, as a tag and a custom field, whether the
//! call makes its ticket (the create carries them) or lands on an existing
//! one (the comment's update adds the tag beside the ticket's own, as
//! Zendesk's `additional_tags` does).

use deskbridge_testkit::{Agent, CallScript};
use serde_json::json;
use zendesk_emulator::SeedTicketField;

use crate::common::*;
use crate::zendesk::{TOKEN, Zd, backend, endpoints, id};

const ANN_TOKEN: &str = "ann-wraps-up-token-0123456789";
const FIELD: u64 = 360_000_555;

fn app(zd: &Zd, ann: u64) -> TestApp {
    let config = format!(
        r#"{backend}
[[agents]]
email = "ann@acme.com"
name = "Ann Example"
zendesk_id = "{ann}"
token = "{ANN_TOKEN}"

[[groups]]
name = "support"
backend = "zendesk"
tokens = ["{TOKEN}"]
reuse_recent_minutes = 30
[groups.wrap_up]
codes = ["sale", "complaint"]
seconds = 30
custom_field = "{FIELD}"
"#,
        backend = backend(&zd.emu.base_url)
    );
    TestApp::with_config(&config, TOKEN)
}

/// Ann answers a call from `from` now, it ends, she wraps it up with `code`
/// while its comment waits; the call once synced.
fn wrapped_up_call(app: &TestApp, call_id: &str, from: &str, code: &str) -> CallView {
    let script = CallScript::inbound(call_id, from)
        .answered_by(Agent::new("ann@acme.com").named("Ann Example"))
        .ends_after(20);
    let (status, body) = app.post_events(&script.events());
    assert_eq!(status, 202, "{body}");
    app.wait_call(call_id, |c| !c["wrap_up"]["due_at"].is_null());
    let ann = app.sign_in(&json!({"token": ANN_TOKEN}));
    let (status, body) = ann.send(
        "POST",
        &format!("/api/v1/calls/{call_id}/wrap_up"),
        Some(&json!({"code": code, "note": "asked about pricing"})),
    );
    assert_eq!(status, 200, "{body}");
    let call = app.wait_synced(call_id);
    assert_eq!(call["sync"], "done", "{call:?}");
    assert_eq!(call["wrap_up"]["on_ticket"], true, "{call:?}");
    call
}

#[test]
fn a_wrap_up_rides_on_the_calls_one_write_to_zendesk() {
    let (zd, ann) = Zd::with_ann();
    zd.emu
        .seed_ticket_field(SeedTicketField::new(FIELD, "text", "Wrap-up code"));
    let app = app(&zd, ann);

    // A new caller: found nowhere, created, and one ticket create carrying
    // the call, its wrap-up line, tag and field.
    let before = zd.emu.stats();
    let first = wrapped_up_call(&app, "wz1", "+14155550170", "sale");
    assert_eq!(
        zd.since(&before),
        endpoints(&[
            ("GET /api/v2/search", 1),
            ("POST /api/v2/users/create_or_update", 1),
            ("POST /api/v2/tickets", 1),
        ])
    );
    let state = zd.emu.state();
    let ticket = state
        .tickets
        .iter()
        .find(|t| t.id == id(&first["ticket_id"]))
        .expect("the ticket");
    assert!(
        ticket.tags.contains(&"wrap_up_sale".to_string()),
        "{:?}",
        ticket.tags
    );
    assert_eq!(ticket.custom_fields.get(&FIELD), Some(&json!("sale")));
    let comment = state
        .comments
        .iter()
        .find(|c| c.ticket_id == ticket.id)
        .expect("the comment");
    assert!(
        comment
            .body
            .contains("Wrap-up: sale (Ann Example): asked about pricing"),
        "{}",
        comment.body
    );

    // The same caller again within the reuse window: one update of that
    // ticket, which adds the new code's tag beside the first one's.
    let before = zd.emu.stats();
    let second = wrapped_up_call(&app, "wz2", "+14155550170", "complaint");
    assert_eq!(second["ticket_id"], first["ticket_id"]);
    assert_eq!(
        zd.since(&before),
        endpoints(&[("PUT /api/v2/tickets/{id}", 1)])
    );
    let state = zd.emu.state();
    let ticket = state
        .tickets
        .iter()
        .find(|t| t.id == id(&first["ticket_id"]))
        .expect("the ticket");
    for tag in ["wrap_up_sale", "wrap_up_complaint"] {
        assert!(ticket.tags.contains(&tag.to_string()), "{:?}", ticket.tags);
    }
    assert_eq!(ticket.custom_fields.get(&FIELD), Some(&json!("complaint")));
}
