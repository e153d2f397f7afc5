//! Connector groups and the agents directory in the config, their checks,
//! and the translation of a group's keys into the core's [`Policy`].

use std::collections::{BTreeMap, BTreeSet};

use deskbridge_core::callback::CallbackRules;
use deskbridge_core::chat::{ChatFieldSource, ChatPolicy};
use deskbridge_core::policy::{
    AgentFallback, AmbiguousCaller, AttributeNames, CreateSet, PopField, Priority,
    TicketAssignment, TicketStatus, TicketTiming, TicketType, UnansweredPolicy,
};
use deskbridge_core::pop::{PopAction, PopNewTicket, PopOn};
use deskbridge_core::{Phone, Policy, Region};
use serde::{Deserialize, Serialize};

use super::{BackendKind, Config};

mod figures;
mod on_helpdesk;

/// One agent of the directory.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AgentConfig {
    pub email: String,
    pub name: Option<String>,
    pub extension: Option<String>,
    /// The agent's Zendesk user id (else looked up by email).
    pub zendesk_id: Option<String>,
    /// Extension or SIP URI that routing answers with.
    pub target: Option<String>,
    /// Sign-in to the agent page (argon2id hash, `deskbridge agent hash-password`).
    pub password_hash: Option<String>,
    /// Sign-in to the agent page without a password (e.g. `"${ANN_TOKEN}"`): a
    /// long random secret for a kiosk or a Zendesk sidebar app.
    pub token: Option<String>,
    /// May open the admin page.
    pub admin: bool,
    /// May read the contact center's figures of the agent's groups
    /// (`GET /api/v1/stats`, the wallboard at `/wallboard`) without being an
    /// admin (an admin reads every group's).
    pub supervisor: bool,
    /// The connector groups the agent works in: whose callers their lookups,
    /// routing answers and contact searches reach. Left out, an agent reaches
    /// the only group when there is one, and none when there are several (an
    /// agent of one team must not look up another team's customers).
    pub groups: Vec<String>,
}

/// A connector group: its tokens, numbers, backend and policy. Policy keys left out
/// take the defaults of [`Policy::default`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// A call logged on a solved ticket sets it open (default true).
    pub reopen_solved: Option<bool>,
    pub create_ticket_at: Option<TicketTiming>,
    pub wait_for_recording_seconds: Option<u64>,
    pub ticket_subject: Option<String>,
    pub ticket_priority: Option<Priority>,
    pub ticket_type: Option<TicketType>,
    pub ticket_status: Option<TicketStatus>,
    pub ticket_tags: Option<Vec<String>>,
    /// Zendesk: the ticket form's id (Freshdesk has none).
    pub ticket_form: Option<String>,
    /// The helpdesk group a new ticket goes to: its id, or a template over
    /// call data that renders one (e.g. by queue). Left out, the helpdesk
    /// routes the ticket.
    pub ticket_group: Option<String>,
    /// Freshdesk: the product a new ticket is for, as `ticket_group`.
    pub ticket_product: Option<String>,
    /// Ticket field → template over call data: a Zendesk field's id, a
    /// Freshdesk custom field's name (`cf_...`).
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
    /// The group's Asterisk manager interface (`[groups.asterisk]`).
    pub asterisk: Option<super::AsteriskConfig>,

    /// Inbound numbers refused (Zammad CTI `reject`); the calls are still logged.
    pub block: Vec<super::dialing::BlockEntry>,
    /// Outbound caller id by destination, first match wins (Zammad CTI `dial`).
    pub caller_id_rules: Vec<super::dialing::CallerIdRuleConfig>,
    pub default_caller_id: Option<String>,
    /// Click-to-call through a phone system's click-to-dial API
    /// (`[groups.dial_webhook]`), when the group has no Asterisk to originate
    /// on.
    pub dial_webhook: Option<super::dialing::DialWebhookConfig>,
    /// Click-to-call through Twilio (`[groups.twilio_dial]`).
    pub twilio_dial: Option<super::dialing::TwilioDialConfig>,
    /// The Twilio account's auth token: callbacks to `/api/v1/twilio/{group}`
    /// must be signed with it.
    pub twilio_auth_token: Option<String>,
    /// Screen pops: when (`ringing`, `answered`, `off`), what they open, and
    /// whether a ticket pop opens a new ticket.
    pub pop_on: Option<PopOn>,
    pub pop_action: Option<PopAction>,
    pub pop_new_ticket: Option<PopNewTicket>,
    /// Ticket field holding the caller's number (`ticket_by_ani`): a Zendesk
    /// field's id, a Freshdesk custom field's name (`cf_...`).
    pub pop_ticket_field: Option<String>,
    /// `{ id = "360000003", value = "{{ attributes.utm_source }}" }`: filled on a
    /// ticket the pop opens as new, only there.
    pub pop_new_ticket_field: Option<PopField>,

    /// Zendesk groups: a call that ends with a recording is written as a voice
    /// comment (Zendesk's recording player and the call's details) on the
    /// ticket created for it (Talk Partner Edition's ticket create).
    pub zendesk_voice: Option<bool>,
    /// Zendesk groups: the id of the Talk Partner Edition app (Zendesk Apps
    /// Framework) the group's calls are recorded under. With it, the call
    /// comment on an existing ticket is a call record (`POST /api/v2/calls`)
    /// whose voice comment shows the call.
    ///
    /// A group key, not a backend key: the app is the phone system's
    /// integration, and a group is one phone system (one site or brand); two
    /// groups writing to one Zendesk account can be two telephony apps, or one
    /// with records and one without. The backend stays the account alone.
    pub zendesk_app_id: Option<u64>,

    /// What the site's closed chats become (`[groups.chat]`,
    /// `POST /api/v1/conversations`).
    pub chat: Option<ChatConfig>,

    /// Missed, abandoned and voicemail calls open a callback for the number,
    /// listed for the group's agents until the customer is reached (default
    /// true).
    pub callbacks: Option<bool>,
    /// The group's target for reaching a missed caller, in minutes from the
    /// first missed call (default 60): callbacks show their age against it and
    /// `/metrics` counts those reached within it.
    pub callback_within_minutes: Option<u32>,
    /// Unanswered calls out to the number before its callback closes as
    /// unreached (default 3).
    pub callback_attempts: Option<u32>,

    /// The group's figures count a call answered after waiting at most this
    /// many seconds as answered in time, for its service level (default 20,
    /// 1 to 3600).
    pub service_level_seconds: Option<u64>,
    /// The group's figures count a caller who hung up while waiting sooner
    /// than this many seconds as a short abandon (a wrong number, a wrong
    /// menu choice), not held against the service level (default 0: none;
    /// up to 600).
    pub short_abandon_seconds: Option<u64>,
    /// A read-only token for the group's live wallboard on a TV screen
    /// (`/wallboard#token=...`): it reads the wallboard and nothing else, so
    /// a screen on the office wall holds no key to the calls or the events.
    /// At least 16 characters, and no other token's.
    pub wallboard_token: Option<String>,

    /// Wrap-up codes agents choose after each answered call
    /// (`[groups.wrap_up]`).
    pub wrap_up: Option<super::WrapUpConfig>,

    /// CRM triggers (`[[groups.triggers]]`): who hears of changes to the
    /// group's CRM records.
    pub triggers: Vec<super::TriggerConfig>,
}

/// A site's chats (`[groups.chat]`): archived as solved tickets, escalated as
/// open ones; every key optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ChatConfig {
    /// The ticket form of a chat's ticket (Zendesk `ticket_form_id`).
    pub ticket_form: Option<String>,
    /// Tags on every chat's ticket of the site (the conversation's own follow).
    pub tags: Vec<String>,
    /// Ticket field (Zendesk: its id; Freshdesk: `cf_...`) → `conversation_id`,
    /// `channel`, `tags`, `visitor_email`, `agent_email` or `attribute:NAME`.
    pub fields: BTreeMap<String, String>,
    /// The heading of the agent's note on an escalated chat's ticket.
    pub note_label: Option<String>,
}

impl ChatConfig {
    fn policy(&self) -> ChatPolicy {
        let d = ChatPolicy::default();
        ChatPolicy {
            ticket_form: self.ticket_form.clone(),
            tags: self.tags.clone(),
            fields: self
                .fields
                .iter()
                .filter_map(|(id, source)| Some((id.clone(), ChatFieldSource::parse(source)?)))
                .collect(),
            note_label: self
                .note_label
                .clone()
                .filter(|l| !l.trim().is_empty())
                .unwrap_or(d.note_label),
        }
    }

    fn check(&self, key: &str, errors: &mut Vec<String>) {
        for (id, source) in &self.fields {
            if id.trim().is_empty() {
                errors.push(format!("{key}.fields: a field id is empty"));
            }
            if ChatFieldSource::parse(source).is_none() {
                errors.push(format!(
                    "{key}.fields.{id}: {source:?} is no source; use conversation_id, channel, tags, visitor_email, agent_email or attribute:NAME"
                ));
            }
        }
        if let Some(form) = &self.ticket_form
            && form.trim().is_empty()
        {
            errors.push(format!(
                "{key}.ticket_form: empty; give the form's id or leave the key out"
            ));
        }
    }
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
            reopen_solved: self.reopen_solved.unwrap_or(d.reopen_solved),
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
            ticket_group: self.ticket_group.clone().unwrap_or(d.ticket_group),
            ticket_product: self.ticket_product.clone().unwrap_or(d.ticket_product),
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
            pop_on: self.pop_on.unwrap_or(d.pop_on),
            pop_action: self.pop_action.unwrap_or(d.pop_action),
            pop_new_ticket: self.pop_new_ticket.unwrap_or(d.pop_new_ticket),
            pop_ticket_field: self.pop_ticket_field.clone().or(d.pop_ticket_field),
            pop_new_ticket_field: self.pop_new_ticket_field.clone().or(d.pop_new_ticket_field),
            voice_comments: self.zendesk_voice.unwrap_or(d.voice_comments),
            call_record_app_id: self.zendesk_app_id.or(d.call_record_app_id),
            chat: self.chat.as_ref().map(ChatConfig::policy).unwrap_or(d.chat),
            callbacks: CallbackRules {
                enabled: self.callbacks.unwrap_or(d.callbacks.enabled),
                within_minutes: self
                    .callback_within_minutes
                    .unwrap_or(d.callbacks.within_minutes),
                attempts: self.callback_attempts.unwrap_or(d.callbacks.attempts),
            },
            wrap_up: self.wrap_up.as_ref().map(super::WrapUpConfig::rules),
            thresholds: figures::thresholds(self),
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

pub(super) fn looks_like_email(s: &str) -> bool {
    s.contains('@') && !s.contains(char::is_whitespace) && !s.starts_with('@') && !s.ends_with('@')
}

pub fn check_agents(agents: &[AgentConfig], group_names: &[&str], errors: &mut Vec<String>) {
    let mut emails = BTreeSet::new();
    let mut extensions = BTreeSet::new();
    // A token signs its agent in: two agents with one token would sign in as
    // whichever is found, so each token belongs to one agent (the message
    // names the other agent, never the token).
    let mut tokens: Vec<(&str, usize)> = Vec::new();
    for (i, a) in agents.iter().enumerate() {
        if !looks_like_email(&a.email) {
            errors.push(format!(
                "agents[{i}].email: {:?} is not an email address; each agent needs one",
                a.email
            ));
        } else if !emails.insert(a.email.to_ascii_lowercase()) {
            errors.push(format!("agents[{i}].email: {} is listed twice", a.email));
        }
        if let Some(id) = &a.zendesk_id
            && id.parse::<u64>().is_err()
        {
            errors.push(format!(
                "agents[{i}].zendesk_id: {id:?} is not a Zendesk user id (digits only)"
            ));
        }
        if let Some(hash) = &a.password_hash
            && let Err(e) = crate::agent_auth::check_hash(hash)
        {
            errors.push(format!(
                "agents[{i}].password_hash: {e}; make one with `deskbridge agent hash-password`"
            ));
        }
        if let Some(token) = &a.token
            && token.trim().len() < 16
        {
            errors.push(format!(
                "agents[{i}].token: at least 16 characters, so it cannot be guessed \
                 (e.g. `openssl rand -hex 24`)"
            ));
        }
        if let Some(token) = a.token.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            match tokens.iter().find(|(t, _)| *t == token) {
                Some((_, first)) => errors.push(format!(
                    "agents[{i}].token: agents[{first}] ({}) has the same token; give each agent its own \
                     (e.g. `openssl rand -hex 24`)",
                    agents[*first].email
                )),
                None => tokens.push((token, i)),
            }
        }
        for g in &a.groups {
            if !group_names.contains(&g.as_str()) {
                errors.push(format!(
                    "agents[{i}].groups: {g:?} is not a group; the groups are {}",
                    group_names.join(", ")
                ));
            }
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
    figures::check_wallboard_tokens(config, errors);
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
        if let Some(chat) = &g.chat {
            chat.check(&key("chat"), errors);
        }
        let kind = g
            .backend
            .as_ref()
            .and_then(|b| config.backends.get(b))
            .map(|b| b.kind);
        for (j, t) in g.triggers.iter().enumerate() {
            t.check(&key(&format!("triggers[{j}]")), errors);
            // Notifications are signed with their endpoint's secrets, found by
            // its URL: one URL has one set of secrets.
            let first = g.triggers.iter().position(|o| o.url == t.url);
            if let Some(i) = first.filter(|&i| i < j)
                && g.triggers[i].secret_texts() != t.secret_texts()
            {
                errors.push(format!(
                    "{}: {:?} is also triggers[{i}]'s URL, with other secrets; give every trigger of one URL the same secret (or none)",
                    key(&format!("triggers[{j}].secret")),
                    t.url
                ));
            }
        }
        on_helpdesk::check(g, kind, &key, errors);
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
        // "organization" without a name would quietly create none: say so here.
        let creates_organizations = g
            .create
            .as_deref()
            .and_then(|words| CreateSet::parse(words).ok())
            .is_some_and(|c| c.organization);
        if creates_organizations
            && g.organization_name
                .as_deref()
                .is_none_or(|n| n.trim().is_empty())
        {
            errors.push(format!(
                "{}: create lists \"organization\" but organization_name is not set, so no organization would be created; set it to a name or a template over call data (e.g. organization_name = \"{{{{ attributes.company }}}}\"), or take \"organization\" out of {}",
                key("organization_name"),
                key("create"),
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
        if let Some(m) = g.callback_within_minutes
            && !(1..=10_080).contains(&m)
        {
            errors.push(format!(
                "{}: {m} is out of range; give 1 to 10080 minutes (a week)",
                key("callback_within_minutes")
            ));
        }
        if let Some(n) = g.callback_attempts
            && !(1..=20).contains(&n)
        {
            errors.push(format!(
                "{}: {n} is out of range; give 1 to 20 tries (or callbacks = false to keep none)",
                key("callback_attempts")
            ));
        }
        figures::check(g, &key, errors);
        if let Some(hook) = &g.dial_webhook {
            hook.check(&key("dial_webhook"), errors);
        }
        if let Some(twilio) = &g.twilio_dial {
            twilio.check(
                &key("twilio_dial"),
                g.twilio_auth_token
                    .as_ref()
                    .is_some_and(|t| !t.trim().is_empty()),
                config.server.public_url.is_some(),
                errors,
            );
        }
        if let Some(ami) = &g.asterisk {
            ami.check(&key("asterisk"), errors);
        }
        if let Some(w) = &g.wrap_up {
            w.check(&key("wrap_up"), g.asterisk.is_some(), errors);
        }
        super::dialing::check(g, &key, errors);
        check_pops(g, config, &key, errors);
        for e in g.policy().validate(&format!("groups[{i}]")) {
            errors.push(e.to_string());
        }
    }
}

/// Pop settings that would do nothing are refused, with what to change.
fn check_pops(
    g: &GroupConfig,
    config: &Config,
    key: &dyn Fn(&str) -> String,
    errors: &mut Vec<String>,
) {
    let policy = g.policy();
    // A Zendesk backend's agents come from Zendesk.
    let zendesk = g
        .backend
        .as_ref()
        .and_then(|b| config.backends.get(b))
        .is_some_and(|b| b.kind == BackendKind::Zendesk);
    if policy.pop_on != PopOn::Off && config.agents.is_empty() && !zendesk {
        errors.push(format!(
            "{}: pops go only to agents of the directory, and there are no [[agents]]; add the agents (email, and name or extension as the phone system names them) or set pop_on = \"off\"",
            key("pop_on")
        ));
    }
    if g.pop_ticket_field.is_some() && policy.pop_action != PopAction::TicketByAni {
        errors.push(format!(
            "{}: only pop_action = \"ticket_by_ani\" looks tickets up by a field; set pop_action or remove {}",
            key("pop_ticket_field"),
            key("pop_ticket_field")
        ));
    }
    if let Some(f) = &g.pop_new_ticket_field {
        if f.id.trim().is_empty() {
            errors.push(format!(
                "{}: name the ticket field to fill",
                key("pop_new_ticket_field.id")
            ));
        }
        if policy.pop_new_ticket == PopNewTicket::Never {
            errors.push(format!(
                "{}: it is filled only on a new ticket the pop opens, and pop_new_ticket = \"never\"; set pop_new_ticket = \"when_not_found\" or \"always\", or remove it",
                key("pop_new_ticket_field")
            ));
        }
    }
}
