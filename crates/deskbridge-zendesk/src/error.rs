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
    #[error("Zendesk ticket is closed")]
    TicketClosed,
    #[error("Zendesk refused the credentials ({0}): check the backend's email and api_token")]
    Unauthorized(u16),
    /// 429: the account's limit is reached. The client has already paused the
    /// shared budget for the `Retry-After`, so no request of this account is sent
    /// before it has passed.
    #[error("Zendesk rate limit: retry after {0:?}")]
    RateLimited(Duration),
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
            ZendeskError::RateLimited(_) | ZendeskError::Server { .. } | ZendeskError::Network(_)
        )
    }

    /// How long Zendesk asked us to wait before trying again, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ZendeskError::RateLimited(wait) => Some(*wait),
            ZendeskError::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
