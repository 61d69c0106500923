//! The tutorial's backend (`chatseal-relay`), for local use only.
//!
//! Insecure by design: anyone may authenticate as anyone (there are no passwords), and
//! the app key is made up at start. It exists so the demo runs with no account anywhere;
//! a real app mints directory tokens in its own backend (see the `token` command).

use axum::extract::FromRequestParts;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::routing::{get, post};
use axum::{Json, Router};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use crate::Relay;
use chatseal_server::api::{ApiJson, AppState};
use chatseal_server::auth::{unix_now, AppSecret, Verifier};
use chatseal_server::error::ApiError;

/// The audience of the demo's session tokens (`authToken`): never valid at the directory.
pub const SESSION_AUDIENCE: &str = "chatseal-demo-session";
/// How long demo tokens live.
const TTL: u64 = 12 * 3600;
/// The cookie that `/v1/authenticate` also sets, holding the same session token, for
/// pages that fetch their tokens with the browser's credentials (`<chatseal-chat token-url>`).
pub const SESSION_COOKIE: &str = "chatseal_demo_session";

/// Where the demo's chat runs.
pub enum Chat {
    /// Stream's cloud, with the app's key and secret (`STREAM_API_KEY`, `STREAM_API_SECRET`).
    Cloud {
        /// The Stream API key.
        key: String,
        /// The Stream API secret (signs user tokens).
        secret: zeroize::Zeroizing<Vec<u8>>,
    },
    /// The local chat relay of this server.
    Relay(Arc<Relay>),
}

/// The demo backend's keys.
pub struct Demo {
    secret: AppSecret,
    kid: String,
    sessions: Verifier,
    chat: Chat,
}

impl Demo {
    /// A demo backend with a fresh app key, whose `/v1/stream-credentials` answers for `chat`.
    pub fn new(chat: Chat) -> Self {
        let secret = AppSecret::generate();
        let kid = secret.kid();
        let sessions = Verifier::with_audience(&[secret.app_key(&kid)], SESSION_AUDIENCE);
        Demo {
            secret,
            kid,
            sessions,
            chat,
        }
    }

    /// The key the directory must trust.
    pub fn app_key(&self) -> chatseal_server::auth::AppKey {
        self.secret.app_key(&self.kid)
    }

    fn relay(&self) -> Option<&Arc<Relay>> {
        match &self.chat {
            Chat::Relay(relay) => Some(relay),
            Chat::Cloud { .. } => None,
        }
    }

    fn stream_token(&self, user_id: &str) -> Result<String, ApiError> {
        #[derive(Serialize)]
        struct StreamClaims<'a> {
            user_id: &'a str,
            iat: u64,
        }
        let signed = match &self.chat {
            Chat::Relay(relay) => relay.token_for(user_id),
            Chat::Cloud { secret, .. } => jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &StreamClaims {
                    user_id,
                    iat: unix_now(),
                },
                &EncodingKey::from_secret(secret),
            ),
        };
        signed.map_err(|e| ApiError::internal(&e))
    }
}

/// The routes of the tutorial's backend, the local chat relay when there is one, and the
/// built app in `www` (its `index.html` at `/`).
pub fn router(demo: Arc<Demo>, www: Option<&std::path::Path>) -> Router<AppState> {
    let mut router = Router::new()
        .route("/v1/authenticate", post(authenticate))
        .route("/v1/chatseal-credentials", post(chatseal_credentials))
        .route("/v1/stream-credentials", post(stream_credentials))
        .route("/v1/relay/channels/{kind}/{id}/stored", get(stored))
        .with_state(Arc::clone(&demo));
    if let Some(relay) = demo.relay() {
        router = router.merge(crate::router(Arc::clone(relay)));
    }
    router.merge(site(www))
}

/// The built app: `/` is `index.html`, every other file of the folder is served at its
/// path. Without a built app, `/` says how to build it.
fn site(www: Option<&std::path::Path>) -> Router<AppState> {
    use tower_http::services::{ServeDir, ServeFile};
    let Some(dir) = www.filter(|dir| dir.join("index.html").is_file()) else {
        let missing = www.map_or_else(
            || "no --www folder given".to_owned(),
            |d| format!("{} has no index.html", d.display()),
        );
        return Router::new().route(
            "/",
            get(move || async move {
                (
                    axum::http::StatusCode::NOT_FOUND,
                    [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                    format!("The demo app is not built ({missing}). Run `make demo` from the chatseal repository.\n"),
                )
            }),
        );
    };
    let mut router = Router::new().route_service("/", ServeFile::new(dir.join("index.html")));
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name == "index.html" || name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            router = router.nest_service(&format!("/{name}"), ServeDir::new(&path));
        } else {
            router = router.route_service(&format!("/{name}"), ServeFile::new(&path));
        }
    }
    router
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

/// A JSON answer that sets a cookie.
type WithCookie<T> = ([(header::HeaderName, String); 1], Json<T>);

/// `{"identity"}` → `{"authToken"}`: a session token for that identity, no questions asked.
/// The same token is set as an HttpOnly, SameSite=Strict cookie ([`SESSION_COOKIE`]).
async fn authenticate(
    State(demo): State<Arc<Demo>>,
    ApiJson(body): ApiJson<AuthenticateRequest>,
) -> Result<WithCookie<AuthenticateResponse>, ApiError> {
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
    let cookie =
        format!("{SESSION_COOKIE}={auth_token}; Path=/; Max-Age={TTL}; HttpOnly; SameSite=Strict");
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(AuthenticateResponse { auth_token }),
    ))
}

/// The identity of a demo session token in `Authorization: Bearer`, else in the
/// [`SESSION_COOKIE`] cookie.
struct Session(String);

/// The session token of the [`SESSION_COOKIE`] cookie, if the request has one.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

impl FromRequestParts<Arc<Demo>> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, demo: &Arc<Demo>) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .or_else(|| session_cookie(&parts.headers))
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "send the authToken of /v1/authenticate as `Authorization: Bearer` (or its cookie)",
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
#[serde(rename_all = "camelCase")]
struct TokenResponse {
    token: String,
    /// The chat user token of the same identity (null when it cannot be a chat user id):
    /// with it, this answer is the `token-url` contract of `<chatseal-chat>`.
    stream_token: Option<String>,
}

/// Session → a directory token (PROTOCOL §6) for the same identity, and its chat token.
async fn chatseal_credentials(
    State(demo): State<Arc<Demo>>,
    Session(identity): Session,
) -> Result<Json<TokenResponse>, ApiError> {
    let token = demo
        .secret
        .directory_token(&demo.kid, "chatseal-demo", &identity, unix_now(), TTL)
        .map_err(|e| ApiError::internal(&e))?;
    let stream_token = if crate::valid_user_id(&identity) {
        Some(demo.stream_token(&identity)?)
    } else {
        None
    };
    Ok(Json(TokenResponse {
        token,
        stream_token,
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StreamCredentials {
    api_key: String,
    token: String,
    user: StreamUser,
    base_url: Option<String>,
}

#[derive(Serialize)]
struct StreamUser {
    id: String,
    name: String,
}

/// Session → `{apiKey, token, user, baseUrl}` for the chat SDK. `baseUrl` is this server
/// (the local relay, as the request reached it), or null for Stream's cloud.
async fn stream_credentials(
    State(demo): State<Arc<Demo>>,
    headers: HeaderMap,
    Session(identity): Session,
) -> Result<Json<StreamCredentials>, ApiError> {
    if !crate::valid_user_id(&identity) {
        return Err(ApiError::invalid(format!(
            "{identity:?} cannot be a chat user id: Stream allows only letters, digits, @, _, - and ."
        )));
    }
    let (api_key, base_url) = match &demo.chat {
        Chat::Cloud { key, .. } => (key.clone(), None),
        Chat::Relay(relay) => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .ok_or_else(|| ApiError::invalid("the request has no Host header"))?;
            (relay.api_key().to_owned(), Some(format!("http://{host}")))
        }
    };
    Ok(Json(StreamCredentials {
        api_key,
        token: demo.stream_token(&identity)?,
        user: StreamUser {
            id: identity.clone(),
            name: identity,
        },
        base_url,
    }))
}

/// What the relay's database stores for a channel (the "what the server sees" panel).
/// Any demo session may read it: it is the operator's view, and only ciphertext.
async fn stored(
    State(demo): State<Arc<Demo>>,
    Session(_): Session,
    Path((kind, id)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let relay = demo
        .relay()
        .ok_or_else(|| ApiError::not_found("the demo uses Stream's cloud, not the local relay"))?;
    relay
        .stored(&format!("{kind}:{id}"))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("no such channel"))
}
