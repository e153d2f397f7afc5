//! Companies, agents and ticket fields: what a connector reads to map its own
//! records onto the account's.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::{created, ok, parse_id};
use crate::body::{Input, present};
use crate::error::{ApiError, Errors, msg};
use crate::model::Company;
use crate::paging::Req;
use crate::state::now;
use crate::{Shared, body, render};

/// The company keys the emulator models; Freshdesk also takes `health_score`,
/// `account_tier`, `renewal_date`, `industry` and `custom_fields`, answered
/// `invalid_field` here.
const COMPANY_FIELDS: &[&str] = &["name", "description", "domains", "note"];

/// `POST /api/v2/companies`: `name` required and unique. The 409 for a taken
/// name, naming the company in `additional_info`, follows the contacts' 409
/// (unverified for companies).
pub(crate) async fn create_company(
    State(shared): State<Arc<Shared>>,
    req: Req,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let body = body::object(&bytes)?;
    let mut input = Input::new(&body, COMPANY_FIELDS);
    let name = input.string("name");
    let description = input.text("description").flatten();
    let note = input.text("note").flatten();
    let domains = input.strings("domains").unwrap_or_default();
    let mut errors = input.errors;
    let mut store = shared.store();
    let name = present(&name).map(str::to_owned);
    match &name {
        None => errors.missing("name", msg::MISSING),
        Some(name) => {
            if let Some(holder) = store
                .companies
                .values()
                .find(|c| c.name.eq_ignore_ascii_case(name))
            {
                errors.duplicate("name", json!({"company_id": holder.id}));
            }
        }
    }
    errors.finish()?;
    let at = now();
    let id = store.add_company(Company {
        id: 0,
        name: name.unwrap_or_default(),
        description,
        domains,
        note,
        created_at: at,
        updated_at: at,
    });
    let company = store.companies.get(&id).ok_or(ApiError::NotFound)?;
    let location = format!("{}/api/v2/companies/{id}", req.base);
    Ok(created(&location, render::company(company)))
}

/// `GET /api/v2/companies/autocomplete?name=`: companies whose name starts
/// with the keyword, id and name only, wrapped in `companies` ("Search
/// Companies", Freshdesk API v2 reference, developers.freshdesk.com/api/
/// #search_companies).
pub(crate) async fn company_autocomplete(
    State(shared): State<Arc<Shared>>,
    req: Req,
) -> Result<Response, ApiError> {
    let mut errors = Errors::default();
    req.allow(&["name"], &mut errors);
    let name = req.get("name").map(str::to_lowercase).unwrap_or_default();
    if name.is_empty() {
        errors.missing("name", msg::MISSING);
    }
    errors.finish()?;
    let store = shared.store();
    let found: Vec<Value> = store
        .companies
        .values()
        .filter(|c| c.name.to_lowercase().starts_with(&name))
        .map(|c| json!({"id": c.id, "name": c.name}))
        .collect();
    Ok(ok(json!({ "companies": found })))
}

/// `GET /api/v2/companies/{id}`.
pub(crate) async fn company(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let store = shared.store();
    let company = store.companies.get(&id).ok_or(ApiError::NotFound)?;
    Ok(ok(render::company(company)))
}

/// `GET /api/v2/companies`, paged, in id order.
pub(crate) async fn companies(
    State(shared): State<Arc<Shared>>,
    req: Req,
) -> Result<Response, ApiError> {
    let mut errors = Errors::default();
    req.allow(&["page", "per_page"], &mut errors);
    let page = req.page(&mut errors);
    errors.finish()?;
    let store = shared.store();
    let items = store.companies.values().map(render::company).collect();
    Ok(req.paged(items, page))
}

/// `GET /api/v2/agents?email=&phone=&mobile=&state=`: exact matches on the
/// user row (`users.email = ?`, so 0 or 1 agent for an email; freshdesk-api.md §6).
pub(crate) async fn agents(
    State(shared): State<Arc<Shared>>,
    req: Req,
) -> Result<Response, ApiError> {
    let mut errors = Errors::default();
    req.allow(
        &["email", "phone", "mobile", "state", "page", "per_page"],
        &mut errors,
    );
    let page = req.page(&mut errors);
    let state = req.get("state");
    if state.is_some_and(|s| s != "fulltime" && s != "occasional") {
        errors.invalid("state", msg::one_of("fulltime,occasional"));
    }
    errors.finish()?;
    let store = shared.store();
    let items: Vec<Value> = store
        .agents
        .values()
        .filter(|a| {
            req.get("email")
                .is_none_or(|e| a.email.eq_ignore_ascii_case(e))
        })
        .filter(|a| {
            req.get("phone")
                .is_none_or(|p| a.phone.as_deref() == Some(p))
        })
        .filter(|a| {
            req.get("mobile")
                .is_none_or(|m| a.mobile.as_deref() == Some(m))
        })
        .filter(|a| state.is_none_or(|s| a.occasional == (s == "occasional")))
        .map(render::agent)
        .collect();
    Ok(req.paged(items, page))
}

/// `GET /api/v2/agents/{id}`.
pub(crate) async fn agent(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let store = shared.store();
    let agent = store.agents.get(&id).ok_or(ApiError::NotFound)?;
    Ok(ok(render::agent(agent)))
}

/// `GET /api/v2/agents/me`: the agent who owns the API key.
pub(crate) async fn me(State(shared): State<Arc<Shared>>) -> Result<Response, ApiError> {
    let store = shared.store();
    let agent = store
        .agents
        .get(&store.owner_id)
        .ok_or(ApiError::NotFound)?;
    Ok(ok(render::agent(agent)))
}

/// `GET /api/v2/ticket_fields`: default fields, then the custom `cf_*` ones.
pub(crate) async fn ticket_fields(
    State(shared): State<Arc<Shared>>,
    req: Req,
) -> Result<Response, ApiError> {
    let mut errors = Errors::default();
    req.allow(&["type"], &mut errors);
    errors.finish()?;
    let store = shared.store();
    let fields: Vec<Value> = store
        .ticket_fields
        .iter()
        .filter(|f| req.get("type").is_none_or(|t| f.field_type == t))
        .map(|f| render::ticket_field(f, &store))
        .collect();
    Ok(ok(Value::Array(fields)))
}
