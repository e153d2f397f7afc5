//! Runs claimed steps and records their outcomes: one at a time for the
//! workers of the live and bulk lanes, a burst at a time for the pop workers.
//!
//! A step that failed is recorded at once (put back with its backoff, held,
//! or failed for good). A step that succeeded is recorded with the others of
//! its claim in one transaction ([`JobQueue::complete_steps`]): a burst of
//! pops claimed together costs two turns on the store's writer (the claim and
//! the outcomes), not two per pop.

use std::time::Duration;

use chrono::Utc;
use deskbridge_core::retry::{self, Retry};
use deskbridge_core::trigger::{self, Notification};
use deskbridge_core::{Step, StepOutcome};
use deskbridge_store::{ClaimedStep, JobQueue, StepDone};
use rand::Rng;
use tracing::Instrument;

use super::lease::StepLease;
use super::{Claimed, RetryPolicy, steps};
use crate::state::{AppState, Group};

/// Runs the claimed steps side by side and records them; returns once all
/// are recorded.
pub(super) async fn run_claimed(state: &AppState, retry: RetryPolicy, claimed: Vec<Claimed>) {
    let runs = claimed.into_iter().map(|(step, claimed_from)| {
        let span = step_span(&step);
        run_step(state, retry, step, claimed_from).instrument(span)
    });
    let succeeded: Vec<Succeeded> = futures_util::future::join_all(runs)
        .await
        .into_iter()
        .flatten()
        .collect();
    record_succeeded(state, &succeeded).await;
}

fn step_span(step: &ClaimedStep) -> tracing::Span {
    tracing::info_span!("step", group = %step.group, call_id = %step.call_id, step = step.step.as_str(), attempt = step.attempt)
}

/// A step that ran to its outcome, to be recorded.
struct Succeeded {
    step: ClaimedStep,
    outcome: StepOutcome,
    notifications: Vec<Notification>,
    group: String,
}

/// Runs one claimed step. A failure is recorded here; a success is returned
/// for [`record_succeeded`]. `None` also when the step is not this worker's
/// any more (its lease was lost) or could not run at all.
async fn run_step(
    state: &AppState,
    retry: RetryPolicy,
    step: ClaimedStep,
    claimed_from: tokio::time::Instant,
) -> Option<Succeeded> {
    let store = state.store.as_ref();
    let Some(group) = state.group(&step.group).cloned() else {
        let reason = format!("connector group {:?} is no longer configured", step.group);
        fail(store, &step, &reason).await;
        return None;
    };
    let cut_off = u32::try_from(step.takeovers).unwrap_or(u32::MAX);
    if !retry.backoff.runs_again_after(cut_off) {
        let reason = format!(
            "its run was cut off {cut_off} times (the instance running it stopped each time); \
             if the instance's log shows it stopping during this step, the step is the cause: \
             fix that, then run `deskbridge calls retry --id {}`",
            step.call_id
        );
        fail(store, &step, &reason).await;
        return None;
    }
    let started = std::time::Instant::now();
    let lease = StepLease::claimed(store, &step, retry.lease, claimed_from);
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
        counted(&group.name, step.step, "lease_lost");
        return None;
    };
    let name = step.step.as_str();
    metrics::histogram!("deskbridge_step_seconds", "step" => name)
        .record(started.elapsed().as_secs_f64());
    let e = match result {
        Ok(outcome) => {
            fault_point(name);
            tracing::info!(?outcome, "step done");
            if step.step == Step::Pop {
                pop_latency(&step.interaction, claimed_from, started);
            }
            let notifications = announced(&group, &step, &outcome);
            return Some(Succeeded {
                step,
                outcome,
                notifications,
                group: group.name.clone(),
            });
        }
        Err(e) => e,
    };
    let claims = u32::try_from(step.attempt).unwrap_or(u32::MAX);
    let attempt = retry::counted_attempt(claims, cut_off);
    let jitter = rand::rng().random_range(retry::JITTER);
    let (recorded, result_label) = match retry.backoff.judge(attempt, &e, wrote, jitter) {
        Retry::In(delay) => {
            let reason = e.reason();
            tracing::warn!(%reason, ?delay, "step failed; will retry");
            (store.retry_step(&step, &reason, delay).await, "retry")
        }
        Retry::Held(delay) => {
            let reason = e.reason();
            tracing::info!(%reason, ?delay, "step held back; waits for its limit");
            (store.hold_step(&step, &reason, delay).await, "held")
        }
        Retry::GiveUp => {
            let reason = match e.is_transient() {
                true => format!("gave up after {attempt} attempts: {}", e.reason()),
                false => e.reason(),
            };
            tracing::error!(%reason, "step failed for good");
            (store.fail_step(&step, &reason).await, "failed")
        }
    };
    counted(&group.name, step.step, result_label);
    log_recorded(recorded);
    None
}

/// Records the succeeded steps' outcomes in one transaction.
async fn record_succeeded(state: &AppState, succeeded: &[Succeeded]) {
    if succeeded.is_empty() {
        return;
    }
    let done: Vec<StepDone> = succeeded
        .iter()
        .map(|s| StepDone {
            step: &s.step,
            outcome: &s.outcome,
            notifications: &s.notifications,
        })
        .collect();
    let recorded = state.store.complete_steps(&done).await;
    for (i, s) in succeeded.iter().enumerate() {
        counted(&s.group, s.step.step, "done");
        let this = match &recorded {
            Ok(each) => Ok(each.get(i) == Some(&true)),
            Err(e) => Err(e.to_string()),
        };
        let _span = step_span(&s.step).entered();
        log_recorded(this);
    }
}

/// `deskbridge_steps_total`, by group, step and what came of it.
fn counted(group: &str, step: Step, result: &'static str) {
    metrics::counter!("deskbridge_steps_total", "group" => group.to_string(), "step" => step.as_str(), "result" => result)
        .increment(1);
}

fn log_recorded<E: std::fmt::Display>(recorded: Result<bool, E>) {
    match recorded {
        Ok(true) => {}
        Ok(false) => tracing::warn!("lease lost while running; another worker owns the step now"),
        Err(e) => {
            tracing::error!(error = %e, "cannot record the step's outcome; it will run again")
        }
    }
}

/// Fails a step that cannot run: its reason says what the admin should do.
async fn fail(store: &dyn JobQueue, step: &ClaimedStep, reason: &str) {
    tracing::error!(%reason, "step failed for good");
    if let Err(e) = store.fail_step(step, reason).await {
        tracing::error!(error = %e, "cannot record the failure");
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
