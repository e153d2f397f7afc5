//! The caller log's rules: which calls an agent may mark done.
//!
//! A missed call stays "not done" in the caller log until someone has called
//! the customer back (a callback, or a note that they need none). Only a missed
//! call has anything to be done; an agent marks only the calls they were part of
//! (answered, rang or were popped for), while a group's token may mark any.

use crate::interaction::Interaction;

/// Why a call cannot be marked done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotMarkable {
    #[error("only a missed call can be marked done; this call was not missed")]
    NotMissed,
    #[error("the call is not the agent's: they did not answer it, ring for it or get its pop")]
    NotTheAgents,
}

/// Whether `agent` (an email; `None`: a group's token) may mark `call` done.
pub fn may_mark_done(call: &Interaction, agent: Option<&str>) -> Result<(), NotMarkable> {
    if !call.is_missed() {
        return Err(NotMarkable::NotMissed);
    }
    let theirs = |agent: &str| {
        let agent = agent.trim().to_ascii_lowercase();
        call.agent_emails().contains(&agent)
    };
    match agent {
        Some(agent) if !theirs(agent) => Err(NotMarkable::NotTheAgents),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::event::{AgentRef, CallEvent, Direction, EndReason, EventKind};
    use crate::phone::Phone;
    use crate::policy::{CallPlan, Policy};

    fn call(
        direction: Direction,
        events: &[(EventKind, Option<&str>, Option<EndReason>)],
    ) -> Interaction {
        let at = Utc.with_ymd_and_hms(2026, 12, 6, 9, 0, 0).unwrap();
        let event =
            |i: usize, (kind, agent, reason): &(EventKind, Option<&str>, Option<EndReason>)| {
                let mut e = CallEvent::new(format!("e{i}"), "c1", *kind, at);
                e.direction = Some(direction);
                e.from = Some(Phone::E164("+14155550100".into()));
                e.to = Some(Phone::E164("+14155550199".into()));
                e.agent = agent.map(|email| AgentRef {
                    email: Some(email.into()),
                    name: None,
                    extension: None,
                });
                e.reason = *reason;
                e
            };
        let first = event(0, &events[0]);
        let mut call = Interaction::start("support", &CallPlan::of(&Policy::default()), &first)
            .expect("a call");
        for (i, e) in events.iter().enumerate() {
            call.apply(&event(i, e));
        }
        call
    }

    #[test]
    fn a_missed_call_is_marked_by_a_token_or_an_agent_it_rang_for() {
        let missed = call(
            Direction::Inbound,
            &[
                (EventKind::Ringing, Some("ann@acme.com"), None),
                (EventKind::Ended, None, Some(EndReason::NoAnswer)),
            ],
        );
        assert_eq!(may_mark_done(&missed, None), Ok(()));
        assert_eq!(may_mark_done(&missed, Some(" Ann@ACME.com ")), Ok(()));
        assert_eq!(
            may_mark_done(&missed, Some("bob@acme.com")),
            Err(NotMarkable::NotTheAgents)
        );
    }

    #[test]
    fn an_answered_or_outbound_call_has_nothing_to_be_done() {
        let answered = call(
            Direction::Inbound,
            &[
                (EventKind::Ringing, None, None),
                (EventKind::Answered, Some("ann@acme.com"), None),
                (EventKind::Ended, None, None),
            ],
        );
        assert_eq!(may_mark_done(&answered, None), Err(NotMarkable::NotMissed));
        assert_eq!(
            may_mark_done(&answered, Some("ann@acme.com")),
            Err(NotMarkable::NotMissed)
        );
        let unanswered_outbound = call(
            Direction::Outbound,
            &[
                (EventKind::Ringing, Some("ann@acme.com"), None),
                (EventKind::Ended, None, Some(EndReason::NoAnswer)),
            ],
        );
        assert_eq!(
            may_mark_done(&unanswered_outbound, None),
            Err(NotMarkable::NotMissed)
        );
        let still_ringing = call(Direction::Inbound, &[(EventKind::Ringing, None, None)]);
        assert_eq!(
            may_mark_done(&still_ringing, None),
            Err(NotMarkable::NotMissed)
        );
    }
}
