//! Connector groups, backends and the agents directory in the config, their checks,
//! and the translation of a group's keys into the core's [`Policy`].

use std::collections::{BTreeMap, BTreeSet};

use deskbridge_core::policy::{
    AgentFallback, AmbiguousCaller, AttributeNames, CreateSet, Priority, TicketAssignment,
    TicketStatus, TicketTiming, TicketType, UnansweredPolicy,
};
use deskbridge_core::{Phone, Policy, Region};
use serde::{Deserialize, Serialize};

use super::Config;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    Builtin,
    Zendesk,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendConfig {
    pub kind: BackendKind,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub subdomain: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub api_token: Option<String>,
    #[serde(default)]
    pub requests_per_minute: Option<u32>,
}

/// One agent of the directory.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentConfig {
    pub email: String,
    pub name: Option<String>,
    pub extension: Option<String>,
    /// The agent's Zendesk user id (else looked up by email).
    pub zendesk_id: Option<String>,
    /// Extension or SIP URI that routing answers with.
    pub target: Option<String>,
    /// Sign-in to the agent page (argon2id hash).
    pub password_hash: Option<String>,
}

/// A connector group: its tokens, numbers, backend and policy. Policy keys left out
/// take the defaults of [`Policy::default`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GroupConfig {
    pub name: String,
    /// A key of `[backends]`; default: the built-in CRM.
    pub backend: Option<String>,
    /// Bearer tokens that send events for this group (and read its calls).
    pub tokens: Vec<String>,
    /// The group's own numbers (dialed numbers); pick the group for events from a
    /// token shared by several groups.
    pub numbers: Vec<String>,
    pub default_region: Option<String>,

    /// Records deskbridge may create: contact, organization, ticket, comment.
    pub create: Option<Vec<String>>,
    pub contact_name: Option<String>,
    pub organization_name: Option<String>,
    pub ambiguous_caller: Option<AmbiguousCaller>,

    pub use_ivr_ticket: Option<bool>,
    pub reuse_recent_minutes: Option<u32>,
    pub attach_open_ticket: Option<bool>,
    pub create_ticket_at: Option<TicketTiming>,
    pub wait_for_recording_seconds: Option<u64>,
    pub ticket_subject: Option<String>,
    pub ticket_priority: Option<Priority>,
    pub ticket_type: Option<TicketType>,
    pub ticket_status: Option<TicketStatus>,
    pub ticket_tags: Option<Vec<String>>,
    pub ticket_form: Option<String>,
    /// Ticket field id → template over call data.
    pub custom_fields: BTreeMap<String, String>,

    pub assign: Option<bool>,
    pub default_assignee: Option<String>,
    pub missed_call: Option<UnansweredPolicy>,
    pub voicemail: Option<UnansweredPolicy>,
    pub ticket_assignment: Option<TicketAssignment>,
    pub agent_timeout_seconds: Option<u64>,
    pub agent_fallback: Option<AgentFallback>,
    /// Names of the per-call attributes (`[groups.attributes]`).
    pub attributes: Option<AttributeNames>,
}

impl GroupConfig {
    /// The core's policy for this group (after [`check_groups`] passed).
    pub fn policy(&self) -> Policy {
        let d = Policy::default();
        Policy {
            create: self
                .create
                .as_deref()
                .and_then(|w| CreateSet::parse(w).ok())
                .unwrap_or(d.create),
            contact_name: self.contact_name.clone().unwrap_or(d.contact_name),
            organization_name: self
                .organization_name
                .clone()
                .unwrap_or(d.organization_name),
            ambiguous_caller: self.ambiguous_caller.unwrap_or(d.ambiguous_caller),
            use_ivr_ticket: self.use_ivr_ticket.unwrap_or(d.use_ivr_ticket),
            reuse_recent_minutes: self.reuse_recent_minutes.unwrap_or(d.reuse_recent_minutes),
            attach_open_ticket: self.attach_open_ticket.unwrap_or(d.attach_open_ticket),
            create_ticket_at: self.create_ticket_at.unwrap_or(d.create_ticket_at),
            wait_for_recording_seconds: self
                .wait_for_recording_seconds
                .unwrap_or(d.wait_for_recording_seconds),
            ticket_subject: self.ticket_subject.clone().unwrap_or(d.ticket_subject),
            ticket_priority: self.ticket_priority.unwrap_or(d.ticket_priority),
            ticket_type: self.ticket_type.unwrap_or(d.ticket_type),
            ticket_status: self.ticket_status.unwrap_or(d.ticket_status),
            ticket_tags: self.ticket_tags.clone().unwrap_or(d.ticket_tags),
            ticket_form: self.ticket_form.clone().or(d.ticket_form),
            custom_fields: self.custom_fields.clone(),
            assign: self.assign.unwrap_or(d.assign),
            default_assignee: self.default_assignee.clone().or(d.default_assignee),
            missed_call: self.missed_call.unwrap_or(d.missed_call),
            voicemail: self.voicemail.unwrap_or(d.voicemail),
            ticket_assignment: self.ticket_assignment.unwrap_or(d.ticket_assignment),
            agent_timeout_seconds: self
                .agent_timeout_seconds
                .unwrap_or(d.agent_timeout_seconds),
            agent_fallback: self.agent_fallback.unwrap_or(d.agent_fallback),
            attributes: self.attributes.clone().unwrap_or(d.attributes),
        }
    }

    pub fn region(&self, fallback: Region) -> Region {
        self.default_region
            .as_deref()
            .and_then(|r| r.parse().ok())
            .unwrap_or(fallback)
    }

    /// The group's numbers in E.164.
    pub fn numbers_e164(&self, fallback: Region) -> Vec<String> {
        let region = self.region(fallback);
        self.numbers
            .iter()
            .filter_map(|n| Phone::parse(n, region).e164().map(str::to_string))
            .collect()
    }
}

pub fn check_backends(backends: &BTreeMap<String, BackendConfig>, errors: &mut Vec<String>) {
    for (name, b) in backends {
        if b.kind == BackendKind::Zendesk {
            errors.push(format!(
                "backends.{name}.kind: the Zendesk backend is not available in this version yet; use \"builtin\""
            ));
        }
    }
}

fn looks_like_email(s: &str) -> bool {
    s.contains('@') && !s.contains(char::is_whitespace) && !s.starts_with('@') && !s.ends_with('@')
}

pub fn check_agents(agents: &[AgentConfig], errors: &mut Vec<String>) {
    let mut emails = BTreeSet::new();
    let mut extensions = BTreeSet::new();
    for (i, a) in agents.iter().enumerate() {
        if !looks_like_email(&a.email) {
            errors.push(format!(
                "agents[{i}].email: {:?} is not an email address; each agent needs one",
                a.email
            ));
        } else if !emails.insert(a.email.to_ascii_lowercase()) {
            errors.push(format!("agents[{i}].email: {} is listed twice", a.email));
        }
        if let Some(x) = &a.extension
            && !extensions.insert(x.clone())
        {
            errors.push(format!(
                "agents[{i}].extension: {x} belongs to another agent too; extensions must be unique"
            ));
        }
    }
}

pub fn check_groups(config: &Config, errors: &mut Vec<String>) {
    let region = config.region();
    let mut names = BTreeSet::new();
    for (i, g) in config.groups.iter().enumerate() {
        let key = |k: &str| format!("groups[{i}].{k}");
        if g.name.trim().is_empty() {
            errors.push(format!("{}: every group needs a name", key("name")));
        } else if !g
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            errors.push(format!(
                "{}: {:?} may use only letters, digits, - and _",
                key("name"),
                g.name
            ));
        } else if !names.insert(g.name.clone()) {
            errors.push(format!(
                "{}: another group is named {:?}",
                key("name"),
                g.name
            ));
        }
        if g.tokens.is_empty() {
            errors.push(format!(
                "{}: a group needs at least one token, e.g. tokens = [\"${{SUPPORT_INGEST_TOKEN}}\"]",
                key("tokens")
            ));
        }
        for (t, token) in g.tokens.iter().enumerate() {
            if token.trim().len() < 16 {
                errors.push(format!(
                    "{}[{t}]: tokens must be at least 16 characters (use a long random value)",
                    key("tokens")
                ));
            }
        }
        if let Some(b) = &g.backend
            && b != "builtin"
            && !config.backends.contains_key(b)
        {
            errors.push(format!(
                "{}: no backend {b:?}; define [backends.{b}] or leave it out for the built-in CRM",
                key("backend")
            ));
        }
        if let Some(r) = &g.default_region
            && let Err(e) = r.parse::<Region>()
        {
            errors.push(format!("{}: {e}", key("default_region")));
        }
        let group_region = g.region(region);
        for (n, raw) in g.numbers.iter().enumerate() {
            if Phone::parse(raw, group_region).e164().is_none() {
                errors.push(format!(
                    "{}[{n}]: {raw:?} is not a valid phone number for region {}",
                    key("numbers"),
                    group_region.code()
                ));
            }
        }
        if let Some(words) = &g.create
            && let Err(word) = CreateSet::parse(words)
        {
            errors.push(format!(
                "{}: {word:?} is not something deskbridge creates; use contact, organization, ticket or comment",
                key("create")
            ));
        }
        if let Some(a) = &g.default_assignee
            && !looks_like_email(a)
        {
            errors.push(format!(
                "{}: {a:?} is not an email address; name the agent by email",
                key("default_assignee")
            ));
        }
        if g.agent_timeout_seconds == Some(0) {
            errors.push(format!(
                "{}: must be at least 1 second",
                key("agent_timeout_seconds")
            ));
        }
        for e in g.policy().validate(&format!("groups[{i}]")) {
            errors.push(e.to_string());
        }
    }
}
