//! Rows to records, once for both databases. Both stores keep the same columns
//! (timestamps as RFC 3339 text, JSON as text), so a record is read the same way
//! from a SQLite row and a PostgreSQL row.

use chrono::{DateTime, Utc};
use deskbridge_core::queue::ActiveJob;
use deskbridge_core::{JobStatus, Step};
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use crate::crm::{Comment, Contact, Fields, Organization, Task, Ticket};
use crate::time::{from_ms, from_text};
use crate::{InstanceRecord, StepRecord, StoreError};

/// The column reads the record mappers need.
pub(crate) trait DbRow {
    fn text(&self, col: &str) -> Result<String, StoreError>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, col: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError>;
    fn flag(&self, col: &str) -> Result<bool, StoreError>;

    fn time(&self, col: &str) -> Result<DateTime<Utc>, StoreError> {
        from_text(&self.text(col)?)
    }

    fn opt_time(&self, col: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.opt_text(col)?.as_deref().map(from_text).transpose()
    }

    fn json<T: serde::de::DeserializeOwned>(&self, col: &str) -> Result<T, StoreError> {
        Ok(serde_json::from_str(&self.text(col)?)?)
    }
}

macro_rules! db_row {
    ($row:ty) => {
        impl DbRow for $row {
            fn text(&self, col: &str) -> Result<String, StoreError> {
                Ok(self.try_get(col)?)
            }
            fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
                Ok(self.try_get(col)?)
            }
            fn int(&self, col: &str) -> Result<i64, StoreError> {
                Ok(self.try_get(col)?)
            }
            fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
                Ok(self.try_get(col)?)
            }
            fn flag(&self, col: &str) -> Result<bool, StoreError> {
                Ok(self.try_get(col)?)
            }
        }
    };
}

db_row!(SqliteRow);
db_row!(PgRow);

pub(crate) fn contact(row: &impl DbRow, phones: Vec<String>) -> Result<Contact, StoreError> {
    Ok(Contact {
        id: row.int("id")?,
        name: row.text("name")?,
        email: row.opt_text("email")?,
        phones,
        organization_id: row.opt_int("organization_id")?,
        custom_fields: row.json::<Fields>("custom_fields")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

pub(crate) fn organization(row: &impl DbRow) -> Result<Organization, StoreError> {
    Ok(Organization {
        id: row.int("id")?,
        name: row.text("name")?,
        custom_fields: row.json("custom_fields")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

pub(crate) fn ticket(row: &impl DbRow) -> Result<Ticket, StoreError> {
    Ok(Ticket {
        id: row.int("id")?,
        subject: row.text("subject")?,
        status: row.text("status")?,
        priority: row.text("priority")?,
        ticket_type: row.text("type")?,
        requester_id: row.opt_int("requester_id")?,
        assignee: row.opt_text("assignee")?,
        tags: row.json("tags")?,
        custom_fields: row.json("custom_fields")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

pub(crate) fn comment(row: &impl DbRow) -> Result<Comment, StoreError> {
    Ok(Comment {
        id: row.int("id")?,
        ticket_id: row.int("ticket_id")?,
        body: row.text("body")?,
        public: row.flag("public")?,
        created_at: row.time("created_at")?,
    })
}

pub(crate) fn task(row: &impl DbRow) -> Result<Task, StoreError> {
    Ok(Task {
        id: row.int("id")?,
        subject: row.text("subject")?,
        status: row.text("status")?,
        due_at: row.opt_time("due_at")?,
        contact_id: row.opt_int("contact_id")?,
        ticket_id: row.opt_int("ticket_id")?,
        assignee: row.opt_text("assignee")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// A job row as the calls API shows it.
pub(crate) fn step(row: &impl DbRow) -> Result<StepRecord, StoreError> {
    Ok(StepRecord {
        step: step_of(row)?,
        status: status_of(row)?,
        attempts: row.int("attempts")?,
        last_error: row.opt_text("last_error")?,
        outcome: row
            .opt_text("outcome")?
            .map(|o| serde_json::from_str(&o))
            .transpose()?,
    })
}

/// An instance with the count of steps it holds (`running_steps`).
pub(crate) fn instance(row: &impl DbRow) -> Result<InstanceRecord, StoreError> {
    Ok(InstanceRecord {
        id: row.text("id")?,
        hostname: row.text("hostname")?,
        pid: row.int("pid")?,
        version: row.text("version")?,
        started_at: row.time("started_at")?,
        heartbeat_at: from_ms(row.int("heartbeat_ms")?).unwrap_or_default(),
        running_steps: row.int("running_steps")?,
    })
}

/// The job a call already has queued, running or failed.
pub(crate) fn active_job(row: &impl DbRow) -> Result<ActiveJob, StoreError> {
    Ok(ActiveJob {
        id: row.int("id")?,
        step: step_of(row)?,
        status: status_of(row)?,
        run_after: row.int("run_after")?,
    })
}

fn step_of(row: &impl DbRow) -> Result<Step, StoreError> {
    let name = row.text("step")?;
    Step::parse(&name).ok_or_else(|| StoreError::Corrupt(format!("unknown step {name:?}")))
}

fn status_of(row: &impl DbRow) -> Result<JobStatus, StoreError> {
    let name = row.text("status")?;
    JobStatus::parse(&name)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown job status {name:?}")))
}
