//! The process harness: starts the real `deskbridge` binary on port 0 with a temp
//! data dir and drives it over HTTP. Only for tests that need a process of their
//! own (crash, signal, exit codes, several instances, config from env vars); the
//! others use the in-process `TestApp` of the `it` binary.

#![allow(dead_code)]

pub use deskbridge_testkit::CallView;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Server {
    pub base: String,
    pub token: String,
    pub data_dir: PathBuf,
    child: Child,
    _dir: Option<tempfile::TempDir>,
}

pub struct Options {
    pub env: Vec<(String, String)>,
    /// A config file's text (written next to the data dir).
    pub config: Option<String>,
    /// The token the harness sends; default: the generated one in the data dir.
    pub token: Option<String>,
    /// Keeps what the server prints on stdout after it listens.
    pub printed: Option<std::sync::Arc<std::sync::Mutex<Vec<String>>>>,
    /// Where the server's stderr (its log) goes; default: the test's stderr.
    pub stderr: Option<std::fs::File>,
    /// `RUST_LOG` for the server; default: `TEST_LOG`, else `warn`.
    pub log: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            // Fast retries so failure paths finish within a test.
            env: vec![
                ("DESKBRIDGE__JOBS__RETRY_BASE_MS".into(), "20".into()),
                ("DESKBRIDGE__JOBS__LEASE_SECONDS".into(), "2".into()),
            ],
            config: None,
            token: None,
            stderr: None,
            log: None,
            printed: None,
        }
    }
}

impl Server {
    pub fn start() -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let mut s = Server::start_in(&data, Options::default());
        s._dir = Some(dir);
        s
    }

    /// Starts a server on an existing data dir (for restarts).
    pub fn start_in(data_dir: &Path, opts: Options) -> Server {
        // `DESKBRIDGE_BIN` runs another build (the scale benchmark's release
        // binary, `tests/process/scale.rs`); by default the test build's own.
        let binary = std::env::var_os("DESKBRIDGE_BIN")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_deskbridge").into());
        let mut cmd = Command::new(binary);
        cmd.arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(data_dir)
            .env_remove("DESKBRIDGE_CONFIG")
            .env_remove("DESKBRIDGE_DATABASE_URL")
            .env(
                "RUST_LOG",
                opts.log
                    .clone()
                    .or_else(|| std::env::var("TEST_LOG").ok())
                    .unwrap_or_else(|| "warn".into()),
            )
            .stdout(Stdio::piped());
        match opts.stderr {
            Some(file) => cmd.stderr(file),
            None => cmd.stderr(Stdio::inherit()),
        };
        if let Some(config) = &opts.config {
            let path = data_dir.with_extension("toml");
            std::fs::write(&path, config).expect("write config");
            cmd.arg("--config").arg(path);
        }
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start deskbridge");
        let printed = opts.printed.clone();
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("deskbridge exited before listening")
                .expect("read stdout");
            if let Some(url) = line.strip_prefix("deskbridge listening on ") {
                break url.trim().to_string();
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if let Some(printed) = &printed {
                    printed.lock().unwrap().push(line);
                }
            }
        });
        let token = match &opts.token {
            Some(t) => t.clone(),
            None => std::fs::read_to_string(data_dir.join("ingest-token"))
                .expect("token file")
                .trim()
                .to_string(),
        };
        Server {
            base,
            token,
            data_dir: data_dir.to_path_buf(),
            child,
            _dir: None,
        }
    }

    /// The server's process id (to read its memory in /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn client(&self) -> reqwest::blocking::Client {
        reqwest::blocking::Client::new()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends events with the group token; returns (status, body).
    pub fn post_events(&self, body: &Value) -> (u16, Value) {
        self.send("POST", "/api/v1/events", Some(body))
    }

    /// Sends events to a process set to abort after a helpdesk step. The
    /// events are committed before the worker can take them, but the worker
    /// may reach its fault and abort before the 202 is written: then the
    /// connection closes with no answer. Either is the process doing what it
    /// was told; anything else (a refusal, no connection at all) fails.
    pub fn post_events_to_dying(&self, body: &Value) {
        let resp = self
            .client()
            .post(self.url("/api/v1/events"))
            .bearer_auth(&self.token)
            .json(body)
            .send();
        match resp {
            Ok(resp) => assert_eq!(resp.status().as_u16(), 202, "{:?}", resp.text()),
            Err(e) => assert!(
                e.is_request() && !e.is_connect(),
                "the events were not sent: {e:?}"
            ),
        }
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        self.send("GET", path, None)
    }

    pub fn send(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut req = self
            .client()
            .request(method.parse().expect("method"), self.url(path))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    /// Polls a call until its helpdesk work is finished (`sync` done or failed).
    /// The deadline is only a safety net (a loaded machine may need a while).
    pub fn wait_synced(&self, call_id: &str) -> CallView {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (status, call) = self.get(&format!("/api/v1/calls/{call_id}"));
            if status == 200 && call["sync"] != "pending" {
                return CallView(call);
            }
            assert!(
                Instant::now() < deadline,
                "call {call_id} still pending: {call}"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    pub fn contacts_by_phone(&self, phone: &str) -> Vec<Value> {
        let (status, body) = self.get(&format!("/api/v1/crm/contacts?phone={}", urlencode(phone)));
        assert_eq!(status, 200, "{body}");
        body["items"].as_array().cloned().unwrap_or_default()
    }

    pub fn ticket(&self, id: &str) -> Value {
        let (status, body) = self.get(&format!("/api/v1/crm/tickets/{id}"));
        assert_eq!(status, 200, "{body}");
        body
    }

    pub fn comments(&self, ticket_id: &str) -> Vec<Value> {
        let (status, body) = self.get(&format!("/api/v1/crm/tickets/{ticket_id}/comments"));
        assert_eq!(status, 200, "{body}");
        body["items"].as_array().cloned().unwrap_or_default()
    }

    pub fn all(&self, kind: &str) -> Vec<Value> {
        let (status, body) = self.get(&format!("/api/v1/crm/{kind}?limit=100"));
        assert_eq!(status, 200, "{body}");
        body["items"].as_array().cloned().unwrap_or_default()
    }

    /// Kills the process without warning (SIGKILL).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the process to exit on its own (e.g. an injected abort).
    pub fn wait_exit(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        self.child.wait().expect("wait")
    }

    /// Starts a server with a config file in a fresh temp dir, sending with `token`.
    pub fn with_config(config: &str, token: &str) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let opts = Options {
            config: Some(config.to_string()),
            token: Some(token.to_string()),
            ..Options::default()
        };
        let mut s = Server::start_in(&data, opts);
        s._dir = Some(dir);
        s
    }

    /// The same server, sending with another token.
    pub fn as_token(&self, token: &str) -> Client<'_> {
        Client {
            server: self,
            token: token.to_string(),
        }
    }

    /// Keeps the data dir alive after this server is gone.
    pub fn take_dir(&mut self) -> Option<tempfile::TempDir> {
        self._dir.take()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub use deskbridge_testkit::answered_call;

/// Requests with another token against a running server.
pub struct Client<'a> {
    server: &'a Server,
    token: String,
}

impl Client<'_> {
    pub fn send(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut req = self
            .server
            .client()
            .request(method.parse().expect("method"), self.server.url(path))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub fn post_events(&self, body: &Value) -> (u16, Value) {
        self.send("POST", "/api/v1/events", Some(body))
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        self.send("GET", path, None)
    }
}
