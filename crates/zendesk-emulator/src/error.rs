//! The error answers of the emulated API, with the bodies and content types the real
//! Zendesk sends, so a client's error handling is exercised as it will be in
//! production.

use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// One entry of a 422's `details.<field>` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub description: String,
    pub error: String,
}

/// Why a request was not served. Each variant renders exactly as Zendesk answers.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// 401 `{"error":"Couldn't authenticate you"}`.
    #[error("couldn't authenticate you")]
    Unauthorized,
    /// 404 `{"error":"RecordNotFound","description":"Not found"}`.
    #[error("record not found")]
    NotFound,
    /// 404 for a path the emulator does not serve.
    #[error("invalid endpoint")]
    InvalidEndpoint,
    /// 422 `RecordInvalid` with per-field details.
    #[error("record validation errors: {0:?}")]
    RecordInvalid(BTreeMap<String, Vec<FieldError>>),
    /// 400 with a text/plain body (Zendesk's API-level errors are plain text).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 400: an `Idempotency-Key` reused with a different request body.
    #[error("idempotency key reused with different parameters")]
    IdempotencyConflict,
    /// 429 with `Retry-After` and a text/plain body.
    #[error("rate limit exceeded, retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// 500 injected by the fault knob.
    #[error("injected internal error")]
    Injected,
}

impl ApiError {
    /// A 422 naming one field.
    pub fn invalid(field: &str, description: impl Into<String>, error: &str) -> ApiError {
        let mut errors = Invalid::default();
        errors.add(field, description, error);
        ApiError::RecordInvalid(errors.details)
    }
}

/// Collects every validation failure of a request before answering, as Zendesk
/// reports all invalid fields at once rather than the first one.
#[derive(Debug, Default)]
pub struct Invalid {
    details: BTreeMap<String, Vec<FieldError>>,
}

impl Invalid {
    pub fn add(&mut self, field: &str, description: impl Into<String>, error: &str) {
        self.details
            .entry(field.to_owned())
            .or_default()
            .push(FieldError {
                description: description.into(),
                error: error.to_owned(),
            });
    }

    /// `Ok` when nothing was added.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.details.is_empty() {
            Ok(())
        } else {
            Err(ApiError::RecordInvalid(self.details))
        }
    }
}

fn plain(status: StatusCode, text: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text.to_owned(),
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let json_error = |status: StatusCode, body: serde_json::Value| {
            (status, axum::Json(body)).into_response()
        };
        match self {
            ApiError::Unauthorized => json_error(
                StatusCode::UNAUTHORIZED,
                json!({"error": "Couldn't authenticate you"}),
            ),
            ApiError::NotFound => json_error(
                StatusCode::NOT_FOUND,
                json!({"error": "RecordNotFound", "description": "Not found"}),
            ),
            ApiError::InvalidEndpoint => json_error(
                StatusCode::NOT_FOUND,
                json!({"error": "InvalidEndpoint", "description": "Not found"}),
            ),
            ApiError::RecordInvalid(details) => json_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({
                    "error": "RecordInvalid",
                    "description": "Record validation errors",
                    "details": details,
                }),
            ),
            ApiError::BadRequest(text) => plain(StatusCode::BAD_REQUEST, &text),
            ApiError::IdempotencyConflict => json_error(
                StatusCode::BAD_REQUEST,
                json!({
                    "error": "IdempotentRequestError",
                    "description": "Request parameters and endpoint must match the original request that used this idempotency key",
                }),
            ),
            ApiError::RateLimited { retry_after_secs } => {
                let mut response = plain(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded");
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
                response
            }
            ApiError::Injected => json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "InternalError"}),
            ),
        }
    }
}
