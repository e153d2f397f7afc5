//! Asterisk's manager interface (AMI): deskbridge logs in to the PBX as a client
//! (`[groups.asterisk]`) and turns the events it hears into native call events.
//!
//! - [`frame`]: the wire format, bytes to frames, without I/O.
//! - [`tracker`]: the calls, frames to [`deskbridge_core::CallEvent`]s, without I/O.
//! - [`client`]: the task that connects, logs in, reads, feeds the tracker and
//!   commits its events through [`crate::ingest`], the path the HTTP ingest takes;
//!   it reconnects with backoff.

pub mod client;
pub mod fields;
pub mod frame;
pub mod tracker;

pub use client::spawn;
pub use frame::{Frame, FrameReader, Item, parse};
pub use tracker::Tracker;
