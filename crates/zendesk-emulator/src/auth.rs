//! The two ways Zendesk accepts an API caller: HTTP Basic with an API token
//! (`{email}/token:{token}`) and an OAuth bearer token. Anything else is a 401, so a
//! client that builds the header wrongly fails here as it would in production.

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The one account's credentials.
#[derive(Debug, Clone)]
pub(crate) struct Credentials {
    email: String,
    token: String,
}

impl Credentials {
    pub(crate) fn new(email: &str, token: &str) -> Credentials {
        Credentials {
            email: email.to_owned(),
            token: token.to_owned(),
        }
    }

    /// Whether the request's `Authorization` header names this account.
    pub(crate) fn accepts(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
        else {
            return false;
        };
        let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            return !self.token.is_empty() && rest == self.token;
        }
        if !scheme.eq_ignore_ascii_case("basic") {
            return false;
        }
        let Ok(decoded) = STANDARD.decode(rest) else {
            return false;
        };
        let Ok(decoded) = String::from_utf8(decoded) else {
            return false;
        };
        // Emails may contain ':' only in theory; Zendesk splits at the last
        // "/token:" marker, and so do we.
        let Some((email, token)) = decoded.rsplit_once("/token:") else {
            return false;
        };
        email.eq_ignore_ascii_case(&self.email) && token == self.token
    }
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

    #[test]
    fn basic_token_and_bearer_are_accepted() {
        let credentials = Credentials::new("admin@acme.com", "secret");
        let basic = STANDARD.encode("Admin@acme.com/token:secret");
        assert!(credentials.accepts(&headers(&format!("Basic {basic}"))));
        assert!(credentials.accepts(&headers("Bearer secret")));
    }

    #[test]
    fn wrong_or_missing_credentials_are_refused() {
        let credentials = Credentials::new("admin@acme.com", "secret");
        let password = STANDARD.encode("admin@acme.com:secret");
        let wrong = STANDARD.encode("admin@acme.com/token:nope");
        assert!(!credentials.accepts(&headers(&format!("Basic {password}"))));
        assert!(!credentials.accepts(&headers(&format!("Basic {wrong}"))));
        assert!(!credentials.accepts(&headers("Bearer nope")));
        assert!(!credentials.accepts(&HeaderMap::new()));
    }
}
