//! What deskbridge's tests say in a user's words, shared by `tests/it` (in
//! process) and `tests/process` (a real server).
//!
//! - [`CallScript`]: a call's events as a phone system sends them, written as
//!   what happens ("rings from, answered by Ann, ends completed after a
//!   minute, with a recording") instead of JSON by hand.
//! - [`CallView`]: the call as `GET /api/v1/calls/{id}` shows it, with typed
//!   accessors for what tests check (its ticket, contact, sync, steps).
//! - [`flood::SlowReaders`]: clients that never read their answers.

pub mod flood;
mod script;
mod view;

pub use script::{Agent, CallScript, OUR_NUMBER, answered_call};
pub use view::CallView;
