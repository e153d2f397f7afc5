//! Screen pop decisions: when a call pops, for which agent, and what it opens.
//!
//! A pop goes to one agent: the one whose phone rings (`pop_on = "ringing"`) or
//! who answered (`"answered"`), as the event names them; never to everyone. Each
//! agent of a call pops once. What it opens follows the group's `pop_action` and
//! `pop_new_ticket`, and whatever it finds or creates becomes the call's contact
//! and ticket, so a pop costs the call no second lookup or create.

use crate::interaction::Interaction;
use crate::policy::{Policy, TicketAssignment};
use crate::pop::{PopAction, PopNewTicket};
use crate::ports::TicketSummary;
use crate::rule::TicketRule;

pub use crate::interaction::{pop_due, pop_moment};

/// What the pop needs looked up before [`choose_pop`] can decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PopLookup {
    Nothing,
    /// The ticket whose id the call carries (`pop_action = "ticket"`).
    Ticket(String),
    /// The caller's tickets that are not closed (`ticket_by_ani`).
    CallerTickets(String),
    /// The tickets whose field `field` holds `value`, the caller's number
    /// (`ticket_by_ani` with `pop_ticket_field`).
    TicketsByField {
        field: String,
        value: String,
    },
}

/// Whether the pop may choose the call's ticket: not when the call has one, nor
/// in agent mode (the agent picks the ticket on the page).
fn chooses_ticket(call: &Interaction) -> bool {
    call.ticket_id.is_none() && call.ticket_assignment() == TicketAssignment::Auto
}

pub fn pop_lookup(call: &Interaction, policy: &Policy, contact_id: Option<&str>) -> PopLookup {
    // A ticket found would not be used: the pop opens a new one anyway.
    if !chooses_ticket(call)
        || (policy.pop_new_ticket == PopNewTicket::Always && policy.create.ticket)
    {
        return PopLookup::Nothing;
    }
    match policy.pop_action {
        PopAction::Contact | PopAction::ContactByAni => PopLookup::Nothing,
        PopAction::Ticket => match call.attribute(&policy.attributes.ticket) {
            Some(id) if id != "0" => PopLookup::Ticket(id.to_string()),
            _ => PopLookup::Nothing,
        },
        PopAction::TicketByAni => {
            let number = call.customer_phone().and_then(|p| p.e164());
            match (&policy.pop_ticket_field, number, contact_id) {
                (Some(field), Some(number), _) => PopLookup::TicketsByField {
                    field: field.clone(),
                    value: number.to_string(),
                },
                (None, _, Some(contact)) => PopLookup::CallerTickets(contact.to_string()),
                _ => PopLookup::Nothing,
            }
        }
    }
}

/// What the helpdesk answered to [`PopLookup`].
#[derive(Debug, Clone, Default)]
pub struct PopFacts {
    /// The call's ticket by id (`None`: it does not exist).
    pub ticket: Option<TicketSummary>,
    /// The caller's tickets, or those whose field holds the number.
    pub tickets: Vec<TicketSummary>,
}

/// What the pop opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PopChoice {
    /// This ticket; it is the call's ticket (already, or from now on).
    Ticket(String),
    /// A new ticket, created now; the call's comment lands on it.
    NewTicket,
    Contact(String),
    /// Nothing to open (an anonymous caller, nothing found): the agent page
    /// still shows the call.
    Nothing,
}

/// What the pop opens, and the ticket rules it went through (recorded on the
/// call when the pop chose its ticket).
pub fn choose_pop(
    call: &Interaction,
    policy: &Policy,
    contact_id: Option<&str>,
    facts: &PopFacts,
) -> (PopChoice, Vec<TicketRule>) {
    let ticket_action = matches!(
        policy.pop_action,
        PopAction::Ticket | PopAction::TicketByAni
    );
    let fallback = || match (&call.ticket_id, contact_id) {
        (Some(ticket), _) if ticket_action => PopChoice::Ticket(ticket.clone()),
        (_, Some(contact)) => PopChoice::Contact(contact.to_string()),
        (Some(ticket), None) => PopChoice::Ticket(ticket.clone()),
        (None, None) => PopChoice::Nothing,
    };
    if !chooses_ticket(call) {
        return (fallback(), Vec::new());
    }
    let mut trail = Vec::new();
    let found = match policy.pop_action {
        PopAction::Contact | PopAction::ContactByAni => None,
        PopAction::Ticket => match (pop_lookup(call, policy, contact_id), &facts.ticket) {
            (PopLookup::Nothing, _) => None,
            (_, None) => {
                trail.push(TicketRule::IvrTicketRejectedNotFound);
                None
            }
            (_, Some(t)) if t.status == "closed" => {
                trail.push(TicketRule::IvrTicketRejectedClosed);
                None
            }
            (_, Some(t)) if t.requester_id.is_none() || t.requester_id.as_deref() != contact_id => {
                trail.push(TicketRule::IvrTicketRejectedNotRequester);
                None
            }
            (_, Some(t)) => Some((t.id.clone(), TicketRule::PopTicket)),
        },
        PopAction::TicketByAni => {
            let rule = match policy.pop_ticket_field {
                Some(_) => TicketRule::PopTicketByField,
                None => TicketRule::PopTicketByAni,
            };
            facts
                .tickets
                .iter()
                .filter(|t| t.status != "closed")
                .max_by(|a, b| a.updated_at.cmp(&b.updated_at).then(a.id.cmp(&b.id)))
                .map(|t| (t.id.clone(), rule))
        }
    };
    let create = match policy.pop_new_ticket {
        PopNewTicket::Always => true,
        PopNewTicket::WhenNotFound => ticket_action && found.is_none(),
        PopNewTicket::Never => false,
    } && policy.create.ticket;
    if create {
        trail.push(TicketRule::PopNewTicket);
        return (PopChoice::NewTicket, trail);
    }
    match found {
        Some((id, rule)) => {
            trail.push(rule);
            (PopChoice::Ticket(id), trail)
        }
        None => (fallback(), Vec::new()),
    }
}

/// The agent who took a call away from another whose screen it popped on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TakenBy {
    /// Their directory email, or the email the phone system gave.
    pub email: Option<String>,
    /// Their name (the directory's), or the extension the phone system gave.
    pub name: Option<String>,
}

/// Who took the call from `agent` (the directory email of an agent it popped
/// for): the agent who answered it, when that is someone else. The card it
/// showed `agent` is then withdrawn (a ring-all queue pops on every ringing
/// agent's screen; one answers). `None` while nobody answered, when `agent`
/// answered, when it never popped for `agent`, or when the answering agent
/// cannot be told apart from `agent` (no email, in or out of the directory).
pub fn taken_from(
    call: &Interaction,
    agent: &str,
    directory: &[crate::decide::DirectoryAgent],
) -> Option<TakenBy> {
    call.answered_at?;
    let popped = call
        .pops
        .iter()
        .any(|p| p.agent.eq_ignore_ascii_case(agent));
    let answerer = call.last_agent()?;
    let listed = crate::decide::directory_match(directory, answerer).map(|(d, _)| d);
    let email = listed
        .map(|d| d.email.clone())
        .or_else(|| answerer.email.clone())?;
    if !popped || email.trim().eq_ignore_ascii_case(agent) {
        return None;
    }
    Some(TakenBy {
        email: Some(email),
        name: listed
            .and_then(|d| d.name.clone())
            .or_else(|| answerer.name.clone())
            .or_else(|| answerer.extension.clone()),
    })
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::event::{AgentRef, CallEvent, Direction, EventKind};
    use crate::phone::Phone;
    use crate::policy::CallPlan;
    use crate::pop::PopOn;

    fn agent(email: &str) -> AgentRef {
        AgentRef {
            email: Some(email.into()),
            ..AgentRef::default()
        }
    }

    fn call(policy: &Policy, attrs: &[(&str, &str)]) -> Interaction {
        let at = Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap();
        let mut ring = CallEvent::new("1", "c1", EventKind::Ringing, at);
        ring.direction = Some(Direction::Inbound);
        ring.from = Some(Phone::E164("+14155550100".into()));
        ring.agent = Some(agent("ann@acme.com"));
        for (k, v) in attrs {
            ring.attributes.insert(k.to_string(), v.to_string());
        }
        let mut call = Interaction::start("g", &CallPlan::of(policy), &ring).unwrap();
        call.apply(&ring);
        call
    }

    fn answer(call: &mut Interaction, email: &str) {
        let mut e = CallEvent::new("2", "c1", EventKind::Answered, call.first_at);
        e.agent = Some(agent(email));
        call.apply(&e);
    }

    fn ticket(id: &str, status: &str, requester: &str, minute: u32) -> TicketSummary {
        TicketSummary {
            assignee: None,
            id: id.into(),
            status: status.into(),
            requester_id: Some(requester.into()),
            updated_at: Utc.with_ymd_and_hms(2026, 11, 28, 11, minute, 0).unwrap(),
        }
    }

    fn policy(on: PopOn, action: PopAction, new: PopNewTicket) -> Policy {
        Policy {
            pop_on: on,
            pop_action: action,
            pop_new_ticket: new,
            ..Policy::default()
        }
    }

    #[test]
    fn a_pop_is_due_for_the_events_agent_at_the_groups_moment_or_the_calls() {
        use PopOn::*;
        type Row<'a> = (PopOn, &'a [(&'a str, &'a str)], bool, Option<&'a str>);
        let rows: &[Row] = &[
            // (group, attributes, answered by bob, agent due)
            (Off, &[], true, None),
            (Ringing, &[], false, Some("ann@acme.com")),
            (Answered, &[], false, None),
            (Answered, &[], true, Some("bob@acme.com")),
            (
                Off,
                &[("pop_incoming", "ringing")],
                false,
                Some("ann@acme.com"),
            ),
            (Off, &[("pop_incoming", "true")], true, Some("bob@acme.com")),
            (Ringing, &[("pop_incoming", "false")], false, None),
            (Ringing, &[("pop_incoming", "answered")], false, None),
        ];
        for (on, attrs, answered, due) in rows {
            let p = policy(*on, PopAction::TicketByAni, PopNewTicket::WhenNotFound);
            let mut c = call(&p, attrs);
            if *answered {
                answer(&mut c, "bob@acme.com");
            }
            let got = pop_due(&c).and_then(|a| a.email.as_deref());
            assert_eq!(got, *due, "{on:?} {attrs:?} answered={answered}");
        }
    }

    #[test]
    fn each_agent_pops_once_and_an_ended_call_pops_no_more() {
        let p = policy(
            PopOn::Ringing,
            PopAction::TicketByAni,
            PopNewTicket::WhenNotFound,
        );
        let mut c = call(&p, &[]);
        c.popped.push(agent("ANN@acme.com"));
        assert_eq!(pop_due(&c), None);
        answer(&mut c, "bob@acme.com");
        assert_eq!(pop_due(&c), Some(&agent("bob@acme.com")));
        c.apply(&CallEvent::new("3", "c1", EventKind::Ended, c.first_at));
        assert_eq!(pop_due(&c), None);
    }

    #[test]
    fn what_a_pop_opens() {
        use PopAction::*;
        use PopNewTicket::*;
        let mine = ticket("7", "open", "u1", 10);
        let newer = ticket("8", "pending", "u1", 20);
        let closed = ticket("9", "closed", "u1", 30);
        let others = ticket("7", "open", "u2", 10);
        let t = |id: &str| PopChoice::Ticket(id.into());
        let contact = PopChoice::Contact("u1".into());
        type Row<'a> = (
            PopAction,
            PopNewTicket,
            &'a [(&'a str, &'a str)],
            Option<TicketSummary>,
            Vec<TicketSummary>,
            PopChoice,
            Vec<TicketRule>,
        );
        let rows: Vec<Row> = vec![
            (
                Contact,
                WhenNotFound,
                &[],
                None,
                vec![],
                contact.clone(),
                vec![],
            ),
            (
                ContactByAni,
                Never,
                &[],
                None,
                vec![],
                contact.clone(),
                vec![],
            ),
            (
                ContactByAni,
                Always,
                &[],
                None,
                vec![],
                PopChoice::NewTicket,
                vec![TicketRule::PopNewTicket],
            ),
            (
                Ticket,
                WhenNotFound,
                &[("zendesk_ticket", "7")],
                Some(mine.clone()),
                vec![],
                t("7"),
                vec![TicketRule::PopTicket],
            ),
            (
                Ticket,
                Never,
                &[("zendesk_ticket", "7")],
                Some(others),
                vec![],
                contact.clone(),
                vec![],
            ),
            (
                Ticket,
                WhenNotFound,
                &[("zendesk_ticket", "7")],
                None,
                vec![],
                PopChoice::NewTicket,
                vec![
                    TicketRule::IvrTicketRejectedNotFound,
                    TicketRule::PopNewTicket,
                ],
            ),
            (
                Ticket,
                WhenNotFound,
                &[],
                None,
                vec![],
                PopChoice::NewTicket,
                vec![TicketRule::PopNewTicket],
            ),
            (
                TicketByAni,
                WhenNotFound,
                &[],
                None,
                vec![mine.clone(), newer.clone(), closed.clone()],
                t("8"),
                vec![TicketRule::PopTicketByAni],
            ),
            (
                TicketByAni,
                WhenNotFound,
                &[],
                None,
                vec![closed.clone()],
                PopChoice::NewTicket,
                vec![TicketRule::PopNewTicket],
            ),
            (
                TicketByAni,
                Never,
                &[],
                None,
                vec![closed],
                contact.clone(),
                vec![],
            ),
            (
                TicketByAni,
                Always,
                &[],
                None,
                vec![mine, newer],
                PopChoice::NewTicket,
                vec![TicketRule::PopNewTicket],
            ),
        ];
        for (action, new, attrs, by_id, tickets, want, rules) in rows {
            let p = policy(PopOn::Ringing, action, new);
            let c = call(&p, attrs);
            let facts = PopFacts {
                ticket: by_id,
                tickets,
            };
            assert_eq!(
                choose_pop(&c, &p, Some("u1"), &facts),
                (want, rules),
                "{action:?} {new:?} {attrs:?}"
            );
        }
    }

    #[test]
    fn the_ticket_a_pop_looks_for() {
        let mut p = policy(PopOn::Ringing, PopAction::TicketByAni, PopNewTicket::Never);
        let c = call(&p, &[]);
        assert_eq!(
            pop_lookup(&c, &p, Some("u1")),
            PopLookup::CallerTickets("u1".into())
        );
        assert_eq!(pop_lookup(&c, &p, None), PopLookup::Nothing);
        p.pop_ticket_field = Some("360".into());
        assert_eq!(
            pop_lookup(&c, &p, None),
            PopLookup::TicketsByField {
                field: "360".into(),
                value: "+14155550100".into()
            }
        );
        // In agent mode the agent picks the ticket: the pop opens the contact.
        let agent_mode = call(&p, &[("ticket_assignment", "agent")]);
        assert_eq!(pop_lookup(&agent_mode, &p, Some("u1")), PopLookup::Nothing);
        assert_eq!(
            choose_pop(&agent_mode, &p, Some("u1"), &PopFacts::default()).0,
            PopChoice::Contact("u1".into())
        );
        // A call that has its ticket pops it, and looks nothing up.
        let mut has = call(&p, &[]);
        has.ticket_id = Some("5".into());
        assert_eq!(pop_lookup(&has, &p, Some("u1")), PopLookup::Nothing);
        assert_eq!(
            choose_pop(&has, &p, Some("u1"), &PopFacts::default()).0,
            PopChoice::Ticket("5".into())
        );
    }

    #[test]
    fn a_card_is_withdrawn_from_the_agents_the_call_popped_for_once_another_answers() {
        use crate::decide::DirectoryAgent;
        use crate::pop::PopRecord;
        let policy = Policy::default();
        let mut call = call(&policy, &[]);
        let popped_for = |email: &str| PopRecord {
            agent: email.into(),
            at: call_time(),
            on: PopOn::Ringing,
            action: PopAction::TicketByAni,
            contact_id: None,
            ticket_id: None,
            new_ticket: false,
            deliveries: Vec::new(),
        };
        call.pops = vec![popped_for("ann@acme.com"), popped_for("bob@acme.com")];
        let directory = [DirectoryAgent {
            email: "bob@acme.com".into(),
            name: Some("Bob Example".into()),
            extension: Some("102".into()),
            target: None,
        }];
        assert_eq!(
            taken_from(&call, "ann@acme.com", &directory),
            None,
            "nobody answered yet"
        );
        // Bob answers, named by his extension.
        let mut e = CallEvent::new("2", "c1", EventKind::Answered, call.first_at);
        e.agent = Some(AgentRef {
            extension: Some("102".into()),
            ..AgentRef::default()
        });
        call.apply(&e);
        assert_eq!(
            taken_from(&call, "ann@acme.com", &directory),
            Some(TakenBy {
                email: Some("bob@acme.com".into()),
                name: Some("Bob Example".into()),
            })
        );
        assert_eq!(
            taken_from(&call, "bob@acme.com", &directory),
            None,
            "his own"
        );
        assert_eq!(
            taken_from(&call, "cy@acme.com", &directory),
            None,
            "it never popped for Cy"
        );
        // An answering agent nobody can name is no reason to withdraw a card.
        let mut unknown = call.clone();
        unknown.agents = vec![AgentRef {
            extension: Some("999".into()),
            ..AgentRef::default()
        }];
        assert_eq!(taken_from(&unknown, "ann@acme.com", &directory), None);
    }

    fn call_time() -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap()
    }
}
