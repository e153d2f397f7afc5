//! What happens to every API request before its handler runs, in the order the
//! real service applies it: latency, authentication, counting, the account's rate
//! limit, then (with the fault knob) an injected failure. A refused request never
//! reaches the handler, so it changes no state.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::Shared;
use crate::error::ApiError;
use crate::ratelimit::Admission;

/// `"POST /api/v2/tickets"`: the method and the route template, so that every
/// ticket id counts under one key.
fn endpoint_key(request: &Request) -> String {
    let path = request.extensions().get::<MatchedPath>().map_or_else(
        || request.uri().path().to_owned(),
        |matched| matched.as_str().to_owned(),
    );
    format!("{} {path}", request.method())
}

pub(crate) async fn gate(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let latency = shared.control().faults.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if !shared.credentials().accepts(request.headers()) {
        shared.stats().unauthorized += 1;
        return ApiError::Unauthorized.into_response();
    }
    shared.stats().count(endpoint_key(&request));

    let (admission, inject) = {
        let mut control = shared.control();
        let admission = control.limiter.admit(Instant::now());
        let limited = matches!(admission, Admission::Limited { .. });
        // Rate-limited requests never reach the fault injector: they did not
        // get to the application.
        let inject = !limited && control.faults.should_fail();
        (admission, inject)
    };

    let mut response = match admission {
        Admission::Limited {
            retry_after_secs,
            during_retry_after,
            ..
        } => {
            let mut stats = shared.stats();
            stats.rate_limited += 1;
            if during_retry_after {
                stats.requests_during_retry_after += 1;
            }
            ApiError::RateLimited { retry_after_secs }.into_response()
        }
        _ if inject => {
            shared.stats().injected_failures += 1;
            ApiError::Injected.into_response()
        }
        _ => next.run(request).await,
    };

    // Every answer carries the account's limit and what is left of it; the
    // Ticketing APIs add `ratelimit-*` with the seconds until the window frees a
    // request ("Best practices for avoiding rate limiting", Monitoring API
    // activity against your rate limit).
    let (limit, remaining, reset_secs) = match admission {
        Admission::Unlimited => return response,
        Admission::Allowed {
            limit,
            remaining,
            reset_secs,
        } => (limit, remaining, reset_secs),
        Admission::Limited {
            limit,
            retry_after_secs,
            ..
        } => (limit, 0, retry_after_secs),
    };
    let headers = response.headers_mut();
    headers.insert("x-rate-limit", HeaderValue::from(limit));
    headers.insert("x-rate-limit-remaining", HeaderValue::from(remaining));
    headers.insert("ratelimit-limit", HeaderValue::from(limit));
    headers.insert("ratelimit-remaining", HeaderValue::from(remaining));
    headers.insert("ratelimit-reset", HeaderValue::from(reset_secs));
    response
}
