//! The demo's phone system for click-to-call: the group's dial webhook
//! (`[groups.dial_webhook]`) points here. Each dial is put through as a phone
//! system would: the agent's phone answers at once, the customer a few seconds
//! later, they talk, and the call ends; its events go to deskbridge's native
//! API under the dial's `call_id`, with the group's token, as any PBX script
//! would send them. Nothing in the server knows it is a demo.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

/// Where the emulated phone system reports its calls, known once deskbridge
/// listens.
#[derive(Clone, Default)]
pub struct Reports {
    deskbridge: Arc<OnceLock<(String, String)>>,
}

impl Reports {
    /// deskbridge's address and the group's token.
    pub fn to(&self, base: &str, token: &str) {
        let _ = self.deskbridge.set((base.to_string(), token.to_string()));
    }
}

/// Starts the phone system; the address of its dial endpoint.
pub async fn start(reports: Reports, speed: f64) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("starting the demo's phone system")?;
    let addr = listener.local_addr()?;
    // The phone system's one endpoint, on a port of its own: not deskbridge's
    // API (which has only described routes), so a bare handler, any path.
    let app = axum::routing::post(dial).with_state((reports, speed));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app.into_make_service()).await {
            tracing::warn!(error = %e, "the demo's phone system stopped");
        }
    });
    Ok(format!("http://{addr}/dial"))
}

/// A dial: `{call_id, to, agent}` as the demo's `body` templates render them.
async fn dial(
    State((reports, speed)): State<(Reports, f64)>,
    Json(body): Json<Value>,
) -> StatusCode {
    let (Some(call_id), Some(agent)) = (body["call_id"].as_str(), body["agent"].as_str()) else {
        return StatusCode::BAD_REQUEST;
    };
    let Some((base, token)) = reports.deskbridge.get().cloned() else {
        return StatusCode::SERVICE_UNAVAILABLE;
    };
    let (call_id, agent) = (call_id.to_string(), agent.to_string());
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        let at = |secs: f64| Duration::from_secs_f64(secs / speed);
        for (after, event) in [
            (4.0, json!({"type": "answered", "agent": {"email": agent}})),
            (
                20.0,
                json!({"type": "ended", "reason": "completed", "duration_s": 16}),
            ),
        ] {
            tokio::time::sleep(at(after)).await;
            let mut event = event;
            event["id"] = json!(format!(
                "{call_id}-{}",
                event["type"].as_str().unwrap_or("e")
            ));
            event["call_id"] = json!(call_id);
            let sent = http
                .post(format!("{base}/api/v1/events"))
                .bearer_auth(&token)
                .json(&event)
                .send()
                .await;
            if let Err(e) = sent {
                tracing::warn!(error = %e, "the demo's phone system could not report a call");
            }
        }
    });
    StatusCode::OK
}
