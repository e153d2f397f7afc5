//! API key authentication: HTTP Basic with the key as the user name and any
//! password (`X` by convention; SA-KEY, PF `api.py` sends
//! `(api_key, "unused_with_api_key")`). A user name with `@` would be Freshdesk's
//! email/password login, which it stopped supporting in 2021 (SA-KEY), so the
//! emulator refuses it like any other wrong credential.

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Whether the request's `Authorization` header carries `api_key`.
pub(crate) fn accepts(api_key: &str, headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, encoded)) = value.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Some(decoded) = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
    else {
        return false;
    };
    let user = decoded
        .split_once(':')
        .map_or(decoded.as_str(), |(user, _)| user);
    !api_key.is_empty() && user == api_key
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(value).expect("valid header"),
        );
        headers
    }

    fn basic(credentials: &str) -> HeaderMap {
        headers(&format!("Basic {}", STANDARD.encode(credentials)))
    }

    #[test]
    fn the_key_with_any_password_is_accepted() {
        assert!(accepts("KEY", &basic("KEY:X")));
        assert!(accepts("KEY", &basic("KEY:whatever")));
        assert!(accepts("KEY", &basic("KEY")));
    }

    #[test]
    fn anything_else_is_refused() {
        assert!(!accepts("KEY", &basic("OTHER:X")));
        assert!(!accepts("KEY", &basic("admin@acme.com:KEY")));
        assert!(!accepts("KEY", &headers("Bearer KEY")));
        assert!(!accepts("KEY", &HeaderMap::new()));
        assert!(!accepts("", &basic(":X")));
    }
}
