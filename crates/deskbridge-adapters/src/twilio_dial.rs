//! Click-to-call through Twilio: the REST call that rings the agent, the TwiML
//! that then dials the customer, and the status callbacks of both legs.
//!
//! deskbridge creates the agent's leg with Twilio's Create Call
//! (`POST /2010-04-01/Accounts/{AccountSid}/Calls.json`, form-encoded: `To`
//! the agent's client, SIP address or number, `From` the caller id, `Url` the
//! TwiML to run once they pick up, `StatusCallback` with `StatusCallbackEvent`
//! repeated once per event). The TwiML `<Dial callerId><Number>` dials the
//! customer; its `statusCallbackEvent` is one space-separated attribute.
//! Twilio reports "answered" as `CallStatus=in-progress`.
//!
//! Both legs' callbacks come to the group's Twilio address with the dial's call
//! id and the leg in the query (`?call_id=…&leg=agent|customer`, signed by
//! Twilio with the rest of the URL), so they land on the call the dial started:
//! the agent's leg says whether the agent's phone was reached (its failure
//! ends the dial, saying why), the customer's leg whether the customer was.

use chrono::{DateTime, Utc};
use deskbridge_core::dial::{DIAL_FAILURE_ATTRIBUTE, Dial};
use deskbridge_core::{CallEvent, Direction, EndReason, EventKind};

/// Which leg of a dial a callback is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// The agent's phone, rung first (the REST call).
    Agent,
    /// The customer, dialed by the TwiML once the agent picked up.
    Customer,
}

impl Leg {
    pub fn parse(s: &str) -> Option<Leg> {
        match s {
            "agent" => Some(Leg::Agent),
            "customer" => Some(Leg::Customer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Leg::Agent => "agent",
            Leg::Customer => "customer",
        }
    }
}

/// The Create Call form for a dial: ring `agent_endpoint` from the caller id,
/// run `twiml_url` when they answer, report the leg's statuses to
/// `status_url`.
pub fn create_call_form(
    dial: &Dial,
    agent_endpoint: &str,
    twiml_url: &str,
    status_url: &str,
    timeout_seconds: u64,
) -> Vec<(String, String)> {
    let mut form = vec![
        ("To".to_string(), agent_endpoint.to_string()),
        (
            "From".to_string(),
            dial.caller_id.clone().unwrap_or_default(),
        ),
        ("Url".to_string(), twiml_url.to_string()),
        ("Method".to_string(), "POST".to_string()),
        ("StatusCallback".to_string(), status_url.to_string()),
        ("StatusCallbackMethod".to_string(), "POST".to_string()),
        ("Timeout".to_string(), timeout_seconds.to_string()),
    ];
    for event in ["initiated", "ringing", "answered", "completed"] {
        form.push(("StatusCallbackEvent".to_string(), event.to_string()));
    }
    form
}

/// The TwiML that dials the customer once the agent picked up.
pub fn dial_twiml(to: &str, caller_id: Option<&str>, status_url: &str) -> String {
    let caller_id = caller_id
        .map(|c| format!(" callerId=\"{}\"", xml(c)))
        .unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Dial{caller_id}><Number statusCallback=\"{}\" statusCallbackEvent=\"initiated ringing answered completed\" statusCallbackMethod=\"POST\">{}</Number></Dial></Response>",
        xml(status_url),
        xml(to)
    )
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The call event one leg's status callback stands for: the agent's leg
/// failing ends the dial with `dial_failure` (the customer was never rung);
/// its end after a conversation ends the call; the customer's answer is the
/// call answered (by the dial's agent), its failure the call's outcome.
pub fn leg_event(
    call_id: &str,
    leg: Leg,
    agent_email: Option<&str>,
    status: &str,
    duration_s: Option<u64>,
    at: DateTime<Utc>,
) -> Option<CallEvent> {
    let failure = match status {
        "busy" => Some(("busy", EndReason::Busy)),
        "no-answer" => Some(("no answer", EndReason::NoAnswer)),
        "failed" => Some(("failed", EndReason::Failed)),
        "canceled" => Some(("canceled", EndReason::Failed)),
        _ => None,
    };
    let event = |kind| {
        let mut e = CallEvent::new(
            format!("twilio-dial:{call_id}:{}:{status}", leg.as_str()),
            call_id,
            kind,
            at,
        );
        e.direction = Some(Direction::Outbound);
        e
    };
    match (leg, status, failure) {
        (Leg::Agent, _, Some((said, reason))) => {
            let mut e = event(EventKind::Ended);
            e.reason = Some(reason);
            e.attributes
                .insert(DIAL_FAILURE_ATTRIBUTE.into(), said.into());
            Some(e)
        }
        // The agent hung up: the call is over (its outcome follows whether
        // the customer answered).
        (Leg::Agent, "completed", _) => Some(event(EventKind::Ended)),
        (Leg::Agent, _, _) => None,
        (Leg::Customer, "in-progress" | "answered", _) => {
            let mut e = event(EventKind::Answered);
            e.agent = agent_email.map(|email| deskbridge_core::AgentRef {
                email: Some(email.to_string()),
                ..Default::default()
            });
            Some(e)
        }
        (Leg::Customer, "completed", _) => {
            let mut e = event(EventKind::Ended);
            e.duration_s = duration_s;
            e.reason = match duration_s {
                Some(0) => None,
                _ => Some(EndReason::Completed),
            };
            Some(e)
        }
        (Leg::Customer, _, Some((_, reason))) => {
            let mut e = event(EventKind::Ended);
            e.reason = Some(reason);
            Some(e)
        }
        (Leg::Customer, _, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agents_failure_says_why_and_the_customers_answer_is_the_calls() {
        let at = Utc::now();
        let busy = leg_event("d1", Leg::Agent, None, "busy", None, at).unwrap();
        assert_eq!(
            (busy.kind, busy.reason),
            (EventKind::Ended, Some(EndReason::Busy))
        );
        assert_eq!(busy.attributes[DIAL_FAILURE_ATTRIBUTE], "busy");
        assert_eq!(
            leg_event("d1", Leg::Agent, None, "in-progress", None, at),
            None
        );
        let answered = leg_event(
            "d1",
            Leg::Customer,
            Some("ann@acme.com"),
            "in-progress",
            None,
            at,
        )
        .unwrap();
        assert_eq!(answered.kind, EventKind::Answered);
        assert_eq!(
            answered.agent.and_then(|a| a.email).as_deref(),
            Some("ann@acme.com")
        );
        let unanswered = leg_event("d1", Leg::Customer, None, "no-answer", None, at).unwrap();
        assert_eq!(unanswered.reason, Some(EndReason::NoAnswer));
        assert!(unanswered.attributes.is_empty(), "the customer was rung");
    }

    #[test]
    fn the_twiml_dials_the_customer_with_the_caller_id_escaped() {
        let twiml = dial_twiml("+14155550123", Some("+14155550199"), "https://x/cb?a=1&b=2");
        assert!(twiml.contains(
            "<Dial callerId=\"+14155550199\"><Number statusCallback=\"https://x/cb?a=1&amp;b=2\""
        ));
        assert!(twiml.contains(">+14155550123</Number></Dial></Response>"));
    }
}
