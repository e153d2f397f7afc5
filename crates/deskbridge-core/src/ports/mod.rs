//! The ports: what deskbridge needs from the outside world, as traits. The built-in
//! CRM and Zendesk implement [`Helpdesk`]; tests can swap in their own.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::pop::{PopDelivery, PopTarget};
use crate::ticket::{Priority, TicketStatus, TicketType};

/// A contact as the decision functions need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactSummary {
    pub id: String,
    pub name: String,
    pub phones: Vec<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewContact {
    pub name: String,
    /// E.164. A caller always has one; a chat's visitor may not.
    pub phone: Option<String>,
    /// A chat's visitor's email (lowercased).
    pub email: Option<String>,
    pub organization_id: Option<String>,
}

/// A ticket as the decision functions need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketSummary {
    pub id: String,
    /// `new|open|pending|solved|closed`.
    pub status: String,
    pub requester_id: Option<String>,
    /// The agent it is assigned to (their email), when the helpdesk says.
    pub assignee: Option<String>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewComment {
    pub body: String,
    pub public: bool,
    /// Assign the ticket to this agent (email) in the same update: the call was
    /// transferred after the ticket was made.
    pub reassign: Option<String>,
    /// When the ticket is solved, set it open in the same update: a call added to
    /// a solved ticket (the reuse window, the IVR's ticket) would otherwise stay
    /// where no agent looks. The group's `reopen_solved`.
    pub reopen_solved: bool,
    /// The call as a voice comment besides the text, where the helpdesk shows
    /// one (Zendesk's `voice_comment` on a ticket update).
    pub voice: Option<VoiceComment>,
    /// Record the call in the helpdesk's own call log, with the comment made
    /// from that record, where the helpdesk keeps one (Zendesk's Talk Partner
    /// Edition Calls API). A helpdesk that keeps none, or refuses, writes the
    /// text comment (and `voice`) instead, and says why in
    /// [`CommentAdded::call_record`].
    /// Boxed: most comments carry none.
    pub call_record: Option<Box<CallRecord>>,
    /// Tags added to the ticket in the same update (a wrap-up's code), beside
    /// those it has.
    pub tags: Vec<String>,
    /// Ticket field id → value, set in the same update (a wrap-up's field).
    pub custom_fields: Vec<(String, String)>,
}

impl NewComment {
    /// A private comment that changes nothing else on the ticket.
    pub fn private(body: String) -> NewComment {
        NewComment {
            body,
            public: false,
            reassign: None,
            reopen_solved: false,
            voice: None,
            call_record: None,
            tags: Vec::new(),
            custom_fields: Vec::new(),
        }
    }
}

/// A call as a helpdesk's call log keeps it: one record per call, on its
/// ticket, shown there by the helpdesk as a call (numbers, times, agent,
/// outcome, recording) instead of a text comment.
///
/// Why a record of its own and not a richer [`VoiceComment`]: the record is the
/// call (the helpdesk's reports count it), the comment only shows it; and it
/// exists for calls without a recording too (missed, abandoned), which a voice
/// comment cannot show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    /// The telephony app the records belong to (the group's `zendesk_app_id`).
    pub app_id: u64,
    pub inbound: bool,
    /// E.164 or as given.
    pub from: String,
    pub to: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// The agent who answered (directory email).
    pub answered_by: Option<String>,
    /// How the call ended.
    pub outcome: crate::event::Outcome,
    pub voicemail: bool,
    /// Talk time in seconds.
    pub duration_s: u64,
    pub recording_url: Option<String>,
    pub transcript: Option<String>,
    /// The comment's title on the ticket (e.g. "Inbound call from +1415...").
    pub title: String,
}

/// What became of a [`NewComment::call_record`]: kept on the step's outcome, so
/// `GET /api/v1/calls/{id}` shows whether the call is in the helpdesk's call log
/// and, if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CallRecordStatus {
    /// The record exists, with the helpdesk's id.
    Recorded { id: String },
    /// The helpdesk refused it (no Talk Partner Edition, a wrong app id): the
    /// text comment was written instead.
    Refused { reason: String },
    /// Not asked for: the call's update also had to change the ticket (assign
    /// a transferred call's ticket, reopen a solved one), which a call record
    /// cannot; the text comment did both in one update.
    NotUsed { reason: String },
}

/// What a ticket is made for: a helpdesk that records where a ticket came
/// from (Freshdesk's `source`) says so.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TicketChannel {
    #[default]
    Call,
    Chat,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    /// A call's ticket, or a chat's.
    pub channel: TicketChannel,
    pub subject: String,
    pub requester_id: Option<String>,
    pub priority: Priority,
    pub ticket_type: TicketType,
    pub status: TicketStatus,
    pub tags: Vec<String>,
    pub ticket_form: Option<String>,
    /// The helpdesk group's id (`ticket_group`), when the group names one.
    pub group: Option<String>,
    /// The helpdesk product's id (`ticket_product`, Freshdesk).
    pub product: Option<String>,
    /// Ticket field id → value.
    pub custom_fields: Vec<(String, String)>,
    /// An agent's email; the helpdesk maps it to its own agent id.
    pub assignee: Option<String>,
    /// The first comment, when it is known at creation (one request instead of two).
    pub comment: Option<NewComment>,
    /// The call as a voice comment (a recording player with the call's details)
    /// where the helpdesk shows one, besides the text comment.
    pub voice: Option<VoiceComment>,
    /// Open the new ticket on this agent's screen (their directory email) in the
    /// same request, where the helpdesk can (Zendesk's Talk Partner Edition
    /// `display_to_agent`): a popped new ticket costs one request, not two.
    pub display_to: Option<String>,
}

/// A call as the helpdesk's own telephony shows it: numbers, times, the
/// recording (which a voice comment needs) and the transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceComment {
    pub inbound: bool,
    pub voicemail: bool,
    /// E.164 or as given.
    pub from: String,
    pub to: String,
    pub recording_url: String,
    pub started_at: DateTime<Utc>,
    pub duration_s: u64,
    /// The agent who answered (directory email).
    pub answered_by: Option<String>,
    pub transcript: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketCreated {
    pub id: String,
    pub comment_id: Option<String>,
    /// How showing it to [`NewTicket::display_to`] went; `None` when not asked or
    /// the helpdesk has no screen to show it on.
    pub displayed: Option<PopDelivery>,
    /// Set when the ticket was not made now but found, made by an earlier try
    /// of the step (a retry after a crash): the text its first comment got
    /// then, which may lack what the call learned since (a late recording).
    pub earlier_text: Option<String>,
}

/// Makes a create safe to retry: the same key returns the record made the first
/// time. Derived from (call, step), so a step re-run after a crash never makes a
/// second record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey {
    pub key: String,
    /// False when the step ran before (it may have written before it crashed): a
    /// helpdesk without idempotent updates checks before writing again. True
    /// again once the step has asked and heard that nothing was written
    /// ([`IdempotencyKey::nothing_made_before`]).
    pub first_try: bool,
}

impl IdempotencyKey {
    pub fn for_step(group: &str, call_id: &str, step: &str) -> IdempotencyKey {
        IdempotencyKey {
            key: format!("{group}/{call_id}/{step}"),
            first_try: true,
        }
    }

    pub fn retried(mut self, retried: bool) -> IdempotencyKey {
        self.first_try = !retried;
        self
    }

    /// The key of a write the helpdesk said, a moment ago in this run, no
    /// earlier try made: it is written as on a first try, without asking again.
    /// Each lookup is a request that may fail; asking twice per retry made a
    /// retried create twice as likely to fail as the lookup alone.
    pub fn nothing_made_before(mut self) -> IdempotencyKey {
        self.first_try = true;
        self
    }

    pub fn as_str(&self) -> &str {
        &self.key
    }
}

/// A comment written. `ticket_id` differs from the ticket asked for when that one
/// was closed and the comment went into a follow-up ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentAdded {
    pub id: String,
    pub ticket_id: String,
    /// What became of the comment's call record, when one was asked for.
    pub call_record: Option<CallRecordStatus>,
    /// Set when the comment was not written now but found, written by an
    /// earlier try of the step: its text then, which may lack what the call
    /// learned since (a late recording).
    pub earlier_text: Option<String>,
}

/// How a helpdesk call failed, which tells the job runner whether to try again,
/// and when. The job runner's retry of the step is the only retry: helpdesk
/// adapters try each request once and sort the failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HelpdeskError {
    /// Worth retrying (timeouts, 5xx, a locked database).
    #[error("temporary helpdesk error: {0}")]
    Transient(String),
    /// Worth retrying, but not before `after`: the helpdesk said when (a 429, or a
    /// 503 with `Retry-After`).
    #[error("temporary helpdesk error (retry after {after:?}): {reason}")]
    RetryAfter { reason: String, after: Duration },
    /// Not sent: a limit counted before sending (a plan's per-endpoint limit,
    /// or a hold the helpdesk's 429 put on an endpoint or a ticket) has no
    /// room for `after`. Nothing was tried, so the step's attempt is not spent:
    /// a busy minute delays a call, it does not use up its retries.
    #[error("held back for {after:?}: {reason}")]
    HeldBack { reason: String, after: Duration },
    /// Retrying cannot help (validation, a missing record, bad credentials).
    #[error("{0}")]
    Permanent(String),
}

impl HelpdeskError {
    /// A helpdesk client's failure as the port reports it, sorted by the
    /// client: a transient one with the wait the helpdesk named, if any.
    pub fn sorted(transient: bool, retry_after: Option<Duration>, reason: String) -> HelpdeskError {
        match (transient, retry_after) {
            (true, Some(after)) => HelpdeskError::RetryAfter { reason, after },
            (true, None) => HelpdeskError::Transient(reason),
            (false, _) => HelpdeskError::Permanent(reason),
        }
    }

    /// A request a helpdesk client held back unsent, `after` being how long
    /// until its limit has room.
    pub fn held_back(after: Duration, reason: String) -> HelpdeskError {
        HelpdeskError::HeldBack { reason, after }
    }

    /// Trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        !matches!(self, HelpdeskError::Permanent(_))
    }

    /// The earliest time to try again that the helpdesk named (or, held
    /// back, that its limit has room), if known.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            HelpdeskError::RetryAfter { after, .. } | HelpdeskError::HeldBack { after, .. } => {
                Some(*after)
            }
            _ => None,
        }
    }

    /// What the step's record says of the failure.
    pub fn reason(self) -> String {
        match self {
            HelpdeskError::Transient(r) | HelpdeskError::Permanent(r) => r,
            HelpdeskError::RetryAfter { reason, .. } => reason,
            HelpdeskError::HeldBack { reason, after } => {
                format!("held back {}s: {reason}", after.as_secs().max(1))
            }
        }
    }
}

/// The helpdesk behind a connector group.
#[async_trait]
pub trait Helpdesk: Send + Sync {
    /// Contacts whose phones include `e164`, newest first.
    async fn find_contacts_by_phone(
        &self,
        e164: &str,
    ) -> Result<Vec<ContactSummary>, HelpdeskError>;

    async fn get_contact(&self, id: &str) -> Result<Option<ContactSummary>, HelpdeskError>;

    /// Contacts with this email (a chat's visitor), newest first. Emails are
    /// compared without case.
    async fn find_contacts_by_email(
        &self,
        email: &str,
    ) -> Result<Vec<ContactSummary>, HelpdeskError>;

    /// Creates an organization; returns its id.
    async fn create_organization(
        &self,
        name: &str,
        key: &IdempotencyKey,
    ) -> Result<String, HelpdeskError>;

    async fn get_ticket(&self, id: &str) -> Result<Option<TicketSummary>, HelpdeskError>;

    /// The contact's tickets that are not closed, most recently updated first.
    async fn caller_tickets(&self, contact_id: &str) -> Result<Vec<TicketSummary>, HelpdeskError>;

    /// The id of the ticket a create with `key` made, if one did. Asked by a
    /// retried `OpenTicket` before it chooses: its first try may have made the
    /// ticket and stopped before recording it, and a list of the caller's tickets
    /// need not show a ticket made a moment ago (another instance's cache, a
    /// search index behind), so the retry could write the call a second time
    /// onto an older ticket. Must answer from the helpdesk's own record of the
    /// key, never from a cache.
    async fn ticket_made_by(&self, key: &IdempotencyKey) -> Result<Option<String>, HelpdeskError>;

    async fn create_contact(
        &self,
        contact: &NewContact,
        key: &IdempotencyKey,
    ) -> Result<ContactSummary, HelpdeskError>;

    async fn create_ticket(
        &self,
        ticket: &NewTicket,
        key: &IdempotencyKey,
    ) -> Result<TicketCreated, HelpdeskError>;

    /// Adds a comment; a closed ticket gets a follow-up ticket carrying it.
    async fn add_comment(
        &self,
        ticket_id: &str,
        comment: &NewComment,
        key: &IdempotencyKey,
    ) -> Result<CommentAdded, HelpdeskError>;

    /// Adds a phone number (E.164) to a contact, unless it has it already (agent
    /// mode: "this caller is contact Y, add the number").
    async fn add_contact_phone(&self, contact_id: &str, e164: &str) -> Result<(), HelpdeskError>;

    /// Sets the recording of a call record the helpdesk keeps (made by the
    /// call's comment, [`NewComment::call_record`]): a recording that arrived
    /// after the record. A helpdesk without call records never has one to
    /// update.
    async fn update_call_record(
        &self,
        record_id: &str,
        recording_url: &str,
    ) -> Result<(), HelpdeskError> {
        let _ = recording_url;
        Err(HelpdeskError::Permanent(format!(
            "this helpdesk keeps no call records (asked to update {record_id})"
        )))
    }

    /// Contacts whose name, email or phone matches `query`, at most `limit` (the
    /// agent page's contact search).
    async fn search_contacts(
        &self,
        query: &str,
        limit: usize,
    ) -> Result<Vec<ContactSummary>, HelpdeskError>;
    /// Tickets whose custom field `field` holds `value` (the screen pop's
    /// `pop_ticket_field`), not closed, most recently updated first.
    async fn tickets_with_field(
        &self,
        field: &str,
        value: &str,
    ) -> Result<Vec<TicketSummary>, HelpdeskError>;

    /// Opens the record on the agent's screen in the helpdesk's own agent UI, if
    /// it has one (`None`: it has none; deskbridge's agent page shows every pop
    /// from the call's record). A refusal (unknown agent, not signed in) is a
    /// delivery status, not an error: it is never retried.
    async fn display(
        &self,
        _agent_email: &str,
        _target: &PopTarget,
    ) -> Result<Option<PopDelivery>, HelpdeskError> {
        Ok(None)
    }
}

#[cfg(any(test, feature = "fake"))]
pub mod fake;
