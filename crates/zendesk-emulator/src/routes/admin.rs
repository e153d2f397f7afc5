//! `/__emulator/*`: control endpoints for scripts and tests in other languages.
//! No authentication, not counted, never rate-limited or failed: they stand
//! outside the emulated account.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::reply;
use crate::Shared;
use crate::body;
use crate::error::ApiError;
use crate::seed::{SeedAgent, SeedTicket, SeedTicketField, SeedTicketForm, SeedUser};

pub(crate) async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    let stats = shared.stats().clone();
    reply(StatusCode::OK, json!(stats))
}

pub(crate) async fn state(State(shared): State<Arc<Shared>>) -> Response {
    let snapshot = shared.store().snapshot();
    reply(StatusCode::OK, json!(snapshot))
}

pub(crate) async fn reset(State(shared): State<Arc<Shared>>) -> Response {
    shared.reset();
    reply(StatusCode::OK, json!({}))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn current_faults(shared: &Shared) -> Value {
    let search_lag = shared.store().search_lag;
    let control = shared.control();
    json!({
        "fail_rate": control.faults.fail_rate,
        "latency_ms": millis(control.faults.latency),
        "requests_per_minute": control.limiter.limit(),
        "search_lag_ms": millis(search_lag),
    })
}

pub(crate) async fn faults(State(shared): State<Arc<Shared>>) -> Response {
    reply(StatusCode::OK, current_faults(&shared))
}

fn number<T: DeserializeOwned>(body: &Value, key: &str) -> Result<Option<T>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => serde_json::from_value(value.clone())
            .map(Some)
            .map_err(|error| ApiError::BadRequest(format!("{key}: {error}"))),
    }
}

/// `{"fail_rate": 0.1, "latency_ms": 20, "requests_per_minute": 100,
/// "search_lag_ms": 2000}`; absent keys are left as they are,
/// `"requests_per_minute": null` removes the limit.
pub(crate) async fn set_faults(
    State(shared): State<Arc<Shared>>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let body = body::parse(&bytes)?;
    let fail_rate: Option<f64> = number(&body, "fail_rate")?;
    let latency_ms: Option<u64> = number(&body, "latency_ms")?;
    let search_lag_ms: Option<u64> = number(&body, "search_lag_ms")?;
    let limit = if body.get("requests_per_minute").is_some() {
        Some(number::<u32>(&body, "requests_per_minute")?)
    } else {
        None
    };
    {
        let mut control = shared.control();
        if let Some(fail_rate) = fail_rate {
            control.faults.fail_rate = fail_rate;
        }
        if let Some(latency_ms) = latency_ms {
            control.faults.latency = Duration::from_millis(latency_ms);
        }
        if let Some(limit) = limit {
            control.limiter.set_limit(limit);
        }
    }
    if let Some(search_lag_ms) = search_lag_ms {
        shared.store().search_lag = Duration::from_millis(search_lag_ms);
    }
    Ok(reply(StatusCode::OK, current_faults(&shared)))
}

/// A seed body: one record, an array, or `{"<plural>": [...]}`.
fn records<T: DeserializeOwned>(bytes: &[u8], plural: &str) -> Result<Vec<T>, ApiError> {
    let body = body::parse(bytes)?;
    let items = match body {
        Value::Array(items) => items,
        Value::Object(mut object) if object.contains_key(plural) => match object.remove(plural) {
            Some(Value::Array(items)) => items,
            Some(item) => vec![item],
            None => Vec::new(),
        },
        item => vec![item],
    };
    items
        .into_iter()
        .map(|item| {
            serde_json::from_value(item)
                .map_err(|error| ApiError::BadRequest(format!("invalid {plural} seed: {error}")))
        })
        .collect()
}

fn ids(ids: Vec<u64>) -> Response {
    reply(StatusCode::CREATED, json!({"ids": ids}))
}

pub(crate) async fn seed_users(
    State(shared): State<Arc<Shared>>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let users: Vec<SeedUser> = records(&bytes, "users")?;
    let mut store = shared.store();
    Ok(ids(users
        .into_iter()
        .map(|user| store.seed_user(user))
        .collect()))
}

pub(crate) async fn seed_agents(
    State(shared): State<Arc<Shared>>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let agents: Vec<SeedAgent> = records(&bytes, "agents")?;
    let mut store = shared.store();
    Ok(ids(agents
        .into_iter()
        .map(|agent| store.seed_user(SeedUser::agent(agent.email, agent.name)))
        .collect()))
}

pub(crate) async fn seed_tickets(
    State(shared): State<Arc<Shared>>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let tickets: Vec<SeedTicket> = records(&bytes, "tickets")?;
    let mut store = shared.store();
    Ok(ids(tickets
        .into_iter()
        .map(|ticket| store.seed_ticket(ticket))
        .collect()))
}

pub(crate) async fn seed_ticket_fields(
    State(shared): State<Arc<Shared>>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let fields: Vec<SeedTicketField> = records(&bytes, "ticket_fields")?;
    let mut store = shared.store();
    Ok(ids(fields
        .into_iter()
        .map(|field| store.seed_ticket_field(field))
        .collect()))
}

pub(crate) async fn seed_ticket_forms(
    State(shared): State<Arc<Shared>>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let forms: Vec<SeedTicketForm> = records(&bytes, "ticket_forms")?;
    let mut store = shared.store();
    Ok(ids(forms
        .into_iter()
        .map(|form| store.seed_ticket_form(form))
        .collect()))
}
