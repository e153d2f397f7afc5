use std::time::Duration;

/// How a Zendesk request failed. The client sends each request once; this says
/// whether trying again later can help ([`ZendeskError::is_transient`]) and, when
/// Zendesk said so, not before when ([`ZendeskError::retry_after`]). Retrying is the
/// caller's decision: deskbridge's worker retries the whole step, durably.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ZendeskError {
    #[error("Zendesk: not found")]
    NotFound,
    /// 422 RecordInvalid or 400: the request must change. `details` is Zendesk's
    /// per-field explanation.
    #[error("Zendesk refused the request ({status} {error}): {details}")]
    Invalid {
        status: u16,
        error: String,
        details: String,
    },
    /// The ticket is closed and cannot be updated; a follow-up ticket is needed.
    /// Zendesk says so with a plain 422 `RecordInvalid` whose `details.status`
    /// reads "Status: closed prevents ticket update" and carries no error code
    /// (seen in ZendeskApi_v2 issue #59).
    #[error("Zendesk ticket is closed")]
    TicketClosed,
    /// 400 `IdempotentRequestError`: the key was used before with another body
    /// ("Idempotency", Support API introduction). The first request made its
    /// record; the caller finds it another way.
    #[error("Zendesk refused a reused Idempotency-Key with a different body")]
    IdempotencyKeyReused,
    /// 401: the credentials are wrong.
    #[error("Zendesk refused the credentials ({0}): check the backend's email and api_token")]
    Unauthorized(u16),
    /// 403: the credentials are right but the user may not do this. Zendesk's
    /// "Allowed For" lists who may: `create_or_update` needs an admin, or an agent
    /// in a custom role that may manage end users (Support API reference).
    #[error(
        "Zendesk forbade {path} (403): the backend's user lacks the permission; \
         give it the admin role (or a custom role that may manage end users and edit tickets)"
    )]
    Forbidden { path: String },
    /// 409 `DatabaseConflict` ("Database collision"): two writes to one record
    /// met. Zendesk's own clients retry it (zenpy issue #58, zendesk_api_client_rb
    /// issue #305, tap-zendesk PR #107), so it is transient.
    #[error("Zendesk write conflict (409 {error}): try again")]
    Conflict { error: String },
    /// 429: the account's limit is reached. The client has already paused the
    /// shared budget for the `Retry-After`, so no request of this account is sent
    /// before it has passed.
    #[error("Zendesk rate limit: retry after {0:?}")]
    RateLimited(Duration),
    /// Not sent: a limit the client counts before sending (a user's updates
    /// a minute, the exports, a ticket held after its 429) has no room for
    /// this long. Only this request waits.
    #[error("held back by a Zendesk limit for {0:?}")]
    HeldBack(Duration),
    /// 5xx, with the `Retry-After` Zendesk sent, if any (a 503 during maintenance).
    #[error("Zendesk server error {status}")]
    Server {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// Not answered: no connection, or no answer within the timeout.
    #[error("Zendesk request failed: {0}")]
    Network(String),
    #[error("Zendesk answered something unexpected: {0}")]
    Decode(String),
}

impl ZendeskError {
    /// Worth trying again later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ZendeskError::RateLimited(_)
                | ZendeskError::HeldBack(_)
                | ZendeskError::Server { .. }
                | ZendeskError::Network(_)
                | ZendeskError::Conflict { .. }
        )
    }

    /// How long Zendesk asked us to wait before trying again, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ZendeskError::RateLimited(wait) | ZendeskError::HeldBack(wait) => Some(*wait),
            ZendeskError::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
