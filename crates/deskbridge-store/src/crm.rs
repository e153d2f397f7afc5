//! The built-in CRM's records and the trait that stores them.
//!
//! Ids are integers in the database and strings on the wire (the public interface
//! says ids are strings, so that Zendesk's 64-bit ids and ours look alike).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::StoreError;

pub type Fields = Map<String, Value>;

/// A page of a list: records with `id > after`, at most `limit`, in id order.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub after: Option<i64>,
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contact {
    #[serde(with = "id_str")]
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub phones: Vec<String>,
    #[serde(with = "opt_id_str")]
    pub organization_id: Option<i64>,
    pub custom_fields: Fields,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContactFields {
    pub name: String,
    pub email: Option<String>,
    /// E.164, validated by the caller.
    pub phones: Vec<String>,
    pub organization_id: Option<i64>,
    pub custom_fields: Fields,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Organization {
    #[serde(with = "id_str")]
    pub id: i64,
    pub name: String,
    pub custom_fields: Fields,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OrganizationFields {
    pub name: String,
    pub custom_fields: Fields,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ticket {
    #[serde(with = "id_str")]
    pub id: i64,
    pub subject: String,
    pub status: String,
    pub priority: String,
    #[serde(rename = "type")]
    pub ticket_type: String,
    #[serde(with = "opt_id_str")]
    pub requester_id: Option<i64>,
    pub assignee: Option<String>,
    pub tags: Vec<String>,
    pub custom_fields: Fields,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TicketFields {
    pub subject: String,
    pub status: String,
    pub priority: String,
    pub ticket_type: String,
    pub requester_id: Option<i64>,
    pub assignee: Option<String>,
    pub tags: Vec<String>,
    pub custom_fields: Fields,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comment {
    #[serde(with = "id_str")]
    pub id: i64,
    #[serde(with = "id_str")]
    pub ticket_id: i64,
    pub body: String,
    pub public: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CommentFields {
    pub body: String,
    pub public: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    #[serde(with = "id_str")]
    pub id: i64,
    pub subject: String,
    pub status: String,
    pub due_at: Option<DateTime<Utc>>,
    #[serde(with = "opt_id_str")]
    pub contact_id: Option<i64>,
    #[serde(with = "opt_id_str")]
    pub ticket_id: Option<i64>,
    pub assignee: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskFields {
    pub subject: String,
    pub status: String,
    pub due_at: Option<DateTime<Utc>>,
    pub contact_id: Option<i64>,
    pub ticket_id: Option<i64>,
    pub assignee: Option<String>,
}

/// What a caller card shows of its contact besides the contact itself
/// ([`CrmStore::card_of`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CardRows {
    /// The name of the contact's organization; `None` when it has none.
    pub organization: Option<String>,
    /// The contact's tickets that are not closed, most recently updated first.
    pub tickets: Vec<Ticket>,
}

/// A create that carried an idempotency key already used: the first record.
#[derive(Debug, Clone, PartialEq)]
pub struct Created<T> {
    pub record: T,
    /// False when the key had been used and `record` is what the first use made.
    pub new: bool,
}

#[async_trait]
pub trait CrmStore: Send + Sync + 'static {
    /// The built-in backend whose records these are: every method reads and
    /// writes that tenant's records only, and another tenant's id is "not found".
    fn tenant(&self) -> &str;

    /// Moves every record of tenant `from` to this one; how many records moved.
    /// For an upgrade: records made before backends were separated belong to
    /// `builtin`, and a config whose one built-in backend has another name takes
    /// them over.
    async fn adopt(&self, from: &str) -> Result<u64, StoreError>;

    async fn insert_contact(
        &self,
        fields: &ContactFields,
        key: Option<&str>,
    ) -> Result<Created<Contact>, StoreError>;
    /// Adds many contacts in one transaction (an import, or seeding a
    /// benchmark): the same rows and notifications as `insert_contact` each,
    /// one commit for all. Returns their ids in order.
    async fn import_contacts(&self, contacts: &[ContactFields]) -> Result<Vec<i64>, StoreError>;
    async fn contact(&self, id: i64) -> Result<Option<Contact>, StoreError>;
    async fn update_contact(
        &self,
        id: i64,
        fields: &ContactFields,
    ) -> Result<Option<Contact>, StoreError>;
    async fn delete_contact(&self, id: i64) -> Result<bool, StoreError>;
    /// Contacts in id order; with `phone` (E.164), only those having that number.
    async fn contacts(&self, phone: Option<&str>, page: Page) -> Result<Vec<Contact>, StoreError>;
    /// Contacts whose name or email contains `text` (case-insensitive), newest
    /// first, at most `limit`: the agent page's contact search.
    async fn search_contacts(&self, text: &str, limit: u32) -> Result<Vec<Contact>, StoreError>;

    async fn insert_organization(
        &self,
        fields: &OrganizationFields,
        key: Option<&str>,
    ) -> Result<Created<Organization>, StoreError>;
    async fn organization(&self, id: i64) -> Result<Option<Organization>, StoreError>;
    async fn update_organization(
        &self,
        id: i64,
        fields: &OrganizationFields,
    ) -> Result<Option<Organization>, StoreError>;
    async fn delete_organization(&self, id: i64) -> Result<bool, StoreError>;
    async fn organizations(&self, page: Page) -> Result<Vec<Organization>, StoreError>;

    async fn insert_ticket(
        &self,
        fields: &TicketFields,
        first_comment: Option<&CommentFields>,
        key: Option<&str>,
    ) -> Result<Created<(Ticket, Option<Comment>)>, StoreError>;
    /// The ticket a create with `key` made, if any.
    async fn ticket_by_key(&self, key: &str) -> Result<Option<Ticket>, StoreError>;
    async fn ticket(&self, id: i64) -> Result<Option<Ticket>, StoreError>;
    async fn update_ticket(
        &self,
        id: i64,
        fields: &TicketFields,
    ) -> Result<Option<Ticket>, StoreError>;
    async fn delete_ticket(&self, id: i64) -> Result<bool, StoreError>;
    /// The contact's tickets that are not closed, most recently updated first (at
    /// most `limit`).
    async fn open_tickets_of(&self, requester: i64, limit: u32) -> Result<Vec<Ticket>, StoreError>;
    /// The caller card's organization name and open tickets (as
    /// `open_tickets_of`) of contact `contact_id`, in one statement: a lookup
    /// waits for each statement's round trip (with SQLite, a hand-over to its
    /// worker thread, which cost more than SQLite's own work). Nothing for a
    /// contact that is not this tenant's.
    async fn card_of(&self, contact_id: i64, limit: u32) -> Result<CardRows, StoreError>;
    /// Tickets that are not closed whose custom field `field` holds `value`, most
    /// recently updated first (at most `limit`): the screen pop's ticket by a
    /// number kept in a field.
    async fn open_tickets_with_field(
        &self,
        field: &str,
        value: &str,
        limit: u32,
    ) -> Result<Vec<Ticket>, StoreError>;
    /// Tickets in id order; with `requester`, only that contact's.
    async fn tickets(&self, requester: Option<i64>, page: Page) -> Result<Vec<Ticket>, StoreError>;

    /// Adds a comment and touches the ticket's `updated_at`. `None` if the ticket does
    /// not exist.
    async fn insert_comment(
        &self,
        ticket_id: i64,
        fields: &CommentFields,
        key: Option<&str>,
    ) -> Result<Option<Created<Comment>>, StoreError>;
    async fn comment(&self, ticket_id: i64, id: i64) -> Result<Option<Comment>, StoreError>;
    async fn update_comment(
        &self,
        ticket_id: i64,
        id: i64,
        fields: &CommentFields,
    ) -> Result<Option<Comment>, StoreError>;
    async fn delete_comment(&self, ticket_id: i64, id: i64) -> Result<bool, StoreError>;
    async fn comments(&self, ticket_id: i64, page: Page) -> Result<Vec<Comment>, StoreError>;

    async fn insert_task(&self, fields: &TaskFields) -> Result<Task, StoreError>;
    async fn task(&self, id: i64) -> Result<Option<Task>, StoreError>;
    async fn update_task(&self, id: i64, fields: &TaskFields) -> Result<Option<Task>, StoreError>;
    async fn delete_task(&self, id: i64) -> Result<bool, StoreError>;
    async fn tasks(&self, page: Page) -> Result<Vec<Task>, StoreError>;
}

/// Integer ids written as JSON strings.
pub mod id_str {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(id: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(id)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        super::parse_id(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

pub mod opt_id_str {
    use serde::Serializer;

    pub fn serialize<S: Serializer>(id: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match id {
            Some(id) => s.collect_str(id),
            None => s.serialize_none(),
        }
    }
}

/// Reads an id as the API writes it: digits, without a sign or leading zeros, so
/// that one record has one id (`+1` and `01` are not `1`).
pub fn parse_id(s: &str) -> Result<i64, String> {
    let canonical = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0');
    canonical
        .then(|| s.parse::<i64>().ok())
        .flatten()
        .ok_or_else(|| {
            let shown: String = s.chars().take(40).collect();
            format!("{shown:?} is not a record id (ids are positive integers, written as digits)")
        })
}
