//! The journal and the calls: ingest in one transaction, and the calls API reads.

use std::collections::HashMap;

use chrono::Utc;
use deskbridge_core::{CallEvent, Interaction, Policy};
use sqlx::{Row, SqlitePool, sqlite::SqliteRow};

use crate::time::{from_text, now_ms, to_text};
use crate::{CallRecord, IngestReport, StepRecord, StoreError, SyncStatus};

pub async fn ingest(
    pool: &SqlitePool,
    group: &str,
    events: &[CallEvent],
    policy: &Policy,
) -> Result<IngestReport, StoreError> {
    let mut tx = pool.begin().await?;
    let now = Utc::now();
    let now_text = to_text(now);
    let mut report = IngestReport::default();
    // Calls touched by this batch, loaded once and written once.
    let mut touched: HashMap<String, (Interaction, bool)> = HashMap::new();
    let mut due: Vec<(String, deskbridge_core::Step)> = Vec::new();

    for (index, event) in events.iter().enumerate() {
        let inserted = sqlx::query(
            "INSERT INTO events (group_name, id, call_id, received_at, body) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (group_name, id) DO NOTHING",
        )
        .bind(group)
        .bind(&event.id)
        .bind(&event.call_id)
        .bind(&now_text)
        .bind(serde_json::to_string(event)?)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            report.duplicates += 1;
            continue;
        }
        report.accepted += 1;

        if !touched.contains_key(&event.call_id) {
            let stored: Option<String> =
                sqlx::query_scalar("SELECT body FROM calls WHERE group_name = ? AND call_id = ?")
                    .bind(group)
                    .bind(&event.call_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let (call, is_new) = match stored {
                Some(body) => (serde_json::from_str(&body)?, false),
                None => (
                    Interaction::start(group, event)
                        .map_err(|source| StoreError::Apply { index, source })?,
                    true,
                ),
            };
            touched.insert(event.call_id.clone(), (call, is_new));
        }
        let (call, _) = touched
            .get_mut(&event.call_id)
            .expect("inserted just above");
        for step in call.apply(event, policy) {
            due.push((event.call_id.clone(), step));
        }
    }

    for (call_id, (call, is_new)) in &touched {
        let body = serde_json::to_string(call)?;
        let phone = call.customer_phone().map(|p| p.as_str().to_string());
        let query = if *is_new {
            "INSERT INTO calls (customer_phone, state, first_at, updated_at, body, group_name, call_id)
             VALUES (?, ?, ?, ?, ?, ?, ?)"
        } else {
            "UPDATE calls SET customer_phone = ?, state = ?, first_at = ?, updated_at = ?, body = ?
             WHERE group_name = ? AND call_id = ?"
        };
        sqlx::query(query)
            .bind(phone)
            .bind(call.state().as_str())
            .bind(to_text(call.first_at))
            .bind(&now_text)
            .bind(body)
            .bind(group)
            .bind(call_id)
            .execute(&mut *tx)
            .await?;
    }
    let due_ms = now_ms();
    for (call_id, step) in &due {
        sqlx::query(
            "INSERT INTO jobs (group_name, call_id, step, status, run_after, created_at)
             VALUES (?, ?, ?, 'queued', ?, ?)",
        )
        .bind(group)
        .bind(call_id)
        .bind(step.as_str())
        .bind(due_ms)
        .bind(&now_text)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    report.steps = due.len();
    report.calls = touched.into_keys().collect();
    report.calls.sort();
    Ok(report)
}

pub async fn call(
    pool: &SqlitePool,
    group: &str,
    call_id: &str,
) -> Result<Option<CallRecord>, StoreError> {
    let row =
        sqlx::query("SELECT body, updated_at FROM calls WHERE group_name = ? AND call_id = ?")
            .bind(group)
            .bind(call_id)
            .fetch_optional(pool)
            .await?;
    match row {
        Some(row) => Ok(Some(record(pool, group, &row).await?)),
        None => Ok(None),
    }
}

pub async fn calls(
    pool: &SqlitePool,
    group: &str,
    customer_phone: Option<&str>,
    limit: u32,
) -> Result<Vec<CallRecord>, StoreError> {
    let rows = match customer_phone {
        Some(phone) => {
            sqlx::query(
                "SELECT body, updated_at FROM calls WHERE group_name = ? AND customer_phone = ?
                 ORDER BY first_at DESC, call_id DESC LIMIT ?",
            )
            .bind(group)
            .bind(phone)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }
        None => {
            sqlx::query(
                "SELECT body, updated_at FROM calls WHERE group_name = ?
                 ORDER BY first_at DESC, call_id DESC LIMIT ?",
            )
            .bind(group)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }
    };
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(record(pool, group, row).await?);
    }
    Ok(out)
}

async fn record(pool: &SqlitePool, group: &str, row: &SqliteRow) -> Result<CallRecord, StoreError> {
    let interaction: Interaction = serde_json::from_str(row.try_get::<&str, _>("body")?)?;
    let updated_at = from_text(row.try_get::<&str, _>("updated_at")?)?;
    let jobs = sqlx::query(
        "SELECT step, status, attempts, last_error, outcome FROM jobs
         WHERE group_name = ? AND call_id = ? ORDER BY id",
    )
    .bind(group)
    .bind(&interaction.call_id)
    .fetch_all(pool)
    .await?;
    let mut steps = Vec::with_capacity(jobs.len());
    for job in jobs {
        let outcome: Option<String> = job.try_get("outcome")?;
        steps.push(StepRecord {
            step: job.try_get("step")?,
            status: job.try_get("status")?,
            attempts: job.try_get("attempts")?,
            last_error: job.try_get("last_error")?,
            outcome: outcome.map(|o| serde_json::from_str(&o)).transpose()?,
        });
    }
    let (sync, sync_error) = sync_of(&interaction, &steps);
    Ok(CallRecord {
        interaction,
        sync,
        sync_error,
        updated_at,
        steps,
    })
}

/// `failed` if a step failed for good; `done` once the call ended and every step
/// finished; `pending` otherwise.
pub(crate) fn sync_of(call: &Interaction, steps: &[StepRecord]) -> (SyncStatus, Option<String>) {
    if let Some(failed) = steps.iter().find(|s| s.status == "failed") {
        let error = format!(
            "{}: {}",
            failed.step,
            failed.last_error.as_deref().unwrap_or("failed")
        );
        return (SyncStatus::Failed, Some(error));
    }
    let open = steps.iter().any(|s| s.status != "done");
    if open || call.ended_at.is_none() {
        (SyncStatus::Pending, None)
    } else {
        (SyncStatus::Done, None)
    }
}
