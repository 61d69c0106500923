//! The directory's HTTP API (PROTOCOL §7): routes, handlers and the extractors that
//! turn every bad request into the §7 error shape.

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
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::{unix_now, Verifier};
use crate::error::{ApiError, ErrorBody};
use crate::limits::Limits;
use crate::store::{NewCard, Published, Store};

/// Request bodies over this are refused with 413 (PROTOCOL §7).
pub const BODY_LIMIT: usize = 64 * 1024;
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
        .route("/v1/cards", post(publish_card).delete(revoke_card))
        .route("/v1/cards/lookup", post(lookup_cards))
        .route("/v1/cards/{identity}/history", get(card_history))
        .route("/v1/cards/by-id/{card_id}", get(card_by_id))
        .route(
            "/v1/backup",
            get(get_backup).put(put_backup).delete(delete_backup),
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

/// The identity of a request's valid token (PROTOCOL §6), rate-limited per identity.
pub struct Auth {
    /// The token's `sub`.
    pub identity: String,
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| ApiError::unauthorized(crate::auth::TokenError::Missing.to_string()))?;
        let claims = state
            .verifier
            .verify(token, unix_now())
            .map_err(|e| ApiError::unauthorized(e.to_string()))?;
        if let Err(wait) = state.limits.per_identity.check(&claims.sub) {
            return Err(ApiError::rate_limited("identity", wait));
        }
        Ok(Auth {
            identity: claims.sub,
        })
    }
}

/// `Json<T>` whose rejections are §7 errors: 400 `Malformed` for bad JSON or wrong
/// types, 413 over the body limit, 415 without `Content-Type: application/json`.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UnsupportedMediaType",
                "send the body as JSON with `Content-Type: application/json`",
            )),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::too_large(BODY_LIMIT))
            }
            Err(rejection) => {
                let mut detail = rejection.body_text();
                if detail.len() > 200 {
                    let cut = (0..=200)
                        .rev()
                        .find(|&i| detail.is_char_boundary(i))
                        .unwrap_or(0);
                    detail.truncate(cut);
                    detail.push('…');
                }
                Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "Malformed",
                    format!("the body is not the JSON this endpoint takes: {detail}"),
                ))
            }
        }
    }
}

fn path_error(rejection: PathRejection) -> ApiError {
    ApiError::invalid(format!("bad path: {}", rejection.body_text()))
}

fn query_error(rejection: QueryRejection) -> ApiError {
    ApiError::invalid(format!("bad query string: {}", rejection.body_text()))
}

fn checked_identity(identity: &str, what: &str) -> Result<(), ApiError> {
    validate_identity(identity).map_err(|_| {
        ApiError::invalid(format!(
            "{what} is not a valid identity: 1 to 256 bytes of UTF-8 without control characters"
        ))
    })
}

/// `POST /v1/cards` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// The card, `csc1.` text.
    pub card: String,
}

/// `POST /v1/cards` query.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PublishQuery {
    /// Publish even though the card does not chain to the current one (lost key).
    #[serde(default)]
    pub replace: bool,
}

/// A card id answer.
#[derive(Serialize, ToSchema)]
pub struct CardIdBody {
    /// The card id, lowercase hex.
    pub card_id: String,
}

/// Publishes the caller's card.
#[utoipa::path(post, path = "/v1/cards", tag = "cards",
    params(PublishQuery), request_body = PublishRequest,
    responses(
        (status = 201, description = "stored as the current card", body = CardIdBody),
        (status = 200, description = "this card was already current", body = CardIdBody),
        (status = 400, description = "not a valid card", body = ErrorBody),
        (status = 403, description = "the card is for another identity", body = ErrorBody),
        (status = 409, description = "does not chain to the current card", body = ErrorBody)),
    security(("bearer" = [])))]
async fn publish_card(
    State(state): State<AppState>,
    auth: Auth,
    query: Result<Query<PublishQuery>, QueryRejection>,
    ApiJson(body): ApiJson<PublishRequest>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(query_error)?;
    let card = Card::parse(&body.card)?;
    if card.identity() != auth.identity {
        return Err(ApiError::forbidden(format!(
            "the card is for identity {:?} but the token is for {:?}",
            card.identity(),
            auth.identity
        )));
    }
    let card_id = card.id().to_string();
    let prev = card.prev_card_id().map(|id| id.to_string());
    let new = NewCard {
        identity: card.identity(),
        card_id: &card_id,
        prev_card_id: prev.as_deref(),
        text: &body.card,
    };
    let now = unix_now() as i64;
    let status = match state.store.publish(&new, query.replace, now).await? {
        Published::Created => StatusCode::CREATED,
        Published::AlreadyCurrent => StatusCode::OK,
        Published::NotChained { current } => {
            return Err(ApiError::conflict(format!(
            "a current card ({current}) exists and the new card's prev_card_id does not name it; \
                 rotate from it, or publish with ?replace=true if its key is lost"
        )))
        }
        Published::Republished => {
            return Err(ApiError::conflict(
                "this card was published before and is no longer current; make a new card",
            ))
        }
    };
    Ok((status, Json(CardIdBody { card_id })).into_response())
}

/// `POST /v1/cards/lookup` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupRequest {
    /// Up to 100 identities.
    pub identities: Vec<String>,
}

/// `POST /v1/cards/lookup` answer.
#[derive(Serialize, ToSchema)]
pub struct LookupResponse {
    /// The current card of each identity that has one.
    pub cards: BTreeMap<String, String>,
    /// The identities asked for that have no current card, in the order asked.
    pub missing: Vec<String>,
}

/// The current cards of up to 100 identities.
#[utoipa::path(post, path = "/v1/cards/lookup", tag = "cards",
    request_body = LookupRequest,
    responses((status = 200, body = LookupResponse), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
async fn lookup_cards(
    State(state): State<AppState>,
    _auth: Auth,
    ApiJson(body): ApiJson<LookupRequest>,
) -> Result<Json<LookupResponse>, ApiError> {
    if body.identities.len() > MAX_LOOKUP {
        return Err(ApiError::invalid(format!(
            "at most {MAX_LOOKUP} identities per lookup; this one asks for {}",
            body.identities.len()
        )));
    }
    let mut seen = HashSet::new();
    let mut wanted = Vec::with_capacity(body.identities.len());
    for (i, identity) in body.identities.into_iter().enumerate() {
        checked_identity(&identity, &format!("identities[{i}]"))?;
        if seen.insert(identity.clone()) {
            wanted.push(identity);
        }
    }
    let cards: BTreeMap<String, String> = state.store.lookup(&wanted).await?.into_iter().collect();
    let missing = wanted
        .into_iter()
        .filter(|identity| !cards.contains_key(identity))
        .collect();
    Ok(Json(LookupResponse { cards, missing }))
}

/// One card of a history, with what the directory knows about it.
#[derive(Serialize, ToSchema)]
pub struct HistoryItem {
    /// The card id, hex.
    pub card_id: String,
    /// When the directory accepted it (unix seconds).
    pub published_at: i64,
    /// Published with `?replace=true`: it does not chain to the card before it.
    pub replaced: bool,
    /// When its identity revoked it, if it did.
    pub revoked_at: Option<i64>,
    /// The card lookups answer with.
    pub current: bool,
}

/// `GET /v1/cards/{identity}/history` answer.
#[derive(Serialize, ToSchema)]
pub struct HistoryResponse {
    /// Every card the identity published, oldest first.
    pub cards: Vec<String>,
    /// The same cards' metadata, in the same order.
    pub entries: Vec<HistoryItem>,
}

/// Every card an identity has published, oldest first (revoked ones flagged).
#[utoipa::path(get, path = "/v1/cards/{identity}/history", tag = "cards",
    params(("identity" = String, Path, description = "the identity, percent-encoded")),
    responses((status = 200, body = HistoryResponse), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
async fn card_history(
    State(state): State<AppState>,
    _auth: Auth,
    identity: Result<Path<String>, PathRejection>,
) -> Result<Json<HistoryResponse>, ApiError> {
    let Path(identity) = identity.map_err(path_error)?;
    checked_identity(&identity, "the path's identity")?;
    let rows = state.store.history(&identity).await?;
    let mut cards = Vec::with_capacity(rows.len());
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        cards.push(row.card);
        entries.push(HistoryItem {
            card_id: row.card_id,
            published_at: row.published_at,
            replaced: row.replaced,
            revoked_at: row.revoked_at,
            current: row.current,
        });
    }
    Ok(Json(HistoryResponse { cards, entries }))
}

/// `GET /v1/cards/by-id/{card_id}` answer, and the `{"card": text}` shape.
#[derive(Serialize, ToSchema)]
pub struct CardBody {
    /// The card, `csc1.` text.
    pub card: String,
}

/// A card by its id, current or not.
#[utoipa::path(get, path = "/v1/cards/by-id/{card_id}", tag = "cards",
    params(("card_id" = String, Path, description = "32 hex digits")),
    responses((status = 200, body = CardBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn card_by_id(
    State(state): State<AppState>,
    _auth: Auth,
    card_id: Result<Path<String>, PathRejection>,
) -> Result<Json<CardBody>, ApiError> {
    let Path(card_id) = card_id.map_err(path_error)?;
    let id =
        CardId::from_hex(&card_id).map_err(|_| ApiError::invalid("a card id is 32 hex digits"))?;
    match state.store.card_by_id(&id.to_string()).await? {
        Some(card) => Ok(Json(CardBody { card })),
        None => Err(ApiError::not_found("no card has this id")),
    }
}

/// `DELETE /v1/cards` answer.
#[derive(Serialize, ToSchema)]
pub struct RevokedBody {
    /// The id of the card revoked.
    pub revoked: String,
}

/// Revokes the caller's current card (its history keeps it, flagged).
#[utoipa::path(delete, path = "/v1/cards", tag = "cards",
    responses((status = 200, body = RevokedBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn revoke_card(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<RevokedBody>, ApiError> {
    match state
        .store
        .revoke(&auth.identity, unix_now() as i64)
        .await?
    {
        Some(revoked) => Ok(Json(RevokedBody { revoked })),
        None => Err(ApiError::not_found("this identity has no current card")),
    }
}

/// `PUT /v1/backup` body and `GET /v1/backup` answer.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupBody {
    /// The backup, `csb1.` text; stored as it is.
    pub backup: String,
}

/// Stores the caller's key backup, replacing any earlier one.
#[utoipa::path(put, path = "/v1/backup", tag = "backup",
    request_body = BackupBody,
    responses((status = 201, description = "created"), (status = 204, description = "replaced"),
              (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
async fn put_backup(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<BackupBody>,
) -> Result<StatusCode, ApiError> {
    let backup = body.backup;
    if backup.len() > MAX_BACKUP_LEN {
        return Err(ApiError::invalid(format!(
            "a backup is at most {MAX_BACKUP_LEN} bytes"
        )));
    }
    // Opaque, but it must at least be a backup: the csb1. prefix and base64url.
    let payload = backup
        .strip_prefix("csb1.")
        .ok_or_else(|| ApiError::invalid("a backup is csb1. text (PROTOCOL §4)"))?;
    b64u_decode(payload).map_err(|_| ApiError::invalid("the backup is not valid base64url"))?;
    let created = state
        .store
        .put_backup(&auth.identity, &backup, unix_now() as i64)
        .await?;
    Ok(if created {
        StatusCode::CREATED
    } else {
        StatusCode::NO_CONTENT
    })
}

/// The caller's key backup.
#[utoipa::path(get, path = "/v1/backup", tag = "backup",
    responses((status = 200, body = BackupBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_backup(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<BackupBody>, ApiError> {
    match state.store.get_backup(&auth.identity).await? {
        Some(backup) => Ok(Json(BackupBody { backup })),
        None => Err(ApiError::not_found("this identity has no backup")),
    }
}

/// Deletes the caller's key backup.
#[utoipa::path(delete, path = "/v1/backup", tag = "backup",
    responses((status = 204, description = "deleted"), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn delete_backup(State(state): State<AppState>, auth: Auth) -> Result<StatusCode, ApiError> {
    if state.store.delete_backup(&auth.identity).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("this identity has no backup"))
    }
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
    info(title = "chatseal directory", description = "PROTOCOL §6–§7: cards with history, opaque key backups."),
    paths(publish_card, lookup_cards, card_history, card_by_id, revoke_card, put_backup,
          get_backup, delete_backup, healthz),
    components(schemas(ErrorBody)),
    modifiers(&BearerScheme)
)]
pub struct ApiDoc;

async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
