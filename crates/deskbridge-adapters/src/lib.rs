//! Adapters: one module per protocol, each turning what a phone system (or a chat
//! platform) sends into [`deskbridge_core::CallEvent`]s. Pure translation: no
//! runtime, no database, no HTTP stack (the server does the I/O and asks the
//! core to decide), so the fuzz targets and the server compile the same code.

pub mod ami;
pub mod asterisk_cdr;
pub mod chat;
pub mod connect;
pub mod native;
pub mod twilio;
pub mod twilio_dial;
pub mod zammad;
