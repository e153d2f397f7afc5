//! The agent page in a real browser: `tests/browser/agent-page.mjs` drives
//! Debian's Chromium (headless) with playwright-core against a deskbridge started
//! here, in-process. Skipped, saying why, only when node, chromium or the npm
//! packages are missing (`.ci/run` installs them: `apt-get install chromium`,
//! `npm ci` in `tests/browser`).
//!
//! `SCREENSHOT=path` also saves the page during a live call (how
//! `docs/agent-page.png` was made).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::TestApp;

const TOKEN: &str = "support-token-0123456789";
/// The cases `agent-page.mjs` runs.
const AGENT_PAGE_CASES: usize = 15;
const ANN_PASSWORD: &str = "ann-password-1";
const BOB_TOKEN: &str = "bob-agent-token-0123456789";

pub(crate) fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Runs `script` in `tests/browser` with `env` (never a browser of
/// Playwright's own), and checks that its `cases` cases passed: its output.
pub(crate) fn run_script(script: &str, env: &[(&str, String)], cases: usize) -> String {
    let mut node = Command::new("node");
    node.arg(script)
        .current_dir(browser_dir())
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
    for (k, v) in env {
        node.env(k, v);
    }
    let out = node.output().expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "the script's cases failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains(&format!("{cases} browser cases passed"))
            || stdout.contains(&format!("{cases} twilio client cases passed")),
        "{stdout}"
    );
    stdout
}

/// Why the browser test cannot run here, if it cannot.
pub(crate) fn missing() -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Some(format!("{chromium} is missing (apt-get install chromium)"));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node is missing (apt-get install nodejs npm)".into());
    }
    if !browser_dir().join("node_modules/playwright-core").exists() {
        return Some(format!(
            "playwright-core is not installed: run `npm ci` in {}",
            browser_dir().display()
        ));
    }
    None
}

#[test]
fn the_agent_page_in_chromium() {
    if let Some(why) = missing() {
        eprintln!("SKIPPED the browser test: {why}");
        return;
    }
    let hash = deskbridge::agent_auth::hash_password(ANN_PASSWORD).expect("a hash");
    // The group's Asterisk, on which every dial goes through (click-to-call)
    // and every pause is taken.
    let pbx = crate::ami::ScriptedAmi::bind();
    let pbx_address = pbx.address();
    let app = TestApp::with_config(
        &format!(
            r#"
[[agents]]
email = "ann@acme.com"
name = "Ann Example"
extension = "101"
password_hash = "{hash}"

[[agents]]
email = "bob@acme.com"
name = "Bob Example"
token = "{BOB_TOKEN}"

[[groups]]
name = "support"
tokens = ["{TOKEN}"]
pop_on = "ringing"
pop_action = "contact_by_ani"
default_caller_id = "+14155550199"
[groups.wrap_up]
codes = ["sale", {{ code = "complaint", label = "Complaint" }}]
seconds = 0
[groups.asterisk]
address = "{pbx_address}"
username = "deskbridge"
secret = "s3cret-ami"
agent_channel = "PJSIP/{{{{ agent.extension }}}}"
pause_reasons = ["Lunch", "Break"]
"#
        ),
        TOKEN,
    );
    let _answering = crate::ami::dial::answering_every_dial(pbx);
    run_script(
        "agent-page.mjs",
        &[
            ("DESKBRIDGE_URL", app.base.clone()),
            ("DESKBRIDGE_TOKEN", TOKEN.into()),
            ("ANN_PASSWORD", ANN_PASSWORD.into()),
            ("BOB_TOKEN", BOB_TOKEN.into()),
        ],
        AGENT_PAGE_CASES,
    );
}

const CRM_TOKEN: &str = "crm-token-0123456789";
const ADMIN_PASSWORD: &str = "ada-password-1";
const PLAIN_TOKEN: &str = "pat-agent-token-0123456789";

/// A port on 127.0.0.1 nobody listens on (yet).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The admin page (issue 16, point 6) in Chromium: `tests/browser/admin-page.mjs`.
/// The scene is set here: a Zendesk call that failed for good (the emulator's
/// API user could not create users) and is healed, and a CRM trigger's
/// notification that gave up (its receiver, which the script starts later,
/// was not listening). `SCREENSHOT_DIR=dir` saves `dir/admin-page.png` (how
/// `docs/admin-page.png` was made).
#[test]
fn the_admin_page_in_chromium() {
    use serde_json::json;
    use zendesk_emulator::Role;

    if let Some(why) = missing() {
        eprintln!("SKIPPED the browser test: {why}");
        return;
    }
    let zd = crate::zendesk::Zd::start(|_| {});
    let ann = zd.emu.seed_agent("ann@acme.com", "Ann Example");
    let hash = deskbridge::agent_auth::hash_password(ADMIN_PASSWORD).expect("a hash");
    let port = free_port();
    let app = TestApp::with_config(
        &format!(
            r#"{backend}

[[agents]]
email = "ada@acme.com"
name = "Ada Admin"
password_hash = "{hash}"
admin = true

[[agents]]
email = "pat@acme.com"
name = "Pat Plain"
token = "{PLAIN_TOKEN}"

[[groups]]
name = "support"
backend = "zendesk"
tokens = ["{TOKEN}"]

[[groups]]
name = "crm"
tokens = ["{CRM_TOKEN}"]

[[groups.triggers]]
entity = "contact"
action = "create"
url = "http://127.0.0.1:{port}/hook"
format = "query"

[triggers]
allow_private_networks = true
retry_waits_seconds = [0.2, 0.5, 1.0]
timeout_seconds = 10
"#,
            backend = crate::zendesk::backend_and_ann(&zd, ann)
        ),
        TOKEN,
    );
    // A call whose caller Zendesk refuses to create: failed for good.
    zd.emu.set_api_role(Role::Agent);
    let (status, _) = app.post_events(&crate::common::answered_call(
        "adm-1",
        "+14155550320",
        "ann@acme.com",
    ));
    assert_eq!(status, 202);
    let call = app.wait_synced("adm-1");
    assert_eq!(call["sync"], "failed", "{call}");
    zd.emu.set_api_role(Role::Admin);
    // A contact whose notification finds nobody listening: a dead letter.
    let crm = app.as_token(CRM_TOKEN);
    let (status, _) = crm.send(
        "POST",
        "/api/v1/crm/contacts",
        Some(&json!({ "name": "Dana Dead", "phones": ["+14155550321"] })),
    );
    assert_eq!(status, 201);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (_, body) = crm.get("/api/v1/triggers/deliveries?status=failed");
        if body["deliveries"].as_array().is_some_and(|d| d.len() == 1) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no dead letter: {body}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    run_script(
        "admin-page.mjs",
        &[
            ("DESKBRIDGE_URL", app.base.clone()),
            ("DESKBRIDGE_TOKEN", TOKEN.into()),
            ("CRM_TOKEN", CRM_TOKEN.into()),
            ("ADMIN_PASSWORD", ADMIN_PASSWORD.into()),
            ("PLAIN_TOKEN", PLAIN_TOKEN.into()),
            ("FAILED_CALL", "adm-1".into()),
            ("RECEIVER_PORT", port.to_string()),
        ],
        5,
    );
    // The helpdesk has the retried call's one ticket, with its one comment.
    let state = zd.emu.state();
    let user = state
        .users
        .iter()
        .find(|u| u.phone.as_deref() == Some("+14155550320"))
        .expect("the caller's user");
    let tickets: Vec<_> = state
        .tickets
        .iter()
        .filter(|t| t.requester_id == user.id)
        .collect();
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    let comments = state
        .comments
        .iter()
        .filter(|c| c.ticket_id == tickets[0].id)
        .count();
    assert_eq!(comments, 1);
}

/// deskbridge's Zendesk app in Chromium, inside the emulated Zendesk's agent
/// interface: `tests/browser/zendesk-app.mjs`. The app is installed from the
/// manifest `deskbridge zendesk app-package` writes. `SCREENSHOT=path` saves
/// the agent interface with the top bar open on a ringing call (how
/// `docs/zendesk-app.png` was made).
#[test]
fn the_zendesk_app_in_chromium() {
    use zendesk_emulator::{SeedTicket, SeedUser};

    if let Some(why) = missing() {
        eprintln!("SKIPPED the browser test: {why}");
        return;
    }
    let (zd, ann) = crate::zendesk::Zd::with_ann();
    let grace = zd
        .emu
        .seed_user(SeedUser::end_user("Grace Hopper", "+14155550123"));
    let printer = zd
        .emu
        .seed_ticket(SeedTicket::new(grace, "Printer on fire"));
    let app = crate::zendesk_app::app(&zd);
    let installation = crate::zendesk_app::install(&zd, &app);
    run_script(
        "zendesk-app.mjs",
        &[
            ("DESKBRIDGE_URL", app.base.clone()),
            ("DESKBRIDGE_TOKEN", crate::zendesk::TOKEN.into()),
            ("EMULATOR_URL", zd.emu.base_url.clone()),
            ("ANN_ID", ann.to_string()),
            ("GRACE_ID", grace.to_string()),
            ("PRINTER_ID", printer.to_string()),
            ("INSTALLATION_ID", installation.to_string()),
        ],
        6,
    );
}
