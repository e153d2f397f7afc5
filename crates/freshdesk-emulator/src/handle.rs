//! The in-process handle's methods: what a test does to the account besides
//! calling the API (seeding, an agent's actions, fault knobs, assertions).

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::seed::{SeedContact, SeedTicket, SeedTicketField};
use crate::{PlanLimits, RunningEmulator, StateSnapshot, Stats};

impl RunningEmulator {
    /// A copy of every record, for assertions.
    pub fn state(&self) -> StateSnapshot {
        self.shared.store().snapshot()
    }

    /// Request counters since start.
    pub fn stats(&self) -> Stats {
        self.shared.stats().clone()
    }

    /// The agent who owns the API key (`GET /api/v2/agents/me`), the default
    /// author of notes.
    pub fn owner_id(&self) -> u64 {
        self.shared.store().owner_id
    }

    /// Adds an agent and returns its id, which is also its user id (freshdesk-api.md §6).
    pub fn seed_agent(&self, email: &str, name: &str) -> u64 {
        self.shared.store().seed_agent(email, name)
    }

    /// Adds a contact, unvalidated (a shared or formatted phone is fine), and
    /// returns its id.
    pub fn seed_contact(&self, contact: SeedContact) -> u64 {
        self.shared.store().seed_contact(contact)
    }

    /// Adds a company and returns its id.
    pub fn seed_company(&self, name: &str) -> u64 {
        self.shared.store().seed_company(name)
    }

    /// Adds a group (for tickets' `group_id`) and returns its id.
    pub fn seed_group(&self, name: &str) -> u64 {
        self.shared.store().seed_group(name)
    }

    /// Adds a product (for tickets' `product_id`) and returns its id.
    pub fn seed_product(&self, name: &str) -> u64 {
        self.shared.store().seed_product(name)
    }

    /// Adds a ticket (any status) and returns its id.
    pub fn seed_ticket(&self, ticket: SeedTicket) -> u64 {
        self.shared.store().seed_ticket(ticket)
    }

    /// Adds a custom ticket field, or replaces the one with the same name.
    pub fn seed_ticket_field(&self, field: SeedTicketField) {
        self.shared.store().seed_ticket_field(field);
    }

    /// Closes a ticket (status 5) as an agent would in the web interface.
    pub fn close_ticket(&self, id: u64) {
        self.shared.store().set_ticket_status(id, 5);
    }

    /// Soft-deletes a contact as an agent would: it leaves lists and search,
    /// `GET` still shows it with `"deleted": true` (freshdesk-api.md §3).
    pub fn delete_contact(&self, id: u64) {
        self.shared.store().delete_contact(id);
    }

    /// Moves a ticket's `created_at` and `updated_at` into the past, so that the
    /// unfiltered ticket list (the last 30 days only) leaves it out.
    pub fn backdate_ticket(&self, id: u64, at: DateTime<Utc>) {
        self.shared.store().backdate_ticket(id, at);
    }

    /// Changes the fraction of requests that fail at random.
    pub fn set_fail_rate(&self, rate: f64) {
        self.shared.control().faults.fail_rate = rate;
    }

    /// Changes the latency added to every answer.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.control().faults.latency = latency;
    }

    /// The next `n` API requests answer `status` (500, 503, 429, ...) before
    /// doing anything. A 429 carries `Retry-After: 1`.
    pub fn fail_next(&self, n: usize, status: u16) {
        self.shared.control().faults.fail_next(n, status);
    }

    /// The next `n` writes (POST and PUT) are made and then answered `status`:
    /// the record exists but the client never learns it, as after a timeout.
    pub fn fail_next_after_write(&self, n: usize, status: u16) {
        self.shared
            .control()
            .faults
            .fail_next_after_write(n, status);
    }

    /// Replaces the per-minute limits (a new window starts);
    /// [`PlanLimits::UNLIMITED`] switches them off.
    pub fn set_limits(&self, limits: PlanLimits) {
        self.shared.control().limiter.set_limits(limits);
    }

    /// Changes the search index lag for writes from now on.
    pub fn set_search_lag(&self, lag: Duration) {
        self.shared.store().search_lag = lag;
    }
}
