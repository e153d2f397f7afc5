//! `GET /api/v2/incremental/{users,tickets}/cursor`: Zendesk's cursor-based
//! incremental exports.
//!
//! What the emulator keeps of the documentation (Support API reference,
//! "Incremental Exports", and the guide "Using the Incremental Export API",
//! developer.zendesk.com; the OpenAPI description's
//! `IncrementalUserExportCursor` / `IncrementalTicketExportCursor`):
//!
//! - The first request names `start_time` (Unix seconds; required, "must be at
//!   least one minute in the past"); every later one names the `cursor` of the
//!   page before (`after_cursor`, or the whole `after_url`). The answer holds
//!   `after_cursor`, `after_url`, `before_cursor`, `before_url` and
//!   `end_of_stream` ("true if the current request has returned all the results
//!   up to the current time").
//! - Items are ordered by when they last changed; a changed item comes again
//!   after the cursor. Items created or changed within the minute before the
//!   request are left out ("to ensure the accuracy of the data"): they come in
//!   a later request. The last page still carries an `after_cursor`, which is
//!   where the next scheduled export starts.
//! - `per_page` up to 1000 (the default for cursor-based exports).
//! - "You can make up to 10 requests per minute to these endpoints" (429 with
//!   `Retry-After` past that, as for the account's limit).
//! - "Allowed For: Admins": an agent's token is refused (403).
//! - A deleted user is exported with `active: false`, a deleted ticket with
//!   status `deleted`; the emulator deletes nothing, so neither occurs here.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Base, reply};
use crate::Shared;
use crate::error::ApiError;
use crate::model::Role;
use crate::ratelimit::Admission;
use crate::render;

/// "per_page ... up to 1000" for cursor-based exports, and its default.
const MAX_PER_PAGE: usize = 1000;

/// A position in the stream: after the item that changed at `at` with `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Position {
    at_micros: i64,
    id: u64,
}

impl Position {
    fn of(at: &DateTime<Utc>, id: u64) -> Position {
        Position {
            at_micros: at.timestamp_micros(),
            id,
        }
    }

    /// Opaque to the client, as Zendesk's cursors are.
    fn encode(self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!("{}|{}", self.at_micros, self.id))
    }

    fn decode(text: &str) -> Option<Position> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (at, id) = text.split_once('|')?;
        Some(Position {
            at_micros: at.parse().ok()?,
            id: id.parse().ok()?,
        })
    }
}

#[derive(Clone, Copy)]
enum Resource {
    Users,
    Tickets,
}

impl Resource {
    fn key(self) -> &'static str {
        match self {
            Resource::Users => "users",
            Resource::Tickets => "tickets",
        }
    }
}

pub(crate) async fn users(
    State(shared): State<Arc<Shared>>,
    Base(base): Base,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    export(&shared, &base, &params, Resource::Users)
}

pub(crate) async fn tickets(
    State(shared): State<Arc<Shared>>,
    Base(base): Base,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    export(&shared, &base, &params, Resource::Tickets)
}

fn export(
    shared: &Shared,
    base: &str,
    params: &HashMap<String, String>,
    resource: Resource,
) -> Result<Response, ApiError> {
    {
        let store = shared.store();
        if store.user(store.admin_id).map(|u| u.role) != Some(Role::Admin) {
            return Err(ApiError::Forbidden);
        }
    }
    if let Admission::Limited {
        retry_after_secs, ..
    } = shared.control().exports.admit(Instant::now())
    {
        shared.stats().rate_limited += 1;
        return Err(ApiError::RateLimited { retry_after_secs });
    }
    let now = Utc::now();
    let start = match (params.get("cursor"), params.get("start_time")) {
        (Some(cursor), _) => Position::decode(cursor)
            .ok_or_else(|| ApiError::BadRequest(format!("Invalid cursor: {cursor}")))?,
        (None, Some(start)) => {
            let seconds: i64 = start
                .parse()
                .map_err(|_| ApiError::BadRequest("start_time is invalid".to_owned()))?;
            if seconds > now.timestamp() - 60 {
                return Err(ApiError::BadRequest(
                    "Too recent start_time. Use a start_time older than 1 minute".to_owned(),
                ));
            }
            // On or after `start_time`: positioned just before its first second.
            Position {
                at_micros: seconds.saturating_mul(1_000_000).saturating_sub(1),
                id: u64::MAX,
            }
        }
        (None, None) => {
            return Err(ApiError::BadRequest(
                "Parameter start_time is required".to_owned(),
            ));
        }
    };
    let per_page = params
        .get("per_page")
        .and_then(|value| value.parse::<usize>().ok())
        .unwrap_or(MAX_PER_PAGE)
        .clamp(1, MAX_PER_PAGE);

    let store = shared.store();
    let until = now
        - chrono::Duration::from_std(store.export_lag).unwrap_or_else(|_| chrono::Duration::zero());
    let until = Position::of(&until, u64::MAX);
    let mut items: Vec<(Position, Value)> = match resource {
        Resource::Users => store
            .users
            .values()
            .map(|user| (Position::of(&user.updated_at, user.id), user))
            .filter(|(at, _)| *at > start && *at <= until)
            .map(|(at, user)| (at, render::user(user, base)))
            .collect(),
        Resource::Tickets => store
            .tickets
            .values()
            .map(|ticket| (Position::of(&ticket.updated_at, ticket.id), ticket))
            .filter(|(at, _)| *at > start && *at <= until)
            .map(|(at, ticket)| (at, render::ticket(ticket, &store, base)))
            .collect(),
    };
    drop(store);
    items.sort_by_key(|(at, _)| *at);
    let end_of_stream = items.len() <= per_page;
    items.truncate(per_page);
    // Where the next request starts: after the last item sent, or where this
    // one started when nothing was new.
    let after = items.last().map_or(start, |(at, _)| *at).encode();
    let after_url = format!(
        "{base}/api/v2/incremental/{}/cursor.json?cursor={after}",
        resource.key()
    );
    let items: Vec<Value> = items.into_iter().map(|(_, item)| item).collect();
    Ok(reply(
        StatusCode::OK,
        json!({
            resource.key(): items,
            "after_cursor": after,
            "after_url": after_url,
            "before_cursor": null,
            "before_url": null,
            "end_of_stream": end_of_stream,
        }),
    ))
}

/// Zendesk leaves out what changed within the minute before an export.
pub(crate) const EXPORT_LAG: Duration = Duration::from_secs(60);

#[cfg(test)]
mod tests {
    use super::Position;

    #[test]
    fn cursors_round_trip() {
        let at = Position {
            at_micros: 1_700_000_000_123_456,
            id: 42,
        };
        assert_eq!(Position::decode(&at.encode()), Some(at));
        assert_eq!(Position::decode("not a cursor"), None);
    }
}
