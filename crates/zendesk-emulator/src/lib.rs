//! A stateful, in-memory emulator of the part of the Zendesk Support API that
//! deskbridge's Zendesk client uses.
//!
//! It exists so that deskbridge's tests, benchmarks and demos can run against
//! something that behaves like the real service — the same response shapes (checked
//! against recorded go-zendesk fixtures), the same validation errors, search index
//! lag, a per-account rate limit with `Retry-After`, idempotency keys on ticket
//! creation, and injected failures — without an account or a network.
//!
//! Start it in-process, as `examples/in_process.rs` does (`cargo clippy
//! --all-targets` compiles it; the tests run under cargo-nextest, which runs no
//! doctests):
//!
//! ```text
//! let running = Emulator::new(EmulatorConfig::new("admin@acme.com", "TOKEN"))
//!     .start("127.0.0.1:0")
//!     .await?;
//! let agent = running.seed_agent("ann@acme.com", "Ann Example");
//! ```
//!
//! or as a binary: `zendesk-emulator --listen 127.0.0.1:0 --email admin@acme.com
//! --token TOKEN`.

pub mod apps;
mod auth;
mod body;
mod error;
mod faults;
mod gate;
mod idempotency;
mod model;
mod phone;
mod ratelimit;
mod render;
mod routes;
mod search;
mod seed;
mod state;
mod stats;
mod updates;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use error::FieldError;
pub use model::{
    Audit, AuditEvent, Comment, FieldOption, Identity, Organization, Priority, RequestOrigin, Role,
    Ticket, TicketField, TicketForm, TicketStatus, TicketType, User,
};
pub use seed::{SeedAgent, SeedTicket, SeedTicketField, SeedTicketForm, SeedUser};
pub use state::StateSnapshot;
pub use stats::{Pop, PopKind, Stats};
pub use updates::{
    ACCOUNT_UPDATES_PER_MINUTE, TICKET_UPDATE_WINDOW, TICKET_UPDATES_PER_WINDOW, UpdateFault,
};

use auth::Credentials;
use faults::Faults;
use ratelimit::RateLimiter;
use state::Store;

/// How the emulated account behaves. Every knob that makes the real service hard to
/// live with (index lag, rate limit, failures, slowness) is here so that a test can
/// turn it on.
#[derive(Debug, Clone, PartialEq)]
pub struct EmulatorConfig {
    /// The admin's email: the user part of HTTP Basic `{email}/token:{token}`.
    pub email: String,
    /// The API token (Basic auth) or OAuth access token (`Authorization: Bearer`).
    pub token: String,
    /// Requests per minute for the whole account (sliding 60 s window); `None`
    /// means unlimited and no `X-Rate-Limit` headers.
    pub requests_per_minute: Option<u32>,
    /// The length of the rate-limit window. Zendesk's is a minute (its "Rate
    /// limits" guide); tests shorten it so that waiting out a 429 takes seconds,
    /// and then `requests_per_minute` is the budget of each shorter window.
    pub rate_limit_window: Duration,
    /// How long a user or ticket created through the API stays invisible to search.
    pub search_lag: Duration,
    /// Probability (0.0–1.0) that an API request fails with 500 before it changes
    /// anything.
    pub fail_rate: f64,
    /// Added before every API response.
    pub latency: Duration,
    /// Seed of the fault injector, so a failing run can be replayed.
    pub seed: u64,
}

impl EmulatorConfig {
    /// A well-behaved account: no rate limit, no lag, no faults.
    pub fn new(email: impl Into<String>, token: impl Into<String>) -> EmulatorConfig {
        EmulatorConfig {
            email: email.into(),
            token: token.into(),
            requests_per_minute: None,
            rate_limit_window: Duration::from_secs(60),
            search_lag: Duration::ZERO,
            fail_rate: 0.0,
            latency: Duration::ZERO,
            seed: 0,
        }
    }
}

impl Default for EmulatorConfig {
    fn default() -> EmulatorConfig {
        EmulatorConfig::new("admin@example.com", "token")
    }
}

/// State shared by the HTTP handlers and the in-process handle. Separate locks so
/// that counting a request never waits behind a search over the records; no code
/// path holds two of them at once.
pub(crate) struct Shared {
    credentials: Credentials,
    seed: u64,
    store: Mutex<Store>,
    control: Mutex<Control>,
    stats: Mutex<Stats>,
    apps: Mutex<apps::Apps>,
}

/// The knobs that decide, before a handler runs, whether a request is served.
pub(crate) struct Control {
    pub(crate) limiter: RateLimiter,
    pub(crate) faults: Faults,
    pub(crate) updates: updates::TicketUpdates,
    /// Agents with no Zendesk browser session: a screen pop for them reaches
    /// no browser (see `routes::voice`).
    pub(crate) signed_out: std::collections::BTreeSet<u64>,
    /// The account has Talk Partner Edition (else `POST /api/v2/calls` is
    /// forbidden, as for an account without it).
    pub(crate) talk_partner_edition: bool,
    /// "Incremental Exports": 10 requests per minute, counted apart from the
    /// account's limit.
    pub(crate) exports: RateLimiter,
}

/// Takes a lock even if a panicking thread poisoned it: the emulator's records stay
/// consistent because every mutation completes or returns an error before writing.
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

    pub(crate) fn apps(&self) -> MutexGuard<'_, apps::Apps> {
        lock(&self.apps)
    }

    pub(crate) fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Back to a fresh account: records, counters, the rate-limit window and the
    /// fault sequence (re-seeded), keeping the configured knobs.
    pub(crate) fn reset(&self) {
        self.store().reset();
        {
            let mut control = self.control();
            control.limiter.clear();
            control.faults.reseed(self.seed);
            control.updates.clear();
            control.signed_out.clear();
            control.exports.clear();
        }
        *self.stats() = Stats::default();
    }
}

/// "Rate limits" of the Incremental Exports reference: "You can make up to 10
/// requests per minute to these endpoints".
pub const EXPORTS_PER_MINUTE: u32 = 10;

/// An emulator that is configured but not yet listening.
pub struct Emulator {
    shared: Arc<Shared>,
}

impl Emulator {
    pub fn new(config: EmulatorConfig) -> Emulator {
        let shared = Shared {
            credentials: Credentials::new(&config.email, &config.token),
            seed: config.seed,
            store: Mutex::new(Store::new(&config.email, config.search_lag)),
            control: Mutex::new(Control {
                limiter: RateLimiter::new(config.requests_per_minute)
                    .with_window(config.rate_limit_window),
                faults: Faults::new(config.fail_rate, config.latency, config.seed),
                updates: updates::TicketUpdates::default(),
                signed_out: Default::default(),
                talk_partner_edition: true,
                exports: RateLimiter::new(Some(EXPORTS_PER_MINUTE)),
            }),
            stats: Mutex::new(Stats::default()),
            apps: Mutex::new(apps::Apps::default()),
        };
        Emulator {
            shared: Arc::new(shared),
        }
    }

    /// Binds `addr` (use port 0 for a free port) and serves in a tokio task until
    /// the returned handle is dropped.
    pub async fn start(self, addr: &str) -> std::io::Result<RunningEmulator> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let app = routes::app(self.shared.clone());
        let make_service =
            axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
                SocketAddr,
            >(app);
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, make_service).await {
                tracing::error!(%error, "zendesk-emulator stopped serving");
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
/// The `seed_*` methods write records directly: they are not counted as requests,
/// never fail, and seeded users and tickets are searchable at once (they stand for
/// data that has been in the account for a while).
pub struct RunningEmulator {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base_url: String,
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl RunningEmulator {
    /// Whether the agent has Zendesk open in a browser (every agent has, until
    /// signed out here): screen pops reach only signed-in agents.
    pub fn set_signed_in(&self, agent_id: u64, signed_in: bool) {
        let mut control = self.shared.control();
        match signed_in {
            true => control.signed_out.remove(&agent_id),
            false => control.signed_out.insert(agent_id),
        };
    }

    /// How long a change stays out of the incremental exports. Zendesk leaves
    /// out "any items that were created or changed within the minute prior to
    /// your request" ("Using the Incremental Export API"); tests and the
    /// benchmark shorten it so that a record seeded now is exported now.
    pub fn set_export_lag(&self, lag: Duration) {
        self.shared.store().export_lag = lag;
    }

    /// Whether the account has Talk Partner Edition (it has, until set
    /// otherwise): without it, call records are refused with 403.
    pub fn set_talk_partner_edition(&self, enabled: bool) {
        self.shared.control().talk_partner_edition = enabled;
    }

    /// Suspends a user (an admin's "Suspend access"), or lifts it.
    pub fn set_suspended(&self, user_id: u64, suspended: bool) {
        if let Some(user) = self.shared.store().users.get_mut(&user_id) {
            user.suspended = suspended;
        }
    }

    /// Uploads and installs a private app with `settings` (as an admin does
    /// with the zip `deskbridge zendesk app-package` makes): its (app id,
    /// installation id).
    pub fn install_app(&self, settings: serde_json::Value) -> (u64, u64) {
        self.shared.apps().install(None, settings)
    }

    /// Uploads the app whose `manifest.json` is `manifest` and installs it
    /// with `settings`: its locations load the manifest's URLs in the agent
    /// interface (`/__emulator/agent`).
    pub fn install_app_with_manifest(
        &self,
        manifest: &serde_json::Value,
        settings: serde_json::Value,
    ) -> (u64, u64) {
        self.shared.apps().install(Some(manifest), settings)
    }

    /// The installations, enabled or not, as "List App Installations" shows them.
    pub fn installations(&self) -> Vec<apps::Installation> {
        self.shared.apps().installations.clone()
    }

    /// Enables or disables an installation (an admin's switch in Zendesk).
    pub fn set_installation_enabled(&self, installation_id: u64, enabled: bool) {
        for i in &mut self.shared.apps().installations {
            if i.id == installation_id {
                i.enabled = enabled;
            }
        }
    }

    /// The token Zendesk posts when `user_id` opens `location` of the
    /// installation: what a signed URL's first load carries.
    pub fn zaf_token(&self, installation_id: u64, user_id: u64, location: &str) -> String {
        apps::sign(&apps::claims(installation_id, user_id, location))
    }

    /// Request counters and delivered screen pops.
    pub fn stats(&self) -> Stats {
        self.shared.stats().clone()
    }

    /// A copy of every record, for assertions.
    pub fn state(&self) -> StateSnapshot {
        self.shared.store().snapshot()
    }

    /// Clears records and counters, as `POST /__emulator/reset` does.
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Adds a user (any role) and returns its id.
    pub fn seed_user(&self, user: SeedUser) -> u64 {
        self.shared.store().seed_user(user)
    }

    /// Adds an agent (role `agent`) and returns its id.
    pub fn seed_agent(&self, email: &str, name: &str) -> u64 {
        self.shared.store().seed_user(SeedUser::agent(email, name))
    }

    /// Adds a ticket (any status, including `closed`) with its first comment and
    /// returns its id.
    pub fn seed_ticket(&self, ticket: SeedTicket) -> u64 {
        self.shared.store().seed_ticket(ticket)
    }

    /// Adds or replaces a ticket field with the id given.
    pub fn seed_ticket_field(&self, field: SeedTicketField) -> u64 {
        self.shared.store().seed_ticket_field(field)
    }

    /// Adds or replaces a ticket form with the id given.
    pub fn seed_ticket_form(&self, form: SeedTicketForm) -> u64 {
        self.shared.store().seed_ticket_form(form)
    }

    /// Changes the failure probability and the added latency at run time.
    pub fn set_faults(&self, fail_rate: f64, latency: Duration) {
        let mut control = self.shared.control();
        control.faults.fail_rate = fail_rate;
        control.faults.latency = latency;
    }

    /// Changes the account's requests-per-minute budget (`None`: unlimited).
    pub fn set_rate_limit(&self, requests_per_minute: Option<u32>) {
        self.shared.control().limiter.set_limit(requests_per_minute);
    }

    /// Makes the next `count` updates of `ticket` (of any ticket with `None`) fail
    /// as `fault` says.
    pub fn fail_ticket_updates(&self, ticket: Option<u64>, fault: UpdateFault, count: usize) {
        self.shared.control().updates.queue(ticket, fault, count);
    }

    /// Makes the next `count` ticket creates succeed (a key is remembered) and
    /// then answer 502, so the client does not learn the ticket.
    pub fn lose_ticket_create_answers(&self, count: usize) {
        self.shared.control().updates.creates_lost += count;
    }

    /// Makes the next `count` call records (`POST /api/v2/calls`) be stored,
    /// voice comment and all, and then answer 502.
    pub fn lose_call_answers(&self, count: usize) {
        self.shared.control().updates.calls_lost += count;
    }

    /// Changes the per-ticket update limit (`None`: unlimited); Zendesk's is
    /// [`TICKET_UPDATES_PER_WINDOW`] per [`TICKET_UPDATE_WINDOW`].
    pub fn set_ticket_update_limit(&self, limit: Option<(u32, Duration)>) {
        self.shared.control().updates.set_limit(limit);
    }

    /// Changes the account-wide update limit (`None`: unlimited); Zendesk's is
    /// [`ACCOUNT_UPDATES_PER_MINUTE`] a minute.
    pub fn set_account_update_limit(&self, limit: Option<(u32, Duration)>) {
        self.shared.control().updates.set_account_limit(limit);
    }

    /// The role the API user signs in with (default admin). With `Role::Agent`,
    /// user creation is refused with 403, as Zendesk refuses it to plain agents.
    pub fn set_api_role(&self, role: Role) {
        let mut store = self.shared.store();
        let admin = store.admin_id;
        store.set_role(admin, role);
    }

    /// Changes the search index lag for records created from now on.
    pub fn set_search_lag(&self, lag: Duration) {
        self.shared.store().search_lag = lag;
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}
