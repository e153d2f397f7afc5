//! The classic contact-center notification: a GET to the configured URL with the
//! record's ids appended as a query string. The parameter names are the ones
//! such receivers read:
//!
//! | record   | query string                               |
//! |----------|--------------------------------------------|
//! | contact  | `?AccountID=aaa`                           |
//! | ticket   | `?AccountID=aaa&CaseID=ccc`                |
//! | comment  | `?AccountID=aaa&CaseID=ccc&FollowupID=fff` |
//! | task     | `?AccountID=aaa&TaskID=ttt`                |
//! | callback | `?AccountID=aaa&CaseID=ccc&CallbackID=bbb` |
//!
//! `AccountID` is the contact (a ticket's requester; a callback's, once its
//! last missed call found one); a callback's `CaseID` is the ticket its last
//! missed call was logged on. A URL that already has a query gets `&` instead
//! of `?`; values are form-encoded (WHATWG `application/x-www-form-urlencoded`,
//! what every query-string parser reads); an id not known (a ticket without
//! requester, a missed call not yet logged) is sent empty, so the receiver
//! always finds its parameter.

use super::{Entity, Ids};

/// The URL to GET for a change of `entity` known by `ids`.
pub fn url(base: &str, entity: Entity, ids: &Ids) -> String {
    let id = |v: &Option<String>| v.clone().unwrap_or_default();
    let pairs: Vec<(&str, String)> = match entity {
        Entity::Contact => vec![("AccountID", id(&ids.account))],
        Entity::Ticket => vec![("AccountID", id(&ids.account)), ("CaseID", id(&ids.case))],
        Entity::Comment => vec![
            ("AccountID", id(&ids.account)),
            ("CaseID", id(&ids.case)),
            ("FollowupID", id(&ids.followup)),
        ],
        Entity::Task => vec![("AccountID", id(&ids.account)), ("TaskID", id(&ids.task))],
        Entity::Callback => vec![
            ("AccountID", id(&ids.account)),
            ("CaseID", id(&ids.case)),
            ("CallbackID", id(&ids.callback)),
        ],
    };
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    // The query goes before a fragment, which is never sent anyway.
    let (head, fragment) = match base.split_once('#') {
        Some((head, fragment)) => (head, Some(fragment)),
        None => (base, None),
    };
    let separator = match head.split_once('?') {
        None => "?",
        Some((_, "")) => "",
        Some((_, q)) if q.ends_with('&') => "",
        Some(_) => "&",
    };
    let mut out = format!("{head}{separator}{query}");
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}
