//! A group's block list and outbound caller-id rules in the config, checked and
//! turned into the core's [`Dialing`].

use deskbridge_core::dialing::{Blocked, CallerIdRule, Dialing, rule_digits};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::group::GroupConfig;

/// `block = ["+491715000000", { number = "+4930*", note = "spam range" }]`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum BlockEntry {
    Number(String),
    Noted {
        number: String,
        #[serde(default)]
        note: Option<String>,
    },
}

/// `[[groups.caller_id_rules]] dest = "41*", caller_id = "+41715880339000"`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallerIdRuleConfig {
    pub dest: String,
    pub caller_id: String,
}

const DIGITS_HELP: &str =
    "write a number in international form (+491715000000) or digits with * for any digits (4930*)";

/// Checks the group's dialing keys (`key` names a key of the group).
pub fn check(g: &GroupConfig, key: &dyn Fn(&str) -> String, errors: &mut Vec<String>) {
    for (i, entry) in g.block.iter().enumerate() {
        let number = match entry {
            BlockEntry::Number(n) | BlockEntry::Noted { number: n, .. } => n,
        };
        if rule_digits(number).is_none() {
            errors.push(format!(
                "{}: {number:?}: {DIGITS_HELP}",
                key(&format!("block[{i}]"))
            ));
        }
    }
    for (i, rule) in g.caller_id_rules.iter().enumerate() {
        if rule_digits(&rule.dest).is_none() {
            errors.push(format!(
                "{}: {:?}: {DIGITS_HELP}",
                key(&format!("caller_id_rules[{i}].dest")),
                rule.dest
            ));
        }
        if rule.caller_id.trim().is_empty() {
            errors.push(format!(
                "{}: the number outbound calls to {:?} show; it is empty",
                key(&format!("caller_id_rules[{i}].caller_id")),
                rule.dest
            ));
        }
    }
    if g.default_caller_id
        .as_deref()
        .is_some_and(|c| c.trim().is_empty())
    {
        errors.push(format!(
            "{}: is empty; leave it out for no default",
            key("default_caller_id")
        ));
    }
}

/// The core's view of the keys (after [`check`] passed). Caller ids are answered
/// as written in the config.
pub fn dialing(g: &GroupConfig) -> Dialing {
    Dialing {
        block: g
            .block
            .iter()
            .filter_map(|entry| {
                let (number, note) = match entry {
                    BlockEntry::Number(n) => (n, None),
                    BlockEntry::Noted { number, note } => (number, note.clone()),
                };
                Some(Blocked {
                    number: rule_digits(number)?,
                    note,
                })
            })
            .collect(),
        caller_id_rules: g
            .caller_id_rules
            .iter()
            .filter_map(|r| {
                Some(CallerIdRule {
                    dest: rule_digits(&r.dest)?,
                    caller_id: r.caller_id.trim().to_string(),
                })
            })
            .collect(),
        default_caller_id: g.default_caller_id.as_ref().map(|c| c.trim().to_string()),
    }
}

/// `[groups.dial_webhook]`: click-to-call through any phone system with a
/// click-to-dial API (sipgate's `POST /v2/sessions/calls`, a PBX script): on
/// each dial deskbridge sends `method` to `url` with `headers` and a JSON
/// object whose values are the `body` templates rendered over the dial
/// (`agent.extension`, `agent.email`, `agent.name`, `to`, `caller_id`,
/// `call_id`). A 2xx answer means the phone system placed it.
#[derive(Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DialWebhookConfig {
    /// An `https://` (or `http://`) URL.
    pub url: String,
    /// `POST` (default) or `PUT`.
    pub method: Option<String>,
    /// Header name → value, e.g. `Authorization = "Basic ${SIPGATE_AUTH}"`
    /// (never logged).
    pub headers: BTreeMap<String, String>,
    /// JSON field → template, e.g. `callee = "{{ to }}"`.
    pub body: BTreeMap<String, String>,
}

impl std::fmt::Debug for DialWebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DialWebhookConfig")
            .field("url", &self.url)
            .field("method", &self.method)
            .field("body", &self.body)
            .finish_non_exhaustive()
    }
}

impl DialWebhookConfig {
    pub fn method(&self) -> reqwest::Method {
        match self
            .method
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            Some("PUT") => reqwest::Method::PUT,
            _ => reqwest::Method::POST,
        }
    }

    /// Every problem, each starting with its key path.
    pub fn check(&self, key: &str, errors: &mut Vec<String>) {
        if !(self.url.starts_with("https://") || self.url.starts_with("http://")) {
            errors.push(format!(
                "{key}.url: {:?} must start with https://, e.g. url = \"https://api.sipgate.com/v2/sessions/calls\"",
                self.url
            ));
        }
        if let Some(m) = &self.method
            && !matches!(m.to_ascii_uppercase().as_str(), "POST" | "PUT")
        {
            errors.push(format!("{key}.method: {m:?}; use POST or PUT"));
        }
        let sample = deskbridge_core::dial::Dial::sample();
        for (field, template) in &self.body {
            if let Err(e) = deskbridge_core::templates::render_for_dial(template, &sample) {
                errors.push(format!("{key}.body.{field}: {e}"));
            }
        }
    }
}

/// `[groups.twilio_dial]`: click-to-call through Twilio. deskbridge calls the
/// agent (Twilio's Create Call) and, once they pick up, its TwiML dials the
/// customer; both legs' status callbacks come back to the group's Twilio
/// address. Needs the group's `twilio_auth_token` (Twilio's REST API takes
/// it with the account SID) and `[server] public_url` (where Twilio fetches
/// the TwiML and sends the callbacks).
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TwilioDialConfig {
    /// The account SID (`AC...`).
    pub account_sid: String,
    /// Where the agent is rung, a template over the dial:
    /// `client:{{ agent.extension }}` (a Twilio Voice SDK client), a SIP
    /// address, or a number.
    pub agent_endpoint: String,
    /// Twilio's REST API (default `https://api.twilio.com`).
    pub api_base: Option<String>,
    /// How long the agent's phone rings (default 30).
    pub timeout_seconds: Option<u64>,
}

impl TwilioDialConfig {
    pub fn api_base(&self) -> &str {
        self.api_base
            .as_deref()
            .unwrap_or("https://api.twilio.com")
            .trim_end_matches('/')
    }

    /// Every problem, each starting with its key path.
    pub fn check(
        &self,
        key: &str,
        has_token: bool,
        has_public_url: bool,
        errors: &mut Vec<String>,
    ) {
        if !(self.account_sid.starts_with("AC") && self.account_sid.len() > 2) {
            errors.push(format!(
                "{key}.account_sid: {:?} is not an account SID; copy it from the Twilio console (AC...)",
                self.account_sid
            ));
        }
        if let Err(e) = deskbridge_core::templates::render_for_dial(
            &self.agent_endpoint,
            &deskbridge_core::dial::Dial::sample(),
        ) {
            errors.push(format!("{key}.agent_endpoint: {e}"));
        } else if self.agent_endpoint.trim().is_empty() {
            errors.push(format!(
                "{key}.agent_endpoint: is empty; e.g. agent_endpoint = \"client:{{{{ agent.extension }}}}\""
            ));
        }
        if !has_token {
            errors.push(format!(
                "{key}: needs the group's twilio_auth_token (the REST API and the callbacks use it)"
            ));
        }
        if !has_public_url {
            errors.push(format!(
                "{key}: needs [server] public_url, the address Twilio fetches the dial's TwiML from"
            ));
        }
    }
}
