//! A call's row and its next job: the writes that every path changing a call
//! shares (ingest, a step's outcome, an agent's decision, a retry). Both the
//! journal and the job queue use them; neither imports the other.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use deskbridge_core::queue::{ActiveJob, Enqueue, enqueue};
use deskbridge_core::{Interaction, Step};
use sqlx::QueryBuilder;

use super::figures::{Counted, revise_figures};
use super::{Conn, Db};
use crate::locks::TxLock;
use crate::rows::{self, DbRow};
use crate::time::{now_ms, to_text};
use crate::{Change, StoreError};

/// How many calls one statement names: well within SQLite's 32,766 bound
/// parameters at 13 a call.
const CALLS_PER_STATEMENT: usize = 500;

/// Writes the calls (new ones, or over the stored ones): their bodies and the
/// columns derived from them (what lists filter by), in one statement per 500
/// calls, and adds what their figures changed by, each against what it
/// [`Counted`] for as read ([`revise_figures`]). Every write of a call goes
/// through here, so neither the columns nor the figures ever disagree with
/// the body; a group commit writes all its calls at once instead of one
/// statement each (on PostgreSQL each is a round trip, on SQLite a hand-over to
/// the connection's thread).
pub(super) async fn save_calls(
    conn: &mut Conn,
    calls: &[(&Interaction, &Counted)],
    now_text: &str,
) -> Result<(), StoreError> {
    for chunk in calls.chunks(CALLS_PER_STATEMENT) {
        let rows = chunk
            .iter()
            .map(|(call, _)| CallRow::of(call))
            .collect::<Result<Vec<_>, _>>()?;
        let mut insert = QueryBuilder::<Db>::new(
            "INSERT INTO calls (customer_phone, state, first_at, updated_at, body, queue, agents,
                                missed, group_name, call_id, kind, ticket_id, contact_id) ",
        );
        insert.push_values(rows, |mut row, call| {
            row.push_bind(call.customer_phone)
                .push_bind(call.state)
                .push_bind(call.first_at)
                .push_bind(now_text.to_string())
                .push_bind(call.body)
                .push_bind(call.queue)
                .push_bind(call.agents)
                .push_bind(call.missed)
                .push_bind(call.group)
                .push_bind(call.call_id)
                .push_bind(call.kind)
                .push_bind(call.ticket_id)
                .push_bind(call.contact_id);
        });
        insert.push(
            " ON CONFLICT (group_name, call_id) DO UPDATE SET
                 customer_phone = excluded.customer_phone, state = excluded.state,
                 first_at = excluded.first_at, updated_at = excluded.updated_at,
                 body = excluded.body, queue = excluded.queue, agents = excluded.agents,
                 missed = excluded.missed, kind = excluded.kind,
                 ticket_id = excluded.ticket_id, contact_id = excluded.contact_id",
        );
        insert.build().execute(&mut *conn).await?;
    }
    revise_figures(conn, calls).await
}

/// Writes one call ([`save_calls`]), which counted for `before` as read.
pub(super) async fn save_call(
    conn: &mut Conn,
    call: &Interaction,
    before: &Counted,
    now_text: &str,
) -> Result<(), StoreError> {
    save_calls(conn, &[(call, before)], now_text).await
}

/// A call's row as written: the body and what is derived from it.
struct CallRow {
    customer_phone: Option<String>,
    state: &'static str,
    first_at: String,
    body: String,
    queue: Option<String>,
    agents: String,
    missed: bool,
    group: String,
    call_id: String,
    kind: &'static str,
    ticket_id: Option<String>,
    contact_id: Option<String>,
}

impl CallRow {
    fn of(call: &Interaction) -> Result<CallRow, StoreError> {
        let body = serde_json::to_string(call)?;
        if body.len() > crate::MAX_CALL_BYTES {
            return Err(StoreError::CallTooLarge {
                call_id: call.call_id.chars().take(64).collect(),
                bytes: body.len(),
                max: crate::MAX_CALL_BYTES,
            });
        }
        Ok(CallRow {
            customer_phone: call.customer_phone().map(|p| p.as_str().to_string()),
            state: call.state().as_str(),
            first_at: to_text(call.first_at),
            body,
            queue: call.queue.clone(),
            agents: serde_json::to_string(&call.agent_emails())?,
            missed: call.is_missed(),
            group: call.group.clone(),
            call_id: call.call_id.clone(),
            kind: if call.is_chat() { "chat" } else { "call" },
            ticket_id: call.ticket_id.clone(),
            contact_id: call.contact_id.clone(),
        })
    }
}

/// `{select} WHERE group_name = ? AND call_id IN (...)` for the calls `keys`
/// name: one query per group and per 500 calls, each with its group, ready for
/// more conditions. `call_id IN (...)` under one `group_name` uses the primary
/// key on both databases, where a row value `(group_name, call_id) IN (...)`
/// makes SQLite scan the table.
fn of_calls<'a>(select: &str, keys: &[(&'a str, &'a str)]) -> Vec<(&'a str, QueryBuilder<Db>)> {
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (group, call_id) in keys {
        groups.entry(group).or_default().push(call_id);
    }
    let mut queries = Vec::new();
    for (group, ids) in groups {
        for chunk in ids.chunks(CALLS_PER_STATEMENT) {
            let mut query = QueryBuilder::<Db>::new(select);
            query.push(" WHERE group_name = ");
            query.push_bind(group);
            query.push(" AND call_id IN (");
            let mut listed = query.separated(", ");
            for id in chunk {
                listed.push_bind(*id);
            }
            listed.push_unseparated(")");
            queries.push((group, query));
        }
    }
    queries
}

/// The calls as stored, of those that are, keyed by (group, call id).
pub(super) async fn load_calls(
    conn: &mut Conn,
    keys: &[(&str, &str)],
) -> Result<HashMap<(String, String), Interaction>, StoreError> {
    let mut calls = HashMap::with_capacity(keys.len());
    for (group, mut query) in of_calls("SELECT call_id, body FROM calls", keys) {
        for row in query.build().fetch_all(&mut *conn).await? {
            let call: Interaction = row.json("body")?;
            calls.insert((group.to_string(), row.text("call_id")?), call);
        }
    }
    Ok(calls)
}

/// Locks the calls (`TxLock::Call`), each once and all in one sorted order,
/// before any is read, so that two transactions cannot deadlock; returns
/// their keys in that order.
pub(super) async fn lock_calls<'k>(
    tx: &mut sqlx::Transaction<'_, Db>,
    calls: impl IntoIterator<Item = (&'k str, &'k str)>,
) -> Result<Vec<(&'k str, &'k str)>, StoreError> {
    let mut keys: Vec<(&str, &str)> = calls.into_iter().collect();
    keys.sort_unstable();
    keys.dedup();
    let locks: Vec<TxLock> = keys
        .iter()
        .map(|&(group, call_id)| TxLock::Call { group, call_id })
        .collect();
    super::dialect::lock_all(tx, &locks).await?;
    Ok(keys)
}

/// The call as stored, if there is one ([`load_calls`]).
pub(super) async fn load_call(
    conn: &mut Conn,
    group: &str,
    call_id: &str,
) -> Result<Option<Interaction>, StoreError> {
    let mut calls = load_calls(conn, &[(group, call_id)]).await?;
    Ok(calls.remove(&(group.to_string(), call_id.to_string())))
}

/// Queues the calls' next steps ([`queue_next`]), reading their active jobs
/// with one statement per group and inserting the new ones with one. Returns,
/// per call, the step that became runnable, if one did.
pub(super) async fn queue_next_all(
    conn: &mut Conn,
    calls: &[&Interaction],
) -> Result<Vec<Option<Step>>, StoreError> {
    let mut runnable = vec![None; calls.len()];
    let wanted: Vec<(usize, Step, i64)> = calls
        .iter()
        .enumerate()
        .filter_map(|(i, call)| {
            let next = call.next_step()?;
            let run_after = next
                .not_before
                .map_or_else(now_ms, |t| t.timestamp_millis());
            Some((i, next.step, run_after))
        })
        .collect();
    if wanted.is_empty() {
        return Ok(runnable);
    }
    let keys: Vec<(&str, &str)> = wanted
        .iter()
        .map(|(i, ..)| (calls[*i].group.as_str(), calls[*i].call_id.as_str()))
        .collect();
    let mut active: HashMap<(String, String), ActiveJob> = HashMap::new();
    let select = "SELECT call_id, id, step, status, run_after FROM jobs";
    for (group, mut query) in of_calls(select, &keys) {
        query.push(" AND status IN ('queued', 'running', 'failed')");
        for row in query.build().fetch_all(&mut *conn).await? {
            active
                .entry((group.to_string(), row.text("call_id")?))
                .or_insert(rows::active_job(&row)?);
        }
    }
    let mut inserts = Vec::new();
    for (i, step, run_after) in wanted {
        let call = calls[i];
        let key = (call.group.clone(), call.call_id.clone());
        let (id, update) = match enqueue(step, run_after, active.get(&key)) {
            Enqueue::Nothing => continue,
            Enqueue::Insert => {
                inserts.push((call, step, run_after));
                runnable[i] = Some(step);
                continue;
            }
            // The pop takes the waiting step's place, with attempts of its own.
            Enqueue::Preempt { id } => (
                id,
                "UPDATE jobs SET step = $1, run_after = $2, attempts = 0, last_error = NULL
                 WHERE id = $3 AND status = 'queued'",
            ),
            // The same step, due sooner.
            Enqueue::MoveForward { id } => (
                id,
                "UPDATE jobs SET step = $1, run_after = $2 WHERE id = $3 AND status = 'queued'",
            ),
        };
        // Only while it still waits: a worker may have claimed it since it was
        // read (then its completion derives the next step again).
        let updated = sqlx::query(update)
            .bind(step.as_str())
            .bind(run_after)
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        if updated > 0 {
            runnable[i] = Some(step);
        }
    }
    let created_at = to_text(Utc::now());
    for chunk in inserts.chunks(CALLS_PER_STATEMENT) {
        let mut insert = QueryBuilder::<Db>::new(
            "INSERT INTO jobs (group_name, call_id, step, status, run_after, created_at, priority) ",
        );
        insert.push_values(chunk, |mut row, (call, step, run_after)| {
            row.push_bind(call.group.as_str())
                .push_bind(call.call_id.as_str())
                .push_bind(step.as_str())
                .push_bind("queued")
                .push_bind(*run_after)
                .push_bind(created_at.as_str())
                .push_bind(call.plan.lane.priority());
        });
        insert.build().execute(&mut *conn).await?;
    }
    Ok(runnable)
}

/// Queues the call's next step, unless one is already queued or running or a step
/// of the call failed for good (its sync stays `failed`). A queued step waiting for
/// something that has now arrived (a recording) is moved forward. Returns the
/// step that became runnable, if one did. The caller holds the call's lock
/// (`dialect::lock`, `TxLock::Call`).
///
/// The core decides what to queue ([`Interaction::next_step`], then the rule
/// [`enqueue`]); this carries it out.
pub(super) async fn queue_next(
    conn: &mut Conn,
    call: &Interaction,
) -> Result<Option<Step>, StoreError> {
    Ok(queue_next_all(conn, &[call])
        .await?
        .into_iter()
        .flatten()
        .next())
}

/// What to announce of the steps that became runnable: [`Change::Work`] for
/// any, and [`Change::Pop`] too for a screen pop (the pop workers wake only for
/// those).
pub(super) fn runnable_changes(queued: impl IntoIterator<Item = Step>) -> Vec<Change> {
    let (mut any, mut pop) = (false, false);
    for step in queued {
        any = true;
        pop |= step == Step::Pop;
    }
    let mut changes = Vec::new();
    if any {
        changes.push(Change::Work);
    }
    if pop {
        changes.push(Change::Pop);
    }
    changes
}
