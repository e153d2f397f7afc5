//! What an agent may see, and agent-mode decisions landing the call on the
//! record the agent chose.

use super::*;

#[test]
fn an_agent_sees_only_their_own_calls() {
    let app = app("");
    for (call, from, agent) in [
        ("ann-1", "+14155550101", "ann@acme.com"),
        ("bob-1", "+14155550102", "bob@acme.com"),
    ] {
        let (status, body) = app.post_events(&answered_now(call, from, agent, json!({})));
        assert_eq!(status, 202, "{body}");
        end_now(&app, call);
        app.wait_synced(call);
    }
    let ann = ann(&app);
    assert_eq!(ann.call_ids(""), ["ann-1"]);
    let (status, log) = ann.get("/api/v1/calls");
    assert_eq!(status, 200);
    assert_eq!(ids(&log), ["ann-1"]);
    assert_eq!(ann.get("/api/v1/calls/ann-1").0, 200);
    let (status, err) = ann.get("/api/v1/calls/bob-1");
    assert_eq!(
        status, 404,
        "another agent's call does not exist for Ann: {err}"
    );
    // Nor can she decide or mark it.
    let (status, _) = ann.send(
        "POST",
        "/api/v1/calls/bob-1/decision",
        Some(&json!({"action": "new_ticket"})),
    );
    assert_eq!(status, 404);
    // The group's token sees both.
    let (_, all) = app.get("/api/v1/calls");
    assert_eq!(ids(&all).len(), 2);
    assert_eq!(bob(&app).call_ids(""), ["bob-1"]);
}

#[test]
fn agent_mode_new_ticket_lands_the_comment_on_a_new_ticket() {
    let app = app("");
    let waiting = waiting_call(&app, "am-new", "+14155550110");
    let ann = ann(&app);
    let (status, decided) = ann.send(
        "POST",
        "/api/v1/calls/am-new/decision",
        Some(&json!({"action": "new_ticket"})),
    );
    assert_eq!(status, 200, "{decided}");
    assert_eq!(decided["agent_decision"]["choice"]["action"], "new_ticket");
    assert_eq!(decided["agent_decision"]["choice"]["by"], "ann@acme.com");
    // The ticket is made at once, not at the deadline.
    let open = app.wait_call("am-new", |c| !c["ticket_id"].is_null());
    assert_eq!(
        open["decisions"]["ticket_rules"],
        json!(["agent_new_ticket"])
    );
    end_now(&app, "am-new");
    let call = app.wait_synced("am-new");
    assert_eq!(call["sync"], "done", "{call}");
    assert_eq!(call["agent_decision"]["timed_out"], false);
    let ticket = app.ticket(s(&call["ticket_id"]));
    assert_eq!(ticket["requester_id"], waiting["contact_id"]);
    let comments = app.comments(s(&call["ticket_id"]));
    assert_eq!(call_comments(&app, &call), 1, "{comments:?}");
    // A second decision is refused: the call is decided.
    let (status, err) = ann.send(
        "POST",
        "/api/v1/calls/am-new/decision",
        Some(&json!({"action": "new_ticket"})),
    );
    assert_eq!(status, 409, "{err}");
}

#[test]
fn agent_mode_attach_lands_the_comment_on_the_chosen_ticket() {
    let app = app("");
    let waiting = waiting_call(&app, "am-attach", "+14155550111");
    let contact = s(&waiting["contact_id"]).to_string();
    let ticket = create(
        &app,
        "/api/v1/crm/tickets",
        json!({"subject": "Broken router", "requester_id": contact, "status": "open"}),
    );
    let closed = create(
        &app,
        "/api/v1/crm/tickets",
        json!({"subject": "Old", "requester_id": contact, "status": "closed"}),
    );
    let ann = ann(&app);
    // A closed ticket, or one that does not exist, is refused, naming the field.
    for id in [s(&closed["id"]), "999999"] {
        let (status, err) = ann.send(
            "POST",
            "/api/v1/calls/am-attach/decision",
            Some(&json!({"action": "attach", "ticket_id": id})),
        );
        assert_eq!(status, 422, "{err}");
        assert_eq!(err["field"], "ticket_id");
    }
    let (status, decided) = ann.send(
        "POST",
        "/api/v1/calls/am-attach/decision",
        Some(&json!({"action": "attach", "ticket_id": ticket["id"]})),
    );
    assert_eq!(status, 200, "{decided}");
    end_now(&app, "am-attach");
    let call = app.wait_synced("am-attach");
    assert_eq!(call["sync"], "done", "{call}");
    assert_eq!(call["ticket_id"], ticket["id"]);
    assert_eq!(call["decisions"]["ticket_rules"], json!(["agent_attached"]));
    assert_eq!(app.comments(s(&ticket["id"])).len(), 1);
    assert_eq!(app.all("tickets").len(), 2, "no ticket made");
}

#[test]
fn agent_mode_contact_choice_moves_the_call_and_adds_the_number() {
    let app = app("");
    let waiting = waiting_call(&app, "am-contact", "+14155550112");
    let chosen = create(
        &app,
        "/api/v1/crm/contacts",
        json!({"name": "Carol Customer", "phones": ["+14155550999"]}),
    );
    assert_ne!(waiting["contact_id"], chosen["id"]);
    let bob_browser = bob(&app);
    // Bob is not the call's agent.
    let (status, _) = bob_browser.send(
        "POST",
        "/api/v1/calls/am-contact/decision",
        Some(&json!({"action": "contact", "contact_id": chosen["id"]})),
    );
    assert_eq!(status, 404);
    // The contact search finds Carol by name.
    let ann = ann(&app);
    let (status, found) = ann.get("/api/v1/contacts?q=carol");
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["contacts"][0]["id"], chosen["id"]);
    let (status, decided) = ann.send(
        "POST",
        "/api/v1/calls/am-contact/decision",
        Some(&json!({"action": "contact", "contact_id": chosen["id"], "add_phone": true})),
    );
    assert_eq!(status, 200, "{decided}");
    end_now(&app, "am-contact");
    let call = app.wait_synced("am-contact");
    assert_eq!(call["sync"], "done", "{call}");
    assert_eq!(call["contact_id"], chosen["id"]);
    assert_eq!(call["decisions"]["contact_rule"], "agent_chose");
    let ticket = app.ticket(s(&call["ticket_id"]));
    assert_eq!(ticket["requester_id"], chosen["id"]);
    assert_eq!(call_comments(&app, &call), 1);
    let carol = app
        .get(&format!("/api/v1/crm/contacts/{}", s(&chosen["id"])))
        .1;
    assert_eq!(carol["phones"], json!(["+14155550999", "+14155550112"]));
}

#[test]
fn a_decision_after_the_timeout_is_refused_with_a_conflict() {
    let app = app("agent_timeout_seconds = 1");
    waiting_call(&app, "am-late", "+14155550113");
    let call = app.wait_call("am-late", |c| c["agent_decision"]["timed_out"] == true);
    assert!(call["agent_decision"]["waiting"].is_null());
    let ann = ann(&app);
    let (status, err) = ann.send(
        "POST",
        "/api/v1/calls/am-late/decision",
        Some(&json!({"action": "new_ticket"})),
    );
    assert_eq!(status, 409, "{err}");
    assert_eq!(err["error"], "decision_too_late");
    assert!(s(&err["message"]).contains("fallback"), "{err}");
    // A call not in agent mode has nothing to decide.
    let (status, body) = app.post_events(&answered_now(
        "auto-1",
        "+14155550114",
        "ann@acme.com",
        json!({}),
    ));
    assert_eq!(status, 202, "{body}");
    let (status, err) = app.send(
        "POST",
        "/api/v1/calls/auto-1/decision",
        Some(&json!({"action": "new_ticket"})),
    );
    assert_eq!(status, 409, "{err}");
    assert_eq!(err["error"], "not_waiting");
}
