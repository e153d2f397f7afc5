//! `deskbridge backfill` in-process: a Master.csv as Asterisk's cdr_csv writes it
//! (tests/fixtures/asterisk/), native JSON lines, a dry run, bad lines, and the
//! bulk lane (live calls are served while imported calls wait). The resumed run
//! after a crash is in the `process` binary (tests/process/backfill.rs).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use deskbridge::backfill::{BadLine, Format, Options, Summary};
use deskbridge::worker::RetryPolicy;
use deskbridge_core::WorkLane;
use serde_json::Value;

use crate::common::{TestApp, answered_call};

const DIRECTORY: &str = r#"
[[agents]]
email = "ann@acme.com"
name = "Ann Example"
extension = "101"

[[agents]]
email = "bob@acme.com"
name = "Bob Agent"
extension = "102"
"#;

/// The calls of the fixture (its call between two extensions is left out).
const FIXTURE_CALLS: [&str; 5] = [
    "1793610000.1",
    "1793610600.3",
    "1793611200.5",
    "1793611800.7",
    "1793613000.11",
];

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/asterisk/Master.csv")
}

fn options(format: Format) -> Options {
    Options {
        group: None,
        format,
        dry_run: false,
        timezone: chrono_tz::Tz::UTC,
        extension_max_digits: 5,
        rate: 0,
        sync: true,
        chunk: 500,
        workers: 2,
        retry: RetryPolicy {
            lease: Duration::from_secs(2),
            backoff: deskbridge_core::retry::Backoff {
                max_attempts: 5,
                base: Duration::from_millis(20),
                max: Duration::from_secs(1),
            },
        },
        progress: false,
    }
}

/// Runs the import in the app's process; returns the summary, what it printed
/// and what it reported as bad.
fn backfill(app: &TestApp, file: &Path, options: &Options) -> (Summary, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let summary = app
        .block_on(deskbridge::backfill::run(
            app.state().clone(),
            file,
            options,
            &mut out,
            &mut err,
        ))
        .expect("the import runs");
    (
        summary,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

fn call(app: &TestApp, id: &str) -> Value {
    let (status, body) = app.get(&format!("/api/v1/calls/{id}"));
    assert_eq!(status, 200, "{body}");
    body
}

/// The one comment of the call's ticket, with the ticket.
fn ticket_and_comment(app: &TestApp, id: &str) -> (Value, String) {
    let call = call(app, id);
    assert_eq!(call["sync"], "done", "{call}");
    let ticket = app.ticket(s(&call["ticket_id"]));
    let comments = app.comments(s(&call["ticket_id"]));
    assert_eq!(comments.len(), 1, "{comments:?}");
    (ticket, s(&comments[0]["body"]).to_string())
}

#[test]
fn a_master_csv_becomes_contacts_tickets_and_comments_with_outcome_talk_time_and_agent() {
    let app = TestApp::builder().config(DIRECTORY).start();
    let (summary, out, err) = backfill(&app, &fixture(), &options(Format::AsteriskCsv));
    assert_eq!(err, "");
    assert_eq!(summary.read, 6);
    assert_eq!(summary.calls, 5);
    assert_eq!(summary.left_out, 1, "the call between two extensions");
    assert_eq!(summary.unsynced, 0);
    assert!(out.contains("all synced"), "{out}");

    // Answered by ext. 101 = Ann: her ticket, the talk time.
    let (ticket, comment) = ticket_and_comment(&app, "1793610000.1");
    assert_eq!(ticket["assignee"], "ann@acme.com");
    assert!(comment.contains("Outcome: answered"), "{comment}");
    assert!(comment.contains("Talk time: 2m 0s"), "{comment}");
    assert!(comment.contains("Agent: ext. 101"), "{comment}");
    assert!(
        comment.contains("Started: 2026-11-02 09:00:00 UTC"),
        "{comment}"
    );

    // Missed: empty answer time, nobody talked.
    let (_, comment) = ticket_and_comment(&app, "1793610600.3");
    assert!(comment.contains("Outcome: missed"), "{comment}");
    assert!(!comment.contains("Talk time"), "{comment}");
    let (_, comment) = ticket_and_comment(&app, "1793611200.5");
    assert!(comment.contains("Outcome: busy"), "{comment}");

    // Placed by ext. 102: outbound, Bob's, the customer is the callee.
    let (ticket, comment) = ticket_and_comment(&app, "1793611800.7");
    assert_eq!(ticket["assignee"], "bob@acme.com");
    assert!(comment.contains("Direction: outbound"), "{comment}");
    assert!(comment.contains("Talk time: 45s"), "{comment}");
    assert_eq!(app.contacts_by_phone("+14155550103").len(), 1);

    // The first caller called twice: one contact, each call its ticket.
    let contacts = app.contacts_by_phone("+14155550100");
    assert_eq!(contacts.len(), 1, "{contacts:?}");
    let (ticket, comment) = ticket_and_comment(&app, "1793613000.11");
    assert_eq!(ticket["assignee"], "bob@acme.com");
    assert!(comment.contains("Talk time: 30s"), "{comment}");
    assert_eq!(
        call(&app, "1793613000.11")["contact_id"],
        call(&app, "1793610000.1")["contact_id"]
    );

    // No contact for an extension; five tickets in all.
    assert!(app.contacts_by_phone("101").is_empty());
    assert_eq!(app.all("tickets").len(), 5);

    // Run again: nothing new.
    let (again, _, _) = backfill(&app, &fixture(), &options(Format::AsteriskCsv));
    assert_eq!(again.imported, 0);
    assert_eq!(again.already_there, summary.imported);
    assert_eq!(app.all("tickets").len(), 5);
    for id in FIXTURE_CALLS {
        let call = call(&app, id);
        let ticket_id = s(&call["ticket_id"]);
        assert_eq!(app.comments(ticket_id).len(), 1, "{id}");
    }
}

#[test]
fn a_dry_run_prints_each_call_and_stores_nothing() {
    let app = TestApp::builder().config(DIRECTORY).start();
    let mut o = options(Format::AsteriskCsv);
    o.dry_run = true;
    let (summary, out, _) = backfill(&app, &fixture(), &o);
    assert_eq!(summary.calls, 5);
    assert_eq!(summary.imported, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6, "{out}");
    // Id, time, caller, outcome, agent (through the agents directory).
    let first = lines[0];
    for part in [
        "1793610000.1",
        "2026-11-02 09:00:00 UTC",
        "+14155550100",
        "answered",
        "talk 120s",
        "ann@acme.com",
    ] {
        assert!(first.contains(part), "{part:?} in {first}");
    }
    assert!(lines[1].contains("missed") && lines[1].contains("bob@acme.com"));
    assert!(lines[2].contains("busy"));
    assert!(lines[3].contains("outbound +14155550103"));
    assert!(lines[5].starts_with("dry run: nothing stored."), "{out}");
    assert!(lines[5].contains("5 calls"), "{out}");

    // Nothing in the journal, the queue or the CRM.
    for id in FIXTURE_CALLS {
        let (status, _) = app.get(&format!("/api/v1/calls/{id}"));
        assert_eq!(status, 404, "{id}");
    }
    assert!(app.all("contacts").is_empty());
    assert!(app.all("tickets").is_empty());
}

#[test]
fn a_bad_line_is_reported_by_its_number_and_the_others_are_imported() {
    let app = TestApp::builder().config(DIRECTORY).start();
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        &dir,
        "Master.csv",
        concat!(
            r#""","+14155550120","600","from-pstn","<+14155550120>","SIP/trunk-01","SIP/101-02","Dial","SIP/101","2026-11-03 10:00:00","2026-11-03 10:00:05","2026-11-03 10:01:05","65","60","ANSWERED","DOCUMENTATION""#,
            "\n",
            r#""","+14155550121","600","from-pstn","<+14155550121>","SIP/trunk-03","SIP/101-04","Dial","SIP/101","2026-11-03 10:05:00","","2026-11-03 10:05:20","20","0","HUNG UP","DOCUMENTATION""#,
            "\n",
            r#""","+14155550122","600","from-pstn""#,
            "\n",
            r#""","+14155550123","600","from-pstn","<+14155550123>","SIP/trunk-05","SIP/102-06","Dial","SIP/102","2026-11-03 10:10:00","","2026-11-03 10:10:30",30,0,"NO ANSWER","DOCUMENTATION""#,
            "\n",
            r#""","+14155550124","600","from-pstn","<+14155550124>","SIP/trunk-07","SIP/102-08","Dial","SIP/102","03/11/2026 10:15","","2026-11-03 10:15:30","30","0","NO ANSWER","DOCUMENTATION""#,
            "\n",
        ),
    );
    let (summary, out, err) = backfill(&app, &file, &options(Format::AsteriskCsv));
    let lines: Vec<u64> = summary.bad.iter().map(|b: &BadLine| b.line).collect();
    assert_eq!(lines, [2, 3, 5], "{err}");
    assert!(err.contains("line 2: disposition \"HUNG UP\""), "{err}");
    assert!(err.contains("line 3: 4 fields"), "{err}");
    assert!(err.contains("line 5: start \"03/11/2026 10:15\""), "{err}");
    assert!(out.contains("3 bad lines"), "{out}");

    // The good lines (one without uniqueid: a stable id from the line) are in.
    assert_eq!(summary.calls, 2);
    assert_eq!(app.all("tickets").len(), 2);
    assert_eq!(app.contacts_by_phone("+14155550120").len(), 1);
    assert_eq!(app.contacts_by_phone("+14155550123").len(), 1);
    assert!(app.contacts_by_phone("+14155550121").is_empty());
}

#[test]
fn native_json_lines_are_imported_like_posted_events() {
    let app = TestApp::builder().config(DIRECTORY).start();
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        &dir,
        "events.jsonl",
        concat!(
            r#"{"id": "n1", "call_id": "n", "type": "ringing", "direction": "inbound", "from": "+14155550130", "to": "+14155550199", "at": "2026-11-04T08:00:00Z"}"#,
            "\n",
            r#"{"id": "n2", "call_id": "n", "type": "answered", "agent": {"email": "bob@acme.com"}, "at": "2026-11-04T08:00:04Z"}"#,
            "\n\n",
            r#"{"id": "n3", "call_id": "n", "type": "ended", "reason": "completed", "duration_s": 95, "at": "2026-11-04T08:01:39Z"}"#,
            "\n",
            r#"{"id": "m1", "call_id": "m", "type": "exploded", "at": "2026-11-04T09:00:00Z"}"#,
            "\n",
            r#"{"id": "m2", "call_id": "m", "type": "ended", "direction": "inbound", "from": "+14155550131", "reason": "no_answer", "at": "2026-11-04T09:00:30Z"}"#,
            "\n",
            "not json\n",
        ),
    );
    let (summary, _, err) = backfill(&app, &file, &options(Format::NativeJsonl));
    let lines: Vec<u64> = summary.bad.iter().map(|b| b.line).collect();
    assert_eq!(lines, [5, 7], "{err}");
    assert!(err.contains("line 5: type"), "{err}");
    assert!(err.contains("line 7: not JSON"), "{err}");
    assert_eq!(summary.imported, 4);

    let (ticket, comment) = ticket_and_comment(&app, "n");
    assert_eq!(ticket["assignee"], "bob@acme.com");
    assert!(comment.contains("Talk time: 1m 35s"), "{comment}");
    let (_, comment) = ticket_and_comment(&app, "m");
    assert!(comment.contains("Outcome: missed"), "{comment}");
}

#[test]
fn live_calls_are_served_while_imported_calls_wait_in_the_bulk_lane() {
    let app = TestApp::builder().config(DIRECTORY).start();
    // Imported, not synced: the history's steps are queued in the bulk lane.
    let mut o = options(Format::AsteriskCsv);
    o.sync = false;
    let (summary, out, _) = backfill(&app, &fixture(), &o);
    assert!(out.contains("run again to sync them"), "{out}");
    assert!(summary.unsynced >= 5, "{summary:?}");

    // A live call arrives: the server's workers serve it at once.
    let (status, _) = app.post_events(&answered_call("live", "+14155550140", "ann@acme.com"));
    assert_eq!(status, 202);
    let live = app.wait_synced("live");
    assert_eq!(live["sync"], "done");
    assert_eq!(app.comments(s(&live["ticket_id"])).len(), 1);

    // ... and never touched the history, still waiting for the import's workers.
    app.settle();
    for id in FIXTURE_CALLS {
        let c = call(&app, id);
        assert_eq!(c["sync"], "pending", "{c}");
        assert!(c["ticket_id"].is_null(), "{c}");
    }
    let queued = app.block_on(app.state().store.active_steps(WorkLane::Bulk));
    assert_eq!(queued.unwrap(), 5);
    assert_eq!(app.all("tickets").len(), 1);

    // The next run syncs them, at its pace: 120 calls a minute is one every
    // half second, so five calls start over at least two seconds.
    let mut o = options(Format::AsteriskCsv);
    o.rate = 120;
    let started = Instant::now();
    let (again, out, _) = backfill(&app, &fixture(), &o);
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(again.imported, 0);
    assert!(out.contains("all synced"), "{out}");
    for id in FIXTURE_CALLS {
        assert_eq!(call(&app, id)["sync"], "done", "{id}");
    }
    assert_eq!(app.all("tickets").len(), 6);
}

#[test]
fn a_master_csv_lands_in_zendesk_with_the_same_rules_as_live_calls() {
    use crate::zendesk::{TOKEN, Zd, id};
    let (zd, ann) = Zd::with_ann();
    let bob = zd.emu.seed_agent("bob@acme.com", "Bob Agent");
    let config = format!(
        r#"
[backends.zendesk]
kind = "zendesk"
base_url = "{base}"
email = "admin@acme.com"
api_token = "emulator-token"
requests_per_minute = 6000

[[agents]]
email = "ann@acme.com"
extension = "101"
zendesk_id = "{ann}"

[[agents]]
email = "bob@acme.com"
extension = "102"
zendesk_id = "{bob}"

[[groups]]
name = "support"
backend = "zendesk"
tokens = ["{TOKEN}"]
"#,
        base = zd.emu.base_url
    );
    let app = TestApp::with_config(&config, TOKEN);
    let mut o = options(Format::AsteriskCsv);
    o.group = Some("support".into());
    let (summary, out, _) = backfill(&app, &fixture(), &o);
    assert_eq!(summary.unsynced, 0, "{out}");

    let state = zd.emu.state();
    assert_eq!(state.tickets.len(), 5);
    // One user per caller: the first caller called twice.
    for phone in [
        "+14155550100",
        "+14155550101",
        "+14155550102",
        "+14155550103",
    ] {
        let users = state
            .users
            .iter()
            .filter(|u| u.phone.as_deref() == Some(phone))
            .count();
        assert_eq!(users, 1, "{phone}");
    }
    let first = call(&app, "1793610000.1");
    let ticket = state
        .tickets
        .iter()
        .find(|t| t.id == id(&first["ticket_id"]))
        .unwrap();
    assert_eq!(ticket.assignee_id, Some(ann));
    let comment = state
        .comments
        .iter()
        .find(|c| c.ticket_id == ticket.id)
        .unwrap();
    assert!(
        comment.body.contains("Talk time: 2m 0s"),
        "{}",
        comment.body
    );
    let outbound = call(&app, "1793611800.7");
    let ticket = state
        .tickets
        .iter()
        .find(|t| t.id == id(&outbound["ticket_id"]))
        .unwrap();
    assert_eq!(ticket.assignee_id, Some(bob));
}

#[test]
fn imported_calls_that_fail_to_sync_are_listed_with_their_reason() {
    use crate::zendesk::{TOKEN, Zd};
    let zd = Zd::start(|_| {});
    // A token the account refuses: every call's first step fails for good.
    let config = format!(
        r#"
[backends.zendesk]
kind = "zendesk"
base_url = "{base}"
email = "admin@acme.com"
api_token = "not-the-token"

[[groups]]
name = "support"
backend = "zendesk"
tokens = ["{TOKEN}"]
"#,
        base = zd.emu.base_url
    );
    let app = TestApp::with_config(&config, TOKEN);
    let (summary, out, err) = backfill(&app, &fixture(), &options(Format::AsteriskCsv));
    assert_eq!(summary.unsynced, 0, "{out}");
    assert_eq!(summary.failed.len(), 5, "{err}");
    assert!(
        err.contains("call 1793610000.1 (support) failed to sync at identify_caller:"),
        "{err}"
    );
    assert!(out.contains("5 imported calls failed to sync"), "{out}");
    assert_eq!(call(&app, "1793610000.1")["sync"], "failed");
    assert!(zd.emu.state().tickets.is_empty());
}
