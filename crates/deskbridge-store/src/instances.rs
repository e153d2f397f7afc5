//! The instances table: each instance's heartbeat, and the steps it holds. A
//! worker's lease owner is `{instance id}/w{n}`, which ties steps to instances.

use std::time::Duration;

use sqlx::{PgPool, Row, SqlitePool};

use crate::time::{from_ms, from_text, now_ms, to_text};
use crate::{InstanceRecord, StoreError};

pub async fn sqlite_heartbeat(pool: &SqlitePool, i: &InstanceRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO instances (id, hostname, pid, version, started_at, heartbeat_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (id) DO UPDATE SET heartbeat_ms = excluded.heartbeat_ms",
    )
    .bind(&i.id)
    .bind(&i.hostname)
    .bind(i.pid)
    .bind(&i.version)
    .bind(to_text(i.started_at))
    .bind(now_ms())
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn pg_heartbeat(pool: &PgPool, i: &InstanceRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO instances (id, hostname, pid, version, started_at, heartbeat_ms)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET heartbeat_ms = excluded.heartbeat_ms",
    )
    .bind(&i.id)
    .bind(&i.hostname)
    .bind(i.pid)
    .bind(&i.version)
    .bind(to_text(i.started_at))
    .bind(now_ms())
    .execute(pool)
    .await?;
    Ok(())
}

const LIST_PG: &str = "SELECT i.id, i.hostname, i.pid, i.version, i.started_at, i.heartbeat_ms,
        (SELECT count(*) FROM jobs j WHERE j.status = 'running' AND j.lease_until > $2
            AND j.lease_owner LIKE i.id || '/%') AS running_steps
     FROM instances i WHERE i.heartbeat_ms >= $1 ORDER BY i.started_at, i.id";

const LIST_SQLITE: &str = "SELECT i.id, i.hostname, i.pid, i.version, i.started_at, i.heartbeat_ms,
        (SELECT count(*) FROM jobs j WHERE j.status = 'running' AND j.lease_until > ?2
            AND j.lease_owner LIKE i.id || '/%') AS running_steps
     FROM instances i WHERE i.heartbeat_ms >= ?1 ORDER BY i.started_at, i.id";

fn record<R: Row>(row: &R) -> Result<InstanceRecord, StoreError>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let started: String = row.try_get("started_at")?;
    let heartbeat: i64 = row.try_get("heartbeat_ms")?;
    Ok(InstanceRecord {
        id: row.try_get("id")?,
        hostname: row.try_get("hostname")?,
        pid: row.try_get("pid")?,
        version: row.try_get("version")?,
        started_at: from_text(&started)?,
        heartbeat_at: from_ms(heartbeat).unwrap_or_default(),
        running_steps: row.try_get("running_steps")?,
    })
}

pub async fn sqlite_list(
    pool: &SqlitePool,
    alive_within: Duration,
) -> Result<Vec<InstanceRecord>, StoreError> {
    let now = now_ms();
    let rows = sqlx::query(LIST_SQLITE)
        .bind(now - alive_within.as_millis() as i64)
        .bind(now)
        .fetch_all(pool)
        .await?;
    rows.iter().map(record).collect()
}

pub async fn pg_list(
    pool: &PgPool,
    alive_within: Duration,
) -> Result<Vec<InstanceRecord>, StoreError> {
    let now = now_ms();
    let rows = sqlx::query(LIST_PG)
        .bind(now - alive_within.as_millis() as i64)
        .bind(now)
        .fetch_all(pool)
        .await?;
    rows.iter().map(record).collect()
}
