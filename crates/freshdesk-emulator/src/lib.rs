//! A stateful, in-memory emulator of the part of the Freshdesk API v2 that a call
//! connector uses: contacts, companies, agents, ticket fields, tickets, notes and
//! the search endpoints.
//!
//! It exists so that deskbridge's Freshdesk client, tests, benchmark and demo can
//! run against something that behaves like the real service where that matters to
//! a client — the error bodies, the plan's per-minute limits with `Retry-After`,
//! `Link` pagination, search index lag, and failures that happen after a write was
//! made — without an account or a network. Every behaviour is modelled on what
//! Freshdesk documents (the sources are named beside the code, as in
//! `docs/dev/freshdesk-api.md`), never on what a client expects.
//!
//! ```text
//! let running = Emulator::new(EmulatorConfig::new("KEY")).start("127.0.0.1:0").await?;
//! let agent = running.seed_agent("ann@acme.com", "Ann Example");
//! // point the client at running.base_url with Basic auth "KEY:X"
//! ```
//!
//! or as a binary: `freshdesk-emulator --listen 127.0.0.1:0 --api-key KEY`.

mod auth;
mod body;
mod error;
mod faults;
mod gate;
mod handle;
mod html;
mod model;
mod paging;
mod ratelimit;
mod render;
mod routes;
mod search;
mod seed;
mod state;
mod stats;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use error::FieldError;
pub use model::{Agent, Company, Contact, Note, Ticket, TicketField};
pub use ratelimit::{Plan, PlanLimits};
pub use seed::{SeedContact, SeedTicket, SeedTicketField};
pub use state::StateSnapshot;
pub use stats::Stats;

use faults::Faults;
use ratelimit::RateLimiter;
use state::Store;

/// How the emulated account behaves. Every knob that makes the real service hard
/// to live with (limits, index lag, failures, slowness) is here so that a test can
/// turn it on.
#[derive(Debug, Clone, PartialEq)]
pub struct EmulatorConfig {
    /// The account's subdomain (`acme` of `acme.freshdesk.com`). Links in answers
    /// point at the address the client connected to instead, so that a client
    /// follows them back to the emulator; the domain names the key owner's email.
    pub domain: String,
    /// The API key: the Basic auth user name. The password is ignored (`X` by
    /// convention; SA-KEY, PF).
    pub api_key: String,
    /// Sets the per-minute limits (SA-RL).
    pub plan: Plan,
    /// Replaces the plan's account-wide per-minute limit; the endpoint limits stay.
    pub requests_per_minute: Option<u32>,
    /// The length of a rate-limit window: a minute in Freshdesk (SA-RL); tests
    /// shorten it so that waiting out a 429 takes seconds.
    pub rate_limit_window: Duration,
    /// How long a created or changed record takes to reach `/search` (Freshdesk's
    /// search is an index that "may take a few minutes", freshdesk-api.md §3).
    pub search_lag: Duration,
    /// The `unique_contact_identifier` feature: without it `unique_external_id`
    /// is refused (freshdesk-api.md §3).
    pub unique_external_id: bool,
    /// Fraction (0.0–1.0) of requests that fail with a 5xx; on a write, half of
    /// those fail after the write was made.
    pub fail_rate: f64,
    /// Added before every API answer.
    pub latency: Duration,
    /// Seed of the fault injector, so a failing run can be replayed.
    pub seed: u64,
}

impl EmulatorConfig {
    /// A Growth account with the documented limits, no index lag and no faults.
    pub fn new(api_key: impl Into<String>) -> EmulatorConfig {
        EmulatorConfig {
            domain: "acme".to_owned(),
            api_key: api_key.into(),
            plan: Plan::Growth,
            requests_per_minute: None,
            rate_limit_window: Duration::from_secs(60),
            search_lag: Duration::ZERO,
            unique_external_id: true,
            fail_rate: 0.0,
            latency: Duration::ZERO,
            seed: 0,
        }
    }

    /// The limits this configuration enforces.
    pub fn limits(&self) -> PlanLimits {
        let mut limits = self.plan.limits();
        if let Some(per_minute) = self.requests_per_minute {
            limits.per_minute = per_minute;
        }
        limits
    }
}

/// State shared by the HTTP handlers and the in-process handle. Separate locks so
/// that counting a request never waits behind a search; no code path holds two
/// of them at once.
pub(crate) struct Shared {
    api_key: String,
    store: Mutex<Store>,
    control: Mutex<Control>,
    stats: Mutex<Stats>,
}

/// What decides, before a handler runs, whether a request is served.
pub(crate) struct Control {
    pub(crate) limiter: RateLimiter,
    pub(crate) faults: Faults,
}

/// Takes a lock even if a panicking thread poisoned it: every mutation validates
/// completely before it writes, so the records stay consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    pub(crate) fn control(&self) -> MutexGuard<'_, Control> {
        lock(&self.control)
    }

    pub(crate) fn stats(&self) -> MutexGuard<'_, Stats> {
        lock(&self.stats)
    }

    pub(crate) fn api_key(&self) -> &str {
        &self.api_key
    }
}

/// An emulator that is configured but not yet listening.
pub struct Emulator {
    shared: Arc<Shared>,
}

impl Emulator {
    pub fn new(config: EmulatorConfig) -> Emulator {
        let limiter = RateLimiter::new(config.limits(), config.rate_limit_window);
        let shared = Shared {
            api_key: config.api_key.clone(),
            store: Mutex::new(Store::new(&config)),
            control: Mutex::new(Control {
                limiter,
                faults: Faults::new(config.fail_rate, config.latency, config.seed),
            }),
            stats: Mutex::new(Stats::default()),
        };
        Emulator {
            shared: Arc::new(shared),
        }
    }

    /// The whole service, to mount in another server or drive with
    /// `tower::ServiceExt::oneshot`. Links are built from the `Host` header.
    pub fn router(&self) -> axum::Router {
        routes::app(self.shared.clone())
    }

    /// Binds `addr` (port 0 picks a free port) and serves in a tokio task until
    /// the returned handle is dropped.
    pub async fn start(self, addr: &str) -> std::io::Result<RunningEmulator> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let app = self.router();
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "freshdesk-emulator stopped serving");
            }
        });
        Ok(RunningEmulator {
            base_url: format!("http://{local_addr}"),
            addr: local_addr,
            shared: self.shared,
            task,
        })
    }
}

/// A listening emulator. Dropping it stops the server.
///
/// Its methods (in `handle.rs`) act on the account directly, as an admin or agent
/// would in Freshdesk's web interface: they are not counted as requests, never
/// fail, and seeded records are searchable at once (they stand for data that has
/// been in the account for a while).
pub struct RunningEmulator {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base_url: String,
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}
