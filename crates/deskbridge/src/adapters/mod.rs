//! Adapters: one module per protocol, each turning what a phone system sends into
//! [`deskbridge_core::CallEvent`]s.

pub mod connect;
pub mod native;
pub mod twilio;
pub mod zammad;
