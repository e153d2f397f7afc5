//! Talk Partner Edition call records (`zendesk_app_id`): the call comment on an
//! existing ticket is a call record (`POST /api/v2/calls` with the ticket id and
//! a `comment` section) whose voice comment shows the call, in the one request
//! the text comment took.

use chrono::{TimeZone, Utc};
use deskbridge_testkit::{Agent, CallScript};
use serde_json::{Value, json};
use zendesk_emulator::{SeedTicket, SeedUser};

use crate::common::*;
use crate::zendesk::{TOKEN, Zd, endpoints, id};

const APP_ID: u64 = 735_264_019_863_524;
const PLAIN_TOKEN: &str = "zendesk-plain-token-0123456789";

/// Two groups on one account: `support` records calls, `plain` does not.
fn app(zd: &Zd, ann: u64) -> TestApp {
    let config = format!(
        r#"{backend}

[[groups]]
name = "support"
backend = "zendesk"
tokens = ["{TOKEN}"]
zendesk_app_id = {APP_ID}

[[groups]]
name = "plain"
backend = "zendesk"
tokens = ["{PLAIN_TOKEN}"]
"#,
        backend = crate::zendesk::backend_and_ann(zd, ann)
    );
    TestApp::with_config(&config, TOKEN)
}

/// An answered call on the caller's ticket (the IVR's), with its recording.
fn call_on(call_id: &str, from: &str, ticket: u64) -> Value {
    CallScript::inbound(call_id, from)
        .starting_at(Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap())
        .attributes(json!({"zendesk_ticket": ticket.to_string()}))
        .answered_by(Agent::ann())
        .at(5)
        .ends_after(65)
        .with("queue", json!("support"))
        .with(
            "recording_url",
            json!(format!("https://pbx.example.com/rec/{call_id}.mp3")),
        )
        .events()
}

fn caller_with_ticket(zd: &Zd, name: &str, phone: &str) -> u64 {
    let user = zd.emu.seed_user(SeedUser::end_user(name, phone));
    zd.emu.seed_ticket(SeedTicket::new(user, "Printer on fire"))
}

/// The `log_call` step's record of the call record.
fn call_record_status(call: &Value) -> Value {
    call["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["step"] == "log_call"))
        .map(|s| s["outcome"]["call_record"].clone())
        .unwrap_or(Value::Null)
}

#[test]
fn an_answered_call_on_a_ticket_is_one_call_record_with_its_voice_comment() {
    let (zd, ann) = Zd::with_ann();
    let app = app(&zd, ann);
    let hers = caller_with_ticket(&zd, "Grace Hopper", "+14155550123");

    let before = zd.emu.stats();
    let (status, body) = app.post_events(&call_on("r1", "+14155550123", hers));
    assert_eq!(status, 202, "{body}");
    let call = app.wait_synced("r1");
    assert_eq!(call["sync"], "done", "{call}");
    assert_eq!(id(&call["ticket_id"]), hers, "{call}");
    let recorded = zd.since(&before);
    assert_eq!(recorded.get("POST /api/v2/calls"), Some(&1), "{recorded:?}");
    assert_eq!(
        recorded.get("PUT /api/v2/tickets/{id}"),
        None,
        "{recorded:?}"
    );

    let state = zd.emu.state();
    assert_eq!(state.calls.len(), 1, "{:?}", state.calls);
    let record = &state.calls[0];
    assert_eq!(record["app_id"], APP_ID);
    assert_eq!(record["from_line"], "+14155550123");
    assert_eq!(record["to_line"], "+14155550199");
    assert_eq!(record["direction"], "inbound");
    assert_eq!(record["agent_id"], ann);
    assert_eq!(record["ticket_id"], hers);
    assert_eq!(record["call_started_at"], "2026-11-22T10:00:00+00:00");
    assert_eq!(record["call_ended_at"], "2026-11-22T10:01:05+00:00");
    assert_eq!(record["completion_status"], "completed");
    assert_eq!(
        record["recording_url"],
        "https://pbx.example.com/rec/r1.mp3"
    );
    let status = call_record_status(&call);
    assert_eq!(status["status"], "recorded", "{call}");
    assert_eq!(status["id"], record["id"].to_string(), "{call}");

    // The ticket shows the call as Talk Partner Edition's voice comment.
    let shown: Vec<_> = state
        .comments_of(hers)
        .into_iter()
        .filter(|c| c.call.is_some())
        .collect();
    assert_eq!(shown.len(), 1);
    assert!(
        shown[0].body.starts_with("Inbound call from +14155550123"),
        "{}",
        shown[0].body
    );
    assert!(
        shown[0].body.contains("https://pbx.example.com/rec/r1.mp3"),
        "{}",
        shown[0].body
    );
    assert!(!shown[0].public);

    // The same call in a group without call records costs as many requests.
    let theirs = caller_with_ticket(&zd, "Alan Turing", "+14155550124");
    let before = zd.emu.stats();
    let (status, body) =
        app.as_token(PLAIN_TOKEN)
            .post_events(&call_on("p1", "+14155550124", theirs));
    assert_eq!(status, 202, "{body}");
    let plain = app.as_token(PLAIN_TOKEN).wait_synced("p1");
    assert_eq!(plain["sync"], "done", "{plain}");
    let written = zd.since(&before);
    assert_eq!(
        written.get("PUT /api/v2/tickets/{id}"),
        Some(&1),
        "{written:?}"
    );
    assert_eq!(
        written.values().sum::<u64>(),
        recorded.values().sum::<u64>(),
        "with records {recorded:?}, without {written:?}"
    );
    assert_eq!(
        zd.emu.state().calls.len(),
        1,
        "no record for the plain group"
    );
}

#[test]
fn a_call_record_whose_answer_was_lost_is_not_made_twice() {
    let (zd, ann) = Zd::with_ann();
    let app = app(&zd, ann);
    let hers = caller_with_ticket(&zd, "Grace Hopper", "+14155550123");

    // Stored, voice comment and all, then answered 502: the step is retried.
    zd.emu.lose_call_answers(1);
    let (status, body) = app.post_events(&call_on("r2", "+14155550123", hers));
    assert_eq!(status, 202, "{body}");
    let call = app.wait_synced("r2");
    assert_eq!(call["sync"], "done", "{call}");
    let state = zd.emu.state();
    assert_eq!(state.calls.len(), 1, "one record: {:?}", state.calls);
    let shown = state
        .comments_of(hers)
        .into_iter()
        .filter(|c| c.call.is_some())
        .count();
    assert_eq!(shown, 1, "one voice comment");
    let status = call_record_status(&call);
    assert_eq!(status["status"], "recorded", "{call}");
    assert_eq!(status["id"], state.calls[0]["id"].to_string(), "{call}");
}

#[test]
fn an_account_without_talk_partner_edition_gets_the_text_comment() {
    let (zd, ann) = Zd::with_ann();
    let app = app(&zd, ann);
    zd.emu.set_talk_partner_edition(false);
    let hers = caller_with_ticket(&zd, "Grace Hopper", "+14155550123");

    let (status, body) = app.post_events(&call_on("r3", "+14155550123", hers));
    assert_eq!(status, 202, "{body}");
    let call = app.wait_synced("r3");
    assert_eq!(call["sync"], "done", "{call}");
    let state = zd.emu.state();
    assert!(state.calls.is_empty());
    let last = state
        .comments_of(hers)
        .into_iter()
        .last()
        .expect("a comment");
    assert!(last.call.is_none());
    assert!(last.body.contains("deskbridge ref:"), "{}", last.body);
    let status = call_record_status(&call);
    assert_eq!(status["status"], "refused", "{call}");
    assert!(
        status["reason"].as_str().unwrap().contains("403"),
        "{status}"
    );

    // Remembered: the next call does not ask again.
    let before = zd.emu.stats();
    let (status, body) = app.post_events(&call_on("r4", "+14155550123", hers));
    assert_eq!(status, 202, "{body}");
    let call = app.wait_synced("r4");
    assert_eq!(call["sync"], "done", "{call}");
    let used = zd.since(&before);
    assert_eq!(used.get("POST /api/v2/calls"), None, "{used:?}");
    assert_eq!(call_record_status(&call)["status"], "refused", "{call}");
}

#[test]
fn a_missed_call_on_a_ticket_is_a_call_record_too() {
    let (zd, ann) = Zd::with_ann();
    let app = app(&zd, ann);
    let hers = caller_with_ticket(&zd, "Grace Hopper", "+14155550123");
    let events = json!([
        {"id": "m1-1", "call_id": "m1", "type": "ringing", "direction": "inbound",
         "from": "+14155550123", "to": "+14155550199", "at": "2026-11-22T10:00:00Z",
         "attributes": {"zendesk_ticket": hers.to_string()}},
        {"id": "m1-2", "call_id": "m1", "type": "ended", "reason": "no_answer",
         "at": "2026-11-22T10:00:30Z"},
    ]);
    let (status, body) = app.post_events(&events);
    assert_eq!(status, 202, "{body}");
    let call = app.wait_synced("m1");
    assert_eq!(call["sync"], "done", "{call}");
    assert_eq!(call["outcome"], "missed", "{call}");
    let state = zd.emu.state();
    assert_eq!(state.calls.len(), 1, "{call}");
    let record = &state.calls[0];
    assert_eq!(record["ticket_id"], hers);
    assert_eq!(record["call_disposition"], "missed");
    assert!(record.get("agent_id").is_none(), "{record}");
}

/// A call whose ticket it creates itself: the ticket opens with its subject,
/// and the call is its call record (with the voice comment) right after: one
/// request more than the text comment riding in the create, the price of the
/// record when the admin asks for records.
#[test]
fn a_call_that_makes_its_ticket_is_a_call_record_on_it() {
    let (zd, ann) = Zd::with_ann();
    let app = app(&zd, ann);
    let mut events = answered_call("n1", "+14155550177", "ann@acme.com");
    events[2]["recording_url"] = json!("https://pbx.example.com/rec/n1.mp3");
    let before = zd.emu.stats();
    let (status, body) = app.post_events(&events);
    assert_eq!(status, 202, "{body}");
    let call = app.wait_synced("n1");
    assert_eq!(call["sync"], "done", "{call}");
    let ticket = id(&call["ticket_id"]);
    let sent = zd.since(&before);
    assert_eq!(sent.get("POST /api/v2/tickets"), Some(&1), "{sent:?}");
    assert_eq!(sent.get("POST /api/v2/calls"), Some(&1), "{sent:?}");

    let state = zd.emu.state();
    let records: Vec<_> = state
        .calls
        .iter()
        .filter(|c| c["ticket_id"] == ticket)
        .collect();
    assert_eq!(records.len(), 1, "{:?}", state.calls);
    assert_eq!(records[0]["from_line"], "+14155550177");
    assert_eq!(records[0]["agent_id"], ann);
    let comments = state.comments_of(ticket);
    assert_eq!(comments.len(), 2, "the subject, then the call");
    assert!(comments[0].call.is_none());
    assert!(
        comments[1].call.is_some(),
        "the call record's voice comment"
    );
    assert!(
        comments[1]
            .body
            .contains("https://pbx.example.com/rec/n1.mp3"),
        "{}",
        comments[1].body
    );
    assert_eq!(call_record_status(&call)["status"], "recorded", "{call}");
}

/// A recording the phone system sends after the call's record was made goes
/// onto the record (`PATCH /api/v2/calls/{id}`): the voice comment on the
/// ticket shows it, and no comment is added.
#[test]
fn a_recording_after_the_call_record_goes_onto_the_record() {
    let (zd, ann) = Zd::with_ann();
    let app = app(&zd, ann);
    let hers = caller_with_ticket(&zd, "Grace Hopper", "+14155550123");
    let mut events = call_on("late", "+14155550123", hers);
    for event in events.as_array_mut().expect("events") {
        if let Some(e) = event.as_object_mut() {
            e.remove("recording_url");
        }
    }
    assert_eq!(app.post_events(&events).0, 202);
    let call = app.wait_synced("late");
    assert_eq!(call_record_status(&call)["status"], "recorded", "{call}");
    let comments_before = zd.emu.state().comments_of(hers).len();
    let before = zd.emu.stats();

    let recording = json!([{"id": "late-rec", "call_id": "late", "type": "recording",
                            "recording_url": "https://pbx.example.com/rec/late.mp3"}]);
    assert_eq!(app.post_events(&recording).0, 202);
    let call = app.wait_call("late", |c| {
        c["steps"].as_array().is_some_and(|steps| {
            steps
                .iter()
                .any(|s| s["step"] == "add_recording" && s["status"] == "done")
        })
    });
    assert_eq!(call["sync"], "done", "{call}");
    assert_eq!(
        zd.since(&before),
        endpoints(&[("PATCH /api/v2/calls/{id}", 1)]),
        "one update of the record, nothing else"
    );
    let state = zd.emu.state();
    assert_eq!(state.calls.len(), 1);
    assert_eq!(
        state.calls[0]["recording_url"],
        "https://pbx.example.com/rec/late.mp3"
    );
    let comments = state.comments_of(hers);
    assert_eq!(comments.len(), comments_before, "no comment added");
    let shown = comments
        .iter()
        .find_map(|c| c.call.as_ref())
        .expect("the voice comment");
    assert_eq!(
        shown["recording_url"],
        "https://pbx.example.com/rec/late.mp3"
    );
}
