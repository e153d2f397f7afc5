//! A call's native events (DESIGN.md, "Events"), built step by step.

use chrono::{DateTime, Duration, Utc};
use deskbridge_core::{Direction, EndReason};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// The contact center's number: where inbound calls ring, outbound calls
/// come from.
pub const OUR_NUMBER: &str = "+14155550199";

/// An agent as an event names them: by email, name or extension, any of them
/// (deskbridge finds them in its directory by whichever it has).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Agent {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
}

impl Agent {
    /// The agent with this email.
    pub fn new(email: &str) -> Agent {
        Agent {
            email: Some(email.to_string()),
            ..Agent::default()
        }
    }

    /// An agent the PBX names only by name.
    pub fn by_name(name: &str) -> Agent {
        Agent::default().named(name)
    }

    /// An agent the PBX names only by extension.
    pub fn by_extension(extension: &str) -> Agent {
        Agent::default().extension(extension)
    }

    pub fn named(mut self, name: &str) -> Agent {
        self.name = Some(name.to_string());
        self
    }

    pub fn extension(mut self, extension: &str) -> Agent {
        self.extension = Some(extension.to_string());
        self
    }

    /// Ann, the agent most tests use: `ann@acme.com`, "Ann Example".
    pub fn ann() -> Agent {
        Agent::new("ann@acme.com").named("Ann Example")
    }

    fn json(&self) -> Value {
        json!(self)
    }
}

impl From<&str> for Agent {
    fn from(email: &str) -> Agent {
        Agent::new(email)
    }
}

/// One call's events, in the order they are sent.
///
/// Times: a script [`CallScript::starting_at`] a moment gives each event an
/// `at` that many seconds after it ([`CallScript::at`] sets the last event's);
/// a script without a start sends no `at`, so deskbridge stamps each event
/// with its arrival, as with a phone system that sends no times.
///
/// Event ids are `{call_id}-1`, `{call_id}-2`, … in order, unless
/// [`CallScript::id`] names one.
#[derive(Debug, Clone)]
pub struct CallScript {
    call_id: String,
    start: Option<DateTime<Utc>>,
    /// Each event: seconds after the start, and its fields.
    events: Vec<(i64, Map<String, Value>)>,
}

impl CallScript {
    /// A call from `from` ringing at our number.
    pub fn inbound(call_id: &str, from: &str) -> CallScript {
        CallScript::ringing(call_id, Direction::Inbound, from, OUR_NUMBER)
    }

    /// A call from our number to `to`.
    pub fn outbound(call_id: &str, to: &str) -> CallScript {
        CallScript::ringing(call_id, Direction::Outbound, OUR_NUMBER, to)
    }

    fn ringing(call_id: &str, direction: Direction, from: &str, to: &str) -> CallScript {
        let mut script = CallScript {
            call_id: call_id.to_string(),
            start: None,
            events: Vec::new(),
        };
        script.push(
            "ringing",
            json!({"direction": direction, "from": from, "to": to}),
        );
        script
    }

    /// The first event's time; later events are [`CallScript::at`] seconds
    /// after it.
    pub fn starting_at(mut self, at: DateTime<Utc>) -> CallScript {
        self.start = Some(at);
        self
    }

    /// Started `seconds` before now.
    pub fn started_ago(self, seconds: i64) -> CallScript {
        self.starting_at(Utc::now() - Duration::seconds(seconds))
    }

    /// The number the call was made to (inbound: which of our numbers).
    pub fn to(self, number: &str) -> CallScript {
        self.on_ringing("to", json!(number))
    }

    /// The PBX's attributes on the ringing event (an IVR's ticket number, …).
    pub fn attributes(self, attributes: Value) -> CallScript {
        self.on_ringing("attributes", attributes)
    }

    /// The queue the call waits in, on the ringing event.
    pub fn queue(self, queue: &str) -> CallScript {
        self.on_ringing("queue", json!(queue))
    }

    /// The agent who places an outbound call (on its ringing event).
    pub fn placed_by(self, agent: impl Into<Agent>) -> CallScript {
        self.on_ringing("agent", agent.into().json())
    }

    /// Answered by `agent` (one `answered` event; a transfer is a second one).
    pub fn answered_by(mut self, agent: impl Into<Agent>) -> CallScript {
        self.push("answered", json!({"agent": agent.into().json()}));
        self
    }

    /// The caller left a voicemail, recorded at `url`.
    pub fn voicemail(mut self, url: &str) -> CallScript {
        self.push("voicemail", json!({"recording_url": url}));
        self
    }

    /// A recording of the call is ready at `url` (its own event, as after the
    /// end).
    pub fn recording(mut self, url: &str) -> CallScript {
        self.push("recording", json!({"recording_url": url}));
        self
    }

    /// The call ended for `reason`.
    pub fn ends(mut self, reason: EndReason) -> CallScript {
        self.push("ended", json!({"reason": reason}));
        self
    }

    /// Ended completed, after `seconds` (from the start): the usual answered
    /// call's end.
    pub fn ends_after(self, seconds: i64) -> CallScript {
        self.ends(EndReason::Completed).at(seconds)
    }

    /// The last event happened `seconds` after the start.
    pub fn at(mut self, seconds: i64) -> CallScript {
        if let Some((at, _)) = self.events.last_mut() {
            *at = seconds;
        }
        self
    }

    /// Sets `field` on the last event (`recording_url` on the end, `queue`,
    /// `duration_s`, …).
    pub fn with(mut self, field: &str, value: Value) -> CallScript {
        if let Some((_, event)) = self.events.last_mut() {
            event.insert(field.to_string(), value);
        }
        self
    }

    /// Names the last event's id.
    pub fn id(self, id: &str) -> CallScript {
        self.with("id", json!(id))
    }

    fn on_ringing(mut self, field: &str, value: Value) -> CallScript {
        if let Some((_, ringing)) = self.events.first_mut() {
            ringing.insert(field.to_string(), value);
        }
        self
    }

    fn push(&mut self, kind: &str, fields: Value) {
        let mut event = Map::new();
        event.insert(
            "id".into(),
            json!(format!("{}-{}", self.call_id, self.events.len() + 1)),
        );
        event.insert("call_id".into(), json!(self.call_id));
        event.insert("type".into(), json!(kind));
        if let Value::Object(fields) = fields {
            event.extend(fields);
        }
        self.events.push((0, event));
    }

    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// The events as one request's body (a JSON array).
    pub fn events(&self) -> Value {
        Value::Array((0..self.events.len()).map(|i| self.event(i)).collect())
    }

    /// The `n`th event (from 0) on its own, to send apart from the others.
    pub fn event(&self, n: usize) -> Value {
        let (after, fields) = &self.events[n];
        let mut event = fields.clone();
        if let Some(start) = self.start {
            event.insert(
                "at".into(),
                json!(
                    (start + Duration::seconds(*after))
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
            );
        }
        Value::Object(event)
    }

    /// The events but the last (a call still going on), as one body.
    pub fn until_last(&self) -> Value {
        Value::Array(
            (0..self.events.len().saturating_sub(1))
                .map(|i| self.event(i))
                .collect(),
        )
    }
}

/// The call most tests make: from `from`, ringing on 2026-11-22 at 10:00 UTC,
/// answered 5 s later by `agent_email` (named "Ann Example"), ended completed
/// a minute after that, in queue "support".
pub fn answered_call(call_id: &str, from: &str, agent_email: &str) -> Value {
    CallScript::inbound(call_id, from)
        .starting_at(chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 22, 10, 0, 0).unwrap())
        .answered_by(Agent::new(agent_email).named("Ann Example"))
        .at(5)
        .ends_after(65)
        .with("queue", json!("support"))
        .events()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn an_answered_call_reads_as_its_events() {
        let start = Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap();
        let events = CallScript::inbound("c1", "+14155550100")
            .starting_at(start)
            .answered_by(Agent::ann())
            .at(5)
            .ends_after(65)
            .with("queue", json!("support"))
            .events();
        assert_eq!(
            events,
            json!([
                {"id": "c1-1", "call_id": "c1", "type": "ringing", "direction": "inbound",
                 "from": "+14155550100", "to": OUR_NUMBER, "at": "2026-11-22T10:00:00Z"},
                {"id": "c1-2", "call_id": "c1", "type": "answered",
                 "agent": {"email": "ann@acme.com", "name": "Ann Example"}, "at": "2026-11-22T10:00:05Z"},
                {"id": "c1-3", "call_id": "c1", "type": "ended", "reason": "completed",
                 "at": "2026-11-22T10:01:05Z", "queue": "support"},
            ])
        );
    }

    #[test]
    fn a_script_without_a_start_sends_no_times() {
        let events = CallScript::outbound("c2", "+14155550100")
            .placed_by("ann@acme.com")
            .ends(EndReason::NoAnswer)
            .events();
        assert_eq!(events[0]["from"], OUR_NUMBER);
        assert_eq!(events[0]["direction"], "outbound");
        assert_eq!(events[0]["agent"], json!({"email": "ann@acme.com"}));
        assert_eq!(events[1]["reason"], "no_answer");
        assert!(events[0].get("at").is_none() && events[1].get("at").is_none());
    }
}
