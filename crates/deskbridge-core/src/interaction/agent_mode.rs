//! Agent mode: the agent's choice for a call waiting for one, and whether it may
//! still be made.
//!
//! A call in agent mode (`ticket_assignment=agent`) or with a number shared by
//! several contacts waits for its agent ([`Interaction::agent_wait`]) with an
//! `AwaitAgent` step queued at the deadline. The agent's choice is a fact of the
//! call like its answer time: [`Interaction::decide`] records it (or refuses it:
//! too late, nothing to decide), and the call's next step becomes the waiting
//! `AwaitAgent`, due now, which carries the choice out (adds the caller's number
//! to the chosen contact, records the attached ticket). The deadline's fallback
//! and the choice cannot both win: a choice made after the deadline is refused,
//! and the step that ran at the deadline recorded the fallback.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Interaction, StepOutcome};
use crate::ports::TicketSummary;
use crate::rule::{ContactRule, TicketRule};

/// What the agent chose for the call.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum AgentAction {
    /// A new ticket for the call.
    NewTicket,
    /// The call goes on this existing ticket (checked to exist and not be closed
    /// when the choice was made).
    Attach { ticket_id: String },
    /// The caller is this contact; the ticket then follows the group's rules.
    /// `add_phone`: add the caller's number to the contact.
    Contact {
        contact_id: String,
        #[serde(default)]
        add_phone: bool,
    },
}

/// The agent's choice, as recorded on the call.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentChoice {
    #[serde(flatten)]
    pub action: AgentAction,
    /// Who chose: the agent's email, or `None` for a group token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    pub at: DateTime<Utc>,
}

/// Why a choice is refused. Each says what the agent can do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionRefused {
    #[error(
        "the call stopped waiting for a decision at {deadline}: the group's fallback applied; \
         change the ticket in the helpdesk instead"
    )]
    TimedOut { deadline: DateTime<Utc> },
    #[error("the call was already decided ({0}); change the ticket in the helpdesk instead")]
    AlreadyDecided(String),
    #[error("the call does not wait for an agent's decision (it is not in agent mode)")]
    NotWaiting,
    #[error("ticket {0} does not exist")]
    TicketNotFound(String),
    #[error("ticket {0} is closed; attach the call to an open ticket or create a new one")]
    TicketClosed(String),
    #[error("contact {0} does not exist")]
    ContactNotFound(String),
    #[error("the call has no caller number to add to the contact")]
    NoNumberToAdd,
}

impl DecisionRefused {
    /// Refused because of the call's state (an HTTP 409), rather than because of
    /// what was asked (a 422).
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            DecisionRefused::TimedOut { .. }
                | DecisionRefused::AlreadyDecided(_)
                | DecisionRefused::NotWaiting
        )
    }
}

/// Whether a ticket the helpdesk returned may take the call.
pub fn attachable(id: &str, ticket: Option<&TicketSummary>) -> Result<(), DecisionRefused> {
    match ticket {
        None => Err(DecisionRefused::TicketNotFound(id.to_string())),
        Some(t) if t.status == "closed" => Err(DecisionRefused::TicketClosed(id.to_string())),
        Some(_) => Ok(()),
    }
}

impl Interaction {
    /// Records the agent's choice, if the call still waits for one at `choice.at`.
    /// A call in agent mode may be decided while it rings; the choice is carried
    /// out once the caller is identified.
    pub fn decide(&mut self, choice: AgentChoice) -> Result<(), DecisionRefused> {
        if let Some(earlier) = &self.agent_choice {
            return Err(DecisionRefused::AlreadyDecided(earlier.action.describe()));
        }
        let deadline = self.agent_deadline();
        if self.agent_timed_out {
            return Err(DecisionRefused::TimedOut { deadline });
        }
        if self.agent_wait().is_none() {
            return Err(DecisionRefused::NotWaiting);
        }
        if choice.at >= deadline {
            return Err(DecisionRefused::TimedOut { deadline });
        }
        if let AgentAction::Contact {
            add_phone: true, ..
        } = &choice.action
            && self.customer_phone().and_then(|p| p.e164()).is_none()
        {
            return Err(DecisionRefused::NoNumberToAdd);
        }
        self.agent_choice = Some(choice);
        Ok(())
    }
}

impl AgentAction {
    fn describe(&self) -> String {
        match self {
            AgentAction::NewTicket => "new ticket".into(),
            AgentAction::Attach { ticket_id } => format!("attached to ticket {ticket_id}"),
            AgentAction::Contact { contact_id, .. } => format!("contact {contact_id}"),
        }
    }
}

/// What `AwaitAgent` records when the agent chose: the contact or ticket chosen.
/// (The number added to a chosen contact was added before, by the step.)
pub(crate) fn chosen_outcome(choice: &AgentChoice) -> StepOutcome {
    match &choice.action {
        AgentAction::NewTicket => StepOutcome::default(),
        AgentAction::Attach { ticket_id } => StepOutcome {
            ticket_id: Some(ticket_id.clone()),
            ticket_rules: vec![TicketRule::AgentAttached],
            ..StepOutcome::default()
        },
        AgentAction::Contact { contact_id, .. } => StepOutcome {
            contact_id: Some(contact_id.clone()),
            contact_rule: Some(ContactRule::AgentChose),
            ..StepOutcome::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::event::{CallEvent, Direction, EventKind};
    use crate::interaction::Step;
    use crate::phone::Phone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap() + chrono::Duration::seconds(secs)
    }

    /// An answered call, in agent mode or not, identified as contact 7.
    fn call(agent_mode: bool) -> Interaction {
        let mut ring = CallEvent::new("e1", "c1", EventKind::Ringing, at(0));
        ring.direction = Some(Direction::Inbound);
        ring.from = Some(Phone::E164("+14155550100".into()));
        if agent_mode {
            ring.attributes
                .insert("ticket_assignment".into(), "agent".into());
        }
        let mut call = Interaction::start("g", &Default::default(), &ring).unwrap();
        call.apply(&ring);
        call.apply(&CallEvent::new("e2", "c1", EventKind::Answered, at(5)));
        call.record(
            Step::IdentifyCaller,
            &StepOutcome {
                contact_id: Some("7".into()),
                ..StepOutcome::default()
            },
        );
        call
    }

    fn choice(action: AgentAction, secs: i64) -> AgentChoice {
        AgentChoice {
            action,
            by: Some("ann@acme.com".into()),
            at: at(secs),
        }
    }

    #[test]
    fn a_choice_makes_the_waiting_step_due_now_and_is_carried_out() {
        let mut call = call(true);
        let waiting = call.next_step().unwrap();
        assert_eq!(waiting.step, Step::AwaitAgent);
        assert_eq!(waiting.not_before, Some(call.agent_deadline()));
        let attach = AgentAction::Attach {
            ticket_id: "42".into(),
        };
        call.decide(choice(attach.clone(), 10)).unwrap();
        let now = call.next_step().unwrap();
        assert_eq!((now.step, now.not_before), (Step::AwaitAgent, None));
        call.record(Step::AwaitAgent, &chosen_outcome(&choice(attach, 10)));
        assert_eq!(call.ticket_id.as_deref(), Some("42"));
        assert_eq!(call.ticket_rules, [TicketRule::AgentAttached]);
        assert!(call.agent_wait().is_none());
        assert!(!call.agent_timed_out);
        // Attached: no ticket step; the comment once the call ends.
        assert_eq!(call.next_step(), None);
    }

    #[test]
    fn a_choice_is_refused_late_twice_or_when_nothing_waits() {
        let mut late = call(true);
        let deadline = late.agent_deadline();
        let secs = (deadline - at(0)).num_seconds();
        assert_eq!(
            late.decide(choice(AgentAction::NewTicket, secs)),
            Err(DecisionRefused::TimedOut { deadline })
        );
        let mut twice = call(true);
        twice.decide(choice(AgentAction::NewTicket, 10)).unwrap();
        assert!(matches!(
            twice.decide(choice(AgentAction::NewTicket, 11)),
            Err(DecisionRefused::AlreadyDecided(_))
        ));
        let mut auto = call(false);
        assert_eq!(
            auto.decide(choice(AgentAction::NewTicket, 10)),
            Err(DecisionRefused::NotWaiting)
        );
        let mut timed_out = call(true);
        timed_out.record(
            Step::AwaitAgent,
            &StepOutcome {
                agent_timed_out: true,
                ..StepOutcome::default()
            },
        );
        assert!(matches!(
            timed_out.decide(choice(AgentAction::NewTicket, 10)),
            Err(DecisionRefused::TimedOut { .. })
        ));
        let closed = TicketSummary {
            assignee: None,
            id: "9".into(),
            status: "closed".into(),
            requester_id: None,
            updated_at: at(0),
        };
        assert_eq!(
            attachable("9", Some(&closed)),
            Err(DecisionRefused::TicketClosed("9".into()))
        );
        assert_eq!(
            attachable("9", None),
            Err(DecisionRefused::TicketNotFound("9".into()))
        );
    }
}
