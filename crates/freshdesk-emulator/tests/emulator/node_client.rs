//! The npm `freshdesk-api` client (3.1.0, MIT) against the emulator: a client
//! written against the real service must work unchanged. Skipped, with the
//! reason printed, when `node` or `tests/node/node_modules` is missing
//! (install with `npm ci --prefix crates/freshdesk-emulator/tests/node`).

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::common::{Harness, KEY};

#[tokio::test]
async fn the_npm_client_creates_a_contact_a_ticket_and_a_note() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/node");
    if !dir.join("node_modules/freshdesk-api").is_dir() {
        eprintln!(
            "skipped: {} has no node_modules/freshdesk-api (run `npm ci` there)",
            dir.display()
        );
        return;
    }
    let Ok(version) = tokio::process::Command::new("node")
        .arg("--version")
        .output()
        .await
    else {
        eprintln!("skipped: `node` is not installed");
        return;
    };
    assert!(version.status.success());

    let harness = Harness::new().await;
    let output = tokio::process::Command::new("node")
        .arg("client.mjs")
        .arg(&harness.emulator.base_url)
        .arg(KEY)
        .current_dir(&dir)
        .kill_on_drop(true)
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    let made: Value = serde_json::from_str(stdout.trim()).expect("one JSON line");

    let state = harness.emulator.state();
    let contact = made["contact"].as_u64().expect("contact id");
    let ticket = made["ticket"].as_u64().expect("ticket id");
    assert_eq!(
        state.contact(contact).and_then(|c| c.phone.as_deref()),
        Some("+15557654321")
    );
    let stored = state.ticket(ticket).expect("ticket stored");
    assert_eq!((stored.requester_id, stored.source), (contact, 3));
    assert_eq!(state.notes_of(ticket).len(), 1);
    assert_eq!(made["note"], json!(state.notes_of(ticket)[0].id));
    assert_eq!(made["note_private"], true);
    assert_eq!(made["listed"], json!([contact]));
    assert_eq!(made["page_is_last"], true);
    let stats = harness.emulator.stats();
    assert_eq!(stats.requests_to("POST /api/v2/tickets/{id}/notes"), 1);
    assert_eq!(stats.total, 4);
}
