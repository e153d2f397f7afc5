//! The binary: prints `freshdesk-emulator listening on http://...` and serves.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test]
async fn the_binary_prints_its_address_and_serves() {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_freshdesk-emulator"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--api-key",
            "K",
            "--plan",
            "enterprise",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .await
        .expect("a line");
    let base = line
        .trim()
        .strip_prefix("freshdesk-emulator listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    let client = reqwest::Client::new();
    let me = client
        .get(format!("{base}/api/v2/agents/me"))
        .basic_auth("K", Some("X"))
        .send()
        .await
        .expect("answer");
    assert_eq!(me.status(), 200);
    assert_eq!(
        me.headers()
            .get("x-ratelimit-total")
            .and_then(|v| v.to_str().ok()),
        Some("700")
    );
    let stats: serde_json::Value = client
        .get(format!("{base}/emulator/stats"))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    assert_eq!(stats["total"], 1);
    let state: serde_json::Value = client
        .get(format!("{base}/emulator/state"))
        .send()
        .await
        .expect("state")
        .json()
        .await
        .expect("json");
    assert_eq!(state["agents"].as_array().map(Vec::len), Some(1));
    child.start_kill().expect("kill");
    let _ = child.wait().await;
}
