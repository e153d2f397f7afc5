//! The per-call state machine.
//!
//! An [`Interaction`] is everything deskbridge knows about one call, built up from its
//! events in whatever order they arrive. Phone systems resend events, reorder them
//! (an `ended` can overtake its `answered`) and send some late (a `recording` minutes
//! after the call), so the interaction stores *facts* (when it was answered, why it
//! ended, who answered) and derives its state and outcome from them. Applying the same
//! events in any order gives the same facts.
//!
//! The helpdesk work is derived, not planned: [`Interaction::next_step`] looks at the
//! facts and at what earlier steps recorded ([`Interaction::record`]) and names the
//! one step to run next, if any. A call has at most one step queued at a time, so its
//! steps run in order, and a step always sees every fact that arrived before it ran,
//! whatever the order of the events.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::conversation::Conversation;
pub use crate::event::Outcome;
use crate::event::{AgentRef, CallEvent, Direction, EndReason, EventKind};
use crate::phone::Phone;
use crate::policy::{
    AgentFallback, AmbiguousCaller, CallPlan, TicketAssignment, TicketTiming, UnansweredPolicy,
};
use crate::pop::PopRecord;
use crate::rule::{AssigneeRule, ContactRule, TicketRule};

pub mod agent_mode;
mod pops;
mod queues;
mod waits;
use agent_mode::{AgentAction, AgentChoice};
pub use pops::{pop_due, pop_moment};
pub use queues::{MAX_QUEUE_MENTIONS, QueueLeft, QueueMention, QueueVisit};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    Ringing,
    Answered,
    Ended,
}

impl CallState {
    pub fn as_str(&self) -> &'static str {
        match self {
            CallState::Ringing => "ringing",
            CallState::Answered => "answered",
            CallState::Ended => "ended",
        }
    }
}

/// A unit of helpdesk work for one call. Steps of a call run one at a time, in the
/// order they were handed out.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Find the customer's contact, or create it.
    IdentifyCaller,
    /// Choose or create the ticket the call belongs to.
    OpenTicket,
    /// Wait for the agent's decision (agent mode, or a number shared by several
    /// contacts); runs at the deadline and applies the group's fallback.
    AwaitAgent,
    /// Write the call comment (details, outcome, recording) once the call ended.
    LogCall,
    /// A recording that arrived after the call comment was written.
    AddRecording,
    /// A wrap-up that arrived after the call comment was written: its line,
    /// tag and field on the ticket.
    AddWrapUp,
    /// Open the caller's contact or ticket on one agent's screen (the agent whose
    /// phone rings, or who answered). Runs before the call's other steps, and
    /// what it finds or creates is the call's contact and ticket.
    Pop,
}

impl Step {
    pub fn as_str(&self) -> &'static str {
        match self {
            Step::IdentifyCaller => "identify_caller",
            Step::OpenTicket => "open_ticket",
            Step::AwaitAgent => "await_agent",
            Step::LogCall => "log_call",
            Step::AddRecording => "add_recording",
            Step::AddWrapUp => "add_wrap_up",
            Step::Pop => "pop",
        }
    }

    pub fn parse(s: &str) -> Option<Step> {
        [
            Step::IdentifyCaller,
            Step::OpenTicket,
            Step::AwaitAgent,
            Step::LogCall,
            Step::AddRecording,
            Step::AddWrapUp,
            Step::Pop,
        ]
        .into_iter()
        .find(|step| step.as_str() == s)
    }
}

/// What a finished step learned, recorded on the interaction before the next step
/// of the call may start.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepOutcome {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_rule: Option<ContactRule>,
    /// Contacts sharing the caller's number, newest first, when the agent decides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contact_candidates: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<String>,
    /// The rules the ticket choice went through, in order; the last one decided.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ticket_rules: Vec<TicketRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee_rule: Option<AssigneeRule>,
    /// The recording link a comment carried, so the same link is not added twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logged_recording: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment_id: Option<String>,
    /// The call comment was written (with the ticket's create, or on its own).
    /// A create that carried the comment and succeeded is the proof, even when the
    /// helpdesk's answer does not name the comment.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub call_logged: bool,
    /// The call's wrap-up is on the ticket (its comment line, tag and field).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub wrap_up_logged: bool,
    /// The agent did not decide before the deadline.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub agent_timed_out: bool,
    /// Why the step did nothing, when it did nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// The agent a `Pop` step ran for (as the event named them), whether or not
    /// it popped anything: each agent of a call pops once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pop_for: Option<AgentRef>,
    /// The pop shown to that agent (boxed: most outcomes have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pop: Option<Box<PopRecord>>,
    /// The call's record in the helpdesk's call log (`zendesk_app_id`): made,
    /// or refused and why (the text comment was written instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_record: Option<crate::ports::CallRecordStatus>,
}

/// An event that cannot start a call, or cannot be taken at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    #[error("the first event of call {call_id:?} needs a direction (\"inbound\" or \"outbound\")")]
    MissingDirection { call_id: String },
    /// A field out of [`crate::bounds`] (checked on the commit path of every
    /// adapter before the event is stored).
    #[error(transparent)]
    OutOfBounds(#[from] crate::bounds::OutOfBounds),
}

/// Which steps have finished.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    pub identify: bool,
    pub ticket: bool,
    pub log: bool,
    /// The agent's choice was carried out (`AwaitAgent` ran with it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub agent: bool,
    /// The wrap-up is on the ticket.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub wrap_up: bool,
}

/// The step to run next and the earliest time to run it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextStep {
    pub step: Step,
    pub not_before: Option<DateTime<Utc>>,
}

/// Why a call waits for its agent.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentWait {
    /// `ticket_assignment=agent`: the agent picks the ticket.
    AgentMode,
    /// Several contacts share the number and the group lets the agent pick.
    AmbiguousCaller,
}

/// Everything known about one call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    pub call_id: String,
    pub group: String,
    pub direction: Direction,
    pub from: Option<Phone>,
    pub to: Option<Phone>,
    pub first_at: DateTime<Utc>,
    pub ringing_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// Agents who answered, in the order they answered (transfers, queue calls).
    pub agents: Vec<AgentRef>,
    /// Agents whose phone rang with the call (the `agent` of `ringing` events),
    /// in the order they rang: who a pop on ringing goes to.
    #[serde(default)]
    pub rang: Vec<AgentRef>,
    /// The first queue an event named (as received).
    pub queue: Option<String>,
    /// Every queue the call's events named, with when, sorted by time: the
    /// facts the call's queue history is read from
    /// ([`Interaction::queue_visits`]), whatever order the events came in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queue_mentions: Vec<QueueMention>,
    pub attributes: BTreeMap<String, String>,
    pub end_reason: Option<EndReason>,
    pub duration_s: Option<u64>,
    pub voicemail: bool,
    pub recording_url: Option<String>,
    pub transcript: Option<String>,
    pub contact_id: Option<String>,
    pub contact_rule: Option<ContactRule>,
    #[serde(default)]
    pub contact_candidates: Vec<String>,
    pub ticket_id: Option<String>,
    #[serde(default)]
    pub ticket_rules: Vec<TicketRule>,
    #[serde(default)]
    pub assignee: Option<String>,
    #[serde(default)]
    pub assignee_rule: Option<AssigneeRule>,
    #[serde(default)]
    pub logged_recordings: Vec<String>,
    /// The call comment, once written.
    pub comment_id: Option<String>,
    /// The call's record in the helpdesk's call log, once made (its id): a
    /// recording that arrives later goes onto it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_record_id: Option<String>,
    #[serde(default)]
    pub agent_timed_out: bool,
    #[serde(default)]
    pub done: Done,
    /// The group's rules for this call's steps, as they were when it started.
    #[serde(default)]
    pub plan: CallPlan,
    /// Screen pops made for the call's agents, in the order they were made.
    #[serde(default)]
    pub pops: Vec<PopRecord>,
    /// Agent mode: what the agent chose (`POST /api/v1/calls/{id}/decision`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_choice: Option<AgentChoice>,
    /// The agents the pop step has run for (popped, or not in the directory).
    #[serde(default)]
    pub popped: Vec<AgentRef>,
    /// A chat: the whole conversation (its one event carried it). A chat's plan
    /// is its own ([`Interaction::next_step`]): identify the visitor, then one
    /// ticket with the transcript.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<Box<Conversation>>,
    /// What the call did to its number's callback, once it did
    /// ([`crate::decide::callback::follow`]): set by the store in the transaction
    /// that wrote the callback, so a call acts on it once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<crate::callback::CallbackMark>,
    /// The agent's wrap-up ([`crate::decide::wrap_up::accept`]); the first
    /// one stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrap_up: Option<crate::wrap_up::WrapUp>,
}

impl Interaction {
    /// Starts an interaction from the first event received for the call, under its
    /// group's plan.
    pub fn start(
        group: &str,
        plan: &CallPlan,
        event: &CallEvent,
    ) -> Result<Interaction, ApplyError> {
        let direction = event
            .direction
            .ok_or_else(|| ApplyError::MissingDirection {
                call_id: event.call_id.clone(),
            })?;
        Ok(Interaction {
            call_id: event.call_id.clone(),
            group: group.to_string(),
            direction,
            from: None,
            to: None,
            first_at: event.at,
            ringing_at: None,
            answered_at: None,
            ended_at: None,
            agents: Vec::new(),
            rang: Vec::new(),
            queue: None,
            queue_mentions: Vec::new(),
            attributes: BTreeMap::new(),
            end_reason: None,
            duration_s: None,
            voicemail: false,
            recording_url: None,
            transcript: None,
            contact_id: None,
            contact_rule: None,
            contact_candidates: Vec::new(),
            ticket_id: None,
            ticket_rules: Vec::new(),
            assignee: None,
            assignee_rule: None,
            logged_recordings: Vec::new(),
            comment_id: None,
            call_record_id: None,
            agent_timed_out: false,
            done: Done::default(),
            plan: plan.clone(),
            pops: Vec::new(),
            agent_choice: None,
            popped: Vec::new(),
            chat: None,
            callback: None,
            wrap_up: None,
        })
    }

    /// Adds the facts an event carries.
    pub fn apply(&mut self, e: &CallEvent) {
        fill(&mut self.from, &e.from);
        fill(&mut self.to, &e.to);
        fill(&mut self.queue, &e.queue);
        if let Some(queue) = &e.queue {
            queues::note_queue(&mut self.queue_mentions, queue, e.at);
        }
        fill(&mut self.transcript, &e.transcript);
        earliest(&mut self.first_at, e.at);
        for (k, v) in &e.attributes {
            self.attributes
                .entry(k.clone())
                .or_insert_with(|| v.clone());
        }
        match e.kind {
            EventKind::Ringing => {
                set_earliest(&mut self.ringing_at, e.at);
                if let Some(agent) = e.agent.as_ref().filter(|a| !a.is_empty()) {
                    add_agent(&mut self.rang, agent);
                }
            }
            EventKind::Answered => {
                set_earliest(&mut self.answered_at, e.at);
                if let Some(agent) = e.agent.as_ref().filter(|a| !a.is_empty()) {
                    self.add_agent(agent);
                }
            }
            EventKind::Ended => {
                set_latest(&mut self.ended_at, e.at);
                if e.reason.is_some() {
                    self.end_reason = e.reason;
                }
                if e.duration_s.is_some() {
                    self.duration_s = e.duration_s;
                }
                if let Some(agent) = e.agent.as_ref().filter(|a| !a.is_empty())
                    && (self.answered_at.is_some() || e.reason == Some(EndReason::Completed))
                {
                    self.add_agent(agent);
                }
            }
            EventKind::Voicemail => self.voicemail = true,
            EventKind::Recording => {}
            EventKind::WrapUp => {
                if self.wrap_up.is_none()
                    && let Some(w) = &e.wrap_up
                {
                    self.wrap_up = Some(w.as_ref().clone());
                }
            }
            EventKind::Conversation => {
                if let Some(c) = &e.conversation
                    && self.chat.is_none()
                {
                    self.apply_conversation(c);
                }
            }
        }
        if let Some(url) = &e.recording_url {
            self.recording_url = Some(url.clone());
        }
    }

    fn add_agent(&mut self, agent: &AgentRef) {
        add_agent(&mut self.agents, agent);
    }

    /// A conversation arrives closed and whole: it was answered when it started
    /// and ended when it ended, by its agent, and the visitor's number is the
    /// customer's (the caller log's filter). Only the first one counts: the
    /// platform's id is the chat's, and a re-sent conversation changes nothing.
    fn apply_conversation(&mut self, c: &Conversation) {
        set_earliest(&mut self.answered_at, c.started_at);
        earliest(&mut self.first_at, c.started_at);
        set_latest(&mut self.ended_at, c.ended_at);
        self.end_reason = Some(EndReason::Completed);
        fill(&mut self.from, &c.visitor.phone);
        if let Some(agent) = c.agent.as_ref().filter(|a| !a.is_empty()) {
            self.add_agent(agent);
        }
        for (k, v) in &c.attributes {
            self.attributes
                .entry(k.clone())
                .or_insert_with(|| v.clone());
        }
        self.chat = Some(Box::new(c.clone()));
    }

    /// A chat (not a call).
    pub fn is_chat(&self) -> bool {
        self.chat.is_some()
    }

    pub fn state(&self) -> CallState {
        if self.ended_at.is_some() {
            CallState::Ended
        } else if self.answered_at.is_some() {
            CallState::Answered
        } else {
            CallState::Ringing
        }
    }

    /// The outcome, once the call has ended.
    pub fn outcome(&self) -> Option<Outcome> {
        self.ended_at?;
        if self.voicemail {
            return Some(Outcome::Voicemail);
        }
        Some(match self.end_reason {
            Some(EndReason::Busy) => Outcome::Busy,
            Some(EndReason::Failed) | Some(EndReason::Rejected) => Outcome::Failed,
            _ if self.answered_at.is_some() => Outcome::Answered,
            Some(EndReason::Forwarded) => Outcome::Forwarded,
            Some(EndReason::Completed) if self.duration_s.unwrap_or(1) > 0 => Outcome::Answered,
            Some(EndReason::Abandoned) => Outcome::Abandoned,
            _ => Outcome::Missed,
        })
    }

    /// A non-empty attribute of the call (trimmed).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The customer's number: the caller on inbound calls, the callee on outbound.
    pub fn customer_phone(&self) -> Option<&Phone> {
        match self.direction {
            Direction::Inbound => self.from.as_ref(),
            Direction::Outbound => self.to.as_ref(),
        }
    }

    /// Talk time: as reported, else from the answer and end timestamps.
    pub fn talk_seconds(&self) -> Option<u64> {
        if self.duration_s.is_some() {
            return self.duration_s;
        }
        let (start, end) = (self.answered_at?, self.ended_at?);
        u64::try_from((end - start).num_seconds()).ok()
    }

    /// The agent chose a new ticket for the call.
    pub fn agent_chose_new_ticket(&self) -> bool {
        matches!(
            self.agent_choice,
            Some(AgentChoice {
                action: AgentAction::NewTicket,
                ..
            })
        )
    }

    /// The emails of the agents the call is theirs to see: who answered it, whose
    /// phone rang, and who it was popped for, lowercased, without repeats.
    pub fn agent_emails(&self) -> Vec<String> {
        let mut emails: Vec<String> = self
            .agents
            .iter()
            .filter_map(|a| a.email.as_deref())
            .chain(self.pops.iter().map(|p| p.agent.as_str()))
            .chain(self.rang.iter().filter_map(|a| a.email.as_deref()))
            .map(|e| e.trim().to_ascii_lowercase())
            .filter(|e| !e.is_empty())
            .collect();
        emails.sort();
        emails.dedup();
        emails
    }

    /// An inbound call nobody talked to (missed, abandoned, voicemail): the caller
    /// log keeps it "not done" until an agent marks it.
    pub fn is_missed(&self) -> bool {
        self.direction == Direction::Inbound
            && matches!(
                self.outcome(),
                Some(Outcome::Missed | Outcome::Abandoned | Outcome::Voicemail | Outcome::Busy)
            )
    }

    /// The agent who had the call last (assignee of its ticket).
    pub fn last_agent(&self) -> Option<&AgentRef> {
        self.agents.last()
    }

    /// How the group treats this call if nobody answered it; `None` when answered
    /// or not over yet.
    pub fn unanswered_policy(&self) -> Option<UnansweredPolicy> {
        // A call refused before anyone could answer (a blocked caller) is kept in
        // the caller log and nowhere else.
        if self.end_reason == Some(EndReason::Rejected) && self.answered_at.is_none() {
            return Some(UnansweredPolicy::LogOnly);
        }
        UnansweredPolicy::for_outcome(self.outcome(), self.plan.missed_call, self.plan.voicemail)
    }

    /// The ticket rules to show: those recorded, or for an unanswered call its plan
    /// logs only, the rule that kept it out of the helpdesk.
    pub fn ticket_rules_shown(&self) -> Vec<TicketRule> {
        if !self.ticket_rules.is_empty() {
            return self.ticket_rules.clone();
        }
        match (self.unanswered_policy(), self.outcome()) {
            (Some(UnansweredPolicy::LogOnly), Some(Outcome::Voicemail)) => {
                vec![TicketRule::VoicemailLogOnly]
            }
            (Some(UnansweredPolicy::LogOnly), _) => vec![TicketRule::MissedCallLogOnly],
            _ => Vec::new(),
        }
    }

    /// Agent mode for this call: the `ticket_assignment` attribute, else the group's.
    pub fn ticket_assignment(&self) -> TicketAssignment {
        match self.attribute(&self.plan.ticket_assignment_attribute) {
            Some(v) if v.eq_ignore_ascii_case("agent") => TicketAssignment::Agent,
            Some(v) if v.eq_ignore_ascii_case("auto") => TicketAssignment::Auto,
            _ => self.plan.ticket_assignment,
        }
    }

    /// Why the call is waiting for its agent, if it is.
    pub fn agent_wait(&self) -> Option<AgentWait> {
        if self.agent_timed_out || self.done.ticket || self.done.agent {
            return None;
        }
        if self.ticket_assignment() == TicketAssignment::Agent {
            return Some(AgentWait::AgentMode);
        }
        if self.contact_id.is_none()
            && !self.contact_candidates.is_empty()
            && self.plan.ambiguous_caller == AmbiguousCaller::Agent
        {
            return Some(AgentWait::AmbiguousCaller);
        }
        None
    }

    /// The one step to run next, if the call needs one now.
    pub fn next_step(&self) -> Option<NextStep> {
        let now = |step| {
            Some(NextStep {
                step,
                not_before: None,
            })
        };
        // A chat: the visitor, then its one ticket (which carries the
        // transcript, so there is no comment step); nothing pops.
        if self.chat.is_some() {
            if !self.done.identify {
                return now(Step::IdentifyCaller);
            }
            if !self.done.ticket {
                return now(Step::OpenTicket);
            }
            return None;
        }
        // A call kept out of the helpdesk (dialed with `log = "none"`) needs
        // nothing there.
        if !self.plan.record_in_helpdesk {
            return None;
        }
        // A pop is due for an agent: it goes before anything else (and is the
        // only thing that happens while a call rings).
        if pop_due(self).is_some() {
            return now(Step::Pop);
        }
        // Nothing else happens in the helpdesk while a call only rings.
        if self.answered_at.is_none() && self.ended_at.is_none() {
            return None;
        }
        let log_only = self.unanswered_policy() == Some(UnansweredPolicy::LogOnly);
        if !self.done.identify && !log_only {
            return now(Step::IdentifyCaller);
        }
        if self.agent_wait().is_some() {
            // Due at the deadline (the fallback), or now once the agent chose:
            // the waiting step is moved forward (`queue::enqueue`).
            return Some(NextStep {
                step: Step::AwaitAgent,
                not_before: match self.agent_choice {
                    Some(_) => None,
                    None => Some(self.agent_deadline()),
                },
            });
        }
        let ended = self.ended_at.is_some();
        // An agent who chose during the call works the ticket during it. A call
        // whose agent did not choose fell back to the group's rules, its
        // timing included: opened at the end, the ticket carries the call's
        // comment in the same write (the standard trace's agent-mode calls
        // cost a second write each when the fallback opened it mid-call).
        let early = self.plan.create_ticket_at == TicketTiming::Answer
            || (self.ticket_assignment() == TicketAssignment::Agent && self.agent_choice.is_some());
        if !self.done.ticket && !log_only && (ended || early) {
            return Some(NextStep {
                step: Step::OpenTicket,
                not_before: self.comment_deadline(),
            });
        }
        let comments = self.plan.log_calls && self.ticket_id.is_some();
        if ended && !self.done.log && comments {
            return Some(NextStep {
                step: Step::LogCall,
                not_before: self.comment_deadline(),
            });
        }
        if self.done.log && comments && self.wrap_up.is_some() && !self.done.wrap_up {
            return now(Step::AddWrapUp);
        }
        if self.done.log
            && comments
            && let Some(url) = &self.recording_url
            && !self.logged_recordings.contains(url)
        {
            return now(Step::AddRecording);
        }
        None
    }

    /// Records what a finished step learned.
    pub fn record(&mut self, step: Step, outcome: &StepOutcome) {
        if step == Step::Pop {
            self.record_pop(outcome);
            return;
        }
        if step == Step::AwaitAgent && outcome.contact_id.is_some() {
            // The deadline's fallback replaces "the agent decides".
            self.contact_id.clone_from(&outcome.contact_id);
            self.contact_rule.clone_from(&outcome.contact_rule);
        }
        if step == Step::LogCall && outcome.assignee.is_some() {
            // Reassigned to the last agent of a transferred call.
            self.assignee.clone_from(&outcome.assignee);
            self.assignee_rule.clone_from(&outcome.assignee_rule);
        }
        fill(&mut self.contact_id, &outcome.contact_id);
        fill(&mut self.contact_rule, &outcome.contact_rule);
        if !outcome.contact_candidates.is_empty() {
            self.contact_candidates = outcome.contact_candidates.clone();
        }
        match step {
            // A comment step moves the call to a follow-up when its ticket was closed.
            Step::LogCall | Step::AddRecording if outcome.ticket_id.is_some() => {
                self.ticket_id.clone_from(&outcome.ticket_id);
            }
            _ => fill(&mut self.ticket_id, &outcome.ticket_id),
        }
        self.ticket_rules
            .extend(outcome.ticket_rules.iter().cloned());
        fill(&mut self.assignee, &outcome.assignee);
        fill(&mut self.assignee_rule, &outcome.assignee_rule);
        fill(&mut self.comment_id, &outcome.comment_id);
        if let Some(crate::ports::CallRecordStatus::Recorded { id }) = &outcome.call_record {
            self.call_record_id = Some(id.clone());
        }
        if let Some(url) = &outcome.logged_recording
            && !self.logged_recordings.contains(url)
        {
            self.logged_recordings.push(url.clone());
        }
        match step {
            Step::IdentifyCaller => self.done.identify = true,
            Step::OpenTicket => self.done.ticket = true,
            Step::AwaitAgent => {
                if outcome.agent_timed_out {
                    self.agent_timed_out = true;
                    if self.plan.agent_fallback == AgentFallback::LogOnly {
                        self.done.ticket = true;
                    }
                } else {
                    self.done.agent = true;
                    // The agent attached the call to a ticket: no ticket step.
                    if outcome.ticket_id.is_some() {
                        self.done.ticket = true;
                    }
                }
            }
            Step::LogCall => self.done.log = true,
            // Recorded by `record_pop`.
            Step::AddRecording | Step::AddWrapUp | Step::Pop => {}
        }
        if outcome.wrap_up_logged {
            self.done.wrap_up = true;
        }
        // The call comment went in with the ticket.
        if outcome.call_logged || self.comment_id.is_some() {
            self.done.log = true;
        }
    }
}

/// Adds the agent to the list, or completes the one it names.
fn add_agent(agents: &mut Vec<AgentRef>, agent: &AgentRef) {
    match agents.iter_mut().find(|a| a.same_as(agent)) {
        Some(known) => {
            fill(&mut known.email, &agent.email);
            fill(&mut known.name, &agent.name);
            fill(&mut known.extension, &agent.extension);
        }
        None => agents.push(agent.clone()),
    }
}

impl Interaction {
    /// What a pop learned is the call's: its contact (the call is identified) and
    /// its ticket (the call lands on it), so the call's later steps fetch and
    /// create nothing again.
    fn record_pop(&mut self, outcome: &StepOutcome) {
        if let Some(agent) = &outcome.pop_for {
            add_agent(&mut self.popped, agent);
        }
        if let Some(pop) = &outcome.pop {
            self.pops.push(pop.as_ref().clone());
        }
        if self.contact_rule.is_none() && outcome.contact_rule.is_some() {
            self.contact_id.clone_from(&outcome.contact_id);
            self.contact_rule.clone_from(&outcome.contact_rule);
            self.contact_candidates = outcome.contact_candidates.clone();
            self.done.identify = true;
        }
        if self.ticket_id.is_none() && outcome.ticket_id.is_some() {
            self.ticket_id.clone_from(&outcome.ticket_id);
            self.ticket_rules
                .extend(outcome.ticket_rules.iter().cloned());
            fill(&mut self.assignee, &outcome.assignee);
            fill(&mut self.assignee_rule, &outcome.assignee_rule);
            self.done.ticket = true;
            fill(&mut self.comment_id, &outcome.comment_id);
            if let Some(url) = &outcome.logged_recording
                && !self.logged_recordings.contains(url)
            {
                self.logged_recordings.push(url.clone());
            }
            if outcome.call_logged || outcome.comment_id.is_some() {
                self.done.log = true;
            }
            if outcome.wrap_up_logged {
                self.done.wrap_up = true;
            }
        }
    }
}

fn fill<T: Clone>(slot: &mut Option<T>, value: &Option<T>) {
    if slot.is_none() {
        slot.clone_from(value);
    }
}

fn earliest(slot: &mut DateTime<Utc>, at: DateTime<Utc>) {
    if at < *slot {
        *slot = at;
    }
}

fn set_earliest(slot: &mut Option<DateTime<Utc>>, at: DateTime<Utc>) {
    if slot.is_none_or(|t| at < t) {
        *slot = Some(at);
    }
}

fn set_latest(slot: &mut Option<DateTime<Utc>>, at: DateTime<Utc>) {
    if slot.is_none_or(|t| at > t) {
        *slot = Some(at);
    }
}

#[cfg(test)]
mod tests;
