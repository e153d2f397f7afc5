//! `check --online` for a Freshdesk backend: the API key, the directory's
//! agents, and the custom ticket fields its groups fill. Each finding names
//! the key to change.

use std::collections::BTreeMap;

use deskbridge_core::ticket::TicketType;
use deskbridge_freshdesk::FreshdeskError;
use deskbridge_freshdesk::types::TicketField;

use super::{Finding, agents_on, error, warning};
use crate::backends;
use crate::config::{BackendConfig, Config, GroupConfig};

/// Checks one Freshdesk backend (`backends.{name}`) against its account.
pub(super) async fn check(
    name: &str,
    backend: &BackendConfig,
    config: &Config,
    findings: &mut Vec<Finding>,
) {
    let key = format!("backends.{name}");
    let client = match backends::freshdesk_client(backend, None) {
        Ok(c) => c,
        Err(e) => {
            findings.push(error(&key, e.to_string()));
            return;
        }
    };
    // The key's own agent: a wrong key (401) fails every request.
    if let Err(e) = client.me().await {
        findings.push(sign_in_failed(&key, backend, &e));
        return;
    }

    let groups: Vec<(usize, &GroupConfig)> = config
        .groups
        .iter()
        .enumerate()
        .filter(|(_, g)| g.backend.as_deref() == Some(name))
        .collect();

    // Agents by email, each looked up once: the directory's and the groups'
    // default assignees.
    let mut agents: BTreeMap<String, Result<bool, FreshdeskError>> = BTreeMap::new();
    let mut is_agent = async |email: &str| -> Result<bool, FreshdeskError> {
        let email = email.to_ascii_lowercase();
        if let Some(known) = agents.get(&email) {
            return known.clone();
        }
        let found = client.agent_by_email(&email).await.map(|a| a.is_some());
        agents.insert(email, found.clone());
        found
    };
    for (i, agent) in agents_on(config, name) {
        let key = format!("agents[{i}].email");
        match is_agent(&agent.email).await {
            Ok(true) => {}
            Ok(false) => findings.push(error(
                &key,
                format!(
                    "no Freshdesk agent has the email {}: tickets of their calls would be left unassigned; fix the email, or add them in Freshdesk (Admin > Agents)",
                    agent.email
                ),
            )),
            Err(e) => findings.push(error(
                &key,
                format!("cannot look up {} in Freshdesk: {e}", agent.email),
            )),
        }
    }
    for (i, group) in &groups {
        let Some(email) = group.default_assignee.as_deref() else {
            continue;
        };
        let key = format!("groups[{i}].default_assignee");
        match is_agent(email).await {
            Ok(true) => {}
            Ok(false) => findings.push(error(
                &key,
                format!(
                    "no Freshdesk agent has the email {email}: the tickets it should get would be left unassigned; name an agent of the account"
                ),
            )),
            Err(e) => findings.push(error(
                &key,
                format!("cannot look up {email} in Freshdesk: {e}"),
            )),
        }
    }

    if groups.is_empty() {
        return;
    }
    let fields = match client.ticket_fields().await {
        Ok(f) => f,
        Err(e) => {
            findings.push(error(
                &format!("{key}.api_key"),
                format!(
                    "cannot read the ticket fields (GET /api/v2/ticket_fields): {e}; use the API key of an agent who may (an admin's)"
                ),
            ));
            return;
        }
    };
    for (i, group) in groups {
        check_group(i, group, &fields, findings);
    }
}

/// The finding for a failed `GET /api/v2/agents/me`, naming the key that
/// most likely needs changing.
fn sign_in_failed(key: &str, backend: &BackendConfig, e: &FreshdeskError) -> Finding {
    let address = match (&backend.base_url, &backend.domain) {
        (None, Some(domain)) => (
            format!("{key}.domain"),
            format!("https://{domain}.freshdesk.com"),
        ),
        (url, _) => (format!("{key}.base_url"), url.clone().unwrap_or_default()),
    };
    match e {
        FreshdeskError::Unauthorized => error(
            &format!("{key}.api_key"),
            "Freshdesk refused the API key (401): copy the key of the agent deskbridge acts as (their profile picture > Profile settings > View API key)".into(),
        ),
        FreshdeskError::Forbidden { code, message, .. } => error(
            &format!("{key}.api_key"),
            format!(
                "Freshdesk forbade the key's user to read their own agent (403 {code}: {message}): use an agent's API key, not a customer's"
            ),
        ),
        FreshdeskError::NotFound | FreshdeskError::Decode(_) => error(
            &address.0,
            format!(
                "{} answered GET /api/v2/agents/me as no Freshdesk account does ({e}): check the account's address",
                address.1
            ),
        ),
        FreshdeskError::Network(_) => error(
            &address.0,
            format!("cannot reach {}: {e}; check the account's address", address.1),
        ),
        _ => error(
            &format!("{key}.api_key"),
            format!("cannot sign in: {e}; try again, then check the key"),
        ),
    }
}

/// A custom ticket field: the admin's (`cf_...`), not a default one.
fn is_custom(f: &TicketField) -> bool {
    f.field_type.starts_with("custom_") || f.name.starts_with("cf_")
}

/// A dropdown's choices as text (`choices` is a list of strings; a nested
/// field's an object keyed by the first level).
fn choices(f: &TicketField) -> Vec<String> {
    match &f.choices {
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(|c| c.as_str().map(str::to_string))
            .collect(),
        serde_json::Value::Object(map) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// The type a group's `ticket_type` becomes in Freshdesk (as the Freshdesk
/// backend sends it: a task gets none).
fn type_name(t: TicketType) -> Option<&'static str> {
    match t {
        TicketType::Question => Some("Question"),
        TicketType::Incident => Some("Incident"),
        TicketType::Problem => Some("Problem"),
        TicketType::Task => None,
    }
}

fn check_group(i: usize, group: &GroupConfig, fields: &[TicketField], findings: &mut Vec<Finding>) {
    let custom: Vec<&TicketField> = fields.iter().filter(|f| is_custom(f)).collect();
    let names = || {
        let all: Vec<&str> = custom.iter().map(|f| f.name.as_str()).collect();
        match all.is_empty() {
            true => "it has none".to_string(),
            false => format!("it has {}", all.join(", ")),
        }
    };
    // The field the key names, else an error saying which fields there are.
    let field = |key: &str, name: &str, findings: &mut Vec<Finding>| {
        let found = custom.iter().find(|f| f.name == name).copied();
        if found.is_none() {
            findings.push(error(
                key,
                format!(
                    "no custom ticket field {name} in this Freshdesk account ({}); Freshdesk would refuse every ticket with it: use a field's name from Admin > Ticket Fields",
                    names()
                ),
            ));
        }
        found
    };

    for (name, template) in &group.custom_fields {
        let key = format!("groups[{i}].custom_fields.{name}");
        if let Some(f) = field(&key, name, findings) {
            check_value(&key, f, template, findings);
        }
    }
    if let Some(name) = &group.pop_ticket_field {
        field(&format!("groups[{i}].pop_ticket_field"), name, findings);
    }
    if let Some(pop) = &group.pop_new_ticket_field {
        let key = format!("groups[{i}].pop_new_ticket_field");
        if let Some(f) = field(&format!("{key}.id"), &pop.id, findings) {
            check_value(&format!("{key}.value"), f, &pop.value, findings);
        }
    }
    if let Some(wrap_up) = &group.wrap_up {
        let rules = wrap_up.rules();
        if let Some(name) = &rules.custom_field {
            let key = format!("groups[{i}].wrap_up.custom_field");
            if let Some(f) = field(&key, name, findings) {
                for code in &rules.codes {
                    check_value(&key, f, &code.code, findings);
                }
            }
        }
    }
    if let Some(chat) = &group.chat {
        for name in chat.fields.keys() {
            let key = format!("groups[{i}].chat.fields.{name}");
            if let Some(f) = field(&key, name, findings) {
                check_value(&key, f, "{{ source }}", findings);
            }
        }
    }

    // Freshdesk refuses a ticket without a field required for agents
    // (`missing_field`): every ticket the group creates must fill it.
    let creates_tickets = group.policy().create.ticket;
    for f in custom.iter().filter(|f| f.required_for_agents) {
        let label = match f.label.is_empty() {
            true => String::new(),
            false => format!(" ({})", f.label),
        };
        if creates_tickets && !group.custom_fields.contains_key(&f.name) {
            findings.push(error(
                &format!("groups[{i}].custom_fields"),
                format!(
                    "Freshdesk requires ticket field {}{label} on every ticket, and the group does not fill it, so every call's ticket would be refused: add \"{}\" = \"<template>\" under [groups.custom_fields], or make the field optional in Freshdesk",
                    f.name, f.name
                ),
            ));
        }
        if let Some(chat) = &group.chat
            && !chat.fields.contains_key(&f.name)
        {
            findings.push(error(
                &format!("groups[{i}].chat.fields"),
                format!(
                    "Freshdesk requires ticket field {}{label} on every ticket, and the site's chats do not fill it, so every chat's ticket would be refused: add \"{}\" = \"<source>\" under [groups.chat.fields]",
                    f.name, f.name
                ),
            ));
        }
    }

    // The ticket type: one of the account's types (an admin can edit them).
    let types = fields
        .iter()
        .find(|f| f.name == "ticket_type")
        .map(choices)
        .unwrap_or_default();
    if let Some(name) = type_name(group.ticket_type.unwrap_or_default())
        && !types.is_empty()
        && !types.iter().any(|t| t == name)
    {
        findings.push(error(
            &format!("groups[{i}].ticket_type"),
            format!(
                "Freshdesk has no ticket type {name:?} (its types: {}), so every ticket would be refused: add the type (Admin > Ticket Fields > Type), or set ticket_type to one it has (\"task\" sends no type)",
                types.join(", ")
            ),
        ));
    }
}

/// What the field takes, against the text deskbridge writes into it
/// (`value`: a fixed text, or a template with `{{`).
fn check_value(key: &str, f: &TicketField, value: &str, findings: &mut Vec<Finding>) {
    let kind = match f.field_type.as_str() {
        "custom_number" => Some("a number"),
        "custom_decimal" => Some("a decimal"),
        "custom_checkbox" => Some("a checkbox"),
        _ => None,
    };
    if let Some(kind) = kind {
        findings.push(error(
            key,
            format!(
                "ticket field {} is {kind} field, and deskbridge writes text, which Freshdesk refuses for it: use a text, paragraph or dropdown field",
                f.name
            ),
        ));
        return;
    }
    if f.field_type != "custom_dropdown" {
        return;
    }
    let choices = choices(f);
    let value = value.trim();
    if value.contains("{{") {
        findings.push(warning(
            key,
            format!(
                "ticket field {} is a dropdown: each value must be one of its choices ({}), or Freshdesk refuses the ticket",
                f.name,
                choices.join(", ")
            ),
        ));
    } else if !value.is_empty() && !choices.iter().any(|c| c == value) {
        findings.push(error(
            key,
            format!(
                "{value:?} is not a choice of the dropdown {} ({}), so Freshdesk would refuse the ticket: use one of them, or add it to the field",
                f.name,
                choices.join(", ")
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(list: serde_json::Value) -> Vec<TicketField> {
        serde_json::from_value(list).expect("ticket fields")
    }

    fn group(toml_text: &str) -> GroupConfig {
        toml::from_str(toml_text).expect("a group")
    }

    /// An account whose admin renamed the ticket types, and whose required
    /// field a chat site leaves empty.
    #[test]
    fn a_missing_ticket_type_and_a_required_field_chats_leave_empty_are_named() {
        let fields = fields(json!([
            {"id": 1, "name": "ticket_type", "label": "Type", "type": "default_ticket_type",
             "choices": ["Billing", "Incident"]},
            {"id": 2, "name": "cf_order", "label": "Order", "type": "custom_text",
             "required_for_agents": true},
        ]));
        let g = group(
            "name = \"web\"\n[custom_fields]\ncf_order = \"{{ attributes.order }}\"\n[chat]\nfields = {}\n",
        );
        let mut findings = Vec::new();
        check_group(3, &g, &fields, &mut findings);
        let keys: Vec<&str> = findings.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(
            keys,
            ["groups[3].chat.fields", "groups[3].ticket_type"],
            "{findings:#?}"
        );
        assert!(
            findings[0]
                .message
                .contains("add \"cf_order\" = \"<source>\" under [groups.chat.fields]"),
            "{}",
            findings[0]
        );
        assert!(
            findings[1].message.starts_with(
                "Freshdesk has no ticket type \"Question\" (its types: Billing, Incident)"
            ),
            "{}",
            findings[1]
        );

        // An incident group fits; so does a task (no type is sent).
        for kind in ["incident", "task"] {
            let g = group(&format!(
                "name = \"web\"\nticket_type = \"{kind}\"\n[custom_fields]\ncf_order = \"1\"\n"
            ));
            let mut findings = Vec::new();
            check_group(0, &g, &fields, &mut findings);
            assert!(findings.is_empty(), "{kind}: {findings:#?}");
        }
    }
}
