//! Adapters: the protocol translators live in `deskbridge-adapters` (pure, no
//! I/O); here the one that does I/O, the AMI client.

pub mod ami;
pub use deskbridge_adapters::{asterisk_cdr, chat, connect, native, twilio, zammad};
