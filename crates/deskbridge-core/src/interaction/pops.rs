//! When a call pops and for whom: facts of the call (its plan, its attributes,
//! who rang and answered), which `next_step` reads to put a due pop first.

use super::Interaction;
use crate::event::{AgentRef, Direction};
use crate::pop::PopOn;

/// When this call pops: the call's `pop_incoming` attribute (`ringing`,
/// `answered`, `off`; `true` for the group's moment, or `answered` where the
/// group pops nothing; `false`), else the group's `pop_on`.
pub fn pop_moment(call: &Interaction) -> PopOn {
    let group = call.plan.pop_on;
    let Some(value) = call.attribute(&call.plan.pop_incoming_attribute) else {
        return group;
    };
    match value.to_ascii_lowercase().as_str() {
        "ringing" => PopOn::Ringing,
        "answered" => PopOn::Answered,
        "off" | "false" | "no" | "0" => PopOn::Off,
        "true" | "yes" | "1" | "on" if group == PopOn::Off => PopOn::Answered,
        _ => group,
    }
}

/// The next agent of the call to pop for, if one is due: an agent whose phone
/// rang (on ringing) or who answered, not popped yet. Only inbound calls pop, and
/// only until they end (a pop is worth showing only while the agent is on it).
pub fn pop_due(call: &Interaction) -> Option<&AgentRef> {
    if call.direction != Direction::Inbound || call.ended_at.is_some() {
        return None;
    }
    let not_popped = |a: &&AgentRef| !call.popped.iter().any(|p| p.same_as(a));
    match pop_moment(call) {
        PopOn::Off => None,
        // An agent who answered without a ringing event naming them pops too.
        PopOn::Ringing => call.rang.iter().chain(&call.agents).find(not_popped),
        PopOn::Answered => call.agents.iter().find(not_popped),
    }
}
