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
mod steps;
mod wake;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use deskbridge_core::retry::{self, Backoff, Retry};
use deskbridge_core::trigger::{self, Notification};
use deskbridge_core::{Step, StepOutcome, WorkLane};
use deskbridge_store::{ClaimedStep, StoreError};
use lease::StepLease;
use rand::Rng;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;
use wake::{Bell, Hears, Wakeup};

use crate::config::JobsConfig;
use crate::state::{AppState, Group};

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
    ) -> Result<Option<Claimed>, StoreError> {
        let Some(interval) = self.interval else {
            return timed(state.store.claim_bulk(owner, lease)).await;
        };
        let mut next = self.next.lock().await;
        tokio::time::sleep_until(*next).await;
        let claimed = timed(state.store.claim_bulk(owner, lease)).await?;
        if claimed.as_ref().is_some_and(|(step, _)| starts_call(step)) {
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
/// requests (interactive lane of the Zendesk budget), so two keep up with
/// many agents' phones ringing at once.
const POP_WORKERS: usize = 2;

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
            Lane::Pops => timed(state.store.claim_pop(&owner, retry.lease)).await,
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
        match claimed {
            Some(step) => {
                bell.found_work();
                run_one(&state, retry, step).await
            }
            None => {
                let idle = idle_time(&state, &lane).await;
                tokio::select! {
                    _ = bell.wait() => {},
                    _ = tokio::time::sleep(idle) => {},
                    _ = stop.changed() => {},
                }
            }
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

async fn run_one(state: &AppState, retry: RetryPolicy, (step, claimed_from): Claimed) {
    let span = tracing::info_span!("step", group = %step.group, call_id = %step.call_id, step = step.step.as_str(), attempt = step.attempt);
    run_and_record(state, retry, step, claimed_from)
        .instrument(span)
        .await
}

/// A claimed step and the moment its claim started: the lease runs from no
/// earlier than that.
type Claimed = (ClaimedStep, tokio::time::Instant);

/// Takes the claim's start time; the claim itself runs only when awaited here.
async fn timed(
    claim: impl std::future::Future<Output = Result<Option<ClaimedStep>, StoreError>>,
) -> Result<Option<Claimed>, StoreError> {
    let from = tokio::time::Instant::now();
    Ok(claim.await?.map(|step| (step, from)))
}

async fn run_and_record(
    state: &AppState,
    retry: RetryPolicy,
    step: ClaimedStep,
    claimed_from: tokio::time::Instant,
) {
    let Some(group) = state.group(&step.group).cloned() else {
        let reason = format!("connector group {:?} is no longer configured", step.group);
        tracing::error!(%reason, "step failed for good");
        if let Err(e) = state.store.fail_step(&step, &reason).await {
            tracing::error!(error = %e, "cannot record the failure");
        }
        return;
    };
    let cut_off = u32::try_from(step.takeovers).unwrap_or(u32::MAX);
    if !retry.backoff.runs_again_after(cut_off) {
        let reason = format!(
            "its run was cut off {cut_off} times (the instance running it stopped each time); \
             if the instance's log shows it stopping during this step, the step is the cause: \
             fix that, then run `deskbridge calls retry --id {}`",
            step.call_id
        );
        tracing::error!(%reason, "step failed for good");
        if let Err(e) = state.store.fail_step(&step, &reason).await {
            tracing::error!(error = %e, "cannot record the failure");
        }
        return;
    }
    let started = std::time::Instant::now();
    let lease = StepLease::claimed(state.store.as_ref(), &step, retry.lease, claimed_from);
    let result = lease
        .keep_while(async {
            fault_delay().await;
            // Whether the run wrote anything decides if a hold spends its
            // attempt (`deskbridge_budget::noting_writes`).
            deskbridge_budget::noting_writes(steps::run(
                state,
                &group,
                step.step,
                &step.interaction,
                step.job_id,
                step.attempt,
                &lease,
            ))
            .await
        })
        .await;
    let Some((result, wrote)) = result else {
        // The worker that holds the lease now runs the step; nothing to record.
        metrics::counter!("deskbridge_steps_total", "group" => group.name.clone(), "step" => step.step.as_str(), "result" => "lease_lost")
            .increment(1);
        return;
    };
    let name = step.step.as_str();
    metrics::histogram!("deskbridge_step_seconds", "step" => name)
        .record(started.elapsed().as_secs_f64());
    let (recorded, result_label) = match result {
        Ok(outcome) => {
            fault_point(name);
            tracing::info!(?outcome, "step done");
            if step.step == Step::Pop {
                pop_latency(&step.interaction, claimed_from, started);
            }
            let notifications = announced(&group, &step, &outcome);
            (
                state
                    .store
                    .complete_step_announcing(&step, &outcome, &notifications)
                    .await,
                "done",
            )
        }
        Err(e) => {
            let claims = u32::try_from(step.attempt).unwrap_or(u32::MAX);
            let attempt = retry::counted_attempt(claims, cut_off);
            let jitter = rand::rng().random_range(retry::JITTER);
            match retry.backoff.judge(attempt, &e, wrote, jitter) {
                Retry::In(delay) => {
                    let reason = e.reason();
                    tracing::warn!(%reason, ?delay, "step failed; will retry");
                    (state.store.retry_step(&step, &reason, delay).await, "retry")
                }
                Retry::Held(delay) => {
                    let reason = e.reason();
                    tracing::info!(%reason, ?delay, "step held back; waits for its limit");
                    (state.store.hold_step(&step, &reason, delay).await, "held")
                }
                Retry::GiveUp => {
                    let reason = match e.is_transient() {
                        true => format!("gave up after {attempt} attempts: {}", e.reason()),
                        false => e.reason(),
                    };
                    tracing::error!(%reason, "step failed for good");
                    (state.store.fail_step(&step, &reason).await, "failed")
                }
            }
        }
    };
    metrics::counter!("deskbridge_steps_total", "group" => group.name.clone(), "step" => name, "result" => result_label)
        .increment(1);
    match recorded {
        Ok(true) => {}
        Ok(false) => tracing::warn!("lease lost while running; another worker owns the step now"),
        Err(e) => {
            tracing::error!(error = %e, "cannot record the step's outcome; it will run again")
        }
    }
}

/// `deskbridge_pop_latency_seconds`: from the phone system's moment that
/// made the pop due (the answer, else the ringing: the latest known when the
/// step was claimed) to the pop shown. Measured against the PBX's clock, so a
/// skewed clock shows here first; never negative.
///
/// At `debug` (`RUST_LOG=deskbridge::worker=debug`) each pop also logs where its
/// time went: until its claim began (the event's commit, the wake-up), the
/// claim, and the step's run; `crates/deskbridge-bench/README.md`
/// ("Profiles") sums these lines.
fn pop_latency(
    call: &deskbridge_core::Interaction,
    claimed_from: tokio::time::Instant,
    ran_from: std::time::Instant,
) {
    let Some(moment) = call.answered_at.or(call.ringing_at) else {
        return;
    };
    let total_ms = (Utc::now() - moment).num_milliseconds().max(0);
    metrics::histogram!("deskbridge_pop_latency_seconds", "group" => call.group.clone())
        .record(total_ms as f64 / 1000.0);
    let run_ms = ran_from.elapsed().as_secs_f64() * 1000.0;
    let claim_ms = claimed_from.elapsed().as_secs_f64() * 1000.0 - run_ms;
    tracing::debug!(
        total_ms,
        before_claim_ms = total_ms as f64 - claim_ms - run_ms,
        claim_ms,
        run_ms,
        "pop timing"
    );
}

/// The CRM triggers' notifications of what the step changed in the group's
/// helpdesk (the core decides both), written with its outcome.
fn announced(group: &Group, step: &ClaimedStep, outcome: &StepOutcome) -> Vec<Notification> {
    if group.step_triggers.is_empty() {
        return Vec::new();
    }
    trigger::step_changes(&step.interaction, outcome, Utc::now())
        .iter()
        .flat_map(|change| trigger::notifications(&group.step_triggers, change))
        .collect()
}

/// Test hook for failover: with `DESKBRIDGE_FAULT_STEP_DELAY_MS=<ms>`, every step
/// starts that much later, so a test can kill an instance while it holds leases.
/// Never set it in production.
async fn fault_delay() {
    static DELAY: std::sync::OnceLock<Option<Duration>> = std::sync::OnceLock::new();
    let delay = DELAY.get_or_init(|| {
        std::env::var("DESKBRIDGE_FAULT_STEP_DELAY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(Duration::from_millis)
    });
    if let Some(d) = delay {
        tokio::time::sleep(*d).await;
    }
}

/// Test hook for crash recovery: with `DESKBRIDGE_FAULT_ABORT_AFTER_STEP=<step>`, the
/// process dies right after that step's helpdesk work and before its outcome is
/// recorded, the worst moment for duplicates. Never set it in production.
fn fault_point(step: &str) {
    if std::env::var("DESKBRIDGE_FAULT_ABORT_AFTER_STEP").is_ok_and(|s| s == step) {
        eprintln!("fault injection: aborting after {step}");
        std::process::abort();
    }
}
