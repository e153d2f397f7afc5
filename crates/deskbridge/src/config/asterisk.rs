//! `[groups.asterisk]`: the group's Asterisk manager interface (AMI) connection.

use serde::{Deserialize, Serialize};

/// The AMI port Asterisk listens on unless `manager.conf` says otherwise.
pub const DEFAULT_PORT: u16 = 5038;

#[derive(Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AsteriskConfig {
    /// `host:port` of the manager interface (`pbx.acme.com:5038`; the port may be
    /// left out).
    pub address: String,
    /// The `[user]` section of `manager.conf`.
    pub username: String,
    /// Its `secret`; never logged, and never sent when the PBX offers the MD5
    /// challenge (Asterisk does): the login proves it with a digest.
    pub secret: String,
    /// Connect with TLS (Asterisk's `[general] tlsenable = yes`, port 5039 by
    /// default): the events, which name callers and their numbers, are then
    /// encrypted too.
    pub tls: bool,
    /// With `tls`: a PEM file of the CA certificates to trust for the PBX's
    /// certificate (a private CA, or the PBX's self-signed certificate);
    /// without it, the public web's roots (Mozilla's, built in).
    pub ca_file: Option<std::path::PathBuf>,
    /// Click-to-call: the channel that rings the dialing agent's phone, a
    /// template over `agent.extension`, `agent.email` and `agent.name`
    /// (`"PJSIP/{{ agent.extension }}"`). Without it the group dials nothing
    /// through Asterisk. The manager user needs `write = originate`.
    pub agent_channel: Option<String>,
    /// Click-to-call: the dialplan context the agent's answered phone is sent
    /// to, at the customer's number in E.164 (default `from-internal`).
    pub dial_context: Option<String>,
    /// Click-to-call: how long the agent's phone rings before the dial gives up
    /// (default 30).
    pub dial_timeout_seconds: Option<u64>,
    /// The reasons an agent may pause for in the group's queues (Asterisk
    /// `QueuePause`), as the page offers them (default Break, Lunch, Meeting,
    /// Training). Pausing needs `agent_channel` (it names the agent's queue
    /// member) and the manager user's `write = agent`.
    pub pause_reasons: Option<Vec<String>>,
}

impl std::fmt::Debug for AsteriskConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsteriskConfig")
            .field("address", &self.address)
            .field("username", &self.username)
            .field("tls", &self.tls)
            .field("ca_file", &self.ca_file)
            .field("agent_channel", &self.agent_channel)
            .finish_non_exhaustive()
    }
}

impl AsteriskConfig {
    /// The address to connect to, with the default port when none is given.
    pub fn socket_address(&self) -> String {
        let a = self.address.trim();
        let has_port = a
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        match has_port && !(a.starts_with('[') && a.ends_with(']')) {
            true => a.to_string(),
            false => format!("{a}:{DEFAULT_PORT}"),
        }
    }

    /// The host to check the PBX's certificate against: the address without
    /// its port (and an IPv6 address without its brackets).
    pub fn host(&self) -> String {
        let a = self.socket_address();
        let host = a.rsplit_once(':').map_or(a.as_str(), |(h, _)| h);
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_string()
    }

    /// The reasons the page offers for a pause.
    pub fn pause_reasons(&self) -> Vec<String> {
        match &self.pause_reasons {
            Some(reasons) => reasons.iter().map(|r| r.trim().to_string()).collect(),
            None => crate::pauses::DEFAULT_REASONS
                .iter()
                .map(|r| r.to_string())
                .collect(),
        }
    }

    /// The context dialed calls are sent to.
    pub fn dial_context(&self) -> &str {
        self.dial_context
            .as_deref()
            .filter(|c| !c.trim().is_empty())
            .unwrap_or("from-internal")
    }

    pub fn dial_timeout_seconds(&self) -> u64 {
        self.dial_timeout_seconds.unwrap_or(30)
    }

    /// Every problem, each starting with its key path (`groups[0].asterisk`).
    pub fn check(&self, key: &str, errors: &mut Vec<String>) {
        if let Some(template) = &self.agent_channel {
            let sample = deskbridge_core::dial::Dial::sample();
            match deskbridge_core::templates::render_for_dial(template, &sample) {
                Ok(channel) if channel.contains('/') => {}
                Ok(channel) => errors.push(format!(
                    "{key}.agent_channel: {channel:?} is not a channel; write tech/resource, e.g. agent_channel = \"PJSIP/{{{{ agent.extension }}}}\""
                )),
                Err(e) => errors.push(format!("{key}.agent_channel: {e}")),
            }
        }
        if let Some(reasons) = &self.pause_reasons {
            let bad = reasons.iter().find(|r| {
                let r = r.trim();
                r.is_empty() || r.chars().count() > deskbridge_core::pause::MAX_REASON_CHARS
            });
            if let Some(r) = bad {
                errors.push(format!(
                    "{key}.pause_reasons: {r:?} is not a reason; give 1 to {} characters",
                    deskbridge_core::pause::MAX_REASON_CHARS
                ));
            }
        }
        if let Some(t) = self.dial_timeout_seconds
            && !(5..=120).contains(&t)
        {
            errors.push(format!(
                "{key}.dial_timeout_seconds: {t} is out of range; give 5 to 120 seconds"
            ));
        }
        match (&self.ca_file, self.tls) {
            (Some(_), false) => errors.push(format!(
                "{key}.ca_file: is set but tls is not; set tls = true to connect with TLS, or remove ca_file"
            )),
            (Some(path), true) if std::fs::read(path).is_err() => errors.push(format!(
                "{key}.ca_file: cannot read {}; give the PEM file of the CA that signed the PBX's certificate",
                path.display()
            )),
            _ => {}
        }
        let a = self.address.trim();
        if a.is_empty() || a.contains(char::is_whitespace) || a.contains('/') {
            errors.push(format!(
                "{key}.address: {a:?} is not host:port; write the PBX's manager address, e.g. address = \"pbx.acme.com:5038\""
            ));
        }
        if self.username.trim().is_empty() {
            errors.push(format!(
                "{key}.username: is empty; name the [user] section of the PBX's manager.conf"
            ));
        }
        if self.secret.is_empty() {
            errors.push(format!(
                "{key}.secret: is empty; set that user's secret, e.g. secret = \"${{AMI_SECRET}}\""
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_defaults_to_5038() {
        let with = |address: &str| AsteriskConfig {
            address: address.into(),
            ..AsteriskConfig::default()
        };
        assert_eq!(with("pbx.acme.com").socket_address(), "pbx.acme.com:5038");
        assert_eq!(with("10.0.0.5:5039").socket_address(), "10.0.0.5:5039");
        assert_eq!(with("[::1]").socket_address(), "[::1]:5038");
        assert_eq!(with("[::1]:6000").socket_address(), "[::1]:6000");
        assert_eq!(with("pbx.acme.com").host(), "pbx.acme.com");
        assert_eq!(with("[::1]:6000").host(), "::1");
    }

    #[test]
    fn a_ca_file_needs_tls_and_must_be_readable() {
        let c = AsteriskConfig {
            address: "pbx.acme.com:5039".into(),
            username: "deskbridge".into(),
            secret: "s".into(),
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..AsteriskConfig::default()
        };
        let mut errors = Vec::new();
        c.check("groups[0].asterisk", &mut errors);
        assert!(errors[0].contains("set tls = true"), "{errors:?}");
        let c = AsteriskConfig { tls: true, ..c };
        let mut errors = Vec::new();
        c.check("groups[0].asterisk", &mut errors);
        assert!(
            errors[0].contains("cannot read /nonexistent/ca.pem"),
            "{errors:?}"
        );
    }

    #[test]
    fn errors_name_the_key_and_never_print_the_secret() {
        let c = AsteriskConfig::default();
        let mut errors = Vec::new();
        c.check("groups[0].asterisk", &mut errors);
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].starts_with("groups[0].asterisk.address:"));
        let c = AsteriskConfig {
            secret: "hunter2-secret".into(),
            ..AsteriskConfig::default()
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
