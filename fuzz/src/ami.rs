//! The Asterisk manager interface's frame reader and call tracker.

#[path = "../../crates/deskbridge/src/adapters/ami/fields.rs"]
pub mod fields;
#[path = "../../crates/deskbridge/src/adapters/ami/frame.rs"]
pub mod frame;
#[path = "../../crates/deskbridge/src/adapters/ami/tracker.rs"]
pub mod tracker;
