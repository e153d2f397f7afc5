//! An agent as a phone system names them: vocabulary shared by events,
//! conversations and calls (a leaf: it imports nothing of the core).

use serde::{Deserialize, Serialize};

/// The agent who answered (or was offered) the call, as the phone system knows
/// them. Any of the three may be missing; the agents directory maps them to a
/// helpdesk agent.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
}

impl AgentRef {
    pub fn is_empty(&self) -> bool {
        self.email.is_none() && self.name.is_none() && self.extension.is_none()
    }

    /// The same person, judged by whichever identifiers both sides carry.
    pub fn same_as(&self, other: &AgentRef) -> bool {
        fn eq(a: &Option<String>, b: &Option<String>) -> Option<bool> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.eq_ignore_ascii_case(b)),
                _ => None,
            }
        }
        eq(&self.email, &other.email)
            .or_else(|| eq(&self.extension, &other.extension))
            .or_else(|| eq(&self.name, &other.name))
            .unwrap_or(false)
    }

    /// A short label for comments and logs: name, else email, else extension.
    pub fn label(&self) -> String {
        match (&self.name, &self.email, &self.extension) {
            (Some(n), Some(e), _) => format!("{n} <{e}>"),
            (Some(n), None, Some(x)) => format!("{n} (ext. {x})"),
            (Some(n), None, None) => n.clone(),
            (None, Some(e), _) => e.clone(),
            (None, None, Some(x)) => format!("ext. {x}"),
            (None, None, None) => "unknown agent".to_string(),
        }
    }
}
