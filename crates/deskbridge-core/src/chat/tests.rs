use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::event::{AgentRef, CallEvent, Direction, EventKind};
use crate::interaction::{Interaction, Step, StepOutcome};
use crate::phone::Phone;
use crate::policy::CallPlan;

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 29, h, m, 0).unwrap()
}

pub(crate) fn conversation() -> Conversation {
    Conversation {
        id: "conv-1".into(),
        channel: Some("chat".into()),
        visitor: Visitor {
            name: Some("Vera Visitor".into()),
            email: Some("Vera@Example.com".into()),
            phone: Some(Phone::E164("+14155550100".into())),
        },
        agent: Some(AgentRef {
            email: Some("ann@acme.com".into()),
            name: Some("Ann".into()),
            extension: None,
        }),
        started_at: at(10, 0),
        ended_at: at(10, 7),
        transcript: vec![
            ChatMessage {
                from: Speaker::Bot,
                name: None,
                text: "Hello! How can we help?".into(),
                at: at(10, 0),
            },
            ChatMessage {
                from: Speaker::Visitor,
                name: None,
                text: "My order is late.\nIt was due Monday.".into(),
                at: at(10, 1),
            },
            ChatMessage {
                from: Speaker::Agent,
                name: None,
                text: "Let me check.".into(),
                at: at(10, 2),
            },
        ],
        tags: vec!["Late Order".into(), "vip".into()],
        note: Some("Customer was upset, call back tomorrow".into()),
        escalate: false,
        attributes: [("order_id".to_string(), "A-77".to_string())].into(),
    }
}

#[test]
fn the_transcript_says_who_said_what_and_when() {
    let text = transcript_text(&conversation());
    assert_eq!(
        text,
        "Conversation conv-1 (chat), 2026-11-29 10:00 to 10:07 UTC\n\
         Agent: Ann <ann@acme.com>\n\
         \n\
         [10:00] Bot: Hello! How can we help?\n\
         [10:01] Vera Visitor (visitor): My order is late.\n    It was due Monday.\n\
         [10:02] Ann (agent): Let me check."
    );
}

#[test]
fn a_message_with_its_own_name_shows_that_name() {
    let mut c = conversation();
    c.transcript[2].name = Some("Bob".into());
    assert!(transcript_text(&c).contains("[10:02] Bob (agent): Let me check."));
}

#[test]
fn an_archive_is_solved_and_an_escalation_open() {
    let mut c = conversation();
    assert_eq!(ticket_status(&c), TicketStatus::Solved);
    c.escalate = true;
    assert_eq!(ticket_status(&c), TicketStatus::Open);
}

#[test]
fn tags_are_the_sites_then_the_conversations_then_the_kind() {
    let policy = ChatPolicy {
        tags: vec!["chat".into(), "vip".into()],
        ..ChatPolicy::default()
    };
    let mut c = conversation();
    assert_eq!(
        ticket_tags(&c, &policy),
        ["chat", "vip", "late_order", ARCHIVE_TAG]
    );
    c.escalate = true;
    assert_eq!(
        ticket_tags(&c, &policy),
        ["chat", "vip", "late_order", ESCALATION_TAG]
    );
}

#[test]
fn fields_take_their_source_and_skip_empty_ones() {
    let policy = ChatPolicy {
        fields: [
            ("1".to_string(), ChatFieldSource::ConversationId),
            ("2".to_string(), ChatFieldSource::Channel),
            ("3".to_string(), ChatFieldSource::Tags),
            (
                "4".to_string(),
                ChatFieldSource::Attribute("order_id".into()),
            ),
            (
                "5".to_string(),
                ChatFieldSource::Attribute("missing".into()),
            ),
        ]
        .into(),
        ..ChatPolicy::default()
    };
    assert_eq!(
        custom_fields(&conversation(), &policy),
        [
            ("1".to_string(), "conv-1".to_string()),
            ("2".to_string(), "chat".to_string()),
            ("3".to_string(), "Late Order vip".to_string()),
            ("4".to_string(), "A-77".to_string()),
        ]
    );
}

#[test]
fn field_sources_read_as_configured() {
    assert_eq!(
        ChatFieldSource::parse("attribute:order_id"),
        Some(ChatFieldSource::Attribute("order_id".into()))
    );
    assert_eq!(
        ChatFieldSource::parse("conversation_id"),
        Some(ChatFieldSource::ConversationId)
    );
    assert_eq!(ChatFieldSource::parse("attribute:"), None);
    assert_eq!(ChatFieldSource::parse("order"), None);
}

#[test]
fn the_note_goes_only_on_an_escalation_under_the_label() {
    let policy = ChatPolicy {
        note_label: "Agent's note".into(),
        ..ChatPolicy::default()
    };
    let mut c = conversation();
    assert_eq!(escalation_note(&c, &policy), None);
    c.escalate = true;
    let note = escalation_note(&c, &policy).unwrap();
    assert_eq!(
        note.body,
        "Agent's note:\nCustomer was upset, call back tomorrow"
    );
    assert!(!note.public);
    c.note = Some("  ".into());
    assert_eq!(escalation_note(&c, &policy), None);
}

#[test]
fn the_visitor_is_looked_for_by_lowercased_email_and_e164() {
    let q = visitor_query(&conversation());
    assert_eq!(q.email.as_deref(), Some("vera@example.com"));
    assert_eq!(q.phone.as_deref(), Some("+14155550100"));
    let mut c = conversation();
    c.visitor = Visitor::default();
    assert_eq!(visitor_name(&c), "Chat visitor");
    assert_eq!(subject(&c), "Chat with Chat visitor");
}

#[test]
fn the_ticket_carries_form_fields_tags_requester_and_transcript() {
    let mut policy = Policy::default();
    policy.chat.ticket_form = Some("900".into());
    let t = new_ticket(
        &conversation(),
        &policy,
        Some("u1".into()),
        Some("ann@acme.com".into()),
    );
    assert_eq!(t.subject, "Chat with Vera Visitor");
    assert_eq!(t.status, TicketStatus::Solved);
    assert_eq!(t.ticket_form.as_deref(), Some("900"));
    assert_eq!(t.requester_id.as_deref(), Some("u1"));
    assert_eq!(t.assignee.as_deref(), Some("ann@acme.com"));
    let comment = t.comment.unwrap();
    assert!(comment.body.contains("[10:02] Ann (agent): Let me check."));
    // An archive's note ends the transcript's comment.
    assert!(
        comment.body.ends_with(
            "Let me check.\n\nNote from the chat agent:\nCustomer was upset, call back tomorrow"
        ),
        "{}",
        comment.body
    );
    assert!(!comment.public);
    // An escalation's note is a comment of its own.
    let mut c = conversation();
    c.escalate = true;
    let t = new_ticket(&c, &policy, None, None);
    assert!(t.comment.unwrap().body.ends_with("Let me check."));
}

fn chat_call(c: &Conversation) -> Interaction {
    let mut e = CallEvent::new("conv-1", "chat:conv-1", EventKind::Conversation, c.ended_at);
    e.direction = Some(Direction::Inbound);
    e.conversation = Some(Box::new(c.clone()));
    let mut call = Interaction::start("site", &CallPlan::default(), &e).unwrap();
    call.apply(&e);
    call
}

#[test]
fn a_chat_identifies_the_visitor_then_opens_its_ticket_then_is_done() {
    let c = conversation();
    let mut call = chat_call(&c);
    assert!(call.is_chat());
    assert_eq!(call.answered_at, Some(c.started_at));
    assert_eq!(call.ended_at, Some(c.ended_at));
    assert_eq!(call.first_at, c.started_at);
    assert_eq!(call.from, c.visitor.phone);
    assert_eq!(call.agents, vec![c.agent.clone().unwrap()]);
    assert_eq!(call.next_step().unwrap().step, Step::IdentifyCaller);
    call.record(
        Step::IdentifyCaller,
        &StepOutcome {
            contact_id: Some("u1".into()),
            ..StepOutcome::default()
        },
    );
    assert_eq!(call.next_step().unwrap().step, Step::OpenTicket);
    call.record(
        Step::OpenTicket,
        &StepOutcome {
            ticket_id: Some("t1".into()),
            call_logged: true,
            ..StepOutcome::default()
        },
    );
    assert_eq!(call.next_step(), None);
    assert!(call.done.log);
}

#[test]
fn a_conversation_sent_again_changes_nothing() {
    let c = conversation();
    let mut call = chat_call(&c);
    let mut other = c.clone();
    other.escalate = true;
    other.transcript.clear();
    let mut e = CallEvent::new(
        "conv-1b",
        "chat:conv-1",
        EventKind::Conversation,
        c.ended_at,
    );
    e.conversation = Some(Box::new(other));
    call.apply(&e);
    assert_eq!(call.chat.as_deref(), Some(&c));
}
