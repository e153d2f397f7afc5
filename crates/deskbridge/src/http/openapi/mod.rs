//! `GET /api/v1/openapi.json`: the OpenAPI description of every endpoint,
//! generated from the code.
//!
//! Routes and their descriptions come from one registration: each module's
//! `routes()` is a utoipa-axum [`OpenApiRouter`] filled with
//! `.routes(routes!(handler))`, and each handler carries its
//! `#[utoipa::path(...)]` (method, path, parameters, request body, every status
//! it answers with its body, security). [`api_routes`] merges them; the server's
//! [`Router`](axum::Router) and the description are the two halves of that one
//! value ([`OpenApiRouter::split_for_parts`]), so an endpoint cannot be routed
//! without being described. A plain `.route(` would route without describing:
//! clippy refuses it (`clippy.toml`), and `tests/it/openapi.rs` checks both that
//! no source file calls it and that the server answers nothing the description
//! does not list.

pub mod bodies;
pub mod crm;

use std::sync::{Arc, LazyLock};

use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, Response, ResponseBuilder};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// The name of the group bearer token's security scheme.
pub const GROUP_TOKEN: &str = "group_token";
/// The name of `/metrics`' bearer token's security scheme (`[metrics] token`).
pub const METRICS_TOKEN: &str = "metrics_token";
/// The name of a group's read-only wallboard token's security scheme.
pub const WALLBOARD_TOKEN: &str = "wallboard_token";
/// The name of the agent session cookie's security scheme.
pub const AGENT_SESSION: &str = "agent_session";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "deskbridge",
        description = "Connects phone systems and chat platforms to a helpdesk. Errors are \
                       `{\"error\": \"<code>\", \"message\": \"...\", \"field\": \"...\"}` \
                       (`field` names the input to change, when there is one); Zammad's CTI \
                       endpoint answers with Zammad's own error shape."
    ),
    components(schemas(bodies::ApiErrorBody))
)]
struct ApiDoc;

/// The security schemes, and the answers every operation can give whatever its
/// handler: the request guard's 414 and 431, the 400 of a query string that
/// does not parse, for an operation with a body the
/// 413 and 408 of a body too large or too slow, and for the API's operations
/// (which read the database) a 500 (unless the handler lists its own).
struct Common;

impl utoipa::Modify for Common {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            GROUP_TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A connector group's token: `Authorization: Bearer <token>`",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            METRICS_TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "`[metrics] token`, when set: `Authorization: Bearer <token>` (else /metrics is open)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            WALLBOARD_TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A group's `wallboard_token`: `Authorization: Bearer <token>` or \
                         `?token=`; reads the group's wallboard and nothing else",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            AGENT_SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                super::caller::SESSION_COOKIE,
                "The agent page's session (POST /api/v1/agent/login). A request other than \
                 GET, HEAD or OPTIONS signed in by it also carries the session's CSRF token \
                 in `X-CSRF-Token`, or is refused with 403 `csrf`.",
            ))),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            // What reads the database can fail with it.
            let stored = path.starts_with("/api/v1/") && path != "/api/v1/openapi.json";
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                let mut common = vec![
                    (
                        414,
                        "The request target is longer than 8 KiB (`uri_too_long`)",
                    ),
                    (
                        431,
                        "The headers are larger than 32 KiB (`headers_too_large`)",
                    ),
                ];
                let has_query =
                    op.parameters.iter().flatten().any(|p| {
                        matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query)
                    });
                if has_query {
                    common.push((400, "The query string does not parse (`bad_request`)"));
                }
                if stored {
                    common.push((
                        500,
                        "Internal error, the server log has the details (`internal`)",
                    ));
                }
                if op.request_body.is_some() {
                    common.push((
                        413,
                        "The body is larger than `server.max_body_bytes` (`payload_too_large`)",
                    ));
                    common.push((
                        408,
                        "The body did not arrive within `server.body_timeout_seconds` \
                         (`request_timeout`)",
                    ));
                }
                for (status, description) in common {
                    op.responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| error_response(description));
                }
            }
        }
    }
}

fn error_response(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            utoipa::openapi::ContentBuilder::new()
                .schema(Some(utoipa::openapi::Ref::from_schema_name("ApiError")))
                .build(),
        )
        .build()
        .into()
}

/// Every endpoint of the server, each with its description.
pub fn api_routes() -> OpenApiRouter<Arc<AppState>> {
    let v1 = OpenApiRouter::new()
        .routes(routes!(openapi_json))
        .merge(super::ingest::routes())
        .merge(super::calls::routes())
        .merge(super::conversations::routes())
        .merge(super::cti::routes())
        .merge(super::connect::routes())
        .merge(super::twilio::routes())
        .merge(super::live::routes())
        .merge(super::agent::routes())
        .merge(super::agent_stream::routes())
        .merge(super::decision::routes())
        .merge(super::callbacks::routes())
        .merge(super::stats::routes())
        .merge(super::wallboard::routes())
        .merge(super::dial::routes())
        .merge(super::wrap_up::routes())
        .merge(super::pause::routes())
        .merge(super::lookup::routes())
        .merge(super::triggers::routes())
        .merge(super::admin::routes())
        .nest("/crm", super::crm::routes());
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", v1)
        .merge(super::health::routes())
        .merge(super::agent::page_routes())
        .merge(super::admin::page_routes())
        .merge(super::wallboard::page_routes())
        .merge(super::zendesk_app::routes())
}

/// The description, made once.
pub fn spec() -> &'static utoipa::openapi::OpenApi {
    static SPEC: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(|| {
        let (_, mut spec) = api_routes().split_for_parts();
        utoipa::Modify::modify(&Common, &mut spec);
        spec.info.version = env!("CARGO_PKG_VERSION").to_string();
        spec
    });
    &SPEC
}

/// `GET /api/v1/openapi.json`: this description (open, like the health checks).
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 description of every endpoint", content_type = "application/json", body = Object))
)]
async fn openapi_json() -> impl axum::response::IntoResponse {
    // Serialized once: the largest answer anyone may ask for, so a flood of
    // anonymous requests for it costs a copy of bytes each, not a
    // serialization (issue 25, point 1).
    static JSON: LazyLock<axum::body::Bytes> = LazyLock::new(|| {
        serde_json::to_vec(spec())
            .map(axum::body::Bytes::from)
            .unwrap_or_default()
    });
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        JSON.clone(),
    )
}
