//! The built-in CRM's tables on SQLite.

use async_trait::async_trait;
use chrono::Utc;
use sqlx::{Row, Sqlite, Transaction};

use super::SqliteStore;
use crate::StoreError;
use crate::crm::*;
use crate::rows;
use crate::time::to_text;

fn limit(page: Page) -> i64 {
    i64::from(page.limit)
}

fn after(page: Page) -> i64 {
    page.after.unwrap_or(0)
}

// ---- contacts ----

async fn phones_of<'e, E>(exec: E, id: i64) -> Result<Vec<String>, StoreError>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    Ok(sqlx::query_scalar(
        "SELECT phone FROM contact_phones WHERE contact_id = ? ORDER BY position",
    )
    .bind(id)
    .fetch_all(exec)
    .await?)
}

async fn write_phones(
    tx: &mut Transaction<'_, Sqlite>,
    id: i64,
    phones: &[String],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM contact_phones WHERE contact_id = ?")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for (position, phone) in phones.iter().enumerate() {
        sqlx::query(
            "INSERT INTO contact_phones (contact_id, position, phone) VALUES (?, ?, ?)
             ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(position as i64)
        .bind(phone)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn contact_in(
    tx: &mut Transaction<'_, Sqlite>,
    id: i64,
) -> Result<Option<Contact>, StoreError> {
    let Some(row) = sqlx::query("SELECT * FROM contacts WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
    else {
        return Ok(None);
    };
    let phones = phones_of(&mut **tx, id).await?;
    Ok(Some(rows::contact(&row, phones)?))
}

async fn by_key(
    tx: &mut Transaction<'_, Sqlite>,
    table: &'static str,
    key: Option<&str>,
) -> Result<Option<i64>, StoreError> {
    let Some(key) = key else { return Ok(None) };
    let sql = match table {
        "contacts" => "SELECT id FROM contacts WHERE idempotency_key = ?",
        "tickets" => "SELECT id FROM tickets WHERE idempotency_key = ?",
        "organizations" => "SELECT id FROM organizations WHERE idempotency_key = ?",
        _ => "SELECT id FROM comments WHERE idempotency_key = ?",
    };
    Ok(sqlx::query_scalar(sql)
        .bind(key)
        .fetch_optional(&mut **tx)
        .await?)
}

#[async_trait]
impl CrmStore for SqliteStore {
    async fn insert_contact(
        &self,
        f: &ContactFields,
        key: Option<&str>,
    ) -> Result<Created<Contact>, StoreError> {
        let mut tx = self.writer.begin().await?;
        if let Some(id) = by_key(&mut tx, "contacts", key).await? {
            let record = contact_in(&mut tx, id).await?.ok_or_else(|| {
                StoreError::Corrupt(format!("contact {id} vanished inside a transaction"))
            })?;
            return Ok(Created { record, new: false });
        }
        let now = to_text(Utc::now());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO contacts (name, email, organization_id, custom_fields, idempotency_key,
                                   created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&f.name)
        .bind(&f.email)
        .bind(f.organization_id)
        .bind(serde_json::to_string(&f.custom_fields)?)
        .bind(key)
        .bind(&now)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        write_phones(&mut tx, id, &f.phones).await?;
        let record = contact_in(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("new contact not found".into()))?;
        tx.commit().await?;
        Ok(Created { record, new: true })
    }

    async fn contact(&self, id: i64) -> Result<Option<Contact>, StoreError> {
        let Some(row) = sqlx::query("SELECT * FROM contacts WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?
        else {
            return Ok(None);
        };
        let phones = phones_of(&self.reader, id).await?;
        Ok(Some(rows::contact(&row, phones)?))
    }

    async fn update_contact(
        &self,
        id: i64,
        f: &ContactFields,
    ) -> Result<Option<Contact>, StoreError> {
        let mut tx = self.writer.begin().await?;
        let updated = sqlx::query(
            "UPDATE contacts SET name = ?, email = ?, organization_id = ?, custom_fields = ?,
                    updated_at = ? WHERE id = ?",
        )
        .bind(&f.name)
        .bind(&f.email)
        .bind(f.organization_id)
        .bind(serde_json::to_string(&f.custom_fields)?)
        .bind(to_text(Utc::now()))
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Ok(None);
        }
        write_phones(&mut tx, id, &f.phones).await?;
        let record = contact_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn delete_contact(&self, id: i64) -> Result<bool, StoreError> {
        let n = sqlx::query("DELETE FROM contacts WHERE id = ?")
            .bind(id)
            .execute(&self.writer)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    async fn contacts(&self, phone: Option<&str>, page: Page) -> Result<Vec<Contact>, StoreError> {
        let rows = match phone {
            Some(phone) => {
                sqlx::query(
                    "SELECT c.* FROM contacts c
                     WHERE c.id IN (SELECT contact_id FROM contact_phones WHERE phone = ?)
                       AND c.id > ? ORDER BY c.id LIMIT ?",
                )
                .bind(phone)
                .bind(after(page))
                .bind(limit(page))
                .fetch_all(&self.reader)
                .await?
            }
            None => {
                sqlx::query("SELECT * FROM contacts WHERE id > ? ORDER BY id LIMIT ?")
                    .bind(after(page))
                    .bind(limit(page))
                    .fetch_all(&self.reader)
                    .await?
            }
        };
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get("id")?;
            out.push(rows::contact(row, phones_of(&self.reader, id).await?)?);
        }
        Ok(out)
    }

    // ---- organizations ----

    async fn insert_organization(
        &self,
        f: &OrganizationFields,
        key: Option<&str>,
    ) -> Result<Created<Organization>, StoreError> {
        let mut tx = self.writer.begin().await?;
        if let Some(id) = by_key(&mut tx, "organizations", key).await? {
            let row = sqlx::query("SELECT * FROM organizations WHERE id = ?")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            return Ok(Created {
                record: rows::organization(&row)?,
                new: false,
            });
        }
        let now = to_text(Utc::now());
        let row = sqlx::query(
            "INSERT INTO organizations (name, custom_fields, idempotency_key, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?) RETURNING *",
        )
        .bind(&f.name)
        .bind(serde_json::to_string(&f.custom_fields)?)
        .bind(key)
        .bind(&now)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        let record = rows::organization(&row)?;
        tx.commit().await?;
        Ok(Created { record, new: true })
    }

    async fn organization(&self, id: i64) -> Result<Option<Organization>, StoreError> {
        sqlx::query("SELECT * FROM organizations WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?
            .map(|r| rows::organization(&r))
            .transpose()
    }

    async fn update_organization(
        &self,
        id: i64,
        f: &OrganizationFields,
    ) -> Result<Option<Organization>, StoreError> {
        sqlx::query(
            "UPDATE organizations SET name = ?, custom_fields = ?, updated_at = ? WHERE id = ?
             RETURNING *",
        )
        .bind(&f.name)
        .bind(serde_json::to_string(&f.custom_fields)?)
        .bind(to_text(Utc::now()))
        .bind(id)
        .fetch_optional(&self.writer)
        .await?
        .map(|r| rows::organization(&r))
        .transpose()
    }

    async fn delete_organization(&self, id: i64) -> Result<bool, StoreError> {
        let n = sqlx::query("DELETE FROM organizations WHERE id = ?")
            .bind(id)
            .execute(&self.writer)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    async fn organizations(&self, page: Page) -> Result<Vec<Organization>, StoreError> {
        sqlx::query("SELECT * FROM organizations WHERE id > ? ORDER BY id LIMIT ?")
            .bind(after(page))
            .bind(limit(page))
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(rows::organization)
            .collect()
    }

    // ---- tickets ----

    async fn insert_ticket(
        &self,
        f: &TicketFields,
        first_comment: Option<&CommentFields>,
        key: Option<&str>,
    ) -> Result<Created<(Ticket, Option<Comment>)>, StoreError> {
        let mut tx = self.writer.begin().await?;
        if let Some(id) = by_key(&mut tx, "tickets", key).await? {
            let row = sqlx::query("SELECT * FROM tickets WHERE id = ?")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            let comment =
                sqlx::query("SELECT * FROM comments WHERE ticket_id = ? ORDER BY id LIMIT 1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|r| rows::comment(&r))
                    .transpose()?;
            return Ok(Created {
                record: (
                    rows::ticket(&row)?,
                    comment.filter(|_| first_comment.is_some()),
                ),
                new: false,
            });
        }
        let now = to_text(Utc::now());
        let row = sqlx::query(
            "INSERT INTO tickets (subject, status, priority, type, requester_id, assignee, tags,
                                  custom_fields, idempotency_key, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
        )
        .bind(&f.subject)
        .bind(&f.status)
        .bind(&f.priority)
        .bind(&f.ticket_type)
        .bind(f.requester_id)
        .bind(&f.assignee)
        .bind(serde_json::to_string(&f.tags)?)
        .bind(serde_json::to_string(&f.custom_fields)?)
        .bind(key)
        .bind(&now)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        let ticket = rows::ticket(&row)?;
        let comment = match first_comment {
            Some(c) => Some(rows::comment(
                &sqlx::query(
                    "INSERT INTO comments (ticket_id, body, public, created_at)
                     VALUES (?, ?, ?, ?) RETURNING *",
                )
                .bind(ticket.id)
                .bind(&c.body)
                .bind(c.public)
                .bind(&now)
                .fetch_one(&mut *tx)
                .await?,
            )?),
            None => None,
        };
        tx.commit().await?;
        Ok(Created {
            record: (ticket, comment),
            new: true,
        })
    }

    async fn ticket(&self, id: i64) -> Result<Option<Ticket>, StoreError> {
        sqlx::query("SELECT * FROM tickets WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?
            .map(|r| rows::ticket(&r))
            .transpose()
    }

    async fn update_ticket(&self, id: i64, f: &TicketFields) -> Result<Option<Ticket>, StoreError> {
        sqlx::query(
            "UPDATE tickets SET subject = ?, status = ?, priority = ?, type = ?, requester_id = ?,
                    assignee = ?, tags = ?, custom_fields = ?, updated_at = ?
             WHERE id = ? RETURNING *",
        )
        .bind(&f.subject)
        .bind(&f.status)
        .bind(&f.priority)
        .bind(&f.ticket_type)
        .bind(f.requester_id)
        .bind(&f.assignee)
        .bind(serde_json::to_string(&f.tags)?)
        .bind(serde_json::to_string(&f.custom_fields)?)
        .bind(to_text(Utc::now()))
        .bind(id)
        .fetch_optional(&self.writer)
        .await?
        .map(|r| rows::ticket(&r))
        .transpose()
    }

    async fn delete_ticket(&self, id: i64) -> Result<bool, StoreError> {
        let n = sqlx::query("DELETE FROM tickets WHERE id = ?")
            .bind(id)
            .execute(&self.writer)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    async fn open_tickets_of(&self, requester: i64, limit: u32) -> Result<Vec<Ticket>, StoreError> {
        sqlx::query(
            "SELECT * FROM tickets WHERE requester_id = ? AND status <> 'closed'
             ORDER BY updated_at DESC, id DESC LIMIT ?",
        )
        .bind(requester)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(rows::ticket)
        .collect()
    }

    async fn tickets(&self, requester: Option<i64>, page: Page) -> Result<Vec<Ticket>, StoreError> {
        let rows =
            match requester {
                Some(r) => sqlx::query(
                    "SELECT * FROM tickets WHERE requester_id = ? AND id > ? ORDER BY id LIMIT ?",
                )
                .bind(r)
                .bind(after(page))
                .bind(limit(page))
                .fetch_all(&self.reader)
                .await?,
                None => {
                    sqlx::query("SELECT * FROM tickets WHERE id > ? ORDER BY id LIMIT ?")
                        .bind(after(page))
                        .bind(limit(page))
                        .fetch_all(&self.reader)
                        .await?
                }
            };
        rows.iter().map(rows::ticket).collect()
    }

    // ---- comments ----

    async fn insert_comment(
        &self,
        ticket_id: i64,
        f: &CommentFields,
        key: Option<&str>,
    ) -> Result<Option<Created<Comment>>, StoreError> {
        let mut tx = self.writer.begin().await?;
        if let Some(id) = by_key(&mut tx, "comments", key).await? {
            let row = sqlx::query("SELECT * FROM comments WHERE id = ?")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            return Ok(Some(Created {
                record: rows::comment(&row)?,
                new: false,
            }));
        }
        let now = to_text(Utc::now());
        let touched = sqlx::query("UPDATE tickets SET updated_at = ? WHERE id = ?")
            .bind(&now)
            .bind(ticket_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if touched == 0 {
            return Ok(None);
        }
        let row = sqlx::query(
            "INSERT INTO comments (ticket_id, body, public, idempotency_key, created_at)
             VALUES (?, ?, ?, ?, ?) RETURNING *",
        )
        .bind(ticket_id)
        .bind(&f.body)
        .bind(f.public)
        .bind(key)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        let record = rows::comment(&row)?;
        tx.commit().await?;
        Ok(Some(Created { record, new: true }))
    }

    async fn comment(&self, ticket_id: i64, id: i64) -> Result<Option<Comment>, StoreError> {
        sqlx::query("SELECT * FROM comments WHERE ticket_id = ? AND id = ?")
            .bind(ticket_id)
            .bind(id)
            .fetch_optional(&self.reader)
            .await?
            .map(|r| rows::comment(&r))
            .transpose()
    }

    async fn update_comment(
        &self,
        ticket_id: i64,
        id: i64,
        f: &CommentFields,
    ) -> Result<Option<Comment>, StoreError> {
        sqlx::query(
            "UPDATE comments SET body = ?, public = ? WHERE ticket_id = ? AND id = ? RETURNING *",
        )
        .bind(&f.body)
        .bind(f.public)
        .bind(ticket_id)
        .bind(id)
        .fetch_optional(&self.writer)
        .await?
        .map(|r| rows::comment(&r))
        .transpose()
    }

    async fn delete_comment(&self, ticket_id: i64, id: i64) -> Result<bool, StoreError> {
        let n = sqlx::query("DELETE FROM comments WHERE ticket_id = ? AND id = ?")
            .bind(ticket_id)
            .bind(id)
            .execute(&self.writer)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    async fn comments(&self, ticket_id: i64, page: Page) -> Result<Vec<Comment>, StoreError> {
        sqlx::query("SELECT * FROM comments WHERE ticket_id = ? AND id > ? ORDER BY id LIMIT ?")
            .bind(ticket_id)
            .bind(after(page))
            .bind(limit(page))
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(rows::comment)
            .collect()
    }

    // ---- tasks ----

    async fn insert_task(&self, f: &TaskFields) -> Result<Task, StoreError> {
        let now = to_text(Utc::now());
        let row = sqlx::query(
            "INSERT INTO tasks (subject, status, due_at, contact_id, ticket_id, assignee,
                                created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
        )
        .bind(&f.subject)
        .bind(&f.status)
        .bind(f.due_at.map(to_text))
        .bind(f.contact_id)
        .bind(f.ticket_id)
        .bind(&f.assignee)
        .bind(&now)
        .bind(&now)
        .fetch_one(&self.writer)
        .await?;
        rows::task(&row)
    }

    async fn task(&self, id: i64) -> Result<Option<Task>, StoreError> {
        sqlx::query("SELECT * FROM tasks WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?
            .map(|r| rows::task(&r))
            .transpose()
    }

    async fn update_task(&self, id: i64, f: &TaskFields) -> Result<Option<Task>, StoreError> {
        sqlx::query(
            "UPDATE tasks SET subject = ?, status = ?, due_at = ?, contact_id = ?, ticket_id = ?,
                    assignee = ?, updated_at = ? WHERE id = ? RETURNING *",
        )
        .bind(&f.subject)
        .bind(&f.status)
        .bind(f.due_at.map(to_text))
        .bind(f.contact_id)
        .bind(f.ticket_id)
        .bind(&f.assignee)
        .bind(to_text(Utc::now()))
        .bind(id)
        .fetch_optional(&self.writer)
        .await?
        .map(|r| rows::task(&r))
        .transpose()
    }

    async fn delete_task(&self, id: i64) -> Result<bool, StoreError> {
        let n = sqlx::query("DELETE FROM tasks WHERE id = ?")
            .bind(id)
            .execute(&self.writer)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    async fn tasks(&self, page: Page) -> Result<Vec<Task>, StoreError> {
        sqlx::query("SELECT * FROM tasks WHERE id > ? ORDER BY id LIMIT ?")
            .bind(after(page))
            .bind(limit(page))
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(rows::task)
            .collect()
    }
}
