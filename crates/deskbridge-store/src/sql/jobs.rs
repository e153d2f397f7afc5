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
use deskbridge_core::{Interaction, Step, WorkLane};

use super::call_row::{
    load_call, load_calls, lock_calls, queue_next_all, runnable_changes, save_calls,
};
use super::figures::Counted;
use super::{SqlStore, dialect};
use crate::locks::TxLock;
use crate::rows::DbRow;
use crate::time::{from_ms, now_ms, to_text};
use crate::turns::Turn;
use crate::{
    Change, ClaimedStep, FailedCall, FailedStep, JobQueue, Journal, RetriedCall, StepDone,
    StoreError, WaitingSteps,
};

/// The ids of the lane's runnable steps, oldest due first, at most `$4`: with
/// `$1` now (unix ms), `$3` the lane's priority, `$kind` either
/// `"AND $2 = ''"` (any kind of step) or `"AND step = $2"` (one kind), and
/// `$lock` the claim's `skip_locked!()` (nothing for the reader's check).
///
/// A step is runnable when queued and due, or running on a lease that ran out
/// (its worker died). Asked as one `OR`, neither database can walk an index in
/// due order: SQLite scanned the whole table (done steps included, kept until
/// the calls' retention purges them, so a claim grew slower with every call)
/// and PostgreSQL sorted every runnable step. Asked as the two halves, each
/// walks `jobs_due` (or `jobs_due_by_step`) in order and stops after `$4`, and
/// only those few are sorted. On PostgreSQL each half locks what it takes and
/// passes over what another claim holds (`FOR UPDATE SKIP LOCKED`, which also
/// asks the condition again of a row changed meanwhile): were the candidates
/// chosen unlocked, every worker would pick the same oldest step and all but
/// one come away empty.
macro_rules! runnable_ids {
    ($kind:literal, $($lock:tt)*) => {
        concat!(
            "SELECT id FROM (SELECT id FROM jobs
                 WHERE status = 'queued' AND priority = $3 AND run_after <= $1 ",
            $kind,
            " ORDER BY run_after, id LIMIT $4",
            $($lock)*,
            ") AS due
             UNION ALL
             SELECT id FROM (SELECT id FROM jobs
                 WHERE status = 'running' AND priority = $3 AND lease_until < $1 ",
            $kind,
            " ORDER BY run_after, id LIMIT $4",
            $($lock)*,
            ") AS lapsed"
        )
    };
}

/// The claim: leases the oldest of the runnable steps ([`runnable_ids!`]) to
/// `$5` until `$6`.
macro_rules! claim {
    ($kind:literal) => {
        concat!(
            "UPDATE jobs SET status = 'running', lease_owner = $5, lease_until = $6,
                             attempts = attempts + 1,
                             takeovers = takeovers + CASE status WHEN 'running' THEN 1 ELSE 0 END
             WHERE id IN (
                 SELECT id FROM jobs
                 WHERE id IN (",
            runnable_ids!($kind, skip_locked!()),
            ")
                 ORDER BY run_after, id
                 LIMIT $4)
             RETURNING id, group_name, call_id, step, attempts, takeovers"
        )
    };
}

#[async_trait]
impl JobQueue for SqlStore {
    async fn claim_step(
        &self,
        owner: &str,
        lease: Duration,
    ) -> Result<Option<ClaimedStep>, StoreError> {
        Ok(self
            .claim(owner, lease, None, WorkLane::Live, 1)
            .await?
            .pop())
    }

    async fn claim_bulk(
        &self,
        owner: &str,
        lease: Duration,
    ) -> Result<Option<ClaimedStep>, StoreError> {
        Ok(self
            .claim(owner, lease, None, WorkLane::Bulk, 1)
            .await?
            .pop())
    }

    async fn claim_pops(
        &self,
        owner: &str,
        lease: Duration,
        most: usize,
    ) -> Result<Vec<ClaimedStep>, StoreError> {
        self.claim(owner, lease, Some(Step::Pop), WorkLane::Live, most)
            .await
    }

    async fn complete_steps(&self, done: &[StepDone<'_>]) -> Result<Vec<bool>, StoreError> {
        if done.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self
            .begin_write(Turn::of_steps(done.iter().map(|d| d.step.step)))
            .await?;
        lock_calls(
            &mut tx,
            done.iter()
                .map(|d| (d.step.group.as_str(), d.step.call_id.as_str())),
        )
        .await?;
        let now = to_text(Utc::now());
        // Each job is fenced by its own lease (owner and attempt): a step whose
        // lease was lost is left to the worker that took it over.
        let mut recorded = Vec::with_capacity(done.len());
        for d in done {
            let updated = sqlx::query(
                "UPDATE jobs SET status = 'done', outcome = $1, last_error = NULL, lease_owner = NULL,
                        lease_until = NULL, finished_at = $2
                 WHERE id = $3 AND status = 'running' AND lease_owner = $4 AND attempts = $5",
            )
            .bind(serde_json::to_string(d.outcome)?)
            .bind(&now)
            .bind(d.step.job_id)
            .bind(&d.step.owner)
            .bind(d.step.attempt)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            recorded.push(updated > 0);
        }
        if !recorded.contains(&true) {
            tx.rollback().await?;
            return Ok(recorded);
        }
        let kept: Vec<&StepDone> = done
            .iter()
            .zip(&recorded)
            .filter_map(|(d, &ok)| ok.then_some(d))
            .collect();
        let kept_keys: Vec<(&str, &str)> = kept
            .iter()
            .map(|d| (d.step.group.as_str(), d.step.call_id.as_str()))
            .collect();
        let mut stored = load_calls(&mut tx, &kept_keys).await?;
        let mut calls = Vec::with_capacity(kept.len());
        for d in &kept {
            let key = (d.step.group.clone(), d.step.call_id.clone());
            let mut call = stored
                .remove(&key)
                .ok_or_else(|| StoreError::Corrupt(format!("job {} has no call", d.step.job_id)))?;
            let counted = Counted::of(&call);
            call.record(d.step.step, d.outcome);
            calls.push((call, counted));
        }
        let rows: Vec<(&Interaction, &Counted)> = calls.iter().map(|(c, n)| (c, n)).collect();
        save_calls(&mut tx, &rows, &now).await?;
        for d in &kept {
            for n in d.notifications {
                super::outbox::insert(&mut tx, &d.step.group, n).await?;
            }
        }
        let mut changes: Vec<Change> = kept
            .iter()
            .map(|d| Change::Call {
                group: d.step.group.clone(),
                call_id: d.step.call_id.clone(),
            })
            .collect();
        let saved: Vec<&Interaction> = calls.iter().map(|(c, _)| c).collect();
        changes.extend(runnable_changes(
            queue_next_all(&mut tx, &saved).await?.into_iter().flatten(),
        ));
        dialect::commit(self, tx, &changes).await?;
        Ok(recorded)
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
        most: usize,
    ) -> Result<Vec<ClaimedStep>, StoreError> {
        let now = now_ms();
        let kind = only.map_or("", |s| s.as_str());
        let (check, claim) = match only {
            None => (runnable_ids!("AND $2 = ''", ""), claim!("AND $2 = ''")),
            Some(_) => (runnable_ids!("AND step = $2", ""), claim!("AND step = $2")),
        };
        let runnable: Option<i64> = sqlx::query_scalar(check)
            .bind(now)
            .bind(kind)
            .bind(lane.priority())
            .bind(1_i64)
            .fetch_optional(self.reader())
            .await?;
        if runnable.is_none() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_write(Turn::of_claim(only)).await?;
        let rows = sqlx::query(claim)
            .bind(now)
            .bind(kind)
            .bind(lane.priority())
            .bind(i64::try_from(most.max(1)).unwrap_or(i64::MAX))
            .bind(owner)
            .bind(now + lease.as_millis() as i64)
            .fetch_all(&mut *tx)
            .await?;
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            claimed.push((
                row.int("id")?,
                row.text("group_name")?,
                row.text("call_id")?,
                row.text("step")?,
                row.int("attempts")?,
                row.int("takeovers")?,
            ));
        }
        let keys: Vec<(&str, &str)> = claimed
            .iter()
            .map(|(_, group, call_id, ..)| (group.as_str(), call_id.as_str()))
            .collect();
        let mut calls = load_calls(&mut tx, &keys).await?;
        tx.commit().await?;
        let mut steps = Vec::with_capacity(claimed.len());
        for (job_id, group, call_id, step_name, attempt, takeovers) in claimed {
            let interaction = calls
                .remove(&(group.clone(), call_id.clone()))
                .ok_or_else(|| StoreError::Corrupt(format!("job {job_id} has no call")))?;
            let step = Step::parse(&step_name)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown step {step_name:?}")))?;
            steps.push(ClaimedStep {
                job_id,
                group,
                call_id,
                step,
                attempt,
                takeovers,
                owner: owner.to_string(),
                interaction,
            });
        }
        Ok(steps)
    }
}
