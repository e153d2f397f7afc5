//! Pauses through Asterisk: a `QueuePause` on the group's manager connection
//! (`deskbridge_adapters::ami::queue` builds it). The port: it sends what the
//! core ordered and says how the PBX answered; it decides nothing.

use std::time::Duration;

use deskbridge_core::pause::PauseOrder;

use super::PauseError;
use crate::adapters::ami::client::{Inbox, succeeded};
use crate::adapters::ami::queue;

/// How long the PBX has to answer.
const PBX_ANSWER: Duration = Duration::from_secs(5);

pub(super) async fn send(inbox: &Inbox, order: &PauseOrder) -> Result<(), PauseError> {
    let id = format!("deskbridge-pause-{}", crate::agent_auth::random_secret());
    let answer = inbox
        .ask(queue::queue_pause(order, &id), PBX_ANSWER)
        .await
        .map_err(|e| PauseError::Unavailable(e.to_string()))?;
    if succeeded(&answer) {
        return Ok(());
    }
    Err(PauseError::PbxRefused(format!(
        "the PBX refused to {} {}: {}; check that {} is a member of a queue (agent_channel) and that the manager user has write = agent",
        if order.paused { "pause" } else { "resume" },
        order.interface,
        answer.get("Message").unwrap_or("no reason given"),
        order.interface,
    )))
}
