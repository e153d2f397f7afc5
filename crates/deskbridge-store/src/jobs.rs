//! The durable job queue's interface: a step leased to a worker, what the
//! worker records of it, and the admin's view of failed and waiting steps.
//! The queue's rules are the core's (`deskbridge_core::queue`); its SQL is
//! `sql/jobs.rs`.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deskbridge_core::{Interaction, Step, StepOutcome, SyncStatus, WorkLane};

use crate::{CallRecord, FailedStep, StoreError};

/// A step handed to one worker, leased until `lease_until`.
#[derive(Debug, Clone)]
pub struct ClaimedStep {
    pub job_id: i64,
    pub group: String,
    pub call_id: String,
    pub step: Step,
    /// 1 on the first run: every claim counts, so that it fences the run's
    /// outcome (with `owner`) and a re-run knows it is one.
    pub attempt: i64,
    /// How many of the earlier runs were cut off rather than failed: their
    /// worker stopped and this or an earlier claim took the step over once the
    /// lease ran out. `attempt - takeovers` is the attempt the retry schedule
    /// judges ([`deskbridge_core::retry::counted_attempt`]).
    pub takeovers: i64,
    pub owner: String,
    /// The call as it is now, outcomes of earlier steps included.
    pub interaction: Interaction,
}

/// A step's outcome to record ([`JobQueue::complete_steps`]), with the CRM
/// triggers' notifications of what it changed.
#[derive(Debug, Clone, Copy)]
pub struct StepDone<'a> {
    pub step: &'a ClaimedStep,
    pub outcome: &'a StepOutcome,
    pub notifications: &'a [deskbridge_core::trigger::Notification],
}

/// The durable job queue: each call's steps, one at a time, leased to workers.
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Leases the next runnable step of a live call ([`WorkLane::Live`]): queued
    /// and due, or running with an expired lease (its worker died), and the first
    /// unfinished step of its call.
    async fn claim_step(
        &self,
        owner: &str,
        lease: Duration,
    ) -> Result<Option<ClaimedStep>, StoreError>;

    /// Leases the next runnable step of an imported call ([`WorkLane::Bulk`]),
    /// like [`JobQueue::claim_step`]; only `deskbridge backfill`'s workers claim
    /// these, so live workers are never busy with history.
    async fn claim_bulk(
        &self,
        owner: &str,
        lease: Duration,
    ) -> Result<Option<ClaimedStep>, StoreError>;

    /// Leases up to `most` runnable screen pops (`Step::Pop`) at once, like
    /// [`JobQueue::claim_step`] but for pops only: the fast lane. A worker that
    /// claims only pops is never busy with bulk work (comments) when a phone
    /// rings. Phones ring in bursts (a queue rings its agents together, a
    /// campaign's calls start together), and each claim is a turn on the
    /// writer: one claim for the burst, rather than one per pop, is what keeps
    /// the last pop of a burst from waiting for all the others' turns.
    async fn claim_pops(
        &self,
        owner: &str,
        lease: Duration,
        most: usize,
    ) -> Result<Vec<ClaimedStep>, StoreError>;

    /// The next runnable screen pop alone ([`JobQueue::claim_pops`]).
    async fn claim_pop(
        &self,
        owner: &str,
        lease: Duration,
    ) -> Result<Option<ClaimedStep>, StoreError> {
        Ok(self.claim_pops(owner, lease, 1).await?.pop())
    }

    /// Records the step's outcome on the job and the call, and queues the call's next
    /// step. Returns false if the lease was lost (another worker took the step over),
    /// in which case nothing changed.
    async fn complete_step(
        &self,
        step: &ClaimedStep,
        outcome: &StepOutcome,
    ) -> Result<bool, StoreError> {
        self.complete_step_announcing(step, outcome, &[]).await
    }

    /// [`JobQueue::complete_step`], writing the CRM triggers' `notifications` of
    /// what the step changed (in a helpdesk that announces nothing itself) into
    /// the outbox in the same transaction, under the step's group: they exist
    /// if and only if the outcome is recorded, so a step run again after a crash
    /// (whose first outcome was never recorded) announces once.
    async fn complete_step_announcing(
        &self,
        step: &ClaimedStep,
        outcome: &StepOutcome,
        notifications: &[deskbridge_core::trigger::Notification],
    ) -> Result<bool, StoreError> {
        let done = [StepDone {
            step,
            outcome,
            notifications,
        }];
        Ok(self.complete_steps(&done).await?.first() == Some(&true))
    }

    /// Records several steps' outcomes ([`JobQueue::complete_step_announcing`])
    /// in one transaction: a burst of pops claimed together is recorded
    /// together. Returns, per step in order, whether it was recorded (false:
    /// its lease was lost, and nothing changed for it).
    async fn complete_steps(&self, done: &[StepDone<'_>]) -> Result<Vec<bool>, StoreError>;

    /// Puts the step back in the queue to run again after `delay`.
    async fn retry_step(
        &self,
        step: &ClaimedStep,
        error: &str,
        delay: Duration,
    ) -> Result<bool, StoreError>;

    /// Puts the step back to run after `delay` without spending its attempt:
    /// its request was held back unsent (`Retry::Held`), so the next claim
    /// has the same attempt number this one had.
    async fn hold_step(
        &self,
        step: &ClaimedStep,
        error: &str,
        delay: Duration,
    ) -> Result<bool, StoreError>;

    /// Marks the step failed for good; the call's sync becomes `failed`.
    async fn fail_step(&self, step: &ClaimedStep, error: &str) -> Result<bool, StoreError>;

    /// Extends the lease of a step still running (a step waiting out a helpdesk's
    /// Retry-After must not be taken over). False if the lease was already lost.
    async fn extend_lease(&self, step: &ClaimedStep, lease: Duration) -> Result<bool, StoreError>;

    /// Gives a leased step back without counting an attempt (graceful shutdown).
    async fn release_step(&self, step: &ClaimedStep) -> Result<(), StoreError>;

    /// When the lane's next queued step becomes due, if any (for the workers'
    /// sleep).
    async fn next_due(&self, lane: WorkLane) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// How many of the lane's steps are queued or running (what an import still
    /// has to sync).
    async fn active_steps(&self, lane: WorkLane) -> Result<u64, StoreError>;

    /// The lane's steps that failed for good, oldest first, at most `limit`.
    async fn failed_steps(&self, lane: WorkLane, limit: u32)
    -> Result<Vec<FailedStep>, StoreError>;

    /// Runs a call that failed for good again: its failed step goes back to
    /// the queue (attempts reset, due now), so its `sync` is `pending` again and
    /// a worker runs the step and the call's next steps; in one transaction,
    /// under the call's lock. A call has at most one failed step (nothing is
    /// queued after a failure), so that is "its failed steps". Running a step
    /// again is safe: creates carry the idempotency key of (group, call, step).
    /// A call that has not failed is left as it is ([`RetriedCall::NotFailed`]).
    async fn retry_call(&self, group: &str, call_id: &str) -> Result<RetriedCall, StoreError>;

    /// The steps that failed for good in any lane, newest first, at most
    /// `limit`, with their call's number: the admin page's "failed calls".
    async fn recent_failures(&self, limit: u32) -> Result<Vec<FailedCall>, StoreError>;

    /// The lane's steps due and waiting for a worker at `now` (queued and due,
    /// or running under an expired lease), and since when the oldest has
    /// waited: the queue's depth and age for `/metrics`. A step waiting for its
    /// time (a recording's wait, an agent's deadline) is not behind.
    async fn waiting_steps(
        &self,
        lane: WorkLane,
        now: DateTime<Utc>,
    ) -> Result<WaitingSteps, StoreError>;
}

/// What became of [`JobQueue::retry_call`].
#[derive(Debug, Clone)]
pub enum RetriedCall {
    /// The failed step is queued again; the call as it is now (`sync`
    /// pending).
    Queued(Box<CallRecord>),
    /// The call has not failed (it is pending or done): nothing changed.
    NotFailed(SyncStatus),
    NoSuchCall,
}

impl std::fmt::Display for RetriedCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RetriedCall::Queued(_) => f.write_str("the failed step is queued again"),
            RetriedCall::NotFailed(sync) => {
                let sync = match sync {
                    SyncStatus::Pending => "pending: its steps are still running",
                    SyncStatus::Done => "done: there is nothing left to run",
                    SyncStatus::Failed => "failed",
                };
                write!(
                    f,
                    "only a failed call is retried; this one's sync is {sync}"
                )
            }
            RetriedCall::NoSuchCall => f.write_str("no such call"),
        }
    }
}

/// A step that failed for good, with when and the call's number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedCall {
    pub group: String,
    pub call_id: String,
    /// The customer's number as stored (E.164), if the call has one.
    pub from: Option<String>,
    pub step: String,
    pub error: Option<String>,
    /// When the step failed.
    pub failed_at: Option<DateTime<Utc>>,
    /// The call started (or the chat began).
    pub first_at: Option<DateTime<Utc>>,
}

/// Steps due and not yet taken by a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WaitingSteps {
    pub count: u64,
    /// When the oldest became due.
    pub oldest_due: Option<DateTime<Utc>>,
}
