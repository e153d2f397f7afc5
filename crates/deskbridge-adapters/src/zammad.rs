//! Zammad's "generic CTI" webhook, which many PBXs already speak (sipgate,
//! placetel, 3CX bridges, Asterisk scripts): `newCall`, `answer` and `hangup`,
//! form-encoded or JSON, to `POST /api/v1/cti/{token}`.
//!
//! Read as Zammad reads it (its controller and request spec,
//! `spec/requests/integration/cti_spec.rb`): `callId` or `call_id`; `user` one
//! name, `user[]` several, or one comma-joined string; numbers without a leading
//! `0` or `+` are international digits (`4930600000000`); `answer` with user
//! `voicemail` is the voicemail picking up; a `hangup` cause of `forwarded` is
//! not a missed call. Zammad's events carry no id and no time: the event id is
//! made from the call and the event (a PBX resending one is a duplicate), and
//! the time is when it arrived.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use deskbridge_core::event::{AgentRef, CallEvent, Direction, EndReason, EventKind};
use deskbridge_core::phone::{Phone, Region};
use serde_json::Value;

/// The three events of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtiEvent {
    NewCall,
    Answer,
    Hangup,
}

/// One webhook, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtiRequest {
    pub event: CtiEvent,
    pub direction: Option<Direction>,
    pub call_id: String,
    pub from: Option<String>,
    pub to: Option<String>,
    /// The agents involved (ringing, or the one who answered).
    pub users: Vec<String>,
    pub queue: Option<String>,
    /// The number (extension) that answered.
    pub answering_number: Option<String>,
    pub cause: Option<String>,
}

/// Why a webhook cannot be read; the message is Zammad's where Zammad has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CtiError(pub String);

const MAX_FIELD: usize = 256;

/// Reads a webhook body: JSON when `json`, else `application/x-www-form-urlencoded`.
pub fn parse(body: &[u8], json: bool) -> Result<CtiRequest, CtiError> {
    let fields = match json {
        true => json_fields(body)?,
        false => form_fields(body),
    };
    let one = |names: &[&str]| -> Option<String> {
        names
            .iter()
            .find_map(|n| fields.get(*n).and_then(|v| v.first()))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    if let Some((name, _)) = fields
        .iter()
        .find(|(_, values)| values.iter().any(|v| v.len() > MAX_FIELD))
    {
        return Err(CtiError(format!("{name} is longer than {MAX_FIELD} bytes")));
    }
    let event = match one(&["event"]).as_deref() {
        Some("newCall") => CtiEvent::NewCall,
        Some("answer") => CtiEvent::Answer,
        Some("hangup") => CtiEvent::Hangup,
        Some(other) => return Err(CtiError(format!("Invalid event {other:?}!"))),
        None => return Err(CtiError("Missing event!".into())),
    };
    let direction = match one(&["direction"]).as_deref() {
        Some("in") => Some(Direction::Inbound),
        Some("out") => Some(Direction::Outbound),
        // Zammad refuses any other value, and a new call without one.
        None if event != CtiEvent::NewCall => None,
        _ => return Err(CtiError("Invalid direction!".into())),
    };
    let call_id = one(&["callId", "call_id"]).ok_or_else(|| CtiError("Missing callId!".into()))?;
    let users = ["user", "user[]"]
        .iter()
        .flat_map(|n| fields.get(*n).into_iter().flatten())
        .flat_map(|v| v.split(','))
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty())
        .collect();
    Ok(CtiRequest {
        event,
        direction,
        call_id,
        from: one(&["from"]),
        to: one(&["to"]),
        users,
        queue: one(&["queue"]),
        answering_number: one(&["answeringNumber"]),
        cause: one(&["cause"]),
    })
}

type Fields = BTreeMap<String, Vec<String>>;

fn form_fields(body: &[u8]) -> Fields {
    let mut fields = Fields::new();
    for (k, v) in form_urlencoded::parse(body) {
        fields
            .entry(k.into_owned())
            .or_default()
            .push(v.into_owned());
    }
    fields
}

fn json_fields(body: &[u8]) -> Result<Fields, CtiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| CtiError(format!("the JSON is not valid: {e}")))?;
    let Value::Object(map) = value else {
        return Err(CtiError("the body must be a JSON object".into()));
    };
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    Ok(map
        .iter()
        .map(|(k, v)| {
            let values = match v {
                Value::Array(items) => items.iter().filter_map(text).collect(),
                other => text(other).into_iter().collect(),
            };
            (k.clone(), values)
        })
        .collect())
}

/// A number as Zammad reads it: `anonymous`; digits without a leading `0` or
/// `+` are international (`4930600000000` is Berlin); the rest is parsed in
/// the group's region (`030 600000`).
pub fn phone(raw: &str, region: Region) -> Phone {
    let trimmed = raw.trim();
    let international = trimmed
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit() && c != '0');
    match international {
        true => Phone::parse(&format!("+{trimmed}"), region),
        false => Phone::parse(trimmed, region),
    }
}

/// How a `hangup` cause ends the call. `normalClearing` says only that someone
/// hung up: Zammad counts the call as answered if an `answer` came, else as
/// missed, and so does the call's outcome when no reason is given.
fn reason(cause: &str) -> Option<EndReason> {
    Some(match cause {
        "busy" => EndReason::Busy,
        // The caller (or, outbound, the agent) gave up before an answer.
        "cancel" => EndReason::Abandoned,
        "noAnswer" => EndReason::NoAnswer,
        "congestion" | "notFound" => EndReason::Failed,
        "forwarded" => EndReason::Forwarded,
        _ => return None,
    })
}

impl CtiRequest {
    /// The call event this webhook stands for, received `at`.
    pub fn event(&self, region: Region, at: DateTime<Utc>) -> CallEvent {
        let voicemail = self.event == CtiEvent::Answer
            && self
                .users
                .iter()
                .any(|u| u.eq_ignore_ascii_case("voicemail"));
        let (kind, name) = match (self.event, voicemail) {
            (CtiEvent::NewCall, _) => (EventKind::Ringing, "newCall"),
            (CtiEvent::Answer, true) => (EventKind::Voicemail, "voicemail"),
            (CtiEvent::Answer, false) => (EventKind::Answered, "answer"),
            (CtiEvent::Hangup, _) => (EventKind::Ended, "hangup"),
        };
        // A transfer answers again with another agent: each answer its own event.
        let who = match kind {
            EventKind::Answered => self
                .answering_number
                .clone()
                .or_else(|| self.users.first().cloned())
                .map(|w| format!(":{w}"))
                .unwrap_or_default(),
            _ => String::new(),
        };
        let mut e = CallEvent::new(
            format!("cti:{}:{name}{who}", self.call_id),
            self.call_id.clone(),
            kind,
            at,
        );
        e.direction = self.direction;
        e.from = self.from.as_deref().map(|n| phone(n, region));
        e.to = self.to.as_deref().map(|n| phone(n, region));
        e.queue = self.queue.clone();
        e.agent = self.agent(kind);
        if kind == EventKind::Ended {
            e.reason = self.cause.as_deref().and_then(reason);
        }
        e
    }

    /// The agent of the event: who answered (by the extension that answered,
    /// else the user named), or on a new call the one agent whose phone rings.
    fn agent(&self, kind: EventKind) -> Option<AgentRef> {
        let named = |name: &String| AgentRef {
            name: Some(name.clone()),
            ..AgentRef::default()
        };
        match kind {
            EventKind::Answered => match &self.answering_number {
                Some(ext) => Some(AgentRef {
                    extension: Some(ext.clone()),
                    name: self.users.first().cloned(),
                    ..AgentRef::default()
                }),
                None => self.users.first().map(named),
            },
            EventKind::Ringing if self.users.len() == 1 => self.users.first().map(named),
            _ => None,
        }
    }

    /// The group's own number in this call (inbound: dialed; outbound: calling).
    pub fn our_number(&self) -> Option<&str> {
        match self.direction {
            Some(Direction::Outbound) => self.from.as_deref(),
            _ => self.to.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn de() -> Region {
        "DE".parse().expect("a region")
    }

    #[test]
    fn zammads_form_with_several_users_and_call_id_spelt_either_way() {
        let r = parse(
            b"event=newCall&direction=in&from=4912347114711&to=4930600000000&call_id=4991155921769858278-1&user%5B%5D=user+1&user%5B%5D=user+2",
            false,
        )
        .unwrap();
        assert_eq!(r.event, CtiEvent::NewCall);
        assert_eq!(r.direction, Some(Direction::Inbound));
        assert_eq!(r.call_id, "4991155921769858278-1");
        assert_eq!(r.users, ["user 1", "user 2"]);
        let r = parse(
            b"event=hangup&direction=in&callId=c1&cause=normalClearing&user=user+1,user+2",
            false,
        )
        .unwrap();
        assert_eq!(r.call_id, "c1");
        assert_eq!(r.users, ["user 1", "user 2"]);
        assert_eq!(r.cause.as_deref(), Some("normalClearing"));
    }

    #[test]
    fn json_bodies_with_a_user_array_or_string() {
        let r = parse(
            br#"{"event":"answer","direction":"in","call_id":"c2","user":["user 1"],"answeringNumber":"101"}"#,
            true,
        )
        .unwrap();
        assert_eq!(r.event, CtiEvent::Answer);
        assert_eq!(r.users, ["user 1"]);
        assert_eq!(r.answering_number.as_deref(), Some("101"));
        let r = parse(
            br#"{"event":"newCall","direction":"out","callId":"c3","user":"user 1"}"#,
            true,
        )
        .unwrap();
        assert_eq!(r.users, ["user 1"]);
    }

    #[test]
    fn zammads_refusals() {
        let err = |body: &[u8]| parse(body, false).unwrap_err().0;
        assert_eq!(
            err(b"event=newCall&direction=sideways&callId=c"),
            "Invalid direction!"
        );
        assert_eq!(err(b"event=newCall&callId=c"), "Invalid direction!");
        assert_eq!(err(b"event=newCall&direction=in"), "Missing callId!");
        assert!(err(b"event=ring&direction=in&callId=c").contains("ring"));
        assert!(parse(b"not json", true).is_err());
    }

    #[test]
    fn numbers_are_read_as_zammad_reads_them() {
        assert_eq!(phone("4930600000000", de()).as_str(), "+4930600000000");
        assert_eq!(phone("022 1234567", de()).as_str(), "+49221234567");
        assert_eq!(phone("0049 30 60000000", de()).as_str(), "+493060000000");
        assert_eq!(phone("anonymous", de()), Phone::Anonymous);
        assert_eq!(phone("18884074747", de()).as_str(), "+18884074747");
    }

    #[test]
    fn events_map_to_call_events() {
        let at = Utc::now();
        let answer = parse(
            b"event=answer&direction=in&callId=c&user=Ann+Example&answeringNumber=101&from=4912347114711&to=4930600000000",
            false,
        )
        .unwrap()
        .event(de(), at);
        assert_eq!(answer.kind, EventKind::Answered);
        assert_eq!(answer.id, "cti:c:answer:101");
        let agent = answer.agent.unwrap();
        assert_eq!(agent.extension.as_deref(), Some("101"));
        assert_eq!(agent.name.as_deref(), Some("Ann Example"));

        let voicemail = parse(b"event=answer&direction=in&callId=c&user=voicemail", false)
            .unwrap()
            .event(de(), at);
        assert_eq!(voicemail.kind, EventKind::Voicemail);

        for (cause, reason) in [
            ("normalClearing", None),
            ("busy", Some(EndReason::Busy)),
            ("cancel", Some(EndReason::Abandoned)),
            ("noAnswer", Some(EndReason::NoAnswer)),
            ("congestion", Some(EndReason::Failed)),
            ("notFound", Some(EndReason::Failed)),
            ("forwarded", Some(EndReason::Forwarded)),
            ("somethingNew", None),
        ] {
            let body = format!("event=hangup&direction=in&callId=c&cause={cause}");
            let e = parse(body.as_bytes(), false).unwrap().event(de(), at);
            assert_eq!(e.kind, EventKind::Ended);
            assert_eq!(e.reason, reason, "{cause}");
            assert_eq!(e.id, "cti:c:hangup");
        }
    }
}
