//! `[groups.wrap_up]`: what agents record about a call once it is over.

use deskbridge_core::wrap_up::{WrapUpCode, WrapUpRules};
use serde::{Deserialize, Serialize};

/// Most codes a group may offer: a list an agent reads in a few seconds.
const MAX_CODES: usize = 50;

#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WrapUpConfig {
    /// The codes agents choose from, in the order shown: `"sale"`, or
    /// `{ code = "sale", label = "Sale closed" }`. A code is letters, digits,
    /// `_` and `-` (it becomes a ticket tag).
    pub codes: Vec<WrapUpCodeConfig>,
    /// How long after an answered call ends its comment waits for the
    /// wrap-up, so that the call and its wrap-up are one write (default 60;
    /// at most 3600). A wrap-up given later is added as a comment of its own.
    pub seconds: Option<u64>,
    /// A wrap-up must name a code (default false: a note alone will do).
    pub required: bool,
    /// The ticket's tag is this prefix and the code (default `wrap_up_`).
    pub tag_prefix: Option<String>,
    /// A ticket field (its id) set to the code, e.g. a Zendesk drop-down
    /// field whose options' tags are the codes.
    pub custom_field: Option<String>,
    /// Pause the agent's queue member (Asterisk `QueuePause`, reason
    /// `wrap-up`) from the end of each answered call until they wrap up or
    /// `seconds` run out. Needs `[groups.asterisk]`.
    pub pause_during_wrap_up: bool,
}

/// One code, bare or with the label agents read.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum WrapUpCodeConfig {
    Code(String),
    Labelled {
        code: String,
        #[serde(default)]
        label: Option<String>,
    },
}

impl WrapUpCodeConfig {
    fn code(&self) -> WrapUpCode {
        let (code, label) = match self {
            WrapUpCodeConfig::Code(c) => (c.trim(), None),
            WrapUpCodeConfig::Labelled { code, label } => (code.trim(), label.as_deref()),
        };
        WrapUpCode {
            code: code.to_string(),
            label: label
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .unwrap_or(code)
                .to_string(),
        }
    }
}

impl WrapUpConfig {
    pub fn rules(&self) -> WrapUpRules {
        let d = WrapUpRules::default();
        WrapUpRules {
            codes: self.codes.iter().map(WrapUpCodeConfig::code).collect(),
            seconds: self.seconds.unwrap_or(d.seconds),
            required: self.required,
            tag_prefix: self.tag_prefix.clone().unwrap_or(d.tag_prefix),
            custom_field: self.custom_field.clone().filter(|f| !f.trim().is_empty()),
            pause: self.pause_during_wrap_up,
        }
    }

    pub fn check(&self, key: &str, has_asterisk: bool, errors: &mut Vec<String>) {
        let tag_safe = |s: &str| {
            s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        let rules = self.rules();
        if rules.codes.len() > MAX_CODES {
            errors.push(format!(
                "{key}.codes: {} codes; offer at most {MAX_CODES}",
                rules.codes.len()
            ));
        }
        let mut seen: Vec<String> = Vec::new();
        for c in &rules.codes {
            if c.code.is_empty() || c.code.len() > 60 || !tag_safe(&c.code) {
                errors.push(format!(
                    "{key}.codes: {:?} is not a code; use 1 to 60 letters, digits, `_` or `-` (put words in `label`)",
                    c.code
                ));
            }
            let lower = c.code.to_ascii_lowercase();
            if seen.contains(&lower) {
                errors.push(format!("{key}.codes: {:?} is listed twice", c.code));
            }
            seen.push(lower);
        }
        if self.required && rules.codes.is_empty() {
            errors.push(format!(
                "{key}.required: no codes to require; list them in {key}.codes"
            ));
        }
        if rules.seconds > 3600 {
            errors.push(format!(
                "{key}.seconds: {} is out of range; give 0 to 3600",
                rules.seconds
            ));
        }
        if !tag_safe(&rules.tag_prefix) {
            errors.push(format!(
                "{key}.tag_prefix: {:?} would not make a tag; use letters, digits, `_` or `-`",
                rules.tag_prefix
            ));
        }
        if self.pause_during_wrap_up && !has_asterisk {
            errors.push(format!(
                "{key}.pause_during_wrap_up: pausing needs the group's Asterisk manager connection; add [groups.asterisk] or set it to false"
            ));
        }
        if self.pause_during_wrap_up && rules.seconds == 0 {
            errors.push(format!(
                "{key}.pause_during_wrap_up: with seconds = 0 the pause would end at once; give {key}.seconds"
            ));
        }
    }
}
