//! Click-to-call, decided: what a dial rings, which caller id it shows, and how
//! its call starts in the journal so that it is logged where the agent chose.

use chrono::{DateTime, Utc};

use crate::agent::AgentRef;
use crate::dial::{Dial, DialLog, DialRefused};
use crate::dialing::Dialing;
use crate::event::{CallEvent, Direction, EventKind};
use crate::phone::{Phone, Region};
use crate::policy::AttributeNames;

/// What an agent asked to dial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialAsk<'a> {
    pub to: &'a str,
    pub ticket_id: Option<&'a str>,
    pub log: DialLog,
}

/// The group's side of a dial: its region (for numbers typed without their
/// country code), its caller-id rules, and the names of the call attributes
/// the ticket rules read.
#[derive(Debug, Clone, Copy)]
pub struct DialGroup<'a> {
    pub name: &'a str,
    pub region: Region,
    pub dialing: &'a Dialing,
    pub attributes: &'a AttributeNames,
    pub has_dialer: bool,
}

/// Decides the dial: the customer's number in E.164, the agent's extension to
/// ring, the caller id by the group's rules (`caller_id_rules`,
/// `default_caller_id`), and the call's first event. Where the call is logged:
/// `new_ticket` rides on that event as the force-new-ticket attribute the
/// ticket rules already read; `ticket` (the call lands on that ticket, as on
/// an IVR's) and `none` (nothing in the helpdesk) on the plan the call starts
/// under ([`Dial::plan`]).
pub fn dial(
    ask: &DialAsk<'_>,
    agent: &AgentRef,
    group: DialGroup<'_>,
    call_id: String,
    now: DateTime<Utc>,
) -> Result<Dial, DialRefused> {
    if !group.has_dialer {
        return Err(DialRefused::NoDialer);
    }
    let to = match Phone::parse(ask.to, group.region) {
        Phone::E164(e) => e,
        _ => return Err(DialRefused::NotANumber(ask.to.chars().take(40).collect())),
    };
    let extension = agent
        .extension
        .clone()
        .filter(|x| !x.trim().is_empty())
        .ok_or(DialRefused::NoExtension)?;
    let ticket_id = ask.ticket_id.map(str::trim).filter(|t| !t.is_empty());
    let caller_id = group
        .dialing
        .caller_id(&Phone::E164(to.clone()))
        .map(str::to_string);
    let mut first = CallEvent::new(
        format!("dial:{call_id}"),
        call_id.clone(),
        EventKind::Ringing,
        now,
    );
    first.direction = Some(Direction::Outbound);
    first.to = Some(Phone::E164(to.clone()));
    first.from = caller_id.as_deref().map(|c| Phone::parse(c, group.region));
    first.agent = Some(agent.clone());
    let ticket = match (ask.log, ticket_id) {
        (DialLog::Ticket, None) => return Err(DialRefused::NoTicket),
        (DialLog::Ticket, Some(t)) => Some(t.to_string()),
        (DialLog::NewTicket, _) => {
            first
                .attributes
                .insert(group.attributes.force_new_ticket.clone(), "true".into());
            None
        }
        (DialLog::None, _) => None,
    };
    Ok(Dial {
        call_id,
        group: group.name.to_string(),
        agent: agent.clone(),
        extension,
        to,
        caller_id,
        log: ask.log,
        ticket,
        first_event: first,
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::dialing::CallerIdRule;

    fn ann(extension: Option<&str>) -> AgentRef {
        AgentRef {
            email: Some("ann@acme.com".into()),
            name: Some("Ann".into()),
            extension: extension.map(str::to_string),
        }
    }

    fn decide(ask: DialAsk<'_>, agent: &AgentRef) -> Result<Dial, DialRefused> {
        let dialing = Dialing {
            caller_id_rules: vec![CallerIdRule {
                dest: "41*".into(),
                caller_id: "+41445551234".into(),
            }],
            default_caller_id: Some("+14155550199".into()),
            ..Dialing::default()
        };
        let attributes = AttributeNames::default();
        let group = DialGroup {
            name: "support",
            region: "US".parse().unwrap(),
            dialing: &dialing,
            attributes: &attributes,
            has_dialer: true,
        };
        let now = Utc.with_ymd_and_hms(2026, 12, 6, 10, 0, 0).unwrap();
        dial(&ask, agent, group, "dial-1".into(), now)
    }

    #[test]
    fn a_dial_rings_the_agents_extension_with_the_caller_id_of_the_rules() {
        let d = decide(
            DialAsk {
                to: "(415) 555-0123",
                ticket_id: Some("42"),
                log: DialLog::Ticket,
            },
            &ann(Some("101")),
        )
        .unwrap();
        assert_eq!(
            (d.to.as_str(), d.extension.as_str()),
            ("+14155550123", "101")
        );
        assert_eq!(d.caller_id.as_deref(), Some("+14155550199"));
        let e = &d.first_event;
        assert_eq!((e.call_id.as_str(), e.kind), ("dial-1", EventKind::Ringing));
        assert_eq!(e.direction, Some(Direction::Outbound));
        assert_eq!(d.ticket.as_deref(), Some("42"));
        let plan = d.plan(&crate::policy::CallPlan::default());
        assert_eq!(
            (plan.log_on_ticket.as_deref(), plan.record_in_helpdesk),
            (Some("42"), true)
        );
        let swiss = decide(
            DialAsk {
                to: "+41 44 668 18 00",
                ticket_id: None,
                log: DialLog::NewTicket,
            },
            &ann(Some("101")),
        )
        .unwrap();
        assert_eq!(swiss.caller_id.as_deref(), Some("+41445551234"));
        assert_eq!(
            swiss
                .first_event
                .attributes
                .get("force_ticket_creation")
                .map(String::as_str),
            Some("true")
        );
    }

    #[test]
    fn a_dial_says_what_to_change() {
        let ask = |to, log| DialAsk {
            to,
            ticket_id: None,
            log,
        };
        assert_eq!(
            decide(ask("call me", DialLog::NewTicket), &ann(Some("101"))),
            Err(DialRefused::NotANumber("call me".into()))
        );
        assert_eq!(
            decide(ask("+14155550123", DialLog::NewTicket), &ann(None)),
            Err(DialRefused::NoExtension)
        );
        assert_eq!(
            decide(ask("+14155550123", DialLog::Ticket), &ann(Some("101"))),
            Err(DialRefused::NoTicket)
        );
    }
}
