//! The built-in CRM: the embedded default helpdesk.
//!
//! [`BuiltinCrm`] validates what the CRM API receives (every error names its field
//! and says what to send instead), keeps the records in the [`CrmStore`], and
//! implements the helpdesk port so calls land here exactly as they would in Zendesk.

mod helpdesk;
mod input;

use std::sync::Arc;

use deskbridge_core::Region;
use deskbridge_store::StoreError;
use deskbridge_store::crm::*;
use serde_json::Value;

pub use input::Invalid;

#[derive(Debug, thiserror::Error)]
pub enum CrmError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("{0} not found")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The built-in CRM over a store.
#[derive(Clone)]
pub struct BuiltinCrm {
    store: Arc<dyn CrmStore>,
    region: Region,
}

/// The largest page a list returns.
pub const MAX_PAGE: u32 = 100;

impl BuiltinCrm {
    /// `region` reads numbers written without a country code.
    pub fn new(store: Arc<dyn CrmStore>, region: Region) -> BuiltinCrm {
        BuiltinCrm { store, region }
    }

    pub fn store(&self) -> &dyn CrmStore {
        self.store.as_ref()
    }

    /// The built-in backend these records belong to.
    pub fn tenant(&self) -> &str {
        self.store.tenant()
    }

    /// Normalizes a phone filter; `None` when the text is no valid number (nothing can
    /// match it).
    pub fn phone_filter(&self, raw: &str) -> Option<String> {
        deskbridge_core::Phone::parse(raw, self.region)
            .e164()
            .map(str::to_string)
    }

    // ---- contacts ----

    pub async fn create_contact(&self, body: &Value) -> Result<Contact, CrmError> {
        let fields = input::contact(self, input::object(body)?).await?;
        Ok(self.store.insert_contact(&fields, None).await?.record)
    }

    pub async fn update_contact(&self, id: i64, patch: &Value) -> Result<Contact, CrmError> {
        let current = self.get_contact(id).await?;
        let merged = input::merge(input::contact_json(&current), input::object(patch)?);
        let fields = input::contact(self, &merged).await?;
        self.store
            .update_contact(id, &fields)
            .await?
            .ok_or_else(|| not_found("contact", id))
    }

    pub async fn get_contact(&self, id: i64) -> Result<Contact, CrmError> {
        self.store
            .contact(id)
            .await?
            .ok_or_else(|| not_found("contact", id))
    }

    // ---- organizations ----

    pub async fn create_organization(&self, body: &Value) -> Result<Organization, CrmError> {
        let fields = input::organization(input::object(body)?)?;
        Ok(self.store.insert_organization(&fields, None).await?.record)
    }

    pub async fn update_organization(
        &self,
        id: i64,
        patch: &Value,
    ) -> Result<Organization, CrmError> {
        let current = self.get_organization(id).await?;
        let merged = input::merge(input::organization_json(&current), input::object(patch)?);
        let fields = input::organization(&merged)?;
        self.store
            .update_organization(id, &fields)
            .await?
            .ok_or_else(|| not_found("organization", id))
    }

    pub async fn get_organization(&self, id: i64) -> Result<Organization, CrmError> {
        self.store
            .organization(id)
            .await?
            .ok_or_else(|| not_found("organization", id))
    }

    // ---- tickets ----

    pub async fn create_ticket(&self, body: &Value) -> Result<Ticket, CrmError> {
        let obj = input::object(body)?;
        let (fields, comment) = input::ticket(self, obj, true).await?;
        let created = self
            .store
            .insert_ticket(&fields, comment.as_ref(), None)
            .await?;
        Ok(created.record.0)
    }

    pub async fn update_ticket(&self, id: i64, patch: &Value) -> Result<Ticket, CrmError> {
        let current = self.get_ticket(id).await?;
        let merged = input::merge(input::ticket_json(&current), input::object(patch)?);
        let (fields, _) = input::ticket(self, &merged, false).await?;
        self.store
            .update_ticket(id, &fields)
            .await?
            .ok_or_else(|| not_found("ticket", id))
    }

    pub async fn get_ticket(&self, id: i64) -> Result<Ticket, CrmError> {
        self.store
            .ticket(id)
            .await?
            .ok_or_else(|| not_found("ticket", id))
    }

    // ---- comments ----

    pub async fn create_comment(&self, ticket_id: i64, body: &Value) -> Result<Comment, CrmError> {
        let fields = input::comment(input::object(body)?)?;
        self.store
            .insert_comment(ticket_id, &fields, None)
            .await?
            .map(|c| c.record)
            .ok_or_else(|| not_found("ticket", ticket_id))
    }

    pub async fn update_comment(
        &self,
        ticket_id: i64,
        id: i64,
        patch: &Value,
    ) -> Result<Comment, CrmError> {
        let current = self.get_comment(ticket_id, id).await?;
        let merged = input::merge(input::comment_json(&current), input::object(patch)?);
        let fields = input::comment(&merged)?;
        self.store
            .update_comment(ticket_id, id, &fields)
            .await?
            .ok_or_else(|| not_found("comment", id))
    }

    pub async fn get_comment(&self, ticket_id: i64, id: i64) -> Result<Comment, CrmError> {
        self.store
            .comment(ticket_id, id)
            .await?
            .ok_or_else(|| not_found("comment", id))
    }

    // ---- tasks ----

    pub async fn create_task(&self, body: &Value) -> Result<Task, CrmError> {
        let fields = input::task(self, input::object(body)?).await?;
        Ok(self.store.insert_task(&fields).await?)
    }

    pub async fn update_task(&self, id: i64, patch: &Value) -> Result<Task, CrmError> {
        let current = self.get_task(id).await?;
        let merged = input::merge(input::task_json(&current), input::object(patch)?);
        let fields = input::task(self, &merged).await?;
        self.store
            .update_task(id, &fields)
            .await?
            .ok_or_else(|| not_found("task", id))
    }

    pub async fn get_task(&self, id: i64) -> Result<Task, CrmError> {
        self.store
            .task(id)
            .await?
            .ok_or_else(|| not_found("task", id))
    }
}

fn not_found(kind: &str, id: i64) -> CrmError {
    CrmError::NotFound(format!("{kind} {id}"))
}
