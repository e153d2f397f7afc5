//! The error answers of the emulated API, with Freshdesk's bodies (freshdesk-api.md
//! §7, assembled there from PYF, NET and unverified templates), so that a
//! client's error handling is exercised as it will be in production.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The messages of Freshdesk's validation errors (freshdesk-api.md §7,
/// "Messages"; unverified).
pub(crate) mod msg {
    pub(crate) const MISSING: &str = "Mandatory attribute missing";
    pub(crate) const INVALID_FIELD: &str = "Unexpected/invalid field in request";
    pub(crate) const UNIQUE: &str = "It should be a unique value";

    /// `datatype_mismatch`: "It should be a/an %{expected_data_type}".
    pub(crate) fn data_type(expected: &str) -> String {
        format!("It should be a/an {expected}")
    }

    /// `not_included`: "It should be one of these values: '%{list}'".
    pub(crate) fn one_of(list: &str) -> String {
        format!("It should be one of these values: '{list}'")
    }

    /// `per_page_invalid` and the like.
    pub(crate) fn at_most(max: usize) -> String {
        format!("It should be a Positive Integer less than or equal to {max}")
    }

    /// The message of a value over its length (unverified wording).
    pub(crate) fn too_long(length: usize, max: usize) -> String {
        format!("Has {length} characters, it can have maximum of {max} characters")
    }
}

/// One entry of a validation error's `errors`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    pub code: String,
    /// `{"user_id": id}` on a duplicate contact (freshdesk-api.md §3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_info: Option<Value>,
}

/// Collects every validation failure of a request before answering: Freshdesk
/// lists all of them in one `errors` array.
#[derive(Debug, Default)]
pub(crate) struct Errors(Vec<FieldError>);

impl Errors {
    pub(crate) fn add(&mut self, field: &str, message: impl Into<String>, code: &str) {
        self.0.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
            code: code.to_owned(),
            additional_info: None,
        });
    }

    pub(crate) fn missing(&mut self, field: &str, message: impl Into<String>) {
        self.add(field, message, "missing_field");
    }

    pub(crate) fn invalid(&mut self, field: &str, message: impl Into<String>) {
        self.add(field, message, "invalid_value");
    }

    pub(crate) fn data_type(&mut self, field: &str, expected: &str) {
        self.add(field, msg::data_type(expected), "datatype_mismatch");
    }

    pub(crate) fn unknown(&mut self, field: &str) {
        self.add(field, msg::INVALID_FIELD, "invalid_field");
    }

    /// A `duplicate_value` naming the record that holds the value.
    pub(crate) fn duplicate(&mut self, field: &str, additional_info: Value) {
        self.0.push(FieldError {
            field: field.to_owned(),
            message: msg::UNIQUE.to_owned(),
            code: "duplicate_value".to_owned(),
            additional_info: Some(additional_info),
        });
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok` when nothing was added.
    pub(crate) fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.0))
        }
    }
}

/// Why a request was not served; each renders as Freshdesk answers it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum ApiError {
    /// 401 `invalid_credentials`.
    #[error("invalid credentials")]
    Unauthorized,
    /// 404 with an empty body ("In most cases the body is EMPTY", NF `utils.js`).
    #[error("not found")]
    NotFound,
    /// 400, or 409 when a code is `duplicate_value` (freshdesk-api.md §7).
    #[error("validation failed: {0:?}")]
    Validation(Vec<FieldError>),
    /// 400 `invalid_json`.
    #[error("invalid json")]
    InvalidJson,
    /// 400 `missing_params`: an update with nothing in it (unverified message).
    #[error("missing params")]
    MissingParams,
    /// 415 `invalid_content_type`, with the type that was sent.
    #[error("content type {0}")]
    ContentType(String),
    /// 406 `invalid_accept_header`, with the Accept that was sent.
    #[error("accept {0}")]
    Accept(String),
    /// 429 with `Retry-After`.
    #[error("rate limited for {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// An injected failure with this status.
    #[error("injected failure {0}")]
    Fault(u16),
}

impl ApiError {
    /// A validation error naming one field.
    pub(crate) fn field(field: &str, message: impl Into<String>, code: &str) -> ApiError {
        let mut errors = Errors::default();
        errors.add(field, message, code);
        ApiError::Validation(errors.0)
    }
}

fn json_answer(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Unauthorized => json_answer(
                StatusCode::UNAUTHORIZED,
                json!({"code": "invalid_credentials", "message": "You have to be logged in to perform this action."}),
            ),
            ApiError::NotFound => StatusCode::NOT_FOUND.into_response(),
            ApiError::Validation(errors) => {
                let duplicate = errors.iter().any(|e| e.code == "duplicate_value");
                let status = if duplicate {
                    StatusCode::CONFLICT
                } else {
                    StatusCode::BAD_REQUEST
                };
                json_answer(
                    status,
                    json!({"description": "Validation failed", "errors": errors}),
                )
            }
            ApiError::InvalidJson => json_answer(
                StatusCode::BAD_REQUEST,
                json!({"code": "invalid_json", "message": "Request body has invalid json format"}),
            ),
            ApiError::MissingParams => json_answer(
                StatusCode::BAD_REQUEST,
                json!({"code": "missing_params", "message": "Mandatory attributes missing"}),
            ),
            ApiError::ContentType(sent) => json_answer(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                json!({"code": "invalid_content_type", "message": format!("Content-Type header is set to {sent}. It should be set to application/json")}),
            ),
            ApiError::Accept(sent) => json_answer(
                StatusCode::NOT_ACCEPTABLE,
                json!({"code": "invalid_accept_header", "message": format!("Accept header is set to {sent}. It should have application/json or */*")}),
            ),
            ApiError::RateLimited { retry_after_secs } => rate_limited(retry_after_secs),
            ApiError::Fault(429) => rate_limited(1),
            ApiError::Fault(404) => StatusCode::NOT_FOUND.into_response(),
            ApiError::Fault(status) => json_answer(
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                json!({"message": "We're sorry, but something went wrong."}),
            ),
        }
    }
}

/// No source shows the per-minute limiter's body; this one follows the legacy
/// hourly limiter's `{"message":"You have exceeded the limit of requests per
/// hour"}` (unverified), so a client should go by the status and `Retry-After`.
fn rate_limited(retry_after_secs: u64) -> Response {
    let mut response = json_answer(
        StatusCode::TOO_MANY_REQUESTS,
        json!({"message": "You have exceeded the limit of requests per minute"}),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    response
}
