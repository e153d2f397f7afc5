//! Agent page sessions: one row per signed-in browser, read by every instance.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::SqlStore;
use crate::rows::DbRow;
use crate::time::{from_ms, to_text};
use crate::{SessionRecord, Sessions, StoreError};

#[async_trait]
impl Sessions for SqlStore {
    async fn create_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO agent_sessions (id_hash, agent_email, csrf_token, created_at, expires_ms, credential)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&s.id_hash)
        .bind(&s.agent_email)
        .bind(&s.csrf_token)
        .bind(to_text(s.created_at))
        .bind(s.expires_at.timestamp_millis())
        .bind(&s.credential)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id_hash, agent_email, csrf_token, created_at, expires_ms, credential FROM agent_sessions
             WHERE id_hash = $1 AND expires_ms > $2",
        )
        .bind(id_hash)
        .bind(now.timestamp_millis())
        .fetch_optional(self.reader())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let expires_ms = row.int("expires_ms")?;
        Ok(Some(SessionRecord {
            id_hash: row.text("id_hash")?,
            agent_email: row.text("agent_email")?,
            csrf_token: row.text("csrf_token")?,
            created_at: row.time("created_at")?,
            credential: row.text("credential")?,
            expires_at: from_ms(expires_ms)
                .ok_or_else(|| StoreError::Corrupt(format!("session expiry {expires_ms}")))?,
        }))
    }

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM agent_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn purge_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM agent_sessions WHERE expires_ms <= $1")
                .bind(now.timestamp_millis())
                .execute(self.writer())
                .await?
                .rows_affected(),
        )
    }
}
