//! The journal and the calls: ingest in one transaction, and the calls API reads.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use async_trait::async_trait;
use chrono::Utc;
use deskbridge_core::Interaction;

use super::jobs::queue_next;
use super::{Conn, Db, SqlStore, dialect};
use crate::rows::{self, DbRow};
use crate::time::to_text;
use crate::{CallRecord, Change, GroupEvent, IngestReport, Journal, StoreError};
use deskbridge_core::queue::{JobState, sync_of};

type Row = <Db as sqlx::Database>::Row;

#[async_trait]
impl Journal for SqlStore {
    async fn ingest(&self, events: &[GroupEvent]) -> Result<IngestReport, StoreError> {
        // Calls touched by this batch, loaded once and written once, in key order.
        let mut touched: BTreeMap<(String, String), (Interaction, bool)> = BTreeMap::new();
        let mut tx = self.writer().begin().await?;
        // Lock every call of the batch, in one (sorted) order, before reading any, so
        // that two batches cannot deadlock.
        let mut keys: Vec<(&str, &str)> = events
            .iter()
            .map(|e| (e.group.as_str(), e.event.call_id.as_str()))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        for (group, call_id) in keys {
            dialect::lock_call(&mut tx, group, call_id).await?;
        }
        let now_text = to_text(Utc::now());
        let mut report = IngestReport::default();
        for (index, GroupEvent { group, plan, event }) in events.iter().enumerate() {
            let inserted = sqlx::query(
                "INSERT INTO events (group_name, id, call_id, received_at, body)
                 VALUES ($1, $2, $3, $4, $5)
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
            let (call, _) = match touched.entry((group.clone(), event.call_id.clone())) {
                Entry::Occupied(known) => known.into_mut(),
                Entry::Vacant(slot) => {
                    let loaded = match load_call(&mut tx, group, &event.call_id).await? {
                        Some(call) => (call, false),
                        None => (
                            Interaction::start(group, plan, event)
                                .map_err(|source| StoreError::Apply { index, source })?,
                            true,
                        ),
                    };
                    slot.insert(loaded)
                }
            };
            call.apply(event);
        }

        let mut changes = Vec::with_capacity(touched.len() + 1);
        for ((group, call_id), (call, is_new)) in &touched {
            let query = match is_new {
                true => {
                    "INSERT INTO calls (customer_phone, state, first_at, updated_at, body,
                                        group_name, call_id)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)"
                }
                false => {
                    "UPDATE calls SET customer_phone = $1, state = $2, first_at = $3,
                                      updated_at = $4, body = $5
                     WHERE group_name = $6 AND call_id = $7"
                }
            };
            let body = serde_json::to_string(call)?;
            if body.len() > crate::MAX_CALL_BYTES {
                return Err(StoreError::CallTooLarge {
                    call_id: call_id.chars().take(64).collect(),
                    bytes: body.len(),
                    max: crate::MAX_CALL_BYTES,
                });
            }
            sqlx::query(query)
                .bind(call.customer_phone().map(|p| p.as_str().to_string()))
                .bind(call.state().as_str())
                .bind(to_text(call.first_at))
                .bind(&now_text)
                .bind(body)
                .bind(group)
                .bind(call_id)
                .execute(&mut *tx)
                .await?;
            if queue_next(&mut tx, call).await? {
                report.steps += 1;
            }
            changes.push(Change::Call {
                group: group.clone(),
                call_id: call_id.clone(),
            });
        }
        if report.steps > 0 {
            changes.push(Change::Work);
        }
        dialect::commit(self, tx, &changes).await?;
        report.calls = touched.into_keys().collect();
        Ok(report)
    }

    async fn call(&self, group: &str, call_id: &str) -> Result<Option<CallRecord>, StoreError> {
        let mut tx = self.reader().begin_with(dialect::BEGIN_SNAPSHOT).await?;
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

    async fn calls_within(
        &self,
        groups: &[String],
        customer_phone: Option<&str>,
        limit: u32,
        max_bytes: usize,
    ) -> Result<crate::CallPage, StoreError> {
        use futures_util::TryStreamExt;
        // The groups travel as one JSON array parameter.
        let groups = serde_json::to_string(groups)?;
        let limit = i64::from(limit);
        let mut tx = self.reader().begin_with(dialect::BEGIN_SNAPSHOT).await?;
        // Two statements rather than `$2 IS NULL OR ...`, so that each uses its index.
        let mut stream = match customer_phone {
            Some(phone) => sqlx::query(concat!(
                "SELECT group_name, body, updated_at FROM calls
                     WHERE group_name ",
                in_json_array!("$1"),
                " AND customer_phone = $2
                     ORDER BY first_at DESC, call_id DESC LIMIT $3"
            ))
            .bind(groups)
            .bind(phone)
            .bind(limit)
            .fetch(&mut *tx),
            None => sqlx::query(concat!(
                "SELECT group_name, body, updated_at FROM calls
                     WHERE group_name ",
                in_json_array!("$1"),
                " ORDER BY first_at DESC, call_id DESC LIMIT $2"
            ))
            .bind(groups)
            .bind(limit)
            .fetch(&mut *tx),
        };
        let (mut rows, mut bytes, mut truncated) = (Vec::new(), 0usize, false);
        while let Some(row) = stream.try_next().await? {
            let size = row.text("body")?.len();
            if !rows.is_empty() && bytes.saturating_add(size) > max_bytes {
                truncated = true;
                break;
            }
            bytes = bytes.saturating_add(size);
            rows.push(row);
        }
        drop(stream);
        let mut calls = Vec::with_capacity(rows.len());
        for row in &rows {
            calls.push(record(&mut tx, row).await?);
        }
        tx.commit().await?;
        Ok(crate::CallPage { calls, truncated })
    }
}

/// The call as stored, if there is one.
pub(super) async fn load_call(
    conn: &mut Conn,
    group: &str,
    call_id: &str,
) -> Result<Option<Interaction>, StoreError> {
    let body: Option<String> =
        sqlx::query_scalar("SELECT body FROM calls WHERE group_name = $1 AND call_id = $2")
            .bind(group)
            .bind(call_id)
            .fetch_optional(conn)
            .await?;
    Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
}

/// A call row with its steps and sync. Run inside the snapshot transaction
/// (`dialect::BEGIN_SNAPSHOT`) that read the row, so the call and its steps agree:
/// a step finishing between two reads cannot show `done` beside a stale call.
async fn record(conn: &mut Conn, row: &Row) -> Result<CallRecord, StoreError> {
    let group = row.text("group_name")?;
    let interaction: Interaction = row.json("body")?;
    let updated_at = row.time("updated_at")?;
    let jobs = sqlx::query(
        "SELECT step, status, attempts, last_error, outcome FROM jobs
         WHERE group_name = $1 AND call_id = $2 ORDER BY id",
    )
    .bind(&group)
    .bind(&interaction.call_id)
    .fetch_all(conn)
    .await?;
    let steps = jobs.iter().map(rows::step).collect::<Result<Vec<_>, _>>()?;
    let states: Vec<JobState> = steps
        .iter()
        .map(|s| JobState {
            step: s.step,
            status: s.status,
            last_error: s.last_error.as_deref(),
        })
        .collect();
    let (sync, sync_error) = sync_of(&interaction, &states);
    Ok(CallRecord {
        interaction,
        sync,
        sync_error,
        updated_at,
        steps,
    })
}
