//! The directory's HTTP API (PROTOCOL §7): the router, its middleware (CORS, rate
//! limits, request logs), the operations routes and the OpenAPI document. The handlers
//! live by resource in `cards`, `backup`, `link` and `shares`; the extractors in
//! `extract`.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{
    ConnectInfo, DefaultBodyLimit, FromRequest, FromRequestParts, MatchedPath, Path, Query,
    Request, State,
};
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chatseal::proto::keys::validate_identity;
use chatseal::proto::{b64u_decode, Card, CardId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::{unix_now, Verifier};
use crate::error::{ApiError, ErrorBody};
use crate::limits::Limits;
use crate::store::{NewCard, NewShare, Published, Store};

mod backup;
mod cards;
mod extract;
mod link;
mod shares;

use backup::*;
use cards::*;
use extract::{checked_identity, path_error, query_error};
pub use extract::{ApiJson, Auth};
use link::*;
use shares::*;

/// Request bodies over this are refused with 413 (PROTOCOL §7).
pub const BODY_LIMIT: usize = 64 * 1024;
/// The body limit of `POST /v2/shares` (PROTOCOL §7), instead of [`BODY_LIMIT`].
pub const SHARES_BODY_LIMIT: usize = 1024 * 1024;
/// The most shares one `POST /v2/shares` may store (one per member of a channel).
pub const MAX_SHARES: usize = 1000;
/// The longest share text accepted, in bytes.
pub const MAX_SHARE_LEN: usize = 4096;
/// The most identities one lookup may ask for.
pub const MAX_LOOKUP: usize = 100;
/// The longest backup text stored, in bytes.
pub const MAX_BACKUP_LEN: usize = 48 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Arc<Store>,
    /// The app keys tokens are checked against.
    pub verifier: Arc<Verifier>,
    /// Request rate limits.
    pub limits: Arc<Limits>,
}

/// Which browser origins may call the API (`--cors-origin`).
#[derive(Debug, Clone, Default)]
pub enum Cors {
    /// No CORS headers: same-origin callers only.
    #[default]
    None,
    /// Any origin (`--cors-origin '*'`).
    Any,
    /// These origins.
    Origins(Vec<String>),
}

/// The directory routes, plus `extra` routes (the demo backend), with body limit, CORS,
/// rate limits and request logs.
pub fn router(state: AppState, cors: &Cors, extra: Option<Router<AppState>>) -> Router {
    let api = Router::new()
        .route("/v2/cards", post(publish_card).delete(revoke_card))
        .route("/v2/cards/lookup", post(lookup_cards))
        .route("/v2/cards/{identity}/history", get(card_history))
        .route("/v2/cards/by-id/{card_id}", get(card_by_id))
        .route(
            "/v2/backup",
            get(get_backup).put(put_backup).delete(delete_backup),
        )
        .route("/v2/link/{link_id}", post(post_link).get(get_link))
        .route(
            "/v2/shares",
            post(post_shares)
                .layer(DefaultBodyLimit::max(SHARES_BODY_LIMIT))
                .get(get_shares),
        )
        .merge(extra.unwrap_or_default())
        .layer(middleware::from_fn_with_state(state.clone(), limit_ip));
    let router = Router::new()
        .merge(api)
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi_json))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(log_request))
        .with_state(state);
    with_cors(router, cors)
}

fn with_cors(router: Router, cors: &Cors) -> Router {
    let layer = match cors {
        Cors::None => return router,
        // Any origin: also any request header (stream-chat sends its own to the demo relay).
        Cors::Any => CorsLayer::new()
            .allow_origin(tower_http::cors::Any)
            .allow_headers(tower_http::cors::Any),
        Cors::Origins(list) => CorsLayer::new()
            .allow_origin(AllowOrigin::list(
                list.iter().filter_map(|o| o.parse().ok()),
            ))
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]),
    };
    router.layer(
        layer
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
            .expose_headers([header::RETRY_AFTER])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// One log line per request: method, route template (never the identity in the path),
/// status and time. Tokens, cards and backups are never logged.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "(no route)".to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let micros = started.elapsed().as_micros() as u64;
    if status >= 500 {
        tracing::warn!(%method, %route, status, micros, "request failed");
    } else {
        tracing::info!(%method, %route, status, micros, "request");
    }
    response
}

async fn limit_ip(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(ConnectInfo(addr)) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
        if let Err(wait) = state.limits.per_ip.check(&addr.ip()) {
            return ApiError::rate_limited("address", wait).into_response();
        }
    }
    next.run(request).await
}

/// `GET /healthz` answer.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `"ok"`.
    pub status: &'static str,
}

/// 200 when the server and its database answer.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    if state.store.healthy().await {
        Ok(Json(Health { status: "ok" }))
    } else {
        Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Unavailable",
            "the database does not answer",
        ))
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint; see GET /openapi.json")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        "this endpoint does not take this method; see GET /openapi.json",
    )
}

struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.bearer_format = Some("JWT (EdDSA, PROTOCOL §6)".to_owned());
        components.add_security_scheme("bearer", SecurityScheme::Http(http));
    }
}

/// The OpenAPI document of the directory, generated from the handlers above.
#[derive(OpenApi)]
#[openapi(
    info(title = "chatseal directory", description = "PROTOCOL §6–§7: cards with history, opaque key backups (password and passkey), device-link offers, group-session shares."),
    paths(publish_card, lookup_cards, card_history, card_by_id, revoke_card, put_backup,
          get_backup, delete_backup, post_link, get_link, post_shares, get_shares, healthz),
    components(schemas(ErrorBody)),
    modifiers(&BearerScheme)
)]
pub struct ApiDoc;

async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
