//! The helpdesk mirror's tables (migration 0009), the same SQL on both databases.

use async_trait::async_trait;

use super::{Conn, SqlStore};
use crate::StoreError;
use crate::mirror::{MirrorBatch, MirrorRecord, MirrorStore, MirrorTicket, MirrorUser};
use crate::rows::DbRow;
use crate::time::{from_ms, now_ms, to_text};
use crate::turns::Turn;

async fn put_user(conn: &mut Conn, backend: &str, u: &MirrorUser) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO mirror_users (backend, id, name, email, external_id, is_agent, shared_phone, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (backend, id) DO UPDATE SET name = excluded.name, email = excluded.email,
            external_id = excluded.external_id, is_agent = excluded.is_agent,
            shared_phone = excluded.shared_phone",
    )
    .bind(backend)
    .bind(u.id)
    .bind(&u.name)
    .bind(&u.email)
    .bind(&u.external_id)
    .bind(u.is_agent)
    .bind(u.shared_phone)
    .bind(to_text(u.created_at))
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM mirror_user_phones WHERE backend = $1 AND user_id = $2")
        .bind(backend)
        .bind(u.id)
        .execute(&mut *conn)
        .await?;
    for phone in &u.phones {
        sqlx::query(
            "INSERT INTO mirror_user_phones (backend, phone, user_id) VALUES ($1, $2, $3)
             ON CONFLICT (backend, phone, user_id) DO NOTHING",
        )
        .bind(backend)
        .bind(phone)
        .bind(u.id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn remove_user(conn: &mut Conn, backend: &str, id: i64) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM mirror_user_phones WHERE backend = $1 AND user_id = $2")
        .bind(backend)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM mirror_users WHERE backend = $1 AND id = $2")
        .bind(backend)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn put_ticket(conn: &mut Conn, backend: &str, t: &MirrorTicket) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO mirror_tickets (backend, id, requester_id, assignee_id, status, updated_at,
                                     external_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (backend, id) DO UPDATE SET requester_id = excluded.requester_id,
            assignee_id = excluded.assignee_id, status = excluded.status,
            updated_at = excluded.updated_at, external_id = excluded.external_id",
    )
    .bind(backend)
    .bind(t.id)
    .bind(t.requester_id)
    .bind(t.assignee_id)
    .bind(&t.status)
    .bind(to_text(t.updated_at))
    .bind(&t.external_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn remove_ticket(conn: &mut Conn, backend: &str, id: i64) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM mirror_tickets WHERE backend = $1 AND id = $2")
        .bind(backend)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

fn ticket_row(row: &impl DbRow) -> Result<MirrorTicket, StoreError> {
    Ok(MirrorTicket {
        id: row.int("id")?,
        requester_id: row.opt_int("requester_id")?,
        assignee_id: row.opt_int("assignee_id")?,
        status: row.text("status")?,
        updated_at: row.time("updated_at")?,
        external_id: row.opt_text("external_id")?,
    })
}

impl SqlStore {
    /// One user of the mirror with their phones.
    async fn mirror_load_user(
        &self,
        backend: &str,
        id: i64,
    ) -> Result<Option<MirrorUser>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, email, external_id, is_agent, shared_phone, created_at
             FROM mirror_users WHERE backend = $1 AND id = $2",
        )
        .bind(backend)
        .bind(id)
        .fetch_optional(self.reader())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let phones: Vec<String> = sqlx::query_scalar(
            "SELECT phone FROM mirror_user_phones WHERE backend = $1 AND user_id = $2 ORDER BY phone",
        )
        .bind(backend)
        .bind(id)
        .fetch_all(self.reader())
        .await?;
        Ok(Some(MirrorUser {
            id,
            name: row.text("name")?,
            email: row.opt_text("email")?,
            external_id: row.opt_text("external_id")?,
            is_agent: row.flag("is_agent")?,
            shared_phone: row.flag("shared_phone")?,
            phones,
            created_at: row.time("created_at")?,
        }))
    }
}

#[async_trait]
impl MirrorStore for SqlStore {
    async fn mirror_state(&self, backend: &str) -> Result<Option<MirrorRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT backend, users_cursor, tickets_cursor, users_done, tickets_done, loaded_ms,
                    synced_ms, lease_owner, lease_until_ms
             FROM mirror_state WHERE backend = $1",
        )
        .bind(backend)
        .fetch_optional(self.reader())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(MirrorRecord {
            backend: row.text("backend")?,
            users_cursor: row.opt_text("users_cursor")?,
            tickets_cursor: row.opt_text("tickets_cursor")?,
            users_done: row.flag("users_done")?,
            tickets_done: row.flag("tickets_done")?,
            loaded_at: row.opt_int("loaded_ms")?.and_then(from_ms),
            synced_at: row.opt_int("synced_ms")?.and_then(from_ms),
            lease_owner: row.opt_text("lease_owner")?,
            lease_until_ms: row.int("lease_until_ms")?,
        }))
    }

    async fn mirror_lease(
        &self,
        backend: &str,
        owner: &str,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        sqlx::query(
            "INSERT INTO mirror_state (backend, users_done, tickets_done, lease_owner, lease_until_ms)
             VALUES ($1, $2, $2, $3, $4)
             ON CONFLICT (backend) DO UPDATE SET lease_owner = excluded.lease_owner,
                lease_until_ms = excluded.lease_until_ms
             WHERE mirror_state.lease_owner IS NULL OR mirror_state.lease_owner = excluded.lease_owner
                OR mirror_state.lease_until_ms < $5",
        )
        .bind(backend)
        .bind(false)
        .bind(owner)
        .bind(until_ms)
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        let holder: Option<String> =
            sqlx::query_scalar("SELECT lease_owner FROM mirror_state WHERE backend = $1")
                .bind(backend)
                .fetch_one(self.writer())
                .await?;
        Ok(holder.as_deref() == Some(owner))
    }

    async fn mirror_apply(
        &self,
        backend: &str,
        owner: &str,
        batch: &MirrorBatch,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write(Turn::Ordinary).await?;
        let holder: Option<Option<String>> =
            sqlx::query_scalar("SELECT lease_owner FROM mirror_state WHERE backend = $1")
                .bind(backend)
                .fetch_optional(&mut *tx)
                .await?;
        if holder.flatten().as_deref() != Some(owner) {
            return Ok(false);
        }
        for user in &batch.users {
            put_user(&mut tx, backend, user).await?;
        }
        for id in &batch.removed_users {
            remove_user(&mut tx, backend, *id).await?;
        }
        for ticket in &batch.tickets {
            put_ticket(&mut tx, backend, ticket).await?;
        }
        for id in &batch.removed_tickets {
            remove_ticket(&mut tx, backend, *id).await?;
        }
        if let Some((cursor, done)) = &batch.users_cursor {
            sqlx::query(
                "UPDATE mirror_state SET users_cursor = $2, users_done = $3 WHERE backend = $1",
            )
            .bind(backend)
            .bind(cursor)
            .bind(*done)
            .execute(&mut *tx)
            .await?;
        }
        if let Some((cursor, done)) = &batch.tickets_cursor {
            sqlx::query(
                "UPDATE mirror_state SET tickets_cursor = $2, tickets_done = $3 WHERE backend = $1",
            )
            .bind(backend)
            .bind(cursor)
            .bind(*done)
            .execute(&mut *tx)
            .await?;
        }
        if batch.synced {
            sqlx::query(
                "UPDATE mirror_state SET synced_ms = $2, loaded_ms = COALESCE(loaded_ms, $2)
                 WHERE backend = $1",
            )
            .bind(backend)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn mirror_put_user(&self, backend: &str, user: &MirrorUser) -> Result<(), StoreError> {
        let mut tx = self.begin_write(Turn::Ordinary).await?;
        put_user(&mut tx, backend, user).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn mirror_put_ticket(
        &self,
        backend: &str,
        ticket: &MirrorTicket,
    ) -> Result<(), StoreError> {
        let mut conn = self.writer().acquire().await?;
        match ticket.status.as_str() {
            "closed" | "deleted" => remove_ticket(&mut conn, backend, ticket.id).await,
            _ => put_ticket(&mut conn, backend, ticket).await,
        }
    }

    async fn mirror_users_by_phone(
        &self,
        backend: &str,
        e164: &str,
    ) -> Result<Vec<MirrorUser>, StoreError> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT user_id FROM mirror_user_phones WHERE backend = $1 AND phone = $2
             ORDER BY user_id",
        )
        .bind(backend)
        .bind(e164)
        .fetch_all(self.reader())
        .await?;
        let mut users = Vec::with_capacity(ids.len());
        for id in ids {
            users.extend(self.mirror_load_user(backend, id).await?);
        }
        users.sort_by_key(|u| (u.created_at, u.id));
        Ok(users)
    }

    async fn mirror_user(&self, backend: &str, id: i64) -> Result<Option<MirrorUser>, StoreError> {
        self.mirror_load_user(backend, id).await
    }

    async fn mirror_ticket(
        &self,
        backend: &str,
        id: i64,
    ) -> Result<Option<MirrorTicket>, StoreError> {
        sqlx::query(
            "SELECT id, requester_id, assignee_id, status, updated_at, external_id FROM mirror_tickets
             WHERE backend = $1 AND id = $2",
        )
        .bind(backend)
        .bind(id)
        .fetch_optional(self.reader())
        .await?
        .as_ref()
        .map(ticket_row)
        .transpose()
    }

    async fn mirror_tickets_of(
        &self,
        backend: &str,
        requester_id: i64,
    ) -> Result<Vec<MirrorTicket>, StoreError> {
        sqlx::query(
            "SELECT id, requester_id, assignee_id, status, updated_at, external_id FROM mirror_tickets
             WHERE backend = $1 AND requester_id = $2 ORDER BY updated_at DESC, id DESC",
        )
        .bind(backend)
        .bind(requester_id)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(ticket_row)
        .collect()
    }

    async fn mirror_counts(&self, backend: &str) -> Result<(i64, i64), StoreError> {
        let users: i64 = sqlx::query_scalar("SELECT count(*) FROM mirror_users WHERE backend = $1")
            .bind(backend)
            .fetch_one(self.reader())
            .await?;
        let tickets: i64 =
            sqlx::query_scalar("SELECT count(*) FROM mirror_tickets WHERE backend = $1")
                .bind(backend)
                .fetch_one(self.reader())
                .await?;
        Ok((users, tickets))
    }
}
