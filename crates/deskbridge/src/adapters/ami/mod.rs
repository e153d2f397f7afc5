//! Asterisk's manager interface (AMI): deskbridge logs in to the PBX as a client
//! (`[groups.asterisk]`) and turns the events it hears into native call events.
//! The frame reader and the call tracker are `deskbridge_adapters::ami`;
//! [`client`] is the task that connects, logs in, reads, feeds the tracker and
//! commits its events through [`crate::ingest`], the path the HTTP ingest takes;
//! it reconnects with backoff.

pub mod client;

pub use client::spawn;
pub use deskbridge_adapters::ami::*;
