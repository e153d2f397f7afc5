//! What a helpdesk backend does with a ticket, decided once for every backend.
//!
//! A backend (Zendesk, the built-in CRM, the next helpdesk) fetches and writes;
//! when what it fetched raises a choice (a number's users include an agent, the
//! ticket turned out solved or closed, a call record cannot carry a reassignment)
//! it asks here and carries out the answer. So two backends cannot drift apart,
//! and a new backend adds I/O, never a rule.

use crate::ports::NewComment;
use crate::ticket::TicketStatus;

/// The status a call's comment leaves its ticket in, when it changes it: a
/// solved ticket is opened again when the group's `reopen_solved` says so (a
/// customer calling back about a solved case needs an agent to see it). `status`
/// is the ticket's status as the helpdesk last showed it.
pub fn reopened_by_comment(status: &str, reopen_solved: bool) -> Option<TicketStatus> {
    let solved = status
        .trim()
        .eq_ignore_ascii_case(TicketStatus::Solved.as_str());
    (reopen_solved && solved).then_some(TicketStatus::Open)
}

/// A user (or contact) the helpdesk found by the caller's number or email, as
/// far as choosing the caller goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoundUser {
    /// An agent's own account: agents call in from their desks and mobiles, and
    /// a call from one is not a customer's.
    pub is_agent: bool,
    /// The helpdesk marks the number as shared by several users (a switchboard).
    pub shared_number: bool,
}

/// Whether a user found by the caller's number counts as the caller. An agent
/// never does; a user on a shared number only when the group matches shared
/// numbers (`match_shared_numbers`), since the number alone does not say which
/// of its users is calling.
pub fn counts_as_caller(found: FoundUser, match_shared_numbers: bool) -> bool {
    !found.is_agent && (match_shared_numbers || !found.shared_number)
}

/// How the call's comment is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentForm {
    /// A call record with its voice comment (Zendesk Talk Partner Edition).
    CallRecord,
    /// A text comment; with why, when the group asked for a call record.
    Text {
        instead_of_record: Option<&'static str>,
    },
}

/// The form of a call's comment: a call record when the group writes them
/// (`call_record_app_id`), unless the same update must also change the ticket
/// (reassign it, tag it or set a field: a wrap-up) or reopen it (known
/// solved): a call record cannot, a text comment's update can, and one update
/// is the floor of one write per call.
pub fn comment_form(
    wants_call_record: bool,
    changes_ticket: bool,
    known_solved: bool,
) -> CommentForm {
    match (wants_call_record, changes_ticket || known_solved) {
        (false, _) => CommentForm::Text {
            instead_of_record: None,
        },
        (true, false) => CommentForm::CallRecord,
        (true, true) => CommentForm::Text {
            instead_of_record: Some(
                "the ticket also had to be reassigned, reopened, tagged or given a field, \
                 which a call record cannot do: written as the text comment",
            ),
        },
    }
}

/// A closed ticket, as much of it as its follow-up takes (`Id`: the helpdesk's
/// id type; `Priority`: its priority's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedTicket<Id, Priority> {
    pub id: Id,
    pub subject: Option<String>,
    pub requester_id: Option<Id>,
    pub assignee_id: Option<Id>,
    pub group_id: Option<Id>,
    pub priority: Option<Priority>,
}

/// Where a call's comment goes, given its ticket's status now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentTarget {
    /// On the ticket.
    Ticket,
    /// On a follow-up of the closed ticket ([`follow_up`]).
    FollowUp,
}

/// A closed ticket takes no more of a case: no agent looks at it again, so
/// the call goes onto its follow-up. Zendesk says so itself (it refuses the
/// comment); a helpdesk that would take the comment (Freshdesk) reads the
/// status and asks here. A comment an earlier try of the step already wrote
/// stays where it is, even if the ticket was closed since: writing it again
/// on a follow-up would double the call.
pub fn comment_target(status: &str, written_before: bool) -> CommentTarget {
    match (status.eq_ignore_ascii_case("closed"), written_before) {
        (true, false) => CommentTarget::FollowUp,
        _ => CommentTarget::Ticket,
    }
}

/// Who a follow-up is assigned to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowUpAgent<Id> {
    /// The closed ticket's agent (none if it had none).
    OfClosed(Option<Id>),
    /// The agent the comment reassigns to (an email: the call was transferred).
    Reassigned(String),
}

/// The ticket that carries a comment a closed ticket can no longer take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp<Id, Priority> {
    /// The closed ticket's subject (so the agent sees it is the same case).
    pub subject: String,
    /// The same customer, group and priority: the case goes on where it was,
    /// not back to triage.
    pub requester_id: Option<Id>,
    pub group_id: Option<Id>,
    pub priority: Option<Priority>,
    pub agent: FollowUpAgent<Id>,
    /// What the comment would have set on the closed ticket (a wrap-up's tag
    /// and field): set on the follow-up instead, so it is not lost.
    pub tags: Vec<String>,
    pub custom_fields: Vec<(String, String)>,
    /// The closed ticket it follows (Zendesk links the two).
    pub follows: Id,
    /// The line that names the closed ticket, for a helpdesk that cannot link
    /// the two (Freshdesk has no follow-up link): the follow-up's description
    /// opens with it.
    pub names_closed: String,
}

/// The follow-up of a closed ticket for `comment`: same subject, customer,
/// group and priority, linked to (or naming) the closed one; the closed
/// ticket's agent unless the comment reassigns; the comment's tags and
/// fields. The comment's text and visibility are its own.
pub fn follow_up<Id, Priority>(
    closed: &ClosedTicket<Id, Priority>,
    comment: &NewComment,
) -> FollowUp<Id, Priority>
where
    Id: Clone + std::fmt::Display,
    Priority: Clone,
{
    FollowUp {
        subject: closed
            .subject
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| "Follow-up".into()),
        requester_id: closed.requester_id.clone(),
        group_id: closed.group_id.clone(),
        priority: closed.priority.clone(),
        agent: match &comment.reassign {
            Some(email) => FollowUpAgent::Reassigned(email.clone()),
            None => FollowUpAgent::OfClosed(closed.assignee_id.clone()),
        },
        tags: comment.tags.clone(),
        custom_fields: comment.custom_fields.clone(),
        follows: closed.id.clone(),
        names_closed: format!("Follow-up of closed ticket #{}", closed.id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_solved_ticket_is_reopened_and_only_when_the_group_says_so() {
        assert_eq!(
            reopened_by_comment("solved", true),
            Some(TicketStatus::Open)
        );
        assert_eq!(
            reopened_by_comment("Solved", true),
            Some(TicketStatus::Open)
        );
        assert_eq!(reopened_by_comment("solved", false), None);
        for status in ["new", "open", "pending", "hold", "closed", "archived"] {
            assert_eq!(reopened_by_comment(status, true), None, "{status}");
        }
    }

    #[test]
    fn agents_never_count_as_the_caller_and_shared_numbers_only_when_matched() {
        let user = |is_agent, shared_number| FoundUser {
            is_agent,
            shared_number,
        };
        assert!(counts_as_caller(user(false, false), false));
        assert!(!counts_as_caller(user(false, true), false));
        assert!(counts_as_caller(user(false, true), true));
        assert!(!counts_as_caller(user(true, false), true));
        assert!(!counts_as_caller(user(true, true), true));
    }

    #[test]
    fn a_call_record_gives_way_to_a_text_comment_when_the_update_must_do_more() {
        assert_eq!(comment_form(true, false, false), CommentForm::CallRecord);
        // Reassigning, tagging (a wrap-up's code), reopening a solved ticket.
        for (changes, solved) in [(true, false), (false, true), (true, true)] {
            let CommentForm::Text {
                instead_of_record: Some(why),
            } = comment_form(true, changes, solved)
            else {
                panic!("a text comment, saying why");
            };
            assert!(why.contains("reassigned, reopened, tagged"), "{why}");
        }
        assert_eq!(
            comment_form(false, true, true),
            CommentForm::Text {
                instead_of_record: None
            }
        );
    }

    #[test]
    fn a_follow_up_keeps_the_case_customer_agent_group_and_priority_of_the_closed_ticket() {
        let closed = ClosedTicket {
            id: 41_u64,
            subject: Some("Router keeps rebooting".into()),
            requester_id: Some(7),
            assignee_id: Some(3),
            group_id: Some(12),
            priority: Some("high"),
        };
        let mut wrapped_up = NewComment::private("Inbound call answered".into());
        wrapped_up.tags = vec!["wrap-sale".into()];
        wrapped_up.custom_fields = vec![("cf_outcome".into(), "sale".into())];
        assert_eq!(
            follow_up(&closed, &wrapped_up),
            FollowUp {
                subject: "Router keeps rebooting".into(),
                requester_id: Some(7),
                group_id: Some(12),
                priority: Some("high"),
                agent: FollowUpAgent::OfClosed(Some(3)),
                tags: vec!["wrap-sale".into()],
                custom_fields: vec![("cf_outcome".into(), "sale".into())],
                follows: 41,
                names_closed: "Follow-up of closed ticket #41".into(),
            }
        );
        // A transferred call's comment names its agent: the follow-up is theirs.
        let mut transferred = NewComment::private("Inbound call answered".into());
        transferred.reassign = Some("bob@acme.com".into());
        assert_eq!(
            follow_up(&closed, &transferred).agent,
            FollowUpAgent::Reassigned("bob@acme.com".into())
        );
        let untitled = ClosedTicket {
            subject: Some("  ".into()),
            ..closed
        };
        assert_eq!(follow_up(&untitled, &transferred).subject, "Follow-up");
    }

    #[test]
    fn only_a_closed_ticket_sends_a_comment_to_a_follow_up_and_never_one_already_written() {
        assert_eq!(comment_target("closed", false), CommentTarget::FollowUp);
        assert_eq!(comment_target("Closed", false), CommentTarget::FollowUp);
        assert_eq!(comment_target("closed", true), CommentTarget::Ticket);
        for status in ["new", "open", "pending", "hold", "solved"] {
            assert_eq!(
                comment_target(status, false),
                CommentTarget::Ticket,
                "{status}"
            );
        }
    }
}
