//! The rules a contact center relies on, whatever its helpdesk. Each test is
//! generic over the [`Account`]; `mod.rs` runs it on every backend.

use serde_json::{Value, json};

use super::{Account, Comment};
use crate::common::*;

/// Posts an answered call from `from` (Ann answers) with `attrs`, and waits
/// until its work is done.
fn call(server: &TestApp, id: &str, from: &str, attrs: Value) -> CallView {
    let mut events = answered_call(id, from, "ann@acme.com");
    events[0]["attributes"] = attrs;
    let (status, body) = server.post_events(&events);
    assert_eq!(status, 202, "{body}");
    let call = server.wait_synced(id);
    assert_eq!(call["sync"], "done", "{call}");
    call
}

fn text(v: &Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

fn texts(comments: &[Comment]) -> Vec<&str> {
    comments.iter().map(|c| c.text.as_str()).collect()
}

pub(super) fn a_new_caller_gets_a_contact_and_a_ticket_carrying_the_call_and_a_repeat_caller_no_second_contact<
    A: Account,
>() {
    let account = A::start();
    let server = account.app("");
    let before = account.requests();
    let first = call(&server, "c1", "(415) 555-0100", json!({}));
    // A lookup, Ann's id (looked up once), the contact, the ticket with the
    // call as its first comment (Freshdesk: and the call's private note).
    assert_eq!(
        account.requests() - before,
        3 + account.writes_per_new_ticket()
    );
    assert_eq!(account.contacts_with_phone("+14155550100"), 1);
    let ticket = account.ticket(&text(&first["ticket_id"]));
    assert_eq!(ticket.requester, text(&first["contact_id"]));
    assert_eq!(ticket.assignee.as_deref(), Some("ann@acme.com"));
    assert_eq!(ticket.subject, "Inbound call +14155550100");
    let comments = account.comments(&text(&first["ticket_id"]));
    assert_eq!(comments.len(), 1, "{:?}", texts(&comments));
    assert!(!comments[0].public);
    assert!(
        comments[0]
            .text
            .contains("Agent: Ann Example <ann@acme.com>"),
        "{}",
        comments[0].text
    );

    // The same caller, written another way, within the search index's lag:
    // known, so only the ticket is made.
    let before = account.requests();
    let second = call(&server, "c2", "+1 415-555-0100", json!({}));
    assert_eq!(account.requests() - before, account.writes_per_new_ticket());
    assert_eq!(second["contact_id"], first["contact_id"]);
    assert_ne!(second["ticket_id"], first["ticket_id"]);
    assert_eq!(account.contacts_with_phone("+14155550100"), 1);
}

pub(super) fn a_known_caller_is_found_by_a_number_typed_by_hand<A: Account>() {
    let account = A::start();
    let grace = account.seed_contact("Grace Hopper", "(415) 555-0123");
    let server = account.app("");
    let known = call(&server, "k1", "+14155550123", json!({}));
    assert_eq!(text(&known["contact_id"]), grace);
    assert_eq!(known["decisions"]["contact_rule"], "phone_match");
    assert_eq!(account.ticket(&text(&known["ticket_id"])).requester, grace);
}

pub(super) fn the_reuse_window_puts_the_call_on_the_callers_recent_ticket<A: Account>() {
    let account = A::start();
    let server = account.app("reuse_recent_minutes = 30");
    let first = call(&server, "r1", "+14155550100", json!({}));
    let second = call(&server, "r2", "+14155550100", json!({}));
    assert_eq!(second["ticket_id"], first["ticket_id"]);
    assert_eq!(second["decisions"]["ticket_rule"], "reuse_window");
    let comments = account.comments(&text(&first["ticket_id"]));
    assert_eq!(comments.len(), 2, "{:?}", texts(&comments));
    assert!(comments.iter().all(|c| !c.public));
}

pub(super) fn an_ivr_ticket_number_is_used_only_when_it_is_the_callers<A: Account>() {
    let account = A::start();
    let grace = account.seed_contact("Grace Hopper", "+14155550123");
    let other = account.seed_contact("Someone Else", "+14155550199");
    let hers = account.seed_ticket(&grace, "Printer on fire");
    let not_hers = account.seed_ticket(&other, "Other");
    let server = account.app("");

    let used = call(
        &server,
        "i1",
        "+14155550123",
        json!({"zendesk_ticket": hers}),
    );
    assert_eq!(text(&used["ticket_id"]), hers);
    assert_eq!(used["decisions"]["ticket_rule"], "ivr_ticket");
    assert_eq!(account.comments(&hers).len(), 2, "description + call");

    let rejected = call(
        &server,
        "i2",
        "+14155550123",
        json!({"zendesk_ticket": not_hers}),
    );
    assert_eq!(
        rejected["decisions"]["ticket_rule"],
        "ivr_ticket_rejected_not_requester"
    );
    assert_ne!(text(&rejected["ticket_id"]), not_hers);
    assert_eq!(account.comments(&not_hers).len(), 1, "untouched");
}

pub(super) fn call_data_fills_custom_fields_and_the_ticket_is_assigned_by_email<A: Account>() {
    let account = A::start();
    let utm = account.seed_text_field("UTM source");
    let dialed = account.seed_text_field("Dialed number");
    let server = account.app(&format!(
        "[groups.custom_fields]\n\"{utm}\" = \"{{{{ attributes.utm_source }}}}\"\n\"{dialed}\" = \"{{{{ dialed }}}}\"\n"
    ));
    let first = call(
        &server,
        "f1",
        "+14155550100",
        json!({"utm_source": "newsletter"}),
    );
    let ticket = account.ticket(&text(&first["ticket_id"]));
    let field = |id: &str| {
        ticket
            .fields
            .iter()
            .find(|(k, _)| k == id)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(field(&utm).as_deref(), Some("newsletter"));
    assert_eq!(field(&dialed).as_deref(), Some("+14155550199"));
    assert_eq!(ticket.assignee.as_deref(), Some("ann@acme.com"));
    assert_eq!(first["decisions"]["assignee_rule"], "agent_email");
}

pub(super) fn missed_calls_and_voicemails_say_what_happened<A: Account>() {
    let account = A::start();
    let server = account.app("");
    server.post_events(&json!([
        {"id": "m1", "call_id": "m", "type": "ringing", "direction": "inbound", "from": "+14155550100"},
        {"id": "m2", "call_id": "m", "type": "ended", "reason": "no_answer"},
        {"id": "v1", "call_id": "v", "type": "ringing", "direction": "inbound", "from": "+14155550101"},
        {"id": "v2", "call_id": "v", "type": "voicemail", "recording_url": "https://pbx.example.com/vm.mp3"},
        {"id": "v3", "call_id": "v", "type": "ended", "reason": "no_answer"},
    ]));
    let missed = server.wait_synced("m");
    let voicemail = server.wait_synced("v");
    let first = |call: &Value| account.comments(&text(&call["ticket_id"]))[0].text.clone();
    assert!(
        first(&missed).starts_with("Missed inbound call"),
        "{}",
        first(&missed)
    );
    assert!(
        first(&voicemail).contains("Recording: https://pbx.example.com/vm.mp3"),
        "{}",
        first(&voicemail)
    );
    assert_eq!(voicemail["outcome"], "voicemail");
}

pub(super) fn a_call_on_a_ticket_closed_meanwhile_goes_onto_a_follow_up<A: Account>() {
    let account = A::start();
    let grace = account.seed_contact("Grace Hopper", "+14155550123");
    let server = account.app(
        "reuse_recent_minutes = 30\ncreate_ticket_at = \"answer\"\nticket_priority = \"high\"",
    );
    // Answered: the ticket is made; the agent closes it before the call ends.
    server.post_events(&json!([
        {"id": "a1", "call_id": "a", "type": "ringing", "direction": "inbound", "from": "+14155550123"},
        {"id": "a2", "call_id": "a", "type": "answered", "agent": {"email": "ann@acme.com"}},
    ]));
    let ticket = text(&server.wait_call("a", |c| c["ticket_id"].is_string())["ticket_id"]);
    account.close_ticket(&ticket);
    server
        .post_events(&json!({"id": "a3", "call_id": "a", "type": "ended", "reason": "completed"}));
    let call = server.wait_synced("a");
    let followup = text(&call["ticket_id"]);
    assert_ne!(followup, ticket);
    assert!(
        call["decisions"]["ticket_rules"]
            .as_array()
            .unwrap()
            .contains(&json!("followup_of_closed_ticket")),
        "{call}"
    );
    // The case goes on where it was: same caller, agent and priority.
    let (closed, follow) = (account.ticket(&ticket), account.ticket(&followup));
    assert_eq!(follow.requester, grace);
    assert_eq!(closed.priority, "high");
    assert_eq!(
        (follow.assignee.as_deref(), follow.priority.as_str()),
        (closed.assignee.as_deref(), "high"),
        "{follow:?}"
    );
    assert_eq!(follow.subject, closed.subject);
    let comments = account.comments(&followup);
    assert!(
        comments
            .iter()
            .any(|c| c.text.contains("Inbound call answered")),
        "{:?}",
        texts(&comments)
    );
    assert_eq!(
        account.comments(&ticket).len(),
        1,
        "the closed ticket is untouched"
    );
}

pub(super) fn with_the_mirror_loaded_callers_are_found_and_made_without_a_search<A: Account>() {
    let account = A::start();
    let grace = account.seed_contact("Grace Hopper", "(415) 555-0123");
    account.settle_for_mirror();
    let server = account.app_with("mirror = true\nmirror_poll_seconds = 10\n", "");
    let loading = std::time::Instant::now();
    loop {
        let state = server.block_on(deskbridge_mirror::mirror_state(
            &server.state().mirrors,
            "desk",
        ));
        if state.as_ref().is_some_and(|s| s.is_current()) {
            break;
        }
        assert!(
            loading.elapsed() < std::time::Duration::from_secs(30),
            "the mirror did not load: {state:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let searches = account.searches();
    let known = call(&server, "m1", "+14155550123", json!({}));
    assert_eq!(text(&known["contact_id"]), grace);
    assert_eq!(known["decisions"]["contact_rule"], "phone_match");
    let new = call(&server, "m2", "+14155550777", json!({}));
    assert_eq!(new["decisions"]["contact_rule"], "new_contact");
    assert_eq!(account.contacts_with_phone("+14155550777"), 1);
    // The new contact is in the mirror from its create: the next call finds
    // it there, and the same contact takes the call.
    let again = call(&server, "m3", "+14155550777", json!({}));
    assert_eq!(again["contact_id"], new["contact_id"]);
    assert_eq!(account.searches(), searches, "no search for any of them");
}

fn chat(id: &str, escalate: bool) -> Value {
    json!({
        "id": id,
        "channel": "chat",
        "visitor": {"name": "Vera Visitor", "email": "Vera@Example.com"},
        "agent": {"email": "ann@acme.com", "name": "Ann"},
        "started_at": "2026-11-29T10:00:00Z",
        "ended_at": "2026-11-29T10:07:00Z",
        "transcript": [
            {"from": "visitor", "text": "My order is late.", "at": "2026-11-29T10:01:00Z"},
            {"from": "agent", "text": "Let me check.", "at": "2026-11-29T10:02:00Z"}
        ],
        "tags": ["late order"],
        "note": "Call her back tomorrow",
        "escalate": escalate,
    })
}

pub(super) fn a_chat_is_archived_solved_or_escalated_open_with_its_note<A: Account>() {
    let account = A::start();
    let vera = account.seed_visitor("Vera Visitor", "vera@example.com");
    let server =
        account.app("[groups.chat]\ntags = [\"Chat\"]\nnote_label = \"Note from Ann's team\"\n");
    let sent = |id: &str, escalate: bool| {
        let (status, receipt) =
            server.send("POST", "/api/v1/conversations", Some(&chat(id, escalate)));
        assert_eq!(status, 202, "{receipt}");
        server.wait_synced(&format!("chat:{id}"));
        let (_, view) = server.get(&format!("/api/v1/conversations/{id}"));
        assert_eq!(view["sync"], "done", "{view}");
        view
    };

    let archived = sent("zc-1", false);
    assert_eq!(text(&archived["contact_id"]), vera, "found by her email");
    let ticket = account.ticket(&text(&archived["ticket_id"]));
    assert_eq!(ticket.status, "solved");
    assert_eq!(ticket.requester, vera);
    assert_eq!(ticket.assignee.as_deref(), Some("ann@acme.com"));
    for tag in ["chat", "late_order", "deskbridge_chat_archive"] {
        assert!(
            ticket.tags.iter().any(|t| t == tag),
            "{tag} in {:?}",
            ticket.tags
        );
    }
    let comments = account.comments(&text(&archived["ticket_id"]));
    assert_eq!(comments.len(), 1, "{:?}", texts(&comments));
    assert!(!comments[0].public);
    assert!(
        comments[0]
            .text
            .contains("Vera Visitor (visitor): My order is late."),
        "{}",
        comments[0].text
    );

    let escalated = sent("zc-2", true);
    let ticket = account.ticket(&text(&escalated["ticket_id"]));
    assert_eq!(ticket.status, "open");
    let comments = account.comments(&text(&escalated["ticket_id"]));
    assert_eq!(comments.len(), 2, "{:?}", texts(&comments));
    assert!(
        comments[1]
            .text
            .starts_with("Note from Ann's team:\nCall her back tomorrow"),
        "{}",
        comments[1].text
    );
    assert!(!comments[1].public);
}

/// A new caller's company, from call data: the one the account has by that
/// name, else made once; a caller without one gets none.
pub(super) fn a_callers_company_is_found_by_name_or_made_once<A: Account>() {
    let account = A::start();
    let acme = account.seed_company("Acme Corp");
    let server = account.app(
        "create = [\"contact\", \"organization\", \"ticket\", \"comment\"]\n\
         organization_name = \"{{ attributes.company }}\"",
    );
    let first = call(
        &server,
        "c1",
        "+14155550171",
        json!({"company": "Acme Corp"}),
    );
    let contact = text(&first["contact_id"]);
    assert_eq!(account.company_of(&contact), Some(acme.clone()), "{first}");
    let second = call(&server, "c2", "+14155550172", json!({"company": "Globex"}));
    let globex = account
        .company_of(&text(&second["contact_id"]))
        .expect("Globex was made");
    assert_ne!(globex, acme);
    let third = call(&server, "c3", "+14155550173", json!({"company": "Globex"}));
    assert_eq!(
        account.company_of(&text(&third["contact_id"])),
        Some(globex)
    );
    let none = call(&server, "c4", "+14155550174", json!({}));
    assert_eq!(account.company_of(&text(&none["contact_id"])), None);
    let mut names = account.companies();
    names.sort();
    assert_eq!(names, ["Acme Corp", "Globex"]);
}

/// `ticket_group` from call data: the IVR's menu choice sends billing calls'
/// tickets to the Billing group; a call that picks nothing is left to the
/// helpdesk's own routing.
pub(super) fn call_data_sends_the_ticket_to_a_group<A: Account>() {
    let account = A::start();
    let billing = account.seed_group("Billing");
    let server = account.app(&format!(
        "ticket_group = \"{{% if attributes.menu == '2' %}}{billing}{{% endif %}}\""
    ));
    let routed = call(&server, "g1", "+14155550181", json!({"menu": "2"}));
    let ticket = account.ticket(&text(&routed["ticket_id"]));
    assert_eq!(ticket.group, Some(billing), "{ticket:?}");
    let unrouted = call(&server, "g2", "+14155550182", json!({"menu": "1"}));
    assert_eq!(account.ticket(&text(&unrouted["ticket_id"])).group, None);
}
