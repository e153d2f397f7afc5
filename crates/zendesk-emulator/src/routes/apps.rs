//! "List App Installations" (`GET /api/v2/apps/installations`, agents) and
//! "Get App Public Key" (`GET /api/v2/apps/{app_id}/public_key`, anonymous: it
//! "reveals the app's public key in PEM format"). Source: the Apps API
//! reference, developer.zendesk.com/api-reference/ticketing/apps/.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::reply;
use crate::Shared;
use crate::error::ApiError;

pub(crate) async fn installations(State(shared): State<Arc<Shared>>) -> Response {
    reply(StatusCode::OK, shared.apps().render())
}

pub(crate) async fn public_key(
    State(shared): State<Arc<Shared>>,
    Path(app_id): Path<String>,
) -> Result<Response, ApiError> {
    let app_id: u64 = app_id.parse().map_err(|_| ApiError::NotFound)?;
    if !shared.apps().app_exists(app_id) {
        return Err(ApiError::NotFound);
    }
    Ok((
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        crate::apps::PUBLIC_KEY,
    )
        .into_response())
}
