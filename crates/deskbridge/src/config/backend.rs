//! Helpdesk backends in the config (`[backends.NAME]`): their keys and their
//! checks. A group names one by its key (`backend = "zendesk"`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::group::looks_like_email;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    Builtin,
    Zendesk,
}

#[derive(Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackendConfig {
    pub kind: BackendKind,
    /// `https://acme.zendesk.com` (or the emulator's address).
    #[serde(default)]
    pub base_url: Option<String>,
    /// `acme` for `https://acme.zendesk.com`. With `base_url` too (a proxy,
    /// or the emulator), requests go to `base_url` and `subdomain` names the
    /// account, as the Zendesk app's sign-in tokens do.
    #[serde(default)]
    pub subdomain: Option<String>,
    /// The agent whose API token signs requests.
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub api_token: Option<String>,
    /// Instead of email + api_token.
    #[serde(default)]
    pub oauth_token: Option<String>,
    /// The plan's limit: Team 200, Growth/Professional 400, Enterprise 700,
    /// Enterprise Plus or High Volume 2500.
    #[serde(default = "default_rpm")]
    pub requests_per_minute: u32,
    /// The key of the Zendesk user field that holds an agent's extension (a
    /// text field the admin adds in Zendesk, e.g. `extension`): the agents
    /// Zendesk lists are then matched by extension too, as phone systems
    /// often name the agent who answered.
    #[serde(default)]
    pub agent_extension_field: Option<String>,
    /// The share of `requests_per_minute`, in percent, that lookups may spend:
    /// `/lookup`, `/route`, a contact flow's question and an agent's contact
    /// search (the routing lane). They never take the fifth of the budget kept
    /// for calls either, so a PBX or an agent asking as fast as it can slows
    /// its own answers, never the calls' pops and records. Lookups answered
    /// from the cache or the mirror cost nothing.
    #[serde(default = "default_lookup_percent")]
    pub lookup_percent: u8,
    /// Zendesk's limit on ticket updates for the whole account: 100 a minute,
    /// 300 with the High Volume add-on ("Rate limits", Update Ticket).
    #[serde(default = "default_ticket_updates")]
    pub ticket_updates_per_minute: u32,
    /// Also match users whose number Zendesk marks as shared.
    #[serde(default)]
    pub match_shared_numbers: bool,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Keep a local mirror of the account's users (phones, emails, external
    /// ids) and not-closed tickets in the database, loaded and kept current
    /// through Zendesk's incremental exports (in the budget's bulk lane, 10
    /// export requests a minute at most). While it is current, a caller is
    /// identified and an IVR's ticket number checked without a search or a
    /// GET; while it loads or falls behind, the search is used as before.
    /// Needs an admin's credentials (the exports are "Allowed For: Admins").
    #[serde(default)]
    pub mirror: bool,
    /// How often the mirror asks Zendesk for changes, in seconds (each poll
    /// costs two requests: users and tickets). The mirror counts as current
    /// while its last sync is at most twice this old.
    #[serde(default = "default_mirror_poll")]
    pub mirror_poll_seconds: u64,
}

fn default_mirror_poll() -> u64 {
    60
}

fn default_rpm() -> u32 {
    200
}

fn default_lookup_percent() -> u8 {
    deskbridge_zendesk::DEFAULT_LOOKUP_PERCENT
}

fn default_ticket_updates() -> u32 {
    100
}

fn default_timeout() -> u64 {
    15
}

impl std::fmt::Debug for BackendConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets are never printed.
        f.debug_struct("BackendConfig")
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .field("subdomain", &self.subdomain)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

pub fn check_backends(backends: &BTreeMap<String, BackendConfig>, errors: &mut Vec<String>) {
    for (name, b) in backends {
        if b.kind != BackendKind::Zendesk {
            continue;
        }
        let key = |k: &str| format!("backends.{name}.{k}");
        match (&b.base_url, &b.subdomain) {
            (None, None) => errors.push(format!(
                "{}: a Zendesk backend needs base_url = \"https://acme.zendesk.com\" or subdomain = \"acme\"",
                key("base_url")
            )),
            (Some(url), _) if !(url.starts_with("https://") || url.starts_with("http://")) => {
                errors.push(format!("{}: {url:?} must start with https://", key("base_url")))
            }
            (None, Some(sub))
                if sub.is_empty() || !sub.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') =>
            {
                errors.push(format!(
                    "{}: {sub:?} is not a subdomain (just \"acme\" for acme.zendesk.com)",
                    key("subdomain")
                ))
            }
            _ => {}
        }
        match (&b.email, &b.api_token, &b.oauth_token) {
            (_, _, Some(t)) if t.trim().is_empty() => {
                errors.push(format!("{}: is empty", key("oauth_token")))
            }
            (_, _, Some(_)) => {}
            (Some(e), Some(t), None) => {
                if !looks_like_email(e) {
                    errors.push(format!("{}: {e:?} is not an email address", key("email")));
                }
                if t.trim().is_empty() {
                    errors.push(format!(
                        "{}: is empty; create one in Admin Center > Apps and integrations > Zendesk API",
                        key("api_token")
                    ));
                }
            }
            _ => errors.push(format!(
                "{}: a Zendesk backend signs in with email + api_token (api_token = \"${{ZENDESK_API_TOKEN}}\") or oauth_token",
                key("api_token")
            )),
        }
        if b.mirror && !(10..=3600).contains(&b.mirror_poll_seconds) {
            errors.push(format!(
                "{}: {} is out of range; poll every 10 to 3600 seconds (Zendesk allows 10 export requests a minute)",
                key("mirror_poll_seconds"),
                b.mirror_poll_seconds
            ));
        }
        if b.requests_per_minute == 0 {
            errors.push(format!(
                "{}: must be at least 1",
                key("requests_per_minute")
            ));
        }
        if !(1..=100).contains(&b.lookup_percent) {
            errors.push(format!(
                "{}: {} is out of range; give lookups 1 to 100 percent of requests_per_minute",
                key("lookup_percent"),
                b.lookup_percent
            ));
        }
        if b.ticket_updates_per_minute == 0 {
            errors.push(format!(
                "{}: must be at least 1 (Zendesk allows 100, or 300 with the High Volume add-on)",
                key("ticket_updates_per_minute")
            ));
        }
    }
}
