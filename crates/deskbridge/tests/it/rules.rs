//! The ticket rules and connector groups, through HTTP: each test configures a
//! group the way an admin would, sends calls, and checks what the admin would
//! check: the ticket, its comments, the contact, and the rule recorded on the call.
//! (Config errors through the CLI are in the `process` binary's `cli` module.)

use crate::common::*;
use chrono::{DateTime, Utc};
use deskbridge_core::EndReason;
use deskbridge_testkit::{Agent, CallScript, OUR_NUMBER};
use serde_json::{Value, json};

const TOKEN: &str = "support-token-0123456789";

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// A config with one group "support" (token [`TOKEN`], number [`OUR_NUMBER`]) and
/// `keys` added to it (plain keys first, then `[groups.*]` tables).
fn config(keys: &str) -> String {
    format!(
        "[[groups]]\nname = \"support\"\ntokens = [\"{TOKEN}\"]\nnumbers = [\"{OUR_NUMBER}\"]\n{keys}\n"
    )
}

fn start(keys: &str) -> TestApp {
    TestApp::with_config(&config(keys), TOKEN)
}

/// An RFC 3339 time `secs` seconds from now.
fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s(v))
        .unwrap_or_else(|e| panic!("{v}: {e}"))
        .with_timezone(&Utc)
}

fn ms(n: i64) -> chrono::Duration {
    chrono::Duration::milliseconds(n)
}

fn ann() -> Agent {
    Agent::ann()
}

/// An inbound call from `from` to our number, started 70 s ago: ringing (carrying
/// `attributes`), answered by each of `agents` in turn, ended "completed" in queue
/// "billing".
fn answered(call_id: &str, from: &str, attributes: Value, agents: &[Agent]) -> Value {
    let mut call = CallScript::inbound(call_id, from)
        .to(OUR_NUMBER)
        .started_ago(70)
        .attributes(attributes);
    for (i, agent) in agents.iter().enumerate() {
        call = call.answered_by(agent.clone()).at(10 + 20 * i as i64);
    }
    call.ends_after(70).with("queue", json!("billing")).events()
}

/// An inbound call nobody answered: ringing, a voicemail if `voicemail`, ended with
/// `reason`.
fn unanswered(call_id: &str, from: &str, reason: EndReason, voicemail: bool) -> Value {
    let mut call = CallScript::inbound(call_id, from)
        .to(OUR_NUMBER)
        .started_ago(40);
    if voicemail {
        call = call
            .voicemail(&format!("https://pbx.example.com/vm/{call_id}.mp3"))
            .at(30);
    }
    call.ends(reason).at(40).events()
}

/// An outbound call from our number to `to`, answered, made by Ann.
fn outbound(call_id: &str, to: &str, attributes: Value) -> Value {
    CallScript::outbound(call_id, to)
        .starting_at(Utc::now() - chrono::Duration::seconds(50))
        .placed_by(Agent::ann())
        .attributes(attributes)
        .answered_by(Agent::ann())
        .at(10)
        .ends_after(50)
        .events()
}

/// Sends the events with the server's token, waits for the call's helpdesk work and
/// checks it finished.
fn sync(server: &TestApp, events: &Value, call_id: &str) -> CallView {
    let (status, body) = server.post_events(events);
    assert_eq!(status, 202, "{body}");
    let call = server.wait_synced(call_id);
    assert_eq!(call["sync"], "done", "{call}");
    call
}

/// An answered inbound call by Ann, sent and synced.
fn inbound(server: &TestApp, call_id: &str, from: &str, attributes: Value) -> CallView {
    sync(
        server,
        &answered(call_id, from, attributes, &[ann()]),
        call_id,
    )
}

/// An unanswered inbound call, sent and synced.
fn missed(
    server: &TestApp,
    call_id: &str,
    from: &str,
    reason: EndReason,
    voicemail: bool,
) -> CallView {
    sync(
        server,
        &unanswered(call_id, from, reason, voicemail),
        call_id,
    )
}

/// Waits until `ready` says yes for the call.
fn poll_call(server: &TestApp, call_id: &str, ready: impl Fn(&Value) -> bool) -> CallView {
    server.wait_call(call_id, ready)
}

fn create(server: &TestApp, kind: &str, body: Value) -> Value {
    let (status, record) = server.send("POST", &format!("/api/v1/crm/{kind}"), Some(&body));
    assert_eq!(status, 201, "{kind} {body} -> {record}");
    record
}

fn new_contact(server: &TestApp, name: &str, phone: &str) -> String {
    let c = create(
        server,
        "contacts",
        json!({"name": name, "phones": [phone], "organization_id": null}),
    );
    s(&c["id"]).to_string()
}

fn new_ticket(server: &TestApp, requester: &str, status: &str) -> String {
    let t = create(
        server,
        "tickets",
        json!({"subject": "Earlier issue", "status": status, "requester_id": requester}),
    );
    s(&t["id"]).to_string()
}

fn ticket_rules(call: &Value) -> &Value {
    &call["decisions"]["ticket_rules"]
}

fn bodies(server: &TestApp, ticket_id: &str) -> Vec<String> {
    server
        .comments(ticket_id)
        .iter()
        .map(|c| s(&c["body"]).to_string())
        .collect()
}

// ---- 1. the IVR's ticket number ----

#[test]
fn an_ivr_ticket_number_is_used_only_when_it_is_the_callers_open_ticket() {
    let server = start("");
    let ada = new_contact(&server, "Ada Caller", "+14155550101");
    let bob = new_contact(&server, "Bob Other", "+14155550102");
    let own = new_ticket(&server, &ada, "open");
    let bobs = new_ticket(&server, &bob, "open");
    let closed = new_ticket(&server, &ada, "closed");

    // Valid (sent as a number, as IVRs often do): the call goes on that ticket.
    let id: i64 = own.parse().unwrap();
    let call = inbound(
        &server,
        "c1",
        "(415) 555-0101",
        json!({"zendesk_ticket": id}),
    );
    assert_eq!(call["contact_id"], json!(ada));
    assert_eq!(call["decisions"]["contact_rule"], "phone_match");
    assert_eq!(call["ticket_id"], json!(own));
    assert_eq!(call["decisions"]["ticket_rule"], "ivr_ticket");
    assert_eq!(ticket_rules(&call), &json!(["ivr_ticket"]));
    let comments = bodies(&server, &own);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(
        comments[0].contains("From: +14155550101"),
        "{}",
        comments[0]
    );
    assert!(comments[0].contains("Agent: Ann Example <ann@acme.com>"));
    assert_eq!(server.all("tickets").len(), 3, "no new ticket");

    // Rejected numbers: a new ticket for the caller, the rejection recorded first.
    let rejected = [
        ("c2", bobs.as_str(), "ivr_ticket_rejected_not_requester"),
        ("c3", closed.as_str(), "ivr_ticket_rejected_closed"),
        ("c4", "999999", "ivr_ticket_rejected_not_found"),
    ];
    for (call_id, number, rule) in rejected {
        let events = answered(
            call_id,
            "+14155550101",
            json!({"zendesk_ticket": number}),
            &[ann()],
        );
        let call = sync(&server, &events, call_id);
        assert_eq!(call["decisions"]["ticket_rule"], rule, "{call}");
        assert_eq!(ticket_rules(&call), &json!([rule, "new_ticket"]));
        let ticket_id = s(&call["ticket_id"]);
        assert_ne!(ticket_id, number);
        let ticket = server.ticket(ticket_id);
        assert_eq!(ticket["requester_id"], json!(ada));
        assert_eq!(ticket["subject"], "Inbound call +14155550101");
        assert_eq!(server.comments(ticket_id).len(), 1);
    }
    assert!(
        server.comments(&bobs).is_empty(),
        "another's ticket untouched"
    );
    assert!(server.comments(&closed).is_empty());
    assert_eq!(server.ticket(&closed)["status"], "closed");

    // "0" means a new ticket: the call asked for one.
    let call = inbound(
        &server,
        "c5",
        "+14155550101",
        json!({"zendesk_ticket": "0"}),
    );
    assert_eq!(ticket_rules(&call), &json!(["new_ticket_forced"]));
    assert_ne!(call["ticket_id"], json!(own));
    assert_eq!(server.all("tickets").len(), 3 + 4);
    assert_eq!(server.comments(&own).len(), 1);
}

#[test]
fn the_ivr_ticket_attribute_can_be_renamed() {
    let server = start("[groups.attributes]\nticket = \"case_number\"\n");
    let ada = new_contact(&server, "Ada Caller", "+14155550101");
    let own = new_ticket(&server, &ada, "new");

    let call = inbound(&server, "r1", "+14155550101", json!({"case_number": own}));
    assert_eq!(call["ticket_id"], json!(own));
    assert_eq!(call["decisions"]["ticket_rule"], "ivr_ticket");
    assert_eq!(server.comments(&own).len(), 1);

    // The default name means nothing to this group now.
    let call = inbound(
        &server,
        "r2",
        "+14155550101",
        json!({"zendesk_ticket": own}),
    );
    assert_eq!(ticket_rules(&call), &json!(["new_ticket"]));
    assert_ne!(call["ticket_id"], json!(own));
    assert_eq!(server.comments(&own).len(), 1);
    assert_eq!(server.all("tickets").len(), 2);
}

#[test]
fn ivr_ticket_zero_opens_a_new_ticket_inside_the_reuse_window_and_beside_an_open_ticket() {
    // Zendesk's Amazon Connect app sets `zendesk_ticket` to "0" to ask for a new
    // ticket; neither the reuse window nor attaching to the open ticket may win.
    let server = start("reuse_recent_minutes = 30\nattach_open_ticket = true");
    let first = inbound(&server, "z1", "+14155550120", json!({}));
    let open = s(&first["ticket_id"]).to_string();
    let second = inbound(
        &server,
        "z2",
        "+14155550120",
        json!({"zendesk_ticket": "0"}),
    );
    assert_eq!(ticket_rules(&second), &json!(["new_ticket_forced"]));
    assert_ne!(second["ticket_id"], json!(open));
    assert_eq!(second["contact_id"], first["contact_id"]);
    assert_eq!(server.all("tickets").len(), 2);
    assert_eq!(
        server.comments(&open).len(),
        1,
        "the open ticket is untouched"
    );
    assert_eq!(server.comments(s(&second["ticket_id"])).len(), 1);
}

// ---- 2. the reuse window ----

#[test]
fn a_call_on_a_solved_ticket_opens_it_again_unless_the_group_says_not_to() {
    for (keys, want) in [
        ("reuse_recent_minutes = 30", "open"),
        ("reuse_recent_minutes = 30\nreopen_solved = false", "solved"),
    ] {
        let server = start(keys);
        let ada = new_contact(&server, "Ada Caller", "+14155550130");
        let solved = new_ticket(&server, &ada, "solved");
        let call = inbound(&server, "s1", "+14155550130", json!({}));
        assert_eq!(call["ticket_id"], json!(solved), "{keys}");
        assert_eq!(ticket_rules(&call), &json!(["reuse_window"]), "{keys}");
        assert_eq!(server.ticket(&solved)["status"], want, "{keys}");
        assert_eq!(server.comments(&solved).len(), 1, "{keys}");
    }
}

#[test]
fn a_repeat_call_within_the_reuse_window_goes_on_the_same_ticket() {
    let server = start("reuse_recent_minutes = 30");
    let first = inbound(&server, "w1", "+14155550110", json!({}));
    assert_eq!(ticket_rules(&first), &json!(["new_ticket"]));
    let ticket_id = s(&first["ticket_id"]).to_string();

    let second = inbound(&server, "w2", "415-555-0110", json!({}));
    assert_eq!(second["ticket_id"], json!(ticket_id));
    assert_eq!(second["contact_id"], first["contact_id"]);
    assert_eq!(second["decisions"]["ticket_rule"], "reuse_window");
    assert_eq!(server.all("tickets").len(), 1);
    assert_eq!(server.comments(&ticket_id).len(), 2);

    // The per-call attribute turns the window off for this call.
    let third = inbound(
        &server,
        "w3",
        "+14155550110",
        json!({"recent_ticket_timeout": "0"}),
    );
    assert_eq!(ticket_rules(&third), &json!(["new_ticket"]));
    let third_ticket = s(&third["ticket_id"]).to_string();
    assert_ne!(third_ticket, ticket_id);
    assert_eq!(server.comments(&ticket_id).len(), 2);

    // The next call reuses the most recently updated ticket: the third call's.
    let fourth = inbound(&server, "w4", "+14155550110", json!({}));
    assert_eq!(fourth["ticket_id"], json!(third_ticket));
    assert_eq!(ticket_rules(&fourth), &json!(["reuse_window"]));

    // force_ticket_creation wins over the window.
    let fifth = inbound(
        &server,
        "w5",
        "+14155550110",
        json!({"force_ticket_creation": "true"}),
    );
    assert_eq!(ticket_rules(&fifth), &json!(["new_ticket_forced"]));
    assert_eq!(server.all("tickets").len(), 3);
    assert_eq!(server.all("contacts").len(), 1);
}

// ---- 3. the caller's open ticket, organizations, custom fields ----

#[test]
fn calls_attach_to_the_open_ticket_with_organization_and_utm_fields() {
    let server = start(
        r#"attach_open_ticket = true
create = ["contact", "organization", "ticket", "comment"]
organization_name = "{{ attributes.company }}"
[groups.custom_fields]
"utm" = "{{ attributes.utm_source }}"
"#,
    );
    let attrs = |utm: &str| json!({"company": "Acme Corp", "utm_source": utm});
    let first = inbound(&server, "o1", "+14155550120", attrs("newsletter"));
    let contacts = server.contacts_by_phone("+14155550120");
    assert_eq!(contacts.len(), 1);
    assert_eq!(first["contact_id"], contacts[0]["id"]);
    let org_id = s(&contacts[0]["organization_id"]).to_string();
    let (status, org) = server.get(&format!("/api/v1/crm/organizations/{org_id}"));
    assert_eq!(status, 200, "{org}");
    assert_eq!(org["name"], "Acme Corp");
    assert_eq!(ticket_rules(&first), &json!(["new_ticket"]));
    let ticket_id = s(&first["ticket_id"]).to_string();
    let ticket = server.ticket(&ticket_id);
    assert_eq!(ticket["custom_fields"]["utm"], "newsletter");
    assert_eq!(ticket["status"], "new");
    assert_eq!(ticket["requester_id"], contacts[0]["id"]);

    // Second call: the open ticket, no new contact or organization.
    let second = inbound(&server, "o2", "+14155550120", attrs("google"));
    assert_eq!(second["ticket_id"], json!(ticket_id));
    assert_eq!(second["decisions"]["ticket_rule"], "open_ticket");
    assert_eq!(server.comments(&ticket_id).len(), 2);
    assert_eq!(
        server.ticket(&ticket_id)["custom_fields"]["utm"],
        "newsletter"
    );
    assert_eq!(server.all("contacts").len(), 1);
    assert_eq!(server.all("organizations").len(), 1);

    // Once the ticket is solved, the next call gets a new one.
    let (status, body) = server.send(
        "PATCH",
        &format!("/api/v1/crm/tickets/{ticket_id}"),
        Some(&json!({"status": "solved"})),
    );
    assert_eq!(status, 200, "{body}");
    let third = inbound(&server, "o3", "+14155550120", attrs("ads"));
    assert_eq!(ticket_rules(&third), &json!(["new_ticket"]));
    let third_ticket = s(&third["ticket_id"]);
    assert_ne!(third_ticket, ticket_id);
    assert_eq!(server.ticket(third_ticket)["custom_fields"]["utm"], "ads");
    assert_eq!(server.comments(&ticket_id).len(), 2);

    // A caller without a company gets no organization; no utm, no field.
    let other = inbound(&server, "o4", "+14155550121", json!({}));
    let contacts = server.contacts_by_phone("+14155550121");
    assert_eq!(contacts[0]["organization_id"], Value::Null);
    assert_eq!(server.all("organizations").len(), 1);
    let ticket = server.ticket(s(&other["ticket_id"]));
    assert_eq!(ticket["custom_fields"].get("utm"), None, "{ticket}");
}

// ---- 4. new ticket settings ----

#[test]
fn new_tickets_take_the_groups_subject_priority_type_tags_status_and_form() {
    let server = start(
        r#"ticket_subject = "{{ direction | capitalize }} call from {{ caller }} about {{ attributes.topic }} ({{ queue }})"
ticket_priority = "high"
ticket_type = "incident"
ticket_status = "solved"
ticket_tags = ["phone", "archive"]
ticket_form = "360000000123"
[groups.custom_fields]
"dialed" = "{{ dialed }}"
"queue" = "{{ queue | upper }}"
"#,
    );
    let call = inbound(&server, "n1", "+14155550130", json!({"topic": "billing"}));
    assert_eq!(ticket_rules(&call), &json!(["new_ticket"]));
    let ticket = server.ticket(s(&call["ticket_id"]));
    assert_eq!(
        ticket["subject"],
        "Inbound call from +14155550130 about billing (billing)"
    );
    assert_eq!(ticket["priority"], "high");
    assert_eq!(ticket["type"], "incident");
    assert_eq!(ticket["status"], "solved");
    assert_eq!(ticket["tags"], json!(["phone", "archive"]));
    assert_eq!(
        ticket["custom_fields"],
        json!({"ticket_form": "360000000123", "dialed": OUR_NUMBER, "queue": "BILLING"})
    );
    assert_eq!(ticket["assignee"], "ann@acme.com");
    let comments = bodies(&server, s(&call["ticket_id"]));
    assert_eq!(comments.len(), 1);
    assert!(comments[0].contains("Outcome: answered"), "{}", comments[0]);
}

// ---- 5. assignment ----

const DIRECTORY: &str = r#"[[agents]]
email = "ann@acme.com"
name = "Ann Example"
extension = "101"

[[agents]]
email = "lee@acme.com"
name = "Lee Lead"
extension = "100"

[[agents]]
email = "bob@acme.com"
name = "Bob Builder"
extension = "102"

"#;

fn bob() -> Agent {
    Agent::new("bob@acme.com").named("Bob Builder")
}

#[test]
fn tickets_are_assigned_to_the_answering_agent_from_the_directory() {
    let config = format!(
        "{DIRECTORY}{}",
        config("default_assignee = \"lee@acme.com\"")
    );
    let server = TestApp::with_config(&config, TOKEN);
    let cases = [
        (
            "a1",
            Agent::new("ANN@acme.com"),
            "ann@acme.com",
            "agent_email",
        ),
        (
            "a2",
            Agent::by_name("bob builder"),
            "bob@acme.com",
            "agent_name",
        ),
        (
            "a3",
            Agent::by_extension("101"),
            "ann@acme.com",
            "agent_extension",
        ),
        (
            "a4",
            Agent::new("temp@agency.com")
                .named("Temp Worker")
                .extension("999"),
            "lee@acme.com",
            "default_assignee",
        ),
    ];
    for (i, (call_id, agent, assignee, rule)) in cases.into_iter().enumerate() {
        let from = format!("+1415555014{i}");
        let call = sync(
            &server,
            &answered(call_id, &from, json!({}), &[agent]),
            call_id,
        );
        assert_eq!(call["assignee"], assignee, "{call}");
        assert_eq!(call["decisions"]["assignee_rule"], rule, "{call}");
        assert_eq!(server.ticket(s(&call["ticket_id"]))["assignee"], assignee);
    }

    // Nobody answered: the default assignee.
    let call = missed(&server, "a5", "+14155550145", EndReason::NoAnswer, false);
    assert_eq!(call["assignee"], "lee@acme.com");
    assert_eq!(
        call["decisions"]["assignee_rule"],
        "default_assignee_no_agent"
    );
    assert_eq!(
        server.ticket(s(&call["ticket_id"]))["assignee"],
        "lee@acme.com"
    );

    // A transfer reported in one batch: one ticket, both agents, the last assigned.
    let call = sync(
        &server,
        &answered("a6", "+14155550146", json!({}), &[ann(), bob()]),
        "a6",
    );
    let ticket_id = s(&call["ticket_id"]);
    assert_eq!(server.ticket(ticket_id)["assignee"], "bob@acme.com");
    assert_eq!(call["assignee"], "bob@acme.com");
    let comments = bodies(&server, ticket_id);
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0].contains("Agents: Ann Example <ann@acme.com>, then Bob Builder <bob@acme.com>"),
        "{}",
        comments[0]
    );
    assert_eq!(
        server.contacts_by_phone("+14155550146").len(),
        1,
        "one contact"
    );
}

#[test]
fn a_transfer_reported_live_assigns_the_ticket_to_the_last_agent() {
    // Tickets made at the answer, so the transfer happens after the ticket exists.
    let config = format!("{DIRECTORY}{}", config("create_ticket_at = \"answer\""));
    let server = TestApp::with_config(&config, TOKEN);
    // The PBX reports each event as it happens: the ticket is made on the first
    // answer, then the call is transferred to Bob.
    let events = answered("t1", "+14155550147", json!({}), &[ann(), bob()]);
    let events = events.as_array().unwrap();
    let (status, body) = server.post_events(&json!(&events[..2]));
    assert_eq!(status, 202, "{body}");
    let first = poll_call(&server, "t1", |c| c["ticket_id"].is_string());
    assert_eq!(first["assignee"], "ann@acme.com");
    let (status, body) = server.post_events(&json!(&events[2..]));
    assert_eq!(status, 202, "{body}");
    let call = server.wait_synced("t1");
    assert_eq!(call["sync"], "done", "{call}");
    let ticket_id = s(&call["ticket_id"]);
    assert_eq!(server.all("tickets").len(), 1);
    // The ticket made at the answer opens with what was known then; the call's
    // log follows at the end, with both agents.
    let comments = bodies(&server, ticket_id);
    assert_eq!(comments.len(), 2);
    assert!(
        comments[0].starts_with("Inbound call in progress"),
        "{}",
        comments[0]
    );
    assert!(comments[1].contains("Agents: Ann Example <ann@acme.com>, then Bob Builder"));
    assert_eq!(call["agent"]["email"], "bob@acme.com");
    assert_eq!(
        server.ticket(ticket_id)["assignee"],
        "bob@acme.com",
        "the ticket stays with the first agent: {call}"
    );
}

#[test]
fn assign_false_leaves_tickets_unassigned() {
    let config = format!(
        "{DIRECTORY}{}",
        config("assign = false\ndefault_assignee = \"lee@acme.com\"")
    );
    let server = TestApp::with_config(&config, TOKEN);
    let call = inbound(&server, "u1", "+14155550150", json!({}));
    assert_eq!(call["assignee"], Value::Null);
    assert_eq!(call["decisions"]["assignee_rule"], "assignment_off");
    assert_eq!(
        server.ticket(s(&call["ticket_id"]))["assignee"],
        Value::Null
    );
}

// ---- 6. finding the caller ----

#[test]
fn the_customer_number_and_zendesk_user_attributes_find_the_contact() {
    let server = start("");
    let known = new_contact(&server, "Kim Known", "+14155550160");

    // A forwarding service calls; the IVR collected the real customer's number.
    let call = sync(
        &server,
        &answered(
            "k1",
            "+14155550169",
            json!({"customer_number": "(415) 555-0160"}),
            &[ann()],
        ),
        "k1",
    );
    assert_eq!(call["contact_id"], json!(known));
    assert_eq!(
        call["decisions"]["contact_rule"],
        "customer_number_phone_match"
    );
    assert_eq!(
        server.ticket(s(&call["ticket_id"]))["requester_id"],
        json!(known)
    );
    assert!(server.contacts_by_phone("+14155550169").is_empty());

    // An unknown customer number: the new contact has that number.
    let call = inbound(
        &server,
        "k2",
        "+14155550169",
        json!({"customer_number": "+14155550161", "customer_name": "Nina New"}),
    );
    assert_eq!(
        call["decisions"]["contact_rule"],
        "customer_number_new_contact"
    );
    let created = server.contacts_by_phone("+14155550161");
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["name"], "Nina New");
    assert_eq!(call["contact_id"], created[0]["id"]);
    assert!(server.contacts_by_phone("+14155550169").is_empty());

    // zendesk_user names a contact without any phone.
    let grace = s(&create(
        &server,
        "contacts",
        json!({"name": "Grace Hopper", "email": "grace@example.com"}),
    )["id"])
    .to_string();
    let call = inbound(
        &server,
        "k3",
        "+14155550162",
        json!({"zendesk_user": grace}),
    );
    assert_eq!(call["contact_id"], json!(grace));
    assert_eq!(call["decisions"]["contact_rule"], "attribute_contact");
    assert!(server.contacts_by_phone("+14155550162").is_empty());

    // An unknown id: the number decides.
    let call = inbound(
        &server,
        "k4",
        "+14155550160",
        json!({"zendesk_user": "424242"}),
    );
    assert_eq!(call["contact_id"], json!(known));
    assert_eq!(
        call["decisions"]["contact_rule"],
        "attribute_contact_not_found_phone_match"
    );
}

/// Two contacts sharing +14155550180; returns (older, newer).
fn two_contacts_one_number(server: &TestApp) -> (String, String) {
    let older = new_contact(server, "Pat Older", "+14155550180");
    let newer = new_contact(server, "Pat Newer", "(415) 555-0180");
    (older, newer)
}

#[test]
fn a_number_shared_by_two_contacts_goes_to_the_newest_by_default() {
    let server = start("");
    let (_, newer) = two_contacts_one_number(&server);
    let call = inbound(&server, "p1", "+14155550180", json!({}));
    assert_eq!(call["contact_id"], json!(newer));
    assert_eq!(call["decisions"]["contact_rule"], "phone_ambiguous_newest");
    assert_eq!(
        server.ticket(s(&call["ticket_id"]))["requester_id"],
        json!(newer)
    );
    assert_eq!(server.contacts_by_phone("+14155550180").len(), 2);
}

#[test]
fn a_shared_number_can_make_a_new_contact() {
    let server = start("ambiguous_caller = \"new_contact\"");
    let (older, newer) = two_contacts_one_number(&server);
    let call = inbound(&server, "p1", "+14155550180", json!({}));
    assert_eq!(
        call["decisions"]["contact_rule"],
        "phone_ambiguous_new_contact"
    );
    let contact = s(&call["contact_id"]);
    assert_ne!(contact, older);
    assert_ne!(contact, newer);
    let contacts = server.contacts_by_phone("+14155550180");
    assert_eq!(contacts.len(), 3);
    assert_eq!(
        server.ticket(s(&call["ticket_id"]))["requester_id"],
        json!(contact)
    );
}

/// A call from the shared number in a group where the agent decides: waits for the
/// agent, then times out to the newest contact. Returns the call and the contacts.
fn ambiguous_caller_times_out() -> (TestApp, CallView, String, String) {
    let server = start("ambiguous_caller = \"agent\"\nagent_timeout_seconds = 2");
    let (older, newer) = two_contacts_one_number(&server);
    // `at` left out: now, so the deadline is 2 s away.
    let (status, body) = server.post_events(&json!([
        {"id": "q1", "call_id": "q", "type": "ringing", "direction": "inbound",
         "from": "+14155550180", "to": OUR_NUMBER},
        {"id": "q2", "call_id": "q", "type": "answered", "agent": ann()},
    ]));
    assert_eq!(status, 202, "{body}");
    let waiting = poll_call(&server, "q", |c| {
        c["decisions"]["contact_candidates"] != json!([])
    });
    assert_eq!(
        waiting["agent_decision"]["waiting"]["reason"], "ambiguous_caller",
        "{waiting}"
    );
    assert_eq!(
        waiting["decisions"]["contact_candidates"],
        json!([newer, older])
    );
    assert_eq!(
        waiting["decisions"]["contact_rule"],
        "phone_ambiguous_agent_decides"
    );
    assert_eq!(waiting["contact_id"], Value::Null);
    assert_eq!(waiting["ticket_id"], Value::Null);
    assert_eq!(waiting["sync"], "pending");
    let deadline = time(&waiting["agent_decision"]["waiting"]["deadline"]);
    assert_eq!(
        deadline - time(&waiting["started_at"]),
        chrono::Duration::seconds(2)
    );

    let (status, _) = server.post_events(&json!({"id": "q3", "call_id": "q", "type": "ended",
        "reason": "completed"}));
    assert_eq!(status, 202);
    let call = server.wait_synced("q");
    assert_eq!(call["sync"], "done", "{call}");
    (server, call, older, newer)
}

#[test]
fn a_shared_number_waits_for_the_agent_then_falls_back_to_the_newest() {
    let (server, call, _, newer) = ambiguous_caller_times_out();
    assert_eq!(call["contact_id"], json!(newer), "{call}");
    assert_eq!(call["agent_decision"]["timed_out"], true);
    assert_eq!(call["agent_decision"]["waiting"], Value::Null);
    assert_eq!(ticket_rules(&call), &json!(["new_ticket"]));
    let ticket_id = s(&call["ticket_id"]);
    let ticket = server.ticket(ticket_id);
    assert_eq!(ticket["requester_id"], json!(newer));
    assert!(
        time(&ticket["created_at"]) + ms(5)
            >= time(&call["started_at"]) + chrono::Duration::seconds(2)
    );
    assert_eq!(server.comments(ticket_id).len(), 1);
    assert_eq!(server.contacts_by_phone("+14155550180").len(), 2);
}

#[test]
fn the_ambiguous_timeout_fallback_is_recorded_as_the_contact_rule() {
    let (_, call, _, newer) = ambiguous_caller_times_out();
    assert_eq!(call["contact_id"], json!(newer));
    assert_eq!(
        call["decisions"]["contact_rule"], "phone_ambiguous_timeout_newest",
        "{call}"
    );
}

// ---- 7. missed calls and voicemails ----

#[test]
fn missed_calls_can_be_logged_only_while_voicemails_still_make_tickets() {
    let server = start("missed_call = \"log_only\"");
    for (call_id, reason) in [
        ("m1", EndReason::NoAnswer),
        ("m2", EndReason::Busy),
        ("m3", EndReason::Abandoned),
    ] {
        let call = missed(&server, call_id, "+14155550170", reason, false);
        assert_ne!(call["outcome"], "answered");
        assert_eq!(call["ticket_id"], Value::Null, "{call}");
        assert_eq!(call["contact_id"], Value::Null, "{call}");
    }
    assert!(server.all("tickets").is_empty());
    assert!(server.all("contacts").is_empty());
    // The caller log still has them.
    let (_, log) = server.get("/api/v1/calls?phone=%2B14155550170");
    assert_eq!(log["calls"].as_array().unwrap().len(), 3, "{log}");

    let call = missed(&server, "v1", "+14155550170", EndReason::NoAnswer, true);
    assert_eq!(call["outcome"], "voicemail");
    assert_eq!(ticket_rules(&call), &json!(["new_ticket"]));
    let comments = bodies(&server, s(&call["ticket_id"]));
    assert_eq!(comments.len(), 1);
    assert!(comments[0].starts_with("Voicemail"), "{}", comments[0]);
    assert!(comments[0].contains("https://pbx.example.com/vm/v1.mp3"));
}

#[test]
fn log_only_unanswered_calls_record_their_rule() {
    let server = start("missed_call = \"log_only\"\nvoicemail = \"log_only\"");
    let call = missed(&server, "m1", "+14155550170", EndReason::NoAnswer, false);
    assert_eq!(call["ticket_id"], Value::Null);
    assert_eq!(
        call["decisions"]["ticket_rule"], "missed_call_log_only",
        "{call}"
    );
    let call = missed(&server, "v1", "+14155550170", EndReason::NoAnswer, true);
    assert_eq!(call["ticket_id"], Value::Null);
    assert_eq!(
        call["decisions"]["ticket_rule"], "voicemail_log_only",
        "{call}"
    );
}

#[test]
fn missed_calls_can_go_only_on_a_recent_ticket_and_voicemails_nowhere() {
    let server = start(
        "reuse_recent_minutes = 30\nmissed_call = \"recent_ticket\"\nvoicemail = \"log_only\"",
    );
    // No recent ticket: nothing in the helpdesk's tickets.
    let call = missed(&server, "m1", "+14155550171", EndReason::NoAnswer, false);
    assert_eq!(call["ticket_id"], Value::Null, "{call}");
    assert_eq!(
        ticket_rules(&call),
        &json!(["missed_call_no_recent_ticket"])
    );
    assert!(server.all("tickets").is_empty());

    // An answered call makes a ticket; the missed call after it goes on it.
    let first = inbound(&server, "m2", "+14155550172", json!({}));
    let ticket_id = s(&first["ticket_id"]).to_string();
    let call = missed(&server, "m3", "+14155550172", EndReason::NoAnswer, false);
    assert_eq!(call["ticket_id"], json!(ticket_id));
    assert_eq!(ticket_rules(&call), &json!(["reuse_window"]));
    let comments = bodies(&server, &ticket_id);
    assert_eq!(comments.len(), 2);
    assert!(
        comments[1].starts_with("Missed inbound call"),
        "{}",
        comments[1]
    );

    // The voicemail is logged only, even with the recent ticket there.
    let call = missed(&server, "v1", "+14155550172", EndReason::NoAnswer, true);
    assert_eq!(call["outcome"], "voicemail");
    assert_eq!(call["ticket_id"], Value::Null, "{call}");
    assert_eq!(server.comments(&ticket_id).len(), 2);
    assert_eq!(server.all("tickets").len(), 1);
}

// ---- 8. comment-only logging ----

#[test]
fn comment_only_logging_touches_only_recent_tickets_of_known_contacts() {
    let server = start("create = [\"comment\"]\nreuse_recent_minutes = 30");
    let call = inbound(&server, "l1", "+14155550190", json!({}));
    assert_eq!(call["contact_id"], Value::Null);
    assert_eq!(call["decisions"]["contact_rule"], "contact_creation_off");
    assert_eq!(call["ticket_id"], Value::Null);
    assert_eq!(call["decisions"]["ticket_rule"], "ticket_creation_off");
    assert!(server.all("contacts").is_empty());
    assert!(server.all("tickets").is_empty());

    let known = new_contact(&server, "Kim Known", "+14155550191");
    let recent = new_ticket(&server, &known, "open");
    let call = inbound(&server, "l2", "+14155550191", json!({}));
    assert_eq!(call["contact_id"], json!(known));
    assert_eq!(call["decisions"]["contact_rule"], "phone_match");
    assert_eq!(call["ticket_id"], json!(recent));
    assert_eq!(ticket_rules(&call), &json!(["reuse_window"]));
    let comments = bodies(&server, &recent);
    assert_eq!(comments.len(), 1);
    assert!(comments[0].contains("From: +14155550191"));

    // A known contact without a ticket: nothing created.
    let lone = new_contact(&server, "Lou Lone", "+14155550192");
    let call = inbound(&server, "l3", "+14155550192", json!({}));
    assert_eq!(call["contact_id"], json!(lone));
    assert_eq!(call["ticket_id"], Value::Null);
    assert_eq!(ticket_rules(&call), &json!(["ticket_creation_off"]));
    assert_eq!(server.all("tickets").len(), 1);
    assert_eq!(server.all("contacts").len(), 2);
}

// ---- 9. agent mode ----

#[test]
fn agent_mode_waits_for_the_agent_then_makes_the_ticket() {
    let server = start("agent_timeout_seconds = 2");
    // `at` left out: now.
    let (status, body) = server.post_events(&json!([
        {"id": "g1", "call_id": "g", "type": "ringing", "direction": "inbound",
         "from": "+14155550200", "to": OUR_NUMBER,
         "attributes": {"ticket_assignment": "agent"}},
        {"id": "g2", "call_id": "g", "type": "answered", "agent": ann()},
    ]));
    assert_eq!(status, 202, "{body}");
    let waiting = poll_call(&server, "g", |c| !c["contact_id"].is_null());
    assert_eq!(waiting["agent_decision"]["mode"], "agent", "{waiting}");
    assert_eq!(waiting["agent_decision"]["waiting"]["reason"], "agent_mode");
    assert_eq!(waiting["agent_decision"]["timed_out"], false);
    assert_eq!(waiting["ticket_id"], Value::Null);
    assert_eq!(waiting["sync"], "pending");
    let deadline = time(&waiting["agent_decision"]["waiting"]["deadline"]);
    assert_eq!(
        deadline - time(&waiting["started_at"]),
        chrono::Duration::seconds(2)
    );
    assert!(server.all("tickets").is_empty());

    let (status, _) = server.post_events(&json!({"id": "g3", "call_id": "g", "type": "ended",
        "reason": "completed"}));
    assert_eq!(status, 202);
    let call = server.wait_synced("g");
    assert_eq!(call["sync"], "done", "{call}");
    assert_eq!(call["agent_decision"]["timed_out"], true);
    assert_eq!(call["agent_decision"]["waiting"], Value::Null);
    assert_eq!(ticket_rules(&call), &json!(["new_ticket"]));
    let ticket = server.ticket(s(&call["ticket_id"]));
    // Not before the deadline (stored times are whole milliseconds).
    assert!(time(&ticket["created_at"]) + ms(5) >= deadline, "{ticket}");
    assert_eq!(ticket["requester_id"], waiting["contact_id"]);
    assert_eq!(ticket["assignee"], "ann@acme.com");
    assert_eq!(server.comments(s(&call["ticket_id"])).len(), 1);
    let steps: Vec<&str> = call["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|st| s(&st["step"]))
        .collect();
    assert!(steps.contains(&"await_agent"), "{steps:?}");
}

#[test]
fn agent_mode_with_log_only_fallback_makes_no_ticket() {
    let server = start("agent_timeout_seconds = 1\nagent_fallback = \"log_only\"");
    let (status, body) = server.post_events(&json!([
        {"id": "h1", "call_id": "h", "type": "ringing", "direction": "inbound",
         "from": "+14155550201", "to": OUR_NUMBER,
         "attributes": {"ticket_assignment": "agent"}},
        {"id": "h2", "call_id": "h", "type": "answered", "agent": ann()},
        {"id": "h3", "call_id": "h", "type": "ended", "reason": "completed"},
    ]));
    assert_eq!(status, 202, "{body}");
    let call = server.wait_synced("h");
    assert_eq!(call["sync"], "done", "{call}");
    assert_eq!(call["agent_decision"]["timed_out"], true);
    assert_eq!(call["agent_decision"]["waiting"], Value::Null);
    assert_eq!(call["ticket_id"], Value::Null);
    assert!(server.all("tickets").is_empty());
    // The caller was still identified.
    assert_eq!(
        call["contact_id"],
        server.contacts_by_phone("+14155550201")[0]["id"]
    );
}

#[test]
fn group_agent_mode_is_switched_off_per_call() {
    let server = start("ticket_assignment = \"agent\"");
    let call = inbound(
        &server,
        "x1",
        "+14155550202",
        json!({"ticket_assignment": "auto"}),
    );
    assert_eq!(call["agent_decision"]["mode"], "auto");
    assert_eq!(call["agent_decision"]["timed_out"], false);
    assert_eq!(ticket_rules(&call), &json!(["new_ticket"]));
    assert_eq!(server.comments(s(&call["ticket_id"])).len(), 1);

    // Without the attribute the group's agent mode holds the call (300 s).
    let (status, _) = server.post_events(&json!([
        {"id": "x2-1", "call_id": "x2", "type": "ringing", "direction": "inbound",
         "from": "+14155550203", "to": OUR_NUMBER},
        {"id": "x2-2", "call_id": "x2", "type": "answered", "agent": ann()},
        {"id": "x2-3", "call_id": "x2", "type": "ended", "reason": "completed"},
    ]));
    assert_eq!(status, 202);
    let waiting = poll_call(&server, "x2", |c| !c["contact_id"].is_null());
    assert_eq!(waiting["agent_decision"]["mode"], "agent");
    assert_eq!(waiting["agent_decision"]["waiting"]["reason"], "agent_mode");
    let deadline = time(&waiting["agent_decision"]["waiting"]["deadline"]);
    assert_eq!(
        deadline - time(&waiting["started_at"]),
        chrono::Duration::seconds(300)
    );
    // Everything runnable has run; the rest waits for the agent's deadline.
    server.settle();
    let (_, still) = server.get("/api/v1/calls/x2");
    assert_eq!(still["sync"], "pending", "{still}");
    assert_eq!(still["ticket_id"], Value::Null);
    assert_eq!(server.all("tickets").len(), 1);
}

// ---- 10. outbound calls ----

#[test]
fn outbound_calls_find_the_callee_and_use_their_ivr_ticket() {
    let server = start("");
    let callee = new_contact(&server, "Carl Callee", "+14155550210");
    let theirs = new_ticket(&server, &callee, "pending");

    let call = sync(
        &server,
        &outbound("ob1", "(415) 555-0210", json!({})),
        "ob1",
    );
    assert_eq!(call["direction"], "outbound");
    assert_eq!(call["to"], "+14155550210");
    assert_eq!(call["contact_id"], json!(callee));
    assert_eq!(call["decisions"]["contact_rule"], "phone_match");
    assert_eq!(ticket_rules(&call), &json!(["new_ticket"]));
    let ticket = server.ticket(s(&call["ticket_id"]));
    assert_eq!(ticket["subject"], "Outbound call +14155550210");
    assert_eq!(ticket["requester_id"], json!(callee));
    let comments = bodies(&server, s(&call["ticket_id"]));
    assert!(
        comments[0].starts_with("Outbound call answered"),
        "{}",
        comments[0]
    );

    let call = sync(
        &server,
        &outbound("ob2", "+14155550210", json!({"zendesk_ticket": theirs})),
        "ob2",
    );
    assert_eq!(call["ticket_id"], json!(theirs));
    assert_eq!(call["decisions"]["ticket_rule"], "ivr_ticket");
    let comments = bodies(&server, &theirs);
    assert_eq!(comments.len(), 1);
    assert!(comments[0].contains("To: +14155550210"), "{}", comments[0]);

    // An unknown callee gets the contact, never our own number.
    let call = sync(&server, &outbound("ob3", "+14155550211", json!({})), "ob3");
    assert_eq!(
        call["contact_id"],
        server.contacts_by_phone("+14155550211")[0]["id"]
    );
    assert!(server.contacts_by_phone(OUR_NUMBER).is_empty());
    assert_eq!(server.all("tickets").len(), 3);
}

// ---- 11. connector groups ----

const SUPPORT_TOKEN: &str = "support-only-token-0001";
const SALES_TOKEN: &str = "sales-only-token-000002";
const SHARED_TOKEN: &str = "shared-token-0000000003";
const BILLING_TOKEN: &str = "billing-token-000000004";
const SALES_NUMBER: &str = "+14155550299";

fn two_groups() -> TestApp {
    let config = format!(
        r#"[[groups]]
name = "support"
tokens = ["{SUPPORT_TOKEN}", "{SHARED_TOKEN}"]
numbers = ["{OUR_NUMBER}"]
reuse_recent_minutes = 30

[[groups]]
name = "sales"
tokens = ["{SALES_TOKEN}", "{SHARED_TOKEN}"]
numbers = ["(415) 555-0299"]
missed_call = "log_only"
ticket_subject = "Sales call {{{{ caller }}}}"

[[groups]]
name = "billing"
tokens = ["{BILLING_TOKEN}"]
"#
    );
    TestApp::with_config(&config, SUPPORT_TOKEN)
}

fn to_number(events: &Value, number: &str) -> Value {
    let mut events = events.clone();
    events[0]["to"] = json!(number);
    events
}

fn call_ids(log: &Value) -> Vec<String> {
    log["calls"]
        .as_array()
        .unwrap_or_else(|| panic!("{log}"))
        .iter()
        .map(|c| s(&c["call_id"]).to_string())
        .collect()
}

#[test]
fn groups_apply_their_own_policies_and_see_only_their_calls() {
    let server = two_groups();
    let sales = server.as_token(SALES_TOKEN);

    // Support: the reuse window.
    let first = inbound(&server, "s1", "+14155550220", json!({}));
    assert_eq!(first["group"], "support");
    let second = inbound(&server, "s2", "+14155550220", json!({}));
    assert_eq!(second["ticket_id"], first["ticket_id"]);
    assert_eq!(ticket_rules(&second), &json!(["reuse_window"]));
    assert_eq!(
        server.ticket(s(&first["ticket_id"]))["subject"],
        "Inbound call +14155550220"
    );

    // Sales: its subject, no reuse window, missed calls logged only.
    let events = to_number(
        &answered("b1", "+14155550230", json!({}), &[ann()]),
        SALES_NUMBER,
    );
    let (status, body) = sales.post_events(&events);
    assert_eq!(status, 202, "{body}");
    let wait_sales = |call_id: &str| {
        let call = sales.wait_synced(call_id);
        assert_eq!(call["sync"], "done", "{call}");
        call
    };
    let b1 = wait_sales("b1");
    assert_eq!(b1["group"], "sales");
    assert_eq!(
        server.ticket(s(&b1["ticket_id"]))["subject"],
        "Sales call +14155550230"
    );
    let events = to_number(
        &answered("b2", "+14155550230", json!({}), &[ann()]),
        SALES_NUMBER,
    );
    assert_eq!(sales.post_events(&events).0, 202);
    let b2 = wait_sales("b2");
    assert_ne!(
        b2["ticket_id"], b1["ticket_id"],
        "sales has no reuse window"
    );
    let events = to_number(
        &unanswered("b3", "+14155550231", EndReason::NoAnswer, false),
        SALES_NUMBER,
    );
    assert_eq!(sales.post_events(&events).0, 202);
    let b3 = wait_sales("b3");
    assert_eq!(b3["ticket_id"], Value::Null, "{b3}");
    // ...while support makes a ticket for a missed call.
    let m = missed(&server, "s3", "+14155550231", EndReason::NoAnswer, false);
    assert!(m["ticket_id"].is_string(), "{m}");

    // Calls are scoped to the token's groups.
    assert_eq!(server.get("/api/v1/calls/b1").0, 404);
    assert_eq!(sales.get("/api/v1/calls/s1").0, 404);
    assert_eq!(sales.get("/api/v1/calls/b1").0, 200);
    let mut support_log = call_ids(&server.get("/api/v1/calls").1);
    support_log.sort();
    assert_eq!(support_log, ["s1", "s2", "s3"]);
    let mut sales_log = call_ids(&sales.get("/api/v1/calls").1);
    sales_log.sort();
    assert_eq!(sales_log, ["b1", "b2", "b3"]);
    let (status, body) = server.get("/api/v1/calls?group=sales");
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "group");
    let billing = server.as_token(BILLING_TOKEN);
    assert_eq!(
        call_ids(&billing.get("/api/v1/calls").1),
        Vec::<String>::new()
    );
}

#[test]
fn a_token_of_several_groups_routes_by_group_field_and_dialed_number() {
    let server = two_groups();
    let shared = server.as_token(SHARED_TOKEN);
    let group_of = |call_id: &str| {
        let (status, call) = shared.get(&format!("/api/v1/calls/{call_id}"));
        assert_eq!(status, 200, "{call}");
        call["group"].clone()
    };
    let ring = |call_id: &str, to: &str| {
        json!({"id": format!("{call_id}-ring"), "call_id": call_id, "type": "ringing",
               "direction": "inbound", "from": "+14155550240", "to": to})
    };

    // The group field wins over the dialed number.
    let mut e = ring("r1", OUR_NUMBER);
    e["group"] = json!("sales");
    assert_eq!(shared.post_events(&e).0, 202);
    assert_eq!(group_of("r1"), "sales");

    // The dialed number, in any format.
    assert_eq!(shared.post_events(&ring("r2", "(415) 555-0299")).0, 202);
    assert_eq!(group_of("r2"), "sales");
    assert_eq!(shared.post_events(&ring("r3", OUR_NUMBER)).0, 202);
    assert_eq!(group_of("r3"), "support");
    // Neither: the token's first group.
    assert_eq!(shared.post_events(&ring("r4", "+14155550888")).0, 202);
    assert_eq!(group_of("r4"), "support");

    // Later events of a call follow it, with no group or number.
    let (status, body) = shared.post_events(&json!([
        {"id": "r2-ans", "call_id": "r2", "type": "answered", "agent": ann()},
        {"id": "r2-end", "call_id": "r2", "type": "ended", "reason": "completed"},
    ]));
    assert_eq!(status, 202, "{body}");
    let call = shared.wait_call("r2", |c| c["sync"] == "done");
    assert_eq!(call["group"], "sales");
    assert_eq!(call["state"], "ended");
    assert_eq!(
        server.ticket(s(&call["ticket_id"]))["subject"],
        "Sales call +14155550240"
    );
    assert_eq!(
        server.get("/api/v1/calls/r2").0,
        404,
        "support cannot see it"
    );

    // A group the token does not serve.
    let mut e = ring("r5", OUR_NUMBER);
    e["group"] = json!("billing");
    let (status, body) = shared.post_events(&e);
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "group");
    assert!(s(&body["message"]).contains("billing"), "{body}");
    let (status, body) = server.post_events(&json!([ring("r6", OUR_NUMBER), {
        "id": "r7-ring", "call_id": "r7", "type": "ringing", "direction": "inbound",
        "from": "+14155550240", "group": "sales"}]));
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "[1].group");
    assert_eq!(shared.get("/api/v1/calls/r5").0, 404);
    assert_eq!(
        shared.get("/api/v1/calls/r6").0,
        404,
        "the batch was refused"
    );
    // The shared token reads both groups' calls.
    let mut log = call_ids(&shared.get("/api/v1/calls").1);
    log.sort();
    assert_eq!(log, ["r1", "r2", "r3", "r4"]);
}
