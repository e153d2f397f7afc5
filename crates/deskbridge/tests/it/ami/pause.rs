//! Pause and resume through Asterisk (issue 27, points 3 and 4): an agent's
//! pause is a `QueuePause` of their queue member, and the agent's state
//! follows what the PBX reports, whoever paused them. The scripted PBX
//! answers as `app_queue.c`'s `manager_pause_queue_member` does ("Interface
//! paused successfully", or `Response: Error` / "Interface not found") and
//! reports each pause as `QueueMemberPause`, once per queue the member is in
//! (the fields of Asterisk 13's events as staskobzar/goami2 captured them).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{AmiConn, ScriptedAmi, ann, field};
use crate::common::{TestApp, WAIT};

fn app_for(ami: &ScriptedAmi, group_keys: &str) -> TestApp {
    super::ann_app(ami, group_keys)
}

/// `QueueMemberPause` for Ann's member in each of her two queues.
fn member_paused(pbx: &mut AmiConn, interface: &str, paused: bool, reason: &str) {
    for queue in ["support", "sales"] {
        pbx.play(&format!(
            "Event: QueueMemberPause
            Privilege: agent,all
            Queue: {queue}
            MemberName: Ann Example
            Interface: {interface}
            StateInterface: PJSIP/101
            Membership: static
            Penalty: 0
            CallsTaken: 2
            LastCall: 0
            InCall: 0
            Status: 1
            Paused: {}
            PausedReason: {reason}
            Ringinuse: 0",
            u8::from(paused)
        ));
    }
}

/// Answers a `QueuePause` as Asterisk does when the member exists, then
/// reports the pause.
pub(super) fn pause_succeeds(pbx: &mut AmiConn, action: &[(String, String)]) {
    let paused = field(action, "Paused") == "true";
    let message = match paused {
        true => "Interface paused successfully",
        false => "Interface unpaused successfully",
    };
    pbx.write(&format!(
        "Response: Success\r\nActionID: {}\r\nMessage: {message}\r\n\r\n",
        field(action, "ActionID")
    ));
    member_paused(
        pbx,
        &field(action, "Interface"),
        paused,
        &field(action, "Reason"),
    );
}

/// Ann asks (`path`, `body`) on another thread; the PBX gets the action,
/// which `answer` answers. The action, and her answer.
fn ask(
    app: &TestApp,
    pbx: &mut AmiConn,
    path: &str,
    body: Value,
    answer: impl FnOnce(&mut AmiConn, &[(String, String)]),
) -> (Vec<(String, String)>, (u16, Value)) {
    let ann = ann(app);
    std::thread::scope(|scope| {
        let asked = scope.spawn(|| ann.send("POST", path, Some(&body)));
        let action = pbx.read_action();
        assert_eq!(field(&action, "Action"), "QueuePause", "{action:?}");
        answer(pbx, &action);
        (action, asked.join().expect("the request"))
    })
}

/// Ann's queue state, once `ready` says so.
fn queue_state(app: &TestApp, ready: impl Fn(&Value) -> bool) -> Value {
    let ann = ann(app);
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, state) = ann.get("/api/v1/agent/queue");
        assert_eq!(status, 200, "{state}");
        if ready(&state) {
            return state;
        }
        assert!(Instant::now() < deadline, "never ready: {state}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn paused(state: &Value) -> &Value {
    &state["groups"][0]["paused"]
}

#[test]
fn ann_pauses_for_lunch_resumes_and_the_time_is_counted_per_reason() {
    let ami = ScriptedAmi::bind();
    let app = app_for(&ami, "");
    let mut pbx = ami.accept(&[]);
    let before = queue_state(&app, |_| true);
    assert_eq!(before["groups"][0]["can_pause"], true);
    assert_eq!(before["groups"][0]["reasons"], json!(["Lunch", "Break"]));
    assert!(paused(&before).is_null());
    let (action, (status, state)) = ask(
        &app,
        &mut pbx,
        "/api/v1/agent/pause",
        json!({"reason": "Lunch"}),
        pause_succeeds,
    );
    assert_eq!(status, 200, "{state}");
    assert_eq!(field(&action, "Interface"), "PJSIP/101");
    assert_eq!(field(&action, "Paused"), "true");
    assert_eq!(field(&action, "Reason"), "Lunch");
    assert_eq!(paused(&state)["reason"], "Lunch");
    assert_eq!(paused(&state)["source"], "agent");
    // Paused already: a second pause is refused, naming the reason.
    let (status, err) = ann(&app).send(
        "POST",
        "/api/v1/agent/pause",
        Some(&json!({"reason": "Break"})),
    );
    assert_eq!(
        (status, err["error"].as_str()),
        (409, Some("already_paused"))
    );
    assert!(err["message"].as_str().unwrap().contains("Lunch"), "{err}");
    // The two queues' reports of the pause made one pause.
    std::thread::sleep(Duration::from_millis(1100));
    let (_, (status, state)) = ask(
        &app,
        &mut pbx,
        "/api/v1/agent/resume",
        json!({}),
        pause_succeeds,
    );
    assert_eq!(status, 200, "{state}");
    assert!(paused(&state).is_null(), "{state}");
    let lunch = &state["paused_today"][0];
    assert_eq!(lunch["reason"], "Lunch");
    assert!(lunch["seconds"].as_i64().unwrap() >= 1, "{state}");
    assert_eq!(state["paused_today"].as_array().unwrap().len(), 1);
    // The caller log view shows the same.
    let (_, log) = ann(&app).get("/api/v1/agent/calls");
    assert_eq!(log["paused_today"], state["paused_today"]);
}

#[test]
fn a_pause_made_on_the_phone_shows_and_so_does_its_end() {
    let ami = ScriptedAmi::bind();
    let app = app_for(&ami, "");
    let mut pbx = ami.accept(&[]);
    // FreePBX-style member: a Local channel whose state follows the phone.
    member_paused(&mut pbx, "Local/101@from-queue/n", true, "Break");
    let state = queue_state(&app, |s| !paused(s).is_null());
    assert_eq!(paused(&state)["reason"], "Break");
    assert_eq!(paused(&state)["source"], "phone");
    // The member's next status report says it is no longer paused.
    pbx.play(
        "Event: QueueMemberStatus
        Privilege: agent,all
        Queue: support
        MemberName: Ann Example
        Interface: Local/101@from-queue/n
        StateInterface: PJSIP/101
        Status: 2
        InCall: 1
        Paused: 0
        PausedReason:",
    );
    queue_state(&app, |s| paused(s).is_null());
}

#[test]
fn who_is_paused_is_read_from_the_queues_after_each_login() {
    let ami = ScriptedAmi::bind();
    let app = app_for(&ami, "");
    let _pbx = ami.accept_listing(&[
        "Queue: support\nName: Ann Example\nLocation: PJSIP/101\nStateInterface: PJSIP/101\nMembership: static\nPenalty: 0\nCallsTaken: 0\nLastCall: 0\nInCall: 0\nStatus: 1\nPaused: 1\nPausedReason: Training",
    ]);
    let state = queue_state(&app, |s| !paused(s).is_null());
    assert_eq!(paused(&state)["reason"], "Training");
}

#[test]
fn a_pause_the_pbx_refuses_is_shown_and_not_kept() {
    let ami = ScriptedAmi::bind();
    let app = app_for(&ami, "");
    let mut pbx = ami.accept(&[]);
    let (_, (status, err)) = ask(
        &app,
        &mut pbx,
        "/api/v1/agent/pause",
        json!({"reason": "Break"}),
        |pbx, action| {
            pbx.write(&format!(
                "Response: Error\r\nActionID: {}\r\nMessage: Interface not found\r\n\r\n",
                field(action, "ActionID")
            ));
        },
    );
    assert_eq!(
        (status, err["error"].as_str()),
        (502, Some("pbx_refused")),
        "{err}"
    );
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("Interface not found"),
        "{err}"
    );
    assert!(paused(&queue_state(&app, |_| true)).is_null());
}

/// Ann answers a call of the group and it ends.
fn answered_call(app: &TestApp, call_id: &str) {
    let script = deskbridge_testkit::CallScript::inbound(call_id, "+14155550123")
        .answered_by("ann@acme.com")
        .ends_after(20);
    let (status, body) = app.post_events(&script.events());
    assert_eq!(status, 202, "{body}");
}

#[test]
fn ann_is_paused_for_her_wrap_up_until_she_gives_it_or_the_time_runs_out() {
    let ami = ScriptedAmi::bind();
    let app = app_for(
        &ami,
        "[groups.wrap_up]\ncodes = [\"sale\"]\nseconds = 3\npause_during_wrap_up = true",
    );
    let mut pbx = ami.accept(&[]);
    answered_call(&app, "w1");
    let action = pbx.read_action();
    assert_eq!(field(&action, "Action"), "QueuePause");
    assert_eq!(field(&action, "Paused"), "true");
    assert_eq!(field(&action, "Reason"), "wrap-up");
    pause_succeeds(&mut pbx, &action);
    let state = queue_state(&app, |s| !paused(s).is_null());
    assert_eq!(paused(&state)["source"], "wrap_up");
    assert!(paused(&state)["until"].is_string(), "{state}");
    // Ann wraps up: she is resumed at once.
    let (status, body) = ann(&app).send(
        "POST",
        "/api/v1/calls/w1/wrap_up",
        Some(&json!({"code": "sale"})),
    );
    assert_eq!(status, 200, "{body}");
    let action = pbx.read_action();
    assert_eq!(
        (field(&action, "Action"), field(&action, "Paused")),
        ("QueuePause".to_string(), "false".to_string())
    );
    pause_succeeds(&mut pbx, &action);
    queue_state(&app, |s| paused(s).is_null());
    // The next call she does not wrap up: the pause ends with its time.
    answered_call(&app, "w2");
    let action = pbx.read_action();
    assert_eq!(field(&action, "Paused"), "true");
    let paused_at = Instant::now();
    pause_succeeds(&mut pbx, &action);
    let action = pbx.read_action();
    assert_eq!(field(&action, "Paused"), "false");
    assert!(paused_at.elapsed() >= Duration::from_secs(1), "ended early");
    pause_succeeds(&mut pbx, &action);
    let state = queue_state(&app, |s| paused(s).is_null());
    assert_eq!(state["paused_today"][0]["reason"], "wrap-up");
}
