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
use chatseal::proto::{b64u_decode, Card, CardId, Envelope};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::{unix_now, Verifier};
use crate::error::{ApiError, ErrorBody};
use crate::limits::Limits;
use crate::store::{NewCard, NewShare, Published, Store};

/// Request bodies over this are refused with 413 (PROTOCOL §7).
pub const BODY_LIMIT: usize = 64 * 1024;
/// The body limit of `POST /v1/shares` (PROTOCOL §7), instead of [`BODY_LIMIT`].
pub const SHARES_BODY_LIMIT: usize = 1024 * 1024;
/// The most shares one `POST /v1/shares` may store (one per member of a channel).
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
        .route("/v1/cards", post(publish_card).delete(revoke_card))
        .route("/v1/cards/lookup", post(lookup_cards))
        .route("/v1/cards/{identity}/history", get(card_history))
        .route("/v1/cards/by-id/{card_id}", get(card_by_id))
        .route(
            "/v1/backup",
            get(get_backup).put(put_backup).delete(delete_backup),
        )
        .route(
            "/v1/shares",
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
/// `LIMIT` is the body limit the route enforces, named in the 413 message.
pub struct ApiJson<T, const LIMIT: usize = BODY_LIMIT>(pub T);

impl<S: Send + Sync, T: DeserializeOwned, const LIMIT: usize> FromRequest<S> for ApiJson<T, LIMIT> {
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
                Err(ApiError::too_large(LIMIT))
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

/// One share to store: `POST /v1/shares` body entry.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareItem {
    /// The identity that may read it.
    pub to: String,
    /// The group session it is for: 32 lowercase hex digits.
    pub session_id: String,
    /// The share, `csm1.` text (PROTOCOL §3) with exactly one stanza, sent from a card
    /// of the caller's identity; at most 4096 bytes.
    pub share: String,
}

/// `POST /v1/shares` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SharesRequest {
    /// 1 to 1000 shares.
    pub shares: Vec<ShareItem>,
}

/// `POST /v1/shares` answer.
#[derive(Serialize, ToSchema)]
pub struct StoredBody {
    /// How many shares were new (a share already stored for its recipient is not
    /// counted: a retry stores 0).
    pub stored: u64,
}

/// Stores group-session shares (PROTOCOL §7, §9) for their recipients, all or none.
///
/// Each share must parse as a `csm1.` message with exactly one stanza whose sender
/// card is one the caller's identity published (current, older or revoked); the server
/// cannot read it. The same share for the same recipient is stored once. Refusals name
/// the entry (`shares[i]`) and never repeat the share text.
#[utoipa::path(post, path = "/v1/shares", tag = "shares",
    request_body = SharesRequest,
    responses(
        (status = 201, description = "stored (or already there)", body = StoredBody),
        (status = 400, description = "an entry is invalid, or not 1 to 1000 entries", body = ErrorBody),
        (status = 403, description = "a share's sender card is not the caller's", body = ErrorBody),
        (status = 413, description = "the body is over 1 MiB", body = ErrorBody)),
    security(("bearer" = [])))]
async fn post_shares(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<SharesRequest, SHARES_BODY_LIMIT>,
) -> Result<Response, ApiError> {
    if !(1..=MAX_SHARES).contains(&body.shares.len()) {
        return Err(ApiError::invalid(format!(
            "send 1 to {MAX_SHARES} shares per request; this one has {}",
            body.shares.len()
        )));
    }
    // Each sender card once, with the first entry that names it.
    let mut sender_cards: Vec<(usize, String)> = Vec::new();
    let mut seen_cards = HashSet::new();
    let mut new = Vec::with_capacity(body.shares.len());
    for (i, item) in body.shares.iter().enumerate() {
        checked_identity(&item.to, &format!("shares[{i}].to"))?;
        checked_session_id(&item.session_id, &format!("shares[{i}].session_id"))?;
        if item.share.len() > MAX_SHARE_LEN {
            return Err(ApiError::invalid(format!(
                "shares[{i}].share is {} bytes; a share is at most {MAX_SHARE_LEN}",
                item.share.len()
            )));
        }
        let envelope = Envelope::parse(&item.share).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                e.code(),
                format!("shares[{i}].share is not a csm1. message (PROTOCOL §3): {e}"),
            )
        })?;
        let stanzas = envelope.header().stanzas.len();
        if stanzas != 1 {
            return Err(ApiError::invalid(format!(
                "shares[{i}].share has {stanzas} recipient stanzas; a share has exactly one, \
                 for the card of its recipient (PROTOCOL §9)"
            )));
        }
        let card_id = envelope.sender_card_id();
        if seen_cards.insert(card_id) {
            sender_cards.push((i, card_id.to_string()));
        }
        new.push(NewShare {
            recipient: &item.to,
            session_id: &item.session_id,
            share: &item.share,
            share_hash: hex::encode(Sha256::digest(item.share.as_bytes())),
        });
    }
    for (i, card_id) in &sender_cards {
        match state.store.card_identity(card_id).await? {
            Some(identity) if identity == auth.identity => {}
            Some(_) => {
                return Err(ApiError::forbidden(format!(
                    "shares[{i}].share was sent from card {card_id}, which belongs to another \
                     identity than the token's"
                )))
            }
            None => {
                return Err(ApiError::forbidden(format!(
                    "shares[{i}].share was sent from card {card_id}, which is not in the \
                     directory; publish your card before sharing"
                )))
            }
        }
    }
    let stored = state
        .store
        .put_shares(&auth.identity, &new, unix_now() as i64)
        .await?;
    Ok((StatusCode::CREATED, Json(StoredBody { stored })).into_response())
}

fn checked_session_id(session_id: &str, what: &str) -> Result<(), ApiError> {
    let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if session_id.len() == 32 && session_id.bytes().all(hex) {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "{what} is not a session id: 32 lowercase hex digits (16 bytes)"
        )))
    }
}

/// `GET /v1/shares` query: exactly one of the two.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SharesQuery {
    /// The caller's shares for this session (32 lowercase hex digits).
    pub session_id: Option<String>,
    /// The caller's shares stored after this cursor (a `cursor` or `next` of an earlier
    /// answer; empty or `0` for the beginning).
    pub after: Option<String>,
}

/// `GET /v1/shares?session_id=HEX` answer.
#[derive(Serialize, ToSchema)]
pub struct SessionSharesBody {
    /// The shares addressed to the caller for the session, `csm1.` text, oldest first,
    /// at most 100.
    pub shares: Vec<String>,
}

/// One share of the `after` feed.
#[derive(Serialize, ToSchema)]
pub struct FeedShare {
    /// The session it is for.
    pub session_id: String,
    /// The share, `csm1.` text.
    pub share: String,
    /// Its position: `after=` this continues behind it.
    pub cursor: String,
}

/// `GET /v1/shares?after=CURSOR` answer.
#[derive(Serialize, ToSchema)]
pub struct ShareFeedBody {
    /// The shares addressed to the caller stored after the cursor, oldest first, at most
    /// 100.
    pub shares: Vec<FeedShare>,
    /// The cursor of the last share here, or the one asked with when there is none: the
    /// `after` of the next call.
    pub next: String,
}

/// `GET /v1/shares` answer: the shape depends on the query.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum SharesBody {
    /// For `?session_id=`.
    Session(SessionSharesBody),
    /// For `?after=`.
    Feed(ShareFeedBody),
}

/// The caller's group-session shares: those of one session, or all of them in pages.
///
/// With `session_id`: `{"shares": [text, ..]}`. With `after`: `{"shares": [{"session_id",
/// "share", "cursor"}, ..], "next"}`; cursors are opaque strings. Only the shares
/// addressed to the token's identity are ever answered.
#[utoipa::path(get, path = "/v1/shares", tag = "shares",
    params(SharesQuery),
    responses(
        (status = 200, description = "the shares addressed to the caller; the shape depends on the query", body = SharesBody),
        (status = 400, description = "not exactly one of session_id and after, or a bad value", body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_shares(
    State(state): State<AppState>,
    auth: Auth,
    query: Result<Query<SharesQuery>, QueryRejection>,
) -> Result<Json<SharesBody>, ApiError> {
    let Query(query) = query.map_err(query_error)?;
    match (query.session_id, query.after) {
        (Some(session_id), None) => {
            checked_session_id(&session_id, "session_id")?;
            let shares = state
                .store
                .session_shares(&auth.identity, &session_id)
                .await?;
            Ok(Json(SharesBody::Session(SessionSharesBody { shares })))
        }
        (None, Some(after)) => {
            let after = parse_cursor(&after)?;
            let rows = state.store.shares_after(&auth.identity, after).await?;
            let next = rows.last().map_or(after, |row| row.id).to_string();
            let shares = rows
                .into_iter()
                .map(|row| FeedShare {
                    session_id: row.session_id,
                    share: row.share,
                    cursor: row.id.to_string(),
                })
                .collect();
            Ok(Json(SharesBody::Feed(ShareFeedBody { shares, next })))
        }
        _ => Err(ApiError::invalid(
            "give exactly one of session_id (one session's shares) and after (all shares, paged)",
        )),
    }
}

/// A feed cursor: a decimal row id from 0 to 2^63 - 1; empty is 0.
fn parse_cursor(cursor: &str) -> Result<i64, ApiError> {
    if cursor.is_empty() {
        return Ok(0);
    }
    cursor
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| cursor.parse::<i64>().ok())
        .flatten()
        .ok_or_else(|| {
            ApiError::invalid(
                "after is not a cursor: use a `cursor` or `next` from an earlier answer, \
                 or 0 (or nothing) for the beginning",
            )
        })
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
    info(title = "chatseal directory", description = "PROTOCOL §6–§7: cards with history, opaque key backups, group-session shares."),
    paths(publish_card, lookup_cards, card_history, card_by_id, revoke_card, put_backup,
          get_backup, delete_backup, post_shares, get_shares, healthz),
    components(schemas(ErrorBody)),
    modifiers(&BearerScheme)
)]
pub struct ApiDoc;

async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
