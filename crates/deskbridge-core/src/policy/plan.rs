//! The part of a group's policy that decides which steps a call needs and when.

use serde::{Deserialize, Serialize};

use crate::pop::PopOn;

use super::{
    AgentFallback, AmbiguousCaller, Policy, TicketAssignment, TicketTiming, UnansweredPolicy,
};

/// Which workers run a call's steps: the lane is chosen when the call starts (it
/// is part of its [`crate::CallPlan`]) and every job of the call is queued in it.
///
/// Why two lanes: a history import (`deskbridge backfill`) queues thousands of
/// calls at once, and their steps must never make a live call wait for a worker
/// or for the helpdesk's request budget. Live workers claim live steps only; bulk
/// steps are claimed by the import's own workers, paced at its rate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkLane {
    /// A call happening now (or just now): its steps go first.
    #[default]
    Live,
    /// A call from an imported history: its steps yield to every live step.
    Bulk,
}

impl WorkLane {
    /// The job row's `priority`: lower runs first.
    pub fn priority(self) -> i64 {
        match self {
            WorkLane::Live => 0,
            WorkLane::Bulk => 1,
        }
    }
}

/// Which steps a call needs and when, copied from its group's [`Policy`] when the
/// call starts and stored with it.
///
/// Two reasons to keep it on the call rather than look the group up each time:
/// the store queues a call's next step inside its own transactions and must not
/// call back into the application for the group's policy; and a call is carried
/// through, and shown by the API, under the rules it started with, even when the
/// configuration changes (or another instance runs another version of it) while
/// the call is in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CallPlan {
    pub missed_call: UnansweredPolicy,
    pub voicemail: UnansweredPolicy,
    /// The group's default; the call's attribute (named below) overrides it.
    pub ticket_assignment: TicketAssignment,
    pub ticket_assignment_attribute: String,
    pub ambiguous_caller: AmbiguousCaller,
    pub agent_timeout_seconds: u64,
    pub agent_fallback: AgentFallback,
    pub create_ticket_at: TicketTiming,
    pub wait_for_recording_seconds: u64,
    /// The group writes call comments (`create` has "comment").
    pub log_calls: bool,
    /// When the call's agents get a screen pop; the call's attribute (named
    /// below) overrides it.
    pub pop_on: PopOn,
    pub pop_incoming_attribute: String,
    /// The workers that run the call's steps: live, unless the call was
    /// imported from a history (`deskbridge backfill`). Not from the policy:
    /// the importer sets it on the plan its calls start under.
    pub lane: WorkLane,
    /// Whether the call's missed or answered end acts on its number's
    /// callback, and under which rules (`crate::callback`).
    pub callbacks: crate::callback::CallbackRules,
    /// The call's records go to the helpdesk (contact, ticket, comment, pop).
    /// False for a call an agent dialed with `log = "none"`: it is kept in
    /// deskbridge's call log only.
    pub record_in_helpdesk: bool,
    /// The ticket an agent dialed from (`log = "ticket"`): the call is logged
    /// on it as on an IVR's ticket, whether or not the group takes IVR
    /// tickets (`use_ivr_ticket`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_on_ticket: Option<String>,
    /// The group's wrap-up (`[groups.wrap_up]`): the codes an agent chooses
    /// from, and how long an answered call's comment waits for one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrap_up: Option<crate::wrap_up::WrapUpRules>,
    /// The group's thresholds for its figures: the store counts the call when
    /// it saves it, by these, without asking the application (a call stored
    /// before plans had them reads the defaults).
    pub thresholds: super::Thresholds,
}

impl CallPlan {
    pub fn of(policy: &Policy) -> CallPlan {
        CallPlan {
            missed_call: policy.missed_call,
            voicemail: policy.voicemail,
            ticket_assignment: policy.ticket_assignment,
            ticket_assignment_attribute: policy.attributes.ticket_assignment.clone(),
            ambiguous_caller: policy.ambiguous_caller,
            agent_timeout_seconds: policy.agent_timeout_seconds,
            agent_fallback: policy.agent_fallback,
            create_ticket_at: policy.create_ticket_at,
            wait_for_recording_seconds: policy.wait_for_recording_seconds,
            log_calls: policy.create.comment,
            pop_on: policy.pop_on,
            pop_incoming_attribute: policy.attributes.pop_incoming.clone(),
            lane: WorkLane::Live,
            callbacks: policy.callbacks,
            record_in_helpdesk: true,
            log_on_ticket: None,
            wrap_up: policy.wrap_up.clone(),
            thresholds: policy.thresholds,
        }
    }
}

/// The plan of the default policy: what a call stored before calls carried their
/// plan is carried through with.
impl Default for CallPlan {
    fn default() -> Self {
        CallPlan::of(&Policy::default())
    }
}
