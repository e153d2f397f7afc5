//! What a helpdesk's answer says, read alike for every helpdesk: how long its
//! `Retry-After` asks to wait, and the endpoint a request is counted under.

use std::time::Duration;

/// A `Retry-After` in seconds (what Zendesk and Freshdesk send), at least half
/// a second; `None` for anything else (an HTTP date is not sent by either).
pub fn retry_after(value: &str) -> Option<Duration> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.max(0.5)))
}

/// `GET /api/v2/tickets/{id}.json`: the request's method and path with every
/// segment that is not a fixed word (an id) written `{id}`, so the label of
/// `deskbridge_upstream_requests_total` has a fixed set of values and never
/// carries a record's id, a query or a phone number.
pub fn endpoint_label(method: &str, path: &str) -> String {
    let shown: Vec<String> = path
        .split('/')
        .map(|segment| {
            if segment.is_empty() {
                return String::new();
            }
            let (name, ext) = segment.split_once('.').unwrap_or((segment, ""));
            // `v2`, `create_or_update`: a word starts with a letter.
            let word = name.starts_with(|c: char| c.is_ascii_lowercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            match (word, ext) {
                (true, _) => segment.to_string(),
                (false, "") => "{id}".to_string(),
                (false, ext) => format!("{{id}}.{ext}"),
            }
        })
        .collect();
    format!("{method} {}", shown.join("/"))
}

#[cfg(test)]
mod tests {
    use super::endpoint_label;
    use std::time::Duration;

    #[test]
    fn a_retry_after_is_seconds_and_never_less_than_half_a_second() {
        assert_eq!(super::retry_after("12"), Some(Duration::from_secs(12)));
        assert_eq!(super::retry_after(" 0 "), Some(Duration::from_millis(500)));
        assert_eq!(super::retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(super::retry_after("-3"), None);
    }

    #[test]
    fn an_endpoint_label_names_the_operation_never_a_record() {
        assert_eq!(
            endpoint_label("PUT", "/api/v2/tickets/4711.json"),
            "PUT /api/v2/tickets/{id}.json"
        );
        assert_eq!(
            endpoint_label(
                "POST",
                "/api/v2/channels/voice/agents/12/tickets/34/display.json"
            ),
            "POST /api/v2/channels/voice/agents/{id}/tickets/{id}/display.json"
        );
        assert_eq!(
            endpoint_label("GET", "/api/v2/users/search.json"),
            "GET /api/v2/users/search.json"
        );
        assert_eq!(
            endpoint_label("GET", "/api/v2/users/+14155550100"),
            "GET /api/v2/users/{id}"
        );
    }
}
