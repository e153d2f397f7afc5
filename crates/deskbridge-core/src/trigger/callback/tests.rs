//! One number's callback played through its life as the store writes it (the
//! core's decisions in, the stored id out), each write checked for the change
//! its triggers hear.

use serde_json::json;

use super::*;
use crate::callback::CLAIM_MINUTES;
use crate::decide::callback::tests::{CUSTOMER, call, t};
use crate::decide::callback::{claim, close_by_agent, follow, release};
use crate::event::Direction;
use crate::trigger::{Format, Request, Trigger, notifications, query};

const STORED: i64 = 7;

/// What the store does with a decided callback: the change it announces, and
/// the callback as stored (with its id).
fn write(decided: &Callback, last: &LastCall, at: DateTime<Utc>) -> (Change, Callback) {
    let change = callback_change(decided, STORED, last, at).unwrap();
    let stored = Callback {
        id: STORED,
        ..decided.clone()
    };
    (change, stored)
}

/// What the call decides about `open`, as written.
fn followed(call: &crate::Interaction, open: Option<&Callback>) -> Callback {
    follow(call, open)
        .and_then(|f| f.callback)
        .expect("the call changes the callback")
}

fn kind(change: &Change) -> String {
    format!("{}.{}", change.entity.as_str(), change.action.past())
}

#[test]
fn a_callbacks_life_is_one_create_then_edits_each_showing_it_as_written() {
    let no_ticket = LastCall::default();
    // A missed call opens it: new, so a create.
    let opened = followed(&call("m1", Direction::Inbound, 0, false), None);
    assert_eq!(callback_action(&opened), Action::Create);
    let (change, cb) = write(&opened, &no_ticket, t(2));
    assert_eq!(kind(&change), "callback.created");
    assert_eq!(change.order_key(), "callback:7");
    assert_eq!(
        change.ids,
        Ids {
            callback: Some("7".into()),
            ..Ids::default()
        }
    );
    assert_eq!(
        change.data,
        json!({
            "id": 7,
            "group": "sales",
            "phone": CUSTOMER,
            "queue": "support",
            "missed": 1,
            "first_missed_at": "2026-12-06T10:00:00Z",
            "last_missed_at": "2026-12-06T10:00:00Z",
            "ticket_id": null,
            "contact_id": null,
            "attempts": 0,
            "attempts_allowed": 3,
            "due_at": "2026-12-06T11:00:00Z",
            "claim": null,
            "closed": null,
        })
    );

    // A second missed call folds in: an edit, now at 2.
    let folded = followed(&call("m2", Direction::Inbound, 10, false), Some(&cb));
    let (change, cb) = write(&folded, &no_ticket, t(12));
    assert_eq!(kind(&change), "callback.updated");
    assert_eq!(change.data["missed"], 2);
    assert_eq!(change.order_key(), "callback:7");

    // By now the last missed call was logged: its ticket and contact are named.
    let logged = LastCall {
        ticket_id: Some("42".into()),
        contact_id: Some("5".into()),
    };
    let claimed = claim(&cb, "ann@acme.com", "Ann", t(20)).unwrap();
    let (change, cb) = write(&claimed, &logged, t(20));
    assert_eq!(kind(&change), "callback.updated");
    assert_eq!(
        change.ids,
        Ids {
            account: Some("5".into()),
            case: Some("42".into()),
            callback: Some("7".into()),
            ..Ids::default()
        }
    );
    assert_eq!(
        (
            &change.data["claim"]["agent"],
            &change.data["ticket_id"],
            &change.data["contact_id"]
        ),
        (&json!("ann@acme.com"), &json!("42"), &json!("5"))
    );
    let released = release(&cb, "ann@acme.com").unwrap();
    let (change, cb) = write(&released, &logged, t(21));
    assert_eq!(
        (kind(&change), &change.data["claim"]),
        ("callback.updated".into(), &json!(null))
    );

    // Ann calls back and the customer answers: closed as reached, an edit.
    let reached = followed(&call("out", Direction::Outbound, 30, true), Some(&cb));
    let (change, _) = write(&reached, &logged, t(31));
    assert_eq!(kind(&change), "callback.updated");
    assert_eq!(
        change.data["closed"],
        json!({
            "at": "2026-12-06T10:31:00Z",
            "reason": {
                "kind": "reached",
                "direction": "outbound",
                "agent": {"email": "ann@acme.com", "name": "Ann"},
            },
            "call_id": "out",
        })
    );
}

#[test]
fn attempts_and_closes_by_an_agent_are_edits_too() {
    let cb = Callback {
        id: STORED,
        ..followed(&call("m1", Direction::Inbound, 0, false), None)
    };
    let attempt = followed(&call("try1", Direction::Outbound, 10, false), Some(&cb));
    let (change, cb) = write(&attempt, &LastCall::default(), t(12));
    assert_eq!(
        (
            kind(&change),
            &change.data["attempts"],
            &change.data["closed"]
        ),
        ("callback.updated".into(), &json!(1), &json!(null))
    );
    let closed = close_by_agent(&cb, "bob@acme.com", "wrote in by email", t(15)).unwrap();
    let (change, _) = write(&closed, &LastCall::default(), t(15));
    assert_eq!(kind(&change), "callback.updated");
    assert_eq!(change.data["closed"]["reason"]["kind"], "by_agent");
}

#[test]
fn a_claim_is_shown_only_while_it_holds() {
    let cb = Callback {
        id: STORED,
        ..followed(&call("m1", Direction::Inbound, 0, false), None)
    };
    let claimed = claim(&cb, "ann@acme.com", "Ann", t(5)).unwrap();
    let last = LastCall::default();
    assert!(CallbackShown::new(&claimed, &last, t(6)).claim.is_some());
    // Written again long after (another missed call folding in): the lapsed
    // claim is not shown as holding.
    let lapsed = t(5 + CLAIM_MINUTES);
    assert_eq!(CallbackShown::new(&claimed, &last, lapsed).claim, None);
}

#[test]
fn a_query_trigger_gets_the_callback_its_ticket_and_its_contact() {
    let opened = followed(&call("m1", Direction::Inbound, 0, false), None);
    let last = LastCall {
        ticket_id: Some("42".into()),
        contact_id: None,
    };
    let change = callback_change(&opened, 9, &last, t(2)).unwrap();
    let triggers = [
        Trigger {
            entity: Entity::Callback,
            action: Action::Create,
            url: "https://crm.example/cb?key=x".into(),
            format: Format::Query,
        },
        // Not heard: another action, another entity.
        Trigger {
            entity: Entity::Callback,
            action: Action::Edit,
            url: "https://crm.example/edit".into(),
            format: Format::Query,
        },
        Trigger {
            entity: Entity::Ticket,
            action: Action::Create,
            url: "https://crm.example/t".into(),
            format: Format::Query,
        },
    ];
    let sent = notifications(&triggers, &change);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].order_key, "callback:9");
    assert_eq!(
        sent[0].request,
        Request::Get {
            url: "https://crm.example/cb?key=x&AccountID=&CaseID=42&CallbackID=9".into()
        }
    );
    assert_eq!(
        query::url("https://crm.example/cb", Entity::Callback, &change.ids),
        "https://crm.example/cb?AccountID=&CaseID=42&CallbackID=9"
    );
}
