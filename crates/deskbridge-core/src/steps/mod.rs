//! What each step of a call does, as a state machine with no I/O.
//!
//! A worker running a step does not decide anything. It asks the step what it
//! needs ([`StepRun::poll`]), fetches that through a port (a helpdesk request, the
//! lock on a phone number), hands the answer back ([`StepRun::reply`]) and asks
//! again, until the step says it is done and what it learned ([`StepOutcome`]),
//! which the worker records. This is the shape of quinn-proto's and rustls's
//! cores: the protocol logic says what it needs, the caller does the I/O.
//!
//! Inside, a step is a pure function of the call, the group's rules and the
//! answers received so far ([`Answers`]): each poll derives the step from the
//! start and stops at the first answer it does not have yet. So a step's logic
//! reads top to bottom like the procedure it is, every branch is testable with
//! scripted answers, and nothing about "where it was" can go stale.

mod chat;
mod comment;
mod identify;
mod pop;
mod ticket;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};

use crate::decide::DirectoryAgent;
use crate::interaction::{Interaction, Step, StepOutcome};
use crate::phone::Region;
use crate::policy::Policy;
use crate::pop::{PopDelivery, PopTarget};
use crate::ports::{
    CommentAdded, ContactSummary, IdempotencyKey, NewComment, NewContact, NewTicket, TicketCreated,
    TicketSummary,
};
use crate::templates::{TemplateError, Templates};

/// What a step needs from the outside world next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Hold the lock on this number (E.164; for a chat's visitor with an email,
    /// `email:ADDRESS`) until the step ends: lookup and creation of a contact
    /// are serialized per number, across instances, so two calls from one new
    /// number make one contact. Answered by [`Reply::Locked`].
    LockPhone(String),
    GetContact(String),
    FindContactsByPhone(String),
    /// Contacts with this email (lowercased), newest first.
    FindContactsByEmail(String),
    CreateOrganization {
        name: String,
        key: IdempotencyKey,
    },
    CreateContact {
        contact: NewContact,
        key: IdempotencyKey,
    },
    GetTicket(String),
    /// The contact's tickets that are not closed.
    CallerTickets(String),
    /// The ticket an earlier try of this step made with this key, if any
    /// ([`crate::ports::Helpdesk::ticket_made_by`]). Answered by
    /// [`Reply::TicketMadeBy`].
    TicketMadeBy(IdempotencyKey),
    CreateTicket {
        ticket: Box<NewTicket>,
        key: IdempotencyKey,
    },
    AddComment {
        ticket_id: String,
        comment: NewComment,
        key: IdempotencyKey,
    },
    /// Agent mode: add the caller's number (E.164) to the contact the agent
    /// chose. Answered by [`Reply::PhoneAdded`].
    AddContactPhone {
        contact_id: String,
        phone: String,
    },
    /// Tickets whose custom field holds the value (not closed).
    TicketsWithField {
        field: String,
        value: String,
    },
    /// Open the record on the agent's screen in the helpdesk's agent UI.
    Display {
        agent: String,
        target: PopTarget,
    },
    /// A late recording onto the call's record in the helpdesk. Answered by
    /// [`Reply::CallRecordUpdated`].
    UpdateCallRecord {
        record_id: String,
        recording_url: String,
    },
}

impl Request {
    /// Whether the request changes something outside deskbridge (a contact, a
    /// ticket, an agent's screen). The worker starts such a request only while
    /// it surely holds the step's lease: one that another worker may already
    /// have taken over could make the same record twice.
    pub fn writes(&self) -> bool {
        match self {
            Request::CreateOrganization { .. }
            | Request::CreateContact { .. }
            | Request::CreateTicket { .. }
            | Request::AddComment { .. }
            | Request::AddContactPhone { .. }
            | Request::UpdateCallRecord { .. }
            | Request::Display { .. } => true,
            Request::LockPhone(_)
            | Request::GetContact(_)
            | Request::FindContactsByPhone(_)
            | Request::FindContactsByEmail(_)
            | Request::GetTicket(_)
            | Request::CallerTickets(_)
            | Request::TicketMadeBy(_)
            | Request::TicketsWithField { .. } => false,
        }
    }
}

/// The answer to a [`Request`], one variant per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Locked,
    Contact(Option<ContactSummary>),
    ContactsByPhone(Vec<ContactSummary>),
    ContactsByEmail(Vec<ContactSummary>),
    OrganizationCreated(String),
    ContactCreated(ContactSummary),
    Ticket(Option<TicketSummary>),
    CallerTickets(Vec<TicketSummary>),
    TicketMadeBy(Option<String>),
    TicketCreated(TicketCreated),
    CommentAdded(CommentAdded),
    PhoneAdded,
    TicketsWithField(Vec<TicketSummary>),
    Displayed(Option<PopDelivery>),
    CallRecordUpdated,
}

/// Where a step stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Fetch this and [`StepRun::reply`] with the answer.
    Need(Request),
    /// The step is over; record this on the call.
    Done(StepOutcome),
}

/// A step that cannot succeed, whatever is retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error("template {0}")]
    Template(#[from] TemplateError),
}

/// The answers a step has received so far, one slot per request kind.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    locked: bool,
    contact_by_id: Option<Option<ContactSummary>>,
    contacts_by_phone: Option<Vec<ContactSummary>>,
    contacts_by_email: Option<Vec<ContactSummary>>,
    organization: Option<String>,
    created_contact: Option<ContactSummary>,
    ivr_ticket: Option<Option<TicketSummary>>,
    caller_tickets: Option<Vec<TicketSummary>>,
    made_ticket: Option<Option<String>>,
    created_ticket: Option<TicketCreated>,
    comment: Option<CommentAdded>,
    phone_added: bool,
    call_record_updated: bool,
    field_tickets: Option<Vec<TicketSummary>>,
    displayed: Option<Option<PopDelivery>>,
}

/// The group's rules a step decides by.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub policy: &'a Policy,
    pub templates: &'a Templates,
    pub directory: &'a [DirectoryAgent],
    /// For numbers the IVR collected without a country code.
    pub region: Region,
}

/// One run of one step of one call.
#[derive(Debug)]
pub struct StepRun<'a> {
    step: Step,
    call: &'a Interaction,
    rules: Rules<'a>,
    /// The time the step decides by (the reuse window), fixed when it starts.
    now: DateTime<Utc>,
    /// Distinguishes the creates of one `AddRecording` run from another's.
    job_id: i64,
    /// 1 on the first run; a retried step may have written before it crashed.
    attempt: i64,
    answers: Answers,
}

impl<'a> StepRun<'a> {
    pub fn new(
        step: Step,
        call: &'a Interaction,
        rules: Rules<'a>,
        now: DateTime<Utc>,
        job_id: i64,
        attempt: i64,
    ) -> StepRun<'a> {
        StepRun {
            step,
            call,
            rules,
            now,
            job_id,
            attempt,
            answers: Answers::default(),
        }
    }

    /// What the step needs next, or its outcome.
    pub fn poll(&self) -> Result<Progress, StepError> {
        let cx = Cx {
            call: self.call,
            rules: self.rules,
            now: self.now,
            answers: &self.answers,
            key: &|suffix: &str| self.key(suffix),
        };
        if let Some(conversation) = &self.call.chat {
            return chat::run(&cx, self.step, conversation);
        }
        match self.step {
            Step::IdentifyCaller => identify::run(&cx),
            Step::AwaitAgent => identify::await_agent(&cx),
            Step::OpenTicket => ticket::run(&cx),
            Step::LogCall => comment::log_call(&cx),
            Step::AddRecording => comment::add_recording(&cx, self.job_id),
            Step::AddWrapUp => comment::add_wrap_up(&cx),
            Step::Pop => pop::run(&cx),
        }
    }

    /// The answer to the request [`StepRun::poll`] made last.
    pub fn reply(&mut self, reply: Reply) {
        let a = &mut self.answers;
        match reply {
            Reply::Locked => a.locked = true,
            Reply::Contact(c) => a.contact_by_id = Some(c),
            Reply::ContactsByPhone(found) => a.contacts_by_phone = Some(found),
            Reply::ContactsByEmail(found) => a.contacts_by_email = Some(found),
            Reply::OrganizationCreated(id) => a.organization = Some(id),
            Reply::ContactCreated(c) => a.created_contact = Some(c),
            Reply::Ticket(t) => a.ivr_ticket = Some(t),
            Reply::CallerTickets(t) => a.caller_tickets = Some(t),
            Reply::TicketMadeBy(t) => a.made_ticket = Some(t),
            Reply::TicketCreated(t) => a.created_ticket = Some(t),
            Reply::CommentAdded(c) => a.comment = Some(c),
            Reply::PhoneAdded => a.phone_added = true,
            Reply::CallRecordUpdated => a.call_record_updated = true,
            Reply::TicketsWithField(t) => a.field_tickets = Some(t),
            Reply::Displayed(d) => a.displayed = Some(d),
        }
    }

    /// Creates carry a key derived from (group, call, step), so a step re-run
    /// after a crash finds the record its first run made.
    fn key(&self, suffix: &str) -> IdempotencyKey {
        IdempotencyKey::for_step(&self.call.group, &self.call.call_id, suffix)
            .retried(self.attempt > 1)
    }
}

/// What a step's logic sees.
struct Cx<'a> {
    call: &'a Interaction,
    rules: Rules<'a>,
    now: DateTime<Utc>,
    answers: &'a Answers,
    key: &'a dyn Fn(&str) -> IdempotencyKey,
}

fn need(request: Request) -> Result<Progress, StepError> {
    Ok(Progress::Need(request))
}

fn done(outcome: StepOutcome) -> Result<Progress, StepError> {
    Ok(Progress::Done(outcome))
}

fn skipped(reason: &str) -> Result<Progress, StepError> {
    done(StepOutcome {
        skipped: Some(reason.into()),
        ..StepOutcome::default()
    })
}
