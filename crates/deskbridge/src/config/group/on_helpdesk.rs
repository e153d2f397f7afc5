//! A group's keys checked against its helpdesk: a key one helpdesk has and
//! another does not (Zendesk's voice comments and ticket forms, Freshdesk's
//! products), and ids in the helpdesk's own form.

use super::{BackendKind, GroupConfig};

/// Every check of a group's keys that depends on its backend's kind (`None`:
/// the built-in CRM, by default).
pub(super) fn check(
    g: &GroupConfig,
    kind: Option<BackendKind>,
    key: &dyn Fn(&str) -> String,
    errors: &mut Vec<String>,
) {
    let on_zendesk = kind == Some(BackendKind::Zendesk);
    // What the group's backend writes a call as, for the Zendesk keys'
    // messages.
    let writes = match kind {
        Some(BackendKind::Freshdesk) => "Freshdesk, where a call is a private note",
        _ => "the built-in CRM, which writes text comments",
    };
    if g.zendesk_voice == Some(true) && !on_zendesk {
        errors.push(format!(
            "{}: voice comments are Zendesk's; this group's backend is {writes} (remove zendesk_voice, or set backend to a Zendesk backend)",
            key("zendesk_voice")
        ));
    }
    if let Some(app) = g.zendesk_app_id {
        if !on_zendesk {
            errors.push(format!(
                "{}: call records are Zendesk's (Talk Partner Edition); this group's backend is {writes} (remove zendesk_app_id, or set backend to a Zendesk backend)",
                key("zendesk_app_id")
            ));
        } else if app == 0 {
            errors.push(format!(
                "{}: 0 is no app id; use your Talk Partner Edition app's id (Admin Center > Apps and integrations > Zendesk Support apps), or leave the key out",
                key("zendesk_app_id")
            ));
        }
    }
    if on_zendesk {
        for id in g.custom_fields.keys() {
            if id.parse::<u64>().is_err() {
                errors.push(format!(
                    "{}: {id:?} is not a Zendesk ticket field id (digits, from Admin Center > Objects and rules > Tickets > Fields)",
                    key(&format!("custom_fields.{id}"))
                ));
            }
        }
        let pop_fields = [
            ("pop_ticket_field", g.pop_ticket_field.as_ref()),
            (
                "pop_new_ticket_field.id",
                g.pop_new_ticket_field.as_ref().map(|f| &f.id),
            ),
        ];
        for (name, id) in pop_fields {
            if let Some(id) = id
                && id.parse::<u64>().is_err()
            {
                errors.push(format!(
                    "{}: {id:?} is not a Zendesk ticket field id (digits, from Admin Center > Objects and rules > Tickets > Fields)",
                    key(name)
                ));
            }
        }
        if let Some(form) = &g.ticket_form
            && form.parse::<u64>().is_err()
        {
            errors.push(format!(
                "{}: {form:?} is not a Zendesk ticket form id (digits)",
                key("ticket_form")
            ));
        }
        if let Some(chat) = &g.chat {
            for id in chat.fields.keys() {
                if id.parse::<u64>().is_err() {
                    errors.push(format!(
                        "{}: {id:?} is not a Zendesk ticket field id (digits, from Admin Center > Objects and rules > Tickets > Fields)",
                        key(&format!("chat.fields.{id}"))
                    ));
                }
            }
            if let Some(form) = &chat.ticket_form
                && form.parse::<u64>().is_err()
            {
                errors.push(format!(
                    "{}: {form:?} is not a Zendesk ticket form id (digits)",
                    key("chat.ticket_form")
                ));
            }
        }
    }
    if kind == Some(BackendKind::Freshdesk) {
        check_on_freshdesk(g, key, errors);
    }
    check_group_and_product(g, kind, key, errors);
}

/// `ticket_group` and `ticket_product` name the helpdesk's own records by
/// id: the built-in CRM has neither, Zendesk no products; a value without a
/// template must be an id (a template's is checked when it renders).
fn check_group_and_product(
    g: &GroupConfig,
    kind: Option<BackendKind>,
    key: &dyn Fn(&str) -> String,
    errors: &mut Vec<String>,
) {
    let helpdesk = match kind {
        Some(BackendKind::Zendesk) => "Zendesk",
        Some(BackendKind::Freshdesk) => "Freshdesk",
        Some(BackendKind::Builtin) | None => "the built-in CRM",
    };
    let keys = [
        (
            "ticket_group",
            g.ticket_group.as_ref(),
            "group",
            "Admin > Groups",
        ),
        (
            "ticket_product",
            g.ticket_product.as_ref(),
            "product",
            "Admin > Multiple Products",
        ),
    ];
    for (name, value, what, page) in keys {
        let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        let has = !matches!(
            (kind, name),
            (Some(BackendKind::Builtin) | None, _) | (Some(BackendKind::Zendesk), "ticket_product")
        );
        if !has {
            errors.push(format!(
                "{}: {helpdesk} has no ticket {what}s; remove {name}",
                key(name)
            ));
        } else if !value.contains("{{")
            && !value.contains("{%")
            && value.trim().parse::<u64>().is_err()
        {
            let page = match kind {
                Some(BackendKind::Zendesk) => "Admin Center > People > Groups",
                _ => page,
            };
            errors.push(format!(
                "{}: {value:?} is not a {helpdesk} {what} id; give the {what}'s number (from {page}), or a template over call data that renders one",
                key(name)
            ));
        }
    }
}

/// A group on a Freshdesk backend: its ticket fields are named `cf_...`, and
/// Zendesk's ticket forms do not exist there.
fn check_on_freshdesk(g: &GroupConfig, key: &dyn Fn(&str) -> String, errors: &mut Vec<String>) {
    let mut fields: Vec<(String, &String)> = g
        .custom_fields
        .keys()
        .map(|id| (key(&format!("custom_fields.{id}")), id))
        .collect();
    fields.extend(
        g.pop_ticket_field
            .iter()
            .map(|id| (key("pop_ticket_field"), id)),
    );
    fields.extend(
        g.pop_new_ticket_field
            .iter()
            .map(|f| (key("pop_new_ticket_field.id"), &f.id)),
    );
    if let Some(chat) = &g.chat {
        fields.extend(
            chat.fields
                .keys()
                .map(|id| (key(&format!("chat.fields.{id}")), id)),
        );
    }
    if let Some(w) = &g.wrap_up {
        fields.extend(
            w.custom_field
                .iter()
                .map(|id| (key("wrap_up.custom_field"), id)),
        );
    }
    for (path, id) in fields {
        if id.starts_with("cf_") {
            continue;
        }
        let example = match id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !id.chars().all(|c| c.is_ascii_digit())
        {
            true => format!("\"cf_{}\"", id.to_ascii_lowercase()),
            false => "\"cf_utm_source\"".to_string(),
        };
        errors.push(format!(
            "{path}: {id:?} is not a Freshdesk custom field; Freshdesk names them cf_... (the field's name in Admin > Ticket Fields, or GET /api/v2/ticket_fields), e.g. {example}"
        ));
    }
    let forms = [
        (
            "ticket_form",
            g.ticket_form.is_some(),
            "[groups.custom_fields]",
        ),
        (
            "chat.ticket_form",
            g.chat.as_ref().is_some_and(|c| c.ticket_form.is_some()),
            "[groups.chat.fields]",
        ),
    ];
    for (name, set, section) in forms {
        if set {
            errors.push(format!(
                "{}: ticket forms are Zendesk's; a Freshdesk ticket is made without one (remove {name}; the fields to fill go under {section})",
                key(name)
            ));
        }
    }
}
