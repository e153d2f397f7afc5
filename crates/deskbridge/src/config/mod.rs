//! Configuration: built-in defaults, then the TOML file (with `${NAME}` read from the
//! environment), then `DESKBRIDGE__SECTION__KEY` environment variables, then
//! command-line flags. [`Config::load`] reports every error it finds, each with the
//! key path to change.

mod asterisk;
mod backend;
pub mod dialing;
mod env;
mod group;
pub mod reference;
pub mod triggers;
mod wrap_up;

use std::fmt;
use std::path::{Path, PathBuf};

use deskbridge_core::Region;
use figment::Figment;
use figment::providers::{Env, Serialized};
use serde::{Deserialize, Serialize};

pub use asterisk::AsteriskConfig;
pub use backend::{BackendConfig, BackendKind, FreshdeskPlan};
pub use group::{AgentConfig, GroupConfig};
pub use triggers::{TriggerConfig, TriggersConfig};
pub use wrap_up::WrapUpConfig;

#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub phone: PhoneConfig,
    pub jobs: JobsConfig,
    pub metrics: MetricsConfig,
    /// Named helpdesk backends; none defined = the built-in CRM.
    pub backends: std::collections::BTreeMap<String, BackendConfig>,
    /// The agents directory.
    pub agents: Vec<AgentConfig>,
    /// Connector groups; none defined = one group "default" with a generated token.
    pub groups: Vec<GroupConfig>,
    /// How CRM triggers' notifications are delivered.
    pub triggers: TriggersConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: String,
    pub data_dir: PathBuf,
    /// Largest request body accepted, in bytes (413 above, at once when the
    /// request's `Content-Length` says so).
    pub max_body_bytes: usize,
    /// A client must send a request's headers within this many seconds, or its
    /// connection is closed (a slow or stalled client holds no connection).
    pub header_timeout_seconds: u64,
    /// A client must send a request's body within this many seconds (408 after,
    /// and the connection closes).
    pub body_timeout_seconds: u64,
    /// A response that makes no progress for this many seconds (the client
    /// stopped reading it) closes its connection.
    pub write_timeout_seconds: u64,
    /// Connections open at once; a connection beyond it is answered 503 and
    /// closed at once.
    pub max_connections: usize,
    /// Of `max_connections`, how many are kept for known clients (a group's
    /// token, Twilio's signed callbacks, a signed-in agent, the metrics token,
    /// the health probes), used only when the rest are taken; each serves one
    /// request. Default: an eighth of `max_connections`.
    pub reserved_connections: Option<usize>,
    /// How phones, browsers and Twilio reach this server, e.g.
    /// `https://deskbridge.acme.com` (a port and a path prefix are kept). An https
    /// URL makes the agent page's session cookie `Secure`.
    pub public_url: Option<String>,
    /// Origins allowed to show the agent page in a frame (CSP `frame-ancestors`),
    /// e.g. `["https://acme.zendesk.com"]` for a Zendesk sidebar app. Needs an
    /// https `public_url`: a framed page's cookie must be `SameSite=None; Secure`.
    pub frame_ancestors: Vec<String>,
    /// A signed-in agent's session lasts this long.
    pub session_hours: u64,
    /// Calls are kept in the caller log this many days, then purged.
    pub call_log_days: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://USER@HOST/DB` (several instances share a
    /// PostgreSQL database); default: `deskbridge.db` in the data dir.
    pub url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PhoneConfig {
    pub default_region: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve Prometheus metrics at `/metrics`.
    pub enabled: bool,
    /// Serve `/metrics` on this address of its own (e.g. `127.0.0.1:9464`)
    /// instead of the main port, which then answers 404 for it: a scraper on
    /// a private network, the API on a public one.
    pub listen: Option<String>,
    /// A scraper must send `Authorization: Bearer TOKEN` (Prometheus'
    /// `authorization.credentials`). Unset, `/metrics` on the main port is for
    /// signed-in admins only (its series name hosts), and on `listen` it is
    /// open to whoever reaches that address.
    pub token: Option<String>,
}

/// How steps are run and retried.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// Steps run at the same time (of different calls).
    pub workers: usize,
    /// How long a worker holds a step before another may take it over.
    pub lease_seconds: u64,
    /// Attempts before a step that keeps failing is marked failed. A request
    /// held back unsent by a helpdesk rate limit is no attempt: it waits for room.
    pub max_attempts: u32,
    /// First retry delay; doubles with each attempt, with jitter.
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./deskbridge-data"),
            max_body_bytes: 1024 * 1024,
            header_timeout_seconds: 10,
            body_timeout_seconds: 30,
            write_timeout_seconds: 10,
            max_connections: 1024,
            reserved_connections: None,
            public_url: None,
            frame_ancestors: Vec::new(),
            session_hours: 12,
            call_log_days: 90,
        }
    }
}

impl Default for PhoneConfig {
    fn default() -> Self {
        PhoneConfig {
            default_region: "US".into(),
        }
    }
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: true,
            listen: None,
            token: None,
        }
    }
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            workers: 4,
            lease_seconds: 30,
            max_attempts: 12,
            retry_base_ms: 1000,
            retry_max_ms: 10 * 60 * 1000,
        }
    }
}

/// Values given on the command line (or their `DESKBRIDGE_*` env equivalents).
#[derive(Debug, Default)]
pub struct Overrides {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
}

/// Every problem found in a configuration.
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<String>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "configuration has {} error(s):", self.0.len())?;
        for e in &self.0 {
            writeln!(f, "  - {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl Config {
    pub fn load(file: Option<&Path>, overrides: Overrides) -> Result<Config, ConfigErrors> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        let mut read = env::Redactions::default();
        if let Some(file) = file {
            let text = std::fs::read_to_string(file).map_err(|e| {
                ConfigErrors(vec![format!(
                    "cannot read config file {}: {e}",
                    file.display()
                )])
            })?;
            let (table, redactions) = env::parse_with_env(&text)?;
            read = redactions;
            figment = figment.merge(Serialized::defaults(table));
        }
        figment = figment.merge(Env::prefixed("DESKBRIDGE__").split("__"));
        Config::extract(figment, overrides).map_err(|e| read.apply(e))
    }

    /// Builds a config from TOML text and explicit overrides, checked like
    /// [`Config::load`] but without a file and without the `DESKBRIDGE__*`
    /// environment variables.
    ///
    /// For embedding the server, and for the in-process integration tests: tests
    /// run in parallel threads of one process and share its environment, so each
    /// test's config must come only from what the test passes in. (`${NAME}` in a
    /// value is still read from the environment, as in a file.)
    pub fn from_toml(text: &str, overrides: Overrides) -> Result<Config, ConfigErrors> {
        let (table, read) = env::parse_with_env(text)?;
        let figment = Figment::from(Serialized::defaults(Config::default()))
            .merge(Serialized::defaults(table));
        Config::extract(figment, overrides).map_err(|e| read.apply(e))
    }

    /// The config the layers make, with the command line's overrides on top,
    /// checked: every error with its key path. Its errors may quote values, some
    /// read from the environment: the callers redact those.
    fn extract(figment: Figment, overrides: Overrides) -> Result<Config, ConfigErrors> {
        let mut config: Config = figment.extract().map_err(|e| {
            ConfigErrors(
                e.into_iter()
                    .map(|e| match e.path.is_empty() {
                        true => e.kind.to_string(),
                        false => format!("{}: {}", key_path(&e.path), e.kind),
                    })
                    .collect(),
            )
        })?;
        if let Some(listen) = overrides.listen {
            config.server.listen = listen;
        }
        if let Some(dir) = overrides.data_dir {
            config.server.data_dir = dir;
        }
        if let Some(url) = overrides.database_url {
            config.database.url = Some(url);
        }
        let errors = config.errors();
        match errors.is_empty() {
            true => Ok(config),
            false => Err(ConfigErrors(errors)),
        }
    }

    /// Every semantic error, each starting with its key path.
    fn errors(&self) -> Vec<String> {
        let mut errors = Vec::new();
        if self.server.listen.parse::<std::net::SocketAddr>().is_err() {
            errors.push(format!(
                "server.listen: {:?} is not an address; write host:port, e.g. 127.0.0.1:8080",
                self.server.listen
            ));
        }
        if let Err(e) = self.phone.default_region.parse::<Region>() {
            errors.push(format!("phone.default_region: {e}"));
        }
        if let Some(url) = &self.database.url
            && !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
        {
            errors.push(format!(
                "database.url: {url:?} is neither sqlite://PATH nor postgres://USER@HOST/DB"
            ));
        }
        let https = match &self.server.public_url {
            None => false,
            Some(url) if url.starts_with("https://") => true,
            Some(url) if url.starts_with("http://") => false,
            Some(url) => {
                errors.push(format!(
                    "server.public_url: {url:?} must start with https:// (or http:// for a test)"
                ));
                false
            }
        };
        for (i, origin) in self.server.frame_ancestors.iter().enumerate() {
            let ok = origin == "'self'"
                || (origin.starts_with("https://")
                    && !origin.contains(char::is_whitespace)
                    && !origin.contains(';')
                    && !origin.contains(','));
            if !ok {
                errors.push(format!(
                    "server.frame_ancestors[{i}]: {origin:?} is not an https origin; write e.g. \
                     \"https://acme.zendesk.com\""
                ));
            }
        }
        if !self.server.frame_ancestors.is_empty() && !https {
            errors.push(
                "server.frame_ancestors: a page in a frame of another site needs a \
                 SameSite=None; Secure cookie, so server.public_url must be an https URL"
                    .into(),
            );
        }
        if self.server.session_hours == 0 {
            errors.push("server.session_hours: must be at least 1".into());
        }
        if self.server.call_log_days == 0 {
            errors.push("server.call_log_days: must be at least 1".into());
        }
        if self.jobs.workers == 0 {
            errors.push("jobs.workers: must be at least 1".into());
        }
        if self.jobs.max_attempts == 0 {
            errors.push("jobs.max_attempts: must be at least 1".into());
        }
        backend::check_backends(&self.backends, &mut errors);
        let group_names: Vec<&str> = match self.groups.is_empty() {
            // No group configured: the one generated is "default".
            true => vec!["default"],
            false => self.groups.iter().map(|g| g.name.as_str()).collect(),
        };
        group::check_agents(&self.agents, &group_names, &mut errors);
        group::check_groups(self, &mut errors);
        self.triggers.check(&mut errors);
        errors
    }

    pub fn region(&self) -> Region {
        self.phone.default_region.parse().unwrap_or_default()
    }

    pub fn database_url(&self) -> Option<&str> {
        self.database.url.as_deref()
    }
}

/// `["groups", "0", "name"]` → `groups[0].name`, as the other errors write keys.
fn key_path(parts: &[String]) -> String {
    let mut out = String::new();
    for p in parts {
        if p.parse::<usize>().is_ok() {
            out.push_str(&format!("[{p}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(p);
        }
    }
    out
}

#[cfg(test)]
mod tests;
