//! What a PBX asks while a call starts, and the group's answer: is this inbound
//! caller blocked, and which caller id does this outbound call show. These are
//! Zammad CTI's `reject` and `dial` answers, which PBX scripts act on.
//!
//! Numbers are compared as E.164 digits without the `+` (`491715000000`), as
//! Zammad compares them; a pattern's `*` stands for one or more digits and a
//! pattern matches the whole number (`41*` is every Swiss number, not a number
//! containing 41). Caller-id rules for the exact destination win over patterns;
//! among patterns the first listed wins; then the group's default caller id.

use serde::{Deserialize, Serialize};

use crate::phone::Phone;

/// A blocked inbound number (or pattern), with the admin's note on why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    /// E.164 digits without `+`, possibly with `*`.
    pub number: String,
    pub note: Option<String>,
}

/// Outbound calls to `dest` (digits, possibly with `*`) show `caller_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallerIdRule {
    pub dest: String,
    pub caller_id: String,
}

/// A group's block list and outbound caller-id rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dialing {
    pub block: Vec<Blocked>,
    pub caller_id_rules: Vec<CallerIdRule>,
    pub default_caller_id: Option<String>,
}

/// The digits a rule is written in: `+49 171 500-0000` → `491715000000`; `*`
/// kept. `None` when anything else is in it (the config check says so).
pub fn rule_digits(raw: &str) -> Option<String> {
    let kept: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.' | '/'))
        .collect();
    let kept = kept.strip_prefix('+').unwrap_or(&kept).to_string();
    let ok = !kept.is_empty()
        && kept.chars().all(|c| c.is_ascii_digit() || c == '*')
        && kept.chars().any(|c| c.is_ascii_digit());
    ok.then_some(kept)
}

/// Whether `pattern` (digits and `*`, one or more of any) matches all of `digits`.
fn matches(pattern: &str, digits: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == digits,
        Some((head, rest)) => {
            let Some(tail) = digits.strip_prefix(head) else {
                return false;
            };
            // `*` takes at least one character, then the rest must match.
            (1..=tail.len())
                .filter(|n| tail.is_char_boundary(*n))
                .any(|n| matches(rest, &tail[n..]))
        }
    }
}

/// The number as rules see it: its E.164 digits, or for a number libphonenumber
/// cannot place (too long for its country, a new range) the digits as sent, as
/// Zammad compares them; none for anonymous callers.
fn digits(phone: &Phone) -> Option<String> {
    match phone {
        Phone::E164(e) => Some(e.trim_start_matches('+').to_string()),
        Phone::Invalid(raw) => rule_digits(raw).filter(|d| !d.contains('*')),
        Phone::Anonymous => None,
    }
}

impl Dialing {
    /// The block-list entry that matches this inbound caller, if any.
    pub fn blocked(&self, from: &Phone) -> Option<&Blocked> {
        let digits = digits(from)?;
        self.block.iter().find(|b| matches(&b.number, &digits))
    }

    /// The caller id an outbound call to `to` shows: the exact destination's
    /// rule, else the first pattern that matches, else the default.
    pub fn caller_id(&self, to: &Phone) -> Option<&str> {
        let rule = digits(to).and_then(|digits| {
            let digits = digits.as_str();
            let exact = self
                .caller_id_rules
                .iter()
                .find(|r| !r.dest.contains('*') && r.dest == digits);
            exact.or_else(|| {
                self.caller_id_rules
                    .iter()
                    .find(|r| r.dest.contains('*') && matches(&r.dest, digits))
            })
        });
        rule.map(|r| r.caller_id.as_str())
            .or(self.default_caller_id.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone::Region;

    /// Zammad's own request spec (spec/requests/integration/cti_spec.rb): its
    /// routing table, default caller id and block list.
    fn zammads() -> Dialing {
        Dialing {
            block: vec![Blocked {
                number: "491715000000".into(),
                note: Some("some note".into()),
            }],
            caller_id_rules: vec![
                CallerIdRule {
                    dest: "41*".into(),
                    caller_id: "41715880339000".into(),
                },
                CallerIdRule {
                    dest: "491714000000".into(),
                    caller_id: "41715880339000".into(),
                },
            ],
            default_caller_id: Some("4930777000000".into()),
        }
    }

    fn phone(raw: &str) -> Phone {
        Phone::parse(raw, "DE".parse::<Region>().expect("a region"))
    }

    #[test]
    fn zammads_spec_cases() {
        let d = zammads();
        assert_eq!(
            d.blocked(&phone("+491715000000"))
                .and_then(|b| b.note.as_deref()),
            Some("some note")
        );
        assert!(d.blocked(&phone("+4912347114711")).is_none());
        assert_eq!(d.caller_id(&phone("+4912347114711")), Some("4930777000000"));
        assert_eq!(d.caller_id(&phone("+491714000000")), Some("41715880339000"));
        assert_eq!(
            d.caller_id(&phone("+4147110000000")),
            Some("41715880339000")
        );
    }

    #[test]
    fn an_exact_destination_wins_over_an_earlier_pattern() {
        let d = Dialing {
            caller_id_rules: vec![
                CallerIdRule {
                    dest: "49*".into(),
                    caller_id: "pattern".into(),
                },
                CallerIdRule {
                    dest: "491714000000".into(),
                    caller_id: "exact".into(),
                },
            ],
            ..Dialing::default()
        };
        assert_eq!(d.caller_id(&phone("+491714000000")), Some("exact"));
        assert_eq!(d.caller_id(&phone("+491714000001")), Some("pattern"));
    }

    #[test]
    fn a_star_is_one_or_more_digits_and_patterns_are_anchored() {
        assert!(matches("41*", "4171"));
        assert!(!matches("41*", "41"), "* needs at least one digit");
        assert!(!matches("41*", "4941"), "anchored at the start");
        assert!(matches("49*00", "4930600000000"));
        assert!(!matches("49*00", "4930600000001"), "anchored at the end");
        assert!(matches("4930*", "4930777000000"));
    }

    #[test]
    fn anonymous_callers_are_never_blocked_and_get_the_default_caller_id() {
        let mut d = zammads();
        d.block.push(Blocked {
            number: "*".into(),
            note: None,
        });
        assert!(d.blocked(&Phone::Anonymous).is_none());
        assert_eq!(d.caller_id(&Phone::Anonymous), Some("4930777000000"));
    }

    #[test]
    fn rules_are_written_in_digits() {
        assert_eq!(
            rule_digits("+49 171 500-0000").as_deref(),
            Some("491715000000")
        );
        assert_eq!(rule_digits("41*").as_deref(), Some("41*"));
        assert_eq!(rule_digits("sip:ann"), None);
        assert_eq!(rule_digits("*"), None, "a rule needs digits");
    }
}
