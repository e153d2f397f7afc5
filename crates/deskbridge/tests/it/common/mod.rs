//! The in-process test harness: [`TestApp`] runs deskbridge inside the test process
//! (`deskbridge::app::start`) on a multi-thread tokio runtime of its own, on port 0
//! with a temp data dir, and drives it over HTTP with a blocking client, so test
//! bodies stay plain blocking code.
//!
//! Why in-process: starting the binary per test and polling it made the suite slow
//! and its waits guesses. Here a test waits on the store's change stream
//! ([`TestApp::wait_synced`], [`TestApp::wait_call`], [`TestApp::settle`]): it wakes
//! when the call changes, and a deadline is only a safety net that a passing test
//! never reaches. Tests that need a separate process (a crash, a signal, exit codes,
//! several instances, env-var config) live in the `process` test binary.
//!
//! Each app gets its whole config from the test (TOML text plus fast retry and lease
//! settings), never from environment variables: the tests of this binary run in
//! parallel threads that share one environment.
//!
//! A test reads like this:
//!
//! ```ignore
//! let app = TestApp::start(); // or TestApp::with_config(toml, token), TestApp::builder()
//! let (status, _) = app.post_events(&answered_call("c1", "+14155550100", "ann@acme.com"));
//! assert_eq!(status, 202);
//! let call = app.wait_synced("c1"); // the call as GET /api/v1/calls/c1 shows it
//! assert_eq!(app.comments(call["ticket_id"].as_str().unwrap()).len(), 1);
//! ```
//!
//! `TEST_LOG=debug` shows the apps' logs.

#![allow(dead_code)]

pub use deskbridge_testkit::CallView;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use deskbridge::app::Running;
use deskbridge::config::{Config, Overrides};
use deskbridge::state::AppState;
use deskbridge_store::Change;
use serde_json::Value;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

/// How long a wait may take before the test fails. Only a broken test gets near
/// it: every wait returns as soon as the store reports the change it waits for.
pub const WAIT: Duration = Duration::from_secs(60);

/// Settings every test app gets unless the test changes them: retries after 20 ms
/// (not 1 s) so failure paths finish within a test, and 2 s leases.
fn fast_jobs(config: &mut Config) {
    config.jobs.retry_base_ms = 20;
    config.jobs.lease_seconds = 2;
}

/// A running deskbridge in this process, with a client that sends its token.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The token requests are sent with: the generated one, or the one given.
    pub token: String,
    pub data_dir: PathBuf,
    client: reqwest::blocking::Client,
    running: Option<Running>,
    state: Arc<AppState>,
    /// The app's step lease (`jobs.lease_seconds`).
    lease: Duration,
    rt: Option<tokio::runtime::Runtime>,
    _dir: tempfile::TempDir,
}

/// A change a test makes to its app's config.
type Tweak = Box<dyn FnOnce(&mut Config)>;

/// How to start a [`TestApp`]: config text, token, and changes to the config.
#[derive(Default)]
pub struct Builder {
    config: Option<String>,
    token: Option<String>,
    tweaks: Vec<Tweak>,
}

impl Builder {
    /// The config file's text (TOML).
    pub fn config(mut self, toml: &str) -> Builder {
        self.config = Some(toml.to_string());
        self
    }

    /// The token the app's client sends; default: the "default" group's generated
    /// token (only when no groups are configured).
    pub fn token(mut self, token: &str) -> Builder {
        self.token = Some(token.to_string());
        self
    }

    /// Changes the config after it was read (e.g. `|c| c.jobs.max_attempts = 2`).
    /// Applied after the harness's fast retry and lease settings, so it can undo them.
    pub fn configure(mut self, tweak: impl FnOnce(&mut Config) + 'static) -> Builder {
        self.tweaks.push(Box::new(tweak));
        self
    }

    pub fn start(self) -> TestApp {
        init_logs();
        let dir = tempfile::tempdir().expect("temp dir");
        let data_dir = dir.path().join("data");
        let overrides = Overrides {
            listen: Some("127.0.0.1:0".into()),
            data_dir: Some(data_dir.clone()),
            database_url: None,
        };
        let mut config = Config::from_toml(self.config.as_deref().unwrap_or(""), overrides)
            .unwrap_or_else(|e| panic!("test config is invalid:\n{e}"));
        fast_jobs(&mut config);
        for tweak in self.tweaks {
            tweak(&mut config);
        }
        let lease = Duration::from_secs(config.jobs.lease_seconds);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("test-app")
            .enable_all()
            .build()
            .expect("tokio runtime");
        let running = rt
            .block_on(deskbridge::app::start(config))
            .unwrap_or_else(|e| panic!("deskbridge did not start: {e:#}"));
        let state = running.state.clone();
        let token = match self.token {
            Some(t) => t,
            None => state
                .group("default")
                .and_then(|g| g.tokens.first().cloned())
                .expect("no token given, and no generated one (groups are configured)"),
        };
        TestApp {
            base: format!("http://{}", running.addr),
            token,
            data_dir,
            client: reqwest::blocking::Client::new(),
            running: Some(running),
            state,
            lease,
            rt: Some(rt),
            _dir: dir,
        }
    }
}

impl TestApp {
    /// The embedded default: no config, built-in CRM, one group with a generated
    /// token.
    pub fn start() -> TestApp {
        Builder::default().start()
    }

    /// An app with a config file's text, sending with `token`.
    pub fn with_config(config: &str, token: &str) -> TestApp {
        Builder::default().config(config).token(token).start()
    }

    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The app's shared state: its store, groups and built-in CRM.
    /// Where `/metrics` is served when `[metrics] listen` is set.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.running.as_ref().and_then(|r| r.metrics_addr)
    }

    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Runs a future on the app's runtime (e.g. a store query) and returns its
    /// output.
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.rt.as_ref().expect("runtime").block_on(f)
    }

    /// A new client, for requests built by hand. New each time, as a separate
    /// process's client would be: a request the server refuses before reading its
    /// body (413) closes the connection, which must not break the next request.
    pub fn client(&self) -> reqwest::blocking::Client {
        reqwest::blocking::Client::new()
    }

    /// Opens `GET /api/v1/calls/stream` with `token` and collects what it
    /// sends, as it arrives, into the returned text (read by a thread of its
    /// own until the stream ends).
    pub fn read_call_stream(&self, token: &str) -> std::sync::Arc<std::sync::Mutex<String>> {
        use std::io::Read;
        let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut stream = self
            .client()
            .get(self.url("/api/v1/calls/stream"))
            .bearer_auth(token)
            .send()
            .expect("stream");
        assert_eq!(stream.status(), 200);
        let sink = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
        seen
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends events with the app's token; returns (status, body).
    pub fn post_events(&self, body: &Value) -> (u16, Value) {
        self.send("POST", "/api/v1/events", Some(body))
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        self.send("GET", path, None)
    }

    /// A request with the app's token; the body as JSON (a string if it is not).
    pub fn send(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.send_as(&self.token, method, path, body)
    }

    fn send_as(&self, token: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut req = self
            .client
            .request(method.parse().expect("method"), self.url(path))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    /// Waits until the call's helpdesk work is finished (`sync` done or failed) and
    /// returns the call as `GET /api/v1/calls/{id}` shows it.
    pub fn wait_synced(&self, call_id: &str) -> CallView {
        self.wait_call(call_id, |c| c["sync"] != "pending")
    }

    /// Waits until `ready` holds for the call as the API shows it, looking again
    /// each time the store reports a change of that call.
    pub fn wait_call(&self, call_id: &str, ready: impl Fn(&Value) -> bool) -> CallView {
        self.wait_call_for(&self.token, call_id, WAIT, ready)
    }

    /// [`TestApp::wait_call`] with another token and another deadline.
    pub fn wait_call_for(
        &self,
        token: &str,
        call_id: &str,
        timeout: Duration,
        ready: impl Fn(&Value) -> bool,
    ) -> CallView {
        let deadline = Instant::now() + timeout;
        // Subscribed before the first look, so no change after it is missed.
        let mut changes = self.state.store.changes();
        loop {
            let (status, call) =
                self.send_as(token, "GET", &format!("/api/v1/calls/{call_id}"), None);
            if status == 200 && ready(&call) {
                return CallView(call);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "call {call_id} not as awaited after {timeout:?}: {status} {call}"
            );
            let changed = self.block_on(async {
                let change = async {
                    loop {
                        match changes.recv().await {
                            Ok(Change::Call { call_id: c, .. }) if c == call_id => return true,
                            Ok(_) => continue,
                            // Some changes were missed: look again.
                            Err(RecvError::Lagged(_)) => return true,
                            Err(RecvError::Closed) => return false,
                        }
                    }
                };
                tokio::time::timeout(left, change).await
            });
            assert_ne!(changed, Ok(false), "the app's change stream closed");
        }
    }

    /// Waits until no step is running and none is due within a lease: what is left
    /// waits for a later time (an agent's deadline, a retry) or for an event. For
    /// asserting that something does *not* happen, without a sleep that a slow
    /// machine could make too short.
    pub fn settle(&self) {
        let deadline = Instant::now() + WAIT;
        let store = &self.state.store;
        loop {
            let mut changes = store.changes();
            let quiet = self.block_on(async {
                let instances = store
                    .instances(deskbridge::app::HEARTBEAT * 3)
                    .await
                    .expect("instances");
                let running = instances
                    .iter()
                    .find(|i| i.id == self.state.instance.id)
                    .map_or(0, |i| i.running_steps);
                // Steps due within a lease (a running step's lease ends within one).
                let horizon = chrono::Utc::now()
                    + chrono::Duration::from_std(self.lease).expect("lease fits");
                let due = store
                    .next_due(deskbridge_core::WorkLane::Live)
                    .await
                    .expect("next_due");
                running == 0 && due.is_none_or(|at| at > horizon)
            });
            // Nothing changed while we looked, or the look may be stale.
            if quiet && matches!(changes.try_recv(), Err(TryRecvError::Empty)) {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "steps still running or due after {WAIT:?}");
            if !quiet {
                let _ = self.block_on(async { tokio::time::timeout(left, changes.recv()).await });
            }
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

    /// The first 100 records of a CRM kind ("contacts", "tickets", ...).
    pub fn all(&self, kind: &str) -> Vec<Value> {
        let (status, body) = self.get(&format!("/api/v1/crm/{kind}?limit=100"));
        assert_eq!(status, 200, "{body}");
        body["items"].as_array().cloned().unwrap_or_default()
    }

    /// The same app, sending with another token.
    pub fn as_token(&self, token: &str) -> Client<'_> {
        Client {
            app: self,
            token: token.to_string(),
        }
    }

    /// Stops the app as SIGTERM would (no new requests; steps in flight finish)
    /// and checks that it stopped cleanly.
    pub fn stop(mut self) {
        self.shut_down().expect("clean stop");
    }

    fn shut_down(&mut self) -> anyhow::Result<()> {
        let result = match (self.running.take(), &self.rt) {
            (Some(running), Some(rt)) => rt.block_on(running.stop()),
            _ => Ok(()),
        };
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
        result
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Err(e) = self.shut_down() {
            eprintln!("test app did not stop cleanly: {e:#}");
        }
    }
}

/// Requests with another token against a running app.
pub struct Client<'a> {
    app: &'a TestApp,
    token: String,
}

impl Client<'_> {
    pub fn send(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.app.send_as(&self.token, method, path, body)
    }

    pub fn post_events(&self, body: &Value) -> (u16, Value) {
        self.send("POST", "/api/v1/events", Some(body))
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        self.send("GET", path, None)
    }

    /// [`TestApp::wait_synced`] for a call this token reads.
    pub fn wait_synced(&self, call_id: &str) -> CallView {
        self.wait_call(call_id, |c| c["sync"] != "pending")
    }

    /// [`TestApp::wait_call`] for a call this token reads.
    pub fn wait_call(&self, call_id: &str, ready: impl Fn(&Value) -> bool) -> CallView {
        self.app.wait_call_for(&self.token, call_id, WAIT, ready)
    }
}

/// Logs of the apps on stderr, with `TEST_LOG=<filter>` (e.g. `TEST_LOG=debug`);
/// silent otherwise.
fn init_logs() {
    if let Ok(filter) = std::env::var("TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
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

/// The `[metrics] token` of the tests that read `/metrics` as Prometheus does.
pub const METRICS_TOKEN: &str = "metrics-scrape-token-0123456789";

/// The config section that lets [`TestApp::scrape`] read `/metrics`.
pub fn metrics_section() -> String {
    format!("[metrics]\ntoken = \"{METRICS_TOKEN}\"\n")
}

impl TestApp {
    /// `/metrics` as Prometheus reads it, with [`METRICS_TOKEN`] (the app's
    /// config has [`metrics_section`]).
    pub fn scrape(&self) -> String {
        let resp = self
            .client()
            .get(self.url("/metrics"))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .expect("scrape");
        assert_eq!(resp.status().as_u16(), 200, "/metrics refused the token");
        resp.text().expect("text")
    }
}

/// The session cookie an answer sets.
fn set_cookie_of(headers: &reqwest::header::HeaderMap) -> String {
    headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a session cookie")
        .to_string()
}

/// A browser signed in to the agent page: its session cookie and CSRF token.
pub struct AgentBrowser<'a> {
    app: &'a TestApp,
    pub cookie: String,
    pub csrf: String,
    /// The sign-in answer's `Set-Cookie`, as the browser got it.
    pub set_cookie: String,
}

impl TestApp {
    /// Signs in to the agent page (`POST /api/v1/agent/login`); panics unless 200.
    pub fn sign_in(&self, body: &Value) -> AgentBrowser<'_> {
        let resp = self
            .client()
            .post(self.url("/api/v1/agent/login"))
            .json(body)
            .send()
            .expect("request");
        assert_eq!(resp.status().as_u16(), 200, "sign-in refused");
        let set_cookie = set_cookie_of(resp.headers());
        let body: Value = resp.json().expect("JSON");
        self.browser(set_cookie, &body)
    }

    /// The browser that got `set_cookie`, with the CSRF token of `me` (the
    /// sign-in's answer, or `/api/v1/agent/me`).
    fn browser(&self, set_cookie: String, me: &Value) -> AgentBrowser<'_> {
        AgentBrowser {
            app: self,
            cookie: set_cookie
                .split(';')
                .next()
                .expect("name=value")
                .to_string(),
            csrf: me["csrf_token"].as_str().expect("csrf_token").to_string(),
            set_cookie,
        }
    }

    /// Opens the Zendesk app's top bar as Zendesk does on its first load: a
    /// form POST of the `token` it signed, with `origin` and `app_guid` in the
    /// query. The answer's status, headers and page.
    pub fn zendesk_first_load(
        &self,
        token: Option<&str>,
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let mut req =
            self.client()
                .post(self.url(
                    "/zendesk/top_bar?origin=https%3A%2F%2Facme.zendesk.com&app_guid=5b1c0f2e",
                ))
                .header("content-type", "application/x-www-form-urlencoded");
        if let Some(token) = token {
            req = req.body(format!("token={}", urlencode(token)));
        }
        let resp = req.send().expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, headers, resp.text().expect("text"))
    }

    /// Signs in through the Zendesk app with `token` (panics unless it
    /// works): the browser with the session cookie Zendesk's frame keeps, and
    /// the CSRF token the page reads from `/api/v1/agent/me`.
    pub fn zendesk_sign_in(&self, token: &str) -> AgentBrowser<'_> {
        let (status, headers, page) = self.zendesk_first_load(Some(token));
        assert_eq!(status, 200, "the Zendesk sign-in was refused: {page}");
        let set_cookie = set_cookie_of(&headers);
        let cookie = set_cookie.split(';').next().expect("name=value");
        let me: Value = self
            .client()
            .get(self.url("/api/v1/agent/me"))
            .header("cookie", cookie)
            .send()
            .expect("me")
            .json()
            .expect("JSON");
        self.browser(set_cookie, &me)
    }

    /// A request without credentials; returns (status, body).
    pub fn send_anonymous(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut req = self
            .client()
            .request(method.parse().expect("method"), self.url(path));
        if let Some(b) = body {
            req = req.json(b);
        }
        respond(req)
    }
}

impl AgentBrowser<'_> {
    /// A request as the page sends it: the cookie, and the CSRF token.
    pub fn send(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.send_with(method, path, body, Some(&self.csrf.clone()))
    }

    /// A request with the cookie and the given CSRF header (`None`: without).
    pub fn send_with(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        csrf: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self
            .app
            .client()
            .request(method.parse().expect("method"), self.app.url(path))
            .header("cookie", &self.cookie);
        if let Some(token) = csrf {
            req = req.header("x-csrf-token", token);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        respond(req)
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        self.send("GET", path, None)
    }

    /// The call ids of the agent's caller log with the query's filters.
    pub fn call_ids(&self, query: &str) -> Vec<String> {
        let (status, body) = self.get(&format!("/api/v1/agent/calls{query}"));
        assert_eq!(status, 200, "{body}");
        ids(&body)
    }
}

/// The call ids of a caller-log answer, in order.
pub fn ids(log: &Value) -> Vec<String> {
    log["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|c| c["call_id"].as_str().expect("call_id").to_string())
        .collect()
}

fn respond(req: reqwest::blocking::RequestBuilder) -> (u16, Value) {
    let resp = req.send().expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().unwrap_or_default();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

/// A peer's HTTP server on 127.0.0.1 (a vendor's stand-in, a receiver), on a
/// runtime of its own so that blocking tests can talk to it: its base address,
/// and the runtime, which serves as long as it is kept.
pub fn serve_peer(app: axum::Router) -> (String, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("a port");
    let addr = listener.local_addr().expect("its address");
    rt.spawn(async move { axum::serve(listener, app).await.expect("serving") });
    (format!("http://{addr}"), rt)
}
