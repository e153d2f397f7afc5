//! Wrap-up: what the agent records about a call once it is over.
//!
//! Contact centers ask agents, after each call they answered, why the customer
//! called: a *wrap-up code* from the group's list (a sale, a complaint, a
//! question about a bill) and an optional note. The code lands on the call's
//! ticket as a tag (and, if the group names one, a custom field) and as a line
//! of the call's comment, so reports in the helpdesk can count calls by reason.
//!
//! Why the comment waits: the call comment is the call's one write to the
//! helpdesk. A group with wrap-up holds an answered call's comment back for up
//! to [`WrapUpRules::seconds`] after the call ends, as it holds it for a
//! recording, so that call, recording and wrap-up still cost one write. A
//! wrap-up given after the comment was written (the agent took longer) is
//! written on its own (`Step::AddWrapUp`): late, never lost.
//!
//! This module is the vocabulary (a leaf: a call's plan carries the group's
//! [`WrapUpRules`], the call the [`WrapUp`] it got); the decisions are in
//! `crate::decide::wrap_up`. A wrap-up reaches the call as an event of its own
//! (`EventKind::WrapUp`), journaled like any other, so it is durable before the
//! agent hears "saved" and the call's facts stay order-independent.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One code an agent may choose.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrapUpCode {
    /// What is stored and tagged: letters, digits, `_` and `-`.
    pub code: String,
    /// What the agent reads (the code itself when none is configured).
    pub label: String,
}

/// A group's wrap-up (`[groups.wrap_up]`), kept on each call's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WrapUpRules {
    /// The codes offered, in the order shown.
    pub codes: Vec<WrapUpCode>,
    /// How long after an answered call ends its comment waits for the
    /// wrap-up (and with `pause_during_wrap_up`, how long the agent stays
    /// paused in the queue).
    pub seconds: u64,
    /// A wrap-up must name a code (a note alone is refused), and the page
    /// keeps asking until one is given.
    pub required: bool,
    /// The ticket's tag is this prefix and the code (`wrap_up_sale`).
    pub tag_prefix: String,
    /// A ticket field (its id) that takes the code, if any.
    pub custom_field: Option<String>,
    /// The agent's queue member is paused (reason [`WRAP_UP_PAUSE_REASON`])
    /// from the end of an answered call until the wrap-up or the time runs out.
    pub pause: bool,
}

impl Default for WrapUpRules {
    fn default() -> Self {
        WrapUpRules {
            codes: Vec::new(),
            seconds: 60,
            required: false,
            tag_prefix: "wrap_up_".into(),
            custom_field: None,
            pause: false,
        }
    }
}

impl WrapUpRules {
    pub fn code(&self, code: &str) -> Option<&WrapUpCode> {
        self.codes
            .iter()
            .find(|c| c.code.eq_ignore_ascii_case(code.trim()))
    }
}

/// The pause reason deskbridge gives a queue member it pauses for wrap-up.
pub const WRAP_UP_PAUSE_REASON: &str = "wrap-up";

/// Longest wrap-up note.
pub const MAX_NOTE_CHARS: usize = 2_000;

/// What an agent recorded about a call.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrapUp {
    /// The code chosen, as the group lists it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<WrapUpCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The agent's email.
    pub agent: String,
    /// The agent's name, as the directory has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    pub at: DateTime<Utc>,
}

impl WrapUp {
    /// The line the call's comment carries.
    pub fn line(&self) -> String {
        let who = self.agent_name.as_deref().unwrap_or(&self.agent);
        let mut line = match &self.code {
            Some(c) => format!("Wrap-up: {} ({who})", c.label),
            None => format!("Wrap-up by {who}"),
        };
        if let Some(note) = &self.note {
            line.push_str(": ");
            line.push_str(note);
        }
        line
    }
}

/// Why a wrap-up was refused; each says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WrapUpRefused {
    #[error("group {0:?} has no wrap-up ([groups.wrap_up] is not configured)")]
    NoWrapUp(String),
    #[error("{code:?} is not a wrap-up code of this group; choose one of: {codes}")]
    UnknownCode { code: String, codes: String },
    #[error("this group requires a wrap-up code; choose one of: {0}")]
    CodeRequired(String),
    #[error("give a wrap-up code or a note")]
    Empty,
    #[error("the note is longer than {MAX_NOTE_CHARS} characters")]
    NoteTooLong,
    #[error("only an agent who answered the call can wrap it up")]
    NotYourCall,
    #[error("the call was not answered: there is nothing to wrap up")]
    NotAnswered,
    #[error("the call was wrapped up already by {0}")]
    AlreadyWrappedUp(String),
}

impl WrapUpRefused {
    /// A stable machine-readable name for the API's error body.
    pub fn code(&self) -> &'static str {
        match self {
            WrapUpRefused::NoWrapUp(_) => "no_wrap_up",
            WrapUpRefused::UnknownCode { .. } => "unknown_code",
            WrapUpRefused::CodeRequired(_) => "code_required",
            WrapUpRefused::Empty => "empty_wrap_up",
            WrapUpRefused::NoteTooLong => "note_too_long",
            WrapUpRefused::NotYourCall => "not_your_call",
            WrapUpRefused::NotAnswered => "not_answered",
            WrapUpRefused::AlreadyWrappedUp(_) => "already_wrapped_up",
        }
    }
}

/// The codes as a list for a message.
pub(crate) fn code_list(rules: &WrapUpRules) -> String {
    let codes: Vec<&str> = rules.codes.iter().map(|c| c.code.as_str()).collect();
    match codes.is_empty() {
        true => "(none configured)".into(),
        false => codes.join(", "),
    }
}

impl fmt::Display for WrapUpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code)
    }
}
