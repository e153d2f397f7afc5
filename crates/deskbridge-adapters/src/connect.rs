//! Amazon Connect, at `POST /api/v1/amazon-connect`: the contact flow's Lambda
//! event (an "Invoke AWS Lambda function" block whose function forwards its event
//! here) and EventBridge contact events, on one path.
//!
//! A Lambda event records (or updates) the call: its contact attributes
//! (`zendesk_ticket`, `zendesk_user`, `ticket_assignment`, `customer_number`, ...)
//! become the call's, and the flow gets back a flat map of strings it can branch
//! on. AWS's docs name the event `ContactFlowEvent` with channel `VOICE`; the
//! Rust runtime's fixture says `ContactFlowExecution` and `Voice`; both are read,
//! and endpoints and queue may be null. Contact events (`detail-type` "Amazon
//! Connect Contact Event") say when an agent answered and when the contact
//! ended. A transferred contact has a new `ContactId` but keeps its
//! `InitialContactId`: that is the call's id, so every leg lands on one call.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use deskbridge_core::event::{AgentRef, CallEvent, Direction, EndReason, EventKind};
use deskbridge_core::group_for::Addressed;
use deskbridge_core::phone::{Phone, Region};
use serde::Deserialize;
use sha1::Digest;

/// What arrived.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectRequest {
    /// A contact flow's Lambda event: answered with attributes.
    Flow(FlowEvent),
    /// An EventBridge contact event.
    Contact(ContactEvent),
}

impl ConnectRequest {
    /// What the request says about the group it belongs to: its call, and for a
    /// contact flow the number of ours the customer dialed (inbound) or that
    /// calls out (outbound). EventBridge's contact events carry no number; they
    /// follow their call.
    pub fn addressed(&self) -> Addressed<'_> {
        match self {
            ConnectRequest::Flow(flow) => Addressed {
                call_id: Some(flow.call_id()),
                dialed: address(&flow.data().system_endpoint).into_iter().collect(),
                ..Addressed::default()
            },
            ConnectRequest::Contact(contact) => Addressed {
                call_id: Some(contact.call_id()),
                ..Addressed::default()
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FlowEvent {
    pub name: Option<String>,
    pub details: Details,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Details {
    pub contact_data: ContactData,
    #[serde(default)]
    pub parameters: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContactData {
    pub contact_id: String,
    pub initial_contact_id: Option<String>,
    pub channel: Option<String>,
    pub initiation_method: Option<String>,
    pub customer_endpoint: Option<Endpoint>,
    pub system_endpoint: Option<Endpoint>,
    pub queue: Option<Queue>,
    #[serde(default)]
    pub attributes: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Endpoint {
    pub address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Queue {
    pub name: Option<String>,
}

/// An EventBridge "Amazon Connect Contact Event" (its `detail`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactEvent {
    pub event_type: String,
    pub contact_id: String,
    pub initial_contact_id: Option<String>,
    pub channel: Option<String>,
    pub initiation_method: Option<String>,
    pub agent_info: Option<AgentInfo>,
    pub initiation_timestamp: Option<DateTime<Utc>>,
    pub disconnect_timestamp: Option<DateTime<Utc>>,
    pub disconnect_reason: Option<String>,
    /// The event's time (the EventBridge envelope's `time`).
    #[serde(skip)]
    pub time: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentInfo {
    pub agent_arn: Option<String>,
    pub connected_to_agent_timestamp: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "detail-type")]
    detail_type: String,
    time: Option<DateTime<Utc>>,
    detail: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConnectError(pub String);

/// Reads a body: an EventBridge envelope, or else a Lambda event.
pub fn parse(body: &[u8]) -> Result<ConnectRequest, ConnectError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ConnectError(format!("the JSON is not valid: {e}")))?;
    if value.get("detail-type").is_some() {
        let envelope: Envelope = serde_path_to_error::deserialize(value)
            .map_err(|e| ConnectError(format!("{}: {}", e.path(), e.inner())))?;
        if envelope.detail_type != "Amazon Connect Contact Event" {
            return Err(ConnectError(format!(
                "{:?} is not a contact event; route only \"Amazon Connect Contact Event\" here",
                envelope.detail_type
            )));
        }
        let mut event: ContactEvent = serde_path_to_error::deserialize(envelope.detail)
            .map_err(|e| ConnectError(format!("detail.{}: {}", e.path(), e.inner())))?;
        event.time = envelope.time;
        return Ok(ConnectRequest::Contact(event));
    }
    let flow: FlowEvent = serde_path_to_error::deserialize(value).map_err(|e| {
        ConnectError(format!(
            "{}: {} (send the contact flow's Lambda event, or an EventBridge contact event)",
            e.path(),
            e.inner()
        ))
    })?;
    Ok(ConnectRequest::Flow(flow))
}

/// Voice contacts only: chats and tasks are not calls (a contact without a
/// channel is taken as a call).
fn is_voice(channel: Option<&str>) -> bool {
    channel.is_none_or(|c| c.eq_ignore_ascii_case("voice"))
}

fn direction(method: Option<&str>) -> Direction {
    match method {
        Some("OUTBOUND") => Direction::Outbound,
        // INBOUND, TRANSFER, CALLBACK, QUEUE_TRANSFER, API...: the customer came to us.
        _ => Direction::Inbound,
    }
}

fn address(e: &Option<Endpoint>) -> Option<&str> {
    e.as_ref()?
        .address
        .as_deref()
        .filter(|a| !a.trim().is_empty())
}

impl FlowEvent {
    fn data(&self) -> &ContactData {
        &self.details.contact_data
    }

    /// A voice contact (chats and tasks are not calls and are not recorded).
    pub fn is_voice(&self) -> bool {
        is_voice(self.data().channel.as_deref())
    }

    /// The call: the initial contact's id, which a transfer keeps.
    pub fn call_id(&self) -> &str {
        let d = self.data();
        d.initial_contact_id
            .as_deref()
            .filter(|i| !i.is_empty())
            .unwrap_or(&d.contact_id)
    }

    /// The contact's attributes, then the block's parameters over them.
    pub fn attributes(&self) -> BTreeMap<String, String> {
        let mut all = self.data().attributes.clone().unwrap_or_default();
        all.extend(self.details.parameters.clone().unwrap_or_default());
        all
    }

    /// The call event: the call ringing in the flow, with what the flow knows
    /// so far. Its id covers the attributes, so a flow that learned more (an IVR
    /// input) updates the call, and a retried invocation is a duplicate.
    pub fn event(&self, region: Region, at: DateTime<Utc>) -> CallEvent {
        let d = self.data();
        let attributes = self.attributes();
        let mut digest = sha1::Sha1::new();
        for (k, v) in &attributes {
            digest.update(k.as_bytes());
            digest.update([0]);
            digest.update(v.as_bytes());
            digest.update([0]);
        }
        let hash = hex::encode(&digest.finalize()[..8]);
        let mut e = CallEvent::new(
            format!("connect:{}:flow:{hash}", d.contact_id),
            self.call_id(),
            EventKind::Ringing,
            at,
        );
        let dir = direction(d.initiation_method.as_deref());
        // `customer_number` (set by the flow) is the customer's number to use.
        let customer = attributes
            .get("customer_number")
            .map(String::as_str)
            .filter(|n| !n.trim().is_empty())
            .or(address(&d.customer_endpoint))
            .map(|n| Phone::parse(n, region));
        let system = address(&d.system_endpoint).map(|n| Phone::parse(n, region));
        (e.from, e.to) = match dir {
            Direction::Inbound => (customer, system),
            Direction::Outbound => (system, customer),
        };
        e.direction = Some(dir);
        e.queue = d.queue.as_ref().and_then(|q| q.name.clone());
        e.attributes = attributes;
        e
    }
}

impl ContactEvent {
    pub fn call_id(&self) -> &str {
        self.initial_contact_id
            .as_deref()
            .filter(|i| !i.is_empty())
            .unwrap_or(&self.contact_id)
    }

    /// The call event, if the contact event says something about the call.
    pub fn event(&self, received: DateTime<Utc>) -> Option<CallEvent> {
        if !is_voice(self.channel.as_deref()) {
            return None;
        }
        let at = |t: Option<DateTime<Utc>>| t.or(self.time).unwrap_or(received);
        let id = format!("connect:{}:{}", self.contact_id, self.event_type);
        let mut e = match self.event_type.as_str() {
            "INITIATED" => CallEvent::new(
                id,
                self.call_id(),
                EventKind::Ringing,
                at(self.initiation_timestamp),
            ),
            "CONNECTED_TO_AGENT" => {
                let info = self.agent_info.as_ref();
                let mut e = CallEvent::new(
                    id,
                    self.call_id(),
                    EventKind::Answered,
                    at(info.and_then(|i| i.connected_to_agent_timestamp)),
                );
                // The agent's id, the ARN's last part: the directory entry's
                // `extension` names it.
                e.agent = info
                    .and_then(|i| i.agent_arn.as_deref())
                    .and_then(|arn| arn.rsplit('/').next())
                    .map(|agent| AgentRef {
                        extension: Some(agent.to_string()),
                        ..AgentRef::default()
                    });
                e
            }
            "DISCONNECTED" => {
                let mut e = CallEvent::new(
                    id,
                    self.call_id(),
                    EventKind::Ended,
                    at(self.disconnect_timestamp),
                );
                // A transfer's first leg ends; the call goes on in the next.
                if self.disconnect_reason.as_deref() == Some("TRANSFER") {
                    return None;
                }
                if self.disconnect_reason.as_deref() == Some("CUSTOMER_DISCONNECT") {
                    // Hung up: abandoned if nobody had answered, else a normal end.
                    e.reason = Some(EndReason::Abandoned);
                }
                e
            }
            _ => return None,
        };
        // Every contact event says how the contact began: EventBridge does not
        // keep their order, and the first to arrive starts the call.
        e.direction = Some(direction(self.initiation_method.as_deref()));
        Some(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str =
        include_str!("../../deskbridge/tests/fixtures/amazon-connect/example-connect-event.json");
    const NO_QUEUE: &str = include_str!(
        "../../deskbridge/tests/fixtures/amazon-connect/example-connect-event-without-queue.json"
    );

    #[test]
    fn the_runtimes_fixtures_are_read() {
        for (body, queue) in [(FIXTURE, Some("PrimaryPhoneQueue")), (NO_QUEUE, None)] {
            let ConnectRequest::Flow(flow) = parse(body.as_bytes()).unwrap() else {
                panic!("a flow event");
            };
            assert_eq!(flow.call_id(), "Acxsada-asdasdaxA", "the initial contact");
            let e = flow.event(Region::US, Utc::now());
            assert_eq!(e.kind, EventKind::Ringing);
            assert_eq!(e.direction, Some(Direction::Inbound));
            assert_eq!(e.from.unwrap().as_str(), "+14802021091");
            assert_eq!(e.queue.as_deref(), queue);
            assert_eq!(e.attributes["key1"], "value1", "parameters over attributes");
        }
    }

    #[test]
    fn awss_spelling_with_null_endpoints_and_a_customer_number() {
        let body = r#"{"Name":"ContactFlowEvent","Details":{"ContactData":{
            "ContactId":"c-2","InitialContactId":null,"Channel":"VOICE","InitiationMethod":"OUTBOUND",
            "CustomerEndpoint":null,"SystemEndpoint":{"Type":"TELEPHONE_NUMBER","Address":"+14155550199"},
            "Queue":null,"Attributes":{"customer_number":"+1 415 555 0100","zendesk_ticket":"42"}},
            "Parameters":{}}}"#;
        let ConnectRequest::Flow(flow) = parse(body.as_bytes()).unwrap() else {
            panic!("a flow event");
        };
        let e = flow.event(Region::US, Utc::now());
        assert_eq!(e.call_id, "c-2");
        assert_eq!(e.direction, Some(Direction::Outbound));
        assert_eq!(e.to.unwrap().as_str(), "+14155550100");
        assert_eq!(e.from.unwrap().as_str(), "+14155550199");
        assert_eq!(e.attributes["zendesk_ticket"], "42");
        let again = flow.event(Region::US, Utc::now());
        assert_eq!(again.id, e.id, "a retried invocation is a duplicate");
    }

    #[test]
    fn contact_events_answer_and_end_the_call() {
        let envelope = |detail: &str| {
            format!(
                r#"{{"version":"0","id":"e1","detail-type":"Amazon Connect Contact Event","source":"aws.connect",
                "time":"2026-11-22T10:00:00Z","detail":{detail}}}"#
            )
        };
        let answered = envelope(
            r#"{"eventType":"CONNECTED_TO_AGENT","contactId":"c-3","initialContactId":"c-1","channel":"VOICE",
            "initiationMethod":"TRANSFER","agentInfo":{"agentArn":"arn:aws:connect:us-east-1:1:instance/i/agent/ann-id",
            "connectedToAgentTimestamp":"2026-11-22T10:00:05Z"}}"#,
        );
        let ConnectRequest::Contact(c) = parse(answered.as_bytes()).unwrap() else {
            panic!("a contact event");
        };
        let e = c.event(Utc::now()).unwrap();
        assert_eq!((e.kind, e.call_id.as_str()), (EventKind::Answered, "c-1"));
        assert_eq!(
            e.direction,
            Some(Direction::Inbound),
            "a transfer came to us"
        );
        assert_eq!(e.agent.unwrap().extension.as_deref(), Some("ann-id"));
        assert_eq!(e.at.to_rfc3339(), "2026-11-22T10:00:05+00:00");

        let ended = envelope(
            r#"{"eventType":"DISCONNECTED","contactId":"c-4","channel":"VOICE","initiationMethod":"INBOUND",
            "disconnectTimestamp":"2026-11-22T10:01:00Z","disconnectReason":"CUSTOMER_DISCONNECT"}"#,
        );
        let ConnectRequest::Contact(c) = parse(ended.as_bytes()).unwrap() else {
            panic!("a contact event");
        };
        let e = c.event(Utc::now()).unwrap();
        assert_eq!(
            (e.kind, e.reason),
            (EventKind::Ended, Some(EndReason::Abandoned))
        );

        let chat = envelope(
            r#"{"eventType":"DISCONNECTED","contactId":"c-6","channel":"CHAT","initiationMethod":"INBOUND"}"#,
        );
        let ConnectRequest::Contact(c) = parse(chat.as_bytes()).unwrap() else {
            panic!("a contact event");
        };
        assert!(c.event(Utc::now()).is_none(), "a chat is not a call");

        let queued = envelope(r#"{"eventType":"QUEUED","contactId":"c-5"}"#);
        let ConnectRequest::Contact(c) = parse(queued.as_bytes()).unwrap() else {
            panic!("a contact event");
        };
        assert!(c.event(Utc::now()).is_none());
        let other = r#"{"detail-type":"Contact Lens Analysis State Change","detail":{}}"#;
        assert!(
            parse(other.as_bytes())
                .unwrap_err()
                .0
                .contains("not a contact event")
        );
        assert!(parse(b"{}").is_err());
    }
}
