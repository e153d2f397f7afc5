//! Click-to-call through Asterisk: the `Originate` action that rings the
//! agent's phone and then the customer, and what its `OriginateResponse`
//! says when it fails.
//!
//! Facts from Asterisk's source (`main/manager.c` `action_originate` and
//! `fast_originate`, `main/pbx.c` `pbx_dial_reason`; the same in 16, 18, 20
//! and 22) and its AMI documentation:
//! - `Async: true` answers at once `Response: Success` / `Message: Originate
//!   successfully queued`; the outcome of ringing the first leg (the agent's
//!   phone) comes later as the `OriginateResponse` event, with our `ActionID`.
//! - `ChannelId` becomes the first leg's `Uniqueid`, and so the `Linkedid` of
//!   every channel of the call: the tracker's call id is the `Linkedid`, so the
//!   events of the dialed call come back under deskbridge's call id. On failure
//!   `OriginateResponse` echoes it as `Uniqueid`.
//! - `Variable: DESKBRIDGE_CALL_ID=...` carries it to the dialplan too.
//! - `Reason` is an `AST_CONTROL_*` value: 4 answered, 5 busy, 3 no answer
//!   (the `Timeout` ran out), 8 congestion, 0 any other failure (a PJSIP phone
//!   that rejects the call busy gives 0 as well: chan_pjsip turns a 486 into a
//!   hangup, not a busy frame).

use chrono::{DateTime, Utc};
use deskbridge_core::dial::{DIAL_FAILURE_ATTRIBUTE, Dial};
use deskbridge_core::{CallEvent, Direction, EndReason, EventKind};

use super::frame::Frame;

/// The channel variable that carries deskbridge's call id.
pub const CALL_ID_VARIABLE: &str = "DESKBRIDGE_CALL_ID";

/// The `Originate` action for a dial: ring `channel` (the agent's phone, from
/// `agent_channel`), and once it answers send it to `context` at the
/// customer's number, showing the dial's caller id.
pub fn originate(
    dial: &Dial,
    channel: &str,
    context: &str,
    timeout_seconds: u64,
    action_id: &str,
) -> Frame {
    let variable = format!("{CALL_ID_VARIABLE}={}", dial.call_id);
    let timeout = (timeout_seconds * 1000).to_string();
    let mut fields = vec![
        ("Action", "Originate"),
        ("ActionID", action_id),
        ("Channel", channel),
        ("Context", context),
        ("Exten", dial.to.as_str()),
        ("Priority", "1"),
        ("Timeout", timeout.as_str()),
        ("ChannelId", dial.call_id.as_str()),
        ("Variable", variable.as_str()),
        ("Async", "true"),
    ];
    if let Some(caller_id) = &dial.caller_id {
        fields.push(("CallerID", caller_id.as_str()));
    }
    Frame::of(&fields)
}

/// Why the agent's phone could not be rung, from `OriginateResponse`'s
/// `Reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginateFailure {
    Busy,
    NoAnswer,
    Congestion,
    Failed,
}

impl OriginateFailure {
    fn of_reason(reason: Option<&str>) -> OriginateFailure {
        match reason.map(str::trim) {
            Some("5") => OriginateFailure::Busy,
            Some("3") => OriginateFailure::NoAnswer,
            Some("8") => OriginateFailure::Congestion,
            _ => OriginateFailure::Failed,
        }
    }

    /// What the agent reads.
    pub fn as_str(self) -> &'static str {
        match self {
            OriginateFailure::Busy => "busy",
            OriginateFailure::NoAnswer => "no answer",
            OriginateFailure::Congestion => "congestion",
            OriginateFailure::Failed => "failed",
        }
    }

    fn end_reason(self) -> EndReason {
        match self {
            OriginateFailure::Busy => EndReason::Busy,
            OriginateFailure::NoAnswer => EndReason::NoAnswer,
            OriginateFailure::Congestion | OriginateFailure::Failed => EndReason::Failed,
        }
    }
}

/// A failed `OriginateResponse` as the end of the dialed call (its id is the
/// `Uniqueid`, the `ChannelId` we gave), with the failure in the call's
/// `dial_failure` attribute; `None` for any other frame or a success (the
/// call's own channel events tell the rest).
pub fn failed(frame: &Frame, now: DateTime<Utc>) -> Option<CallEvent> {
    if frame.event() != Some("OriginateResponse")
        || !frame
            .get("Response")
            .is_some_and(|r| r.eq_ignore_ascii_case("Failure"))
    {
        return None;
    }
    let call_id = frame.get("Uniqueid").filter(|u| !u.starts_with('<'))?;
    let failure = OriginateFailure::of_reason(frame.get("Reason"));
    let mut e = CallEvent::new(
        format!("ami:{call_id}:originate-failed"),
        call_id,
        EventKind::Ended,
        now,
    );
    e.direction = Some(Direction::Outbound);
    e.reason = Some(failure.end_reason());
    e.attributes
        .insert(DIAL_FAILURE_ATTRIBUTE.into(), failure.as_str().into());
    Some(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_reason_ends_the_dialed_call_saying_why() {
        for (reason, said, ended) in [
            ("5", "busy", EndReason::Busy),
            ("3", "no answer", EndReason::NoAnswer),
            ("8", "congestion", EndReason::Failed),
            ("0", "failed", EndReason::Failed),
        ] {
            // The frame as Asterisk 16-22 writes it (`fast_originate`).
            let frame = Frame::of(&[
                ("Event", "OriginateResponse"),
                ("Privilege", "call,all"),
                ("ActionID", "dial-7"),
                ("Response", "Failure"),
                ("Channel", "PJSIP/101"),
                ("Context", "from-internal"),
                ("Exten", "+14155550123"),
                ("Reason", reason),
                ("Uniqueid", "dial-7"),
                ("CallerIDNum", "+14155550199"),
                ("CallerIDName", "<unknown>"),
            ]);
            let e = failed(&frame, Utc::now()).expect("an end");
            assert_eq!((e.call_id.as_str(), e.kind), ("dial-7", EventKind::Ended));
            assert_eq!(e.reason, Some(ended));
            assert_eq!(e.attributes[DIAL_FAILURE_ATTRIBUTE], said);
        }
        let ok = Frame::of(&[
            ("Event", "OriginateResponse"),
            ("Response", "Success"),
            ("Reason", "4"),
            ("Uniqueid", "dial-7"),
        ]);
        assert_eq!(failed(&ok, Utc::now()), None);
    }
}
