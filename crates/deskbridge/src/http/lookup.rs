//! Who is calling: the caller card by number (`GET /api/v1/lookup`), where to
//! route the call (`GET /api/v1/route`), and the contact search the agent page
//! offers when the agent picks the caller's contact (`GET /api/v1/contacts?q=`),
//! for both backends.
//!
//! Each runs its helpdesk requests in the routing lane ([`as_lookup`]): a PBX
//! or an agent asking as fast as it can spends the lookups' share of the
//! helpdesk's budget, never what the calls' own pops and records need.

use super::openapi::bodies as doc;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::Json;
use axum::extract::{Query, State};
use deskbridge_core::Phone;
use deskbridge_core::decide::{ContactQuery, contact_query};
use deskbridge_core::interaction::Interaction;
use deskbridge_core::ports::HelpdeskError;
use deskbridge_core::route::{self, RouteAnswer};
use deskbridge_zendesk::as_lookup;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiError;
use super::caller::Caller;
use crate::card::{CallerCard, caller_card};
use crate::state::{AppState, Group};

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(lookup))
        .routes(routes!(route))
        .routes(routes!(search_contacts))
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
    let groups = caller.reach(state);
    if groups.is_empty() && caller.agent().is_some() {
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "no_group",
            "you work in no connector group here: an admin names your groups in the \
             config ([[agents]] groups = [...]); with several groups, an agent without \
             them looks up no one",
        ));
    }
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
#[utoipa::path(
    get,
    path = "/lookup",
    tag = "lookup",
    params(
        ("phone" = String, Query, description = "The caller's number, any format (read in the group's region)"),
        ("group" = Option<String>, Query, description = "The group to read (default: the credentials' first)"),
    ),
    security(("group_token" = []), ("agent_session" = [])),
    responses(
        (status = 200, description = "The caller card", body = crate::card::CallerCard),
        (status = 401, description = "No credentials, or not valid (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 403, description = "A signed-in agent who works in no connector group here (`no_group`: name the agent's `groups` in `[[agents]]`)", body = doc::ApiErrorBody),
        (status = 404, description = "The credentials have no connector group (`not_found`)", body = doc::ApiErrorBody),
        (status = 422, description = "A missing parameter, or a group the credentials may not read (`invalid`, with `field`)", body = doc::ApiErrorBody),
        (status = 502, description = "The helpdesk did not answer (`helpdesk_unavailable`)", body = doc::ApiErrorBody),
    )
)]
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
    let card = as_lookup(caller_card(&group, Some(&phone), None))
        .await
        .map_err(helpdesk_error)?;
    metrics::counter!("deskbridge_lookups_total").increment(1);
    Ok(Json(card))
}

#[derive(Deserialize)]
struct RouteQuery {
    from: Option<String>,
    to: Option<String>,
    group: Option<String>,
    /// `text`: just the target, for dialplans (empty: no preference).
    format: Option<String>,
}

/// `GET /api/v1/route?from=&to=`: where the PBX should send the call ringing
/// from `from` (the core's [`route`](deskbridge_core::route::route): the owner of
/// the caller's open ticket), as JSON `{"target", "agent", "reason"}`, or with
/// `format=text` the target alone (an empty body: no preference), for Asterisk's
/// `CURL()` and Kamailio's `http_client_query`. The group is the one named, else
/// the one owning the dialed number `to`, else the credentials' first.
#[utoipa::path(
    get,
    path = "/route",
    tag = "lookup",
    params(
        ("from" = Option<String>, Query, description = "The caller's number"),
        ("to" = Option<String>, Query, description = "The dialed number (picks the group owning it)"),
        ("group" = Option<String>, Query, description = "The group to read"),
        ("format" = Option<String>, Query, description = "`text`: the target alone, an empty body for no preference"),
    ),
    security(("group_token" = []), ("agent_session" = [])),
    responses(
        (status = 200, description = "Where to send the ringing call, and why", content(
            (deskbridge_core::route::RouteAnswer = "application/json"),
            (String = "text/plain"),
        )),
        (status = 401, description = "No credentials, or not valid (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 403, description = "A signed-in agent who works in no connector group here (`no_group`: name the agent's `groups` in `[[agents]]`)", body = doc::ApiErrorBody),
        (status = 404, description = "The credentials have no connector group (`not_found`)", body = doc::ApiErrorBody),
        (status = 422, description = "A missing parameter, or a group the credentials may not read (`invalid`, with `field`)", body = doc::ApiErrorBody),
    )
)]
async fn route(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<RouteQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let started = std::time::Instant::now();
    let group = match (&q.group, &q.to) {
        (Some(name), _) => group_for(&state, &caller, Some(name))?,
        (None, Some(to)) => {
            let groups = caller.reach(&state);
            let owner = groups.iter().find(|g| {
                Phone::parse(to, g.region)
                    .e164()
                    .is_some_and(|e| g.numbers.iter().any(|n| n == e))
            });
            match owner {
                Some(g) => g.clone(),
                None => group_for(&state, &caller, None)?,
            }
        }
        (None, None) => group_for(&state, &caller, None)?,
    };
    let (_, answer) = caller_and_route(&state, &group, q.from.as_deref()).await?;
    metrics::histogram!("deskbridge_route_seconds").record(started.elapsed().as_secs_f64());
    Ok(match q.format.as_deref() {
        Some("text") => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8",
            )],
            answer.target.unwrap_or_default(),
        )
            .into_response(),
        _ => Json(answer).into_response(),
    })
}

/// The caller's card (none for a withheld number) and where to route them.
pub async fn caller_and_route(
    state: &AppState,
    group: &Group,
    from: Option<&str>,
) -> Result<(Option<CallerCard>, RouteAnswer), ApiError> {
    let phone = from
        .map(|f| Phone::parse(f.trim(), group.region))
        .filter(|p| p.e164().is_some());
    let card = async {
        match &phone {
            Some(p) => caller_card(group, Some(p), None).await.map(Some),
            None => Ok(None),
        }
    };
    Ok(route_with(state, card).await)
}

/// The card of the caller as the call identifies them, and where to route
/// them: the contact the call already has (a pop or `IdentifyCaller` chose
/// it), else the core's [`contact_query`] over the call, as `IdentifyCaller`
/// runs it: the IVR's contact (`zendesk_user`) if it exists, else the contact
/// of the number (`customer_number` or the caller id). So a contact flow is
/// told about the contact its call goes to.
pub async fn call_caller_and_route(
    state: &AppState,
    group: &Group,
    call: &Interaction,
) -> (Option<CallerCard>, RouteAnswer) {
    let card = async {
        if let Some(id) = call.contact_id.as_deref() {
            return caller_card(group, call.customer_phone(), Some(id))
                .await
                .map(Some);
        }
        match contact_query(call, &group.policy, group.region) {
            ContactQuery::ById { id, then_phone } => {
                let phone = then_phone.map(|(p, _)| Phone::E164(p));
                let card = caller_card(group, phone.as_ref(), Some(&id)).await?;
                match (&card.contact_id, &phone) {
                    // No such contact: the call falls back to the number.
                    (None, Some(p)) => caller_card(group, Some(p), None).await.map(Some),
                    _ => Ok(Some(card)),
                }
            }
            ContactQuery::ByPhone { phone, .. } => {
                caller_card(group, Some(&Phone::E164(phone)), None)
                    .await
                    .map(Some)
            }
            ContactQuery::Nothing { .. } => Ok(None),
        }
    };
    route_with(state, card).await
}

/// Routes on the card `card` finds, waiting for it at most [`ROUTE_DEADLINE`]
/// (a caller is ringing: an answer late is worse than "no preference").
async fn route_with(
    state: &AppState,
    card: impl std::future::Future<Output = Result<Option<CallerCard>, HelpdeskError>>,
) -> (Option<CallerCard>, RouteAnswer) {
    let card = match tokio::time::timeout(ROUTE_DEADLINE, as_lookup(card)).await {
        Ok(Ok(card)) => card.map(Ok),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "routing without the caller's card");
            Some(Err(()))
        }
        Err(_) => {
            tracing::warn!(
                ?ROUTE_DEADLINE,
                "routing without the caller's card: the helpdesk is slow"
            );
            Some(Err(()))
        }
    };
    let known = match &card {
        None => route::Caller::NoNumber,
        Some(Err(())) => route::Caller::NotKnown,
        Some(Ok(card)) => match card.contact_id {
            None => route::Caller::Unknown,
            Some(_) => route::Caller::Known {
                open_ticket_assignee: card.open_ticket.as_ref().map(|t| t.assignee.as_deref()),
            },
        },
    };
    let answer = route::route(known, &state.directory.agents());
    (card.and_then(Result::ok), answer)
}

/// How long a routing answer may wait for the helpdesk.
pub const ROUTE_DEADLINE: std::time::Duration = std::time::Duration::from_millis(1500);

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
    group: Option<String>,
}

/// `GET /api/v1/contacts?q=`: contacts whose name, email or phone matches, for
/// the agent page's "this caller is..." (at most 20).
#[utoipa::path(
    get,
    path = "/contacts",
    tag = "lookup",
    params(
        ("q" = String, Query, description = "At least 2 characters of a name, email or phone"),
        ("group" = Option<String>, Query, description = "The group to read"),
    ),
    security(("group_token" = []), ("agent_session" = [])),
    responses(
        (status = 200, description = "At most 20 contacts", body = doc::ContactSearch),
        (status = 401, description = "No credentials, or not valid (`unauthorized`)", body = doc::ApiErrorBody),
        (status = 403, description = "A signed-in agent who works in no connector group here (`no_group`: name the agent's `groups` in `[[agents]]`)", body = doc::ApiErrorBody),
        (status = 404, description = "The credentials have no connector group (`not_found`)", body = doc::ApiErrorBody),
        (status = 422, description = "A missing parameter, or a group the credentials may not read (`invalid`, with `field`)", body = doc::ApiErrorBody),
        (status = 502, description = "The helpdesk did not answer (`helpdesk_unavailable`)", body = doc::ApiErrorBody),
    )
)]
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
    let found = as_lookup(group.helpdesk.search_contacts(text, 20))
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
