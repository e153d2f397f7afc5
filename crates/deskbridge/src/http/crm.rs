//! The built-in CRM API under `/api/v1/crm/`. Lists page by id:
//! `?limit=` (1-100, default 50) and `?after=<last id of the previous page>`; the
//! response's `next_after` is the value for the next page, null on the last.

use super::openapi::crm as crm_doc;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use deskbridge_crm::BuiltinCrm;
use deskbridge_store::crm::{Page, parse_id};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::caller::Caller;
use super::{ApiError, parse_json};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list_contacts, create_contact))
        .routes(routes!(get_contact, patch_contact, delete_contact))
        .routes(routes!(list_organizations, create_organization))
        .routes(routes!(
            get_organization,
            patch_organization,
            delete_organization
        ))
        .routes(routes!(list_tickets, create_ticket))
        .routes(routes!(get_ticket, patch_ticket, delete_ticket))
        .routes(routes!(list_comments, create_comment))
        .routes(routes!(get_comment, patch_comment, delete_comment))
        .routes(routes!(list_tasks, create_task))
        .routes(routes!(get_task, patch_task, delete_task))
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
        let groups = caller.reach(state);
        if groups.is_empty() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "no_group",
                "you work in no connector group here: an admin names your groups in the \
                 config ([[agents]] groups = [...])"
                    .to_string(),
            ));
        }
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

#[utoipa::path(
    get, path = "/contacts", tag = "crm", params(crm_doc::ListParams),
    security(("group_token" = []), ("agent_session" = [])),
    responses((status = 200, description = "A page of contacts, oldest first", body = crm_doc::Page<crm_doc::Contact>), crm_doc::ListErrors)
)]
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

#[utoipa::path(
    post, path = "/contacts", tag = "crm",
    request_body(content = crm_doc::ContactInput),
    security(("group_token" = []), ("agent_session" = [])),
    responses((status = 201, description = "Created", body = crm_doc::Contact), crm_doc::WriteErrors)
)]
async fn create_contact(CrmAuth(crm): CrmAuth, body: Bytes) -> Created {
    created(crm.create_contact(&parse_json(&body)?).await?)
}

#[utoipa::path(
    get, path = "/contacts/{id}", tag = "crm", params(("id" = String, Path, description = "The contact's id")),
    security(("group_token" = []), ("agent_session" = [])),
    responses((status = 200, description = "The contact", body = crm_doc::Contact), crm_doc::ReadErrors)
)]
async fn get_contact(CrmAuth(crm): CrmAuth, Path(i): Path<String>) -> Out {
    Ok(Json(json!(crm.get_contact(id(&i)?).await?)))
}

#[utoipa::path(
    patch, path = "/contacts/{id}", tag = "crm", params(("id" = String, Path, description = "The contact's id")),
    request_body(content = crm_doc::ContactInput, description = "The fields to change; the result is validated like a create"),
    security(("group_token" = []), ("agent_session" = [])),
    responses((status = 200, description = "The contact with the patch applied", body = crm_doc::Contact), crm_doc::WriteErrors)
)]
async fn patch_contact(CrmAuth(crm): CrmAuth, Path(i): Path<String>, body: Bytes) -> Out {
    Ok(Json(json!(
        crm.update_contact(id(&i)?, &parse_json(&body)?).await?
    )))
}

#[utoipa::path(
    delete, path = "/contacts/{id}", tag = "crm", params(("id" = String, Path, description = "The contact's id")),
    security(("group_token" = []), ("agent_session" = [])),
    responses((status = 204, description = "Deleted"), crm_doc::DeleteErrors)
)]
async fn delete_contact(
    CrmAuth(crm): CrmAuth,
    Path(i): Path<String>,
) -> Result<StatusCode, ApiError> {
    deleted(crm.store().delete_contact(id(&i)?).await?, "contact")
}

// ---- organizations ----

#[utoipa::path(
    get, path = "/organizations", tag = "crm", params(crm_doc::ListParams),
    security(("group_token" = []), ("agent_session" = [])),
    responses((status = 200, description = "A page of organizations, oldest first", body = crm_doc::Page<crm_doc::Organization>), crm_doc::ListErrors)
)]
async fn list_organizations(CrmAuth(crm): CrmAuth, Query(q): Query<ListQuery>) -> Out {
    let page = q.page()?;
    Ok(page_json(
        crm.store().organizations(page).await?,
        page,
        |o| o.id,
    ))
}

#[utoipa::path(
    post, path = "/organizations", tag = "crm",
    request_body(content = crm_doc::OrganizationInput),
    security(("group_token" = []), ("agent_session" = [])),
    responses((status = 201, description = "Created", body = crm_doc::Organization), crm_doc::WriteErrors)
)]
async fn create_organization(CrmAuth(crm): CrmAuth, body: Bytes) -> Created {
    created(crm.create_organization(&parse_json(&body)?).await?)
}

#[utoipa::path(
    get, path = "/organizations/{id}", tag = "crm", params(("id" = String, Path, description = "The organization's id")),
    security(("group_token" = []), ("agent_session" = [])),
    responses((status = 200, description = "The organization", body = crm_doc::Organization), crm_doc::ReadErrors)
)]
async fn get_organization(CrmAuth(crm): CrmAuth, Path(i): Path<String>) -> Out {
    Ok(Json(json!(crm.get_organization(id(&i)?).await?)))
}

#[utoipa::path(
    patch, path = "/organizations/{id}", tag = "crm", params(("id" = String, Path, description = "The organization's id")),
    request_body(content = crm_doc::OrganizationInput, description = "The fields to change; the result is validated like a create"),
    security(("group_token" = []), ("agent_session" = [])),
    responses((status = 200, description = "The organization with the patch applied", body = crm_doc::Organization), crm_doc::WriteErrors)
)]
async fn patch_organization(CrmAuth(crm): CrmAuth, Path(i): Path<String>, body: Bytes) -> Out {
    Ok(Json(json!(
        crm.update_organization(id(&i)?, &parse_json(&body)?)
            .await?
    )))
}

#[utoipa::path(
    delete, path = "/organizations/{id}", tag = "crm", params(("id" = String, Path, description = "The organization's id")),
    security(("group_token" = []), ("agent_session" = [])),
    responses((status = 204, description = "Deleted"), crm_doc::DeleteErrors)
)]
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

#[utoipa::path(
    get, path = "/tickets", tag = "crm", params(crm_doc::ListParams),
    security(("group_token" = []), ("agent_session" = [])),
    responses((status = 200, description = "A page of tickets, oldest first", body = crm_doc::Page<crm_doc::Ticket>), crm_doc::ListErrors)
)]
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

#[utoipa::path(
    post, path = "/tickets", tag = "crm",
    request_body(content = crm_doc::TicketInput),
    security(("group_token" = []), ("agent_session" = [])),
    responses((status = 201, description = "Created", body = crm_doc::Ticket), crm_doc::WriteErrors)
)]
async fn create_ticket(CrmAuth(crm): CrmAuth, body: Bytes) -> Created {
    created(crm.create_ticket(&parse_json(&body)?).await?)
}

#[utoipa::path(
    get, path = "/tickets/{id}", tag = "crm", params(("id" = String, Path, description = "The ticket's id")),
    security(("group_token" = []), ("agent_session" = [])),
    responses((status = 200, description = "The ticket", body = crm_doc::Ticket), crm_doc::ReadErrors)
)]
async fn get_ticket(CrmAuth(crm): CrmAuth, Path(i): Path<String>) -> Out {
    Ok(Json(json!(crm.get_ticket(id(&i)?).await?)))
}

#[utoipa::path(
    patch, path = "/tickets/{id}", tag = "crm", params(("id" = String, Path, description = "The ticket's id")),
    request_body(content = crm_doc::TicketInput, description = "The fields to change; the result is validated like a create"),
    security(("group_token" = []), ("agent_session" = [])),
    responses((status = 200, description = "The ticket with the patch applied", body = crm_doc::Ticket), crm_doc::WriteErrors)
)]
async fn patch_ticket(CrmAuth(crm): CrmAuth, Path(i): Path<String>, body: Bytes) -> Out {
    Ok(Json(json!(
        crm.update_ticket(id(&i)?, &parse_json(&body)?).await?
    )))
}

#[utoipa::path(
    delete, path = "/tickets/{id}", tag = "crm", params(("id" = String, Path, description = "The ticket's id")),
    security(("group_token" = []), ("agent_session" = [])),
    responses((status = 204, description = "Deleted"), crm_doc::DeleteErrors)
)]
async fn delete_ticket(
    CrmAuth(crm): CrmAuth,
    Path(i): Path<String>,
) -> Result<StatusCode, ApiError> {
    deleted(crm.store().delete_ticket(id(&i)?).await?, "ticket")
}

// ---- comments ----

#[utoipa::path(
    get, path = "/tickets/{id}/comments", tag = "crm", params(("id" = String, Path, description = "The ticket's id"), crm_doc::ListParams),
    security(("group_token" = []), ("agent_session" = [])),
    responses((status = 200, description = "A page of comments, oldest first", body = crm_doc::Page<crm_doc::Comment>), crm_doc::ListErrors)
)]
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

#[utoipa::path(
    post, path = "/tickets/{id}/comments", tag = "crm", params(("id" = String, Path, description = "The ticket's id")),
    request_body(content = crm_doc::CommentInput),
    security(("group_token" = []), ("agent_session" = [])),
    responses((status = 201, description = "Created", body = crm_doc::Comment), crm_doc::WriteErrors)
)]
async fn create_comment(CrmAuth(crm): CrmAuth, Path(t): Path<String>, body: Bytes) -> Created {
    created(crm.create_comment(id(&t)?, &parse_json(&body)?).await?)
}

#[utoipa::path(
    get, path = "/tickets/{id}/comments/{comment_id}", tag = "crm", params(("id" = String, Path, description = "The ticket's id"), ("comment_id" = String, Path, description = "The comment's id")),
    security(("group_token" = []), ("agent_session" = [])),
    responses((status = 200, description = "The comment", body = crm_doc::Comment), crm_doc::ReadErrors)
)]
async fn get_comment(CrmAuth(crm): CrmAuth, Path((t, c)): Path<(String, String)>) -> Out {
    Ok(Json(json!(crm.get_comment(id(&t)?, id(&c)?).await?)))
}

#[utoipa::path(
    patch, path = "/tickets/{id}/comments/{comment_id}", tag = "crm", params(("id" = String, Path, description = "The ticket's id"), ("comment_id" = String, Path, description = "The comment's id")),
    request_body(content = crm_doc::CommentInput, description = "The fields to change; the result is validated like a create"),
    security(("group_token" = []), ("agent_session" = [])),
    responses((status = 200, description = "The comment with the patch applied", body = crm_doc::Comment), crm_doc::WriteErrors)
)]
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

#[utoipa::path(
    delete, path = "/tickets/{id}/comments/{comment_id}", tag = "crm", params(("id" = String, Path, description = "The ticket's id"), ("comment_id" = String, Path, description = "The comment's id")),
    security(("group_token" = []), ("agent_session" = [])),
    responses((status = 204, description = "Deleted"), crm_doc::DeleteErrors)
)]
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

#[utoipa::path(
    get, path = "/tasks", tag = "crm", params(crm_doc::ListParams),
    security(("group_token" = []), ("agent_session" = [])),
    responses((status = 200, description = "A page of tasks, oldest first", body = crm_doc::Page<crm_doc::Task>), crm_doc::ListErrors)
)]
async fn list_tasks(CrmAuth(crm): CrmAuth, Query(q): Query<ListQuery>) -> Out {
    let page = q.page()?;
    Ok(page_json(crm.store().tasks(page).await?, page, |t| t.id))
}

#[utoipa::path(
    post, path = "/tasks", tag = "crm",
    request_body(content = crm_doc::TaskInput),
    security(("group_token" = []), ("agent_session" = [])),
    responses((status = 201, description = "Created", body = crm_doc::Task), crm_doc::WriteErrors)
)]
async fn create_task(CrmAuth(crm): CrmAuth, body: Bytes) -> Created {
    created(crm.create_task(&parse_json(&body)?).await?)
}

#[utoipa::path(
    get, path = "/tasks/{id}", tag = "crm", params(("id" = String, Path, description = "The task's id")),
    security(("group_token" = []), ("agent_session" = [])),
    responses((status = 200, description = "The task", body = crm_doc::Task), crm_doc::ReadErrors)
)]
async fn get_task(CrmAuth(crm): CrmAuth, Path(i): Path<String>) -> Out {
    Ok(Json(json!(crm.get_task(id(&i)?).await?)))
}

#[utoipa::path(
    patch, path = "/tasks/{id}", tag = "crm", params(("id" = String, Path, description = "The task's id")),
    request_body(content = crm_doc::TaskInput, description = "The fields to change; the result is validated like a create"),
    security(("group_token" = []), ("agent_session" = [])),
    responses((status = 200, description = "The task with the patch applied", body = crm_doc::Task), crm_doc::WriteErrors)
)]
async fn patch_task(CrmAuth(crm): CrmAuth, Path(i): Path<String>, body: Bytes) -> Out {
    Ok(Json(json!(
        crm.update_task(id(&i)?, &parse_json(&body)?).await?
    )))
}

#[utoipa::path(
    delete, path = "/tasks/{id}", tag = "crm", params(("id" = String, Path, description = "The task's id")),
    security(("group_token" = []), ("agent_session" = [])),
    responses((status = 204, description = "Deleted"), crm_doc::DeleteErrors)
)]
async fn delete_task(CrmAuth(crm): CrmAuth, Path(i): Path<String>) -> Result<StatusCode, ApiError> {
    deleted(crm.store().delete_task(id(&i)?).await?, "task")
}
