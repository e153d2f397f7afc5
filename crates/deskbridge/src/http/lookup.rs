//! Who is calling: the caller card by number (`GET /api/v1/lookup`), and the
//! contact search the agent page offers when the agent picks the caller's
//! contact (`GET /api/v1/contacts?q=`), for both backends.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use deskbridge_core::Phone;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiError;
use super::caller::Caller;
use crate::card::{CallerCard, caller_card};
use crate::state::{AppState, Group};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/lookup", get(lookup))
        .route("/contacts", get(search_contacts))
}

#[derive(Deserialize)]
struct LookupQuery {
    phone: Option<String>,
    group: Option<String>,
}

/// The group a lookup reads: the one named (if the caller may), else the
/// caller's first.
fn group_for(
    state: &AppState,
    caller: &Caller,
    name: Option<&str>,
) -> Result<Arc<Group>, ApiError> {
    let groups = caller.groups(state);
    match name {
        Some(name) => groups
            .into_iter()
            .find(|g| g.name == name)
            .ok_or_else(|| ApiError::invalid("group", format!("you may not read group {name:?}"))),
        None => groups
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::not_found("no connector group")),
    }
}

/// `GET /api/v1/lookup?phone=` (any format, read in the group's region): the
/// caller card. A known caller is answered from the backend's cache.
async fn lookup(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<LookupQuery>,
) -> Result<Json<CallerCard>, ApiError> {
    let raw = q
        .phone
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::invalid("phone", "send ?phone=<the caller's number>"))?;
    let group = group_for(&state, &caller, q.group.as_deref())?;
    let phone = Phone::parse(raw, group.region);
    let card = caller_card(&group, Some(&phone), None)
        .await
        .map_err(helpdesk_error)?;
    metrics::counter!("deskbridge_lookups_total").increment(1);
    Ok(Json(card))
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
    group: Option<String>,
}

/// `GET /api/v1/contacts?q=`: contacts whose name, email or phone matches, for
/// the agent page's "this caller is..." (at most 20).
async fn search_contacts(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    let text =
        q.q.as_deref()
            .map(str::trim)
            .filter(|t| t.chars().count() >= 2)
            .ok_or_else(|| ApiError::invalid("q", "send at least 2 characters to search for"))?;
    let group = group_for(&state, &caller, q.group.as_deref())?;
    let found = group
        .helpdesk
        .search_contacts(text, 20)
        .await
        .map_err(helpdesk_error)?;
    let contacts: Vec<Value> = found
        .iter()
        .map(|c| {
            json!({
                "id": c.id, "name": c.name, "phones": c.phones,
                "link": group.links.contact(&c.id),
            })
        })
        .collect();
    Ok(Json(json!({ "contacts": contacts })))
}

/// A helpdesk failure, as the API reports it: a 502 naming the helpdesk's
/// answer (no secrets: the adapters' messages carry none).
pub fn helpdesk_error(e: deskbridge_core::ports::HelpdeskError) -> ApiError {
    tracing::warn!(error = %e, "a helpdesk request for the agent page failed");
    ApiError::new(
        axum::http::StatusCode::BAD_GATEWAY,
        "helpdesk_unavailable",
        format!("the helpdesk did not answer: {e}"),
    )
}
