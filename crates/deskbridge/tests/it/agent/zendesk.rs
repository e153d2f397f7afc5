//! Agent mode on the Zendesk backend (the emulator): the agent's choice lands
//! the call on the Zendesk record.

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
