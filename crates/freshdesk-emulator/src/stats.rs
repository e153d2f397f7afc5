//! What the emulator saw: the numbers a connector's targets are stated in (API
//! requests per call, 429 discipline, failures survived). `GET /emulator/stats`
//! answers this as JSON with the same field names.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Authenticated API requests per endpoint, keyed by method and route
    /// template: `"GET /api/v2/contacts"`, `"PUT /api/v2/tickets/{id}"`,
    /// `"POST /api/v2/tickets/{id}/notes"`. An unknown route counts under its path.
    pub endpoints: BTreeMap<String, u64>,
    /// Authenticated API requests, whatever their answer (429 and 5xx included).
    pub total: u64,
    /// 429 answers from the rate limits.
    pub throttled: u64,
    /// Injected failures (random or queued), before or after the write.
    pub faults: u64,
    /// Requests refused with 401 (not counted in `total`).
    pub unauthorized: u64,
    /// 429s to requests that arrived after an earlier 429 of the same limit
    /// had been answered: a client honouring `Retry-After` keeps this at 0.
    pub during_retry_after: u64,
}

impl Stats {
    pub(crate) fn count(&mut self, endpoint: String) {
        self.total += 1;
        *self.endpoints.entry(endpoint).or_default() += 1;
    }

    /// Requests counted for one endpoint key (0 when never called).
    pub fn requests_to(&self, endpoint: &str) -> u64 {
        self.endpoints.get(endpoint).copied().unwrap_or(0)
    }
}
