//! The operations: contacts, companies, tickets, notes, agents and ticket
//! fields, each the Freshdesk API v2 endpoint its doc comment names.

use chrono::{DateTime, SecondsFormat, Utc};
use deskbridge_budget::Lane;
use reqwest::Method;
use serde_json::{Value, json};

use crate::client::{FreshdeskClient, decode};
use crate::error::FreshdeskError;
use crate::types::*;

/// How many pages a list of one caller's records may take (100 a page).
const CALLER_PAGES: usize = 3;

/// How many pages of one ticket's conversations a retried note reads to find
/// its own (100 a page): every note a ticket could reasonably have.
const CONVERSATION_PAGES: usize = 50;

/// A timestamp as Freshdesk's filters take it: `2016-05-19T05:36:12Z`.
fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn body<T: serde::Serialize>(value: &T) -> Result<Value, FreshdeskError> {
    serde_json::to_value(value).map_err(|e| FreshdeskError::Decode(e.to_string()))
}

/// A search query's string value: Freshdesk's query language quotes strings
/// in single quotes ("Filter Contacts"); a quote inside cannot be escaped, so
/// it is dropped.
pub fn quoted(value: &str) -> String {
    format!("'{}'", value.replace(['\'', '"', '\\'], ""))
}

impl FreshdeskClient {
    /// The key's own agent (`GET /api/v2/agents/me`): checks the key.
    pub async fn me(&self) -> Result<Agent, FreshdeskError> {
        self.get(Lane::Interactive, "/api/v2/agents/me", &[]).await
    }

    /// `GET /api/v2/contacts/{id}`.
    pub async fn contact(&self, id: u64) -> Result<Option<Contact>, FreshdeskError> {
        self.get_optional(&format!("/api/v2/contacts/{id}")).await
    }

    /// Contacts whose `field` (`email`, `phone`, `mobile`,
    /// `unique_external_id`) equals `value` exactly (List All Contacts'
    /// filters, read from Freshdesk's database: a contact made a moment ago
    /// is there). Counted under the plan's contact-list limit.
    pub async fn contacts_where(
        &self,
        field: &'static str,
        value: &str,
    ) -> Result<Vec<Contact>, FreshdeskError> {
        self.get_pages(
            Lane::Interactive,
            "/api/v2/contacts",
            &[(field, value.to_string())],
            CALLER_PAGES,
        )
        .await
    }

    /// One page of the contacts changed since `since` (List All Contacts'
    /// `_updated_since`, `updated_at >= since`), for the mirror; whether a
    /// next page exists (`Link`).
    pub async fn contacts_changed_since(
        &self,
        since: DateTime<Utc>,
        page: u32,
    ) -> Result<(Vec<Contact>, bool), FreshdeskError> {
        let query = [("_updated_since", timestamp(since))];
        self.changed_page("/api/v2/contacts", &query, page).await
    }

    /// One page of the contacts deleted (moved to the trash) since `since`:
    /// the contact list leaves them out unless asked for `state=deleted`.
    pub async fn deleted_contacts_since(
        &self,
        since: DateTime<Utc>,
        page: u32,
    ) -> Result<(Vec<Contact>, bool), FreshdeskError> {
        let query = [
            ("_updated_since", timestamp(since)),
            ("state", "deleted".to_string()),
        ];
        self.changed_page("/api/v2/contacts", &query, page).await
    }

    /// One page of the tickets changed since `since` (List All Tickets'
    /// `updated_since`), oldest change first, for the mirror; whether a next
    /// page exists.
    pub async fn tickets_changed_page(
        &self,
        since: DateTime<Utc>,
        page: u32,
    ) -> Result<(Vec<Ticket>, bool), FreshdeskError> {
        let query = [
            ("updated_since", timestamp(since)),
            ("order_by", "updated_at".to_string()),
            ("order_type", "asc".to_string()),
        ];
        self.changed_page("/api/v2/tickets", &query, page).await
    }

    async fn changed_page<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        page: u32,
    ) -> Result<(Vec<T>, bool), FreshdeskError> {
        let mut query = query.to_vec();
        query.push(("per_page", "100".to_string()));
        query.push(("page", page.to_string()));
        let answer = self
            .send(Lane::Bulk, Method::GET, path, &query, None)
            .await?;
        Ok((decode(&answer.bytes)?, answer.next.is_some()))
    }

    /// `GET /api/v2/search/contacts?query="..."`: from Freshdesk's search
    /// index, which lags writes by minutes; 30 results a page, the first page.
    pub async fn search_contacts(&self, query: &str) -> Result<Vec<Contact>, FreshdeskError> {
        let found: SearchResults<Contact> = self
            .get(
                Lane::Interactive,
                "/api/v2/search/contacts",
                &[("query", format!("\"{query}\""))],
            )
            .await?;
        Ok(found.results)
    }

    /// `GET /api/v2/contacts/autocomplete?term=`: contacts whose name starts
    /// with `term` (id and name only).
    pub async fn contacts_named(&self, term: &str) -> Result<Vec<u64>, FreshdeskError> {
        #[derive(serde::Deserialize)]
        struct Hit {
            id: u64,
        }
        let hits: Vec<Hit> = self
            .get(
                Lane::Interactive,
                "/api/v2/contacts/autocomplete",
                &[("term", term.to_string())],
            )
            .await?;
        Ok(hits.into_iter().map(|h| h.id).collect())
    }

    /// `POST /api/v2/contacts`.
    pub async fn create_contact(&self, contact: &NewContact) -> Result<Contact, FreshdeskError> {
        self.write(Method::POST, "/api/v2/contacts", &body(contact)?)
            .await
    }

    /// `PUT /api/v2/contacts/{id}`.
    pub async fn set_contact_numbers(
        &self,
        id: u64,
        numbers: &ContactNumbers,
    ) -> Result<Contact, FreshdeskError> {
        self.write(
            Method::PUT,
            &format!("/api/v2/contacts/{id}"),
            &body(numbers)?,
        )
        .await
    }

    /// `GET /api/v2/companies/autocomplete?name=` ("Search Companies"):
    /// companies whose name starts with `name`, id and name only.
    pub async fn companies_named(&self, name: &str) -> Result<Vec<Company>, FreshdeskError> {
        #[derive(serde::Deserialize)]
        struct Found {
            #[serde(default)]
            companies: Vec<Company>,
        }
        let found: Found = self
            .get(
                Lane::Interactive,
                "/api/v2/companies/autocomplete",
                &[("name", name.to_string())],
            )
            .await?;
        Ok(found.companies)
    }

    /// `POST /api/v2/companies`.
    pub async fn create_company(&self, name: &str) -> Result<Company, FreshdeskError> {
        self.write(Method::POST, "/api/v2/companies", &json!({ "name": name }))
            .await
    }

    /// `GET /api/v2/tickets/{id}`.
    pub async fn ticket(&self, id: u64) -> Result<Option<Ticket>, FreshdeskError> {
        self.get_optional(&format!("/api/v2/tickets/{id}")).await
    }

    /// The requester's tickets, most recently updated first (List All
    /// Tickets by `requester_id`, from Freshdesk's database). Counted under
    /// the plan's ticket-list limit.
    pub async fn requested_tickets(&self, requester: u64) -> Result<Vec<Ticket>, FreshdeskError> {
        self.get_pages(
            Lane::Interactive,
            "/api/v2/tickets",
            &[
                ("requester_id", requester.to_string()),
                ("order_by", "updated_at".into()),
                ("order_type", "desc".into()),
            ],
            CALLER_PAGES,
        )
        .await
    }

    /// Tickets changed since `since` (`updated_since`), newest change first,
    /// every page up to `max_pages`: a retried create's list, from Freshdesk's
    /// database (the ticket it looks for was made a moment ago: on the first
    /// page, however busy the account).
    pub async fn tickets_changed_since(
        &self,
        lane: Lane,
        since: DateTime<Utc>,
        max_pages: usize,
    ) -> Result<Vec<Ticket>, FreshdeskError> {
        self.get_pages(
            lane,
            "/api/v2/tickets",
            &[
                (
                    "updated_since",
                    since.to_rfc3339_opts(SecondsFormat::Secs, true),
                ),
                ("order_by", "updated_at".into()),
                ("order_type", "desc".into()),
            ],
            max_pages,
        )
        .await
    }

    /// `GET /api/v2/search/tickets?query="..."` (the search index: lags).
    pub async fn search_tickets(&self, query: &str) -> Result<Vec<Ticket>, FreshdeskError> {
        let found: SearchResults<Ticket> = self
            .get(
                Lane::Interactive,
                "/api/v2/search/tickets",
                &[("query", format!("\"{query}\""))],
            )
            .await?;
        Ok(found.results)
    }

    /// `POST /api/v2/tickets`.
    pub async fn create_ticket(&self, ticket: &NewTicket) -> Result<Ticket, FreshdeskError> {
        self.write(Method::POST, "/api/v2/tickets", &body(ticket)?)
            .await
    }

    /// `PUT /api/v2/tickets/{id}`.
    pub async fn update_ticket(
        &self,
        id: u64,
        update: &TicketUpdate,
    ) -> Result<Ticket, FreshdeskError> {
        self.write(
            Method::PUT,
            &format!("/api/v2/tickets/{id}"),
            &body(update)?,
        )
        .await
    }

    /// `POST /api/v2/tickets/{id}/notes`.
    pub async fn add_note(&self, ticket: u64, note: &NewNote) -> Result<Note, FreshdeskError> {
        self.write(
            Method::POST,
            &format!("/api/v2/tickets/{ticket}/notes"),
            &body(note)?,
        )
        .await
    }

    /// The ticket's notes and replies (`GET /api/v2/tickets/{id}/conversations`),
    /// oldest first.
    pub async fn conversations(&self, ticket: u64) -> Result<Vec<Note>, FreshdeskError> {
        self.get_pages(
            Lane::Interactive,
            &format!("/api/v2/tickets/{ticket}/conversations"),
            &[],
            CONVERSATION_PAGES,
        )
        .await
    }

    /// The agent with this email (`GET /api/v2/agents?email=`, exact).
    pub async fn agent_by_email(&self, email: &str) -> Result<Option<Agent>, FreshdeskError> {
        let found: Vec<Agent> = self
            .get(
                Lane::Interactive,
                "/api/v2/agents",
                &[("email", email.to_string())],
            )
            .await?;
        Ok(found.into_iter().next())
    }

    /// `GET /api/v2/agents/{id}`.
    pub async fn agent(&self, id: u64) -> Result<Option<Agent>, FreshdeskError> {
        self.get_optional(&format!("/api/v2/agents/{id}")).await
    }

    /// `GET /api/v2/ticket_fields`: the account's ticket fields, custom ones
    /// named `cf_...`.
    pub async fn ticket_fields(&self) -> Result<Vec<TicketField>, FreshdeskError> {
        self.get(Lane::Interactive, "/api/v2/ticket_fields", &[])
            .await
    }
}
