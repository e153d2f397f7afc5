//! The durable job queue on PostgreSQL: claimed with `FOR UPDATE SKIP LOCKED`, so
//! any number of workers in any number of instances take different steps.

use std::time::Duration;

use chrono::{DateTime, Utc};
use deskbridge_core::{Interaction, Policy, Step, StepOutcome};
use sqlx::{PgPool, Postgres, Row, Transaction};

use super::calls::call_key;
use super::{lock_key, notify};
use crate::rows;
use crate::time::{from_ms, now_ms, to_text};
use crate::{Change, ClaimedStep, StoreError};

pub async fn claim(
    pool: &PgPool,
    owner: &str,
    lease: Duration,
) -> Result<Option<ClaimedStep>, StoreError> {
    let now = now_ms();
    let row = sqlx::query(
        "UPDATE jobs SET status = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1
         WHERE id = (
             SELECT id FROM jobs
             WHERE (status = 'queued' AND run_after <= $3)
                OR (status = 'running' AND lease_until < $3)
             ORDER BY run_after, id
             LIMIT 1
             FOR UPDATE SKIP LOCKED)
         RETURNING id, group_name, call_id, step, attempts",
    )
    .bind(owner)
    .bind(now + lease.as_millis() as i64)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let group: String = row.try_get("group_name")?;
    let call_id: String = row.try_get("call_id")?;
    let step_name: String = row.try_get("step")?;
    let body: String =
        sqlx::query_scalar("SELECT body FROM calls WHERE group_name = $1 AND call_id = $2")
            .bind(&group)
            .bind(&call_id)
            .fetch_one(pool)
            .await?;
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

/// Queues the call's next step (see the SQLite store for the rules). The caller
/// holds the call's lock.
pub(super) async fn queue_next(
    tx: &mut Transaction<'_, Postgres>,
    call: &Interaction,
) -> Result<bool, StoreError> {
    let Some(next) = call.next_step() else {
        return Ok(false);
    };
    let run_after = next
        .not_before
        .map_or_else(now_ms, |t| t.timestamp_millis());
    let busy = sqlx::query(
        "SELECT id, step, status, run_after FROM jobs WHERE group_name = $1 AND call_id = $2
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
            sqlx::query("UPDATE jobs SET run_after = $1 WHERE id = $2")
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
         VALUES ($1, $2, $3, 'queued', $4, $5)",
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
    pool: &PgPool,
    step: &ClaimedStep,
    outcome: &StepOutcome,
    policy: &Policy,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    lock_key(&mut tx, &call_key(&step.group, &step.call_id)).await?;
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
        return Ok(false);
    }
    let body: String =
        sqlx::query_scalar("SELECT body FROM calls WHERE group_name = $1 AND call_id = $2")
            .bind(&step.group)
            .bind(&step.call_id)
            .fetch_one(&mut *tx)
            .await?;
    let mut call: Interaction = serde_json::from_str(&body)?;
    call.record(step.step, outcome);
    sqlx::query(
        "UPDATE calls SET body = $1, updated_at = $2 WHERE group_name = $3 AND call_id = $4",
    )
    .bind(serde_json::to_string(&call)?)
    .bind(&now)
    .bind(&step.group)
    .bind(&step.call_id)
    .execute(&mut *tx)
    .await?;
    if queue_next(&mut tx, &call).await? {
        notify(&mut tx, &Change::Work).await?;
    }
    notify(
        &mut tx,
        &Change::Call {
            group: step.group.clone(),
            call_id: step.call_id.clone(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

pub async fn retry(
    pool: &PgPool,
    step: &ClaimedStep,
    error: &str,
    delay: Duration,
) -> Result<bool, StoreError> {
    let updated = sqlx::query(
        "UPDATE jobs SET status = 'queued', run_after = $1, last_error = $2, lease_owner = NULL,
                lease_until = NULL
         WHERE id = $3 AND status = 'running' AND lease_owner = $4 AND attempts = $5",
    )
    .bind(now_ms() + delay.as_millis() as i64)
    .bind(error)
    .bind(step.job_id)
    .bind(&step.owner)
    .bind(step.attempt)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(updated > 0)
}

pub async fn fail(pool: &PgPool, step: &ClaimedStep, error: &str) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let updated = sqlx::query(
        "UPDATE jobs SET status = 'failed', last_error = $1, lease_owner = NULL, lease_until = NULL,
                finished_at = $2
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
    if updated > 0 {
        notify(
            &mut tx,
            &Change::Call {
                group: step.group.clone(),
                call_id: step.call_id.clone(),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(updated > 0)
}

pub async fn extend(
    pool: &PgPool,
    step: &ClaimedStep,
    lease: Duration,
) -> Result<bool, StoreError> {
    let updated = sqlx::query(
        "UPDATE jobs SET lease_until = $1
         WHERE id = $2 AND status = 'running' AND lease_owner = $3 AND attempts = $4",
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

pub async fn release(pool: &PgPool, step: &ClaimedStep) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE jobs SET status = 'queued', attempts = attempts - 1, lease_owner = NULL, lease_until = NULL
         WHERE id = $1 AND status = 'running' AND lease_owner = $2 AND attempts = $3",
    )
    .bind(step.job_id)
    .bind(&step.owner)
    .bind(step.attempt)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn next_due(pool: &PgPool) -> Result<Option<DateTime<Utc>>, StoreError> {
    let ms: Option<i64> = sqlx::query_scalar(
        "SELECT min(t) FROM (
             SELECT min(run_after) AS t FROM jobs WHERE status = 'queued'
             UNION ALL
             SELECT min(lease_until) AS t FROM jobs WHERE status = 'running') AS due",
    )
    .fetch_one(pool)
    .await?;
    Ok(ms.and_then(from_ms))
}
