//! The helpdesk behind each connector group, built from `[backends.*]`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use deskbridge_core::WorkLane;
use deskbridge_core::ports::Helpdesk;
use deskbridge_crm::BuiltinCrm;
use deskbridge_store::{SendCount, Store};
use deskbridge_zendesk::{
    Auth, Bucket, Budget, ClientConfig, Counted, Limit, SharedBudget, ZendeskClient,
};

use deskbridge_freshdesk::{ClientConfig as FreshdeskConfig, FreshdeskClient};

use crate::config::{BackendConfig, BackendKind, Config};

/// A backend ready for use.
#[derive(Clone)]
pub struct Backend {
    pub helpdesk: Arc<dyn Helpdesk>,
    /// A built-in backend's records (its `/api/v1/crm/`); `None` for Zendesk.
    pub crm: Option<BuiltinCrm>,
    /// The Zendesk client, for `check --online`.
    pub zendesk: Option<Arc<ZendeskClient>>,
    /// Where an agent opens the backend's records.
    pub links: RecordLinks,
    /// The account's local mirror (`mirror = true`), whose sync task `serve`
    /// starts.
    pub mirror: Option<Arc<deskbridge_mirror::Mirror>>,
}

/// Builds every configured backend, plus `builtin`. Each built-in backend is its
/// own set of records (`crm_of(name)`: the CRM scoped to that backend's name), so
/// two groups with two built-in backends never see each other's contacts. Each
/// Zendesk backend gets one request budget, shared by all groups that use it, and,
/// when instances share the database, by every instance.
///
/// `lane`: the calls this process works for. A history import's Zendesk clients
/// send every request in the budget's bulk lane.
pub fn build(
    config: &Config,
    crm_of: &dyn Fn(&str) -> BuiltinCrm,
    store: &Arc<dyn Store>,
    lane: WorkLane,
) -> anyhow::Result<HashMap<String, Backend>> {
    let builtin = |name: &str| {
        let crm = crm_of(name);
        Backend {
            helpdesk: Arc::new(crm.clone()),
            crm: Some(crm),
            zendesk: None,
            links: RecordLinks::Builtin,
            mirror: None,
        }
    };
    let mut out = HashMap::from([("builtin".to_string(), builtin("builtin"))]);
    for (name, b) in &config.backends {
        let backend = match b.kind {
            BackendKind::Builtin => builtin(name),
            BackendKind::Zendesk => {
                let shared = store.is_shared().then(|| StoreBudget {
                    store: store.clone(),
                    account: account(b),
                });
                let mut client = zendesk_client(b, shared)?;
                if lane == WorkLane::Bulk {
                    client = client.bulk_only();
                }
                let client = Arc::new(client);
                let agents = config
                    .agents
                    .iter()
                    .filter_map(|a| Some((a.email.clone(), a.zendesk_id.as_deref()?.parse().ok()?)))
                    .collect();
                let mirror = mirror_of(name, b, store, || {
                    Arc::new(deskbridge_zendesk_helpdesk::mirror::Exports::new(
                        client.clone(),
                        config.region(),
                    ))
                });
                let mut helpdesk = deskbridge_zendesk_helpdesk::ZendeskHelpdesk::new(
                    client.clone(),
                    agents,
                    b.match_shared_numbers,
                );
                if let Some(mirror) = &mirror {
                    helpdesk = helpdesk.with_mirror(mirror.clone());
                }
                Backend {
                    helpdesk: Arc::new(helpdesk),
                    mirror,
                    crm: None,
                    zendesk: Some(client),
                    links: RecordLinks::Zendesk {
                        base_url: base_url(b).unwrap_or_default(),
                    },
                }
            }
            BackendKind::Freshdesk => {
                let shared = store.is_shared().then(|| StoreBudget {
                    store: store.clone(),
                    account: freshdesk_url(b).unwrap_or_default(),
                });
                let mut client = freshdesk_client(b, shared)?;
                if lane == WorkLane::Bulk {
                    client = client.bulk_only();
                }
                let client = Arc::new(client);
                let mirror = mirror_of(name, b, store, || {
                    Arc::new(deskbridge_freshdesk_helpdesk::mirror::Lists::new(
                        client.clone(),
                        config.region(),
                    ))
                });
                let mut helpdesk = deskbridge_freshdesk_helpdesk::FreshdeskHelpdesk::new(client)
                    .with_call_in_description(b.call_in_description)
                    .with_region(config.region());
                if let Some(mirror) = &mirror {
                    helpdesk = helpdesk.with_mirror(mirror.clone());
                }
                Backend {
                    helpdesk: Arc::new(helpdesk),
                    mirror,
                    crm: None,
                    zendesk: None,
                    links: RecordLinks::Freshdesk {
                        base_url: freshdesk_url(b)?,
                    },
                }
            }
        };
        out.insert(name.clone(), backend);
    }
    Ok(out)
}

/// The backend's mirror when it keeps one (`mirror = true`), fed by `source`.
fn mirror_of(
    name: &str,
    b: &BackendConfig,
    store: &Arc<dyn Store>,
    source: impl FnOnce() -> Arc<dyn deskbridge_mirror::MirrorSource>,
) -> Option<Arc<deskbridge_mirror::Mirror>> {
    b.mirror.then(|| {
        Arc::new(deskbridge_mirror::Mirror::new(
            name,
            store.clone(),
            source(),
            Duration::from_secs(b.mirror_poll_seconds),
        ))
    })
}

/// The budget's key: one per Zendesk account.
fn account(b: &BackendConfig) -> String {
    b.base_url
        .clone()
        .or_else(|| b.subdomain.as_deref().map(ClientConfig::subdomain_url))
        .unwrap_or_default()
}

/// A helpdesk account's budget kept in the shared database.
pub struct StoreBudget {
    store: Arc<dyn Store>,
    account: String,
}

#[async_trait::async_trait]
impl SharedBudget for StoreBudget {
    async fn take(
        &self,
        bucket: Bucket,
        capacity: f64,
        per_second: f64,
        floor: f64,
    ) -> Option<Duration> {
        let key = match bucket {
            Bucket::Account => self.account.clone(),
            // The routing lane's share of the same account, kept beside it.
            Bucket::Lookups => format!("{} lookups", self.account),
        };
        match self
            .store
            .take_budget(&key, capacity, per_second, floor)
            .await
        {
            Ok(Some(wait)) => wait,
            // Not shared after all: nothing to wait for here.
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "cannot reach the shared request budget; waiting 1 s");
                Some(Duration::from_secs(1))
            }
        }
    }

    async fn pause(&self, retry_after: Duration) {
        let until = chrono::Utc::now().timestamp_millis() + retry_after.as_millis() as i64;
        if let Err(e) = self.store.pause_budget(&self.account, until).await {
            tracing::warn!(error = %e, "cannot share the Retry-After pause with other instances");
        }
    }

    async fn admit(&self, counts: &[(Counted, Limit)]) -> Option<Result<(), (usize, Duration)>> {
        let counts: Vec<SendCount> = counts
            .iter()
            .map(|(counted, limit)| SendCount {
                key: counted.key(),
                max: u32::try_from(limit.updates).unwrap_or(u32::MAX),
                window: limit.window,
            })
            .collect();
        match self.store.admit_sends(&self.account, &counts).await {
            Ok(answer) => answer,
            Err(e) => {
                // Keeping this process's own count is the better half of
                // keeping the limits; Zendesk's 429 covers the rest.
                tracing::warn!(error = %e, "cannot reach the shared endpoint counts; counting here");
                None
            }
        }
    }
}

/// The Zendesk account's address.
fn base_url(b: &BackendConfig) -> anyhow::Result<String> {
    Ok(match (&b.base_url, &b.subdomain) {
        (Some(url), _) => url.trim_end_matches('/').to_string(),
        (None, Some(sub)) => ClientConfig::subdomain_url(sub),
        (None, None) => anyhow::bail!("a Zendesk backend needs base_url or subdomain"),
    })
}

/// Where an agent opens a backend's contacts and tickets: Zendesk's agent
/// workspace, or the built-in CRM's API on this server (relative links, since
/// the agent page is served from the same origin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordLinks {
    Zendesk {
        base_url: String,
    },
    /// Freshdesk's agent UI (`/a/contacts/{id}`, `/a/tickets/{id}`).
    Freshdesk {
        base_url: String,
    },
    Builtin,
}

impl RecordLinks {
    pub fn contact(&self, id: &str) -> String {
        match self {
            RecordLinks::Zendesk { base_url } => format!("{base_url}/agent/users/{id}"),
            RecordLinks::Freshdesk { base_url } => format!("{base_url}/a/contacts/{id}"),
            RecordLinks::Builtin => format!("/api/v1/crm/contacts/{id}"),
        }
    }

    pub fn ticket(&self, id: &str) -> String {
        match self {
            RecordLinks::Zendesk { base_url } => format!("{base_url}/agent/tickets/{id}"),
            RecordLinks::Freshdesk { base_url } => format!("{base_url}/a/tickets/{id}"),
            RecordLinks::Builtin => format!("/api/v1/crm/tickets/{id}"),
        }
    }
}

pub fn zendesk_client(
    b: &BackendConfig,
    shared: Option<StoreBudget>,
) -> anyhow::Result<ZendeskClient> {
    let base_url = base_url(b)?;
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
    cfg.ticket_updates.per_account.updates = b.ticket_updates_per_minute as usize;
    let budget = match shared {
        Some(s) => Budget::shared(b.requests_per_minute(), Box::new(s)),
        None => Budget::new(b.requests_per_minute()),
    };
    let budget = Arc::new(budget.with_lookup_percent(b.lookup_percent));
    Ok(ZendeskClient::new(cfg, budget)?)
}

/// The Freshdesk account's address.
fn freshdesk_url(b: &BackendConfig) -> anyhow::Result<String> {
    Ok(match (&b.base_url, &b.domain) {
        (Some(url), _) => url.trim_end_matches('/').to_string(),
        (None, Some(domain)) => FreshdeskConfig::domain_url(domain),
        (None, None) => anyhow::bail!("a Freshdesk backend needs domain or base_url"),
    })
}

pub fn freshdesk_client(
    b: &BackendConfig,
    shared: Option<StoreBudget>,
) -> anyhow::Result<FreshdeskClient> {
    let Some(api_key) = &b.api_key else {
        anyhow::bail!("a Freshdesk backend needs api_key");
    };
    let mut cfg = FreshdeskConfig::new(&freshdesk_url(b)?, api_key, b.freshdesk_plan().limits());
    cfg.timeout = Duration::from_secs(b.timeout_seconds);
    let budget = match shared {
        Some(s) => Budget::shared(b.requests_per_minute(), Box::new(s)),
        None => Budget::new(b.requests_per_minute()),
    };
    let budget = Arc::new(budget.with_lookup_percent(b.lookup_percent));
    Ok(FreshdeskClient::new(cfg, budget)?)
}
