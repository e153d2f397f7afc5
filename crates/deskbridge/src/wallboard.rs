//! The supervisors' wallboard: what each group's floor looks like now, made
//! at most once a second per group and shared by every screen showing it.
//!
//! **No read per viewer per change.** A wallboard hears the change stream
//! and asks for the snapshot again; were each screen's request to read the
//! store, a change would cost as many reads as there are screens. Instead
//! [`Wallboards`] keeps each group's last snapshot for [`FRESH`]: any number
//! of screens asking within it share one set of reads. A page waits longer
//! than [`FRESH`] after it hears a change before it asks, so the snapshot it
//! gets was made after the change.
//!
//! The states and the waiting callers are the core's
//! (`deskbridge_core::wallboard`); today's counts are the figures the store
//! keeps per hour (`deskbridge_core::stats`), the same as `GET /api/v1/stats`.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use deskbridge_core::Interaction;
use deskbridge_core::stats::{Interval, IntervalFigures, Totals};
use deskbridge_core::wallboard::{AgentPresence, Member, agent_presence, waiting_now};
use deskbridge_store::{CallFilter, FiguresFilter, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::{AppState, Group};

/// How long a group's snapshot is shown before it is made again.
pub const FRESH: Duration = Duration::from_secs(1);
/// The group's latest calls the floor is read from: the ones ringing and
/// talking now are among them (a floor with more calls at once than this is
/// shown in part).
const RECENT_CALLS: u32 = 500;
/// The most a snapshot reads of those calls (bytes).
const RECENT_BYTES: usize = 8 * 1024 * 1024;
/// The most queues shown with their own figures.
const MAX_QUEUES: usize = 24;

/// One group's floor now.
#[derive(Debug, Serialize, ToSchema)]
pub struct Wallboard {
    pub group: String,
    /// When the snapshot was made: waits and states are counted from here
    /// on by the page's clock.
    pub at: DateTime<Utc>,
    /// A call answered within this many seconds counts for the service level.
    pub service_level_seconds: u64,
    /// The whole group today (UTC), every queue summed.
    pub today: IntervalFigures,
    pub queues: Vec<QueueTile>,
    pub agents: Vec<AgentRow>,
}

/// One queue: who waits now, and today's calls.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueTile {
    /// `null`: the calls whose phone system named no queue.
    pub queue: Option<String>,
    /// Callers waiting now.
    pub waiting: usize,
    /// Since when the longest of them has waited.
    pub longest_waiting_since: Option<DateTime<Utc>>,
    pub today: IntervalFigures,
}

/// One agent of the group.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentRow {
    pub email: String,
    pub name: Option<String>,
    #[serde(flatten)]
    pub presence: AgentPresence,
    /// Calls the agent answered today (UTC).
    pub calls_today: i64,
}

/// The groups' last snapshots.
#[derive(Default)]
pub struct Wallboards {
    /// Held while a snapshot is made, so screens asking at once wait for the
    /// one being made instead of each making their own (a tokio mutex: it is
    /// held across the reads).
    boards: tokio::sync::Mutex<HashMap<String, (Instant, Arc<Wallboard>)>>,
}

impl Wallboards {
    /// The group's snapshot: the last one while it is fresh, else a new one.
    pub async fn snapshot(
        &self,
        state: &AppState,
        group: &Group,
    ) -> Result<Arc<Wallboard>, StoreError> {
        let mut boards = self.boards.lock().await;
        if let Some((made, board)) = boards.get(&group.name)
            && made.elapsed() < FRESH
        {
            return Ok(board.clone());
        }
        let board = Arc::new(make(state, group, Utc::now()).await?);
        metrics::counter!("deskbridge_wallboard_snapshots_total").increment(1);
        boards.insert(group.name.clone(), (Instant::now(), board.clone()));
        Ok(board)
    }
}

/// The agents of the group: those who name it, or every agent when it is
/// the only group and they name none (as `Caller::reach` counts them).
fn members(state: &AppState, group: &Group) -> Vec<(String, Option<String>, Option<String>)> {
    let directory = state.directory.agents();
    state
        .agent_page
        .agents
        .iter()
        .filter(|a| match a.groups.is_empty() {
            true => state.groups.len() == 1,
            false => a.groups.contains(&group.name),
        })
        .map(|a| {
            let known = directory
                .iter()
                .find(|d| d.email.eq_ignore_ascii_case(&a.email));
            let name = a
                .name
                .clone()
                .or_else(|| known.and_then(|d| d.name.clone()));
            let extension = known.and_then(|d| d.extension.clone());
            (a.email.clone(), name, extension)
        })
        .collect()
}

async fn make(
    state: &AppState,
    group: &Group,
    now: DateTime<Utc>,
) -> Result<Wallboard, StoreError> {
    let groups = vec![group.name.clone()];
    let filter = CallFilter {
        groups: groups.clone(),
        ..CallFilter::default()
    };
    let recent = state
        .store
        .call_log(&filter, RECENT_CALLS, RECENT_BYTES)
        .await?
        .calls;
    let calls: Vec<&Interaction> = recent
        .iter()
        .map(|r| &r.interaction)
        .filter(|c| !c.is_chat())
        .collect();
    let day = Interval::Day.start_of(now);
    let today = |queue: Option<String>, agent: Option<String>| FiguresFilter {
        groups: groups.clone(),
        from: day,
        to: Interval::Day.next(day),
        queue,
        agent,
    };
    let sum =
        |hours: Vec<(DateTime<Utc>, Totals)>| -> Totals { hours.into_iter().map(|(_, t)| t).sum() };
    let waiting = waiting_now(&calls);
    let mut names: BTreeSet<String> = calls
        .iter()
        .filter(|c| c.first_at >= day)
        .flat_map(|c| c.queue_visits())
        .filter_map(|v| v.queue)
        .collect();
    names.extend(waiting.iter().filter_map(|w| w.queue.clone()));
    let mut queues = Vec::new();
    for name in names.into_iter().take(MAX_QUEUES) {
        let totals = sum(state
            .store
            .hourly_figures(&today(Some(name.clone()), None))
            .await?);
        let now_waiting = waiting.iter().find(|w| w.queue.as_deref() == Some(&name));
        queues.push(QueueTile {
            waiting: now_waiting.map_or(0, |w| w.callers),
            longest_waiting_since: now_waiting.map(|w| w.longest_since),
            queue: Some(name),
            today: IntervalFigures::new(day, &totals),
        });
    }
    if let Some(unnamed) = waiting.iter().find(|w| w.queue.is_none()) {
        queues.push(QueueTile {
            queue: None,
            waiting: unnamed.callers,
            longest_waiting_since: Some(unnamed.longest_since),
            today: IntervalFigures::new(day, &Totals::default()),
        });
    }
    let mut agents = Vec::new();
    for (email, name, extension) in members(state, group) {
        let pauses = state.store.open_pauses(&email).await?;
        let pause = pauses.iter().find(|p| p.group == group.name);
        let member = Member {
            email: &email,
            extension: extension.as_deref(),
        };
        let presence = agent_presence(member, &calls, pause, now);
        let key = deskbridge_core::stats::agent_key(&deskbridge_core::AgentRef {
            email: Some(email.clone()),
            ..Default::default()
        });
        let calls_today = sum(state.store.hourly_figures(&today(None, key)).await?).answered;
        agents.push(AgentRow {
            email,
            name,
            presence,
            calls_today,
        });
    }
    let group_today = sum(state.store.hourly_figures(&today(None, None)).await?);
    Ok(Wallboard {
        group: group.name.clone(),
        at: now,
        service_level_seconds: group.plan.thresholds.service_level_seconds,
        today: IntervalFigures::new(day, &group_today),
        queues,
        agents,
    })
}
