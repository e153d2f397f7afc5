//! Wrap-up, decided: who may wrap a call up and with what, how long its
//! comment waits for it, what it writes on the ticket, and when the agent's
//! queue member is paused for it.

use chrono::{DateTime, Utc};

use crate::agent::AgentRef;
use crate::event::{CallEvent, EventKind};
use crate::interaction::{Interaction, Outcome};
use crate::wrap_up::{MAX_NOTE_CHARS, WrapUp, WrapUpRefused, WrapUpRules, code_list};

/// What an agent asked to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrapUpAsk<'a> {
    pub code: Option<&'a str>,
    pub note: Option<&'a str>,
}

/// Decides an agent's wrap-up of a call: the group has wrap-up, the agent
/// answered the call, the code is one of the group's (and given, when the
/// group requires one), and the call has none yet (the first one stands: it
/// may be on the ticket already).
pub fn accept(
    call: &Interaction,
    agent: &AgentRef,
    ask: WrapUpAsk<'_>,
    now: DateTime<Utc>,
) -> Result<WrapUp, WrapUpRefused> {
    let rules = call
        .plan
        .wrap_up
        .as_ref()
        .ok_or_else(|| WrapUpRefused::NoWrapUp(call.group.clone()))?;
    if let Some(done) = &call.wrap_up {
        return Err(WrapUpRefused::AlreadyWrappedUp(
            done.agent_name
                .clone()
                .unwrap_or_else(|| done.agent.clone()),
        ));
    }
    if call.answered_at.is_none() && call.outcome() != Some(Outcome::Answered) {
        return Err(WrapUpRefused::NotAnswered);
    }
    if !call.agents.iter().any(|a| a.same_as(agent)) {
        return Err(WrapUpRefused::NotYourCall);
    }
    let code = match ask.code.map(str::trim).filter(|c| !c.is_empty()) {
        Some(asked) => {
            Some(
                rules
                    .code(asked)
                    .cloned()
                    .ok_or_else(|| WrapUpRefused::UnknownCode {
                        code: asked.chars().take(60).collect(),
                        codes: code_list(rules),
                    })?,
            )
        }
        None if rules.required => return Err(WrapUpRefused::CodeRequired(code_list(rules))),
        None => None,
    };
    let note = ask
        .note
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    if note
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS)
    {
        return Err(WrapUpRefused::NoteTooLong);
    }
    if code.is_none() && note.is_none() {
        return Err(WrapUpRefused::Empty);
    }
    Ok(WrapUp {
        code,
        note,
        agent: agent.email.clone().unwrap_or_default(),
        agent_name: agent.name.clone(),
        at: now,
    })
}

/// The event that carries a wrap-up to its call. Its id is the call's, so a
/// second wrap-up of the same call is a duplicate the journal ignores (the
/// first one stands).
pub fn event(call: &Interaction, wrap_up: WrapUp) -> CallEvent {
    let mut e = CallEvent::new(
        format!("wrap_up:{}", call.call_id),
        call.call_id.clone(),
        EventKind::WrapUp,
        wrap_up.at,
    );
    e.direction = Some(call.direction);
    e.wrap_up = Some(Box::new(wrap_up));
    e
}

/// Until when the call's comment waits for its wrap-up, if it is owed
/// ([`Interaction::wrap_up_deadline`], which the call's next step reads).
pub fn due(call: &Interaction) -> Option<DateTime<Utc>> {
    call.wrap_up_deadline()
}

/// What a wrap-up sets on the ticket besides its comment line: the code's tag
/// and the group's field holding the code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketMarks {
    pub tags: Vec<String>,
    pub custom_fields: Vec<(String, String)>,
}

pub fn ticket_marks(call: &Interaction) -> TicketMarks {
    let (
        Some(rules),
        Some(WrapUp {
            code: Some(code), ..
        }),
    ) = (call.plan.wrap_up.as_ref(), call.wrap_up.as_ref())
    else {
        return TicketMarks::default();
    };
    TicketMarks {
        tags: vec![tag(rules, &code.code)],
        custom_fields: rules
            .custom_field
            .iter()
            .map(|field| (field.clone(), code.code.clone()))
            .collect(),
    }
}

/// The ticket tag of a code: the prefix and the code, lowercased (helpdesk
/// tags are).
pub fn tag(rules: &WrapUpRules, code: &str) -> String {
    format!("{}{}", rules.tag_prefix, code).to_ascii_lowercase()
}

/// Whether a comment written now carries the wrap-up, given the text an earlier
/// try of its step wrote (a retry finds that comment and does not write again).
pub fn carried(call: &Interaction, earlier_text: Option<&str>) -> bool {
    match (&call.wrap_up, earlier_text) {
        (None, _) => false,
        (Some(w), Some(text)) => text.contains(&w.line()),
        (Some(_), None) => true,
    }
}

#[cfg(test)]
pub(crate) mod tests;
