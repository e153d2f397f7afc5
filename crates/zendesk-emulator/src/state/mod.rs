//! The account's records and the rules for changing them.
//!
//! Every mutation validates completely before it writes anything, so a request that
//! fails (422, 404) leaves the account as it was, like a database transaction in the
//! real service. The HTTP layer only parses and renders; the rules live here.

mod calls;
mod catalog;
mod tickets;
mod users;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::Serialize;

pub(crate) use tickets::{CommentInput, InlineRequester, NewTicket, TicketChanges};
pub(crate) use users::UserInput;

use crate::idempotency::IdempotencyCache;
use crate::model::{Audit, Comment, Organization, Role, Ticket, TicketField, TicketForm, User};
use crate::seed::SeedUser;

/// The id every API-created ticket gets as `brand_id`: the account's one brand.
pub(crate) const BRAND_ID: u64 = 359_000_000_001;

/// Where each id sequence starts. Different ranges per kind, so a client that
/// sends a user id where an organization id belongs gets a 422 instead of a lucky
/// match; users start where real Zendesk ids look like.
struct NextIds {
    user: u64,
    organization: u64,
    identity: u64,
    ticket: u64,
    call: u64,
    /// Audits, comments and audit events share one sequence, as in Zendesk
    /// (a comment's id is its audit event's id).
    event: u64,
    field_option: u64,
}

impl NextIds {
    fn new() -> NextIds {
        NextIds {
            user: 360_000_000_001,
            organization: 361_000_000_001,
            identity: 362_000_000_001,
            ticket: 1,
            call: 364_000_000_001,
            event: 650_000_000_001,
            field_option: 363_000_000_001,
        }
    }
}

fn take(counter: &mut u64) -> u64 {
    let id = *counter;
    *counter += 1;
    id
}

pub(crate) struct Store {
    /// How long API-created users and tickets stay out of search.
    pub(crate) search_lag: Duration,
    /// How long a change stays out of the incremental exports (Zendesk: a minute).
    pub(crate) export_lag: Duration,
    admin_email: String,
    /// The authenticated API user: requester, submitter and author by default.
    pub(crate) admin_id: u64,
    pub(crate) users: BTreeMap<u64, User>,
    pub(crate) organizations: BTreeMap<u64, Organization>,
    pub(crate) tickets: BTreeMap<u64, Ticket>,
    pub(crate) comments: BTreeMap<u64, Comment>,
    pub(crate) audits: BTreeMap<u64, Audit>,
    pub(crate) ticket_fields: BTreeMap<u64, TicketField>,
    pub(crate) ticket_forms: BTreeMap<u64, TicketForm>,
    /// Talk Partner Edition call records, as stored (see `calls.rs`).
    pub(crate) calls: BTreeMap<u64, serde_json::Value>,
    pub(crate) idempotency: IdempotencyCache,
    next: NextIds,
}

impl Store {
    pub(crate) fn new(admin_email: &str, search_lag: Duration) -> Store {
        let mut store = Store {
            search_lag,
            export_lag: crate::routes::EXPORT_LAG,
            admin_email: admin_email.to_owned(),
            admin_id: 0,
            users: BTreeMap::new(),
            organizations: BTreeMap::new(),
            tickets: BTreeMap::new(),
            comments: BTreeMap::new(),
            audits: BTreeMap::new(),
            ticket_fields: BTreeMap::new(),
            ticket_forms: BTreeMap::new(),
            calls: BTreeMap::new(),
            idempotency: IdempotencyCache::default(),
            next: NextIds::new(),
        };
        store.add_admin();
        store
    }

    fn add_admin(&mut self) {
        let name = self
            .admin_email
            .split('@')
            .next()
            .filter(|local| !local.is_empty())
            .unwrap_or("Admin")
            .to_owned();
        let email = self.admin_email.clone();
        self.admin_id = self.seed_user(SeedUser::new(name).email(email).role(Role::Admin));
    }

    /// Empties the account (ids start over), keeping the admin and the lags.
    pub(crate) fn reset(&mut self) {
        let export_lag = self.export_lag;
        *self = Store::new(&self.admin_email, self.search_lag);
        self.export_lag = export_lag;
    }

    /// When a record created now becomes searchable.
    fn index_time(&self) -> Instant {
        Instant::now() + self.search_lag
    }

    /// Changes a user's role (the API user's, for permission tests).
    pub(crate) fn set_role(&mut self, id: u64, role: crate::model::Role) {
        if let Some(user) = self.users.get_mut(&id) {
            user.role = role;
        }
    }

    pub(crate) fn user(&self, id: u64) -> Option<&User> {
        self.users.get(&id)
    }

    pub(crate) fn ticket(&self, id: u64) -> Option<&Ticket> {
        self.tickets.get(&id)
    }

    pub(crate) fn comments_of(&self, ticket_id: u64) -> impl Iterator<Item = &Comment> {
        self.comments
            .values()
            .filter(move |comment| comment.ticket_id == ticket_id)
    }

    pub(crate) fn snapshot(&self) -> StateSnapshot {
        StateSnapshot {
            admin_id: self.admin_id,
            users: self.users.values().cloned().collect(),
            organizations: self.organizations.values().cloned().collect(),
            tickets: self.tickets.values().cloned().collect(),
            comments: self.comments.values().cloned().collect(),
            audits: self.audits.values().cloned().collect(),
            ticket_fields: self.ticket_fields.values().cloned().collect(),
            ticket_forms: self.ticket_forms.values().cloned().collect(),
            calls: self.calls.values().cloned().collect(),
        }
    }
}

/// A copy of every record at one moment, in id order, for assertions.
#[derive(Debug, Clone, Serialize)]
pub struct StateSnapshot {
    /// The API user (role admin) the credentials belong to.
    pub admin_id: u64,
    pub users: Vec<User>,
    pub organizations: Vec<Organization>,
    pub tickets: Vec<Ticket>,
    pub comments: Vec<Comment>,
    pub audits: Vec<Audit>,
    pub ticket_fields: Vec<TicketField>,
    pub ticket_forms: Vec<TicketForm>,
    /// Talk Partner Edition call records, as Zendesk answers them.
    pub calls: Vec<serde_json::Value>,
}

impl StateSnapshot {
    pub fn user(&self, id: u64) -> Option<&User> {
        self.users.iter().find(|user| user.id == id)
    }

    pub fn ticket(&self, id: u64) -> Option<&Ticket> {
        self.tickets.iter().find(|ticket| ticket.id == id)
    }

    /// A ticket's comments, oldest first.
    pub fn comments_of(&self, ticket_id: u64) -> Vec<&Comment> {
        self.comments
            .iter()
            .filter(|comment| comment.ticket_id == ticket_id)
            .collect()
    }

    /// Users whose phone or phone identity is exactly `phone`: how a test checks
    /// that one caller became one user.
    pub fn users_with_phone(&self, phone: &str) -> Vec<&User> {
        self.users
            .iter()
            .filter(|user| user.phones().any(|(stored, _)| stored == phone))
            .collect()
    }

    /// Tickets requested by a user, in id order.
    pub fn tickets_of(&self, requester_id: u64) -> Vec<&Ticket> {
        self.tickets
            .iter()
            .filter(|ticket| ticket.requester_id == requester_id)
            .collect()
    }
}

/// The current time for records; one call per write so that `created_at` and
/// `updated_at` of a new record are equal.
fn now() -> chrono::DateTime<Utc> {
    Utc::now()
}
