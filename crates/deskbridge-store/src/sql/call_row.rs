//! A call's row and its next job: the writes that every path changing a call
//! shares (ingest, a step's outcome, an agent's decision, a retry). Both the
//! journal and the job queue use them; neither imports the other.

use chrono::Utc;
use deskbridge_core::Interaction;
use deskbridge_core::queue::{Enqueue, enqueue};

use super::Conn;
use crate::StoreError;
use crate::rows;
use crate::time::{now_ms, to_text};

/// Writes the call (a new one, or over the stored one): its body and the columns
/// derived from it (what lists filter by). Every write of a call goes through
/// here, so the columns never disagree with the body.
pub(super) async fn save_call(
    conn: &mut Conn,
    call: &Interaction,
    now_text: &str,
) -> Result<(), StoreError> {
    let body = serde_json::to_string(call)?;
    if body.len() > crate::MAX_CALL_BYTES {
        return Err(StoreError::CallTooLarge {
            call_id: call.call_id.chars().take(64).collect(),
            bytes: body.len(),
            max: crate::MAX_CALL_BYTES,
        });
    }
    sqlx::query(
        "INSERT INTO calls (customer_phone, state, first_at, updated_at, body, queue, agents,
                            missed, group_name, call_id, kind, ticket_id, contact_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (group_name, call_id) DO UPDATE SET
             customer_phone = excluded.customer_phone, state = excluded.state,
             first_at = excluded.first_at, updated_at = excluded.updated_at,
             body = excluded.body, queue = excluded.queue, agents = excluded.agents,
             missed = excluded.missed, kind = excluded.kind,
             ticket_id = excluded.ticket_id, contact_id = excluded.contact_id",
    )
    .bind(call.customer_phone().map(|p| p.as_str().to_string()))
    .bind(call.state().as_str())
    .bind(to_text(call.first_at))
    .bind(now_text)
    .bind(body)
    .bind(call.queue.as_deref())
    .bind(serde_json::to_string(&call.agent_emails())?)
    .bind(call.is_missed())
    .bind(&call.group)
    .bind(&call.call_id)
    .bind(if call.is_chat() { "chat" } else { "call" })
    .bind(call.ticket_id.as_deref())
    .bind(call.contact_id.as_deref())
    .execute(conn)
    .await?;
    Ok(())
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

/// Queues the call's next step, unless one is already queued or running or a step
/// of the call failed for good (its sync stays `failed`). A queued step waiting for
/// something that has now arrived (a recording) is moved forward. Returns whether a
/// step became runnable. The caller holds the call's lock (`dialect::lock`, `TxLock::Call`).
///
/// The core decides what to queue ([`Interaction::next_step`], then the rule
/// [`enqueue`]); this carries it out.
pub(super) async fn queue_next(conn: &mut Conn, call: &Interaction) -> Result<bool, StoreError> {
    let Some(next) = call.next_step() else {
        return Ok(false);
    };
    let run_after = next
        .not_before
        .map_or_else(now_ms, |t| t.timestamp_millis());
    let active = sqlx::query(
        "SELECT id, step, status, run_after FROM jobs WHERE group_name = $1 AND call_id = $2
           AND status IN ('queued', 'running', 'failed') LIMIT 1",
    )
    .bind(&call.group)
    .bind(&call.call_id)
    .fetch_optional(&mut *conn)
    .await?;
    let active = active.as_ref().map(rows::active_job).transpose()?;
    match enqueue(next.step, run_after, active.as_ref()) {
        Enqueue::Nothing => Ok(false),
        Enqueue::Preempt { id } => {
            // Only while it still waits: a worker may have claimed it since it
            // was read (then its completion derives the next step again).
            let updated = sqlx::query(
                "UPDATE jobs SET step = $1, run_after = $2, attempts = 0, last_error = NULL
                 WHERE id = $3 AND status = 'queued'",
            )
            .bind(next.step.as_str())
            .bind(run_after)
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            Ok(updated > 0)
        }
        Enqueue::MoveForward { id } => {
            let updated =
                sqlx::query("UPDATE jobs SET run_after = $1 WHERE id = $2 AND status = 'queued'")
                    .bind(run_after)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
            Ok(updated > 0)
        }
        Enqueue::Insert => {
            sqlx::query(
                "INSERT INTO jobs (group_name, call_id, step, status, run_after, created_at,
                                   priority)
                 VALUES ($1, $2, $3, 'queued', $4, $5, $6)",
            )
            .bind(&call.group)
            .bind(&call.call_id)
            .bind(next.step.as_str())
            .bind(run_after)
            .bind(to_text(Utc::now()))
            .bind(call.plan.lane.priority())
            .execute(&mut *conn)
            .await?;
            Ok(true)
        }
    }
}
