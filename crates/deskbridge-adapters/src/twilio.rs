//! Twilio's voice status callbacks (and recording status callbacks), form-encoded
//! to `POST /api/v1/twilio/{group}`, signed with `X-Twilio-Signature`.
//!
//! The signature is checked as Twilio's own SDKs check it ("Webhooks security"):
//! base64(HMAC-SHA1(auth token, the full URL Twilio called + every POST
//! parameter's name and value, sorted by name)). deskbridge usually sits behind
//! a proxy, so the URL is rebuilt from `[server] public_url` (which may carry a
//! port and a path prefix); as Twilio's validators do, the URL is also tried
//! with the scheme's default port added or removed.
//!
//! A call's legs: Twilio reports the caller's leg (`CallSid`) and, for a
//! `<Dial>`, the agent's leg (`Direction=outbound-dial` with `ParentCallSid`).
//! Both belong to one call, the parent's; the agent leg's `To` is the agent
//! (`client:ann`, `sip:ann@pbx`, or a number). An inbound parent leg is "in
//! progress" and "completed" (with a duration) as soon as Twilio answers it to
//! run the TwiML, whether or not an agent ever picks up: only the agent leg's
//! answer says the call was answered, so the parent's own answer is ignored and
//! its end carries no reason (the call's outcome then follows the agent leg).

use std::collections::BTreeMap;

use base64::Engine;
use chrono::{DateTime, Utc};
use deskbridge_core::event::{AgentRef, CallEvent, Direction, EndReason, EventKind};
use deskbridge_core::phone::{Phone, Region};
use hmac::{Hmac, KeyInit, Mac};
use subtle::ConstantTimeEq;

/// One callback's parameters, by name (a name sent twice keeps its first value).
pub type Params = BTreeMap<String, String>;

/// Reads a form-encoded body. Every pair is kept for the signature.
pub fn parse(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// The value Twilio's signature is computed over: the URL, then each parameter's
/// name and value, in name order (Twilio's validators sort by name, keeping the
/// order of repeated names).
fn signed_text(url: &str, pairs: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut text = url.to_string();
    for (name, value) in sorted {
        text.push_str(name);
        text.push_str(value);
    }
    text
}

/// The signature Twilio sends for this request.
pub fn signature(auth_token: &str, url: &str, pairs: &[(String, String)]) -> String {
    // An HMAC key may have any length: `new_from_slice` cannot fail for HMAC.
    let mut mac = match Hmac::<sha1::Sha1>::new_from_slice(auth_token.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(signed_text(url, pairs).as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The URL as called, and the same with the scheme's default port added or
/// removed (`https://a.com/x` and `https://a.com:443/x`).
fn url_variants(url: &str) -> Vec<String> {
    let mut variants = vec![url.to_string()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return variants;
    };
    let default = match scheme {
        "https" => "443",
        "http" => "80",
        _ => return variants,
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once(':') {
        Some((host, port)) if port == default => variants.push(format!("{scheme}://{host}{path}")),
        Some(_) => {}
        None => variants.push(format!("{scheme}://{authority}:{default}{path}")),
    }
    variants
}

/// Whether `given` is Twilio's signature of this request to `url`.
pub fn signed_by_twilio(
    auth_token: &str,
    url: &str,
    pairs: &[(String, String)],
    given: &str,
) -> bool {
    url_variants(url).iter().any(|u| {
        let expected = signature(auth_token, u, pairs);
        bool::from(expected.as_bytes().ct_eq(given.trim().as_bytes()))
    })
}

/// The call event a callback stands for, if any (`None`: a status deskbridge
/// does not record, such as a recording still in progress).
pub fn event(
    pairs: &[(String, String)],
    region: Region,
    received: DateTime<Utc>,
) -> Option<CallEvent> {
    let mut params = Params::new();
    for (k, v) in pairs {
        params.entry(k.clone()).or_insert_with(|| v.clone());
    }
    let get = |name: &str| params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let sid = get("CallSid")?;
    let agent_leg = get("Direction") == Some("outbound-dial");
    let call_id = match (agent_leg, get("ParentCallSid")) {
        (true, Some(parent)) => parent,
        _ => sid,
    };
    let at = get("Timestamp")
        .and_then(|t| DateTime::parse_from_rfc2822(t).ok())
        .map_or(received, |t| t.with_timezone(&Utc));
    // Twilio sends two kinds of callbacks here ("Voice Webhooks"): a call status
    // callback always carries `CallStatus` (and, on `completed`, the call's
    // recording when it was recorded: `RecordingUrl`, `RecordingSid`); a
    // recording status callback carries `RecordingStatus` and no `CallStatus`.
    // Telling them apart by `RecordingUrl` would drop a recorded call's
    // `completed`, and the call would never end.
    let recording = get("RecordingUrl").map(|url| (url, get("RecordingSid").unwrap_or(url)));
    let Some(status) = get("CallStatus") else {
        // A recording status callback: only a finished recording is recorded.
        if get("RecordingStatus").is_some_and(|s| s != "completed") {
            return None;
        }
        let (url, recording) = recording?;
        return Some(recording_event(call_id, url, recording, at));
    };
    let (kind, reason) = match status {
        "queued" | "initiated" | "ringing" => (EventKind::Ringing, None),
        "in-progress" | "answered" => (EventKind::Answered, None),
        "completed" => (EventKind::Ended, Some(EndReason::Completed)),
        "busy" => (EventKind::Ended, Some(EndReason::Busy)),
        "no-answer" => (EventKind::Ended, Some(EndReason::NoAnswer)),
        // The caller hung up before anyone answered.
        "canceled" => (EventKind::Ended, Some(EndReason::Abandoned)),
        "failed" => (EventKind::Ended, Some(EndReason::Failed)),
        _ => return None,
    };
    if agent_leg {
        return match agent_leg_event(call_id, sid, status, kind, &get, at) {
            Some(mut e) => {
                e.recording_url = recording.map(|(url, _)| url.to_string());
                Some(e)
            }
            // The leg's end is not the call's, but a recording it carries is.
            None => recording.map(|(url, rec)| recording_event(call_id, url, rec, at)),
        };
    }
    let direction = match get("Direction") {
        Some("inbound") => Some(Direction::Inbound),
        Some(d) if d.starts_with("outbound") => Some(Direction::Outbound),
        _ => None,
    };
    let inbound = direction == Some(Direction::Inbound);
    if inbound && kind == EventKind::Answered {
        // Twilio answering to run the TwiML; an agent has not picked up.
        return recording.map(|(url, rec)| recording_event(call_id, url, rec, at));
    }
    let mut e = CallEvent::new(format!("twilio:{sid}:{status}"), call_id, kind, at);
    e.direction = direction;
    e.from = get("From").map(|n| Phone::parse(n, region));
    e.to = get("To").map(|n| Phone::parse(n, region));
    e.reason = reason;
    e.recording_url = recording.map(|(url, _)| url.to_string());
    if kind == EventKind::Ended {
        if inbound {
            // The caller's time on the line, not talk time; the outcome follows
            // the agent leg's answer.
            if reason == Some(EndReason::Completed) {
                e.reason = None;
            }
        } else {
            e.duration_s = get("CallDuration").and_then(|d| d.parse().ok());
            // A completed call that nobody answered lasted 0 seconds.
            if reason == Some(EndReason::Completed) && e.duration_s == Some(0) {
                e.reason = None;
            }
        }
    }
    Some(e)
}

/// A finished recording of the call. Its id names the recording, so the same
/// recording reported by a recording status callback and by a call status
/// callback is one event.
fn recording_event(call_id: &str, url: &str, recording: &str, at: DateTime<Utc>) -> CallEvent {
    let mut e = CallEvent::new(
        format!("twilio:{call_id}:recording:{recording}"),
        call_id,
        EventKind::Recording,
        at,
    );
    e.recording_url = Some(url.to_string());
    e
}

/// The agent's leg of a `<Dial>`: its answer is the agent answering the call;
/// its end is not the call's (the caller's leg says when the call ended).
fn agent_leg_event<'a>(
    call_id: &str,
    sid: &str,
    status: &str,
    kind: EventKind,
    get: &dyn Fn(&str) -> Option<&'a str>,
    at: DateTime<Utc>,
) -> Option<CallEvent> {
    if kind != EventKind::Answered {
        return None;
    }
    let to = get("To")?;
    let who = to
        .strip_prefix("client:")
        .or_else(|| {
            to.strip_prefix("sip:")
                .map(|s| s.split('@').next().unwrap_or(s))
        })
        .unwrap_or(to);
    let mut e = CallEvent::new(format!("twilio:{sid}:{status}"), call_id, kind, at);
    // A `<Dial>` to an agent is an inbound call's; said here too, since this
    // callback may come before any of the caller's leg.
    e.direction = Some(Direction::Inbound);
    e.agent = Some(AgentRef {
        extension: Some(who.to_string()),
        ..AgentRef::default()
    });
    Some(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Twilio's own test vector (its SDKs' request validator tests).
    #[test]
    fn twilios_signature_example() {
        let params = pairs(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]);
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(
            signature("12345", url, &params),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
        assert!(signed_by_twilio(
            "12345",
            url,
            &params,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        // With the default port added, as Twilio may have signed it.
        let with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        assert!(signed_by_twilio(
            "12345",
            with_port,
            &params,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        assert!(!signed_by_twilio(
            "12346",
            url,
            &params,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        let mut changed = params.clone();
        changed[2].1 = "1235".into();
        assert!(!signed_by_twilio(
            "12345",
            url,
            &changed,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
    }

    #[test]
    fn default_ports_are_added_and_removed() {
        assert_eq!(
            url_variants("https://a.com/x"),
            ["https://a.com/x", "https://a.com:443/x"]
        );
        assert_eq!(
            url_variants("http://a.com:80/x?y=1"),
            ["http://a.com:80/x?y=1", "http://a.com/x?y=1"]
        );
        assert_eq!(
            url_variants("https://a.com:8443/x"),
            ["https://a.com:8443/x"]
        );
    }

    fn us() -> Region {
        Region::US
    }

    #[test]
    fn statuses_become_call_events() {
        let now = Utc::now();
        let base = [
            ("CallSid", "CA1"),
            ("From", "+14155550100"),
            ("To", "+14155550199"),
            ("Direction", "inbound"),
        ];
        let with = |status: &str, extra: &[(&str, &str)]| {
            let mut p = pairs(&base);
            p.push(("CallStatus".into(), status.into()));
            p.extend(pairs(extra));
            event(&p, us(), now)
        };
        let ringing = with(
            "ringing",
            &[("Timestamp", "Mon, 16 Aug 2010 03:45:01 +0000")],
        )
        .unwrap();
        assert_eq!(ringing.kind, EventKind::Ringing);
        assert_eq!(ringing.direction, Some(Direction::Inbound));
        assert_eq!(ringing.from.as_ref().unwrap().as_str(), "+14155550100");
        assert_eq!(ringing.at.to_rfc3339(), "2010-08-16T03:45:01+00:00");
        assert!(
            with("in-progress", &[]).is_none(),
            "an inbound leg in progress is Twilio running the TwiML, not an agent"
        );
        for (status, reason) in [
            ("busy", EndReason::Busy),
            ("no-answer", EndReason::NoAnswer),
            ("canceled", EndReason::Abandoned),
            ("failed", EndReason::Failed),
        ] {
            let e = with(status, &[]).unwrap();
            assert_eq!(
                (e.kind, e.reason),
                (EventKind::Ended, Some(reason)),
                "{status}"
            );
        }
        let done = with("completed", &[("CallDuration", "42")]).unwrap();
        assert_eq!(done.kind, EventKind::Ended);
        assert_eq!(done.reason, None, "answered or not, the agent leg says");
        assert_eq!(done.id, "twilio:CA1:completed");
        // An outbound call: in progress is the customer answering.
        let outbound = |status: &str, extra: &[(&str, &str)]| {
            let mut p = pairs(&[("CallSid", "CA9"), ("Direction", "outbound-api")]);
            p.push(("CallStatus".into(), status.into()));
            p.extend(pairs(extra));
            event(&p, us(), now).unwrap()
        };
        assert_eq!(outbound("in-progress", &[]).kind, EventKind::Answered);
        let done = outbound("completed", &[("CallDuration", "42")]);
        assert_eq!(
            (done.duration_s, done.reason),
            (Some(42), Some(EndReason::Completed))
        );
        assert!(with("something-new", &[]).is_none());
    }

    #[test]
    fn the_agents_leg_answers_the_parent_call_and_recordings_are_added() {
        let now = Utc::now();
        let leg = pairs(&[
            ("CallSid", "CA2"),
            ("ParentCallSid", "CA1"),
            ("Direction", "outbound-dial"),
            ("To", "client:ann"),
            ("CallStatus", "in-progress"),
        ]);
        let e = event(&leg, us(), now).unwrap();
        assert_eq!(e.call_id, "CA1");
        assert_eq!(e.kind, EventKind::Answered);
        assert_eq!(e.direction, Some(Direction::Inbound));
        assert_eq!(e.agent.unwrap().extension.as_deref(), Some("ann"));
        let mut ended = leg.clone();
        ended[4].1 = "completed".into();
        assert!(
            event(&ended, us(), now).is_none(),
            "the caller's leg ends the call"
        );

        let recording = pairs(&[
            ("CallSid", "CA1"),
            ("RecordingSid", "RE1"),
            (
                "RecordingUrl",
                "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
            ),
            ("RecordingStatus", "completed"),
        ]);
        let e = event(&recording, us(), now).unwrap();
        assert_eq!(e.kind, EventKind::Recording);
        assert_eq!(e.id, "twilio:CA1:recording:RE1");
        let mut pending = recording.clone();
        pending[3].1 = "in-progress".into();
        assert!(event(&pending, us(), now).is_none());
    }

    /// A call status callback carries `CallStatus`, and on `completed` the
    /// recording of a recorded call ("Voice Webhooks", status callback
    /// parameters): it ends the call and keeps the recording. A recording status
    /// callback has `RecordingStatus` and no `CallStatus`.
    #[test]
    fn a_completed_call_status_callback_with_a_recording_ends_the_call() {
        let now = Utc::now();
        let url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE7";
        let completed = pairs(&[
            ("CallSid", "CA7"),
            ("Direction", "outbound-api"),
            ("CallStatus", "completed"),
            ("CallDuration", "42"),
            ("RecordingUrl", url),
            ("RecordingSid", "RE7"),
            ("RecordingDuration", "40"),
        ]);
        let e = event(&completed, us(), now).unwrap();
        assert_eq!(
            (e.kind, e.id.as_str()),
            (EventKind::Ended, "twilio:CA7:completed")
        );
        assert_eq!(e.recording_url.as_deref(), Some(url));
        assert_eq!(e.duration_s, Some(42));
        // The agent leg's end is not the call's; its recording is.
        let leg = pairs(&[
            ("CallSid", "CA8"),
            ("ParentCallSid", "CA7"),
            ("Direction", "outbound-dial"),
            ("To", "client:ann"),
            ("CallStatus", "completed"),
            ("RecordingUrl", url),
            ("RecordingSid", "RE7"),
        ]);
        let e = event(&leg, us(), now).unwrap();
        assert_eq!((e.kind, e.call_id.as_str()), (EventKind::Recording, "CA7"));
        assert_eq!(e.id, "twilio:CA7:recording:RE7");
    }
}
