//! The deskbridge server: configuration, the HTTP API, and the workers that carry
//! each call's steps to the helpdesk.

pub mod adapters;
pub mod agent_auth;
pub mod app;
pub mod backends;
pub mod backfill;
pub mod card;
pub mod check;
pub mod config;
pub mod http;
pub mod ingest;
pub mod state;
pub mod telemetry;
pub mod token;
pub mod triggers;
pub mod worker;
