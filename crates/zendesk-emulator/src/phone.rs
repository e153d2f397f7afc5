//! Phone rules as Zendesk applies them: writes must be E.164, and search compares
//! digits, exactly unless the query carries a `*` wildcard.

/// The ASCII digits of `text`, in order.
pub(crate) fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// `+` followed by 8 to 15 digits and nothing else: what Zendesk's phone validation
/// accepts on user writes.
pub(crate) fn is_e164(text: &str) -> bool {
    text.strip_prefix('+').is_some_and(|rest| {
        (8..=15).contains(&rest.len()) && rest.chars().all(|c| c.is_ascii_digit())
    })
}

/// Identity values may be written with formatting ("+1 555-123-4567"); Zendesk
/// stores the E.164 form. `None` when what remains is not E.164.
pub(crate) fn normalize_identity(text: &str) -> Option<String> {
    let trimmed = text.trim();
    let formatting_only = trimmed
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '.' | '(' | ')'));
    if !formatting_only || !trimmed.starts_with('+') {
        return None;
    }
    let normalized = format!("+{}", digits(trimmed));
    is_e164(&normalized).then_some(normalized)
}

/// Whether a stored number answers a `phone:` search term.
///
/// Without a wildcard only clean stored numbers match (Zendesk's matching is
/// E.164-only: "+1 (415) 555-1212" is not found by `phone:14155551212`). A leading
/// `*` matches the end of the stored digits, formatting ignored, which is how
/// clients find numbers typed in by hand; a trailing `*` matches the start.
pub(crate) fn search_matches(pattern: &str, stored: &str) -> bool {
    // "The '+' sign preceding a country code should not be included" (Talk
    // Partner Edition guide, "Retrieving the Zendesk user id of a caller"): a
    // query with it finds nobody.
    if pattern.contains('+') {
        return false;
    }
    let wanted = digits(pattern);
    if wanted.is_empty() {
        return false;
    }
    let leading = pattern.starts_with('*');
    let trailing = pattern.ends_with('*');
    if leading || trailing {
        let have = digits(stored);
        return match (leading, trailing) {
            (true, true) => have.contains(&wanted),
            (true, false) => have.ends_with(&wanted),
            _ => have.starts_with(&wanted),
        };
    }
    let clean = stored.strip_prefix('+').unwrap_or(stored);
    clean.chars().all(|c| c.is_ascii_digit()) && clean == wanted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_validation() {
        assert!(is_e164("+14155551212"));
        assert!(is_e164("+49301234"));
        assert!(!is_e164("14155551212"));
        assert!(!is_e164("+1 415 555 1212"));
        assert!(!is_e164("+1234567"));
        assert!(!is_e164("+1234567890123456"));
    }

    #[test]
    fn exact_search_ignores_formatted_numbers() {
        assert!(search_matches("14155551212", "+14155551212"));
        assert!(!search_matches("14155551212", "+1 (415) 555-1212"));
        assert!(!search_matches("4155551212", "+14155551212"));
        assert!(
            !search_matches("+14155551212", "+14155551212"),
            "+ finds nothing"
        );
    }

    /// The guide's own example: `phone:*5135557611` finds each of these.
    #[test]
    fn the_guides_wildcard_example() {
        for stored in [
            "+1 513.555.7611",
            "(513) 555-7611",
            "513 555 7611",
            "513-555-7611",
            "513.555.7611",
        ] {
            assert!(search_matches("*5135557611", stored), "{stored}");
            assert!(!search_matches("15135557611", stored), "{stored}");
        }
    }

    #[test]
    fn wildcard_search_sees_through_formatting() {
        assert!(search_matches("*14155551212", "+1 (415) 555-1212"));
        assert!(search_matches("*4155551212", "+14155551212"));
        assert!(search_matches("1415*", "+1 (415) 555-1212"));
        assert!(!search_matches("*9999", "+14155551212"));
    }

    #[test]
    fn identities_are_normalized() {
        assert_eq!(
            normalize_identity("+1 555-123-4567").as_deref(),
            Some("+15551234567")
        );
        assert_eq!(normalize_identity("555-123-4567"), None);
        assert_eq!(normalize_identity("+1 call me"), None);
    }
}
