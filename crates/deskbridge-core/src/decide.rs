//! Decision functions: given the call, the group's policy and what the helpdesk
//! answered, which records the call uses. Pure, so every rule, its per-call
//! override and their precedence are tested with tables rather than servers.

use chrono::{DateTime, Utc};

use crate::interaction::Interaction;
use crate::phone::{Phone, Region};
use crate::policy::{AmbiguousCaller, Policy, UnansweredPolicy};
use crate::ports::{ContactSummary, TicketSummary};

// ---- the caller ----

/// How to find the caller's contact, decided before any lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactQuery {
    /// The IVR named the contact (`zendesk_user`); verify it exists, then fall back
    /// to the number.
    ById {
        id: String,
        then_phone: Option<String>,
    },
    /// Look up by this E.164 number; `rule` says where the number came from.
    ByPhone { phone: String, rule: &'static str },
    /// Nothing to look up: the number was withheld or is not a valid number.
    Nothing { reason: &'static str },
}

pub fn contact_query(call: &Interaction, policy: &Policy, region: Region) -> ContactQuery {
    let names = &policy.attributes;
    // `customer_number` replaces the caller id (a callback number the IVR collected,
    // or the real customer behind a forwarding service).
    let (phone, source) = match policy.attribute(call, &names.customer_number) {
        Some(raw) => (Some(Phone::parse(raw, region)), "customer_number"),
        None => (call.customer_phone().cloned(), "phone"),
    };
    let e164 = phone.as_ref().and_then(Phone::e164).map(str::to_string);
    if let Some(id) = policy.attribute(call, &names.contact).filter(|v| *v != "0") {
        return ContactQuery::ById {
            id: id.to_string(),
            then_phone: e164,
        };
    }
    match (e164, phone) {
        (Some(phone), _) => ContactQuery::ByPhone {
            phone,
            rule: source,
        },
        (None, Some(Phone::Anonymous)) | (None, None) => ContactQuery::Nothing {
            reason: "caller_anonymous",
        },
        (None, Some(_)) => ContactQuery::Nothing {
            reason: "caller_number_invalid",
        },
    }
}

/// What the phone lookup means for the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneMatch {
    /// Use this contact; `rule` says why.
    Use { id: String, rule: &'static str },
    /// Create a contact.
    Create { rule: &'static str },
    /// Several contacts share the number and the agent picks (newest first).
    AskAgent { candidates: Vec<String> },
}

/// Picks the contact among those having the number. One match is used; several
/// are ambiguous and follow the group's rule, which the call records.
pub fn phone_match(matches: &[ContactSummary], rule: AmbiguousCaller) -> PhoneMatch {
    match matches {
        [] => PhoneMatch::Create {
            rule: "new_contact",
        },
        [one] => PhoneMatch::Use {
            id: one.id.clone(),
            rule: "phone_match",
        },
        many => {
            let mut sorted: Vec<&ContactSummary> = many.iter().collect();
            sorted.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
            match rule {
                AmbiguousCaller::Newest => PhoneMatch::Use {
                    id: sorted[0].id.clone(),
                    rule: "phone_ambiguous_newest",
                },
                AmbiguousCaller::NewContact => PhoneMatch::Create {
                    rule: "phone_ambiguous_new_contact",
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
    let attr = |name: &str| policy.attribute(call, name);
    let force_new = attr(&names.force_new_ticket)
        .and_then(truthy)
        .unwrap_or(false);
    let ivr_ticket = attr(&names.ticket)
        .filter(|v| *v != "0" && policy.use_ivr_ticket)
        .map(str::to_string);
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
        unanswered: call.unanswered_policy(policy),
    }
}

/// What to look up before [`choose_ticket`] can decide. Nothing is fetched that no
/// rule would use.
pub fn ticket_lookups(call: &Interaction, policy: &Policy) -> TicketLookups {
    let r = ticket_rules(call, policy);
    if r.force_new || r.unanswered == Some(UnansweredPolicy::LogOnly) {
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
) -> (TicketChoice, Vec<String>) {
    let r = ticket_rules(call, policy);
    let unanswered_kind = match call.outcome() {
        Some(crate::interaction::Outcome::Voicemail) => "voicemail",
        _ => "missed_call",
    };
    let new_or_none = |rule: &str| match policy.create.ticket {
        true => (TicketChoice::New, rule.to_string()),
        false => (TicketChoice::NoTicket, "ticket_creation_off".to_string()),
    };
    if r.unanswered == Some(UnansweredPolicy::LogOnly) {
        let rule = format!("{unanswered_kind}_log_only");
        return (TicketChoice::NoTicket, vec![rule]);
    }
    if r.force_new {
        let (choice, rule) = new_or_none("new_ticket_forced");
        return (choice, vec![rule]);
    }
    let recent_only = r.unanswered == Some(UnansweredPolicy::RecentTicket);

    let mut trail: Vec<String> = Vec::new();
    if r.ivr_ticket.is_some() && !recent_only {
        let rejected = match &facts.ivr_ticket {
            None => "ivr_ticket_rejected_not_found",
            Some(t) if t.status == "closed" => "ivr_ticket_rejected_closed",
            Some(t) if t.requester_id.is_none() || t.requester_id != call.contact_id => {
                "ivr_ticket_rejected_not_requester"
            }
            Some(t) => {
                return (
                    TicketChoice::Existing(t.id.clone()),
                    vec!["ivr_ticket".into()],
                );
            }
        };
        trail.push(rejected.into());
    }
    let mut decide = |choice: TicketChoice, rule: String| {
        trail.push(rule);
        (choice, std::mem::take(&mut trail))
    };
    let mut open: Vec<&TicketSummary> = facts
        .caller_tickets
        .iter()
        .filter(|t| t.status != "closed")
        .collect();
    open.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(b.id.cmp(&a.id)));
    if r.reuse_minutes > 0
        && let Some(newest) = open.first()
        && now - newest.updated_at <= chrono::Duration::minutes(i64::from(r.reuse_minutes))
    {
        return decide(
            TicketChoice::Existing(newest.id.clone()),
            "reuse_window".into(),
        );
    }
    if recent_only {
        return decide(
            TicketChoice::NoTicket,
            format!("{unanswered_kind}_no_recent_ticket"),
        );
    }
    if r.attach_open
        && let Some(t) = open
            .iter()
            .find(|t| matches!(t.status.as_str(), "new" | "open" | "pending"))
    {
        return decide(TicketChoice::Existing(t.id.clone()), "open_ticket".into());
    }
    let (choice, rule) = new_or_none("new_ticket");
    decide(choice, rule)
}

// ---- the assignee ----

/// An agent in the directory (`[[agents]]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryAgent {
    pub email: String,
    pub name: Option<String>,
    pub extension: Option<String>,
}

/// The ticket's assignee (an agent's email) and the rule that chose it. The last
/// agent who had the call is matched by email, else name, else extension; if the
/// directory does not know them the group's default assignee takes the ticket.
pub fn choose_assignee(
    call: &Interaction,
    policy: &Policy,
    directory: &[DirectoryAgent],
) -> (Option<String>, &'static str) {
    if !policy.assign {
        return (None, "assignment_off");
    }
    let fallback =
        |rule_default: &'static str, rule_none: &'static str| match &policy.default_assignee {
            Some(a) => (Some(a.clone()), rule_default),
            None => (None, rule_none),
        };
    let Some(agent) = call.last_agent() else {
        return fallback("default_assignee_no_agent", "no_agent");
    };
    let eq = |a: &Option<String>, b: &Option<String>| match (a, b) {
        (Some(a), Some(b)) => a.trim().eq_ignore_ascii_case(b.trim()),
        _ => false,
    };
    let by = |f: &dyn Fn(&DirectoryAgent) -> bool| directory.iter().find(|d| f(d));
    if let Some(d) = by(&|d| eq(&Some(d.email.clone()), &agent.email)) {
        return (Some(d.email.clone()), "agent_email");
    }
    if let Some(d) = by(&|d| eq(&d.name, &agent.name)) {
        return (Some(d.email.clone()), "agent_name");
    }
    if let Some(d) = by(&|d| eq(&d.extension, &agent.extension)) {
        return (Some(d.email.clone()), "agent_extension");
    }
    match (&policy.default_assignee, &agent.email) {
        (Some(a), _) => (Some(a.clone()), "default_assignee"),
        // No directory entry and no default: the helpdesk may still know the email.
        (None, Some(email)) if directory.is_empty() => {
            (Some(email.clone()), "agent_email_unlisted")
        }
        _ => (None, "agent_not_in_directory"),
    }
}

#[cfg(test)]
mod tests;
