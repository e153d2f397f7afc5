//! What every request handler and worker shares: the store, the connector groups
//! with their helpdesks, the agents directory and this instance. Built once at start
//! (`app::start`) and read-only afterwards.

use std::sync::Arc;

use deskbridge_core::decide::DirectoryAgent;
use deskbridge_core::dialing::Dialing;
use deskbridge_core::ports::Helpdesk;
use deskbridge_core::{CallPlan, Policy, Region, Templates};
use deskbridge_crm::BuiltinCrm;
use deskbridge_store::{InstanceRecord, Store};

/// A connector group: who may send events for it, its numbers, its helpdesk and
/// how its calls are handled.
pub struct Group {
    pub name: String,
    pub tokens: Vec<String>,
    /// The group's own numbers, E.164.
    pub numbers: Vec<String>,
    pub policy: Policy,
    /// The policy's templates, compiled once.
    pub templates: Templates,
    /// The part of the policy a new call of the group starts under.
    pub plan: CallPlan,
    pub region: Region,
    pub helpdesk: Arc<dyn Helpdesk>,
    /// The records of the group's backend when it is a built-in CRM (its
    /// `/api/v1/crm/` is available), scoped to that backend.
    pub crm: Option<BuiltinCrm>,
    /// The block list and outbound caller-id rules a PBX is answered with.
    pub dialing: Dialing,
    /// Twilio signs its callbacks for this group with it (a secret).
    pub twilio_auth_token: Option<String>,
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens are secrets: never printed.
        f.debug_struct("Group")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Shared by every request handler and worker.
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub groups: Vec<Arc<Group>>,
    pub directory: Vec<DirectoryAgent>,
    /// This instance, as other instances see it.
    pub instance: InstanceRecord,
    pub max_body_bytes: usize,
    /// How long a request's body may take to arrive (`server.body_timeout_seconds`).
    pub body_timeout: std::time::Duration,
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// `[server] public_url`, without a trailing `/`: the address Twilio signs.
    pub public_url: Option<String>,
}

impl AppState {
    pub fn group(&self, name: &str) -> Option<&Arc<Group>> {
        self.groups.iter().find(|g| g.name == name)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use deskbridge_zendesk::{Auth, Budget, ClientConfig, ZendeskClient};

    use super::*;
    use crate::backends::zendesk::ZendeskHelpdesk;

    /// A group whose helpdesk is never called (a Zendesk client for an address
    /// nobody listens on).
    pub(crate) fn group(name: &str, token: &str) -> Group {
        let auth = Auth::OAuth {
            token: "unused".into(),
        };
        let client = ZendeskClient::new(
            ClientConfig::new("http://127.0.0.1:9", auth),
            Arc::new(Budget::new(60)),
        )
        .expect("a client");
        Group {
            name: name.into(),
            tokens: vec![token.into()],
            numbers: Vec::new(),
            policy: Policy::default(),
            templates: Templates::compile(&Policy::default(), "").expect("the defaults compile"),
            plan: CallPlan::default(),
            region: Region::US,
            helpdesk: Arc::new(ZendeskHelpdesk::new(
                Arc::new(client),
                Default::default(),
                false,
            )),
            crm: None,
            dialing: Dialing::default(),
            twilio_auth_token: None,
        }
    }

    #[test]
    fn a_groups_debug_output_names_it_but_never_shows_its_tokens() {
        let g = group("support", "secret-token-0123456789");
        let printed = format!("{g:?}");
        assert!(printed.contains("support"), "{printed}");
        assert!(!printed.contains("secret-token"), "{printed}");
    }
}
