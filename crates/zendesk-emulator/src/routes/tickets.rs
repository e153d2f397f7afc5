//! `/api/v2/tickets...`: tickets, their comments and audits.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Base, Origin, created, list, parse_id, reply};
use crate::Shared;
use crate::body::{self, Obj};
use crate::error::ApiError;
use crate::idempotency::Lookup;
use crate::model::RequestOrigin;
use crate::render;
use crate::state::{CommentInput, InlineRequester, NewTicket, Store, TicketChanges};
use crate::updates::UpdateFault;

const IDEMPOTENCY_KEY: &str = "idempotency-key";
const IDEMPOTENCY_LOOKUP: &str = "x-idempotency-lookup";

fn comment_input(comment: Option<Obj<'_>>) -> Result<Option<CommentInput>, ApiError> {
    let Some(comment) = comment else {
        return Ok(None);
    };
    Ok(Some(CommentInput {
        body: comment.string("body")?,
        html_body: comment.string("html_body")?,
        public: comment.bool("public")?,
        author_id: comment.id("author_id")?,
    }))
}

/// `custom_fields`, or its older alias `fields`.
fn custom_fields(ticket: &Obj<'_>) -> Result<Option<Vec<(u64, Value)>>, ApiError> {
    if ticket.has("custom_fields") {
        ticket.custom_fields("custom_fields")
    } else {
        ticket.custom_fields("fields")
    }
}

fn new_ticket(body: &Value) -> Result<NewTicket, ApiError> {
    let ticket = Obj::root(body, "ticket")?;
    let requester = match ticket.object("requester")? {
        Some(requester) => Some(InlineRequester {
            name: requester.string("name")?,
            email: requester.string("email")?,
        }),
        None => None,
    };
    Ok(NewTicket {
        subject: ticket.string("subject")?,
        comment: comment_input(ticket.object("comment")?)?,
        requester_id: ticket.id("requester_id")?,
        requester,
        assignee_id: ticket.id("assignee_id")?,
        group_id: ticket.id("group_id")?,
        priority: ticket.string("priority")?,
        ticket_type: ticket.string("type")?,
        status: ticket.string("status")?,
        tags: ticket.strings("tags")?,
        custom_fields: custom_fields(&ticket)?,
        ticket_form_id: ticket.id("ticket_form_id")?,
        brand_id: ticket.id("brand_id")?,
        external_id: ticket.string("external_id")?,
        via_followup_source_id: ticket.id("via_followup_source_id")?,
    })
}

fn ticket_changes(body: &Value) -> Result<TicketChanges, ApiError> {
    let ticket = Obj::root(body, "ticket")?;
    Ok(TicketChanges {
        comment: comment_input(ticket.object("comment")?)?,
        status: ticket.string("status")?,
        assignee_id: ticket.nullable_id("assignee_id")?,
        group_id: ticket.nullable_id("group_id")?,
        priority: ticket.string("priority")?,
        ticket_type: ticket.string("type")?,
        subject: ticket.string("subject")?,
        tags: ticket.strings("tags")?,
        additional_tags: ticket.strings("additional_tags")?,
        custom_fields: custom_fields(&ticket)?,
        external_id: ticket.string("external_id")?,
    })
}

fn ticket_and_audit(
    store: &Store,
    base: &str,
    ticket_id: u64,
    audit_id: u64,
) -> Result<Value, ApiError> {
    let ticket = store.ticket(ticket_id).ok_or(ApiError::NotFound)?;
    let audit = store.audits.get(&audit_id).ok_or(ApiError::NotFound)?;
    Ok(json!({
        "ticket": render::ticket(ticket, store, base),
        "audit": render::audit(audit, store),
    }))
}

fn with_lookup(mut response: Response, lookup: &'static str) -> Response {
    response
        .headers_mut()
        .insert(IDEMPOTENCY_LOOKUP, HeaderValue::from_static(lookup));
    response
}

pub(crate) async fn show(
    State(shared): State<Arc<Shared>>,
    Base(base): Base,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let store = shared.store();
    let ticket = store.ticket(id).ok_or(ApiError::NotFound)?;
    Ok(reply(
        StatusCode::OK,
        json!({"ticket": render::ticket(ticket, &store, &base)}),
    ))
}

/// `POST /tickets`, honouring `Idempotency-Key`: the lookup, the creation and the
/// remembering happen under one lock, so two concurrent retries with one key make
/// one ticket.
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    Base(base): Base,
    Origin(origin): Origin,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let body = body::parse(&bytes)?;
    Ok(create_from(&shared, &base, origin, &headers, body).0)
}

/// Creates a ticket from a Create Ticket body (also what Talk Partner Edition's
/// create, which "follows the same conventions", does); the id of the ticket
/// made, when one was.
pub(crate) fn create_from(
    shared: &Shared,
    base: &str,
    origin: RequestOrigin,
    headers: &HeaderMap,
    body: Value,
) -> (Response, Option<u64>) {
    let key = headers
        .get(IDEMPOTENCY_KEY)
        .and_then(|key| key.to_str().ok())
        .filter(|key| !key.is_empty())
        .map(str::to_owned);
    let now = Instant::now();
    // Taken before the store's lock (no path holds two locks); a refused create
    // uses it up too.
    let lose_answer = {
        let mut control = shared.control();
        let lose = control.updates.creates_lost > 0;
        control.updates.creates_lost = control.updates.creates_lost.saturating_sub(1);
        lose
    };
    let mut store = shared.store();
    if let Some(key) = &key {
        match store.idempotency.lookup(key, &body, now) {
            Lookup::Hit { status, response } => {
                let id = response["ticket"]["id"].as_u64();
                return (with_lookup(reply(status, response), "hit"), id);
            }
            Lookup::Conflict => return (ApiError::IdempotencyConflict.into_response(), None),
            Lookup::Miss => {}
        }
    }
    let outcome = new_ticket(&body)
        .and_then(|input| store.create_ticket(input, origin))
        .and_then(|(ticket_id, audit_id)| {
            ticket_and_audit(&store, base, ticket_id, audit_id).map(|json| (ticket_id, json))
        });
    let made = outcome.as_ref().ok().map(|(id, _)| *id);
    let response = match outcome {
        Ok((ticket_id, json)) => {
            if let Some(key) = &key {
                store.idempotency.remember(
                    key.clone(),
                    body,
                    StatusCode::CREATED,
                    json.clone(),
                    now,
                );
            }
            if lose_answer {
                // Made and remembered, but the answer is lost on the way back.
                ApiError::BadGateway.into_response()
            } else {
                created(&format!("{base}/api/v2/tickets/{ticket_id}.json"), json)
            }
        }
        Err(error) => error.into_response(),
    };
    let response = match key.is_some() {
        true => with_lookup(response, "miss"),
        false => response,
    };
    (response, made)
}

/// `GET /tickets?external_id=`: the tickets with that external id, read from the
/// records (no search lag), oldest first; without the filter, every ticket.
/// "External ids don't have to be unique" (List Tickets, Support API reference).
pub(crate) async fn index(
    State(shared): State<Arc<Shared>>,
    Base(base): Base,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let store = shared.store();
    let wanted = params.get("external_id");
    let tickets: Vec<Value> = store
        .tickets
        .values()
        .filter(|t| wanted.is_none_or(|w| t.external_id.as_deref() == Some(w.as_str())))
        .map(|t| render::ticket(t, &store, &base))
        .collect();
    Ok(reply(StatusCode::OK, list("tickets", tickets)))
}

/// `PUT /tickets/{id}`: 200 with the ticket and the audit of the change.
pub(crate) async fn update(
    State(shared): State<Arc<Shared>>,
    Base(base): Base,
    Origin(origin): Origin,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let mut body = body::parse(&bytes)?;
    super::voice::fold_voice_comment(&mut body);
    let changes = ticket_changes(&body)?;
    // The per-ticket limit and queued faults (see `crate::updates` for sources).
    let fault = {
        let mut control = shared.control();
        if let Err(retry_after_secs) = control.updates.admit(id, Instant::now()) {
            drop(control);
            shared.stats().rate_limited += 1;
            return Err(ApiError::RateLimited { retry_after_secs });
        }
        control.updates.take_fault(id)
    };
    if fault == Some(UpdateFault::Conflict) {
        return Err(ApiError::DatabaseConflict);
    }
    let mut store = shared.store();
    let audit_id = store.update_ticket(id, changes, origin)?;
    if fault == Some(UpdateFault::AppliedThenBadGateway) {
        return Err(ApiError::BadGateway);
    }
    Ok(reply(
        StatusCode::OK,
        ticket_and_audit(&store, &base, id, audit_id)?,
    ))
}

/// `GET /tickets/{id}/comments`, oldest first unless `sort_order=desc`.
pub(crate) async fn comments(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let store = shared.store();
    if store.ticket(id).is_none() {
        return Err(ApiError::NotFound);
    }
    let mut comments: Vec<Value> = store.comments_of(id).map(render::comment).collect();
    if params.get("sort_order").map(String::as_str) == Some("desc") {
        comments.reverse();
    }
    Ok(reply(StatusCode::OK, list("comments", comments)))
}
