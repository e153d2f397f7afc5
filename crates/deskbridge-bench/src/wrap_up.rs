//! `--wrap-up`: every answered call of the trace is wrapped up by the agent
//! who answered it, as the agent page does (`POST /api/v1/calls/{id}/wrap_up`
//! with the agent's session), some seconds after it ends, while its comment
//! waits for the wrap-up: the run shows whether call, recording and wrap-up
//! still cost one write.

use serde_json::{Value, json};

/// The codes the bench's group offers.
pub const CODES: [&str; 3] = ["sale", "support", "complaint"];

/// Seconds of the trace after a call ends that its agent wraps it up.
pub const AFTER_END_S: f64 = 15.0;

/// The token agent `i` signs in with.
pub fn agent_token(i: usize) -> String {
    format!("bench-agent-{i}-token-0123456789")
}

/// A signed-in agent: the session cookie and the CSRF token its writes carry.
#[derive(Debug, Clone)]
pub struct Session {
    cookie: String,
    csrf: String,
}

/// Signs agent `i` in with their token.
pub async fn sign_in(http: &reqwest::Client, base: &str, i: usize) -> anyhow::Result<Session> {
    let resp = http
        .post(format!("{base}/api/v1/agent/login"))
        .json(&json!({ "token": agent_token(i) }))
        .send()
        .await?;
    anyhow::ensure!(
        resp.status().is_success(),
        "sign-in answered {}",
        resp.status()
    );
    let cookie = resp
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or_else(|| anyhow::anyhow!("the sign-in set no cookie"))?
        .to_string();
    let me: Value = resp.json().await?;
    let csrf = me["csrf_token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("the sign-in's answer has no csrf_token"))?
        .to_string();
    Ok(Session { cookie, csrf })
}

/// The agent wraps the call up with a code (one of [`CODES`], by the call).
pub async fn post(
    http: &reqwest::Client,
    base: &str,
    session: &Session,
    call_id: &str,
    index: usize,
) -> anyhow::Result<()> {
    let resp = http
        .post(format!("{base}/api/v1/calls/{call_id}/wrap_up"))
        .header(reqwest::header::COOKIE, &session.cookie)
        .header("X-CSRF-Token", &session.csrf)
        .json(&json!({ "code": CODES[index % CODES.len()] }))
        .send()
        .await?;
    anyhow::ensure!(
        resp.status().is_success(),
        "the wrap-up of {call_id} answered {}: {}",
        resp.status(),
        resp.text().await.unwrap_or_default()
    );
    Ok(())
}
