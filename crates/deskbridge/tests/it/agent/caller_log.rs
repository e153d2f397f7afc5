//! The caller log's filters, done flags and purge.

use super::*;

fn missed_now(app: &TestApp, call_id: &str, from: &str, agent: &str, queue: &str) {
    let (status, body) = app.post_events(&json!([
        {"id": format!("{call_id}-1"), "call_id": call_id, "type": "ringing",
         "direction": "inbound", "from": from, "to": "+14155550199", "queue": queue,
         "agent": {"email": agent}},
        {"id": format!("{call_id}-2"), "call_id": call_id, "type": "ended",
         "reason": "no_answer"},
    ]));
    assert_eq!(status, 202, "{body}");
}

#[test]
fn the_caller_log_filters_by_agent_queue_and_missed_and_keeps_missed_calls_until_done() {
    let app = app("");
    let (status, _) = app.post_events(&answered_now(
        "log-a",
        "+14155550130",
        "ann@acme.com",
        json!({}),
    ));
    assert_eq!(status, 202);
    end_now(&app, "log-a");
    missed_now(&app, "log-m1", "+14155550131", "ann@acme.com", "sales");
    missed_now(&app, "log-m2", "+14155550132", "bob@acme.com", "support");
    missed_now(&app, "log-m3", "+14155550133", "ann@acme.com", "support");
    for id in ["log-a", "log-m1", "log-m2", "log-m3"] {
        app.wait_synced(id);
    }
    let log = |q: &str| {
        let (status, body) = app.get(&format!("/api/v1/calls{q}"));
        assert_eq!(status, 200, "{q}: {body}");
        let mut found = ids(&body);
        found.sort();
        found
    };
    assert_eq!(log("?missed=true"), ["log-m1", "log-m2", "log-m3"]);
    assert_eq!(log("?missed=false"), ["log-a"]);
    assert_eq!(log("?queue=sales"), ["log-m1"]);
    assert_eq!(log("?agent=ann@acme.com"), ["log-a", "log-m1", "log-m3"]);
    assert_eq!(
        log("?agent=ann@acme.com&missed=true&queue=support"),
        ["log-m3"]
    );
    assert_eq!(log("?phone=4155550132"), ["log-m2"]);
    let (status, err) = app.get("/api/v1/calls?missed=maybe");
    assert_eq!((status, err["field"].clone()), (422, json!("missed")));

    // Ann marks one of hers done; Bob's is not hers to mark.
    let ann = ann(&app);
    let (status, body) = ann.send("POST", "/api/v1/calls/log-m1/done", None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(ann.send("POST", "/api/v1/calls/log-m2/done", None).0, 404);
    // An answered call is no missed call to mark.
    assert_eq!(app.send("POST", "/api/v1/calls/log-a/done", None).0, 404);
    assert_eq!(log("?missed=true&done=false"), ["log-m2", "log-m3"]);
    assert_eq!(log("?done=true"), ["log-m1"]);
    let (_, one) = app.get("/api/v1/calls/log-m1");
    assert!(one["done_at"].is_string(), "{one}");
    // Many at once, by the group's token; marking twice is no error.
    let (status, body) = app.send(
        "POST",
        "/api/v1/calls/done",
        Some(&json!({"call_ids": ["log-m1", "log-m2", "log-m3", "nope"]})),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["not_found"], json!(["nope"]));
    assert_eq!(log("?missed=true&done=false"), Vec::<String>::new());
    // The agent's own log, newest first.
    assert_eq!(ann.call_ids("?missed=true"), ["log-m3", "log-m1"]);
}

#[test]
fn calls_older_than_the_retention_are_purged() {
    let app = app("");
    let (status, body) = app.post_events(&json!([
        {"id": "old-1", "call_id": "old", "type": "ringing", "direction": "inbound",
         "from": "+14155550140", "at": "2026-01-02T10:00:00Z"},
        {"id": "old-2", "call_id": "old", "type": "ended", "reason": "no_answer",
         "at": "2026-01-02T10:00:30Z"},
    ]));
    assert_eq!(status, 202, "{body}");
    missed_now(&app, "recent", "+14155550141", "ann@acme.com", "support");
    app.wait_synced("old");
    app.wait_synced("recent");
    let retention = app.state().agent_page.call_log_ttl;
    assert_eq!(retention.as_secs(), 90 * 86_400, "the default: 90 days");
    let cutoff = chrono::Utc::now() - chrono::Duration::from_std(retention).expect("fits");
    let purged = app
        .block_on(app.state().store.purge_calls(cutoff))
        .expect("purge");
    assert_eq!(purged, 1);
    assert_eq!(app.get("/api/v1/calls/old").0, 404);
    assert_eq!(app.get("/api/v1/calls/recent").0, 200);
    // Again (another instance): nothing left to do.
    let again = app
        .block_on(app.state().store.purge_calls(cutoff))
        .expect("purge");
    assert_eq!(again, 0);
}
