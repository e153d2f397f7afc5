//! The workers: each claims the next runnable step, runs it through the helpdesk
//! port, and records its outcome before claiming another.
//!
//! Failures are sorted by what retrying can do: a transient error (timeout, 5xx,
//! 429, locked database) puts the step back with exponential backoff and jitter, and
//! never sooner than the helpdesk's `Retry-After`; a permanent one, or running out
//! of attempts, marks the step failed, which shows on the call as `sync: failed`
//! with the reason. Other calls are never held up: only the later steps of the same
//! call wait.
//!
//! This is deskbridge's one retry policy. The helpdesk clients send each request
//! once and only sort its failure; retrying there too would multiply the tries (3
//! client tries × 12 step attempts), hide failures from the call's `steps`, and
//! hold a worker and its lease while sleeping. A step's retry is durable (it
//! survives a restart) and re-reads the call, so it is the one to keep.

mod lease;
mod run;
mod steps;
mod wake;

use std::sync::Arc;
use std::time::Duration;

use deskbridge_core::WorkLane;
use deskbridge_core::retry::Backoff;
use deskbridge_store::{ClaimedStep, StoreError};
use tokio::sync::watch;
use tokio::task::JoinSet;
use wake::{Bell, Hears, Wakeup};

use crate::config::JobsConfig;
use crate::state::AppState;

/// How the workers hold and retry steps: the lease a claim takes, and the
/// backoff the core judges a failure by ([`deskbridge_core::retry`]).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub lease: Duration,
    pub backoff: Backoff,
}

impl From<&JobsConfig> for RetryPolicy {
    fn from(c: &JobsConfig) -> Self {
        RetryPolicy {
            lease: Duration::from_secs(c.lease_seconds),
            backoff: Backoff {
                max_attempts: c.max_attempts,
                base: Duration::from_millis(c.retry_base_ms),
                max: Duration::from_millis(c.retry_max_ms),
            },
        }
    }
}

pub struct Workers {
    tasks: JoinSet<()>,
}

impl Workers {
    /// Waits for in-flight steps to finish; steps still running after `grace` are
    /// abandoned, and their leases run out so another start takes them over.
    pub async fn finish(mut self, grace: Duration) {
        let all = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!("steps still running after {grace:?}; they resume after restart");
        }
    }
}

pub fn spawn(
    state: Arc<AppState>,
    count: usize,
    retry: RetryPolicy,
    stop: watch::Receiver<bool>,
) -> Workers {
    let mut tasks = JoinSet::new();
    let wakeup = Wakeup::listen(state.store.changes(), stop.clone());
    for n in 0..count {
        // `{instance}/w{n}`: the instances API counts an instance's steps by it.
        let owner = format!("{}/w{n}", state.instance.id);
        tasks.spawn(work_loop(
            state.clone(),
            owner,
            Lane::All(wakeup.clone()),
            retry,
            stop.clone(),
        ));
    }
    // The fast lane: workers that run only screen pops, so a ringing phone's pop
    // never waits for a worker busy with comments (the other workers run pops
    // too, in their turn).
    for n in 0..POP_WORKERS {
        let owner = format!("{}/p{n}", state.instance.id);
        tasks.spawn(work_loop(
            state.clone(),
            owner,
            Lane::Pops,
            retry,
            stop.clone(),
        ));
    }
    Workers { tasks }
}

/// Workers for the steps of imported calls ([`WorkLane::Bulk`]), run by
/// `deskbridge backfill` while it syncs: they claim only bulk steps, at most
/// `pace`'s calls per minute, so the live workers of a running server (which
/// never claim bulk steps) and the helpdesk's budget stay free for live calls.
pub fn spawn_bulk(
    state: Arc<AppState>,
    count: usize,
    retry: RetryPolicy,
    pace: Arc<Pace>,
    stop: watch::Receiver<bool>,
) -> Workers {
    let mut tasks = JoinSet::new();
    for n in 0..count.max(1) {
        let owner = format!("{}/b{n}", state.instance.id);
        tasks.spawn(work_loop(
            state.clone(),
            owner,
            Lane::Bulk(pace.clone()),
            retry,
            stop.clone(),
        ));
    }
    Workers { tasks }
}

/// The pace of an import: at most so many calls a minute start their helpdesk
/// work. A call is counted when its first step is claimed; its later steps (a
/// ticket, a comment) follow without waiting, so a call once started finishes
/// soon. Claims are taken one at a time, so workers never start a burst.
pub struct Pace {
    interval: Option<Duration>,
    next: tokio::sync::Mutex<tokio::time::Instant>,
}

impl Pace {
    /// `calls_per_minute = 0`: no pacing.
    pub fn new(calls_per_minute: u32) -> Pace {
        Pace {
            interval: (calls_per_minute > 0).then(|| Duration::from_secs(60) / calls_per_minute),
            next: tokio::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    /// Claims the next bulk step once the pace allows a new call to start.
    async fn claim(
        &self,
        state: &AppState,
        owner: &str,
        lease: Duration,
    ) -> Result<Vec<Claimed>, StoreError> {
        let Some(interval) = self.interval else {
            return timed(state.store.claim_bulk(owner, lease)).await;
        };
        let mut next = self.next.lock().await;
        tokio::time::sleep_until(*next).await;
        let claimed = timed(state.store.claim_bulk(owner, lease)).await?;
        if claimed.iter().any(|(step, _)| starts_call(step)) {
            *next = tokio::time::Instant::now() + interval;
        }
        Ok(claimed)
    }
}

/// Whether the step is the first of its call's helpdesk work (and not a retry).
fn starts_call(step: &ClaimedStep) -> bool {
    let done = &step.interaction.done;
    step.attempt == 1 && !done.identify && !done.ticket && !done.log
}

/// Workers of the fast lane, per instance. A pop makes at most a few quick
/// requests (interactive lane of the Zendesk budget), and a worker runs the
/// pops of its claim side by side, so two keep up with many agents' phones
/// ringing at once.
const POP_WORKERS: usize = 2;

/// The most pops one claim takes. Phones ring in bursts (a queue rings its
/// agents together); a burst claimed at once is shown at once and recorded in
/// one transaction, where one claim per pop made the last of a burst of 56
/// wait about 90 ms for the others' turns on the writer (BENCHMARKS.md,
/// "Pops: where they wait"). A claim's pops are recorded when its slowest is
/// done, so the other pop worker claims the pops that ring meanwhile.
const POP_BURST: usize = 64;

/// Which steps a worker claims.
#[derive(Clone)]
enum Lane {
    /// Every step of live calls; woken one worker at a time.
    All(Arc<Wakeup>),
    /// Screen pops of live calls.
    Pops,
    /// Steps of imported calls, at the import's pace.
    Bulk(Arc<Pace>),
}

async fn work_loop(
    state: Arc<AppState>,
    owner: String,
    lane: Lane,
    retry: RetryPolicy,
    mut stop: watch::Receiver<bool>,
) {
    // Woken when a step becomes runnable, here or in another instance.
    let mut bell = match &lane {
        Lane::All(wakeup) => Bell::Shared(wakeup.clone()),
        Lane::Pops => Bell::Own(state.store.changes(), Hears::Pops),
        Lane::Bulk(_) => Bell::Own(state.store.changes(), Hears::Steps),
    };
    while !*stop.borrow() {
        let claimed = match &lane {
            Lane::All(_) => timed(state.store.claim_step(&owner, retry.lease)).await,
            Lane::Pops => timed(state.store.claim_pops(&owner, retry.lease, POP_BURST)).await,
            // The pace may hold a claim back for long (a low rate): a stop
            // must not wait for it. A claim dropped after it was taken is a
            // lease that runs out, and the step runs again.
            Lane::Bulk(pace) => tokio::select! {
                claimed = pace.claim(&state, &owner, retry.lease) => claimed,
                _ = stop.changed() => continue,
            },
        };
        let claimed = match claimed {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "cannot claim a step; retrying in 1 s");
                sleep_or_stop(&mut stop, Duration::from_secs(1)).await;
                continue;
            }
        };
        if claimed.is_empty() {
            let idle = idle_time(&state, &lane).await;
            tokio::select! {
                _ = bell.wait() => {},
                _ = tokio::time::sleep(idle) => {},
                _ = stop.changed() => {},
            }
        } else {
            bell.found_work();
            run::run_claimed(&state, retry, claimed).await
        }
    }
}

impl Lane {
    fn work_lane(&self) -> WorkLane {
        match self {
            Lane::All(_) | Lane::Pops => WorkLane::Live,
            Lane::Bulk(_) => WorkLane::Bulk,
        }
    }
}

/// How long an idle worker sleeps when no change wakes it first: until the lane's
/// next retry is due, at most 1 s (the poll that catches steps queued by another
/// process). A step already due that the claim did not take waits behind its
/// call's active step or belongs to another worker: no sleep shorter than
/// [`MIN_IDLE`], so idle workers do not spin on the store's writer.
///
/// The pop workers do not read the live lane's due times (those are mostly other
/// steps'); a queued pop wakes them through the change stream, and a pop's retry
/// is found by their short poll.
async fn idle_time(state: &AppState, lane: &Lane) -> Duration {
    const MIN_IDLE: Duration = Duration::from_millis(20);
    const POP_POLL: Duration = Duration::from_millis(250);
    let poll = Duration::from_secs(1);
    if matches!(lane, Lane::Pops) {
        return POP_POLL;
    }
    match state.store.next_due(lane.work_lane()).await {
        Ok(Some(at)) => (at - chrono::Utc::now())
            .to_std()
            .unwrap_or(MIN_IDLE)
            .clamp(MIN_IDLE, poll),
        _ => poll,
    }
}

async fn sleep_or_stop(stop: &mut watch::Receiver<bool>, d: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {},
        _ = stop.changed() => {},
    }
}

/// A claimed step and the moment its claim started: the lease runs from no
/// earlier than that.
type Claimed = (ClaimedStep, tokio::time::Instant);

/// Takes the claim's start time; the claim itself runs only when awaited here.
async fn timed<C: IntoIterator<Item = ClaimedStep>>(
    claim: impl std::future::Future<Output = Result<C, StoreError>>,
) -> Result<Vec<Claimed>, StoreError> {
    let from = tokio::time::Instant::now();
    Ok(claim.await?.into_iter().map(|step| (step, from)).collect())
}
