//! Drives the emulator over HTTP, as deskbridge's Zendesk client will.

mod common;

mod admin;
mod auth;
mod calls;
mod export;
mod limits;
mod shapes;
mod tickets;
mod users;
mod voice;
