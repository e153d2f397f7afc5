//! The built-in CRM's tables.
//!
//! An idempotency key is claimed by the insert itself (`ON CONFLICT
//! (idempotency_key) DO NOTHING`), after which a conflicting insert reads back the
//! first record: with PostgreSQL the unique index makes a second insert with the
//! same key wait for the first transaction and then do nothing; with SQLite the
//! single writer runs them one after the other. A contact and its phones are read
//! in one statement (`contact_phones!()`), hence from one snapshot.
//!
//! Every built-in backend is its own set of records, its *tenant*: [`Records`] is
//! the store seen through one tenant, and every statement here names the tenant
//! (a row of another tenant is never read, changed or deleted, and reads as "not
//! found"). Phones are scoped through their contact. Idempotency keys are unique
//! across tenants, which is harmless: they name their group, and a group has one
//! backend; the row holding a key is still read within the tenant only.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;

use deskbridge_core::trigger::{Action, Change as CrmChange, Entity, Ids, notifications};
use serde::Serialize;

use super::{Conn, Db, SqlStore};
use crate::StoreError;
use crate::crm::*;
use crate::outbox::GroupTriggers;
use crate::rows::{self, DbRow};
use crate::time::to_text;
use crate::turns::Turn;

/// The ticket a create with this idempotency key made.
const TICKET_BY_KEY: &str = "SELECT * FROM tickets WHERE idempotency_key = $1 AND tenant = $2";

type Row = <Db as sqlx::Database>::Row;

/// Contact rows with their phones, in position order, as the JSON array column
/// `phones`.
macro_rules! select_contacts {
    () => {
        concat!(
            "SELECT c.*, ",
            contact_phones!(),
            " AS phones FROM contacts c"
        )
    };
}

/// Contact `$1`'s tickets that are not closed, most recently updated first, at
/// most `$2`, of tenant `$3`: `open_tickets_of`, and the caller card's tickets
/// (`card_of`), one text for both.
macro_rules! open_tickets_of {
    () => {
        "SELECT * FROM tickets WHERE requester_id = $1 AND status <> 'closed' AND tenant = $3
         ORDER BY updated_at DESC, id DESC LIMIT $2"
    };
}

fn contact(row: &impl DbRow) -> Result<Contact, StoreError> {
    rows::contact(row, row.json("phones")?)
}

fn limit(page: Page) -> i64 {
    i64::from(page.limit)
}

fn after(page: Page) -> i64 {
    page.after.unwrap_or(0)
}

/// The row holding `key`, read after an insert with that key did nothing. Only a
/// key can conflict (a NULL key never does), and the row holding it has committed;
/// if it cannot be read all the same, it was deleted in between.
async fn holder_of(
    conn: &mut Conn,
    sql: &'static str,
    key: Option<&str>,
    tenant: &str,
    what: &str,
) -> Result<Row, StoreError> {
    let key =
        key.ok_or_else(|| StoreError::Corrupt(format!("a {what} without a key conflicted")))?;
    sqlx::query(sql)
        .bind(key)
        .bind(tenant)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| {
            StoreError::Corrupt(format!(
                "{what} with idempotency key {key:?} conflicted on insert but cannot be read"
            ))
        })
}

async fn write_phones(conn: &mut Conn, id: i64, phones: &[String]) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM contact_phones WHERE contact_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    for (position, phone) in phones.iter().enumerate() {
        sqlx::query(
            "INSERT INTO contact_phones (contact_id, position, phone) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(position as i64)
        .bind(phone)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn contact_in(conn: &mut Conn, id: i64, tenant: &str) -> Result<Option<Contact>, StoreError> {
    sqlx::query(concat!(
        select_contacts!(),
        " WHERE c.id = $1 AND c.tenant = $2"
    ))
    .bind(id)
    .bind(tenant)
    .fetch_optional(conn)
    .await?
    .map(|r| contact(&r))
    .transpose()
}

/// The built-in CRM records of one tenant (one built-in backend): every query it
/// runs is scoped to that tenant.
#[derive(Clone)]
pub struct Records {
    store: SqlStore,
    tenant: Arc<str>,
    /// The triggers of the groups whose backend these records are: each write
    /// puts their notifications into the outbox in its own transaction.
    triggers: Arc<[GroupTriggers]>,
}

impl SqlStore {
    /// The CRM records of the built-in backend `tenant` (its name in the config).
    pub fn crm(&self, tenant: &str) -> Records {
        Records {
            store: self.clone(),
            tenant: tenant.into(),
            triggers: Arc::new([]),
        }
    }
}

/// A contact's ids, as its notifications name them.
fn contact_ids(c: &Contact) -> Ids {
    Ids {
        account: Some(c.id.to_string()),
        ..Ids::default()
    }
}

fn ticket_ids(t: &Ticket) -> Ids {
    Ids {
        account: t.requester_id.map(|id| id.to_string()),
        case: Some(t.id.to_string()),
        ..Ids::default()
    }
}

/// A comment's ids; `requester` is its ticket's.
fn comment_ids(c: &Comment, requester: Option<i64>) -> Ids {
    Ids {
        account: requester.map(|id| id.to_string()),
        case: Some(c.ticket_id.to_string()),
        followup: Some(c.id.to_string()),
        task: None,
        callback: None,
    }
}

fn task_ids(t: &Task) -> Ids {
    Ids {
        account: t.contact_id.map(|id| id.to_string()),
        case: t.ticket_id.map(|id| id.to_string()),
        followup: None,
        task: Some(t.id.to_string()),
        callback: None,
    }
}

/// The requester of ticket `id`, read in the transaction that changes its comments.
async fn requester_of(conn: &mut Conn, id: i64) -> Result<Option<i64>, StoreError> {
    let requester: Option<Option<i64>> =
        sqlx::query_scalar("SELECT requester_id FROM tickets WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(requester.flatten())
}

impl Records {
    /// These records, announcing their changes to `triggers`.
    pub fn with_triggers(mut self, triggers: Vec<GroupTriggers>) -> Records {
        self.triggers = triggers.into();
        self
    }

    /// Puts the notifications of a change into the outbox, on the connection of
    /// the transaction that makes the change (so they commit or roll back with
    /// it).
    async fn announce(
        &self,
        conn: &mut Conn,
        entity: Entity,
        action: Action,
        ids: Ids,
        record: &impl Serialize,
    ) -> Result<(), StoreError> {
        let heard = self.triggers.iter().any(|g| {
            g.triggers
                .iter()
                .any(|t| t.entity == entity && t.action == action)
        });
        if !heard {
            return Ok(());
        }
        let change = CrmChange {
            entity,
            action,
            ids,
            data: serde_json::to_value(record)?,
            at: Utc::now(),
        };
        for g in self.triggers.iter() {
            for n in notifications(&g.triggers, &change) {
                super::outbox::insert(&mut *conn, &g.group, &n).await?;
            }
        }
        Ok(())
    }

    /// Announces each record a cascade changed, oldest first: `rows` as the
    /// cascade's `RETURNING *` gave them, read by `read`, ordered by `order`,
    /// each known by the ids `ids` gives.
    #[allow(clippy::too_many_arguments)]
    async fn announce_each<T: Serialize>(
        &self,
        conn: &mut Conn,
        rows: Vec<<Db as sqlx::Database>::Row>,
        read: impl Fn(&<Db as sqlx::Database>::Row) -> Result<T, StoreError>,
        order: impl Fn(&T) -> i64,
        entity: Entity,
        action: Action,
        ids: impl Fn(&T) -> Ids,
    ) -> Result<(), StoreError> {
        let mut records = rows.iter().map(read).collect::<Result<Vec<_>, _>>()?;
        records.sort_by_key(|r| order(r));
        for r in &records {
            self.announce(&mut *conn, entity, action, ids(r), r).await?;
        }
        Ok(())
    }

    /// What deleting contact `id` does to the records pointing at it, done here
    /// (rather than by the schema's `ON DELETE SET NULL`) so that each is
    /// announced in the delete's transaction: its tickets lose their requester
    /// and its tasks their contact, each an edit. The notification names the
    /// contact they were of (`AccountID`); `data` shows them after.
    async fn forget_contact(&self, conn: &mut Conn, id: i64) -> Result<(), StoreError> {
        let now = to_text(Utc::now());
        let tickets = sqlx::query(
            "UPDATE tickets SET requester_id = NULL, updated_at = $3
             WHERE requester_id = $1 AND tenant = $2 RETURNING *",
        )
        .bind(id)
        .bind(&*self.tenant)
        .bind(&now)
        .fetch_all(&mut *conn)
        .await?;
        let contact = |ids: Ids| Ids {
            account: Some(id.to_string()),
            ..ids
        };
        self.announce_each(
            &mut *conn,
            tickets,
            rows::ticket,
            |t| t.id,
            Entity::Ticket,
            Action::Edit,
            |t| contact(ticket_ids(t)),
        )
        .await?;
        let tasks = sqlx::query(
            "UPDATE tasks SET contact_id = NULL, updated_at = $3
             WHERE contact_id = $1 AND tenant = $2 RETURNING *",
        )
        .bind(id)
        .bind(&*self.tenant)
        .bind(&now)
        .fetch_all(&mut *conn)
        .await?;
        self.announce_each(
            &mut *conn,
            tasks,
            rows::task,
            |t| t.id,
            Entity::Task,
            Action::Edit,
            |t| contact(task_ids(t)),
        )
        .await
    }

    /// What deleting ticket `id` does to the records pointing at it, done here
    /// (rather than by the schema's cascades) so that each is announced in the
    /// delete's transaction: its comments go (each deleted, oldest first) and
    /// its tasks lose it (each an edit, naming the ticket it was on).
    async fn forget_ticket(&self, conn: &mut Conn, id: i64) -> Result<(), StoreError> {
        let requester = requester_of(&mut *conn, id).await?;
        let comments =
            sqlx::query("DELETE FROM comments WHERE ticket_id = $1 AND tenant = $2 RETURNING *")
                .bind(id)
                .bind(&*self.tenant)
                .fetch_all(&mut *conn)
                .await?;
        self.announce_each(
            &mut *conn,
            comments,
            rows::comment,
            |c| c.id,
            Entity::Comment,
            Action::Delete,
            |c| comment_ids(c, requester),
        )
        .await?;
        let tasks = sqlx::query(
            "UPDATE tasks SET ticket_id = NULL, updated_at = $3
             WHERE ticket_id = $1 AND tenant = $2 RETURNING *",
        )
        .bind(id)
        .bind(&*self.tenant)
        .bind(to_text(Utc::now()))
        .fetch_all(&mut *conn)
        .await?;
        self.announce_each(
            &mut *conn,
            tasks,
            rows::task,
            |t| t.id,
            Entity::Task,
            Action::Edit,
            |t| Ids {
                case: Some(id.to_string()),
                ..task_ids(t)
            },
        )
        .await
    }

    fn writer(&self) -> &sqlx::Pool<Db> {
        self.store.writer()
    }

    async fn begin_write(&self, turn: Turn) -> Result<sqlx::Transaction<'static, Db>, StoreError> {
        self.store.begin_write(turn).await
    }

    fn reader(&self) -> &sqlx::Pool<Db> {
        self.store.reader()
    }

    /// Runs a `DELETE ... WHERE id = $1 AND tenant = $2`: whether a row went.
    async fn delete_row(&self, sql: &'static str, id: i64) -> Result<bool, StoreError> {
        let n = sqlx::query(sql)
            .bind(id)
            .bind(&*self.tenant)
            .execute(self.writer())
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    /// The page of a `... WHERE tenant = $1 AND id > $2 ORDER BY id LIMIT $3`;
    /// `of` is bound as `$4` (the parent a list is filtered by), when given.
    async fn page_of<T: Send>(
        &self,
        sql: &'static str,
        of: Option<i64>,
        page: Page,
        record: fn(&Row) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut query = sqlx::query(sql)
            .bind(&*self.tenant)
            .bind(after(page))
            .bind(limit(page));
        if let Some(parent) = of {
            query = query.bind(parent);
        }
        query
            .fetch_all(self.reader())
            .await?
            .iter()
            .map(record)
            .collect()
    }
}

impl Records {
    /// The contact's row; `None` when `key` was used before (nothing written).
    async fn insert_contact_row(
        &self,
        tx: &mut Conn,
        f: &ContactFields,
        key: Option<&str>,
    ) -> Result<Option<i64>, StoreError> {
        let now = to_text(Utc::now());
        Ok(sqlx::query_scalar(
            "INSERT INTO contacts (name, email, organization_id, custom_fields, idempotency_key,
                                   created_at, updated_at, tenant)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
        )
        .bind(&f.name)
        .bind(&f.email)
        .bind(f.organization_id)
        .bind(serde_json::to_string(&f.custom_fields)?)
        .bind(key)
        .bind(&now)
        .bind(&now)
        .bind(&*self.tenant)
        .fetch_optional(&mut *tx)
        .await?)
    }

    /// A new contact's numbers and its notifications; the contact as stored.
    async fn finish_new_contact(
        &self,
        tx: &mut Conn,
        id: i64,
        f: &ContactFields,
    ) -> Result<Contact, StoreError> {
        write_phones(&mut *tx, id, &f.phones).await?;
        let record = contact_in(&mut *tx, id, &self.tenant)
            .await?
            .ok_or_else(|| StoreError::Corrupt("new contact not found".into()))?;
        self.announce(
            &mut *tx,
            Entity::Contact,
            Action::Create,
            contact_ids(&record),
            &record,
        )
        .await?;
        Ok(record)
    }
}

#[async_trait]
impl CrmStore for Records {
    fn tenant(&self) -> &str {
        &self.tenant
    }

    async fn adopt(&self, from: &str) -> Result<u64, StoreError> {
        let mut tx = self.begin_write(Turn::Ordinary).await?;
        let mut moved = 0;
        for sql in [
            "UPDATE organizations SET tenant = $1 WHERE tenant = $2",
            "UPDATE contacts SET tenant = $1 WHERE tenant = $2",
            "UPDATE tickets SET tenant = $1 WHERE tenant = $2",
            "UPDATE comments SET tenant = $1 WHERE tenant = $2",
            "UPDATE tasks SET tenant = $1 WHERE tenant = $2",
        ] {
            moved += sqlx::query(sql)
                .bind(&*self.tenant)
                .bind(from)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(moved)
    }

    // ---- contacts ----

    async fn insert_contact(
        &self,
        f: &ContactFields,
        key: Option<&str>,
    ) -> Result<Created<Contact>, StoreError> {
        let mut tx = self.begin_write(Turn::Ordinary).await?;
        let id = self.insert_contact_row(&mut tx, f, key).await?;
        let Some(id) = id else {
            let sql = concat!(
                select_contacts!(),
                " WHERE c.idempotency_key = $1 AND c.tenant = $2"
            );
            let record = contact(&holder_of(&mut tx, sql, key, &self.tenant, "contact").await?)?;
            tx.rollback().await?;
            return Ok(Created { record, new: false });
        };
        let record = self.finish_new_contact(&mut tx, id, f).await?;
        tx.commit().await?;
        Ok(Created { record, new: true })
    }

    async fn import_contacts(&self, contacts: &[ContactFields]) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.begin_write(Turn::Ordinary).await?;
        let mut ids = Vec::with_capacity(contacts.len());
        for f in contacts {
            let id = self
                .insert_contact_row(&mut tx, f, None)
                .await?
                .ok_or_else(|| StoreError::Corrupt("a contact without a key conflicted".into()))?;
            self.finish_new_contact(&mut tx, id, f).await?;
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    async fn contact(&self, id: i64) -> Result<Option<Contact>, StoreError> {
        sqlx::query(concat!(
            select_contacts!(),
            " WHERE c.id = $1 AND c.tenant = $2"
        ))
        .bind(id)
        .bind(&*self.tenant)
        .fetch_optional(self.reader())
        .await?
        .map(|r| contact(&r))
        .transpose()
    }

    async fn update_contact(
        &self,
        id: i64,
        f: &ContactFields,
    ) -> Result<Option<Contact>, StoreError> {
        let mut tx = self.begin_write(Turn::Ordinary).await?;
        // With PostgreSQL, the row lock taken here serializes concurrent updates of
        // the contact's phones.
        let updated = sqlx::query(
            "UPDATE contacts SET name = $1, email = $2, organization_id = $3, custom_fields = $4,
                    updated_at = $5 WHERE id = $6 AND tenant = $7",
        )
        .bind(&f.name)
        .bind(&f.email)
        .bind(f.organization_id)
        .bind(serde_json::to_string(&f.custom_fields)?)
        .bind(to_text(Utc::now()))
        .bind(id)
        .bind(&*self.tenant)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        write_phones(&mut tx, id, &f.phones).await?;
        let record = contact_in(&mut tx, id, &self.tenant).await?;
        if let Some(c) = &record {
            self.announce(&mut tx, Entity::Contact, Action::Edit, contact_ids(c), c)
                .await?;
        }
        tx.commit().await?;
        Ok(record)
    }

    async fn delete_contact(&self, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin_write(Turn::Ordinary).await?;
        // The record as it was, for the notification.
        let Some(before) = contact_in(&mut tx, id, &self.tenant).await? else {
            tx.rollback().await?;
            return Ok(false);
        };
        self.forget_contact(&mut tx, id).await?;
        let n = sqlx::query("DELETE FROM contacts WHERE id = $1 AND tenant = $2")
            .bind(id)
            .bind(&*self.tenant)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n > 0 {
            self.announce(
                &mut tx,
                Entity::Contact,
                Action::Delete,
                contact_ids(&before),
                &before,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn contacts(&self, phone: Option<&str>, page: Page) -> Result<Vec<Contact>, StoreError> {
        let rows = match phone {
            Some(phone) => {
                // From the number's index to each contact by its id. Written as
                // `c.id IN (SELECT ... WHERE phone = $1)`, SQLite may (without
                // `ANALYZE` statistics, it did) walk every contact of the tenant
                // in id order for the `ORDER BY` and test each against the list:
                // 150-200 ms a lookup at 1,000,000 contacts instead of 0.04 ms.
                // `CROSS JOIN` makes SQLite start from the number; PostgreSQL
                // plans it as any inner join.
                sqlx::query(concat!(
                    "SELECT c.*, ",
                    contact_phones!(),
                    " AS phones FROM contact_phones m CROSS JOIN contacts c
                      WHERE m.phone = $1 AND c.id = m.contact_id
                        AND c.tenant = $4 AND c.id > $2 ORDER BY c.id LIMIT $3"
                ))
                .bind(phone)
                .bind(after(page))
                .bind(limit(page))
                .bind(&*self.tenant)
                .fetch_all(self.reader())
                .await?
            }
            None => {
                sqlx::query(concat!(
                    select_contacts!(),
                    " WHERE c.tenant = $1 AND c.id > $2 ORDER BY c.id LIMIT $3"
                ))
                .bind(&*self.tenant)
                .bind(after(page))
                .bind(limit(page))
                .fetch_all(self.reader())
                .await?
            }
        };
        rows.iter().map(contact).collect()
    }

    async fn search_contacts(&self, text: &str, limit: u32) -> Result<Vec<Contact>, StoreError> {
        // `LIKE` with its wildcards escaped: the text is matched as written.
        let escaped: String = text
            .to_lowercase()
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        let pattern = format!("%{escaped}%");
        let rows = sqlx::query(concat!(
            select_contacts!(),
            " WHERE c.tenant = $1
                AND (lower(c.name) LIKE $2 ESCAPE '\\' OR lower(c.email) LIKE $2 ESCAPE '\\')
              ORDER BY c.id DESC LIMIT $3"
        ))
        .bind(&*self.tenant)
        .bind(pattern)
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(contact).collect()
    }

    // ---- organizations ----

    async fn insert_organization(
        &self,
        f: &OrganizationFields,
        key: Option<&str>,
    ) -> Result<Created<Organization>, StoreError> {
        let mut tx = self.begin_write(Turn::Ordinary).await?;
        let now = to_text(Utc::now());
        let row = sqlx::query(
            "INSERT INTO organizations (name, custom_fields, idempotency_key, created_at, updated_at,
                                        tenant)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (idempotency_key) DO NOTHING RETURNING *",
        )
        .bind(&f.name)
        .bind(serde_json::to_string(&f.custom_fields)?)
        .bind(key)
        .bind(&now)
        .bind(&now)
        .bind(&*self.tenant)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            let sql = "SELECT * FROM organizations WHERE idempotency_key = $1 AND tenant = $2";
            let row = holder_of(&mut tx, sql, key, &self.tenant, "organization").await?;
            tx.rollback().await?;
            return Ok(Created {
                record: rows::organization(&row)?,
                new: false,
            });
        };
        let record = rows::organization(&row)?;
        tx.commit().await?;
        Ok(Created { record, new: true })
    }

    async fn organization(&self, id: i64) -> Result<Option<Organization>, StoreError> {
        sqlx::query("SELECT * FROM organizations WHERE id = $1 AND tenant = $2")
            .bind(id)
            .bind(&*self.tenant)
            .fetch_optional(self.reader())
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
            "UPDATE organizations SET name = $1, custom_fields = $2, updated_at = $3
             WHERE id = $4 AND tenant = $5 RETURNING *",
        )
        .bind(&f.name)
        .bind(serde_json::to_string(&f.custom_fields)?)
        .bind(to_text(Utc::now()))
        .bind(id)
        .bind(&*self.tenant)
        .fetch_optional(self.writer())
        .await?
        .map(|r| rows::organization(&r))
        .transpose()
    }

    async fn delete_organization(&self, id: i64) -> Result<bool, StoreError> {
        self.delete_row(
            "DELETE FROM organizations WHERE id = $1 AND tenant = $2",
            id,
        )
        .await
    }

    async fn organizations(&self, page: Page) -> Result<Vec<Organization>, StoreError> {
        let sql = "SELECT * FROM organizations WHERE tenant = $1 AND id > $2 ORDER BY id LIMIT $3";
        self.page_of(sql, None, page, rows::organization).await
    }

    // ---- tickets ----

    async fn insert_ticket(
        &self,
        f: &TicketFields,
        first_comment: Option<&CommentFields>,
        key: Option<&str>,
    ) -> Result<Created<(Ticket, Option<Comment>)>, StoreError> {
        let mut tx = self.begin_write(Turn::Ordinary).await?;
        let now = to_text(Utc::now());
        let row = sqlx::query(
            "INSERT INTO tickets (subject, status, priority, type, requester_id, assignee, tags,
                                  custom_fields, idempotency_key, created_at, updated_at, tenant)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (idempotency_key) DO NOTHING RETURNING *",
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
        .bind(&*self.tenant)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            let row = holder_of(&mut tx, TICKET_BY_KEY, key, &self.tenant, "ticket").await?;
            let ticket = rows::ticket(&row)?;
            // The first comment, if this create asked for one.
            let comment = match first_comment {
                Some(_) => {
                    sqlx::query("SELECT * FROM comments WHERE ticket_id = $1 ORDER BY id LIMIT 1")
                        .bind(ticket.id)
                        .fetch_optional(&mut *tx)
                        .await?
                        .map(|r| rows::comment(&r))
                        .transpose()?
                }
                None => None,
            };
            tx.rollback().await?;
            return Ok(Created {
                record: (ticket, comment),
                new: false,
            });
        };
        let ticket = rows::ticket(&row)?;
        self.announce(
            &mut tx,
            Entity::Ticket,
            Action::Create,
            ticket_ids(&ticket),
            &ticket,
        )
        .await?;
        let comment = match first_comment {
            Some(c) => Some(rows::comment(
                &sqlx::query(
                    "INSERT INTO comments (ticket_id, body, public, created_at, tenant)
                     VALUES ($1, $2, $3, $4, $5) RETURNING *",
                )
                .bind(ticket.id)
                .bind(&c.body)
                .bind(c.public)
                .bind(&now)
                .bind(&*self.tenant)
                .fetch_one(&mut *tx)
                .await?,
            )?),
            None => None,
        };
        if let Some(c) = &comment {
            let ids = comment_ids(c, ticket.requester_id);
            self.announce(&mut tx, Entity::Comment, Action::Create, ids, c)
                .await?;
        }
        tx.commit().await?;
        Ok(Created {
            record: (ticket, comment),
            new: true,
        })
    }

    async fn ticket_by_key(&self, key: &str) -> Result<Option<Ticket>, StoreError> {
        sqlx::query(TICKET_BY_KEY)
            .bind(key)
            .bind(&*self.tenant)
            .fetch_optional(self.reader())
            .await?
            .map(|r| rows::ticket(&r))
            .transpose()
    }

    async fn ticket(&self, id: i64) -> Result<Option<Ticket>, StoreError> {
        sqlx::query("SELECT * FROM tickets WHERE id = $1 AND tenant = $2")
            .bind(id)
            .bind(&*self.tenant)
            .fetch_optional(self.reader())
            .await?
            .map(|r| rows::ticket(&r))
            .transpose()
    }

    async fn update_ticket(&self, id: i64, f: &TicketFields) -> Result<Option<Ticket>, StoreError> {
        let mut tx = self.begin_write(Turn::Ordinary).await?;
        let row = sqlx::query(
            "UPDATE tickets SET subject = $1, status = $2, priority = $3, type = $4,
                    requester_id = $5, assignee = $6, tags = $7, custom_fields = $8,
                    updated_at = $9
             WHERE id = $10 AND tenant = $11 RETURNING *",
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
        .bind(&*self.tenant)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        let ticket = rows::ticket(&row)?;
        self.announce(
            &mut tx,
            Entity::Ticket,
            Action::Edit,
            ticket_ids(&ticket),
            &ticket,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(ticket))
    }

    async fn delete_ticket(&self, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin_write(Turn::Ordinary).await?;
        self.forget_ticket(&mut tx, id).await?;
        let row = sqlx::query("DELETE FROM tickets WHERE id = $1 AND tenant = $2 RETURNING *")
            .bind(id)
            .bind(&*self.tenant)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(false);
        };
        let before = rows::ticket(&row)?;
        self.announce(
            &mut tx,
            Entity::Ticket,
            Action::Delete,
            ticket_ids(&before),
            &before,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn open_tickets_of(&self, requester: i64, limit: u32) -> Result<Vec<Ticket>, StoreError> {
        sqlx::query(open_tickets_of!())
            .bind(requester)
            .bind(i64::from(limit))
            .bind(&*self.tenant)
            .fetch_all(self.reader())
            .await?
            .iter()
            .map(rows::ticket)
            .collect()
    }

    async fn card_of(&self, contact_id: i64, limit: u32) -> Result<CardRows, StoreError> {
        // One row per ticket, each with the organization's name, or one row
        // with the ticket's columns NULL when the contact has none (the name
        // still comes); no row for a contact that is not the tenant's. The
        // limit is the inner query's, so that it counts tickets only (a limit
        // of 0 still gives the name); the order is given again outside, as a
        // join keeps none.
        let found = sqlx::query(concat!(
            "SELECT o.name AS organization_name, t.* FROM contacts c
               LEFT JOIN organizations o ON o.id = c.organization_id AND o.tenant = $3
               LEFT JOIN (",
            open_tickets_of!(),
            ") t ON t.requester_id = c.id
             WHERE c.id = $1 AND c.tenant = $3
             ORDER BY t.updated_at DESC, t.id DESC"
        ))
        .bind(contact_id)
        .bind(i64::from(limit))
        .bind(&*self.tenant)
        .fetch_all(self.reader())
        .await?;
        let mut card = CardRows::default();
        for row in &found {
            card.organization = row.opt_text("organization_name")?;
            if row.opt_int("id")?.is_some() {
                card.tickets.push(rows::ticket(row)?);
            }
        }
        Ok(card)
    }

    async fn open_tickets_with_field(
        &self,
        field: &str,
        value: &str,
        limit: u32,
    ) -> Result<Vec<Ticket>, StoreError> {
        sqlx::query(concat!(
            "SELECT * FROM tickets WHERE tenant = $1 AND status <> 'closed' AND ",
            json_field!("custom_fields", "$2"),
            " = $3 ORDER BY updated_at DESC, id DESC LIMIT $4"
        ))
        .bind(&*self.tenant)
        .bind(field)
        .bind(value)
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(rows::ticket)
        .collect()
    }

    async fn tickets(&self, requester: Option<i64>, page: Page) -> Result<Vec<Ticket>, StoreError> {
        let sql = match requester {
            None => "SELECT * FROM tickets WHERE tenant = $1 AND id > $2 ORDER BY id LIMIT $3",
            Some(_) => {
                "SELECT * FROM tickets WHERE tenant = $1 AND id > $2 AND requester_id = $4
                 ORDER BY id LIMIT $3"
            }
        };
        self.page_of(sql, requester, page, rows::ticket).await
    }

    // ---- comments ----

    async fn insert_comment(
        &self,
        ticket_id: i64,
        f: &CommentFields,
        key: Option<&str>,
    ) -> Result<Option<Created<Comment>>, StoreError> {
        // A key already used returns its comment without touching the ticket;
        // checked first so that a replay writes nothing.
        if let Some(key) = key
            && let Some(row) =
                sqlx::query("SELECT * FROM comments WHERE idempotency_key = $1 AND tenant = $2")
                    .bind(key)
                    .bind(&*self.tenant)
                    .fetch_optional(self.reader())
                    .await?
        {
            return Ok(Some(Created {
                record: rows::comment(&row)?,
                new: false,
            }));
        }
        let mut tx = self.begin_write(Turn::Ordinary).await?;
        let now = to_text(Utc::now());
        // With PostgreSQL, locks the ticket row until commit, so that it cannot be
        // deleted under the new comment and concurrent comments on it touch it in
        // turn.
        let touched: Option<Option<i64>> = sqlx::query_scalar(
            "UPDATE tickets SET updated_at = $1 WHERE id = $2 AND tenant = $3
             RETURNING requester_id",
        )
        .bind(&now)
        .bind(ticket_id)
        .bind(&*self.tenant)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(requester) = touched else {
            tx.rollback().await?;
            return Ok(None);
        };
        let row = sqlx::query(
            "INSERT INTO comments (ticket_id, body, public, idempotency_key, created_at, tenant)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (idempotency_key) DO NOTHING RETURNING *",
        )
        .bind(ticket_id)
        .bind(&f.body)
        .bind(f.public)
        .bind(key)
        .bind(&now)
        .bind(&*self.tenant)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            // Another transaction used the key since the check: its comment, and
            // this transaction's touch of the ticket is rolled back.
            let sql = "SELECT * FROM comments WHERE idempotency_key = $1 AND tenant = $2";
            let row = holder_of(&mut tx, sql, key, &self.tenant, "comment").await?;
            tx.rollback().await?;
            return Ok(Some(Created {
                record: rows::comment(&row)?,
                new: false,
            }));
        };
        let record = rows::comment(&row)?;
        let ids = comment_ids(&record, requester);
        self.announce(&mut tx, Entity::Comment, Action::Create, ids, &record)
            .await?;
        tx.commit().await?;
        Ok(Some(Created { record, new: true }))
    }

    async fn comment(&self, ticket_id: i64, id: i64) -> Result<Option<Comment>, StoreError> {
        sqlx::query("SELECT * FROM comments WHERE ticket_id = $1 AND id = $2 AND tenant = $3")
            .bind(ticket_id)
            .bind(id)
            .bind(&*self.tenant)
            .fetch_optional(self.reader())
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
            "UPDATE comments SET body = $1, public = $2
             WHERE ticket_id = $3 AND id = $4 AND tenant = $5 RETURNING *",
        )
        .bind(&f.body)
        .bind(f.public)
        .bind(ticket_id)
        .bind(id)
        .bind(&*self.tenant)
        .fetch_optional(self.writer())
        .await?
        .map(|r| rows::comment(&r))
        .transpose()
    }

    async fn delete_comment(&self, ticket_id: i64, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin_write(Turn::Ordinary).await?;
        let row = sqlx::query(
            "DELETE FROM comments WHERE ticket_id = $1 AND id = $2 AND tenant = $3 RETURNING *",
        )
        .bind(ticket_id)
        .bind(id)
        .bind(&*self.tenant)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(false);
        };
        let before = rows::comment(&row)?;
        let ids = comment_ids(&before, requester_of(&mut tx, ticket_id).await?);
        self.announce(&mut tx, Entity::Comment, Action::Delete, ids, &before)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn comments(&self, ticket_id: i64, page: Page) -> Result<Vec<Comment>, StoreError> {
        let sql = "SELECT * FROM comments WHERE tenant = $1 AND id > $2 AND ticket_id = $4
                   ORDER BY id LIMIT $3";
        self.page_of(sql, Some(ticket_id), page, rows::comment)
            .await
    }

    // ---- tasks ----

    async fn insert_task(&self, f: &TaskFields) -> Result<Task, StoreError> {
        let now = to_text(Utc::now());
        let mut tx = self.begin_write(Turn::Ordinary).await?;
        let row = sqlx::query(
            "INSERT INTO tasks (subject, status, due_at, contact_id, ticket_id, assignee,
                                created_at, updated_at, tenant)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *",
        )
        .bind(&f.subject)
        .bind(&f.status)
        .bind(f.due_at.map(to_text))
        .bind(f.contact_id)
        .bind(f.ticket_id)
        .bind(&f.assignee)
        .bind(&now)
        .bind(&now)
        .bind(&*self.tenant)
        .fetch_one(&mut *tx)
        .await?;
        let task = rows::task(&row)?;
        self.announce(
            &mut tx,
            Entity::Task,
            Action::Create,
            task_ids(&task),
            &task,
        )
        .await?;
        tx.commit().await?;
        Ok(task)
    }

    async fn task(&self, id: i64) -> Result<Option<Task>, StoreError> {
        sqlx::query("SELECT * FROM tasks WHERE id = $1 AND tenant = $2")
            .bind(id)
            .bind(&*self.tenant)
            .fetch_optional(self.reader())
            .await?
            .map(|r| rows::task(&r))
            .transpose()
    }

    async fn update_task(&self, id: i64, f: &TaskFields) -> Result<Option<Task>, StoreError> {
        let mut tx = self.begin_write(Turn::Ordinary).await?;
        let row = sqlx::query(
            "UPDATE tasks SET subject = $1, status = $2, due_at = $3, contact_id = $4,
                    ticket_id = $5, assignee = $6, updated_at = $7
             WHERE id = $8 AND tenant = $9 RETURNING *",
        )
        .bind(&f.subject)
        .bind(&f.status)
        .bind(f.due_at.map(to_text))
        .bind(f.contact_id)
        .bind(f.ticket_id)
        .bind(&f.assignee)
        .bind(to_text(Utc::now()))
        .bind(id)
        .bind(&*self.tenant)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        let task = rows::task(&row)?;
        self.announce(&mut tx, Entity::Task, Action::Edit, task_ids(&task), &task)
            .await?;
        tx.commit().await?;
        Ok(Some(task))
    }

    async fn delete_task(&self, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin_write(Turn::Ordinary).await?;
        let row = sqlx::query("DELETE FROM tasks WHERE id = $1 AND tenant = $2 RETURNING *")
            .bind(id)
            .bind(&*self.tenant)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(false);
        };
        let before = rows::task(&row)?;
        self.announce(
            &mut tx,
            Entity::Task,
            Action::Delete,
            task_ids(&before),
            &before,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn tasks(&self, page: Page) -> Result<Vec<Task>, StoreError> {
        let sql = "SELECT * FROM tasks WHERE tenant = $1 AND id > $2 ORDER BY id LIMIT $3";
        self.page_of(sql, None, page, rows::task).await
    }
}
