//! The Asterisk manager client against a scripted AMI server: a TCP listener in the
//! test that greets like Asterisk, checks the login, answers the channel listing
//! and plays event sequences after the AMI v2 specification's examples (simple
//! dial, failed dial, parallel dial, bridges, blind and attended transfers) and the
//! queue events of `app_queue` (QueueCallerJoin, AgentCalled, AgentConnect,
//! AgentComplete, QueueCallerAbandon). What is asserted is what a user sees: the
//! call in `GET /api/v1/calls/{Linkedid}` and its ticket and comment in the
//! built-in CRM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{CallView, TestApp, WAIT};

const TOKEN: &str = "ami-test-token-0123456789";
const CALLER: &str = "+14155550100";

/// A scripted Asterisk manager interface.
pub(crate) struct ScriptedAmi {
    listener: TcpListener,
    /// With TLS (Asterisk's `tlsenable = yes`): the server's certificate.
    tls: Option<Arc<rustls::ServerConfig>>,
}

/// The connection's bytes: TCP, or TLS over it.
trait Wire: Read + Write + Send {}
impl<T: Read + Write + Send> Wire for T {}

/// One accepted, logged-in manager connection.
struct AmiConn {
    stream: BufReader<Box<dyn Wire>>,
}

impl ScriptedAmi {
    pub(crate) fn bind() -> ScriptedAmi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        ScriptedAmi {
            listener,
            tls: None,
        }
    }

    /// A manager interface speaking TLS with a self-signed certificate for
    /// `localhost`; the certificate's PEM (the CA deskbridge is told to trust).
    fn bind_tls() -> (ScriptedAmi, String) {
        let rcgen::CertifiedKey { cert, key_pair } =
            rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
                .expect("a certificate");
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key_pair.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .expect("the certificate");
        let mut ami = ScriptedAmi::bind();
        ami.tls = Some(Arc::new(config));
        (ami, cert.pem())
    }

    pub(crate) fn address(&self) -> String {
        self.listener.local_addr().expect("addr").to_string()
    }

    /// Waits for deskbridge to connect and refuses its login, as Asterisk does for
    /// a wrong secret, then closes the connection.
    fn refuse(&self) {
        let mut conn = self.connect();
        conn.write("Asterisk Call Manager/7.0.3\r\n");
        let login = conn.login_action(Challenge::Offer);
        conn.write(&format!(
            "Response: Error\r\nActionID: {}\r\nMessage: Authentication failed\r\n\r\n",
            field(&login, "ActionID")
        ));
    }

    fn connect(&self) -> AmiConn {
        let deadline = Instant::now() + WAIT;
        let stream = loop {
            match self.listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "deskbridge never connected");
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        stream.set_nonblocking(false).expect("blocking");
        stream.set_read_timeout(Some(WAIT)).expect("timeout");
        let wire: Box<dyn Wire> = match &self.tls {
            None => Box::new(stream),
            Some(config) => Box::new(rustls::StreamOwned::new(
                rustls::ServerConnection::new(config.clone()).expect("a TLS session"),
                stream,
            )),
        };
        AmiConn {
            stream: BufReader::new(wire),
        }
    }

    /// Waits for deskbridge to connect; greets it, checks its login and answers its
    /// `CoreShowChannels` with `live` (uniqueid, linkedid, channel) as the channels
    /// up now.
    fn accept(&self, live: &[(&str, &str, &str)]) -> AmiConn {
        self.accept_with(live, Challenge::Offer)
    }

    /// [`ScriptedAmi::accept`] by a PBX that offers the MD5 challenge or not.
    fn accept_with(&self, live: &[(&str, &str, &str)], challenge: Challenge) -> AmiConn {
        let mut conn = self.logged_in(live, challenge);
        conn.list_queues(&[]);
        conn
    }

    /// [`ScriptedAmi::accept`] with these queue members listed after the
    /// login (see [`AmiConn::list_queues`]).
    fn accept_listing(&self, members: &[&str]) -> AmiConn {
        let mut conn = self.logged_in(&[], Challenge::Offer);
        conn.list_queues(members);
        conn
    }

    /// Greets, checks the login and answers the channel listing.
    fn logged_in(&self, live: &[(&str, &str, &str)], challenge: Challenge) -> AmiConn {
        let mut conn = self.connect();
        conn.write("Asterisk Call Manager/7.0.3\r\n");
        let login = conn.login_action(challenge);
        assert_eq!(field(&login, "Username"), "deskbridge");
        match challenge {
            // The secret never crosses the wire: the key proves it.
            Challenge::Offer => {
                assert_eq!(field(&login, "AuthType").to_ascii_lowercase(), "md5");
                assert_eq!(
                    field(&login, "Key"),
                    md5_hex(&format!("{CHALLENGE}s3cret-ami"))
                );
                assert!(login.iter().all(|(k, _)| k != "Secret"), "{login:?}");
            }
            Challenge::Refuse => assert_eq!(field(&login, "Secret"), "s3cret-ami"),
        }
        conn.write(&format!(
            "Response: Success\r\nActionID: {}\r\nMessage: Authentication accepted\r\n\r\n",
            field(&login, "ActionID")
        ));
        let list = conn.read_action();
        assert_eq!(field(&list, "Action"), "CoreShowChannels");
        let id = field(&list, "ActionID");
        conn.write(&format!(
            "Response: Success\r\nActionID: {id}\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\n"
        ));
        for (u, l, channel) in live {
            conn.write(&format!(
                "Event: CoreShowChannel\r\nActionID: {id}\r\nChannel: {channel}\r\nUniqueid: {u}\r\nLinkedid: {l}\r\nChannelState: 6\r\nChannelStateDesc: Up\r\n\r\n"
            ));
        }
        conn.write(&format!(
            "Event: CoreShowChannelsComplete\r\nActionID: {id}\r\nEventList: Complete\r\nListItems: {}\r\n\r\n",
            live.len()
        ));
        conn
    }
}

impl AmiConn {
    /// Answers the `QueueStatus` deskbridge sends after its login with
    /// `members` (each a `QueueMember` event's lines after its `Event`), as
    /// `app_queue`'s `manager_queues_status` does: a response, the events
    /// with the action's id, then `QueueStatusComplete`.
    fn list_queues(&mut self, members: &[&str]) {
        let action = self.read_action();
        assert_eq!(field(&action, "Action"), "QueueStatus", "{action:?}");
        let id = field(&action, "ActionID");
        self.write(&format!(
            "Response: Success\r\nActionID: {id}\r\nEventList: start\r\nMessage: Queue status will follow\r\n\r\n"
        ));
        for member in members {
            self.play(&format!("Event: QueueMember\n{member}\nActionID: {id}"));
        }
        self.write(&format!(
            "Event: QueueStatusComplete\r\nActionID: {id}\r\nEventList: Complete\r\nListItems: {}\r\n\r\n",
            members.len()
        ));
    }
}

/// Whether the scripted PBX answers `Action: Challenge`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Challenge {
    /// As Asterisk does (`action_challenge` in `main/manager.c`): `Response:
    /// Success` with a `Challenge` of random digits.
    Offer,
    /// As a manager interface without MD5 logins: `Response: Error`.
    Refuse,
}

/// The challenge the scripted PBX sends.
const CHALLENGE: &str = "840415273";

/// MD5, hex, computed here with its own implementation (the `md5sum` of the
/// text), not the client's.
fn md5_hex(text: &str) -> String {
    let out = std::process::Command::new("md5sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(text.as_bytes())?;
            child.wait_with_output()
        })
        .expect("md5sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("a digest")
        .to_string()
}

impl AmiConn {
    /// Reads the client's login, answering its `Challenge` first (as
    /// `challenge` says) when it asks for one; the `Login` action's fields.
    fn login_action(&mut self, challenge: Challenge) -> Vec<(String, String)> {
        let mut action = self.read_action();
        if field(&action, "Action") == "Challenge" {
            assert_eq!(field(&action, "AuthType").to_ascii_lowercase(), "md5");
            let id = field(&action, "ActionID");
            match challenge {
                Challenge::Offer => self.write(&format!(
                    "Response: Success\r\nActionID: {id}\r\nChallenge: {CHALLENGE}\r\n\r\n"
                )),
                Challenge::Refuse => self.write(&format!(
                    "Response: Error\r\nActionID: {id}\r\nMessage: Invalid/unknown command: Challenge\r\n\r\n"
                )),
            }
            action = self.read_action();
        }
        assert_eq!(field(&action, "Action"), "Login");
        action
    }

    fn write(&mut self, text: &str) {
        let wire = self.stream.get_mut();
        wire.write_all(text.as_bytes()).expect("write");
        wire.flush().expect("flush");
    }

    /// Plays one event written with `\n` line ends (leading spaces ignored), sent
    /// as AMI sends it (`\r\n`, an empty line after).
    fn play(&mut self, script: &str) {
        let mut wire = String::new();
        for line in script.trim().lines() {
            wire.push_str(line.trim());
            wire.push_str("\r\n");
        }
        wire.push_str("\r\n");
        self.write(&wire);
    }

    fn read_action(&mut self) -> Vec<(String, String)> {
        let mut fields = Vec::new();
        loop {
            let mut line = String::new();
            let n = self.stream.read_line(&mut line).expect("read");
            assert!(n > 0, "deskbridge closed the connection");
            let line = line.trim_end();
            if line.is_empty() {
                if fields.is_empty() {
                    continue;
                }
                return fields;
            }
            let (k, v) = line.split_once(": ").unwrap_or((line, ""));
            fields.push((k.to_string(), v.to_string()));
        }
    }
}

impl AmiConn {
    /// The next action deskbridge sends, waiting as long as it takes; `None`
    /// once it closed the connection.
    fn next_action(&mut self) -> Option<Vec<(String, String)>> {
        let mut fields = Vec::new();
        loop {
            let mut line = String::new();
            match self.stream.read_line(&mut line) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue;
                }
                Err(_) => return None,
            }
            let line = line.trim_end();
            if line.is_empty() {
                if fields.is_empty() {
                    continue;
                }
                return Some(fields);
            }
            let (k, v) = line.split_once(": ").unwrap_or((line, ""));
            fields.push((k.to_string(), v.to_string()));
        }
    }
}

fn field(frame: &[(String, String)], key: &str) -> String {
    frame
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn app_for(ami: &ScriptedAmi) -> TestApp {
    app_with(&format!("address = \"{}\"", ami.address()))
}

/// The app with `asterisk_keys` (the address, and TLS's) in `[groups.asterisk]`.
fn app_with(asterisk_keys: &str) -> TestApp {
    let config = format!(
        r#"
[[agents]]
email = "ann@acme.com"
name = "Ann Example"
extension = "101"

[[agents]]
email = "bob@acme.com"
name = "Bob Example"
extension = "102"

[[groups]]
name = "support"
tokens = ["{TOKEN}"]
[groups.asterisk]
{asterisk_keys}
username = "deskbridge"
secret = "s3cret-ami"
"#
    );
    TestApp::with_config(&config, TOKEN)
}

const ANN_PASSWORD: &str = "ann-on-the-pbx-1";

/// The app on the scripted PBX with Ann signing in by password: the group's
/// caller-id rules, click-to-call (`agent_channel`) and pause reasons, and
/// `group_keys` (before `[groups.asterisk]`).
pub(crate) fn ann_app(ami: &ScriptedAmi, group_keys: &str) -> TestApp {
    let hash = deskbridge::agent_auth::hash_password(ANN_PASSWORD).expect("a hash");
    let config = format!(
        r#"
[[agents]]
email = "ann@acme.com"
name = "Ann Example"
extension = "101"
password_hash = "{hash}"

[[groups]]
name = "support"
tokens = ["{TOKEN}"]
default_caller_id = "+14155550199"
{group_keys}
[[groups.caller_id_rules]]
dest = "1415555*"
caller_id = "+14155550111"
[groups.asterisk]
address = "{}"
username = "deskbridge"
secret = "s3cret-ami"
agent_channel = "PJSIP/{{{{ agent.extension }}}}"
pause_reasons = ["Lunch", "Break"]
"#,
        ami.address()
    );
    TestApp::with_config(&config, TOKEN)
}

pub(crate) fn ann(app: &TestApp) -> crate::common::AgentBrowser<'_> {
    app.sign_in(&serde_json::json!({"email": "ann@acme.com", "password": ANN_PASSWORD}))
}

/// The caller's trunk channel: the call's first channel (`Uniqueid` = `Linkedid`).
fn inbound_start(l: &str) -> String {
    format!(
        "Event: Newchannel
        Privilege: call,all
        Channel: PJSIP/trunk-00000001
        ChannelState: 0
        ChannelStateDesc: Down
        CallerIDNum: {CALLER}
        CallerIDName: Miss Piggy
        Context: from-trunk
        Exten: 4155550199
        Priority: 1
        Uniqueid: {l}
        Linkedid: {l}"
    )
}

/// A new channel of the call `l` to `ext`'s phone (`PJSIP/{ext}-{seq}`).
fn agent_channel(l: &str, u: &str, ext: &str, seq: &str) -> String {
    format!(
        "Event: Newchannel
        Channel: PJSIP/{ext}-{seq}
        ChannelState: 0
        ChannelStateDesc: Down
        CallerIDNum: {ext}
        Exten: s
        Uniqueid: {u}
        Linkedid: {l}"
    )
}

fn dial(event: &str, l: &str, u: &str, ext: &str, seq: &str, status: &str) -> String {
    format!(
        "Event: {event}
        Channel: PJSIP/trunk-00000001
        Uniqueid: {l}
        Linkedid: {l}
        DestChannel: PJSIP/{ext}-{seq}
        DestUniqueid: {u}
        DestLinkedid: {l}
        DialString: {ext}
        DialStatus: {status}"
    )
}

fn bridge(event: &str, bridge: &str, channel: &str, u: &str, l: &str) -> String {
    format!(
        "Event: {event}
        BridgeUniqueid: {bridge}
        BridgeType: basic
        BridgeTechnology: simple_bridge
        Channel: {channel}
        Uniqueid: {u}
        Linkedid: {l}"
    )
}

fn hangup(channel: &str, u: &str, l: &str, cause: u32) -> String {
    format!(
        "Event: Hangup
        Channel: {channel}
        Uniqueid: {u}
        Linkedid: {l}
        Cause: {cause}
        Cause-txt: Normal Clearing"
    )
}

/// The call as the API shows it once its helpdesk work is done.
fn finished(app: &TestApp, call_id: &str) -> CallView {
    let call = app.wait_call(call_id, |c| c["state"] == "ended" && c["sync"] == "done");
    assert_eq!(call["group"], "support");
    assert_eq!(call["direction"], "inbound");
    assert_eq!(call["from"], CALLER);
    call
}

/// The call's one comment.
fn comment(app: &TestApp, call: &Value) -> String {
    let ticket = call["ticket_id"].as_str().expect("a ticket");
    let comments = app.comments(ticket);
    assert_eq!(comments.len(), 1, "{comments:?}");
    comments[0]["body"].as_str().unwrap_or_default().to_string()
}

#[test]
fn an_inbound_call_answered_by_an_agent_is_a_ticket_assigned_to_them() {
    let ami = ScriptedAmi::bind();
    let app = app_for(&ami);
    let mut pbx = ami.accept(&[]);
    let l = "1700000001.10";
    for block in [
        inbound_start(l),
        agent_channel(l, "1700000001.11", "101", "00000002"),
        dial("DialBegin", l, "1700000001.11", "101", "00000002", ""),
        dial("DialEnd", l, "1700000001.11", "101", "00000002", "ANSWER"),
        bridge("BridgeEnter", "b-1", "PJSIP/trunk-00000001", l, l),
        bridge(
            "BridgeEnter",
            "b-1",
            "PJSIP/101-00000002",
            "1700000001.11",
            l,
        ),
        bridge("BridgeLeave", "b-1", "PJSIP/trunk-00000001", l, l),
        hangup("PJSIP/trunk-00000001", l, l, 16),
        bridge(
            "BridgeLeave",
            "b-1",
            "PJSIP/101-00000002",
            "1700000001.11",
            l,
        ),
        hangup("PJSIP/101-00000002", "1700000001.11", l, 16),
    ] {
        pbx.play(&block);
    }
    let call = finished(&app, l);
    assert_eq!(call["outcome"], "answered");
    assert_eq!(call["to"], "+14155550199");
    assert_eq!(call["agent"]["email"], "ann@acme.com");
    assert_eq!(
        app.ticket(call["ticket_id"].as_str().unwrap())["assignee"],
        "ann@acme.com"
    );
    let body = comment(&app, &call);
    assert!(body.contains("Agent: Ann Example <ann@acme.com>"), "{body}");
    assert!(body.contains("Outcome: answered"), "{body}");
}

/// Issue 25, point 7: the login proves the secret by the MD5 challenge when the
/// PBX offers it (every test above: `accept` checks the `Key` and that no
/// `Secret` was sent); a manager interface that refuses the challenge still
/// gets a login, with the secret, and its calls are logged.
#[test]
fn a_pbx_without_the_md5_challenge_still_gets_a_login() {
    let ami = ScriptedAmi::bind();
    let app = app_for(&ami);
    let mut pbx = ami.accept_with(&[], Challenge::Refuse);
    a_short_call_comes_through(&app, &mut pbx, "1700000009.10");
}

/// A call that rings and hangs up, played on `pbx`: it is the app's call,
/// from the caller, ended.
fn a_short_call_comes_through(app: &TestApp, pbx: &mut AmiConn, l: &str) {
    pbx.play(&inbound_start(l));
    pbx.play(&hangup("PJSIP/trunk-00000001", l, l, 16));
    let call = finished(app, l);
    assert_eq!(call["from"], CALLER);
    assert_eq!(call["state"], "ended");
}

/// Issue 25, point 7: `tls = true` with the CA to trust: the manager
/// connection is TLS (the scripted PBX only speaks TLS), the certificate is
/// checked for the address's host, and calls come through as over TCP.
#[test]
fn a_pbx_reached_over_tls_with_its_ca_logs_calls() {
    let (ami, ca) = ScriptedAmi::bind_tls();
    let dir = tempfile::tempdir().expect("a dir");
    let ca_file = dir.path().join("pbx-ca.pem");
    std::fs::write(&ca_file, ca).expect("the CA file");
    let port = ami
        .address()
        .rsplit_once(':')
        .expect("a port")
        .1
        .to_string();
    let app = app_with(&format!(
        "address = \"localhost:{port}\"\ntls = true\nca_file = \"{}\"",
        ca_file.display()
    ));
    let mut pbx = ami.accept(&[]);
    a_short_call_comes_through(&app, &mut pbx, "1700000010.10");
}

#[test]
fn a_call_nobody_answers_is_one_missed_call() {
    let ami = ScriptedAmi::bind();
    let app = app_for(&ami);
    let mut pbx = ami.accept(&[]);
    let l = "1700000002.20";
    // The specification's "Simple Failed Dial": the dial times out.
    for block in [
        inbound_start(l),
        agent_channel(l, "1700000002.21", "101", "00000003"),
        dial("DialBegin", l, "1700000002.21", "101", "00000003", ""),
        dial("DialEnd", l, "1700000002.21", "101", "00000003", "NOANSWER"),
        hangup("PJSIP/101-00000003", "1700000002.21", l, 19),
        hangup("PJSIP/trunk-00000001", l, l, 16),
    ] {
        pbx.play(&block);
    }
    let call = finished(&app, l);
    assert_eq!(call["outcome"], "missed");
    assert_eq!(call["agent"], Value::Null);
    assert!(comment(&app, &call).contains("Outcome: missed"));
    assert_eq!(app.all("tickets").len(), 1);
}

#[test]
fn a_queue_call_is_the_answering_members_and_the_others_rung_make_no_missed_call() {
    let ami = ScriptedAmi::bind();
    let app = app_for(&ami);
    let mut pbx = ami.accept(&[]);
    let l = "1700000003.30";
    let queue_event = |event: &str, u: &str, ext: &str, seq: &str, extra: &str| {
        format!(
            "Event: {event}
            Channel: PJSIP/trunk-00000001
            Uniqueid: {l}
            Linkedid: {l}
            CallerIDNum: {CALLER}
            DestChannel: PJSIP/{ext}-{seq}
            DestUniqueid: {u}
            DestLinkedid: {l}
            Queue: support
            MemberName: Member {ext}
            Interface: PJSIP/{ext}
            {extra}"
        )
    };
    for block in [
        inbound_start(l),
        format!(
            "Event: QueueCallerJoin
            Channel: PJSIP/trunk-00000001
            Uniqueid: {l}
            Linkedid: {l}
            CallerIDNum: {CALLER}
            Queue: support
            Position: 1
            Count: 1"
        ),
        agent_channel(l, "1700000003.31", "101", "00000004"),
        agent_channel(l, "1700000003.32", "102", "00000005"),
        queue_event("AgentCalled", "1700000003.31", "101", "00000004", ""),
        queue_event("AgentCalled", "1700000003.32", "102", "00000005", ""),
        // The specification's "Parallel Dial": one answers, the other is cancelled.
        dial("DialEnd", l, "1700000003.32", "102", "00000005", "ANSWER"),
        dial("DialEnd", l, "1700000003.31", "101", "00000004", "CANCEL"),
        hangup("PJSIP/101-00000004", "1700000003.31", l, 26),
        queue_event(
            "AgentConnect",
            "1700000003.32",
            "102",
            "00000005",
            "RingTime: 4\nHoldTime: 9",
        ),
        bridge("BridgeEnter", "b-3", "PJSIP/trunk-00000001", l, l),
        bridge(
            "BridgeEnter",
            "b-3",
            "PJSIP/102-00000005",
            "1700000003.32",
            l,
        ),
        queue_event(
            "AgentComplete",
            "1700000003.32",
            "102",
            "00000005",
            "HoldTime: 9\nTalkTime: 60\nReason: caller",
        ),
        bridge("BridgeLeave", "b-3", "PJSIP/trunk-00000001", l, l),
        hangup("PJSIP/trunk-00000001", l, l, 16),
        hangup("PJSIP/102-00000005", "1700000003.32", l, 16),
    ] {
        pbx.play(&block);
    }
    let call = finished(&app, l);
    assert_eq!(call["outcome"], "answered");
    assert_eq!(call["queue"], "support");
    let agents: Vec<&Value> = call["agents"].as_array().unwrap().iter().collect();
    assert_eq!(agents.len(), 1, "{agents:?}");
    assert_eq!(agents[0]["email"], "bob@acme.com");
    assert_eq!(
        app.ticket(call["ticket_id"].as_str().unwrap())["assignee"],
        "bob@acme.com"
    );
    let body = comment(&app, &call);
    assert!(body.contains("Bob Example"), "{body}");
    assert!(!body.contains("Ann"), "{body}");
    // No missed call for Ann, who was rung too.
    let (_, log) = app.get("/api/v1/calls?limit=10");
    assert_eq!(log["calls"].as_array().map(Vec::len), Some(1), "{log}");
}

#[test]
fn a_caller_who_hangs_up_in_the_queue_is_an_abandoned_call() {
    let ami = ScriptedAmi::bind();
    let app = app_for(&ami);
    let mut pbx = ami.accept(&[]);
    let l = "1700000004.40";
    for block in [
        inbound_start(l),
        format!(
            "Event: QueueCallerJoin
            Channel: PJSIP/trunk-00000001
            Uniqueid: {l}
            Linkedid: {l}
            Queue: support
            Position: 1
            Count: 1"
        ),
        format!(
            "Event: QueueCallerAbandon
            Channel: PJSIP/trunk-00000001
            Uniqueid: {l}
            Linkedid: {l}
            Queue: support
            Position: 1
            OriginalPosition: 1
            HoldTime: 31"
        ),
        hangup("PJSIP/trunk-00000001", l, l, 16),
    ] {
        pbx.play(&block);
    }
    let call = finished(&app, l);
    assert_eq!(call["outcome"], "abandoned");
    assert_eq!(call["queue"], "support");
}

#[test]
fn a_blind_transfer_ends_on_one_ticket_naming_both_agents() {
    let ami = ScriptedAmi::bind();
    let app = app_for(&ami);
    let mut pbx = ami.accept(&[]);
    let l = "1700000005.50";
    for block in [
        inbound_start(l),
        agent_channel(l, "1700000005.51", "101", "00000006"),
        dial("DialEnd", l, "1700000005.51", "101", "00000006", "ANSWER"),
        bridge("BridgeEnter", "b-5", "PJSIP/trunk-00000001", l, l),
        bridge(
            "BridgeEnter",
            "b-5",
            "PJSIP/101-00000006",
            "1700000005.51",
            l,
        ),
        // The specification's "Blind Transfer": Ann sends the caller to 102.
        String::from(
            "Event: BlindTransfer
            Result: Success
            TransfererChannel: PJSIP/101-00000006
            TransfererUniqueid: 1700000005.51
            BridgeUniqueid: b-5
            Context: default
            Extension: 102",
        ),
        bridge(
            "BridgeLeave",
            "b-5",
            "PJSIP/101-00000006",
            "1700000005.51",
            l,
        ),
        hangup("PJSIP/101-00000006", "1700000005.51", l, 16),
        agent_channel(l, "1700000005.52", "102", "00000007"),
        dial("DialEnd", l, "1700000005.52", "102", "00000007", "ANSWER"),
        bridge(
            "BridgeEnter",
            "b-5",
            "PJSIP/102-00000007",
            "1700000005.52",
            l,
        ),
        bridge("BridgeLeave", "b-5", "PJSIP/trunk-00000001", l, l),
        hangup("PJSIP/trunk-00000001", l, l, 16),
        bridge(
            "BridgeLeave",
            "b-5",
            "PJSIP/102-00000007",
            "1700000005.52",
            l,
        ),
        hangup("PJSIP/102-00000007", "1700000005.52", l, 16),
    ] {
        pbx.play(&block);
    }
    let call = finished(&app, l);
    assert_eq!(call["outcome"], "answered");
    let emails: Vec<&str> = call["agents"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["email"].as_str())
        .collect();
    assert_eq!(emails, ["ann@acme.com", "bob@acme.com"]);
    assert_eq!(app.all("tickets").len(), 1);
    assert_eq!(
        app.ticket(call["ticket_id"].as_str().unwrap())["assignee"],
        "bob@acme.com"
    );
    let body = comment(&app, &call);
    assert!(
        body.contains("Agents: Ann Example <ann@acme.com>, then Bob Example <bob@acme.com>"),
        "{body}"
    );
}

#[test]
fn an_attended_transfer_through_a_consultation_call_names_the_second_agent() {
    let ami = ScriptedAmi::bind();
    let app = app_for(&ami);
    let mut pbx = ami.accept(&[]);
    let l = "1700000006.60";
    // Ann answers; then consults Bob on a call of her own (its own Linkedid), and
    // the attended transfer moves the caller into Bob's bridge.
    let consult = "1700000006.70";
    for block in [
        inbound_start(l),
        agent_channel(l, "1700000006.61", "101", "00000008"),
        dial("DialEnd", l, "1700000006.61", "101", "00000008", "ANSWER"),
        bridge("BridgeEnter", "b-6", "PJSIP/trunk-00000001", l, l),
        bridge(
            "BridgeEnter",
            "b-6",
            "PJSIP/101-00000008",
            "1700000006.61",
            l,
        ),
        agent_channel(consult, consult, "101", "00000009"),
        agent_channel(consult, "1700000006.71", "102", "0000000a"),
        bridge("BridgeEnter", "b-7", "PJSIP/101-00000009", consult, consult),
        bridge(
            "BridgeEnter",
            "b-7",
            "PJSIP/102-0000000a",
            "1700000006.71",
            consult,
        ),
        String::from(
            "Event: AttendedTransfer
            Result: Success
            OrigTransfererChannel: PJSIP/101-00000008
            OrigBridgeUniqueid: b-6
            SecondTransfererChannel: PJSIP/101-00000009
            SecondBridgeUniqueid: b-7
            DestType: Bridge
            DestBridgeUniqueid: b-7",
        ),
        bridge(
            "BridgeLeave",
            "b-6",
            "PJSIP/101-00000008",
            "1700000006.61",
            l,
        ),
        hangup("PJSIP/101-00000008", "1700000006.61", l, 16),
        bridge("BridgeLeave", "b-7", "PJSIP/101-00000009", consult, consult),
        hangup("PJSIP/101-00000009", consult, consult, 16),
        bridge("BridgeLeave", "b-6", "PJSIP/trunk-00000001", l, l),
        bridge("BridgeEnter", "b-7", "PJSIP/trunk-00000001", l, l),
        bridge("BridgeLeave", "b-7", "PJSIP/trunk-00000001", l, l),
        hangup("PJSIP/trunk-00000001", l, l, 16),
        bridge(
            "BridgeLeave",
            "b-7",
            "PJSIP/102-0000000a",
            "1700000006.71",
            consult,
        ),
        hangup("PJSIP/102-0000000a", "1700000006.71", consult, 16),
    ] {
        pbx.play(&block);
    }
    let call = finished(&app, l);
    let emails: Vec<&str> = call["agents"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["email"].as_str())
        .collect();
    assert_eq!(emails, ["ann@acme.com", "bob@acme.com"]);
    assert_eq!(
        app.ticket(call["ticket_id"].as_str().unwrap())["assignee"],
        "bob@acme.com"
    );
    // Ann's consultation call is an internal call, not a customer's.
    let (_, log) = app.get("/api/v1/calls?limit=10");
    let ids: Vec<&str> = log["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["call_id"].as_str())
        .collect();
    assert_eq!(ids, [l], "{log}");
}

#[test]
fn a_call_whose_hangup_comes_after_a_reconnect_still_ends() {
    let ami = ScriptedAmi::bind();
    let app = app_for(&ami);
    let mut pbx = ami.accept(&[]);
    let l = "1700000007.80";
    for block in [
        inbound_start(l),
        agent_channel(l, "1700000007.81", "101", "0000000b"),
        dial("DialEnd", l, "1700000007.81", "101", "0000000b", "ANSWER"),
        bridge("BridgeEnter", "b-8", "PJSIP/trunk-00000001", l, l),
        bridge(
            "BridgeEnter",
            "b-8",
            "PJSIP/101-0000000b",
            "1700000007.81",
            l,
        ),
    ] {
        pbx.play(&block);
    }
    app.wait_call(l, |c| c["state"] == "answered");
    // The PBX goes away mid-call; deskbridge reconnects and the call is still up.
    drop(pbx);
    let mut pbx = ami.accept(&[
        (l, l, "PJSIP/trunk-00000001"),
        ("1700000007.81", l, "PJSIP/101-0000000b"),
    ]);
    for block in [
        hangup("PJSIP/trunk-00000001", l, l, 16),
        hangup("PJSIP/101-0000000b", "1700000007.81", l, 16),
    ] {
        pbx.play(&block);
    }
    let call = finished(&app, l);
    assert_eq!(call["outcome"], "answered");
    assert_eq!(call["agent"]["email"], "ann@acme.com");
    assert!(comment(&app, &call).contains("Outcome: answered"));
}

#[test]
fn a_call_that_ended_while_disconnected_is_finished_at_the_reconnect() {
    let ami = ScriptedAmi::bind();
    let app = app_for(&ami);
    let mut pbx = ami.accept(&[]);
    let l = "1700000008.90";
    for block in [
        inbound_start(l),
        agent_channel(l, "1700000008.91", "102", "0000000c"),
        dial("DialEnd", l, "1700000008.91", "102", "0000000c", "ANSWER"),
    ] {
        pbx.play(&block);
    }
    app.wait_call(l, |c| c["state"] == "answered");
    drop(pbx);
    // Both channels hung up while deskbridge was away: the listing no longer has them.
    let _pbx = ami.accept(&[]);
    let call = finished(&app, l);
    assert_eq!(call["outcome"], "answered");
    assert_eq!(call["agent"]["email"], "bob@acme.com");
}

#[test]
fn the_same_events_heard_twice_make_one_call_and_one_ticket() {
    let ami = ScriptedAmi::bind();
    let app = app_for(&ami);
    let mut pbx = ami.accept(&[]);
    let l = "1700000009.95";
    let script = [
        inbound_start(l),
        agent_channel(l, "1700000009.96", "101", "0000000d"),
        dial("DialEnd", l, "1700000009.96", "101", "0000000d", "ANSWER"),
    ];
    for block in &script {
        pbx.play(block);
    }
    app.wait_call(l, |c| c["state"] == "answered");
    // Another instance's view, or a PBX replaying: the same facts again.
    drop(pbx);
    let mut pbx = ami.accept(&[
        (l, l, "PJSIP/trunk-00000001"),
        ("1700000009.96", l, "PJSIP/101-0000000d"),
    ]);
    for block in &script {
        pbx.play(block);
    }
    pbx.play(&hangup("PJSIP/trunk-00000001", l, l, 16));
    pbx.play(&hangup("PJSIP/101-0000000d", "1700000009.96", l, 16));
    let call = finished(&app, l);
    assert_eq!(call["agents"].as_array().map(Vec::len), Some(1));
    assert_eq!(app.all("tickets").len(), 1);
    comment(&app, &call);
}

#[test]
fn a_refused_login_is_tried_again_and_the_calls_after_it_are_logged() {
    let ami = ScriptedAmi::bind();
    let app = app_for(&ami);
    // The PBX refuses the first login (a secret changed on one side, say) ...
    ami.refuse();
    // ... and takes the next one, after deskbridge's pause.
    let mut pbx = ami.accept(&[]);
    let l = "1700000010.99";
    for block in [
        inbound_start(l),
        agent_channel(l, "1700000010.98", "101", "0000000e"),
        dial("DialEnd", l, "1700000010.98", "101", "0000000e", "ANSWER"),
        hangup("PJSIP/trunk-00000001", l, l, 16),
        hangup("PJSIP/101-0000000e", "1700000010.98", l, 16),
    ] {
        pbx.play(&block);
    }
    let call = finished(&app, l);
    assert_eq!(call["agent"]["email"], "ann@acme.com");
}

#[test]
fn an_agents_call_to_a_customer_is_an_outbound_call_on_the_customers_ticket() {
    let ami = ScriptedAmi::bind();
    let app = app_for(&ami);
    let mut pbx = ami.accept(&[]);
    let l = "1700000011.50";
    let trunk_leg = "1700000011.51";
    for block in [
        format!(
            "Event: Newchannel
            Channel: PJSIP/102-0000000f
            CallerIDNum: 102
            CallerIDName: Bob Example
            Exten: 4155550100
            Uniqueid: {l}
            Linkedid: {l}"
        ),
        format!(
            "Event: Newchannel
            Channel: PJSIP/trunk-00000010
            Uniqueid: {trunk_leg}
            Linkedid: {l}"
        ),
        format!(
            "Event: DialBegin
            Channel: PJSIP/102-0000000f
            Uniqueid: {l}
            Linkedid: {l}
            DestChannel: PJSIP/trunk-00000010
            DestUniqueid: {trunk_leg}
            DestLinkedid: {l}
            DialString: trunk/4155550100"
        ),
        format!(
            "Event: DialEnd
            Channel: PJSIP/102-0000000f
            Uniqueid: {l}
            Linkedid: {l}
            DestChannel: PJSIP/trunk-00000010
            DestUniqueid: {trunk_leg}
            DestLinkedid: {l}
            DialStatus: ANSWER"
        ),
        hangup("PJSIP/trunk-00000010", trunk_leg, l, 16),
        hangup("PJSIP/102-0000000f", l, l, 16),
    ] {
        pbx.play(&block);
    }
    let call = app.wait_call(l, |c| c["state"] == "ended" && c["sync"] == "done");
    assert_eq!(call["direction"], "outbound");
    assert_eq!(call["to"], CALLER);
    assert_eq!(call["outcome"], "answered");
    assert_eq!(call["agent"]["email"], "bob@acme.com");
    let contact = app.contacts_by_phone(CALLER);
    assert_eq!(contact.len(), 1);
    assert_eq!(call["contact_id"], contact[0]["id"]);
    assert!(comment(&app, &call).contains("Direction: outbound"));
}

pub(crate) mod dial;
mod pause;
