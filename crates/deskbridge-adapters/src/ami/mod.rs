//! Asterisk's manager interface (AMI), without I/O:
//!
//! - [`frame`]: the wire format, bytes to frames.
//! - [`tracker`]: the calls, frames to [`deskbridge_core::CallEvent`]s.
//! - [`originate`]: click-to-call's `Originate` action and its failures.
//! - [`queue`]: pausing queue members, and the events that report it.
//!
//! The server's AMI client (`deskbridge::adapters::ami::client`) connects, logs
//! in, reads, and feeds these.

pub mod fields;
pub mod frame;
pub mod originate;
pub mod queue;
pub mod tracker;

pub use frame::{Frame, FrameReader, Item, parse};
pub use tracker::Tracker;
