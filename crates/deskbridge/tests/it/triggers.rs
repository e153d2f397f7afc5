//! CRM triggers, end to end: a group configured with triggers, changes made
//! through the CRM API, and a local receiver (an axum server on 127.0.0.1 in
//! this test) that records every request and fails when told to. Each test
//! checks what the receiver's owner would: the exact query string, the JSON
//! body and its Standard Webhooks signature (verified here with hmac and sha2
//! directly, not with deskbridge's signing code), and what arrives after a
//! failure.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2_11::Sha256;

use crate::common::*;

const TOKEN: &str = "support-token-0123456789";
/// The Standard Webhooks specification's example secret.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    /// Path and query, as sent.
    target: String,
    headers: HeaderMap,
    body: String,
    at: Instant,
}

/// What the receiver answers next (then 204 once the script runs out).
#[derive(Debug, Clone)]
enum Reply {
    Status(u16),
    /// 429 with `Retry-After: seconds`.
    TooMany(u64),
}

#[derive(Default)]
struct Inbox {
    seen: Vec<Seen>,
    script: VecDeque<Reply>,
}

/// A receiver on 127.0.0.1 with its own runtime.
struct Receiver {
    base: String,
    inbox: Arc<Mutex<Inbox>>,
    _rt: tokio::runtime::Runtime,
}

async fn record(
    State(inbox): State<Arc<Mutex<Inbox>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut inbox = inbox.lock().unwrap();
    inbox.seen.push(Seen {
        method: method.to_string(),
        target: uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        at: Instant::now(),
    });
    match inbox.script.pop_front() {
        None => StatusCode::NO_CONTENT.into_response(),
        Some(Reply::Status(s)) => (
            StatusCode::from_u16(s).unwrap(),
            format!("receiver says {s}"),
        )
            .into_response(),
        Some(Reply::TooMany(secs)) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", secs.to_string())],
            "slow down",
        )
            .into_response(),
    }
}

impl Receiver {
    fn start() -> Receiver {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .fallback(record)
            .with_state(inbox.clone());
        rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver {
            base: format!("http://{addr}"),
            inbox,
            _rt: rt,
        }
    }

    fn script(&self, replies: &[Reply]) {
        self.inbox
            .lock()
            .unwrap()
            .script
            .extend(replies.iter().cloned());
    }

    fn seen(&self) -> Vec<Seen> {
        self.inbox.lock().unwrap().seen.clone()
    }

    /// Waits until `n` requests arrived (and a little more, to see none extra).
    fn wait_for(&self, n: usize) -> Vec<Seen> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.seen().len() < n {
            assert!(
                Instant::now() < deadline,
                "the receiver got {} of {n} requests: {:#?}",
                self.seen().len(),
                self.seen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(400));
        self.seen()
    }
}

/// One group "support" with `triggers` (TOML of `[[groups.triggers]]` tables),
/// allowed to reach this machine unless `private` says otherwise, retrying after
/// 0.3 s twice.
fn start(triggers: &str, allow_private: bool) -> TestApp {
    let config = format!(
        "{}\n[[groups]]\nname = \"support\"\ntokens = [\"{TOKEN}\"]\n{triggers}\n\
         [triggers]\nallow_private_networks = {allow_private}\nretry_waits_seconds = [0.3, 0.3]\ntimeout_seconds = 5\n",
        metrics_section()
    );
    TestApp::with_config(&config, TOKEN)
}

fn trigger(entity: &str, action: &str, url: &str, json: bool) -> String {
    let format = match json {
        true => format!("format = \"json\"\nsecret = \"{SECRET}\"\n"),
        false => "format = \"query\"\n".into(),
    };
    format!(
        "[[groups.triggers]]\nentity = \"{entity}\"\naction = \"{action}\"\nurl = \"{url}\"\n{format}"
    )
}

fn create(app: &TestApp, path: &str, body: Value) -> String {
    let (status, record) = app.send("POST", path, Some(&body));
    assert_eq!(status, 201, "POST {path} {body} -> {record}");
    record["id"].as_str().unwrap().to_string()
}

fn ok(app: &TestApp, method: &str, path: &str, body: Option<Value>) {
    let (status, answer) = app.send(method, path, body.as_ref());
    assert!(
        (200..300).contains(&status),
        "{method} {path} -> {status} {answer}"
    );
}

/// The signature as any receiver checks it: HMAC-SHA256 keyed with the bytes
/// after `whsec_`, over `id.timestamp.body`, base64, after `v1,`.
fn expected_signature(secret: &str, id: &str, timestamp: &str, body: &str) -> String {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[test]
fn the_independent_verifier_agrees_with_the_specifications_example() {
    // Standard Webhooks, "Signature scheme": the published example.
    assert_eq!(
        expected_signature(
            SECRET,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "1614265330",
            r#"{"test": 2432232314}"#
        ),
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    );
}

fn header<'a>(seen: &'a Seen, name: &str) -> &'a str {
    seen.headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header: {seen:?}"))
        .to_str()
        .unwrap()
}

const CHANGES: [(&str, &str); 11] = [
    ("contact", "create"),
    ("contact", "edit"),
    ("contact", "delete"),
    ("ticket", "create"),
    ("ticket", "edit"),
    ("ticket", "delete"),
    ("comment", "create"),
    ("comment", "delete"),
    ("task", "create"),
    ("task", "edit"),
    ("task", "delete"),
];

/// Makes one change of each entity and action through the CRM API; returns
/// the contact, ticket, comment and task ids.
fn change_everything(app: &TestApp) -> (String, String, String, String) {
    let contact = create(app, "/api/v1/crm/contacts", json!({"name": "Ada Lovelace"}));
    ok(
        app,
        "PATCH",
        &format!("/api/v1/crm/contacts/{contact}"),
        Some(json!({"email": "ada@example.com"})),
    );
    let ticket = create(
        app,
        "/api/v1/crm/tickets",
        json!({"subject": "Printer on fire", "requester_id": contact}),
    );
    ok(
        app,
        "PATCH",
        &format!("/api/v1/crm/tickets/{ticket}"),
        Some(json!({"status": "open"})),
    );
    let comment = create(
        app,
        &format!("/api/v1/crm/tickets/{ticket}/comments"),
        json!({"body": "Called back", "public": false}),
    );
    ok(
        app,
        "DELETE",
        &format!("/api/v1/crm/tickets/{ticket}/comments/{comment}"),
        None,
    );
    let task = create(
        app,
        "/api/v1/crm/tasks",
        json!({"subject": "Call Ada", "contact_id": contact, "ticket_id": ticket}),
    );
    ok(
        app,
        "PATCH",
        &format!("/api/v1/crm/tasks/{task}"),
        Some(json!({"subject": "Call Ada again"})),
    );
    ok(app, "DELETE", &format!("/api/v1/crm/tasks/{task}"), None);
    ok(
        app,
        "DELETE",
        &format!("/api/v1/crm/tickets/{ticket}"),
        None,
    );
    ok(
        app,
        "DELETE",
        &format!("/api/v1/crm/contacts/{contact}"),
        None,
    );
    (contact, ticket, comment, task)
}

#[test]
fn every_change_reaches_its_query_trigger_with_the_classic_query_string() {
    let receiver = Receiver::start();
    let base = &receiver.base;
    let triggers: String = CHANGES
        .iter()
        .map(|(e, a)| {
            // One URL that has a query already, with an escaped value.
            let url = match (*e, *a) {
                ("contact", "create") => format!("{base}/hooks/contact-create?site=north%20hall"),
                _ => format!("{base}/hooks/{e}-{a}"),
            };
            trigger(e, a, &url, false)
        })
        .collect();
    let app = start(&triggers, true);
    let (c, t, f, k) = change_everything(&app);
    let seen = receiver.wait_for(11);
    let mut targets: Vec<&str> = seen.iter().map(|s| s.target.as_str()).collect();
    assert!(seen.iter().all(|s| s.method == "GET" && s.body.is_empty()));
    targets.sort();
    let mut expected = vec![
        format!("/hooks/contact-create?site=north%20hall&AccountID={c}"),
        format!("/hooks/contact-edit?AccountID={c}"),
        format!("/hooks/contact-delete?AccountID={c}"),
        format!("/hooks/ticket-create?AccountID={c}&CaseID={t}"),
        format!("/hooks/ticket-edit?AccountID={c}&CaseID={t}"),
        // Deleted after its contact's task; the ticket still had its requester.
        format!("/hooks/ticket-delete?AccountID={c}&CaseID={t}"),
        format!("/hooks/comment-create?AccountID={c}&CaseID={t}&FollowupID={f}"),
        format!("/hooks/comment-delete?AccountID={c}&CaseID={t}&FollowupID={f}"),
        format!("/hooks/task-create?AccountID={c}&TaskID={k}"),
        format!("/hooks/task-edit?AccountID={c}&TaskID={k}"),
        format!("/hooks/task-delete?AccountID={c}&TaskID={k}"),
    ];
    expected.sort();
    assert_eq!(targets, expected);
    // Delivered, and listed as such.
    let delivered = deliveries(&app, "delivered");
    assert_eq!(delivered.len(), 11);
    assert!(
        delivered
            .iter()
            .all(|d| d["attempts"] == 1 && d["last_status"] == 204 && d["group"] == "support"),
        "{delivered:#?}"
    );
}

#[test]
fn every_change_reaches_its_json_trigger_signed() {
    let receiver = Receiver::start();
    let url = format!("{}/hooks/json", receiver.base);
    let triggers: String = CHANGES
        .iter()
        .map(|(e, a)| trigger(e, a, &url, true))
        .collect();
    let app = start(&triggers, true);
    let (c, t, f, k) = change_everything(&app);
    let seen = receiver.wait_for(11);
    assert_eq!(seen.len(), 11);
    let mut types = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for s in &seen {
        assert_eq!(
            (s.method.as_str(), s.target.as_str()),
            ("POST", "/hooks/json")
        );
        assert_eq!(header(s, "content-type"), "application/json");
        let id = header(s, "webhook-id");
        let timestamp = header(s, "webhook-timestamp");
        let sent_at: i64 = timestamp.parse().unwrap();
        assert!((chrono::Utc::now().timestamp() - sent_at).abs() < 60);
        assert_eq!(
            header(s, "webhook-signature"),
            expected_signature(SECRET, id, timestamp, &s.body),
            "{s:?}"
        );
        assert!(id.starts_with("msg_") && ids.insert(id.to_string()));
        let body: Value = serde_json::from_str(&s.body).unwrap();
        let kind = body["type"].as_str().unwrap().to_string();
        let data_id = body["data"]["id"].as_str().unwrap();
        let expected_id = match kind.split('.').next().unwrap() {
            "contact" => &c,
            "ticket" => &t,
            "comment" => &f,
            "task" => &k,
            other => panic!("unknown type {other}"),
        };
        assert_eq!(data_id, expected_id, "{body}");
        assert!(
            chrono::DateTime::parse_from_rfc3339(body["timestamp"].as_str().unwrap()).is_ok(),
            "{body}"
        );
        types.push(kind);
    }
    // One record's notifications to one endpoint come in the order of its changes.
    let order_of = |prefix: &str| -> Vec<String> {
        types
            .iter()
            .filter(|t| t.starts_with(prefix))
            .cloned()
            .collect()
    };
    assert_eq!(
        order_of("contact."),
        ["contact.created", "contact.updated", "contact.deleted"]
    );
    assert_eq!(
        order_of("ticket."),
        ["ticket.created", "ticket.updated", "ticket.deleted"]
    );
    assert_eq!(
        order_of("task."),
        ["task.created", "task.updated", "task.deleted"]
    );
    assert_eq!(order_of("comment."), ["comment.created", "comment.deleted"]);
    // The data is the record as the API shows it.
    let created = seen
        .iter()
        .map(|s| serde_json::from_str::<Value>(&s.body).unwrap())
        .find(|b| b["type"] == "ticket.created")
        .unwrap();
    assert_eq!(created["data"]["subject"], "Printer on fire");
    assert_eq!(created["data"]["requester_id"], c.as_str());
}

#[test]
fn a_failed_attempt_is_retried_and_a_429_waits_for_its_retry_after() {
    let receiver = Receiver::start();
    let url = format!("{}/hooks/t", receiver.base);
    let app = start(&trigger("ticket", "create", &url, true), true);
    receiver.script(&[Reply::Status(500), Reply::TooMany(2)]);
    let contact = create(&app, "/api/v1/crm/contacts", json!({"name": "Ada"}));
    create(
        &app,
        "/api/v1/crm/tickets",
        json!({"subject": "Help", "requester_id": contact}),
    );
    let seen = receiver.wait_for(3);
    assert_eq!(seen.len(), 3, "{seen:#?}");
    // The same message each time (the receiver deduplicates by it), the same body.
    let id = header(&seen[0], "webhook-id");
    assert!(
        seen.iter()
            .all(|s| header(s, "webhook-id") == id && s.body == seen[0].body)
    );
    for s in &seen {
        assert_eq!(
            header(s, "webhook-signature"),
            expected_signature(SECRET, id, header(s, "webhook-timestamp"), &s.body)
        );
    }
    // After the 500: the schedule's 0.3 s; after the 429: its Retry-After, 2 s.
    let first_wait = seen[1].at - seen[0].at;
    let second_wait = seen[2].at - seen[1].at;
    assert!(first_wait >= Duration::from_millis(300), "{first_wait:?}");
    assert!(
        second_wait >= Duration::from_millis(1900),
        "{second_wait:?}"
    );
    let done = deliveries(&app, "");
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["status"], "delivered");
    assert_eq!(done[0]["attempts"], 3);
    assert_eq!(done[0]["message_id"], id);
}

#[test]
fn after_the_last_retry_a_notification_is_a_dead_letter_and_can_be_replayed() {
    let receiver = Receiver::start();
    let url = format!("{}/hooks/c", receiver.base);
    let app = start(&trigger("contact", "create", &url, false), true);
    receiver.script(&[Reply::Status(500), Reply::Status(502), Reply::Status(503)]);
    let contact = create(&app, "/api/v1/crm/contacts", json!({"name": "Ada"}));
    let seen = receiver.wait_for(3);
    assert_eq!(seen.len(), 3);
    let failed = wait_until(|| {
        let failed = deliveries(&app, "failed");
        (!failed.is_empty()).then_some(failed)
    });
    assert_eq!(failed[0]["attempts"], 3);
    assert_eq!(failed[0]["last_status"], 503);
    // Counted per endpoint: two retries, then failed.
    let metrics = app.scrape();
    for (outcome, n) in [("retrying", 2), ("failed", 1)] {
        let line = format!(
            "deskbridge_trigger_attempts_total{{endpoint=\"{url}\",outcome=\"{outcome}\"}} {n}"
        );
        assert!(
            metrics.lines().any(|l| l == line),
            "no {line:?} in\n{metrics}"
        );
    }
    assert_eq!(failed[0]["last_error"], "HTTP 503: receiver says 503");
    let id = failed[0]["id"].as_str().unwrap();
    let (status, replayed) = app.send(
        "POST",
        &format!("/api/v1/triggers/deliveries/{id}/replay"),
        None,
    );
    assert_eq!(status, 200, "{replayed}");
    assert_eq!(replayed["status"], "pending");
    assert_eq!(replayed["attempts"], 0);
    let seen = receiver.wait_for(4);
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[3].target, format!("/hooks/c?AccountID={contact}"));
    // Delivered now; only a dead letter is replayed, and an unknown id is not found.
    wait_until(|| (deliveries(&app, "delivered").len() == 1).then_some(()));
    let (status, refused) = app.send(
        "POST",
        &format!("/api/v1/triggers/deliveries/{id}/replay"),
        None,
    );
    assert_eq!(
        (status, &refused["error"]),
        (409, &json!("not_failed")),
        "{refused}"
    );
    let (status, _) = app.send("POST", "/api/v1/triggers/deliveries/999999/replay", None);
    assert_eq!(status, 404);
}

/// `GET /api/v1/triggers/deliveries?status=...` (all for "").
fn deliveries(app: &TestApp, status: &str) -> Vec<Value> {
    let (code, body) = app.get(&format!("/api/v1/triggers/deliveries?status={status}"));
    assert_eq!(code, 200, "{body}");
    body["deliveries"].as_array().unwrap().clone()
}

fn wait_until<T>(mut ready: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = ready() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_change_that_was_refused_sends_nothing() {
    let receiver = Receiver::start();
    let base = &receiver.base;
    let triggers = [
        trigger("contact", "edit", &format!("{base}/c"), false),
        trigger("ticket", "create", &format!("{base}/t"), false),
    ]
    .concat();
    let app = start(&triggers, true);
    let contact = create(&app, "/api/v1/crm/contacts", json!({"name": "Ada"}));
    // Refused (422): nothing changed, so nothing is announced.
    let (status, _) = app.send(
        "PATCH",
        &format!("/api/v1/crm/contacts/{contact}"),
        Some(&json!({"email": 42})),
    );
    assert_eq!(status, 422);
    let (status, _) = app.send(
        "POST",
        "/api/v1/crm/tickets",
        Some(&json!({"subject": "Help", "requester_id": "999999"})),
    );
    assert_eq!(status, 422);
    // A change that happened is announced: the outbox worked all along.
    ok(
        &app,
        "PATCH",
        &format!("/api/v1/crm/contacts/{contact}"),
        Some(json!({"name": "Ada L."})),
    );
    let seen = receiver.wait_for(1);
    assert_eq!(
        seen.iter().map(|s| s.target.as_str()).collect::<Vec<_>>(),
        [format!("/c?AccountID={contact}")]
    );
    assert_eq!(deliveries(&app, "").len(), 1);
}

#[test]
fn a_private_address_is_refused_by_default() {
    let receiver = Receiver::start();
    let url = format!("{}/hooks/c", receiver.base);
    let app = start(&trigger("contact", "create", &url, false), false);
    create(&app, "/api/v1/crm/contacts", json!({"name": "Ada"}));
    let failed = wait_until(|| {
        let failed = deliveries(&app, "failed");
        (!failed.is_empty()).then_some(failed)
    });
    // A dead letter at once (no retry can change the address), with the reason.
    assert_eq!(failed[0]["attempts"], 1);
    let reason = failed[0]["last_error"].as_str().unwrap();
    assert!(
        reason.contains("127.0.0.1") && reason.contains("allow_private_networks"),
        "{reason}"
    );
    assert!(receiver.seen().is_empty());
}

#[test]
fn a_calls_contact_ticket_and_comment_are_announced_like_the_apis() {
    let receiver = Receiver::start();
    let base = &receiver.base;
    let triggers = [
        trigger("contact", "create", &format!("{base}/contact"), false),
        trigger("ticket", "create", &format!("{base}/ticket"), false),
        trigger("comment", "create", &format!("{base}/comment"), false),
    ]
    .concat();
    let app = start(&triggers, true);
    let (status, _) = app.post_events(&answered_call("call-1", "+14155550100", "ann@example.com"));
    assert_eq!(status, 202);
    let call = app.wait_synced("call-1");
    let contact = call["contact_id"].as_str().unwrap();
    let ticket = call["ticket_id"].as_str().unwrap();
    let comments = app.comments(ticket);
    let seen = receiver.wait_for(2 + comments.len());
    let mut targets: Vec<String> = seen.iter().map(|s| s.target.clone()).collect();
    targets.sort();
    let mut expected = vec![
        format!("/contact?AccountID={contact}"),
        format!("/ticket?AccountID={contact}&CaseID={ticket}"),
    ];
    for c in &comments {
        let id = c["id"].as_str().unwrap();
        expected.push(format!(
            "/comment?AccountID={contact}&CaseID={ticket}&FollowupID={id}"
        ));
    }
    expected.sort();
    assert!(!comments.is_empty());
    assert_eq!(targets, expected);
}

#[test]
fn a_receiver_down_for_a_while_gets_everything_in_order_per_record() {
    let receiver = Receiver::start();
    let url = format!("{}/hooks/tickets", receiver.base);
    let triggers = [
        trigger("ticket", "create", &url, true),
        trigger("ticket", "edit", &url, true),
    ]
    .concat();
    let app = start(&triggers, true);
    // Down: the first attempts fail (the schedule allows two retries each).
    receiver.script(&[Reply::Status(503), Reply::Status(502)]);
    let contact = create(&app, "/api/v1/crm/contacts", json!({"name": "Ada"}));
    let mut tickets = Vec::new();
    for n in 0..2 {
        let t = create(
            &app,
            "/api/v1/crm/tickets",
            json!({"subject": format!("Ticket {n}"), "requester_id": contact}),
        );
        for status in ["open", "pending", "solved"] {
            ok(
                &app,
                "PATCH",
                &format!("/api/v1/crm/tickets/{t}"),
                Some(json!({"status": status})),
            );
        }
        tickets.push(t);
    }
    // Every notification arrives once delivered (2 failures, then 8).
    let seen = receiver.wait_for(10);
    assert_eq!(seen.len(), 10);
    let bodies: Vec<Value> = seen
        .iter()
        .map(|s| serde_json::from_str(&s.body).unwrap())
        .collect();
    let delivered: Vec<&Value> = bodies[2..].iter().collect();
    for t in &tickets {
        let statuses: Vec<(&str, &str)> = delivered
            .iter()
            .filter(|b| b["data"]["id"] == t.as_str())
            .map(|b| {
                (
                    b["type"].as_str().unwrap(),
                    b["data"]["status"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            statuses,
            [
                ("ticket.created", "new"),
                ("ticket.updated", "open"),
                ("ticket.updated", "pending"),
                ("ticket.updated", "solved"),
            ],
            "ticket {t}"
        );
    }
    assert!(deliveries(&app, "pending").is_empty());
    assert_eq!(deliveries(&app, "delivered").len(), 8);
}

/// A Zendesk group "support" with `triggers`, the receiver on this machine
/// allowed; Ann is Zendesk agent `ann`.
fn start_on_zendesk(zd: &crate::zendesk::Zd, ann: u64, triggers: &str) -> TestApp {
    let config = format!(
        "{}\n[triggers]\nallow_private_networks = true\nretry_waits_seconds = [0.3, 0.3]\ntimeout_seconds = 5\n",
        crate::zendesk::config(zd, ann, triggers)
    );
    TestApp::with_config(&config, crate::zendesk::TOKEN)
}

/// Zendesk announces nothing to deskbridge's triggers itself; what a call's
/// steps create there is announced by deskbridge, in both forms, with
/// Zendesk's ids.
#[test]
fn a_call_on_zendesk_announces_the_user_ticket_and_comment_it_made() {
    use crate::zendesk::{Zd, call, id};
    let receiver = Receiver::start();
    let base = &receiver.base;
    let json_url = format!("{base}/json");
    let triggers = [
        trigger("contact", "create", &format!("{base}/contact"), false),
        trigger("ticket", "create", &format!("{base}/ticket"), false),
        trigger("comment", "create", &format!("{base}/comment"), false),
        trigger("contact", "create", &json_url, true),
        trigger("ticket", "create", &json_url, true),
        trigger("comment", "create", &json_url, true),
    ]
    .concat();
    let (zd, ann) = Zd::with_ann();
    let app = start_on_zendesk(&zd, ann, &triggers);
    let synced = call(&app, "z1", "+14155550100", json!({}));
    let user = id(&synced["contact_id"]);
    let ticket = id(&synced["ticket_id"]);
    let state = zd.emu.state();
    let [comment] = state
        .comments
        .iter()
        .filter(|c| c.ticket_id == ticket)
        .collect::<Vec<_>>()[..]
    else {
        panic!("not one comment: {:?}", state.comments)
    };
    assert_eq!(
        state
            .tickets
            .iter()
            .find(|t| t.id == ticket)
            .unwrap()
            .requester_id,
        user
    );

    let seen = receiver.wait_for(6);
    assert_eq!(seen.len(), 6, "{seen:#?}");
    let mut targets: Vec<&str> = seen
        .iter()
        .filter(|s| s.method == "GET")
        .map(|s| s.target.as_str())
        .collect();
    targets.sort();
    assert_eq!(
        targets,
        [
            format!(
                "/comment?AccountID={user}&CaseID={ticket}&FollowupID={}",
                comment.id
            ),
            format!("/contact?AccountID={user}"),
            format!("/ticket?AccountID={user}&CaseID={ticket}"),
        ]
    );
    let posts: Vec<&Seen> = seen.iter().filter(|s| s.method == "POST").collect();
    let mut types = Vec::new();
    for s in &posts {
        assert_eq!(s.target, "/json");
        let (msg, timestamp) = (header(s, "webhook-id"), header(s, "webhook-timestamp"));
        assert_eq!(
            header(s, "webhook-signature"),
            expected_signature(SECRET, msg, timestamp, &s.body)
        );
        let body: Value = serde_json::from_str(&s.body).unwrap();
        let data = &body["data"];
        match body["type"].as_str().unwrap() {
            "contact.created" => {
                assert_eq!(data["id"], user.to_string());
                assert_eq!(data["phone"], "+14155550100");
            }
            "ticket.created" => {
                assert_eq!(data["id"], ticket.to_string());
                assert_eq!(data["requester_id"], user.to_string());
            }
            "comment.created" => {
                assert_eq!(data["id"], comment.id.to_string());
                assert_eq!(data["ticket_id"], ticket.to_string());
            }
            other => panic!("unexpected {other}: {body}"),
        }
        types.push(body["type"].as_str().unwrap().to_string());
    }
    types.sort();
    assert_eq!(
        types,
        ["comment.created", "contact.created", "ticket.created"]
    );
    // Listed under the group, delivered.
    assert_eq!(deliveries(&app, "delivered").len(), 6);

    // The same caller again: the user exists, so only a new ticket and its comment.
    let second = call(&app, "z2", "+14155550100", json!({}));
    assert_eq!(id(&second["contact_id"]), user);
    let seen = receiver.wait_for(10);
    let contacts = seen
        .iter()
        .filter(|s| s.target.starts_with("/contact"))
        .count();
    assert_eq!(
        contacts, 1,
        "the known caller was announced again: {seen:#?}"
    );
}

/// Zendesk made the ticket but its answer was lost: the step fails, runs again
/// and finds the ticket by its idempotency key. Only the recorded outcome
/// announces, so the ticket is announced once.
#[test]
fn a_zendesk_step_run_again_announces_once() {
    use crate::zendesk::{Zd, call, id};
    let receiver = Receiver::start();
    let base = &receiver.base;
    let triggers = [
        trigger("ticket", "create", &format!("{base}/ticket"), false),
        trigger("comment", "create", &format!("{base}/comment"), false),
    ]
    .concat();
    let (zd, ann) = Zd::with_ann();
    zd.emu.lose_ticket_create_answers(1);
    let app = start_on_zendesk(&zd, ann, &triggers);
    let synced = call(&app, "z1", "+14155550100", json!({}));
    let ticket = id(&synced["ticket_id"]);
    let user = id(&synced["contact_id"]);
    let state = zd.emu.state();
    let ours: Vec<_> = state
        .tickets
        .iter()
        .filter(|t| t.requester_id == user)
        .collect();
    assert_eq!(ours.len(), 1, "one ticket: {ours:?}");
    let open = synced["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["step"] == "open_ticket"))
        .unwrap_or_else(|| panic!("no open_ticket step: {synced}"));
    assert_eq!(open["attempts"], 2, "the step did not run again: {synced}");
    let seen = receiver.wait_for(2);
    // Room for a second announcement to show up, had there been one.
    std::thread::sleep(Duration::from_millis(1500));
    let seen_now = receiver.seen();
    assert_eq!(seen_now.len(), seen.len());
    let tickets: Vec<&str> = seen_now
        .iter()
        .filter(|s| s.target.starts_with("/ticket"))
        .map(|s| s.target.as_str())
        .collect();
    assert_eq!(
        tickets,
        [format!("/ticket?AccountID={user}&CaseID={ticket}")]
    );
    // The retry found the ticket by its key, without its comment's id.
    let comments: Vec<&str> = seen_now
        .iter()
        .filter(|s| s.target.starts_with("/comment"))
        .map(|s| s.target.as_str())
        .collect();
    assert_eq!(comments.len(), 1, "{seen_now:#?}");
    assert!(
        comments[0].starts_with(&format!("/comment?AccountID={user}&CaseID={ticket}")),
        "{comments:?}"
    );
}

/// Deleting a ticket deletes its comments and takes it off its tasks; deleting
/// a contact takes it off its tickets and tasks. Each of those records changed,
/// so each is announced, as if it had been changed through the API.
#[test]
fn a_deletes_cascade_is_announced_record_by_record() {
    let receiver = Receiver::start();
    let base = &receiver.base;
    let triggers: String = [
        ("comment", "delete"),
        ("ticket", "edit"),
        ("ticket", "delete"),
        ("task", "edit"),
        ("contact", "delete"),
    ]
    .iter()
    .map(|(e, a)| trigger(e, a, &format!("{base}/{e}-{a}"), false))
    .collect();
    let app = start(&triggers, true);
    let c = create(
        &app,
        "/api/v1/crm/contacts",
        json!({"name": "Ada Lovelace"}),
    );
    let doomed = create(
        &app,
        "/api/v1/crm/tickets",
        json!({"subject": "Printer on fire", "requester_id": c}),
    );
    let kept = create(
        &app,
        "/api/v1/crm/tickets",
        json!({"subject": "Toner", "requester_id": c}),
    );
    let comments = format!("/api/v1/crm/tickets/{doomed}/comments");
    let f1 = create(&app, &comments, json!({"body": "Smoke", "public": false}));
    let f2 = create(&app, &comments, json!({"body": "Flames", "public": false}));
    let k = create(
        &app,
        "/api/v1/crm/tasks",
        json!({"subject": "Call Ada", "contact_id": c, "ticket_id": doomed}),
    );

    ok(
        &app,
        "DELETE",
        &format!("/api/v1/crm/tickets/{doomed}"),
        None,
    );
    let seen = receiver.wait_for(4);
    let targets: Vec<&str> = seen.iter().map(|s| s.target.as_str()).collect();
    let mut sorted = targets.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            format!("/comment-delete?AccountID={c}&CaseID={doomed}&FollowupID={f1}"),
            format!("/comment-delete?AccountID={c}&CaseID={doomed}&FollowupID={f2}"),
            format!("/task-edit?AccountID={c}&TaskID={k}"),
            format!("/ticket-delete?AccountID={c}&CaseID={doomed}"),
        ]
    );
    let (status, task) = app.send("GET", &format!("/api/v1/crm/tasks/{k}"), None);
    assert_eq!(status, 200);
    assert_eq!(task["ticket_id"], Value::Null, "{task}");
    let (status, _) = app.send(
        "GET",
        &format!("/api/v1/crm/tickets/{doomed}/comments/{f1}"),
        None,
    );
    assert_eq!(status, 404);

    ok(&app, "DELETE", &format!("/api/v1/crm/contacts/{c}"), None);
    let seen = receiver.wait_for(7);
    let mut after: Vec<&str> = seen[4..].iter().map(|s| s.target.as_str()).collect();
    after.sort();
    assert_eq!(
        after,
        [
            format!("/contact-delete?AccountID={c}"),
            // Named by the contact they were of; now without one.
            format!("/task-edit?AccountID={c}&TaskID={k}"),
            format!("/ticket-edit?AccountID={c}&CaseID={kept}"),
        ]
    );
    let (status, ticket) = app.send("GET", &format!("/api/v1/crm/tickets/{kept}"), None);
    assert_eq!(status, 200);
    assert_eq!(ticket["requester_id"], Value::Null, "{ticket}");
    assert_eq!(seen.len(), 7, "{seen:#?}");
}

// ---- callbacks: the missed-call loop's record, an entity of every group ----

const CUSTOMER: &str = "+14155550123";
const ANN_TOKEN: &str = "ann-agent-token-0123456789";

/// Group "support" (on the built-in CRM) with `triggers`, and Ann, an agent
/// signing in with a token.
fn start_with_ann(triggers: &str) -> TestApp {
    let config = format!(
        "{}\n[[agents]]\nemail = \"ann@acme.com\"\nname = \"Ann\"\ntoken = \"{ANN_TOKEN}\"\n\
         [[groups]]\nname = \"support\"\ntokens = [\"{TOKEN}\"]\n{triggers}\n\
         [triggers]\nallow_private_networks = true\nretry_waits_seconds = [0.3, 0.3]\ntimeout_seconds = 5\n",
        metrics_section()
    );
    TestApp::with_config(&config, TOKEN)
}

/// A missed call from the customer, `started_ago` seconds ago, synced.
fn missed(app: &TestApp, call_id: &str, started_ago: i64) -> deskbridge_testkit::CallView {
    let script = deskbridge_testkit::CallScript::inbound(call_id, CUSTOMER)
        .started_ago(started_ago)
        .queue("support")
        .ends(deskbridge_core::EndReason::NoAnswer)
        .at(20);
    let (status, body) = app.post_events(&script.events());
    assert_eq!(status, 202, "{body}");
    app.wait_synced(call_id)
}

/// The JSON bodies among `seen`, parsed.
fn json_bodies(seen: &[Seen]) -> Vec<Value> {
    seen.iter()
        .filter(|s| s.method == "POST")
        .map(|s| serde_json::from_str(&s.body).unwrap())
        .collect()
}

/// The GET targets among `seen`.
fn gets(seen: &[Seen]) -> Vec<&str> {
    seen.iter()
        .filter(|s| s.method == "GET")
        .map(|s| s.target.as_str())
        .collect()
}

/// A callback's life reaches its triggers, JSON and query alike: a missed call
/// opens it (created), a second folds in (updated, missed 2), Ann claims it
/// (updated, with the ticket and contact of the last missed call by then), and
/// her answered call out closes it (updated, reached). The JSON `data` is the
/// callback as the API shows it.
#[test]
fn a_callbacks_life_reaches_its_triggers() {
    let receiver = Receiver::start();
    let base = &receiver.base;
    let json_url = format!("{base}/json");
    let triggers = [
        trigger("callback", "create", &json_url, true),
        trigger("callback", "edit", &json_url, true),
        trigger("callback", "create", &format!("{base}/created"), false),
        trigger("callback", "edit", &format!("{base}/updated"), false),
    ]
    .concat();
    let app = start_with_ann(&triggers);

    missed(&app, "m1", 600);
    let seen = receiver.wait_for(2);
    assert_eq!(seen.len(), 2, "{seen:#?}");
    let [created] = &json_bodies(&seen)[..] else {
        panic!("one JSON notification: {seen:#?}")
    };
    assert_eq!(created["type"], "callback.created", "{created}");
    let data = &created["data"];
    let id = data["id"].as_i64().unwrap();
    assert_eq!(
        (
            &data["phone"],
            &data["missed"],
            &data["group"],
            &data["queue"]
        ),
        (
            &json!(CUSTOMER),
            &json!(1),
            &json!("support"),
            &json!("support")
        ),
        "{data}"
    );
    // Opened as the call ended: its ticket and contact were not made yet.
    assert_eq!(
        gets(&seen),
        [format!("/created?AccountID=&CaseID=&CallbackID={id}")]
    );

    let m2 = missed(&app, "m2", 300);
    let seen = receiver.wait_for(4);
    assert_eq!(seen.len(), 4, "{seen:#?}");
    let folded = &json_bodies(&seen[2..])[0];
    assert_eq!(folded["type"], "callback.updated", "{folded}");
    assert_eq!(
        (&folded["data"]["id"], &folded["data"]["missed"]),
        (&json!(id), &json!(2))
    );
    assert_eq!(
        gets(&seen[2..]),
        [format!("/updated?AccountID=&CaseID=&CallbackID={id}")]
    );

    // By now m2 was logged: the claim names its ticket and contact.
    let (ticket, contact) = (m2.ticket(), m2.contact_id().unwrap());
    let ann = app.sign_in(&json!({"token": ANN_TOKEN}));
    let (status, view) = ann.send("POST", &format!("/api/v1/callbacks/{id}/claim"), None);
    assert_eq!(status, 200, "{view}");
    let seen = receiver.wait_for(6);
    assert_eq!(seen.len(), 6, "{seen:#?}");
    let claimed = &json_bodies(&seen[4..])[0];
    assert_eq!(claimed["type"], "callback.updated");
    assert_eq!(claimed["data"]["claim"]["agent"], "ann@acme.com");
    // The data is the API's callback, less what depends on the reader's clock.
    let mut shown = view.clone();
    let shown_map = shown.as_object_mut().unwrap();
    assert!(shown_map.remove("overdue").is_some() && shown_map.remove("age_seconds").is_some());
    assert_eq!(claimed["data"], shown);
    assert_eq!(
        (
            &claimed["data"]["ticket_id"],
            &claimed["data"]["contact_id"]
        ),
        (&json!(ticket), &json!(contact))
    );
    assert_eq!(
        gets(&seen[4..]),
        [format!(
            "/updated?AccountID={contact}&CaseID={ticket}&CallbackID={id}"
        )]
    );

    // Ann calls back and the customer answers: closed, as reached.
    let out = deskbridge_testkit::CallScript::outbound("back1", CUSTOMER)
        .started_ago(30)
        .placed_by(deskbridge_testkit::Agent::new("ann@acme.com").named("Ann"))
        .answered_by(deskbridge_testkit::Agent::new("ann@acme.com").named("Ann"))
        .at(5)
        .ends_after(25);
    let (status, body) = app.post_events(&out.events());
    assert_eq!(status, 202, "{body}");
    app.wait_synced("back1");
    let seen = receiver.wait_for(8);
    assert_eq!(seen.len(), 8, "{seen:#?}");
    let closed = &json_bodies(&seen[6..])[0];
    assert_eq!(closed["type"], "callback.updated");
    let closing = &closed["data"]["closed"];
    assert_eq!(
        (
            &closing["reason"]["kind"],
            &closing["reason"]["direction"],
            &closing["call_id"]
        ),
        (&json!("reached"), &json!("outbound"), &json!("back1")),
        "{closed}"
    );
    assert_eq!(
        closed["data"]["claim"],
        Value::Null,
        "a closed one is held by nobody"
    );
    assert_eq!(
        gets(&seen[6..]),
        [format!(
            "/updated?AccountID={contact}&CaseID={ticket}&CallbackID={id}"
        )]
    );
    // One callback's notifications to one endpoint, in the order written.
    let types: Vec<Value> = json_bodies(&seen)
        .iter()
        .map(|b| b["type"].clone())
        .collect();
    assert_eq!(
        types,
        [
            "callback.created",
            "callback.updated",
            "callback.updated",
            "callback.updated"
        ]
    );
    assert_eq!(deliveries(&app, "delivered").len(), 8);
}

/// Callbacks are deskbridge's own records: a group on Zendesk (whose other
/// records deskbridge announces from its steps) hears of them too.
#[test]
fn a_callback_on_zendesk_is_announced_too() {
    let receiver = Receiver::start();
    let url = format!("{}/callback", receiver.base);
    let (zd, ann) = crate::zendesk::Zd::with_ann();
    let app = start_on_zendesk(&zd, ann, &trigger("callback", "create", &url, false));
    missed(&app, "z1", 60);
    let (status, list) = app.get("/api/v1/callbacks");
    assert_eq!(status, 200, "{list}");
    let id = list["callbacks"][0]["id"].as_i64().unwrap();
    let seen = receiver.wait_for(1);
    assert_eq!(
        gets(&seen),
        [format!("/callback?AccountID=&CaseID=&CallbackID={id}")]
    );
}

/// A callback is never deleted: the config check says what to use instead.
#[test]
fn a_callback_delete_trigger_is_refused_with_what_to_use() {
    let text = format!(
        "[[groups]]\nname = \"support\"\ntokens = [\"{TOKEN}\"]\n{}",
        trigger("callback", "delete", "https://crm.example.com/cb", false)
    );
    let errors = deskbridge::config::Config::from_toml(&text, Default::default())
        .unwrap_err()
        .0;
    assert_eq!(
        errors,
        [
            "groups[0].triggers[0].action: callbacks are kept once closed, never deleted: \
          use action \"edit\" to hear when one closes (its \"closed\" says how), or \"create\" for new ones"
        ]
    );
}
