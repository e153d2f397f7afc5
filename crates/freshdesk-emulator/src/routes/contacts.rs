//! `/api/v2/contacts...` (freshdesk-api.md §3).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{created, ok, parse_id};
use crate::error::{ApiError, Errors};
use crate::model::Contact;
use crate::paging::Req;
use crate::state::Store;
use crate::{Shared, body, render};

fn answer(store: &Store, id: u64) -> Result<Value, ApiError> {
    let contact = store.contacts.get(&id).ok_or(ApiError::NotFound)?;
    Ok(render::contact(contact, store))
}

/// `POST /api/v2/contacts`: 201 with `Location` and the contact.
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    req: Req,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let body = body::object(&bytes)?;
    let mut store = shared.store();
    let id = store.create_contact(&body)?;
    let location = format!("{}/api/v2/contacts/{id}", req.base);
    Ok(created(&location, answer(&store, id)?))
}

/// `GET /api/v2/contacts/{id}`: deleted contacts too (§3).
pub(crate) async fn show(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    Ok(ok(answer(&shared.store(), id)?))
}

/// `PUT /api/v2/contacts/{id}`: 200 with the contact.
pub(crate) async fn update(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let body = body::object(&bytes)?;
    let mut store = shared.store();
    store.update_contact(id, &body)?;
    Ok(ok(answer(&store, id)?))
}

/// An ISO-8601 time parameter.
pub(crate) fn time_param(req: &Req, key: &str, errors: &mut Errors) -> Option<DateTime<Utc>> {
    let text = req.get(key)?;
    let parsed = DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|at| at.with_timezone(&Utc));
    if parsed.is_none() {
        errors.invalid(key, "It should be in the 'valid date time' format");
    }
    parsed
}

/// `GET /api/v2/contacts`: exact filters on the columns (`phone` is
/// `where(phone: v)`), `_updated_since` as `updated_at >= v`, deleted and
/// blocked contacts out unless `state` asks, ordered by name (§3). A `+` in a
/// phone must be sent as `%2B`: an unencoded one decodes to a space, in Rails
/// as here.
pub(crate) async fn index(
    State(shared): State<Arc<Shared>>,
    req: Req,
) -> Result<Response, ApiError> {
    let mut errors = Errors::default();
    req.allow(
        &[
            "email",
            "phone",
            "mobile",
            "company_id",
            "unique_external_id",
            // The contact list's filter has a leading underscore (python-freshdesk
            // documents `_updated_since=2018-01-19T02:00:00Z`); `updated_since`
            // is the ticket list's, and refused here as any unknown key.
            "_updated_since",
            "state",
            "page",
            "per_page",
        ],
        &mut errors,
    );
    let page = req.page(&mut errors);
    let company_id = req.id("company_id", &mut errors);
    let since = time_param(&req, "_updated_since", &mut errors);
    let state = req.get("state");
    if let Some(state) = state
        && !["verified", "unverified", "deleted", "blocked"].contains(&state)
    {
        errors.invalid(
            "state",
            crate::error::msg::one_of("verified,unverified,deleted,blocked"),
        );
    }
    errors.finish()?;
    let store = shared.store();
    let equal = |value: &Option<String>, key: &str| {
        req.get(key)
            .is_none_or(|wanted| value.as_deref() == Some(wanted))
    };
    let mut found: Vec<&Contact> = store
        .contacts
        .values()
        .filter(|c| match state {
            None => !c.deleted,
            Some("deleted") => c.deleted,
            Some("verified") => !c.deleted && c.active,
            Some("unverified") => !c.deleted && !c.active,
            Some(_) => false,
        })
        .filter(|c| {
            req.get("email").is_none_or(|wanted| {
                c.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(wanted))
            })
        })
        .filter(|c| equal(&c.phone, "phone") && equal(&c.mobile, "mobile"))
        .filter(|c| equal(&c.unique_external_id, "unique_external_id"))
        .filter(|c| company_id.is_none_or(|id| c.company_id == Some(id)))
        .filter(|c| since.is_none_or(|since| c.updated_at >= since))
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    let items = found.iter().map(|c| render::contact(c, &store)).collect();
    Ok(req.paged(items, page))
}

/// `GET /api/v2/contacts/autocomplete?term=`: `[{"id", "name"}]` of contacts a
/// word of whose name starts with `term`, case-insensitively ("John Jonz" is
/// found by `jon` but not by `hn`; the withone.ai transcription of the reference,
/// "Search Contacts (Autocomplete)"). No paging (unverified).
pub(crate) async fn autocomplete(
    State(shared): State<Arc<Shared>>,
    req: Req,
) -> Result<Response, ApiError> {
    let mut errors = Errors::default();
    req.allow(&["term"], &mut errors);
    let term = req.get("term").map(str::to_lowercase).unwrap_or_default();
    if term.is_empty() {
        errors.missing("term", crate::error::msg::MISSING);
    }
    errors.finish()?;
    let store = shared.store();
    let found: Vec<Value> = store
        .contacts
        .values()
        .filter(|c| !c.deleted)
        .filter(|c| {
            c.name
                .split_whitespace()
                .any(|word| word.to_lowercase().starts_with(&term))
        })
        .map(|c| json!({"id": c.id, "name": c.name}))
        .collect();
    Ok(ok(Value::Array(found)))
}
