//! Reading request bodies the way Zendesk does: ids may come as numbers or numeric
//! strings, a missing wrapper object reads as empty, and a value of the wrong type
//! is a 422 naming the field rather than a generic 400.

use serde_json::{Map, Value};

use crate::error::ApiError;

/// Parses a JSON body; an empty body reads as `{}`. Malformed JSON is a text/plain
/// 400, as Zendesk's parser answers.
pub(crate) fn parse(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(bytes)
        .map_err(|error| ApiError::BadRequest(format!("Unable to parse JSON body: {error}")))
}

/// A JSON object (possibly absent) whose fields are read leniently.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Obj<'a> {
    map: Option<&'a Map<String, Value>>,
}

fn wrong_type(field: &str) -> ApiError {
    ApiError::invalid(
        field,
        format!("{}: is invalid", label(field)),
        "InvalidValue",
    )
}

/// "requester_id" → "Requester id", the way Zendesk titles fields in messages.
pub(crate) fn label(field: &str) -> String {
    let spaced = field.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl<'a> Obj<'a> {
    /// The object under `key` of the top-level body (`{"user": {...}}`).
    pub(crate) fn root(body: &'a Value, key: &str) -> Result<Obj<'a>, ApiError> {
        match body.get(key) {
            None | Some(Value::Null) => Ok(Obj { map: None }),
            Some(Value::Object(map)) => Ok(Obj { map: Some(map) }),
            Some(_) => Err(wrong_type(key)),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.and_then(|map| map.get(key))
    }

    /// Whether the key is present at all (even as `null`).
    pub(crate) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub(crate) fn object(&self, key: &str) -> Result<Option<Obj<'a>>, ApiError> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Obj { map: Some(map) })),
            Some(_) => Err(wrong_type(key)),
        }
    }

    /// A string; numbers and booleans are taken as their text.
    pub(crate) fn string(&self, key: &str) -> Result<Option<String>, ApiError> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(Value::Number(number)) => Ok(Some(number.to_string())),
            Some(Value::Bool(flag)) => Ok(Some(flag.to_string())),
            Some(_) => Err(wrong_type(key)),
        }
    }

    /// An id: a non-negative integer or a string of digits.
    pub(crate) fn id(&self, key: &str) -> Result<Option<u64>, ApiError> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => as_id(value).map(Some).ok_or_else(|| wrong_type(key)),
        }
    }

    /// Like [`Obj::id`], but tells an explicit `null` (clear the field) from an
    /// absent key (leave it).
    pub(crate) fn nullable_id(&self, key: &str) -> Result<Option<Option<u64>>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(value) => as_id(value)
                .map(|id| Some(Some(id)))
                .ok_or_else(|| wrong_type(key)),
        }
    }

    pub(crate) fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(Value::String(text)) if text == "true" || text == "false" => {
                Ok(Some(text == "true"))
            }
            Some(_) => Err(wrong_type(key)),
        }
    }

    /// A list of strings (tags); a single string is split on whitespace as Zendesk
    /// does for tag strings.
    pub(crate) fn strings(&self, key: &str) -> Result<Option<Vec<String>>, ApiError> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => {
                Ok(Some(text.split_whitespace().map(str::to_owned).collect()))
            }
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(text) => Ok(text.clone()),
                    Value::Number(number) => Ok(number.to_string()),
                    _ => Err(wrong_type(key)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(wrong_type(key)),
        }
    }

    /// `custom_fields: [{"id": .., "value": ..}]` (the object form `{"id": value}`
    /// is accepted too).
    pub(crate) fn custom_fields(&self, key: &str) -> Result<Option<Vec<(u64, Value)>>, ApiError> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    let id = item
                        .get("id")
                        .and_then(as_id)
                        .ok_or_else(|| wrong_type(key))?;
                    let value = item.get("value").cloned().unwrap_or(Value::Null);
                    Ok((id, value))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(id, value)| {
                    id.parse::<u64>()
                        .map(|id| (id, value.clone()))
                        .map_err(|_| wrong_type(key))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(wrong_type(key)),
        }
    }
}

fn as_id(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_as_numbers_or_strings() {
        let body = json!({"ticket": {"a": 5, "b": "6", "c": "x", "d": null}});
        let ticket = Obj::root(&body, "ticket").expect("object");
        assert_eq!(ticket.id("a").ok(), Some(Some(5)));
        assert_eq!(ticket.id("b").ok(), Some(Some(6)));
        assert!(ticket.id("c").is_err());
        assert_eq!(ticket.nullable_id("d").ok(), Some(Some(None)));
        assert_eq!(ticket.nullable_id("e").ok(), Some(None));
    }

    #[test]
    fn missing_wrapper_reads_empty() {
        let body = json!({});
        let user = Obj::root(&body, "user").expect("object");
        assert_eq!(user.string("name").ok(), Some(None));
    }

    #[test]
    fn labels() {
        assert_eq!(label("requester_id"), "Requester id");
    }
}
