//! `/emulator/*`: what scripts and process tests read without Rust. No
//! authentication, not counted, never limited or failed: they stand outside the
//! emulated account.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use serde_json::json;

use super::ok;
use crate::Shared;

/// `GET /emulator/stats`: [`Stats`](crate::Stats) as JSON.
pub(crate) async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    let stats = shared.stats().clone();
    ok(json!(stats))
}

/// `GET /emulator/state`: [`StateSnapshot`](crate::StateSnapshot) as JSON.
pub(crate) async fn state(State(shared): State<Arc<Shared>>) -> Response {
    let snapshot = shared.store().snapshot();
    ok(json!(snapshot))
}
