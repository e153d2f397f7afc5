//! What happens to every API request around its handler: latency,
//! authentication, counting, the plan's limits, injected failures before the
//! handler, the `Accept` and `Content-Type` checks, and failures after it.
//! Every answer but a 429 carries the account's `X-RateLimit-*` headers
//! (freshdesk-api.md §2: "Rate Limit headers are not set when status is 429").

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::Shared;
use crate::auth;
use crate::error::ApiError;
use crate::faults::Fault;
use crate::ratelimit::{Admission, Bucket};

/// `"POST /api/v2/tickets"`: the method and the route template, so that every
/// ticket id counts under one key.
fn route(request: &Request) -> String {
    request.extensions().get::<MatchedPath>().map_or_else(
        || request.uri().path().to_owned(),
        |matched| matched.as_str().to_owned(),
    )
}

/// The endpoints with their own per-minute limit (SA-RL).
fn bucket(method: &Method, route: &str) -> Option<Bucket> {
    match (method.as_str(), route) {
        ("POST", "/api/v2/tickets") => Some(Bucket::TicketCreate),
        ("PUT", "/api/v2/tickets/{id}") => Some(Bucket::TicketUpdate),
        ("GET", "/api/v2/tickets") => Some(Bucket::TicketsList),
        ("GET", "/api/v2/contacts") => Some(Bucket::ContactsList),
        _ => None,
    }
}

/// Credits a request costs: 1, plus 1 per `include` association on a ticket
/// view and 2 on the ticket list (unverified `sideload_associations`,
/// freshdesk-api.md §2; the List All Tickets transcription: "Each include
/// consumes an additional 2 credits").
fn cost(method: &Method, route: &str, request: &Request) -> u32 {
    let includes = request
        .uri()
        .query()
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter_map(|pair| pair.strip_prefix("include="))
        .map(|list| {
            let list = list.replace("%2C", ",").replace("%2c", ",");
            list.split(',').filter(|s| !s.is_empty()).count()
        })
        .sum::<usize>();
    let includes = u32::try_from(includes).unwrap_or(u32::MAX);
    match (method.as_str(), route) {
        ("GET", "/api/v2/tickets/{id}") => 1 + includes,
        ("GET", "/api/v2/tickets") => 1 + 2 * includes,
        _ => 1,
    }
}

/// 406 for an `Accept` that is neither JSON nor `*/*`, 415 for a POST or PUT
/// that is not JSON (freshdesk-api.md §1).
fn check_headers(method: &Method, headers: &HeaderMap) -> Result<(), ApiError> {
    let text = |name| {
        headers
            .get(name)
            .map(|value: &HeaderValue| String::from_utf8_lossy(value.as_bytes()).into_owned())
    };
    if let Some(accept) = text(header::ACCEPT) {
        let acceptable = accept.split(',').any(|range| {
            let media = range.split(';').next().unwrap_or("").trim();
            media == "application/json" || media == "*/*"
        });
        if !acceptable {
            return Err(ApiError::Accept(accept));
        }
    }
    if method == Method::POST || method == Method::PUT {
        let content_type = text(header::CONTENT_TYPE).unwrap_or_default();
        let media = content_type.split(';').next().unwrap_or("").trim();
        if !media.eq_ignore_ascii_case("application/json") {
            return Err(ApiError::ContentType(content_type));
        }
    }
    Ok(())
}

/// `X-Request-Id` (NF reads it): unique per answer.
fn request_id() -> HeaderValue {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    HeaderValue::from_str(&format!("{n:032x}")).unwrap_or(HeaderValue::from_static("0"))
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
    if !auth::accepts(shared.api_key(), request.headers()) {
        shared.stats().unauthorized += 1;
        return ApiError::Unauthorized.into_response();
    }
    let method = request.method().clone();
    let route = route(&request);
    shared.stats().count(format!("{method} {route}"));
    let write = method == Method::POST || method == Method::PUT;
    let (admission, fault) = {
        let mut control = shared.control();
        let cost = cost(&method, &route, &request);
        let admission = control
            .limiter
            .admit(Instant::now(), bucket(&method, &route), cost);
        // A throttled request never reaches the application, so it cannot
        // fail there either.
        let fault = match admission {
            Admission::Limited { .. } => None,
            Admission::Allowed { .. } => control.faults.next(write),
        };
        (admission, fault)
    };

    let mut response = match (admission, fault) {
        (
            Admission::Limited {
                retry_after_secs,
                impatient,
            },
            _,
        ) => {
            let mut stats = shared.stats();
            stats.throttled += 1;
            stats.during_retry_after += u64::from(impatient);
            ApiError::RateLimited { retry_after_secs }.into_response()
        }
        (_, Some(Fault::Before(status))) => {
            shared.stats().faults += 1;
            ApiError::Fault(status).into_response()
        }
        (_, fault) => {
            let answer = match check_headers(&method, request.headers()) {
                Ok(()) => next.run(request).await,
                Err(error) => error.into_response(),
            };
            match fault {
                // The handler ran and wrote; the client never hears of it.
                Some(Fault::AfterWrite(status)) => {
                    shared.stats().faults += 1;
                    ApiError::Fault(status).into_response()
                }
                _ => answer,
            }
        }
    };

    let headers = response.headers_mut();
    headers.insert("x-request-id", request_id());
    // Unverified (freshdesk-api.md §1).
    headers.insert(
        "x-freshdesk-api-version",
        HeaderValue::from_static("latest=v2; requested=v2"),
    );
    if let Admission::Allowed {
        total,
        remaining,
        cost,
    } = admission
        && response.status() != StatusCode::TOO_MANY_REQUESTS
    {
        let headers = response.headers_mut();
        headers.insert("x-ratelimit-total", HeaderValue::from(total));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
        headers.insert("x-ratelimit-used-currentrequest", HeaderValue::from(cost));
    }
    response
}
