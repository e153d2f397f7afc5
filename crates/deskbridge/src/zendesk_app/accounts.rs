//! The Zendesk accounts of the configured backends: who they sign in, and who
//! their agents are.
//!
//! A sign-in is a token Zendesk minted on the first load of one of the app's
//! locations (signed URLs). Which installation it names is read first, then
//! the account's installations are listed (an installation switched off signs
//! no one in from that moment) and the app's public key fetched (kept; fetched
//! again once when a token does not verify, as after Zendesk rotates it).
//! The token is then checked ([`deskbridge_zendesk::zaf::verify`]), and the
//! user it names read from Zendesk: only an active agent or admin, not
//! suspended, with an email, is an agent here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use deskbridge_zendesk::types::{AppInstallation, User};
use deskbridge_zendesk::zaf::{self, Expected, ZafRefused};
use deskbridge_zendesk::{ZendeskClient, ZendeskError};

use crate::agent_auth::origin_of;
use crate::state::ZendeskAgent;

/// One Zendesk account, as one backend of the config reaches it.
pub struct ZendeskAccount {
    /// The backend's key in `[backends]`.
    pub backend: String,
    /// `acme.zendesk.com`: what Zendesk's tokens name as their issuer.
    pub host: String,
    /// The origins Zendesk's agent interface runs at (the app's pages are
    /// framed by them): `https://acme.zendesk.com`, and `base_url`'s.
    pub origins: Vec<String>,
    pub client: Arc<ZendeskClient>,
    /// The groups whose backend this is: a Zendesk agent works in them.
    pub groups: Vec<String>,
    /// The user field holding an agent's extension (`agent_extension_field`).
    pub extension_field: Option<String>,
    /// App id → its public key, PEM.
    keys: Mutex<HashMap<u64, Arc<Vec<u8>>>>,
    /// The app id of deskbridge's app as installed in the account (0: not
    /// known yet), learned from its installation at a sign-in or a listing.
    app_id: std::sync::atomic::AtomicU64,
}

impl ZendeskAccount {
    pub fn new(
        backend: &str,
        host: &str,
        origins: Vec<String>,
        client: Arc<ZendeskClient>,
        groups: Vec<String>,
    ) -> ZendeskAccount {
        ZendeskAccount {
            backend: backend.to_string(),
            host: host.to_ascii_lowercase(),
            origins,
            client,
            groups,
            extension_field: None,
            keys: Mutex::new(HashMap::new()),
            app_id: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// deskbridge's app id in this account, once known.
    pub fn app_id(&self) -> Option<u64> {
        match self.app_id.load(std::sync::atomic::Ordering::Relaxed) {
            0 => None,
            id => Some(id),
        }
    }

    fn learn_app(&self, app_id: u64) {
        let before = self
            .app_id
            .swap(app_id, std::sync::atomic::Ordering::Relaxed);
        if before != app_id {
            tracing::info!(backend = %self.backend, app_id, "deskbridge's Zendesk app is installed: calls on existing tickets become call records of it");
        }
    }

    /// Learns deskbridge's app id from the account's installations (the
    /// enabled one `ours` recognizes).
    pub async fn find_app(
        &self,
        ours: &(dyn Fn(&AppInstallation) -> bool + Sync),
    ) -> Result<Option<u64>, ZendeskError> {
        let installed = self.client.app_installations().await?;
        let app = installed
            .iter()
            .find(|i| i.enabled && ours(i))
            .map(|i| i.app_id);
        if let Some(app) = app {
            self.learn_app(app);
        }
        Ok(app)
    }

    /// Reads agents' extensions from the user field `key`.
    pub fn with_extension_field(mut self, key: Option<String>) -> ZendeskAccount {
        self.extension_field = key;
        self
    }

    fn expected(&self) -> Expected<'_> {
        Expected {
            account_host: &self.host,
        }
    }

    /// The agent `user` is here, if they may work: an active agent or admin,
    /// not suspended, with an email.
    pub fn agent_of(&self, user: &User) -> Option<ZendeskAgent> {
        let email = user.email.as_deref()?.trim().to_ascii_lowercase();
        (user.is_working_agent() && !email.is_empty()).then(|| ZendeskAgent {
            account: self.host.clone(),
            user_id: user.id,
            email,
            name: user.name.clone(),
            extension: self.extension_of(user),
            groups: self.groups.clone(),
        })
    }

    /// The agent's extension, from the user field the config names (text, or
    /// a number).
    fn extension_of(&self, user: &User) -> Option<String> {
        let value = user
            .user_fields
            .as_ref()?
            .get(self.extension_field.as_deref()?)?;
        let text = match value {
            serde_json::Value::String(s) => s.trim().to_string(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => return None,
        };
        (!text.is_empty()).then_some(text)
    }

    /// The user `user_id` as an agent now, asking Zendesk: `None` when they
    /// are no longer one (removed, suspended, made an end user).
    pub async fn confirm(&self, user_id: u64) -> Result<Option<ZendeskAgent>, ZendeskError> {
        Ok(self
            .client
            .show_user(user_id)
            .await?
            .and_then(|u| self.agent_of(&u)))
    }

    /// Every agent and admin of the account who may work (the directory).
    pub async fn agents(&self) -> Result<Vec<ZendeskAgent>, ZendeskError> {
        Ok(self
            .client
            .list_agents()
            .await?
            .iter()
            .filter_map(|u| self.agent_of(u))
            .collect())
    }

    async fn key(&self, app_id: u64, fresh: bool) -> Result<Arc<Vec<u8>>, ZendeskError> {
        if !fresh && let Some(key) = self.lock_keys().get(&app_id) {
            return Ok(key.clone());
        }
        let key = Arc::new(self.client.app_public_key(app_id).await?);
        self.lock_keys().insert(app_id, key.clone());
        Ok(key)
    }

    fn lock_keys(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Vec<u8>>>> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Signs in the user of `token`, a token Zendesk minted for an
    /// installation of deskbridge's app (`ours` tells which installations are).
    async fn sign_in(
        &self,
        token: &str,
        installation: u64,
        ours: &(dyn Fn(&AppInstallation) -> bool + Sync),
    ) -> Result<ZendeskAgent, SignInFailed> {
        let installed = self.client.app_installations().await?;
        let enabled: Vec<&AppInstallation> =
            installed.iter().filter(|i| i.enabled && ours(i)).collect();
        let app_id = enabled
            .iter()
            .find(|i| i.id == installation)
            .map(|i| i.app_id)
            .ok_or(SignInFailed::Refused(ZafRefused::UnknownInstallation(
                installation,
            )))?;
        let ids: Vec<u64> = enabled.iter().map(|i| i.id).collect();
        let mut key = self.key(app_id, false).await?;
        let mut verified = zaf::verify(token, &key, &self.expected(), &ids);
        if verified == Err(ZafRefused::BadSignature) {
            // The key may have changed since it was kept: ask once more.
            key = self.key(app_id, true).await?;
            verified = zaf::verify(token, &key, &self.expected(), &ids);
        }
        let signed = verified?;
        self.learn_app(app_id);
        self.confirm(signed.user_id)
            .await?
            .ok_or(SignInFailed::NotAnAgent(signed.user_id))
    }
}

/// Why a token signed no one in.
#[derive(Debug, thiserror::Error)]
pub enum SignInFailed {
    #[error("no Zendesk backend here is the account the token names")]
    UnknownAccount,
    #[error(transparent)]
    Refused(#[from] ZafRefused),
    #[error("Zendesk user {0} is not an active agent with an email")]
    NotAnAgent(u64),
    #[error("Zendesk did not answer: {0}")]
    Zendesk(#[from] ZendeskError),
}

/// Every Zendesk account of the config (one per backend).
#[derive(Default)]
pub struct ZendeskAccounts {
    pub accounts: Vec<ZendeskAccount>,
}

impl ZendeskAccounts {
    /// The account whose host is `host`.
    pub fn account(&self, host: &str) -> Option<&ZendeskAccount> {
        self.accounts
            .iter()
            .find(|a| a.host.eq_ignore_ascii_case(host))
    }

    /// deskbridge's app id in the account of backend `backend`, once known.
    pub fn app_of(&self, backend: &str) -> Option<u64> {
        self.accounts
            .iter()
            .find(|a| a.backend == backend)
            .and_then(ZendeskAccount::app_id)
    }

    /// Every origin that may frame the app's pages.
    pub fn origins(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .accounts
            .iter()
            .flat_map(|a| a.origins.iter().cloned())
            .collect();
        all.sort();
        all.dedup();
        all
    }

    /// The agent a token Zendesk signed names, with the account it came from.
    /// `ours` tells the installations of deskbridge's app from other apps'.
    pub async fn sign_in(
        &self,
        token: &str,
        ours: &(dyn Fn(&AppInstallation) -> bool + Sync),
    ) -> Result<ZendeskAgent, SignInFailed> {
        for account in &self.accounts {
            // The audience names the account and the installation; a token
            // naming another account is tried against that one.
            if let Ok(installation) = zaf::installation_of(token, &account.expected()) {
                return account.sign_in(token, installation, ours).await;
            }
        }
        Err(SignInFailed::UnknownAccount)
    }
}

/// The Zendesk accounts of the configured backends, with the groups of each.
pub fn from_backends(
    config: &crate::config::Config,
    backends: &HashMap<String, crate::backends::Backend>,
) -> ZendeskAccounts {
    let mut accounts: Vec<ZendeskAccount> = config
        .backends
        .iter()
        .filter_map(|(name, b)| {
            let client = backends.get(name)?.zendesk.clone()?;
            let base_origin = b.base_url.as_deref().and_then(origin_of);
            // Zendesk's tokens name the account by its subdomain's host;
            // behind a base_url alone, by that host.
            let host = match (&b.subdomain, &base_origin) {
                (Some(sub), _) => format!("{sub}.zendesk.com"),
                (None, Some(origin)) => origin.split_once("://")?.1.to_string(),
                (None, None) => return None,
            };
            let mut origins = vec![format!("https://{host}")];
            origins.extend(base_origin);
            let groups = config
                .groups
                .iter()
                .filter(|g| g.backend.as_deref() == Some(name.as_str()))
                .map(|g| g.name.clone())
                .collect();
            Some(
                ZendeskAccount::new(name, &host, origins, client, groups)
                    .with_extension_field(b.agent_extension_field.clone()),
            )
        })
        .collect();
    accounts.sort_by(|a, b| a.backend.cmp(&b.backend));
    ZendeskAccounts { accounts }
}

/// How often each Zendesk account's agents are listed again: an agent removed
/// or suspended in Zendesk loses their sessions at the next listing.
pub const DIRECTORY_REFRESH: std::time::Duration = std::time::Duration::from_secs(300);

/// Lists every account's agents (bulk lane) and keeps them as the Zendesk
/// agents: one no longer listed is forgotten, and their sessions end at their
/// next request (unless Zendesk then vouches for them again). An account that
/// does not answer keeps its last list.
pub async fn refresh_directory(state: &crate::state::AppState) {
    let ours = state.public_url.as_deref().map(|u| ours(origin_of(u)));
    for account in &state.zendesk.accounts {
        // And whether deskbridge's app is installed there (a sign-in learns
        // it too, where no public_url says which installation is ours).
        if let Some(ours) = &ours
            && let Err(e) = account.find_app(ours).await
        {
            tracing::warn!(backend = %account.backend, error = %e, "cannot list the Zendesk account's app installations");
        }
        match account.agents().await {
            Ok(listed) => state.list_zendesk_agents(&account.host, listed),
            Err(e) => tracing::warn!(
                backend = %account.backend,
                error = %e,
                "cannot list the Zendesk account's agents; keeping the last list"
            ),
        }
    }
}

/// An installation of deskbridge's own app, for the server at `origin`: its
/// `deskbridge_url` setting points there. (Another app installed in the same
/// account, whose key signs tokens too, signs no one in here.)
pub fn ours(origin: Option<String>) -> impl Fn(&AppInstallation) -> bool + Sync {
    move |i| {
        let set = i
            .settings
            .get("deskbridge_url")
            .and_then(|u| u.as_str())
            .and_then(origin_of);
        set.is_some() && set == origin
    }
}
