//! deskbridge's native event format (`POST /api/v1/events`), checked field by field
//! so a 422 names exactly what to fix.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use deskbridge_core::{AgentRef, CallEvent, Direction, EndReason, EventKind, Phone, Region};
use serde_json::{Map, Value};

/// A field of the request to change, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The most events one request may carry.
pub const MAX_EVENTS: usize = 1000;

/// The events of a body: one event, or an array of at most [`MAX_EVENTS`].
pub fn items(body: &Value) -> Result<Vec<&Value>, FieldError> {
    match body {
        Value::Array(items) if items.len() > MAX_EVENTS => Err(FieldError {
            field: String::new(),
            message: format!(
                "{} events in one request; send at most {MAX_EVENTS}",
                items.len()
            ),
        }),
        Value::Array(items) => Ok(items.iter().collect()),
        other => Ok(vec![other]),
    }
}

/// Who the event says it is for: its `group` field, and the number it dialed (`to`
/// inbound, `from` outbound), so a token serving several groups can route it.
pub fn addressing(item: &Value) -> Result<(Option<String>, Vec<String>), FieldError> {
    let obj = item
        .as_object()
        .ok_or_else(|| err("", "an event must be a JSON object"))?;
    let group = text(obj, "group")?;
    let dialed = match text(obj, "direction")?.as_deref() {
        Some("inbound") => vec![text(obj, "to")?],
        Some("outbound") => vec![text(obj, "from")?],
        _ => vec![text(obj, "to")?, text(obj, "from")?],
    };
    Ok((group, dialed.into_iter().flatten().collect()))
}

/// `[i].field` for an array body.
pub fn prefixed(index: usize, field: &str) -> String {
    match field.is_empty() {
        true => format!("[{index}]"),
        false => format!("[{index}].{field}"),
    }
}

fn err(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_string(),
        message: message.into(),
    }
}

const FIELDS: &[&str] = &[
    "id",
    "call_id",
    "type",
    "direction",
    "from",
    "to",
    "at",
    "agent",
    "queue",
    "group",
    "attributes",
    "reason",
    "duration_s",
    "recording_url",
    "transcript",
];

/// Reads one event, its numbers read in `region`.
pub fn event(value: &Value, region: Region, now: DateTime<Utc>) -> Result<CallEvent, FieldError> {
    let obj = value
        .as_object()
        .ok_or_else(|| err("", "an event must be a JSON object"))?;
    if let Some(unknown) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(err(
            unknown,
            format!("unknown field; an event has: {}", FIELDS.join(", ")),
        ));
    }
    let kind = match required(obj, "type")?.as_str() {
        "ringing" => EventKind::Ringing,
        "answered" => EventKind::Answered,
        "ended" => EventKind::Ended,
        "recording" => EventKind::Recording,
        "voicemail" => EventKind::Voicemail,
        other => {
            return Err(err(
                "type",
                format!(
                    "{other:?} is not an event type; use ringing, answered, ended, recording or voicemail"
                ),
            ));
        }
    };
    let direction = match text(obj, "direction")?.as_deref() {
        None => None,
        Some("inbound") => Some(Direction::Inbound),
        Some("outbound") => Some(Direction::Outbound),
        Some(other) => {
            return Err(err(
                "direction",
                format!("{other:?} is not a direction; use inbound or outbound"),
            ));
        }
    };
    let at = match text(obj, "at")? {
        None => now,
        Some(s) => DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                err(
                    "at",
                    format!("{s:?} is not an RFC 3339 time such as 2026-11-22T10:00:00Z"),
                )
            })?,
    };
    let reason = match text(obj, "reason")?.as_deref() {
        None => None,
        Some("completed") => Some(EndReason::Completed),
        Some("no_answer") => Some(EndReason::NoAnswer),
        Some("busy") => Some(EndReason::Busy),
        Some("abandoned") => Some(EndReason::Abandoned),
        Some("failed") => Some(EndReason::Failed),
        Some("rejected") => Some(EndReason::Rejected),
        Some(other) => {
            return Err(err(
                "reason",
                format!(
                    "{other:?} is not a reason; use completed, no_answer, busy, abandoned, failed or rejected"
                ),
            ));
        }
    };
    let duration_s = match obj.get("duration_s") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(
            n.as_u64()
                .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f.round() as u64))
                .ok_or_else(|| err("duration_s", "must be a number of seconds, 0 or more"))?,
        ),
        Some(_) => return Err(err("duration_s", "must be a number of seconds")),
    };
    let phone = |field: &str| -> Result<Option<Phone>, FieldError> {
        Ok(text(obj, field)?.map(|raw| Phone::parse(&raw, region)))
    };
    Ok(CallEvent {
        id: required(obj, "id")?,
        call_id: required(obj, "call_id")?,
        kind,
        direction,
        from: phone("from")?,
        to: phone("to")?,
        at,
        agent: agent(obj)?,
        queue: text(obj, "queue")?,
        attributes: attributes(obj)?,
        reason,
        duration_s,
        recording_url: url(obj, "recording_url")?,
        transcript: text(obj, "transcript")?,
    })
}

fn required(obj: &Map<String, Value>, field: &str) -> Result<String, FieldError> {
    text(obj, field)?.ok_or_else(|| err(field, "is required"))
}

/// A string field; absent, null and empty all mean "not given". Numbers are
/// accepted for ids and numbers, which PBXs often send unquoted.
fn text(obj: &Map<String, Value>, field: &str) -> Result<Option<String>, FieldError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(err(field, "must be a string")),
    }
}

fn url(obj: &Map<String, Value>, field: &str) -> Result<Option<String>, FieldError> {
    let value = text(obj, field)?;
    if let Some(u) = &value
        && !(u.starts_with("https://") || u.starts_with("http://"))
    {
        return Err(err(field, "must be an http:// or https:// link"));
    }
    Ok(value)
}

fn agent(obj: &Map<String, Value>) -> Result<Option<AgentRef>, FieldError> {
    match obj.get("agent") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(a)) => {
            let sub = |f: &str| {
                text(a, f).map_err(|e| FieldError {
                    field: format!("agent.{}", e.field),
                    message: e.message,
                })
            };
            let agent = AgentRef {
                email: sub("email")?,
                name: sub("name")?,
                extension: sub("extension")?,
            };
            Ok(Some(agent).filter(|a| !a.is_empty()))
        }
        Some(_) => Err(err(
            "agent",
            "must be an object with email, name and/or extension",
        )),
    }
}

fn attributes(obj: &Map<String, Value>) -> Result<BTreeMap<String, String>, FieldError> {
    match obj.get("attributes") {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                Value::Number(n) => Ok((k.clone(), n.to_string())),
                Value::Bool(b) => Ok((k.clone(), b.to_string())),
                _ => Err(err(&format!("attributes.{k}"), "must be a string")),
            })
            .collect(),
        Some(_) => Err(err("attributes", "must be an object of strings")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse1(v: Value) -> Result<Vec<CallEvent>, FieldError> {
        items(&v)?
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                event(item, Region::US, Utc::now()).map_err(|e| FieldError {
                    field: if v.is_array() {
                        prefixed(i, &e.field)
                    } else {
                        e.field
                    },
                    message: e.message,
                })
            })
            .collect()
    }

    #[test]
    fn a_full_event() {
        let events = parse1(json!({
            "id": "e1", "call_id": "c1", "type": "ended", "direction": "inbound",
            "from": "(415) 555-0100", "to": "anonymous", "at": "2026-11-22T10:00:00+01:00",
            "agent": {"email": "ann@acme.com"}, "queue": "support",
            "attributes": {"zendesk_ticket": 42, "utm_source": "ads"},
            "reason": "completed", "duration_s": 61, "recording_url": "https://rec/1.mp3"
        }))
        .unwrap();
        let e = &events[0];
        assert_eq!(e.from, Some(Phone::E164("+14155550100".into())));
        assert_eq!(e.to, Some(Phone::Anonymous));
        assert_eq!(e.at.to_rfc3339(), "2026-11-22T09:00:00+00:00");
        assert_eq!(e.attributes["zendesk_ticket"], "42");
        assert_eq!(e.reason, Some(EndReason::Completed));
        assert_eq!(e.duration_s, Some(61));
    }

    #[test]
    fn addressing_reads_group_and_dialed_number() {
        let (g, dialed) = addressing(&json!({"group": "sales", "direction": "inbound",
            "from": "+1 415 555 0100", "to": "+1 415 555 0199"}))
        .unwrap();
        assert_eq!(g.as_deref(), Some("sales"));
        assert_eq!(dialed, ["+1 415 555 0199"]);
        let (_, dialed) =
            addressing(&json!({"direction": "outbound", "from": "a", "to": "b"})).unwrap();
        assert_eq!(dialed, ["a"]);
        let (_, dialed) = addressing(&json!({"from": "a", "to": "b"})).unwrap();
        assert_eq!(dialed, ["b", "a"]);
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (json!({"call_id": "c", "type": "ringing"}), "id"),
            (json!({"id": "e", "type": "ringing"}), "call_id"),
            (json!({"id": "e", "call_id": "c"}), "type"),
            (json!({"id": "e", "call_id": "c", "type": "hangup"}), "type"),
            (
                json!({"id": "e", "call_id": "c", "type": "ringing", "direction": "in"}),
                "direction",
            ),
            (
                json!({"id": "e", "call_id": "c", "type": "ringing", "at": "yesterday"}),
                "at",
            ),
            (
                json!({"id": "e", "call_id": "c", "type": "ended", "reason": "bye"}),
                "reason",
            ),
            (
                json!({"id": "e", "call_id": "c", "type": "ended", "duration_s": "long"}),
                "duration_s",
            ),
            (
                json!({"id": "e", "call_id": "c", "type": "ringing", "agent": {"email": [1]}}),
                "agent.email",
            ),
            (
                json!({"id": "e", "call_id": "c", "type": "ringing", "attributes": {"a": [1]}}),
                "attributes.a",
            ),
            (
                json!({"id": "e", "call_id": "c", "type": "ringing", "colour": "red"}),
                "colour",
            ),
            (
                json!({"id": "e", "call_id": "c", "type": "recording", "recording_url": "ftp://x"}),
                "recording_url",
            ),
            (json!("hello"), ""),
        ];
        for (body, field) in cases {
            let e = parse1(body.clone()).unwrap_err();
            assert_eq!(e.field, field, "{body}");
        }
        let e = parse1(
            json!([{"id": "a", "call_id": "c", "type": "ringing"}, {"id": "b", "call_id": "c"}]),
        )
        .unwrap_err();
        assert_eq!(e.field, "[1].type");
    }
}
