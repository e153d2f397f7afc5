//! `GET /api/v2/search/{contacts,tickets}?query="..."&page=`: 30 results a page,
//! pages 1 to 10, `{"results": [...], "total": N}` and no `Link` header
//! (freshdesk-api.md §8, unverified `ApiSearchConstants`). Results come from the
//! lagging index (`search::Index`), so a record written less than `search_lag`
//! ago is missing or shows its earlier version; deleted contacts are left out
//! (§3). Results are newest first (unverified).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};

use super::ok;
use crate::error::{ApiError, Errors, msg};
use crate::paging::Req;
use crate::search::{self, Expr, MAX_QUERY};
use crate::{Shared, render};

const PER_PAGE: usize = 30;
const MAX_PAGE: usize = 10;

/// The query and page of a search request.
fn read(req: &Req, custom: &[String], tickets: bool) -> Result<(Expr, usize), ApiError> {
    let mut errors = Errors::default();
    req.allow(&["query", "page"], &mut errors);
    let page = match req.get("page").map(str::parse::<usize>) {
        None => 1,
        Some(Ok(page)) if (1..=MAX_PAGE).contains(&page) => page,
        Some(_) => {
            errors.invalid("page", msg::at_most(MAX_PAGE));
            1
        }
    };
    let expr = match req.get("query") {
        None => {
            errors.missing("query", msg::MISSING);
            None
        }
        Some(query) => {
            let inner = query.trim_matches('"').chars().count();
            if inner > MAX_QUERY {
                errors.invalid("query", msg::too_long(inner, MAX_QUERY));
            }
            let expr = search::parse(query);
            match &expr {
                Some(expr) => search::check_fields(expr, tickets, custom, &mut errors),
                // The message for a query that does not parse is unverified.
                None => errors.invalid(
                    "query",
                    "It should be a valid query string in double quotes",
                ),
            }
            expr
        }
    };
    errors.finish()?;
    let expr = expr.ok_or_else(|| ApiError::field("query", msg::MISSING, "missing_field"))?;
    Ok((expr, page))
}

fn results(items: Vec<Value>, page: usize) -> Response {
    let total = items.len();
    let results: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * PER_PAGE)
        .take(PER_PAGE)
        .collect();
    ok(json!({"results": results, "total": total}))
}

pub(crate) async fn contacts(
    State(shared): State<Arc<Shared>>,
    req: Req,
) -> Result<Response, ApiError> {
    let (expr, page) = read(&req, &[], false)?;
    let mut store = shared.store();
    let mut found = store.contact_index.visible(Instant::now());
    found.retain(|c| !c.deleted && search::matches_contact(&expr, c));
    found.sort_by_key(|record| std::cmp::Reverse((record.created_at, record.id)));
    let items = found.iter().map(|c| render::contact(c, &store)).collect();
    Ok(results(items, page))
}

pub(crate) async fn tickets(
    State(shared): State<Arc<Shared>>,
    req: Req,
) -> Result<Response, ApiError> {
    let custom: Vec<String> = shared
        .store()
        .custom_fields()
        .map(|f| f.name.clone())
        .collect();
    let (expr, page) = read(&req, &custom, true)?;
    let mut store = shared.store();
    let mut found = store.ticket_index.visible(Instant::now());
    found.retain(|t| search::matches_ticket(&expr, t));
    found.sort_by_key(|record| std::cmp::Reverse((record.created_at, record.id)));
    let items = found
        .iter()
        .map(|t| render::ticket(t, &store, false, false))
        .collect();
    Ok(results(items, page))
}
