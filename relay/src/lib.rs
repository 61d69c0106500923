//! `chatseal-relay`: the demo's backend, a crate of its own so that the key directory
//! (`chatseal-server`) ships none of it. It mounts, beside the directory's routes, the
//! tutorial's session endpoints ([`demo`]) and a local chat relay (this module).
//!
//! The demo's local chat relay: the part of Stream Chat's client protocol that stream-chat 9
//! and stream-chat-react 14 use, so the demo runs the unmodified SDK against
//! `baseURL` = this server, with no account anywhere.
//!
//! What it speaks: the WebSocket at `/connect` (health checks, then events), query channels
//! (`POST /channels`), create/watch a channel (`POST /channels/{type}[/{id}]/query`, distinct
//! channels included), send, update, delete and read messages and thread replies, mark read,
//! typing and other channel events, add/remove members, drafts, query users and file
//! uploads. Channels, members, read states, messages, drafts and the record of uploads live
//! in the directory's database (`relay_*` tables), so they survive a restart.
//!
//! Uploads (`POST /channels/{type}/{id}/file` and `/image`, multipart with a `file` part, as
//! stream-chat's `sendFile`/`sendImage` post them; `DELETE` with `?url=` removes one) are
//! stored as they come, streamed to a file in the uploads folder (`chatseal-relay --uploads`), up to
//! a limit (110 MiB by default). With chatseal the client uploads only ciphertext; the relay
//! never looks inside. Only a channel's members may upload to it. The answer's URL,
//! `http://HOST/uploads/NAME` (NAME: 16 random bytes in hex), is served by
//! `GET /uploads/{name}` **without authentication**, as Stream's CDN serves its URLs:
//! browsers fetch attachments with a plain `fetch()`, which sends no Stream token. Knowing
//! the URL is what grants access, so the 128-bit random name is the capability, and what it
//! returns is ciphertext. The files are served as `application/octet-stream` downloads with
//! `nosniff`, never as something a browser would render.
//!
//! What it leaves out on purpose: reactions, pins, polls and moderation are not offered
//! (`own_capabilities` says so, and the UI hides them); link previews are answered without
//! fetching the page (a relay that fetches any URL it is given would be an open proxy). It
//! is for local use: the demo only.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod auth;
mod channels;
mod db;
pub mod demo;
mod error;
mod files;
mod filter;
mod messages;
mod render;
pub mod uploads;
mod users;
mod websocket;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body as HttpBody, Bytes};
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::PathRejection;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, FromRequestParts, Multipart, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use auth::StreamUser;
use channels::{
    ids_of, mark_all_read, mark_read, page_of, query_channel, query_channels, query_distinct,
    send_event, stop_watching, update_channel,
};
use chatseal_server::api::AppState;
use chatseal_server::store::Store;
use db::{ChannelRow, Db, InsertError, MemberRow, MessageRow, Page};
pub use error::StreamError;
use files::{download, upload_routes};
use filter::{Field, FilterError};
use messages::{
    delete_draft, delete_message, get_draft, get_message, get_replies, put_draft, send_message,
    update_message,
};
use render::MESSAGE_FIELDS;
pub use uploads::Uploads;
use users::{app_settings, og, query_users};
use websocket::{connect, Hub};

/// Stream's default longest message text, in characters; longer texts are refused as
/// Stream refuses them.
pub const MAX_MESSAGE_LENGTH: usize = 5000;

/// Events queued for one connection before it is dropped as too slow (it reconnects and
/// recovers its channels, as stream-chat does after any disconnect).
const QUEUE: usize = 512;

/// What a member may do in a channel (and `upload-file` when the relay stores uploads).
/// Reactions, pins, polls and moderation are not implemented by the relay, so they are not
/// offered.
const CAPABILITIES: &[&str] = &[
    "read-events",
    "send-message",
    "send-reply",
    "quote-message",
    "update-own-message",
    "delete-own-message",
    "send-typing-events",
    "typing-events",
    "send-links",
    "connect-events",
];

/// The relay: its token key, the users it knows and the open connections.
pub struct Relay {
    store: Arc<Store>,
    api_key: String,
    secret: zeroize::Zeroizing<Vec<u8>>,
    users: RwLock<HashMap<String, String>>,
    hub: Hub,
    uploads: Option<Uploads>,
}

impl Relay {
    /// A relay on `store`'s database with a fresh token key; creates its tables.
    pub async fn open(store: Arc<Store>) -> Result<Self, sqlx::Error> {
        let db = Db(&store);
        db.init().await?;
        let users = db.users().await?.into_iter().collect();
        let mut secret = vec![0u8; 32];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut secret);
        Ok(Relay {
            store,
            api_key: "chatseal-demo".to_owned(),
            secret: zeroize::Zeroizing::new(secret),
            users: RwLock::new(users),
            hub: Hub::default(),
            uploads: None,
        })
    }

    /// Stores uploads in `uploads` (without it, the relay refuses them and does not offer
    /// them to clients).
    pub fn with_uploads(mut self, uploads: Uploads) -> Self {
        self.uploads = Some(uploads);
        self
    }

    /// Where uploads are stored, if they are accepted.
    pub fn uploads(&self) -> Option<&Uploads> {
        self.uploads.as_ref()
    }

    /// What a member may do in a channel.
    fn capabilities(&self) -> Vec<&'static str> {
        let mut all = CAPABILITIES.to_vec();
        if self.uploads.is_some() {
            all.push("upload-file");
        }
        all
    }

    fn db(&self) -> Db<'_> {
        Db(&self.store)
    }

    /// The API key clients pass to `new StreamChat(apiKey, { baseURL })`.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }
}

type Answer = Result<Json<Value>, StreamError>;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Unix milliseconds as Stream writes times: RFC 3339, UTC, milliseconds.
fn iso(ms: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_millis(at).to_string()
}

/// Stream's rule for user ids.
pub fn valid_user_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 255
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '@' | '_' | '-' | '.'))
}

fn valid_channel_part(part: &str) -> bool {
    !part.is_empty()
        && part.len() <= 64
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '@' | '_' | '-' | '!'))
}

fn valid_message_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 255
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '@' | '_' | '-' | '.' | ':'))
}

/// The id of the distinct channel of exactly `members` (order and repeats do not matter).
fn distinct_id(members: &[String]) -> String {
    let mut sorted: Vec<&str> = members.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let digest = Sha256::digest(sorted.join("\n").as_bytes());
    format!("!members-{}", &hex::encode(digest)[..40])
}

/// Sets `key` of a JSON object (no-op on anything else).
fn set(target: &mut Value, key: &str, value: Value) {
    if let Value::Object(map) = target {
        map.insert(key.to_owned(), value);
    }
}

/// A JSON body, or `null` for an empty one; anything else is a 400 in Stream's shape.
struct Body(Value);

impl<S: Send + Sync> axum::extract::FromRequest<S> for Body {
    type Rejection = StreamError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, StreamError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            StreamError::input(format!("cannot read the request body: {}", e.body_text()))
        })?;
        if bytes.is_empty() {
            return Ok(Body(Value::Null));
        }
        serde_json::from_slice(&bytes)
            .map(Body)
            .map_err(|e| StreamError::input(format!("the body is not JSON: {e}")))
    }
}

#[derive(Deserialize)]
pub(crate) struct ConnectionParams {
    connection_id: Option<String>,
}

/// The relay's routes (Stream's paths, at the root of the server).
pub fn router(relay: Arc<Relay>) -> Router<AppState> {
    Router::new()
        .route("/connect", get(connect))
        .route("/channels", post(query_channels))
        .route("/channels/read", post(mark_all_read))
        .route("/channels/{kind}/query", post(query_distinct))
        .route("/channels/{kind}/{id}", post(update_channel))
        .route("/channels/{kind}/{id}/query", post(query_channel))
        .route("/channels/{kind}/{id}/message", post(send_message))
        .route("/channels/{kind}/{id}/read", post(mark_read))
        .route("/channels/{kind}/{id}/event", post(send_event))
        .route("/channels/{kind}/{id}/stop-watching", post(stop_watching))
        .route(
            "/channels/{kind}/{id}/draft",
            post(put_draft).get(get_draft).delete(delete_draft),
        )
        .route("/channels/{kind}/{id}/file", upload_routes(&relay))
        .route("/channels/{kind}/{id}/image", upload_routes(&relay))
        .route("/uploads/{name}", get(download))
        .route(
            "/messages/{id}",
            get(get_message).post(update_message).delete(delete_message),
        )
        .route("/messages/{id}/replies", get(get_replies))
        .route("/users", get(query_users))
        .route("/og", get(og))
        .route("/app", get(app_settings))
        .with_state(relay)
}
