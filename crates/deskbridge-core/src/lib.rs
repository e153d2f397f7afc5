//! deskbridge's core: the domain types and the decisions, with no I/O.
//!
//! Adapters turn what a phone system sends into [`event::CallEvent`]s; the
//! [`interaction::Interaction`] state machine turns events into facts and due
//! [`interaction::Step`]s; the decision functions in [`decide`] and the [`policy`]
//! say what each step does; the [`ports`] are the traits through which the binary
//! does the I/O.

pub mod comment;
pub mod decide;
pub mod event;
pub mod interaction;
pub mod phone;
pub mod policy;
pub mod ports;

pub use event::{AgentRef, CallEvent, Direction, EndReason, EventKind};
pub use interaction::{ApplyError, CallState, Interaction, Outcome, Step, StepOutcome};
pub use phone::{Phone, Region};
pub use policy::Policy;
