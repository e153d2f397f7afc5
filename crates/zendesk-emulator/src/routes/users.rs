//! `/api/v2/users...`: the caller's contact record.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{Base, created, list, parse_id, reply};
use crate::Shared;
use crate::body::{self, Obj};
use crate::error::ApiError;
use crate::render;
use crate::search::{self, Kind, Sort};
use crate::state::UserInput;

fn user_input(body: &Value) -> Result<UserInput, ApiError> {
    let user = Obj::root(body, "user")?;
    Ok(UserInput {
        name: user.string("name")?,
        email: user.string("email")?,
        phone: user.string("phone")?,
        role: user.string("role")?,
        external_id: user.string("external_id")?,
        organization_id: user.id("organization_id")?,
        tags: user.strings("tags")?,
    })
}

fn user_url(base: &str, id: u64) -> String {
    format!("{base}/api/v2/users/{id}.json")
}

/// `GET /users/me`: the account the credentials belong to.
pub(crate) async fn me(
    State(shared): State<Arc<Shared>>,
    Base(base): Base,
) -> Result<Response, ApiError> {
    let store = shared.store();
    let admin = store.user(store.admin_id).ok_or(ApiError::NotFound)?;
    Ok(reply(
        StatusCode::OK,
        json!({"user": render::user(admin, &base)}),
    ))
}

pub(crate) async fn show(
    State(shared): State<Arc<Shared>>,
    Base(base): Base,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let store = shared.store();
    let user = store.user(id).ok_or(ApiError::NotFound)?;
    Ok(reply(
        StatusCode::OK,
        json!({"user": render::user(user, &base)}),
    ))
}

pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    Base(base): Base,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let input = user_input(&body::parse(&bytes)?)?;
    let mut store = shared.store();
    let id = store.create_user(input)?;
    let user = store.user(id).ok_or(ApiError::NotFound)?;
    Ok(created(
        &user_url(&base, id),
        json!({"user": render::user(user, &base)}),
    ))
}

/// 201 when a user was created, 200 when an existing one was updated.
pub(crate) async fn create_or_update(
    State(shared): State<Arc<Shared>>,
    Base(base): Base,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let input = user_input(&body::parse(&bytes)?)?;
    let mut store = shared.store();
    // "Allowed For: Admins and agents in custom roles with permission to manage
    // end users" (Support API reference, Create Or Update User): a plain agent's
    // token is refused.
    if store.user(store.admin_id).map(|u| u.role) != Some(crate::model::Role::Admin) {
        return Err(ApiError::Forbidden);
    }
    let (id, was_created) = store.create_or_update_user(input)?;
    let user = store.user(id).ok_or(ApiError::NotFound)?;
    let body = json!({"user": render::user(user, &base)});
    Ok(if was_created {
        created(&user_url(&base, id), body)
    } else {
        reply(StatusCode::OK, body)
    })
}

/// `GET /users/search?query=` (through the lagging index) or `?external_id=`
/// (exact, on the records, no lag).
pub(crate) async fn search(
    State(shared): State<Arc<Shared>>,
    Base(base): Base,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let store = shared.store();
    let users: Vec<Value> = if let Some(external_id) = params.get("external_id") {
        store
            .users
            .values()
            .filter(|user| user.external_id.as_deref() == Some(external_id.as_str()))
            .map(|user| render::user(user, &base))
            .collect()
    } else if let Some(text) = params.get("query").filter(|text| !text.trim().is_empty()) {
        let now = Instant::now();
        let query = if text.contains(':') {
            search::Query::parse(text)
        } else {
            // A bare value: one free term, so "+1 415" is not split in two.
            search::Query::parse(&format!("\"{}\"", text.trim().replace('"', "")))
        };
        if !query.wants(Kind::User) {
            Vec::new()
        } else {
            store
                .users
                .values()
                .filter(|user| query.matches_user(user, &store, now) || bare_match(user, text, now))
                .map(|user| render::user(user, &base))
                .collect()
        }
    } else {
        return Err(ApiError::BadRequest(
            "Parameter query or external_id is required".to_owned(),
        ));
    };
    Ok(reply(StatusCode::OK, list("users", users)))
}

/// `users/search` also matches a bare value as a substring of the phone, with
/// or without its `+` (the search language alone only matches phone digits
/// exactly or by wildcard).
fn bare_match(user: &crate::model::User, text: &str, now: Instant) -> bool {
    if text.contains(':') || user.indexed_at > now {
        return false;
    }
    let wanted = text.trim();
    let wanted_digits = crate::phone::digits(wanted);
    let numeric = !wanted_digits.is_empty()
        && wanted
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')'));
    !wanted.is_empty()
        && user.phones().any(|(phone, indexed_at)| {
            indexed_at <= now
                && (phone.contains(wanted)
                    || numeric && crate::phone::digits(phone).contains(&wanted_digits))
        })
}

/// `GET /users/{id}/tickets/requested`: read from the records (no index lag).
pub(crate) async fn requested_tickets(
    State(shared): State<Arc<Shared>>,
    Base(base): Base,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let store = shared.store();
    if store.user(id).is_none() {
        return Err(ApiError::NotFound);
    }
    let sort = Sort::from_params(
        params.get("sort_by").map(String::as_str),
        params.get("sort_order").map(String::as_str),
        false,
    );
    let mut tickets: Vec<_> = store
        .tickets
        .values()
        .filter(|ticket| ticket.requester_id == id)
        .collect();
    tickets.sort_by(|a, b| sort.compare_tickets(a, b));
    let tickets = tickets
        .into_iter()
        .map(|ticket| render::ticket(ticket, &store, &base))
        .collect();
    Ok(reply(StatusCode::OK, list("tickets", tickets)))
}

/// `GET /users/{id}/identities` (List Identities): a user's emails and phone
/// numbers, the primary one first.
pub(crate) async fn identities(
    State(shared): State<Arc<Shared>>,
    Base(base): Base,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let user_id = parse_id(&id)?;
    let store = shared.store();
    let user = store.user(user_id).ok_or(ApiError::NotFound)?;
    let mut identities: Vec<_> = user.identities.iter().collect();
    identities.sort_by_key(|identity| (!identity.primary, identity.id));
    let identities = identities
        .into_iter()
        .map(|identity| render::identity(identity, &base))
        .collect();
    Ok(reply(StatusCode::OK, list("identities", identities)))
}

/// `POST /users/{id}/identities`.
pub(crate) async fn create_identity(
    State(shared): State<Arc<Shared>>,
    Base(base): Base,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let user_id = parse_id(&id)?;
    let body = body::parse(&bytes)?;
    let identity = Obj::root(&body, "identity")?;
    let kind = identity.string("type")?;
    let value = identity.string("value")?;
    let mut store = shared.store();
    let identity_id = store.add_identity(user_id, kind, value)?;
    let identity = store
        .user(user_id)
        .and_then(|user| {
            user.identities
                .iter()
                .find(|identity| identity.id == identity_id)
        })
        .ok_or(ApiError::NotFound)?;
    Ok(created(
        &format!("{base}/api/v2/users/{user_id}/identities/{identity_id}.json"),
        json!({"identity": render::identity(identity, &base)}),
    ))
}

/// `GET /users` (List Users) with `role` / `role[]` filters and offset
/// pagination (`page`, `per_page` up to 100; `next_page` the next page's URL).
/// Source: "List Users" in the Users API reference ("role: Filters the
/// results by role"; "role[]: Filters the results by more than one role").
pub(crate) async fn index(
    State(shared): State<Arc<Shared>>,
    Base(base): Base,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Response, ApiError> {
    let pairs: Vec<(String, String)> = query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.replace("%5B%5D", "[]"), v.to_string()))
        .collect();
    let roles: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "role" || k == "role[]")
        .map(|(_, v)| v.as_str())
        .collect();
    let number = |name: &str, default: usize| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(default)
    };
    let per_page = number("per_page", 100).clamp(1, 100);
    let page = number("page", 1).max(1);
    let store = shared.store();
    let users: Vec<_> = store
        .users
        .values()
        .filter(|user| roles.is_empty() || roles.contains(&user.role.as_str()))
        .collect();
    let count = users.len();
    let shown: Vec<Value> = users
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|user| render::user(user, &base))
        .collect();
    let filter: String = roles.iter().map(|r| format!("&role%5B%5D={r}")).collect();
    let next_page = (page * per_page < count).then(|| {
        format!(
            "{base}/api/v2/users.json?page={}&per_page={per_page}{filter}",
            page + 1
        )
    });
    Ok(reply(
        StatusCode::OK,
        serde_json::json!({
            "users": shown,
            "count": count,
            "next_page": next_page,
            "previous_page": null,
        }),
    ))
}
