//! The per-call state machine.
//!
//! An [`Interaction`] is everything deskbridge knows about one call, built up from its
//! events in whatever order they arrive. Phone systems resend events, reorder them
//! (an `ended` can overtake its `answered`) and send some late (a `recording` minutes
//! after the call), so the interaction stores *facts* (when it was answered, why it
//! ended, who answered) and derives its state and outcome from them. Applying the same
//! events in any order gives the same facts.
//!
//! Applying an event also tells the caller which helpdesk steps became due
//! ([`Step`]). Each step is handed out at most once per interaction; the step itself
//! reads the interaction when it runs, so a step queued before a late fact arrived
//! still sees that fact.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::{AgentRef, CallEvent, Direction, EndReason, EventKind};
use crate::phone::Phone;
use crate::policy::{MissedPolicy, Policy};

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

/// How a call ended, from the contact center's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Answered,
    Missed,
    Voicemail,
    Busy,
    Abandoned,
    Failed,
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Missed => "missed",
            Outcome::Voicemail => "voicemail",
            Outcome::Busy => "busy",
            Outcome::Abandoned => "abandoned",
            Outcome::Failed => "failed",
        }
    }

    /// Nobody talked to the caller.
    pub fn is_unanswered(&self) -> bool {
        !matches!(self, Outcome::Answered)
    }
}

/// A unit of helpdesk work for one call. Steps of a call run one at a time, in the
/// order they were handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Find the customer's contact, or create it.
    IdentifyCaller,
    /// Choose or create the ticket the call belongs to.
    OpenTicket,
    /// Write the call comment (details, outcome, recording) once the call ended.
    LogCall,
    /// A recording that arrived after the call comment was written.
    AddRecording,
}

impl Step {
    pub fn as_str(&self) -> &'static str {
        match self {
            Step::IdentifyCaller => "identify_caller",
            Step::OpenTicket => "open_ticket",
            Step::LogCall => "log_call",
            Step::AddRecording => "add_recording",
        }
    }

    pub fn parse(s: &str) -> Option<Step> {
        [
            Step::IdentifyCaller,
            Step::OpenTicket,
            Step::LogCall,
            Step::AddRecording,
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
    pub contact_rule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_rule: Option<String>,
    /// The recording link the call comment carried, so a late `recording` event for
    /// the same link adds nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logged_recording: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment_id: Option<String>,
    /// Why the step did nothing, when it did nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// An event that cannot start a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    #[error("the first event of call {call_id:?} needs a direction (\"inbound\" or \"outbound\")")]
    MissingDirection { call_id: String },
}

/// Which steps have been handed out for this interaction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Planned {
    pub identify: bool,
    pub ticket: bool,
    pub log: bool,
    /// Recording links for which an `AddRecording` step was handed out.
    #[serde(default)]
    pub recordings: Vec<String>,
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
    pub queue: Option<String>,
    pub attributes: BTreeMap<String, String>,
    pub end_reason: Option<EndReason>,
    pub duration_s: Option<u64>,
    pub voicemail: bool,
    pub recording_url: Option<String>,
    pub transcript: Option<String>,
    pub contact_id: Option<String>,
    pub contact_rule: Option<String>,
    pub ticket_id: Option<String>,
    pub ticket_rule: Option<String>,
    pub logged_recording: Option<String>,
    /// The call comment, once written.
    pub comment_id: Option<String>,
    pub planned: Planned,
}

impl Interaction {
    /// Starts an interaction from the first event received for the call.
    pub fn start(group: &str, event: &CallEvent) -> Result<Interaction, ApplyError> {
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
            queue: None,
            attributes: BTreeMap::new(),
            end_reason: None,
            duration_s: None,
            voicemail: false,
            recording_url: None,
            transcript: None,
            contact_id: None,
            contact_rule: None,
            ticket_id: None,
            ticket_rule: None,
            logged_recording: None,
            comment_id: None,
            planned: Planned::default(),
        })
    }

    /// Adds the facts an event carries, then hands out the steps that became due.
    pub fn apply(&mut self, event: &CallEvent, policy: &Policy) -> Vec<Step> {
        self.absorb(event);
        self.due_steps(policy)
    }

    fn absorb(&mut self, e: &CallEvent) {
        fill(&mut self.from, &e.from);
        fill(&mut self.to, &e.to);
        fill(&mut self.queue, &e.queue);
        fill(&mut self.transcript, &e.transcript);
        earliest(&mut self.first_at, e.at);
        for (k, v) in &e.attributes {
            self.attributes
                .entry(k.clone())
                .or_insert_with(|| v.clone());
        }
        match e.kind {
            EventKind::Ringing => set_earliest(&mut self.ringing_at, e.at),
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
        }
        if let Some(url) = &e.recording_url {
            self.recording_url = Some(url.clone());
        }
    }

    fn add_agent(&mut self, agent: &AgentRef) {
        match self.agents.iter_mut().find(|a| a.same_as(agent)) {
            Some(known) => {
                fill(&mut known.email, &agent.email);
                fill(&mut known.name, &agent.name);
                fill(&mut known.extension, &agent.extension);
            }
            None => self.agents.push(agent.clone()),
        }
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
            Some(EndReason::Completed) if self.duration_s.unwrap_or(1) > 0 => Outcome::Answered,
            Some(EndReason::Abandoned) => Outcome::Abandoned,
            _ => Outcome::Missed,
        })
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

    /// The agent who had the call last (assignee of its ticket).
    pub fn last_agent(&self) -> Option<&AgentRef> {
        self.agents.last()
    }

    fn due_steps(&mut self, policy: &Policy) -> Vec<Step> {
        let mut due = Vec::new();
        let outcome = self.outcome();
        let wants_ticket = match outcome {
            None => self.answered_at.is_some(),
            Some(Outcome::Answered) => true,
            Some(_) => policy.missed == MissedPolicy::NewTicket,
        };
        if wants_ticket {
            if !self.planned.identify {
                self.planned.identify = true;
                due.push(Step::IdentifyCaller);
            }
            if !self.planned.ticket {
                self.planned.ticket = true;
                due.push(Step::OpenTicket);
            }
        }
        if outcome.is_some() && !self.planned.log {
            self.planned.log = true;
            // The call comment carries the recording known by now; only later links
            // need a step of their own.
            self.planned.recordings.extend(self.recording_url.clone());
            due.push(Step::LogCall);
        } else if self.planned.log
            && let Some(url) = &self.recording_url
            && !self.planned.recordings.contains(url)
        {
            self.planned.recordings.push(url.clone());
            due.push(Step::AddRecording);
        }
        due
    }

    /// Records what a finished step learned.
    pub fn record(&mut self, outcome: &StepOutcome) {
        fill(&mut self.contact_id, &outcome.contact_id);
        fill(&mut self.contact_rule, &outcome.contact_rule);
        fill(&mut self.ticket_id, &outcome.ticket_id);
        fill(&mut self.ticket_rule, &outcome.ticket_rule);
        fill(&mut self.comment_id, &outcome.comment_id);
        if outcome.logged_recording.is_some() {
            self.logged_recording = outcome.logged_recording.clone();
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
