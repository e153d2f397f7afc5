//! The integration tests that need deskbridge as a process of its own: a crash
//! injected mid-step, SIGTERM, several instances on one PostgreSQL database, and the
//! command line's exit codes and messages. Everything else runs in-process, in the
//! `it` binary.

mod server;

mod backfill;

mod calls;
mod chaos;
mod check_cli;
mod cli;
mod demo;
mod flood;
mod instances;
mod memory;
mod scale;
mod secrets;
mod triggers;
