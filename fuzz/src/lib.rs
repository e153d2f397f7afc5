//! The parsers of outside input, as the server compiles them: the
//! `deskbridge-adapters` crate (pure translation, no I/O), re-exported under the
//! names the fuzz targets use.

pub use deskbridge_adapters::{ami, asterisk_cdr, chat, connect, native, twilio, zammad};
