//! The bounds and character rules every event is held to, whichever adapter
//! made it (README, "Limits"). Every field a phone system sends is stored,
//! shown and logged, and a call's record is read whole by every step and every
//! `GET`: unbounded fields let one client grow the memory of the process and
//! make a call unreadable, and a call id with a line break cannot travel in a
//! URL, a log line or a Server-Sent Events `id`. `POST /api/v1/events` checked
//! these alone for a long time while Zammad's `callId` and Amazon Connect's
//! `ContactId`, attributes and agent ARN went in unchecked (issue 25, F): so
//! the rules live here, once, and the one commit path of every adapter
//! (`deskbridge::ingest`) applies [`check`] to each event before it is
//! stored. The bounds sit far above what phone systems send.

use chrono::{DateTime, Utc};

use crate::event::{CallEvent, EventKind};

/// The bounds, in bytes unless said otherwise.
pub mod limits {
    /// A call id (`call_id`; Zammad's `callId`, Twilio's `CallSid`, Amazon
    /// Connect's `ContactId`, Asterisk's `Linkedid`), and the `id` a client
    /// gives its own events: they travel in URLs (`/api/v1/calls/{id}`).
    pub const ID: usize = 256;
    /// The `id` of an event an adapter makes from the vendor's ids (a prefix,
    /// the call id, what happened: `cti:{callId}:answer:{extension}`), so it
    /// may be longer than the ids it is made of.
    pub const EVENT_ID: usize = 1024;
    /// `from` and `to` as given.
    pub const NUMBER: usize = 64;
    /// `queue`, `group` and each of `agent`'s fields.
    pub const NAME: usize = 256;
    /// Attributes per event.
    pub const ATTRIBUTES: usize = 100;
    /// An attribute's name.
    pub const ATTRIBUTE_NAME: usize = 128;
    /// An attribute's value.
    pub const ATTRIBUTE_VALUE: usize = 4096;
    /// `recording_url`.
    pub const URL: usize = 2048;
    /// `transcript`.
    pub const TRANSCRIPT: usize = 65_536;
    /// How far in the future `at` may be, in hours (clocks drift, but a time a
    /// day ahead is a wrong clock or a forged event; it would pin the call to
    /// the top of the caller log and keep its agent-mode deadline from ever
    /// passing).
    pub const FUTURE_HOURS: i64 = 24;
    /// The longest `duration_s`: a week, in seconds (longer is no phone call).
    pub const DURATION_S: u64 = 7 * 24 * 3600;
}

/// A field out of bounds: the event's field (as `POST /api/v1/events` names
/// it: `call_id`, `agent.extension`, `attributes.note`) and what to send
/// instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {message}")]
pub struct OutOfBounds {
    pub field: String,
    pub message: String,
}

fn out(field: &str, message: impl Into<String>) -> OutOfBounds {
    OutOfBounds {
        field: field.to_string(),
        message: message.into(),
    }
}

/// Whether `text` may serve as an id: no control characters (CR, LF and NUL
/// break log lines, HTTP headers and Server-Sent Events; the others are no
/// id's).
pub fn is_id_text(text: &str) -> bool {
    !text.chars().any(char::is_control)
}

fn bytes(field: &str, value: Option<&str>, max: usize) -> Result<(), OutOfBounds> {
    match value {
        Some(v) if v.len() > max => Err(out(
            field,
            format!("is {} bytes long; send at most {max}", v.len()),
        )),
        _ => Ok(()),
    }
}

fn id(field: &str, value: &str, max: usize) -> Result<(), OutOfBounds> {
    bytes(field, Some(value), max)?;
    if !is_id_text(value) {
        return Err(out(
            field,
            "must not contain control characters (newlines, tabs, escapes)",
        ));
    }
    Ok(())
}

/// Checks every field of `event` against [`limits`] at `now`, naming the first
/// one out of bounds.
pub fn check(event: &CallEvent, now: DateTime<Utc>) -> Result<(), OutOfBounds> {
    id("id", &event.id, limits::EVENT_ID)?;
    // A chat's call id is `chat:` and the platform's id, which the chat
    // adapter holds to `ID` itself.
    let call_id_max = match event.kind {
        EventKind::Conversation => limits::ID + "chat:".len(),
        _ => limits::ID,
    };
    id("call_id", &event.call_id, call_id_max)?;
    bytes(
        "from",
        event.from.as_ref().map(|p| p.as_str()),
        limits::NUMBER,
    )?;
    bytes("to", event.to.as_ref().map(|p| p.as_str()), limits::NUMBER)?;
    bytes("queue", event.queue.as_deref(), limits::NAME)?;
    if let Some(a) = &event.agent {
        bytes("agent.email", a.email.as_deref(), limits::NAME)?;
        bytes("agent.name", a.name.as_deref(), limits::NAME)?;
        bytes("agent.extension", a.extension.as_deref(), limits::NAME)?;
    }
    if event.attributes.len() > limits::ATTRIBUTES {
        return Err(out(
            "attributes",
            format!(
                "has {} attributes; send at most {}",
                event.attributes.len(),
                limits::ATTRIBUTES
            ),
        ));
    }
    for (name, value) in &event.attributes {
        if name.len() > limits::ATTRIBUTE_NAME {
            return Err(out(
                "attributes",
                format!(
                    "has a name {} bytes long; send names of at most {} bytes",
                    name.len(),
                    limits::ATTRIBUTE_NAME
                ),
            ));
        }
        if value.len() > limits::ATTRIBUTE_VALUE {
            // The name is at most ATTRIBUTE_NAME bytes, but may hold anything.
            let field = match is_id_text(name) {
                true => format!("attributes.{name}"),
                false => "attributes".to_string(),
            };
            return Err(out(
                &field,
                format!(
                    "is {} bytes long; send at most {}",
                    value.len(),
                    limits::ATTRIBUTE_VALUE
                ),
            ));
        }
    }
    bytes("recording_url", event.recording_url.as_deref(), limits::URL)?;
    bytes(
        "transcript",
        event.transcript.as_deref(),
        limits::TRANSCRIPT,
    )?;
    if event.at > now + chrono::Duration::hours(limits::FUTURE_HOURS) {
        return Err(out(
            "at",
            format!(
                "{} is more than {} hours in the future (now {}); check the sender's clock",
                event.at.to_rfc3339(),
                limits::FUTURE_HOURS,
                now.to_rfc3339()
            ),
        ));
    }
    if let Some(d) = event.duration_s
        && d > limits::DURATION_S
    {
        return Err(out(
            "duration_s",
            format!(
                "{d} seconds is longer than a call can be; send at most {} (7 days)",
                limits::DURATION_S
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::AgentRef;

    fn call(call_id: &str) -> CallEvent {
        CallEvent::new("e-1", call_id, EventKind::Ringing, Utc::now())
    }

    #[test]
    fn ids_with_control_characters_or_too_long_are_refused() {
        let now = Utc::now();
        assert_eq!(check(&call("c-1"), now), Ok(()));
        for bad in ["a\nb", "a\r\nb", "a\0b", "a\u{1b}[31mb"] {
            assert_eq!(
                check(&call(bad), now).unwrap_err().field,
                "call_id",
                "{bad:?}"
            );
        }
        let long = "c".repeat(limits::ID + 1);
        assert_eq!(check(&call(&long), now).unwrap_err().field, "call_id");
        let mut e = call("c-1");
        e.id = format!("cti:{}:answer:101", "c".repeat(limits::ID));
        assert_eq!(
            check(&e, now),
            Ok(()),
            "an adapter's id made of a long call id"
        );
        e.id = "x".repeat(limits::EVENT_ID + 1);
        assert_eq!(check(&e, now).unwrap_err().field, "id");
    }

    #[test]
    fn every_field_is_bounded() {
        let now = Utc::now();
        let mut e = call("c-1");
        e.agent = Some(AgentRef {
            extension: Some("a".repeat(limits::NAME + 1)),
            ..AgentRef::default()
        });
        assert_eq!(check(&e, now).unwrap_err().field, "agent.extension");
        let mut e = call("c-1");
        e.attributes = (0..=limits::ATTRIBUTES)
            .map(|i| (format!("a{i}"), "x".into()))
            .collect();
        assert_eq!(check(&e, now).unwrap_err().field, "attributes");
        let mut e = call("c-1");
        e.attributes
            .insert("note".into(), "x".repeat(limits::ATTRIBUTE_VALUE + 1));
        assert_eq!(check(&e, now).unwrap_err().field, "attributes.note");
        let mut e = call("c-1");
        e.at = now + chrono::Duration::hours(limits::FUTURE_HOURS + 1);
        assert_eq!(check(&e, now).unwrap_err().field, "at");
    }
}
