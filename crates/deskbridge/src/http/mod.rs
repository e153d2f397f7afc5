//! The HTTP API. Errors are `{"error": "<code>", "message": "...", "field": "..."}`.

pub mod admin;
mod agent;
mod agent_stream;
mod auth;
mod callbacks;
pub mod caller;
mod calls;
mod connect;
mod conversations;
mod crm;
mod cti;
mod decision;
mod dial;
pub mod feed;
mod health;
mod ingest;
pub mod lanes;
mod live;
mod lookup;
pub mod openapi;
mod pause;
mod routing;
pub mod serve;
mod stats;
mod triggers;
mod twilio;
mod wallboard;
mod wrap_up;
mod zendesk_app;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::AppState;

pub use auth::GroupAuth;
pub use zendesk_app::zendesk_credential;

/// The longest request target answered (414 above, with the JSON error shape).
/// Ids are at most 256 bytes, so no endpoint needs more. (Beyond 64 KiB hyper
/// itself answers 414, before any of this runs, with an empty body.)
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The most header bytes (names and values) a request may carry (431 above).
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

pub fn router(state: Arc<AppState>) -> Router {
    // Routes and their OpenAPI description are one registration (`openapi`).
    let (routes, _) = openapi::api_routes().split_for_parts();
    let max_body = state.max_body_bytes;
    routes
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .layer(axum::middleware::map_response(json_errors))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            state.body_timeout,
        ))
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                request_guard(req, next, max_body)
            },
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(request_span))
        // Outermost: a reserved connection's request is let through or refused
        // before anything of it is read beyond its head.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            lanes::known_clients_only,
        ))
        .with_state(state)
}

/// The router of `[metrics] listen`: `/metrics` alone (registered as on the
/// main port, so its description is the same), marked as the metrics
/// listener so the handler serves it here.
pub fn metrics_router(state: Arc<AppState>) -> Router {
    let (routes, _) = health::metrics_routes().split_for_parts();
    routes
        .fallback(|| async { ApiError::not_found("this listener serves /metrics only") })
        .layer(axum::middleware::map_response(json_errors))
        .layer(axum::Extension(health::MetricsListener))
        .with_state(state)
}

/// The span of a request in the log: its method and path only. A query string
/// may carry a secret sent by mistake (`?token=`), and logs are kept, copied and
/// shared longer than requests.
fn request_span<B>(req: &axum::http::Request<B>) -> tracing::Span {
    tracing::debug_span!("request", method = %req.method(), path = %logged_path(req.uri().path()))
}

/// The path as logged: a token in the path (Zammad CTI's `/cti/{token}`) is
/// replaced by `***`.
fn logged_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix("/api/v1/cti/") {
        Some(_) => "/api/v1/cti/***".into(),
        None => path.into(),
    }
}

/// Refuses, before anything reads the request, what no endpoint takes: a target
/// or headers too long (414, 431) and a body that its `Content-Length` says is
/// too large (413 at once, instead of waiting for a body that will be refused).
async fn request_guard(
    req: axum::extract::Request,
    next: axum::middleware::Next,
    max_body: usize,
) -> Response {
    let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri_len > MAX_URI_BYTES {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the request target is {uri_len} bytes; at most {MAX_URI_BYTES}"),
        )
        .into_response();
    }
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!("the request's headers are {header_bytes} bytes; at most {MAX_HEADER_BYTES}"),
        )
        .into_response();
    }
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(length) = declared
        && length > max_body as u64
    {
        // A body not far over the limit is read and dropped first: closing with
        // the client still sending makes the kernel reset the connection, and the
        // client may lose the 413 and see a broken connection instead. A body far
        // over it is refused at once, unread.
        if length <= DRAIN_MAX_BYTES {
            use futures_util::StreamExt;
            let mut data = req.into_body().into_data_stream();
            let drain = async { while let Some(Ok(_)) = data.next().await {} };
            let _ = tokio::time::timeout(DRAIN_TIMEOUT, drain).await;
        }
        return payload_too_large(format!(
            "the body is {length} bytes; send at most {max_body} (server.max_body_bytes)"
        ));
    }
    next.run(req).await
}

/// A declared body up to this size is read (and dropped) before its 413.
const DRAIN_MAX_BYTES: u64 = 16 * 1024 * 1024;
/// How long that read may take.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A 413 that also closes the connection: the body it refused may still be on
/// its way, and the client must not reuse the connection for its next request
/// (it would read the rest of that body as a request).
fn payload_too_large(message: String) -> Response {
    let mut response =
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message).into_response();
    response.headers_mut().insert(
        axum::http::header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
    response
}

/// Gives the framework's own rejections (body too large, method not allowed, a
/// query string that does not parse) the API's JSON error shape.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let message = match String::from_utf8_lossy(&text).trim() {
        "" => status.canonical_reason().unwrap_or("error").to_string(),
        t => t.to_string(),
    };
    // A body that did not arrive within `server.body_timeout_seconds`: axum's
    // body extractor reports the body layer's timeout as a 400; it is a 408. (The
    // text is tower-http's `TimeoutError`; `limits.rs` tests that it is still
    // recognized.)
    let (status, code) = match message.contains("not received within the designated timeout") {
        true => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
        false => (status, code),
    };
    let mut out = ApiError::new(status, code, message).into_response();
    if status == StatusCode::PAYLOAD_TOO_LARGE || status == StatusCode::REQUEST_TIMEOUT {
        // Refused part way through the body: the rest of it may still be on its
        // way, so the connection closes, and says so (a keep-alive client would
        // otherwise send its next request on a connection about to close).
        out.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    // Keep headers such as Allow on a 405.
    for (name, value) in parts.headers.iter() {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

/// An error as the API reports it.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError {
            field: Some(field.into()),
            ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
        }
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %e, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the server log has the details",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.code, "message": self.message });
        if let Some(field) = self.field {
            body["field"] = json!(field);
        }
        let mut response = (self.status, Json(body)).into_response();
        // An overload is answered as the connection limit's is: try again in a
        // second (RFC 9110, 10.2.3).
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        response
    }
}

impl From<crate::ingest::CommitError> for ApiError {
    fn from(e: crate::ingest::CommitError) -> Self {
        match e {
            crate::ingest::CommitError::Busy(busy) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", busy.to_string())
            }
            // An event out of the bounds every adapter's events are held to:
            // the sender's to fix, named by the event's field.
            crate::ingest::CommitError::Store(deskbridge_store::StoreError::Apply {
                source: deskbridge_core::ApplyError::OutOfBounds(out),
                ..
            }) => ApiError::invalid(out.field, out.message),
            crate::ingest::CommitError::Store(e) => ApiError::internal(e),
        }
    }
}

impl From<deskbridge_store::StoreError> for ApiError {
    fn from(e: deskbridge_store::StoreError) -> Self {
        ApiError::internal(e)
    }
}

impl From<deskbridge_crm::CrmError> for ApiError {
    fn from(e: deskbridge_crm::CrmError) -> Self {
        match e {
            deskbridge_crm::CrmError::Invalid(i) => ApiError::invalid(i.field, i.message),
            deskbridge_crm::CrmError::NotFound(what) => ApiError::not_found(what),
            deskbridge_crm::CrmError::Store(e) => ApiError::internal(e),
        }
    }
}

/// Reads a JSON body, answering 400 for text that is not JSON.
pub fn parse_json(bytes: &[u8]) -> Result<serde_json::Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use crate::telemetry::tests::Captured;

    /// Issue 10, point 8: at debug level a request is logged by its path, never
    /// its query string (a token wrongly sent as `?token=`).
    #[test]
    fn the_request_log_never_shows_the_query_string() {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .finish();
        let req = axum::http::Request::get("/api/v1/calls?token=secret-token-0123&limit=5")
            .body(())
            .expect("request");
        tracing::subscriber::with_default(subscriber, || {
            let span = super::request_span(&req);
            let _entered = span.enter();
            tracing::debug!("started processing request");
        });
        let text = String::from_utf8(out.0.lock().expect("log").clone()).expect("utf-8");
        assert!(text.contains("/api/v1/calls"), "{text}");
        assert!(!text.contains("secret-token"), "{text}");
    }
}
