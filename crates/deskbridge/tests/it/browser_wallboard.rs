//! The supervisors' wallboard in a real browser (issue 30, point 5):
//! `tests/browser/wallboard.mjs` opens it in Debian's Chromium (headless) as a
//! TV does, with the group's wallboard token, and plays a burst of calls.
//! Skipped, saying why, only when node, chromium or the npm packages are
//! missing. `SCREENSHOT=path` saves the board mid-burst (how
//! `docs/wallboard.png` was made).

use crate::browser::{missing, run_script};
use crate::common::TestApp;

const TOKEN: &str = "support-token-0123456789";
const WALLBOARD: &str = "support-wallboard-0123456789";
const ANN_TOKEN: &str = "ann-agent-token-0123456789";
const LEAD_TOKEN: &str = "lead-agent-token-0123456789";
/// The cases `wallboard.mjs` runs.
const CASES: usize = 9;

#[test]
fn the_wallboard_in_chromium() {
    if let Some(why) = missing() {
        eprintln!("SKIPPED the browser test: {why}");
        return;
    }
    let app = TestApp::with_config(
        &format!(
            r#"
[[agents]]
email = "ann@acme.com"
name = "Ann Example"
extension = "101"
token = "{ANN_TOKEN}"

[[agents]]
email = "lead@acme.com"
name = "Lee Lead"
token = "{LEAD_TOKEN}"
supervisor = true

[[agents]]
email = "bob@acme.com"
name = "Bob Example"
extension = "102"

[[groups]]
name = "support"
tokens = ["{TOKEN}"]
wallboard_token = "{WALLBOARD}"
service_level_seconds = 20
[groups.wrap_up]
codes = ["sale"]
seconds = 300
"#
        ),
        TOKEN,
    );
    let mut env = vec![
        ("DESKBRIDGE_URL", app.base.clone()),
        ("DESKBRIDGE_TOKEN", TOKEN.to_string()),
        ("WALLBOARD_TOKEN", WALLBOARD.to_string()),
        ("ANN_TOKEN", ANN_TOKEN.to_string()),
        ("LEAD_TOKEN", LEAD_TOKEN.to_string()),
    ];
    if let Ok(path) = std::env::var("SCREENSHOT") {
        env.push(("SCREENSHOT", path));
    }
    run_script("wallboard.mjs", &env, CASES);
}
