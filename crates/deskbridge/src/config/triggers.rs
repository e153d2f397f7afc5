//! CRM triggers in the config: `[[groups.triggers]]` (what each group's
//! receivers hear of) and `[triggers]` (how notifications are delivered),
//! checked with the core's [`Trigger::check`] and turned into core types.

use std::time::Duration;

use deskbridge_core::trigger::{Action, Entity, Format, RetrySchedule, Secret, Trigger};
use serde::{Deserialize, Serialize};

/// `[[groups.triggers]] entity = "ticket", action = "create", url = "...",
/// format = "json", secret = "whsec_..."` (or two secrets while rotating).
#[derive(Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerConfig {
    /// The record whose changes are announced. `callback` is a missed call's
    /// callback, on every backend: created when a missed call opens one,
    /// edited when it folds another missed call, counts an unanswered call
    /// out, or is claimed, released or closed (the query format sends
    /// `AccountID`, `CaseID` and `CallbackID`; the JSON `data` is the callback
    /// as `GET /api/v1/callbacks` shows it).
    pub entity: Entity,
    /// What happened to the record. Comments are never edited, and callbacks
    /// never deleted (they are kept once closed: `edit` hears the close).
    pub action: Action,
    pub url: String,
    #[serde(default)]
    pub format: Format,
    #[serde(default)]
    pub secret: Option<Secrets>,
}

/// One signing secret, or two while the receiver moves to a new one (every
/// notification is then signed with both).
#[derive(Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Secrets {
    One(String),
    Several(Vec<String>),
}

impl std::fmt::Debug for TriggerConfig {
    // Secrets are never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TriggerConfig")
            .field("entity", &self.entity)
            .field("action", &self.action)
            .field("url", &self.url)
            .field("format", &self.format)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .finish()
    }
}

/// The most secrets an endpoint has at once: the old one and the new one.
const MAX_SECRETS: usize = 2;

impl TriggerConfig {
    pub fn trigger(&self) -> Trigger {
        Trigger {
            entity: self.entity,
            action: self.action,
            url: self.url.clone(),
            format: self.format,
        }
    }

    pub(crate) fn secret_texts(&self) -> Vec<&str> {
        match &self.secret {
            None => Vec::new(),
            Some(Secrets::One(s)) => vec![s.as_str()],
            Some(Secrets::Several(v)) => v.iter().map(String::as_str).collect(),
        }
    }

    /// The endpoint's secrets; those that do not parse are left out (the check
    /// reports them).
    pub fn secrets(&self) -> Vec<Secret> {
        self.secret_texts()
            .into_iter()
            .filter_map(|s| Secret::parse(s).ok())
            .collect()
    }

    /// Checks the trigger; `key` is its path (`groups[0].triggers[1]`).
    pub fn check(&self, key: &str, errors: &mut Vec<String>) {
        let texts = self.secret_texts();
        let mut secrets_ok = true;
        if texts.len() > MAX_SECRETS {
            secrets_ok = false;
            errors.push(format!(
                "{key}.secret: at most {MAX_SECRETS} secrets at once (the old and the new one while rotating); remove the oldest"
            ));
        }
        for (n, text) in texts.iter().enumerate() {
            if let Err(e) = Secret::parse(text) {
                secrets_ok = false;
                let at = match &self.secret {
                    Some(Secrets::Several(_)) => format!("{key}.secret[{n}]"),
                    _ => format!("{key}.secret"),
                };
                errors.push(format!("{at}: {e}"));
            }
        }
        let secrets = self.secrets();
        if let Err(e) = self.trigger().check(&secrets) {
            use deskbridge_core::trigger::TriggerError as E;
            let field = match e {
                E::NotUrl { .. } | E::NotHttp { .. } => "url",
                E::CommentEdit | E::CallbackDelete => "action",
                E::MissingSecret | E::UnusedSecret => "secret",
            };
            // A secret already reported as malformed is not also "missing".
            if secrets_ok || !matches!(e, E::MissingSecret) {
                errors.push(format!("{key}.{field}: {e}"));
            }
        }
    }
}

/// `[triggers]`: how notifications are delivered, for every group.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TriggersConfig {
    /// Lets notifications go to loopback, link-local and private addresses
    /// (a receiver on the same network); off, such an address is refused, also
    /// after DNS resolution and on redirects.
    pub allow_private_networks: bool,
    /// The waits before each retry, in seconds; default 5 s, 30 s, 2 min, ...
    /// up to 8 h, about a day in all. After the last, a dead letter.
    pub retry_waits_seconds: Option<Vec<f64>>,
    /// How long one attempt may take, connecting included.
    pub timeout_seconds: u64,
}

impl Default for TriggersConfig {
    fn default() -> Self {
        TriggersConfig {
            allow_private_networks: false,
            retry_waits_seconds: None,
            timeout_seconds: 10,
        }
    }
}

impl TriggersConfig {
    pub fn schedule(&self) -> RetrySchedule {
        match &self.retry_waits_seconds {
            Some(waits) => RetrySchedule {
                waits: waits
                    .iter()
                    .map(|s| Duration::try_from_secs_f64(*s).unwrap_or_default())
                    .collect(),
            },
            None => RetrySchedule::default(),
        }
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds)
    }

    pub fn check(&self, errors: &mut Vec<String>) {
        if self.timeout_seconds == 0 {
            errors.push("triggers.timeout_seconds: must be at least 1".into());
        }
        for (i, w) in self.retry_waits_seconds.iter().flatten().enumerate() {
            if !w.is_finite() || *w < 0.0 || *w > 7.0 * 86_400.0 {
                errors.push(format!(
                    "triggers.retry_waits_seconds[{i}]: {w} is not a wait: write seconds from 0 to 604800 (a week)"
                ));
            }
        }
    }
}
