//! A client for the Freshdesk API v2, shaped by what a contact-center connector
//! needs: contacts by phone (the database's exact lists and the search index),
//! companies, tickets made with their description, private notes, the
//! requester's tickets, agents by email, ticket fields.
//!
//! Every request passes through a [`Budget`](deskbridge_budget::Budget): the
//! account's requests a minute, shared by every task using the client, and the
//! plan's endpoint limits ([`plan`]: ticket creates and updates, ticket and
//! contact lists), counted before sending. A 429 holds back what it applies
//! to (the endpoint, or the whole account) for its `Retry-After`. Each
//! request is sent once: a failure reaches the caller sorted
//! ([`FreshdeskError::is_transient`]), and the caller decides whether and when
//! to try again.

mod client;
mod error;
mod operations;
pub mod plan;
pub mod types;

pub use client::{ClientConfig, FreshdeskClient};
pub use deskbridge_budget::{Budget, Lane, as_lookup};
pub use error::{FieldError, FreshdeskError};
pub use operations::quoted;
pub use plan::{Plan, PlanLimits};
