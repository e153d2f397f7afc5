//! The durable job queue on SQLite.
//!
//! A step is runnable when it is queued and due, or running with an expired lease
//! (its worker died), and every earlier step of its call is done. Claiming sets a
//! lease; finishing checks the lease is still ours, so a worker that lost its lease
//! cannot overwrite the outcome of the worker that took the step over.

use std::time::Duration;

use chrono::{DateTime, Utc};
use deskbridge_core::{Interaction, Policy, Step, StepOutcome};
use sqlx::{Row, Sqlite, SqlitePool, Transaction};

use crate::rows;
use crate::time::{from_ms, now_ms, to_text};
use crate::{ClaimedStep, StoreError};

pub async fn claim(
    pool: &SqlitePool,
    owner: &str,
    lease: Duration,
) -> Result<Option<ClaimedStep>, StoreError> {
    let now = now_ms();
    let lease_until = now + lease.as_millis() as i64;
    let mut tx = pool.begin().await?;
    let row = sqlx::query(
        "UPDATE jobs SET status = 'running', lease_owner = ?1, lease_until = ?2, attempts = attempts + 1
         WHERE id = (
             SELECT j.id FROM jobs j
             WHERE (j.status = 'queued' AND j.run_after <= ?3)
                OR (j.status = 'running' AND j.lease_until < ?3)
             ORDER BY j.run_after, j.id
             LIMIT 1)
         RETURNING id, group_name, call_id, step, attempts",
    )
    .bind(owner)
    .bind(lease_until)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        tx.commit().await?;
        return Ok(None);
    };
    let group: String = row.try_get("group_name")?;
    let call_id: String = row.try_get("call_id")?;
    let step_name: String = row.try_get("step")?;
    let body: String =
        sqlx::query_scalar("SELECT body FROM calls WHERE group_name = ? AND call_id = ?")
            .bind(&group)
            .bind(&call_id)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    let step = Step::parse(&step_name)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown step {step_name:?}")))?;
    Ok(Some(ClaimedStep {
        job_id: row.try_get("id")?,
        group,
        call_id,
        step,
        attempt: row.try_get("attempts")?,
        owner: owner.to_string(),
        interaction: serde_json::from_str(&body)?,
    }))
}

/// Queues the call's next step, unless one is already queued or running or a step
/// of the call failed for good (its sync stays `failed`). A queued step waiting for
/// something that has now arrived (a recording) is moved forward. Returns whether
/// a step became runnable.
pub(super) async fn queue_next(
    tx: &mut Transaction<'_, Sqlite>,
    call: &Interaction,
) -> Result<bool, StoreError> {
    let Some(next) = call.next_step() else {
        return Ok(false);
    };
    let run_after = next
        .not_before
        .map_or_else(now_ms, |t| t.timestamp_millis());
    let busy = sqlx::query(
        "SELECT id, step, status, run_after FROM jobs WHERE group_name = ? AND call_id = ?
           AND status IN ('queued', 'running', 'failed') LIMIT 1",
    )
    .bind(&call.group)
    .bind(&call.call_id)
    .fetch_optional(&mut **tx)
    .await?;
    match rows::enqueue(
        next.step,
        run_after,
        busy.as_ref().map(rows::active_job).transpose()?,
    ) {
        rows::Enqueue::Nothing => return Ok(false),
        rows::Enqueue::MoveForward { id } => {
            sqlx::query("UPDATE jobs SET run_after = ? WHERE id = ?")
                .bind(run_after)
                .bind(id)
                .execute(&mut **tx)
                .await?;
            return Ok(true);
        }
        rows::Enqueue::Insert => {}
    }
    sqlx::query(
        "INSERT INTO jobs (group_name, call_id, step, status, run_after, created_at)
         VALUES (?, ?, ?, 'queued', ?, ?)",
    )
    .bind(&call.group)
    .bind(&call.call_id)
    .bind(next.step.as_str())
    .bind(run_after)
    .bind(to_text(Utc::now()))
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

pub async fn complete(
    pool: &SqlitePool,
    step: &ClaimedStep,
    outcome: &StepOutcome,
    policy: &Policy,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let now = to_text(Utc::now());
    let updated = sqlx::query(
        "UPDATE jobs SET status = 'done', outcome = ?, last_error = NULL, lease_owner = NULL,
                lease_until = NULL, finished_at = ?
         WHERE id = ? AND status = 'running' AND lease_owner = ? AND attempts = ?",
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
        return Ok(false);
    }
    let body: String =
        sqlx::query_scalar("SELECT body FROM calls WHERE group_name = ? AND call_id = ?")
            .bind(&step.group)
            .bind(&step.call_id)
            .fetch_one(&mut *tx)
            .await?;
    let mut call: Interaction = serde_json::from_str(&body)?;
    call.record(step.step, outcome);
    sqlx::query("UPDATE calls SET body = ?, updated_at = ? WHERE group_name = ? AND call_id = ?")
        .bind(serde_json::to_string(&call)?)
        .bind(&now)
        .bind(&step.group)
        .bind(&step.call_id)
        .execute(&mut *tx)
        .await?;
    queue_next(&mut tx, &call).await?;
    tx.commit().await?;
    Ok(true)
}

pub async fn retry(
    pool: &SqlitePool,
    step: &ClaimedStep,
    error: &str,
    delay: Duration,
) -> Result<bool, StoreError> {
    let run_after = now_ms() + delay.as_millis() as i64;
    let updated = sqlx::query(
        "UPDATE jobs SET status = 'queued', run_after = ?, last_error = ?, lease_owner = NULL,
                lease_until = NULL
         WHERE id = ? AND status = 'running' AND lease_owner = ? AND attempts = ?",
    )
    .bind(run_after)
    .bind(error)
    .bind(step.job_id)
    .bind(&step.owner)
    .bind(step.attempt)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(updated > 0)
}

pub async fn fail(pool: &SqlitePool, step: &ClaimedStep, error: &str) -> Result<bool, StoreError> {
    let updated = sqlx::query(
        "UPDATE jobs SET status = 'failed', last_error = ?, lease_owner = NULL, lease_until = NULL,
                finished_at = ?
         WHERE id = ? AND status = 'running' AND lease_owner = ? AND attempts = ?",
    )
    .bind(error)
    .bind(to_text(Utc::now()))
    .bind(step.job_id)
    .bind(&step.owner)
    .bind(step.attempt)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(updated > 0)
}

pub async fn extend(
    pool: &SqlitePool,
    step: &ClaimedStep,
    lease: Duration,
) -> Result<bool, StoreError> {
    let updated = sqlx::query(
        "UPDATE jobs SET lease_until = ?
         WHERE id = ? AND status = 'running' AND lease_owner = ? AND attempts = ?",
    )
    .bind(now_ms() + lease.as_millis() as i64)
    .bind(step.job_id)
    .bind(&step.owner)
    .bind(step.attempt)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(updated > 0)
}

pub async fn release(pool: &SqlitePool, step: &ClaimedStep) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE jobs SET status = 'queued', attempts = attempts - 1, lease_owner = NULL,
                lease_until = NULL
         WHERE id = ? AND status = 'running' AND lease_owner = ? AND attempts = ?",
    )
    .bind(step.job_id)
    .bind(&step.owner)
    .bind(step.attempt)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn next_due(pool: &SqlitePool) -> Result<Option<DateTime<Utc>>, StoreError> {
    let ms: Option<i64> = sqlx::query_scalar(
        "SELECT min(t) FROM (
             SELECT min(run_after) AS t FROM jobs WHERE status = 'queued'
             UNION ALL
             SELECT min(lease_until) AS t FROM jobs WHERE status = 'running')",
    )
    .fetch_one(pool)
    .await?;
    Ok(ms.and_then(from_ms))
}
