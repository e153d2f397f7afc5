//! Wiring: open the store, build the state, start the workers and the HTTP server,
//! and shut both down cleanly.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use deskbridge_core::decide::DirectoryAgent;
use deskbridge_core::trigger::Entity;
use deskbridge_core::{CallPlan, Policy, Templates, WorkLane};
use deskbridge_crm::BuiltinCrm;
use deskbridge_store::{CrmStore, GroupTriggers, InstanceRecord, PgStore, SqliteStore, Store};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::backends::Backend;
use crate::config::Config;
use crate::worker::{self, RetryPolicy};

use crate::state::{AppState, Group};

/// Builds the groups from the config, each with its backend, its templates
/// compiled and the plan its calls start under.
fn build_groups(
    config: &Config,
    backends: &HashMap<String, Backend>,
    default_token: Option<String>,
) -> anyhow::Result<Vec<Arc<Group>>> {
    let region = config.region();
    let builtin = &backends["builtin"];
    // `check` compiled them already; a failure here is a config that was not checked.
    let compile = |policy: &Policy, prefix: &str| {
        Templates::compile(policy, prefix).map_err(|errors| {
            let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            anyhow::anyhow!("templates do not compile:\n{}", lines.join("\n"))
        })
    };
    if config.groups.is_empty() {
        let policy = Policy::default();
        return Ok(vec![Arc::new(Group {
            name: "default".into(),
            tokens: default_token.into_iter().collect(),
            wallboard_token: None,
            numbers: Vec::new(),
            templates: compile(&policy, "")?,
            plan: CallPlan::of(&policy),
            policy,
            region,
            helpdesk: builtin.helpdesk.clone(),
            crm: builtin.crm.clone(),
            links: builtin.links.clone(),
            dialing: Default::default(),
            twilio_auth_token: None,
            step_triggers: Vec::new(),
            callback_triggers: Arc::new([]),
            backend: crate::state::BackendRef::default(),
            connectors: vec![crate::state::ConnectorKind::Events],
            app_defaults: Default::default(),
            ami: None,
            dialer: None,
            queues: None,
        })]);
    }
    config
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let ami = g.asterisk.as_ref().map(|_| Arc::new(Default::default()));
            // `check` made sure every named backend exists.
            let backend = g
                .backend
                .as_ref()
                .and_then(|b| backends.get(b))
                .unwrap_or(builtin);
            let policy = g.policy();
            Ok(Arc::new(Group {
                name: g.name.clone(),
                tokens: g.tokens.clone(),
                wallboard_token: g
                    .wallboard_token
                    .as_deref()
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string),
                numbers: g.numbers_e164(region),
                templates: compile(&policy, &format!("groups[{i}]"))?,
                plan: CallPlan::of(&policy),
                policy,
                region: g.region(region),
                helpdesk: backend.helpdesk.clone(),
                crm: backend.crm.clone(),
                links: backend.links.clone(),
                dialing: crate::config::dialing::dialing(g),
                twilio_auth_token: g.twilio_auth_token.clone().filter(|t| !t.trim().is_empty()),
                // A built-in CRM announces its own changes, whoever makes them.
                step_triggers: match backend.crm {
                    Some(_) => Vec::new(),
                    None => g
                        .triggers
                        .iter()
                        .map(|t| t.trigger())
                        .filter(|t| t.entity != Entity::Callback)
                        .collect(),
                },
                // Callbacks are deskbridge's own, whatever the backend: the store
                // announces them where it writes them.
                callback_triggers: g
                    .triggers
                    .iter()
                    .map(|t| t.trigger())
                    .filter(|t| t.entity == Entity::Callback)
                    .collect(),
                backend: backend_ref(config, g),
                connectors: connectors(g),
                app_defaults: deskbridge_core::policy::AppDefaults {
                    call_records: g.zendesk_app_id.is_none(),
                    voice_comments: g.zendesk_voice.is_none(),
                },
                dialer: dialer(g, ami.as_ref(), config.server.public_url.as_deref()),
                queues: queues(g, ami.as_ref()),
                ami,
            }))
        })
        .collect()
}

/// Where the group's agents pause: its Asterisk queues, through its manager
/// connection.
fn queues(
    g: &crate::config::GroupConfig,
    inbox: Option<&Arc<crate::adapters::ami::client::Inbox>>,
) -> Option<crate::pauses::Queues> {
    let settings = g.asterisk.as_ref()?;
    Some(crate::pauses::Queues {
        inbox: inbox?.clone(),
        agent_channel: settings.agent_channel.clone(),
        reasons: settings.pause_reasons(),
    })
}

/// How the group places dials: Asterisk when its `agent_channel` is set,
/// else its dial webhook.
fn dialer(
    g: &crate::config::GroupConfig,
    inbox: Option<&Arc<crate::adapters::ami::client::Inbox>>,
    public_url: Option<&str>,
) -> Option<crate::dialers::Dialer> {
    use crate::dialers::Dialer;
    if let (Some(settings), Some(auth_token), Some(public_url)) =
        (&g.twilio_dial, &g.twilio_auth_token, public_url)
    {
        return Some(Dialer::Twilio {
            settings: settings.clone(),
            auth_token: auth_token.clone(),
            address: crate::dialers::twilio::TwilioAddress {
                public_url: public_url.trim_end_matches('/').to_string(),
                group: g.name.clone(),
            },
        });
    }
    match (&g.asterisk, inbox, &g.dial_webhook) {
        (Some(settings), Some(inbox), _) if settings.agent_channel.is_some() => {
            Some(Dialer::Asterisk {
                inbox: inbox.clone(),
                settings: settings.clone(),
            })
        }
        (_, _, Some(hook)) => Some(Dialer::Webhook(hook.clone())),
        _ => None,
    }
}

/// The group's backend by name and kind, for the admin page.
fn backend_ref(config: &Config, g: &crate::config::GroupConfig) -> crate::state::BackendRef {
    let name = g.backend.clone().unwrap_or_else(|| "builtin".into());
    let kind = config
        .backends
        .get(&name)
        .map_or(crate::config::BackendKind::Builtin, |b| b.kind);
    crate::state::BackendRef { name, kind }
}

/// The connectors the group has configured, for the admin page.
fn connectors(g: &crate::config::GroupConfig) -> Vec<crate::state::ConnectorKind> {
    use crate::state::ConnectorKind;
    let mut kinds = vec![ConnectorKind::Events];
    if g.asterisk.is_some() {
        kinds.push(ConnectorKind::Asterisk);
    }
    if g.twilio_auth_token
        .as_ref()
        .is_some_and(|t| !t.trim().is_empty())
    {
        kinds.push(ConnectorKind::Twilio);
    }
    if g.chat.is_some() {
        kinds.push(ConnectorKind::Chat);
    }
    kinds
}

/// Records made before built-in backends were separated belong to the implicit
/// backend `builtin`. When the groups use exactly one built-in backend and it has
/// another name, it takes them over, so an upgrade keeps that CRM's records in
/// sight. (With several built-in backends they stay with `builtin`: whose they
/// were cannot be told.)
async fn adopt_unscoped_records(groups: &[Arc<Group>]) -> anyhow::Result<()> {
    let mut tenants: Vec<&deskbridge_crm::BuiltinCrm> =
        groups.iter().filter_map(|g| g.crm.as_ref()).collect();
    tenants.sort_by(|a, b| a.tenant().cmp(b.tenant()));
    tenants.dedup_by(|a, b| a.tenant() == b.tenant());
    if let [only] = tenants.as_slice()
        && only.tenant() != "builtin"
    {
        let moved = only
            .store()
            .adopt("builtin")
            .await
            .context("giving the built-in CRM's earlier records to its backend")?;
        if moved > 0 {
            tracing::info!(
                backend = only.tenant(),
                records = moved,
                "the built-in CRM's earlier records now belong to its backend"
            );
        }
    }
    Ok(())
}

/// Runs the server until SIGINT or SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let running = start(config).await?;
    shutdown_signal().await;
    running.stop().await
}

/// A started server: its address, and the handle that stops it.
pub struct Running {
    pub addr: SocketAddr,
    /// Where `/metrics` is served when `[metrics] listen` is set.
    pub metrics_addr: Option<SocketAddr>,
    pub state: Arc<AppState>,
    stop: watch::Sender<bool>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    metrics_server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    workers: worker::Workers,
    /// The CRM triggers' senders.
    deliveries: crate::triggers::Deliveries,
    heartbeat: tokio::task::JoinHandle<()>,
    /// The groups' Asterisk manager clients, and the task pausing agents
    /// through them for their wrap-up.
    ami: Vec<tokio::task::JoinHandle<()>>,
    purge: tokio::task::JoinHandle<()>,
    /// Lists the Zendesk accounts' agents on a schedule.
    zendesk_directory: tokio::task::JoinHandle<()>,
    /// The Zendesk mirrors' sync tasks.
    mirrors: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops accepting requests, lets the steps in flight finish, and closes the
    /// database.
    pub async fn stop(self) -> anyhow::Result<()> {
        tracing::info!("shutting down: no new requests; finishing the steps in flight");
        let _ = self.stop.send(true);
        self.heartbeat.abort();
        for client in self.ami {
            // They log off and return once told to stop.
            let abort = client.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), client)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        self.purge.abort();
        self.zendesk_directory.abort();
        for mirror in &self.mirrors {
            mirror.abort();
        }
        if let Some(metrics) = self.metrics_server
            && tokio::time::timeout(Duration::from_secs(2), metrics)
                .await
                .is_err()
        {
            tracing::warn!("the metrics listener did not stop within 2 s");
        }
        match tokio::time::timeout(Duration::from_secs(10), self.server).await {
            Ok(result) => result??,
            Err(_) => tracing::warn!("requests still open after 10 s; closing them"),
        }
        self.workers.finish(Duration::from_secs(15)).await;
        self.deliveries.finish(Duration::from_secs(5)).await;
        self.state.store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// What a process of deskbridge works with, without serving anything: the data
/// directory and the database (migrated), the groups with their helpdesks, the
/// agents directory. `start` serves with it; `deskbridge backfill` imports with
/// it. Also returns the "default" group's generated token (and whether it is
/// new) when no groups are configured.
///
/// `lane`: whose calls this process works for: live (`serve`), or a history
/// import's (its Zendesk requests all go in the budget's bulk lane).
pub async fn open(
    config: &Config,
    lane: WorkLane,
) -> anyhow::Result<(Arc<AppState>, Option<(String, bool)>)> {
    let data_dir = &config.server.data_dir;
    create_data_dir(data_dir)
        .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
    let (store, crm_store) = open_store(config).await?;

    // With no groups configured, the "default" group's token lives in the data dir.
    let generated = match config.groups.is_empty() {
        true => Some(crate::token::load_or_create(data_dir)?),
        false => None,
    };
    let region = config.region();
    let crm_of = |tenant: &str| {
        let triggers = crate::triggers::of_tenant(config, tenant);
        BuiltinCrm::new(crm_store(tenant, triggers), region)
    };
    let backends = crate::backends::build(config, &crm_of, &store, lane)?;
    let groups = build_groups(
        config,
        &backends,
        generated.as_ref().map(|(t, _)| t.clone()),
    )?;
    adopt_unscoped_records(&groups).await?;
    let zendesk = crate::zendesk_app::accounts::from_backends(config, &backends);
    let mut mirrors: Vec<_> = backends.values().filter_map(|b| b.mirror.clone()).collect();
    mirrors.sort_by(|a, b| a.backend().cmp(b.backend()));
    let state = Arc::new(AppState {
        http: reqwest::Client::builder()
            .user_agent(concat!("deskbridge/", env!("CARGO_PKG_VERSION")))
            .build()?,
        store: store.clone(),
        mirrors,
        commits: crate::ingest::Committer::start(
            store.clone(),
            Default::default(),
            Default::default(),
            // SQLite has one writer; PostgreSQL overlaps commits.
            match config.database_url() {
                Some(url) if url.starts_with("postgres") => 4,
                _ => 1,
            },
        ),
        feed: crate::http::feed::CallFeed::start(store.clone()),
        stream_caps: Default::default(),
        wallboards: Default::default(),
        groups,
        directory: crate::state::Directory::new(
            config
                .agents
                .iter()
                .map(|a| DirectoryAgent {
                    target: a.target.clone(),
                    email: a.email.clone(),
                    name: a.name.clone(),
                    extension: a.extension.clone(),
                })
                .collect(),
        ),
        instance: InstanceRecord {
            id: instance_id(),
            hostname: hostname(),
            pid: i64::from(std::process::id()),
            version: env!("CARGO_PKG_VERSION").to_string(),
            started_at: chrono::Utc::now(),
            heartbeat_at: chrono::Utc::now(),
            running_steps: 0,
        },
        max_body_bytes: config.server.max_body_bytes,
        public_url: config
            .server
            .public_url
            .as_deref()
            .map(|u| u.trim_end_matches('/').to_string()),
        body_timeout: Duration::from_secs(config.server.body_timeout_seconds),
        metrics: match config.metrics.enabled {
            true => Some(crate::telemetry::metrics_recorder()?),
            false => None,
        },
        metrics_token: config.metrics.token.clone().filter(|t| !t.is_empty()),
        metrics_elsewhere: config.metrics.enabled && config.metrics.listen.is_some(),
        agent_page: agent_page(config),
        zendesk,
    });
    Ok((state, generated))
}

/// Opens the database, builds the groups and backends, and starts the workers and
/// the HTTP server.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    let (state, generated) = open(&config, WorkLane::Live).await?;
    let store = state.store.clone();
    let data_dir = &config.server.data_dir;

    let listener = TcpListener::bind(&config.server.listen)
        .await
        .with_context(|| format!("listening on {}", config.server.listen))?;
    let addr: SocketAddr = listener.local_addr()?;
    println!("deskbridge listening on http://{addr}");
    let token_file = data_dir.join("ingest-token");
    match &generated {
        Some((token, true)) => {
            println!("ingest token (also in {}): {token}", token_file.display())
        }
        Some((_, false)) => println!("ingest token: in {}", token_file.display()),
        None => {
            let names: Vec<&str> = state.groups.iter().map(|g| g.name.as_str()).collect();
            println!("connector groups: {}", names.join(", "));
        }
    }
    tracing::info!(%addr, instance = %state.instance.id, data_dir = %data_dir.display(), "deskbridge started");
    store.heartbeat(&state.instance).await?;
    let heartbeat = tokio::spawn(heartbeat(state.clone()));
    let purge = tokio::spawn(purge(state.clone()));
    let zendesk_directory = tokio::spawn(zendesk_directory(state.clone()));

    let (stop_tx, stop_rx) = watch::channel(false);
    let retry = RetryPolicy::from(&config.jobs);
    let workers = worker::spawn(state.clone(), config.jobs.workers, retry, stop_rx.clone());

    let deliveries =
        crate::triggers::spawn(&config, store.clone(), &state.instance.id, stop_rx.clone())?;

    let mut ami = spawn_ami_clients(&config, &state, &stop_rx);
    ami.extend(crate::pauses::spawn_wrap_up_pauses(
        state.clone(),
        stop_rx.clone(),
    ));
    let mirrors = deskbridge_mirror::spawn_all(&state.mirrors, &state.instance.id, &stop_rx);

    let router = crate::http::router(state.clone());
    let limits = crate::http::serve::ConnectionLimits {
        header_timeout: Duration::from_secs(config.server.header_timeout_seconds),
        write_timeout: Duration::from_secs(config.server.write_timeout_seconds),
        max_connections: config.server.max_connections,
        reserved_connections: config
            .server
            .reserved_connections
            .unwrap_or(config.server.max_connections / 8),
    };
    let metrics_listener = match (&config.metrics.listen, config.metrics.enabled) {
        (Some(at), true) => Some(
            TcpListener::bind(at)
                .await
                .with_context(|| format!("listening on {at} ([metrics] listen)"))?,
        ),
        _ => None,
    };
    let metrics_addr = match &metrics_listener {
        Some(l) => Some(l.local_addr()?),
        None => None,
    };
    let metrics_server = metrics_listener.map(|listener| {
        tracing::info!(addr = ?metrics_addr, "metrics served on their own listener");
        tokio::spawn(crate::http::serve::serve(
            listener,
            crate::http::metrics_router(state.clone()),
            limits,
            stop_rx.clone(),
        ))
    });
    let server = tokio::spawn(crate::http::serve::serve(
        listener,
        router,
        limits,
        stop_rx.clone(),
    ));
    Ok(Running {
        addr,
        metrics_addr,
        state,
        stop: stop_tx,
        server,
        metrics_server,
        workers,
        deliveries,
        heartbeat,
        ami,
        purge,
        zendesk_directory,
        mirrors,
    })
}

/// One Asterisk manager client per group with `[groups.asterisk]`.
fn spawn_ami_clients(
    config: &Config,
    state: &Arc<AppState>,
    stop: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    config
        .groups
        .iter()
        .filter_map(|g| {
            let settings = g.asterisk.clone()?;
            let group = state.group(&g.name)?.clone();
            Some(crate::adapters::ami::spawn(
                state.clone(),
                group,
                settings,
                stop.clone(),
            ))
        })
        .collect()
}

/// Creates the data directory (and any missing parent) readable by its owner only:
/// it holds the database, with customers' names and numbers, and the ingest token.
/// An existing directory keeps its permissions (the operator may have chosen it),
/// with a warning if other users can enter it.
fn create_data_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        tracing::warn!(
            dir = %dir.display(),
            mode = format!("{mode:o}"),
            "the data directory is open to other users: `chmod 700` it"
        );
    }
    Ok(())
}

/// The built-in CRM records of one built-in backend, by its name.
/// The records announce their changes to the triggers of the groups using that
/// backend.
type CrmOf = Box<dyn Fn(&str, Vec<GroupTriggers>) -> Arc<dyn CrmStore> + Send + Sync>;

/// SQLite in the data dir (or at a `sqlite://` URL), or PostgreSQL for a
/// `postgres://` URL. The same database serves the calls and the built-in CRM,
/// whose records are scoped per built-in backend.
async fn open_store(config: &Config) -> anyhow::Result<(Arc<dyn Store>, CrmOf)> {
    match config.database_url() {
        Some(url) if url.starts_with("postgres") => {
            let pg = Arc::new(
                PgStore::open(url)
                    .await
                    .context("opening the PostgreSQL database")?,
            );
            let crm_of: CrmOf = Box::new({
                let pg = pg.clone();
                move |tenant, triggers| Arc::new(pg.crm(tenant).with_triggers(triggers))
            });
            Ok((pg, crm_of))
        }
        url => {
            let sqlite = match url {
                Some(url) => SqliteStore::open_url(url).await,
                None => SqliteStore::open(&config.server.data_dir.join("deskbridge.db")).await,
            }
            .context("opening the SQLite database")?;
            let crm_of: CrmOf = Box::new({
                let sqlite = sqlite.clone();
                move |tenant, triggers| Arc::new(sqlite.crm(tenant).with_triggers(triggers))
            });
            Ok((Arc::new(sqlite), crm_of))
        }
    }
}

/// How often an instance says it is alive; others count it dead after three misses.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// The agent page's settings, from `[server]` and `[[agents]]`.
fn agent_page(config: &Config) -> crate::state::AgentPage {
    let server = &config.server;
    crate::state::AgentPage {
        agents: config
            .agents
            .iter()
            .map(|a| crate::state::AgentLogin {
                email: a.email.to_ascii_lowercase(),
                name: a.name.clone(),
                password_hash: a.password_hash.clone(),
                token: a.token.clone().filter(|t| !t.trim().is_empty()),
                admin: a.admin,
                supervisor: a.supervisor,
                groups: a.groups.clone(),
            })
            .collect(),
        secure_cookie: server
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://")),
        frame_ancestors: server.frame_ancestors.clone(),
        session_ttl: Duration::from_secs(server.session_hours.saturating_mul(3600)),
        call_log_ttl: Duration::from_secs(u64::from(server.call_log_days).saturating_mul(86_400)),
        sign_ins: Default::default(),
        zendesk: Default::default(),
    }
}

/// Purges, every hour, the calls older than `server.call_log_days` and the
/// expired sessions. Several instances may purge at once: each delete is
/// idempotent, and the first to run leaves the others nothing to do.
async fn purge(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(PURGE_EVERY);
    loop {
        tick.tick().await;
        let now = chrono::Utc::now();
        let ttl = chrono::Duration::from_std(state.agent_page.call_log_ttl)
            .unwrap_or(chrono::Duration::days(90));
        match state.store.purge_calls(now - ttl).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(calls = n, "purged calls older than server.call_log_days"),
            Err(e) => tracing::warn!(error = %e, "cannot purge old calls"),
        }
        if let Err(e) = state.store.purge_sessions(now).await {
            tracing::warn!(error = %e, "cannot purge expired sessions");
        }
    }
}

/// Lists the Zendesk accounts' agents every
/// [`DIRECTORY_REFRESH`](crate::zendesk_app::accounts::DIRECTORY_REFRESH).
async fn zendesk_directory(state: Arc<AppState>) {
    if state.zendesk.accounts.is_empty() {
        return;
    }
    // Not at start: a sign-in asks Zendesk about its agent itself, and a
    // listing at every start would spend requests for nothing.
    let every = crate::zendesk_app::accounts::DIRECTORY_REFRESH;
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tick.tick().await;
        crate::zendesk_app::accounts::refresh_directory(&state).await;
    }
}

/// How often old calls and expired sessions are purged.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

async fn heartbeat(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    loop {
        tick.tick().await;
        if let Err(e) = state.store.heartbeat(&state.instance).await {
            tracing::warn!(error = %e, "cannot record this instance's heartbeat");
        }
        // Which instances are alive and what each holds, for /metrics.
        if let Ok(alive) = state.alive_instances().await {
            metrics::gauge!("deskbridge_instances_alive").set(alive.len() as f64);
            for i in alive {
                metrics::gauge!("deskbridge_instance_running_steps", "instance" => i.id)
                    .set(i.running_steps as f64);
            }
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "deskbridge".into())
}

/// Unique per process start: host, process id and a random suffix (a restarted
/// process with a reused pid is another instance).
fn instance_id() -> String {
    use rand::RngCore;
    let mut suffix = [0u8; 3];
    rand::rng().fill_bytes(&mut suffix);
    format!(
        "{}-{}-{}",
        hostname(),
        std::process::id(),
        hex::encode(suffix)
    )
}

/// Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the server");
            let _ = ctrl_c.await;
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::create_data_dir;

    #[test]
    fn the_data_dir_is_made_owner_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("new").join("deskbridge-data");
        create_data_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        // Again, on the existing directory.
        create_data_dir(&dir).unwrap();
    }
}
