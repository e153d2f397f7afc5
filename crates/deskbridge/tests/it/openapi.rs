//! `GET /api/v1/openapi.json` against the server it describes: every documented
//! operation is called and answers a status the description lists, with a body
//! that validates against the documented schema (the `jsonschema` crate, with
//! the description's `components` for `$ref`s); nothing is routed that the
//! description leaves out; and a snapshot of the description, so that an API
//! change shows in review.

use std::collections::{BTreeMap, BTreeSet};

use deskbridge::adapters::twilio::signature;
use serde_json::{Value, json};

use crate::common::*;

const TOKEN: &str = "openapi-group-token-0123456789";
const ANN_PASSWORD: &str = "ann-password-1";
const BOB_TOKEN: &str = "bob-agent-token-0123456789";
const TWILIO_AUTH: &str = "12345";
const PUBLIC_URL: &str = "https://deskbridge.example.com";

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// A group in agent mode (so a call waits for a decision), an admin agent
/// signing in with a password, Twilio callbacks signed over `public_url`.
fn start() -> TestApp {
    let hash = deskbridge::agent_auth::hash_password(ANN_PASSWORD).expect("a hash");
    let config = format!(
        r#"
[server]
public_url = "{PUBLIC_URL}"

[[agents]]
email = "ann@acme.com"
name = "Ann Example"
extension = "101"
password_hash = "{hash}"
admin = true

[[agents]]
email = "bob@acme.com"
name = "Bob Example"
token = "{BOB_TOKEN}"

[[groups]]
name = "support"
tokens = ["{TOKEN}"]
twilio_auth_token = "{TWILIO_AUTH}"
ticket_assignment = "agent"

[groups.wrap_up]
codes = ["sale"]
seconds = 0

# A receiver on this machine, refused (allow_private_networks is off): its
# notification becomes a dead letter at once, for the deliveries endpoints.
[[groups.triggers]]
entity = "contact"
action = "create"
url = "http://127.0.0.1:9/hooks/contact"
"#
    );
    TestApp::with_config(&config, TOKEN)
}

fn fetch_spec(app: &TestApp) -> Value {
    let (status, spec) = app.send_anonymous("GET", "/api/v1/openapi.json", None);
    assert_eq!(status, 200, "{spec}");
    spec
}

/// The answer to one request, as the checks need it.
struct Answer {
    status: u16,
    content_type: Option<String>,
    text: String,
}

/// Credentials of a request.
enum As<'a> {
    Nobody,
    Group,
    Agent(&'a Session),
}

/// A signed-in agent's cookie and CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

/// Calls operations and records which were called.
struct Caller<'a> {
    app: &'a TestApp,
    spec: &'a Value,
    called: BTreeSet<(String, String)>,
}

impl Caller<'_> {
    /// Sends the request for the documented `(method, path)` to `target` (the
    /// path with its parameters filled in, and a query), checks the answer
    /// against the description, and returns it.
    fn call(
        &mut self,
        method: &str,
        path: &str,
        target: &str,
        who: As<'_>,
        body: Option<Body>,
    ) -> Answer {
        let mut req = self.app.client().request(
            method.to_uppercase().parse().expect("method"),
            self.app.url(target),
        );
        req = match who {
            As::Nobody => req,
            As::Group => req.bearer_auth(TOKEN),
            As::Agent(s) => req
                .header("cookie", &s.cookie)
                .header("x-csrf-token", &s.csrf),
        };
        if let Some(body) = &body {
            check_request(self.spec, method, path, body);
        }
        req = match body {
            None => req,
            Some(Body::Json(v)) => req.json(&v),
            Some(Body::Form(pairs, signature)) => {
                let text = form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&pairs)
                    .finish();
                let req = req
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(text);
                match signature {
                    Some(s) => req.header("x-twilio-signature", s),
                    None => req,
                }
            }
        };
        let resp = req.send().expect("request");
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        // A stream is checked by its status and type only: its body never ends.
        let text = match content_type.as_deref() {
            Some(t) if t.starts_with("text/event-stream") => String::new(),
            _ => resp.text().expect("body"),
        };
        let answer = Answer {
            status,
            content_type,
            text,
        };
        check_answer(self.spec, method, path, &answer);
        self.called.insert((method.to_string(), path.to_string()));
        answer
    }

    fn json(
        &mut self,
        method: &str,
        path: &str,
        target: &str,
        who: As<'_>,
        body: Option<Value>,
    ) -> Value {
        let answer = self.call(method, path, target, who, body.map(Body::Json));
        serde_json::from_str(&answer.text).unwrap_or(Value::Null)
    }
}

enum Body {
    Json(Value),
    /// A form, and its `X-Twilio-Signature`.
    Form(Vec<(String, String)>, Option<String>),
}

/// The answer is one the description lists for the operation: its status, its
/// content type, and a JSON body valid against the listed schema.
fn check_answer(spec: &Value, method: &str, path: &str, answer: &Answer) {
    let op = &spec["paths"][path][method];
    assert!(op.is_object(), "{method} {path} is not described");
    let what = format!(
        "{} {path} answered {}",
        method.to_uppercase(),
        answer.status
    );
    let response = &op["responses"][answer.status.to_string()];
    assert!(
        response.is_object(),
        "{what}, a status its description does not list: {}",
        answer.text
    );
    let Some(content) = response["content"].as_object() else {
        assert!(
            answer.text.is_empty(),
            "{what} with a body it does not describe: {}",
            answer.text
        );
        return;
    };
    let sent = answer
        .content_type
        .as_deref()
        .unwrap_or_else(|| panic!("{what} without a content type"));
    let (media, entry) = content
        .iter()
        .find(|(media, _)| sent.starts_with(media.as_str()))
        .unwrap_or_else(|| panic!("{what} as {sent}; described: {:?}", content.keys()));
    if media == "application/json" {
        let body: Value = serde_json::from_str(&answer.text)
            .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", answer.text));
        validate(spec, &entry["schema"], &body, &what);
    }
}

/// The request body the test sends is one the description documents (so the
/// description tells a client what to send).
fn check_request(spec: &Value, method: &str, path: &str, body: &Body) {
    let content = &spec["paths"][path][method]["requestBody"]["content"];
    let what = format!("the body sent to {} {path}", method.to_uppercase());
    let (media, value) = match body {
        Body::Json(v) => ("application/json", v.clone()),
        Body::Form(pairs, _) => (
            "application/x-www-form-urlencoded",
            Value::Object(pairs.iter().map(|(k, v)| (k.clone(), json!(v))).collect()),
        ),
    };
    let schema = &content[media]["schema"];
    assert!(schema.is_object(), "{what}: no {media} body described");
    validate(spec, schema, &value, &what);
}

/// Validates `body` against `schema`, resolving `#/components/...` in the
/// description.
fn validate(spec: &Value, schema: &Value, body: &Value, what: &str) {
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": spec["components"],
        "allOf": [schema],
    });
    let validator = jsonschema::draft202012::new(&root)
        .unwrap_or_else(|e| panic!("{what}: the schema does not compile: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: the body does not match its schema:\n{}\nbody: {body:#}",
        errors.join("\n")
    );
}

/// Every operation of the description, as (method, path).
fn operations(spec: &Value) -> BTreeSet<(String, String)> {
    let mut all = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                all.insert((method.to_string(), path.clone()));
            }
        }
    }
    all
}

fn sign_in(c: &mut Caller<'_>) -> Session {
    let answer = c.call(
        "post",
        "/api/v1/agent/login",
        "/api/v1/agent/login",
        As::Nobody,
        Some(Body::Json(
            json!({"email": "ann@acme.com", "password": ANN_PASSWORD}),
        )),
    );
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body: Value = serde_json::from_str(&answer.text).expect("JSON");
    // The cookie is not in `Answer`: sign in again through the harness's client
    // for it (a second session of the same agent).
    let browser = c
        .app
        .sign_in(&json!({"email": "ann@acme.com", "password": ANN_PASSWORD}));
    assert_eq!(body["agent"]["email"], "ann@acme.com");
    Session {
        cookie: browser.cookie.clone(),
        csrf: browser.csrf.clone(),
    }
}

/// Issue 13, point 3: each documented operation, called with valid credentials
/// and a plausible body, answers a status its description lists, with a body
/// its schema accepts; and every operation is called.
#[test]
fn every_documented_operation_answers_as_described() {
    let app = start();
    let spec = fetch_spec(&app);
    let mut c = Caller {
        app: &app,
        spec: &spec,
        called: BTreeSet::new(),
    };
    c.call(
        "get",
        "/api/v1/openapi.json",
        "/api/v1/openapi.json",
        As::Nobody,
        None,
    );

    // Health and the page.
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/agent",
        "/agent/",
        "/agent/app.js",
        "/agent/app.css",
        "/admin",
        "/admin/",
        "/admin/app.js",
        "/admin/app.css",
        "/zendesk/app.js",
        "/zendesk/sidebar.js",
        "/zendesk/zaf_sdk.min.js",
        "/wallboard",
        "/wallboard/app.js",
        "/wallboard/app.css",
    ] {
        let answer = c.call("get", path, path, As::Nobody, None);
        assert!(
            answer.status < 400 || path == "/metrics",
            "{path}: {}",
            answer.status
        );
    }

    let page = c.call(
        "get",
        "/zendesk/{location}",
        "/zendesk/top_bar",
        As::Nobody,
        None,
    );
    assert_eq!(page.status, 200);
    // The Zendesk app's first load, with a token no Zendesk account here
    // signed (this server has no Zendesk backend).
    let refused = c.call(
        "post",
        "/zendesk/{location}",
        "/zendesk/top_bar?origin=https%3A%2F%2Facme.zendesk.com&app_guid=g",
        As::Nobody,
        Some(Body::Form(
            vec![("token".into(), "e30.e30.e30".into())],
            None,
        )),
    );
    assert_eq!(refused.status, 401, "{}", refused.text);

    // A call answered by Ann, waiting for her decision (agent mode).
    let report = c.json(
        "post",
        "/api/v1/events",
        "/api/v1/events",
        As::Group,
        // Now (no `at`): the decision's deadline is ahead.
        Some(json!([
            {"id": "oa-1-1", "call_id": "oa-1", "type": "ringing", "direction": "inbound",
             "from": "+14155550100", "to": "+14155550199"},
            {"id": "oa-1-2", "call_id": "oa-1", "type": "answered",
             "agent": {"email": "ann@acme.com", "name": "Ann Example"}},
            {"id": "oa-1-3", "call_id": "oa-1", "type": "ended", "reason": "completed",
             "queue": "support"},
        ])),
    );
    assert_eq!(report["accepted"], 3, "{report}");
    app.wait_call("oa-1", |call| !call["agent_decision"]["waiting"].is_null());
    let decided = c.json(
        "post",
        "/api/v1/calls/{call_id}/decision",
        "/api/v1/calls/oa-1/decision",
        As::Group,
        Some(json!({"action": "new_ticket"})),
    );
    assert_eq!(
        decided["agent_decision"]["choice"]["action"], "new_ticket",
        "{decided}"
    );
    let synced = app.wait_synced("oa-1");
    assert_eq!(synced["sync"], "done", "{synced}");
    let call = c.json(
        "get",
        "/api/v1/calls/{call_id}",
        "/api/v1/calls/oa-1",
        As::Group,
        None,
    );
    assert_eq!(call["call_id"], "oa-1");
    assert!(call["ticket_id"].is_string(), "{call}");

    // A missed call, marked done one way and the other.
    let missed = |id: &str| {
        json!([
            {"id": format!("{id}-1"), "call_id": id, "type": "ringing", "direction": "inbound",
             "from": "+14155550111", "to": "+14155550199", "at": "2026-11-22T11:00:00Z"},
            {"id": format!("{id}-2"), "call_id": id, "type": "ended", "reason": "no_answer",
             "at": "2026-11-22T11:00:30Z"},
        ])
    };
    for id in ["oa-missed-1", "oa-missed-2"] {
        let (status, body) = app.post_events(&missed(id));
        assert_eq!(status, 202, "{body}");
    }
    let done = c.json(
        "post",
        "/api/v1/calls/{call_id}/done",
        "/api/v1/calls/oa-missed-1/done",
        As::Group,
        None,
    );
    assert_eq!(done["done"], json!(["oa-missed-1"]), "{done}");
    let done = c.json(
        "post",
        "/api/v1/calls/done",
        "/api/v1/calls/done",
        As::Group,
        Some(json!({"call_ids": ["oa-missed-2", "no-such-call"]})),
    );
    assert_eq!(done["not_found"], json!(["no-such-call"]), "{done}");
    // A query string that does not parse: the documented 400.
    let bad = c.call(
        "get",
        "/api/v1/calls",
        "/api/v1/calls?phone=1&phone=2",
        As::Group,
        None,
    );
    assert_eq!(bad.status, 400, "{}", bad.text);
    let log = c.json(
        "get",
        "/api/v1/calls",
        "/api/v1/calls?limit=10",
        As::Group,
        None,
    );
    assert_eq!(ids(&log).len(), 3, "{log}");

    // A closed chat, archived, and what became of it.
    let receipt = c.json(
        "post",
        "/api/v1/conversations",
        "/api/v1/conversations",
        As::Group,
        Some(json!({
            "id": "oa-chat-1", "channel": "chat",
            "visitor": {"name": "Vera Visitor", "email": "vera@example.com"},
            "agent": {"email": "ann@acme.com", "name": "Ann Example"},
            "started_at": "2026-11-22T10:00:00Z", "ended_at": "2026-11-22T10:05:00Z",
            "transcript": [
                {"from": "visitor", "name": "Vera", "text": "My router reboots", "at": "2026-11-22T10:00:10Z"},
                {"from": "agent", "name": "Ann", "text": "Let me look", "at": "2026-11-22T10:01:00Z"}
            ],
            "tags": ["router"]
        })),
    );
    assert_eq!(receipt["accepted"], 1, "{receipt}");
    let synced = app.wait_synced("chat:oa-chat-1");
    assert_eq!(synced["sync"], "done", "{synced}");
    let chat = c.json(
        "get",
        "/api/v1/conversations/{id}",
        "/api/v1/conversations/oa-chat-1",
        As::Group,
        None,
    );
    assert_eq!(chat["id"], "oa-chat-1", "{chat}");
    assert!(chat["ticket_id"].is_string(), "{chat}");

    // The other ways in: Zammad's CTI, Twilio, Amazon Connect.
    let cti = c.call(
        "post",
        "/api/v1/cti/{token}",
        &format!("/api/v1/cti/{TOKEN}"),
        As::Nobody,
        Some(Body::Form(
            pairs(&[
                ("event", "newCall"),
                ("direction", "in"),
                ("from", "4930123456"),
                ("to", "4930999"),
                ("callId", "oa-cti-1"),
            ]),
            None,
        )),
    );
    assert_eq!(cti.status, 200, "{}", cti.text);
    let form = pairs(&[
        ("CallSid", "CA-oa-1"),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("From", "+14155550122"),
        ("To", "+14155550199"),
    ]);
    let signed = signature(
        TWILIO_AUTH,
        &format!("{PUBLIC_URL}/api/v1/twilio/support"),
        &form,
    );
    let twilio = c.call(
        "post",
        "/api/v1/twilio/{group}",
        "/api/v1/twilio/support",
        As::Nobody,
        Some(Body::Form(form, Some(signed))),
    );
    assert_eq!(twilio.status, 204, "{}", twilio.text);
    // The TwiML of a dial that does not exist (dials: twilio_dial.rs).
    let form = pairs(&[("CallSid", "CA-oa-2"), ("CallStatus", "in-progress")]);
    let signed = signature(
        TWILIO_AUTH,
        &format!("{PUBLIC_URL}/api/v1/twilio/support/dial/no-such-dial"),
        &form,
    );
    let twiml = c.call(
        "post",
        "/api/v1/twilio/{group}/dial/{call_id}",
        "/api/v1/twilio/support/dial/no-such-dial",
        As::Nobody,
        Some(Body::Form(form, Some(signed))),
    );
    assert_eq!(twiml.status, 404, "{}", twiml.text);
    let flow = c.json(
        "post",
        "/api/v1/amazon-connect",
        "/api/v1/amazon-connect",
        As::Group,
        Some(json!({
            "Name": "ContactFlowEvent",
            "Details": {"ContactData": {
                "ContactId": "oa-connect-1", "InitialContactId": null, "Channel": "VOICE",
                "InitiationMethod": "INBOUND",
                "CustomerEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": "+14155550100"},
                "SystemEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": "+14155550199"},
                "Attributes": {}}, "Parameters": {}}
        })),
    );
    assert_eq!(flow["caller_found"], "true", "{flow}");

    // Lookups.
    let card = c.json(
        "get",
        "/api/v1/lookup",
        "/api/v1/lookup?phone=%2B14155550100",
        As::Group,
        None,
    );
    assert!(card["contact_id"].is_string(), "{card}");
    let route = c.json(
        "get",
        "/api/v1/route",
        "/api/v1/route?from=%2B14155550100",
        As::Group,
        None,
    );
    assert!(route["reason"].is_string(), "{route}");
    let text = c.call(
        "get",
        "/api/v1/route",
        "/api/v1/route?from=%2B14155550100&format=text",
        As::Group,
        None,
    );
    assert_eq!(text.status, 200);
    let found = c.json(
        "get",
        "/api/v1/contacts",
        "/api/v1/contacts?q=%2B1415555",
        As::Group,
        None,
    );
    assert!(found["contacts"].is_array(), "{found}");

    // Streams and instances.
    let stream = c.call(
        "get",
        "/api/v1/calls/stream",
        "/api/v1/calls/stream",
        As::Group,
        None,
    );
    assert_eq!(stream.status, 200);
    // The instances: for admins (and the metrics token), not group tokens.
    let refused = c.call(
        "get",
        "/api/v1/instances",
        "/api/v1/instances",
        As::Group,
        None,
    );
    assert_eq!(refused.status, 403);

    // The agent page's API.
    let ann = sign_in(&mut c);
    let instances = c.json(
        "get",
        "/api/v1/instances",
        "/api/v1/instances",
        As::Agent(&ann),
        None,
    );
    assert_eq!(
        instances["instances"].as_array().map(Vec::len),
        Some(1),
        "{instances}"
    );
    let me = c.json(
        "get",
        "/api/v1/agent/me",
        "/api/v1/agent/me",
        As::Agent(&ann),
        None,
    );
    assert_eq!(me["agent"]["email"], "ann@acme.com");
    let mine = c.json(
        "get",
        "/api/v1/agent/calls",
        "/api/v1/agent/calls",
        As::Agent(&ann),
        None,
    );
    assert_eq!(ids(&mine), vec!["oa-1".to_string()], "{mine}");
    // The two missed calls made one callback: claimed, given back, closed.
    let open = c.json(
        "get",
        "/api/v1/callbacks",
        "/api/v1/callbacks?limit=10",
        As::Group,
        None,
    );
    assert_eq!(open["callbacks"][0]["missed"], 2, "{open}");
    let id = open["callbacks"][0]["id"].as_i64().expect("an id");
    for action in ["claim", "release"] {
        let done = c.json(
            "post",
            &format!("/api/v1/callbacks/{{id}}/{action}"),
            &format!("/api/v1/callbacks/{id}/{action}"),
            As::Agent(&ann),
            None,
        );
        assert_eq!(done["id"], id, "{done}");
    }
    let closed = c.json(
        "post",
        "/api/v1/callbacks/{id}/close",
        &format!("/api/v1/callbacks/{id}/close"),
        As::Agent(&ann),
        Some(json!({"reason": "wrote in"})),
    );
    assert_eq!(closed["closed"]["reason"]["kind"], "by_agent", "{closed}");
    // Today's figures, by the day (their own tests are in stats.rs).
    let figures = c.json(
        "get",
        "/api/v1/stats",
        "/api/v1/stats?interval=day",
        As::Group,
        None,
    );
    assert_eq!(
        figures["intervals"].as_array().map(Vec::len),
        Some(1),
        "{figures}"
    );
    // The wallboard (its own tests are in wallboard.rs).
    let board = c.json(
        "get",
        "/api/v1/wallboard",
        "/api/v1/wallboard",
        As::Group,
        None,
    );
    assert_eq!(board["group"], "support", "{board}");
    let stream = c.call(
        "get",
        "/api/v1/wallboard/stream",
        "/api/v1/wallboard/stream",
        As::Group,
        None,
    );
    assert_eq!(stream.status, 200);
    // Click-to-call in a group without a dialer: refused, saying what to set
    // (the dialers' own tests are in ami/dial.rs).
    let dial = c.call(
        "post",
        "/api/v1/agent/dial",
        "/api/v1/agent/dial",
        As::Agent(&ann),
        Some(Body::Json(
            json!({"to": "+14155550123", "log": "new_ticket"}),
        )),
    );
    assert_eq!(dial.status, 422, "{}", dial.text);
    assert!(dial.text.contains("agent_channel"), "{}", dial.text);
    // Ann wraps up the call she answered.
    let wrapped = c.json(
        "post",
        "/api/v1/calls/{call_id}/wrap_up",
        "/api/v1/calls/oa-1/wrap_up",
        As::Agent(&ann),
        Some(json!({"code": "sale", "note": "renewal"})),
    );
    assert_eq!(
        wrapped["wrap_up"]["done"]["code"]["code"], "sale",
        "{wrapped}"
    );
    // Her queue state; a group without a phone system takes no pause (the
    // pauses' own tests are in ami/pause.rs).
    let queue = c.json(
        "get",
        "/api/v1/agent/queue",
        "/api/v1/agent/queue",
        As::Agent(&ann),
        None,
    );
    assert_eq!(queue["groups"][0]["can_pause"], false, "{queue}");
    for action in ["pause", "resume"] {
        let refused = c.call(
            "post",
            &format!("/api/v1/agent/{action}"),
            &format!("/api/v1/agent/{action}"),
            As::Agent(&ann),
            Some(Body::Json(json!({"reason": "Break"}))),
        );
        assert_eq!(refused.status, 422, "{}", refused.text);
        assert!(refused.text.contains("no_queues"), "{}", refused.text);
    }
    let stream = c.call(
        "get",
        "/api/v1/agent/stream",
        "/api/v1/agent/stream",
        As::Agent(&ann),
        None,
    );
    assert_eq!(stream.status, 200);

    // The admin page's API (Ann is an admin): the overview, and a retry,
    // refused for a call that has not failed.
    let overview = c.json(
        "get",
        "/api/v1/admin/overview",
        "/api/v1/admin/overview",
        As::Agent(&ann),
        None,
    );
    assert_eq!(overview["groups"][0]["name"], "support", "{overview}");
    assert!(overview["mirror"].is_null(), "{overview}");
    let retried = c.call(
        "post",
        "/api/v1/calls/{call_id}/retry",
        "/api/v1/calls/oa-1/retry",
        As::Agent(&ann),
        None,
    );
    assert_eq!(retried.status, 409, "{}", retried.text);

    // The built-in CRM, each kind of record.
    crm_operations(&mut c, &ann);

    let out = c.json(
        "post",
        "/api/v1/agent/logout",
        "/api/v1/agent/logout",
        As::Agent(&ann),
        None,
    );
    assert_eq!(out["signed_out"], true);

    let mut ids = BTreeSet::new();
    for (method, path) in operations(&spec) {
        let id = spec["paths"][&path][&method]["operationId"]
            .as_str()
            .unwrap_or_default();
        assert!(
            ids.insert(id.to_string()),
            "operationId {id:?} twice ({method} {path})"
        );
    }
    let missing: Vec<_> = operations(&spec).difference(&c.called).cloned().collect();
    assert!(
        missing.is_empty(),
        "operations described but not called here: {missing:?}"
    );
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Creates, lists, reads, patches and deletes each kind of CRM record (the
/// patches as the signed-in admin agent, the rest with the group token).
fn crm_operations(c: &mut Caller<'_>, ann: &Session) {
    let base = "/api/v1/crm";
    let org = c.json(
        "post",
        "/api/v1/crm/organizations",
        &format!("{base}/organizations"),
        As::Group,
        Some(json!({"name": "Acme"})),
    );
    let org_id = org["id"].as_str().expect("organization id").to_string();
    let contact = c.json(
        "post",
        "/api/v1/crm/contacts",
        &format!("{base}/contacts"),
        As::Group,
        Some(
            json!({"name": "Carla Caller", "phones": ["+14155550133"], "organization_id": org_id}),
        ),
    );
    let contact_id = contact["id"].as_str().expect("contact id").to_string();
    let ticket = c.json(
        "post",
        "/api/v1/crm/tickets",
        &format!("{base}/tickets"),
        As::Group,
        Some(json!({"subject": "Printer on fire", "requester_id": contact_id, "comment": {"body": "It smokes"}})),
    );
    let ticket_id = ticket["id"].as_str().expect("ticket id").to_string();
    let comment = c.json(
        "post",
        "/api/v1/crm/tickets/{id}/comments",
        &format!("{base}/tickets/{ticket_id}/comments"),
        As::Group,
        Some(json!({"body": "Called back", "public": true})),
    );
    let comment_id = comment["id"].as_str().expect("comment id").to_string();
    let task = c.json(
        "post",
        "/api/v1/crm/tasks",
        &format!("{base}/tasks"),
        As::Group,
        Some(json!({"subject": "Call Carla back", "contact_id": contact_id, "due_at": "2026-12-01T09:00:00Z"})),
    );
    let task_id = task["id"].as_str().expect("task id").to_string();

    let records = [
        (
            "/api/v1/crm/organizations",
            format!("{base}/organizations"),
            "/api/v1/crm/organizations/{id}",
            format!("{base}/organizations/{org_id}"),
            json!({"name": "Acme Inc"}),
        ),
        (
            "/api/v1/crm/contacts",
            format!("{base}/contacts?phone=%2B14155550133"),
            "/api/v1/crm/contacts/{id}",
            format!("{base}/contacts/{contact_id}"),
            json!({"email": "carla@example.com"}),
        ),
        (
            "/api/v1/crm/tickets",
            format!("{base}/tickets?contact_id={contact_id}"),
            "/api/v1/crm/tickets/{id}",
            format!("{base}/tickets/{ticket_id}"),
            json!({"status": "open"}),
        ),
        (
            "/api/v1/crm/tickets/{id}/comments",
            format!("{base}/tickets/{ticket_id}/comments"),
            "/api/v1/crm/tickets/{id}/comments/{comment_id}",
            format!("{base}/tickets/{ticket_id}/comments/{comment_id}"),
            json!({"public": false}),
        ),
        (
            "/api/v1/crm/tasks",
            format!("{base}/tasks"),
            "/api/v1/crm/tasks/{id}",
            format!("{base}/tasks/{task_id}"),
            json!({"status": "done"}),
        ),
    ];
    for (list_path, list_target, one_path, one_target, patch) in &records {
        let page = c.json("get", list_path, list_target, As::Group, None);
        assert!(
            !page["items"].as_array().expect("items").is_empty(),
            "{list_target}: {page}"
        );
        let one = c.json("get", one_path, one_target, As::Agent(ann), None);
        assert!(one["id"].is_string(), "{one_target}: {one}");
        let patched = c.json(
            "patch",
            one_path,
            one_target,
            As::Agent(ann),
            Some(patch.clone()),
        );
        for (key, value) in patch.as_object().expect("patch") {
            assert_eq!(&patched[key], value, "{one_target}: {patched}");
        }
    }
    // Deleted children first.
    for (_, _, one_path, one_target, _) in records.iter().rev() {
        let answer = c.call("delete", one_path, one_target, As::Group, None);
        assert_eq!(answer.status, 204, "{one_target}: {}", answer.text);
    }

    // The contact made above was announced to a refused address: a dead letter.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while c.app.get("/api/v1/triggers/deliveries?status=failed").1["deliveries"]
        .as_array()
        .is_none_or(|d| d.is_empty())
    {
        assert!(std::time::Instant::now() < deadline, "no dead letter");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let failed = c.json(
        "get",
        "/api/v1/triggers/deliveries",
        "/api/v1/triggers/deliveries?status=failed",
        As::Group,
        None,
    );
    let dead = &failed["deliveries"][0];
    assert_eq!(
        dead["endpoint"], "http://127.0.0.1:9/hooks/contact",
        "{failed}"
    );
    let id = dead["id"].as_str().expect("delivery id");
    let replayed = c.json(
        "post",
        "/api/v1/triggers/deliveries/{id}/replay",
        &format!("/api/v1/triggers/deliveries/{id}/replay"),
        As::Group,
        None,
    );
    assert_eq!(replayed["message_id"], dead["message_id"], "{replayed}");
}

/// Issue 13, point 3: nothing is served that the description leaves out. Routes
/// and descriptions are one registration (`OpenApiRouter::routes(routes!(..))`,
/// where a handler without `#[utoipa::path]` does not compile); what could
/// still route without a description is a plain `.route(` (clippy refuses it
/// too, `clippy.toml`), so no source file of the server may call one; and on
/// every described path, every method the description does not list answers
/// 405.
#[test]
fn nothing_is_routed_that_the_description_leaves_out() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut plain = Vec::new();
    let mut dirs = vec![src];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("src dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("source");
                for (n, line) in text.lines().enumerate() {
                    let code = line.split("//").next().unwrap_or("");
                    let code = code.replace("OpenApiRouter::new()", "");
                    if [
                        ".route(",
                        ".route_service(",
                        ".nest_service(",
                        "Router::new()",
                    ]
                    .iter()
                    .any(|p| code.contains(p))
                    {
                        plain.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(
        plain.is_empty(),
        "routes registered without their OpenAPI description; register them with \
         OpenApiRouter::routes(routes!(handler)) and a #[utoipa::path] (ARCHITECTURE.md, \
         \"Adding an endpoint\"):\n{}",
        plain.join("\n")
    );

    let app = start();
    let spec = fetch_spec(&app);
    let mut by_path: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for (method, path) in operations(&spec) {
        let method = METHODS.iter().find(|m| **m == method).expect("method");
        by_path.entry(path).or_default().insert(method);
    }
    for (path, described) in &by_path {
        let target = path
            .replace("{call_id}", "c1")
            .replace("{comment_id}", "1")
            .replace("{id}", "1")
            .replace("{token}", "t")
            .replace("{group}", "support");
        for method in METHODS.iter().filter(|m| !described.contains(*m)) {
            let status = app
                .client()
                .request(
                    method.to_uppercase().parse().expect("method"),
                    app.url(&target),
                )
                .bearer_auth(TOKEN)
                .send()
                .expect("request")
                .status()
                .as_u16();
            assert_eq!(
                status,
                405,
                "{} {target} is routed but not described",
                method.to_uppercase()
            );
        }
    }
}

/// The security the description lists is kept: every operation that lists
/// one refuses a request without credentials with its documented 401.
#[test]
fn every_secured_operation_refuses_a_request_without_credentials() {
    let app = start();
    let spec = fetch_spec(&app);
    let mut secured = 0;
    for (method, path) in operations(&spec) {
        let op = &spec["paths"][&path][&method];
        if op["security"].as_array().is_none_or(Vec::is_empty) {
            continue;
        }
        // `{}` among the requirements: credentials are optional (`/metrics`,
        // open unless `[metrics] token` is set; its 401 is tested in metrics.rs).
        let optional = op["security"].as_array().is_some_and(|s| {
            s.iter()
                .any(|r| r.as_object().is_some_and(|o| o.is_empty()))
        });
        if optional {
            continue;
        }
        secured += 1;
        let target = path
            .replace("{call_id}", "c1")
            .replace("{comment_id}", "1")
            .replace("{id}", "1");
        let mut req = app.client().request(
            method.to_uppercase().parse().expect("method"),
            app.url(&target),
        );
        if op["requestBody"].is_object() {
            req = req.json(&json!({}));
        }
        let resp = req.send().expect("request");
        let answer = Answer {
            status: resp.status().as_u16(),
            content_type: resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            text: resp.text().expect("body"),
        };
        assert_eq!(answer.status, 401, "{method} {path}: {}", answer.text);
        check_answer(&spec, &method, &path, &answer);
    }
    assert!(secured > 40, "only {secured} secured operations");
}

/// The description itself, so that a change of the API shows in review
/// (`cargo insta review` after an intended change).
#[test]
fn the_description_is_as_reviewed() {
    let app = TestApp::start();
    let mut spec = fetch_spec(&app);
    spec["info"]["version"] = json!("[version]");
    insta::assert_json_snapshot!("openapi", spec);
}
