//! The integration tests that run deskbridge inside the test process, one
//! [`common::TestApp`] per test, all in one binary (one link, one process, tests in
//! parallel threads). Tests that need a process of their own (crashes, signals,
//! exit codes, several instances) are in the `process` binary.

mod common;

mod admin;
mod agent;
mod ami;
mod backfill;
mod browser;
mod browser_wallboard;
mod calls;
mod chats;
mod connect;
mod crm_api;
mod cti;
mod dial_webhook;
mod freshdesk;
mod freshdesk_check;
#[cfg(feature = "demo")]
mod freshdesk_demo;
mod group_commit;
mod helpdesks;
mod hostile;
mod isolation;
mod kamailio;
mod limits;
mod lookup_bench;
mod metrics;
mod mirror;
mod openapi;
mod pops;
mod route;
mod rules;
mod stats;
mod streams;
mod triggers;
mod twilio;
mod twilio_dial;
mod wallboard;
mod zendesk;
mod zendesk_app;
mod zendesk_calls;
mod zendesk_documented;
mod zendesk_requests;
mod zendesk_wrap_up;
