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
const ANN_PASSWORD: &str = "ann-password-1";
const BOB_TOKEN: &str = "bob-agent-token-0123456789";

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Why the browser test cannot run here, if it cannot.
fn missing() -> Option<String> {
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
    let app = TestApp::with_config(
        &format!(
            r#"
[[agents]]
email = "ann@acme.com"
name = "Ann Example"
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
"#
        ),
        TOKEN,
    );
    let mut node = Command::new("node");
    node.arg("agent-page.mjs")
        .current_dir(browser_dir())
        .env("DESKBRIDGE_URL", &app.base)
        .env("DESKBRIDGE_TOKEN", TOKEN)
        .env("ANN_PASSWORD", ANN_PASSWORD)
        .env("BOB_TOKEN", BOB_TOKEN)
        // Never a browser of Playwright's own.
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
    let out = node.output().expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "the browser cases failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("browser cases passed"), "{stdout}");
}
