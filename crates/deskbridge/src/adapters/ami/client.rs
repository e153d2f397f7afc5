//! The AMI connection of one group: connect, log in, list the channels up now,
//! then read events until the connection drops; then again, after a backoff
//! (`backon`'s exponential backoff with jitter, reset by each successful login).
//!
//! The [`Tracker`] lives as long as the task, not the connection, so a call that
//! ends on the next connection is still finished (see the tracker's docs for the
//! `CoreShowChannels` listing that recovers what happened in between). Each
//! frame's events are committed before the next frame is read; a database that
//! refuses them is retried, so no event is lost to a failing database either.

use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use deskbridge_core::CallEvent;
use deskbridge_store::StoreError;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::frame::{Frame, FrameError, FrameReader, Item};
use super::tracker::Tracker;
use crate::config::AsteriskConfig;
use crate::state::{AppState, Group};

/// How long connecting and logging in may take.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(10);
/// A `Ping` is sent after this long without a byte from the PBX ...
const PING_AFTER: Duration = Duration::from_secs(20);
/// ... and the connection is given up after this long without one.
const SILENCE_LIMIT: Duration = Duration::from_secs(45);

const LOGIN_ID: &str = "deskbridge-login";
const CHALLENGE_ID: &str = "deskbridge-challenge";
const SYNC_ID: &str = "deskbridge-sync";
const QUEUES_ID: &str = "deskbridge-queues";

#[derive(Debug, thiserror::Error)]
enum SessionError {
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    #[error("connection lost: {0}")]
    Io(#[from] std::io::Error),
    #[error("the PBX closed the connection")]
    Closed,
    #[error("{0}")]
    Frame(#[from] FrameError),
    #[error(
        "the PBX refused the login of user {user:?} ({message}); check groups[].asterisk.username and secret against manager.conf"
    )]
    LoginRefused { user: String, message: String },
    #[error("no answer from the PBX for {0:?}")]
    Silent(Duration),
    #[error("timed out connecting or logging in")]
    Timeout,
    #[error(
        "TLS with the PBX failed: {0}; check groups[].asterisk.tls, ca_file and that the PBX's manager has tlsenable = yes"
    )]
    Tls(String),
}

/// An action for the group's manager connection (click-to-call's
/// `Originate`), and where its answer goes.
#[derive(Debug)]
pub struct Action {
    pub frame: Frame,
    pub answer: oneshot::Sender<Frame>,
}

/// Where a group's actions wait for its manager connection: the client task
/// sends each as soon as it is logged in and hands back the PBX's answer (the
/// frame with the action's `ActionID`).
#[derive(Debug)]
pub struct Inbox {
    tx: mpsc::Sender<Action>,
    rx: std::sync::Mutex<Option<mpsc::Receiver<Action>>>,
}

/// Why an action got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AskError {
    #[error("deskbridge is not connected to the PBX's manager interface; check the server log")]
    NotConnected,
    #[error("the connection to the PBX's manager interface dropped before it answered")]
    Lost,
}

impl Default for Inbox {
    fn default() -> Self {
        let (tx, rx) = mpsc::channel(16);
        Inbox {
            tx,
            rx: std::sync::Mutex::new(Some(rx)),
        }
    }
}

impl Inbox {
    /// Sends `frame` over the group's connection and waits up to `wait` for
    /// the answer.
    pub async fn ask(&self, frame: Frame, wait: Duration) -> Result<Frame, AskError> {
        let (answer, answered) = oneshot::channel();
        let sent = self.tx.send_timeout(Action { frame, answer }, wait);
        sent.await.map_err(|_| AskError::NotConnected)?;
        match tokio::time::timeout(wait, answered).await {
            Ok(Ok(frame)) => Ok(frame),
            Ok(Err(_)) => Err(AskError::Lost),
            Err(_) => Err(AskError::NotConnected),
        }
    }

    /// The receiving end, for the one client task.
    fn take(&self) -> Option<mpsc::Receiver<Action>> {
        self.rx.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// Starts the group's AMI client; it runs until `stop` turns true.
pub fn spawn(
    state: Arc<AppState>,
    group: Arc<Group>,
    settings: AsteriskConfig,
    stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(state, group, settings, stop))
}

fn backoff() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(30))
        .with_jitter()
        .without_max_times()
        .build()
}

async fn run(
    state: Arc<AppState>,
    group: Arc<Group>,
    settings: AsteriskConfig,
    mut stop: watch::Receiver<bool>,
) {
    let address = settings.socket_address();
    let mut task = Task {
        tracker: Tracker::new(group.region, state.directory.agents().as_ref().clone()),
        inbox: group.ami.as_ref().and_then(|i| i.take()),
    };
    let mut delays = backoff();
    loop {
        let mut logged_in = false;
        let result = session(
            &state,
            &group,
            &settings,
            &address,
            &mut task,
            &mut stop,
            &mut logged_in,
        )
        .await;
        if logged_in {
            delays = backoff();
        }
        let delay = delays.next().unwrap_or(Duration::from_secs(30));
        match result {
            Ok(()) => return,
            Err(e) => tracing::warn!(
                group = %group.name, %address, error = %e,
                calls_in_progress = task.tracker.calls_in_progress(),
                retry_in_ms = delay.as_millis() as u64,
                "Asterisk manager connection down; reconnecting"
            ),
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stopped(&mut stop) => return,
        }
    }
}

/// The next action to send, or never when the group has none.
async fn next_action(inbox: &mut Option<mpsc::Receiver<Action>>) -> Option<Action> {
    match inbox {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// What lives as long as the client task, across connections: the calls being
/// followed, and the group's actions waiting to be sent.
struct Task {
    tracker: Tracker,
    inbox: Option<mpsc::Receiver<Action>>,
}

/// One connection: `Ok` when told to stop, `Err` when it broke.
async fn session(
    state: &AppState,
    group: &Group,
    settings: &AsteriskConfig,
    address: &str,
    task: &mut Task,
    stop: &mut watch::Receiver<bool>,
    logged_in: &mut bool,
) -> Result<(), SessionError> {
    let mut conn = tokio::time::timeout(LOGIN_TIMEOUT, login(settings, address))
        .await
        .map_err(|_| SessionError::Timeout)??;
    *logged_in = true;
    let Task { tracker, inbox } = task;
    tracing::info!(group = %group.name, %address, "logged in to the Asterisk manager interface");
    // What is up now: recovers the calls that ended while we were away.
    tracker.begin_sync();
    conn.send(&Frame::of(&[
        ("Action", "CoreShowChannels"),
        ("ActionID", SYNC_ID),
    ]))
    .await?;
    // Who is paused now: the agents' pauses follow the listing's members
    // (a pause or resume made while deskbridge was away).
    if group.queues.is_some() {
        conn.send(&super::queue::queue_status(QUEUES_ID)).await?;
    }
    let mut last_heard = Instant::now();
    let mut pinged = false;
    // Actions sent on this connection, by ActionID, until their answer.
    let mut waiting: std::collections::HashMap<String, oneshot::Sender<Frame>> =
        std::collections::HashMap::new();
    loop {
        let frame = tokio::select! {
            frame = conn.next_frame() => frame?,
            action = next_action(inbox) => {
                match action {
                    Some(Action { frame, answer }) => {
                        conn.send(&frame).await?;
                        if let Some(id) = frame.get("ActionID") {
                            waiting.insert(id.to_string(), answer);
                        }
                    }
                    None => *inbox = None,
                }
                continue;
            }
            _ = tokio::time::sleep_until(last_heard + if pinged { SILENCE_LIMIT } else { PING_AFTER }) => {
                if pinged {
                    return Err(SessionError::Silent(SILENCE_LIMIT));
                }
                conn.send(&Frame::of(&[("Action", "Ping"), ("ActionID", "deskbridge-ping")])).await?;
                pinged = true;
                continue;
            }
            _ = stopped(stop) => {
                let _ = conn.send(&Frame::of(&[("Action", "Logoff")])).await;
                return Ok(());
            }
        };
        last_heard = Instant::now();
        pinged = false;
        if frame.event().is_none()
            && let Some(answer) = frame.get("ActionID").and_then(|id| waiting.remove(id))
        {
            let _ = answer.send(frame);
            continue;
        }
        if frame.event().is_none() {
            let refused = frame
                .get("Response")
                .is_some_and(|r| r.eq_ignore_ascii_case("Error"));
            if refused && frame.get("ActionID") == Some(SYNC_ID) {
                tracker.cancel_sync();
                tracing::warn!(
                    group = %group.name,
                    message = frame.get("Message").unwrap_or_default(),
                    "the PBX refused CoreShowChannels, so calls that end while deskbridge is disconnected stay open; give the manager user write = reporting"
                );
            }
            continue;
        }
        if let Some(member) = super::queue::member(&frame) {
            crate::pauses::follow_member(state, group, &member).await;
            continue;
        }
        let now = chrono::Utc::now();
        let mut events = tracker.on_frame(&frame, now);
        // A dial whose first leg (the agent's phone) failed: its call ends.
        events.extend(super::originate::failed(&frame, now));
        let dropped = tracker.take_dropped();
        if dropped > 0 {
            metrics::counter!("deskbridge_ami_calls_dropped_total", "group" => group.name.clone())
                .increment(dropped);
            tracing::warn!(
                group = %group.name, dropped,
                "the AMI call tracker was full (calls whose hangup never came); dropped the oldest"
            );
        }
        if !events.is_empty() {
            commit(state, group, events, stop).await;
        }
    }
}

/// Commits a frame's events, retrying while the database fails. An event the
/// journal cannot start a call from (the end of a call that began before
/// deskbridge was watching, unknown to the journal) is dropped.
async fn commit(
    state: &AppState,
    group: &Group,
    events: Vec<CallEvent>,
    stop: &mut watch::Receiver<bool>,
) {
    let mut batch: Vec<_> = events
        .into_iter()
        .map(|e| crate::ingest::for_group(group, e))
        .collect();
    let mut delays = backoff();
    while !batch.is_empty() {
        match crate::ingest::commit(state, crate::ingest::Source::Asterisk, &batch).await {
            Ok(_) => return,
            Err(StoreError::Apply { index, source }) => {
                tracing::debug!(group = %group.name, error = %source, "AMI event of a call never seen starting: skipped");
                batch.remove(index.min(batch.len() - 1));
            }
            Err(StoreError::CallTooLarge { call_id, .. }) => {
                tracing::warn!(group = %group.name, %call_id, "call record full: its AMI events are skipped");
                batch.retain(|e| e.event.call_id != call_id);
            }
            Err(e) => {
                let delay = delays.next().unwrap_or(Duration::from_secs(30));
                tracing::warn!(group = %group.name, error = %e, "cannot commit AMI events; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stopped(stop) => return,
                }
            }
        }
    }
}

/// The connection's byte stream: TCP, or TLS over it (`tls = true`).
trait AmiIo: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> AmiIo for T {}

/// A logged-in connection.
struct Conn {
    stream: Box<dyn AmiIo>,
    reader: FrameReader,
    buf: Vec<u8>,
}

impl Conn {
    async fn send(&mut self, frame: &Frame) -> Result<(), SessionError> {
        self.stream.write_all(frame.encode().as_bytes()).await?;
        Ok(())
    }

    async fn next_item(&mut self) -> Result<Item, SessionError> {
        loop {
            if let Some(item) = self.reader.next_item() {
                return Ok(item?);
            }
            let n = self.stream.read(&mut self.buf).await?;
            if n == 0 {
                return Err(SessionError::Closed);
            }
            self.reader.push(&self.buf[..n]);
        }
    }

    /// The answer to the action sent with `action_id` (events before it are
    /// skipped: none are sent before the login).
    async fn answer_to(&mut self, action_id: &str) -> Result<Frame, SessionError> {
        loop {
            let f = self.next_frame().await?;
            if f.get("ActionID") == Some(action_id)
                || (f.get("Response").is_some() && f.get("ActionID").is_none())
            {
                return Ok(f);
            }
        }
    }

    async fn next_frame(&mut self) -> Result<Frame, SessionError> {
        loop {
            if let Item::Frame(f) = self.next_item().await? {
                return Ok(f);
            }
        }
    }
}

/// Connects, reads the banner, logs in and waits for the answer.
///
/// The secret never crosses the wire when the PBX offers the MD5 challenge
/// (Asterisk's `Action: Challenge` with `AuthType: MD5`, answered with a
/// `Challenge`; the login then sends `Key`, the MD5 of the challenge followed
/// by the secret, in lowercase hex: `action_challenge` and `authenticate` in
/// Asterisk's `main/manager.c`). A PBX that refuses the challenge gets the
/// plain `Secret` login.
async fn login(settings: &AsteriskConfig, address: &str) -> Result<Conn, SessionError> {
    let tcp = TcpStream::connect(address)
        .await
        .map_err(SessionError::Connect)?;
    let stream: Box<dyn AmiIo> = match settings.tls {
        false => Box::new(tcp),
        true => Box::new(tls_connect(settings, tcp).await?),
    };
    let mut conn = Conn {
        stream,
        reader: FrameReader::new(),
        buf: vec![0; 16 * 1024],
    };
    // The banner comes first; the reader refuses anything else.
    conn.next_item().await?;
    conn.send(&Frame::of(&[
        ("Action", "Challenge"),
        ("ActionID", CHALLENGE_ID),
        ("AuthType", "MD5"),
    ]))
    .await?;
    let offered = conn.answer_to(CHALLENGE_ID).await?;
    let login = match offered.get("Challenge").filter(|_| succeeded(&offered)) {
        Some(challenge) => Frame::of(&[
            ("Action", "Login"),
            ("ActionID", LOGIN_ID),
            ("AuthType", "MD5"),
            ("Username", &settings.username),
            ("Key", &md5_key(challenge, &settings.secret)),
            ("Events", "on"),
        ]),
        None => {
            tracing::warn!(
                user = %settings.username,
                "the PBX offers no MD5 challenge; logging in with the secret in the clear (use tls = true)"
            );
            Frame::of(&[
                ("Action", "Login"),
                ("ActionID", LOGIN_ID),
                ("Username", &settings.username),
                ("Secret", &settings.secret),
                ("Events", "on"),
            ])
        }
    };
    conn.send(&login).await?;
    let answer = conn.answer_to(LOGIN_ID).await?;
    match succeeded(&answer) {
        true => Ok(conn),
        false => Err(SessionError::LoginRefused {
            user: settings.username.clone(),
            message: answer
                .get("Message")
                .unwrap_or("no reason given")
                .to_string(),
        }),
    }
}

/// TLS over `tcp`, the PBX's certificate checked against `ca_file` (else the
/// built-in public roots) for the address's host.
async fn tls_connect(
    settings: &AsteriskConfig,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, SessionError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    let tls_error = |what: String| SessionError::Tls(what);
    let mut roots = rustls::RootCertStore::empty();
    match &settings.ca_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| tls_error(format!("cannot read ca_file {}: {e}", path.display())))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(tls_error(format!(
                    "ca_file {} holds no certificate; give the PEM of the CA that signed the PBX's certificate",
                    path.display()
                )));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| tls_error(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = ServerName::try_from(settings.host())
        .map_err(|e| tls_error(format!("{:?} is no host name: {e}", settings.host())))?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| tls_error(e.to_string()))
}

/// Whether the PBX answered an action `Response: Success`.
pub fn succeeded(answer: &Frame) -> bool {
    answer
        .get("Response")
        .is_some_and(|r| r.eq_ignore_ascii_case("Success"))
}

/// The MD5 login's `Key`: MD5 of the challenge then the secret, lowercase hex.
fn md5_key(challenge: &str, secret: &str) -> String {
    use md5::{Digest, Md5};
    let mut h = Md5::new();
    h.update(challenge.as_bytes());
    h.update(secret.as_bytes());
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asterisk's check (`authenticate` in `main/manager.c`): MD5 over the
    /// challenge and the secret, hex. The expected value is `md5sum` of the
    /// two written one after the other.
    #[test]
    fn the_md5_key_is_the_digest_of_challenge_and_secret() {
        // printf '%s' '840415273s3cret-ami' | md5sum
        assert_eq!(
            md5_key("840415273", "s3cret-ami"),
            "23adba581e9817be3cef93748521a02b"
        );
    }
}
