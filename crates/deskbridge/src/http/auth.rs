//! Credentials: every `/api/v1/` request carries a group's bearer token.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use subtle::ConstantTimeEq;

use super::ApiError;
use crate::app::{AppState, Group};

/// The group whose token authenticated the request.
pub struct GroupAuth(pub Group);

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
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| {
                unauthorized("the Authorization header must be: Bearer <group token>")
            })?;
        group_for_token(state, token)
            .cloned()
            .map(GroupAuth)
            .ok_or_else(|| unauthorized("the token is not valid for any connector group"))
    }
}

/// Finds the group of a token. Every token is compared, in constant time, so the
/// response time does not reveal how much of a token was right.
pub fn group_for_token<'a>(state: &'a AppState, token: &str) -> Option<&'a Group> {
    let mut found = None;
    for group in &state.groups {
        for candidate in &group.tokens {
            if bool::from(candidate.as_bytes().ct_eq(token.as_bytes())) {
                found = Some(group);
            }
        }
    }
    found
}
