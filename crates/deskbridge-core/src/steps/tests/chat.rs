//! A closed chat's steps: the visitor, then its one ticket with the transcript.

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
