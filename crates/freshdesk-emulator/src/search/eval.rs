//! Which records a query matches. Fields are case sensitive; contacts take
//! `phone mobile email company_id twitter_id tag active language time_zone
//! created_at updated_at`, tickets `status priority group_id agent_id type tag
//! created_at updated_at due_by fr_due_by` and the account's `cf_*` fields
//! (freshdesk-api.md §3 and §4; contact custom fields are not modelled). Phone
//! and mobile match the stored value exactly, as the column holds it; other
//! strings compare case-insensitively (unverified).

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use super::{Clause, Expr, Literal, Op};
use crate::error::Errors;
use crate::model::{Contact, Ticket};

const CONTACT_FIELDS: &[&str] = &[
    "phone",
    "mobile",
    "email",
    "company_id",
    "twitter_id",
    "tag",
    "active",
    "language",
    "time_zone",
    "created_at",
    "updated_at",
];

const TICKET_FIELDS: &[&str] = &[
    "status",
    "priority",
    "group_id",
    "agent_id",
    "type",
    "tag",
    "created_at",
    "updated_at",
    "due_by",
    "fr_due_by",
];

/// Adds an `invalid_field` for each clause on a field the endpoint does not
/// search (`custom`: the account's `cf_*` names, for tickets).
pub(crate) fn check_fields(expr: &Expr, tickets: bool, custom: &[String], errors: &mut Errors) {
    for clause in expr.clauses() {
        let known = if tickets {
            TICKET_FIELDS.contains(&clause.field.as_str()) || custom.contains(&clause.field)
        } else {
            CONTACT_FIELDS.contains(&clause.field.as_str())
        };
        if !known {
            errors.unknown(&clause.field);
        }
    }
}

fn holds(expr: &Expr, clause_holds: &dyn Fn(&Clause) -> bool) -> bool {
    match expr {
        Expr::Or(items) => items.iter().any(|item| holds(item, clause_holds)),
        Expr::And(items) => items.iter().all(|item| holds(item, clause_holds)),
        Expr::Clause(clause) => clause_holds(clause),
    }
}

pub(crate) fn matches_contact(expr: &Expr, contact: &Contact) -> bool {
    holds(expr, &|clause| {
        let value = &clause.value;
        match clause.field.as_str() {
            "phone" => exact(value, contact.phone.as_deref()),
            "mobile" => exact(value, contact.mobile.as_deref()),
            "email" => text(value, contact.email.as_deref()),
            "twitter_id" => text(value, contact.twitter_id.as_deref()),
            "language" => text(value, Some(&contact.language)),
            "time_zone" => text(value, Some(&contact.time_zone)),
            "company_id" => number(clause, contact.company_id.map(|id| id as f64)),
            "active" => *value == Literal::Bool(contact.active),
            "tag" => tags(value, &contact.tags),
            "created_at" => date(clause, contact.created_at),
            "updated_at" => date(clause, contact.updated_at),
            _ => false,
        }
    })
}

pub(crate) fn matches_ticket(expr: &Expr, ticket: &Ticket) -> bool {
    holds(expr, &|clause| {
        let value = &clause.value;
        match clause.field.as_str() {
            "status" => number(clause, Some(f64::from(ticket.status))),
            "priority" => number(clause, Some(f64::from(ticket.priority))),
            "group_id" => number(clause, ticket.group_id.map(|id| id as f64)),
            "agent_id" => number(clause, ticket.responder_id.map(|id| id as f64)),
            "type" => text(value, ticket.ticket_type.as_deref()),
            "tag" => tags(value, &ticket.tags),
            "created_at" => date(clause, ticket.created_at),
            "updated_at" => date(clause, ticket.updated_at),
            "due_by" => date(clause, ticket.due_by),
            "fr_due_by" => date(clause, ticket.fr_due_by),
            name => custom(clause, ticket.custom_fields.get(name)),
        }
    })
}

/// A stored string, equal byte for byte (`null`: absent).
fn exact(value: &Literal, stored: Option<&str>) -> bool {
    match value {
        Literal::Null => stored.is_none(),
        Literal::Str(wanted) => stored == Some(wanted.as_str()),
        _ => false,
    }
}

fn text(value: &Literal, stored: Option<&str>) -> bool {
    match value {
        Literal::Null => stored.is_none(),
        Literal::Str(wanted) => stored.is_some_and(|s| s.eq_ignore_ascii_case(wanted)),
        _ => false,
    }
}

fn tags(value: &Literal, stored: &[String]) -> bool {
    match value {
        Literal::Null => stored.is_empty(),
        Literal::Str(wanted) => stored.iter().any(|t| t.eq_ignore_ascii_case(wanted)),
        _ => false,
    }
}

fn number(clause: &Clause, stored: Option<f64>) -> bool {
    match (&clause.value, stored) {
        (Literal::Null, stored) => stored.is_none(),
        (Literal::Num(wanted), Some(stored)) => match clause.op {
            Op::Eq => stored == *wanted,
            Op::Ge => stored >= *wanted,
            Op::Le => stored <= *wanted,
        },
        _ => false,
    }
}

/// Dates are given as `'yyyy-mm-dd'` and compared by UTC day.
fn date(clause: &Clause, stored: DateTime<Utc>) -> bool {
    let Literal::Str(text) = &clause.value else {
        return false;
    };
    let Ok(wanted) = NaiveDate::parse_from_str(text, "%Y-%m-%d") else {
        return false;
    };
    let day = stored.date_naive();
    match clause.op {
        Op::Eq => day == wanted,
        Op::Ge => day >= wanted,
        Op::Le => day <= wanted,
    }
}

fn custom(clause: &Clause, stored: Option<&Value>) -> bool {
    match (&clause.value, stored) {
        (Literal::Null, stored) => stored.is_none_or(Value::is_null),
        (Literal::Str(wanted), Some(Value::String(s))) => {
            if clause.op == Op::Eq {
                s.eq_ignore_ascii_case(wanted)
            } else {
                date(clause, day_start(s).unwrap_or_default())
            }
        }
        (Literal::Num(_), Some(Value::Number(n))) => number(clause, n.as_f64()),
        (Literal::Bool(wanted), Some(Value::Bool(b))) => wanted == b,
        _ => false,
    }
}

/// A custom date field's value as the start of its day.
fn day_start(text: &str) -> Option<DateTime<Utc>> {
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(day.and_hms_opt(0, 0, 0)?.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::parse;
    use crate::state::tests_support::{contact, ticket};

    #[test]
    fn phones_match_exactly_other_strings_ignore_case() {
        let mut ann = contact(1);
        ann.phone = Some("+15551234567".to_owned());
        ann.email = Some("Ann@Acme.com".to_owned());
        let query = |q: &str| parse(q).expect("parses");
        assert!(matches_contact(&query(r#""phone:'+15551234567'""#), &ann));
        assert!(!matches_contact(&query(r#""phone:'15551234567'""#), &ann));
        assert!(matches_contact(
            &query(r#""email:'ann@acme.com' OR mobile:'x'""#),
            &ann
        ));
        assert!(matches_contact(
            &query(r#""mobile:null AND created_at:>'2000-01-01'""#),
            &ann
        ));
    }

    #[test]
    fn tickets_by_status_priority_and_custom_field() {
        let mut call = ticket(1);
        call.priority = 4;
        call.custom_fields
            .insert("cf_call_id".to_owned(), "C-1".into());
        let query = |q: &str| parse(q).expect("parses");
        assert!(matches_ticket(
            &query(r#""(status:2 OR status:3) AND priority:>3""#),
            &call
        ));
        assert!(matches_ticket(
            &query(r#""cf_call_id:'c-1' AND agent_id:null""#),
            &call
        ));
        assert!(!matches_ticket(&query(r#""priority:<3""#), &call));
    }
}
