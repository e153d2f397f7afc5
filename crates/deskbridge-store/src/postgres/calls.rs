//! The journal and the calls on PostgreSQL.

use std::collections::{BTreeSet, HashMap};

use chrono::Utc;
use deskbridge_core::Interaction;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, Row, Transaction};

use super::{lock_key, notify};
use crate::rows;
use crate::time::{from_text, to_text};
use crate::{plan_of, CallRecord, Change, GroupEvent, IngestReport, PolicyBook, StoreError, sync_of};

pub(super) fn call_key(group: &str, call_id: &str) -> String {
    format!("call:{group}/{call_id}")
}

pub async fn ingest(
    pool: &PgPool,
    events: &[GroupEvent],
    policies: &dyn PolicyBook,
) -> Result<IngestReport, StoreError> {
    let mut tx = pool.begin().await?;
    // Lock every call of the batch, in one order, before reading any.
    let keys: BTreeSet<(String, String)> = events
        .iter()
        .map(|e| (e.group.clone(), e.event.call_id.clone()))
        .collect();
    for (group, call_id) in &keys {
        lock_key(&mut tx, &call_key(group, call_id)).await?;
    }
    let now_text = to_text(Utc::now());
    let mut report = IngestReport::default();
    let mut touched: HashMap<(String, String), (Interaction, bool)> = HashMap::new();
    for (index, GroupEvent { group, event }) in events.iter().enumerate() {
        let key = (group.clone(), event.call_id.clone());
        let inserted = sqlx::query(
            "INSERT INTO events (group_name, id, call_id, received_at, body) VALUES ($1, $2, $3, $4, $5)
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
                sqlx::query_scalar("SELECT body FROM calls WHERE group_name = $1 AND call_id = $2")
                    .bind(group)
                    .bind(&event.call_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let entry = match stored {
                Some(body) => (serde_json::from_str(&body)?, false),
                None => (
                    Interaction::start(group, &plan_of(policies, group)?, event)
                        .map_err(|source| StoreError::Apply { index, source })?,
                    true,
                ),
            };
            touched.insert(key.clone(), entry);
        }
        let (call, _) = touched.get_mut(&key).expect("inserted just above");
        call.apply(event);
    }
    for ((group, call_id), (call, is_new)) in &touched {
        let query = match is_new {
            true => "INSERT INTO calls (customer_phone, state, first_at, updated_at, body, group_name, call_id)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
            false => "UPDATE calls SET customer_phone = $1, state = $2, first_at = $3, updated_at = $4, body = $5
                      WHERE group_name = $6 AND call_id = $7",
        };
        sqlx::query(query)
            .bind(call.customer_phone().map(|p| p.as_str().to_string()))
            .bind(call.state().as_str())
            .bind(to_text(call.first_at))
            .bind(&now_text)
            .bind(serde_json::to_string(call)?)
            .bind(group)
            .bind(call_id)
            .execute(&mut *tx)
            .await?;
        if super::jobs::queue_next(&mut tx, call).await? {
            report.steps += 1;
        }
        notify(
            &mut tx,
            &Change::Call {
                group: group.clone(),
                call_id: call_id.clone(),
            },
        )
        .await?;
    }
    if report.steps > 0 {
        notify(&mut tx, &Change::Work).await?;
    }
    tx.commit().await?;
    report.calls = touched.into_keys().collect();
    report.calls.sort();
    Ok(report)
}

pub async fn call(
    pool: &PgPool,
    group: &str,
    call_id: &str,
) -> Result<Option<CallRecord>, StoreError> {
    // REPEATABLE READ: the call and its steps from one snapshot.
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut *tx)
        .await?;
    let row = sqlx::query(
        "SELECT group_name, body, updated_at FROM calls WHERE group_name = $1 AND call_id = $2",
    )
    .bind(group)
    .bind(call_id)
    .fetch_optional(&mut *tx)
    .await?;
    let found = match row {
        Some(row) => Some(record(&mut tx, &row).await?),
        None => None,
    };
    // End the read now rather than when the connection goes back to the pool.
    tx.commit().await?;
    Ok(found)
}

pub async fn calls(
    pool: &PgPool,
    groups: &[String],
    customer_phone: Option<&str>,
    limit: u32,
) -> Result<Vec<CallRecord>, StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut *tx)
        .await?;
    let rows = match customer_phone {
        Some(phone) => {
            sqlx::query(
                "SELECT group_name, body, updated_at FROM calls
                 WHERE group_name = ANY($1) AND customer_phone = $2
                 ORDER BY first_at DESC, call_id DESC LIMIT $3",
            )
            .bind(groups)
            .bind(phone)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?
        }
        None => {
            sqlx::query(
                "SELECT group_name, body, updated_at FROM calls WHERE group_name = ANY($1)
                 ORDER BY first_at DESC, call_id DESC LIMIT $2",
            )
            .bind(groups)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?
        }
    };
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(record(&mut tx, row).await?);
    }
    tx.commit().await?;
    Ok(out)
}

async fn record(tx: &mut Transaction<'_, Postgres>, row: &PgRow) -> Result<CallRecord, StoreError> {
    let group: String = row.try_get("group_name")?;
    let interaction: Interaction = serde_json::from_str(row.try_get::<&str, _>("body")?)?;
    let updated_at = from_text(row.try_get::<&str, _>("updated_at")?)?;
    let jobs = sqlx::query(
        "SELECT step, status, attempts, last_error, outcome FROM jobs
         WHERE group_name = $1 AND call_id = $2 ORDER BY id",
    )
    .bind(&group)
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
