//! The error answers of the emulated API, with the bodies and content types the real
//! Zendesk sends, so a client's error handling is exercised as it will be in
//! production.

use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// One entry of a 422's `details.<field>` list. Most carry an error code
/// (`InvalidValue`, `BlankValue`); some, such as the closed-ticket refusal, carry
/// only the description (ZendeskApi_v2 issue #59 shows that body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
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
    /// 403: the signed-in user's role may not do this. Zendesk's body for a role
    /// without the permission (Support API reference, "Allowed For").
    #[error("forbidden")]
    Forbidden,
    /// 409 `DatabaseConflict`, the body Zendesk sends when two writes to a
    /// ticket collide (zendesk_api_client_php issue #314).
    #[error("database conflict")]
    DatabaseConflict,
    /// 502 from Zendesk's edge: the request may or may not have been applied.
    #[error("bad gateway")]
    BadGateway,
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
                error: Some(error.to_owned()),
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
            ApiError::Forbidden => json_error(
                StatusCode::FORBIDDEN,
                json!({
                    "error": "Forbidden",
                    "description": "You do not have access to this page. Please contact the account owner of this help desk for further help.",
                }),
            ),
            ApiError::DatabaseConflict => json_error(
                StatusCode::CONFLICT,
                json!({"error": "DatabaseConflict", "description": "Database collision"}),
            ),
            ApiError::BadGateway => plain(StatusCode::BAD_GATEWAY, "502 Bad Gateway"),
        }
    }
}
