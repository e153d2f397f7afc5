//! Where to route a call while it rings: to the agent who owns the caller's open
//! ticket, so a customer reaches the person already working on their case. The
//! PBX asks (`GET /api/v1/route`, the Amazon Connect answer) and acts on the
//! target (an extension or a SIP URI from the agents directory); every answer
//! says why, so an admin can tell "no preference" cases apart.

use serde::Serialize;

use crate::decide::DirectoryAgent;

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteReason {
    /// The caller's open ticket belongs to this agent.
    OpenTicketOwner,
    /// A withheld or unusable number: nobody to look up.
    NoCallerNumber,
    /// No contact has the number.
    UnknownCaller,
    /// The caller has no ticket that is new, open or pending.
    NoOpenTicket,
    /// The open ticket has no assignee.
    Unassigned,
    /// The assignee is not in the agents directory.
    OwnerNotInDirectory,
    /// The assignee is in the directory without a `target` or `extension`.
    OwnerHasNoTarget,
    /// The helpdesk did not answer in time: no preference rather than a
    /// ringing caller kept waiting.
    HelpdeskUnavailable,
}

/// The agent a call is routed to, as the directory knows them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoutedAgent {
    pub email: String,
    pub name: Option<String>,
    pub extension: Option<String>,
}

/// The answer: a target (or none: no preference), the agent, and why.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteAnswer {
    pub target: Option<String>,
    pub agent: Option<RoutedAgent>,
    pub reason: RouteReason,
}

/// What is known of the caller when the call rings.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    /// A withheld or unusable number.
    NoNumber,
    /// The helpdesk could not say in time.
    NotKnown,
    Unknown,
    /// A known contact and the assignee (an agent's email) of their open ticket:
    /// `None` when they have no open ticket, `Some(None)` when it is unassigned.
    Known {
        open_ticket_assignee: Option<Option<&'a str>>,
    },
}

/// Routes to the open ticket's owner: their `target`, else their extension.
pub fn route(caller: Caller<'_>, directory: &[DirectoryAgent]) -> RouteAnswer {
    let none = |reason| RouteAnswer {
        target: None,
        agent: None,
        reason,
    };
    let assignee = match caller {
        Caller::NoNumber => return none(RouteReason::NoCallerNumber),
        Caller::NotKnown => return none(RouteReason::HelpdeskUnavailable),
        Caller::Unknown => return none(RouteReason::UnknownCaller),
        Caller::Known {
            open_ticket_assignee: None,
        } => return none(RouteReason::NoOpenTicket),
        Caller::Known {
            open_ticket_assignee: Some(None),
        } => return none(RouteReason::Unassigned),
        Caller::Known {
            open_ticket_assignee: Some(Some(email)),
        } => email,
    };
    let Some(agent) = directory
        .iter()
        .find(|a| a.email.eq_ignore_ascii_case(assignee.trim()))
    else {
        return none(RouteReason::OwnerNotInDirectory);
    };
    let routed = RoutedAgent {
        email: agent.email.clone(),
        name: agent.name.clone(),
        extension: agent.extension.clone(),
    };
    let target = agent
        .target
        .clone()
        .or_else(|| agent.extension.clone())
        .filter(|t| !t.trim().is_empty());
    RouteAnswer {
        reason: match target {
            Some(_) => RouteReason::OpenTicketOwner,
            None => RouteReason::OwnerHasNoTarget,
        },
        target,
        agent: Some(routed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory() -> Vec<DirectoryAgent> {
        vec![
            DirectoryAgent {
                email: "ann@acme.com".into(),
                name: Some("Ann Example".into()),
                extension: Some("101".into()),
                target: Some("sip:ann@pbx.acme.com".into()),
            },
            DirectoryAgent {
                email: "bob@acme.com".into(),
                name: None,
                extension: Some("102".into()),
                target: None,
            },
            DirectoryAgent {
                email: "cy@acme.com".into(),
                name: None,
                extension: None,
                target: None,
            },
        ]
    }

    fn known(assignee: Option<Option<&str>>) -> Caller<'_> {
        Caller::Known {
            open_ticket_assignee: assignee,
        }
    }

    #[test]
    fn the_open_tickets_owner_by_target_then_extension() {
        let a = route(known(Some(Some("Ann@Acme.com"))), &directory());
        assert_eq!(a.target.as_deref(), Some("sip:ann@pbx.acme.com"));
        assert_eq!(a.reason, RouteReason::OpenTicketOwner);
        assert_eq!(a.agent.unwrap().email, "ann@acme.com");
        let b = route(known(Some(Some("bob@acme.com"))), &directory());
        assert_eq!(b.target.as_deref(), Some("102"));
    }

    #[test]
    fn every_no_preference_says_why() {
        let d = directory();
        for (caller, reason) in [
            (Caller::NoNumber, RouteReason::NoCallerNumber),
            (Caller::NotKnown, RouteReason::HelpdeskUnavailable),
            (Caller::Unknown, RouteReason::UnknownCaller),
            (known(None), RouteReason::NoOpenTicket),
            (known(Some(None)), RouteReason::Unassigned),
            (
                known(Some(Some("eve@elsewhere.com"))),
                RouteReason::OwnerNotInDirectory,
            ),
            (
                known(Some(Some("cy@acme.com"))),
                RouteReason::OwnerHasNoTarget,
            ),
        ] {
            let a = route(caller, &d);
            assert_eq!(a.target, None, "{reason:?}");
            assert_eq!(a.reason, reason);
        }
    }
}
