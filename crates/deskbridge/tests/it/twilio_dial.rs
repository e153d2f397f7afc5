//! Click-to-call through Twilio (`[groups.twilio_dial]`), against a stand-in of
//! Twilio's Create Call (`POST /2010-04-01/Accounts/{AccountSid}/Calls.json`)
//! that behaves as Twilio's REST reference and its OpenAPI description
//! (twilio-oai `twilio_api_v2010.json`) say: HTTP Basic with the account SID
//! and auth token (else 401, code 20003 "Authenticate"), a form-encoded body
//! with `To`, `From` and `Url` (`StatusCallbackEvent` repeated once per
//! event), `From` one of the account's numbers (else 400, code 21210), and 201
//! with the call `queued`, `outbound-api`. The test then plays Twilio: it
//! fetches the TwiML and sends both legs' status callbacks, signed as Twilio
//! signs them, to the addresses deskbridge gave.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use deskbridge::adapters::twilio::signature;
use serde_json::json;

use crate::common::{AgentBrowser, TestApp, serve_peer};

const TOKEN: &str = "twilio-dial-token-0123456789";
const SID: &str = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN: &str = "twilio-auth-token-1";
const PUBLIC: &str = "https://deskbridge.acme.example";
const CUSTOMER: &str = "+14155550123";
const OUR_NUMBER: &str = "+14155550199";
const ANN_PASSWORD: &str = "ann-dials-3";

#[derive(Default)]
struct Account {
    /// The forms of the calls created.
    calls: Vec<Vec<(String, String)>>,
}

async fn create_call(
    State(account): State<Arc<Mutex<Account>>>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    if uri.path() != format!("/2010-04-01/Accounts/{SID}/Calls.json") {
        return (StatusCode::NOT_FOUND, Json(json!({"code": 20404, "message": "The requested resource was not found", "more_info": "https://www.twilio.com/docs/errors/20404", "status": 404}))).into_response();
    }
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{AUTH_TOKEN}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(basic.as_str()) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}))).into_response();
    }
    assert!(
        headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded")),
        "{headers:?}"
    );
    let form: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let (Some(to), Some(from), Some(_url)) = (get("To"), get("From"), get("Url")) else {
        return (StatusCode::BAD_REQUEST, Json(json!({"code": 21205, "message": "Url parameter is required.", "more_info": "https://www.twilio.com/docs/errors/21205", "status": 400}))).into_response();
    };
    if from != OUR_NUMBER {
        return (StatusCode::BAD_REQUEST, Json(json!({"code": 21210, "message": format!("The source phone number provided, {from}, is not yet verified for your account. You may only make calls from phone numbers that you've verified or purchased from Twilio."), "more_info": "https://www.twilio.com/docs/errors/21210", "status": 400}))).into_response();
    }
    let mut account = account.lock().unwrap();
    account.calls.push(form);
    let sid = format!("CA{:032x}", account.calls.len());
    (
        StatusCode::CREATED,
        Json(
            json!({"sid": sid, "account_sid": SID, "to": to, "from": from,
                    "status": "queued", "direction": "outbound-api",
                    "api_version": "2010-04-01"}),
        ),
    )
        .into_response()
}

struct StandIn {
    base: String,
    account: Arc<Mutex<Account>>,
    _rt: tokio::runtime::Runtime,
}

impl StandIn {
    fn start() -> StandIn {
        let account = Arc::new(Mutex::new(Account::default()));
        let (base, rt) = serve_peer(
            axum::Router::new()
                .fallback(create_call)
                .with_state(account.clone()),
        );
        StandIn {
            base,
            account,
            _rt: rt,
        }
    }
}

fn app(twilio: &StandIn, caller_id: &str) -> TestApp {
    let hash = deskbridge::agent_auth::hash_password(ANN_PASSWORD).expect("a hash");
    let config = format!(
        r#"
[server]
public_url = "{PUBLIC}"

[[agents]]
email = "ann@acme.com"
name = "Ann Example"
extension = "ann"
password_hash = "{hash}"

[[groups]]
name = "support"
tokens = ["{TOKEN}"]
twilio_auth_token = "{AUTH_TOKEN}"
default_caller_id = "{caller_id}"
[groups.twilio_dial]
account_sid = "{SID}"
agent_endpoint = "client:{{{{ agent.extension }}}}"
api_base = "{}"
"#,
        twilio.base
    );
    TestApp::with_config(&config, TOKEN)
}

fn ann(app: &TestApp) -> AgentBrowser<'_> {
    app.sign_in(&json!({"email": "ann@acme.com", "password": ANN_PASSWORD}))
}

/// Twilio requesting `url` (an address deskbridge gave it) with `params`,
/// signed as Twilio signs: the answer's status and text.
fn as_twilio(app: &TestApp, url: &str, params: &[(&str, &str)]) -> (u16, String) {
    let pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let path = url
        .strip_prefix(PUBLIC)
        .expect("an address under public_url");
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&pairs)
        .finish();
    let resp = app
        .client()
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("X-Twilio-Signature", signature(AUTH_TOKEN, url, &pairs))
        .body(body)
        .send()
        .expect("a request");
    (resp.status().as_u16(), resp.text().unwrap_or_default())
}

fn field(form: &[(String, String)], name: &str) -> String {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

#[test]
fn a_dial_calls_ann_then_the_twiml_dials_the_customer_and_both_legs_land_on_the_call() {
    let twilio = StandIn::start();
    let app = app(&twilio, OUR_NUMBER);
    let (status, answer) = ann(&app).send(
        "POST",
        "/api/v1/agent/dial",
        Some(&json!({"to": CUSTOMER, "log": "new_ticket"})),
    );
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["dialer"], "twilio");
    let call_id = answer["call_id"].as_str().expect("a call id").to_string();
    let form = twilio.account.lock().unwrap().calls[0].clone();
    assert_eq!(field(&form, "To"), "client:ann");
    assert_eq!(field(&form, "From"), OUR_NUMBER);
    let events: Vec<&str> = form
        .iter()
        .filter(|(k, _)| k == "StatusCallbackEvent")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(events, ["initiated", "ringing", "answered", "completed"]);
    let agent_leg = field(&form, "StatusCallback");
    // Ann's client rings and she picks up: Twilio fetches the TwiML.
    assert_eq!(
        as_twilio(
            &app,
            &agent_leg,
            &[
                ("CallSid", "CA1"),
                ("CallStatus", "ringing"),
                ("Direction", "outbound-api")
            ]
        )
        .0,
        204
    );
    let (status, twiml) = as_twilio(
        &app,
        &field(&form, "Url"),
        &[
            ("CallSid", "CA1"),
            ("CallStatus", "in-progress"),
            ("Direction", "outbound-api"),
        ],
    );
    assert_eq!(status, 200, "{twiml}");
    assert!(
        twiml.contains(&format!(
            "<Dial callerId=\"{OUR_NUMBER}\"><Number statusCallback=\""
        )) && twiml.contains(&format!(">{CUSTOMER}</Number></Dial>")),
        "{twiml}"
    );
    let customer_leg = twiml
        .split("statusCallback=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the customer's status callback")
        .replace("&amp;", "&");
    // The customer answers, they talk 42 s, Ann hangs up.
    for (url, params) in [
        (
            &customer_leg,
            vec![
                ("CallSid", "CA2"),
                ("ParentCallSid", "CA1"),
                ("CallStatus", "in-progress"),
                ("Direction", "outbound-dial"),
            ],
        ),
        (
            &customer_leg,
            vec![
                ("CallSid", "CA2"),
                ("ParentCallSid", "CA1"),
                ("CallStatus", "completed"),
                ("CallDuration", "42"),
                ("Direction", "outbound-dial"),
            ],
        ),
        (
            &agent_leg,
            vec![
                ("CallSid", "CA1"),
                ("CallStatus", "completed"),
                ("CallDuration", "50"),
                ("Direction", "outbound-api"),
            ],
        ),
    ] {
        let (status, text) = as_twilio(&app, url, &params);
        assert_eq!(status, 204, "{text}");
    }
    let call = app.wait_call(&call_id, |c| c["state"] == "ended" && c["sync"] == "done");
    assert_eq!(call["direction"], "outbound");
    assert_eq!(call["to"], CUSTOMER);
    assert_eq!(call["outcome"], "answered");
    assert_eq!(call["agent"]["email"], "ann@acme.com");
    let comments = app.comments(call["ticket_id"].as_str().expect("a ticket"));
    assert!(
        comments.iter().any(|c| {
            let body = c["body"].as_str().unwrap_or_default();
            body.contains("Outbound call answered") && body.contains("Talk time: 42s")
        }),
        "{comments:?}"
    );
}

#[test]
fn twilio_refusing_the_caller_id_or_anns_busy_phone_is_shown_to_her() {
    let twilio = StandIn::start();
    // A caller id that is not one of the account's numbers: Twilio's 21210.
    let app = app(&twilio, "+14155550111");
    let ann = ann(&app);
    let (status, answer) = ann.send("POST", "/api/v1/agent/dial", Some(&json!({"to": CUSTOMER})));
    assert_eq!(status, 502, "{answer}");
    let message = answer["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("is not yet verified for your account") && message.contains("21210"),
        "{answer}"
    );

    let app = self::app(&twilio, OUR_NUMBER);
    let ann = self::ann(&app);
    let (status, answer) = ann.send("POST", "/api/v1/agent/dial", Some(&json!({"to": CUSTOMER})));
    assert_eq!(status, 202, "{answer}");
    let call_id = answer["call_id"].as_str().unwrap().to_string();
    let form = twilio
        .account
        .lock()
        .unwrap()
        .calls
        .last()
        .cloned()
        .unwrap();
    let (status, _) = as_twilio(
        &app,
        &field(&form, "StatusCallback"),
        &[
            ("CallSid", "CA9"),
            ("CallStatus", "busy"),
            ("Direction", "outbound-api"),
        ],
    );
    assert_eq!(status, 204);
    app.wait_call(&call_id, |c| c["state"] == "ended");
    let (_, mine) = ann.send("GET", &format!("/api/v1/calls/{call_id}"), None);
    assert_eq!(mine["attributes"]["dial_failure"], "busy", "{mine}");
    assert_eq!(mine["outcome"], "busy");
}

/// The stand-in read by Twilio's own Node library (`tests/browser/
/// twilio-client.mjs`): its 201 is a created call to the library, 21210 and
/// 20003 its `RestException`s, and the form the library sends is the one
/// deskbridge sends (`StatusCallbackEvent` repeated). Skipped, saying why,
/// without node or the npm packages (`.ci/run` installs them).
#[test]
fn twilios_own_client_reads_the_stand_in_as_twilio() {
    let dir = crate::browser::browser_dir();
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
        || !dir.join("node_modules/twilio").exists()
    {
        eprintln!(
            "SKIPPED: node or the twilio npm package is missing (npm ci in {})",
            dir.display()
        );
        return;
    }
    let twilio = StandIn::start();
    crate::browser::run_script(
        "twilio-client.mjs",
        &[
            ("TWILIO_BASE", twilio.base.clone()),
            ("TWILIO_ACCOUNT_SID", SID.into()),
            ("TWILIO_AUTH_TOKEN", AUTH_TOKEN.into()),
        ],
        3,
    );
    let calls = twilio.account.lock().unwrap().calls.clone();
    assert_eq!(calls.len(), 1, "the one accepted call");
    let events: Vec<&str> = calls[0]
        .iter()
        .filter(|(k, _)| k == "StatusCallbackEvent")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(events, ["initiated", "ringing", "answered", "completed"]);
    assert_eq!(field(&calls[0], "To"), "client:ann");
}
