//! The backend against the Zendesk emulator, where a test needs what only
//! the crate sees (the agent lookup).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use deskbridge_zendesk::{Auth, Budget, ClientConfig, ZendeskClient};
use zendesk_emulator::{Emulator, EmulatorConfig};

use super::*;

const LOOKUP: &str = "GET /api/v2/users/search";

/// The backend on the emulated account, with no agent known in advance.
fn helpdesk_on(zd: &zendesk_emulator::RunningEmulator) -> ZendeskHelpdesk {
    let auth = Auth::ApiToken {
        email: "admin@acme.com".into(),
        token: "emulator-token".into(),
    };
    let client = ZendeskClient::new(
        ClientConfig::new(&zd.base_url, auth),
        Arc::new(Budget::new(6000)),
    )
    .unwrap();
    ZendeskHelpdesk::new(Arc::new(client), HashMap::new(), false)
}

#[tokio::test]
async fn an_agent_is_looked_up_once_however_many_ask_at_once() {
    let mut cfg = EmulatorConfig::new("admin@acme.com", "emulator-token");
    // Slow enough that every ask arrives while the first lookup is out.
    cfg.latency = Duration::from_millis(100);
    let zd = Emulator::new(cfg).start("127.0.0.1:0").await.unwrap();
    let ann = zd.seed_agent("ann@acme.com", "Ann Example");
    let helpdesk = helpdesk_on(&zd);

    // A failed lookup is not remembered: the next ask tries again.
    zd.set_faults(1.0, Duration::ZERO);
    assert!(matches!(
        helpdesk.agent_id("ann@acme.com").await,
        Err(HelpdeskError::Transient(_))
    ));
    zd.set_faults(0.0, Duration::from_millis(100));
    let before = zd.stats().endpoints.get(LOOKUP).copied().unwrap_or(0);

    let asks = (0..8).map(|i| {
        let email = match i % 2 {
            0 => "ann@acme.com",
            _ => "Ann@Acme.com",
        };
        helpdesk.agent_id(email)
    });
    for id in futures_util::future::join_all(asks).await {
        assert_eq!(id, Ok(Some(ann)));
    }
    let lookups = zd.stats().endpoints.get(LOOKUP).copied().unwrap_or(0) - before;
    assert_eq!(lookups, 1, "lookups for 8 concurrent asks");
    // And later asks cost nothing.
    assert_eq!(helpdesk.agent_id("ann@acme.com").await, Ok(Some(ann)));
    assert_eq!(zd.stats().endpoints.get(LOOKUP).copied(), Some(before + 1));
}

fn new_ticket_for(requester: u64, body: &str) -> NewTicket {
    NewTicket {
        channel: TicketChannel::Call,
        subject: "Inbound call +14155550100".into(),
        requester_id: Some(requester.to_string()),
        priority: deskbridge_core::policy::Priority::Normal,
        ticket_type: deskbridge_core::policy::TicketType::Question,
        status: deskbridge_core::policy::TicketStatus::New,
        tags: Vec::new(),
        ticket_form: None,
        group: None,
        product: None,
        custom_fields: Vec::new(),
        assignee: None,
        comment: Some(NewComment::private(body.into())),
        voice: None,
        display_to: None,
    }
}

/// Issue 9, point 5: the create's answer was lost, and the retry rebuilds
/// its body from a call that changed meanwhile (a recording arrived). Zendesk
/// refuses the key with the other body; the first ticket is found by its
/// external id, whether the retry knows it is one or not.
#[tokio::test]
async fn a_create_retried_with_another_body_returns_the_first_ticket() {
    let zd = Emulator::new(EmulatorConfig::new("admin@acme.com", "emulator-token"))
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let caller = zd.seed_user(zendesk_emulator::SeedUser::end_user(
        "Caller",
        "+14155550100",
    ));
    let helpdesk = helpdesk_on(&zd);
    let key = IdempotencyKey::for_step("support", "c1", "open_ticket");

    zd.lose_ticket_create_answers(1);
    let lost = helpdesk
        .create_ticket(&new_ticket_for(caller, "Call, no recording yet"), &key)
        .await;
    assert!(matches!(lost, Err(HelpdeskError::Transient(_))), "{lost:?}");
    let later = new_ticket_for(caller, "Call\nRecording: https://pbx/r.mp3");
    // As a first try (the key alone): Zendesk refuses it, the ticket is found.
    let again = helpdesk.create_ticket(&later, &key).await.unwrap();
    // As a retry: looked up before sending.
    let retried = helpdesk
        .create_ticket(&later, &key.clone().retried(true))
        .await
        .unwrap();
    assert_eq!(again.id, retried.id);
    let state = zd.state();
    let ours: Vec<_> = state
        .tickets
        .iter()
        .filter(|t| t.requester_id == caller)
        .collect();
    assert_eq!(ours.len(), 1, "one ticket");
    assert_eq!(ours[0].id.to_string(), again.id);
}
