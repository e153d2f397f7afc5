//! A call's work across a crash and a graceful stop: these need a real process,
//! killed by an injected abort (`DESKBRIDGE_FAULT_ABORT_AFTER_STEP`) or stopped by
//! SIGTERM, then started again on the same data dir.

use std::time::Duration;

use serde_json::{Value, json};

use crate::server::*;

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

#[test]
fn a_restart_in_the_middle_of_a_calls_work_finishes_it_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The first server dies right after creating the ticket, before recording it:
    // the worst moment, since the ticket exists but the call does not know it.
    let mut opts = Options::default();
    opts.env.push((
        "DESKBRIDGE_FAULT_ABORT_AFTER_STEP".into(),
        "open_ticket".into(),
    ));
    let mut first = Server::start_in(&data, opts);
    let (status, _) = first.post_events(&json!([
        {"id": "r1", "call_id": "r", "type": "ringing", "direction": "inbound",
         "from": "+14155550100", "at": "2026-11-22T10:00:00Z"},
        {"id": "r2", "call_id": "r", "type": "answered", "agent": {"email": "ann@acme.com"},
         "at": "2026-11-22T10:00:05Z"},
        {"id": "r3", "call_id": "r", "type": "ended", "reason": "completed",
         "at": "2026-11-22T10:02:05Z"},
    ]));
    assert_eq!(status, 202);
    assert!(
        first.wait_exit(Duration::from_secs(60)),
        "the fault did not fire"
    );

    // Restart: the step's lease runs out and the new process takes it over.
    let second = Server::start_in(&data, Options::default());
    // The events acknowledged before the crash are still known: resending is a duplicate.
    let (_, body) = second.post_events(&json!({"id": "r1", "call_id": "r", "type": "ringing",
        "direction": "inbound", "from": "+14155550100"}));
    assert_eq!(body, json!({"accepted": 0, "duplicates": 1}));

    let call = second.wait_synced("r");
    assert_eq!(call["sync"], "done", "{call}");
    let open_ticket = call["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "open_ticket")
        .unwrap()
        .clone();
    assert_eq!(
        open_ticket["attempts"], 2,
        "the ticket step ran again after the crash"
    );
    let tickets = second.all("tickets");
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    assert_eq!(call["ticket_id"], tickets[0]["id"]);
    assert_eq!(second.all("contacts").len(), 1);
    let comments = second.comments(s(&call["ticket_id"]));
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(s(&comments[0]["body"]).contains("Talk time: 2m 0s"));

    // The call goes on after the restart: a late recording is added once.
    second.post_events(&json!({"id": "r4", "call_id": "r", "type": "recording",
        "recording_url": "https://pbx.example.com/r.mp3"}));
    let call = second.wait_synced("r");
    assert_eq!(second.comments(s(&call["ticket_id"])).len(), 2);
}

#[test]
fn sigterm_stops_cleanly_and_work_resumes_on_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut first = Server::start_in(&data, Options::default());
    let token = first.token.clone();
    first.post_events(&answered_call("t1", "+14155550100", "ann@acme.com"));
    let status = first.terminate();
    assert!(status.success(), "exit status {status:?}");
    let second = Server::start_in(&data, Options::default());
    assert_eq!(second.token, token, "the token is made once");
    let call = second.wait_synced("t1");
    assert_eq!(call["sync"], "done");
    assert_eq!(second.all("tickets").len(), 1);
}

/// Zendesk takes no lock of ours: after a crash, only what deskbridge sends can
/// keep a step from writing twice (the user's `external_id` for
/// `create_or_update`, the ticket's `external_id` and `Idempotency-Key`). Two real
/// crashes, each right after a write and before its record: one user, one ticket,
/// one comment.
#[test]
fn crashes_between_zendesk_writes_and_their_records_leave_one_user_one_ticket_one_comment() {
    use zendesk_emulator::{Emulator, EmulatorConfig, Role};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt
        .block_on(
            Emulator::new(EmulatorConfig::new("admin@acme.com", "emulator-token"))
                .start("127.0.0.1:0"),
        )
        .unwrap();
    let ann = emu.seed_agent("ann@acme.com", "Ann Example");
    let token = "crash-test-token-0123456789abcdef";
    let config = format!(
        r#"
[backends.zendesk]
kind = "zendesk"
base_url = "{}"
email = "admin@acme.com"
api_token = "emulator-token"

[[agents]]
email = "ann@acme.com"
zendesk_id = "{ann}"

[[groups]]
name = "support"
backend = "zendesk"
tokens = ["{token}"]
"#,
        emu.base_url
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let options = |abort_after: Option<&str>| {
        let mut opts = Options {
            config: Some(config.clone()),
            token: Some(token.to_string()),
            ..Options::default()
        };
        if let Some(step) = abort_after {
            opts.env
                .push(("DESKBRIDGE_FAULT_ABORT_AFTER_STEP".into(), step.into()));
        }
        opts
    };

    // First process: dies right after the caller's user was created.
    let mut first = Server::start_in(&data, options(Some("identify_caller")));
    let (status, _) = first.post_events(&json!([
        {"id": "z1", "call_id": "z", "type": "ringing", "direction": "inbound",
         "from": "+1 415 555 0177", "at": "2026-11-22T10:00:00Z"},
        {"id": "z2", "call_id": "z", "type": "answered", "agent": {"email": "ann@acme.com"},
         "at": "2026-11-22T10:00:05Z"},
        {"id": "z3", "call_id": "z", "type": "ended", "reason": "completed",
         "at": "2026-11-22T10:01:05Z"},
    ]));
    assert_eq!(status, 202);
    assert!(
        first.wait_exit(Duration::from_secs(60)),
        "no crash after identify_caller"
    );
    assert_eq!(
        emu.state()
            .users
            .iter()
            .filter(|u| u.role == Role::EndUser)
            .count(),
        1
    );

    // Second process: dies right after the ticket (with the call's comment) was created.
    let mut second = Server::start_in(&data, options(Some("open_ticket")));
    assert!(
        second.wait_exit(Duration::from_secs(60)),
        "no crash after open_ticket"
    );
    assert_eq!(emu.state().tickets.len(), 1);

    // Third process: finishes the call from what the first two left.
    let third = Server::start_in(&data, options(None));
    let call = third.wait_synced("z");
    assert_eq!(call["sync"], "done", "{call}");
    let state = emu.state();
    let callers: Vec<_> = state
        .users
        .iter()
        .filter(|u| u.role == Role::EndUser)
        .collect();
    assert_eq!(callers.len(), 1, "{callers:?}");
    assert_eq!(call["contact_id"], callers[0].id.to_string());
    assert_eq!(state.tickets.len(), 1, "{:?}", state.tickets);
    let ticket = &state.tickets[0];
    assert_eq!(call["ticket_id"], ticket.id.to_string());
    assert_eq!(ticket.requester_id, callers[0].id);
    let comments: Vec<_> = state
        .comments
        .iter()
        .filter(|c| c.ticket_id == ticket.id)
        .collect();
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(
        comments[0].body.contains("Talk time: 1m 0s"),
        "{}",
        comments[0].body
    );
}
