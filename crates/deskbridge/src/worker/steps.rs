//! Runs one step of a call: the core's [`StepRun`] says what it needs, this module
//! fetches it (a helpdesk request through the group's port, the lock on a phone
//! number through the store) and hands the answer back, until the step is done.
//! Nothing here decides; a decision made here would be a bug in the design.

use chrono::Utc;
use deskbridge_core::ports::{Helpdesk, HelpdeskError};
use deskbridge_core::steps::{Progress, Reply, Request, Rules, StepRun};
use deskbridge_core::{Interaction, Step, StepOutcome};
use deskbridge_store::{PhoneGuard, Store};

use super::lease::StepLease;
use crate::state::{AppState, Group};

/// Where a step's I/O goes.
pub struct Ports<'a> {
    pub helpdesk: &'a dyn Helpdesk,
    pub store: &'a dyn Store,
    /// The worker's lease on the step, checked before each write to the
    /// helpdesk (none in tests that run a step outside a worker).
    pub lease: Option<&'a StepLease<'a>>,
}

/// Runs the step to its end and returns what it learned.
pub async fn run(
    state: &AppState,
    group: &Group,
    step: Step,
    call: &Interaction,
    job_id: i64,
    attempt: i64,
    lease: &StepLease<'_>,
) -> Result<StepOutcome, HelpdeskError> {
    let directory = state.directory.agents();
    // Once deskbridge's Zendesk app is installed in the group's account, the
    // group takes what the core says the app gives (call records, voice).
    let with_app = state
        .zendesk
        .app_of(&group.backend.name)
        .and_then(|app| group.policy.with_installed_app(app, group.app_defaults));
    let rules = Rules {
        policy: with_app.as_ref().unwrap_or(&group.policy),
        templates: &group.templates,
        directory: &directory,
        region: group.region,
    };
    let ports = Ports {
        helpdesk: group.helpdesk.as_ref(),
        store: state.store.as_ref(),
        lease: Some(lease),
    };
    drive(
        StepRun::new(step, call, rules, Utc::now(), job_id, attempt),
        &ports,
    )
    .await
}

/// The I/O loop of one step.
pub async fn drive(mut run: StepRun<'_>, ports: &Ports<'_>) -> Result<StepOutcome, HelpdeskError> {
    // Held from the moment the step asks for it until the step ends.
    let mut phone_lock: Option<PhoneGuard> = None;
    loop {
        match run
            .poll()
            .map_err(|e| HelpdeskError::Permanent(e.to_string()))?
        {
            Progress::Done(outcome) => return Ok(outcome),
            Progress::Need(request) => {
                let reply = fetch(ports, request, &mut phone_lock).await?;
                run.reply(reply);
            }
        }
    }
}

/// Carries out one request.
async fn fetch(
    ports: &Ports<'_>,
    request: Request,
    phone_lock: &mut Option<PhoneGuard>,
) -> Result<Reply, HelpdeskError> {
    let helpdesk = ports.helpdesk;
    if let Some(lease) = ports.lease.filter(|_| request.writes()) {
        lease.before_write().await?;
    }
    Ok(match request {
        Request::LockPhone(phone) => {
            let guard = ports
                .store
                .lock_phone(&phone)
                .await
                .map_err(|e| HelpdeskError::Transient(e.to_string()))?;
            *phone_lock = Some(guard);
            Reply::Locked
        }
        Request::GetContact(id) => Reply::Contact(helpdesk.get_contact(&id).await?),
        Request::FindContactsByPhone(phone) => {
            Reply::ContactsByPhone(helpdesk.find_contacts_by_phone(&phone).await?)
        }
        Request::FindContactsByEmail(email) => {
            Reply::ContactsByEmail(helpdesk.find_contacts_by_email(&email).await?)
        }
        Request::CreateOrganization { name, key } => {
            Reply::OrganizationCreated(helpdesk.create_organization(&name, &key).await?)
        }
        Request::CreateContact { contact, key } => {
            Reply::ContactCreated(helpdesk.create_contact(&contact, &key).await?)
        }
        Request::GetTicket(id) => Reply::Ticket(helpdesk.get_ticket(&id).await?),
        Request::AddContactPhone { contact_id, phone } => {
            helpdesk.add_contact_phone(&contact_id, &phone).await?;
            Reply::PhoneAdded
        }
        Request::UpdateCallRecord {
            record_id,
            recording_url,
        } => {
            helpdesk
                .update_call_record(&record_id, &recording_url)
                .await?;
            Reply::CallRecordUpdated
        }
        Request::CallerTickets(contact) => {
            Reply::CallerTickets(helpdesk.caller_tickets(&contact).await?)
        }
        Request::TicketMadeBy(key) => Reply::TicketMadeBy(helpdesk.ticket_made_by(&key).await?),
        Request::CreateTicket { ticket, key } => {
            Reply::TicketCreated(helpdesk.create_ticket(&ticket, &key).await?)
        }
        Request::AddComment {
            ticket_id,
            comment,
            key,
        } => Reply::CommentAdded(helpdesk.add_comment(&ticket_id, &comment, &key).await?),
        Request::TicketsWithField { field, value } => {
            Reply::TicketsWithField(helpdesk.tickets_with_field(&field, &value).await?)
        }
        Request::Display { agent, target } => {
            Reply::Displayed(helpdesk.display(&agent, &target).await?)
        }
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use deskbridge_core::ports::fake::FakeHelpdesk;
    use deskbridge_core::{CallEvent, Direction, EndReason, EventKind, Phone, Policy, Region};
    use deskbridge_core::{CallPlan, Templates};
    use deskbridge_store::SqliteStore;

    use super::*;

    fn ended_call() -> Interaction {
        let at = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
        let mut ring = CallEvent::new("1", "c1", EventKind::Ringing, at);
        ring.direction = Some(Direction::Inbound);
        ring.from = Some(Phone::E164("+14155550100".into()));
        let mut call = Interaction::start("support", &CallPlan::default(), &ring).unwrap();
        call.apply(&ring);
        call.apply(&CallEvent::new("2", "c1", EventKind::Answered, at));
        let mut end = CallEvent::new(
            "3",
            "c1",
            EventKind::Ended,
            at + chrono::Duration::seconds(42),
        );
        end.reason = Some(EndReason::Completed);
        call.apply(&end);
        call
    }

    struct Bench {
        helpdesk: FakeHelpdesk,
        store: SqliteStore,
        policy: Policy,
        templates: Templates,
        _dir: tempfile::TempDir,
    }

    impl Bench {
        async fn new() -> Bench {
            let dir = tempfile::tempdir().unwrap();
            let store = SqliteStore::open(&dir.path().join("db")).await.unwrap();
            let policy = Policy::default();
            Bench {
                helpdesk: FakeHelpdesk::new(),
                store,
                templates: Templates::compile(&policy, "").unwrap(),
                policy,
                _dir: dir,
            }
        }

        /// Runs the step and records its outcome on the call, as the worker does.
        async fn run(
            &self,
            step: Step,
            call: &mut Interaction,
            attempt: i64,
        ) -> Result<StepOutcome, HelpdeskError> {
            let rules = Rules {
                policy: &self.policy,
                templates: &self.templates,
                directory: &[],
                region: Region::US,
            };
            let ports = Ports {
                helpdesk: &self.helpdesk,
                store: &self.store,
                lease: None,
            };
            let run = StepRun::new(step, call, rules, Utc::now(), 1, attempt);
            let outcome = drive(run, &ports).await?;
            call.record(step, &outcome);
            Ok(outcome)
        }
    }

    #[tokio::test]
    async fn a_new_callers_steps_go_through_the_ports_in_order() {
        let bench = Bench::new().await;
        let mut call = ended_call();
        bench.run(Step::IdentifyCaller, &mut call, 1).await.unwrap();
        assert_eq!(call.next_step().map(|n| n.step), Some(Step::OpenTicket));
        bench.run(Step::OpenTicket, &mut call, 1).await.unwrap();
        assert_eq!(
            call.next_step(),
            None,
            "the comment went in with the ticket"
        );

        let state = bench.helpdesk.state();
        assert_eq!(
            state.requests,
            [
                "find_contacts_by_phone +14155550100",
                "create_contact +14155550100",
                "create_ticket Inbound call +14155550100",
            ]
        );
        let contact = &state.contacts[0];
        assert_eq!(contact.name, "Caller +14155550100");
        let [ticket] = state.tickets.as_slice() else {
            panic!("{:?}", state.tickets)
        };
        assert_eq!(ticket.requester_id.as_ref(), Some(&contact.id));
        assert_eq!(call.ticket_id.as_ref(), Some(&ticket.id));
        let [comment] = ticket.comments.as_slice() else {
            panic!("{:?}", ticket.comments)
        };
        assert!(comment.contains("+14155550100"), "{comment}");
        assert!(
            comment.contains("42"),
            "talk time in the comment: {comment}"
        );
    }

    #[tokio::test]
    async fn a_step_run_again_after_a_crash_makes_no_second_record() {
        let bench = Bench::new().await;
        let mut call = ended_call();
        bench.run(Step::IdentifyCaller, &mut call, 1).await.unwrap();
        // The first run created the ticket, then the process died before the
        // outcome was recorded: the step runs again as attempt 2.
        let mut crashed = call.clone();
        bench.run(Step::OpenTicket, &mut crashed, 1).await.unwrap();
        bench.run(Step::OpenTicket, &mut call, 2).await.unwrap();
        let state = bench.helpdesk.state();
        assert_eq!(state.tickets.len(), 1, "{:?}", state.tickets);
        assert_eq!(state.tickets[0].comments.len(), 1);
        assert_eq!(call.ticket_id, crashed.ticket_id);
    }

    /// An escalated chat: its visitor by email, then one ticket carrying the
    /// transcript and a note; run again after a crash, nothing is made twice.
    #[tokio::test]
    async fn an_escalated_chats_steps_run_again_make_no_second_record() {
        use deskbridge_core::chat::{ChatMessage, Conversation, Speaker, Visitor};
        let bench = Bench::new().await;
        let at = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
        let conversation = Conversation {
            id: "k1".into(),
            channel: None,
            visitor: Visitor {
                name: Some("Vera".into()),
                email: Some("vera@example.com".into()),
                phone: None,
            },
            agent: None,
            started_at: at,
            ended_at: at + chrono::Duration::seconds(300),
            transcript: vec![ChatMessage {
                from: Speaker::Visitor,
                name: None,
                text: "hello".into(),
                at,
            }],
            tags: Vec::new(),
            note: Some("call back".into()),
            escalate: true,
            attributes: Default::default(),
        };
        let mut e = CallEvent::new("chat:k1", "chat:k1", EventKind::Conversation, at);
        e.direction = Some(Direction::Inbound);
        e.conversation = Some(Box::new(conversation));
        let mut call = Interaction::start("site", &CallPlan::default(), &e).unwrap();
        call.apply(&e);

        bench.run(Step::IdentifyCaller, &mut call, 1).await.unwrap();
        let mut crashed = call.clone();
        bench.run(Step::OpenTicket, &mut crashed, 1).await.unwrap();
        bench.run(Step::OpenTicket, &mut call, 2).await.unwrap();
        assert_eq!(call.next_step(), None);
        let state = bench.helpdesk.state();
        assert_eq!(
            state.requests[..2],
            [
                "find_contacts_by_email vera@example.com",
                "create_contact vera@example.com",
            ]
        );
        let [ticket] = state.tickets.as_slice() else {
            panic!("{:?}", state.tickets)
        };
        assert_eq!(ticket.status, "open");
        assert_eq!(ticket.comments.len(), 2, "{:?}", ticket.comments);
        assert!(ticket.comments[0].contains("Vera (visitor): hello"));
        assert_eq!(ticket.comments[1], "Note from the chat agent:\ncall back");
        assert_eq!(call.ticket_id, crashed.ticket_id);
    }

    #[tokio::test]
    async fn helpdesk_errors_reach_the_worker_as_they_are() {
        let bench = Bench::new().await;
        let mut call = ended_call();
        bench
            .helpdesk
            .fail_next(HelpdeskError::Transient("503 from upstream".into()));
        let err = bench
            .run(Step::IdentifyCaller, &mut call, 1)
            .await
            .unwrap_err();
        assert_eq!(err, HelpdeskError::Transient("503 from upstream".into()));
        assert!(!call.done.identify, "nothing recorded for a failed run");
        // The retry finds nothing half-done and finishes.
        bench.run(Step::IdentifyCaller, &mut call, 2).await.unwrap();
        assert_eq!(bench.helpdesk.state().contacts.len(), 1);
        assert!(call.contact_id.is_some());
    }

    #[tokio::test]
    async fn a_comment_for_a_closed_ticket_lands_on_its_follow_up() {
        let bench = Bench::new().await;
        let mut call = ended_call();
        bench.run(Step::IdentifyCaller, &mut call, 1).await.unwrap();
        bench.run(Step::OpenTicket, &mut call, 1).await.unwrap();
        let first = call.ticket_id.clone().unwrap();
        bench.helpdesk.state().tickets[0].status = "closed".into();
        call.apply(&{
            let mut rec = CallEvent::new("4", "c1", EventKind::Recording, Utc::now());
            rec.recording_url = Some("https://rec.example/1.mp3".into());
            rec
        });
        assert_eq!(call.next_step().map(|n| n.step), Some(Step::AddRecording));
        bench.run(Step::AddRecording, &mut call, 1).await.unwrap();
        let followup = call.ticket_id.clone().unwrap();
        assert_ne!(followup, first);
        let state = bench.helpdesk.state();
        let ticket = state.tickets.iter().find(|t| t.id == followup).unwrap();
        assert!(ticket.comments[0].contains("https://rec.example/1.mp3"));
        assert_eq!(call.next_step(), None);
    }
}
