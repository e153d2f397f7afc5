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
    /// Its `secret`; never logged.
    pub secret: String,
}

impl std::fmt::Debug for AsteriskConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsteriskConfig")
            .field("address", &self.address)
            .field("username", &self.username)
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

    /// Every problem, each starting with its key path (`groups[0].asterisk`).
    pub fn check(&self, key: &str, errors: &mut Vec<String>) {
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
    }

    #[test]
    fn errors_name_the_key_and_never_print_the_secret() {
        let c = AsteriskConfig {
            address: "".into(),
            username: "".into(),
            secret: "".into(),
        };
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
