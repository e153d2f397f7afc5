//! Each step driven with scripted helpdesk answers: what it asks for, in which
//! order, and what it records.

use chrono::{TimeZone, Utc};

use super::*;
use crate::event::{AgentRef, CallEvent, Direction, EndReason, EventKind};
use crate::phone::Phone;
use crate::policy::{CallPlan, CreateSet};
use crate::ports::CallRecordStatus;
use crate::rule::{AssigneeRule, ContactRule, TicketRule};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

/// An answered inbound call from +14155550100 that has ended, under `policy`.
fn ended_call(policy: &Policy, attrs: &[(&str, &str)]) -> Interaction {
    let mut ring = CallEvent::new("1", "c1", EventKind::Ringing, t0());
    ring.direction = Some(Direction::Inbound);
    ring.from = Some(Phone::E164("+14155550100".into()));
    ring.to = Some(Phone::E164("+14155550199".into()));
    ring.attributes = attrs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut call = Interaction::start("support", &CallPlan::of(policy), &ring).unwrap();
    call.apply(&ring);
    let mut answer = CallEvent::new("2", "c1", EventKind::Answered, t0());
    answer.agent = Some(AgentRef {
        email: Some("ann@acme.com".into()),
        ..AgentRef::default()
    });
    call.apply(&answer);
    let mut end = CallEvent::new(
        "3",
        "c1",
        EventKind::Ended,
        t0() + chrono::Duration::seconds(60),
    );
    end.reason = Some(EndReason::Completed);
    call.apply(&end);
    call
}

fn contact(id: &str) -> ContactSummary {
    ContactSummary {
        id: id.into(),
        name: format!("Contact {id}"),
        phones: vec!["+14155550100".into()],
        created_at: t0(),
    }
}

/// Runs the step to its end, answering each request with `answer`; returns the
/// requests made and the outcome.
fn drive(
    step: Step,
    call: &Interaction,
    policy: &Policy,
    attempt: i64,
    mut answer: impl FnMut(&Request) -> Reply,
) -> (Vec<Request>, StepOutcome) {
    let templates = Templates::compile(policy, "").unwrap();
    let rules = Rules {
        policy,
        templates: &templates,
        directory: &[],
        region: Region::US,
    };
    let mut run = StepRun::new(step, call, rules, t0(), 1, attempt);
    let mut asked = Vec::new();
    loop {
        match run.poll().unwrap() {
            Progress::Done(outcome) => return (asked, outcome),
            Progress::Need(request) => {
                let reply = answer(&request);
                asked.push(request);
                run.reply(reply);
                assert!(asked.len() < 10, "the step never ends: {asked:?}");
            }
        }
    }
}

#[test]
fn a_new_caller_is_looked_up_under_the_numbers_lock_then_created() {
    let policy = Policy::default();
    let call = ended_call(&policy, &[]);
    let (asked, outcome) = drive(Step::IdentifyCaller, &call, &policy, 1, |r| match r {
        Request::LockPhone(_) => Reply::Locked,
        Request::FindContactsByPhone(_) => Reply::ContactsByPhone(vec![]),
        Request::CreateContact { .. } => Reply::ContactCreated(contact("31")),
        other => panic!("unexpected {other:?}"),
    });
    assert_eq!(asked[0], Request::LockPhone("+14155550100".into()));
    assert_eq!(
        asked[1],
        Request::FindContactsByPhone("+14155550100".into())
    );
    let Request::CreateContact { contact, key } = &asked[2] else {
        panic!("{asked:?}")
    };
    assert_eq!(contact.name, "Caller +14155550100");
    assert_eq!(contact.phone.as_deref(), Some("+14155550100"));
    assert_eq!(key.as_str(), "support/c1/identify_caller");
    assert!(key.first_try);
    assert_eq!(outcome.contact_id.as_deref(), Some("31"));
    assert_eq!(
        outcome.contact_rule.map(|r| r.to_string()).as_deref(),
        Some("new_contact")
    );
}

#[test]
fn an_ivr_contact_that_does_not_exist_falls_back_to_the_collected_number() {
    let policy = Policy::default();
    let call = ended_call(
        &policy,
        &[
            ("zendesk_user", "99"),
            ("customer_number", "(212) 555-0142"),
        ],
    );
    let (asked, outcome) = drive(Step::IdentifyCaller, &call, &policy, 1, |r| match r {
        Request::GetContact(_) => Reply::Contact(None),
        Request::LockPhone(_) => Reply::Locked,
        Request::FindContactsByPhone(_) => Reply::ContactsByPhone(vec![contact("5")]),
        other => panic!("unexpected {other:?}"),
    });
    assert_eq!(asked[0], Request::GetContact("99".into()));
    assert_eq!(
        asked[2],
        Request::FindContactsByPhone("+12125550142".into())
    );
    assert_eq!(outcome.contact_id.as_deref(), Some("5"));
    assert_eq!(
        outcome.contact_rule.map(|r| r.to_string()).as_deref(),
        Some("attribute_contact_not_found_customer_number_phone_match")
    );
}

#[test]
fn an_organization_is_created_first_when_the_group_creates_them() {
    let policy = Policy {
        create: CreateSet {
            organization: true,
            ..CreateSet::default()
        },
        organization_name: "Callers of {{ dialed }}".into(),
        ..Policy::default()
    };
    let call = ended_call(&policy, &[]);
    let (asked, outcome) = drive(Step::IdentifyCaller, &call, &policy, 2, |r| match r {
        Request::LockPhone(_) => Reply::Locked,
        Request::FindContactsByPhone(_) => Reply::ContactsByPhone(vec![]),
        Request::CreateOrganization { .. } => Reply::OrganizationCreated("org-1".into()),
        Request::CreateContact { .. } => Reply::ContactCreated(contact("32")),
        other => panic!("unexpected {other:?}"),
    });
    let Request::CreateOrganization { name, key } = &asked[2] else {
        panic!("{asked:?}")
    };
    assert_eq!(name, "Callers of +14155550199");
    assert_eq!(key.as_str(), "support/c1/identify_caller/organization");
    assert!(!key.first_try, "a retried step checks before writing again");
    let Request::CreateContact { contact, .. } = &asked[3] else {
        panic!("{asked:?}")
    };
    assert_eq!(contact.organization_id.as_deref(), Some("org-1"));
    assert_eq!(outcome.contact_id.as_deref(), Some("32"));
}

#[test]
fn an_ended_calls_ticket_carries_the_comment_and_no_second_comment_follows() {
    let policy = Policy::default();
    let mut call = ended_call(&policy, &[]);
    call.contact_id = Some("7".into());
    call.done.identify = true;
    // The helpdesk's answer does not name the comment (a Zendesk create whose
    // audit came back without it): the create's success is the proof.
    let (asked, outcome) = drive(Step::OpenTicket, &call, &policy, 1, |_| {
        Reply::TicketCreated(TicketCreated {
            earlier_text: None,
            id: "70".into(),
            comment_id: None,
            displayed: None,
        })
    });
    let [Request::CreateTicket { ticket, key }] = asked.as_slice() else {
        panic!("{asked:?}")
    };
    assert_eq!(ticket.subject, "Inbound call +14155550100");
    assert_eq!(ticket.requester_id.as_deref(), Some("7"));
    assert_eq!(ticket.assignee.as_deref(), Some("ann@acme.com"));
    let body = &ticket.comment.as_ref().unwrap().body;
    assert!(
        body.contains("+14155550100") && body.contains("answered"),
        "{body}"
    );
    assert_eq!(key.as_str(), "support/c1/open_ticket");
    assert_eq!(outcome.ticket_id.as_deref(), Some("70"));
    assert_eq!(outcome.ticket_rules, [TicketRule::NewTicket]);
    assert_eq!(
        outcome.assignee_rule,
        Some(AssigneeRule::AgentEmailUnlisted)
    );
    assert!(outcome.call_logged);
    call.record(Step::OpenTicket, &outcome);
    assert!(call.done.log);
    assert_eq!(call.next_step(), None, "no LogCall after the create");
}

#[test]
fn ivr_ticket_zero_opens_a_new_ticket_despite_a_recent_one() {
    let policy = Policy {
        reuse_recent_minutes: 60,
        attach_open_ticket: true,
        ..Policy::default()
    };
    let mut call = ended_call(&policy, &[("zendesk_ticket", "0")]);
    call.contact_id = Some("7".into());
    let (asked, outcome) = drive(Step::OpenTicket, &call, &policy, 1, |_| {
        Reply::TicketCreated(TicketCreated {
            earlier_text: None,
            id: "71".into(),
            comment_id: Some("c".into()),
            displayed: None,
        })
    });
    assert!(
        matches!(asked.as_slice(), [Request::CreateTicket { .. }]),
        "nothing looked up: {asked:?}"
    );
    assert_eq!(outcome.ticket_rules, [TicketRule::NewTicketForced]);
}

#[test]
fn the_reuse_window_attaches_without_writing() {
    let policy = Policy {
        reuse_recent_minutes: 30,
        ..Policy::default()
    };
    let mut call = ended_call(&policy, &[]);
    call.contact_id = Some("7".into());
    let recent = TicketSummary {
        assignee: None,
        id: "40".into(),
        status: "open".into(),
        requester_id: Some("7".into()),
        updated_at: t0() - chrono::Duration::minutes(10),
    };
    let (asked, outcome) = drive(Step::OpenTicket, &call, &policy, 1, |_| {
        Reply::CallerTickets(vec![recent.clone()])
    });
    assert_eq!(asked, [Request::CallerTickets("7".into())]);
    assert_eq!(outcome.ticket_id.as_deref(), Some("40"));
    assert_eq!(outcome.ticket_rules, [TicketRule::ReuseWindow]);
    assert!(!outcome.call_logged);
}

/// Found by the chaos run (`tests/process/chaos.rs`): the first try created the
/// caller's new ticket, with the call comment, and the process died before
/// recording it; the recording arrived meanwhile. The retry asks the helpdesk
/// by the create's key, learns its first try made a ticket, and asks for its
/// create again, which the helpdesk answers with the earlier ticket and its
/// text, instead of writing the call a second time onto a recent ticket. That
/// text has no recording link: the recording is still to be added.
#[test]
fn a_retry_takes_the_ticket_its_first_try_made_not_as_a_recent_ticket() {
    let policy = Policy {
        reuse_recent_minutes: 30,
        ..Policy::default()
    };
    let mut call = ended_call(&policy, &[]);
    call.contact_id = Some("7".into());
    call.recording_url = Some("https://pbx.example.com/r.mp3".into());
    let ticket = |id: &str| TicketSummary {
        assignee: None,
        id: id.into(),
        status: "new".into(),
        requester_id: Some("7".into()),
        updated_at: t0(),
    };
    // The caller's tickets as an instance's cache shows them: an older ticket,
    // not yet the one the first try made (chaos run, stop 31: the call was
    // written twice, as its own ticket and on the older one).
    let (asked, outcome) = drive(
        Step::OpenTicket,
        &call,
        &policy,
        2,
        |request| match request {
            Request::TicketMadeBy(_) => Reply::TicketMadeBy(Some("41".into())),
            Request::CallerTickets(_) => Reply::CallerTickets(vec![ticket("39")]),
            _ => Reply::TicketCreated(TicketCreated {
                earlier_text: Some("Inbound call, answered by Ann".into()),
                id: "41".into(),
                comment_id: None,
                displayed: None,
            }),
        },
    );
    let [
        Request::TicketMadeBy(asked_key),
        Request::CreateTicket { key, .. },
    ] = asked.as_slice()
    else {
        panic!("{asked:?}")
    };
    assert_eq!(asked_key, key);
    assert_eq!(key.as_str(), "support/c1/open_ticket");
    assert!(!key.first_try);
    assert_eq!(outcome.ticket_id.as_deref(), Some("41"));
    assert!(outcome.call_logged, "the create carried the call comment");
    assert_eq!(outcome.logged_recording, None, "not in the earlier text");
    assert!(
        !outcome.ticket_rules.contains(&TicketRule::ReuseWindow),
        "{:?}",
        outcome.ticket_rules
    );
    let mut logged = call.clone();
    logged.record(
        Step::IdentifyCaller,
        &StepOutcome {
            contact_id: Some("7".into()),
            ..StepOutcome::default()
        },
    );
    logged.record(Step::OpenTicket, &outcome);
    assert_eq!(
        logged.next_step().map(|n| n.step),
        Some(Step::AddRecording),
        "no second call comment; the recording still to add"
    );
}

/// A retry whose first try made no ticket chooses as a first try would (another
/// call's recent ticket is a ticket to reuse), and asks
/// for the caller's tickets only after the helpdesk said so.
#[test]
fn a_retry_whose_first_try_made_no_ticket_chooses_the_recent_ticket() {
    let policy = Policy {
        reuse_recent_minutes: 30,
        ..Policy::default()
    };
    let mut call = ended_call(&policy, &[]);
    call.contact_id = Some("7".into());
    let (asked, outcome) = drive(
        Step::OpenTicket,
        &call,
        &policy,
        2,
        |request| match request {
            Request::TicketMadeBy(_) => Reply::TicketMadeBy(None),
            Request::CallerTickets(_) => Reply::CallerTickets(vec![TicketSummary {
                assignee: None,
                id: "39".into(),
                status: "open".into(),
                requester_id: Some("7".into()),
                updated_at: t0(),
            }]),
            other => panic!("nothing else to ask: {other:?}"),
        },
    );
    assert!(
        matches!(
            asked.as_slice(),
            [Request::TicketMadeBy(_), Request::CallerTickets(_)]
        ),
        "{asked:?}"
    );
    assert_eq!(outcome.ticket_id.as_deref(), Some("39"));
    assert!(outcome.ticket_rules.contains(&TicketRule::ReuseWindow));
    assert!(!outcome.call_logged, "the call comment is still to write");
}

/// The same for a call comment: a retried `LogCall` finds the comment its
/// first try wrote before the recording arrived; the recording is not in it.
#[test]
fn a_retried_call_comment_found_without_the_recording_leaves_it_to_add() {
    let policy = Policy::default();
    let mut call = ended_call(&policy, &[]);
    call.ticket_id = Some("40".into());
    call.assignee = Some("ann@acme.com".into());
    call.recording_url = Some("https://pbx.example.com/r.mp3".into());
    let found = |text: &str| {
        let text = text.to_string();
        move |_: &Request| {
            Reply::CommentAdded(CommentAdded {
                earlier_text: Some(text.clone()),
                id: "c9".into(),
                ticket_id: "40".into(),
                call_record: None,
            })
        }
    };
    let (_, outcome) = drive(Step::LogCall, &call, &policy, 2, found("Inbound call"));
    assert!(outcome.call_logged);
    assert_eq!(outcome.logged_recording, None);
    let (_, outcome) = drive(
        Step::LogCall,
        &call,
        &policy,
        2,
        found("Inbound call\nRecording: https://pbx.example.com/r.mp3"),
    );
    assert_eq!(
        outcome.logged_recording.as_deref(),
        Some("https://pbx.example.com/r.mp3")
    );
}

#[test]
fn a_comment_on_a_closed_ticket_moves_the_call_to_the_follow_up() {
    let policy = Policy::default();
    let mut call = ended_call(&policy, &[]);
    call.ticket_id = Some("40".into());
    call.assignee = Some("ann@acme.com".into());
    let (asked, outcome) = drive(Step::LogCall, &call, &policy, 1, |_| {
        Reply::CommentAdded(CommentAdded {
            earlier_text: None,
            id: "c9".into(),
            ticket_id: "41".into(),
            call_record: None,
        })
    });
    let [
        Request::AddComment {
            ticket_id,
            comment,
            key,
        },
    ] = asked.as_slice()
    else {
        panic!("{asked:?}")
    };
    assert_eq!(ticket_id, "40");
    assert_eq!(comment.reassign, None, "same agent: no reassignment");
    assert_eq!(key.as_str(), "support/c1/log_call");
    assert_eq!(outcome.ticket_id.as_deref(), Some("41"));
    assert_eq!(outcome.ticket_rules, [TicketRule::FollowupOfClosedTicket]);
    assert!(outcome.call_logged);
}

#[test]
fn a_transferred_call_reassigns_its_ticket_with_the_comment() {
    let policy = Policy::default();
    let mut call = ended_call(&policy, &[]);
    call.ticket_id = Some("40".into());
    call.assignee = Some("ann@acme.com".into());
    call.agents.push(AgentRef {
        email: Some("bob@acme.com".into()),
        ..AgentRef::default()
    });
    let (asked, outcome) = drive(Step::LogCall, &call, &policy, 1, |_| {
        Reply::CommentAdded(CommentAdded {
            earlier_text: None,
            id: "c9".into(),
            ticket_id: "40".into(),
            call_record: None,
        })
    });
    let [Request::AddComment { comment, .. }] = asked.as_slice() else {
        panic!("{asked:?}")
    };
    assert_eq!(comment.reassign.as_deref(), Some("bob@acme.com"));
    assert_eq!(outcome.assignee.as_deref(), Some("bob@acme.com"));
    assert_eq!(outcome.ticket_id, None, "the same ticket");
}

#[test]
fn the_agents_deadline_falls_back_to_the_newest_contact() {
    let policy = Policy::default();
    let mut call = ended_call(&policy, &[]);
    call.contact_candidates = vec!["9".into(), "3".into()];
    let (asked, outcome) = drive(Step::AwaitAgent, &call, &policy, 1, |r| {
        panic!("unexpected {r:?}")
    });
    assert!(asked.is_empty());
    assert!(outcome.agent_timed_out);
    assert_eq!(outcome.contact_id.as_deref(), Some("9"));
    assert_eq!(
        outcome.contact_rule,
        Some(ContactRule::PhoneAmbiguousTimeoutNewest)
    );
}

#[test]
fn a_template_that_fails_to_render_fails_the_step() {
    let policy = Policy {
        ticket_subject: "{{ attributes.x | int + 'a' }}".into(),
        ..Policy::default()
    };
    let mut call = ended_call(&policy, &[("x", "1")]);
    call.contact_id = Some("7".into());
    let templates = Templates::compile(&policy, "").unwrap();
    let rules = Rules {
        policy: &policy,
        templates: &templates,
        directory: &[],
        region: Region::US,
    };
    let run = StepRun::new(Step::OpenTicket, &call, rules, t0(), 1, 1);
    let err = run.poll().unwrap_err();
    assert!(err.to_string().contains("ticket_subject"), "{err}");
}

/// The pop for Ann as her phone rings: an unknown caller is identified as
/// `IdentifyCaller` would (lock, lookup, create), the new ticket is created and
/// shown to her in one request with the pop's field, and the outcome is the
/// call's contact and ticket.
#[test]
fn a_pop_for_a_new_caller_creates_the_calls_contact_and_ticket_and_shows_it() {
    let policy = Policy {
        pop_on: crate::pop::PopOn::Ringing,
        pop_new_ticket_field: Some(crate::policy::PopField {
            id: "360".into(),
            value: "{{ attributes.utm_source }}".into(),
        }),
        ..Policy::default()
    };
    let mut ring = CallEvent::new("1", "c1", EventKind::Ringing, t0());
    ring.direction = Some(Direction::Inbound);
    ring.from = Some(Phone::E164("+14155550100".into()));
    ring.agent = Some(AgentRef {
        extension: Some("101".into()),
        ..AgentRef::default()
    });
    ring.attributes = [("utm_source".to_string(), "ads".to_string())].into();
    let mut call = Interaction::start("support", &CallPlan::of(&policy), &ring).unwrap();
    call.apply(&ring);
    assert_eq!(call.next_step().map(|n| n.step), Some(Step::Pop));
    let templates = Templates::compile(&policy, "").unwrap();
    let directory = [DirectoryAgent {
        target: None,
        email: "ann@acme.com".into(),
        extension: Some("101".into()),
        ..DirectoryAgent::default()
    }];
    let rules = Rules {
        policy: &policy,
        templates: &templates,
        directory: &directory,
        region: Region::US,
    };
    let mut run = StepRun::new(Step::Pop, &call, rules, t0(), 1, 1);
    let mut asked = Vec::new();
    let outcome = loop {
        match run.poll().unwrap() {
            Progress::Done(outcome) => break outcome,
            Progress::Need(request) => {
                let reply = match &request {
                    Request::LockPhone(_) => Reply::Locked,
                    Request::FindContactsByPhone(_) => Reply::ContactsByPhone(Vec::new()),
                    Request::CreateContact { .. } => Reply::ContactCreated(contact("7")),
                    Request::CallerTickets(_) => Reply::CallerTickets(Vec::new()),
                    Request::CreateTicket { ticket, key } => {
                        assert_eq!(ticket.display_to.as_deref(), Some("ann@acme.com"));
                        assert!(
                            ticket
                                .custom_fields
                                .contains(&("360".to_string(), "ads".to_string())),
                            "{:?}",
                            ticket.custom_fields
                        );
                        assert_eq!(key.as_str(), "support/c1/pop/ticket");
                        Reply::TicketCreated(TicketCreated {
                            earlier_text: None,
                            id: "70".into(),
                            comment_id: None,
                            displayed: Some(PopDelivery {
                                channel: crate::pop::PopChannel::Zendesk,
                                status: crate::pop::DeliveryStatus::Delivered,
                                detail: None,
                            }),
                        })
                    }
                    other => panic!("unexpected {other:?}"),
                };
                asked.push(request);
                run.reply(reply);
                assert!(asked.len() < 10, "the pop never ends: {asked:?}");
            }
        }
    };
    assert_eq!(asked.len(), 5, "{asked:?}");
    let pop = outcome.pop.as_deref().expect("a pop");
    assert_eq!(pop.agent, "ann@acme.com");
    assert_eq!(
        (pop.contact_id.as_deref(), pop.ticket_id.as_deref()),
        (Some("7"), Some("70"))
    );
    assert!(pop.new_ticket);
    assert_eq!(pop.deliveries.len(), 2, "the page and Zendesk");
    call.record(Step::Pop, &outcome);
    assert_eq!(call.contact_id.as_deref(), Some("7"));
    assert_eq!(call.ticket_id.as_deref(), Some("70"));
    assert_eq!(call.ticket_rules, [TicketRule::PopNewTicket]);
    assert!(call.done.identify && call.done.ticket && !call.done.log);
    assert_eq!(call.next_step(), None, "nothing more while it rings");
    // Answered and ended: only the comment is left, on the popped ticket.
    call.apply(&CallEvent::new("2", "c1", EventKind::Answered, t0()));
    call.apply(&CallEvent::new("3", "c1", EventKind::Ended, t0()));
    assert_eq!(call.next_step().map(|n| n.step), Some(Step::LogCall));
}

#[test]
fn a_group_with_a_call_log_app_records_the_call_with_its_comment() {
    let policy = Policy {
        call_record_app_id: Some(735_264_019_863_524),
        ..Policy::default()
    };
    let mut call = ended_call(&policy, &[]);
    call.ticket_id = Some("40".into());
    call.recording_url = Some("https://pbx.example.com/rec/1.mp3".into());
    let (asked, outcome) = drive(Step::LogCall, &call, &policy, 1, |_| {
        Reply::CommentAdded(CommentAdded {
            earlier_text: None,
            id: "call:9".into(),
            ticket_id: "40".into(),
            call_record: Some(CallRecordStatus::Recorded { id: "9".into() }),
        })
    });
    let [Request::AddComment { comment, .. }] = asked.as_slice() else {
        panic!("{asked:?}")
    };
    let record = comment.call_record.as_ref().expect("a call record");
    assert_eq!(record.app_id, 735_264_019_863_524);
    assert!(record.inbound);
    assert_eq!(
        (record.from.as_str(), record.to.as_str()),
        ("+14155550100", "+14155550199")
    );
    assert_eq!(record.started_at, t0());
    assert_eq!(record.ended_at, Some(t0() + chrono::Duration::seconds(60)));
    assert_eq!(record.outcome, crate::interaction::Outcome::Answered);
    assert_eq!(
        record.recording_url.as_deref(),
        Some("https://pbx.example.com/rec/1.mp3")
    );
    assert_eq!(record.title, "Inbound call from +14155550100");
    // The text is still there for a helpdesk that keeps no call log.
    assert!(!comment.body.is_empty());
    assert!(outcome.call_logged);
    assert_eq!(
        outcome.call_record,
        Some(CallRecordStatus::Recorded { id: "9".into() })
    );

    // Without the app id: no record asked for.
    let plain = Policy::default();
    let (asked, _) = drive(Step::LogCall, &call, &plain, 1, |_| {
        Reply::CommentAdded(CommentAdded {
            earlier_text: None,
            id: "c9".into(),
            ticket_id: "40".into(),
            call_record: None,
        })
    });
    let [Request::AddComment { comment, .. }] = asked.as_slice() else {
        panic!("{asked:?}")
    };
    assert_eq!(comment.call_record, None);
}

#[test]
fn a_ticket_a_pop_made_before_anyone_answered_goes_to_the_agent_who_did() {
    let policy = Policy::default();
    let mut call = ended_call(&policy, &[]);
    call.ticket_id = Some("40".into());
    let comment_added = |_: &Request| {
        Reply::CommentAdded(CommentAdded {
            earlier_text: None,
            id: "c9".into(),
            ticket_id: "40".into(),
            call_record: None,
        })
    };
    let reassigned = |call: &Interaction| {
        let (asked, outcome) = drive(Step::LogCall, call, &policy, 1, comment_added);
        let [Request::AddComment { comment, .. }] = asked.as_slice() else {
            panic!("{asked:?}")
        };
        (comment.reassign.clone(), outcome.assignee)
    };
    // Made by the pop while the phone rang, nobody on it: Ann answered.
    call.ticket_rules = vec![TicketRule::PopNewTicket];
    assert_eq!(
        reassigned(&call),
        (Some("ann@acme.com".into()), Some("ann@acme.com".into()))
    );
    // Found by the pop: its assignee stays.
    call.ticket_rules = vec![TicketRule::PopTicketByAni];
    assert_eq!(reassigned(&call), (None, None));
}

#[test]
fn a_recording_after_the_call_record_goes_onto_the_record_not_a_comment() {
    let policy = Policy {
        call_record_app_id: Some(735_264_019_863_524),
        ..Policy::default()
    };
    let mut call = ended_call(&policy, &[]);
    call.ticket_id = Some("40".into());
    call.recording_url = Some("https://pbx.example.com/rec/1.mp3".into());
    call.call_record_id = Some("9".into());
    let (asked, outcome) = drive(Step::AddRecording, &call, &policy, 1, |_| {
        Reply::CallRecordUpdated
    });
    assert_eq!(
        asked,
        [Request::UpdateCallRecord {
            record_id: "9".into(),
            recording_url: "https://pbx.example.com/rec/1.mp3".into(),
        }]
    );
    assert_eq!(
        outcome.logged_recording.as_deref(),
        Some("https://pbx.example.com/rec/1.mp3")
    );
    // A call with no record (refused: a text comment instead) gets a comment.
    call.call_record_id = None;
    let (asked, _) = drive(Step::AddRecording, &call, &policy, 1, |_| {
        Reply::CommentAdded(CommentAdded {
            earlier_text: None,
            id: "c10".into(),
            ticket_id: "40".into(),
            call_record: None,
        })
    });
    assert!(
        matches!(asked.as_slice(), [Request::AddComment { .. }]),
        "{asked:?}"
    );
}

mod chat {
    use super::*;
    use crate::chat::Conversation;
    use crate::policy::TicketStatus;

    fn chat_call(c: &Conversation) -> Interaction {
        let mut e = CallEvent::new("e", "chat:conv-1", EventKind::Conversation, c.ended_at);
        e.direction = Some(Direction::Inbound);
        e.conversation = Some(Box::new(c.clone()));
        let mut call = Interaction::start("site", &CallPlan::default(), &e).unwrap();
        call.apply(&e);
        call
    }

    #[test]
    fn the_visitor_is_found_by_email_first() {
        let call = chat_call(&crate::chat::tests::conversation());
        let (asked, outcome) = drive(
            Step::IdentifyCaller,
            &call,
            &Policy::default(),
            1,
            |r| match r {
                Request::LockPhone(_) => Reply::Locked,
                Request::FindContactsByEmail(_) => Reply::ContactsByEmail(vec![contact("u7")]),
                other => panic!("unexpected {other:?}"),
            },
        );
        assert_eq!(
            asked,
            [
                Request::LockPhone("email:vera@example.com".into()),
                Request::FindContactsByEmail("vera@example.com".into()),
            ]
        );
        assert_eq!(outcome.contact_id.as_deref(), Some("u7"));
        assert_eq!(outcome.contact_rule, Some(ContactRule::VisitorEmail));
    }

    #[test]
    fn then_by_phone_then_created_with_name_email_and_phone() {
        let call = chat_call(&crate::chat::tests::conversation());
        let (_, outcome) = drive(
            Step::IdentifyCaller,
            &call,
            &Policy::default(),
            1,
            |r| match r {
                Request::LockPhone(_) => Reply::Locked,
                Request::FindContactsByEmail(_) => Reply::ContactsByEmail(vec![]),
                Request::FindContactsByPhone(_) => Reply::ContactsByPhone(vec![contact("u8")]),
                other => panic!("unexpected {other:?}"),
            },
        );
        assert_eq!(outcome.contact_rule, Some(ContactRule::VisitorPhone));
        assert_eq!(outcome.contact_id.as_deref(), Some("u8"));

        let (asked, outcome) = drive(
            Step::IdentifyCaller,
            &call,
            &Policy::default(),
            1,
            |r| match r {
                Request::LockPhone(_) => Reply::Locked,
                Request::FindContactsByEmail(_) => Reply::ContactsByEmail(vec![]),
                Request::FindContactsByPhone(_) => Reply::ContactsByPhone(vec![]),
                Request::CreateContact { .. } => Reply::ContactCreated(contact("u9")),
                other => panic!("unexpected {other:?}"),
            },
        );
        let Some(Request::CreateContact { contact, key }) = asked.last() else {
            panic!("no create: {asked:?}");
        };
        assert_eq!(contact.name, "Vera Visitor");
        assert_eq!(contact.email.as_deref(), Some("vera@example.com"));
        assert_eq!(contact.phone.as_deref(), Some("+14155550100"));
        assert_eq!(key.as_str(), "site/chat:conv-1/identify_caller");
        assert_eq!(outcome.contact_rule, Some(ContactRule::VisitorNewContact));
    }

    #[test]
    fn an_escalation_opens_the_ticket_then_adds_the_note() {
        let mut c = crate::chat::tests::conversation();
        c.escalate = true;
        let mut call = chat_call(&c);
        call.contact_id = Some("u1".into());
        let (asked, outcome) = drive(
            Step::OpenTicket,
            &call,
            &Policy::default(),
            1,
            |r| match r {
                Request::CreateTicket { .. } => Reply::TicketCreated(TicketCreated {
                    earlier_text: None,
                    id: "t1".into(),
                    comment_id: Some("c1".into()),
                    displayed: None,
                }),
                Request::AddComment { .. } => Reply::CommentAdded(CommentAdded {
                    earlier_text: None,
                    id: "c2".into(),
                    ticket_id: "t1".into(),
                    call_record: None,
                }),
                other => panic!("unexpected {other:?}"),
            },
        );
        let Request::CreateTicket { ticket, .. } = &asked[0] else {
            panic!("no create: {asked:?}");
        };
        assert_eq!(ticket.status, TicketStatus::Open);
        assert_eq!(ticket.requester_id.as_deref(), Some("u1"));
        // No directory: the agent's email as given.
        assert_eq!(ticket.assignee.as_deref(), Some("ann@acme.com"));
        let Request::AddComment { comment, .. } = &asked[1] else {
            panic!("no note: {asked:?}");
        };
        assert!(comment.body.starts_with("Note from the chat agent:\n"));
        assert!(!comment.public);
        assert_eq!(outcome.ticket_id.as_deref(), Some("t1"));
        assert_eq!(outcome.ticket_rules, [TicketRule::ChatEscalation]);
        assert_eq!(
            outcome.assignee_rule,
            Some(AssigneeRule::AgentEmailUnlisted)
        );
        assert!(outcome.call_logged);
    }

    #[test]
    fn an_archive_is_one_create() {
        let call = chat_call(&crate::chat::tests::conversation());
        let (asked, outcome) = drive(Step::OpenTicket, &call, &Policy::default(), 1, |_| {
            Reply::TicketCreated(TicketCreated {
                earlier_text: None,
                id: "t1".into(),
                comment_id: None,
                displayed: None,
            })
        });
        assert_eq!(asked.len(), 1);
        assert_eq!(outcome.ticket_rules, [TicketRule::ChatArchive]);
    }
}
