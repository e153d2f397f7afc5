//! deskbridge's core: the domain types and the decisions, with no I/O.
//!
//! Adapters turn what a phone system sends into [`event::CallEvent`]s; the
//! [`interaction::Interaction`] state machine turns events into facts and names
//! the call's next [`interaction::Step`]; [`queue`] says how that step joins the
//! call's job queue and whether the call is synced; [`steps`] runs a step as a
//! state machine that asks for what it needs (through the [`ports`]) and says
//! what it learned, deciding with the functions in [`decide`] under the group's
//! [`policy`], and recording the [`rule`] behind each choice. The binary does the
//! I/O.

pub mod agent;
pub mod bounds;
pub mod callback;
pub mod caller_log;
pub mod chat;
pub mod comment;
pub mod conversation;
pub mod decide;
pub mod dial;
pub mod dialing;
pub mod event;
pub mod group_for;
pub mod interaction;
pub mod pause;
pub mod phone;
pub mod policy;
pub mod pop;
pub mod ports;
pub mod queue;
pub mod rate_limit;
pub mod retry;
pub mod route;
pub mod rule;
pub mod sign_in;
pub mod stats;
pub mod steps;
pub mod templates;
pub mod ticket;
pub mod ticket_rules;
pub mod trigger;
pub mod wallboard;
pub mod wrap_up;

pub use event::{AgentRef, CallEvent, Direction, EndReason, EventKind};
pub use interaction::agent_mode;
pub use interaction::{ApplyError, CallState, Interaction, Outcome, Step, StepOutcome};
pub use phone::{Phone, Region};
pub use policy::{CallPlan, Policy};
pub use queue::{JobStatus, SyncStatus, WorkLane};
pub use rule::{AssigneeRule, ContactRule, TicketRule};
pub use templates::Templates;
