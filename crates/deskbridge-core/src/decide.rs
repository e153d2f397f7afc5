//! Decision functions: given the call, the group's policy and what the helpdesk
//! answered, which records the call uses. Pure, so every rule, its per-call
//! override and their precedence are tested with tables rather than servers.

use chrono::{DateTime, Utc};

use crate::event::AgentRef;
use crate::interaction::Interaction;
use crate::phone::{Phone, Region};
use crate::policy::{AmbiguousCaller, Policy, UnansweredPolicy};
use crate::ports::{ContactSummary, TicketSummary};
use crate::rule::{AssigneeRule, CallerMatch, ContactRule, NumberSource, TicketRule};

// ---- the caller ----

/// How to find the caller's contact, decided before any lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactQuery {
    /// The IVR named the contact (`zendesk_user`); verify it exists, then fall back
    /// to the number.
    ById {
        id: String,
        then_phone: Option<(String, NumberSource)>,
    },
    /// Look up by this E.164 number; `source` says where the number came from.
    ByPhone { phone: String, source: NumberSource },
    /// Nothing to look up: the number was withheld or is not a valid number.
    Nothing { reason: ContactRule },
}

pub fn contact_query(call: &Interaction, policy: &Policy, region: Region) -> ContactQuery {
    let names = &policy.attributes;
    // `customer_number` replaces the caller id (a callback number the IVR collected,
    // or the real customer behind a forwarding service).
    let (phone, source) = match call.attribute(&names.customer_number) {
        Some(raw) => (
            Some(Phone::parse(raw, region)),
            NumberSource::CustomerNumber,
        ),
        None => (call.customer_phone().cloned(), NumberSource::CallerId),
    };
    let e164 = phone.as_ref().and_then(Phone::e164).map(str::to_string);
    if let Some(id) = call.attribute(&names.contact).filter(|v| *v != "0") {
        return ContactQuery::ById {
            id: id.to_string(),
            then_phone: e164.map(|p| (p, source)),
        };
    }
    match (e164, phone) {
        (Some(phone), _) => ContactQuery::ByPhone { phone, source },
        (None, Some(Phone::Anonymous)) | (None, None) => ContactQuery::Nothing {
            reason: ContactRule::CallerAnonymous,
        },
        (None, Some(_)) => ContactQuery::Nothing {
            reason: ContactRule::CallerNumberInvalid,
        },
    }
}

/// What the phone lookup means for the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneMatch {
    /// Use this contact; `found` says why.
    Use { id: String, found: CallerMatch },
    /// Create a contact.
    Create { found: CallerMatch },
    /// Several contacts share the number and the agent picks (newest first).
    AskAgent { candidates: Vec<String> },
}

/// Picks the contact among those having the number. One match is used; several
/// are ambiguous and follow the group's rule, which the call records.
pub fn phone_match(matches: &[ContactSummary], rule: AmbiguousCaller) -> PhoneMatch {
    match matches {
        [] => PhoneMatch::Create {
            found: CallerMatch::NewContact,
        },
        [one] => PhoneMatch::Use {
            id: one.id.clone(),
            found: CallerMatch::PhoneMatch,
        },
        many => {
            let mut sorted: Vec<&ContactSummary> = many.iter().collect();
            sorted.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
            match rule {
                AmbiguousCaller::Newest => PhoneMatch::Use {
                    id: sorted[0].id.clone(),
                    found: CallerMatch::PhoneAmbiguousNewest,
                },
                AmbiguousCaller::NewContact => PhoneMatch::Create {
                    found: CallerMatch::PhoneAmbiguousNewContact,
                },
                AmbiguousCaller::Agent => PhoneMatch::AskAgent {
                    candidates: sorted.iter().map(|c| c.id.clone()).collect(),
                },
            }
        }
    }
}

// ---- the ticket ----

/// What the ticket choice needs looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketLookups {
    /// The IVR's ticket number, to fetch and verify.
    pub ivr_ticket: Option<String>,
    /// The caller's not-closed tickets are needed (reuse window or open ticket).
    pub caller_tickets: bool,
}

/// The effective settings for this call: the group's, overridden by attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TicketRules {
    force_new: bool,
    ivr_ticket: Option<String>,
    reuse_minutes: u32,
    attach_open: bool,
    unanswered: Option<UnansweredPolicy>,
}

fn truthy(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "on" => Some(true),
        "false" | "no" | "0" | "off" => Some(false),
        _ => None,
    }
}

fn ticket_rules(call: &Interaction, policy: &Policy) -> TicketRules {
    let names = &policy.attributes;
    let attr = |name: &str| call.attribute(name);
    // The IVR's ticket number `0` asks for a new ticket (the meaning Zendesk's
    // Amazon Connect app gives it), whatever the reuse window or the open ticket
    // would pick.
    let force_new = attr(&names.force_new_ticket)
        .and_then(truthy)
        .unwrap_or(false)
        || attr(&names.ticket) == Some("0");
    let ivr_ticket = call.plan.log_on_ticket.clone().or_else(|| {
        attr(&names.ticket)
            .filter(|v| *v != "0" && policy.use_ivr_ticket)
            .map(str::to_string)
    });
    let reuse_minutes = attr(&names.reuse_minutes)
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(policy.reuse_recent_minutes);
    let attach_open = attr(&names.attach_open_ticket)
        .and_then(truthy)
        .unwrap_or(policy.attach_open_ticket);
    TicketRules {
        force_new,
        ivr_ticket,
        reuse_minutes,
        attach_open,
        unanswered: UnansweredPolicy::for_outcome(
            call.outcome(),
            policy.missed_call,
            policy.voicemail,
        ),
    }
}

/// What to look up before [`choose_ticket`] can decide. Nothing is fetched that no
/// rule would use.
pub fn ticket_lookups(call: &Interaction, policy: &Policy) -> TicketLookups {
    let r = ticket_rules(call, policy);
    if r.force_new
        || r.unanswered == Some(UnansweredPolicy::LogOnly)
        || call.agent_chose_new_ticket()
    {
        return TicketLookups {
            ivr_ticket: None,
            caller_tickets: false,
        };
    }
    let recent_only = r.unanswered == Some(UnansweredPolicy::RecentTicket);
    TicketLookups {
        ivr_ticket: r.ivr_ticket.filter(|_| !recent_only),
        caller_tickets: call.contact_id.is_some()
            && (r.reuse_minutes > 0 || recent_only || r.attach_open),
    }
}

/// What the helpdesk answered to [`TicketLookups`].
#[derive(Debug, Clone, Default)]
pub struct TicketFacts {
    /// The IVR's ticket, `None` if it does not exist.
    pub ivr_ticket: Option<TicketSummary>,
    /// The caller's tickets that are not closed.
    pub caller_tickets: Vec<TicketSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketChoice {
    Existing(String),
    New,
    NoTicket,
}

/// The ticket a call goes to, and the rules it went through (the last decided).
/// Order: IVR ticket, reuse window, the caller's open ticket, a new ticket.
pub fn choose_ticket(
    call: &Interaction,
    policy: &Policy,
    facts: &TicketFacts,
    now: DateTime<Utc>,
) -> (TicketChoice, Vec<TicketRule>) {
    let r = ticket_rules(call, policy);
    let voicemail = call.outcome() == Some(crate::interaction::Outcome::Voicemail);
    let new_or_none = |rule: TicketRule| match policy.create.ticket {
        true => (TicketChoice::New, rule),
        false => (TicketChoice::NoTicket, TicketRule::TicketCreationOff),
    };
    if r.unanswered == Some(UnansweredPolicy::LogOnly) {
        let rule = match voicemail {
            true => TicketRule::VoicemailLogOnly,
            false => TicketRule::MissedCallLogOnly,
        };
        return (TicketChoice::NoTicket, vec![rule]);
    }
    if call.agent_chose_new_ticket() {
        return (TicketChoice::New, vec![TicketRule::AgentNewTicket]);
    }
    if r.force_new {
        let (choice, rule) = new_or_none(TicketRule::NewTicketForced);
        return (choice, vec![rule]);
    }
    let recent_only = r.unanswered == Some(UnansweredPolicy::RecentTicket);

    let mut trail: Vec<TicketRule> = Vec::new();
    if r.ivr_ticket.is_some() && !recent_only {
        let rejected = match &facts.ivr_ticket {
            None => TicketRule::IvrTicketRejectedNotFound,
            Some(t) if t.status == "closed" => TicketRule::IvrTicketRejectedClosed,
            Some(t) if t.requester_id.is_none() || t.requester_id != call.contact_id => {
                TicketRule::IvrTicketRejectedNotRequester
            }
            Some(t) => {
                return (
                    TicketChoice::Existing(t.id.clone()),
                    vec![TicketRule::IvrTicket],
                );
            }
        };
        trail.push(rejected);
    }
    let mut decide = |choice: TicketChoice, rule: TicketRule| {
        trail.push(rule);
        (choice, std::mem::take(&mut trail))
    };
    let mut open: Vec<&TicketSummary> = facts
        .caller_tickets
        .iter()
        .filter(|t| t.status != "closed")
        .collect();
    open.sort_by(|a, b| newest_first(a, b));
    if r.reuse_minutes > 0
        && let Some(newest) = open.first()
        && now - newest.updated_at <= chrono::Duration::minutes(i64::from(r.reuse_minutes))
    {
        return decide(
            TicketChoice::Existing(newest.id.clone()),
            TicketRule::ReuseWindow,
        );
    }
    if recent_only {
        let rule = match voicemail {
            true => TicketRule::VoicemailNoRecentTicket,
            false => TicketRule::MissedCallNoRecentTicket,
        };
        return decide(TicketChoice::NoTicket, rule);
    }
    if r.attach_open
        && let Some(t) = open.iter().find(|t| is_open(&t.status))
    {
        return decide(TicketChoice::Existing(t.id.clone()), TicketRule::OpenTicket);
    }
    let (choice, rule) = new_or_none(TicketRule::NewTicket);
    decide(choice, rule)
}

/// A ticket someone is still working on: new, open or pending (solved and
/// closed ones are done). The caller's "open ticket" for attaching a call, for
/// the caller card and for routing.
pub fn is_open(status: &str) -> bool {
    matches!(status, "new" | "open" | "pending")
}

/// The order the rules read a caller's tickets in: the most recently updated
/// first, the newer ticket first on a tie.
pub fn newest_first(a: &TicketSummary, b: &TicketSummary) -> std::cmp::Ordering {
    b.updated_at.cmp(&a.updated_at).then(b.id.cmp(&a.id))
}

// ---- the assignee ----

/// An agent in the directory (`[[agents]]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryAgent {
    pub email: String,
    pub name: Option<String>,
    pub extension: Option<String>,
    /// Where routing sends the agent's callers (an extension or a SIP URI);
    /// else their extension.
    pub target: Option<String>,
}

/// The ticket's assignee (an agent's email) and the rule that chose it. The last
/// agent who had the call is matched by email, else name, else extension; if the
/// directory does not know them the group's default assignee takes the ticket.
pub fn choose_assignee(
    call: &Interaction,
    policy: &Policy,
    directory: &[DirectoryAgent],
) -> (Option<String>, AssigneeRule) {
    if !policy.assign {
        return (None, AssigneeRule::AssignmentOff);
    }
    let Some(agent) = call.last_agent() else {
        return match &policy.default_assignee {
            Some(a) => (Some(a.clone()), AssigneeRule::DefaultAssigneeNoAgent),
            None => (None, AssigneeRule::NoAgent),
        };
    };
    if let Some((d, rule)) = directory_match(directory, agent) {
        return (Some(d.email.clone()), rule);
    }
    match (&policy.default_assignee, &agent.email) {
        (Some(a), _) => (Some(a.clone()), AssigneeRule::DefaultAssignee),
        // No directory entry and no default: the helpdesk may still know the email.
        (None, Some(email)) if directory.is_empty() => {
            (Some(email.clone()), AssigneeRule::AgentEmailUnlisted)
        }
        _ => (None, AssigneeRule::AgentNotInDirectory),
    }
}

/// The directory's entry for an agent as a phone system names them: by email,
/// else name, else extension (the rule says which matched).
pub fn directory_match<'a>(
    directory: &'a [DirectoryAgent],
    agent: &AgentRef,
) -> Option<(&'a DirectoryAgent, AssigneeRule)> {
    let eq = |a: Option<&String>, b: &Option<String>| match (a, b) {
        (Some(a), Some(b)) => a.trim().eq_ignore_ascii_case(b.trim()),
        _ => false,
    };
    let by = |f: &dyn Fn(&DirectoryAgent) -> bool| directory.iter().find(|d| f(d));
    if let Some(d) = by(&|d| eq(Some(&d.email), &agent.email)) {
        return Some((d, AssigneeRule::AgentEmail));
    }
    if let Some(d) = by(&|d| eq(d.name.as_ref(), &agent.name)) {
        return Some((d, AssigneeRule::AgentName));
    }
    by(&|d| eq(d.extension.as_ref(), &agent.extension)).map(|d| (d, AssigneeRule::AgentExtension))
}

pub mod callback;
pub mod dial;
pub mod pause;
pub mod pop;
pub mod wrap_up;

#[cfg(test)]
mod tests;
