//! Agents pausing in their queues: the page's pause and resume, the phone
//! system's reports of pauses (whoever made them), and the pause that covers
//! an agent's wrap-up. The core decides (`deskbridge_core::decide::pause`);
//! this module reads what it needs, asks the phone system through the port
//! ([`asterisk`]) and writes the result, which the store announces to the
//! agent's page.
//!
//! Why a pause is written before the phone system is asked, and a resume
//! after: the phone system reports what it did as an event, which may arrive
//! before its answer to our action. A pause already written makes that
//! report change nothing; a resume's report ends the pause itself, and our
//! own end then finds it ended. Either way one pause row per pause.

mod asterisk;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use deskbridge_core::AgentRef;
use deskbridge_core::Interaction;
use deskbridge_core::decide::pause::{self as decide, agent_of, ask, follow, interface};
use deskbridge_core::pause::{Pause, PauseChange, PauseRefused, PauseSource, QueueMember};
use deskbridge_core::wrap_up::WRAP_UP_PAUSE_REASON;
use deskbridge_store::StoreError;
use tokio::sync::watch;

use crate::adapters::ami::client::Inbox;
use crate::http::feed::FeedItem;
use crate::state::{AppState, Group};

/// The pause reasons offered when `[groups.asterisk] pause_reasons` is not
/// set.
pub const DEFAULT_REASONS: &[&str] = &["Break", "Lunch", "Meeting", "Training"];

/// A group's queues, where its agents pause: the manager connection, and
/// how an agent's queue member is named.
#[derive(Debug, Clone)]
pub struct Queues {
    pub inbox: Arc<Inbox>,
    /// `[groups.asterisk] agent_channel`: renders to an agent's interface.
    pub agent_channel: Option<String>,
    /// The reasons the page offers.
    pub reasons: Vec<String>,
}

/// Why a pause or resume did not happen.
#[derive(Debug, thiserror::Error)]
pub enum PauseError {
    #[error(transparent)]
    Refused(#[from] PauseRefused),
    #[error("{0}")]
    PbxRefused(String),
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The agent's open pause in the group.
pub async fn open_pause(
    state: &AppState,
    group: &str,
    agent: &str,
) -> Result<Option<Pause>, StoreError> {
    Ok(state
        .store
        .open_pauses(agent)
        .await?
        .into_iter()
        .find(|p| p.group == group))
}

/// An agent pauses (with a reason) or resumes, from the page.
pub async fn order(
    state: &AppState,
    group: &Group,
    agent: &AgentRef,
    pause: bool,
    reason: Option<&str>,
) -> Result<Option<Pause>, PauseError> {
    let queues = group
        .queues
        .as_ref()
        .ok_or_else(|| PauseRefused::NoQueues(group.name.clone()))?;
    let email = agent.email.clone().unwrap_or_default();
    let member = interface(agent, queues.agent_channel.as_deref(), &group.name)?;
    let open = open_pause(state, &group.name, &email).await?;
    let order = ask(member, open.as_ref(), pause, reason)?;
    let now = Utc::now();
    let change = follow(
        &group.name,
        &email,
        open.as_ref(),
        order.paused,
        order.reason.as_deref(),
        PauseSource::Agent,
        now,
    );
    if order.paused {
        state.store.change_pause(&change).await?;
        if let Err(e) = asterisk::send(&queues.inbox, &order).await {
            // Not paused after all: the pause just written ends.
            if let Some(p) = open_pause(state, &group.name, &email).await? {
                let end = PauseChange::End {
                    id: p.id,
                    at: Utc::now(),
                };
                state.store.change_pause(&end).await?;
            }
            return Err(e);
        }
    } else {
        asterisk::send(&queues.inbox, &order).await?;
        state.store.change_pause(&change).await?;
    }
    Ok(open_pause(state, &group.name, &email).await?)
}

/// A member's pause as the phone system reports it (an event, or the listing
/// after a login): the agent's pauses follow it.
pub async fn follow_member(state: &AppState, group: &Group, member: &QueueMember) {
    let Some(queues) = &group.queues else {
        return;
    };
    let directory = state.directory.agents();
    let Some(agent) = agent_of(member, &directory, queues.agent_channel.as_deref()) else {
        tracing::debug!(group = %group.name, interface = %member.interface, "a queue member not in the directory");
        return;
    };
    let result = async {
        let open = open_pause(state, &group.name, &agent.email).await?;
        let change = follow(
            &group.name,
            &agent.email,
            open.as_ref(),
            member.paused,
            member.reason.as_deref(),
            PauseSource::Phone,
            Utc::now(),
        );
        state.store.change_pause(&change).await
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(group = %group.name, agent = %agent.email, error = %e, "cannot record a queue member's pause");
    }
}

/// Starts the task that pauses agents for their wrap-up, when a group asks
/// for it (`pause_during_wrap_up`).
pub fn spawn_wrap_up_pauses(
    state: Arc<AppState>,
    mut stop: watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    let pausing =
        |g: &Group| g.queues.is_some() && g.policy.wrap_up.as_ref().is_some_and(|w| w.pause);
    if !state.groups.iter().any(|g| pausing(g)) {
        return None;
    }
    Some(tokio::spawn(async move {
        // The calls as the live streams get them: each changed call is read
        // once for the pages and this task alike.
        let mut calls = state.feed.subscribe();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                item = calls.recv() => {
                    if let Ok(FeedItem::Call(record)) = item
                        && let Some(g) = state.group(&record.interaction.group).filter(|g| pausing(g))
                    {
                        let g = g.clone();
                        if let Err(e) = on_call(&state, &g, &record.interaction).await {
                            tracing::warn!(group = %g.name, call_id = %record.interaction.call_id, error = %e, "cannot pause or resume for a wrap-up");
                        }
                    }
                }
                _ = tick.tick() => {
                    if let Err(e) = expire(&state).await {
                        tracing::warn!(error = %e, "cannot end wrap-up pauses");
                    }
                }
                _ = stopped(&mut stop) => return,
            }
        }
    }))
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// A call of a pausing group changed: its agent is paused for its wrap-up
/// (it ended, answered, owing one), or resumed (the wrap-up came).
async fn on_call(state: &AppState, group: &Group, call: &Interaction) -> Result<(), PauseError> {
    let directory = state.directory.agents();
    let Some((agent, _)) = call
        .last_agent()
        .and_then(|a| deskbridge_core::decide::directory_match(&directory, a))
    else {
        return Ok(());
    };
    let Some(queues) = &group.queues else {
        return Ok(());
    };
    let open = open_pause(state, &group.name, &agent.email).await?;
    let as_ref = AgentRef {
        email: Some(agent.email.clone()),
        name: agent.name.clone(),
        extension: agent.extension.clone(),
    };
    if let Some((_, until)) = decide::wrap_up_pause(call, open.as_ref()) {
        let member = interface(&as_ref, queues.agent_channel.as_deref(), &group.name)?;
        let order = ask(member, None, true, Some(WRAP_UP_PAUSE_REASON))?;
        let mut change = follow(
            &group.name,
            &agent.email,
            None,
            true,
            Some(WRAP_UP_PAUSE_REASON),
            PauseSource::WrapUp,
            Utc::now(),
        );
        if let PauseChange::Start(p) = &mut change {
            p.until = Some(until);
        }
        // Written first: the PBX's report of the pause then changes nothing.
        if state.store.change_pause(&change).await? {
            asterisk::send(&queues.inbox, &order).await?;
        }
        return Ok(());
    }
    if let Some(open) = open.filter(|p| decide::ended_by_wrap_up(p, call)) {
        resume(state, group, &as_ref, &open).await?;
    }
    Ok(())
}

/// Ends wrap-up pauses whose time ran out.
async fn expire(state: &AppState) -> Result<(), PauseError> {
    let now = Utc::now();
    for p in state.store.wrap_up_pauses_due(now).await? {
        let Some(group) = state.group(&p.group).cloned() else {
            continue;
        };
        if !decide::wrap_up_expired(&p, now) {
            continue;
        }
        let directory = state.directory.agents();
        let Some(agent) = directory.iter().find(|d| d.email == p.agent) else {
            continue;
        };
        let as_ref = AgentRef {
            email: Some(agent.email.clone()),
            name: agent.name.clone(),
            extension: agent.extension.clone(),
        };
        resume(state, &group, &as_ref, &p).await?;
    }
    Ok(())
}

/// Resumes the agent from `open` (a wrap-up's pause that is over).
async fn resume(
    state: &AppState,
    group: &Group,
    agent: &AgentRef,
    open: &Pause,
) -> Result<(), PauseError> {
    let Some(queues) = &group.queues else {
        return Ok(());
    };
    let member = interface(agent, queues.agent_channel.as_deref(), &group.name)?;
    let order = ask(member, Some(open), false, None)?;
    let sent = asterisk::send(&queues.inbox, &order).await;
    // Ended here whatever the PBX said: a wrap-up pause deskbridge cannot
    // lift would otherwise be retried every second.
    let end = PauseChange::End {
        id: open.id,
        at: Utc::now(),
    };
    state.store.change_pause(&end).await?;
    sent
}
