//! A real phone system: Kamailio with the repository's config
//! (`deploy/kamailio/deskbridge.cfg`) in front of a SIPp UAS standing in for an
//! agent's phone, and a SIPp UAC placing a customer's call. Kamailio asks
//! deskbridge where to route the caller (`GET /api/v1/route?format=text`), sends
//! the call to the owner of the caller's open ticket, and reports the call
//! (`POST /api/v1/events`). Everything listens on 127.0.0.1.
//!
//! Needs the Debian packages `kamailio`, `kamailio-utils-modules` (http_client) and
//! `sip-tester` (`.ci/run` installs them); without them the test says so and
//! passes.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{CallView, TestApp};

const TOKEN: &str = "kamailio-test-token-0123456789";
const CALLER: &str = "+14155550100";
const MODULES: &str = "/usr/lib/x86_64-linux-gnu/kamailio/modules";

/// A child process killed when the test ends, whatever happens.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// How long Kamailio may live at most, whatever happens to the test: a bound
/// that holds even if the test process is killed before its `Drop` runs.
const KAMAILIO_LIFETIME_SECS: u32 = 300;

/// Kamailio and the worker processes it forks, as one process group, ended
/// together when the test ends or panics (issue 23: killing only the main
/// process left its five workers running, holding their UDP ports).
///
/// Kamailio runs under coreutils `timeout`, which makes itself the leader of a
/// new process group (Kamailio and its workers inherit it) and kills that whole
/// group when the bound passes. A group of its own also keeps Kamailio's own
/// shutdown (`kill(0, SIGTERM)` to its group) away from the test process.
struct KamailioGroup(Child);

impl KamailioGroup {
    /// Starts `kamailio` with `args`, its output (both streams) into `log`.
    fn spawn(args: &[std::ffi::OsString], log: std::fs::File) -> KamailioGroup {
        KamailioGroup(
            Command::new("timeout")
                .args(["-s", "KILL", &KAMAILIO_LIFETIME_SECS.to_string()])
                .arg("kamailio")
                .args(args)
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .spawn()
                .expect("kamailio (under timeout)"),
        )
    }

    /// The group's id (its leader's pid).
    fn id(&self) -> u32 {
        self.0.id()
    }
}

/// The pids of the processes of process group `group` still alive.
fn group_members(group: u32) -> Vec<u32> {
    let out = Command::new("pgrep")
        .args(["-g", &group.to_string()])
        .output()
        .expect("pgrep runs");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

impl Drop for KamailioGroup {
    fn drop(&mut self) {
        // `timeout` is the group's leader: its pid is the group id.
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.wait();
    }
}

fn found(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// What is missing to run the test, if anything.
fn missing() -> Option<String> {
    if !found("kamailio") {
        return Some("kamailio (apt-get install kamailio kamailio-utils-modules)".into());
    }
    if !Path::new(MODULES).join("http_client.so").exists() {
        return Some(
            "Kamailio's http_client module (apt-get install kamailio-utils-modules)".into(),
        );
    }
    if !found("sipp") {
        return Some("sipp (apt-get install sip-tester)".into());
    }
    None
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("a free port")
        .port()
}

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// Waits for the child to exit, at most `limit`; its exit status, or `None` if it
/// still runs.
fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kamailio with the repository's config, in front of `app`, on a free port.
struct Kamailio {
    process: KamailioGroup,
    port: u16,
    dir: tempfile::TempDir,
}

impl Kamailio {
    fn start(app: &TestApp) -> Kamailio {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_udp_port();
        let log = std::fs::File::create(dir.path().join("kamailio.log")).expect("log file");
        let args: Vec<std::ffi::OsString> = vec![
            "-f".into(),
            repo_file("deploy/kamailio/deskbridge.cfg").into(),
            "-DD".into(),
            "-E".into(),
            "-Y".into(),
            dir.path().into(),
            "-w".into(),
            dir.path().into(),
            format!("--substdef=!DESKBRIDGE_URL!{}!g", app.base).into(),
            format!("--substdef=!DESKBRIDGE_TOKEN!{TOKEN}!g").into(),
            format!("--substdef=!LISTEN!udp:127.0.0.1:{port}!g").into(),
        ];
        let process = KamailioGroup::spawn(&args, log);
        // Kamailio needs a moment to open its socket; SIPp retransmits meanwhile.
        std::thread::sleep(Duration::from_millis(300));
        Kamailio { process, port, dir }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("kamailio.log")).unwrap_or_default()
    }

    /// A customer's call from `CALLER` to 4155550199 with a SIPp scenario of
    /// `deploy/kamailio/`; panics unless the scenario completes.
    fn call(&self, scenario: &str) {
        let callers = self.dir.path().join("callers.csv");
        std::fs::write(&callers, format!("SEQUENTIAL\n{CALLER};\n")).expect("callers");
        let mut customer = Process(
            Command::new("sipp")
                .arg("-sf")
                .arg(repo_file(&format!("deploy/kamailio/{scenario}")))
                .arg("-inf")
                .arg(&callers)
                .args(["-s", "4155550199", "-i", "127.0.0.1", "-p", "0", "-m", "1"])
                .args(["-nostdin", "-timeout", "30s", "-timeout_error"])
                .arg(format!("127.0.0.1:{}", self.port))
                .current_dir(self.dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("sipp uac"),
        );
        let placed = wait_exit(&mut customer.0, Duration::from_secs(40));
        assert!(
            placed.is_some_and(|s| s.success()),
            "the customer's call did not go as {scenario} expects ({placed:?}); Kamailio said:\n{}",
            self.log()
        );
    }
}

/// An agent's phone that answers one call, on a free port.
fn phone(dir: &Path) -> (Process, u16) {
    let port = free_udp_port();
    let process = Process(
        Command::new("sipp")
            .args(["-sn", "uas", "-i", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .args(["-m", "1", "-nostdin"])
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sipp uas"),
    );
    (process, port)
}

fn app_with_agents(ann_phone: u16, bob_phone: u16) -> TestApp {
    TestApp::with_config(
        &format!(
            r#"
[[agents]]
email = "ann@acme.com"
name = "Ann Example"
extension = "101"
target = "sip:101@127.0.0.1:{ann_phone}"

[[agents]]
email = "bob@acme.com"
name = "Bob Example"
extension = "102"
target = "sip:102@127.0.0.1:{bob_phone}"

[[groups]]
name = "support"
tokens = ["{TOKEN}"]
attach_open_ticket = true
"#
        ),
        TOKEN,
    )
}

/// The one call logged from `CALLER`, once its helpdesk work is done.
fn the_call(app: &TestApp, kamailio: &Kamailio) -> CallView {
    let (_, log) = app.get(&format!(
        "/api/v1/calls?phone={}",
        crate::common::urlencode(CALLER)
    ));
    let calls = log["calls"].as_array().cloned().unwrap_or_default();
    assert_eq!(calls.len(), 1, "{log}\nKamailio said:\n{}", kamailio.log());
    let call_id = calls[0]["call_id"].as_str().expect("call id").to_string();
    app.wait_call(&call_id, |c| {
        c["state"] == "ended" && c["sync"] != "pending"
    })
}

#[test]
fn a_sip_call_through_kamailio_reaches_the_owner_of_the_callers_ticket_and_is_logged() {
    if let Some(what) = missing() {
        eprintln!("SKIPPED: the Kamailio test needs {what}");
        return;
    }
    let phones = tempfile::tempdir().expect("temp dir");
    // Ann's phone answers one call; Bob's is not there at all.
    let (mut ann, ann_phone) = phone(phones.path());
    let app = app_with_agents(ann_phone, free_udp_port());
    // The caller and their open ticket, Ann's.
    let (status, contact) = app.send(
        "POST",
        "/api/v1/crm/contacts",
        Some(&json!({"name": "Miss Piggy", "phones": [CALLER]})),
    );
    assert_eq!(status, 201, "{contact}");
    let (status, ticket) = app.send(
        "POST",
        "/api/v1/crm/tickets",
        Some(&json!({"subject": "Her phone is broken", "status": "open",
                     "requester_id": contact["id"], "assignee": "ann@acme.com"})),
    );
    assert_eq!(status, 201, "{ticket}");

    let kamailio = Kamailio::start(&app);
    kamailio.call("uac.xml");
    let answered = wait_exit(&mut ann.0, Duration::from_secs(10));
    assert!(
        answered.is_some_and(|s| s.success()),
        "Ann's phone did not take the call ({answered:?}); Kamailio said:\n{}",
        kamailio.log()
    );

    // The call in deskbridge: answered by Ann, on her ticket, with its comment.
    let call = the_call(&app, &kamailio);
    assert_eq!(call["sync"], "done", "{call}");
    assert_eq!(call["from"], CALLER);
    assert_eq!(call["outcome"], "answered");
    assert_eq!(call["agent"]["extension"], "101");
    assert_eq!(call["contact_id"], contact["id"]);
    // Her open ticket, not a new one.
    assert_eq!(call["ticket_id"], ticket["id"]);
    let ticket_id = call["ticket_id"].as_str().expect("a ticket");
    assert_eq!(app.ticket(ticket_id)["assignee"], "ann@acme.com");
    let comments = app.comments(ticket_id);
    assert_eq!(comments.len(), 1, "{comments:?}");
    let body = comments[0]["body"].as_str().unwrap_or_default();
    assert!(body.contains("Outcome: answered"), "{body}");
    assert!(body.contains(CALLER), "{body}");
}

#[test]
fn a_sip_call_nobody_is_routed_to_is_refused_and_logged_as_missed() {
    if let Some(what) = missing() {
        eprintln!("SKIPPED: the Kamailio test needs {what}");
        return;
    }
    // A new caller: no open ticket, so deskbridge has no preference, and this
    // Kamailio has no fallback target.
    let app = app_with_agents(free_udp_port(), free_udp_port());
    let kamailio = Kamailio::start(&app);
    kamailio.call("uac-refused.xml");
    let call = the_call(&app, &kamailio);
    assert_eq!(call["sync"], "done", "{call}");
    assert_eq!(call["outcome"], "missed");
    // Kamailio ran as a main process and its workers; ending the test's
    // Kamailio ends all of them (issue 23: orphans held their ports).
    let group = kamailio.process.id();
    assert!(
        group_members(group).len() > 2,
        "Kamailio's workers run in its group: {:?}",
        group_members(group)
    );
    drop(kamailio);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !group_members(group).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        group_members(group),
        Vec::<u32>::new(),
        "Kamailio's processes outlived it"
    );
    assert_eq!(call["agent"], serde_json::Value::Null);
    let comments = app.comments(call["ticket_id"].as_str().expect("a ticket"));
    assert!(
        comments[0]["body"]
            .as_str()
            .is_some_and(|b| b.contains("Outcome: missed")),
        "{comments:?}"
    );
}
