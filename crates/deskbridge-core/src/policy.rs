//! A connector group's policy: how callers are identified, which ticket a call goes
//! to, who it is assigned to, and what unanswered calls and agent mode do.
//!
//! The policy is plain data, checked once at start ([`Policy::validate`]); its
//! templates are minijinja, rendered over [`CallContext`]. Per-call attributes (set
//! by an IVR or a contact flow) override the group's settings; the attribute names
//! are part of the policy so admins migrating from other connectors keep theirs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::interaction::Interaction;

/// What happens to calls nobody answered (missed, busy, abandoned) and voicemails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnansweredPolicy {
    /// The same ticket rules as answered calls (IVR ticket, reuse window, open
    /// ticket), ending in a new ticket.
    #[default]
    NewTicket,
    /// A comment on the caller's reuse-window ticket; nothing if there is none.
    RecentTicket,
    /// Only the caller log; nothing in the helpdesk.
    LogOnly,
}

/// Several contacts share the caller's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AmbiguousCaller {
    /// The most recently created of them (recorded on the call as a choice).
    #[default]
    Newest,
    /// The agent picks during the call; the group's fallback runs on timeout.
    Agent,
    /// None of them: a new contact.
    NewContact,
}

/// When a call's ticket is chosen or created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketTiming {
    /// When the call is answered: the ticket exists while the agent talks; the
    /// call comment follows when the call ends (two writes).
    Answer,
    /// When the call ends: one write carries ticket, comment and recording.
    #[default]
    End,
}

/// Who chooses the ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketAssignment {
    #[default]
    Auto,
    /// No automatic ticket: the call waits for the agent's decision.
    Agent,
}

/// What runs when the agent did not decide in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentFallback {
    #[default]
    Auto,
    LogOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Urgent,
    High,
    #[default]
    Normal,
    Low,
}

impl Priority {
    pub fn as_str(&self) -> &'static str {
        match self {
            Priority::Urgent => "urgent",
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketType {
    Problem,
    Incident,
    #[default]
    Question,
    Task,
}

impl TicketType {
    pub fn as_str(&self) -> &'static str {
        match self {
            TicketType::Problem => "problem",
            TicketType::Incident => "incident",
            TicketType::Question => "question",
            TicketType::Task => "task",
        }
    }
}

/// Status of a new ticket (e.g. `solved` for archive-only logging).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    #[default]
    New,
    Open,
    Pending,
    Solved,
}

impl TicketStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            TicketStatus::New => "new",
            TicketStatus::Open => "open",
            TicketStatus::Pending => "pending",
            TicketStatus::Solved => "solved",
        }
    }
}

/// Which records deskbridge may create (`create = [...]` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateSet {
    pub contact: bool,
    pub organization: bool,
    pub ticket: bool,
    pub comment: bool,
}

impl Default for CreateSet {
    fn default() -> Self {
        CreateSet {
            contact: true,
            organization: false,
            ticket: true,
            comment: true,
        }
    }
}

impl CreateSet {
    /// Reads `["contact", "ticket", ...]`; returns the unknown word on error.
    pub fn parse(words: &[String]) -> Result<CreateSet, String> {
        let mut set = CreateSet {
            contact: false,
            organization: false,
            ticket: false,
            comment: false,
        };
        for w in words {
            match w.as_str() {
                "contact" => set.contact = true,
                "organization" => set.organization = true,
                "ticket" => set.ticket = true,
                "comment" => set.comment = true,
                other => return Err(other.to_string()),
            }
        }
        Ok(set)
    }
}

/// The names of the per-call attributes the policy reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AttributeNames {
    /// The caller's contact id, collected by the IVR.
    pub contact: String,
    /// A number to search instead of the caller id.
    pub customer_number: String,
    /// The name for a new contact.
    pub customer_name: String,
    /// A ticket number from the IVR; `0` means a new ticket.
    pub ticket: String,
    /// Reuse window in minutes for this call (`0` turns it off).
    pub reuse_minutes: String,
    /// `true`/`false`: attach to the caller's open ticket.
    pub attach_open_ticket: String,
    /// `true`: always a new ticket (skips IVR ticket, reuse and attach).
    pub force_new_ticket: String,
    /// `auto` or `agent`.
    pub ticket_assignment: String,
}

impl Default for AttributeNames {
    fn default() -> Self {
        AttributeNames {
            contact: "zendesk_user".into(),
            customer_number: "customer_number".into(),
            customer_name: "customer_name".into(),
            ticket: "zendesk_ticket".into(),
            reuse_minutes: "recent_ticket_timeout".into(),
            attach_open_ticket: "attach_open_ticket".into(),
            force_new_ticket: "force_ticket_creation".into(),
            ticket_assignment: "ticket_assignment".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Policy {
    pub create: CreateSet,
    /// Name of a contact created for an unknown caller.
    pub contact_name: String,
    /// Name of the organization created with a new contact (when `create` has
    /// "organization"); an empty result creates none.
    pub organization_name: String,
    pub ambiguous_caller: AmbiguousCaller,
    /// Use the IVR's ticket number when it is valid.
    pub use_ivr_ticket: bool,
    /// Reuse the caller's most recently updated not-closed ticket updated within this
    /// many minutes (0: off).
    pub reuse_recent_minutes: u32,
    /// Attach to the caller's open ticket instead of creating one.
    pub attach_open_ticket: bool,
    pub create_ticket_at: TicketTiming,
    /// After an answered call ends, wait this long for its recording so that the
    /// call comment carries the link (0: do not wait; a late recording then adds a
    /// comment of its own).
    pub wait_for_recording_seconds: u64,
    pub ticket_subject: String,
    pub ticket_priority: Priority,
    pub ticket_type: TicketType,
    pub ticket_status: TicketStatus,
    pub ticket_tags: Vec<String>,
    pub ticket_form: Option<String>,
    /// Ticket field id → template over call data.
    pub custom_fields: BTreeMap<String, String>,
    /// Assign tickets to the answering agent.
    pub assign: bool,
    /// Assignee when the agent is not in the directory (an agent's email).
    pub default_assignee: Option<String>,
    pub missed_call: UnansweredPolicy,
    pub voicemail: UnansweredPolicy,
    pub ticket_assignment: TicketAssignment,
    /// Seconds from the call's start that the agent has to decide.
    pub agent_timeout_seconds: u64,
    pub agent_fallback: AgentFallback,
    pub attributes: AttributeNames,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            create: CreateSet::default(),
            contact_name: "Caller {{ caller }}".into(),
            organization_name: String::new(),
            ambiguous_caller: AmbiguousCaller::Newest,
            use_ivr_ticket: true,
            reuse_recent_minutes: 0,
            attach_open_ticket: false,
            create_ticket_at: TicketTiming::End,
            wait_for_recording_seconds: 0,
            ticket_subject: "{{ direction | capitalize }} call {{ caller }}".into(),
            ticket_priority: Priority::Normal,
            ticket_type: TicketType::Question,
            ticket_status: TicketStatus::New,
            ticket_tags: Vec::new(),
            ticket_form: None,
            custom_fields: BTreeMap::new(),
            assign: true,
            default_assignee: None,
            missed_call: UnansweredPolicy::NewTicket,
            voicemail: UnansweredPolicy::NewTicket,
            ticket_assignment: TicketAssignment::Auto,
            agent_timeout_seconds: 300,
            agent_fallback: AgentFallback::Auto,
            attributes: AttributeNames::default(),
        }
    }
}

/// A template that does not compile or names data that does not exist, with the
/// config key it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct TemplateError {
    pub key: String,
    pub message: String,
}

/// The variables templates see.
pub const TEMPLATE_VARIABLES: &[&str] = &[
    "call_id",
    "caller",
    "direction",
    "from",
    "to",
    "dialed",
    "queue",
    "agent",
    "outcome",
    "attributes",
    "group",
];

/// The data templates see: `caller` (the customer's number), `direction`, `from`,
/// `to`, `dialed` (our number), `queue`, `agent`, `outcome`, `attributes.*` (IVR
/// inputs, UTM tags, ...), `call_id`, `group`.
#[derive(Debug, Serialize)]
pub struct CallContext<'a> {
    pub call_id: &'a str,
    pub caller: &'a str,
    pub direction: String,
    pub from: &'a str,
    pub to: &'a str,
    pub dialed: &'a str,
    pub queue: &'a str,
    pub agent: String,
    pub outcome: &'a str,
    pub attributes: &'a BTreeMap<String, String>,
    pub group: &'a str,
}

impl<'a> CallContext<'a> {
    pub fn of(call: &'a Interaction) -> CallContext<'a> {
        let from = call.from.as_ref().map_or("", |p| p.as_str());
        let to = call.to.as_ref().map_or("", |p| p.as_str());
        CallContext {
            call_id: &call.call_id,
            caller: call.customer_phone().map_or("unknown", |p| p.as_str()),
            direction: call.direction.to_string(),
            from,
            to,
            dialed: match call.direction {
                crate::event::Direction::Inbound => to,
                crate::event::Direction::Outbound => from,
            },
            queue: call.queue.as_deref().unwrap_or(""),
            agent: call.last_agent().map(|a| a.label()).unwrap_or_default(),
            outcome: call.outcome().map_or("", |o| o.as_str()),
            attributes: &call.attributes,
            group: &call.group,
        }
    }
}

impl Policy {
    /// Every template compiles and uses only known variables. Each error names its
    /// key under `prefix` (e.g. `groups[0]`).
    pub fn validate(&self, prefix: &str) -> Vec<TemplateError> {
        let mut errors = Vec::new();
        let key = |k: &str| match prefix.is_empty() {
            true => k.to_string(),
            false => format!("{prefix}.{k}"),
        };
        let mut check = |k: String, t: &str| {
            if let Err(e) = check_template(&k, t) {
                errors.push(e);
            }
        };
        check(key("contact_name"), &self.contact_name);
        check(key("organization_name"), &self.organization_name);
        check(key("ticket_subject"), &self.ticket_subject);
        for (id, t) in &self.custom_fields {
            check(key(&format!("custom_fields.{id}")), t);
        }
        errors
    }

    pub fn contact_name(&self, call: &Interaction) -> Result<String, TemplateError> {
        if let Some(name) = self.attribute(call, &self.attributes.customer_name) {
            return Ok(name.to_string());
        }
        render("contact_name", &self.contact_name, &CallContext::of(call))
    }

    pub fn organization_name(&self, call: &Interaction) -> Result<Option<String>, TemplateError> {
        let name = render(
            "organization_name",
            &self.organization_name,
            &CallContext::of(call),
        )?;
        Ok(Some(name.trim().to_string()).filter(|n| !n.is_empty()))
    }

    pub fn ticket_subject(&self, call: &Interaction) -> Result<String, TemplateError> {
        render(
            "ticket_subject",
            &self.ticket_subject,
            &CallContext::of(call),
        )
    }

    /// Custom field values; fields whose template renders empty are left out.
    pub fn custom_field_values(
        &self,
        call: &Interaction,
    ) -> Result<Vec<(String, String)>, TemplateError> {
        let ctx = CallContext::of(call);
        let mut out = Vec::new();
        for (id, t) in &self.custom_fields {
            let value = render_in(&format!("custom_fields.{id}"), t, &ctx)?;
            if !value.trim().is_empty() {
                out.push((id.clone(), value.trim().to_string()));
            }
        }
        Ok(out)
    }

    /// A non-empty attribute of the call.
    pub fn attribute<'a>(&self, call: &'a Interaction, name: &str) -> Option<&'a str> {
        call.attributes
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }
}

fn environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    // A missing attribute renders empty (calls differ in what the IVR collected);
    // misspelled top-level variables are caught by `check_template` instead.
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    env
}

/// Compiles a template and checks it names only [`TEMPLATE_VARIABLES`].
pub fn check_template(key: &str, template: &str) -> Result<(), TemplateError> {
    let env = environment();
    let tmpl = env.template_from_str(template).map_err(|e| TemplateError {
        key: key.to_string(),
        message: format!("does not compile: {e}"),
    })?;
    let mut unknown: Vec<String> = tmpl
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| !TEMPLATE_VARIABLES.contains(&v.as_str()))
        .collect();
    unknown.sort();
    if let Some(first) = unknown.first() {
        return Err(TemplateError {
            key: key.to_string(),
            message: format!(
                "unknown variable {first:?}; templates can use {}",
                TEMPLATE_VARIABLES.join(", ")
            ),
        });
    }
    Ok(())
}

/// Renders one template over a call.
pub fn render(key: &str, template: &str, ctx: &CallContext) -> Result<String, TemplateError> {
    render_in(key, template, ctx)
}

fn render_in(key: &str, template: &str, ctx: &CallContext) -> Result<String, TemplateError> {
    let env = environment();
    let err = |e: minijinja::Error| TemplateError {
        key: key.to_string(),
        message: e.to_string(),
    };
    env.template_from_str(template)
        .map_err(err)?
        .render(ctx)
        .map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{CallEvent, Direction, EventKind};
    use crate::phone::Phone;

    fn sample_call(attributes: &[(&str, &str)]) -> Interaction {
        let event = CallEvent {
            id: "e".into(),
            call_id: "c".into(),
            kind: EventKind::Ringing,
            direction: Some(Direction::Inbound),
            from: Some(Phone::E164("+14155550100".into())),
            to: Some(Phone::E164("+14155550199".into())),
            at: chrono::DateTime::UNIX_EPOCH,
            agent: None,
            queue: Some("billing".into()),
            attributes: attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            reason: None,
            duration_s: None,
            recording_url: None,
            transcript: None,
        };
        let mut call = Interaction::start("support", &event).unwrap();
        call.apply(&event);
        call
    }

    #[test]
    fn default_templates_render() {
        let call = sample_call(&[]);
        let p = Policy::default();
        assert_eq!(p.contact_name(&call).unwrap(), "Caller +14155550100");
        assert_eq!(
            p.ticket_subject(&call).unwrap(),
            "Inbound call +14155550100"
        );
        assert_eq!(p.organization_name(&call).unwrap(), None);
        assert!(p.validate("").is_empty());
    }

    #[test]
    fn customer_name_attribute_names_the_contact() {
        let call = sample_call(&[("customer_name", "Ada Lovelace")]);
        assert_eq!(
            Policy::default().contact_name(&call).unwrap(),
            "Ada Lovelace"
        );
    }

    #[test]
    fn custom_fields_from_call_data_skip_empty_values() {
        let p = Policy {
            custom_fields: [
                ("1".to_string(), "{{ attributes.utm_source }}".to_string()),
                ("2".to_string(), "{{ dialed }}".to_string()),
                ("3".to_string(), "{{ queue | upper }}".to_string()),
                ("4".to_string(), "{{ attributes.missing }}".to_string()),
            ]
            .into(),
            ..Policy::default()
        };
        let call = sample_call(&[("utm_source", "newsletter")]);
        assert_eq!(
            p.custom_field_values(&call).unwrap(),
            vec![
                ("1".to_string(), "newsletter".to_string()),
                ("2".to_string(), "+14155550199".to_string()),
                ("3".to_string(), "BILLING".to_string()),
            ]
        );
    }

    #[test]
    fn template_errors_name_their_key() {
        let p = Policy {
            ticket_subject: "{{ callr }}".into(),
            contact_name: "{% if %}".into(),
            custom_fields: [("360".to_string(), "{{ attributes.x }".to_string())].into(),
            ..Policy::default()
        };
        let keys: Vec<String> = p.validate("groups[1]").into_iter().map(|e| e.key).collect();
        assert_eq!(
            keys,
            [
                "groups[1].contact_name",
                "groups[1].ticket_subject",
                "groups[1].custom_fields.360"
            ]
        );
    }

    #[test]
    fn create_sets() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            CreateSet::parse(&words(&["comment"])).unwrap(),
            CreateSet {
                contact: false,
                organization: false,
                ticket: false,
                comment: true
            }
        );
        assert_eq!(
            CreateSet::parse(&words(&["tickets"])),
            Err("tickets".into())
        );
    }
}
