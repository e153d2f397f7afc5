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
    Freshdesk,
}

/// A Freshdesk plan, for its rate limits (support article "What are the rate
/// limits for the API calls to Freshdesk?").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FreshdeskPlan {
    /// 200 requests a minute; 80 ticket creates, 20 contact lists.
    Growth,
    /// 400 a minute; 160 ticket creates, 100 contact lists.
    Pro,
    /// 700 a minute; 280 ticket creates, 200 contact lists.
    Enterprise,
}

impl FreshdeskPlan {
    pub fn limits(self) -> deskbridge_freshdesk::PlanLimits {
        match self {
            FreshdeskPlan::Growth => deskbridge_freshdesk::Plan::Growth,
            FreshdeskPlan::Pro => deskbridge_freshdesk::Plan::Pro,
            FreshdeskPlan::Enterprise => deskbridge_freshdesk::Plan::Enterprise,
        }
        .limits()
    }
}

#[derive(Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackendConfig {
    pub kind: BackendKind,
    /// `https://acme.zendesk.com` or `https://acme.freshdesk.com` (or an
    /// emulator's address).
    #[serde(default)]
    pub base_url: Option<String>,
    /// Freshdesk: `acme` for `https://acme.freshdesk.com`.
    #[serde(default)]
    pub domain: Option<String>,
    /// Freshdesk: the API key of the agent whose requests deskbridge sends
    /// (Profile settings > View API key), e.g. `"${FRESHDESK_API_KEY}"`.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Freshdesk: the account's plan, whose limits are kept before sending:
    /// the requests a minute (unless `requests_per_minute` is lower) and the
    /// endpoints' own (ticket creates and updates, ticket and contact lists).
    #[serde(default)]
    pub plan: Option<FreshdeskPlan>,
    /// Freshdesk: put a call's private comment into a new ticket's
    /// description, in the one request that makes the ticket. Freshdesk shows
    /// a ticket's description to its requester (the customer portal, the
    /// new-ticket email), so by default the description only names the call
    /// and its details go into a private note (one request more per new
    /// ticket).
    #[serde(default)]
    pub call_in_description: bool,
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
    /// The plan's limit. Zendesk: Team 200 (the default), Growth/Professional
    /// 400, Enterprise 700, Enterprise Plus or High Volume 2500. Freshdesk: the
    /// `plan`'s (Growth 200 when none is named); set lower to leave a share
    /// to other integrations.
    #[serde(default)]
    pub requests_per_minute: Option<u32>,
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
    /// Keep a local mirror of the account's users or contacts (phones,
    /// emails, external ids) and not-closed tickets in the database, loaded
    /// and kept current in the budget's bulk lane: through Zendesk's
    /// incremental exports (10 export requests a minute at most; needs an
    /// admin's credentials, the exports are "Allowed For: Admins"), or
    /// Freshdesk's contact and ticket lists by `updated_since` (within the
    /// plan's list limits). While it is current, a caller is identified and an
    /// IVR's ticket number checked without a search or a GET; while it loads
    /// or falls behind, the search is used as before.
    #[serde(default)]
    pub mirror: bool,
    /// How often the mirror asks the helpdesk for changes, in seconds (each
    /// poll costs two requests: users or contacts, and tickets). The mirror counts as current
    /// while its last sync is at most twice this old.
    #[serde(default = "default_mirror_poll")]
    pub mirror_poll_seconds: u64,
}

fn default_mirror_poll() -> u64 {
    60
}

/// Zendesk's requests a minute when none are configured: the Team plan's.
const ZENDESK_DEFAULT_RPM: u32 = 200;

impl BackendConfig {
    /// The requests a minute kept to: the configured number, else the plan's.
    pub fn requests_per_minute(&self) -> u32 {
        match self.kind {
            BackendKind::Freshdesk => {
                let plan = self.freshdesk_plan().limits().per_minute;
                self.requests_per_minute.map_or(plan, |rpm| rpm.min(plan))
            }
            _ => self.requests_per_minute.unwrap_or(ZENDESK_DEFAULT_RPM),
        }
    }

    /// A Freshdesk backend's plan: Growth when none is named.
    pub fn freshdesk_plan(&self) -> FreshdeskPlan {
        self.plan.unwrap_or(FreshdeskPlan::Growth)
    }
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
        if b.requests_per_minute == Some(0) {
            errors.push(format!(
                "backends.{name}.requests_per_minute: must be at least 1"
            ));
        }
        if b.kind == BackendKind::Freshdesk {
            check_freshdesk(name, b, errors);
        }
        if b.kind != BackendKind::Zendesk {
            continue;
        }
        let key = |k: &str| format!("backends.{name}.{k}");
        let freshdesk_only = [
            ("domain", b.domain.is_some()),
            ("api_key", b.api_key.is_some()),
            ("plan", b.plan.is_some()),
            ("call_in_description", b.call_in_description),
        ];
        for (k, set) in freshdesk_only {
            if set {
                errors.push(format!(
                    "{}: is a Freshdesk key; a Zendesk backend has subdomain (or base_url), email and api_token (or oauth_token)",
                    key(k)
                ));
            }
        }
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

/// A Freshdesk backend: its account and key, and no key that only Zendesk has.
fn check_freshdesk(name: &str, b: &BackendConfig, errors: &mut Vec<String>) {
    let key = |k: &str| format!("backends.{name}.{k}");
    match (&b.base_url, &b.domain) {
        (None, None) => errors.push(format!(
            "{}: a Freshdesk backend needs domain = \"acme\" (for acme.freshdesk.com) or base_url",
            key("domain")
        )),
        (Some(url), _) if !(url.starts_with("https://") || url.starts_with("http://")) => errors
            .push(format!(
                "{}: {url:?} must start with https://",
                key("base_url")
            )),
        (None, Some(d))
            if d.is_empty() || !d.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') =>
        {
            errors.push(format!(
                "{}: {d:?} is not a Freshdesk domain (just \"acme\" for acme.freshdesk.com)",
                key("domain")
            ))
        }
        _ => {}
    }
    match &b.api_key {
        Some(k) if !k.trim().is_empty() => {}
        _ => errors.push(format!(
            "{}: a Freshdesk backend signs in with its API key (api_key = \"${{FRESHDESK_API_KEY}}\"; Profile settings > View API key)",
            key("api_key")
        )),
    }
    let zendesk_only = [
        ("subdomain", b.subdomain.is_some()),
        ("email", b.email.is_some()),
        ("api_token", b.api_token.is_some()),
        ("oauth_token", b.oauth_token.is_some()),
        ("agent_extension_field", b.agent_extension_field.is_some()),
        ("match_shared_numbers", b.match_shared_numbers),
    ];
    for (k, set) in zendesk_only {
        if set {
            errors.push(format!(
                "{}: is a Zendesk key; a Freshdesk backend has domain, api_key and plan",
                key(k)
            ));
        }
    }
    if b.mirror && !(10..=3600).contains(&b.mirror_poll_seconds) {
        errors.push(format!(
            "{}: {} is out of range; poll every 10 to 3600 seconds (each poll lists contacts and tickets once, and Growth allows 20 of each a minute)",
            key("mirror_poll_seconds"),
            b.mirror_poll_seconds
        ));
    }
}
