//! `chatseal-server demo`: the tutorial's backend, for local use only.
//!
//! Insecure by design: anyone may authenticate as anyone (there are no passwords), and
//! the app key is made up at start. It exists so the demo runs with no account anywhere;
//! a real app mints directory tokens in its own backend (see the `token` command).

use axum::extract::FromRequestParts;
use axum::extract::State;
use axum::http::header;
use axum::http::request::Parts;
use axum::routing::post;
use axum::{Json, Router};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use crate::api::{ApiJson, AppState};
use crate::auth::{unix_now, AppSecret, Verifier};
use crate::error::ApiError;

/// The audience of the demo's session tokens (`authToken`): never valid at the directory.
pub const SESSION_AUDIENCE: &str = "chatseal-demo-session";
/// How long demo tokens live.
const TTL: u64 = 12 * 3600;

/// The demo backend's keys.
pub struct Demo {
    secret: AppSecret,
    kid: String,
    sessions: Verifier,
    stream_key: String,
    stream_secret: zeroize::Zeroizing<Vec<u8>>,
}

impl Demo {
    /// A demo backend with a fresh app key. If `STREAM_API_KEY` and `STREAM_API_SECRET`
    /// are set, `/v1/stream-credentials` mints real Stream tokens with them; otherwise
    /// tokens for the local chat relay, signed with a fresh secret.
    pub fn new(stream: Option<(String, String)>) -> Self {
        let secret = AppSecret::generate();
        let kid = secret.kid();
        let sessions = Verifier::with_audience(&[secret.app_key(&kid)], SESSION_AUDIENCE);
        let (stream_key, stream_secret) = match stream {
            Some((key, secret)) => (key, secret.into_bytes()),
            None => {
                let mut bytes = vec![0u8; 32];
                rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
                ("chatseal-demo".to_owned(), bytes)
            }
        };
        Demo {
            secret,
            kid,
            sessions,
            stream_key,
            stream_secret: zeroize::Zeroizing::new(stream_secret),
        }
    }

    /// The key the directory must trust.
    pub fn app_key(&self) -> crate::auth::AppKey {
        self.secret.app_key(&self.kid)
    }

    fn stream_token(&self, user_id: &str) -> Result<String, ApiError> {
        #[derive(Serialize)]
        struct StreamClaims<'a> {
            user_id: &'a str,
            iat: u64,
        }
        let claims = StreamClaims {
            user_id,
            iat: unix_now(),
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&self.stream_secret),
        )
        .map_err(|e| ApiError::internal(&e))
    }
}

/// The routes of the tutorial's backend.
pub fn router(demo: Arc<Demo>) -> Router<AppState> {
    Router::new()
        .route("/v1/authenticate", post(authenticate))
        .route("/v1/chatseal-credentials", post(chatseal_credentials))
        .route("/v1/stream-credentials", post(stream_credentials))
        .with_state(demo)
}

#[derive(Deserialize)]
struct AuthenticateRequest {
    identity: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuthenticateResponse {
    auth_token: String,
}

/// `{"identity"}` → `{"authToken"}`: a session token for that identity, no questions asked.
async fn authenticate(
    State(demo): State<Arc<Demo>>,
    ApiJson(body): ApiJson<AuthenticateRequest>,
) -> Result<Json<AuthenticateResponse>, ApiError> {
    let auth_token = demo
        .secret
        .token_for(
            SESSION_AUDIENCE,
            &demo.kid,
            "chatseal-demo",
            &body.identity,
            unix_now(),
            TTL,
        )
        .map_err(|_| {
            ApiError::invalid("identity must be 1 to 256 bytes of UTF-8 without control characters")
        })?;
    Ok(Json(AuthenticateResponse { auth_token }))
}

/// The identity of a demo session token in `Authorization: Bearer`.
struct Session(String);

impl FromRequestParts<Arc<Demo>> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, demo: &Arc<Demo>) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "send the authToken of /v1/authenticate as `Authorization: Bearer`",
                )
            })?;
        let claims = demo
            .sessions
            .verify(token.trim(), unix_now())
            .map_err(|e| ApiError::unauthorized(format!("bad authToken: {e}")))?;
        Ok(Session(claims.sub))
    }
}

#[derive(Serialize)]
struct TokenResponse {
    token: String,
}

/// Session → a directory token (PROTOCOL §6) for the same identity.
async fn chatseal_credentials(
    State(demo): State<Arc<Demo>>,
    Session(identity): Session,
) -> Result<Json<TokenResponse>, ApiError> {
    let token = demo
        .secret
        .directory_token(&demo.kid, "chatseal-demo", &identity, unix_now(), TTL)
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(TokenResponse { token }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StreamCredentials {
    api_key: String,
    token: String,
    user: StreamUser,
}

#[derive(Serialize)]
struct StreamUser {
    id: String,
    name: String,
}

/// Session → `{apiKey, token, user}` for the chat SDK.
async fn stream_credentials(
    State(demo): State<Arc<Demo>>,
    Session(identity): Session,
) -> Result<Json<StreamCredentials>, ApiError> {
    Ok(Json(StreamCredentials {
        api_key: demo.stream_key.clone(),
        token: demo.stream_token(&identity)?,
        user: StreamUser {
            id: identity.clone(),
            name: identity,
        },
    }))
}
