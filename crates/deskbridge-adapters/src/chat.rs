//! A closed conversation from a chat platform (`POST /api/v1/conversations`) →
//! the core's [`Conversation`], carried by the chat's one [`CallEvent`].
//!
//! Every field is read as optional and checked here, so a missing or wrong field
//! is answered with its path (`visitor`, `transcript[3].text`), and every string
//! is bounded: a conversation is stored whole, read by each of its steps and
//! shown by `GET /api/v1/conversations/{id}`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use deskbridge_core::chat::{ChatMessage, Conversation, Speaker, Visitor};
use deskbridge_core::{AgentRef, CallEvent, Direction, EventKind, Phone, Region};
use serde::Deserialize;
use serde_json::Value;

use super::native::FieldError;

/// Bounds on a conversation's fields (README, "Limits").
pub mod limits {
    /// `id`, in bytes: it travels in URLs.
    pub const ID: usize = 256;
    /// `channel`, names, emails, `group`, in bytes.
    pub const NAME: usize = 256;
    /// A phone number, in bytes.
    pub const NUMBER: usize = 64;
    /// Messages in one transcript.
    pub const MESSAGES: usize = 2000;
    /// One message's text, in bytes.
    pub const TEXT: usize = 16 * 1024;
    /// All of a transcript's text together, in bytes.
    pub const TRANSCRIPT: usize = 512 * 1024;
    /// Tags, and one tag's bytes.
    pub const TAGS: usize = 50;
    pub const TAG: usize = 128;
    /// The agent's note, in bytes.
    pub const NOTE: usize = 16 * 1024;
    pub use super::super::native::limits::{ATTRIBUTE_NAME, ATTRIBUTE_VALUE, ATTRIBUTES};
    /// How far in the future `ended_at` may be (a wrong clock).
    pub const FUTURE_HOURS: i64 = 24;
}

/// The conversation as sent (`POST /api/v1/conversations`).
#[derive(Debug, Default, Deserialize)]
pub struct ConversationIn {
    pub id: Option<String>,
    /// The site's group, when the token sends for several.
    pub group: Option<String>,
    /// `chat`, `messaging`, ...
    pub channel: Option<String>,
    pub visitor: Option<VisitorIn>,
    pub agent: Option<ChatAgentIn>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub transcript: Option<Vec<MessageIn>>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub note: Option<String>,
    #[serde(default)]
    pub escalate: bool,
    #[serde(default)]
    pub attributes: BTreeMap<String, Value>,
}

/// The visitor as sent; at least one of the three is expected, none is required.
#[derive(Debug, Default, Deserialize)]
pub struct VisitorIn {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// The agent who handled the chat.
#[derive(Debug, Default, Deserialize)]
pub struct ChatAgentIn {
    pub email: Option<String>,
    pub name: Option<String>,
}

/// One message of the transcript as sent.
#[derive(Debug, Deserialize)]
pub struct MessageIn {
    /// `visitor`, `agent` or `bot`.
    pub from: Option<Speaker>,
    pub name: Option<String>,
    pub text: Option<String>,
    pub at: Option<DateTime<Utc>>,
}

fn err(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

/// Reads the body, naming the field serde could not read.
pub fn parse(body: &Value) -> Result<ConversationIn, FieldError> {
    if !body.is_object() {
        return Err(err("", "a conversation must be a JSON object"));
    }
    serde_path_to_error::deserialize(body).map_err(|e| {
        let path = e.path().to_string();
        err(
            if path == "." { String::new() } else { path },
            e.into_inner().to_string(),
        )
    })
}

/// A bounded, trimmed text; empty is none.
fn text(field: &str, v: &Option<String>, max: usize) -> Result<Option<String>, FieldError> {
    match v.as_deref().map(str::trim) {
        Some(s) if s.len() > max => Err(err(field, format!("is longer than {max} bytes"))),
        Some(s) if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') => {
            Err(err(field, "may not contain control characters"))
        }
        Some("") | None => Ok(None),
        Some(s) => Ok(Some(s.to_string())),
    }
}

fn email(field: &str, v: &Option<String>) -> Result<Option<String>, FieldError> {
    let e = text(field, v, limits::NAME)?;
    match &e {
        Some(e) if !e.contains('@') || e.contains(char::is_whitespace) => {
            Err(err(field, format!("{e:?} is not an email address")))
        }
        _ => Ok(e.map(|e| e.to_ascii_lowercase())),
    }
}

/// The conversation, checked field by field, phones in the site's region.
pub fn conversation(
    c: ConversationIn,
    region: Region,
    now: DateTime<Utc>,
) -> Result<Conversation, FieldError> {
    let id = text("id", &c.id, limits::ID)?.ok_or_else(|| err("id", "is required"))?;
    let channel = text("channel", &c.channel, limits::NAME)?;
    let v = c.visitor.ok_or_else(|| {
        err(
            "visitor",
            "is required: {\"name\", \"email\", \"phone\"}, any of them",
        )
    })?;
    let phone = match text("visitor.phone", &v.phone, limits::NUMBER)? {
        Some(raw) => match Phone::parse(&raw, region) {
            p @ Phone::E164(_) => Some(p),
            _ => {
                return Err(err(
                    "visitor.phone",
                    format!(
                        "{raw:?} is not a phone number; send it with its country code or leave it out"
                    ),
                ));
            }
        },
        None => None,
    };
    let visitor = Visitor {
        name: text("visitor.name", &v.name, limits::NAME)?,
        email: email("visitor.email", &v.email)?,
        phone,
    };
    let agent = match c.agent {
        Some(a) => {
            let agent = AgentRef {
                email: email("agent.email", &a.email)?,
                name: text("agent.name", &a.name, limits::NAME)?,
                extension: None,
            };
            (!agent.is_empty()).then_some(agent)
        }
        None => None,
    };
    let started_at = c
        .started_at
        .ok_or_else(|| err("started_at", "is required (RFC 3339)"))?;
    let ended_at = c.ended_at.ok_or_else(|| {
        err(
            "ended_at",
            "is required: only closed conversations are sent",
        )
    })?;
    if ended_at < started_at {
        return Err(err("ended_at", "is before started_at"));
    }
    if ended_at > now + chrono::Duration::hours(limits::FUTURE_HOURS) {
        return Err(err("ended_at", "is more than a day in the future"));
    }
    let messages = c
        .transcript
        .ok_or_else(|| err("transcript", "is required: [{\"from\", \"text\", \"at\"}]"))?;
    if messages.len() > limits::MESSAGES {
        return Err(err(
            "transcript",
            format!(
                "has {} messages; send at most {}",
                messages.len(),
                limits::MESSAGES
            ),
        ));
    }
    let mut transcript = Vec::with_capacity(messages.len());
    let mut bytes = 0usize;
    for (i, m) in messages.into_iter().enumerate() {
        let at = |f: &str| format!("transcript[{i}].{f}");
        let from = m
            .from
            .ok_or_else(|| err(at("from"), "is required: visitor, agent or bot"))?;
        let body = text(&at("text"), &m.text, limits::TEXT)?
            .ok_or_else(|| err(at("text"), "is required and may not be empty"))?;
        bytes += body.len();
        if bytes > limits::TRANSCRIPT {
            return Err(err(
                "transcript",
                format!("holds more than {} bytes of text", limits::TRANSCRIPT),
            ));
        }
        transcript.push(ChatMessage {
            from,
            name: text(&at("name"), &m.name, limits::NAME)?,
            text: body,
            at: m
                .at
                .ok_or_else(|| err(at("at"), "is required (RFC 3339)"))?,
        });
    }
    if c.tags.len() > limits::TAGS {
        return Err(err(
            "tags",
            format!("has {} tags; send at most {}", c.tags.len(), limits::TAGS),
        ));
    }
    let mut tags = Vec::with_capacity(c.tags.len());
    for (i, t) in c.tags.iter().enumerate() {
        if let Some(t) = text(&format!("tags[{i}]"), &Some(t.clone()), limits::TAG)? {
            tags.push(t);
        }
    }
    Ok(Conversation {
        id,
        channel,
        visitor,
        agent,
        started_at,
        ended_at,
        transcript,
        tags,
        note: text("note", &c.note, limits::NOTE)?,
        escalate: c.escalate,
        attributes: attributes(c.attributes)?,
    })
}

/// Attributes as text: strings as they are, numbers and booleans written out.
fn attributes(raw: BTreeMap<String, Value>) -> Result<BTreeMap<String, String>, FieldError> {
    if raw.len() > limits::ATTRIBUTES {
        return Err(err(
            "attributes",
            format!("send at most {} attributes", limits::ATTRIBUTES),
        ));
    }
    let mut out = BTreeMap::new();
    for (k, v) in raw {
        let field = format!("attributes.{k}");
        if k.is_empty() || k.len() > limits::ATTRIBUTE_NAME {
            return Err(err(
                "attributes",
                format!("attribute names are 1 to {} bytes", limits::ATTRIBUTE_NAME),
            ));
        }
        let v = match v {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => continue,
            _ => return Err(err(field, "must be a string, number or boolean")),
        };
        if v.len() > limits::ATTRIBUTE_VALUE {
            return Err(err(
                field,
                format!("is longer than {} bytes", limits::ATTRIBUTE_VALUE),
            ));
        }
        out.insert(k, v);
    }
    Ok(out)
}

/// The chat's interaction id: its own name space, so a conversation and a call
/// with the same id are two records.
pub fn interaction_id(conversation_id: &str) -> String {
    format!("chat:{conversation_id}")
}

/// The chat's one event: its id is the conversation's (a re-sent conversation
/// is a duplicate), timed at its end.
pub fn event(c: Conversation) -> CallEvent {
    let id = interaction_id(&c.id);
    let mut e = CallEvent::new(id.clone(), id, EventKind::Conversation, c.ended_at);
    e.direction = Some(Direction::Inbound);
    e.conversation = Some(Box::new(c));
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body() -> Value {
        json!({
            "id": "c1",
            "visitor": {"name": "Vera", "email": "Vera@Example.com", "phone": "+1 415 555 0100"},
            "agent": {"email": "ann@acme.com"},
            "started_at": "2026-11-29T10:00:00Z",
            "ended_at": "2026-11-29T10:07:00Z",
            "transcript": [{"from": "visitor", "text": "hi", "at": "2026-11-29T10:00:00Z"}],
            "attributes": {"order": 77, "vip": true}
        })
    }

    fn read(v: &Value) -> Result<Conversation, FieldError> {
        conversation(parse(v)?, Region::US, Utc::now())
    }

    #[test]
    fn a_conversation_reads_normalized() {
        let c = read(&body()).unwrap();
        assert_eq!(c.visitor.email.as_deref(), Some("vera@example.com"));
        assert_eq!(c.visitor.phone, Some(Phone::E164("+14155550100".into())));
        assert_eq!(c.attributes["order"], "77");
        assert_eq!(c.attributes["vip"], "true");
        let e = event(c);
        assert_eq!(e.call_id, "chat:c1");
        assert_eq!(e.kind, EventKind::Conversation);
    }

    #[test]
    fn errors_name_the_field() {
        let field = |edit: &dyn Fn(&mut Value)| {
            let mut v = body();
            edit(&mut v);
            read(&v).unwrap_err().field
        };
        assert_eq!(field(&|v| v["visitor"] = Value::Null), "visitor");
        assert_eq!(
            field(&|v| v["transcript"][0]["text"] = json!(" ")),
            "transcript[0].text"
        );
        assert_eq!(
            field(&|v| v["transcript"][0]["from"] = json!("cat")),
            "transcript[0].from"
        );
        assert_eq!(
            field(&|v| v["visitor"]["email"] = json!("nobody")),
            "visitor.email"
        );
        assert_eq!(
            field(&|v| v["ended_at"] = json!("2026-11-29T09:00:00Z")),
            "ended_at"
        );
        assert_eq!(field(&|v| v["id"] = json!("x".repeat(300))), "id");
        assert_eq!(
            field(&|v| v["transcript"] = json!(vec![
                json!({"from": "bot", "text": "x", "at": "2026-11-29T10:00:00Z"});
                2001
            ])),
            "transcript"
        );
    }
}
