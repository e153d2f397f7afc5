//! The command line: `deskbridge check` (offline and `--online` against the Zendesk
//! emulator) and `deskbridge serve` with a bad config, checked by exit status and
//! by what they print, as an admin sees them.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use zendesk_emulator::{Emulator, EmulatorConfig, RunningEmulator, SeedTicketField, SeedUser};

const TOKEN: &str = "support-token-0123456789";
const OUR_NUMBER: &str = "+14155550199";

/// A config with one group "support" (token [`TOKEN`], number [`OUR_NUMBER`]) and
/// `keys` added to it (plain keys first, then `[groups.*]` tables).
fn config(keys: &str) -> String {
    format!(
        "[[groups]]\nname = \"support\"\ntokens = [\"{TOKEN}\"]\nnumbers = [\"{OUR_NUMBER}\"]\n{keys}\n"
    )
}

fn deskbridge(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deskbridge"));
    cmd.args(args)
        .env_remove("DESKBRIDGE_CONFIG")
        .env_remove("DESKBRIDGE_DATABASE_URL")
        .env_remove("DESKBRIDGE_LISTEN")
        .env_remove("DESKBRIDGE_DATA_DIR")
        .env_remove("SUPPORT_INGEST_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run deskbridge");
    // A server that starts despite a bad config would never exit on its own.
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "deskbridge {args:?} did not exit: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deskbridge.example.toml");

const BAD_CONFIG: &str = r#"
[phone]
default_region = "XX"

[[agents]]
email = "ann@acme.com"

[[groups]]
name = "support"
tokens = ["short"]
ticket_subject = "Call {{ callr }}"
default_assignee = "lead"
create = ["contact", "tickets"]
agent_timeout_seconds = 0
numbers = ["12"]
[groups.custom_fields]
"utm" = "{{ attributes.utm_source }"

[[groups]]
name = "support"
tokens = ["another-token-0123456789"]
backend = "zendesk_main"
"#;

const BAD_KEYS: &[&str] = &[
    "phone.default_region",
    "groups[0].tokens[0]",
    "groups[0].ticket_subject",
    "groups[0].default_assignee",
    "groups[0].create",
    "groups[0].agent_timeout_seconds",
    "groups[0].numbers[0]",
    "groups[0].custom_fields.utm",
    "groups[1].name",
    "groups[1].backend",
];

#[test]
fn check_explains_every_config_error_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, BAD_CONFIG).unwrap();
    let out = deskbridge(&["check", "--config", bad.to_str().unwrap()], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    for key in BAD_KEYS {
        assert!(
            stderr.lines().any(|l| l.contains(&format!("{key}:"))),
            "no error for {key}:\n{stderr}"
        );
    }
    assert!(
        stderr.contains(&format!("{} error(s)", BAD_KEYS.len())),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("OK"));

    // Type errors and unknown keys name their key too, with
    // what is allowed. Only the first of them is reported.
    let cases = [
        (
            "missed_call = \"ignore\"",
            "groups[0].missed_call:",
            "log_only",
        ),
        (
            "tiket_subject = \"x\"",
            "groups[0].tiket_subject:",
            "ticket_subject",
        ),
        (
            "reuse_recent_minutes = \"thirty\"",
            "groups[0].reuse_recent_minutes:",
            "u32",
        ),
    ];
    for (keys, key, hint) in cases {
        let file = dir.path().join("typo.toml");
        std::fs::write(&file, config(keys)).unwrap();
        let out = deskbridge(&["check", "--config", file.to_str().unwrap()], &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{keys}: {stderr}");
        let line = stderr
            .lines()
            .find(|l| l.contains(key))
            .unwrap_or_else(|| panic!("no error for {key}:\n{stderr}"));
        assert!(line.contains(hint), "{line}");
    }

    // A variable that is not set, and a file that does not exist.
    let out = deskbridge(&["check", "--config", EXAMPLE], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr
            .contains("groups[0].tokens[0]: environment variable SUPPORT_INGEST_TOKEN is not set"),
        "{stderr}"
    );
    let missing = dir.path().join("missing.toml");
    let out = deskbridge(&["check", "--config", missing.to_str().unwrap()], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("cannot read config file"), "{stderr}");
}

#[test]
fn check_accepts_the_example_config() {
    let out = deskbridge(
        &["check", "--config", EXAMPLE],
        &[("SUPPORT_INGEST_TOKEN", "example-token-0123456789")],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = stdout.lines().next().unwrap_or_default();
    assert!(first.ends_with("deskbridge.example.toml: OK"), "{stdout}");
}

#[test]
fn serve_refuses_to_start_with_a_bad_config() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, BAD_CONFIG).unwrap();
    let data = dir.path().join("data");
    let out = deskbridge(
        &[
            "serve",
            "--config",
            bad.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}{stderr}");
    assert!(!stdout.contains("listening"), "{stdout}");
    for key in BAD_KEYS {
        assert!(
            stderr.contains(&format!("{key}:")),
            "no error for {key}:\n{stderr}"
        );
    }
}

// ---- check --online, against the Zendesk emulator ----

const ZENDESK_TOKEN: &str = "zendesk-test-token-0123456789";

/// The emulator, served by a runtime of its own while the test blocks.
struct Zd {
    emu: RunningEmulator,
    _rt: tokio::runtime::Runtime,
}

impl Zd {
    fn start() -> Zd {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let mut cfg = EmulatorConfig::new("admin@acme.com", "emulator-token");
        cfg.search_lag = Duration::from_secs(120);
        let emu = rt
            .block_on(Emulator::new(cfg).start("127.0.0.1:0"))
            .unwrap();
        Zd { emu, _rt: rt }
    }
}

/// A config with the emulator as backend "zendesk" and one group "support" using
/// it, with `group_keys` added to the group.
fn zendesk_config(zd: &Zd, agent_id: u64, group_keys: &str) -> String {
    format!(
        r#"
[backends.zendesk]
kind = "zendesk"
base_url = "{base}"
email = "admin@acme.com"
api_token = "emulator-token"
requests_per_minute = 6000

[[agents]]
email = "ann@acme.com"
name = "Ann Example"
zendesk_id = "{agent_id}"

[[groups]]
name = "support"
backend = "zendesk"
tokens = ["{ZENDESK_TOKEN}"]
{group_keys}
"#,
        base = zd.emu.base_url
    )
}

#[test]
fn check_online_reports_what_the_account_would_refuse() {
    let zd = Zd::start();
    let ann = zd.emu.seed_agent("ann@acme.com", "Ann Example");
    zd.emu
        .seed_user(SeedUser::end_user("Not An Agent", "+14155550100").email("eve@acme.com"));
    zd.emu
        .seed_ticket_field(SeedTicketField::new(360000001, "text", "UTM source"));
    zd.emu
        .seed_ticket_field(SeedTicketField::new(360000003, "text", "Order number").required());
    zd.emu
        .seed_ticket_form(zendesk_emulator::SeedTicketForm::new(
            4242,
            "Phone",
            vec![360000001, 360000003],
        ));
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let check = |path: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_deskbridge"))
            .args(["check", "--online", "--config"])
            .arg(path)
            .output()
            .unwrap()
    };

    let good = write(
        "good.toml",
        zendesk_config(
            &zd,
            ann,
            "ticket_form = \"4242\"\n[groups.custom_fields]\n\"360000001\" = \"{{ attributes.utm_source }}\"\n\"360000003\" = \"{{ attributes.order }}\"\n",
        ),
    );
    let out = check(&good);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("OK (checked against the helpdesk account)")
    );

    let bad = write(
        "bad.toml",
        zendesk_config(
            &zd,
            ann,
            "ticket_form = \"4242\"\n[groups.custom_fields]\n\"360000001\" = \"x\"\n\"360000999\" = \"y\"\n[groups.chat]\nticket_form = \"4242\"\n[groups.chat.fields]\n\"360000001\" = \"conversation_id\"\n",
        ) + "\n[[agents]]\nemail = \"eve@acme.com\"\n\n[[agents]]\nemail = \"nobody@acme.com\"\n",
    );
    let out = check(&bad);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    for expected in [
        "groups[0].custom_fields.360000999: no ticket field 360000999",
        "groups[0].ticket_form: form 4242 requires field 360000003 (Order number)",
        "groups[0].chat.ticket_form: form 4242 requires field 360000003 (Order number), which the config does not fill: add it under [groups.chat.fields]",
        "agents[1]: eve@acme.com is not an agent",
        "agents[2]: no Zendesk agent nobody@acme.com",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }

    let wrong_token = write(
        "token.toml",
        zendesk_config(&zd, ann, "")
            .replace("api_token = \"emulator-token\"", "api_token = \"wrong\""),
    );
    let out = check(&wrong_token);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("backends.zendesk.api_token: cannot sign in"),
        "{stderr}"
    );
}

/// Issue 16, point 3: `--version` names the version and the commit built
/// (`build.rs`; `unknown` without git).
#[test]
fn version_names_the_release_and_its_commit() {
    let out = deskbridge(&["--version"], &[]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    assert_eq!(
        text.trim(),
        format!("deskbridge {} ({commit})", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn zendesk_app_package_writes_the_zip_an_admin_uploads() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("app.zip");
    let made = deskbridge(
        &[
            "zendesk",
            "app-package",
            "--url",
            "https://deskbridge.acme.com/",
            "--out",
            out.to_str().expect("utf-8 path"),
        ],
        &[],
    );
    assert!(made.status.success(), "{made:?}");
    let said = String::from_utf8_lossy(&made.stdout);
    assert!(said.contains("Upload private app"), "{said}");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&out).expect("the zip")).expect("a zip");
    let mut manifest = String::new();
    std::io::Read::read_to_string(
        &mut zip.by_name("manifest.json").expect("manifest"),
        &mut manifest,
    )
    .expect("read");
    let manifest: serde_json::Value = serde_json::from_str(&manifest).expect("JSON");
    assert_eq!(
        manifest["location"]["support"]["top_bar"]["url"],
        "https://deskbridge.acme.com/zendesk/top_bar"
    );
    assert!(zip.by_name("assets/logo.png").is_ok());

    // A plain-http address Zendesk would not load is refused, with what to give.
    let refused = deskbridge(
        &[
            "zendesk",
            "app-package",
            "--url",
            "http://deskbridge.acme.com",
            "--out",
            "x.zip",
        ],
        &[],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("https://host"));
}
