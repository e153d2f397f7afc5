//! A connector group's policy: how callers are identified, which ticket a call goes
//! to, who it is assigned to, and what unanswered calls and agent mode do.
//!
//! The policy is plain data, read from the config once at start. Its templates are
//! compiled once into [`crate::templates::Templates`] (which is also how `deskbridge check` finds
//! their mistakes); the part of it that decides which steps a call needs is copied
//! onto each call as its [`CallPlan`]. Per-call attributes (set by an IVR or a
//! contact flow) override the group's settings; the attribute names are part of
//! the policy so admins migrating from other connectors keep theirs.

mod plan;
mod thresholds;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::event::Outcome;
use crate::pop::{PopAction, PopNewTicket, PopOn};
pub use crate::ticket::{Priority, TicketStatus, TicketType};

pub use plan::{CallPlan, WorkLane};
pub use thresholds::Thresholds;

/// What happens to calls nobody answered (missed, busy, abandoned) and voicemails.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnansweredPolicy {
    /// The same ticket rules as answered calls (IVR ticket, reuse window, open
    /// ticket), ending in a new ticket.
    #[default]
    NewTicket,
    /// A comment on the caller's reuse-window ticket; nothing if there is none.
    RecentTicket,
    /// Only the caller log; nothing in the helpdesk.
    LogOnly,
}

impl UnansweredPolicy {
    /// The policy for a call that ended this way; `None` when it was answered or
    /// is not over yet.
    pub fn for_outcome(
        outcome: Option<Outcome>,
        missed_call: UnansweredPolicy,
        voicemail: UnansweredPolicy,
    ) -> Option<UnansweredPolicy> {
        match outcome? {
            // A forwarded call was handled elsewhere: logged like any call,
            // never as missed.
            Outcome::Answered | Outcome::Forwarded => None,
            Outcome::Voicemail => Some(voicemail),
            _ => Some(missed_call),
        }
    }
}

/// Several contacts share the caller's number.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AmbiguousCaller {
    /// The most recently created of them (recorded on the call as a choice).
    #[default]
    Newest,
    /// The agent picks during the call; the group's fallback runs on timeout.
    Agent,
    /// None of them: a new contact.
    NewContact,
}

/// When a call's ticket is chosen or created.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketTiming {
    /// When the call is answered: the ticket exists while the agent talks; the
    /// call comment follows when the call ends (two writes).
    Answer,
    /// When the call ends: one write carries ticket, comment and recording.
    #[default]
    End,
}

/// Who chooses the ticket.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketAssignment {
    #[default]
    Auto,
    /// No automatic ticket: the call waits for the agent's decision.
    Agent,
}

/// What runs when the agent did not decide in time.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentFallback {
    #[default]
    Auto,
    LogOnly,
}

/// Which records deskbridge may create (`create = [...]` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateSet {
    pub contact: bool,
    pub organization: bool,
    pub ticket: bool,
    pub comment: bool,
}

impl Default for CreateSet {
    fn default() -> Self {
        CreateSet {
            contact: true,
            organization: false,
            ticket: true,
            comment: true,
        }
    }
}

impl CreateSet {
    /// Reads `["contact", "ticket", ...]`; returns the unknown word on error.
    pub fn parse(words: &[String]) -> Result<CreateSet, String> {
        let mut set = CreateSet {
            contact: false,
            organization: false,
            ticket: false,
            comment: false,
        };
        for w in words {
            match w.as_str() {
                "contact" => set.contact = true,
                "organization" => set.organization = true,
                "ticket" => set.ticket = true,
                "comment" => set.comment = true,
                other => return Err(other.to_string()),
            }
        }
        Ok(set)
    }
}

/// The names of the per-call attributes the policy reads.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AttributeNames {
    /// The caller's contact id, collected by the IVR.
    pub contact: String,
    /// A number to search instead of the caller id.
    pub customer_number: String,
    /// The name for a new contact.
    pub customer_name: String,
    /// A ticket number from the IVR; `0` means a new ticket.
    pub ticket: String,
    /// Reuse window in minutes for this call (`0` turns it off).
    pub reuse_minutes: String,
    /// `true`/`false`: attach to the caller's open ticket.
    pub attach_open_ticket: String,
    /// `true`: always a new ticket (skips IVR ticket, reuse and attach).
    pub force_new_ticket: String,
    /// `auto` or `agent`.
    pub ticket_assignment: String,
    /// `ringing`, `answered` or `off` (also `true`: the group's moment, or
    /// `answered` where the group pops nothing; `false`: no pop): when this call
    /// pops.
    pub pop_incoming: String,
}

impl Default for AttributeNames {
    fn default() -> Self {
        AttributeNames {
            contact: "zendesk_user".into(),
            customer_number: "customer_number".into(),
            customer_name: "customer_name".into(),
            ticket: "zendesk_ticket".into(),
            reuse_minutes: "recent_ticket_timeout".into(),
            attach_open_ticket: "attach_open_ticket".into(),
            force_new_ticket: "force_ticket_creation".into(),
            ticket_assignment: "ticket_assignment".into(),
            pop_incoming: "pop_incoming".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Policy {
    pub create: CreateSet,
    /// Name of a contact created for an unknown caller.
    pub contact_name: String,
    /// Name of the organization created with a new contact (when `create` has
    /// "organization"); an empty result creates none.
    pub organization_name: String,
    pub ambiguous_caller: AmbiguousCaller,
    /// Use the IVR's ticket number when it is valid.
    pub use_ivr_ticket: bool,
    /// Reuse the caller's most recently updated not-closed ticket updated within this
    /// many minutes (0: off).
    pub reuse_recent_minutes: u32,
    /// Attach to the caller's open ticket instead of creating one.
    pub attach_open_ticket: bool,
    /// A call logged on a solved ticket sets it open again (else it stays solved,
    /// in no agent's view).
    pub reopen_solved: bool,
    pub create_ticket_at: TicketTiming,
    /// After an answered call ends, wait this long for its recording so that the
    /// call comment carries the link (0: do not wait; a late recording then adds a
    /// comment of its own).
    pub wait_for_recording_seconds: u64,
    pub ticket_subject: String,
    pub ticket_priority: Priority,
    pub ticket_type: TicketType,
    pub ticket_status: TicketStatus,
    pub ticket_tags: Vec<String>,
    pub ticket_form: Option<String>,
    /// The helpdesk group a new ticket goes to: a template over call data
    /// rendering the group's id (e.g. from the queue); empty: none, the
    /// helpdesk's own routing decides.
    pub ticket_group: String,
    /// Freshdesk's product of a new ticket, a template as `ticket_group`.
    pub ticket_product: String,
    /// Ticket field id → template over call data.
    pub custom_fields: BTreeMap<String, String>,
    /// Assign tickets to the answering agent.
    pub assign: bool,
    /// Assignee when the agent is not in the directory (an agent's email).
    pub default_assignee: Option<String>,
    pub missed_call: UnansweredPolicy,
    pub voicemail: UnansweredPolicy,
    pub ticket_assignment: TicketAssignment,
    /// Seconds from the call's start that the agent has to decide.
    pub agent_timeout_seconds: u64,
    pub agent_fallback: AgentFallback,
    pub attributes: AttributeNames,
    /// When the agent's screen pops (`pop_on`).
    pub pop_on: PopOn,
    /// What it opens (`pop_action`).
    pub pop_action: PopAction,
    /// Whether a ticket pop opens a new ticket (`pop_new_ticket`).
    pub pop_new_ticket: PopNewTicket,
    /// A ticket field holding the caller's number: `ticket_by_ani` opens the
    /// ticket whose field has it instead of the caller's most recent ticket
    /// (`pop_ticket_field`).
    pub pop_ticket_field: Option<String>,
    /// One custom field filled on a new ticket the pop opens, and on no other
    /// ticket (`pop_new_ticket_field`).
    pub pop_new_ticket_field: Option<PopField>,
    /// A call that ends with a recording is written as a voice comment (the
    /// helpdesk's recording player and call details) on the ticket created for it,
    /// where the helpdesk has them (`zendesk_voice`).
    pub voice_comments: bool,
    /// The call comment on an existing ticket is written as a call record of
    /// this telephony app in the helpdesk's call log, the record's own comment
    /// showing the call (`zendesk_app_id`: Talk Partner Edition's Calls API).
    pub call_record_app_id: Option<u64>,
    /// What a closed chat of this site becomes (`[groups.chat]`).
    pub chat: crate::conversation::ChatPolicy,
    /// Missed calls open callbacks (`callbacks`, `callback_within_minutes`,
    /// `callback_attempts`).
    pub callbacks: crate::callback::CallbackRules,
    /// `[groups.wrap_up]`, when the group asks agents to wrap calls up.
    pub wrap_up: Option<crate::wrap_up::WrapUpRules>,
    /// What the group's figures count as answered in time and as a short
    /// abandon (`service_level_seconds`, `short_abandon_seconds`).
    pub thresholds: Thresholds,
}

/// A ticket field id and the template over call data that fills it.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopField {
    pub id: String,
    pub value: String,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            create: CreateSet::default(),
            contact_name: "Caller {{ caller }}".into(),
            organization_name: String::new(),
            ambiguous_caller: AmbiguousCaller::Newest,
            use_ivr_ticket: true,
            reuse_recent_minutes: 0,
            attach_open_ticket: false,
            reopen_solved: true,
            create_ticket_at: TicketTiming::End,
            wait_for_recording_seconds: 0,
            ticket_subject: "{{ direction | capitalize }} call {{ caller }}".into(),
            ticket_priority: Priority::Normal,
            ticket_type: TicketType::Question,
            ticket_status: TicketStatus::New,
            ticket_tags: Vec::new(),
            ticket_form: None,
            ticket_group: String::new(),
            ticket_product: String::new(),
            custom_fields: BTreeMap::new(),
            assign: true,
            default_assignee: None,
            missed_call: UnansweredPolicy::NewTicket,
            voicemail: UnansweredPolicy::NewTicket,
            ticket_assignment: TicketAssignment::Auto,
            agent_timeout_seconds: 300,
            agent_fallback: AgentFallback::Auto,
            attributes: AttributeNames::default(),
            pop_on: PopOn::Off,
            pop_action: PopAction::TicketByAni,
            pop_new_ticket: PopNewTicket::WhenNotFound,
            pop_ticket_field: None,
            pop_new_ticket_field: None,
            voice_comments: false,
            call_record_app_id: None,
            chat: crate::conversation::ChatPolicy::default(),
            callbacks: crate::callback::CallbackRules::default(),
            wrap_up: None,
            thresholds: Thresholds::default(),
        }
    }
}

/// Which of the Zendesk app's defaults the config left to it: a group whose
/// config names no `zendesk_app_id` (or no `zendesk_voice`) takes the app's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppDefaults {
    pub call_records: bool,
    pub voice_comments: bool,
}

impl Policy {
    /// The policy once deskbridge's Zendesk app (app `app_id`) is installed in
    /// the group's account: a call on an existing ticket becomes a call record
    /// of the app, and a call's ticket gets a voice comment, unless the config
    /// chose otherwise. `None` when the config chose both (nothing changes).
    pub fn with_installed_app(&self, app_id: u64, defaults: AppDefaults) -> Option<Policy> {
        if !defaults.call_records && !defaults.voice_comments {
            return None;
        }
        let mut policy = self.clone();
        if defaults.call_records {
            policy.call_record_app_id = Some(app_id);
        }
        if defaults.voice_comments {
            policy.voice_comments = true;
        }
        Some(policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_installed_app_gives_call_records_and_voice_comments_unless_configured() {
        let base = Policy::default();
        let both = base
            .with_installed_app(
                7,
                AppDefaults {
                    call_records: true,
                    voice_comments: true,
                },
            )
            .unwrap();
        assert_eq!(both.call_record_app_id, Some(7));
        assert!(both.voice_comments);
        // The config set zendesk_voice = false: voice stays off.
        let records_only = base
            .with_installed_app(
                7,
                AppDefaults {
                    call_records: true,
                    voice_comments: false,
                },
            )
            .unwrap();
        assert_eq!(records_only.call_record_app_id, Some(7));
        assert!(!records_only.voice_comments);
        // The config named its own app id and voice: nothing to change.
        assert_eq!(base.with_installed_app(7, AppDefaults::default()), None);
    }

    #[test]
    fn create_sets() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            CreateSet::parse(&words(&["comment"])).unwrap(),
            CreateSet {
                contact: false,
                organization: false,
                ticket: false,
                comment: true
            }
        );
        assert_eq!(
            CreateSet::parse(&words(&["tickets"])),
            Err("tickets".into())
        );
    }
}
