//! Ticket fields: Freshdesk's default ones and the admin's custom `cf_*` ones,
//! and the checks a ticket's `custom_fields` must pass (freshdesk-api.md §4:
//! "an object keyed `cf_*` (list them with `GET /api/v2/ticket_fields`). A
//! required one that is missing gets `missing_field`").

use serde_json::{Map, Value, json};

use super::{Store, now};
use crate::error::{Errors, msg};
use crate::model::TicketField;

/// Freshdesk's default ticket types (unverified: an account's list can be
/// edited by its admin).
pub(crate) const TICKET_TYPES: [&str; 5] = [
    "Question",
    "Incident",
    "Problem",
    "Feature Request",
    "Refund",
];

/// The default fields: name, label, type, required for agents, choices. The
/// labels and which are required are unverified; the choices are the values
/// freshdesk-api.md §4 lists for status, priority and source.
fn defaults() -> Vec<(&'static str, &'static str, &'static str, bool, Value)> {
    vec![
        (
            "requester",
            "Search a requester",
            "default_requester",
            true,
            Value::Null,
        ),
        ("subject", "Subject", "default_subject", true, Value::Null),
        (
            "ticket_type",
            "Type",
            "default_ticket_type",
            false,
            json!(TICKET_TYPES),
        ),
        (
            "source",
            "Source",
            "default_source",
            false,
            json!({"Email": 1, "Portal": 2, "Phone": 3, "Twitter": 5, "Facebook": 6,
                   "Chat": 7, "Mobihelp": 8, "Feedback Widget": 9, "Outbound Email": 10,
                   "Ecommerce": 11, "Bot": 12, "Whatsapp": 13}),
        ),
        (
            "status",
            "Status",
            "default_status",
            false,
            json!({"2": ["Open", "Being Processed"], "3": ["Pending", "Awaiting your Reply"],
                   "4": ["Resolved", "This ticket has been Resolved"],
                   "5": ["Closed", "This ticket has been Closed"]}),
        ),
        (
            "priority",
            "Priority",
            "default_priority",
            false,
            json!({"Low": 1, "Medium": 2, "High": 3, "Urgent": 4}),
        ),
        // Groups, agents and products: `choices` is built from the account
        // when rendered.
        ("group", "Group", "default_group", false, Value::Null),
        ("agent", "Agent", "default_agent", false, Value::Null),
        ("product", "Product", "default_product", false, Value::Null),
        (
            "description",
            "Description",
            "default_description",
            true,
            Value::Null,
        ),
    ]
}

impl Store {
    pub(super) fn add_default_fields(&mut self) {
        let at = now();
        for (position, (name, label, field_type, required, choices)) in
            defaults().into_iter().enumerate()
        {
            let id = self.next_field_id();
            self.ticket_fields.push(TicketField {
                id,
                name: name.to_owned(),
                label: label.to_owned(),
                field_type: field_type.to_owned(),
                default: true,
                required_for_agents: required,
                position: u32::try_from(position + 1).unwrap_or(u32::MAX),
                choices,
                created_at: at,
                updated_at: at,
            });
        }
    }

    /// Checks `custom_fields` of a create (`creating`: required fields must be
    /// there) or an update.
    pub(crate) fn check_custom_fields(
        &self,
        given: Option<&Map<String, Value>>,
        creating: bool,
        errors: &mut Errors,
    ) {
        let empty = Map::new();
        let given = given.unwrap_or(&empty);
        for (name, value) in given {
            match self.custom_fields().find(|field| &field.name == name) {
                None => errors.unknown(name),
                Some(_) if value.is_null() => {}
                Some(field) => check_value(field, value, errors),
            }
        }
        if creating {
            for field in self.custom_fields().filter(|f| f.required_for_agents) {
                if given.get(&field.name).is_none_or(Value::is_null) {
                    errors.missing(&field.name, msg::data_type(expected_type(field)));
                }
            }
        }
    }
}

/// The JSON type a custom field takes, as the error messages name it.
fn expected_type(field: &TicketField) -> &'static str {
    match field.field_type.as_str() {
        "custom_number" => "Integer",
        "custom_decimal" => "Number",
        "custom_checkbox" => "Boolean",
        _ => "String",
    }
}

fn check_value(field: &TicketField, value: &Value, errors: &mut Errors) {
    let name = field.name.as_str();
    let type_ok = match field.field_type.as_str() {
        "custom_number" => value.is_i64() || value.is_u64(),
        "custom_decimal" => value.is_number(),
        "custom_checkbox" => value.is_boolean(),
        _ => value.is_string(),
    };
    if !type_ok {
        errors.data_type(name, expected_type(field));
        return;
    }
    let text = value.as_str().unwrap_or_default();
    match field.field_type.as_str() {
        "custom_text" if text.chars().count() > 255 => {
            errors.invalid(name, msg::too_long(text.chars().count(), 255));
        }
        "custom_date" if chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_err() => {
            errors.invalid(name, "It should be in the 'valid date' format");
        }
        "custom_dropdown" if !field.choice_list().contains(&text) => {
            errors.invalid(name, msg::one_of(&field.choice_list().join(",")));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EmulatorConfig;
    use crate::seed::SeedTicketField;

    fn codes(store: &Store, given: Value, creating: bool) -> Vec<(String, String)> {
        let mut errors = Errors::default();
        store.check_custom_fields(given.as_object(), creating, &mut errors);
        match errors.finish() {
            Ok(()) => Vec::new(),
            Err(crate::error::ApiError::Validation(list)) => {
                list.into_iter().map(|e| (e.field, e.code)).collect()
            }
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn custom_fields_are_checked_by_type_and_requiredness() {
        let mut store = Store::new(&EmulatorConfig::new("KEY"));
        store.seed_ticket_field(SeedTicketField::text("cf_utm_source", "UTM").required());
        store.seed_ticket_field(SeedTicketField::dropdown("cf_kind", "Kind", ["a", "b"]));
        store.seed_ticket_field(SeedTicketField::number("cf_count", "Count"));
        assert_eq!(
            codes(
                &store,
                json!({"cf_utm_source": "x", "cf_kind": "a", "cf_count": 3}),
                true
            ),
            []
        );
        let mut found = codes(
            &store,
            json!({"cf_kind": "c", "cf_count": "3", "cf_nope": 1}),
            true,
        );
        found.sort();
        assert_eq!(
            found,
            [
                ("cf_count".to_owned(), "datatype_mismatch".to_owned()),
                ("cf_kind".to_owned(), "invalid_value".to_owned()),
                ("cf_nope".to_owned(), "invalid_field".to_owned()),
                ("cf_utm_source".to_owned(), "missing_field".to_owned()),
            ]
        );
        assert_eq!(codes(&store, json!({}), false), []);
    }
}
