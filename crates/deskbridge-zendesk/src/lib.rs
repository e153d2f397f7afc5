//! A client for the Zendesk Support API, shaped by what a contact-center connector
//! needs: find and create end users by phone, organizations, tickets with their
//! first comment, comments on existing tickets, the requester's recent tickets,
//! agents by email, and Talk Partner Edition screen pops.
//!
//! Every request passes through a [`Budget`]: the account's requests-per-minute
//! allowance, shared by every task using the client, with a call's interactive
//! requests (pops, identifying the caller) served before the bulk lane (creates,
//! comments), and lookups asked for by a PBX or an agent in a routing lane with
//! its own share ([`as_lookup`]). A 429 pauses
//! the whole budget for its `Retry-After`, so no request is sent while the account
//! is limited. Each request is sent once: a failure reaches the caller sorted
//! ([`ZendeskError::is_transient`], with Zendesk's `Retry-After` when it gave one),
//! and the caller decides whether and when to try again.

mod apps;
mod client;
mod error;
mod limits;
pub mod types;
pub mod zaf;

pub use client::{Auth, ClientConfig, ZendeskClient};
pub use deskbridge_budget::{
    Bucket, Budget, DEFAULT_LOOKUP_PERCENT, Lane, SharedBudget, as_lookup,
};
pub use error::ZendeskError;
pub use limits::{Counted, INCREMENTAL_EXPORTS, Limit, USER_UPDATES, UpdateLimits};
