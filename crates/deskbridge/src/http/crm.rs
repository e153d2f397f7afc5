//! The built-in CRM API under `/api/v1/crm/`. Lists page by id:
//! `?limit=` (1-100, default 50) and `?after=<last id of the previous page>`; the
//! response's `next_after` is the value for the next page, null on the last.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use deskbridge_crm::BuiltinCrm;
use deskbridge_store::crm::{Page, parse_id};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::caller::Caller;
use super::{ApiError, parse_json};
use crate::state::AppState;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/contacts", get(list_contacts).post(create_contact))
        .route(
            "/contacts/{id}",
            get(get_contact).patch(patch_contact).delete(delete_contact),
        )
        .route(
            "/organizations",
            get(list_organizations).post(create_organization),
        )
        .route(
            "/organizations/{id}",
            get(get_organization)
                .patch(patch_organization)
                .delete(delete_organization),
        )
        .route("/tickets", get(list_tickets).post(create_ticket))
        .route(
            "/tickets/{id}",
            get(get_ticket).patch(patch_ticket).delete(delete_ticket),
        )
        .route(
            "/tickets/{id}/comments",
            get(list_comments).post(create_comment),
        )
        .route(
            "/tickets/{id}/comments/{comment_id}",
            get(get_comment).patch(patch_comment).delete(delete_comment),
        )
        .route("/tasks", get(list_tasks).post(create_task))
        .route(
            "/tasks/{id}",
            get(get_task).patch(patch_task).delete(delete_task),
        )
}

/// The CRM API answers only tokens of groups whose backend is a built-in CRM, and
/// shows that backend's records only. A token of several groups must have one
/// built-in backend among them (which one would be a guess otherwise). A
/// signed-in agent (the caller card's links) reads the built-in backend of the
/// groups, under the same rule, and only reads: changing or deleting records is
/// for the integration's tokens (and a signed-in admin).
pub struct CrmAuth(BuiltinCrm);

impl axum::extract::FromRequestParts<Arc<AppState>> for CrmAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let reads = matches!(
            parts.method,
            axum::http::Method::GET | axum::http::Method::HEAD
        );
        if let Caller::Agent(agent) = &caller
            && !reads
            && !state.agent_page.is_admin(&agent.email)
        {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "read_only",
                "agents read the built-in CRM; changing records needs a group token or an \
                 agent with admin = true"
                    .to_string(),
            ));
        }
        let groups = caller.groups(state);
        let mut crms = groups.iter().filter_map(|g| g.crm.as_ref());
        let Some(first) = crms.next() else {
            return Err(ApiError::not_found(
                "this group's backend is not the built-in CRM; its records are in the helpdesk",
            ));
        };
        match crms.all(|c| c.tenant() == first.tenant()) {
            true => Ok(CrmAuth(first.clone())),
            false => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "ambiguous_backend",
                "this token belongs to groups with different built-in backends; give each \
                 group its own token to use the CRM API"
                    .to_string(),
            )),
        }
    }
}

type Out = Result<Json<Value>, ApiError>;
type Created = Result<(StatusCode, Json<Value>), ApiError>;

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<String>,
    after: Option<String>,
    phone: Option<String>,
    contact_id: Option<String>,
}

impl ListQuery {
    fn page(&self) -> Result<Page, ApiError> {
        let limit = match self.limit.as_deref() {
            None => 50,
            Some(l) => l
                .parse::<u32>()
                .ok()
                .filter(|l| (1..=deskbridge_crm::MAX_PAGE).contains(l))
                .ok_or_else(|| ApiError::invalid("limit", "must be a number from 1 to 100"))?,
        };
        let after = self
            .after
            .as_deref()
            .map(|a| parse_id(a).map_err(|m| ApiError::invalid("after", m)))
            .transpose()?;
        Ok(Page { after, limit })
    }
}

fn id(raw: &str) -> Result<i64, ApiError> {
    parse_id(raw).map_err(ApiError::not_found)
}

fn page_json<T: Serialize>(items: Vec<T>, page: Page, id_of: impl Fn(&T) -> i64) -> Json<Value> {
    let next = match items.len() as u32 == page.limit {
        true => items.last().map(|i| id_of(i).to_string()),
        false => None,
    };
    Json(json!({ "items": items, "next_after": next }))
}

fn created<T: Serialize>(record: T) -> Created {
    Ok((StatusCode::CREATED, Json(json!(record))))
}

fn deleted(found: bool, what: &str) -> Result<StatusCode, ApiError> {
    match found {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(ApiError::not_found(format!("{what} not found"))),
    }
}

// ---- contacts ----

async fn list_contacts(CrmAuth(crm): CrmAuth, Query(q): Query<ListQuery>) -> Out {
    let page = q.page()?;
    let contacts = match q.phone.as_deref() {
        // Any format: normalized the way calls are. A text that is no valid number
        // matches nobody (invalid numbers are never matched).
        Some(raw) => match crm.phone_filter(raw) {
            Some(e164) => crm.store().contacts(Some(&e164), page).await?,
            None => Vec::new(),
        },
        None => crm.store().contacts(None, page).await?,
    };
    Ok(page_json(contacts, page, |c| c.id))
}

async fn create_contact(CrmAuth(crm): CrmAuth, body: Bytes) -> Created {
    created(crm.create_contact(&parse_json(&body)?).await?)
}

async fn get_contact(CrmAuth(crm): CrmAuth, Path(i): Path<String>) -> Out {
    Ok(Json(json!(crm.get_contact(id(&i)?).await?)))
}

async fn patch_contact(CrmAuth(crm): CrmAuth, Path(i): Path<String>, body: Bytes) -> Out {
    Ok(Json(json!(
        crm.update_contact(id(&i)?, &parse_json(&body)?).await?
    )))
}

async fn delete_contact(
    CrmAuth(crm): CrmAuth,
    Path(i): Path<String>,
) -> Result<StatusCode, ApiError> {
    deleted(crm.store().delete_contact(id(&i)?).await?, "contact")
}

// ---- organizations ----

async fn list_organizations(CrmAuth(crm): CrmAuth, Query(q): Query<ListQuery>) -> Out {
    let page = q.page()?;
    Ok(page_json(
        crm.store().organizations(page).await?,
        page,
        |o| o.id,
    ))
}

async fn create_organization(CrmAuth(crm): CrmAuth, body: Bytes) -> Created {
    created(crm.create_organization(&parse_json(&body)?).await?)
}

async fn get_organization(CrmAuth(crm): CrmAuth, Path(i): Path<String>) -> Out {
    Ok(Json(json!(crm.get_organization(id(&i)?).await?)))
}

async fn patch_organization(CrmAuth(crm): CrmAuth, Path(i): Path<String>, body: Bytes) -> Out {
    Ok(Json(json!(
        crm.update_organization(id(&i)?, &parse_json(&body)?)
            .await?
    )))
}

async fn delete_organization(
    CrmAuth(crm): CrmAuth,
    Path(i): Path<String>,
) -> Result<StatusCode, ApiError> {
    deleted(
        crm.store().delete_organization(id(&i)?).await?,
        "organization",
    )
}

// ---- tickets ----

async fn list_tickets(CrmAuth(crm): CrmAuth, Query(q): Query<ListQuery>) -> Out {
    let page = q.page()?;
    let requester = q
        .contact_id
        .as_deref()
        .map(|c| parse_id(c).map_err(|m| ApiError::invalid("contact_id", m)))
        .transpose()?;
    Ok(page_json(
        crm.store().tickets(requester, page).await?,
        page,
        |t| t.id,
    ))
}

async fn create_ticket(CrmAuth(crm): CrmAuth, body: Bytes) -> Created {
    created(crm.create_ticket(&parse_json(&body)?).await?)
}

async fn get_ticket(CrmAuth(crm): CrmAuth, Path(i): Path<String>) -> Out {
    Ok(Json(json!(crm.get_ticket(id(&i)?).await?)))
}

async fn patch_ticket(CrmAuth(crm): CrmAuth, Path(i): Path<String>, body: Bytes) -> Out {
    Ok(Json(json!(
        crm.update_ticket(id(&i)?, &parse_json(&body)?).await?
    )))
}

async fn delete_ticket(
    CrmAuth(crm): CrmAuth,
    Path(i): Path<String>,
) -> Result<StatusCode, ApiError> {
    deleted(crm.store().delete_ticket(id(&i)?).await?, "ticket")
}

// ---- comments ----

async fn list_comments(
    CrmAuth(crm): CrmAuth,
    Path(t): Path<String>,
    Query(q): Query<ListQuery>,
) -> Out {
    let ticket = crm.get_ticket(id(&t)?).await?;
    let page = q.page()?;
    Ok(page_json(
        crm.store().comments(ticket.id, page).await?,
        page,
        |c| c.id,
    ))
}

async fn create_comment(CrmAuth(crm): CrmAuth, Path(t): Path<String>, body: Bytes) -> Created {
    created(crm.create_comment(id(&t)?, &parse_json(&body)?).await?)
}

async fn get_comment(CrmAuth(crm): CrmAuth, Path((t, c)): Path<(String, String)>) -> Out {
    Ok(Json(json!(crm.get_comment(id(&t)?, id(&c)?).await?)))
}

async fn patch_comment(
    CrmAuth(crm): CrmAuth,
    Path((t, c)): Path<(String, String)>,
    body: Bytes,
) -> Out {
    Ok(Json(json!(
        crm.update_comment(id(&t)?, id(&c)?, &parse_json(&body)?)
            .await?
    )))
}

async fn delete_comment(
    CrmAuth(crm): CrmAuth,
    Path((t, c)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    deleted(
        crm.store().delete_comment(id(&t)?, id(&c)?).await?,
        "comment",
    )
}

// ---- tasks ----

async fn list_tasks(CrmAuth(crm): CrmAuth, Query(q): Query<ListQuery>) -> Out {
    let page = q.page()?;
    Ok(page_json(crm.store().tasks(page).await?, page, |t| t.id))
}

async fn create_task(CrmAuth(crm): CrmAuth, body: Bytes) -> Created {
    created(crm.create_task(&parse_json(&body)?).await?)
}

async fn get_task(CrmAuth(crm): CrmAuth, Path(i): Path<String>) -> Out {
    Ok(Json(json!(crm.get_task(id(&i)?).await?)))
}

async fn patch_task(CrmAuth(crm): CrmAuth, Path(i): Path<String>, body: Bytes) -> Out {
    Ok(Json(json!(
        crm.update_task(id(&i)?, &parse_json(&body)?).await?
    )))
}

async fn delete_task(CrmAuth(crm): CrmAuth, Path(i): Path<String>) -> Result<StatusCode, ApiError> {
    deleted(crm.store().delete_task(id(&i)?).await?, "task")
}
