//! What every request handler and worker shares: the store, the connector groups
//! with their helpdesks, the agents directory and this instance. Built once at start
//! (`app::start`) and read-only afterwards.

use std::sync::Arc;

use deskbridge_core::decide::DirectoryAgent;
use deskbridge_core::dialing::Dialing;
use deskbridge_core::ports::Helpdesk;
use deskbridge_core::trigger::Trigger;
use deskbridge_core::{CallPlan, Policy, Region, Templates};
use deskbridge_crm::BuiltinCrm;
use deskbridge_store::{InstanceRecord, Store};

use crate::backends::RecordLinks;

/// A connector group: who may send events for it, its numbers, its helpdesk and
/// how its calls are handled.
pub struct Group {
    pub name: String,
    pub tokens: Vec<String>,
    /// Reads the group's wallboard, and nothing else (`wallboard_token`).
    pub wallboard_token: Option<String>,
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
    /// Where an agent opens the backend's records (the caller card's links).
    pub links: RecordLinks,
    /// The block list and outbound caller-id rules a PBX is answered with.
    pub dialing: Dialing,
    /// Twilio signs its callbacks for this group with it (a secret).
    pub twilio_auth_token: Option<String>,
    /// The CRM triggers the group's call and chat steps announce: its triggers
    /// when its backend announces nothing itself (Zendesk), none when it is a
    /// built-in CRM (whose records announce every change, a step's included).
    pub step_triggers: Vec<Trigger>,
    /// The group's triggers of `entity = "callback"`, whatever its backend:
    /// callbacks are deskbridge's own records, announced by the store in the
    /// transaction that writes them (carried on each event, `ingest::for_group`,
    /// and into an agent's claim or close).
    pub callback_triggers: Arc<[Trigger]>,
    /// The backend the group writes to, by name and kind (the admin page).
    pub backend: BackendRef,
    /// The connectors configured for the group (the admin page).
    pub connectors: Vec<ConnectorKind>,
    /// What the group takes from deskbridge's Zendesk app once it is
    /// installed in its account (what its config left unset).
    pub app_defaults: deskbridge_core::policy::AppDefaults,
    /// The group's Asterisk manager connection's inbox, when it has one
    /// (`[groups.asterisk]`): click-to-call sends its `Originate` there.
    pub ami: Option<Arc<crate::adapters::ami::client::Inbox>>,
    /// How the group places an agent's dial (click-to-call), if it can.
    pub dialer: Option<crate::dialers::Dialer>,
    /// Where the group's agents pause (its Asterisk queues), if anywhere.
    pub queues: Option<crate::pauses::Queues>,
}

/// A group's backend as the admin page shows it: its key in `[backends]`
/// (`builtin` when the group names none) and its kind.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct BackendRef {
    pub name: String,
    pub kind: crate::config::BackendKind,
}

impl Default for BackendRef {
    fn default() -> Self {
        BackendRef {
            name: "builtin".into(),
            kind: crate::config::BackendKind::Builtin,
        }
    }
}

/// A way calls and chats reach a group. `events` (the group token's HTTP
/// endpoints: native JSON events, Zammad CTI, Amazon Connect) is always
/// there; the others are configured per group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorKind {
    Events,
    /// `[groups.asterisk]`: the Asterisk manager interface.
    Asterisk,
    /// `twilio_auth_token`: Twilio's signed callbacks.
    Twilio,
    /// `[groups.chat]`: closed chats (`POST /api/v1/conversations`).
    Chat,
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
    /// For requests to phone systems (click-to-call's dial webhook): one
    /// client, so its connections are reused.
    pub http: reqwest::Client,
    /// The Zendesk backends' local mirrors (`mirror = true`); the admin page
    /// shows each one's `deskbridge_mirror::mirror_state`.
    pub mirrors: Vec<Arc<deskbridge_mirror::Mirror>>,
    /// The commit batcher every ingest goes through (`crate::ingest`).
    pub commits: crate::ingest::Committer,
    /// Changed calls, read once for every live stream (`http/feed.rs`).
    pub feed: crate::http::feed::CallFeed,
    /// The live streams each session and token holds.
    pub stream_caps: Arc<crate::http::feed::StreamCaps>,
    /// The wallboards' snapshots, made at most once a second per group and
    /// shared by every screen showing it.
    pub wallboards: crate::wallboard::Wallboards,
    pub groups: Vec<Arc<Group>>,
    /// The agents directory: `[[agents]]`, and the agents Zendesk vouches for.
    pub directory: Directory,
    /// This instance, as other instances see it.
    pub instance: InstanceRecord,
    pub max_body_bytes: usize,
    /// How long a request's body may take to arrive (`server.body_timeout_seconds`).
    pub body_timeout: std::time::Duration,
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// `[metrics] token`: the bearer token a scrape must carry, if any.
    pub metrics_token: Option<String>,
    /// `[metrics] listen` is set: `/metrics` is served there, not on the main port.
    pub metrics_elsewhere: bool,
    /// `[server] public_url`, without a trailing `/`: the address Twilio signs.
    pub public_url: Option<String>,
    /// The agent page: who may sign in, and how its cookie and frames are set.
    pub agent_page: AgentPage,
    /// The Zendesk accounts of the backends: sign-in through the Zendesk app,
    /// and their agents.
    pub zendesk: crate::zendesk_app::ZendeskAccounts,
}

/// The agent page's settings and the agents who may sign in to it.
#[derive(Default)]
pub struct AgentPage {
    pub agents: Vec<AgentLogin>,
    /// `Secure` on the session cookie (`server.public_url` is https).
    pub secure_cookie: bool,
    /// Origins allowed to frame the page (CSP `frame-ancestors`); when any is
    /// set, the session cookie is `SameSite=None; Secure`, since a cookie of a
    /// page framed by another site is otherwise never sent.
    pub frame_ancestors: Vec<String>,
    pub session_ttl: std::time::Duration,
    /// How long calls stay in the caller log.
    pub call_log_ttl: std::time::Duration,
    /// Failed sign-ins per account and client address.
    pub sign_ins: crate::agent_auth::SignInThrottles,
    /// Agents Zendesk vouched for (signed in through the Zendesk app, or listed
    /// by a Zendesk backend's directory), by lowercase email.
    pub zendesk: std::sync::RwLock<std::collections::HashMap<String, ZendeskAgent>>,
}

/// An agent as a Zendesk account lists them: no secret here, Zendesk signs
/// them in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZendeskAgent {
    /// `acme.zendesk.com`: the account.
    pub account: String,
    pub user_id: u64,
    /// Lowercase.
    pub email: String,
    pub name: String,
    /// From the user field `agent_extension_field`, when the backend names one.
    pub extension: Option<String>,
    /// The groups whose backend is this account.
    pub groups: Vec<String>,
}

/// One agent's sign-in secrets (from `[[agents]]`), or a Zendesk agent's
/// (none).
#[derive(Debug, Clone)]
pub struct AgentLogin {
    /// Lowercase.
    pub email: String,
    pub name: Option<String>,
    pub password_hash: Option<String>,
    pub token: Option<String>,
    pub admin: bool,
    /// `supervisor = true`: reads the figures of the agent's groups.
    pub supervisor: bool,
    /// The groups the agent works in, as configured (empty: the only group,
    /// when there is one; `Caller::reach`).
    pub groups: Vec<String>,
}

impl AgentPage {
    /// An agent of `[[agents]]`.
    pub fn configured(&self, email: &str) -> Option<&AgentLogin> {
        self.agents
            .iter()
            .find(|a| a.email.eq_ignore_ascii_case(email))
    }

    /// The agent: as configured in `[[agents]]` (which wins: an agent in both
    /// is one agent), else as a Zendesk account lists them.
    pub fn agent(&self, email: &str) -> Option<AgentLogin> {
        if let Some(a) = self.configured(email) {
            return Some(a.clone());
        }
        let zendesk = self.zendesk_agent(email)?;
        Some(AgentLogin {
            email: zendesk.email,
            name: Some(zendesk.name),
            password_hash: None,
            token: None,
            admin: false,
            supervisor: false,
            groups: zendesk.groups,
        })
    }

    /// The agent as a Zendesk account lists them.
    pub fn zendesk_agent(&self, email: &str) -> Option<ZendeskAgent> {
        self.zendesk
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&email.to_ascii_lowercase())
            .cloned()
    }

    /// Whether the agent is an admin (`admin = true` in the directory).
    pub fn is_admin(&self, email: &str) -> bool {
        self.configured(email).is_some_and(|a| a.admin)
    }

    /// Whether the agent is a supervisor (`supervisor = true` in the
    /// directory).
    pub fn is_supervisor(&self, email: &str) -> bool {
        self.configured(email).is_some_and(|a| a.supervisor)
    }
}

/// The agents the core decides with (assignees, pops, routing): those of
/// `[[agents]]`, then those the Zendesk accounts list (an agent in both is the
/// configured one). Read as a snapshot; replaced whole when Zendesk's list
/// changes.
pub struct Directory {
    configured: Vec<DirectoryAgent>,
    all: std::sync::RwLock<Arc<Vec<DirectoryAgent>>>,
}

impl Directory {
    pub fn new(configured: Vec<DirectoryAgent>) -> Directory {
        Directory {
            all: std::sync::RwLock::new(Arc::new(configured.clone())),
            configured,
        }
    }

    /// The directory as it stands.
    pub fn agents(&self) -> Arc<Vec<DirectoryAgent>> {
        self.all.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_zendesk<'a>(&self, zendesk: impl Iterator<Item = &'a ZendeskAgent>) {
        let mut all = self.configured.clone();
        let mut added: Vec<DirectoryAgent> = zendesk
            .filter(|z| {
                !self
                    .configured
                    .iter()
                    .any(|c| c.email.eq_ignore_ascii_case(&z.email))
            })
            .map(|z| DirectoryAgent {
                email: z.email.clone(),
                name: Some(z.name.clone()),
                extension: z.extension.clone(),
                target: None,
            })
            .collect();
        added.sort_by(|a, b| a.email.cmp(&b.email));
        all.extend(added);
        *self.all.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(all);
    }
}

impl AppState {
    /// Keeps `agent`, whom Zendesk vouched for (a sign-in through the app, a
    /// session confirmed), in the agent page's agents and the directory.
    pub fn keep_zendesk_agent(&self, agent: ZendeskAgent) {
        let mut known = self
            .agent_page
            .zendesk
            .write()
            .unwrap_or_else(|p| p.into_inner());
        known.insert(agent.email.clone(), agent);
        self.directory.set_zendesk(known.values());
    }

    /// The agents Zendesk account `account` lists now, in place of those it
    /// listed before.
    pub fn list_zendesk_agents(&self, account: &str, listed: Vec<ZendeskAgent>) {
        let mut known = self
            .agent_page
            .zendesk
            .write()
            .unwrap_or_else(|p| p.into_inner());
        known.retain(|_, a| a.account != account);
        for agent in listed {
            known.insert(agent.email.clone(), agent);
        }
        self.directory.set_zendesk(known.values());
    }

    /// The instances sharing the database that are alive: each heartbeat is
    /// [`crate::app::HEARTBEAT`] apart, and one that missed three is gone (it
    /// crashed or lost the database); asked by `/metrics`, `/readyz`, the admin
    /// page and `/api/v1/instances` alike.
    pub async fn alive_instances(
        &self,
    ) -> Result<Vec<InstanceRecord>, deskbridge_store::StoreError> {
        self.store.instances(crate::app::HEARTBEAT * 3).await
    }

    pub fn group(&self, name: &str) -> Option<&Arc<Group>> {
        self.groups.iter().find(|g| g.name == name)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use deskbridge_zendesk::{Auth, Budget, ClientConfig, ZendeskClient};

    use super::*;
    use deskbridge_zendesk_helpdesk::ZendeskHelpdesk;

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
            wallboard_token: None,
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
            links: RecordLinks::Builtin,
            dialing: Dialing::default(),
            twilio_auth_token: None,
            step_triggers: Vec::new(),
            callback_triggers: Arc::new([]),
            backend: BackendRef::default(),
            connectors: vec![ConnectorKind::Events],
            app_defaults: Default::default(),
            ami: None,
            queues: None,
            dialer: None,
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
