//! The durable job queue.
//!
//! A step is runnable when it is queued and due, or running with an expired lease
//! (its worker died); a call has at most one of either (a unique index), so the
//! runnable step is the first unfinished step of its call. Claiming sets a lease;
//! finishing checks the lease is still ours (owner and attempt), so a worker that
//! lost its lease cannot overwrite the outcome of the worker that took the step
//! over.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deskbridge_core::trigger::Notification;
use deskbridge_core::{Step, StepOutcome, WorkLane};

use super::call_row::{load_call, queue_next, runnable_changes, save_call};
use super::figures::Counted;
use super::{SqlStore, dialect};
use crate::locks::TxLock;
use crate::rows::DbRow;
use crate::time::{from_ms, now_ms, to_text};
use crate::turns::Turn;
use crate::{
    Change, ClaimedStep, FailedCall, FailedStep, JobQueue, Journal, RetriedCall, StoreError,
    WaitingSteps,
};

/// A runnable step of the lane, with `$1` now (unix ms), `$2` the one step kind
/// wanted (`''` for any) and `$3` the lane's priority: the claim and the check
/// before it ask the same thing.
macro_rules! runnable {
    () => {
        "((status = 'queued' AND run_after <= $1) OR (status = 'running' AND lease_until < $1))
                   AND ($2 = '' OR step = $2)
                   AND priority = $3"
    };
}

#[async_trait]
impl JobQueue for SqlStore {
    async fn claim_step(
        &self,
        owner: &str,
        lease: Duration,
    ) -> Result<Option<ClaimedStep>, StoreError> {
        self.claim(owner, lease, None, WorkLane::Live).await
    }

    async fn claim_bulk(
        &self,
        owner: &str,
        lease: Duration,
    ) -> Result<Option<ClaimedStep>, StoreError> {
        self.claim(owner, lease, None, WorkLane::Bulk).await
    }

    async fn claim_pop(
        &self,
        owner: &str,
        lease: Duration,
    ) -> Result<Option<ClaimedStep>, StoreError> {
        self.claim(owner, lease, Some(Step::Pop), WorkLane::Live)
            .await
    }

    async fn complete_step_announcing(
        &self,
        step: &ClaimedStep,
        outcome: &StepOutcome,
        notifications: &[Notification],
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write(Turn::of_step(step.step)).await?;
        dialect::lock(
            &mut tx,
            TxLock::Call {
                group: &step.group,
                call_id: &step.call_id,
            },
        )
        .await?;
        let now = to_text(Utc::now());
        let updated = sqlx::query(
            "UPDATE jobs SET status = 'done', outcome = $1, last_error = NULL, lease_owner = NULL,
                    lease_until = NULL, finished_at = $2
             WHERE id = $3 AND status = 'running' AND lease_owner = $4 AND attempts = $5",
        )
        .bind(serde_json::to_string(outcome)?)
        .bind(&now)
        .bind(step.job_id)
        .bind(&step.owner)
        .bind(step.attempt)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let mut call = load_call(&mut tx, &step.group, &step.call_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("job {} has no call", step.job_id)))?;
        let counted = Counted::of(&call);
        call.record(step.step, outcome);
        save_call(&mut tx, &call, &counted, &now).await?;
        for n in notifications {
            super::outbox::insert(&mut tx, &step.group, n).await?;
        }
        let mut changes = vec![Change::Call {
            group: step.group.clone(),
            call_id: step.call_id.clone(),
        }];
        changes.extend(runnable_changes(queue_next(&mut tx, &call).await?));
        dialect::commit(self, tx, &changes).await?;
        Ok(true)
    }

    async fn retry_step(
        &self,
        step: &ClaimedStep,
        error: &str,
        delay: Duration,
    ) -> Result<bool, StoreError> {
        self.requeue(step, Some(error), delay, Attempt::Spent).await
    }

    async fn hold_step(
        &self,
        step: &ClaimedStep,
        error: &str,
        delay: Duration,
    ) -> Result<bool, StoreError> {
        self.requeue(step, Some(error), delay, Attempt::NotSpent)
            .await
    }

    async fn fail_step(&self, step: &ClaimedStep, error: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write(Turn::Ordinary).await?;
        let updated = sqlx::query(
            "UPDATE jobs SET status = 'failed', last_error = $1, lease_owner = NULL,
                    lease_until = NULL, finished_at = $2
             WHERE id = $3 AND status = 'running' AND lease_owner = $4 AND attempts = $5",
        )
        .bind(error)
        .bind(to_text(Utc::now()))
        .bind(step.job_id)
        .bind(&step.owner)
        .bind(step.attempt)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        // The call's sync is now `failed`.
        let changes = [Change::Call {
            group: step.group.clone(),
            call_id: step.call_id.clone(),
        }];
        dialect::commit(self, tx, &changes).await?;
        Ok(true)
    }

    async fn extend_lease(&self, step: &ClaimedStep, lease: Duration) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE jobs SET lease_until = $1
             WHERE id = $2 AND status = 'running' AND lease_owner = $3 AND attempts = $4",
        )
        .bind(now_ms() + lease.as_millis() as i64)
        .bind(step.job_id)
        .bind(&step.owner)
        .bind(step.attempt)
        .execute(self.writer())
        .await?
        .rows_affected();
        Ok(updated > 0)
    }

    async fn release_step(&self, step: &ClaimedStep) -> Result<(), StoreError> {
        self.requeue(step, None, Duration::ZERO, Attempt::NotSpent)
            .await
            .map(|_| ())
    }

    async fn next_due(&self, lane: WorkLane) -> Result<Option<DateTime<Utc>>, StoreError> {
        let ms: Option<i64> = sqlx::query_scalar(
            "SELECT min(t) FROM (
                 SELECT min(run_after) AS t FROM jobs WHERE status = 'queued' AND priority = $1
                 UNION ALL
                 SELECT min(lease_until) AS t FROM jobs
                 WHERE status = 'running' AND priority = $1) AS due",
        )
        .bind(lane.priority())
        .fetch_one(self.reader())
        .await?;
        Ok(ms.and_then(from_ms))
    }

    async fn active_steps(&self, lane: WorkLane) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM jobs WHERE status IN ('queued', 'running') AND priority = $1",
        )
        .bind(lane.priority())
        .fetch_one(self.reader())
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn waiting_steps(
        &self,
        lane: WorkLane,
        now: DateTime<Utc>,
    ) -> Result<WaitingSteps, StoreError> {
        let now_ms = now.timestamp_millis();
        let row = sqlx::query(
            "SELECT count(*) AS n, min(due) AS oldest FROM (
                 SELECT run_after AS due FROM jobs
                 WHERE status = 'queued' AND priority = $1 AND run_after <= $2
                 UNION ALL
                 SELECT lease_until AS due FROM jobs
                 WHERE status = 'running' AND priority = $1 AND lease_until <= $2) AS waiting",
        )
        .bind(lane.priority())
        .bind(now_ms)
        .fetch_one(self.reader())
        .await?;
        use sqlx::Row;
        let count: i64 = row.try_get("n")?;
        let oldest: Option<i64> = row.try_get("oldest")?;
        Ok(WaitingSteps {
            count: u64::try_from(count).unwrap_or(0),
            oldest_due: oldest.and_then(from_ms),
        })
    }

    async fn retry_call(&self, group: &str, call_id: &str) -> Result<RetriedCall, StoreError> {
        let mut tx = self.begin_write(Turn::Ordinary).await?;
        dialect::lock(&mut tx, TxLock::Call { group, call_id }).await?;
        if load_call(&mut tx, group, call_id).await?.is_none() {
            tx.rollback().await?;
            return Ok(RetriedCall::NoSuchCall);
        }
        // The oldest failed step (there is at most one), and only while no step
        // of the call is queued or running (the one-active-step index holds).
        let updated = sqlx::query(
            "UPDATE jobs SET status = 'queued', attempts = 0, takeovers = 0, run_after = $1, lease_owner = NULL,
                    lease_until = NULL, finished_at = NULL
             WHERE id = (SELECT min(f.id) FROM jobs f
                         WHERE f.group_name = $2 AND f.call_id = $3 AND f.status = 'failed')
               AND NOT EXISTS (SELECT 1 FROM jobs a
                               WHERE a.group_name = $2 AND a.call_id = $3
                                 AND a.status IN ('queued', 'running'))",
        )
        .bind(now_ms())
        .bind(group)
        .bind(call_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            tx.rollback().await?;
            return Ok(match self.call(group, call_id).await? {
                Some(record) => RetriedCall::NotFailed(record.sync),
                None => RetriedCall::NoSuchCall,
            });
        }
        let changes = [
            Change::Call {
                group: group.to_string(),
                call_id: call_id.to_string(),
            },
            Change::Work,
        ];
        dialect::commit(self, tx, &changes).await?;
        Ok(match self.call(group, call_id).await? {
            Some(record) => RetriedCall::Queued(Box::new(record)),
            None => RetriedCall::NoSuchCall,
        })
    }

    async fn recent_failures(&self, limit: u32) -> Result<Vec<FailedCall>, StoreError> {
        let rows = sqlx::query(
            "SELECT j.group_name, j.call_id, j.step, j.last_error, j.finished_at,
                    c.customer_phone, c.first_at
             FROM jobs j LEFT JOIN calls c
               ON c.group_name = j.group_name AND c.call_id = j.call_id
             WHERE j.status = 'failed' ORDER BY j.id DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FailedCall {
                    group: r.text("group_name")?,
                    call_id: r.text("call_id")?,
                    from: r.opt_text("customer_phone")?,
                    step: r.text("step")?,
                    error: r.opt_text("last_error")?,
                    failed_at: r.opt_time("finished_at")?,
                    first_at: r.opt_time("first_at")?,
                })
            })
            .collect()
    }

    async fn failed_steps(
        &self,
        lane: WorkLane,
        limit: u32,
    ) -> Result<Vec<FailedStep>, StoreError> {
        let rows = sqlx::query(
            "SELECT group_name, call_id, step, last_error FROM jobs
             WHERE status = 'failed' AND priority = $1 ORDER BY id LIMIT $2",
        )
        .bind(lane.priority())
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FailedStep {
                    group: r.text("group_name")?,
                    call_id: r.text("call_id")?,
                    step: r.text("step")?,
                    error: r.opt_text("last_error")?,
                })
            })
            .collect()
    }
}

/// Whether a step put back has spent the attempt its claim counted.
#[derive(Clone, Copy)]
enum Attempt {
    Spent,
    /// Held back unsent: the claim's count is taken back.
    NotSpent,
}

impl SqlStore {
    /// Puts a running step of ours back in the queue, due after `delay`,
    /// with `error` as its last (a release keeps the one before).
    ///
    /// Taking the attempt back makes the next claim's number the same as
    /// this one's; the fence (owner and attempt) still holds, because this
    /// claim's worker has stopped using it (its lease keeper ended with the
    /// step) and any other worker claims under another owner.
    async fn requeue(
        &self,
        step: &ClaimedStep,
        error: Option<&str>,
        delay: Duration,
        attempt: Attempt,
    ) -> Result<bool, StoreError> {
        let taken_back: i64 = match attempt {
            Attempt::Spent => 0,
            Attempt::NotSpent => 1,
        };
        let updated = sqlx::query(
            "UPDATE jobs SET status = 'queued', run_after = $1, last_error = COALESCE($2, last_error),
                    lease_owner = NULL, lease_until = NULL, attempts = attempts - $6
             WHERE id = $3 AND status = 'running' AND lease_owner = $4 AND attempts = $5",
        )
        .bind(now_ms() + delay.as_millis() as i64)
        .bind(error)
        .bind(step.job_id)
        .bind(&step.owner)
        .bind(step.attempt)
        .bind(taken_back)
        .execute(self.writer())
        .await?
        .rows_affected();
        Ok(updated > 0)
    }

    /// Leases the oldest runnable step of the lane (of one kind, with `only`).
    ///
    /// Every change that queues work wakes every idle worker, and all but one find
    /// nothing; so a claim first asks a reader whether anything is runnable, and
    /// only then takes the writer. On SQLite an empty claim would otherwise hold the
    /// one writer connection (its `UPDATE` takes the write lock even when it
    /// matches nothing), and the events waiting for their commit queue behind it;
    /// on PostgreSQL it is one round trip instead of three. A reader that has not
    /// yet seen a step queued an instant ago costs nothing but a moment: the change
    /// that queued it wakes the workers again after its commit.
    async fn claim(
        &self,
        owner: &str,
        lease: Duration,
        only: Option<Step>,
        lane: WorkLane,
    ) -> Result<Option<ClaimedStep>, StoreError> {
        let now = now_ms();
        let kind = only.map_or("", |s| s.as_str());
        let runnable: Option<i64> = sqlx::query_scalar(concat!(
            "SELECT id FROM jobs WHERE ",
            runnable!(),
            " LIMIT 1"
        ))
        .bind(now)
        .bind(kind)
        .bind(lane.priority())
        .fetch_optional(self.reader())
        .await?;
        if runnable.is_none() {
            return Ok(None);
        }
        let mut tx = self.begin_write(Turn::of_claim(only)).await?;
        let row = sqlx::query(concat!(
            "UPDATE jobs SET status = 'running', lease_owner = $4, lease_until = $5,
                             attempts = attempts + 1,
                             takeovers = takeovers + CASE status WHEN 'running' THEN 1 ELSE 0 END
             WHERE id = (
                 SELECT id FROM jobs WHERE ",
            runnable!(),
            "
                 ORDER BY run_after, id
                 LIMIT 1",
            skip_locked!(),
            ")
             RETURNING id, group_name, call_id, step, attempts, takeovers"
        ))
        .bind(now)
        .bind(kind)
        .bind(lane.priority())
        .bind(owner)
        .bind(now + lease.as_millis() as i64)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.commit().await?;
            return Ok(None);
        };
        let job_id = row.int("id")?;
        let group = row.text("group_name")?;
        let call_id = row.text("call_id")?;
        let step_name = row.text("step")?;
        let interaction = load_call(&mut tx, &group, &call_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("job {job_id} has no call")))?;
        tx.commit().await?;
        let step = Step::parse(&step_name)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown step {step_name:?}")))?;
        Ok(Some(ClaimedStep {
            job_id,
            group,
            call_id,
            step,
            attempt: row.int("attempts")?,
            takeovers: row.int("takeovers")?,
            owner: owner.to_string(),
            interaction,
        }))
    }
}
