//! The parsers of outside input, compiled from the server's own source files (the
//! same code, not a copy), for the fuzz targets.

#[path = "../../crates/deskbridge/src/adapters/native.rs"]
pub mod native;

#[path = "../../crates/deskbridge/src/adapters/zammad.rs"]
pub mod zammad;

#[path = "../../crates/deskbridge/src/adapters/twilio.rs"]
pub mod twilio;

#[path = "../../crates/deskbridge/src/adapters/connect.rs"]
pub mod connect;

#[path = "../../crates/deskbridge/src/adapters/chat.rs"]
pub mod chat;

pub mod ami;

#[path = "../../crates/deskbridge/src/adapters/asterisk_cdr.rs"]
pub mod asterisk_cdr;
