//! The call as `GET /api/v1/calls/{id}` shows it (DESIGN.md, "Calls").

use std::fmt;
use std::ops::Deref;

use deskbridge_core::{Outcome, SyncStatus};
use serde_json::Value;

/// A call's view, read the way a user checks a call: its ticket, its contact,
/// whether its helpdesk work is done. The JSON stays reachable (`call["..."]`
/// through `Deref`) for what has no accessor.
#[derive(Debug, Clone, PartialEq)]
pub struct CallView(pub Value);

impl CallView {
    /// The call's helpdesk work; panics on a view without a known `sync`.
    pub fn sync(&self) -> SyncStatus {
        serde_json::from_value(self.0["sync"].clone())
            .unwrap_or_else(|_| panic!("the call has no sync status: {}", self.0))
    }

    pub fn is_synced(&self) -> bool {
        self.sync() == SyncStatus::Done
    }

    /// The ticket the call was logged on, if any yet.
    pub fn ticket_id(&self) -> Option<&str> {
        self.0["ticket_id"].as_str()
    }

    /// The ticket, where the test needs one: panics naming the call without.
    pub fn ticket(&self) -> &str {
        self.ticket_id()
            .unwrap_or_else(|| panic!("the call has no ticket: {}", self.0))
    }

    /// The contact the call was identified as, if any yet.
    pub fn contact_id(&self) -> Option<&str> {
        self.0["contact_id"].as_str()
    }

    /// The contact, where the test needs one.
    pub fn contact(&self) -> &str {
        self.contact_id()
            .unwrap_or_else(|| panic!("the call has no contact: {}", self.0))
    }

    /// How the call ended, once it has.
    pub fn outcome(&self) -> Option<Outcome> {
        serde_json::from_value(self.0["outcome"].clone()).ok()
    }

    /// A decision the core recorded (`contact_rule`, `ticket_rule`, …).
    pub fn decision(&self, name: &str) -> Option<&str> {
        self.0["decisions"][name].as_str()
    }

    /// The record of the step named `step` (`open_ticket`, `log_call`, …).
    pub fn step(&self, step: &str) -> Option<&Value> {
        self.0["steps"]
            .as_array()
            .and_then(|steps| steps.iter().find(|s| s["step"] == step))
    }

    pub fn into_json(self) -> Value {
        self.0
    }
}

impl Deref for CallView {
    type Target = Value;

    fn deref(&self) -> &Value {
        &self.0
    }
}

impl fmt::Display for CallView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Value> for CallView {
    fn from(v: Value) -> CallView {
        CallView(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_synced_call_reads_as_its_ticket_and_contact() {
        let call = CallView(json!({
            "call_id": "c1", "sync": "done", "ticket_id": "42", "contact_id": "7",
            "outcome": "answered", "decisions": {"ticket_rule": "new_ticket"},
            "steps": [{"step": "open_ticket", "outcome": {"ticket_id": "42"}}],
        }));
        assert!(call.is_synced());
        assert_eq!(call.ticket(), "42");
        assert_eq!(call.contact_id(), Some("7"));
        assert_eq!(call.outcome(), Some(Outcome::Answered));
        assert_eq!(call.decision("ticket_rule"), Some("new_ticket"));
        assert_eq!(
            call.step("open_ticket").map(|s| &s["outcome"]["ticket_id"]),
            Some(&json!("42"))
        );
        assert_eq!(call["call_id"], "c1");
    }

    #[test]
    fn a_pending_call_has_no_ticket_yet() {
        let call = CallView(json!({"sync": "pending", "ticket_id": null}));
        assert_eq!(call.sync(), SyncStatus::Pending);
        assert_eq!(call.ticket_id(), None);
        assert_eq!(call.outcome(), None);
    }
}
