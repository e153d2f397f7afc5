use std::time::Duration;

/// One field's complaint in a Freshdesk validation error
/// (`{"description":"Validation failed","errors":[{"field","message","code"}]}`,
/// API reference "Error Codes").
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct FieldError {
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub additional_info: Option<serde_json::Value>,
}

/// How a Freshdesk request failed. The client sends each request once; this
/// says whether trying again later can help ([`FreshdeskError::is_transient`])
/// and, when Freshdesk said so, not before when. Retrying is the caller's.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FreshdeskError {
    /// 404 (Freshdesk answers it with an empty body).
    #[error("Freshdesk: not found")]
    NotFound,
    /// 400: the request must change; Freshdesk's per-field errors.
    #[error("Freshdesk refused the request ({status}): {}", describe(.errors))]
    Invalid {
        status: u16,
        errors: Vec<FieldError>,
    },
    /// 409 `duplicate_value`: a contact with this email or unique external id
    /// exists; `existing` is its id (`additional_info.user_id`).
    #[error("Freshdesk already has that record ({field}, id {existing:?})")]
    Duplicate {
        field: String,
        existing: Option<u64>,
    },
    /// 401: the API key is wrong.
    #[error(
        "Freshdesk refused the API key (401): check the backend's api_key (Profile settings → Your API Key)"
    )]
    Unauthorized,
    /// 403: the key's agent may not do this, or the plan lacks the feature.
    #[error("Freshdesk forbade {path} (403 {code}): {message}")]
    Forbidden {
        path: String,
        code: String,
        message: String,
    },
    /// 429, after the client held back what it applies to.
    #[error("Freshdesk rate limit: retry after {0:?}")]
    RateLimited(Duration),
    /// Not sent: the plan's limit for this endpoint (counted before sending,
    /// or held after its 429) has no room for this long.
    #[error("held back by a Freshdesk limit for {0:?}")]
    HeldBack(Duration),
    /// 5xx.
    #[error("Freshdesk server error {status}")]
    Server {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// No answer: no connection, or none within the timeout.
    #[error("Freshdesk request failed: {0}")]
    Network(String),
    #[error("Freshdesk answered something unexpected: {0}")]
    Decode(String),
}

fn describe(errors: &[FieldError]) -> String {
    let parts: Vec<String> = errors
        .iter()
        .map(|e| {
            format!(
                "{}: {} ({})",
                e.field.as_deref().unwrap_or("request"),
                e.message.as_deref().unwrap_or(""),
                e.code.as_deref().unwrap_or("")
            )
        })
        .collect();
    parts.join("; ")
}

impl FreshdeskError {
    /// Worth trying again later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            FreshdeskError::RateLimited(_)
                | FreshdeskError::HeldBack(_)
                | FreshdeskError::Server { .. }
                | FreshdeskError::Network(_)
        )
    }

    /// How long Freshdesk asked to wait before trying again, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            FreshdeskError::RateLimited(wait) | FreshdeskError::HeldBack(wait) => Some(*wait),
            FreshdeskError::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
