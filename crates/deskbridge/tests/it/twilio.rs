//! Twilio status callbacks at `/api/v1/twilio/{group}`: signed as Twilio signs
//! (over `public_url`, with its port and path prefix), refused unsigned or
//! wrongly signed, and a call's legs and recording landing as one call.

use deskbridge::adapters::twilio::signature;

use crate::common::*;

const TOKEN: &str = "twilio-group-token-0123456789";
const AUTH_TOKEN: &str = "12345";

fn start(public_url: &str) -> TestApp {
    let config = format!(
        r#"
[server]
public_url = "{public_url}"

[[agents]]
email = "ann@acme.com"
name = "Ann Example"
extension = "ann"

[[groups]]
name = "support"
tokens = ["{TOKEN}"]
twilio_auth_token = "{AUTH_TOKEN}"
"#
    );
    TestApp::with_config(&config, TOKEN)
}

fn form(params: &[(&str, &str)]) -> (String, Vec<(String, String)>) {
    let pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&pairs)
        .finish();
    (body, pairs)
}

/// Posts a callback signed by `auth_token` over `signed_url` (or unsigned).
fn post(server: &TestApp, params: &[(&str, &str)], signed: Option<(&str, &str)>) -> u16 {
    let (body, pairs) = form(params);
    let mut req = server
        .client()
        .post(server.url("/api/v1/twilio/support"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some((auth_token, url)) = signed {
        req = req.header("X-Twilio-Signature", signature(auth_token, url, &pairs));
    }
    req.send().unwrap().status().as_u16()
}

#[test]
fn unsigned_or_wrongly_signed_callbacks_are_refused() {
    let server = start("https://deskbridge.example.com/pbx");
    let url = "https://deskbridge.example.com/pbx/api/v1/twilio/support";
    let params = [
        ("CallSid", "CA-refused"),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("From", "+14155550100"),
    ];
    assert_eq!(post(&server, &params, None), 403);
    assert_eq!(post(&server, &params, Some(("54321", url))), 403);
    let other_url = "https://deskbridge.example.com/api/v1/twilio/support";
    assert_eq!(post(&server, &params, Some((AUTH_TOKEN, other_url))), 403);
    let (status, _) = server.get("/api/v1/calls/CA-refused");
    assert_eq!(status, 404, "nothing was recorded");
    // Signed right, with or without the default port: accepted.
    assert_eq!(post(&server, &params, Some((AUTH_TOKEN, url))), 204);
    let with_port = "https://deskbridge.example.com:443/pbx/api/v1/twilio/support";
    let mut again = params.to_vec();
    again[1] = ("CallStatus", "in-progress");
    assert_eq!(post(&server, &again, Some((AUTH_TOKEN, with_port))), 204);
}

#[test]
fn a_call_its_agent_leg_and_its_recording_land_as_one_call() {
    let server = start("http://127.0.0.1:8443");
    let url = "http://127.0.0.1:8443/api/v1/twilio/support";
    let signed = Some((AUTH_TOKEN, url));
    let caller = |status: &'static str, at: &'static str| {
        vec![
            ("CallSid", "CA100"),
            ("AccountSid", "AC1"),
            ("From", "+14155550123"),
            ("To", "+14155550199"),
            ("Direction", "inbound"),
            ("CallStatus", status),
            ("Timestamp", at),
        ]
    };
    assert_eq!(
        post(
            &server,
            &caller("ringing", "Mon, 23 Nov 2026 10:00:00 +0000"),
            signed
        ),
        204
    );
    // Twilio answers the caller's leg to run the TwiML: not an agent.
    assert_eq!(
        post(
            &server,
            &caller("in-progress", "Mon, 23 Nov 2026 10:00:01 +0000"),
            signed
        ),
        204
    );
    let agent_leg = [
        ("CallSid", "CA101"),
        ("ParentCallSid", "CA100"),
        ("Direction", "outbound-dial"),
        ("From", "+14155550123"),
        ("To", "client:ann"),
        ("CallStatus", "in-progress"),
        ("Timestamp", "Mon, 23 Nov 2026 10:00:05 +0000"),
    ];
    assert_eq!(post(&server, &agent_leg, signed), 204);
    let mut done = caller("completed", "Mon, 23 Nov 2026 10:01:20 +0000");
    done.push(("CallDuration", "80"));
    assert_eq!(post(&server, &done, signed), 204);
    let recording = [
        ("CallSid", "CA100"),
        ("RecordingSid", "RE1"),
        (
            "RecordingUrl",
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
        ),
        ("RecordingStatus", "completed"),
    ];
    assert_eq!(post(&server, &recording, signed), 204);

    let call = server.wait_call("CA100", |c| {
        c["sync"] == "done" && c["recording_url"].is_string()
    });
    assert_eq!(call["outcome"], "answered", "{call}");
    assert_eq!(
        call["answered_at"], "2026-11-23T10:00:05Z",
        "the agent's answer"
    );
    assert_eq!(call["assignee"], "ann@acme.com", "{call}");
    let ticket = call["ticket_id"].as_str().expect("a ticket");
    let comments = server.comments(ticket);
    let text: String = comments
        .iter()
        .map(|c| c["body"].as_str().unwrap_or_default())
        .collect();
    assert!(text.contains("Talk time: 1m 15s"), "{text}");
    assert!(text.contains("Recordings/RE1"), "{text}");

    // A missed call: the caller's leg completes (Twilio answered it to play the
    // TwiML) and no agent leg ever answers.
    for status in ["ringing", "in-progress", "completed"] {
        let missed = [
            ("CallSid", "CA200"),
            ("From", "+14155550124"),
            ("To", "+14155550199"),
            ("Direction", "inbound"),
            ("CallStatus", status),
            ("CallDuration", "30"),
        ];
        assert_eq!(post(&server, &missed, signed), 204);
    }
    assert_eq!(server.wait_synced("CA200")["outcome"], "missed");

    // The agent's leg may report before anything of the caller's leg.
    let early = [
        ("CallSid", "CA301"),
        ("ParentCallSid", "CA300"),
        ("Direction", "outbound-dial"),
        ("To", "client:ann"),
        ("CallStatus", "in-progress"),
    ];
    assert_eq!(post(&server, &early, signed), 204);
    let (_, call) = server.get("/api/v1/calls/CA300");
    assert_eq!(call["state"], "answered", "{call}");
}

/// A call status callback as Twilio documents it ("Voice Webhooks", status
/// callback parameters: https://www.twilio.com/docs/usage/webhooks/voice-webhooks):
/// the request parameters of every voice webhook (`CallSid`, `AccountSid`,
/// `From`, `To`, `CallStatus`, `ApiVersion`, `Direction`, `CallerName`,
/// `ForwardedFrom`, `ParentCallSid` when a leg has one) plus the status
/// callback's own (`CallbackSource`, `Timestamp`, `SequenceNumber`, and on
/// `completed` `CallDuration`, and `RecordingUrl`, `RecordingSid`,
/// `RecordingDuration` when the call was recorded).
fn documented_status_callback<'a>(
    sid: &'a str,
    from: &'a str,
    status: &'a str,
    sequence: &'a str,
    at: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("AccountSid", "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", sid),
        ("CallStatus", status),
        ("CallbackSource", "call-progress-events"),
        ("Called", "+14155550199"),
        ("Caller", from),
        ("CallerName", ""),
        ("Direction", "inbound"),
        ("ForwardedFrom", ""),
        ("From", from),
        ("SequenceNumber", sequence),
        ("Timestamp", at),
        ("To", "+14155550199"),
    ]
}

#[test]
fn a_recorded_calls_completed_callback_ends_the_call_and_keeps_its_recording() {
    let server = start("https://deskbridge.example.com");
    let url = "https://deskbridge.example.com/api/v1/twilio/support";
    let signed = Some((AUTH_TOKEN, url));
    let ringing = documented_status_callback(
        "CA400",
        "+14155550140",
        "ringing",
        "0",
        "Mon, 23 Nov 2026 11:00:00 +0000",
    );
    assert_eq!(post(&server, &ringing, signed), 204);
    let agent_leg = [
        ("AccountSid", "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", "CA401"),
        ("ParentCallSid", "CA400"),
        ("CallStatus", "in-progress"),
        ("CallbackSource", "call-progress-events"),
        ("Direction", "outbound-dial"),
        ("From", "+14155550140"),
        ("To", "client:ann"),
        ("SequenceNumber", "2"),
        ("Timestamp", "Mon, 23 Nov 2026 11:00:04 +0000"),
    ];
    assert_eq!(post(&server, &agent_leg, signed), 204);
    // The call was recorded: Twilio's `completed` carries the recording.
    let mut completed = documented_status_callback(
        "CA400",
        "+14155550140",
        "completed",
        "3",
        "Mon, 23 Nov 2026 11:02:00 +0000",
    );
    completed.extend([
        ("CallDuration", "120"),
        (
            "RecordingUrl",
            "https://api.twilio.com/2010-04-01/Accounts/ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX/Recordings/RE400",
        ),
        ("RecordingSid", "RE400"),
        ("RecordingDuration", "115"),
    ]);
    assert_eq!(post(&server, &completed, signed), 204);

    let call = server.wait_synced("CA400");
    assert_eq!(call["state"], "ended", "{call}");
    assert_eq!(call["outcome"], "answered", "{call}");
    assert_eq!(call["sync"], "done", "{call}");
    assert!(
        call["recording_url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/Recordings/RE400")),
        "the recording is kept: {call}"
    );
    let ticket = call["ticket_id"].as_str().expect("a ticket");
    let text: String = server
        .comments(ticket)
        .iter()
        .map(|c| c["body"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(text.contains("Recordings/RE400"), "{text}");
}

#[test]
fn an_inbound_call_no_agent_leg_reported_ends_missed_when_its_parent_completes() {
    let server = start("https://deskbridge.example.com");
    let url = "https://deskbridge.example.com/api/v1/twilio/support";
    let signed = Some((AUTH_TOKEN, url));
    // A number's status callback with Twilio's default events: `completed`
    // only. The TwiML answered the parent leg (to play a message and record
    // it); no `<Dial>` leg was ever reported.
    let mut completed = documented_status_callback(
        "CA500",
        "+14155550150",
        "completed",
        "0",
        "Mon, 23 Nov 2026 12:00:30 +0000",
    );
    completed.extend([
        ("CallDuration", "30"),
        (
            "RecordingUrl",
            "https://api.twilio.com/2010-04-01/Accounts/ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX/Recordings/RE500",
        ),
        ("RecordingSid", "RE500"),
        ("RecordingDuration", "25"),
    ]);
    assert_eq!(post(&server, &completed, signed), 204);
    let call = server.wait_synced("CA500");
    assert_eq!(call["state"], "ended", "{call}");
    assert_eq!(call["outcome"], "missed", "{call}");
    assert_eq!(call["sync"], "done", "{call}");
    assert_eq!(call["direction"], "inbound", "{call}");

    // The same without a recording, with the ringing callback first.
    for (status, sequence) in [("ringing", "0"), ("in-progress", "1"), ("completed", "2")] {
        let mut p = documented_status_callback(
            "CA501",
            "+14155550151",
            status,
            sequence,
            "Mon, 23 Nov 2026 12:05:00 +0000",
        );
        if status == "completed" {
            p.push(("CallDuration", "12"));
        }
        assert_eq!(post(&server, &p, signed), 204);
    }
    let call = server.wait_synced("CA501");
    assert_eq!(
        (call["state"].as_str(), call["outcome"].as_str()),
        (Some("ended"), Some("missed")),
        "{call}"
    );
}

/// An unsigned callback gets one answer whether the group exists or not: a
/// prober cannot learn the groups' names.
#[test]
fn unsigned_callbacks_to_a_group_and_to_no_group_get_the_same_answer() {
    let server = start("https://deskbridge.example.com");
    let (body, _) = form(&[
        ("CallSid", "CA-probe"),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
    ]);
    let answer = |group: &str| {
        let resp = server
            .client()
            .post(server.url(&format!("/api/v1/twilio/{group}")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.text().unwrap_or_default())
    };
    let existing = answer("support");
    let unknown = answer("no-such-group");
    assert_eq!(existing.0, 403, "{existing:?}");
    assert_eq!(existing, unknown, "the answers tell the groups apart");
}
