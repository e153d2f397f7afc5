//! A group's thresholds for its contact-center figures
//! (`service_level_seconds`, `short_abandon_seconds`): read into the core's
//! [`Thresholds`], which every call of the group carries on its plan; and
//! the wallboard's read-only token.

use deskbridge_core::policy::Thresholds;

use super::GroupConfig;

/// The longest service-level threshold: an hour. A target past that is a
/// mistyped unit (minutes, milliseconds), not a contact center's target.
const MAX_SERVICE_LEVEL_SECONDS: u64 = 3600;
/// The longest short abandon: ten minutes. Short abandons are the callers
/// who hung up within seconds (a wrong number, a wrong menu choice).
const MAX_SHORT_ABANDON_SECONDS: u64 = 600;

/// The group's thresholds, its keys over the defaults.
pub(super) fn thresholds(g: &GroupConfig) -> Thresholds {
    let d = Thresholds::default();
    Thresholds {
        service_level_seconds: g.service_level_seconds.unwrap_or(d.service_level_seconds),
        short_abandon_seconds: g.short_abandon_seconds.unwrap_or(d.short_abandon_seconds),
    }
}

/// Thresholds out of range are refused, saying what to give.
pub(super) fn check(g: &GroupConfig, key: &dyn Fn(&str) -> String, errors: &mut Vec<String>) {
    if let Some(s) = g.service_level_seconds
        && !(1..=MAX_SERVICE_LEVEL_SECONDS).contains(&s)
    {
        errors.push(format!(
            "{}: {s} is out of range; give 1 to {MAX_SERVICE_LEVEL_SECONDS} seconds (20 is the common target's threshold)",
            key("service_level_seconds")
        ));
    }
    if let Some(s) = g.short_abandon_seconds
        && s > MAX_SHORT_ABANDON_SECONDS
    {
        errors.push(format!(
            "{}: {s} is out of range; give 0 (no short abandons) to {MAX_SHORT_ABANDON_SECONDS} seconds",
            key("short_abandon_seconds")
        ));
    }
}

/// Wallboard tokens: long enough not to be guessed, and none another
/// token's (a group's, an agent's, another wallboard's), so the token a TV
/// screen shows never also sends events or signs an agent in.
pub(super) fn check_wallboard_tokens(config: &super::Config, errors: &mut Vec<String>) {
    let mut others: Vec<&str> = config
        .groups
        .iter()
        .flat_map(|g| g.tokens.iter())
        .chain(config.agents.iter().filter_map(|a| a.token.as_ref()))
        .map(|t| t.trim())
        .collect();
    for (i, g) in config.groups.iter().enumerate() {
        let Some(token) = g.wallboard_token.as_deref().map(str::trim) else {
            continue;
        };
        let key = format!("groups[{i}].wallboard_token");
        if token.len() < 16 {
            errors.push(format!(
                "{key}: at least 16 characters, so it cannot be guessed (e.g. `openssl rand -hex 24`)"
            ));
        } else if others.contains(&token) {
            errors.push(format!(
                "{key}: another token (a group's, an agent's or another wallboard's) is the same; \
                 give the wallboard its own, as it may read nothing else (e.g. `openssl rand -hex 24`)"
            ));
        }
        others.push(token);
    }
}
