//! `Idempotency-Key` on ticket creation.
//!
//! Source: "Idempotency" in Zendesk's Support API introduction
//! (developer.zendesk.com/api-reference/ticketing/introduction/#idempotency, linked
//! from zendesk_api_client_rb issue #510): the key is kept for a limited time, a
//! repeat answers `x-idempotency-lookup: hit`, another body with the same key is
//! refused with `IdempotentRequestError`.
//!
//! Zendesk remembers a key for two hours: the same key with the same parameters
//! returns the first response (`x-idempotency-lookup: hit`) without creating
//! anything, and the same key with other parameters is refused. deskbridge relies
//! on this to make a crashed-and-retried "create ticket" step safe, so the emulator
//! must keep exactly these rules.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::Value;

const RETENTION: Duration = Duration::from_secs(2 * 60 * 60);

#[derive(Debug, Clone)]
struct Entry {
    request: Value,
    status: StatusCode,
    response: Value,
    at: Instant,
}

/// What a key says about a request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lookup {
    /// First use (or expired): process the request.
    Miss,
    /// Seen with the same parameters: answer this.
    Hit { status: StatusCode, response: Value },
    /// Seen with other parameters.
    Conflict,
}

#[derive(Debug, Default)]
pub(crate) struct IdempotencyCache {
    entries: HashMap<String, Entry>,
}

impl IdempotencyCache {
    /// Compares parsed bodies, so key order and whitespace do not matter.
    pub(crate) fn lookup(&mut self, key: &str, request: &Value, now: Instant) -> Lookup {
        self.entries
            .retain(|_, entry| now.saturating_duration_since(entry.at) < RETENTION);
        match self.entries.get(key) {
            None => Lookup::Miss,
            Some(entry) if entry.request == *request => Lookup::Hit {
                status: entry.status,
                response: entry.response.clone(),
            },
            Some(_) => Lookup::Conflict,
        }
    }

    /// Remembers a successful answer. Failed requests are not remembered, so a
    /// client can fix its request and retry with the same key.
    pub(crate) fn remember(
        &mut self,
        key: String,
        request: Value,
        status: StatusCode,
        response: Value,
        now: Instant,
    ) {
        self.entries.insert(
            key,
            Entry {
                request,
                status,
                response,
                at: now,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn miss_hit_conflict_expiry() {
        let mut cache = IdempotencyCache::default();
        let now = Instant::now();
        let request = json!({"ticket": {"subject": "a"}});
        assert_eq!(cache.lookup("k", &request, now), Lookup::Miss);
        cache.remember(
            "k".into(),
            request.clone(),
            StatusCode::CREATED,
            json!({"id": 1}),
            now,
        );
        assert_eq!(
            cache.lookup("k", &request, now),
            Lookup::Hit {
                status: StatusCode::CREATED,
                response: json!({"id": 1})
            }
        );
        assert_eq!(
            cache.lookup("k", &json!({"ticket": {"subject": "b"}}), now),
            Lookup::Conflict
        );
        assert_eq!(cache.lookup("k", &request, now + RETENTION), Lookup::Miss);
    }
}
