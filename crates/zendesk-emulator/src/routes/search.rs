//! `GET /api/v2/search`: the lagging search index over users and tickets.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{Base, reply};
use crate::Shared;
use crate::error::ApiError;
use crate::render;
use crate::search::{self, Kind};

/// Zendesk's search pages hold at most 100 results.
const MAX_PER_PAGE: usize = 100;

/// Percent-encodes a query parameter for `next_page` links.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

pub(crate) async fn search(
    State(shared): State<Arc<Shared>>,
    Base(base): Base,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let Some(text) = params.get("query").filter(|text| !text.trim().is_empty()) else {
        return Err(ApiError::BadRequest(
            "Parameter query is required".to_owned(),
        ));
    };
    let query = search::Query::parse(text);
    let sort = query.sort(
        params.get("sort_by").map(String::as_str),
        params.get("sort_order").map(String::as_str),
    );
    let per_page = params
        .get("per_page")
        .and_then(|value| value.parse::<usize>().ok())
        .unwrap_or(MAX_PER_PAGE)
        .clamp(1, MAX_PER_PAGE);
    let page = params
        .get("page")
        .and_then(|value| value.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);

    let store = shared.store();
    let now = Instant::now();
    let mut results: Vec<Value> = Vec::new();
    if query.wants(Kind::User) {
        let mut users: Vec<_> = store
            .users
            .values()
            .filter(|user| query.matches_user(user, &store, now))
            .collect();
        users.sort_by(|a, b| sort.compare_users(a, b));
        results.extend(
            users
                .into_iter()
                .map(|user| render::with_result_type(render::user(user, &base), "user")),
        );
    }
    if query.wants(Kind::Ticket) {
        let mut tickets: Vec<_> = store
            .tickets
            .values()
            .filter(|ticket| query.matches_ticket(ticket, &store, now))
            .collect();
        tickets.sort_by(|a, b| sort.compare_tickets(a, b));
        results.extend(tickets.into_iter().map(|ticket| {
            render::with_result_type(render::ticket(ticket, &store, &base), "ticket")
        }));
    }
    drop(store);

    let count = results.len();
    let page_link = |page: usize| {
        format!(
            "{base}/api/v2/search.json?page={page}&per_page={per_page}&query={}",
            encode(text)
        )
    };
    let start = (page - 1).saturating_mul(per_page);
    let next_page = (start + per_page < count).then(|| page_link(page + 1));
    let previous_page = (page > 1).then(|| page_link(page - 1));
    let results: Vec<Value> = results.into_iter().skip(start).take(per_page).collect();
    Ok(reply(
        StatusCode::OK,
        json!({
            "results": results,
            "facets": null,
            "next_page": next_page,
            "previous_page": previous_page,
            "count": count,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn encodes_query_text() {
        assert_eq!(encode("type:user phone:*1"), "type%3Auser%20phone%3A%2A1");
    }
}
