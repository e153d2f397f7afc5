//! Organizations, ticket fields and ticket forms.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{Base, created, list, parse_id, reply};
use crate::Shared;
use crate::body::{self, Obj};
use crate::error::ApiError;
use crate::render;

/// `POST /organizations`: 201, or 422 when the name is taken.
pub(crate) async fn create_organization(
    State(shared): State<Arc<Shared>>,
    Base(base): Base,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let body = body::parse(&bytes)?;
    let organization = Obj::root(&body, "organization")?;
    let name = organization.string("name")?;
    let external_id = organization.string("external_id")?;
    let domain_names = organization.strings("domain_names")?.unwrap_or_default();
    let tags = organization.strings("tags")?.unwrap_or_default();
    let mut store = shared.store();
    let id = store.create_organization(name, external_id, domain_names, tags)?;
    let organization = store.organizations.get(&id).ok_or(ApiError::NotFound)?;
    Ok(created(
        &format!("{base}/api/v2/organizations/{id}.json"),
        json!({"organization": render::organization(organization, &base)}),
    ))
}

#[derive(serde::Deserialize)]
pub(crate) struct OrganizationSearch {
    name: Option<String>,
    external_id: Option<String>,
}

/// `GET /api/v2/organizations/search?name=` (exact name) or `?external_id=`.
pub(crate) async fn search_organizations(
    State(shared): State<Arc<Shared>>,
    Base(base): Base,
    axum::extract::Query(q): axum::extract::Query<OrganizationSearch>,
) -> Response {
    let store = shared.store();
    let found: Vec<Value> = store
        .organizations
        .values()
        .filter(|o| match (&q.name, &q.external_id) {
            (Some(name), _) => o.name.eq_ignore_ascii_case(name),
            (None, Some(ext)) => o.external_id.as_deref() == Some(ext.as_str()),
            (None, None) => false,
        })
        .map(|o| render::organization(o, &base))
        .collect();
    reply(StatusCode::OK, list("organizations", found))
}

pub(crate) async fn show_organization(
    State(shared): State<Arc<Shared>>,
    Base(base): Base,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let store = shared.store();
    let organization = store.organizations.get(&id).ok_or(ApiError::NotFound)?;
    Ok(reply(
        StatusCode::OK,
        json!({"organization": render::organization(organization, &base)}),
    ))
}

pub(crate) async fn list_ticket_fields(
    State(shared): State<Arc<Shared>>,
    Base(base): Base,
) -> Response {
    let store = shared.store();
    let fields: Vec<Value> = store
        .ticket_fields
        .values()
        .map(|field| render::ticket_field(field, &base))
        .collect();
    reply(StatusCode::OK, list("ticket_fields", fields))
}

pub(crate) async fn show_ticket_field(
    State(shared): State<Arc<Shared>>,
    Base(base): Base,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let store = shared.store();
    let field = store.ticket_fields.get(&id).ok_or(ApiError::NotFound)?;
    Ok(reply(
        StatusCode::OK,
        json!({"ticket_field": render::ticket_field(field, &base)}),
    ))
}

pub(crate) async fn list_ticket_forms(
    State(shared): State<Arc<Shared>>,
    Base(base): Base,
) -> Response {
    let store = shared.store();
    let forms: Vec<Value> = store
        .ticket_forms
        .values()
        .map(|form| render::ticket_form(form, &base))
        .collect();
    reply(StatusCode::OK, list("ticket_forms", forms))
}

pub(crate) async fn show_ticket_form(
    State(shared): State<Arc<Shared>>,
    Base(base): Base,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let store = shared.store();
    let form = store.ticket_forms.get(&id).ok_or(ApiError::NotFound)?;
    Ok(reply(
        StatusCode::OK,
        json!({"ticket_form": render::ticket_form(form, &base)}),
    ))
}
