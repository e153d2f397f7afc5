//! `LogCall` and `AddRecording`: comments on the call's ticket.

use super::ticket::{call_record, logged_recording, reassignment, voice_comment};
use super::{Cx, Progress, Request, StepError, done, need, skipped};
use crate::comment::{call_comment, recording_comment};
use crate::decide::wrap_up;
use crate::interaction::StepOutcome;
use crate::ports::{CommentAdded, NewComment};
use crate::rule::TicketRule;

/// The call comment, once the call has ended. A transfer after the ticket was
/// made reassigns the ticket to the last agent in the same update.
pub(super) fn log_call(cx: &Cx) -> Result<Progress, StepError> {
    let Some(ticket_id) = &cx.call.ticket_id else {
        return skipped("no ticket for this call");
    };
    let reassign = reassignment(cx);
    let Some(added) = &cx.answers.comment else {
        let marks = wrap_up::ticket_marks(cx.call);
        return need(Request::AddComment {
            ticket_id: ticket_id.clone(),
            comment: NewComment {
                reassign: reassign.as_ref().map(|(agent, _)| agent.clone()),
                reopen_solved: cx.rules.policy.reopen_solved,
                voice: voice_comment(cx.call, cx.rules.policy, answered_by(cx)),
                call_record: call_record(cx.call, cx.rules.policy, answered_by(cx)).map(Box::new),
                tags: marks.tags,
                custom_fields: marks.custom_fields,
                ..NewComment::private(call_comment(cx.call))
            },
            key: (cx.key)("log_call"),
        });
    };
    let (assignee, assignee_rule) = reassign.unzip();
    done(StepOutcome {
        assignee,
        assignee_rule,
        comment_id: Some(added.id.clone()),
        call_logged: true,
        wrap_up_logged: wrap_up::carried(cx.call, added.earlier_text.as_deref()),
        call_record: added.call_record.clone(),
        logged_recording: logged_recording(cx.call, true, added.earlier_text.as_deref()),
        ..moved_to_followup(ticket_id, added)
    })
}

/// A recording that arrived after the call comment was written.
pub(super) fn add_recording(cx: &Cx, job_id: i64) -> Result<Progress, StepError> {
    let (Some(url), Some(ticket_id)) = (&cx.call.recording_url, &cx.call.ticket_id) else {
        return skipped("no recording or no ticket");
    };
    // The call's comment made a call record: the recording goes onto it
    // (the record shows it on the ticket), not into a comment of its own.
    if let Some(id) = &cx.call.call_record_id {
        if !cx.answers.call_record_updated {
            return need(Request::UpdateCallRecord {
                record_id: id.clone(),
                recording_url: url.clone(),
            });
        }
        return done(StepOutcome {
            logged_recording: Some(url.clone()),
            ..StepOutcome::default()
        });
    }
    let Some(added) = &cx.answers.comment else {
        return need(Request::AddComment {
            ticket_id: ticket_id.clone(),
            // A late recording is not a new contact from the customer (no
            // reopening), and the call's record was made by its call comment:
            // a late recording is a comment of its own.
            comment: NewComment {
                voice: voice_comment(cx.call, cx.rules.policy, answered_by(cx)),
                ..NewComment::private(recording_comment(cx.call, url))
            },
            key: (cx.key)(&format!("add_recording/{job_id}")),
        });
    };
    done(StepOutcome {
        logged_recording: Some(url.clone()),
        ..moved_to_followup(ticket_id, added)
    })
}

/// A wrap-up given after the call comment was written: its line as a comment
/// of its own, with its tag and field in the same update. Like a late
/// recording, it does not reopen the ticket.
pub(super) fn add_wrap_up(cx: &Cx) -> Result<Progress, StepError> {
    let (Some(w), Some(ticket_id)) = (&cx.call.wrap_up, &cx.call.ticket_id) else {
        return skipped("no wrap-up or no ticket");
    };
    let Some(added) = &cx.answers.comment else {
        let marks = wrap_up::ticket_marks(cx.call);
        return need(Request::AddComment {
            ticket_id: ticket_id.clone(),
            comment: NewComment {
                tags: marks.tags,
                custom_fields: marks.custom_fields,
                ..NewComment::private(w.line())
            },
            key: (cx.key)("add_wrap_up"),
        });
    };
    done(StepOutcome {
        wrap_up_logged: true,
        ..moved_to_followup(ticket_id, added)
    })
}

/// The agent who had the call, as the directory names them.
fn answered_by(cx: &Cx) -> Option<String> {
    crate::decide::choose_assignee(cx.call, cx.rules.policy, cx.rules.directory).0
}

/// When the ticket was closed and the comment went into a follow-up, the call
/// moves to the follow-up.
fn moved_to_followup(asked: &str, added: &CommentAdded) -> StepOutcome {
    match added.ticket_id == asked {
        true => StepOutcome::default(),
        false => StepOutcome {
            ticket_id: Some(added.ticket_id.clone()),
            ticket_rules: vec![TicketRule::FollowupOfClosedTicket],
            ..StepOutcome::default()
        },
    }
}
