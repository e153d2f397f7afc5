//! `IdentifyCaller` and `AwaitAgent`: which contact the call belongs to.

use super::{Cx, Progress, Request, StepError, done, need};
use crate::agent_mode::{AgentAction, chosen_outcome};
use crate::decide::{ContactQuery, PhoneMatch, contact_query, phone_match};
use crate::interaction::{Interaction, StepOutcome};
use crate::ports::NewContact;
use crate::rule::{CallerMatch, ContactRule};

/// The IVR's contact if it exists; else the contact with the caller's number,
/// looked up (and created if there is none) under the number's lock.
pub(super) fn run(cx: &Cx) -> Result<Progress, StepError> {
    let a = cx.answers;
    let policy = cx.rules.policy;
    let (phone, source, after_unknown_attribute) =
        match contact_query(cx.call, policy, cx.rules.region) {
            ContactQuery::ById { id, then_phone } => match (&a.contact_by_id, then_phone) {
                (None, _) => return need(Request::GetContact(id)),
                (Some(Some(contact)), _) => {
                    return done(found(contact.id.clone(), ContactRule::AttributeContact));
                }
                (Some(None), Some((phone, source))) => (phone, source, true),
                (Some(None), None) => {
                    return done(StepOutcome {
                        contact_rule: Some(ContactRule::AttributeContactNotFound),
                        skipped: Some(format!("no contact {id} and no number to look up")),
                        ..StepOutcome::default()
                    });
                }
            },
            ContactQuery::ByPhone { phone, source } => (phone, source, false),
            ContactQuery::Nothing { reason } => {
                return done(StepOutcome {
                    contact_rule: Some(reason),
                    skipped: Some("no number to look up".into()),
                    ..StepOutcome::default()
                });
            }
        };
    let rule = |found: CallerMatch| ContactRule::ByPhone {
        source,
        after_unknown_attribute,
        found,
    };
    // A concurrent call from the same new number waits for the lock and then
    // finds the contact this one made.
    if !a.locked {
        return need(Request::LockPhone(phone));
    }
    let Some(matches) = &a.contacts_by_phone else {
        return need(Request::FindContactsByPhone(phone));
    };
    match phone_match(matches, cx.call.plan.ambiguous_caller) {
        PhoneMatch::Use { id, found: f } => done(found(id, rule(f))),
        PhoneMatch::AskAgent { candidates } => done(StepOutcome {
            contact_rule: Some(rule(CallerMatch::PhoneAmbiguousAgentDecides)),
            contact_candidates: candidates,
            ..StepOutcome::default()
        }),
        PhoneMatch::Create { .. } if !policy.create.contact => done(StepOutcome {
            contact_rule: Some(rule(CallerMatch::ContactCreationOff)),
            ..StepOutcome::default()
        }),
        PhoneMatch::Create { found: f } => {
            let templates = cx.rules.templates;
            if policy.create.organization
                && a.organization.is_none()
                && let Some(name) = templates.organization_name(cx.call)?
            {
                let key = (cx.key)("identify_caller/organization");
                return need(Request::CreateOrganization { name, key });
            }
            match &a.created_contact {
                Some(contact) => done(found(contact.id.clone(), rule(f))),
                None => need(Request::CreateContact {
                    contact: NewContact {
                        name: templates.contact_name(cx.call)?,
                        phone: Some(phone),
                        email: None,
                        organization_id: a.organization.clone(),
                    },
                    key: (cx.key)("identify_caller"),
                }),
            }
        }
    }
}

fn found(id: String, rule: ContactRule) -> StepOutcome {
    StepOutcome {
        contact_id: Some(id),
        contact_rule: Some(rule),
        ..StepOutcome::default()
    }
}

/// `AwaitAgent`: the agent's choice, carried out (the caller's number added to
/// the chosen contact first, when asked); else the deadline's fallback.
pub(super) fn await_agent(cx: &Cx) -> Result<Progress, StepError> {
    let Some(choice) = &cx.call.agent_choice else {
        return done(agent_timeout(cx.call));
    };
    if let AgentAction::Contact {
        contact_id,
        add_phone: true,
    } = &choice.action
        && !cx.answers.phone_added
        && let Some(phone) = cx.call.customer_phone().and_then(|p| p.e164())
    {
        return need(Request::AddContactPhone {
            contact_id: contact_id.clone(),
            phone: phone.to_string(),
        });
    }
    done(chosen_outcome(choice))
}

/// The agent's deadline passed without a decision: the group's fallback runs (the
/// call's next step follows from `agent_timed_out`). A number shared by several
/// contacts then goes to the newest of them.
pub(super) fn agent_timeout(call: &Interaction) -> StepOutcome {
    let newest = call
        .contact_id
        .is_none()
        .then(|| call.contact_candidates.first().cloned())
        .flatten();
    StepOutcome {
        contact_rule: newest
            .as_ref()
            .map(|_| ContactRule::PhoneAmbiguousTimeoutNewest),
        contact_id: newest,
        agent_timed_out: true,
        ..StepOutcome::default()
    }
}
