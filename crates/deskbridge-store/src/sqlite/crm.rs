//! The built-in CRM's tables on SQLite.

use async_trait::async_trait;
use chrono::Utc;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};

use super::SqliteStore;
use crate::StoreError;
use crate::crm::*;
use crate::time::{from_text, to_text};

fn json_map(row: &SqliteRow, col: &str) -> Result<Fields, StoreError> {
    Ok(serde_json::from_str(row.try_get::<&str, _>(col)?)?)
}

fn time(row: &SqliteRow, col: &str) -> Result<chrono::DateTime<Utc>, StoreError> {
    from_text(row.try_get::<&str, _>(col)?)
}

fn opt_time(row: &SqliteRow, col: &str) -> Result<Option<chrono::DateTime<Utc>>, StoreError> {
    row.try_get::<Option<&str>, _>(col)?
        .map(from_text)
        .transpose()
}

fn limit(page: Page) -> i64 {
    i64::from(page.limit)
}

fn after(page: Page) -> i64 {
    page.after.unwrap_or(0)
}

// ---- contacts ----

fn contact_row(row: &SqliteRow, phones: Vec<String>) -> Result<Contact, StoreError> {
    Ok(Contact {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        phones,
        organization_id: row.try_get("organization_id")?,
        custom_fields: json_map(row, "custom_fields")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

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
    Ok(Some(contact_row(&row, phones)?))
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
        Ok(Some(contact_row(&row, phones)?))
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
            out.push(contact_row(row, phones_of(&self.reader, id).await?)?);
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
                record: organization_row(&row)?,
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
        let record = organization_row(&row)?;
        tx.commit().await?;
        Ok(Created { record, new: true })
    }

    async fn organization(&self, id: i64) -> Result<Option<Organization>, StoreError> {
        sqlx::query("SELECT * FROM organizations WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?
            .map(|r| organization_row(&r))
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
        .map(|r| organization_row(&r))
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
            .map(organization_row)
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
                    .map(|r| comment_row(&r))
                    .transpose()?;
            return Ok(Created {
                record: (
                    ticket_row(&row)?,
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
        let ticket = ticket_row(&row)?;
        let comment = match first_comment {
            Some(c) => Some(comment_row(
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
            .map(|r| ticket_row(&r))
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
        .map(|r| ticket_row(&r))
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
        .map(ticket_row)
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
        rows.iter().map(ticket_row).collect()
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
                record: comment_row(&row)?,
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
        let record = comment_row(&row)?;
        tx.commit().await?;
        Ok(Some(Created { record, new: true }))
    }

    async fn comment(&self, ticket_id: i64, id: i64) -> Result<Option<Comment>, StoreError> {
        sqlx::query("SELECT * FROM comments WHERE ticket_id = ? AND id = ?")
            .bind(ticket_id)
            .bind(id)
            .fetch_optional(&self.reader)
            .await?
            .map(|r| comment_row(&r))
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
        .map(|r| comment_row(&r))
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
            .map(comment_row)
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
        task_row(&row)
    }

    async fn task(&self, id: i64) -> Result<Option<Task>, StoreError> {
        sqlx::query("SELECT * FROM tasks WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?
            .map(|r| task_row(&r))
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
        .map(|r| task_row(&r))
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
            .map(task_row)
            .collect()
    }
}

fn organization_row(row: &SqliteRow) -> Result<Organization, StoreError> {
    Ok(Organization {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        custom_fields: json_map(row, "custom_fields")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

fn ticket_row(row: &SqliteRow) -> Result<Ticket, StoreError> {
    Ok(Ticket {
        id: row.try_get("id")?,
        subject: row.try_get("subject")?,
        status: row.try_get("status")?,
        priority: row.try_get("priority")?,
        ticket_type: row.try_get("type")?,
        requester_id: row.try_get("requester_id")?,
        assignee: row.try_get("assignee")?,
        tags: serde_json::from_str(row.try_get::<&str, _>("tags")?)?,
        custom_fields: json_map(row, "custom_fields")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

fn comment_row(row: &SqliteRow) -> Result<Comment, StoreError> {
    Ok(Comment {
        id: row.try_get("id")?,
        ticket_id: row.try_get("ticket_id")?,
        body: row.try_get("body")?,
        public: row.try_get("public")?,
        created_at: time(row, "created_at")?,
    })
}

fn task_row(row: &SqliteRow) -> Result<Task, StoreError> {
    Ok(Task {
        id: row.try_get("id")?,
        subject: row.try_get("subject")?,
        status: row.try_get("status")?,
        due_at: opt_time(row, "due_at")?,
        contact_id: row.try_get("contact_id")?,
        ticket_id: row.try_get("ticket_id")?,
        assignee: row.try_get("assignee")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}
