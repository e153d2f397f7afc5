//! CRM triggers, decided: which endpoints hear of a change to a contact, ticket,
//! comment, task or callback, what each one receives, and what becomes of a
//! delivery that failed. Contact-center CRMs notify third-party processes this way; receivers
//! were written against two shapes, so both are kept exactly:
//!
//! - [`Format::Query`]: the classic contact-center GET, the ids in a query string
//!   (`?AccountID=aaa&CaseID=ccc`), see [`query`];
//! - [`Format::Json`]: a POST of `{"type", "timestamp", "data"}` signed per the
//!   Standard Webhooks specification, see [`signature`].
//!
//! No I/O here, like the rest of the core: the store writes what [`notifications`]
//! returns into its outbox in the same transaction as the change (so there is no
//! change without its notification, and none for a change that rolled back); a
//! delivery worker sends each one, asks [`address`] whether it may reach the
//! address it resolved, and asks [`retry`] what to do with the answer.

pub mod address;
pub mod callback;
pub mod query;
pub mod retry;
pub mod shown;
pub mod signature;
pub mod step;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

pub use address::may_reach;
pub use callback::{CallbackShown, LastCall, callback_action, callback_change};
pub use retry::{Attempt, RetrySchedule, Verdict};
pub use shown::shown_url;
pub use signature::{Secret, SecretError};
pub use step::step_changes;

/// A record of the CRM whose changes can be announced.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Entity {
    /// A customer (the contact-center's "account").
    Contact,
    /// A case.
    Ticket,
    /// A follow-up on a case.
    Comment,
    Task,
    /// A missed call's callback (the callback loop's record, kept whatever the
    /// group's backend): created when a missed call opens one; edited when it
    /// folds another missed call, counts an unanswered call out, is claimed or
    /// released, or closes (reached, unreached, or by an agent). Never deleted.
    Callback,
}

impl Entity {
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Contact => "contact",
            Entity::Ticket => "ticket",
            Entity::Comment => "comment",
            Entity::Task => "task",
            Entity::Callback => "callback",
        }
    }

    /// Comments are written once: they are created and deleted, never edited.
    /// Callbacks are kept once closed (the metrics and the closed list read
    /// them): created and edited, never deleted.
    pub fn has(self, action: Action) -> bool {
        match self {
            Entity::Comment => action != Action::Edit,
            Entity::Callback => action != Action::Delete,
            Entity::Contact | Entity::Ticket | Entity::Task => true,
        }
    }
}

/// What happened to the record.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Edit,
    Delete,
}

impl Action {
    /// The past tense used in a JSON notification's `type` (`ticket.created`).
    pub fn past(self) -> &'static str {
        match self {
            Action::Create => "created",
            Action::Edit => "updated",
            Action::Delete => "deleted",
        }
    }
}

/// How an endpoint wants to hear of changes.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A GET with the ids in the query string.
    #[default]
    Query,
    /// A signed JSON POST (Standard Webhooks).
    Json,
}

/// One configured trigger: changes of `entity` by `action` go to `url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    pub entity: Entity,
    pub action: Action,
    /// An `http` or `https` URL (checked when the configuration is read).
    pub url: String,
    pub format: Format,
}

/// The ids a change is known by, as the classic query string names them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ids {
    /// The contact: the record itself, a ticket's requester, a task's contact.
    pub account: Option<String>,
    /// The ticket: the record itself, or the ticket a comment or task is on.
    pub case: Option<String>,
    /// The comment.
    pub followup: Option<String>,
    /// The task.
    pub task: Option<String>,
    /// The callback (its store id).
    pub callback: Option<String>,
}

/// A change to one CRM record, as whoever made it (the CRM API, an agent, a
/// call or a chat) reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub entity: Entity,
    pub action: Action,
    pub ids: Ids,
    /// The record as the API shows it (after the change; before it, for a delete).
    pub data: serde_json::Value,
    pub at: DateTime<Utc>,
}

impl Change {
    /// What orders the record's notifications: `ticket:42`. A record whose own
    /// id is not known (a comment whose write answer was lost) is ordered with
    /// its ticket, else its contact, never in one line with every other
    /// record without an id.
    pub fn order_key(&self) -> String {
        let (entity, id) = match (self.record_id(), &self.ids) {
            (Some(id), _) => (self.entity.as_str(), id),
            (
                None,
                Ids {
                    case: Some(case), ..
                },
            ) => ("ticket", case.as_str()),
            (
                None,
                Ids {
                    account: Some(account),
                    ..
                },
            ) => ("contact", account.as_str()),
            (None, _) => (self.entity.as_str(), ""),
        };
        format!("{entity}:{id}")
    }

    /// The record's own id: what orders its notifications.
    pub fn record_id(&self) -> Option<&str> {
        match self.entity {
            Entity::Contact => self.ids.account.as_deref(),
            Entity::Ticket => self.ids.case.as_deref(),
            Entity::Comment => self.ids.followup.as_deref(),
            Entity::Task => self.ids.task.as_deref(),
            Entity::Callback => self.ids.callback.as_deref(),
        }
    }
}

/// What to send, built once when the change is stored and sent unchanged on
/// every attempt (a JSON body keeps its bytes, so its `webhook-id` always names
/// the same message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "UPPERCASE")]
pub enum Request {
    Get { url: String },
    Post { url: String, body: String },
}

impl Request {
    pub fn url(&self) -> &str {
        match self {
            Request::Get { url } | Request::Post { url, .. } => url,
        }
    }
}

/// One endpoint's notification of one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The configured URL: what deliveries are counted and ordered by.
    pub endpoint: String,
    /// `ticket:42`: one record's notifications to one endpoint are delivered in
    /// the order of its changes.
    pub order_key: String,
    pub request: Request,
}

/// The notifications a change causes: one per trigger of its entity and action,
/// in the order the triggers are configured.
pub fn notifications(triggers: &[Trigger], change: &Change) -> Vec<Notification> {
    let order_key = change.order_key();
    triggers
        .iter()
        .filter(|t| t.entity == change.entity && t.action == change.action)
        .map(|t| {
            let request = match t.format {
                Format::Query => Request::Get {
                    url: query::url(&t.url, change.entity, &change.ids),
                },
                Format::Json => Request::Post {
                    url: t.url.clone(),
                    body: json_body(change),
                },
            };
            Notification {
                endpoint: t.url.clone(),
                order_key: order_key.clone(),
                request,
            }
        })
        .collect()
}

/// `{"type": "ticket.created", "timestamp": "...", "data": {...}}`.
fn json_body(change: &Change) -> String {
    serde_json::json!({
        "type": format!("{}.{}", change.entity.as_str(), change.action.past()),
        "timestamp": change.at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": change.data,
    })
    .to_string()
}

/// Why a trigger's configuration cannot be used; each says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TriggerError {
    #[error("{url:?} is not a URL: {reason}")]
    NotUrl { url: String, reason: String },
    #[error("{url:?} must start with http:// or https://")]
    NotHttp { url: String },
    #[error("comments are created and deleted, never edited: use action \"create\" or \"delete\"")]
    CommentEdit,
    #[error(
        "callbacks are kept once closed, never deleted: use action \"edit\" to hear when one closes (its \"closed\" says how), or \"create\" for new ones"
    )]
    CallbackDelete,
    #[error("a \"json\" trigger needs a secret (\"whsec_\" followed by base64)")]
    MissingSecret,
    #[error("a \"query\" trigger is not signed: remove its secret or use format \"json\"")]
    UnusedSecret,
}

impl Trigger {
    /// Checks a trigger as the configuration gives it; `secrets` are the
    /// endpoint's signing secrets (two while one is being replaced).
    pub fn check(&self, secrets: &[Secret]) -> Result<(), TriggerError> {
        let parsed = url::Url::parse(&self.url).map_err(|e| TriggerError::NotUrl {
            url: self.url.clone(),
            reason: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(TriggerError::NotHttp {
                url: self.url.clone(),
            });
        }
        if !self.entity.has(self.action) {
            return Err(match self.entity {
                Entity::Callback => TriggerError::CallbackDelete,
                _ => TriggerError::CommentEdit,
            });
        }
        match (self.format, secrets.is_empty()) {
            (Format::Json, true) => Err(TriggerError::MissingSecret),
            (Format::Query, false) => Err(TriggerError::UnusedSecret),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
