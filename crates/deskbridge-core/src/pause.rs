//! Agents pausing in their queues.
//!
//! A queue agent who steps away (a break, training, paperwork after a call)
//! pauses: the phone system stops offering them queue calls, and supervisors
//! see why they are not taking any. The phone system holds the state (Asterisk's
//! queue member is paused, with a reason); deskbridge asks it to pause or
//! resume an agent (AMI `QueuePause`) and follows what it says, whoever caused
//! it (the page, the phone's own pause key, a supervisor's tool), so the page
//! never shows a state the queue does not have. Each pause is kept, from start
//! to end, so an agent's paused time can be summed per reason.
//!
//! This module is the vocabulary; the decisions are in `crate::decide::pause`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Who started a pause.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseSource {
    /// The agent, from deskbridge's page or app.
    Agent,
    /// The phone system said so: the phone's pause key, another tool.
    Phone,
    /// deskbridge, for the agent's wrap-up after a call
    /// (`pause_during_wrap_up`); it ends with the wrap-up or its time.
    WrapUp,
}

impl PauseSource {
    pub fn as_str(self) -> &'static str {
        match self {
            PauseSource::Agent => "agent",
            PauseSource::Phone => "phone",
            PauseSource::WrapUp => "wrap_up",
        }
    }

    pub fn parse(s: &str) -> Option<PauseSource> {
        [PauseSource::Agent, PauseSource::Phone, PauseSource::WrapUp]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// One pause of one agent in one group: open while `ended_at` is none.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    /// The store's id (0 until written).
    pub id: i64,
    pub group: String,
    /// The agent's email.
    pub agent: String,
    /// Why, as the agent or the phone system said; none when not said.
    pub reason: Option<String>,
    pub source: PauseSource,
    pub started_at: DateTime<Utc>,
    /// A wrap-up pause ends by itself at this time.
    pub until: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// A queue member as the phone system reports it (Asterisk's
/// `QueueMemberPause`, `QueueMemberStatus`, or a `QueueStatus` listing's
/// `QueueMember`), translated by the adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMember {
    /// The member's interface (`PJSIP/101`, `Local/101@from-queue/n`).
    pub interface: String,
    /// The device the member's state follows, when it differs.
    pub state_interface: Option<String>,
    /// The member's name in the queue (often the agent's name or extension).
    pub member_name: Option<String>,
    pub queue: Option<String>,
    pub paused: bool,
    pub reason: Option<String>,
}

/// What to ask the phone system: pause or resume the member on this
/// interface (in all its queues), with a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PauseOrder {
    pub interface: String,
    pub paused: bool,
    pub reason: Option<String>,
}

/// What a report from the phone system, or an agent's own pause, does to the
/// agent's pauses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PauseChange {
    /// A pause begins (none was open).
    Start(Pause),
    /// The open pause (its id) ends.
    End {
        id: i64,
        at: DateTime<Utc>,
    },
    /// The open pause ends and another begins (the reason changed).
    Replace {
        end: i64,
        start: Pause,
    },
    Nothing,
}

/// Longest pause reason.
pub const MAX_REASON_CHARS: usize = 100;

/// Why a pause or resume was refused; each says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PauseRefused {
    #[error(
        "group {0:?} has no phone system to pause in; pausing needs [groups.asterisk] with agent_channel"
    )]
    NoQueues(String),
    #[error("your directory entry has no extension: [[agents]] extension names your queue member")]
    NoExtension,
    #[error("agent_channel does not render for you: {0}")]
    Channel(String),
    #[error("the reason is longer than {MAX_REASON_CHARS} characters")]
    ReasonTooLong,
    #[error("you are paused already ({0}); resume first to pause for another reason")]
    AlreadyPaused(String),
    #[error("you are not paused")]
    NotPaused,
}

impl PauseRefused {
    /// A stable machine-readable name for the API's error body.
    pub fn code(&self) -> &'static str {
        match self {
            PauseRefused::NoQueues(_) => "no_queues",
            PauseRefused::NoExtension => "no_extension",
            PauseRefused::Channel(_) => "agent_channel",
            PauseRefused::ReasonTooLong => "reason_too_long",
            PauseRefused::AlreadyPaused(_) => "already_paused",
            PauseRefused::NotPaused => "not_paused",
        }
    }
}
