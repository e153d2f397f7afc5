//! Query parameters and pagination (freshdesk-api.md §8): `page` from 1,
//! `per_page` 30 by default and at most 100 (else 400), and a
//! `Link: <...?page=N+1&...>; rel="next"` header built from the request's own
//! query while more rows exist; the last page has none (NF's `pageIsLast` reads
//! exactly that). Unknown query parameters are `invalid_field`, as Freshdesk
//! validates filter parameters like body fields (unverified).

use std::convert::Infallible;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::error::{Errors, msg};

pub(crate) const DEFAULT_PER_PAGE: usize = 30;
pub(crate) const MAX_PER_PAGE: usize = 100;

/// What a handler needs of the request line: where links point, and the query.
pub(crate) struct Req {
    /// `http://{Host}`: links lead back to the address the client used.
    pub(crate) base: String,
    pub(crate) path: String,
    raw_query: Option<String>,
    params: Vec<(String, String)>,
    /// The query string could not be decoded.
    malformed: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Req {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Req, Infallible> {
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|host| host.to_str().ok())
            .unwrap_or("localhost");
        let query = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri);
        Ok(Req {
            base: format!("http://{host}"),
            path: parts.uri.path().to_owned(),
            raw_query: parts.uri.query().map(str::to_owned),
            malformed: query.is_err(),
            params: query.map(|Query(params)| params).unwrap_or_default(),
        })
    }
}

/// A page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Page {
    pub(crate) page: usize,
    pub(crate) per_page: usize,
}

impl Req {
    /// The value of a parameter (the last one when repeated).
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Refuses parameters the endpoint does not take.
    pub(crate) fn allow(&self, allowed: &[&str], errors: &mut Errors) {
        if self.malformed {
            errors.invalid("query", "Query string is not in the correct format");
        }
        for (key, _) in &self.params {
            if !allowed.contains(&key.as_str()) {
                errors.unknown(key);
            }
        }
    }

    /// A numeric id parameter.
    pub(crate) fn id(&self, key: &str, errors: &mut Errors) -> Option<u64> {
        let text = self.get(key)?;
        let id = text.parse().ok();
        if id.is_none() {
            errors.data_type(key, "Positive Integer");
        }
        id
    }

    /// `page` and `per_page`; `max_page` caps `page` where Freshdesk does.
    pub(crate) fn page(&self, errors: &mut Errors) -> Page {
        let mut page = Page {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        };
        if let Some(text) = self.get("page") {
            match text.parse::<usize>() {
                Ok(number) if number >= 1 => page.page = number,
                _ => errors.data_type("page", "Positive Integer"),
            }
        }
        if let Some(text) = self.get("per_page") {
            match text.parse::<usize>() {
                Ok(number) if (1..=MAX_PER_PAGE).contains(&number) => page.per_page = number,
                _ => errors.add("per_page", msg::at_most(MAX_PER_PAGE), "datatype_mismatch"),
            }
        }
        page
    }

    /// The URL of page `page` of this request: `page` first, then the other
    /// parameters as the client sent them (§8's example
    /// `contacts?page=2&per_page=100`).
    fn page_url(&self, page: usize) -> String {
        let mut query = format!("page={page}");
        for pair in self.raw_query.iter().flat_map(|q| q.split('&')) {
            let key = pair.split('=').next().unwrap_or("");
            if key != "page" && !pair.is_empty() {
                query.push('&');
                query.push_str(pair);
            }
        }
        format!("{}{}?{query}", self.base, self.path)
    }

    /// A JSON array answer of one page of `items`, with `Link` when more exist.
    pub(crate) fn paged(&self, items: Vec<Value>, page: Page) -> Response {
        let total = items.len();
        let start = (page.page - 1).saturating_mul(page.per_page);
        let rows: Vec<Value> = items.into_iter().skip(start).take(page.per_page).collect();
        let more = total > start.saturating_add(page.per_page);
        let mut response = (StatusCode::OK, axum::Json(Value::Array(rows))).into_response();
        if more
            && let Ok(link) =
                HeaderValue::from_str(&format!("<{}>; rel=\"next\"", self.page_url(page.page + 1)))
        {
            response.headers_mut().insert(header::LINK, link);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(query: &str) -> Req {
        let params: Vec<(String, String)> =
            Query::try_from_uri(&format!("/x?{query}").parse().expect("uri"))
                .map(|Query(p)| p)
                .expect("query");
        Req {
            base: "http://127.0.0.1:1".to_owned(),
            path: "/api/v2/contacts".to_owned(),
            raw_query: Some(query.to_owned()),
            params,
            malformed: false,
        }
    }

    #[test]
    fn link_keeps_the_query_and_replaces_page() {
        let request = req("phone=%2B1555&page=1&per_page=2");
        let items: Vec<Value> = (0..5).map(Value::from).collect();
        let page = request.page(&mut Errors::default());
        let response = request.paged(items, page);
        let link = response.headers()[header::LINK].to_str().expect("ascii");
        assert_eq!(
            link,
            "<http://127.0.0.1:1/api/v2/contacts?page=2&phone=%2B1555&per_page=2>; rel=\"next\""
        );
        let last = request.paged(
            (0..4).map(Value::from).collect(),
            Page {
                page: 2,
                per_page: 2,
            },
        );
        assert!(last.headers().get(header::LINK).is_none());
    }

    #[test]
    fn per_page_over_100_is_refused() {
        let mut errors = Errors::default();
        req("per_page=101&page=0").page(&mut errors);
        assert!(!errors.is_empty());
    }
}
