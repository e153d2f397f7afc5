//! Callbacks, the missed-call loop's rows.
//!
//! A call acts on its number's callback in the transaction that saves the call
//! ([`follow_calls`]), so a missed call and the callback it opened or folded
//! into commit together or not at all, and an acknowledged event never loses
//! its callback. What the call does is the core's answer
//! ([`deskbridge_core::decide::callback::follow`]); an agent's claim or close is the
//! core's too, written here only over the version it was decided on
//! ([`Callbacks::replace_callback`]).
//!
//! A callback is an entity of the CRM triggers (`entity = "callback"`, whatever
//! the group's backend): each write puts its notifications into the outbox in
//! its own transaction ([`announce`]), with the group's callback triggers
//! carried in (on each [`GroupEvent`], or as `replace_callback`'s argument),
//! never asked of the application.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deskbridge_core::Interaction;
use deskbridge_core::callback::Callback;
use deskbridge_core::decide::callback;
use deskbridge_core::trigger::{
    Entity, LastCall, Trigger, callback_action, callback_change, notifications,
};

use super::{Conn, Db, SqlStore, dialect};
use crate::locks::TxLock;
use crate::rows::DbRow;
use crate::time::to_text;
use crate::turns::Turn;
use crate::{CallbackFilter, CallbackRecord, Callbacks, Change, GroupEvent, StoreError};

type Row = <Db as sqlx::Database>::Row;

/// Each group's callback triggers, as the events of a commit carried them in.
pub(super) type HeardBy<'a> = BTreeMap<&'a str, &'a [Trigger]>;

/// The callback triggers of the groups of `requests`' events (every event of a
/// group carries its group's).
pub(super) fn heard_by<'a>(requests: &[&'a [GroupEvent]]) -> HeardBy<'a> {
    requests
        .iter()
        .flat_map(|events| events.iter())
        .map(|e| (e.group.as_str(), &*e.callback_triggers))
        .collect()
}

/// Lets each call act on its number's open callback, once (the mark it keeps),
/// announces each callback written to its group's triggers (`heard`), and
/// returns the changes to announce on the change stream. The calls are locked
/// already; numbers are locked here, after them and in sorted order, so that
/// two transactions cannot deadlock and two calls from one number on two
/// instances fold into one callback.
pub(super) async fn follow_calls<'a>(
    tx: &mut sqlx::Transaction<'_, Db>,
    calls: impl Iterator<Item = &'a mut Interaction>,
    heard: &HeardBy<'_>,
) -> Result<Vec<Change>, StoreError> {
    // Each concerned call with its group and number, asked once.
    let mut concerned: Vec<(String, String, &'a mut Interaction)> = calls
        .filter_map(|c| {
            let phone = callback::concerns(c)?.to_string();
            Some((c.group.clone(), phone, c))
        })
        .collect();
    let mut numbers: Vec<(&str, &str)> = concerned
        .iter()
        .map(|(group, phone, _)| (group.as_str(), phone.as_str()))
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    let locks: Vec<TxLock> = numbers
        .into_iter()
        .map(|(group, phone)| TxLock::Callback { group, phone })
        .collect();
    dialect::lock_all(tx, &locks).await?;
    let mut changes = Vec::new();
    for (group, phone, call) in concerned.iter_mut() {
        let open = open_callback(tx, group, phone).await?;
        let Some(followed) = callback::follow(call, open.as_ref()) else {
            continue;
        };
        let mut mark = followed.mark;
        if let Some(cb) = followed.callback {
            let id = write(tx, cb.clone()).await?;
            let triggers = heard.get(group.as_str()).copied().unwrap_or_default();
            announce(tx, triggers, &cb, id, Some(&**call)).await?;
            mark = mark.with_id(id);
            changes.push(Change::Callbacks {
                group: group.clone(),
            });
        }
        call.callback = Some(mark);
    }
    changes.dedup();
    Ok(changes)
}

/// The number's open callback in the group.
async fn open_callback(
    conn: &mut Conn,
    group: &str,
    phone: &str,
) -> Result<Option<Callback>, StoreError> {
    let body: Option<String> = sqlx::query_scalar(
        "SELECT body FROM callbacks WHERE group_name = $1 AND phone = $2 AND closed_at IS NULL",
    )
    .bind(group)
    .bind(phone)
    .fetch_optional(conn)
    .await?;
    Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
}

/// Writes the callback: inserted when it has no id yet, else over the stored
/// one. Returns its id.
async fn write(conn: &mut Conn, mut cb: Callback) -> Result<i64, StoreError> {
    if cb.id == 0 {
        cb.id = sqlx::query_scalar(
            "INSERT INTO callbacks (group_name, phone, first_missed_at, closed_at, version,
                                    last_call_id, body)
             VALUES ($1, $2, $3, NULL, 0, $4, '') RETURNING id",
        )
        .bind(&cb.group)
        .bind(&cb.phone)
        .bind(to_text(cb.first_missed_at))
        .bind(&cb.last_call_id)
        .fetch_one(&mut *conn)
        .await?;
    }
    sqlx::query(
        "UPDATE callbacks SET first_missed_at = $2, closed_at = $3, last_call_id = $4,
                              body = $5, version = version + 1
         WHERE id = $1",
    )
    .bind(cb.id)
    .bind(to_text(cb.first_missed_at))
    .bind(cb.closed.as_ref().map(|c| to_text(c.at)))
    .bind(&cb.last_call_id)
    .bind(serde_json::to_string(&cb)?)
    .execute(conn)
    .await?;
    Ok(cb.id)
}

/// Puts the notifications of writing `decided` (the core's decision, now
/// stored as `id`) into the outbox, on the connection of the transaction that
/// writes it, so the two commit or roll back together (invariant 9). `call` is
/// the call acting on it, if any: it is saved after this, so when it is the
/// callback's last call what it knows is newer than its row. The last call's
/// records are read only when one of `triggers` hears this change.
async fn announce(
    conn: &mut Conn,
    triggers: &[Trigger],
    decided: &Callback,
    id: i64,
    call: Option<&Interaction>,
) -> Result<(), StoreError> {
    let action = callback_action(decided);
    if !triggers
        .iter()
        .any(|t| t.entity == Entity::Callback && t.action == action)
    {
        return Ok(());
    }
    let mut last = record_by_id(&mut *conn, id)
        .await?
        .map(|r| r.last_call)
        .unwrap_or_default();
    if let Some(call) = call.filter(|c| c.call_id == decided.last_call_id) {
        last = LastCall {
            ticket_id: call.ticket_id.clone().or(last.ticket_id),
            contact_id: call.contact_id.clone().or(last.contact_id),
        };
    }
    let change = callback_change(decided, id, &last, Utc::now())?;
    for n in notifications(triggers, &change) {
        super::outbox::insert(&mut *conn, &decided.group, &n).await?;
    }
    Ok(())
}

/// A callback as listed: with its version and the ticket and contact its last
/// missed call was logged on (a macro, so that each statement is one
/// `&'static str`).
macro_rules! select_callbacks {
    ($($rest:expr),+) => {
        concat!(
            "SELECT cb.body, cb.version, c.ticket_id, c.contact_id FROM callbacks cb
             LEFT JOIN calls c ON c.group_name = cb.group_name AND c.call_id = cb.last_call_id ",
            $($rest),+
        )
    };
}

fn record(row: &Row) -> Result<CallbackRecord, StoreError> {
    Ok(CallbackRecord {
        callback: serde_json::from_str(&row.text("body")?)?,
        version: row.int("version")?,
        last_call: LastCall {
            ticket_id: row.opt_text("ticket_id")?,
            contact_id: row.opt_text("contact_id")?,
        },
    })
}

/// Callback `id` as listed, read through `ex`: a pool, or the transaction
/// that just wrote it.
async fn record_by_id<'e>(
    ex: impl sqlx::Executor<'e, Database = Db>,
    id: i64,
) -> Result<Option<CallbackRecord>, StoreError> {
    sqlx::query(select_callbacks!("WHERE cb.id = $1"))
        .bind(id)
        .fetch_optional(ex)
        .await?
        .as_ref()
        .map(record)
        .transpose()
}

#[async_trait]
impl Callbacks for SqlStore {
    async fn callbacks(&self, filter: &CallbackFilter) -> Result<Vec<CallbackRecord>, StoreError> {
        let groups = serde_json::to_string(&filter.groups)?;
        let rows = match filter.closed_since {
            None => {
                sqlx::query(select_callbacks!(
                    "WHERE cb.closed_at IS NULL AND cb.group_name ",
                    in_json_array!("$1"),
                    " ORDER BY cb.first_missed_at, cb.id LIMIT $2"
                ))
                .bind(groups)
                .bind(i64::from(filter.limit))
                .fetch_all(self.reader())
                .await?
            }
            Some(since) => {
                sqlx::query(select_callbacks!(
                    "WHERE cb.closed_at >= $3 AND cb.group_name ",
                    in_json_array!("$1"),
                    " ORDER BY cb.closed_at DESC, cb.id DESC LIMIT $2"
                ))
                .bind(groups)
                .bind(i64::from(filter.limit))
                .bind(to_text(since))
                .fetch_all(self.reader())
                .await?
            }
        };
        rows.iter().map(record).collect()
    }

    async fn callback(&self, id: i64) -> Result<Option<CallbackRecord>, StoreError> {
        record_by_id(self.reader(), id).await
    }

    async fn replace_callback(
        &self,
        version: i64,
        cb: &Callback,
        triggers: &[Trigger],
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write(Turn::Ordinary).await?;
        let updated = sqlx::query(
            "UPDATE callbacks SET closed_at = $3, body = $4, version = version + 1
             WHERE id = $1 AND version = $2",
        )
        .bind(cb.id)
        .bind(version)
        .bind(cb.closed.as_ref().map(|c| to_text(c.at)))
        .bind(serde_json::to_string(cb)?)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Ok(false);
        }
        announce(&mut tx, triggers, cb, cb.id, None).await?;
        let changes = [Change::Callbacks {
            group: cb.group.clone(),
        }];
        dialect::commit(self, tx, &changes).await?;
        Ok(true)
    }

    async fn callbacks_for_metrics(
        &self,
        closed_since: DateTime<Utc>,
    ) -> Result<Vec<Callback>, StoreError> {
        let bodies: Vec<String> = sqlx::query_scalar(
            "SELECT body FROM callbacks WHERE closed_at IS NULL OR closed_at >= $1",
        )
        .bind(to_text(closed_since))
        .fetch_all(self.reader())
        .await?;
        bodies
            .iter()
            .map(|b| Ok(serde_json::from_str(b)?))
            .collect()
    }
}
