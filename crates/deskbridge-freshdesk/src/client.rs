//! One method per Freshdesk operation a call connector needs, each request
//! sent once through the account's [`Budget`] and its endpoint limits, each
//! failure sorted ([`FreshdeskError`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use deskbridge_budget::{Budget, Counts, Lane, endpoint_label, in_lookup};
use deskbridge_core::rate_limit::{HeldBack, LimitedRequest, held_back};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, LINK, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{FieldError, FreshdeskError};
use crate::plan::{Limited, PlanLimits};

#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `https://acme.freshdesk.com`, or the emulator's `http://127.0.0.1:PORT`.
    pub base_url: String,
    pub api_key: String,
    /// Per request; a timeout counts as a transient failure.
    pub timeout: Duration,
    /// The plan's endpoint limits, kept before sending (the account-wide one is
    /// the [`Budget`]'s).
    pub limits: PlanLimits,
    /// Every request in the budget's bulk lane (a history import).
    pub bulk_only: bool,
}

impl ClientConfig {
    pub fn new(base_url: &str, api_key: &str, limits: PlanLimits) -> ClientConfig {
        ClientConfig {
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key: api_key.to_string(),
            timeout: Duration::from_secs(15),
            limits,
            bulk_only: false,
        }
    }

    /// `acme` → `https://acme.freshdesk.com` (API reference, "Getting
    /// started": every request goes to the account's own domain).
    pub fn domain_url(domain: &str) -> String {
        format!("https://{domain}.freshdesk.com")
    }
}

/// An answer's body, and the next page's URL when the answer has a `Link`
/// header ("Pagination": the last page has none).
pub(crate) struct Answer {
    pub(crate) bytes: Vec<u8>,
    pub(crate) next: Option<String>,
}

pub struct FreshdeskClient {
    http: reqwest::Client,
    pub(crate) config: ClientConfig,
    authorization: HeaderValue,
    budget: Arc<Budget>,
    counts: Counts,
    /// The account's requests left this minute, as the last answer said
    /// (`X-RateLimit-Remaining`); `u64::MAX` before any. A 429 carries no
    /// such header, so this is what tells an endpoint's 429 from the account's.
    left: AtomicU64,
    sent: AtomicU64,
}

/// The pause after a 429 that does not say how long.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(10);

impl FreshdeskClient {
    /// A client spending from `budget` (share one budget per Freshdesk account).
    pub fn new(
        config: ClientConfig,
        budget: Arc<Budget>,
    ) -> Result<FreshdeskClient, FreshdeskError> {
        // "Authentication": the API key as the user name of Basic auth; the
        // password is not read ("X" by convention).
        let raw = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{}:X", config.api_key))
        );
        let mut authorization = HeaderValue::from_str(&raw).map_err(|_| {
            FreshdeskError::Decode("the API key contains invalid characters".into())
        })?;
        authorization.set_sensitive(true);
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("deskbridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FreshdeskError::Network(e.to_string()))?;
        Ok(FreshdeskClient {
            http,
            config,
            authorization,
            budget,
            counts: Counts::new(),
            left: AtomicU64::new(u64::MAX),
            sent: AtomicU64::new(0),
        })
    }

    pub fn budget(&self) -> &Arc<Budget> {
        &self.budget
    }

    /// The same client, sending every request in the bulk lane.
    pub fn bulk_only(mut self) -> FreshdeskClient {
        self.config.bulk_only = true;
        self
    }

    /// Requests sent so far.
    pub fn requests_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Sends one request through the budget, once, and sorts the failure. An
    /// endpoint with a limit of its own is counted first and held back, unsent,
    /// while the limit has no room. A 429 holds back what the core says it
    /// applies to (`deskbridge_core::rate_limit`): the endpoint, or the account.
    pub(crate) async fn send(
        &self,
        lane: Lane,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Answer, FreshdeskError> {
        let limited = Limited::of(method.as_str(), path);
        if let Some(limited) = limited {
            let counts = [(limited.counted(), limited.limit(&self.config.limits))];
            self.budget
                .admit(&self.counts, &counts)
                .await
                .map_err(FreshdeskError::HeldBack)?;
        }
        let lane = match (self.config.bulk_only, lane) {
            (true, _) => Lane::Bulk,
            (false, Lane::Interactive) if in_lookup() => Lane::Lookup,
            (false, lane) => lane,
        };
        self.budget.acquire(lane).await;
        let endpoint = endpoint_label(method.as_str(), path);
        let write = method != Method::GET;
        let url = format!("{}{path}", self.config.base_url);
        let mut req = self
            .http
            .request(method, &url)
            .header(AUTHORIZATION, self.authorization.clone())
            .query(query);
        if let Some(b) = body {
            req = req.json(b);
        }
        self.sent.fetch_add(1, Ordering::Relaxed);
        if write {
            deskbridge_budget::writing();
        }
        let resp = match req.send().await {
            Ok(resp) => resp,
            Err(e) => {
                count_request(&endpoint, "network");
                return Err(FreshdeskError::Network(e.without_url().to_string()));
            }
        };
        let status = resp.status();
        count_request(&endpoint, status.as_str());
        let headers = resp.headers().clone();
        self.observe_limits(&headers).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            let wait = header_str(&headers, RETRY_AFTER.as_str())
                .and_then(deskbridge_budget::retry_after)
                .unwrap_or(DEFAULT_RETRY_AFTER);
            let request = match limited {
                Some(_) => LimitedRequest::LimitedEndpoint,
                None => LimitedRequest::Other,
            };
            let left = match self.left.load(Ordering::Relaxed) {
                u64::MAX => None,
                n => Some(n),
            };
            let held = held_back(left, request);
            metrics::counter!("deskbridge_freshdesk_rate_limited_total", "scope" => held.scope())
                .increment(1);
            match (held, limited) {
                (HeldBack::Endpoint, Some(limited)) => {
                    tracing::warn!(
                        ?wait,
                        path,
                        "Freshdesk endpoint limit: holding back its requests"
                    );
                    self.counts.hold(&limited.counted(), wait);
                }
                (HeldBack::Request | HeldBack::Ticket(_) | HeldBack::Endpoint, _) => {
                    tracing::warn!(?wait, path, "Freshdesk limit: holding back this request");
                }
                (HeldBack::Account, _) => {
                    tracing::warn!(?wait, path, "Freshdesk rate limit: pausing every request");
                    self.budget.pause_all(wait).await;
                }
            }
            return Err(FreshdeskError::RateLimited(wait));
        }
        if status.is_server_error() {
            return Err(FreshdeskError::Server {
                status: status.as_u16(),
                retry_after: header_str(&headers, RETRY_AFTER.as_str())
                    .and_then(deskbridge_budget::retry_after),
            });
        }
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| FreshdeskError::Network(e.without_url().to_string()))?
            .to_vec();
        match status.as_u16() {
            200..=299 => Ok(Answer {
                next: header_str(&headers, LINK.as_str()).and_then(next_link),
                bytes,
            }),
            401 => Err(FreshdeskError::Unauthorized),
            403 => {
                let body: RequestError = serde_json::from_slice(&bytes).unwrap_or_default();
                Err(FreshdeskError::Forbidden {
                    path: path.to_string(),
                    code: body.code.unwrap_or_else(|| "access_denied".into()),
                    message: body.message.unwrap_or_default(),
                })
            }
            404 => Err(FreshdeskError::NotFound),
            code => Err(refusal(code, &bytes)),
        }
    }

    /// Every answer but a 429 carries the account's limit and what is left of
    /// it (support article on rate limits: `X-RateLimit-Total`,
    /// `X-RateLimit-Remaining`). A plan lower than configured is kept from now
    /// on; none left pauses every request until the minute has passed.
    async fn observe_limits(&self, headers: &HeaderMap) {
        if let Some(total) = header_str(headers, "x-ratelimit-total").and_then(|s| s.parse().ok()) {
            self.budget.observe_plan(total);
        }
        if let Some(left) =
            header_str(headers, "x-ratelimit-remaining").and_then(|s| s.parse::<u64>().ok())
        {
            self.left.store(left, Ordering::Relaxed);
            metrics::gauge!("deskbridge_freshdesk_requests_left").set(left as f64);
            if left == 0 {
                tracing::warn!("Freshdesk account has no requests left this minute: waiting");
                self.budget.pause_all(Duration::from_secs(60)).await;
            }
        }
    }

    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        lane: Lane,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, FreshdeskError> {
        decode(&self.send(lane, Method::GET, path, query, None).await?.bytes)
    }

    /// A GET whose 404 means "no such record".
    pub(crate) async fn get_optional<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Option<T>, FreshdeskError> {
        match self.get(Lane::Interactive, path, &[]).await {
            Ok(v) => Ok(Some(v)),
            Err(FreshdeskError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every page of a list, following `Link` (at most `max_pages`).
    pub(crate) async fn get_pages<T: DeserializeOwned>(
        &self,
        lane: Lane,
        path: &str,
        query: &[(&str, String)],
        max_pages: usize,
    ) -> Result<Vec<T>, FreshdeskError> {
        let mut all = Vec::new();
        let mut query: Vec<(&str, String)> = query.to_vec();
        query.push(("per_page", "100".into()));
        for page in 1..=max_pages {
            query.retain(|(k, _)| *k != "page");
            query.push(("page", page.to_string()));
            let answer = self.send(lane, Method::GET, path, &query, None).await?;
            let items: Vec<T> = decode(&answer.bytes)?;
            all.extend(items);
            if answer.next.is_none() {
                break;
            }
        }
        Ok(all)
    }

    pub(crate) async fn write<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &Value,
    ) -> Result<T, FreshdeskError> {
        decode(
            &self
                .send(Lane::Bulk, method, path, &[], Some(body))
                .await?
                .bytes,
        )
    }
}

/// Counts one answered (or unanswered: `network`) request to Freshdesk.
fn count_request(endpoint: &str, status: &str) {
    metrics::counter!(
        "deskbridge_upstream_requests_total",
        "upstream" => "freshdesk",
        "endpoint" => endpoint.to_string(),
        "status" => status.to_string(),
    )
    .increment(1);
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|h| h.to_str().ok())
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params.contains("rel=\"next\"").then(|| {
            url.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, FreshdeskError> {
    serde_json::from_slice(bytes).map_err(|e| {
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).to_string();
        FreshdeskError::Decode(format!("{e}: {head}"))
    })
}

/// A request-level error body (`{"code","message"}`, API reference "Error
/// Codes").
#[derive(Debug, Default, serde::Deserialize)]
struct RequestError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// A validation error body.
#[derive(Debug, Default, serde::Deserialize)]
struct ValidationError {
    #[serde(default)]
    errors: Vec<FieldError>,
}

/// A 4xx other than 401/403/404: a duplicate (409 `duplicate_value`) or a
/// validation error (400).
fn refusal(status: u16, bytes: &[u8]) -> FreshdeskError {
    let body: ValidationError = serde_json::from_slice(bytes).unwrap_or_default();
    if status == 409
        && let Some(dup) = body
            .errors
            .iter()
            .find(|e| e.code.as_deref() == Some("duplicate_value"))
    {
        return FreshdeskError::Duplicate {
            field: dup.field.clone().unwrap_or_default(),
            existing: dup
                .additional_info
                .as_ref()
                .and_then(|i| i.get("user_id").or_else(|| i.get("company_id")))
                .and_then(Value::as_u64),
        };
    }
    let errors = match body.errors.is_empty() {
        false => body.errors,
        true => {
            let plain: RequestError = serde_json::from_slice(bytes).unwrap_or_default();
            vec![FieldError {
                field: None,
                message: plain
                    .message
                    .or_else(|| Some(String::from_utf8_lossy(bytes).into_owned())),
                code: plain.code,
                additional_info: None,
            }]
        }
    };
    FreshdeskError::Invalid { status, errors }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_is_the_link_marked_next() {
        assert_eq!(
            next_link(
                "<https://acme.freshdesk.com/api/v2/contacts?page=2&per_page=100>; rel=\"next\""
            ),
            Some("https://acme.freshdesk.com/api/v2/contacts?page=2&per_page=100".into())
        );
        assert_eq!(next_link("<https://x/a?page=1>; rel=\"prev\""), None);
    }

    #[test]
    fn a_duplicate_contact_names_the_one_that_exists() {
        let body = br#"{"description":"Validation failed","errors":[{"field":"email","additional_info":{"user_id":42},"message":"It should be a unique value","code":"duplicate_value"}]}"#;
        match refusal(409, body) {
            FreshdeskError::Duplicate { field, existing } => {
                assert_eq!(field, "email");
                assert_eq!(existing, Some(42));
            }
            other => panic!("{other:?}"),
        }
        let invalid = refusal(400, br#"{"description":"Validation failed","errors":[{"field":"name","message":"Mandatory attribute missing","code":"missing_field"}]}"#);
        assert_eq!(
            invalid.to_string(),
            "Freshdesk refused the request (400): name: Mandatory attribute missing (missing_field)"
        );
        assert!(!invalid.is_transient());
    }
}
