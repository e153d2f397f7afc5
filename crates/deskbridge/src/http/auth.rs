//! Credentials: every `/api/v1/` request carries a group's bearer token.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use subtle::ConstantTimeEq;

use super::ApiError;
use crate::state::{AppState, Group};

/// The groups whose token authenticated the request (a token may serve several).
pub struct GroupAuth(pub Vec<Arc<Group>>);

impl GroupAuth {
    /// The first group of the token: where a request that names no group goes.
    pub fn primary(&self) -> &Arc<Group> {
        &self.0[0]
    }

    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(|g| g.name.clone()).collect()
    }

    /// The group `name`, if this token may act for it.
    pub fn get(&self, name: &str) -> Option<&Arc<Group>> {
        self.0.iter().find(|g| g.name == name)
    }
}

impl FromRequestParts<Arc<AppState>> for GroupAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let unauthorized = |message: &str| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                message.to_string(),
            )
        };
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| unauthorized("send Authorization: Bearer <group token>"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(bearer_token)
            .map(str::trim)
            .ok_or_else(|| {
                unauthorized("the Authorization header must be: Bearer <group token>")
            })?;
        let groups = groups_for_token(state, token);
        match groups.is_empty() {
            true => Err(unauthorized(
                "the token is not valid for any connector group",
            )),
            false => Ok(GroupAuth(groups)),
        }
    }
}

/// The token of `Authorization: Bearer <token>`. The scheme's name is
/// case-insensitive (RFC 9110, section 11.1): `bearer` and `BEARER` are Bearer.
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token)
}

/// The groups of a token, in config order. Every token is compared, in constant
/// time, so the response time does not reveal how much of a token was right.
/// The bearer token the request carries, if any (trimmed).
pub(super) fn sent_bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .map(str::trim)
}

/// Whether `token` is `[metrics] token` (the scraper's; none set: no one's).
pub(super) fn is_metrics_token(state: &AppState, token: &str) -> bool {
    state
        .metrics_token
        .as_deref()
        .is_some_and(|t| crate::agent_auth::same_secret(t, token))
}

/// Whether the request is the metrics scraper's (`/metrics`, `/instances`,
/// the reserved connections).
pub(super) fn from_scraper(state: &AppState, headers: &axum::http::HeaderMap) -> bool {
    sent_bearer(headers).is_some_and(|t| is_metrics_token(state, t))
}

pub fn groups_for_token(state: &AppState, token: &str) -> Vec<Arc<Group>> {
    let mut found = Vec::new();
    for group in &state.groups {
        let mut matched = false;
        for candidate in &group.tokens {
            matched |= bool::from(candidate.as_bytes().ct_eq(token.as_bytes()));
        }
        if matched {
            found.push(group.clone());
        }
    }
    found
}
