//! Queue members pausing: the `QueuePause` action deskbridge sends for an
//! agent, the `QueueStatus` listing it asks for after each login, and the
//! events that report a member's pause, whoever caused it.
//!
//! Facts from Asterisk's `apps/app_queue.c` (its AMI documentation is in the
//! same file) and captured traffic (staskobzar/goami2's fixtures, Asterisk
//! 13):
//! - `QueuePause` takes `Interface` and `Paused` (required), `Queue` (without
//!   it the member is paused in every queue it is in, one event per queue)
//!   and `Reason`. It answers `Interface paused successfully` /
//!   `Interface unpaused successfully`, or `Response: Error` with `Interface
//!   not found`. The manager user needs `write = agent`.
//! - Asterisk 12 and later report a pause as `QueueMemberPause` with
//!   `Interface`, `StateInterface`, `MemberName`, `Paused` (0/1) and the
//!   reason in `PausedReason` (13.8+) or `Reason` (12 to 17; gone in 18).
//!   1.8 and 11 sent `QueueMemberPaused` with the interface in `Location`.
//! - `QueueMemberStatus` (a member's device state changed) carries the same
//!   fields, `Paused` among them; a pause alone does not send it.
//! - `QueueStatus` lists each member as a `QueueMember` event with the
//!   interface in `Location` and the name in `Name`, then
//!   `QueueStatusComplete`.

use deskbridge_core::pause::{PauseOrder, QueueMember};

use super::frame::Frame;

/// The `QueuePause` action carrying an order of the core.
pub fn queue_pause(order: &PauseOrder, action_id: &str) -> Frame {
    let mut fields = vec![
        ("Action", "QueuePause"),
        ("ActionID", action_id),
        ("Interface", order.interface.as_str()),
        ("Paused", if order.paused { "true" } else { "false" }),
    ];
    if let Some(reason) = &order.reason {
        fields.push(("Reason", reason.as_str()));
    }
    Frame::of(&fields)
}

/// The `QueueStatus` action: every queue's members, each a `QueueMember`.
pub fn queue_status(action_id: &str) -> Frame {
    Frame::of(&[("Action", "QueueStatus"), ("ActionID", action_id)])
}

/// The queue member an event reports on, with its pause, if the event is one
/// that says whether the member is paused.
pub fn member(frame: &Frame) -> Option<QueueMember> {
    let event = frame.event()?;
    let (interface, name) = match event {
        "QueueMemberPause" | "QueueMemberStatus" => ("Interface", "MemberName"),
        "QueueMemberPaused" => ("Location", "MemberName"),
        "QueueMember" => ("Location", "Name"),
        _ => return None,
    };
    let text = |key: &str| {
        frame
            .get(key)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let paused = match frame.get("Paused")?.trim() {
        "1" => true,
        "0" => false,
        _ => return None,
    };
    Some(QueueMember {
        interface: text(interface)?,
        state_interface: text("StateInterface"),
        member_name: text(name),
        queue: text("Queue"),
        paused,
        reason: text("PausedReason").or_else(|| text("Reason")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(text: &str) -> Frame {
        let mut reader = super::super::FrameReader::new();
        reader.push(b"Asterisk Call Manager/5.0.1\r\n");
        reader.push(text.replace('\n', "\r\n").as_bytes());
        loop {
            match reader.next_item().expect("a frame").expect("parses") {
                super::super::Item::Frame(f) => return f,
                _ => continue,
            }
        }
    }

    /// The pause and unpause captured from Asterisk 13, from
    /// <https://github.com/staskobzar/goami2/blob/2480eab6c512eab8e7cef77f4282cc213d157e07/fixtures_test.go>
    /// (MIT License, Copyright (c) 2019 Stas Kobzar), shortened: the client
    /// had sent `Reason: <nil>` on the unpause, which Asterisk echoes.
    #[test]
    fn asterisk_13s_pause_events_name_the_member_and_reason() {
        let paused = frame(
            "Event: QueueMemberPause\nPrivilege: agent,all\nQueue: Books_12\nMemberName: 9921@okon.ferry.sip.com\nInterface: Local/9921-12@from-queue/n\nStateInterface: SIP/9921-12\nMembership: realtime\nPenalty: 0\nCallsTaken: 0\nLastCall: 0\nInCall: 0\nStatus: 1\nPaused: 1\nPausedReason: Break\nRinginuse: 0\nReason: Break\n\n",
        );
        let m = member(&paused).expect("a member");
        assert_eq!(m.interface, "Local/9921-12@from-queue/n");
        assert_eq!(m.state_interface.as_deref(), Some("SIP/9921-12"));
        assert_eq!(m.member_name.as_deref(), Some("9921@okon.ferry.sip.com"));
        assert_eq!(m.queue.as_deref(), Some("Books_12"));
        assert!(m.paused);
        assert_eq!(m.reason.as_deref(), Some("Break"));
        let resumed = frame(
            "Event: QueueMemberPause\nPrivilege: agent,all\nQueue: Books_12\nMemberName: 9921@okon.ferry.sip.com\nInterface: Local/9921-12@from-queue/n\nStateInterface: SIP/9921-12\nPaused: 0\nPausedReason: \nReason: <nil>\n\n",
        );
        let m = member(&resumed).expect("a member");
        assert!(!m.paused);
    }

    /// 1.8's `QueueMemberPaused` names the interface `Location`; a
    /// `QueueStatus` listing's `QueueMember` does too, with `Name`.
    #[test]
    fn older_and_listed_members_are_read_too() {
        let old = frame(
            "Event: QueueMemberPaused\nPrivilege: agent,all\nQueue: myqueue\nLocation: SIP/testphone\nMemberName: Jared Smith\nPaused: 1\n\n",
        );
        let m = member(&old).expect("a member");
        assert_eq!((m.interface.as_str(), m.paused), ("SIP/testphone", true));
        assert_eq!(m.reason, None);
        let listed = frame(
            "Event: QueueMember\nQueue: support\nName: Ann\nLocation: PJSIP/101\nStateInterface: PJSIP/101\nMembership: static\nPenalty: 0\nCallsTaken: 3\nLastCall: 0\nInCall: 0\nStatus: 1\nPaused: 1\nPausedReason: Lunch\nActionID: deskbridge-queues\n\n",
        );
        let m = member(&listed).expect("a member");
        assert_eq!(m.member_name.as_deref(), Some("Ann"));
        assert_eq!(m.reason.as_deref(), Some("Lunch"));
        let other = frame("Event: Newchannel\nChannel: PJSIP/101-0001\n\n");
        assert_eq!(member(&other), None);
    }

    #[test]
    fn the_pause_action_carries_the_order() {
        let f = queue_pause(
            &PauseOrder {
                interface: "PJSIP/101".into(),
                paused: true,
                reason: Some("Lunch".into()),
            },
            "p1",
        );
        assert_eq!(f.get("Action"), Some("QueuePause"));
        assert_eq!(f.get("Interface"), Some("PJSIP/101"));
        assert_eq!(f.get("Paused"), Some("true"));
        assert_eq!(f.get("Reason"), Some("Lunch"));
    }
}
