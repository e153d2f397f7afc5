//! Zendesk's search language, the part clients use to find callers and their
//! tickets: `type:user role:end-user phone:14155551212`, `phone:*4155551212`,
//! `type:user email:ann@acme.com`, `type:ticket requester:123 -status:closed
//! -status:solved`, `status<solved`, free words, quoted values, and
//! `order_by:`/`sort:` directives.
//!
//! Search reads an index that lags behind the records: a record is only found once
//! its `indexed_at` has passed. This is the behaviour that makes naive connectors
//! create duplicate users, so the emulator must reproduce it.

use std::cmp::Ordering;
use std::time::Instant;

use crate::model::{Ticket, TicketStatus, User};
use crate::phone;
use crate::state::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    negated: bool,
    /// `None` for a free word.
    key: Option<String>,
    op: Op,
    value: String,
}

/// Which records a query asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    User,
    Ticket,
    Organization,
}

/// How to order results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SortKey {
    Id,
    CreatedAt,
    UpdatedAt,
    Status,
    Priority,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sort {
    pub(crate) key: SortKey,
    pub(crate) descending: bool,
}

impl Sort {
    /// From `sort_by` / `sort_order` parameters. Unknown keys fall back to id
    /// order; `default_descending` applies when no order is given.
    pub(crate) fn from_params(
        sort_by: Option<&str>,
        sort_order: Option<&str>,
        default_descending: bool,
    ) -> Sort {
        let key = match sort_by {
            Some("created_at") => SortKey::CreatedAt,
            Some("updated_at") => SortKey::UpdatedAt,
            Some("status") => SortKey::Status,
            Some("priority") => SortKey::Priority,
            _ => SortKey::Id,
        };
        let descending = match sort_order {
            Some("desc") => true,
            Some("asc") => false,
            _ => default_descending && key != SortKey::Id,
        };
        Sort { key, descending }
    }

    pub(crate) fn compare_tickets(&self, a: &Ticket, b: &Ticket) -> Ordering {
        let ordering = match self.key {
            SortKey::Id => a.id.cmp(&b.id),
            SortKey::CreatedAt => a.created_at.cmp(&b.created_at),
            SortKey::UpdatedAt => a.updated_at.cmp(&b.updated_at),
            SortKey::Status => a.status.cmp(&b.status),
            // Zendesk orders priorities from low to urgent.
            SortKey::Priority => b
                .priority
                .map(|priority| priority as u8)
                .cmp(&a.priority.map(|priority| priority as u8)),
        }
        .then(a.id.cmp(&b.id));
        if self.descending {
            ordering.reverse()
        } else {
            ordering
        }
    }

    pub(crate) fn compare_users(&self, a: &User, b: &User) -> Ordering {
        let ordering = match self.key {
            SortKey::CreatedAt => a.created_at.cmp(&b.created_at),
            SortKey::UpdatedAt => a.updated_at.cmp(&b.updated_at),
            _ => a.id.cmp(&b.id),
        }
        .then(a.id.cmp(&b.id));
        if self.descending {
            ordering.reverse()
        } else {
            ordering
        }
    }
}

/// A parsed search query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Query {
    terms: Vec<Term>,
    kinds: Vec<Kind>,
    order_by: Option<String>,
    sort: Option<String>,
}

/// Splits on whitespace, keeping `"quoted values"` whole.
fn tokens(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

fn term(token: &str) -> Term {
    let (negated, rest) = match token.strip_prefix('-') {
        Some(rest) if !rest.is_empty() => (true, rest),
        _ => (false, token),
    };
    let split = rest
        .char_indices()
        .find(|&(_, c)| matches!(c, ':' | '<' | '>'))
        .filter(|&(at, _)| at > 0 && !rest[..at].contains('"'));
    let Some((at, c)) = split else {
        return Term {
            negated,
            key: None,
            op: Op::Eq,
            value: rest.trim_matches('"').to_owned(),
        };
    };
    let after = &rest[at + c.len_utf8()..];
    let (op, value) = match (c, after.strip_prefix('=')) {
        ('<', Some(value)) => (Op::Le, value),
        ('>', Some(value)) => (Op::Ge, value),
        ('<', None) => (Op::Lt, after),
        ('>', None) => (Op::Gt, after),
        _ => (Op::Eq, after),
    };
    Term {
        negated,
        key: Some(rest[..at].to_ascii_lowercase()),
        op,
        value: value.trim_matches('"').to_owned(),
    }
}

/// Case-insensitive match with `*` wildcards at either end.
fn glob(pattern: &str, text: &str) -> bool {
    let pattern = pattern.to_lowercase();
    let text = text.to_lowercase();
    match (pattern.strip_prefix('*'), pattern.strip_suffix('*')) {
        (Some(rest), _) if rest.ends_with('*') => text.contains(rest.trim_end_matches('*')),
        (Some(rest), _) => text.ends_with(rest),
        (None, Some(rest)) => text.starts_with(rest),
        (None, None) => text == pattern,
    }
}

fn contains(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

fn compare(op: Op, have: TicketStatus, wanted: TicketStatus) -> bool {
    match op {
        Op::Eq => have == wanted,
        Op::Lt => have < wanted,
        Op::Le => have <= wanted,
        Op::Gt => have > wanted,
        Op::Ge => have >= wanted,
    }
}

/// `123`, an email, or `none` naming a user in `requester:` / `assignee:`.
fn names_user(store: &Store, value: &str, user_id: Option<u64>) -> bool {
    if value.eq_ignore_ascii_case("none") {
        return user_id.is_none();
    }
    let Some(user_id) = user_id else {
        return false;
    };
    if let Ok(id) = value.parse::<u64>() {
        return id == user_id;
    }
    store.user(user_id).is_some_and(|user| {
        user.emails().any(|email| glob(value, email)) || glob(value, &user.name)
    })
}

impl Query {
    pub(crate) fn parse(text: &str) -> Query {
        let mut query = Query {
            terms: Vec::new(),
            kinds: Vec::new(),
            order_by: None,
            sort: None,
        };
        for token in tokens(text) {
            let term = term(&token);
            match (term.key.as_deref(), term.negated) {
                (Some("type"), false) => match term.value.to_ascii_lowercase().as_str() {
                    "user" => query.kinds.push(Kind::User),
                    "ticket" => query.kinds.push(Kind::Ticket),
                    _ => query.kinds.push(Kind::Organization),
                },
                (Some("order_by"), _) => query.order_by = Some(term.value),
                (Some("sort"), _) => query.sort = Some(term.value),
                _ => query.terms.push(term),
            }
        }
        query
    }

    /// `order_by:` / `sort:` in the query win over the URL parameters.
    pub(crate) fn sort(&self, sort_by: Option<&str>, sort_order: Option<&str>) -> Sort {
        Sort::from_params(
            self.order_by.as_deref().or(sort_by),
            self.sort.as_deref().or(sort_order),
            true,
        )
    }

    /// Without `type:`, users and tickets are both searched.
    pub(crate) fn wants(&self, kind: Kind) -> bool {
        if self.kinds.is_empty() {
            kind != Kind::Organization
        } else {
            self.kinds.contains(&kind)
        }
    }

    /// A term that does not apply to a kind (`status:` on a user) excludes the
    /// record when positive and is ignored when negated.
    fn holds(&self, mut evaluate: impl FnMut(&Term) -> Option<bool>) -> bool {
        self.terms.iter().all(|term| {
            let matched = evaluate(term) == Some(true);
            matched != term.negated
        })
    }

    pub(crate) fn matches_user(&self, user: &User, store: &Store, now: Instant) -> bool {
        if user.indexed_at > now {
            return false;
        }
        self.holds(|term| {
            let value = term.value.as_str();
            Some(match term.key.as_deref() {
                None => {
                    contains(&user.name, value)
                        || user.emails().any(|email| contains(email, value))
                        || user.phones().any(|(phone, indexed_at)| {
                            indexed_at <= now && phone::search_matches(value, phone)
                        })
                }
                Some("role") => {
                    user.role.as_str().eq_ignore_ascii_case(value)
                        || (value == "end_user" && user.role.as_str() == "end-user")
                }
                Some("phone") => user.phones().any(|(phone, indexed_at)| {
                    indexed_at <= now && phone::search_matches(value, phone)
                }),
                Some("email") => user.emails().any(|email| glob(value, email)),
                Some("name") => glob(value, &user.name) || contains(&user.name, value),
                Some("external_id") => user.external_id.as_deref() == Some(value),
                Some("organization" | "organization_id") => {
                    user.organization_id.is_some_and(|id| {
                        value.parse() == Ok(id)
                            || store
                                .organizations
                                .get(&id)
                                .is_some_and(|organization| glob(value, &organization.name))
                    })
                }
                Some("tags" | "tag") => user.tags.iter().any(|tag| tag.eq_ignore_ascii_case(value)),
                Some(_) => return None,
            })
        })
    }

    pub(crate) fn matches_ticket(&self, ticket: &Ticket, store: &Store, now: Instant) -> bool {
        if ticket.indexed_at > now {
            return false;
        }
        self.holds(|term| {
            let value = term.value.as_str();
            Some(match term.key.as_deref() {
                None => {
                    ticket
                        .subject
                        .as_deref()
                        .is_some_and(|subject| contains(subject, value))
                        || contains(&ticket.description, value)
                }
                Some("status") => TicketStatus::parse(&value.to_ascii_lowercase())
                    .is_some_and(|wanted| compare(term.op, ticket.status, wanted)),
                Some("requester") => names_user(store, value, Some(ticket.requester_id)),
                Some("assignee") => names_user(store, value, ticket.assignee_id),
                Some("submitter") => names_user(store, value, Some(ticket.submitter_id)),
                Some("priority") => ticket
                    .priority
                    .is_some_and(|priority| priority.as_str().eq_ignore_ascii_case(value)),
                Some("ticket_type") => ticket
                    .ticket_type
                    .is_some_and(|ticket_type| ticket_type.as_str().eq_ignore_ascii_case(value)),
                Some("tags" | "tag") => ticket
                    .tags
                    .iter()
                    .any(|tag| tag.eq_ignore_ascii_case(value)),
                Some("subject") => ticket
                    .subject
                    .as_deref()
                    .is_some_and(|subject| contains(subject, value)),
                Some("description") => contains(&ticket.description, value),
                Some("external_id") => ticket.external_id.as_deref() == Some(value),
                Some("group") => match ticket.group_id {
                    None => value.eq_ignore_ascii_case("none"),
                    Some(id) => value.parse() == Ok(id),
                },
                Some("organization") => ticket
                    .organization_id
                    .is_some_and(|id| value.parse() == Ok(id)),
                Some("form") => ticket
                    .ticket_form_id
                    .is_some_and(|id| value.parse() == Ok(id)),
                // `custom_field_{id}:value` ("Zendesk Support search reference",
                // searching custom fields): the field's value, whole and
                // case-insensitive.
                Some(key) if key.starts_with("custom_field_") => {
                    let Ok(id) = key["custom_field_".len()..].parse::<u64>() else {
                        return None;
                    };
                    ticket.custom_fields.get(&id).is_some_and(|v| match v {
                        serde_json::Value::String(s) => s.eq_ignore_ascii_case(value),
                        other => *other == value,
                    })
                }
                Some(_) => return None,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_negations_operators_and_quotes() {
        let query = Query::parse(
            r#"type:ticket requester:12 -status:closed status<solved name:"Ann Lee" hello"#,
        );
        assert_eq!(query.kinds, vec![Kind::Ticket]);
        assert_eq!(query.terms.len(), 5);
        assert_eq!(query.terms[1].key.as_deref(), Some("status"));
        assert!(query.terms[1].negated);
        assert_eq!(query.terms[2].op, Op::Lt);
        assert_eq!(query.terms[3].value, "Ann Lee");
        assert_eq!(query.terms[4].key, None);
    }

    #[test]
    fn globs() {
        assert!(glob("*@acme.com", "Ann@ACME.com"));
        assert!(glob("ann*", "anne@x.org"));
        assert!(glob("ann@acme.com", "ANN@acme.com"));
        assert!(!glob("ann@acme.com", "joann@acme.com"));
    }

    #[test]
    fn without_type_users_and_tickets_are_searched() {
        let query = Query::parse("role:end-user phone:14155551212");
        assert!(query.wants(Kind::User));
        assert!(query.wants(Kind::Ticket));
        assert!(!query.wants(Kind::Organization));
    }
}
