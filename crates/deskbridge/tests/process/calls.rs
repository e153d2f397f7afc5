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
    first.post_events_to_dying(&json!([
        {"id": "r1", "call_id": "r", "type": "ringing", "direction": "inbound",
         "from": "+14155550100", "at": "2026-11-22T10:00:00Z"},
        {"id": "r2", "call_id": "r", "type": "answered", "agent": {"email": "ann@acme.com"},
         "at": "2026-11-22T10:00:05Z"},
        {"id": "r3", "call_id": "r", "type": "ended", "reason": "completed",
         "at": "2026-11-22T10:02:05Z"},
    ]));
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

/// The Zendesk emulator, with Ann as an agent, and a config pointing one group at
/// it (`group_keys` added to the group).
struct ZendeskRig {
    _rt: tokio::runtime::Runtime,
    emu: zendesk_emulator::RunningEmulator,
    config: String,
    token: String,
}

impl ZendeskRig {
    fn start(group_keys: &str) -> ZendeskRig {
        use zendesk_emulator::{Emulator, EmulatorConfig};
        let rt = tokio::runtime::Runtime::new().unwrap();
        let emu = rt
            .block_on(
                Emulator::new(EmulatorConfig::new("admin@acme.com", "emulator-token"))
                    .start("127.0.0.1:0"),
            )
            .unwrap();
        let ann = emu.seed_agent("ann@acme.com", "Ann Example");
        let token = "crash-test-token-0123456789abcdef".to_string();
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
{group_keys}
"#,
            emu.base_url
        );
        ZendeskRig {
            _rt: rt,
            emu,
            config,
            token,
        }
    }

    /// Options for a process that aborts right after `abort_after`'s helpdesk
    /// work (none: runs normally).
    fn options(&self, abort_after: Option<&str>) -> Options {
        let mut opts = Options {
            config: Some(self.config.clone()),
            token: Some(self.token.clone()),
            ..Options::default()
        };
        if let Some(step) = abort_after {
            opts.env
                .push(("DESKBRIDGE_FAULT_ABORT_AFTER_STEP".into(), step.into()));
        }
        opts
    }

    /// The bodies of the ticket's comments, oldest first.
    fn comments(&self, ticket: &Value) -> Vec<String> {
        let id: u64 = s(ticket).parse().unwrap();
        self.emu
            .state()
            .comments
            .iter()
            .filter(|c| c.ticket_id == id)
            .map(|c| c.body.clone())
            .collect()
    }
}

/// Zendesk takes no lock of ours: after a crash, only what deskbridge sends can
/// keep a step from writing twice (the user's `external_id` for
/// `create_or_update`, the ticket's `external_id` and `Idempotency-Key`). Two real
/// crashes, each right after a write and before its record: one user, one ticket,
/// one comment.
#[test]
fn crashes_between_zendesk_writes_and_their_records_leave_one_user_one_ticket_one_comment() {
    use zendesk_emulator::Role;
    let rig = ZendeskRig::start("");
    let emu = &rig.emu;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let options = |abort_after: Option<&str>| rig.options(abort_after);

    // First process: dies right after the caller's user was created.
    let mut first = Server::start_in(&data, options(Some("identify_caller")));
    first.post_events_to_dying(&json!([
        {"id": "z1", "call_id": "z", "type": "ringing", "direction": "inbound",
         "from": "+1 415 555 0177", "at": "2026-11-22T10:00:00Z"},
        {"id": "z2", "call_id": "z", "type": "answered", "agent": {"email": "ann@acme.com"},
         "at": "2026-11-22T10:00:05Z"},
        {"id": "z3", "call_id": "z", "type": "ended", "reason": "completed",
         "at": "2026-11-22T10:01:05Z"},
    ]));
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

/// The comment of a repeat call onto the caller's ticket (reused within
/// `reuse_recent_minutes`): the process dies right after Zendesk applied the
/// update and before the step was recorded. After the restart the retried step
/// finds its comment by its `deskbridge ref:` line: one comment for the call.
#[test]
fn a_crash_between_a_repeat_calls_comment_and_its_record_leaves_one_comment() {
    let rig = ZendeskRig::start("reuse_recent_minutes = 30");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    // The first call makes the ticket (with its comment), in a process that
    // stops cleanly.
    let mut first = Server::start_in(&data, rig.options(None));
    first.post_events(&answered_call("c1", "+14155550166", "ann@acme.com"));
    let c1 = first.wait_synced("c1");
    assert_eq!(c1["sync"], "done", "{c1}");
    assert_eq!(rig.comments(&c1["ticket_id"]).len(), 1);
    assert!(first.terminate().success());

    // The repeat call's comment is written, then the process dies.
    let mut second = Server::start_in(&data, rig.options(Some("log_call")));
    second.post_events_to_dying(&answered_call("c2", "+14155550166", "ann@acme.com"));
    assert!(
        second.wait_exit(Duration::from_secs(60)),
        "no crash after log_call"
    );
    let written = rig.comments(&c1["ticket_id"]);
    assert_eq!(written.len(), 2, "the update was applied: {written:#?}");

    let third = Server::start_in(&data, rig.options(None));
    let c2 = third.wait_synced("c2");
    assert_eq!(c2["sync"], "done", "{c2}");
    assert_eq!(c2["ticket_id"], c1["ticket_id"], "the ticket was reused");
    let log_call = c2["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "log_call")
        .unwrap()
        .clone();
    assert_eq!(log_call["attempts"], 2, "the comment step ran again: {c2}");
    let bodies = rig.comments(&c1["ticket_id"]);
    assert_eq!(bodies, written, "no second comment for the call");
    let state = rig.emu.state();
    assert_eq!(state.tickets.len(), 1, "{:?}", state.tickets);
    // Each call's reference once.
    let refs: Vec<&str> = bodies
        .iter()
        .flat_map(|b| b.lines())
        .filter(|l| l.starts_with("deskbridge ref:"))
        .collect();
    assert_eq!(
        refs.len(),
        1,
        "the repeat call's comment carries its ref: {bodies:#?}"
    );
}

/// `deskbridge calls retry` (issue 16, point 6, as the admin page's Retry): a
/// call that failed for good (Zendesk refused to create its caller) is queued
/// again on the server's database; the server started again runs it to one
/// ticket with one comment. A call that has not failed, and one that does
/// not exist, exit 1 saying so.
#[test]
fn the_cli_retries_a_call_that_failed_for_good() {
    use zendesk_emulator::Role;
    let rig = ZendeskRig::start("");
    rig.emu.set_api_role(Role::Agent);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut first = Server::start_in(&data, rig.options(None));
    let (status, _) = first.post_events(&answered_call("rc", "+14155550330", "ann@acme.com"));
    assert_eq!(status, 202);
    let call = first.wait_synced("rc");
    assert_eq!(call["sync"], "failed", "{call}");
    first.kill();
    rig.emu.set_api_role(Role::Admin);

    let config = data.with_extension("toml");
    let retry = |id: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_deskbridge"))
            .args(["calls", "--config"])
            .arg(&config)
            .arg("--data-dir")
            .arg(&data)
            .args(["retry", "--id", id])
            .env_remove("DESKBRIDGE_CONFIG")
            .env_remove("DESKBRIDGE_DATABASE_URL")
            .output()
            .expect("run deskbridge");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = retry("rc");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("queued again"), "{out}");
    let (code, _, err) = retry("rc");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("only a failed call is retried"), "{err}");
    let (code, _, err) = retry("nobody");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no call \"nobody\""), "{err}");

    let second = Server::start_in(&data, rig.options(None));
    let call = second.wait_synced("rc");
    assert_eq!(call["sync"], "done", "{call}");
    let state = rig.emu.state();
    assert_eq!(state.tickets.len(), 1, "{:?}", state.tickets);
    assert_eq!(call["ticket_id"], state.tickets[0].id.to_string());
    let comments = state
        .comments
        .iter()
        .filter(|c| c.ticket_id == state.tickets[0].id)
        .count();
    assert_eq!(comments, 1);
}
