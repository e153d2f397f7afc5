//! Drives the emulator over HTTP, as deskbridge's Freshdesk client will.

mod common;

mod auth;
mod contacts;
mod faults;
mod limits;
mod node_client;
mod notes;
mod paging;
mod process;
mod search;
mod tickets;
