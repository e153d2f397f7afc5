//! Reading request bodies the way Freshdesk does: strictly. A key the endpoint
//! does not take is `invalid_field`, a value of the wrong JSON type is
//! `datatype_mismatch` (a status sent as `"2"` is refused, not coerced), and every
//! problem is collected so that one answer lists them all (freshdesk-api.md §7).

use serde_json::{Map, Value};

use crate::error::{ApiError, Errors};

/// Parses a POST or PUT body, which must be a JSON object. An empty body is
/// `missing_params` (unverified), anything else that is not an object
/// `invalid_json`.
pub(crate) fn object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::MissingParams);
    }
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ApiError::InvalidJson),
    }
}

/// A body's fields, read once each, with the errors found so far.
pub(crate) struct Input<'a> {
    map: &'a Map<String, Value>,
    pub(crate) errors: Errors,
}

/// `None`: the key is absent; `Some(None)`: it is `null` (clear the field).
pub(crate) type Field<T> = Option<Option<T>>;

impl<'a> Input<'a> {
    /// Checks every key against `allowed`.
    pub(crate) fn new(map: &'a Map<String, Value>, allowed: &[&str]) -> Input<'a> {
        let mut errors = Errors::default();
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                errors.unknown(key);
            }
        }
        Input { map, errors }
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    fn read<T>(
        &mut self,
        key: &str,
        expected: &str,
        pick: impl Fn(&'a Value) -> Option<T>,
    ) -> Field<T> {
        match self.map.get(key)? {
            Value::Null => Some(None),
            value => match pick(value) {
                Some(picked) => Some(Some(picked)),
                None => {
                    self.errors.data_type(key, expected);
                    None
                }
            },
        }
    }

    /// A string, trimmed as Freshdesk strips surrounding whitespace (§3).
    pub(crate) fn string(&mut self, key: &str) -> Field<String> {
        self.read(key, "String", |v| v.as_str().map(|s| s.trim().to_owned()))
    }

    /// A string kept as sent (HTML bodies).
    pub(crate) fn text(&mut self, key: &str) -> Field<String> {
        self.read(key, "String", |v| v.as_str().map(str::to_owned))
    }

    pub(crate) fn integer(&mut self, key: &str) -> Field<i64> {
        self.read(key, "Integer", Value::as_i64)
    }

    pub(crate) fn id(&mut self, key: &str) -> Field<u64> {
        self.read(key, "Positive Integer", Value::as_u64)
    }

    pub(crate) fn boolean(&mut self, key: &str) -> Field<bool> {
        self.read(key, "Boolean", Value::as_bool)
    }

    /// An array of strings; `null` reads as empty.
    pub(crate) fn strings(&mut self, key: &str) -> Option<Vec<String>> {
        let items = self.read(key, "Array", |v| {
            v.as_array()?
                .iter()
                .map(|item| item.as_str().map(|s| s.trim().to_owned()))
                .collect::<Option<Vec<_>>>()
        })?;
        Some(items.unwrap_or_default())
    }

    pub(crate) fn object(&mut self, key: &str) -> Option<&'a Map<String, Value>> {
        self.read(key, "key/value pair", Value::as_object).flatten()
    }
}

/// A string field's value, `None` when absent, null or blank.
pub(crate) fn present(field: &Field<String>) -> Option<&str> {
    field
        .as_ref()
        .and_then(Option::as_deref)
        .filter(|value| !value.is_empty())
}

/// Good enough to refuse what is obviously not an address: one `@`, something
/// before it, a dotted domain after it.
pub(crate) fn looks_like_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrong_types_and_unknown_keys_are_all_reported() {
        let body = json!({"status": "2", "junk": 1, "subject": " Hi ", "tags": null});
        let map = body.as_object().expect("object");
        let mut input = Input::new(map, &["status", "subject", "tags"]);
        assert_eq!(input.integer("status"), None);
        assert_eq!(input.string("subject"), Some(Some("Hi".to_owned())));
        assert_eq!(input.strings("tags"), Some(Vec::new()));
        assert_eq!(input.integer("priority"), None);
        let Err(ApiError::Validation(errors)) = input.errors.finish() else {
            panic!("errors expected");
        };
        let codes: Vec<_> = errors.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(codes, ["invalid_field", "datatype_mismatch"]);
    }

    #[test]
    fn bodies_must_be_objects() {
        assert_eq!(object(b"  "), Err(ApiError::MissingParams));
        assert_eq!(object(b"[1]"), Err(ApiError::InvalidJson));
        assert_eq!(object(b"{nope"), Err(ApiError::InvalidJson));
        assert!(object(b"{}").is_ok());
    }

    #[test]
    fn emails() {
        assert!(looks_like_email("ann@acme.com"));
        assert!(!looks_like_email("ann"));
        assert!(!looks_like_email("ann@acme"));
        assert!(!looks_like_email("a b@acme.com"));
    }
}
