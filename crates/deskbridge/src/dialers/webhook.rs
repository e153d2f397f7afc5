//! Dials through a click-to-dial API (`[groups.dial_webhook]`): one request
//! whose JSON body is the configured templates rendered over the dial.
//! sipgate's `POST /v2/sessions/calls` is the documented example: it answers
//! 200 `{"sessionId": ...}`, and 400, 401, 402 ("Insufficient funds") or 403
//! when it will not place the call (its OpenAPI description, `newCall`).

use std::time::Duration;

use deskbridge_core::dial::Dial;
use serde_json::{Map, Value};

use super::NotPlaced;
use crate::config::dialing::DialWebhookConfig;

/// How long the phone system has to answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

pub(super) async fn place(
    http: &reqwest::Client,
    hook: &DialWebhookConfig,
    dial: &Dial,
) -> Result<(), NotPlaced> {
    let mut body = Map::new();
    for (field, template) in &hook.body {
        let value = deskbridge_core::templates::render_for_dial(template, dial)
            .map_err(|e| NotPlaced::Refused(format!("dial_webhook.body.{field}: {e}")))?;
        body.insert(field.clone(), Value::String(value));
    }
    let mut request = http
        .request(hook.method(), &hook.url)
        .timeout(ANSWER_WITHIN)
        .header("accept", "application/json")
        .json(&Value::Object(body));
    for (name, value) in &hook.headers {
        request = request.header(name, value);
    }
    let response = request.send().await.map_err(|e| {
        NotPlaced::Unavailable(format!(
            "the dial webhook did not answer: {}",
            e.without_url()
        ))
    })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let text = response.text().await.unwrap_or_default();
    let said: String = text.trim().chars().take(200).collect();
    Err(NotPlaced::Refused(format!(
        "the phone system refused the dial: HTTP {status}{}{said}; check [groups.dial_webhook] (its url, headers and body)",
        if said.is_empty() { "" } else { ": " }
    )))
}
