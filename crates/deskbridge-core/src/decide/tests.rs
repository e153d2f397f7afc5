//! Table-driven tests of every rule, its per-call override, and their precedence.

use chrono::{Duration, TimeZone};

use super::*;
use crate::event::{AgentRef, CallEvent, Direction, EndReason, EventKind};
use crate::policy::{CreateSet, TicketAssignment};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

/// A call from +14155550100 with the given attributes; `ended` with `reason`.
fn call(attrs: &[(&str, &str)], end: Option<EndReason>, voicemail: bool) -> Interaction {
    call_under(&Policy::default(), attrs, end, voicemail)
}

/// [`call`], started under the policy's plan.
fn call_under(
    policy: &Policy,
    attrs: &[(&str, &str)],
    end: Option<EndReason>,
    voicemail: bool,
) -> Interaction {
    let base = CallEvent {
        id: "1".into(),
        call_id: "c".into(),
        kind: EventKind::Ringing,
        direction: Some(Direction::Inbound),
        from: Some(Phone::E164("+14155550100".into())),
        to: Some(Phone::E164("+14155550199".into())),
        at: t0(),
        agent: None,
        queue: None,
        attributes: attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        reason: None,
        duration_s: None,
        recording_url: None,
        transcript: None,
        conversation: None,
        wrap_up: None,
    };
    let mut c = Interaction::start("g", &crate::policy::CallPlan::of(policy), &base).unwrap();
    c.apply(&base);
    if end != Some(EndReason::NoAnswer) {
        c.apply(&CallEvent {
            kind: EventKind::Answered,
            agent: Some(AgentRef {
                email: Some("ann@acme.com".into()),
                ..AgentRef::default()
            }),
            ..base.clone()
        });
    }
    if voicemail {
        c.apply(&CallEvent {
            kind: EventKind::Voicemail,
            ..base.clone()
        });
    }
    if let Some(reason) = end {
        c.apply(&CallEvent {
            kind: EventKind::Ended,
            reason: Some(reason),
            at: t0() + Duration::seconds(60),
            ..base
        });
    }
    c.contact_id = Some("7".into());
    c
}

fn contact(id: &str, day: u32) -> ContactSummary {
    ContactSummary {
        id: id.into(),
        name: id.into(),
        phones: vec![],
        created_at: Utc.with_ymd_and_hms(2026, 1, day, 0, 0, 0).unwrap(),
    }
}

fn ticket(id: &str, status: &str, requester: &str, minutes_ago: i64) -> TicketSummary {
    TicketSummary {
        assignee: None,
        id: id.into(),
        status: status.into(),
        requester_id: Some(requester.into()),
        updated_at: t0() - Duration::minutes(minutes_ago),
    }
}

#[test]
fn contact_queries() {
    let us = Region::US;
    let p = Policy::default();
    let cases: Vec<(Vec<(&str, &str)>, ContactQuery)> = vec![
        (
            vec![],
            ContactQuery::ByPhone {
                phone: "+14155550100".into(),
                source: NumberSource::CallerId,
            },
        ),
        (
            vec![("zendesk_user", "42")],
            ContactQuery::ById {
                id: "42".into(),
                then_phone: Some(("+14155550100".into(), NumberSource::CallerId)),
            },
        ),
        // 0 means "none" in the Connect app's attributes.
        (
            vec![("zendesk_user", "0")],
            ContactQuery::ByPhone {
                phone: "+14155550100".into(),
                source: NumberSource::CallerId,
            },
        ),
        (
            vec![("customer_number", "(212) 555-0142")],
            ContactQuery::ByPhone {
                phone: "+12125550142".into(),
                source: NumberSource::CustomerNumber,
            },
        ),
        (
            vec![("customer_number", "212"), ("zendesk_user", "")],
            ContactQuery::Nothing {
                reason: ContactRule::CallerNumberInvalid,
            },
        ),
        (
            vec![
                ("zendesk_user", "42"),
                ("customer_number", "(212) 555-0142"),
            ],
            ContactQuery::ById {
                id: "42".into(),
                then_phone: Some(("+12125550142".into(), NumberSource::CustomerNumber)),
            },
        ),
    ];
    for (attrs, want) in cases {
        assert_eq!(
            contact_query(&call(&attrs, None, false), &p, us),
            want,
            "{attrs:?}"
        );
    }
    let mut anonymous = call(&[], None, false);
    anonymous.from = Some(Phone::Anonymous);
    assert_eq!(
        contact_query(&anonymous, &p, us),
        ContactQuery::Nothing {
            reason: ContactRule::CallerAnonymous
        }
    );
    // Renamed attributes are read under their new names.
    let renamed = Policy {
        attributes: crate::policy::AttributeNames {
            contact: "crm_id".into(),
            ..Default::default()
        },
        ..Policy::default()
    };
    assert!(matches!(
        contact_query(&call(&[("crm_id", "9")], None, false), &renamed, us),
        ContactQuery::ById { .. }
    ));
}

#[test]
fn phone_matches_follow_the_ambiguity_rule() {
    let many = [contact("a", 1), contact("b", 3), contact("c", 2)];
    let cases = [
        (
            &[][..],
            AmbiguousCaller::Newest,
            PhoneMatch::Create {
                found: CallerMatch::NewContact,
            },
        ),
        (
            &many[..1],
            AmbiguousCaller::Agent,
            PhoneMatch::Use {
                id: "a".into(),
                found: CallerMatch::PhoneMatch,
            },
        ),
        (
            &many[..],
            AmbiguousCaller::Newest,
            PhoneMatch::Use {
                id: "b".into(),
                found: CallerMatch::PhoneAmbiguousNewest,
            },
        ),
        (
            &many[..],
            AmbiguousCaller::NewContact,
            PhoneMatch::Create {
                found: CallerMatch::PhoneAmbiguousNewContact,
            },
        ),
        (
            &many[..],
            AmbiguousCaller::Agent,
            PhoneMatch::AskAgent {
                candidates: vec!["b".into(), "c".into(), "a".into()],
            },
        ),
    ];
    for (found, rule, want) in cases {
        assert_eq!(phone_match(found, rule), want, "{rule:?}");
    }
}

struct Case {
    name: &'static str,
    policy: Policy,
    attrs: Vec<(&'static str, &'static str)>,
    end: Option<EndReason>,
    voicemail: bool,
    ivr: Option<TicketSummary>,
    tickets: Vec<TicketSummary>,
    want: TicketChoice,
    rules: &'static [&'static str],
}

fn case(name: &'static str) -> Case {
    Case {
        name,
        policy: Policy::default(),
        attrs: vec![],
        end: Some(EndReason::Completed),
        voicemail: false,
        ivr: None,
        tickets: vec![],
        want: TicketChoice::New,
        rules: &["new_ticket"],
    }
}

fn reuse(minutes: u32) -> Policy {
    Policy {
        reuse_recent_minutes: minutes,
        ..Policy::default()
    }
}

fn attach() -> Policy {
    Policy {
        attach_open_ticket: true,
        ..Policy::default()
    }
}

#[test]
fn ticket_choice_rules_overrides_and_precedence() {
    use TicketChoice::*;
    let ex = |id: &str| Existing(id.to_string());
    let cases = vec![
        case("no rule: a new ticket"),
        // IVR ticket number.
        Case {
            attrs: vec![("zendesk_ticket", "5")],
            ivr: Some(ticket("5", "open", "7", 500)),
            want: ex("5"),
            rules: &["ivr_ticket"],
            ..case("ivr ticket used")
        },
        Case {
            attrs: vec![("zendesk_ticket", "5")],
            ivr: Some(ticket("5", "solved", "7", 500)),
            want: ex("5"),
            rules: &["ivr_ticket"],
            ..case("a solved ivr ticket is reopened by the comment")
        },
        Case {
            attrs: vec![("zendesk_ticket", "5")],
            ivr: None,
            rules: &["ivr_ticket_rejected_not_found", "new_ticket"],
            ..case("ivr ticket missing")
        },
        Case {
            attrs: vec![("zendesk_ticket", "5")],
            ivr: Some(ticket("5", "closed", "7", 1)),
            rules: &["ivr_ticket_rejected_closed", "new_ticket"],
            ..case("ivr ticket closed")
        },
        Case {
            attrs: vec![("zendesk_ticket", "5")],
            ivr: Some(ticket("5", "open", "8", 1)),
            rules: &["ivr_ticket_rejected_not_requester", "new_ticket"],
            ..case("ivr ticket of someone else")
        },
        Case {
            attrs: vec![("zendesk_ticket", "0")],
            ivr: Some(ticket("0", "open", "7", 1)),
            rules: &["new_ticket_forced"],
            ..case("ivr ticket 0 means new")
        },
        Case {
            policy: reuse(60),
            attrs: vec![("zendesk_ticket", "0")],
            tickets: vec![ticket("3", "open", "7", 5)],
            rules: &["new_ticket_forced"],
            ..case("ivr ticket 0 means new, even within the reuse window")
        },
        Case {
            policy: attach(),
            attrs: vec![("zendesk_ticket", "0")],
            tickets: vec![ticket("4", "open", "7", 900)],
            rules: &["new_ticket_forced"],
            ..case("ivr ticket 0 means new, even with an open ticket to attach to")
        },
        Case {
            policy: Policy {
                use_ivr_ticket: false,
                ..Policy::default()
            },
            attrs: vec![("zendesk_ticket", "5")],
            ivr: Some(ticket("5", "open", "7", 1)),
            ..case("ivr ticket switched off for the group")
        },
        Case {
            policy: Policy {
                attributes: crate::policy::AttributeNames {
                    ticket: "case_no".into(),
                    ..Default::default()
                },
                ..Policy::default()
            },
            attrs: vec![("case_no", "5")],
            ivr: Some(ticket("5", "open", "7", 1)),
            want: ex("5"),
            rules: &["ivr_ticket"],
            ..case("ivr ticket attribute renamed")
        },
        // Reuse window.
        Case {
            policy: reuse(30),
            tickets: vec![
                ticket("3", "open", "7", 10),
                ticket("4", "pending", "7", 20),
            ],
            want: ex("3"),
            rules: &["reuse_window"],
            ..case("reuse the most recently updated")
        },
        Case {
            policy: reuse(30),
            tickets: vec![ticket("3", "open", "7", 45)],
            ..case("reuse window passed")
        },
        Case {
            policy: reuse(30),
            tickets: vec![ticket("3", "closed", "7", 1)],
            ..case("closed tickets are never reused")
        },
        Case {
            policy: reuse(30),
            tickets: vec![ticket("3", "solved", "7", 5)],
            want: ex("3"),
            rules: &["reuse_window"],
            ..case("a solved ticket inside the window is reused")
        },
        Case {
            policy: reuse(30),
            attrs: vec![("recent_ticket_timeout", "60")],
            tickets: vec![ticket("3", "open", "7", 45)],
            want: ex("3"),
            rules: &["reuse_window"],
            ..case("per-call window longer")
        },
        Case {
            policy: reuse(30),
            attrs: vec![("recent_ticket_timeout", "0")],
            tickets: vec![ticket("3", "open", "7", 1)],
            ..case("per-call window off")
        },
        Case {
            attrs: vec![("recent_ticket_timeout", "15")],
            tickets: vec![ticket("3", "open", "7", 10)],
            want: ex("3"),
            rules: &["reuse_window"],
            ..case("per-call window when the group has none")
        },
        // Open ticket.
        Case {
            policy: attach(),
            tickets: vec![ticket("3", "solved", "7", 1), ticket("4", "open", "7", 900)],
            want: ex("4"),
            rules: &["open_ticket"],
            ..case("attach to the open ticket, not a solved one")
        },
        Case {
            policy: attach(),
            tickets: vec![ticket("3", "solved", "7", 1)],
            ..case("no open ticket")
        },
        Case {
            policy: attach(),
            attrs: vec![("attach_open_ticket", "false")],
            tickets: vec![ticket("4", "open", "7", 9)],
            ..case("per-call attach off")
        },
        Case {
            attrs: vec![("attach_open_ticket", "true")],
            tickets: vec![ticket("4", "open", "7", 9)],
            want: ex("4"),
            rules: &["open_ticket"],
            ..case("per-call attach on")
        },
        // Precedence.
        Case {
            policy: Policy {
                reuse_recent_minutes: 30,
                attach_open_ticket: true,
                ..Policy::default()
            },
            attrs: vec![("zendesk_ticket", "5")],
            ivr: Some(ticket("5", "open", "7", 900)),
            tickets: vec![ticket("3", "open", "7", 1)],
            want: ex("5"),
            rules: &["ivr_ticket"],
            ..case("ivr ticket beats the reuse window")
        },
        Case {
            policy: Policy {
                reuse_recent_minutes: 30,
                attach_open_ticket: true,
                ..Policy::default()
            },
            attrs: vec![("zendesk_ticket", "5")],
            ivr: Some(ticket("5", "closed", "7", 900)),
            tickets: vec![ticket("3", "open", "7", 1)],
            want: ex("3"),
            rules: &["ivr_ticket_rejected_closed", "reuse_window"],
            ..case("rejected ivr ticket falls to the window")
        },
        Case {
            policy: Policy {
                reuse_recent_minutes: 30,
                attach_open_ticket: true,
                ..Policy::default()
            },
            tickets: vec![ticket("3", "solved", "7", 5), ticket("4", "open", "7", 900)],
            want: ex("3"),
            rules: &["reuse_window"],
            ..case("reuse window beats the open ticket")
        },
        Case {
            policy: Policy {
                reuse_recent_minutes: 30,
                attach_open_ticket: true,
                ..Policy::default()
            },
            attrs: vec![("force_ticket_creation", "true"), ("zendesk_ticket", "5")],
            ivr: Some(ticket("5", "open", "7", 1)),
            tickets: vec![ticket("3", "open", "7", 1)],
            rules: &["new_ticket_forced"],
            ..case("forced creation beats everything")
        },
        // Creation switched off (comment-only logging).
        Case {
            policy: Policy {
                create: CreateSet {
                    ticket: false,
                    ..CreateSet::default()
                },
                reuse_recent_minutes: 30,
                ..Policy::default()
            },
            tickets: vec![ticket("3", "open", "7", 5)],
            want: ex("3"),
            rules: &["reuse_window"],
            ..case("comment-only logging uses a found ticket")
        },
        Case {
            policy: Policy {
                create: CreateSet {
                    ticket: false,
                    ..CreateSet::default()
                },
                ..Policy::default()
            },
            want: NoTicket,
            rules: &["ticket_creation_off"],
            ..case("comment-only logging makes no ticket")
        },
        // Unanswered calls.
        Case {
            end: Some(EndReason::NoAnswer),
            ..case("missed call: new ticket by default")
        },
        Case {
            end: Some(EndReason::NoAnswer),
            policy: Policy {
                missed_call: UnansweredPolicy::LogOnly,
                ..Policy::default()
            },
            want: NoTicket,
            rules: &["missed_call_log_only"],
            ..case("missed call: log only")
        },
        Case {
            end: Some(EndReason::NoAnswer),
            policy: Policy {
                missed_call: UnansweredPolicy::RecentTicket,
                reuse_recent_minutes: 60,
                ..Policy::default()
            },
            attrs: vec![("zendesk_ticket", "5")],
            ivr: Some(ticket("5", "open", "7", 1)),
            tickets: vec![ticket("3", "open", "7", 30)],
            want: ex("3"),
            rules: &["reuse_window"],
            ..case("missed call: comment on the recent ticket")
        },
        Case {
            end: Some(EndReason::NoAnswer),
            policy: Policy {
                missed_call: UnansweredPolicy::RecentTicket,
                reuse_recent_minutes: 60,
                ..Policy::default()
            },
            tickets: vec![ticket("3", "open", "7", 90)],
            want: NoTicket,
            rules: &["missed_call_no_recent_ticket"],
            ..case("missed call: no recent ticket")
        },
        Case {
            end: Some(EndReason::NoAnswer),
            voicemail: true,
            policy: Policy {
                missed_call: UnansweredPolicy::LogOnly,
                ..Policy::default()
            },
            ..case("voicemail has its own policy")
        },
        Case {
            end: Some(EndReason::NoAnswer),
            voicemail: true,
            policy: Policy {
                voicemail: UnansweredPolicy::LogOnly,
                ..Policy::default()
            },
            want: NoTicket,
            rules: &["voicemail_log_only"],
            ..case("voicemail: log only")
        },
        Case {
            end: Some(EndReason::Busy),
            policy: Policy {
                missed_call: UnansweredPolicy::LogOnly,
                ..Policy::default()
            },
            want: NoTicket,
            rules: &["missed_call_log_only"],
            ..case("busy counts as missed")
        },
        Case {
            end: None,
            policy: Policy {
                missed_call: UnansweredPolicy::LogOnly,
                ..Policy::default()
            },
            ..case("an answered call still in progress is not missed")
        },
    ];
    for c in cases {
        let call = call(&c.attrs, c.end, c.voicemail);
        let lookups = ticket_lookups(&call, &c.policy);
        // Only what the rules need is looked up.
        if lookups.ivr_ticket.is_none() {
            assert!(
                c.ivr.is_none()
                    || c.want != TicketChoice::Existing(c.ivr.as_ref().unwrap().id.clone()),
                "{}",
                c.name
            );
        }
        let facts = TicketFacts {
            ivr_ticket: if lookups.ivr_ticket.is_some() {
                c.ivr.clone()
            } else {
                None
            },
            caller_tickets: if lookups.caller_tickets {
                c.tickets.clone()
            } else {
                vec![]
            },
        };
        let (choice, rules) = choose_ticket(&call, &c.policy, &facts, t0());
        assert_eq!(choice, c.want, "{}", c.name);
        let names: Vec<&str> = rules.iter().map(|r| r.as_str()).collect();
        assert_eq!(names, c.rules, "{}", c.name);
    }
}

#[test]
fn lookups_are_only_what_the_rules_need() {
    let answered = call(&[], Some(EndReason::Completed), false);
    assert_eq!(
        ticket_lookups(&answered, &Policy::default()),
        TicketLookups {
            ivr_ticket: None,
            caller_tickets: false
        }
    );
    assert!(ticket_lookups(&answered, &reuse(10)).caller_tickets);
    assert!(ticket_lookups(&answered, &attach()).caller_tickets);
    let mut unknown = answered.clone();
    unknown.contact_id = None;
    assert!(
        !ticket_lookups(&unknown, &reuse(10)).caller_tickets,
        "no contact, no tickets to fetch"
    );
    let ivr = call(
        &[("zendesk_ticket", "12")],
        Some(EndReason::Completed),
        false,
    );
    assert_eq!(
        ticket_lookups(&ivr, &Policy::default())
            .ivr_ticket
            .as_deref(),
        Some("12")
    );
    let forced = call(
        &[("zendesk_ticket", "12"), ("force_ticket_creation", "yes")],
        None,
        false,
    );
    assert_eq!(
        ticket_lookups(&forced, &reuse(10)),
        TicketLookups {
            ivr_ticket: None,
            caller_tickets: false
        }
    );
}

#[test]
fn assignees() {
    let dir = vec![
        DirectoryAgent {
            target: None,
            email: "ann@acme.com".into(),
            name: Some("Ann Example".into()),
            extension: Some("101".into()),
        },
        DirectoryAgent {
            target: None,
            email: "bob@acme.com".into(),
            name: Some("Bob".into()),
            extension: Some("102".into()),
        },
    ];
    let lead = Policy {
        default_assignee: Some("lead@acme.com".into()),
        ..Policy::default()
    };
    let plain = Policy::default();
    let agent = |email: Option<&str>, name: Option<&str>, ext: Option<&str>| AgentRef {
        email: email.map(Into::into),
        name: name.map(Into::into),
        extension: ext.map(Into::into),
    };
    type AssigneeCase<'a> = (
        AgentRef,
        &'a Policy,
        &'a [DirectoryAgent],
        Option<&'a str>,
        &'a str,
    );
    let cases: Vec<AssigneeCase> = vec![
        (
            agent(Some("ANN@acme.com"), None, None),
            &lead,
            &dir,
            Some("ann@acme.com"),
            "agent_email",
        ),
        (
            agent(None, Some("bob"), None),
            &lead,
            &dir,
            Some("bob@acme.com"),
            "agent_name",
        ),
        (
            agent(None, None, Some("101")),
            &lead,
            &dir,
            Some("ann@acme.com"),
            "agent_extension",
        ),
        (
            agent(Some("x@acme.com"), Some("Ann Example"), None),
            &lead,
            &dir,
            Some("ann@acme.com"),
            "agent_name",
        ),
        (
            agent(Some("eve@acme.com"), None, Some("999")),
            &lead,
            &dir,
            Some("lead@acme.com"),
            "default_assignee",
        ),
        (
            agent(Some("eve@acme.com"), None, None),
            &plain,
            &dir,
            None,
            "agent_not_in_directory",
        ),
        (
            agent(Some("eve@acme.com"), None, None),
            &plain,
            &[],
            Some("eve@acme.com"),
            "agent_email_unlisted",
        ),
    ];
    for (a, policy, directory, want, rule) in cases {
        let mut c = call(&[], Some(EndReason::Completed), false);
        c.agents = vec![a.clone()];
        let (assignee, why) = choose_assignee(&c, policy, directory);
        assert_eq!(
            (assignee, why.as_str()),
            (want.map(Into::into), rule),
            "{a:?}"
        );
    }
    // Transfers: the last agent takes the ticket.
    let mut c = call(&[], Some(EndReason::Completed), false);
    c.agents = vec![
        agent(Some("ann@acme.com"), None, None),
        agent(Some("bob@acme.com"), None, None),
    ];
    assert_eq!(
        choose_assignee(&c, &lead, &dir).0.as_deref(),
        Some("bob@acme.com")
    );
    // Switched off.
    let off = Policy {
        assign: false,
        ..lead.clone()
    };
    assert_eq!(
        choose_assignee(&c, &off, &dir),
        (None, AssigneeRule::AssignmentOff)
    );
    // Missed calls have no agent: the default assignee takes them.
    let mut missed = call(&[], Some(EndReason::NoAnswer), false);
    missed.agents.clear();
    assert_eq!(
        choose_assignee(&missed, &lead, &dir),
        (
            Some("lead@acme.com".into()),
            AssigneeRule::DefaultAssigneeNoAgent
        )
    );
}

#[test]
fn agent_mode_switch_per_group_and_per_call() {
    let group_agent = Policy {
        ticket_assignment: TicketAssignment::Agent,
        ..Policy::default()
    };
    let cases = [
        (Policy::default(), vec![], TicketAssignment::Auto),
        (
            Policy::default(),
            vec![("ticket_assignment", "agent")],
            TicketAssignment::Agent,
        ),
        (
            Policy::default(),
            vec![("ticket_assignment", "AGENT")],
            TicketAssignment::Agent,
        ),
        (group_agent.clone(), vec![], TicketAssignment::Agent),
        (
            group_agent.clone(),
            vec![("ticket_assignment", "auto")],
            TicketAssignment::Auto,
        ),
        (
            group_agent,
            vec![("ticket_assignment", "bogus")],
            TicketAssignment::Agent,
        ),
    ];
    for (policy, attrs, want) in cases {
        assert_eq!(
            call_under(&policy, &attrs, None, false).ticket_assignment(),
            want,
            "{attrs:?}"
        );
    }
}
