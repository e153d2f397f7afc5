//! What the emulator saw: the numbers deskbridge's targets are stated in (API
//! requests per call, 429 discipline) and the screen pops agents would have seen.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Counters since start or the last reset. `GET /__emulator/stats` returns this as
/// JSON with the same field names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Authenticated API requests, whatever their answer (429 and 500 included).
    pub total_requests: u64,
    /// The same, per endpoint, keyed by method and route, such as
    /// `"POST /api/v2/tickets"` or `"GET /api/v2/users/{id}"`.
    pub endpoints: BTreeMap<String, u64>,
    /// 429 answers sent.
    pub rate_limited: u64,
    /// 500 answers injected by the fault knob.
    pub injected_failures: u64,
    /// Requests that arrived while a `Retry-After` the emulator had announced was
    /// still running: a client honouring 429s keeps this at 0.
    pub requests_during_retry_after: u64,
    /// Requests refused with 401 (not counted in `total_requests`).
    pub unauthorized: u64,
    /// Screen pops delivered, per agent id, in order.
    pub pops: BTreeMap<u64, Vec<Pop>>,
}

impl Stats {
    pub(crate) fn count(&mut self, endpoint: String) {
        self.total_requests += 1;
        *self.endpoints.entry(endpoint).or_default() += 1;
    }

    /// Requests counted for one endpoint key (0 when never called).
    pub fn requests_to(&self, endpoint: &str) -> u64 {
        self.endpoints.get(endpoint).copied().unwrap_or(0)
    }

    /// Every pop delivered to any agent.
    pub fn pop_count(&self) -> usize {
        self.pops.values().map(Vec::len).sum()
    }
}

/// What a Talk Partner Edition display request opened in an agent's browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PopKind {
    Ticket,
    User,
}

/// One delivered screen pop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pop {
    pub kind: PopKind,
    /// The ticket or user id that was opened.
    pub id: u64,
    pub at: DateTime<Utc>,
}
