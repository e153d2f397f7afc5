//! Pauses, decided: which agent a queue member is, what an agent's pause or
//! resume asks of the phone system, what a report from the phone system does
//! to the agent's pauses, when a wrap-up pauses the agent and when that pause
//! ends, and paused time per reason.

use chrono::{DateTime, Utc};

use super::DirectoryAgent;
use crate::agent::AgentRef;
use crate::interaction::{Interaction, Outcome};
use crate::pause::{
    MAX_REASON_CHARS, Pause, PauseChange, PauseOrder, PauseRefused, PauseSource, QueueMember,
};
use crate::templates::render_for_agent;
use crate::wrap_up::WRAP_UP_PAUSE_REASON;

/// The agent a queue member is: the directory agent whose `agent_channel`
/// renders to the member's interface (or the device its state follows), else
/// whose extension the interface names (`PJSIP/101`, `Local/101@from-queue/n`),
/// else whose name or email is the member's name.
pub fn agent_of<'a>(
    member: &QueueMember,
    directory: &'a [DirectoryAgent],
    agent_channel: Option<&str>,
) -> Option<&'a DirectoryAgent> {
    let same = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
    let interfaces: Vec<&str> = std::iter::once(member.interface.as_str())
        .chain(member.state_interface.as_deref())
        .collect();
    if let Some(template) = agent_channel {
        let found = directory.iter().find(|d| {
            render_for_agent(template, &reference(d))
                .is_ok_and(|rendered| interfaces.iter().any(|i| same(i, &rendered)))
        });
        if found.is_some() {
            return found;
        }
    }
    let extensions: Vec<&str> = interfaces.iter().filter_map(|i| extension_of(i)).collect();
    directory
        .iter()
        .find(|d| {
            d.extension
                .as_deref()
                .is_some_and(|x| extensions.iter().any(|e| same(e, x)))
        })
        .or_else(|| {
            let name = member.member_name.as_deref()?;
            directory
                .iter()
                .find(|d| same(&d.email, name) || d.name.as_deref().is_some_and(|n| same(n, name)))
        })
}

/// The extension an interface names: what follows the technology and comes
/// before a context or a channel's suffix (`SIP/101`, `PJSIP/101`,
/// `Local/101@from-queue/n`).
fn extension_of(interface: &str) -> Option<&str> {
    let (_, rest) = interface.split_once('/')?;
    let end = rest.find(['@', '/']).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|x| !x.is_empty())
}

fn reference(d: &DirectoryAgent) -> AgentRef {
    AgentRef {
        email: Some(d.email.clone()),
        name: d.name.clone(),
        extension: d.extension.clone(),
    }
}

/// The agent's queue member interface: `agent_channel` rendered for them.
pub fn interface(
    agent: &AgentRef,
    agent_channel: Option<&str>,
    group: &str,
) -> Result<String, PauseRefused> {
    let template = agent_channel.ok_or_else(|| PauseRefused::NoQueues(group.to_string()))?;
    if agent
        .extension
        .as_deref()
        .is_none_or(|x| x.trim().is_empty())
    {
        return Err(PauseRefused::NoExtension);
    }
    render_for_agent(template, agent).map_err(PauseRefused::Channel)
}

/// An agent's own pause (with a reason) or resume (`reason` unused): what to
/// ask the phone system, given the agent's open pause.
pub fn ask(
    interface: String,
    open: Option<&Pause>,
    pause: bool,
    reason: Option<&str>,
) -> Result<PauseOrder, PauseRefused> {
    let reason = reason
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    if reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > MAX_REASON_CHARS)
    {
        return Err(PauseRefused::ReasonTooLong);
    }
    match (pause, open) {
        (true, Some(p)) if p.source != PauseSource::WrapUp => Err(PauseRefused::AlreadyPaused(
            p.reason.clone().unwrap_or_else(|| "no reason".into()),
        )),
        (false, None) => Err(PauseRefused::NotPaused),
        _ => Ok(PauseOrder {
            interface,
            paused: pause,
            reason: reason.filter(|_| pause),
        }),
    }
}

/// What a pause the phone system took (an order it answered with success)
/// or reported (a member event) does to the agent's pauses. One report per
/// queue arrives for a member of several queues: the second changes nothing.
pub fn follow(
    group: &str,
    agent: &str,
    open: Option<&Pause>,
    paused: bool,
    reason: Option<&str>,
    source: PauseSource,
    now: DateTime<Utc>,
) -> PauseChange {
    let reason = reason
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| r.chars().take(MAX_REASON_CHARS).collect::<String>());
    let start = |source| Pause {
        id: 0,
        group: group.to_string(),
        agent: agent.to_string(),
        source,
        // A wrap-up's end time is its pauser's to set.
        until: None,
        reason: reason.clone(),
        started_at: now,
        ended_at: None,
    };
    // A pause with deskbridge's wrap-up reason is the wrap-up's, whoever
    // reported it.
    let source = match reason.as_deref() {
        Some(WRAP_UP_PAUSE_REASON) => PauseSource::WrapUp,
        _ => source,
    };
    match (paused, open) {
        (true, None) => PauseChange::Start(start(source)),
        // The same pause, reported again (another queue, the event after the
        // order's answer); a report without a reason keeps the known one.
        (true, Some(p)) if reason.is_none() || p.reason == reason => PauseChange::Nothing,
        (true, Some(p)) => PauseChange::Replace {
            end: p.id,
            start: start(source),
        },
        (false, Some(p)) => PauseChange::End { id: p.id, at: now },
        (false, None) => PauseChange::Nothing,
    }
}

/// A call that pauses its agent for wrap-up: the group pauses for wrap-up,
/// the call was answered by an agent and ended, its wrap-up is owed, and the
/// agent is not paused already. The agent and when the pause ends.
pub fn wrap_up_pause<'a>(
    call: &'a Interaction,
    open: Option<&Pause>,
) -> Option<(&'a AgentRef, DateTime<Utc>)> {
    let pauses = call.plan.wrap_up.as_ref().is_some_and(|w| w.pause);
    if !pauses || open.is_some() || call.outcome() != Some(Outcome::Answered) {
        return None;
    }
    let until = super::wrap_up::due(call)?;
    Some((call.last_agent()?, until))
}

/// Whether the call's wrap-up ends the agent's open pause: it is the pause
/// this call started (it ends when the call's wrap-up time does), and the
/// call is wrapped up now. Another pause (lunch, another call's wrap-up) is
/// left alone.
pub fn ended_by_wrap_up(open: &Pause, call: &Interaction) -> bool {
    open.source == PauseSource::WrapUp
        && call.wrap_up.is_some()
        && open.until.is_some()
        && open.until == call.wrap_up_ends_at()
}

/// Whether a wrap-up pause ran out of time.
pub fn wrap_up_expired(open: &Pause, now: DateTime<Utc>) -> bool {
    open.source == PauseSource::WrapUp && open.until.is_some_and(|u| u <= now)
}

/// Paused time per reason between `from` and `to`, in seconds, the longest
/// first (a pause still open counts up to `to`). A pause without a reason
/// counts as "no reason".
pub fn time_per_reason(
    pauses: &[Pause],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(String, i64)> {
    let mut totals: Vec<(String, i64)> = Vec::new();
    for p in pauses {
        let start = p.started_at.max(from);
        let end = p.ended_at.unwrap_or(to).min(to);
        let secs = (end - start).num_seconds();
        if secs <= 0 {
            continue;
        }
        let reason = p.reason.clone().unwrap_or_else(|| "no reason".into());
        match totals.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, total)) => *total += secs,
            None => totals.push((reason, secs)),
        }
    }
    totals.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    totals
}

#[cfg(test)]
mod tests;
