//! The Zendesk backend against the emulator behaving as Zendesk documents it
//! (issue 9): numbers typed by hand, the real closed-ticket refusal, 409s, writes
//! applied whose answer was lost, per-ticket update limits, permissions and
//! solved tickets. Each test checks what a user would: the Zendesk user, the
//! ticket, its comments, and the call's `sync`.

use std::time::{Duration, Instant};

use serde_json::json;
use zendesk_emulator::{Role, SeedTicket, SeedUser, TicketStatus, UpdateFault};

use crate::common::*;
use crate::zendesk::{TOKEN, Zd, call, config, id};

fn comments_on(zd: &Zd, ticket: u64) -> Vec<String> {
    zd.emu
        .state()
        .comments
        .iter()
        .filter(|c| c.ticket_id == ticket)
        .map(|c| c.body.clone())
        .collect()
}

/// Point 1: four customers whose numbers were typed four ways are found by the
/// wildcard search and get no second user.
#[test]
fn customers_typed_in_four_formats_are_found_and_get_no_duplicate() {
    let (zd, ann) = Zd::with_ann();
    let typed = [
        ("+14155550101", "+1 415 555 0101"),
        ("+1 (415) 555-0102", "+14155550102"),
        ("415-555-0103", "(415) 555-0103"),
        ("1 415 555 0104", "+1-415-555-0104"),
    ];
    let seeded: Vec<u64> = typed
        .iter()
        .enumerate()
        .map(|(i, (stored, _))| {
            zd.emu
                .seed_user(SeedUser::end_user(format!("Customer {i}"), *stored))
        })
        .collect();
    // Someone abroad whose number ends in the same digits is not one of them.
    let abroad = zd
        .emu
        .seed_user(SeedUser::end_user("Abroad", "+44 4155550101"));
    let users_before = zd.emu.state().users.len();
    let server = zd.app(ann, "");
    for (i, (_, dialed)) in typed.iter().enumerate() {
        let c = call(&server, &format!("f{i}"), dialed, json!({}));
        assert_eq!(id(&c["contact_id"]), seeded[i], "{dialed}: {c}");
        assert_ne!(id(&c["contact_id"]), abroad);
        assert_eq!(c["decisions"]["contact_rule"], "phone_match", "{c}");
    }
    assert_eq!(zd.emu.state().users.len(), users_before, "no user created");
}

/// Point 2: a recording arriving after the ticket was closed lands on a
/// follow-up (`via_followup_source_id`), and the call is `done`.
#[test]
fn a_late_recording_on_a_closed_ticket_lands_on_a_follow_up() {
    let (zd, ann) = Zd::with_ann();
    let server = zd.app(ann, "");
    let first = call(&server, "late", "+14155550150", json!({}));
    let ticket = id(&first["ticket_id"]);
    let closed = reqwest::blocking::Client::new()
        .put(format!("{}/api/v2/tickets/{ticket}.json", zd.emu.base_url))
        .basic_auth("admin@acme.com/token", Some("emulator-token"))
        .json(&json!({"ticket": {"status": "closed"}}))
        .send()
        .unwrap();
    assert!(closed.status().is_success());
    let (status, _) = server.post_events(&json!({
        "id": "late-4", "call_id": "late", "type": "recording",
        "recording_url": "https://pbx.example.com/late.mp3"
    }));
    assert_eq!(status, 202);
    let c = server.wait_call("late", |c| {
        c["sync"] != "pending" && c["ticket_id"] != first["ticket_id"]
    });
    assert_eq!(c["sync"], "done", "{c}");
    let followup = id(&c["ticket_id"]);
    let state = zd.emu.state();
    let t = state.tickets.iter().find(|t| t.id == followup).unwrap();
    assert_eq!(t.via_followup_source_id, Some(ticket));
    let bodies = comments_on(&zd, followup);
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert!(
        bodies[0].contains("https://pbx.example.com/late.mp3"),
        "{bodies:?}"
    );
    assert_eq!(
        comments_on(&zd, ticket).len(),
        1,
        "the closed ticket is untouched"
    );
}

/// Repeat calls onto one ticket (reuse window) while its updates fail with
/// `fault`: every call leaves exactly one comment, and another caller's call
/// goes through meanwhile.
fn repeat_calls_through(fault: UpdateFault) {
    let (zd, ann) = Zd::with_ann();
    let server = zd.app(ann, "reuse_recent_minutes = 30");
    let first = call(&server, "r0", "+14155550160", json!({}));
    let ticket = id(&first["ticket_id"]);
    zd.emu.fail_ticket_updates(Some(ticket), fault, 2);
    for i in 1..=3 {
        let c = call(&server, &format!("r{i}"), "+14155550160", json!({}));
        assert_eq!(id(&c["ticket_id"]), ticket, "{c}");
        let other = call(
            &server,
            &format!("o{i}"),
            &format!("+1415555017{i}"),
            json!({}),
        );
        assert_eq!(other["sync"], "done");
    }
    let bodies = comments_on(&zd, ticket);
    assert_eq!(bodies.len(), 4, "one comment per call: {bodies:#?}");
}

/// Point 3: 409 `DatabaseConflict` is retried, not a failed call.
#[test]
fn repeat_calls_through_409s_leave_one_comment_each() {
    repeat_calls_through(UpdateFault::Conflict);
}

/// Point 4: an update applied whose answer was a 502 is found on the retry, not
/// written twice.
#[test]
fn repeat_calls_through_502_after_apply_leave_one_comment_each() {
    repeat_calls_through(UpdateFault::AppliedThenBadGateway);
}

/// Point 6: a ticket over its update limit holds back only the writes to that
/// ticket; another caller's call is done while it waits.
#[test]
fn the_per_ticket_limit_holds_back_only_that_tickets_calls() {
    let (zd, ann) = Zd::with_ann();
    let server = zd.app(ann, "reuse_recent_minutes = 30");
    let first = call(&server, "p0", "+14155550180", json!({}));
    let ticket = id(&first["ticket_id"]);
    let window = Duration::from_secs(4);
    zd.emu.set_ticket_update_limit(Some((1, window)));
    call(&server, "p1", "+14155550180", json!({}));
    // The ticket's one update in this window is spent: the next waits.
    let limited_at = Instant::now();
    let (status, _) = server.post_events(&answered_call("p2", "+14155550180", "ann@acme.com"));
    assert_eq!(status, 202);
    let other = call(&server, "q1", "+14155550190", json!({}));
    assert_eq!(other["sync"], "done");
    assert!(
        limited_at.elapsed() < window,
        "another caller waited behind the ticket's limit"
    );
    let c = server.wait_call_for(&server.token, "p2", Duration::from_secs(30), |c| {
        c["sync"] != "pending"
    });
    assert_eq!(c["sync"], "done", "{c}");
    assert_eq!(comments_on(&zd, ticket).len(), 3, "one comment per call");
    assert!(zd.emu.stats().rate_limited > 0, "the limit was hit");
}

/// Point 6: calls held back behind one ticket's limit come back together and
/// are written as one update: fewer updates than calls, each call's text exactly
/// once, and every call `done` on that ticket.
#[test]
fn calls_held_back_behind_a_busy_ticket_are_combined_into_fewer_updates() {
    let (zd, ann) = Zd::with_ann();
    let server = zd.app(ann, "reuse_recent_minutes = 30");
    let first = call(&server, "m0", "+14155550185", json!({}));
    let ticket = id(&first["ticket_id"]);
    zd.emu
        .set_ticket_update_limit(Some((1, Duration::from_secs(3))));
    call(&server, "m1", "+14155550185", json!({}));
    let before = comments_on(&zd, ticket).len();
    // Four repeat calls end at once, while the ticket's one update is spent.
    let ids = ["m2", "m3", "m4", "m5"];
    for id in ids {
        let (status, _) = server.post_events(&answered_call(id, "+14155550185", "ann@acme.com"));
        assert_eq!(status, 202);
    }
    let calls: Vec<_> = ids
        .iter()
        .map(|c| {
            server.wait_call_for(&server.token, c, Duration::from_secs(60), |c| {
                c["sync"] != "pending"
            })
        })
        .collect();
    for c in &calls {
        assert_eq!(c["sync"], "done", "{c}");
        assert_eq!(id(&c["ticket_id"]), ticket, "{c}");
    }
    let bodies = comments_on(&zd, ticket);
    let written = &bodies[before..];
    assert!(
        written.len() < ids.len(),
        "{} updates for {} calls: {written:#?}",
        written.len(),
        ids.len()
    );
    // Each call's text once: its reference line appears once in all comments.
    let refs: Vec<&str> = written
        .iter()
        .flat_map(|b| b.lines())
        .filter(|l| l.starts_with("deskbridge ref:"))
        .collect();
    assert_eq!(refs.len(), ids.len(), "{written:#?}");
    let mut unique = refs.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), refs.len(), "a call written twice: {refs:?}");
}

/// Point 6: the account's limit on ticket updates (`ticket_updates_per_minute`)
/// is kept before Zendesk says no: the update over it waits unsent, while calls
/// that need no update go on.
#[test]
fn the_accounts_update_limit_is_kept_before_zendesk_refuses() {
    let zd = Zd::start(|_| {});
    zd.emu.set_account_update_limit(None);
    let ann = zd.emu.seed_agent("ann@acme.com", "Ann Example");
    let callers: Vec<(u64, u64)> = (0..3)
        .map(|i| {
            let user = zd.emu.seed_user(SeedUser::end_user(
                format!("Customer {i}"),
                format!("+1415555024{i}"),
            ));
            (user, zd.emu.seed_ticket(SeedTicket::new(user, "Open case")))
        })
        .collect();
    let toml = config(&zd, ann, "attach_open_ticket = true").replace(
        "requests_per_minute = 6000",
        "requests_per_minute = 6000\nticket_updates_per_minute = 2",
    );
    let server = TestApp::with_config(&toml, TOKEN);
    let seeded_comments = comments_on(&zd, callers[2].1).len();
    for (i, (_, ticket)) in callers.iter().enumerate().take(2) {
        let c = call(
            &server,
            &format!("u{i}"),
            &format!("+1415555024{i}"),
            json!({}),
        );
        assert_eq!(id(&c["ticket_id"]), *ticket, "{c}");
    }
    // The third update this minute is held back, not sent.
    let (status, _) = server.post_events(&answered_call("u2", "+14155550242", "ann@acme.com"));
    assert_eq!(status, 202);
    // A new caller's call needs no update (its ticket is created with its
    // comment) and goes through meanwhile.
    let other = call(&server, "new", "+14155550249", json!({}));
    assert_eq!(other["sync"], "done", "{other}");
    let (_, held) = server.get("/api/v1/calls/u2");
    assert_eq!(held["sync"], "pending", "{held}");
    assert_eq!(
        comments_on(&zd, callers[2].1).len(),
        seeded_comments,
        "the held-back comment was not written"
    );
    let stats = zd.emu.stats();
    assert_eq!(stats.rate_limited, 0, "{stats:?}");
    assert_eq!(
        stats.endpoints.get("PUT /api/v2/tickets/{id}").copied(),
        Some(2),
        "{stats:?}"
    );
}

/// Point 7: a token whose user may not create users fails the call with a
/// message naming the role, not the api_token.
#[test]
fn a_plain_agent_token_fails_new_callers_naming_the_role() {
    let (zd, ann) = Zd::with_ann();
    zd.emu.set_api_role(Role::Agent);
    let server = zd.app(ann, "");
    let (status, _) = server.post_events(&answered_call("perm", "+14155550200", "ann@acme.com"));
    assert_eq!(status, 202);
    let c = server.wait_call_for(&server.token, "perm", Duration::from_secs(30), |c| {
        c["sync"] != "pending"
    });
    assert_eq!(c["sync"], "failed", "{c}");
    let text = c.to_string();
    assert!(text.contains("admin role"), "{text}");
    assert!(!text.contains("api_token"), "{text}");
}

/// Point 8: a call added to a solved ticket sets it open by default, and leaves
/// it solved with `reopen_solved = false`.
#[test]
fn a_call_on_a_solved_ticket_reopens_it_unless_configured_not_to() {
    for (reopen, expected) in [(true, TicketStatus::Open), (false, TicketStatus::Solved)] {
        let (zd, ann) = Zd::with_ann();
        let grace = zd
            .emu
            .seed_user(SeedUser::end_user("Grace Hopper", "+14155550210"));
        let solved = zd
            .emu
            .seed_ticket(SeedTicket::new(grace, "Earlier call").status(TicketStatus::Solved));
        let keys = format!("reuse_recent_minutes = 30\nreopen_solved = {reopen}");
        let server = zd.app(ann, &keys);
        let c = call(&server, "s1", "+14155550210", json!({}));
        assert_eq!(id(&c["ticket_id"]), solved, "{c}");
        let state = zd.emu.state();
        let t = state.tickets.iter().find(|t| t.id == solved).unwrap();
        assert_eq!(t.status, expected, "reopen_solved = {reopen}");
        assert_eq!(comments_on(&zd, solved).len(), 2);
    }
}

/// Point 5: the ticket create is applied but its answer is lost (what a crash
/// between the create and its record looks like to the next try): the retried
/// step makes no second ticket, and the call is `done` with one comment.
#[test]
fn a_create_whose_answer_was_lost_makes_one_ticket() {
    let (zd, ann) = Zd::with_ann();
    let grace = zd
        .emu
        .seed_user(SeedUser::end_user("Grace Hopper", "+14155550220"));
    let server = zd.app(ann, "");
    zd.emu.lose_ticket_create_answers(1);
    let c = call(&server, "lost", "+14155550220", json!({}));
    let state = zd.emu.state();
    let ours: Vec<_> = state
        .tickets
        .iter()
        .filter(|t| t.requester_id == grace)
        .collect();
    assert_eq!(ours.len(), 1, "one ticket");
    assert_eq!(ours[0].id, id(&c["ticket_id"]));
    assert_eq!(comments_on(&zd, ours[0].id).len(), 1);
}

/// Point 1: a customer whose primary number is another, with the caller's
/// number as a second phone identity, is found through that identity.
#[test]
fn a_customer_found_through_another_phone_identity_gets_no_duplicate() {
    // The identity is added through the API: no index lag, so search finds it.
    let zd = Zd::start(|cfg| cfg.search_lag = Duration::ZERO);
    let ann = zd.emu.seed_agent("ann@acme.com", "Ann Example");
    let grace = zd
        .emu
        .seed_user(SeedUser::end_user("Grace Hopper", "+14155550230"));
    let added = reqwest::blocking::Client::new()
        .post(format!(
            "{}/api/v2/users/{grace}/identities.json",
            zd.emu.base_url
        ))
        .basic_auth("admin@acme.com/token", Some("emulator-token"))
        .json(&json!({"identity": {"type": "phone_number", "value": "+1 415 555 0231"}}))
        .send()
        .unwrap();
    assert!(added.status().is_success(), "{}", added.text().unwrap());
    let users_before = zd.emu.state().users.len();
    let server = zd.app(ann, "");
    let c = call(&server, "second", "(415) 555-0231", json!({}));
    assert_eq!(id(&c["contact_id"]), grace, "{c}");
    assert_eq!(zd.emu.state().users.len(), users_before);
}
