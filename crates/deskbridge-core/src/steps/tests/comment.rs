//! `LogCall` and `AddRecording`: the call's comment, its call record, late
//! recordings, transfers and closed tickets.

use super::*;

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
        comment_added("c9", "41")
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
        comment_added("c9", "40")
    });
    let [Request::AddComment { comment, .. }] = asked.as_slice() else {
        panic!("{asked:?}")
    };
    assert_eq!(comment.reassign.as_deref(), Some("bob@acme.com"));
    assert_eq!(outcome.assignee.as_deref(), Some("bob@acme.com"));
    assert_eq!(outcome.ticket_id, None, "the same ticket");
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
        comment_added("c9", "40")
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
    let comment_added = |_: &Request| comment_added("c9", "40");
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
        comment_added("c10", "40")
    });
    assert!(
        matches!(asked.as_slice(), [Request::AddComment { .. }]),
        "{asked:?}"
    );
}

/// The helpdesk's answer to a comment written as asked (no earlier text, no
/// call record): its id, on `ticket_id`.
fn comment_added(id: &str, ticket_id: &str) -> Reply {
    Reply::CommentAdded(CommentAdded {
        earlier_text: None,
        id: id.into(),
        ticket_id: ticket_id.into(),
        call_record: None,
    })
}
