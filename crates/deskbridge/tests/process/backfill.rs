//! `deskbridge backfill` as a process: killed mid-file (an injected abort right
//! after a commit, as a crash or SIGKILL stops it), then run again on the same
//! file: every call lands exactly once. Also its exit code for bad lines.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output};

use crate::server::*;

/// `n` inbound calls in cdr_csv's format (with uniqueid), half answered by ext.
/// 101, the rest missed.
fn master_csv(n: usize) -> String {
    let mut csv = String::new();
    for i in 0..n {
        let from = format!("+1415555{:04}", 1000 + i);
        let (answer, end, billsec, disposition) = match i % 2 {
            0 => ("2026-11-05 10:00:05", "2026-11-05 10:01:05", 60, "ANSWERED"),
            _ => ("", "2026-11-05 10:00:30", 0, "NO ANSWER"),
        };
        writeln!(
            csv,
            r#""","{from}","600","from-pstn","<{from}>","PJSIP/trunk-{i:08x}","PJSIP/101-{i:08x}","Dial","PJSIP/101,30","2026-11-05 10:00:00","{answer}","{end}","65","{billsec}","{disposition}","DOCUMENTATION","1793700000.{i}""#
        )
        .unwrap();
    }
    csv
}

fn backfill(
    data: &Path,
    config: &Path,
    file: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deskbridge"));
    cmd.arg("backfill")
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .args(["--format", "asterisk-csv"])
        .args(extra)
        .arg(file)
        .env_remove("DESKBRIDGE_CONFIG")
        .env_remove("DESKBRIDGE_DATABASE_URL")
        .env("DESKBRIDGE__JOBS__RETRY_BASE_MS", "20")
        .env("DESKBRIDGE__JOBS__LEASE_SECONDS", "2");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run deskbridge backfill")
}

const CONFIG: &str = r#"
[[agents]]
email = "ann@acme.com"
extension = "101"
"#;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_backfill_killed_mid_file_and_run_again_imports_every_call_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("deskbridge.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let file = dir.path().join("Master.csv");
    let calls = 60;
    std::fs::write(&file, master_csv(calls)).unwrap();

    // Dies right after its second commit of 50 events: 100 events of 150 in.
    let first = backfill(
        &data,
        &config,
        &file,
        &["--chunk", "50"],
        &[("DESKBRIDGE_FAULT_BACKFILL_ABORT_AFTER_COMMITS", "2")],
    );
    assert!(!first.status.success(), "the fault did not fire");
    assert!(
        text(&first.stderr).contains("aborting after 2 commits"),
        "{}",
        text(&first.stderr)
    );

    let second = backfill(&data, &config, &file, &["--chunk", "50"], &[]);
    let out = text(&second.stdout);
    assert!(second.status.success(), "{out}\n{}", text(&second.stderr));
    // The first run's events are there; only the rest is added.
    assert!(out.contains("read 60 lines: 60 calls"), "{out}");
    assert!(
        out.contains("50 events imported, 100 already there"),
        "{out}"
    );
    assert!(out.contains("all synced"), "{out}");

    // What a user sees: one contact, one ticket and one comment per call.
    let server = Server::start_in(
        &data,
        Options {
            config: Some(CONFIG.into()),
            ..Options::default()
        },
    );
    let mut tickets = std::collections::HashSet::new();
    for i in 0..calls {
        let (status, call) = server.get(&format!("/api/v1/calls/1793700000.{i}"));
        assert_eq!(status, 200, "{call}");
        assert_eq!(call["sync"], "done", "{call}");
        let ticket_id = call["ticket_id"].as_str().unwrap().to_string();
        assert_eq!(server.comments(&ticket_id).len(), 1, "call {i}");
        assert!(tickets.insert(ticket_id), "call {i} shares a ticket");
        let from = format!("+1415555{:04}", 1000 + i);
        assert_eq!(server.contacts_by_phone(&from).len(), 1, "{from}");
    }
    let answered = server.comments(&{
        let (_, call) = server.get("/api/v1/calls/1793700000.0");
        call["ticket_id"].as_str().unwrap().to_string()
    });
    let body = answered[0]["body"].as_str().unwrap_or_default();
    assert!(body.contains("Talk time: 1m 0s"), "{body}");

    // A third run finds everything there.
    drop(server);
    let third = backfill(&data, &config, &file, &[], &[]);
    let out = text(&third.stdout);
    assert!(
        out.contains("0 events imported, 150 already there"),
        "{out}"
    );
}

#[test]
fn backfill_exits_non_zero_after_importing_the_good_lines_when_one_is_bad() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("deskbridge.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let file = dir.path().join("Master.csv");
    let mut csv = master_csv(2);
    csv.push_str("\"\",\"+14155550000\",\"600\"\n");
    std::fs::write(&file, csv).unwrap();

    let run = backfill(&data, &config, &file, &[], &[]);
    assert_eq!(run.status.code(), Some(1));
    let err = text(&run.stderr);
    assert!(err.contains("line 3: 3 fields"), "{err}");
    assert!(err.contains("1 bad lines were not imported"), "{err}");
    assert!(
        text(&run.stdout).contains("read 3 lines: 2 calls"),
        "{}",
        text(&run.stdout)
    );

    // Several groups and none named: told which to name.
    let two = dir.path().join("two.toml");
    std::fs::write(
        &two,
        "[[groups]]\nname = \"a\"\ntokens = [\"token-a-0123456789abcdef\"]\n\
         [[groups]]\nname = \"b\"\ntokens = [\"token-b-0123456789abcdef\"]\n",
    )
    .unwrap();
    let run = backfill(&data, &two, &file, &["--dry-run"], &[]);
    assert!(!run.status.success());
    assert!(
        text(&run.stderr).contains("--group (a, b)"),
        "{}",
        text(&run.stderr)
    );
}

#[test]
fn ctrl_c_while_syncing_leaves_the_rest_queued_and_the_next_run_finishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("deskbridge.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let file = dir.path().join("Master.csv");
    std::fs::write(&file, master_csv(6)).unwrap();

    // Six calls a minute: one call starts every ten seconds, so Ctrl-C after
    // four seconds (time enough to start and store the file, which ends with
    // the default Ctrl-C) finds the first call synced and the others waiting.
    let child = Command::new(env!("CARGO_BIN_EXE_deskbridge"))
        .arg("backfill")
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(&data)
        .args(["--format", "asterisk-csv", "--rate", "6"])
        .arg(&file)
        .env_remove("DESKBRIDGE_CONFIG")
        .env_remove("DESKBRIDGE_DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(4));
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let first = child.wait_with_output().unwrap();
    let out = text(&first.stdout);
    assert_eq!(
        first.status.code(),
        Some(130),
        "{out}\n{}",
        text(&first.stderr)
    );
    assert!(out.contains("interrupted:"), "{out}");
    assert!(out.contains("steps still queued"), "{out}");

    let second = backfill(&data, &config, &file, &[], &[]);
    let out = text(&second.stdout);
    assert!(second.status.success(), "{out}\n{}", text(&second.stderr));
    assert!(out.contains("0 events imported, 15 already there"), "{out}");
    assert!(out.contains("all synced"), "{out}");

    let server = Server::start_in(
        &data,
        Options {
            config: Some(CONFIG.into()),
            ..Options::default()
        },
    );
    assert_eq!(server.all("tickets").len(), 6);
    for i in 0..6 {
        let (_, call) = server.get(&format!("/api/v1/calls/1793700000.{i}"));
        assert_eq!(call["sync"], "done", "{call}");
        assert_eq!(
            server.comments(call["ticket_id"].as_str().unwrap()).len(),
            1
        );
    }
}
