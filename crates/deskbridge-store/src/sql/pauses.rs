//! Agents' pauses: one row each, from start to end. What a pause report or an
//! agent's pause does is the core's answer (`deskbridge_core::decide::pause`);
//! here it is carried out, and announced to the agent's streams.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deskbridge_core::pause::{Pause, PauseChange, PauseSource};

use super::{Db, SqlStore, dialect};
use crate::rows::DbRow;
use crate::time::to_text;
use crate::turns::Turn;
use crate::{Change, Pauses, StoreError};

type Row = <Db as sqlx::Database>::Row;

macro_rules! select_pauses {
    ($rest:expr) => {
        concat!(
            "SELECT id, group_name, agent, reason, source, started_at, until_at, ended_at
             FROM agent_pauses ",
            $rest
        )
    };
}

fn pause(row: &Row) -> Result<Pause, StoreError> {
    let source = row.text("source")?;
    Ok(Pause {
        id: row.int("id")?,
        group: row.text("group_name")?,
        agent: row.text("agent")?,
        reason: row.opt_text("reason")?,
        source: PauseSource::parse(&source)
            .ok_or_else(|| StoreError::Corrupt(format!("pause source {source:?}")))?,
        started_at: row.time("started_at")?,
        until: row.opt_time("until_at")?,
        ended_at: row.opt_time("ended_at")?,
    })
}

/// Opens `p`; false when the agent has an open pause in the group already
/// (the unique index says so).
async fn start(tx: &mut sqlx::Transaction<'_, Db>, p: &Pause) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO agent_pauses (group_name, agent, reason, source, started_at, until_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(&p.group)
    .bind(&p.agent)
    .bind(&p.reason)
    .bind(p.source.as_str())
    .bind(to_text(p.started_at))
    .bind(p.until.map(to_text))
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Ends the open pause `id`: its group and agent, or none when it had ended.
async fn end(
    tx: &mut sqlx::Transaction<'_, Db>,
    id: i64,
    at: DateTime<Utc>,
) -> Result<Option<(String, String)>, StoreError> {
    let row = sqlx::query(
        "UPDATE agent_pauses SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL
         RETURNING group_name, agent",
    )
    .bind(id)
    .bind(to_text(at))
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| Ok((r.text("group_name")?, r.text("agent")?)))
        .transpose()
}

#[async_trait]
impl Pauses for SqlStore {
    async fn open_pauses(&self, agent: &str) -> Result<Vec<Pause>, StoreError> {
        let rows = sqlx::query(select_pauses!(
            "WHERE agent = $1 AND ended_at IS NULL ORDER BY group_name"
        ))
        .bind(agent)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(pause).collect()
    }

    async fn change_pause(&self, change: &PauseChange) -> Result<bool, StoreError> {
        let mut tx = self.begin_write(Turn::Ordinary).await?;
        let (done, who) = match change {
            PauseChange::Nothing => return Ok(true),
            PauseChange::Start(p) => (
                start(&mut tx, p).await?,
                Some((p.group.clone(), p.agent.clone())),
            ),
            PauseChange::End { id, at } => {
                let who = end(&mut tx, *id, *at).await?;
                (who.is_some(), who)
            }
            PauseChange::Replace { end: id, start: p } => {
                let ended = end(&mut tx, *id, p.started_at).await?.is_some();
                let started = ended && start(&mut tx, p).await?;
                (started, Some((p.group.clone(), p.agent.clone())))
            }
        };
        if !done {
            return Ok(false);
        }
        let changes: Vec<Change> = who
            .map(|(group, agent)| Change::Agent { group, agent })
            .into_iter()
            .collect();
        dialect::commit(self, tx, &changes).await?;
        Ok(true)
    }

    async fn pauses_between(
        &self,
        agent: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Pause>, StoreError> {
        let rows = sqlx::query(select_pauses!(
            "WHERE agent = $1 AND started_at < $3 AND (ended_at IS NULL OR ended_at > $2)
             ORDER BY started_at"
        ))
        .bind(agent)
        .bind(to_text(from))
        .bind(to_text(to))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(pause).collect()
    }

    async fn wrap_up_pauses_due(&self, now: DateTime<Utc>) -> Result<Vec<Pause>, StoreError> {
        let rows = sqlx::query(select_pauses!(
            "WHERE ended_at IS NULL AND source = 'wrap_up' AND until_at <= $1"
        ))
        .bind(to_text(now))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(pause).collect()
    }
}
