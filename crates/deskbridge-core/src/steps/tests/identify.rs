//! `IdentifyCaller`: the caller found or created, under the number's lock; the
//! IVR's contact; organizations; the agent's deadline.

use super::*;

#[test]
fn a_new_caller_is_looked_up_under_the_numbers_lock_then_created() {
    let policy = Policy::default();
    let call = ended_call(&policy, &[]);
    let (asked, outcome) = drive(Step::IdentifyCaller, &call, &policy, 1, |r| match r {
        Request::LockPhone(_) => Reply::Locked,
        Request::FindContactsByPhone(_) => Reply::ContactsByPhone(vec![]),
        Request::CreateContact { .. } => Reply::ContactCreated(contact("31")),
        other => panic!("unexpected {other:?}"),
    });
    assert_eq!(asked[0], Request::LockPhone("+14155550100".into()));
    assert_eq!(
        asked[1],
        Request::FindContactsByPhone("+14155550100".into())
    );
    let Request::CreateContact { contact, key } = &asked[2] else {
        panic!("{asked:?}")
    };
    assert_eq!(contact.name, "Caller +14155550100");
    assert_eq!(contact.phone.as_deref(), Some("+14155550100"));
    assert_eq!(key.as_str(), "support/c1/identify_caller");
    assert!(key.first_try);
    assert_eq!(outcome.contact_id.as_deref(), Some("31"));
    assert_eq!(
        outcome.contact_rule.map(|r| r.to_string()).as_deref(),
        Some("new_contact")
    );
}

#[test]
fn an_ivr_contact_that_does_not_exist_falls_back_to_the_collected_number() {
    let policy = Policy::default();
    let call = ended_call(
        &policy,
        &[
            ("zendesk_user", "99"),
            ("customer_number", "(212) 555-0142"),
        ],
    );
    let (asked, outcome) = drive(Step::IdentifyCaller, &call, &policy, 1, |r| match r {
        Request::GetContact(_) => Reply::Contact(None),
        Request::LockPhone(_) => Reply::Locked,
        Request::FindContactsByPhone(_) => Reply::ContactsByPhone(vec![contact("5")]),
        other => panic!("unexpected {other:?}"),
    });
    assert_eq!(asked[0], Request::GetContact("99".into()));
    assert_eq!(
        asked[2],
        Request::FindContactsByPhone("+12125550142".into())
    );
    assert_eq!(outcome.contact_id.as_deref(), Some("5"));
    assert_eq!(
        outcome.contact_rule.map(|r| r.to_string()).as_deref(),
        Some("attribute_contact_not_found_customer_number_phone_match")
    );
}

#[test]
fn an_organization_is_created_first_when_the_group_creates_them() {
    let policy = Policy {
        create: CreateSet {
            organization: true,
            ..CreateSet::default()
        },
        organization_name: "Callers of {{ dialed }}".into(),
        ..Policy::default()
    };
    let call = ended_call(&policy, &[]);
    let (asked, outcome) = drive(Step::IdentifyCaller, &call, &policy, 2, |r| match r {
        Request::LockPhone(_) => Reply::Locked,
        Request::FindContactsByPhone(_) => Reply::ContactsByPhone(vec![]),
        Request::CreateOrganization { .. } => Reply::OrganizationCreated("org-1".into()),
        Request::CreateContact { .. } => Reply::ContactCreated(contact("32")),
        other => panic!("unexpected {other:?}"),
    });
    let Request::CreateOrganization { name, key } = &asked[2] else {
        panic!("{asked:?}")
    };
    assert_eq!(name, "Callers of +14155550199");
    assert_eq!(key.as_str(), "support/c1/identify_caller/organization");
    assert!(!key.first_try, "a retried step checks before writing again");
    let Request::CreateContact { contact, .. } = &asked[3] else {
        panic!("{asked:?}")
    };
    assert_eq!(contact.organization_id.as_deref(), Some("org-1"));
    assert_eq!(outcome.contact_id.as_deref(), Some("32"));
}

#[test]
fn the_agents_deadline_falls_back_to_the_newest_contact() {
    let policy = Policy::default();
    let mut call = ended_call(&policy, &[]);
    call.contact_candidates = vec!["9".into(), "3".into()];
    let (asked, outcome) = drive(Step::AwaitAgent, &call, &policy, 1, |r| {
        panic!("unexpected {r:?}")
    });
    assert!(asked.is_empty());
    assert!(outcome.agent_timed_out);
    assert_eq!(outcome.contact_id.as_deref(), Some("9"));
    assert_eq!(
        outcome.contact_rule,
        Some(ContactRule::PhoneAmbiguousTimeoutNewest)
    );
}
