//! deskbridge's native event format (`POST /api/v1/events`), read with serde into
//! [`NativeEvent`]; `serde_path_to_error` keeps the path of the field that failed, so
//! a 422 names exactly what to fix (`agent.email`, `attributes.a`, and `[1].type`
//! once the ingest adds the event's index).
//!
//! The field readers are lenient where phone systems are sloppy (ids and numbers
//! sent unquoted, padding spaces, `null` or `""` for "not given") and strict where a
//! guess would store a wrong fact (an unknown event type, a time without a zone).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use deskbridge_core::{AgentRef, CallEvent, Direction, EndReason, EventKind, Phone, Region};
use serde::de::{self, Deserializer, MapAccess, Unexpected, Visitor};
use serde::{Deserialize, de::value::MapAccessDeserializer};
use serde_json::Value;

/// A field of the request to change, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The most events one request may carry.
pub const MAX_EVENTS: usize = 1000;

/// Bounds on an event's fields (README, "Limits"): the core's, which every
/// adapter's events are held to on the commit path; read here too, on the
/// fields as sent, so a native event's error names its field before anything
/// is parsed (`group` and a client's own `id` are the native format's alone).
pub use deskbridge_core::bounds::limits;

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

/// What routing reads of an event before its group (and so its region) is known.
#[derive(Deserialize)]
struct Addressing {
    #[serde(default, deserialize_with = "text")]
    group: Option<String>,
    #[serde(default, deserialize_with = "text")]
    direction: Option<String>,
    #[serde(default, deserialize_with = "text")]
    from: Option<String>,
    #[serde(default, deserialize_with = "text")]
    to: Option<String>,
}

/// Who the event says it is for: its `group` field, and the number it dialed (`to`
/// inbound, `from` outbound), so a token serving several groups can route it.
pub fn addressing(item: &Value) -> Result<(Option<String>, Vec<String>), FieldError> {
    let a: Addressing = parse(item)?;
    let dialed = match a.direction.as_deref() {
        Some("inbound") => vec![a.to],
        Some("outbound") => vec![a.from],
        _ => vec![a.to, a.from],
    };
    Ok((a.group, dialed.into_iter().flatten().collect()))
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

/// Deserializes one event object, naming the field that failed. Only objects are
/// events: serde would also read a struct from an array of its fields in order,
/// which no phone system means.
fn parse<'de, T: Deserialize<'de>>(item: &'de Value) -> Result<T, FieldError> {
    if !item.is_object() {
        return Err(err("", "an event must be a JSON object"));
    }
    serde_path_to_error::deserialize(item).map_err(|e| {
        let path = e.path().to_string();
        FieldError {
            // The root prints as "."; the API names it "".
            field: if path == "." { String::new() } else { path },
            message: e.into_inner().to_string(),
        }
    })
}

/// The native event as sent. Every field is optional here so that a missing
/// required one is reported by its name ("is required"), like any other error.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NativeEvent {
    #[serde(default, deserialize_with = "text")]
    id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    call_id: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "kind")]
    kind: Option<EventKind>,
    #[serde(default, deserialize_with = "direction")]
    direction: Option<Direction>,
    #[serde(default, deserialize_with = "text")]
    from: Option<String>,
    #[serde(default, deserialize_with = "text")]
    to: Option<String>,
    #[serde(default, deserialize_with = "time")]
    at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "agent")]
    agent: Option<AgentRef>,
    #[serde(default, deserialize_with = "text")]
    queue: Option<String>,
    /// Read by routing ([`addressing`]); checked here like the others.
    #[serde(default, rename = "group", deserialize_with = "text")]
    _group: Option<String>,
    #[serde(default, deserialize_with = "attributes")]
    attributes: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "reason")]
    reason: Option<EndReason>,
    #[serde(default, deserialize_with = "seconds")]
    duration_s: Option<u64>,
    #[serde(default, deserialize_with = "link")]
    recording_url: Option<String>,
    #[serde(default, deserialize_with = "text")]
    transcript: Option<String>,
}

/// Checks every field against [`limits`], naming the first one out of bounds.
fn check_bounds(e: &NativeEvent, now: DateTime<Utc>) -> Result<(), FieldError> {
    let bytes = |field: &str, value: &Option<String>, max: usize| match value {
        Some(v) if v.len() > max => Err(err(
            field,
            format!("is {} bytes long; send at most {max}", v.len()),
        )),
        _ => Ok(()),
    };
    for (field, value) in [("id", &e.id), ("call_id", &e.call_id)] {
        bytes(field, value, limits::ID)?;
        if value
            .as_deref()
            .is_some_and(|v| v.chars().any(char::is_control))
        {
            return Err(err(
                field,
                "must not contain control characters (newlines, tabs, escapes)",
            ));
        }
    }
    bytes("from", &e.from, limits::NUMBER)?;
    bytes("to", &e.to, limits::NUMBER)?;
    bytes("queue", &e.queue, limits::NAME)?;
    bytes("group", &e._group, limits::NAME)?;
    if let Some(a) = &e.agent {
        bytes("agent.email", &a.email, limits::NAME)?;
        bytes("agent.name", &a.name, limits::NAME)?;
        bytes("agent.extension", &a.extension, limits::NAME)?;
    }
    for (name, value) in &e.attributes {
        if name.len() > limits::ATTRIBUTE_NAME {
            return Err(err(
                "attributes",
                format!(
                    "an attribute name is {} bytes long; send names of at most {} bytes",
                    name.len(),
                    limits::ATTRIBUTE_NAME
                ),
            ));
        }
        if value.len() > limits::ATTRIBUTE_VALUE {
            return Err(err(
                &format!("attributes.{name}"),
                format!(
                    "is {} bytes long; send at most {}",
                    value.len(),
                    limits::ATTRIBUTE_VALUE
                ),
            ));
        }
    }
    bytes("recording_url", &e.recording_url, limits::URL)?;
    bytes("transcript", &e.transcript, limits::TRANSCRIPT)?;
    if let Some(at) = e.at
        && at > now + chrono::Duration::hours(limits::FUTURE_HOURS)
    {
        return Err(err(
            "at",
            format!(
                "{} is more than {} hours in the future (now {}); check the sender's clock",
                at.to_rfc3339(),
                limits::FUTURE_HOURS,
                now.to_rfc3339()
            ),
        ));
    }
    if let Some(d) = e.duration_s
        && d > limits::DURATION_S
    {
        return Err(err(
            "duration_s",
            format!(
                "{d} seconds is longer than a call can be; send at most {} (7 days)",
                limits::DURATION_S
            ),
        ));
    }
    Ok(())
}

/// Reads one event, its numbers read in `region`.
pub fn event(value: &Value, region: Region, now: DateTime<Utc>) -> Result<CallEvent, FieldError> {
    let e: NativeEvent = parse(value)?;
    check_bounds(&e, now)?;
    let required = |v: Option<String>, field: &str| v.ok_or_else(|| err(field, "is required"));
    let kind = e.kind.ok_or_else(|| {
        err(
            "type",
            "is required; use ringing, answered, ended, recording or voicemail",
        )
    })?;
    let phone = |raw: Option<String>| raw.map(|raw| Phone::parse(&raw, region));
    Ok(CallEvent {
        id: required(e.id, "id")?,
        call_id: required(e.call_id, "call_id")?,
        kind,
        direction: e.direction,
        from: phone(e.from),
        to: phone(e.to),
        at: e.at.unwrap_or(now),
        agent: e.agent,
        queue: e.queue,
        attributes: e.attributes,
        reason: e.reason,
        duration_s: e.duration_s,
        recording_url: e.recording_url,
        transcript: e.transcript,
        conversation: None,
        wrap_up: None,
    })
}

/// `"must be {what}, not {got}"`: what to send instead, and what was sent.
fn wrong<E: de::Error>(what: &str, got: Unexpected<'_>) -> E {
    E::custom(format!("must be {what}, not {got}"))
}

/// A string field; absent, null and empty all mean "not given". Numbers are
/// accepted for ids and numbers, which PBXs often send unquoted.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct Text;
    impl<'de> Visitor<'de> for Text {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
            Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty()))
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
            Ok(Some(n.to_string()))
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
            Ok(Some(n.to_string()))
        }
        fn visit_f64<E: de::Error>(self, n: f64) -> Result<Self::Value, E> {
            // Written as JSON writes it (1.5, 1e20), as it was sent.
            Ok(serde_json::Number::from_f64(n).map(|n| n.to_string()))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
            Err(wrong("a string", Unexpected::Bool(b)))
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(wrong("a string", Unexpected::Seq))
        }
        fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(wrong("a string", Unexpected::Map))
        }
    }
    d.deserialize_any(Text)
}

/// A string naming one of `options`; the error lists them.
fn one_of<'de, D: Deserializer<'de>, T: Copy>(
    d: D,
    what: &str,
    options: &[(&str, T)],
) -> Result<Option<T>, D::Error> {
    let Some(given) = text(d)? else {
        return Ok(None);
    };
    match options.iter().find(|(name, _)| *name == given) {
        Some((_, value)) => Ok(Some(*value)),
        None => {
            let names: Vec<&str> = options.iter().map(|(name, _)| *name).collect();
            let (last, rest) = names.split_last().unwrap_or((&"", &[]));
            Err(de::Error::custom(format!(
                "{given:?} is not {what}; use {} or {last}",
                rest.join(", ")
            )))
        }
    }
}

fn kind<'de, D: Deserializer<'de>>(d: D) -> Result<Option<EventKind>, D::Error> {
    one_of(
        d,
        "an event type",
        &[
            ("ringing", EventKind::Ringing),
            ("answered", EventKind::Answered),
            ("ended", EventKind::Ended),
            ("recording", EventKind::Recording),
            ("voicemail", EventKind::Voicemail),
        ],
    )
}

fn direction<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Direction>, D::Error> {
    one_of(
        d,
        "a direction",
        &[
            ("inbound", Direction::Inbound),
            ("outbound", Direction::Outbound),
        ],
    )
}

fn reason<'de, D: Deserializer<'de>>(d: D) -> Result<Option<EndReason>, D::Error> {
    one_of(
        d,
        "a reason",
        &[
            ("completed", EndReason::Completed),
            ("no_answer", EndReason::NoAnswer),
            ("busy", EndReason::Busy),
            ("abandoned", EndReason::Abandoned),
            ("failed", EndReason::Failed),
            ("rejected", EndReason::Rejected),
            ("forwarded", EndReason::Forwarded),
        ],
    )
}

/// An RFC 3339 time: a time without its zone would be a guess.
fn time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    text(d)?
        .map(|s| {
            DateTime::parse_from_rfc3339(&s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    de::Error::custom(format!(
                        "{s:?} is not an RFC 3339 time such as 2026-11-22T10:00:00Z"
                    ))
                })
        })
        .transpose()
}

/// A link the helpdesk can open: http or https only.
fn link<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = text(d)?;
    if let Some(u) = &value
        && !(u.starts_with("https://") || u.starts_with("http://"))
    {
        return Err(de::Error::custom("must be an http:// or https:// link"));
    }
    Ok(value)
}

/// Seconds: a whole number, or a fraction rounded.
fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    struct Seconds;
    const NEGATIVE: &str = "must be a number of seconds, 0 or more";
    impl<'de> Visitor<'de> for Seconds {
        type Value = Option<u64>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a number of seconds")
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
            Ok(Some(n))
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
            u64::try_from(n).map(Some).map_err(|_| E::custom(NEGATIVE))
        }
        fn visit_f64<E: de::Error>(self, n: f64) -> Result<Self::Value, E> {
            match n >= 0.0 {
                true => Ok(Some(n.round() as u64)),
                false => Err(E::custom(NEGATIVE)),
            }
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
            Err(wrong("a number of seconds", Unexpected::Str(s)))
        }
        fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
            Err(wrong("a number of seconds", Unexpected::Bool(b)))
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(wrong("a number of seconds", Unexpected::Seq))
        }
        fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(wrong("a number of seconds", Unexpected::Map))
        }
    }
    d.deserialize_any(Seconds)
}

/// The agent's fields; others are refused, as unknown keys of the event are (a
/// misspelled `emial` would otherwise lose the agent silently).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentFields {
    #[serde(default, deserialize_with = "text")]
    email: Option<String>,
    #[serde(default, deserialize_with = "text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    extension: Option<String>,
}

/// `{email, name, extension}`, any of them; one with none of them is no agent.
fn agent<'de, D: Deserializer<'de>>(d: D) -> Result<Option<AgentRef>, D::Error> {
    struct Agent;
    const WHAT: &str = "an object with email, name and/or extension";
    impl<'de> Visitor<'de> for Agent {
        type Value = Option<AgentRef>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(WHAT)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            let a = AgentFields::deserialize(MapAccessDeserializer::new(map))?;
            let agent = AgentRef {
                email: a.email,
                name: a.name,
                extension: a.extension,
            };
            Ok(Some(agent).filter(|a| !a.is_empty()))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
            Err(wrong(WHAT, Unexpected::Str(s)))
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
            Err(wrong(WHAT, Unexpected::Unsigned(n)))
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
            Err(wrong(WHAT, Unexpected::Signed(n)))
        }
        fn visit_f64<E: de::Error>(self, n: f64) -> Result<Self::Value, E> {
            Err(wrong(WHAT, Unexpected::Float(n)))
        }
        fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
            Err(wrong(WHAT, Unexpected::Bool(b)))
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(wrong(WHAT, Unexpected::Seq))
        }
    }
    d.deserialize_any(Agent)
}

/// One attribute value: a string, or a number or boolean written as one (IVRs
/// send ticket numbers and flags unquoted). Kept as sent, spaces included.
struct Attribute(String);

impl<'de> Deserialize<'de> for Attribute {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Attribute;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Attribute, E> {
                Ok(Attribute(s.to_string()))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Attribute, E> {
                Ok(Attribute(n.to_string()))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Attribute, E> {
                Ok(Attribute(n.to_string()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Attribute, E> {
                serde_json::Number::from_f64(n)
                    .map(|n| Attribute(n.to_string()))
                    .ok_or_else(|| wrong("a string", Unexpected::Float(n)))
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Attribute, E> {
                Ok(Attribute(b.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Attribute, E> {
                Err(wrong("a string", Unexpected::Unit))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Attribute, A::Error> {
                Err(wrong("a string", Unexpected::Seq))
            }
            fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Attribute, A::Error> {
                Err(wrong("a string", Unexpected::Map))
            }
        }
        d.deserialize_any(V)
    }
}

/// A string map; each value is read as an [`Attribute`].
fn attributes<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    struct Attributes;
    const WHAT: &str = "an object of strings";
    impl<'de> Visitor<'de> for Attributes {
        type Value = BTreeMap<String, String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(WHAT)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((k, Attribute(v))) = map.next_entry::<String, Attribute>()? {
                // Counted while reading, so a huge map stops at the bound.
                if out.len() == limits::ATTRIBUTES && !out.contains_key(&k) {
                    return Err(de::Error::custom(format!(
                        "has more than {} attributes; send at most {}",
                        limits::ATTRIBUTES,
                        limits::ATTRIBUTES
                    )));
                }
                out.insert(k, v);
            }
            Ok(out)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
            Err(wrong(WHAT, Unexpected::Str(s)))
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
            Err(wrong(WHAT, Unexpected::Unsigned(n)))
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
            Err(wrong(WHAT, Unexpected::Signed(n)))
        }
        fn visit_f64<E: de::Error>(self, n: f64) -> Result<Self::Value, E> {
            Err(wrong(WHAT, Unexpected::Float(n)))
        }
        fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
            Err(wrong(WHAT, Unexpected::Bool(b)))
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(wrong(WHAT, Unexpected::Seq))
        }
    }
    d.deserialize_any(Attributes)
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

    #[test]
    fn messages_say_what_to_send_instead() {
        let base = json!({"id": "e", "call_id": "c", "type": "ended"});
        let with = |k: &str, v: Value| {
            let mut e = base.clone();
            e[k] = v;
            e
        };
        let cases = [
            (
                with("type", json!("hangup")),
                "type",
                "\"hangup\" is not an event type; use ringing, answered, ended, recording or voicemail",
            ),
            (
                json!({"id": "e", "call_id": "c"}),
                "type",
                "is required; use ringing, answered, ended, recording or voicemail",
            ),
            (
                with("direction", json!("in")),
                "direction",
                "\"in\" is not a direction; use inbound or outbound",
            ),
            (
                with("reason", json!("bye")),
                "reason",
                "\"bye\" is not a reason; use completed, no_answer, busy, abandoned, failed, rejected or forwarded",
            ),
            (
                with("at", json!("yesterday")),
                "at",
                "\"yesterday\" is not an RFC 3339 time such as 2026-11-22T10:00:00Z",
            ),
            (
                with("duration_s", json!(-4)),
                "duration_s",
                "must be a number of seconds, 0 or more",
            ),
            (
                with("duration_s", json!("long")),
                "duration_s",
                "must be a number of seconds, not string \"long\"",
            ),
            (
                with("agent", json!("ann")),
                "agent",
                "must be an object with email, name and/or extension, not string \"ann\"",
            ),
            (
                with("agent", json!({"email": [1]})),
                "agent.email",
                "must be a string, not sequence",
            ),
            (
                with("attributes", json!(["a"])),
                "attributes",
                "must be an object of strings, not sequence",
            ),
            (
                with("attributes", json!({"zendesk_ticket": {"id": 4}})),
                "attributes.zendesk_ticket",
                "must be a string, not map",
            ),
            (
                with("queue", json!(true)),
                "queue",
                "must be a string, not boolean `true`",
            ),
            (
                with("recording_url", json!("ftp://x")),
                "recording_url",
                "must be an http:// or https:// link",
            ),
            (json!([1, 2]), "", "an event must be a JSON object"),
        ];
        for (body, field, message) in cases {
            let e = event(&body, Region::US, Utc::now()).unwrap_err();
            assert_eq!(
                (e.field.as_str(), e.message.as_str()),
                (field, message),
                "{body}"
            );
        }
        let e = event(&with("colour", json!("red")), Region::US, Utc::now()).unwrap_err();
        assert_eq!(e.field, "colour");
        assert!(
            e.message
                .starts_with("unknown field `colour`, expected one of `id`, `call_id`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn what_phone_systems_really_send_is_read() {
        let e = &parse1(json!({
            "id": 12345, "call_id": " c1 ", "type": "ended", "direction": "outbound",
            "from": 4155550100u64, "to": "", "queue": null, "agent": {"email": ""},
            "attributes": {"ticket": 42, "vip": true, "score": 1.5, "note": " as sent "},
            "duration_s": 61.4, "transcript": "  "
        }))
        .unwrap()[0];
        assert_eq!(e.id, "12345");
        assert_eq!(e.call_id, "c1");
        assert_eq!(e.from, Some(Phone::E164("+14155550100".into())));
        assert_eq!(e.to, None);
        assert_eq!(e.queue, None);
        // An agent with nothing that names them is no agent.
        assert_eq!(e.agent, None);
        assert_eq!(e.attributes["ticket"], "42");
        assert_eq!(e.attributes["vip"], "true");
        assert_eq!(e.attributes["score"], "1.5");
        assert_eq!(e.attributes["note"], " as sent ");
        assert_eq!(e.duration_s, Some(61));
        assert_eq!(e.transcript, None);
        // The time received stands in for a missing `at`.
        assert!((Utc::now() - e.at).num_seconds() < 5);
    }
}
