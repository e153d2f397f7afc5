use std::time::Duration;

/// How a Zendesk request failed.
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
    #[error("Zendesk rate limit: retry after {0:?}")]
    RateLimited(Duration),
    #[error("Zendesk server error {0}")]
    Server(u16),
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
            ZendeskError::RateLimited(_) | ZendeskError::Server(_) | ZendeskError::Network(_)
        )
    }
}
