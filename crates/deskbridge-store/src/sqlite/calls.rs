//! The journal and the calls: ingest in one transaction, and the calls API reads.

use std::collections::HashMap;

use chrono::Utc;
use deskbridge_core::Interaction;
use sqlx::{Row, Sqlite, SqlitePool, Transaction, sqlite::SqliteRow};

use crate::rows;
use crate::time::{from_text, to_text};
use crate::{plan_of, CallRecord, GroupEvent, IngestReport, PolicyBook, StoreError, sync_of};

pub async fn ingest(
    pool: &SqlitePool,
    events: &[GroupEvent],
    policies: &dyn PolicyBook,
) -> Result<IngestReport, StoreError> {
    let mut tx = pool.begin().await?;
    let now = Utc::now();
    let now_text = to_text(now);
    let mut report = IngestReport::default();
    // Calls touched by this batch, loaded once and written once.
    let mut touched: HashMap<(String, String), (Interaction, bool)> = HashMap::new();

    for (index, GroupEvent { group, event }) in events.iter().enumerate() {
        let key = (group.clone(), event.call_id.clone());
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

        if !touched.contains_key(&key) {
            let stored: Option<String> =
                sqlx::query_scalar("SELECT body FROM calls WHERE group_name = ? AND call_id = ?")
                    .bind(group)
                    .bind(&event.call_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let (call, is_new) = match stored {
                Some(body) => (serde_json::from_str(&body)?, false),
                None => (
                    Interaction::start(group, &plan_of(policies, group)?, event)
                        .map_err(|source| StoreError::Apply { index, source })?,
                    true,
                ),
            };
            touched.insert(key.clone(), (call, is_new));
        }
        let (call, _) = touched.get_mut(&key).expect("inserted just above");
        call.apply(event);
    }

    for ((group, call_id), (call, is_new)) in &touched {
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
    for (call, _) in touched.values() {
        if super::jobs::queue_next(&mut tx, call).await? {
            report.steps += 1;
        }
    }
    tx.commit().await?;
    report.calls = touched.into_keys().collect();
    report.calls.sort();
    Ok(report)
}

pub async fn call(
    pool: &SqlitePool,
    group: &str,
    call_id: &str,
) -> Result<Option<CallRecord>, StoreError> {
    let mut tx = pool.begin().await?;
    let row =
        sqlx::query("SELECT body, updated_at FROM calls WHERE group_name = ? AND call_id = ?")
            .bind(group)
            .bind(call_id)
            .fetch_optional(&mut *tx)
            .await?;
    match row {
        Some(row) => Ok(Some(record(&mut tx, group, &row).await?)),
        None => Ok(None),
    }
}

pub async fn calls(
    pool: &SqlitePool,
    groups: &[String],
    customer_phone: Option<&str>,
    limit: u32,
) -> Result<Vec<CallRecord>, StoreError> {
    // Groups travel as one JSON array parameter, read with json_each.
    let groups_json = serde_json::to_string(groups)?;
    let mut tx = pool.begin().await?;
    // Two statements rather than `?2 IS NULL OR ...`, so each uses its index.
    let rows = match customer_phone {
        Some(phone) => {
            sqlx::query(
                "SELECT group_name, body, updated_at FROM calls
                 WHERE group_name IN (SELECT value FROM json_each(?1)) AND customer_phone = ?2
                 ORDER BY first_at DESC, call_id DESC LIMIT ?3",
            )
            .bind(groups_json)
            .bind(phone)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?
        }
        None => {
            sqlx::query(
                "SELECT group_name, body, updated_at FROM calls
                 WHERE group_name IN (SELECT value FROM json_each(?1))
                 ORDER BY first_at DESC, call_id DESC LIMIT ?2",
            )
            .bind(groups_json)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?
        }
    };
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let group: String = row.try_get("group_name")?;
        out.push(record(&mut tx, &group, row).await?);
    }
    Ok(out)
}

/// Reads inside one transaction so the call and its steps are one snapshot: a step
/// finishing between two reads cannot show `done` beside a stale call.
async fn record(
    tx: &mut Transaction<'_, Sqlite>,
    group: &str,
    row: &SqliteRow,
) -> Result<CallRecord, StoreError> {
    let interaction: Interaction = serde_json::from_str(row.try_get::<&str, _>("body")?)?;
    let updated_at = from_text(row.try_get::<&str, _>("updated_at")?)?;
    let jobs = sqlx::query(
        "SELECT step, status, attempts, last_error, outcome FROM jobs
         WHERE group_name = ? AND call_id = ? ORDER BY id",
    )
    .bind(group)
    .bind(&interaction.call_id)
    .fetch_all(&mut **tx)
    .await?;
    let steps = jobs.iter().map(rows::step).collect::<Result<Vec<_>, _>>()?;
    let (sync, sync_error) = sync_of(&interaction, &steps);
    Ok(CallRecord {
        interaction,
        sync,
        sync_error,
        updated_at,
        steps,
    })
}
