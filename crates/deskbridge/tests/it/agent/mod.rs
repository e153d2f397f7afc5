//! The agent page's API (issue 11, points 3 to 6): sign-in and out, CSRF, what an
//! agent may see, agent-mode decisions landing the call on the right record,
//! the caller lookup card, the caller log's filters, done flags and purge, and
//! the agent's live stream. One file a subject: `sign_in`, `agent_mode`,
//! `lookup`, `caller_log`, `streams`, and `zendesk` (agent mode on Zendesk);
//! the config and helpers they share are here.

use deskbridge_testkit::CallScript;
use serde_json::{Value, json};

use crate::common::{AgentBrowser, CallView, TestApp, ids};

const TOKEN: &str = "support-token-0123456789";
const ANN_PASSWORD: &str = "ann-password-1";
const BOB_TOKEN: &str = "bob-agent-token-0123456789";

/// A group in agent mode (or not), Ann signing in with a password and Bob with
/// a token.
fn config(group_keys: &str) -> String {
    let hash = deskbridge::agent_auth::hash_password(ANN_PASSWORD).expect("a hash");
    format!(
        r#"
[[agents]]
email = "ann@acme.com"
name = "Ann Example"
extension = "101"
password_hash = "{hash}"

[[agents]]
email = "bob@acme.com"
name = "Bob Example"
token = "{BOB_TOKEN}"

[[groups]]
name = "support"
tokens = ["{TOKEN}"]
{group_keys}
"#
    )
}

fn app(group_keys: &str) -> TestApp {
    TestApp::with_config(&config(group_keys), TOKEN)
}

fn ann(app: &TestApp) -> AgentBrowser<'_> {
    app.sign_in(&json!({"email": "ann@acme.com", "password": ANN_PASSWORD}))
}

fn bob(app: &TestApp) -> AgentBrowser<'_> {
    app.sign_in(&json!({"token": BOB_TOKEN}))
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// A call ringing now and answered by `agent` (times left out: now).
fn answered_now(call_id: &str, from: &str, agent: &str, attributes: Value) -> Value {
    CallScript::inbound(call_id, from)
        .attributes(attributes)
        .queue("support")
        .answered_by(agent)
        .events()
}

fn end_now(app: &TestApp, call_id: &str) {
    let (status, body) = app.post_events(&json!({"id": format!("{call_id}-end"),
        "call_id": call_id, "type": "ended", "reason": "completed"}));
    assert_eq!(status, 202, "{body}");
}

/// How many comments on the call's ticket are the call's own (its outcome).
/// (A ticket made while the call is live opens with a note of the call so far.)
fn call_comments(app: &TestApp, call: &Value) -> usize {
    app.comments(s(&call["ticket_id"]))
        .iter()
        .filter(|c| s(&c["body"]).contains("Outcome: answered"))
        .count()
}

fn create(app: &TestApp, path: &str, body: Value) -> Value {
    let (status, created) = app.send("POST", path, Some(&body));
    assert_eq!(status, 201, "{created}");
    created
}

/// An agent-mode call answered by Ann, identified, waiting for her decision.
fn waiting_call(app: &TestApp, call_id: &str, from: &str) -> CallView {
    let (status, body) = app.post_events(&answered_now(
        call_id,
        from,
        "ann@acme.com",
        json!({"ticket_assignment": "agent"}),
    ));
    assert_eq!(status, 202, "{body}");
    app.wait_call(call_id, |c| {
        !c["contact_id"].is_null() && !c["agent_decision"]["waiting"].is_null()
    })
}

mod agent_mode;
mod callbacks;
mod caller_log;
mod lookup;
mod sign_in;
mod streams;
mod wrap_up;
mod zendesk;

pub(crate) use streams::read_stream;
