//! `Pop`: the caller and ticket shown to the agent, made once for the call.

use super::*;

/// The pop for Ann as her phone rings: an unknown caller is identified as
/// `IdentifyCaller` would (lock, lookup, create), the new ticket is created and
/// shown to her in one request with the pop's field, and the outcome is the
/// call's contact and ticket.
#[test]
fn a_pop_for_a_new_caller_creates_the_calls_contact_and_ticket_and_shows_it() {
    let policy = Policy {
        pop_on: crate::pop::PopOn::Ringing,
        pop_new_ticket_field: Some(crate::policy::PopField {
            id: "360".into(),
            value: "{{ attributes.utm_source }}".into(),
        }),
        ..Policy::default()
    };
    let mut ring = CallEvent::new("1", "c1", EventKind::Ringing, t0());
    ring.direction = Some(Direction::Inbound);
    ring.from = Some(Phone::E164("+14155550100".into()));
    ring.agent = Some(AgentRef {
        extension: Some("101".into()),
        ..AgentRef::default()
    });
    ring.attributes = [("utm_source".to_string(), "ads".to_string())].into();
    let mut call = Interaction::start("support", &CallPlan::of(&policy), &ring).unwrap();
    call.apply(&ring);
    assert_eq!(call.next_step().map(|n| n.step), Some(Step::Pop));
    let templates = Templates::compile(&policy, "").unwrap();
    let directory = [DirectoryAgent {
        target: None,
        email: "ann@acme.com".into(),
        extension: Some("101".into()),
        ..DirectoryAgent::default()
    }];
    let rules = Rules {
        policy: &policy,
        templates: &templates,
        directory: &directory,
        region: Region::US,
    };
    let mut run = StepRun::new(Step::Pop, &call, rules, t0(), 1, 1);
    let mut asked = Vec::new();
    let outcome = loop {
        match run.poll().unwrap() {
            Progress::Done(outcome) => break outcome,
            Progress::Need(request) => {
                let reply = match &request {
                    Request::LockPhone(_) => Reply::Locked,
                    Request::FindContactsByPhone(_) => Reply::ContactsByPhone(Vec::new()),
                    Request::CreateContact { .. } => Reply::ContactCreated(contact("7")),
                    Request::CallerTickets(_) => Reply::CallerTickets(Vec::new()),
                    Request::CreateTicket { ticket, key } => {
                        assert_eq!(ticket.display_to.as_deref(), Some("ann@acme.com"));
                        assert!(
                            ticket
                                .custom_fields
                                .contains(&("360".to_string(), "ads".to_string())),
                            "{:?}",
                            ticket.custom_fields
                        );
                        assert_eq!(key.as_str(), "support/c1/pop/ticket");
                        Reply::TicketCreated(TicketCreated {
                            earlier_text: None,
                            id: "70".into(),
                            comment_id: None,
                            displayed: Some(PopDelivery {
                                channel: crate::pop::PopChannel::Zendesk,
                                status: crate::pop::DeliveryStatus::Delivered,
                                detail: None,
                            }),
                        })
                    }
                    other => panic!("unexpected {other:?}"),
                };
                asked.push(request);
                run.reply(reply);
                assert!(asked.len() < 10, "the pop never ends: {asked:?}");
            }
        }
    };
    assert_eq!(asked.len(), 5, "{asked:?}");
    let pop = outcome.pop.as_deref().expect("a pop");
    assert_eq!(pop.agent, "ann@acme.com");
    assert_eq!(
        (pop.contact_id.as_deref(), pop.ticket_id.as_deref()),
        (Some("7"), Some("70"))
    );
    assert!(pop.new_ticket);
    assert_eq!(pop.deliveries.len(), 2, "the page and Zendesk");
    call.record(Step::Pop, &outcome);
    assert_eq!(call.contact_id.as_deref(), Some("7"));
    assert_eq!(call.ticket_id.as_deref(), Some("70"));
    assert_eq!(call.ticket_rules, [TicketRule::PopNewTicket]);
    assert!(call.done.identify && call.done.ticket && !call.done.log);
    assert_eq!(call.next_step(), None, "nothing more while it rings");
    // Answered and ended: only the comment is left, on the popped ticket.
    call.apply(&CallEvent::new("2", "c1", EventKind::Answered, t0()));
    call.apply(&CallEvent::new("3", "c1", EventKind::Ended, t0()));
    assert_eq!(call.next_step().map(|n| n.step), Some(Step::LogCall));
}
