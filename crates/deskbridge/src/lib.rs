//! The deskbridge server: configuration, the HTTP API, and the workers that carry
//! each call's steps to the helpdesk.

/// The git commit this binary was built from (`build.rs`), `unknown` when it
/// was built without git.
pub const COMMIT: &str = env!("DESKBRIDGE_COMMIT");

/// `0.1.0 (abc1234)`: what `deskbridge --version` prints after the name.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("DESKBRIDGE_COMMIT"),
    ")"
);

pub mod adapters;
pub mod agent_auth;
pub mod app;
pub mod backends;
pub mod backfill;
pub mod card;
pub mod check;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod dialers;
pub mod http;
pub mod ingest;
pub mod pauses;
pub mod state;
pub mod telemetry;
pub mod token;
pub mod triggers;
pub mod wallboard;
pub mod worker;
pub mod zendesk_app;
