//! The journal and the calls: ingest in one transaction, and the calls API reads.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashSet};

use async_trait::async_trait;
use chrono::Utc;
use deskbridge_core::Interaction;

use super::call_row::{
    load_call, load_calls, lock_calls, queue_next, queue_next_all, runnable_changes, save_call,
    save_calls,
};
use super::figures::Counted;
use super::{Conn, Db, SqlStore, dialect};
use crate::locks::TxLock;
use crate::rows::{self, DbRow};
use crate::time::to_text;
use crate::turns::Turn;
use crate::{
    CallFilter, CallRecord, Change, Decided, GroupEvent, IngestReport, Journal, StoreError,
};
use chrono::DateTime;
use deskbridge_core::agent_mode::AgentChoice;
use deskbridge_core::queue::{JobState, sync_of};
use sqlx::QueryBuilder;

type Row = <Db as sqlx::Database>::Row;

#[async_trait]
impl Journal for SqlStore {
    async fn ingest(&self, events: &[GroupEvent]) -> Result<IngestReport, StoreError> {
        let mut reports = self.ingest_together(&[events]).await?;
        // One request in, one report out.
        Ok(reports.pop().unwrap_or_default())
    }

    async fn ingest_together(
        &self,
        requests: &[&[GroupEvent]],
    ) -> Result<Vec<IngestReport>, StoreError> {
        // Its senders wait for their 202: ahead of the steps' writes.
        let mut tx = self.begin_write(Turn::Acknowledgement).await?;
        // Every call of every request.
        let keys = lock_calls(
            &mut tx,
            requests
                .iter()
                .flat_map(|events| events.iter())
                .map(|e| (e.group.as_str(), e.event.call_id.as_str())),
        )
        .await?;
        let now_text = to_text(Utc::now());
        // Which events are new: one statement for all, in order, so that of two
        // copies of one event the first is the one stored.
        let mut new_events = insert_events(&mut tx, requests, &now_text).await?;
        // The calls as stored, read at once; a call not stored yet starts with
        // its first event.
        let mut stored = load_calls(&mut tx, &keys).await?;
        // Calls touched by these requests, loaded once and written once, in key
        // order; with the first request that touched each (its report counts the
        // step queued) and what it counted for in the figures as loaded.
        let mut touched: BTreeMap<(String, String), (Interaction, usize, Counted)> =
            BTreeMap::new();
        let mut reports = vec![IngestReport::default(); requests.len()];
        let mut calls_of: Vec<Vec<(String, String)>> = vec![Vec::new(); requests.len()];
        // Calls that had ended before these requests: their end is not news.
        let mut ended_before = std::collections::BTreeSet::new();
        for (member, events) in requests.iter().enumerate() {
            let report = &mut reports[member];
            for (
                index,
                GroupEvent {
                    group, plan, event, ..
                },
            ) in events.iter().enumerate()
            {
                if !new_events.remove(&(group.clone(), event.id.clone())) {
                    report.duplicates += 1;
                    continue;
                }
                report.accepted += 1;
                let key = (group.clone(), event.call_id.clone());
                if !calls_of[member].contains(&key) {
                    calls_of[member].push(key.clone());
                }
                let (call, ..) = match touched.entry(key) {
                    Entry::Occupied(known) => known.into_mut(),
                    Entry::Vacant(slot) => {
                        let (loaded, counted) = match stored.remove(slot.key()) {
                            Some(call) => {
                                let counted = Counted::of(&call);
                                (call, counted)
                            }
                            None => (
                                Interaction::start(group, plan, event)
                                    .map_err(|source| StoreError::Apply { index, source })?,
                                Counted::nothing(),
                            ),
                        };
                        if loaded.ended_at.is_some() {
                            ended_before.insert(slot.key().clone());
                        }
                        slot.insert((loaded, member, counted))
                    }
                };
                call.apply(event);
            }
        }
        // A call's end is counted once, in the report of the first request that
        // touched the call in this commit.
        for ((group, call_id), (call, first, _)) in &touched {
            if ended_before.contains(&(group.clone(), call_id.clone())) {
                continue;
            }
            if let Some(outcome) = call.outcome() {
                reports[*first].ended.push((group.clone(), outcome));
            }
        }

        // What the calls do to their numbers' callbacks, before they are saved
        // (each keeps its mark), announced to the groups' callback triggers.
        let heard = super::callbacks::heard_by(requests);
        let mut changes =
            super::callbacks::follow_calls(&mut tx, touched.values_mut().map(|(c, ..)| c), &heard)
                .await?;
        changes.reserve(touched.len() + 1);
        let saved: Vec<(&Interaction, &Counted)> = touched
            .values()
            .map(|(call, _, counted)| (call, counted))
            .collect();
        save_calls(&mut tx, &saved, &now_text).await?;
        let calls: Vec<&Interaction> = saved.iter().map(|(call, _)| *call).collect();
        let runnable = queue_next_all(&mut tx, &calls).await?;
        for (((group, call_id), (_, first, _)), queued) in touched.iter().zip(&runnable) {
            if queued.is_some() {
                reports[*first].steps += 1;
            }
            changes.push(Change::Call {
                group: group.clone(),
                call_id: call_id.clone(),
            });
        }
        changes.extend(runnable_changes(runnable.into_iter().flatten()));
        dialect::commit(self, tx, &changes).await?;
        for (report, mut calls) in reports.iter_mut().zip(calls_of) {
            calls.sort_unstable();
            report.calls = calls;
        }
        Ok(reports)
    }

    async fn call(&self, group: &str, call_id: &str) -> Result<Option<CallRecord>, StoreError> {
        let mut tx = self.reader().begin_with(dialect::BEGIN_SNAPSHOT).await?;
        let row = sqlx::query(
            "SELECT group_name, body, updated_at, done_at FROM calls
             WHERE group_name = $1 AND call_id = $2",
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

    async fn call_log(
        &self,
        filter: &CallFilter,
        limit: u32,
        max_bytes: usize,
    ) -> Result<crate::CallPage, StoreError> {
        use futures_util::TryStreamExt;
        // The groups travel as one JSON array parameter.
        let groups = serde_json::to_string(&filter.groups)?;
        let agent = filter.agent.as_deref().map(str::to_ascii_lowercase);
        let limit = i64::from(limit);
        let mut tx = self.reader().begin_with(dialect::BEGIN_SNAPSHOT).await?;
        // The other filters are `$N IS NULL OR ...`; the phone has a statement of
        // its own rather than `$2 IS NULL OR ...`, so that each uses its index.
        macro_rules! log_query {
            ($phone:literal) => {
                concat!(
                    "SELECT group_name, body, updated_at, done_at FROM calls
                     WHERE kind = 'call' AND group_name ",
                    in_json_array!("$1"),
                    $phone,
                    " AND ($3 IS NULL OR $3 ",
                    in_json_array!("agents"),
                    ")
                      AND ($4 IS NULL OR queue = $4)
                      AND ($5 IS NULL OR missed = $5)
                      AND ($6 IS NULL OR (done_at IS NOT NULL) = $6)
                      AND ($8 IS NULL OR ticket_id = $8)
                      AND ($9 IS NULL OR contact_id = $9)
                     ORDER BY first_at DESC, call_id DESC LIMIT $7"
                )
            };
        }
        let query = match filter.customer_phone {
            Some(_) => sqlx::query(log_query!(" AND customer_phone = $2")),
            None => sqlx::query(log_query!(" AND $2 IS NULL")),
        };
        let mut stream = query
            .bind(groups)
            .bind(filter.customer_phone.as_deref())
            .bind(agent)
            .bind(filter.queue.as_deref())
            .bind(filter.missed)
            .bind(filter.done)
            .bind(limit)
            .bind(filter.ticket_id.as_deref())
            .bind(filter.contact_id.as_deref())
            .fetch(&mut *tx);
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

    async fn mark_done(
        &self,
        groups: &[String],
        call_ids: &[String],
        agent: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let mut tx = self.begin_write(Turn::Ordinary).await?;
        // Locked as every writer locks calls (no deadlock), then read: the core
        // judges the call as it is now.
        let asked: Vec<(&str, &str)> = groups
            .iter()
            .flat_map(|g| call_ids.iter().map(move |c| (g.as_str(), c.as_str())))
            .collect();
        let keys = lock_calls(&mut tx, asked).await?;
        let mut stored = load_calls(&mut tx, &keys).await?;
        let at = to_text(at);
        let mut marked = Vec::new();
        let mut changes = Vec::new();
        for (group, call_id) in keys {
            let Some(call) = stored.remove(&(group.to_string(), call_id.to_string())) else {
                continue;
            };
            if deskbridge_core::caller_log::may_mark_done(&call, agent).is_err() {
                continue;
            }
            // Marked now, or before (marking twice is no error).
            sqlx::query(
                "UPDATE calls SET done_at = COALESCE(done_at, $1)
                 WHERE group_name = $2 AND call_id = $3",
            )
            .bind(&at)
            .bind(group)
            .bind(call_id)
            .execute(&mut *tx)
            .await?;
            changes.push(Change::Call {
                group: group.to_string(),
                call_id: call_id.to_string(),
            });
            marked.push(call_id.to_string());
        }
        dialect::commit(self, tx, &changes).await?;
        Ok(marked)
    }

    async fn purge_calls(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let before = to_text(before);
        let mut tx = self.begin_write(Turn::Ordinary).await?;
        let deleted = sqlx::query(
            "DELETE FROM calls WHERE first_at < $1
               AND NOT EXISTS (SELECT 1 FROM jobs j
                   WHERE j.group_name = calls.group_name AND j.call_id = calls.call_id
                     AND j.status IN ('queued', 'running'))",
        )
        .bind(&before)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // What belonged to the calls deleted (now or by an earlier purge).
        sqlx::query(
            "DELETE FROM jobs WHERE status IN ('done', 'failed') AND created_at < $1
               AND NOT EXISTS (SELECT 1 FROM calls c
                   WHERE c.group_name = jobs.group_name AND c.call_id = jobs.call_id)",
        )
        .bind(&before)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM events WHERE received_at < $1
               AND NOT EXISTS (SELECT 1 FROM calls c
                   WHERE c.group_name = events.group_name AND c.call_id = events.call_id)",
        )
        .bind(&before)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(deleted)
    }

    async fn decide(
        &self,
        group: &str,
        call_id: &str,
        choice: AgentChoice,
    ) -> Result<Decided, StoreError> {
        let mut tx = self.begin_write(Turn::Ordinary).await?;
        dialect::lock(&mut tx, TxLock::Call { group, call_id }).await?;
        let Some(mut call) = load_call(&mut tx, group, call_id).await? else {
            tx.rollback().await?;
            return Ok(Decided::NoSuchCall);
        };
        let counted = Counted::of(&call);
        if let Err(refused) = call.decide(choice) {
            tx.rollback().await?;
            return Ok(Decided::Refused(refused));
        }
        save_call(&mut tx, &call, &counted, &to_text(Utc::now())).await?;
        let mut changes = vec![Change::Call {
            group: group.to_string(),
            call_id: call_id.to_string(),
        }];
        changes.extend(runnable_changes(queue_next(&mut tx, &call).await?));
        dialect::commit(self, tx, &changes).await?;
        match self.call(group, call_id).await? {
            Some(record) => Ok(Decided::Recorded(Box::new(record))),
            None => Ok(Decided::NoSuchCall),
        }
    }
}

/// A call row with its steps and sync. Run inside the snapshot transaction
/// (`dialect::BEGIN_SNAPSHOT`) that read the row, so the call and its steps agree:
/// a step finishing between two reads cannot show `done` beside a stale call.
async fn record(conn: &mut Conn, row: &Row) -> Result<CallRecord, StoreError> {
    let group = row.text("group_name")?;
    let interaction: Interaction = row.json("body")?;
    let updated_at = row.time("updated_at")?;
    let done_at = row.opt_time("done_at")?;
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
        done_at,
        sync,
        sync_error,
        updated_at,
        steps,
    })
}

/// Events in one statement per 200 (five bound parameters each); returns the
/// (group, id) of those that were new. A repeated id is not inserted again
/// (`ON CONFLICT DO NOTHING`), within the statement too: the first copy is.
async fn insert_events(
    conn: &mut Conn,
    requests: &[&[GroupEvent]],
    now_text: &str,
) -> Result<HashSet<(String, String)>, StoreError> {
    const EVENTS_PER_STATEMENT: usize = 200;
    let events: Vec<(&GroupEvent, String)> = requests
        .iter()
        .flat_map(|events| events.iter())
        .map(|e| Ok((e, serde_json::to_string(&e.event)?)))
        .collect::<Result<_, StoreError>>()?;
    let mut new = HashSet::with_capacity(events.len());
    for chunk in events.chunks(EVENTS_PER_STATEMENT) {
        let mut insert = QueryBuilder::<Db>::new(
            "INSERT INTO events (group_name, id, call_id, received_at, body) ",
        );
        insert.push_values(chunk, |mut row, (e, body)| {
            row.push_bind(e.group.as_str())
                .push_bind(e.event.id.as_str())
                .push_bind(e.event.call_id.as_str())
                .push_bind(now_text)
                .push_bind(body.as_str());
        });
        insert.push(" ON CONFLICT (group_name, id) DO NOTHING RETURNING group_name, id");
        for row in insert.build().fetch_all(&mut *conn).await? {
            new.insert((row.text("group_name")?, row.text("id")?));
        }
    }
    Ok(new)
}
