//! What only the Freshdesk backend does (the rules every helpdesk keeps are
//! in `helpdesks/`).

use serde_json::json;

use crate::common::*;
use crate::helpdesks::{Account, FreshdeskAccount};

/// A private call goes into a private note after the ticket's create, since
/// Freshdesk shows a ticket's description to its requester; with
/// `call_in_description` the group accepts that, and the call is the
/// description of the one request that makes the ticket.
#[test]
fn a_private_call_is_a_note_unless_the_backend_allows_it_in_the_description() {
    let account = FreshdeskAccount::start();
    let server = account.app("");
    let events = answered_call("n1", "+14155550100", "ann@acme.com");
    server.post_events(&events);
    let noted = server.wait_synced("n1");
    let ticket = noted["ticket_id"].as_str().expect("a ticket").to_string();
    let comments = account.comments(&ticket);
    assert_eq!(
        comments.len(),
        1,
        "only the note: the description names the ticket"
    );
    assert!(!comments[0].public);
    assert!(
        comments[0].text.contains("Inbound call answered"),
        "{}",
        comments[0].text
    );
    drop(server);

    let server = account.app_with("call_in_description = true\n", "");
    let before = account.requests();
    server.post_events(&answered_call("d1", "+14155550101", "ann@acme.com"));
    let described = server.wait_synced("d1");
    // The search, Ann's id (a new process), the contact, the ticket: no note.
    assert_eq!(account.requests() - before, 4);
    let ticket = described["ticket_id"]
        .as_str()
        .expect("a ticket")
        .to_string();
    let comments = account.comments(&ticket);
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0].public,
        "the description: its requester can read it"
    );
    assert!(
        comments[0].text.contains("Inbound call answered"),
        "{}",
        comments[0].text
    );
    assert_eq!(described["decisions"]["contact_rule"], json!("new_contact"));
}

/// `ticket_product` on a Freshdesk group: the new ticket is for that product
/// (and in the group `ticket_group` names), with the call's private note.
#[test]
fn a_group_names_the_product_and_group_of_its_tickets() {
    let account = FreshdeskAccount::start();
    let phones = account.seed_product("Phones");
    let sales = account.seed_group("Sales");
    let server = account.app(&format!(
        "ticket_product = \"{phones}\"\nticket_group = \"{sales}\""
    ));
    server.post_events(&answered_call("p1", "+14155550190", "ann@acme.com"));
    let call = server.wait_synced("p1");
    assert_eq!(call["sync"], "done", "{call}");
    let ticket = account.ticket(call["ticket_id"].as_str().expect("a ticket"));
    assert_eq!(
        (ticket.product.as_deref(), ticket.group.as_deref()),
        (Some(phones.as_str()), Some(sales.as_str()))
    );
    assert!(
        account
            .comments(call["ticket_id"].as_str().unwrap())
            .iter()
            .any(|c| c.text.contains("Inbound call answered") && !c.public)
    );
}

/// An account without Freshdesk's unique contact identifier: a create whose
/// answer was lost is retried by listing the number's contacts, and finds the
/// one it made (by the name deskbridge gave it). The other contacts with the
/// number are not taken for it: the core weighed them and asked for a new
/// contact (`ambiguous_caller = "new_contact"`).
#[test]
fn without_unique_external_ids_a_lost_create_finds_its_own_contact_and_no_other() {
    let account = FreshdeskAccount::start_with(|cfg| cfg.unique_external_id = false);
    let server = account.app("ambiguous_caller = \"new_contact\"");
    // The first call teaches the backend that the account refuses the field.
    server.post_events(&answered_call("u1", "+14155550191", "ann@acme.com"));
    assert_eq!(server.wait_synced("u1")["sync"], "done");
    assert_eq!(account.contacts_of("+14155550191").len(), 1);

    // A shared line: two people's contacts hold the number.
    let grace = account.seed_contact("Grace Hopper", "+14155550192");
    let alan = account.seed_contact("Alan Turing", "+14155550192");
    account.fail_next_after_write(1, 500);
    server.post_events(&answered_call("u2", "+14155550192", "ann@acme.com"));
    let call = server.wait_synced("u2");
    assert_eq!(call["sync"], "done", "{call}");
    assert_eq!(
        call["decisions"]["contact_rule"],
        json!("phone_ambiguous_new_contact"),
        "{call}"
    );
    assert_eq!(
        call["steps"][0]["attempts"], 2,
        "the create was retried: {call}"
    );
    let contacts = account.contacts_of("+14155550192");
    assert_eq!(
        contacts.len(),
        3,
        "Grace, Alan and the one made: {contacts:?}"
    );
    let made = contacts
        .iter()
        .find(|(id, _)| *id != grace && *id != alan)
        .unwrap();
    assert_eq!(call["contact_id"], json!(made.0), "{contacts:?}");
}

/// The agent page's contact search reads a number typed without its country
/// code in the server's `[phone] default_region`, as the built-in CRM does.
#[test]
fn a_number_typed_in_the_contact_search_is_read_in_the_servers_region() {
    let account = FreshdeskAccount::start();
    let ada = account.seed_contact("Ada Lovelace", "+442079460018");
    let server = account.app("[phone]\ndefault_region = \"GB\"\n");
    let (status, body) = server.get("/api/v1/contacts?q=020%207946%200018");
    assert_eq!(status, 200, "{body}");
    let ids: Vec<&str> = body["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(ids, [ada.as_str()], "{body}");
}

/// A contact deleted in Freshdesk leaves the mirror at its next poll (the
/// deleted contacts' list), so a call from its number is not given a contact
/// that is gone: it is looked up in Freshdesk again, and a new one is made.
#[test]
fn a_contact_deleted_in_freshdesk_leaves_the_mirror() {
    use std::time::{Duration, Instant};
    let account = FreshdeskAccount::start();
    let grace = account.seed_contact("Grace Hopper", "(415) 555-0123");
    account.settle_for_mirror();
    let server = account.app_with("mirror = true\nmirror_poll_seconds = 10\n", "");
    let lag = || match server.block_on(deskbridge_mirror::mirror_state(
        &server.state().mirrors,
        "desk",
    )) {
        Some(deskbridge_mirror::MirrorState::Current { lag_seconds }) => Some(lag_seconds),
        _ => None,
    };
    let waiting = Instant::now();
    while lag().is_none() {
        assert!(waiting.elapsed() < Duration::from_secs(30), "not loaded");
        std::thread::sleep(Duration::from_millis(50));
    }
    account.delete_contact(&grace);
    let deleted = Instant::now();
    // Until a poll has run since the deletion.
    loop {
        if lag().is_some_and(|l| l + 1 < deleted.elapsed().as_secs()) {
            break;
        }
        assert!(deleted.elapsed() < Duration::from_secs(40), "no poll ran");
        std::thread::sleep(Duration::from_millis(200));
    }
    server.post_events(&answered_call("d1", "+14155550123", "ann@acme.com"));
    let call = server.wait_synced("d1");
    assert_eq!(call["sync"], "done", "{call}");
    assert_ne!(call["contact_id"], json!(grace), "{call}");
    assert_eq!(call["decisions"]["contact_rule"], "new_contact", "{call}");
}
