//! A connector group's policy: what to create for a call and how it reads.
//!
//! The policy is plain data checked once at start ([`Policy::validate`]); the
//! templates are minijinja, rendered over [`CallContext`].

use serde::{Deserialize, Serialize};

use crate::interaction::Interaction;

/// What happens to calls nobody answered (missed, voicemail, busy, abandoned).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissedPolicy {
    /// A ticket carrying the missed-call comment.
    #[default]
    NewTicket,
    /// Only the caller log; nothing in the helpdesk.
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Policy {
    /// Name of a contact created for an unknown caller.
    pub contact_name: String,
    pub ticket_subject: String,
    pub ticket_priority: Priority,
    pub ticket_type: TicketType,
    pub ticket_tags: Vec<String>,
    pub missed: MissedPolicy,
    /// The call attribute that names the caller's contact id (set by an IVR).
    pub contact_attribute: String,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            contact_name: "Caller {{ caller }}".into(),
            ticket_subject: "{{ direction | capitalize }} call {{ caller }}".into(),
            ticket_priority: Priority::Normal,
            ticket_type: TicketType::Question,
            ticket_tags: Vec::new(),
            missed: MissedPolicy::NewTicket,
            contact_attribute: "zendesk_user".into(),
        }
    }
}

/// A template that does not compile or render, with the key it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct TemplateError {
    pub key: &'static str,
    pub message: String,
}

/// The data templates see: `caller`, `direction`, `from`, `to`, `queue`, `agent`,
/// `outcome`, `attributes.*`, `call_id`.
#[derive(Debug, Serialize)]
pub struct CallContext<'a> {
    pub call_id: &'a str,
    pub caller: &'a str,
    pub direction: String,
    pub from: &'a str,
    pub to: &'a str,
    pub queue: &'a str,
    pub agent: String,
    pub outcome: &'a str,
    pub attributes: &'a std::collections::BTreeMap<String, String>,
}

impl<'a> CallContext<'a> {
    pub fn of(call: &'a Interaction) -> CallContext<'a> {
        CallContext {
            call_id: &call.call_id,
            caller: call.customer_phone().map_or("unknown", |p| p.as_str()),
            direction: call.direction.to_string(),
            from: call.from.as_ref().map_or("", |p| p.as_str()),
            to: call.to.as_ref().map_or("", |p| p.as_str()),
            queue: call.queue.as_deref().unwrap_or(""),
            agent: call.last_agent().map(|a| a.label()).unwrap_or_default(),
            outcome: call.outcome().map_or("", |o| o.as_str()),
            attributes: &call.attributes,
        }
    }
}

impl Policy {
    /// Checks every template compiles and renders on a sample call.
    pub fn validate(&self) -> Result<(), TemplateError> {
        let sample = sample_call();
        let ctx = CallContext::of(&sample);
        render("contact_name", &self.contact_name, &ctx)?;
        render("ticket_subject", &self.ticket_subject, &ctx)?;
        Ok(())
    }

    pub fn contact_name(&self, call: &Interaction) -> Result<String, TemplateError> {
        render("contact_name", &self.contact_name, &CallContext::of(call))
    }

    pub fn ticket_subject(&self, call: &Interaction) -> Result<String, TemplateError> {
        render(
            "ticket_subject",
            &self.ticket_subject,
            &CallContext::of(call),
        )
    }
}

/// Renders one template. Undefined variables are errors, so a typo in a config
/// template is caught by `deskbridge check` rather than producing empty subjects.
pub fn render(
    key: &'static str,
    template: &str,
    ctx: &CallContext,
) -> Result<String, TemplateError> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let err = |e: minijinja::Error| TemplateError {
        key,
        message: e.to_string(),
    };
    let tmpl = env.template_from_str(template).map_err(err)?;
    tmpl.render(ctx).map_err(err)
}

fn sample_call() -> Interaction {
    use crate::event::{CallEvent, Direction, EventKind};
    let event = CallEvent {
        id: "sample".into(),
        call_id: "sample".into(),
        kind: EventKind::Ringing,
        direction: Some(Direction::Inbound),
        from: Some(crate::phone::Phone::E164("+14155550100".into())),
        to: Some(crate::phone::Phone::E164("+14155550199".into())),
        at: chrono::DateTime::UNIX_EPOCH,
        agent: None,
        queue: None,
        attributes: Default::default(),
        reason: None,
        duration_s: None,
        recording_url: None,
        transcript: None,
    };
    let mut call = Interaction::start("default", &event).expect("the sample has a direction");
    call.apply(&event, &Policy::default());
    call
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_templates_render() {
        let call = sample_call();
        let p = Policy::default();
        assert_eq!(p.contact_name(&call).unwrap(), "Caller +14155550100");
        assert_eq!(
            p.ticket_subject(&call).unwrap(),
            "Inbound call +14155550100"
        );
        p.validate().unwrap();
    }

    #[test]
    fn template_errors_name_their_key() {
        let p = Policy {
            ticket_subject: "{{ callr }}".into(),
            ..Policy::default()
        };
        let err = p.validate().unwrap_err();
        assert_eq!(err.key, "ticket_subject");
        let p = Policy {
            contact_name: "{% if %}".into(),
            ..Policy::default()
        };
        assert_eq!(p.validate().unwrap_err().key, "contact_name");
    }
}
