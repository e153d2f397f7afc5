//! What AMI fields mean, without state: a channel's device, an event's time, a
//! hangup's reason, and the bounds on what is taken from a frame.

use chrono::{DateTime, TimeZone, Utc};
use deskbridge_core::EndReason;

use super::super::native::limits;
use super::frame::Frame;

/// Fields naming channels, calls and bridges: what the tracker keys on.
const IDS: [&str; 5] = [
    "Uniqueid",
    "Linkedid",
    "DestUniqueid",
    "DestLinkedid",
    "BridgeUniqueid",
];

/// Whether the frame's ids can name a call: short enough for an event id (which
/// joins two of them) and without control characters, as the native ingest
/// requires of ids.
pub fn ids_fit(f: &Frame) -> bool {
    IDS.iter()
        .filter_map(|k| f.get(k))
        .all(|v| v.len() <= (limits::ID - 32) / 2 && !v.chars().any(char::is_control))
}

/// A number field (`CallerIDNum`, `Exten`, ...), if within the native event's bound.
pub fn number<'a>(f: &'a Frame, key: &str) -> Option<&'a str> {
    f.get(key).filter(|v| v.len() <= limits::NUMBER)
}

/// A name field (`Queue`, `MemberName`, a channel), if within the native bound.
pub fn name<'a>(f: &'a Frame, key: &str) -> Option<&'a str> {
    f.get(key).filter(|v| v.len() <= limits::NAME)
}

/// Why the call ended, from what the tracker saw and the last hangup cause (Q.850:
/// 17 user busy, 34 and 38 network trouble).
pub fn end_reason(
    answered: bool,
    abandoned: bool,
    last_dial: Option<&str>,
    cause: Option<u32>,
) -> EndReason {
    if answered {
        return EndReason::Completed;
    }
    if abandoned {
        return EndReason::Abandoned;
    }
    match (last_dial, cause) {
        (Some("BUSY"), _) | (None, Some(17)) => EndReason::Busy,
        (Some("CONGESTION" | "CHANUNAVAIL"), _) | (None, Some(34 | 38)) => EndReason::Failed,
        (Some("CANCEL"), _) => EndReason::Abandoned,
        _ => EndReason::NoAnswer,
    }
}

/// The device's extension in a channel or interface name: `PJSIP/101-00000002`,
/// `SIP/101-0000000a`, `PJSIP/101` → `101`; `Local/101@from-queue-00000001;1`,
/// `Local/101@from-queue/n` → `101`.
pub fn extension_of(channel: &str) -> Option<String> {
    let (tech, rest) = channel.split_once('/')?;
    let device = if tech.eq_ignore_ascii_case("Local") {
        rest.split('@').next().unwrap_or(rest)
    } else {
        // The sequence number Asterisk appends to a device's channels.
        match rest.rsplit_once('-') {
            Some((device, seq))
                if !seq.is_empty() && seq.chars().all(|c| c.is_ascii_hexdigit()) =>
            {
                device
            }
            _ => rest,
        }
    };
    Some(device.to_string()).filter(|d| !d.is_empty())
}

/// The `Timestamp` field (`timestampevents = yes` in `manager.conf`): Unix seconds
/// with a fraction.
pub fn timestamp(f: &Frame) -> Option<DateTime<Utc>> {
    let ts: f64 = f.get("Timestamp")?.parse().ok()?;
    if !(0.0..=4.0e9).contains(&ts) {
        return None;
    }
    let secs = ts.trunc() as i64;
    let nanos = ((ts - ts.trunc()) * 1e9) as u32;
    Utc.timestamp_opt(secs, nanos).single()
}
