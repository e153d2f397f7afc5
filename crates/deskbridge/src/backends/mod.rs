//! The helpdesk behind each connector group, built from `[backends.*]`.

pub mod zendesk;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use deskbridge_core::ports::Helpdesk;
use deskbridge_crm::BuiltinCrm;
use deskbridge_zendesk::{Auth, Budget, ClientConfig, ZendeskClient};

use crate::config::{BackendConfig, BackendKind, Config};

/// A backend ready for use.
#[derive(Clone)]
pub struct Backend {
    pub helpdesk: Arc<dyn Helpdesk>,
    pub builtin: bool,
    /// The Zendesk client, for `check --online`.
    pub zendesk: Option<Arc<ZendeskClient>>,
}

/// Builds every configured backend, plus `builtin`. Each Zendesk backend gets one
/// request budget, shared by all groups that use it.
pub fn build(config: &Config, crm: &BuiltinCrm) -> anyhow::Result<HashMap<String, Backend>> {
    let builtin = Backend {
        helpdesk: Arc::new(crm.clone()),
        builtin: true,
        zendesk: None,
    };
    let mut out = HashMap::from([("builtin".to_string(), builtin.clone())]);
    for (name, b) in &config.backends {
        let backend = match b.kind {
            BackendKind::Builtin => builtin.clone(),
            BackendKind::Zendesk => {
                let client = Arc::new(zendesk_client(b)?);
                let agents = config
                    .agents
                    .iter()
                    .filter_map(|a| Some((a.email.clone(), a.zendesk_id.as_deref()?.parse().ok()?)))
                    .collect();
                Backend {
                    helpdesk: Arc::new(zendesk::ZendeskHelpdesk::new(
                        client.clone(),
                        agents,
                        b.match_shared_numbers,
                    )),
                    builtin: false,
                    zendesk: Some(client),
                }
            }
        };
        out.insert(name.clone(), backend);
    }
    Ok(out)
}

pub fn zendesk_client(b: &BackendConfig) -> anyhow::Result<ZendeskClient> {
    let base_url = match (&b.base_url, &b.subdomain) {
        (Some(url), _) => url.clone(),
        (None, Some(sub)) => ClientConfig::subdomain_url(sub),
        (None, None) => anyhow::bail!("a Zendesk backend needs base_url or subdomain"),
    };
    let auth = match (&b.email, &b.api_token, &b.oauth_token) {
        (_, _, Some(token)) => Auth::OAuth {
            token: token.clone(),
        },
        (Some(email), Some(token), None) => Auth::ApiToken {
            email: email.clone(),
            token: token.clone(),
        },
        _ => anyhow::bail!("a Zendesk backend needs email and api_token, or oauth_token"),
    };
    let mut cfg = ClientConfig::new(&base_url, auth);
    cfg.timeout = Duration::from_secs(b.timeout_seconds);
    let budget = Arc::new(Budget::new(b.requests_per_minute));
    Ok(ZendeskClient::new(cfg, budget)?)
}
