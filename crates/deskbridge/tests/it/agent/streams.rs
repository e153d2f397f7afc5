//! The agent's live stream: their calls only, pops, withdrawn cards, sign-out,
//! stored ids it cannot send, and the cap on streams per session.

use super::*;

/// The agent's stream opened with the browser's session: its lines, read for
/// at most 20 s.
fn open_stream(
    app: &TestApp,
    browser: &AgentBrowser<'_>,
) -> std::io::Lines<std::io::BufReader<reqwest::blocking::Response>> {
    use std::io::BufRead;
    let resp = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .expect("client")
        .get(app.url("/api/v1/agent/stream"))
        .header("cookie", &browser.cookie)
        .send()
        .expect("stream");
    assert_eq!(resp.status().as_u16(), 200);
    std::io::BufReader::new(resp).lines()
}

/// The stream's events (`event:` name and `data:` JSON), read until `done`
/// says stop, or the stream's 20 s are up.
pub(crate) fn read_stream(
    app: &TestApp,
    browser: &AgentBrowser<'_>,
    after_connect: impl FnOnce(),
    done: impl Fn(&[(String, Value)]) -> bool,
) -> Vec<(String, Value)> {
    let mut lines = open_stream(app, browser);
    let mut events = Vec::new();
    let mut name = String::new();
    let mut connected = Some(after_connect);
    while let Some(Ok(line)) = lines.next() {
        if let Some(n) = line.strip_prefix("event:") {
            name = n.trim().to_string();
        } else if let Some(data) = line.strip_prefix("data:") {
            let value: Value = serde_json::from_str(data.trim()).unwrap_or(Value::Null);
            events.push((name.clone(), value));
            if name == "hello"
                && let Some(f) = connected.take()
            {
                f();
            }
            if done(&events) {
                break;
            }
        }
    }
    events
}

#[test]
fn an_agents_stream_carries_their_calls_only() {
    let app = app("");
    let ann = ann(&app);
    let events = read_stream(
        &app,
        &ann,
        || {
            // Bob's call first, then Ann's.
            let (status, _) = app.post_events(&answered_now(
                "st-bob",
                "+14155550170",
                "bob@acme.com",
                json!({}),
            ));
            assert_eq!(status, 202);
            let (status, _) = app.post_events(&answered_now(
                "st-ann",
                "+14155550171",
                "ann@acme.com",
                json!({}),
            ));
            assert_eq!(status, 202);
        },
        |events| {
            events
                .iter()
                .any(|(name, data)| name == "call" && data["call_id"] == "st-ann")
        },
    );
    assert_eq!(events[0].0, "hello");
    assert_eq!(events[0].1["agent"], "ann@acme.com");
    let calls: Vec<&str> = events
        .iter()
        .filter(|(name, _)| name == "call")
        .map(|(_, data)| s(&data["call_id"]))
        .collect();
    assert!(calls.contains(&"st-ann"), "{events:?}");
    assert!(!calls.contains(&"st-bob"), "Ann saw Bob's call: {events:?}");
    // Signed out: no stream.
    assert_eq!(
        app.send_anonymous("GET", "/api/v1/agent/stream", None).0,
        401
    );
}

#[test]
fn a_stream_open_when_its_agent_signs_out_ends_without_another_event() {
    let app = app("");
    let ann = ann(&app);
    let events = read_stream(
        &app,
        &ann,
        || {
            let (status, _) = ann.send("POST", "/api/v1/agent/logout", None);
            assert_eq!(status, 200);
            let (status, _) = app.post_events(&answered_now(
                "st-out",
                "+14155550172",
                "ann@acme.com",
                json!({}),
            ));
            assert_eq!(status, 202);
        },
        |_| false,
    );
    let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["hello"], "{events:?}");
}

#[test]
fn a_pop_reaches_only_the_agent_it_was_made_for_with_the_callers_card() {
    let app = app("pop_on = \"ringing\"\npop_action = \"contact_by_ani\"");
    let paula = create(
        &app,
        "/api/v1/crm/contacts",
        json!({"name": "Paula Popped", "phones": ["+14155550180"]}),
    );
    let ringing = |call_id: &str, from: &str, agent: &str| {
        json!([{"id": format!("{call_id}-1"), "call_id": call_id, "type": "ringing",
                "direction": "inbound", "from": from, "to": "+14155550199",
                "agent": {"email": agent}}])
    };
    let bob = bob(&app);
    let ann = ann(&app);
    let bob_events = std::thread::scope(|scope| {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let bob_stream = scope.spawn(|| {
            read_stream(
                &app,
                &bob,
                move || ready_tx.send(()).expect("ready"),
                |events| events.iter().any(|(name, _)| name == "pop"),
            )
        });
        ready_rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("Bob's stream opened within 30 s");
        let ann_events = read_stream(
            &app,
            &ann,
            || {
                let (status, _) =
                    app.post_events(&ringing("pop-ann", "+14155550180", "ann@acme.com"));
                assert_eq!(status, 202);
            },
            |events| events.iter().any(|(name, _)| name == "pop"),
        );
        let (_, pop) = ann_events
            .iter()
            .find(|(name, _)| name == "pop")
            .expect("Ann's pop");
        assert_eq!(pop["call"]["call_id"], "pop-ann");
        assert_eq!(pop["pop"]["agent"], "ann@acme.com");
        assert_eq!(pop["pop"]["contact_id"], paula["id"]);
        assert_eq!(pop["card"]["name"], "Paula Popped");
        assert_eq!(pop["card"]["phone"], "+14155550180");
        // Then a call for Bob: the first pop Bob gets is his own.
        let (status, _) = app.post_events(&ringing("pop-bob", "+14155550181", "bob@acme.com"));
        assert_eq!(status, 202);
        bob_stream.join().expect("Bob's stream")
    });
    let pops: Vec<&Value> = bob_events
        .iter()
        .filter(|(name, _)| name == "pop")
        .map(|(_, data)| data)
        .collect();
    assert_eq!(pops[0]["call"]["call_id"], "pop-bob", "{bob_events:?}");
    assert!(
        !bob_events
            .iter()
            .any(|(_, data)| data["call_id"] == "pop-ann" || data["call"]["call_id"] == "pop-ann"),
        "Bob saw Ann's call: {bob_events:?}"
    );
}

/// A queue call rings Ann and Bob and pops on both screens; Bob answers, and
/// Ann's card is withdrawn at once, saying who took it. Bob keeps his.
#[test]
fn a_pop_is_withdrawn_from_the_other_agents_when_one_answers() {
    let app = app("pop_on = \"ringing\"\npop_action = \"contact_by_ani\"");
    let ann = ann(&app);
    let ring = json!([
        {"id": "ra-1", "call_id": "ra", "type": "ringing", "direction": "inbound",
         "from": "+14155550185", "to": "+14155550199", "agent": {"email": "ann@acme.com"}},
        {"id": "ra-2", "call_id": "ra", "type": "ringing", "agent": {"email": "bob@acme.com"}}
    ]);
    let events = std::thread::scope(|scope| {
        let answer = scope.spawn(|| {
            app.wait_call("ra", |c| c["pops"].as_array().is_some_and(|p| p.len() == 2));
            let answered = json!([{"id": "ra-3", "call_id": "ra", "type": "answered",
                                   "agent": {"email": "bob@acme.com"}}]);
            assert_eq!(app.post_events(&answered).0, 202);
        });
        let events = read_stream(
            &app,
            &ann,
            || assert_eq!(app.post_events(&ring).0, 202),
            |events| events.iter().any(|(name, _)| name == "withdrawn"),
        );
        answer.join().expect("Bob answered");
        events
    });
    let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
    let pop = names.iter().position(|n| *n == "pop").expect("Ann's pop");
    let gone = names
        .iter()
        .position(|n| *n == "withdrawn")
        .expect("withdrawn");
    assert!(pop < gone, "{names:?}");
    let (_, withdrawn) = &events[gone];
    assert_eq!(withdrawn["call_id"], "ra");
    assert_eq!(
        withdrawn["taken_by"],
        json!({"email": "bob@acme.com", "name": "Bob Example"})
    );
}

/// A call of the agent's whose id the stream cannot send as an SSE `id` (LF;
/// stored by an earlier version) does not end the agent's stream.
#[test]
fn a_stored_call_id_with_a_newline_does_not_end_the_agents_stream() {
    let app = app("");
    let bob = app.sign_in(&json!({"token": BOB_TOKEN}));
    let events = read_stream(
        &app,
        &bob,
        || {
            crate::hostile::store_call_with_id(&app, "support", "old\ncall", Some("bob@acme.com"));
            crate::hostile::store_call_with_id(&app, "support", "after-bad", Some("bob@acme.com"));
        },
        |events| {
            events
                .iter()
                .any(|(name, data)| name == "call" && data["call_id"] == "after-bad")
        },
    );
    assert!(
        events
            .iter()
            .any(|(name, data)| name == "call" && data["call_id"] == "after-bad"),
        "the call after the bad id never streamed: {events:?}"
    );
}

/// Issue 25, point 4: 800 streams of one session used to hold 800 connections
/// and read every change 800 times. A session holds at most four: a fifth ends
/// the oldest, which is told `closed` (the page then stops reconnecting), and
/// the four newest go on carrying the agent's calls.
#[test]
fn a_fifth_stream_of_one_session_ends_the_oldest() {
    let app = app("");
    let ann = ann(&app);
    let open = || open_stream(&app, &ann);
    std::thread::scope(|scope| {
        let (listening, heard) = std::sync::mpsc::channel();
        let oldest = scope.spawn(|| {
            read_stream(
                &app,
                &ann,
                move || listening.send(()).expect("send"),
                |_| false,
            )
        });
        heard
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("the first stream says hello");
        let mut newer: Vec<_> = (0..4).map(|_| open()).collect();
        let events = oldest.join().expect("the oldest stream's reader");
        assert_eq!(
            events.last(),
            Some(&("closed".to_string(), json!({"reason": "too_many_streams"}))),
            "{events:?}"
        );
        // The newest still carry Ann's calls.
        let (status, _) = app.post_events(&answered_now(
            "cap-ann",
            "+14155550172",
            "ann@acme.com",
            json!({}),
        ));
        assert_eq!(status, 202);
        let last = newer.last_mut().expect("a stream");
        let heard = last
            .by_ref()
            .map_while(Result::ok)
            .any(|line| line.contains("\"call_id\":\"cap-ann\""));
        assert!(heard, "the newest stream did not carry Ann's call");
    });
}
