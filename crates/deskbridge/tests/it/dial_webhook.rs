//! Click-to-call through a click-to-dial API (`[groups.dial_webhook]`), against
//! a stand-in of sipgate's `POST /v2/sessions/calls`, the documented example.
//! It behaves as sipgate's OpenAPI description (`newCall`) and its official
//! clients (sipgate-io/sipgateio-node, sipgateio-outgoingcall-python) say:
//! HTTP Basic with a personal access token (`token-XXXXXX`, a UUID), a JSON
//! body with `caller` and `callee` required (400 without them), 200 with
//! `{"sessionId": ...}`, and 402 with no body for "Insufficient funds".

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

use crate::common::{AgentBrowser, TestApp, serve_peer};

const TOKEN: &str = "dial-hook-token-0123456789";
const ANN_PASSWORD: &str = "ann-dials-2";
const CUSTOMER: &str = "+4915799912345";
const TOKEN_ID: &str = "token-A1B2C3";
const PAT: &str = "5f4dcc3b-5aa7-4c4e-9a8b-6e4f0d2b1a11";

#[derive(Default)]
struct Sipgate {
    /// The bodies of the calls it was asked to place.
    calls: Vec<Value>,
    /// Out of credit: every call is refused with 402.
    broke: bool,
}

async fn new_call(
    State(sipgate): State<Arc<Mutex<Sipgate>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    // sipgate's README: 404 for a wrong endpoint, 405 for a wrong method.
    if uri.path() != "/v2/sessions/calls" {
        return StatusCode::NOT_FOUND.into_response();
    }
    if method != Method::POST {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{TOKEN_ID}:{PAT}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if !headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"))
    {
        return StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response();
    }
    let Ok(call) = serde_json::from_str::<Value>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if !call["caller"].is_string() || !call["callee"].is_string() {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let mut sipgate = sipgate.lock().unwrap();
    if sipgate.broke {
        return StatusCode::PAYMENT_REQUIRED.into_response();
    }
    sipgate.calls.push(call);
    Json(json!({"sessionId": format!("{}", sipgate.calls.len())})).into_response()
}

/// The stand-in on 127.0.0.1, with its own runtime.
struct StandIn {
    url: String,
    state: Arc<Mutex<Sipgate>>,
    _rt: tokio::runtime::Runtime,
}

impl StandIn {
    fn start() -> StandIn {
        let state = Arc::new(Mutex::new(Sipgate::default()));
        let (base, rt) = serve_peer(
            axum::Router::new()
                .fallback(new_call)
                .with_state(state.clone()),
        );
        StandIn {
            url: format!("{base}/v2/sessions/calls"),
            state,
            _rt: rt,
        }
    }
}

fn app(sipgate: &StandIn) -> TestApp {
    let hash = deskbridge::agent_auth::hash_password(ANN_PASSWORD).expect("a hash");
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{TOKEN_ID}:{PAT}"));
    let config = format!(
        r#"
[[agents]]
email = "ann@acme.com"
name = "Ann Example"
extension = "e0"
password_hash = "{hash}"

[[groups]]
name = "support"
tokens = ["{TOKEN}"]
default_region = "DE"
default_caller_id = "+4921155550199"
# A dial's chosen ticket is not an IVR's: it holds without IVR tickets.
use_ivr_ticket = false
[groups.dial_webhook]
url = "{}"
headers = {{ Authorization = "Basic {auth}" }}
body = {{ caller = "{{{{ agent.extension }}}}", callee = "{{{{ to }}}}", callerId = "{{{{ caller_id }}}}" }}
"#,
        sipgate.url
    );
    TestApp::with_config(&config, TOKEN)
}

fn ann(app: &TestApp) -> AgentBrowser<'_> {
    app.sign_in(&json!({"email": "ann@acme.com", "password": ANN_PASSWORD}))
}

#[test]
fn a_dial_goes_to_sipgate_as_its_api_wants_and_the_pbxs_events_log_it_on_the_ticket() {
    let sipgate = StandIn::start();
    let app = app(&sipgate);
    let (_, contact) = app.send(
        "POST",
        "/api/v1/crm/contacts",
        Some(&json!({"name": "Kai Kunde", "phones": [CUSTOMER]})),
    );
    let (_, ticket) = app.send(
        "POST",
        "/api/v1/crm/tickets",
        Some(&json!({"subject": "Rechnung", "requester_id": contact["id"], "status": "open"})),
    );
    let ticket_id = ticket["id"].to_string().trim_matches('"').to_string();
    let (status, answer) = ann(&app).send(
        "POST",
        "/api/v1/agent/dial",
        Some(&json!({"to": "0157 99912345", "ticket_id": ticket_id, "log": "ticket"})),
    );
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["dialer"], "webhook");
    let calls = sipgate.state.lock().unwrap().calls.clone();
    assert_eq!(
        calls,
        [json!({"caller": "e0", "callee": CUSTOMER, "callerId": "+4921155550199"})]
    );
    // The phone system's script reports the call under deskbridge's id.
    let call_id = answer["call_id"].as_str().expect("a call id");
    let (status, body) = app.post_events(&json!([
        {"id": format!("{call_id}-a"), "call_id": call_id, "type": "answered",
         "agent": {"email": "ann@acme.com"}},
        {"id": format!("{call_id}-e"), "call_id": call_id, "type": "ended", "reason": "completed"},
    ]));
    assert_eq!(status, 202, "{body}");
    let call = app.wait_call(call_id, |c| c["state"] == "ended" && c["sync"] == "done");
    assert_eq!(call["direction"], "outbound");
    assert_eq!(call["to"], CUSTOMER);
    assert_eq!(call["ticket_id"].as_str(), Some(ticket_id.as_str()));
    assert!(app.comments(&ticket_id).iter().any(|c| {
        c["body"]
            .as_str()
            .unwrap_or_default()
            .contains("Outbound call answered")
    }),);
}

#[test]
fn a_dial_sipgate_refuses_is_shown_to_the_agent_and_ends_the_call() {
    let sipgate = StandIn::start();
    sipgate.state.lock().unwrap().broke = true;
    let app = app(&sipgate);
    let ann = ann(&app);
    let (status, answer) = ann.send(
        "POST",
        "/api/v1/agent/dial",
        Some(&json!({"to": CUSTOMER, "log": "none"})),
    );
    assert_eq!(status, 502, "{answer}");
    assert_eq!(answer["error"], "dial_refused");
    assert!(
        answer["message"]
            .as_str()
            .unwrap_or_default()
            .contains("402"),
        "{answer}"
    );
    let (_, mine) = ann.send("GET", "/api/v1/agent/calls", None);
    let call = &mine["calls"][0];
    assert_eq!(
        (&call["state"], &call["outcome"]),
        (&json!("ended"), &json!("failed"))
    );
    assert!(
        call["attributes"]["dial_failure"]
            .as_str()
            .is_some_and(|f| f.contains("402")),
        "{call}"
    );
    // `log = "none"`: nothing of it reaches the helpdesk.
    let call = app.wait_call(call["call_id"].as_str().unwrap(), |c| c["sync"] == "done");
    assert!(
        call["ticket_id"].is_null() && call["contact_id"].is_null(),
        "{call}"
    );
    assert!(app.contacts_by_phone(CUSTOMER).is_empty());
}
