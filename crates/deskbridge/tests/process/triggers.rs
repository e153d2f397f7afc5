//! CRM triggers across a crash: the server killed with SIGKILL while
//! notifications are pending (the receiver failing), started again on the same
//! data dir, delivers every one, in order per record; and `deskbridge triggers
//! list-failed` / `replay` on the dead letters, as an admin runs them.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use serde_json::json;

use crate::server::*;

const TOKEN: &str = "support-token-0123456789";

/// A receiver on 127.0.0.1 that records every request's target and its answer:
/// 500 while `down`, 410 for `/gone` always, else 204.
struct Receiver {
    base: String,
    state: Arc<Mutex<Inbox>>,
    _rt: tokio::runtime::Runtime,
}

#[derive(Default)]
struct Inbox {
    down: bool,
    seen: Vec<(String, u16)>,
}

async fn answer(State(state): State<Arc<Mutex<Inbox>>>, uri: Uri) -> StatusCode {
    let mut inbox = state.lock().unwrap();
    let target = uri
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let status = match (inbox.down, uri.path()) {
        (_, "/gone") => StatusCode::GONE,
        (true, _) => StatusCode::INTERNAL_SERVER_ERROR,
        (false, _) => StatusCode::NO_CONTENT,
    };
    inbox.seen.push((target, status.as_u16()));
    status
}

impl Receiver {
    fn start() -> Receiver {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let state = Arc::new(Mutex::new(Inbox::default()));
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(state.clone());
        rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver {
            base,
            state,
            _rt: rt,
        }
    }

    fn seen(&self) -> Vec<(String, u16)> {
        self.state.lock().unwrap().seen.clone()
    }

    fn wait(&self, what: &str, ready: impl Fn(&[(String, u16)]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(90);
        while !ready(&self.seen()) {
            assert!(Instant::now() < deadline, "{what}: {:#?}", self.seen());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_deskbridge"))
        .args(args)
        .env_remove("DESKBRIDGE_CONFIG")
        .env_remove("DESKBRIDGE_DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .expect("run deskbridge");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn notifications_pending_when_the_server_is_killed_are_all_delivered_after_restart() {
    let receiver = Receiver::start();
    receiver.state.lock().unwrap().down = true;
    let base = &receiver.base;
    let config = format!(
        r#"
[[groups]]
name = "support"
tokens = ["{TOKEN}"]
[[groups.triggers]]
entity = "contact"
action = "create"
url = "{base}/contacts"
[[groups.triggers]]
entity = "contact"
action = "edit"
url = "{base}/contacts"
[[groups.triggers]]
entity = "contact"
action = "create"
url = "{base}/gone"
[triggers]
allow_private_networks = true
retry_waits_seconds = [0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2]
timeout_seconds = 1
"#
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let opts = || Options {
        config: Some(config.clone()),
        token: Some(TOKEN.into()),
        ..Options::default()
    };
    let mut first = Server::start_in(&data, opts());
    let mut contacts = Vec::new();
    for n in 0..5 {
        let (status, c) = first.send(
            "POST",
            "/api/v1/crm/contacts",
            Some(&json!({"name": format!("Caller {n}")})),
        );
        assert_eq!(status, 201, "{c}");
        let id = c["id"].as_str().unwrap().to_string();
        let (status, c) = first.send(
            "PATCH",
            &format!("/api/v1/crm/contacts/{id}"),
            Some(&json!({"email": format!("caller{n}@example.com")})),
        );
        assert_eq!(status, 200, "{c}");
        contacts.push(id);
    }
    // Attempts are under way, and failing.
    receiver.wait("a first failed attempt", |seen| {
        seen.iter()
            .any(|(t, s)| t.starts_with("/contacts") && *s == 500)
    });
    first.kill();
    receiver.state.lock().unwrap().down = false;

    let mut second = Server::start_in(&data, opts());
    // Each contact's create and edit arrive (one URL: the second waits for the first).
    receiver.wait("every notification delivered", |seen| {
        contacts.iter().all(|id| {
            let target = format!("/contacts?AccountID={id}");
            seen.iter()
                .filter(|(t, s)| *t == target && *s == 204)
                .count()
                >= 2
        })
    });
    // The `/gone` ones end as dead letters.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (_, body) = second.get("/api/v1/triggers/deliveries?status=failed");
        if body["deliveries"].as_array().is_some_and(|d| d.len() == 5) {
            break;
        }
        assert!(Instant::now() < deadline, "{body}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, body) = second.get("/api/v1/triggers/deliveries?status=pending");
    assert_eq!(body["deliveries"], json!([]), "{body}");
    let (_, body) = second.get("/api/v1/triggers/deliveries?status=delivered");
    assert_eq!(body["deliveries"].as_array().unwrap().len(), 10, "{body}");
    second.kill();

    // The admin's commands, with the server stopped.
    let config_path = data.with_extension("toml");
    let args = |rest: &[&str]| -> Vec<String> {
        let mut a = vec![
            "triggers".to_string(),
            "--config".into(),
            config_path.display().to_string(),
            "--data-dir".into(),
            data.display().to_string(),
        ];
        a.extend(rest.iter().map(|s| s.to_string()));
        a
    };
    let run = |rest: &[&str]| {
        let a = args(rest);
        cli(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let (code, out, err) = run(&["list-failed"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert!(
        lines
            .iter()
            .all(|l| l.contains("/gone") && l.contains("HTTP 410")),
        "{out}"
    );
    let first_id = lines[0].split('\t').next().unwrap();
    let (code, out, err) = run(&["replay", "--id", first_id]);
    assert_eq!(
        (code, out.trim()),
        (
            0,
            "1 notification(s) pending again; a running server sends them"
        ),
        "{err}"
    );
    let (code, _, err) = run(&["replay", "--id", first_id]);
    assert_eq!(code, 1);
    assert!(err.contains("not failed"), "{err}");
    let (code, out, err) = run(&["replay", "--since", "2000-01-01"]);
    assert_eq!(
        (code, out.trim()),
        (
            0,
            "4 notification(s) pending again; a running server sends them"
        ),
        "{err}"
    );
    let (code, out, _) = run(&["list-failed"]);
    assert_eq!((code, out.as_str()), (0, ""));
    let (code, _, err) = run(&["replay", "--since", "yesterday"]);
    assert_eq!(code, 2);
    assert!(err.contains("2026-11-29"), "{err}");
}
