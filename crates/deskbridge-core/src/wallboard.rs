//! What a supervisor's wallboard shows of the floor now: who waits in which
//! queue and for how long, and what each agent is doing.
//!
//! Decided here, from the calls and pauses as they are, so the page and any
//! other view read the same states; the server only gathers the calls and
//! pauses (`deskbridge::wallboard`). Today's counts are the figures'
//! (`crate::stats`), not recounted here.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::pause::{Pause, PauseSource};
use crate::{AgentRef, Interaction};

/// What an agent is doing, in the order the wallboard ranks it: a call in
/// hand beats a ringing phone, which beats wrap-up, which beats a pause.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    Available,
    Ringing,
    OnCall,
    WrapUp,
    Paused,
}

/// An agent's state, since when (`None`: not known, e.g. nothing happened
/// today) and, when paused, why.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentPresence {
    pub state: AgentState,
    pub since: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When a wrap-up ends by itself (its time runs out): the page reads
    /// the floor again then, as nothing else will say so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
}

/// An agent as the directory knows them: a phone system names the agent of
/// a call by email or by extension.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    pub email: &'a str,
    pub extension: Option<&'a str>,
}

impl Member<'_> {
    fn is(&self, agent: &AgentRef) -> bool {
        agent
            .email
            .as_deref()
            .is_some_and(|e| e.trim().eq_ignore_ascii_case(self.email))
            || self
                .extension
                .is_some_and(|x| agent.extension.as_deref().map(str::trim) == Some(x))
    }
}

/// The agent's state from the group's recent calls and the agent's open
/// pause, if any. A call they answered and that goes on puts them on a call;
/// a call ringing their phone, ringing; an answered call that ended without
/// the wrap-up its group asks for, within the wrap-up time (or a wrap-up
/// pause), wrap-up; another pause, paused with its reason; else available
/// since their last call ended.
pub fn agent_presence(
    member: Member<'_>,
    calls: &[&Interaction],
    pause: Option<&Pause>,
    now: DateTime<Utc>,
) -> AgentPresence {
    let at = |state, since| AgentPresence {
        state,
        since,
        reason: None,
        until: None,
    };
    let answered: Vec<&&Interaction> = calls
        .iter()
        .filter(|c| c.agents.iter().any(|a| member.is(a)))
        .collect();
    if let Some(call) = answered
        .iter()
        .filter(|c| c.ended_at.is_none())
        .max_by_key(|c| c.answered_at)
    {
        return at(AgentState::OnCall, call.answered_at);
    }
    if let Some(call) = calls
        .iter()
        .filter(|c| c.answered_at.is_none() && c.ended_at.is_none())
        .filter(|c| c.rang.iter().any(|a| member.is(a)))
        .max_by_key(|c| c.ringing_at)
    {
        return at(AgentState::Ringing, call.ringing_at.or(Some(call.first_at)));
    }
    let last = answered.iter().max_by_key(|c| c.ended_at);
    let open = pause.filter(|p| p.ended_at.is_none());
    if let Some(p) = open.filter(|p| p.source == PauseSource::WrapUp) {
        return AgentPresence {
            until: p.until,
            ..at(AgentState::WrapUp, Some(p.started_at))
        };
    }
    // A wrap-up time of 0 asks for no wrap-up window: the call's comment
    // does not wait, nor does the agent.
    if let Some(call) = last
        && let (Some(ended), Some(rules)) = (call.ended_at, call.plan.wrap_up.as_ref())
        && call.wrap_up.is_none()
        && let Some(until) = i64::try_from(rules.seconds)
            .ok()
            .filter(|s| *s > 0)
            .and_then(chrono::TimeDelta::try_seconds)
            .and_then(|s| ended.checked_add_signed(s))
        && now < until
    {
        return AgentPresence {
            until: Some(until),
            ..at(AgentState::WrapUp, Some(ended))
        };
    }
    if let Some(p) = open {
        return AgentPresence {
            reason: p.reason.clone(),
            ..at(AgentState::Paused, Some(p.started_at))
        };
    }
    let free_since = last.and_then(|c| {
        let wrapped = c.wrap_up.as_ref().map(|w| w.at);
        c.ended_at.max(wrapped)
    });
    at(AgentState::Available, free_since)
}

/// Callers waiting in one queue now (`queue: None`: the calls that named no
/// queue), and since when the longest has waited.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waiting {
    pub queue: Option<String>,
    pub callers: usize,
    pub longest_since: DateTime<Utc>,
}

/// The callers waiting now, per queue, by queue name: each call still
/// waiting counts in the queue it waits in ([`Interaction::waiting_in`]).
pub fn waiting_now(calls: &[&Interaction]) -> Vec<Waiting> {
    let mut queues: BTreeMap<Option<String>, Waiting> = BTreeMap::new();
    for visit in calls.iter().filter_map(|c| c.waiting_in()) {
        let entry = queues.entry(visit.queue.clone()).or_insert(Waiting {
            queue: visit.queue,
            callers: 0,
            longest_since: visit.entered_at,
        });
        entry.callers += 1;
        entry.longest_since = entry.longest_since.min(visit.entered_at);
    }
    queues.into_values().collect()
}

#[cfg(test)]
mod tests;
