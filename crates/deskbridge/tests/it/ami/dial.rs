//! Click-to-call through Asterisk (issue 27, point 1): an agent's dial is an
//! async `Originate` of their phone's channel, and the events Asterisk then
//! sends come back to deskbridge's call. The scripted PBX answers as
//! Asterisk's `main/manager.c` does (`Originate successfully queued`, then
//! `OriginateResponse`; a `ChannelId` becomes the first leg's `Uniqueid` and so
//! the call's `Linkedid`), and each failure as `pbx_dial_reason` reports it
//! (`Reason` 5 busy, 3 no answer, 8 congestion).

use serde_json::{Value, json};

use super::{AmiConn, ScriptedAmi, ann, field, hangup};
use crate::common::TestApp;

const CUSTOMER: &str = "+14155550123";
fn app_for(ami: &ScriptedAmi) -> TestApp {
    super::ann_app(ami, "")
}

/// Ann dials `body` on another thread (the PBX answers her request on this
/// one); the Originate the PBX got, and her answer.
fn dial(app: &TestApp, pbx: &mut AmiConn, body: Value) -> (Vec<(String, String)>, (u16, Value)) {
    let ann = ann(app);
    std::thread::scope(|scope| {
        let asked = scope.spawn(|| ann.send("POST", "/api/v1/agent/dial", Some(&body)));
        let action = pbx.read_action();
        assert_eq!(field(&action, "Action"), "Originate", "{action:?}");
        pbx.write(&format!(
            "Response: Success\r\nActionID: {}\r\nMessage: Originate successfully queued\r\n\r\n",
            field(&action, "ActionID")
        ));
        (action, asked.join().expect("the dial"))
    })
}

#[test]
fn a_dial_from_a_ticket_rings_ann_then_the_customer_and_is_logged_on_that_ticket() {
    let ami = ScriptedAmi::bind();
    let app = app_for(&ami);
    let mut pbx = ami.accept(&[]);
    let (_, contact) = app.send(
        "POST",
        "/api/v1/crm/contacts",
        Some(&json!({"name": "Grace Hopper", "phones": [CUSTOMER]})),
    );
    let (_, ticket) = app.send(
        "POST",
        "/api/v1/crm/tickets",
        Some(&json!({"subject": "Printer", "requester_id": contact["id"], "status": "open"})),
    );
    let ticket_id = ticket["id"].to_string().trim_matches('"').to_string();
    let (action, (status, answer)) = dial(
        &app,
        &mut pbx,
        json!({"to": "(415) 555-0123", "ticket_id": ticket_id, "log": "ticket"}),
    );
    assert_eq!(status, 202, "{answer}");
    let call_id = answer["call_id"].as_str().expect("a call id").to_string();
    // Ann's phone, then the customer at the group's caller-id rule's number.
    assert_eq!(field(&action, "Channel"), "PJSIP/101");
    assert_eq!(field(&action, "Context"), "from-internal");
    assert_eq!(field(&action, "Exten"), CUSTOMER);
    assert_eq!(field(&action, "CallerID"), "+14155550111");
    assert_eq!(field(&action, "Async"), "true");
    assert_eq!(field(&action, "ChannelId"), call_id);
    assert_eq!(
        field(&action, "Variable"),
        format!("DESKBRIDGE_CALL_ID={call_id}")
    );
    assert_eq!(answer["caller_id"], "+14155550111");
    // Asterisk: Ann's channel (Uniqueid = ChannelId), she answers, the
    // dialplan dials the customer, they talk, both hang up.
    let trunk = format!("{call_id}-trunk");
    for block in [
        format!(
            "Event: Newchannel
            Channel: PJSIP/101-00000021
            CallerIDNum: 101
            Exten: {CUSTOMER}
            Context: from-internal
            Uniqueid: {call_id}
            Linkedid: {call_id}"
        ),
        format!(
            "Event: OriginateResponse
            Privilege: call,all
            ActionID: {}
            Response: Success
            Channel: PJSIP/101-00000021
            Context: from-internal
            Exten: {CUSTOMER}
            Reason: 4
            Uniqueid: {call_id}
            CallerIDNum: +14155550111
            CallerIDName: <unknown>",
            field(&action, "ActionID")
        ),
        format!(
            "Event: Newchannel
            Channel: PJSIP/trunk-00000022
            Uniqueid: {trunk}
            Linkedid: {call_id}"
        ),
        format!(
            "Event: DialBegin
            Channel: PJSIP/101-00000021
            Uniqueid: {call_id}
            Linkedid: {call_id}
            DestChannel: PJSIP/trunk-00000022
            DestUniqueid: {trunk}
            DestLinkedid: {call_id}
            DialString: trunk/{CUSTOMER}"
        ),
        format!(
            "Event: DialEnd
            Channel: PJSIP/101-00000021
            Uniqueid: {call_id}
            Linkedid: {call_id}
            DestChannel: PJSIP/trunk-00000022
            DestUniqueid: {trunk}
            DestLinkedid: {call_id}
            DialStatus: ANSWER"
        ),
        hangup("PJSIP/trunk-00000022", &trunk, &call_id, 16),
        hangup("PJSIP/101-00000021", &call_id, &call_id, 16),
    ] {
        pbx.play(&block);
    }
    let call = app.wait_call(&call_id, |c| c["state"] == "ended" && c["sync"] == "done");
    assert_eq!(call["direction"], "outbound");
    assert_eq!(call["to"], CUSTOMER);
    assert_eq!(call["from"], "+14155550111");
    assert_eq!(call["outcome"], "answered");
    assert_eq!(call["agent"]["email"], "ann@acme.com");
    assert_eq!(call["ticket_id"].as_str(), Some(ticket_id.as_str()));
    assert_eq!(call["contact_id"], contact["id"]);
    let comments = app.comments(&ticket_id);
    assert!(
        comments.iter().any(|c| {
            let body = c["body"].as_str().unwrap_or_default();
            body.contains("Outbound call answered") && body.contains(&format!("To: {CUSTOMER}"))
        }),
        "{comments:?}"
    );
}

#[test]
fn each_failure_of_anns_phone_ends_the_dial_and_says_why() {
    let ami = ScriptedAmi::bind();
    let app = app_for(&ami);
    let mut pbx = ami.accept(&[]);
    for (reason, said, outcome) in [
        ("5", "busy", "busy"),
        ("3", "no answer", "missed"),
        ("8", "congestion", "failed"),
    ] {
        let (action, (status, answer)) =
            dial(&app, &mut pbx, json!({"to": CUSTOMER, "log": "new_ticket"}));
        assert_eq!(status, 202, "{answer}");
        let call_id = answer["call_id"].as_str().expect("a call id").to_string();
        // Asterisk 16-22's OriginateResponse for a failed first leg: Channel
        // as requested, Uniqueid the ChannelId.
        pbx.play(&format!(
            "Event: OriginateResponse
            Privilege: call,all
            ActionID: {}
            Response: Failure
            Channel: PJSIP/101
            Context: from-internal
            Exten: {CUSTOMER}
            Reason: {reason}
            Uniqueid: {call_id}
            CallerIDNum: +14155550111
            CallerIDName: <unknown>",
            field(&action, "ActionID")
        ));
        // Ann reads it on her call.
        let call = app.wait_call(&call_id, |c| c["state"] == "ended");
        let (status, mine) = ann(&app).send("GET", &format!("/api/v1/calls/{call_id}"), None);
        assert_eq!(status, 200, "{mine}");
        assert_eq!(mine["attributes"]["dial_failure"], said, "{mine}");
        assert_eq!(call["outcome"], outcome, "Reason {reason}: {call}");
    }
}

#[test]
fn a_dial_the_pbx_refuses_is_answered_with_its_message_and_ends() {
    let ami = ScriptedAmi::bind();
    let app = app_for(&ami);
    let mut pbx = ami.accept(&[]);
    let ann = ann(&app);
    let (status, answer) = std::thread::scope(|scope| {
        let asked =
            scope.spawn(|| ann.send("POST", "/api/v1/agent/dial", Some(&json!({"to": CUSTOMER}))));
        let action = pbx.read_action();
        // Asterisk checks the extension before queueing an async originate.
        pbx.write(&format!(
            "Response: Error\r\nActionID: {}\r\nMessage: Extension does not exist.\r\n\r\n",
            field(&action, "ActionID")
        ));
        asked.join().expect("the dial")
    });
    assert_eq!(status, 502, "{answer}");
    assert_eq!(answer["error"], "dial_refused");
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("Extension does not exist.")),
        "{answer}"
    );
    let (_, calls) = ann.send("GET", "/api/v1/agent/calls", None);
    let call = &calls["calls"][0];
    assert_eq!(call["state"], "ended", "{calls}");
    assert_eq!(call["outcome"], "failed");
    // What she may not dial is refused before the PBX hears of it.
    let (status, bad) = ann.send(
        "POST",
        "/api/v1/agent/dial",
        Some(&json!({"to": "call me", "log": "new_ticket"})),
    );
    assert_eq!((status, bad["field"].as_str()), (422, Some("to")), "{bad}");
    let (status, bad) = ann.send(
        "POST",
        "/api/v1/agent/dial",
        Some(&json!({"to": CUSTOMER, "log": "ticket"})),
    );
    assert_eq!(
        (status, bad["field"].as_str()),
        (422, Some("ticket_id")),
        "{bad}"
    );
}

/// A PBX on which every dial goes through: for each `Originate` it queues the
/// call (as `main/manager.c` answers), rings the agent's channel (its
/// `Uniqueid` the `ChannelId`), reports it answered (`OriginateResponse`,
/// `Reason: 4`), dials the customer, who answers, and both hang up; and every
/// `QueuePause` succeeds (reported as `QueueMemberPause`). For the browser
/// test; it stops when deskbridge closes the connection.
pub(crate) fn answering_every_dial(ami: ScriptedAmi) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut pbx = ami.accept(&[]);
        while let Some(action) = pbx.next_action() {
            if field(&action, "Action") == "QueuePause" {
                super::pause::pause_succeeds(&mut pbx, &action);
                continue;
            }
            if field(&action, "Action") != "Originate" {
                continue;
            }
            let id = field(&action, "ActionID");
            let call = field(&action, "ChannelId");
            let exten = field(&action, "Exten");
            let agent = format!("{}-00000031", field(&action, "Channel"));
            let trunk = format!("{call}-trunk");
            pbx.write(&format!(
                "Response: Success\r\nActionID: {id}\r\nMessage: Originate successfully queued\r\n\r\n"
            ));
            for block in [
                format!(
                    "Event: Newchannel
                    Channel: {agent}
                    Exten: {exten}
                    Uniqueid: {call}
                    Linkedid: {call}"
                ),
                format!(
                    "Event: OriginateResponse
                    ActionID: {id}
                    Response: Success
                    Channel: {agent}
                    Reason: 4
                    Uniqueid: {call}"
                ),
                format!(
                    "Event: Newchannel
                    Channel: PJSIP/trunk-00000032
                    Uniqueid: {trunk}
                    Linkedid: {call}"
                ),
                format!(
                    "Event: DialEnd
                    Channel: {agent}
                    Uniqueid: {call}
                    Linkedid: {call}
                    DestChannel: PJSIP/trunk-00000032
                    DestUniqueid: {trunk}
                    DestLinkedid: {call}
                    DialStatus: ANSWER"
                ),
                hangup("PJSIP/trunk-00000032", &trunk, &call, 16),
                hangup(&agent, &call, &call, 16),
            ] {
                pbx.play(&block);
            }
        }
    })
}
