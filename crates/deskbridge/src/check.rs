//! `deskbridge check --online`: the configuration checked against the helpdesk
//! account itself, before the first call. Each finding names the key to change.
//! Zendesk's checks are here, Freshdesk's in `check/freshdesk.rs`.

use std::fmt;

use deskbridge_zendesk::ZendeskClient;

use crate::backends;
use crate::config::{AgentConfig, BackendKind, Config};

mod freshdesk;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Severity {
    /// Calls would fail: tickets refused, agents never assigned.
    Error,
    /// Works, but probably not as meant.
    Warning,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub severity: Severity,
    pub key: String,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{level}: {}: {}", self.key, self.message)
    }
}

/// Ticket fields Zendesk fills itself; a form listing them needs nothing from us.
const SYSTEM_FIELDS: &[&str] = &[
    "subject",
    "description",
    "status",
    "tickettype",
    "priority",
    "group",
    "assignee",
    "brand",
    "custom_status",
];

/// Checks every Zendesk and Freshdesk backend of the config against its
/// account.
pub async fn online(config: &Config) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (name, backend) in &config.backends {
        match backend.kind {
            BackendKind::Zendesk => {}
            BackendKind::Freshdesk => {
                freshdesk::check(name, backend, config, &mut findings).await;
                continue;
            }
            BackendKind::Builtin => continue,
        }
        let key = format!("backends.{name}");
        let client = match backends::zendesk_client(backend, None) {
            Ok(c) => c,
            Err(e) => {
                findings.push(error(&key, e.to_string()));
                continue;
            }
        };
        match client.me().await {
            // Creating users (`create_or_update`) is "Allowed For: Admins and agents
            // in custom roles with permission to manage end users" (Support API
            // reference, Create Or Update User); a plain agent gets a 403 at the
            // first unknown caller.
            Ok(me) if me.role.as_deref() == Some("admin") => {}
            Ok(me) if me.is_agent() && me.custom_role_id.is_some() => findings.push(warning(
                &format!("{key}.email"),
                format!(
                    "signs in as {} (agent in custom role {}): make sure the role may manage end users, or new callers cannot be created (use an admin's API token to be sure)",
                    me.name,
                    me.custom_role_id.unwrap_or_default()
                ),
            )),
            Ok(me) if me.is_agent() => findings.push(error(
                &format!("{key}.email"),
                format!(
                    "signs in as {} (role agent): Zendesk lets only admins (or agents in a custom role that may manage end users) create users, so every new caller would fail; use an admin's API token",
                    me.name
                ),
            )),
            Ok(me) => findings.push(error(
                &format!("{key}.email"),
                format!(
                    "signs in as {} (role {}), not an agent or admin: use an agent's API token",
                    me.name,
                    me.role.as_deref().unwrap_or("end-user")
                ),
            )),
            Err(e) => {
                findings.push(error(
                    &format!("{key}.api_token"),
                    format!("cannot sign in: {e}"),
                ));
                continue;
            }
        }
        for (i, group) in config.groups.iter().enumerate() {
            if group.backend.as_deref() == Some(name.as_str()) {
                check_group(&client, i, group, &mut findings).await;
            }
        }
        check_agents(&client, config, name, &mut findings).await;
    }
    findings
}

/// The directory's agents who take calls of a group on backend `name`: those
/// naming one of its groups, and those naming none (any group's calls may
/// reach them), with their index in `[[agents]]`.
fn agents_on<'a>(
    config: &'a Config,
    name: &'a str,
) -> impl Iterator<Item = (usize, &'a AgentConfig)> + 'a {
    let on_backend = |group: &String| {
        config
            .groups
            .iter()
            .any(|g| &g.name == group && g.backend.as_deref() == Some(name))
    };
    config
        .agents
        .iter()
        .enumerate()
        .filter(move |(_, a)| a.groups.is_empty() || a.groups.iter().any(on_backend))
}

fn error(key: &str, message: String) -> Finding {
    Finding {
        severity: Severity::Error,
        key: key.to_string(),
        message,
    }
}

fn warning(key: &str, message: String) -> Finding {
    Finding {
        severity: Severity::Warning,
        key: key.to_string(),
        message,
    }
}

async fn check_group(
    client: &ZendeskClient,
    i: usize,
    group: &crate::config::GroupConfig,
    findings: &mut Vec<Finding>,
) {
    let calls_key = format!("groups[{i}].custom_fields");
    check_fields(client, &calls_key, group.custom_fields.keys(), findings).await;
    if let Some(form) = group.ticket_form.as_deref() {
        let form_key = format!("groups[{i}].ticket_form");
        let filled = |id: &str| group.custom_fields.contains_key(id);
        check_form(
            client,
            &form_key,
            form,
            &filled,
            "[groups.custom_fields]",
            findings,
        )
        .await;
    }
    // A chat's ticket has a form and fields of its own (`[groups.chat]`); an
    // archived chat's ticket is created solved, which is exactly what a
    // required field stops in Zendesk's agent interface.
    if let Some(chat) = &group.chat {
        let fields_key = format!("groups[{i}].chat.fields");
        check_fields(client, &fields_key, chat.fields.keys(), findings).await;
        if let Some(form) = chat.ticket_form.as_deref() {
            let form_key = format!("groups[{i}].chat.ticket_form");
            let filled = |id: &str| chat.fields.contains_key(id);
            check_form(
                client,
                &form_key,
                form,
                &filled,
                "[groups.chat.fields]",
                findings,
            )
            .await;
        }
    }
}

/// The ticket fields a config fills exist, are active, and take text.
async fn check_fields(
    client: &ZendeskClient,
    prefix: &str,
    ids: impl Iterator<Item = &String>,
    findings: &mut Vec<Finding>,
) {
    for id in ids {
        let key = format!("{prefix}.{id}");
        let Ok(field_id) = id.parse::<u64>() else {
            continue; // reported by the offline check
        };
        match client.show_ticket_field(field_id).await {
            Ok(None) => findings.push(error(
                &key,
                format!("no ticket field {id} in this account; Zendesk would refuse every ticket"),
            )),
            Ok(Some(f)) if f.active == Some(false) => findings.push(error(
                &key,
                format!("ticket field {id} is inactive; activate it or remove it"),
            )),
            Ok(Some(f)) => match f.field_type.as_str() {
                "text" | "textarea" | "regexp" | "tagger" | "lookup" => {}
                other => findings.push(warning(
                    &key,
                    format!(
                        "ticket field {id} is a {other} field: the template must render a valid {other} value (templates render text)"
                    ),
                )),
            },
            Err(e) => findings.push(error(&key, format!("cannot read ticket field {id}: {e}"))),
        }
    }
}

/// The form exists, and each of its required fields (Zendesk's `required`:
/// "agents must enter a value in the field to change the ticket status to
/// solved") is one the config fills (`filled`), else an error naming `section`.
async fn check_form(
    client: &ZendeskClient,
    key: &str,
    form: &str,
    filled: &dyn Fn(&str) -> bool,
    section: &str,
    findings: &mut Vec<Finding>,
) {
    let Ok(form_id) = form.parse::<u64>() else {
        return;
    };
    let form = match client.show_ticket_form(form_id).await {
        Ok(Some(f)) => f,
        Ok(None) => {
            findings.push(error(
                key,
                format!("no ticket form {form_id} in this account"),
            ));
            return;
        }
        Err(e) => {
            findings.push(error(
                key,
                format!("cannot read ticket form {form_id}: {e}"),
            ));
            return;
        }
    };
    for field_id in form.ticket_field_ids {
        if filled(&field_id.to_string()) {
            continue;
        }
        match client.show_ticket_field(field_id).await {
            Ok(Some(f))
                if f.required == Some(true)
                    && f.active != Some(false)
                    && !SYSTEM_FIELDS.contains(&f.field_type.as_str()) =>
            {
                findings.push(error(
                    key,
                    format!(
                        "form {form_id} requires field {field_id} ({}), which the config does not fill: add it under {section}",
                        f.title.as_deref().unwrap_or("untitled")
                    ),
                ))
            }
            Ok(_) => {}
            Err(e) => findings.push(error(key, format!("cannot read ticket field {field_id}: {e}"))),
        }
    }
}

async fn check_agents(
    client: &ZendeskClient,
    config: &Config,
    backend: &str,
    findings: &mut Vec<Finding>,
) {
    for (i, agent) in agents_on(config, backend) {
        let found = match agent
            .zendesk_id
            .as_deref()
            .and_then(|z| z.parse::<u64>().ok())
        {
            Some(id) => client.show_user(id).await,
            None => client.find_user_by_email(&agent.email).await,
        };
        match found {
            Ok(Some(u)) if u.is_agent() => {}
            Ok(Some(_)) => findings.push(error(
                &format!("agents[{i}]"),
                format!(
                    "{} is not an agent in Zendesk; tickets cannot be assigned to them",
                    agent.email
                ),
            )),
            Ok(None) => findings.push(error(
                &format!("agents[{i}]"),
                format!(
                    "no Zendesk agent {}; fix the email or zendesk_id",
                    agent.email
                ),
            )),
            Err(e) => findings.push(error(
                &format!("agents[{i}]"),
                format!("cannot look up {}: {e}", agent.email),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use zendesk_emulator::{Emulator, EmulatorConfig, Role};

    use super::*;
    use crate::config::Overrides;

    fn config(base_url: &str) -> Config {
        let text = format!(
            "[backends.main]\nkind = \"zendesk\"\nbase_url = \"{base_url}\"\nemail = \"admin@acme.com\"\napi_token = \"emulator-token\"\n\n[[groups]]\nname = \"support\"\nbackend = \"main\"\ntokens = [\"support-token-0123456789\"]\n"
        );
        Config::from_toml(&text, Overrides::default()).expect("a valid config")
    }

    /// Issue 9, point 7: creating users needs an admin (Support API reference,
    /// Create Or Update User, "Allowed For"); a plain agent's token is found here,
    /// not at the first unknown caller.
    #[tokio::test]
    async fn a_plain_agent_token_is_reported_and_an_admin_passes() {
        let zd = Emulator::new(EmulatorConfig::new("admin@acme.com", "emulator-token"))
            .start("127.0.0.1:0")
            .await
            .unwrap();
        let config = config(&zd.base_url);
        let findings = online(&config).await;
        assert!(findings.is_empty(), "{findings:?}");

        zd.set_api_role(Role::Agent);
        let findings = online(&config).await;
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].severity, Severity::Error);
        assert_eq!(findings[0].key, "backends.main.email");
        assert!(findings[0].message.contains("admin"), "{}", findings[0]);
    }
}
