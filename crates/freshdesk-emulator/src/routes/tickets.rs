//! `/api/v2/tickets...`: tickets, their notes and conversations
//! (freshdesk-api.md §4 and §5).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{Duration, Utc};
use serde_json::Value;

use super::contacts::time_param;
use super::{created, ok, parse_id};
use crate::error::{ApiError, Errors, msg};
use crate::model::Ticket;
use crate::paging::Req;
use crate::state::Store;
use crate::{Shared, body, render};

/// "You cannot access tickets beyond the 300th page" (unverified `MAX_PAGE_LIMIT`).
const MAX_LIST_PAGE: usize = 300;
/// Conversations a ticket view embeds with `include=conversations` (unverified).
const EMBEDDED_CONVERSATIONS: usize = 10;

/// The `include` values, each checked against what the endpoint embeds. The
/// emulator does not model `stats` or `company`, so it refuses them.
fn includes<'a>(req: &'a Req, allowed: &str, errors: &mut Errors) -> Vec<&'a str> {
    let wanted: Vec<&str> = req
        .get("include")
        .map(|list| list.split(',').map(str::trim).collect())
        .unwrap_or_default();
    if wanted.iter().any(|w| !allowed.split(',').any(|a| a == *w)) {
        errors.invalid("include", msg::one_of(allowed));
    }
    wanted
}

fn view(store: &Store, id: u64, include: &[&str]) -> Result<Value, ApiError> {
    let ticket = store.tickets.get(&id).ok_or(ApiError::NotFound)?;
    let mut json = render::ticket(ticket, store, true, true);
    if include.contains(&"conversations") {
        let notes: Vec<Value> = store
            .notes_of(id)
            .into_iter()
            .take(EMBEDDED_CONVERSATIONS)
            .map(render::conversation)
            .collect();
        json["conversations"] = Value::Array(notes);
    }
    if include.contains(&"requester") {
        json["requester"] = render::requester(store, ticket.requester_id);
    }
    Ok(json)
}

/// `POST /api/v2/tickets`: 201 with `Location` and the ticket.
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    req: Req,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let body = body::object(&bytes)?;
    let mut store = shared.store();
    let id = store.create_ticket(&body)?;
    let location = format!("{}/api/v2/tickets/{id}", req.base);
    Ok(created(&location, view(&store, id, &[])?))
}

/// `GET /api/v2/tickets/{id}[?include=conversations,requester]`.
pub(crate) async fn show(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    req: Req,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let mut errors = Errors::default();
    req.allow(&["include"], &mut errors);
    let include = includes(&req, "conversations,requester", &mut errors);
    let store = shared.store();
    if !store.tickets.contains_key(&id) {
        return Err(ApiError::NotFound);
    }
    errors.finish()?;
    Ok(ok(view(&store, id, &include)?))
}

/// `PUT /api/v2/tickets/{id}`: 200 with the ticket.
pub(crate) async fn update(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let body = body::object(&bytes)?;
    let mut store = shared.store();
    store.update_ticket(id, &body)?;
    Ok(ok(view(&store, id, &[])?))
}

/// `GET /api/v2/tickets`: filters `requester_id`, `email`,
/// `unique_external_id`, `company_id`, `updated_since` and `filter`; without
/// any, only tickets created in the past 30 days (§4). Ordered by `order_by`
/// (default `created_at`) and `order_type` (default `desc`).
pub(crate) async fn index(
    State(shared): State<Arc<Shared>>,
    req: Req,
) -> Result<Response, ApiError> {
    let mut errors = Errors::default();
    let filters = [
        "filter",
        "requester_id",
        "email",
        "unique_external_id",
        "company_id",
        "updated_since",
    ];
    let mut allowed = filters.to_vec();
    allowed.extend(["order_by", "order_type", "include", "page", "per_page"]);
    req.allow(&allowed, &mut errors);
    let page = req.page(&mut errors);
    if page.page > MAX_LIST_PAGE {
        errors.invalid(
            "page",
            "You cannot access tickets beyond the 300th page. Please provide a smaller page number.",
        );
    }
    let include = includes(&req, "description,requester", &mut errors);
    let requester_id = req.id("requester_id", &mut errors);
    let company_id = req.id("company_id", &mut errors);
    let since = time_param(&req, "updated_since", &mut errors);
    let filter = req.get("filter");
    if filter.is_some_and(|f| !["new_and_my_open", "watching", "spam", "deleted"].contains(&f)) {
        errors.invalid(
            "filter",
            msg::one_of("new_and_my_open,watching,spam,deleted"),
        );
    }
    let order_by = req.get("order_by").unwrap_or("created_at");
    if !["created_at", "due_by", "updated_at", "status", "priority"].contains(&order_by) {
        errors.invalid(
            "order_by",
            msg::one_of("created_at,due_by,updated_at,status,priority"),
        );
    }
    let descending = match req.get("order_type") {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(_) => {
            errors.invalid("order_type", msg::one_of("asc,desc"));
            true
        }
    };
    errors.finish()?;
    let store = shared.store();
    let unfiltered = filters.iter().all(|key| req.get(key).is_none());
    let month_ago = Utc::now() - Duration::days(30);
    let requester_matches =
        |ticket: &Ticket, key: &str, pick: &dyn Fn(&crate::model::Contact) -> Option<String>| {
            req.get(key).is_none_or(|wanted| {
                let contact = store.contacts.get(&ticket.requester_id);
                contact
                    .and_then(pick)
                    .is_some_and(|v| v.eq_ignore_ascii_case(wanted))
            })
        };
    let mut found: Vec<&Ticket> = store
        .tickets
        .values()
        .filter(|t| !unfiltered || t.created_at >= month_ago)
        .filter(|t| requester_id.is_none_or(|id| t.requester_id == id))
        .filter(|t| company_id.is_none_or(|id| t.company_id == Some(id)))
        .filter(|t| since.is_none_or(|since| t.updated_at >= since))
        .filter(|t| requester_matches(t, "email", &|c| c.email.clone()))
        .filter(|t| requester_matches(t, "unique_external_id", &|c| c.unique_external_id.clone()))
        .filter(|t| match filter {
            // Nothing is spam, deleted or watched in the emulator.
            Some("new_and_my_open") => {
                t.status == 2 && t.responder_id.is_none_or(|id| id == store.owner_id)
            }
            Some(_) => false,
            None => true,
        })
        .collect();
    found.sort_by(|a, b| {
        let key = match order_by {
            "updated_at" => a.updated_at.cmp(&b.updated_at),
            "due_by" => a.due_by.cmp(&b.due_by),
            "status" => a.status.cmp(&b.status),
            "priority" => a.priority.cmp(&b.priority),
            _ => a.created_at.cmp(&b.created_at),
        };
        key.then(a.id.cmp(&b.id))
    });
    if descending {
        found.reverse();
    }
    let items = found
        .into_iter()
        .map(|t| {
            let mut json = render::ticket(t, &store, false, include.contains(&"description"));
            if include.contains(&"requester") {
                json["requester"] = render::requester(&store, t.requester_id);
            }
            json
        })
        .collect();
    Ok(req.paged(items, page))
}

/// `POST /api/v2/tickets/{id}/notes`: 201 with
/// `Location: {base}/api/v2/conversations/{note id}` (§5).
pub(crate) async fn create_note(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    req: Req,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let ticket_id = parse_id(&id)?;
    if !shared.store().tickets.contains_key(&ticket_id) {
        return Err(ApiError::NotFound);
    }
    let body = body::object(&bytes)?;
    let mut store = shared.store();
    let note_id = store.create_note(ticket_id, &body)?;
    let note = store.notes.get(&note_id).ok_or(ApiError::NotFound)?;
    let location = format!("{}/api/v2/conversations/{note_id}", req.base);
    Ok(created(&location, render::note(note)))
}

/// `GET /api/v2/tickets/{id}/conversations`: paged, oldest first (§5).
pub(crate) async fn conversations(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    req: Req,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let mut errors = Errors::default();
    req.allow(&["page", "per_page"], &mut errors);
    let page = req.page(&mut errors);
    let store = shared.store();
    if !store.tickets.contains_key(&id) {
        return Err(ApiError::NotFound);
    }
    errors.finish()?;
    let items = store
        .notes_of(id)
        .into_iter()
        .map(render::conversation)
        .collect();
    Ok(req.paged(items, page))
}
