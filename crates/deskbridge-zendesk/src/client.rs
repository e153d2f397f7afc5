//! The client: one method per Support API operation deskbridge uses.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use deskbridge_core::rate_limit::{HeldBack, LimitedRequest, held_back};
use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::ZendeskError;
use crate::limits::{
    Counted, Counts, EXPORTS, INCREMENTAL_EXPORTS, Limit, TICKET_UPDATE, USER_UPDATE, USER_UPDATES,
    UpdateLimits, ticket_update,
};
use crate::types::*;
use deskbridge_budget::{Budget, Lane, endpoint_label, in_lookup};

/// How to sign in: an API token for an agent's email, or an OAuth access token.
#[derive(Clone)]
pub enum Auth {
    ApiToken { email: String, token: String },
    OAuth { token: String },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets are never printed.
        match self {
            Auth::ApiToken { email, .. } => write!(f, "ApiToken({email}, ***)"),
            Auth::OAuth { .. } => write!(f, "OAuth(***)"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `https://acme.zendesk.com`, or the emulator's `http://127.0.0.1:PORT`.
    pub base_url: String,
    pub auth: Auth,
    /// Per request; a timeout counts as a transient failure.
    pub timeout: Duration,
    /// Zendesk's limits on ticket updates, kept before sending.
    pub ticket_updates: UpdateLimits,
    /// Zendesk's limit on updates of one user ("Update User", 5 a minute).
    pub user_updates: Limit,
    /// Zendesk's limit on incremental exports (10 a minute, 30 with the High
    /// Volume add-on).
    pub incremental_exports: Limit,
    /// Every request in the budget's bulk lane, lookups too: the client of a
    /// history import (`deskbridge backfill`), which must leave the share kept
    /// for interactive requests to live calls.
    pub bulk_only: bool,
}

impl ClientConfig {
    pub fn new(base_url: &str, auth: Auth) -> ClientConfig {
        ClientConfig {
            base_url: base_url.trim_end_matches('/').to_string(),
            auth,
            timeout: Duration::from_secs(15),
            ticket_updates: UpdateLimits::default(),
            user_updates: USER_UPDATES,
            incremental_exports: INCREMENTAL_EXPORTS,
            bulk_only: false,
        }
    }

    /// `acme` → `https://acme.zendesk.com`.
    pub fn subdomain_url(subdomain: &str) -> String {
        format!("https://{subdomain}.zendesk.com")
    }
}

pub struct ZendeskClient {
    http: reqwest::Client,
    config: ClientConfig,
    authorization: HeaderValue,
    budget: Arc<Budget>,
    sent: AtomicU64,
    /// Requests counted under Zendesk's endpoint limits (this process's; the
    /// shared count, when there is one, is asked first).
    counts: Counts,
}

impl ZendeskClient {
    /// A client spending from `budget` (share one budget per Zendesk account).
    pub fn new(config: ClientConfig, budget: Arc<Budget>) -> Result<ZendeskClient, ZendeskError> {
        let raw = match &config.auth {
            Auth::ApiToken { email, token } => format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{email}/token:{token}"))
            ),
            Auth::OAuth { token } => format!("Bearer {token}"),
        };
        let mut authorization = HeaderValue::from_str(&raw).map_err(|_| {
            ZendeskError::Decode("the credentials contain invalid characters".into())
        })?;
        authorization.set_sensitive(true);
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("deskbridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ZendeskError::Network(e.to_string()))?;
        Ok(ZendeskClient {
            counts: Counts::new(),
            http,
            config,
            authorization,
            budget,
            sent: AtomicU64::new(0),
        })
    }

    pub fn budget(&self) -> &Arc<Budget> {
        &self.budget
    }

    /// The same client, sending every request in the bulk lane (see
    /// [`ClientConfig::bulk_only`]).
    pub fn bulk_only(mut self) -> ZendeskClient {
        self.config.bulk_only = true;
        self
    }

    /// Requests sent so far.
    pub fn requests_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Sends one request through the budget, once, and sorts the failure: see
    /// [`ZendeskError`]. Retrying here as well as in the caller would multiply the
    /// tries (and the requests an outage costs); the caller's retry is durable, so
    /// it is the one. A 429 pauses the shared budget for its `Retry-After`: that is
    /// not a retry but a pause of every request to the account.
    pub(crate) async fn send(
        &self,
        lane: Lane,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Result<Vec<u8>, ZendeskError> {
        self.send_answer(lane, method, path, query, body, idempotency_key)
            .await
            .map(|(_, bytes)| bytes)
    }

    /// [`Self::send`], with the answer's status (for the endpoints whose 200
    /// and 201 mean different things).
    async fn send_answer(
        &self,
        lane: Lane,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Result<(StatusCode, Vec<u8>), ZendeskError> {
        let url = format!("{}{path}", self.config.base_url);
        let ticket_update = method == Method::PUT && path.starts_with("/api/v2/tickets/");
        let lane = match (self.config.bulk_only, lane) {
            (true, _) => Lane::Bulk,
            // Asked for by a lookup, not by a call (see `deskbridge_budget::as_lookup`).
            (false, Lane::Interactive) if in_lookup() => Lane::Lookup,
            (false, lane) => lane,
        };
        self.budget.acquire(lane).await;
        let method_name = method.as_str().to_string();
        let mut req = self
            .http
            .request(method, &url)
            .header(AUTHORIZATION, self.authorization.clone())
            .query(query);
        if let Some(b) = body {
            req = req.json(b);
        }
        if let Some(key) = idempotency_key {
            req = req.header("Idempotency-Key", key);
        }
        self.sent.fetch_add(1, Ordering::Relaxed);
        if method_name != "GET" {
            deskbridge_budget::writing();
        }
        let endpoint = endpoint_label(&method_name, path);
        let resp = match req.send().await {
            Ok(resp) => resp,
            Err(e) => {
                count_request(&endpoint, "network");
                return Err(ZendeskError::Network(e.without_url().to_string()));
            }
        };
        let status = resp.status();
        count_request(&endpoint, status.as_str());
        if let Some(left) = requests_left(resp.headers()) {
            // Zendesk's own count of the account's requests left this minute
            // (other integrations spend them too), the budget an admin watches.
            metrics::gauge!("deskbridge_zendesk_requests_left").set(left as f64);
        }
        // "Rate limits": every response carries the account's limit in
        // `X-Rate-Limit`; one lower than configured is the one to keep.
        if let Some(plan) = header_number(resp.headers(), &["x-rate-limit"]) {
            self.budget
                .observe_plan(u32::try_from(plan).unwrap_or(u32::MAX));
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            let wait = retry_after(resp.headers().get(RETRY_AFTER)).unwrap_or(DEFAULT_RETRY_AFTER);
            // Which limit this was, and so what waits, the core decides
            // (`deskbridge_core::rate_limit`, with Zendesk's sources); this
            // reads the answer and carries the decision out.
            let request = match (ticket_update, ticket_of(path)) {
                (false, _) => LimitedRequest::Other,
                (true, Some(ticket)) => LimitedRequest::TicketUpdate(ticket),
                (true, None) => LimitedRequest::UnknownTicketUpdate,
            };
            let held = held_back(requests_left(resp.headers()), request);
            metrics::counter!("deskbridge_zendesk_rate_limited_total", "scope" => held.scope())
                .increment(1);
            match held {
                HeldBack::Account => {
                    tracing::warn!(?wait, path, "Zendesk rate limit: pausing every request");
                    self.budget.pause_all(wait).await;
                }
                HeldBack::Ticket(ticket) => {
                    tracing::warn!(
                        ?wait,
                        path,
                        "Zendesk ticket limit: holding back its updates"
                    );
                    // The ticket's updates wait out the answer here too, unsent.
                    self.counts.hold(&Counted::of(TICKET_UPDATE, ticket), wait);
                }
                HeldBack::Request | HeldBack::Endpoint => {
                    tracing::warn!(
                        ?wait,
                        path,
                        "Zendesk endpoint limit: holding back this write"
                    );
                }
            }
            return Err(ZendeskError::RateLimited(wait));
        }
        if status.is_success() && requests_left(resp.headers()) == Some(0) {
            // Other integrations spend the same account's requests, so this
            // process's own count is not the whole story: when Zendesk says none
            // are left this minute, every request waits for the reset
            // (`ratelimit-reset`, "Best practices for avoiding rate limiting")
            // instead of earning a 429.
            let reset = header_number(resp.headers(), &["ratelimit-reset"])
                .map_or(DEFAULT_RETRY_AFTER, Duration::from_secs);
            tracing::warn!(
                ?reset,
                "Zendesk account has no requests left this minute: waiting"
            );
            self.budget.pause_all(reset).await;
        }
        if status.is_server_error() {
            return Err(ZendeskError::Server {
                status: status.as_u16(),
                retry_after: retry_after(resp.headers().get(RETRY_AFTER)),
            });
        }
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| ZendeskError::Network(e.without_url().to_string()))?;
        match status.as_u16() {
            200..=299 => Ok((status, bytes.to_vec())),
            401 => Err(ZendeskError::Unauthorized(401)),
            403 => Err(ZendeskError::Forbidden {
                path: path.to_string(),
            }),
            404 => Err(ZendeskError::NotFound),
            409 => Err(ZendeskError::Conflict {
                error: error_code(&bytes).unwrap_or_else(|| "Conflict".into()),
            }),
            code => Err(refusal(code, &bytes)),
        }
    }

    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        lane: Lane,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, ZendeskError> {
        decode(
            &self
                .send(lane, Method::GET, path, query, None, None)
                .await?,
        )
    }

    async fn get_optional<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Option<T>, ZendeskError> {
        match self.get(Lane::Interactive, path, &[]).await {
            Ok(v) => Ok(Some(v)),
            Err(ZendeskError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The signed-in user (checks the credentials).
    pub async fn me(&self) -> Result<User, ZendeskError> {
        let env: UserEnvelope = self
            .get(Lane::Interactive, "/api/v2/users/me.json", &[])
            .await?;
        Ok(env.user)
    }

    pub async fn show_user(&self, id: u64) -> Result<Option<User>, ZendeskError> {
        let env: Option<UserEnvelope> = self
            .get_optional(&format!("/api/v2/users/{id}.json"))
            .await?;
        Ok(env.map(|e| e.user))
    }

    /// End users whose phone ends with `national_digits` (the number without its
    /// country code), however it was typed: `role:end-user phone:*{digits}`.
    ///
    /// `phone:{digits}` alone matches only numbers stored compactly
    /// (`+14155550100`); one typed as `+1 (415) 555-0100` or `415-555-0100` is
    /// found only with a leading `*`, and a `+` must not be sent (Talk Partner
    /// Edition guide, "Retrieving the Zendesk user id of a caller"; ZendeskApi_v2
    /// PR #189). The wildcard can also find other numbers with the same ending,
    /// so the caller keeps only users whose number normalizes to the one it wants.
    /// New users appear here only after the search index catches up (minutes),
    /// so callers must remember what they created.
    pub async fn search_users_by_phone(
        &self,
        national_digits: &str,
    ) -> Result<Vec<User>, ZendeskError> {
        let digits: String = national_digits
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        self.search(&format!("role:end-user phone:*{digits}")).await
    }

    /// One page of Zendesk's Search API (`GET /api/v2/search.json?query=`).
    async fn search<T: DeserializeOwned>(&self, query: &str) -> Result<Vec<T>, ZendeskError> {
        let page: SearchResults<T> = self
            .get(
                Lane::Interactive,
                "/api/v2/search.json",
                &[("query", query)],
            )
            .await?;
        Ok(page.results)
    }

    /// The user's identities: emails and phone numbers besides the primary ones
    /// the user record shows (List Identities).
    pub async fn user_identities(&self, user_id: u64) -> Result<Vec<Identity>, ZendeskError> {
        let page: IdentitiesPage = self
            .get(
                Lane::Interactive,
                &format!("/api/v2/users/{user_id}/identities.json"),
                &[],
            )
            .await?;
        Ok(page.identities)
    }

    /// Adds a phone number identity to the user (Create Identity, `POST
    /// /api/v2/users/{user_id}/identities`): agent mode's "add the caller's number
    /// to this contact". A number the user already has is refused by Zendesk
    /// with a 422, which the caller checks for first (`user_identities`).
    pub async fn add_phone_identity(&self, user_id: u64, e164: &str) -> Result<(), ZendeskError> {
        let body = json!({ "identity": { "type": "phone_number", "value": e164 } });
        self.send(
            Lane::Interactive,
            Method::POST,
            &format!("/api/v2/users/{user_id}/identities.json"),
            &[],
            Some(&body),
            None,
        )
        .await?;
        Ok(())
    }

    /// Users matching a name, email or phone (Search Users, `GET
    /// /api/v2/users/search?query=`), for the agent page's contact search.
    pub async fn search_users(&self, query: &str) -> Result<Vec<User>, ZendeskError> {
        let page: UsersPage = self
            .get(
                Lane::Interactive,
                "/api/v2/users/search.json",
                &[("query", query)],
            )
            .await?;
        Ok(page.users)
    }

    /// The user with this external id (an exact lookup, not the lagging search).
    pub async fn find_user_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<Option<User>, ZendeskError> {
        let page: UsersPage = self
            .get(
                Lane::Interactive,
                "/api/v2/users/search.json",
                &[("external_id", external_id)],
            )
            .await?;
        Ok(page.users.into_iter().next())
    }

    /// The agent (or admin) with this email.
    pub async fn find_agent_by_email(&self, email: &str) -> Result<Option<User>, ZendeskError> {
        Ok(self.find_user_by_email(email).await?.filter(User::is_agent))
    }

    /// The user, of any role, with exactly this email.
    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, ZendeskError> {
        let page: UsersPage = self
            .get(
                Lane::Interactive,
                "/api/v2/users/search.json",
                &[("query", email)],
            )
            .await?;
        Ok(page.users.into_iter().find(|u| {
            u.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        }))
    }

    /// Creates the user, or returns the one with the same `external_id` or email:
    /// with an external id derived from the phone, a retried create finds the
    /// first user instead of making a second.
    /// "Create Or Update User": the user, and whether Zendesk created it (201
    /// Created) rather than updating one it matched by external id or email
    /// (200 OK).
    pub async fn create_or_update_user(&self, user: &NewUser) -> Result<Upserted, ZendeskError> {
        let body = json!({ "user": user });
        let (status, bytes) = self
            .send_answer(
                Lane::Bulk,
                Method::POST,
                "/api/v2/users/create_or_update.json",
                &[],
                Some(&body),
                None,
            )
            .await?;
        Ok(Upserted {
            user: decode::<UserEnvelope>(&bytes)?.user,
            created: status == StatusCode::CREATED,
        })
    }

    pub async fn create_organization(&self, name: &str) -> Result<Organization, ZendeskError> {
        let body = json!({ "organization": { "name": name } });
        let bytes = self
            .send(
                Lane::Bulk,
                Method::POST,
                "/api/v2/organizations.json",
                &[],
                Some(&body),
                None,
            )
            .await?;
        Ok(decode::<OrganizationEnvelope>(&bytes)?.organization)
    }

    /// The organization with exactly this name (names are unique in Zendesk).
    pub async fn find_organization_by_name(
        &self,
        name: &str,
    ) -> Result<Option<Organization>, ZendeskError> {
        let page: OrganizationsPage = self
            .get(
                Lane::Interactive,
                "/api/v2/organizations/search.json",
                &[("name", name)],
            )
            .await?;
        Ok(page.organizations.into_iter().find(|o| o.name == name))
    }

    pub async fn show_ticket(&self, id: u64) -> Result<Option<Ticket>, ZendeskError> {
        let env: Option<TicketEnvelope> = self
            .get_optional(&format!("/api/v2/tickets/{id}.json"))
            .await?;
        Ok(env.map(|e| e.ticket))
    }

    /// The user's requested tickets, most recently updated first (one page of 100).
    pub async fn requested_tickets(&self, user_id: u64) -> Result<Vec<Ticket>, ZendeskError> {
        let page: TicketsPage = self
            .get(
                Lane::Interactive,
                &format!("/api/v2/users/{user_id}/tickets/requested.json"),
                &[
                    ("sort_by", "updated_at"),
                    ("sort_order", "desc"),
                    ("per_page", "100"),
                ],
            )
            .await?;
        Ok(page.tickets)
    }

    /// Tickets with this external id (List Tickets, `external_id`; not unique in
    /// Zendesk, so possibly several).
    pub async fn tickets_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<Vec<Ticket>, ZendeskError> {
        let page: TicketsPage = self
            .get(
                Lane::Bulk,
                "/api/v2/tickets.json",
                &[("external_id", external_id)],
            )
            .await?;
        Ok(page.tickets)
    }

    /// Creates a ticket with its first comment in one request. The idempotency key
    /// makes a retry (after a timeout, or a crash) return the first ticket.
    pub async fn create_ticket(
        &self,
        ticket: &NewTicket,
        idempotency_key: &str,
    ) -> Result<TicketWithAudit, ZendeskError> {
        let body = json!({ "ticket": ticket });
        let bytes = self
            .send(
                Lane::Bulk,
                Method::POST,
                "/api/v2/tickets.json",
                &[],
                Some(&body),
                Some(idempotency_key),
            )
            .await?;
        decode(&bytes)
    }

    /// Creates a ticket through Talk Partner Edition ("Create Ticket or Voicemail
    /// Ticket", `POST /api/v2/channels/voice/tickets`), which "follows the same
    /// conventions as the Create Ticket endpoint" and takes `display_to_agent`:
    /// the new ticket opens in that agent's browser in the same request. The
    /// ticket carries its `via_id` and, for a call with a recording, its
    /// `voice_comment`. Zendesk's answer does not say whether the agent's
    /// browser got it. Interactive lane: it is a screen pop, or a call's one
    /// write.
    pub async fn create_voice_ticket(
        &self,
        ticket: &NewTicket,
        talk: &TalkTicket,
        idempotency_key: &str,
    ) -> Result<TicketWithAudit, ZendeskError> {
        let mut ticket = serde_json::to_value(ticket)
            .map_err(|e| ZendeskError::Decode(format!("a ticket that is not JSON: {e}")))?;
        ticket["via_id"] = json!(talk.via_id);
        if let Some(voice) = &talk.voice_comment {
            ticket["voice_comment"] = json!(voice);
        }
        let mut body = json!({ "ticket": ticket });
        if let Some(agent) = talk.display_to_agent {
            body["display_to_agent"] = json!(agent);
        }
        let bytes = self
            .send(
                Lane::Interactive,
                Method::POST,
                "/api/v2/channels/voice/tickets.json",
                &[],
                Some(&body),
                Some(idempotency_key),
            )
            .await?;
        decode(&bytes)
    }

    /// Tickets whose custom field holds the value (Search,
    /// `type:ticket custom_field_{id}:"value"`, Zendesk's syntax for a custom
    /// field in "Zendesk Support search reference"). Like every search, it
    /// lags behind new tickets by minutes.
    pub async fn search_tickets_by_field(
        &self,
        field_id: u64,
        value: &str,
    ) -> Result<Vec<Ticket>, ZendeskError> {
        let value = value.replace('"', "");
        self.search(&format!("type:ticket custom_field_{field_id}:\"{value}\""))
            .await
    }

    /// Adds a comment to a ticket, with the other changes the same update
    /// makes ([`CommentChanges`]). A closed ticket answers
    /// [`ZendeskError::TicketClosed`].
    pub async fn add_comment(
        &self,
        ticket_id: u64,
        comment: &NewComment,
        changes: &CommentChanges<'_>,
    ) -> Result<TicketWithAudit, ZendeskError> {
        let mut ticket = json!({ "comment": comment });
        // "Add a ticket voice comment to a ticket by including a voice_comment
        // object in the ticket object when creating or updating the ticket"
        // ("Adding voice comments to tickets"); the text comment beside it
        // carries what a retry looks for.
        if let Some(voice) = changes.voice {
            ticket["voice_comment"] = json!(voice);
        }
        if let Some(id) = changes.assignee_id {
            ticket["assignee_id"] = json!(id);
        }
        if let Some(status) = changes.status {
            ticket["status"] = json!(status);
        }
        // Tickets API, "Updating tag lists": `additional_tags` adds tags
        // without replacing those the ticket has (`tags` would replace them).
        if !changes.additional_tags.is_empty() {
            ticket["additional_tags"] = json!(changes.additional_tags);
        }
        if !changes.custom_fields.is_empty() {
            ticket["custom_fields"] = json!(changes.custom_fields);
        }
        self.admit(&ticket_update(ticket_id, self.config.ticket_updates))
            .await?;
        let body = json!({ "ticket": ticket });
        let bytes = self
            .send(
                Lane::Bulk,
                Method::PUT,
                &format!("/api/v2/tickets/{ticket_id}.json"),
                &[],
                Some(&body),
                None,
            )
            .await?;
        decode(&bytes)
    }

    /// Creates a call record (`POST /api/v2/calls`, Talk Partner Edition's
    /// "Create Call"); with the call's `ticket_id` and `comment` section, its
    /// voice comment lands on the ticket in the same request. An account
    /// without Talk Partner Edition, or an app id it does not know, refuses it
    /// (403, 404 or 422): the caller writes the plain comment instead.
    pub async fn create_call(&self, call: &NewCall) -> Result<Call, ZendeskError> {
        self.call_request(Method::POST, "/api/v2/calls", json!({ "call": call }))
            .await
    }

    /// A request of the Calls API, in the bulk lane: the call as answered.
    async fn call_request(
        &self,
        method: Method,
        path: &str,
        body: Value,
    ) -> Result<Call, ZendeskError> {
        let bytes = self
            .send(Lane::Bulk, method, path, &[], Some(&body), None)
            .await?;
        let envelope: CallEnvelope = decode(&bytes)?;
        Ok(envelope.call)
    }

    /// Sets a call record's recording (`PATCH /api/v2/calls/{id}` with
    /// `{"call": {"recording_url": ...}}`: Talk Partner Edition's call object
    /// "endpoints to save, read, and update"; the method and the wrapped
    /// partial body as a live account answered them in zenpy's recorded tests,
    /// `TestCallPE.test_create_update_get`). A PATCH changes only the fields
    /// sent, so it is safe to send again.
    pub async fn update_call_recording(
        &self,
        call_id: u64,
        recording_url: &str,
    ) -> Result<Call, ZendeskError> {
        self.call_request(
            Method::PATCH,
            &format!("/api/v2/calls/{call_id}.json"),
            json!({ "call": { "recording_url": recording_url } }),
        )
        .await
    }

    /// How long until an update of `ticket_id` is allowed under Zendesk's
    /// update limits (zero: now).
    pub fn ticket_update_wait(&self, ticket_id: u64) -> Duration {
        self.counts
            .wait(&ticket_update(ticket_id, self.config.ticket_updates))
    }

    /// Counts one request under `counts` before it is sent: in the count the
    /// instances share when there is one, else in this process's. A count
    /// without room answers [`ZendeskError::HeldBack`] with how long until
    /// it has, and nothing is sent: only this request waits.
    async fn admit(&self, counts: &[(Counted, Limit)]) -> Result<(), ZendeskError> {
        self.budget
            .admit(&self.counts, counts)
            .await
            .map_err(ZendeskError::HeldBack)
    }

    /// Counts one "Update User" request of `user_id` (5 a minute per user)
    /// before it is sent; see [`ZendeskClient::admit`].
    pub async fn admit_user_update(&self, user_id: u64) -> Result<(), ZendeskError> {
        self.admit(&[(Counted::of(USER_UPDATE, user_id), self.config.user_updates)])
            .await
    }

    /// Counts one incremental export request (10 a minute) before it is sent;
    /// see [`ZendeskClient::admit`].
    pub async fn admit_incremental_export(&self) -> Result<(), ZendeskError> {
        self.admit(&[(Counted::account(EXPORTS), self.config.incremental_exports)])
            .await
    }

    /// One page of the cursor-based incremental user export
    /// (`GET /api/v2/incremental/users/cursor.json`, "Incremental User Export,
    /// Cursor Based"): users created or changed since `start`, 1000 a page. A
    /// deleted user comes with `active: false`. Counted under the exports'
    /// limit (10 a minute) before sending, in the budget's bulk lane.
    pub async fn export_users(
        &self,
        start: &ExportStart,
    ) -> Result<ExportPage<User>, ZendeskError> {
        let page: UsersExport = self
            .export("/api/v2/incremental/users/cursor.json", start)
            .await?;
        Ok(ExportPage {
            items: page.users,
            after_cursor: page.after_cursor,
            end_of_stream: page.end_of_stream,
        })
    }

    /// One page of the cursor-based incremental ticket export
    /// (`GET /api/v2/incremental/tickets/cursor.json`): tickets changed since
    /// `start`, closed and deleted (status `deleted`) ones included.
    pub async fn export_tickets(
        &self,
        start: &ExportStart,
    ) -> Result<ExportPage<Ticket>, ZendeskError> {
        let page: TicketsExport = self
            .export("/api/v2/incremental/tickets/cursor.json", start)
            .await?;
        Ok(ExportPage {
            items: page.tickets,
            after_cursor: page.after_cursor,
            end_of_stream: page.end_of_stream,
        })
    }

    async fn export<T: DeserializeOwned>(
        &self,
        path: &str,
        start: &ExportStart,
    ) -> Result<T, ZendeskError> {
        self.admit_incremental_export().await?;
        let start_time;
        let query: [(&str, &str); 2] = match start {
            ExportStart::StartTime(at) => {
                start_time = at.to_string();
                [("start_time", start_time.as_str()), ("per_page", "1000")]
            }
            ExportStart::Cursor(cursor) => [("cursor", cursor.as_str()), ("per_page", "1000")],
        };
        self.get(Lane::Bulk, path, &query).await
    }

    /// Sets a ticket's status (a solved ticket reopened after a call).
    pub async fn set_status(
        &self,
        ticket_id: u64,
        status: &str,
    ) -> Result<TicketWithAudit, ZendeskError> {
        self.admit(&ticket_update(ticket_id, self.config.ticket_updates))
            .await?;
        let body = json!({ "ticket": { "status": status } });
        let bytes = self
            .send(
                Lane::Bulk,
                Method::PUT,
                &format!("/api/v2/tickets/{ticket_id}.json"),
                &[],
                Some(&body),
                None,
            )
            .await?;
        decode(&bytes)
    }

    /// The ticket's newest comments, newest first (one page of 100):
    /// `sort_order=desc` (List Comments, Support API reference), so a comment just
    /// written is on the first page however long the ticket is.
    pub async fn ticket_comments(
        &self,
        ticket_id: u64,
    ) -> Result<Vec<CommentRecord>, ZendeskError> {
        let page: CommentsPage = self
            .get(
                Lane::Bulk,
                &format!("/api/v2/tickets/{ticket_id}/comments.json"),
                &[("per_page", "100"), ("sort_order", "desc")],
            )
            .await?;
        Ok(page.comments)
    }

    pub async fn show_ticket_field(&self, id: u64) -> Result<Option<TicketField>, ZendeskError> {
        let env: Option<TicketFieldEnvelope> = self
            .get_optional(&format!("/api/v2/ticket_fields/{id}.json"))
            .await?;
        Ok(env.map(|e| e.ticket_field))
    }

    pub async fn show_ticket_form(&self, id: u64) -> Result<Option<TicketForm>, ZendeskError> {
        let env: Option<TicketFormEnvelope> = self
            .get_optional(&format!("/api/v2/ticket_forms/{id}.json"))
            .await?;
        Ok(env.map(|e| e.ticket_form))
    }

    /// Talk Partner Edition: opens the ticket in the agent's browser. `Ok(false)`
    /// when Zendesk says an id is invalid (404).
    pub async fn display_ticket(
        &self,
        agent_id: u64,
        ticket_id: u64,
    ) -> Result<bool, ZendeskError> {
        self.display(&format!(
            "/api/v2/channels/voice/agents/{agent_id}/tickets/{ticket_id}/display.json"
        ))
        .await
    }

    /// Talk Partner Edition: opens the user's profile in the agent's browser.
    pub async fn display_user(&self, agent_id: u64, user_id: u64) -> Result<bool, ZendeskError> {
        self.display(&format!(
            "/api/v2/channels/voice/agents/{agent_id}/users/{user_id}/display.json"
        ))
        .await
    }

    async fn display(&self, path: &str) -> Result<bool, ZendeskError> {
        match self
            .send(Lane::Interactive, Method::POST, path, &[], None, None)
            .await
        {
            Ok(_) => Ok(true),
            Err(ZendeskError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// The ticket of `/api/v2/tickets/{id}.json`.
fn ticket_of(path: &str) -> Option<u64> {
    path.strip_prefix("/api/v2/tickets/")?
        .strip_suffix(".json")?
        .parse()
        .ok()
}

/// Counts one answered (or unanswered: `network`) request to Zendesk.
fn count_request(endpoint: &str, status: &str) {
    metrics::counter!(
        "deskbridge_upstream_requests_total",
        "upstream" => "zendesk",
        "endpoint" => endpoint.to_string(),
        "status" => status.to_string(),
    )
    .increment(1);
}

/// The pause after a 429 that does not say how long.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(10);

/// The first of `names` that carries a whole number.
fn header_number(headers: &reqwest::header::HeaderMap, names: &[&str]) -> Option<u64> {
    names
        .iter()
        .find_map(|name| headers.get(*name))
        .and_then(|h| h.to_str().ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
}

/// The account's requests left this minute: every answer carries
/// `x-rate-limit-remaining`, Ticketing API answers `ratelimit-remaining` too.
fn requests_left(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    header_number(headers, &["x-rate-limit-remaining", "ratelimit-remaining"])
}

/// A `Retry-After` header's wait.
fn retry_after(header: Option<&HeaderValue>) -> Option<Duration> {
    deskbridge_budget::retry_after(header.and_then(|h| h.to_str().ok())?)
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ZendeskError> {
    serde_json::from_slice(bytes).map_err(|e| {
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).to_string();
        ZendeskError::Decode(format!("{e}: {head}"))
    })
}

/// The `error` code of a JSON error body, e.g. `DatabaseConflict`.
fn error_code(bytes: &[u8]) -> Option<String> {
    let body: ErrorBody = serde_json::from_slice(bytes).ok()?;
    body.error.as_str().map(str::to_string)
}

/// Whether a 422 says the ticket is closed. Zendesk answers
/// `{"error":"RecordInvalid","description":"Record validation errors",
/// "details":{"status":[{"description":"Status: closed prevents ticket update"}]}}`
/// with no per-field error code (ZendeskApi_v2 issue #59 shows the body, there
/// without the colon), so the description is what identifies it.
fn closed_prevents_update(body: &ErrorBody) -> bool {
    let Some(status) = body.details.as_ref().and_then(|d| d.get("status")) else {
        return false;
    };
    status.as_array().is_some_and(|errors| {
        errors.iter().any(|e| {
            e.get("description")
                .and_then(Value::as_str)
                .is_some_and(|d| {
                    d.to_ascii_lowercase()
                        .contains("closed prevents ticket update")
                })
        })
    })
}

/// A 4xx other than 401/403/404/409: a closed ticket, or a validation error.
fn refusal(status: u16, bytes: &[u8]) -> ZendeskError {
    let text = String::from_utf8_lossy(bytes).to_string();
    let Ok(body) = serde_json::from_slice::<ErrorBody>(bytes) else {
        // Some 400s are text/plain.
        return ZendeskError::Invalid {
            status,
            error: "BadRequest".into(),
            details: text,
        };
    };
    if closed_prevents_update(&body) {
        return ZendeskError::TicketClosed;
    }
    if body.error.as_str() == Some("IdempotentRequestError") {
        return ZendeskError::IdempotencyKeyReused;
    }
    ZendeskError::Invalid {
        status,
        error: body
            .error
            .as_str()
            .map_or_else(|| body.error.to_string(), str::to_string),
        details: body
            .details
            .map(|d| d.to_string())
            .or(body.description)
            .unwrap_or_default(),
    }
}
