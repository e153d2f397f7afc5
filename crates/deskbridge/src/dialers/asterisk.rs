//! Dials through Asterisk: an async `Originate` on the group's manager
//! connection (`deskbridge_adapters::ami::originate` builds it; its failures
//! come back as `OriginateResponse` events, which the AMI client commits).

use std::time::Duration;

use deskbridge_core::dial::Dial;

use super::NotPlaced;
use crate::adapters::ami::client::{Inbox, succeeded};
use crate::adapters::ami::originate;
use crate::config::AsteriskConfig;

/// How long the PBX has to accept the dial.
const PBX_ANSWER: Duration = Duration::from_secs(5);

pub(super) async fn place(
    inbox: &Inbox,
    settings: &AsteriskConfig,
    dial: &Dial,
) -> Result<(), NotPlaced> {
    let template = settings.agent_channel.as_deref().unwrap_or_default();
    let channel = deskbridge_core::templates::render_for_dial(template, dial)
        .map_err(|e| NotPlaced::Refused(format!("agent_channel: {e}")))?;
    let action = originate::originate(
        dial,
        &channel,
        settings.dial_context(),
        settings.dial_timeout_seconds(),
        &dial.call_id,
    );
    let answer = inbox
        .ask(action, PBX_ANSWER)
        .await
        .map_err(|e| NotPlaced::Unavailable(e.to_string()))?;
    if succeeded(&answer) {
        return Ok(());
    }
    Err(NotPlaced::Refused(format!(
        "the PBX refused the dial: {}; check [groups.asterisk] agent_channel and dial_context, and that the manager user has write = originate",
        answer.get("Message").unwrap_or("no reason given")
    )))
}
