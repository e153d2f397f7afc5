//! A group's templates (contact name, organization name, ticket subject,
//! group and product, custom fields), compiled once when the group is built
//! and rendered over a call.
//!
//! Compiling is where a template's mistakes show (syntax, a misspelt variable), so
//! [`Templates::compile`] is also what `deskbridge check` runs: a group that starts
//! has templates that compile, and no call ever pays for parsing them again.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::event::Direction;
use crate::interaction::Interaction;
use crate::policy::Policy;

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
                Direction::Inbound => to,
                Direction::Outbound => from,
            },
            queue: call.queue.as_deref().unwrap_or(""),
            agent: call.last_agent().map(|a| a.label()).unwrap_or_default(),
            outcome: call.outcome().map_or("", |o| o.as_str()),
            attributes: &call.attributes,
            group: &call.group,
        }
    }
}

const CONTACT_NAME: &str = "contact_name";
const ORGANIZATION_NAME: &str = "organization_name";
const TICKET_SUBJECT: &str = "ticket_subject";
const TICKET_GROUP: &str = "ticket_group";
const TICKET_PRODUCT: &str = "ticket_product";

fn custom_field_key(id: &str) -> String {
    format!("custom_fields.{id}")
}

/// A group's templates, compiled. Each is stored under its config key
/// (`ticket_subject`, `custom_fields.360000001`), which render errors name.
#[derive(Debug, Clone)]
pub struct Templates {
    env: minijinja::Environment<'static>,
    /// `customer_name`-style attribute that names a new contact instead of the
    /// `contact_name` template.
    customer_name_attribute: String,
    custom_fields: Vec<(String, String)>,
    /// The field filled on a ticket the screen pop opens as new.
    pop_field: Option<String>,
}

/// The key of the pop's new-ticket field template.
const POP_NEW_TICKET_FIELD: &str = "pop_new_ticket_field.value";

/// The variables a dialer's templates see.
pub const DIAL_VARIABLES: &[&str] = &["agent", "to", "caller_id", "call_id"];

/// Renders a dialer's template over the dial: `agent.extension`,
/// `agent.email`, `agent.name`, `to` (the customer, E.164), `caller_id`,
/// `call_id` (e.g. `[groups.asterisk] agent_channel = "PJSIP/{{
/// agent.extension }}"`, a dial webhook's body). A misspelt variable is an
/// error, not an empty string: an empty channel would ring nobody.
pub fn render_for_dial(source: &str, dial: &crate::dial::Dial) -> Result<String, String> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let ctx = minijinja::context! {
        agent => &dial.agent,
        to => &dial.to,
        caller_id => dial.caller_id.as_deref().unwrap_or_default(),
        call_id => &dial.call_id,
    };
    env.render_str(source, ctx)
        .map_err(|e| format!("{e}; dial templates can use {}", DIAL_VARIABLES.join(", ")))
}

/// Renders a template over one agent only (`agent.extension`, `agent.email`,
/// `agent.name`): their queue member's interface for a pause
/// (`[groups.asterisk] agent_channel`). Strict, as for a dial.
pub fn render_for_agent(source: &str, agent: &crate::agent::AgentRef) -> Result<String, String> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.render_str(source, minijinja::context! { agent => agent })
        .map_err(|e| format!("{e}; this template can use agent.extension, agent.email, agent.name"))
}

impl Templates {
    /// Compiles every template of the policy. Each error names its key under
    /// `prefix` (e.g. `groups[0]`); all errors are reported, not just the first.
    pub fn compile(policy: &Policy, prefix: &str) -> Result<Templates, Vec<TemplateError>> {
        let mut env = minijinja::Environment::new();
        // A missing attribute renders empty (calls differ in what the IVR
        // collected); misspelt top-level variables are refused at compile time.
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        let mut sources = vec![
            (CONTACT_NAME.to_string(), policy.contact_name.clone()),
            (
                ORGANIZATION_NAME.to_string(),
                policy.organization_name.clone(),
            ),
            (TICKET_SUBJECT.to_string(), policy.ticket_subject.clone()),
            (TICKET_GROUP.to_string(), policy.ticket_group.clone()),
            (TICKET_PRODUCT.to_string(), policy.ticket_product.clone()),
        ];
        let custom_fields: Vec<(String, String)> = policy
            .custom_fields
            .keys()
            .map(|id| (id.clone(), custom_field_key(id)))
            .collect();
        for (id, key) in &custom_fields {
            sources.push((key.clone(), policy.custom_fields[id].clone()));
        }
        if let Some(field) = &policy.pop_new_ticket_field {
            sources.push((POP_NEW_TICKET_FIELD.to_string(), field.value.clone()));
        }
        let qualified = |key: &str| match prefix.is_empty() {
            true => key.to_string(),
            false => format!("{prefix}.{key}"),
        };
        let mut errors = Vec::new();
        for (key, source) in sources {
            let error = |message: String| TemplateError {
                key: qualified(&key),
                message,
            };
            if let Err(e) = env.add_template_owned(key.clone(), source) {
                errors.push(error(format!("does not compile: {e}")));
                continue;
            }
            if let Some(unknown) = unknown_variable(&env, &key) {
                errors.push(error(format!(
                    "unknown variable {unknown:?}; templates can use {}",
                    TEMPLATE_VARIABLES.join(", ")
                )));
            }
        }
        match errors.is_empty() {
            true => Ok(Templates {
                env,
                customer_name_attribute: policy.attributes.customer_name.clone(),
                custom_fields,
                pop_field: policy.pop_new_ticket_field.as_ref().map(|f| f.id.clone()),
            }),
            false => Err(errors),
        }
    }

    fn render(&self, key: &str, ctx: &CallContext) -> Result<String, TemplateError> {
        let err = |e: minijinja::Error| TemplateError {
            key: key.to_string(),
            message: e.to_string(),
        };
        self.env
            .get_template(key)
            .map_err(err)?
            .render(ctx)
            .map_err(err)
    }

    /// The name of a contact created for an unknown caller: the IVR's
    /// `customer_name` attribute, else the `contact_name` template.
    pub fn contact_name(&self, call: &Interaction) -> Result<String, TemplateError> {
        if let Some(name) = call.attribute(&self.customer_name_attribute) {
            return Ok(name.to_string());
        }
        self.render(CONTACT_NAME, &CallContext::of(call))
    }

    /// The organization created with a new contact; an empty result means none.
    pub fn organization_name(&self, call: &Interaction) -> Result<Option<String>, TemplateError> {
        self.render_optional(ORGANIZATION_NAME, call)
    }

    pub fn ticket_subject(&self, call: &Interaction) -> Result<String, TemplateError> {
        self.render(TICKET_SUBJECT, &CallContext::of(call))
    }

    /// The helpdesk group of the call's new ticket; an empty result means
    /// none (the helpdesk routes it).
    pub fn ticket_group(&self, call: &Interaction) -> Result<Option<String>, TemplateError> {
        self.render_optional(TICKET_GROUP, call)
    }

    /// The product of the call's new ticket (Freshdesk); empty: none.
    pub fn ticket_product(&self, call: &Interaction) -> Result<Option<String>, TemplateError> {
        self.render_optional(TICKET_PRODUCT, call)
    }

    fn render_optional(
        &self,
        key: &str,
        call: &Interaction,
    ) -> Result<Option<String>, TemplateError> {
        let value = self.render(key, &CallContext::of(call))?;
        Ok(Some(value.trim().to_string()).filter(|v| !v.is_empty()))
    }

    /// Custom field values; fields whose template renders empty are left out.
    pub fn custom_field_values(
        &self,
        call: &Interaction,
    ) -> Result<Vec<(String, String)>, TemplateError> {
        let ctx = CallContext::of(call);
        let mut out = Vec::new();
        for (id, key) in &self.custom_fields {
            let value = self.render(key, &ctx)?;
            if !value.trim().is_empty() {
                out.push((id.clone(), value.trim().to_string()));
            }
        }
        Ok(out)
    }
}

impl Templates {
    /// The pop's new-ticket field and its value for this call; `None` when the
    /// group has none or it renders empty.
    pub fn pop_field_value(
        &self,
        call: &Interaction,
    ) -> Result<Option<(String, String)>, TemplateError> {
        let Some(id) = &self.pop_field else {
            return Ok(None);
        };
        let value = self.render(POP_NEW_TICKET_FIELD, &CallContext::of(call))?;
        let value = value.trim();
        Ok((!value.is_empty()).then(|| (id.clone(), value.to_string())))
    }
}

/// The first variable (alphabetically) a template uses that calls do not have.
fn unknown_variable(env: &minijinja::Environment<'static>, key: &str) -> Option<String> {
    let template = env.get_template(key).ok()?;
    let mut unknown: Vec<String> = template
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| !TEMPLATE_VARIABLES.contains(&v.as_str()))
        .collect();
    unknown.sort();
    unknown.into_iter().next()
}

impl Policy {
    /// Every template compiles and uses only known variables. Each error names its
    /// key under `prefix` (e.g. `groups[0]`).
    pub fn validate(&self, prefix: &str) -> Vec<TemplateError> {
        Templates::compile(self, prefix).err().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{CallEvent, EventKind};
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
            conversation: None,
            wrap_up: None,
        };
        let mut call = Interaction::start("support", &Default::default(), &event).unwrap();
        call.apply(&event);
        call
    }

    fn compiled(p: &Policy) -> Templates {
        Templates::compile(p, "").unwrap()
    }

    #[test]
    fn default_templates_render() {
        let call = sample_call(&[]);
        let t = compiled(&Policy::default());
        assert_eq!(t.contact_name(&call).unwrap(), "Caller +14155550100");
        assert_eq!(
            t.ticket_subject(&call).unwrap(),
            "Inbound call +14155550100"
        );
        assert_eq!(t.organization_name(&call).unwrap(), None);
    }

    #[test]
    fn customer_name_attribute_names_the_contact() {
        let call = sample_call(&[("customer_name", "Ada Lovelace")]);
        let t = compiled(&Policy::default());
        assert_eq!(t.contact_name(&call).unwrap(), "Ada Lovelace");
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
            compiled(&p).custom_field_values(&call).unwrap(),
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
        let keys: Vec<String> = Templates::compile(&p, "groups[1]")
            .unwrap_err()
            .into_iter()
            .map(|e| e.key)
            .collect();
        assert_eq!(
            keys,
            [
                "groups[1].contact_name",
                "groups[1].ticket_subject",
                "groups[1].custom_fields.360"
            ]
        );
    }
}
