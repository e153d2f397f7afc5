//! Issue 16, point 2: no configured secret reaches the log. The real binary
//! runs at `RUST_LOG=debug` (the most it logs) on PostgreSQL, with a
//! distinctive value for every secret it is given: the database password,
//! group tokens (one in a CTI URL's path), an agent's sign-in token, the
//! Zendesk API token, a Twilio auth token, a trigger's signing secret and a key
//! in a trigger URL's userinfo and query, and `/metrics`' token. Calls go
//! through every path: the native API on Zendesk and on the built-in CRM,
//! Zammad's CTI, a Twilio callback, the agent sign-in, the triggers' sender
//! (JSON and query, delivered), a scrape. Then the whole log and stdout are
//! searched for each secret (and for the Zendesk credential as it is sent,
//! base64 in `Authorization`).

use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::json;
use zendesk_emulator::{Emulator, EmulatorConfig};

use crate::instances::Schema;
use crate::server::*;

const DB_PASSWORD: &str = "dbpass7Q3xSecret";
const ZD_TOKEN: &str = "zdtokenK9w2Secret";
const ZD_TOKEN_GROUP: &str = "ingest-zd-tokenP4m1Secret";
const CRM_TOKEN: &str = "ingest-crm-tokenR8v6Secret";
const AGENT_TOKEN: &str = "agent-kiosk-tokenT2n5Secret-0123456789";
const TWILIO_TOKEN: &str = "twilioauthH3j8Secret";
const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const URL_USER_PASS: &str = "urlpassB6c4Secret";
const URL_KEY: &str = "urlkeyL1f9Secret";
const METRICS_TOKEN: &str = "metrics-tokenZ5d7Secret";

/// A trigger receiver on 127.0.0.1 answering 204, counting what it got.
fn receiver(
    rt: &tokio::runtime::Runtime,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let seen = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    let app = axum::Router::<()>::new().fallback(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async { axum::http::StatusCode::NO_CONTENT }
    });
    rt.spawn(async move { axum::serve(listener, app).await });
    (base, seen)
}

#[test]
fn no_secret_reaches_the_log_at_debug_level() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let zd = rt
        .block_on(
            Emulator::new(EmulatorConfig::new("admin@acme.com", ZD_TOKEN)).start("127.0.0.1:0"),
        )
        .expect("emulator");
    let ann = zd.seed_agent("ann@acme.com", "Ann Example");
    let (hooks, delivered) = receiver(&rt);
    let schema = Schema::new();
    let database_url = schema
        .url()
        .replace("postgres@", &format!("postgres:{DB_PASSWORD}@"));
    assert!(database_url.contains(DB_PASSWORD), "{database_url}");
    let config = format!(
        r#"
[server]
public_url = "http://deskbridge.test"

[metrics]
token = "{METRICS_TOKEN}"

[backends.zendesk]
kind = "zendesk"
base_url = "{zd_base}"
email = "admin@acme.com"
api_token = "{ZD_TOKEN}"

[[agents]]
email = "ann@acme.com"
name = "Ann Example"
zendesk_id = "{ann}"
token = "{AGENT_TOKEN}"

[[groups]]
name = "support"
backend = "zendesk"
tokens = ["{ZD_TOKEN_GROUP}"]
twilio_auth_token = "{TWILIO_TOKEN}"

[[groups.triggers]]
entity = "ticket"
action = "create"
url = "http://hook:{URL_USER_PASS}@{hooks}/zendesk?key={URL_KEY}"
format = "json"
secret = "{WEBHOOK_SECRET}"

[[groups]]
name = "crm"
tokens = ["{CRM_TOKEN}"]

[[groups.triggers]]
entity = "contact"
action = "create"
url = "http://{hooks}/crm?key={URL_KEY}"
format = "query"

[triggers]
allow_private_networks = true
"#,
        zd_base = zd.base_url,
    );
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("deskbridge.log");
    let printed = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut opts = Options {
        config: Some(config),
        token: Some(ZD_TOKEN_GROUP.into()),
        stderr: Some(std::fs::File::create(&log_path).unwrap()),
        log: Some("debug".into()),
        printed: Some(printed.clone()),
        ..Options::default()
    };
    opts.env
        .push(("DESKBRIDGE_DATABASE_URL".into(), database_url.clone()));
    let mut server = Server::start_in(&dir.path().join("data"), opts);

    // The native API, on Zendesk (a user, a ticket, its trigger) and on the CRM.
    let (status, body) = server.post_events(&answered_call("s1", "+14155550160", "ann@acme.com"));
    assert_eq!(status, 202, "{body}");
    assert_eq!(server.wait_synced("s1")["sync"], "done");
    let crm = server.as_token(CRM_TOKEN);
    let (status, body) = crm.post_events(&answered_call("s2", "+14155550161", "ann@acme.com"));
    assert_eq!(status, 202, "{body}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, call) = crm.get("/api/v1/calls/s2");
        if call["sync"] == "done" {
            break;
        }
        assert!(Instant::now() < deadline, "s2 not synced: {call}");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Refused: a wrong token.
    let (status, _) = server
        .as_token("not-a-token-0123456789")
        .post_events(&answered_call("s3", "+14155550162", "ann@acme.com"));
    assert_eq!(status, 401);
    // Zammad's CTI, its token in the path.
    let client = server.client();
    let cti = client
        .post(server.url(&format!("/api/v1/cti/{CRM_TOKEN}")))
        .form(&[
            ("event", "newCall"),
            ("direction", "in"),
            ("from", "4915112345678"),
            ("to", "4930123456"),
            ("callId", "cti-1"),
        ])
        .send()
        .unwrap();
    assert_eq!(cti.status().as_u16(), 200);
    // Twilio, signed wrongly (refused) and not at all.
    for signature in [Some("bm90IHRoZSBzaWduYXR1cmU="), None] {
        let mut req = client
            .post(server.url("/api/v1/twilio/support"))
            .form(&[("CallSid", "CA1"), ("CallStatus", "ringing")]);
        if let Some(s) = signature {
            req = req.header("X-Twilio-Signature", s);
        }
        assert!(req.send().unwrap().status().is_client_error());
    }
    // The agent page's sign-in by token, and a wrong one.
    let login = client
        .post(server.url("/api/v1/agent/login"))
        .json(&json!({"token": AGENT_TOKEN}))
        .send()
        .unwrap();
    assert_eq!(login.status().as_u16(), 200);
    let wrong = client
        .post(server.url("/api/v1/agent/login"))
        .json(&json!({"token": format!("{AGENT_TOKEN}x")}))
        .send()
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    // A scrape with the metrics token.
    let scrape = client
        .get(server.url("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .unwrap();
    assert_eq!(scrape.status().as_u16(), 200);
    // Both triggers delivered (the ticket on Zendesk, the contact in the CRM).
    let deadline = Instant::now() + Duration::from_secs(30);
    while delivered.load(std::sync::atomic::Ordering::SeqCst) < 2 {
        assert!(Instant::now() < deadline, "the triggers were not delivered");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, deliveries) = server.get("/api/v1/triggers/deliveries");
    assert_eq!(status, 200);
    assert_eq!(
        deliveries["deliveries"][0]["status"], "delivered",
        "{deliveries}"
    );
    server.terminate();

    let log = std::fs::read_to_string(&log_path).unwrap();
    let stdout = printed.lock().unwrap().join("\n");
    assert!(
        log.contains("DEBUG"),
        "the log is not at debug level:\n{log}"
    );
    assert!(log.contains("trigger notification delivered"), "{log}");
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("admin@acme.com/token:{ZD_TOKEN}"));
    let deliveries = deliveries.to_string();
    for secret in [
        DB_PASSWORD,
        ZD_TOKEN,
        ZD_TOKEN_GROUP,
        CRM_TOKEN,
        AGENT_TOKEN,
        TWILIO_TOKEN,
        WEBHOOK_SECRET,
        &WEBHOOK_SECRET["whsec_".len()..],
        URL_USER_PASS,
        URL_KEY,
        METRICS_TOKEN,
        &basic,
    ] {
        for (name, text) in [
            ("log", &log),
            ("stdout", &stdout),
            ("deliveries", &deliveries),
        ] {
            let at = text.find(secret);
            assert!(
                at.is_none(),
                "{secret:?} is in the {name}: {:?}",
                at.map(|i| &text[i.saturating_sub(200)..(i + secret.len() + 50).min(text.len())])
            );
        }
    }
}
