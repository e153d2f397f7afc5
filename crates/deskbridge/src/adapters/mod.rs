//! Adapters: one module per protocol, each turning what a phone system (or a chat
//! platform) sends into [`deskbridge_core::CallEvent`]s.

pub mod ami;
pub mod asterisk_cdr;
pub mod chat;
pub mod connect;
pub mod native;
pub mod twilio;
pub mod zammad;
