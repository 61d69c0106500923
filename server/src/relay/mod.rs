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
//! stored as they come, streamed to a file in the uploads folder (`demo --uploads`), up to
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
//! is for local use: `demo` mode only.

mod db;
mod filter;
pub mod uploads;

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

use crate::api::AppState;
use crate::store::Store;
use db::{ChannelRow, Db, InsertError, MemberRow, MessageRow, Page};
use filter::{Field, FilterError};
pub use uploads::Uploads;

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

#[derive(Default)]
struct Hub {
    next: AtomicU64,
    connections: Mutex<HashMap<String, Connection>>,
}

struct Connection {
    user: String,
    watching: HashSet<String>,
    tx: mpsc::Sender<String>,
}

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Connection>> {
        self.connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn online(&self, user: &str) -> bool {
        self.lock().values().any(|c| c.user == user)
    }

    fn watches(connections: &HashMap<String, Connection>, user: &str, cid: &str) -> bool {
        connections
            .values()
            .any(|c| c.user == user && c.watching.contains(cid))
    }

    /// `user`'s connection starts watching `cid`; true when the user was not watching it
    /// through any connection before.
    fn watch(&self, connection_id: Option<&str>, user: &str, cid: &str) -> bool {
        let mut connections = self.lock();
        let before = Self::watches(&connections, user, cid);
        match connection_id.and_then(|id| connections.get_mut(id)) {
            Some(c) if c.user == user => {
                c.watching.insert(cid.to_owned());
            }
            _ => return false,
        }
        !before
    }

    /// The connection stops watching `cid`; true when its user no longer watches it at all.
    fn unwatch(&self, connection_id: Option<&str>, user: &str, cid: &str) -> bool {
        let mut connections = self.lock();
        let removed = match connection_id.and_then(|id| connections.get_mut(id)) {
            Some(c) if c.user == user => c.watching.remove(cid),
            _ => false,
        };
        removed && !Self::watches(&connections, user, cid)
    }

    /// Closes a connection; returns the channels its user no longer watches at all.
    fn remove(&self, connection_id: &str) -> Vec<String> {
        let mut connections = self.lock();
        let Some(gone) = connections.remove(connection_id) else {
            return Vec::new();
        };
        gone.watching
            .into_iter()
            .filter(|cid| !Self::watches(&connections, &gone.user, cid))
            .collect()
    }

    /// The users watching `cid`.
    fn watchers(&self, cid: &str) -> Vec<String> {
        let mut users: Vec<String> = self
            .lock()
            .values()
            .filter(|c| c.watching.contains(cid))
            .map(|c| c.user.clone())
            .collect();
        users.sort_unstable();
        users.dedup();
        users
    }

    /// Sends `event(watching)` to every connection of `users`; a connection whose queue is
    /// full is dropped.
    fn send(&self, users: &[String], cid: Option<&str>, event: impl Fn(bool) -> Option<String>) {
        let mut connections = self.lock();
        let mut slow = Vec::new();
        for (id, c) in connections.iter() {
            if !users.contains(&c.user) {
                continue;
            }
            let watching = cid.is_some_and(|cid| c.watching.contains(cid));
            if let Some(text) = event(watching) {
                if c.tx.try_send(text).is_err() {
                    slow.push(id.clone());
                }
            }
        }
        for id in slow {
            tracing::warn!("relay: dropping a connection that does not read its events");
            connections.remove(&id);
        }
    }
}

/// A refusal in Stream's error shape (`{"code", "message", "StatusCode"}`), which
/// stream-chat turns into its `Error` with that message.
#[derive(Debug)]
pub struct StreamError {
    status: StatusCode,
    code: u32,
    message: String,
}

impl StreamError {
    fn input(message: impl Into<String>) -> Self {
        StreamError {
            status: StatusCode::BAD_REQUEST,
            code: 4,
            message: message.into(),
        }
    }

    fn auth(message: impl Into<String>) -> Self {
        StreamError {
            status: StatusCode::UNAUTHORIZED,
            code: 5,
            message: message.into(),
        }
    }

    fn not_found(message: impl Into<String>) -> Self {
        StreamError {
            status: StatusCode::NOT_FOUND,
            code: 16,
            message: message.into(),
        }
    }

    fn forbidden(message: impl Into<String>) -> Self {
        StreamError {
            status: StatusCode::FORBIDDEN,
            code: 17,
            message: message.into(),
        }
    }

    /// Stream's "Payload Too Big" (413, code 22).
    fn too_large(limit: u64) -> Self {
        StreamError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: 22,
            message: format!("the upload is larger than this relay's limit of {limit} bytes"),
        }
    }

    /// The uploads folder failed (logged; the answer does not say how).
    fn storage(err: &std::io::Error) -> Self {
        tracing::error!(cause = %err, "relay: cannot store or remove an upload");
        StreamError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: 0,
            message: "the demo chat relay's uploads folder failed; it has been logged".into(),
        }
    }
}

impl From<sqlx::Error> for StreamError {
    fn from(err: sqlx::Error) -> Self {
        tracing::error!(cause = %err, "relay: database error");
        StreamError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: 0,
            message: "the demo chat relay could not reach its database; it has been logged".into(),
        }
    }
}

impl From<FilterError> for StreamError {
    fn from(err: FilterError) -> Self {
        StreamError::input(err.0)
    }
}

impl IntoResponse for StreamError {
    fn into_response(self) -> Response {
        let body = json!({
            "code": self.code,
            "message": self.message,
            "StatusCode": self.status.as_u16(),
            "duration": "0.00ms",
            "more_info": "",
        });
        (self.status, Json(body)).into_response()
    }
}

type Answer = Result<Json<Value>, StreamError>;

#[derive(Serialize, Deserialize)]
struct StreamClaims {
    user_id: String,
    iat: u64,
}

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

/// Fields of a message input the relay keeps in columns or computes itself.
const MESSAGE_FIELDS: &[&str] = &[
    "id",
    "text",
    "parent_id",
    "show_in_channel",
    "quoted_message_id",
    "attachments",
    "mentioned_users",
    "silent",
    // computed by the server, ignored when a client sends them back
    "user",
    "user_id",
    "cid",
    "type",
    "html",
    "created_at",
    "updated_at",
    "deleted_at",
    "reply_count",
    "deleted_reply_count",
    "latest_reactions",
    "own_reactions",
    "reaction_counts",
    "reaction_scores",
    "reaction_groups",
    "quoted_message",
    "status",
    "pinned",
    "pinned_at",
    "pinned_by",
    "pin_expires",
    "message_text_updated_at",
    "thread_participants",
    "i18n",
    "shadowed",
    "error",
    "errorStatusCode",
];

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

    /// A user token for the relay, like the ones a Stream backend mints (HS256, `user_id`).
    pub fn token_for(&self, user_id: &str) -> Result<String, jsonwebtoken::errors::Error> {
        let claims = StreamClaims {
            user_id: user_id.to_owned(),
            iat: crate::auth::unix_now(),
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&self.secret),
        )
    }

    fn verify(&self, token: &str) -> Result<String, StreamError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.required_spec_claims = HashSet::new();
        validation.validate_aud = false;
        let data = jsonwebtoken::decode::<StreamClaims>(
            token,
            &DecodingKey::from_secret(&self.secret),
            &validation,
        )
        .map_err(|_| {
            StreamError::auth(
                "the token is not one this relay signed: get one from /v1/stream-credentials",
            )
        })?;
        Ok(data.claims.user_id)
    }

    /// What the database stores for a channel, as stored: every message, oldest first
    /// (`id`, `user_id`, `text`, `parent_id`, `quoted_message_id`, `attachments`, times,
    /// `deleted`), and every draft (`user_id`, `parent_id`, `message`). `None` when there is
    /// no such channel.
    pub async fn stored(&self, cid: &str) -> Result<Option<Value>, sqlx::Error> {
        if self.db().channel(cid).await?.is_none() {
            return Ok(None);
        }
        const BATCH: i64 = 1000;
        let mut rows = Vec::new();
        let mut page = Page::Latest(BATCH);
        loop {
            let batch = self.db().page_all(cid, page).await?;
            let Some(first) = batch.first() else { break };
            let seq = first.seq;
            let full = batch.len() == BATCH as usize;
            rows.splice(0..0, batch);
            if !full {
                break;
            }
            page = Page::Before {
                seq,
                inclusive: false,
                limit: BATCH,
            };
        }
        let messages: Vec<Value> = rows
            .into_iter()
            .map(|m| {
                let extra: Map<String, Value> = serde_json::from_str(&m.extra).unwrap_or_default();
                json!({
                    "id": m.id,
                    "user_id": m.user_id,
                    "text": m.text,
                    "parent_id": m.parent_id,
                    "quoted_message_id": m.quoted_message_id,
                    "attachments": extra.get("attachments").cloned().unwrap_or_else(|| json!([])),
                    "created_at": iso(m.created_at),
                    "updated_at": iso(m.updated_at),
                    "deleted": m.deleted_at.is_some(),
                })
            })
            .collect();
        let drafts: Vec<Value> = self
            .db()
            .drafts_in(cid)
            .await?
            .into_iter()
            .map(|(user_id, parent_id, message)| {
                let message: Value = serde_json::from_str(&message).unwrap_or(Value::Null);
                json!({ "user_id": user_id, "parent_id": parent_id, "message": message })
            })
            .collect();
        Ok(Some(
            json!({ "cid": cid, "messages": messages, "drafts": drafts }),
        ))
    }

    /// `user`'s connection watches `cid` from now on (its events arrive as `message.new`
    /// rather than `notification.message_new`); the members hear of a new watcher.
    async fn start_watching(&self, connection_id: Option<&str>, user: &str, cid: &str) {
        if self.hub.watch(connection_id, user, cid) {
            self.watching_changed(user, cid, true).await;
        }
    }

    /// Tells the members of `cid` that `user` started or stopped watching it
    /// (`user.watching.start`/`stop`: stream-chat-react's "Online" in a 1:1 header).
    async fn watching_changed(&self, user: &str, cid: &str, start: bool) {
        let (channel, members) = match (self.db().channel(cid).await, self.member_ids(cid).await) {
            (Ok(Some(channel)), Ok(members)) => (channel, members),
            _ => return,
        };
        let kind = if start {
            "user.watching.start"
        } else {
            "user.watching.stop"
        };
        self.announce(&members, &channel, kind, Some(user), json!({}));
    }

    /// Tells everyone who shares a channel with `user` that they came online or left
    /// (`user.presence.changed`, which stream-chat-react shows in channel headers).
    async fn announce_presence(&self, user: &str, online: bool) {
        let channels = match self.db().channels_of(user).await {
            Ok(channels) => channels,
            Err(e) => {
                tracing::warn!(cause = %e, "relay: cannot announce presence");
                return;
            }
        };
        let mut others: Vec<String> = Vec::new();
        for c in channels {
            for m in self.member_ids(&c.cid).await.unwrap_or_default() {
                if m != user && !others.contains(&m) {
                    others.push(m);
                }
            }
        }
        let mut who = self.user_json(user);
        set(&mut who, "online", json!(online));
        set(&mut who, "last_active", json!(iso(now_ms())));
        let event = json!({
            "type": "user.presence.changed",
            "user": who,
            "created_at": iso(now_ms()),
        })
        .to_string();
        self.hub.send(&others, None, |_| Some(event.clone()));
    }

    fn name_of(&self, id: &str) -> String {
        self.users
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_owned())
    }

    fn user_json(&self, id: &str) -> Value {
        json!({
            "id": id,
            "name": self.name_of(id),
            "role": "user",
            "banned": false,
            "online": self.hub.online(id),
        })
    }

    fn message_json(&self, m: &MessageRow, quoted: Option<&MessageRow>) -> Value {
        let extra: Map<String, Value> = serde_json::from_str(&m.extra).unwrap_or_default();
        let mut out = Map::new();
        if let Some(Value::Object(custom)) = extra.get("custom") {
            out.extend(custom.clone());
        }
        let kind = if m.deleted_at.is_some() {
            "deleted"
        } else if m.parent_id.is_some() && m.show_in_channel == 0 {
            "reply"
        } else {
            "regular"
        };
        let mentioned: Vec<Value> = extra
            .get("mentioned_users")
            .and_then(Value::as_array)
            .map(|ids| {
                ids.iter()
                    .filter_map(Value::as_str)
                    .map(|id| self.user_json(id))
                    .collect()
            })
            .unwrap_or_default();
        let fields = json!({
            "id": m.id,
            "text": m.text,
            "html": "",
            "type": kind,
            "cid": m.cid,
            "user": self.user_json(&m.user_id),
            "attachments": extra.get("attachments").cloned().unwrap_or_else(|| json!([])),
            "mentioned_users": mentioned,
            "latest_reactions": [],
            "own_reactions": [],
            "reaction_counts": {},
            "reaction_scores": {},
            "reply_count": m.reply_count,
            "deleted_reply_count": 0,
            "silent": extra.get("silent").and_then(Value::as_bool).unwrap_or(false),
            "pinned": false,
            "pinned_at": null,
            "pinned_by": null,
            "pin_expires": null,
            "shadowed": false,
            "created_at": iso(m.created_at),
            "updated_at": iso(m.updated_at),
        });
        if let Value::Object(fields) = fields {
            out.extend(fields);
        }
        if let Some(parent) = &m.parent_id {
            out.insert("parent_id".into(), json!(parent));
            out.insert("show_in_channel".into(), json!(m.show_in_channel != 0));
        }
        if let Some(at) = m.text_updated_at {
            out.insert("message_text_updated_at".into(), json!(iso(at)));
        }
        if let Some(at) = m.deleted_at {
            out.insert("deleted_at".into(), json!(iso(at)));
        }
        if let Some(q) = &m.quoted_message_id {
            out.insert("quoted_message_id".into(), json!(q));
            if let Some(quoted) = quoted {
                out.insert("quoted_message".into(), self.message_json(quoted, None));
            }
        }
        Value::Object(out)
    }

    /// One message as JSON, with the message it quotes.
    async fn message_one(&self, row: MessageRow) -> Result<Value, sqlx::Error> {
        let mut one = self.messages_json(std::slice::from_ref(&row)).await?;
        Ok(one.pop().unwrap_or(Value::Null))
    }

    /// The message `id` as stored now (after the write that made or changed it), as JSON.
    async fn stored_message(&self, id: &str) -> Result<Value, StreamError> {
        let row = self
            .db()
            .message(id)
            .await?
            .ok_or_else(|| StreamError::not_found("the message vanished"))?;
        Ok(self.message_one(row).await?)
    }

    /// Messages as JSON, with the messages they quote.
    async fn messages_json(&self, rows: &[MessageRow]) -> Result<Vec<Value>, sqlx::Error> {
        let mut out = Vec::with_capacity(rows.len());
        for m in rows {
            let quoted = match &m.quoted_message_id {
                Some(id) => match rows.iter().find(|r| &r.id == id) {
                    Some(found) => Some(found.clone()),
                    None => self.db().message(id).await?,
                },
                None => None,
            };
            out.push(self.message_json(m, quoted.as_ref()));
        }
        Ok(out)
    }

    fn member_json(&self, cid_owner: &str, m: &MemberRow) -> Value {
        let owner = m.user_id == cid_owner;
        json!({
            "user_id": m.user_id,
            "user": self.user_json(&m.user_id),
            "role": if owner { "owner" } else { "member" },
            "channel_role": if owner { "channel_moderator" } else { "channel_member" },
            "created_at": iso(m.created_at),
            "updated_at": iso(m.created_at),
            "banned": false,
            "shadow_banned": false,
            "notifications_muted": false,
        })
    }

    fn channel_json(&self, c: &ChannelRow, member_count: usize) -> Value {
        let mut out: Map<String, Value> = serde_json::from_str(&c.data).unwrap_or_default();
        let fields = json!({
            "id": c.id,
            "type": c.kind,
            "cid": c.cid,
            "created_at": iso(c.created_at),
            "updated_at": iso(c.updated_at),
            "created_by": self.user_json(&c.created_by),
            "frozen": false,
            "disabled": false,
            "hidden": false,
            "member_count": member_count,
            "config": channel_config(&c.kind, self.uploads.is_some()),
            "own_capabilities": self.capabilities(),
        });
        if let Value::Object(fields) = fields {
            out.extend(fields);
        }
        if let Some(at) = c.last_message_at {
            out.insert("last_message_at".into(), json!(iso(at)));
        }
        Value::Object(out)
    }

    /// A channel's state as `query` and `queryChannels` answer it.
    async fn channel_state(
        &self,
        c: &ChannelRow,
        members: &[MemberRow],
        me: &str,
        page: Page,
    ) -> Result<Value, sqlx::Error> {
        let rows = self.db().messages(&c.cid, page).await?;
        let messages = self.messages_json(&rows).await?;
        let mut read = Vec::with_capacity(members.len());
        for m in members {
            let unread = self.db().unread(&c.cid, &m.user_id, m.last_read).await?;
            let mut entry = json!({
                "user": self.user_json(&m.user_id),
                "last_read": iso(m.last_read.unwrap_or(m.created_at)),
                "unread_messages": unread,
            });
            if let Some(id) = &m.last_read_message_id {
                set(&mut entry, "last_read_message_id", json!(id));
            }
            read.push(entry);
        }
        let membership = members
            .iter()
            .find(|m| m.user_id == me)
            .map(|m| self.member_json(&c.created_by, m));
        Ok(json!({
            "channel": self.channel_json(c, members.len()),
            "members": members.iter().map(|m| self.member_json(&c.created_by, m)).collect::<Vec<_>>(),
            "messages": messages,
            "pinned_messages": [],
            "read": read,
            "watchers": self.hub.watchers(&c.cid).iter().map(|u| self.user_json(u)).collect::<Vec<_>>(),
            "watcher_count": self.hub.watchers(&c.cid).len(),
            "membership": membership,
            "threads": [],
            "duration": "0.00ms",
        }))
    }

    /// The channel, if `user` is one of its members.
    async fn member_channel(
        &self,
        kind: &str,
        id: &str,
        user: &str,
    ) -> Result<(ChannelRow, Vec<String>), StreamError> {
        let cid = format!("{kind}:{id}");
        let channel = self
            .db()
            .channel(&cid)
            .await?
            .ok_or_else(|| StreamError::not_found(format!("channel {cid} does not exist")))?;
        let members = self.member_ids(&cid).await?;
        if !members.iter().any(|m| m == user) {
            return Err(StreamError::forbidden(format!(
                "{user} is not a member of channel {cid}"
            )));
        }
        Ok((channel, members))
    }

    async fn member_ids(&self, cid: &str) -> Result<Vec<String>, sqlx::Error> {
        Ok(self
            .db()
            .members(cid)
            .await?
            .into_iter()
            .map(|m| m.user_id)
            .collect())
    }

    /// A message of a channel `user` is a member of.
    async fn member_message(
        &self,
        id: &str,
        user: &str,
    ) -> Result<(MessageRow, ChannelRow, Vec<String>), StreamError> {
        let message = self
            .db()
            .message(id)
            .await?
            .ok_or_else(|| StreamError::not_found(format!("message {id} does not exist")))?;
        let (kind, channel_id) = message.cid.split_once(':').unwrap_or(("", ""));
        let (channel, members) = self.member_channel(kind, channel_id, user).await?;
        Ok((message, channel, members))
    }

    fn event(&self, c: &ChannelRow, kind: &str, user: Option<&str>, extra: Value) -> Value {
        let mut event = json!({
            "type": kind,
            "cid": c.cid,
            "channel_id": c.id,
            "channel_type": c.kind,
            "created_at": iso(now_ms()),
            "watcher_count": self.hub.watchers(&c.cid).len(),
        });
        if let Some(user) = user {
            set(&mut event, "user", self.user_json(user));
        }
        if let (Value::Object(event), Value::Object(extra)) = (&mut event, extra) {
            event.extend(extra);
        }
        event
    }

    /// Sends the event of `kind` in `c` (as [`Relay::event`] makes it) to every connection
    /// of `to`; returns it.
    fn announce(
        &self,
        to: &[String],
        c: &ChannelRow,
        kind: &str,
        user: Option<&str>,
        extra: Value,
    ) -> Value {
        let event = self.event(c, kind, user, extra);
        let text = event.to_string();
        self.hub.send(to, Some(&c.cid), |_| Some(text.clone()));
        event
    }

    /// Whether the user's own channels match a query-channels filter.
    fn channel_matches(
        &self,
        filter: &Value,
        c: &ChannelRow,
        members: &[String],
    ) -> Result<bool, FilterError> {
        let data: Map<String, Value> = serde_json::from_str(&c.data).unwrap_or_default();
        let name = data.get("name").and_then(Value::as_str);
        let lookup = |field: &str| -> Option<Option<Field<'_>>> {
            Some(match field {
                "type" => Some(Field::One(c.kind.as_str())),
                "id" => Some(Field::One(c.id.as_str())),
                "cid" => Some(Field::One(c.cid.as_str())),
                "members" => Some(Field::Many(members)),
                "created_by_id" => Some(Field::One(c.created_by.as_str())),
                "name" => name.map(Field::One),
                _ => return None,
            })
        };
        if filter.as_object().is_some_and(Map::is_empty) || filter.is_null() {
            return Ok(true);
        }
        filter::matches(filter, &lookup)
    }
}

/// Sets `key` of a JSON object (no-op on anything else).
fn set(target: &mut Value, key: &str, value: Value) {
    if let Value::Object(map) = target {
        map.insert(key.to_owned(), value);
    }
}

fn channel_config(kind: &str, uploads: bool) -> Value {
    json!({
        "name": kind,
        "typing_events": true,
        "read_events": true,
        "connect_events": true,
        "reactions": false,
        "replies": true,
        "quotes": true,
        "uploads": uploads,
        "url_enrichment": true,
        "custom_events": true,
        "mutes": false,
        "push_notifications": false,
        "shared_locations": false,
        "polls": false,
        "reminders": false,
        "mark_messages_pending": false,
        "message_retention": "infinite",
        "max_message_length": MAX_MESSAGE_LENGTH,
        "automod": "disabled",
        "automod_behavior": "flag",
        "commands": [],
    })
}

/// The user of a request's token (`Authorization: <jwt>`, as stream-chat sends it).
struct StreamUser(String);

impl FromRequestParts<Arc<Relay>> for StreamUser {
    type Rejection = StreamError;

    async fn from_request_parts(
        parts: &mut Parts,
        relay: &Arc<Relay>,
    ) -> Result<Self, StreamError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim())
            .ok_or_else(|| StreamError::auth("send the user's token in `Authorization`"))?;
        relay.verify(token).map(StreamUser)
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
struct ConnectionParams {
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

#[derive(Deserialize)]
struct ConnectParams {
    json: Option<String>,
    api_key: Option<String>,
    authorization: Option<String>,
}

async fn connect(
    State(relay): State<Arc<Relay>>,
    Query(params): Query<ConnectParams>,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade.on_upgrade(move |socket| serve_socket(relay, params, socket))
}

async fn serve_socket(relay: Arc<Relay>, params: ConnectParams, mut socket: WebSocket) {
    let payload: Value = params
        .json
        .as_deref()
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or(Value::Null);
    let claimed = payload.get("user_id").and_then(Value::as_str);
    let user = match params.authorization.as_deref().map(|t| relay.verify(t)) {
        Some(Ok(user)) if Some(user.as_str()) == claimed => Ok(user),
        Some(Ok(_)) => Err(StreamError::auth(
            "the token is for another user than user_id",
        )),
        Some(Err(e)) => Err(e),
        None => Err(StreamError::auth(
            "send the user's token as `authorization`",
        )),
    };
    let user = match (user, params.api_key.as_deref()) {
        (Ok(user), Some(key)) if key == relay.api_key => user,
        (Ok(_), _) => {
            refuse(&mut socket, StreamError::auth("unknown api_key")).await;
            return;
        }
        (Err(e), _) => {
            refuse(&mut socket, e).await;
            return;
        }
    };
    let name = payload
        .pointer("/user_details/name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty() && n.len() <= 200)
        .unwrap_or(&user)
        .to_owned();
    if let Err(e) = relay.db().upsert_user(&user, &name, now_ms()).await {
        refuse(&mut socket, e.into()).await;
        return;
    }
    relay
        .users
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(user.clone(), name);

    let first_connection = !relay.hub.online(&user);
    let connection_id = format!(
        "{}-{}",
        relay.hub.next.fetch_add(1, Ordering::Relaxed),
        uuid::Uuid::new_v4()
    );
    let (tx, mut rx) = mpsc::channel::<String>(QUEUE);
    relay.hub.lock().insert(
        connection_id.clone(),
        Connection {
            user: user.clone(),
            watching: HashSet::new(),
            tx,
        },
    );
    let mut me = relay.user_json(&user);
    if let Value::Object(me) = &mut me {
        me.insert("online".into(), json!(true));
        me.insert("devices".into(), json!([]));
        me.insert("mutes".into(), json!([]));
        me.insert("channel_mutes".into(), json!([]));
        me.insert("unread_count".into(), json!(0));
        me.insert("total_unread_count".into(), json!(0));
        me.insert("unread_channels".into(), json!(0));
        me.insert("invisible".into(), json!(false));
    }
    let hello = json!({
        "type": "health.check",
        "connection_id": connection_id,
        "cid": "*",
        "created_at": iso(now_ms()),
        "me": me,
    });
    if first_connection {
        relay.announce_presence(&user, true).await;
    }
    if socket
        .send(WsMessage::Text(hello.to_string().into()))
        .await
        .is_ok()
    {
        tracing::info!("relay: connection opened");
        loop {
            tokio::select! {
                incoming = socket.recv() => match incoming {
                    Some(Ok(WsMessage::Text(_))) => {
                        // stream-chat's health check: answer as Stream does.
                        let pong = json!({
                            "type": "health.check",
                            "connection_id": connection_id,
                            "created_at": iso(now_ms()),
                        });
                        if socket.send(WsMessage::Text(pong.to_string().into())).await.is_err() {
                            break;
                        }
                    }
                    Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                },
                outgoing = rx.recv() => match outgoing {
                    Some(text) => {
                        if socket.send(WsMessage::Text(text.into())).await.is_err() {
                            break;
                        }
                    }
                    // Dropped by the hub (too slow).
                    None => break,
                },
            }
        }
    }
    for cid in relay.hub.remove(&connection_id) {
        relay.watching_changed(&user, &cid, false).await;
    }
    if !relay.hub.online(&user) {
        relay.announce_presence(&user, false).await;
    }
    tracing::info!("relay: connection closed");
}

async fn refuse(socket: &mut WebSocket, error: StreamError) {
    let body = json!({ "error": {
        "code": error.code,
        "message": error.message,
        "StatusCode": error.status.as_u16(),
    }});
    let _ = socket.send(WsMessage::Text(body.to_string().into())).await;
    let _ = socket.send(WsMessage::Close(None)).await;
}

fn ids_of(list: Option<&Value>) -> Result<Vec<String>, StreamError> {
    let Some(list) = list else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or_else(|| StreamError::input("members must be an array of user ids"))?;
    let mut ids = Vec::with_capacity(list.len());
    for item in list {
        let id = item
            .as_str()
            .or_else(|| item.get("user_id").and_then(Value::as_str))
            .ok_or_else(|| StreamError::input("members must be user ids or {\"user_id\"}"))?;
        if !valid_user_id(id) {
            return Err(StreamError::input(format!("{id:?} is not a valid user id")));
        }
        if !ids.iter().any(|x| x == id) {
            ids.push(id.to_owned());
        }
    }
    if ids.len() > 1000 {
        return Err(StreamError::input(
            "a channel has at most 1000 members here",
        ));
    }
    Ok(ids)
}

/// The message page a query asks for (`messages: {limit, id_lt, …}`).
async fn page_of(
    relay: &Relay,
    options: Option<&Value>,
    default: i64,
) -> Result<Page, StreamError> {
    let limit = options
        .and_then(|o| o.get("limit"))
        .and_then(Value::as_i64)
        .unwrap_or(default)
        .clamp(0, 300);
    let Some(options) = options else {
        return Ok(Page::Latest(limit));
    };
    for (key, before, inclusive) in [
        ("id_lt", true, false),
        ("id_lte", true, true),
        ("id_gt", false, false),
        ("id_gte", false, true),
    ] {
        if let Some(id) = options.get(key).and_then(Value::as_str) {
            let seq = relay
                .db()
                .message(id)
                .await?
                .map(|m| m.seq)
                .ok_or_else(|| StreamError::input(format!("{key}: message {id} does not exist")))?;
            return Ok(if before {
                Page::Before {
                    seq,
                    inclusive,
                    limit,
                }
            } else {
                Page::After {
                    seq,
                    inclusive,
                    limit,
                }
            });
        }
    }
    if options.get("id_around").is_some() || options.get("created_at_around").is_some() {
        return Err(StreamError::input(
            "the demo chat relay pages messages with id_lt/id_lte/id_gt/id_gte only",
        ));
    }
    Ok(Page::Latest(limit))
}

async fn query_channels(
    State(relay): State<Arc<Relay>>,
    StreamUser(user): StreamUser,
    Query(conn): Query<ConnectionParams>,
    Body(body): Body,
) -> Answer {
    let filter = body
        .get("filter_conditions")
        .cloned()
        .unwrap_or(Value::Null);
    let limit = body
        .get("limit")
        .and_then(Value::as_u64)
        .unwrap_or(10)
        .min(30) as usize;
    let offset = body.get("offset").and_then(Value::as_u64).unwrap_or(0) as usize;
    let message_limit = body
        .get("message_limit")
        .and_then(Value::as_i64)
        .unwrap_or(25);
    let watch = body.get("watch").and_then(Value::as_bool).unwrap_or(false);
    let mut found = Vec::new();
    for c in relay.db().channels_of(&user).await? {
        let members = relay.db().members(&c.cid).await?;
        let ids: Vec<String> = members.iter().map(|m| m.user_id.clone()).collect();
        if relay.channel_matches(&filter, &c, &ids)? {
            found.push((c, members));
        }
    }
    sort_channels(&mut found, body.get("sort"))?;
    let mut channels = Vec::new();
    for (c, members) in found.into_iter().skip(offset).take(limit) {
        if watch {
            relay
                .start_watching(conn.connection_id.as_deref(), &user, &c.cid)
                .await;
        }
        let page = Page::Latest(message_limit.clamp(0, 300));
        channels.push(relay.channel_state(&c, &members, &user, page).await?);
    }
    Ok(Json(json!({ "channels": channels, "duration": "0.00ms" })))
}

fn sort_channels<T>(
    channels: &mut [(ChannelRow, T)],
    sort: Option<&Value>,
) -> Result<(), StreamError> {
    let mut keys: Vec<(String, i64)> = Vec::new();
    match sort {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for item in list {
                let field = item.get("field").and_then(Value::as_str).unwrap_or("");
                let direction = item.get("direction").and_then(Value::as_i64).unwrap_or(-1);
                keys.push((field.to_owned(), direction));
            }
        }
        Some(Value::Object(map)) => {
            for (field, direction) in map {
                keys.push((field.clone(), direction.as_i64().unwrap_or(-1)));
            }
        }
        Some(_) => return Err(StreamError::input("sort must be an array or an object")),
    }
    if keys.is_empty() {
        keys.push(("last_updated".into(), -1));
    }
    for (field, _) in &keys {
        if !matches!(
            field.as_str(),
            "last_message_at" | "last_updated" | "created_at" | "updated_at"
        ) {
            return Err(StreamError::input(format!(
                "the demo chat relay cannot sort channels by `{field}`"
            )));
        }
    }
    let value = |c: &ChannelRow, field: &str| -> i64 {
        match field {
            "last_message_at" => c.last_message_at.unwrap_or(0),
            "created_at" => c.created_at,
            "updated_at" => c.updated_at,
            _ => c.last_message_at.unwrap_or(0).max(c.updated_at),
        }
    };
    channels.sort_by(|(a, _), (b, _)| {
        for (field, direction) in &keys {
            let order = value(a, field).cmp(&value(b, field));
            let order = if *direction < 0 {
                order.reverse()
            } else {
                order
            };
            if order != std::cmp::Ordering::Equal {
                return order;
            }
        }
        a.cid.cmp(&b.cid)
    });
    Ok(())
}

async fn query_distinct(
    State(relay): State<Arc<Relay>>,
    StreamUser(user): StreamUser,
    Path(kind): Path<String>,
    Query(conn): Query<ConnectionParams>,
    Body(body): Body,
) -> Answer {
    let mut members = ids_of(body.pointer("/data/members"))?;
    if !members.contains(&user) {
        members.push(user.clone());
    }
    if members.len() < 2 {
        return Err(StreamError::input(
            "a channel without an id is the distinct channel of its members: name at least one other member",
        ));
    }
    let id = distinct_id(&members);
    query_or_create(&relay, user, kind, id, conn, body, Some(members)).await
}

async fn query_channel(
    State(relay): State<Arc<Relay>>,
    StreamUser(user): StreamUser,
    Path((kind, id)): Path<(String, String)>,
    Query(conn): Query<ConnectionParams>,
    Body(body): Body,
) -> Answer {
    query_or_create(&relay, user, kind, id, conn, body, None).await
}

async fn query_or_create(
    relay: &Relay,
    user: String,
    kind: String,
    id: String,
    conn: ConnectionParams,
    body: Value,
    distinct: Option<Vec<String>>,
) -> Answer {
    if !valid_channel_part(&kind) || !valid_channel_part(&id) {
        return Err(StreamError::input(
            "channel types and ids are 1 to 64 of a-z, A-Z, 0-9, @, _, - and !",
        ));
    }
    let cid = format!("{kind}:{id}");
    let now = now_ms();
    if relay.db().channel(&cid).await?.is_none() {
        let mut members = match distinct {
            Some(members) => members,
            None => ids_of(body.pointer("/data/members"))?,
        };
        if !members.contains(&user) {
            members.insert(0, user.clone());
        }
        let mut data = Map::new();
        if let Some(Value::Object(given)) = body.get("data") {
            for (k, v) in given {
                if !matches!(
                    k.as_str(),
                    "members" | "id" | "type" | "cid" | "created_by" | "created_by_id"
                ) {
                    data.insert(k.clone(), v.clone());
                }
            }
        }
        let row = ChannelRow {
            cid: cid.clone(),
            kind: kind.clone(),
            id: id.clone(),
            data: Value::Object(data).to_string(),
            created_by: user.clone(),
            created_at: now,
            updated_at: now,
            last_message_at: None,
        };
        if relay.db().create_channel(&row, &members).await? {
            let others: Vec<String> = members.iter().filter(|m| **m != user).cloned().collect();
            let channel = relay.channel_json(&row, members.len());
            for other in &others {
                relay.announce(std::slice::from_ref(other), &row, "notification.added_to_channel",
                    None,
                    json!({ "channel": channel, "member": { "user_id": other, "user": relay.user_json(other) } }),
                );
            }
        }
    }
    let (channel, _) = relay.member_channel(&kind, &id, &user).await?;
    if body.get("watch").and_then(Value::as_bool).unwrap_or(false) {
        relay
            .start_watching(conn.connection_id.as_deref(), &user, &channel.cid)
            .await;
    }
    let page = page_of(relay, body.get("messages"), 25).await?;
    let members = relay.db().members(&channel.cid).await?;
    Ok(Json(
        relay.channel_state(&channel, &members, &user, page).await?,
    ))
}

async fn update_channel(
    State(relay): State<Arc<Relay>>,
    StreamUser(user): StreamUser,
    Path((kind, id)): Path<(String, String)>,
    Body(body): Body,
) -> Answer {
    let (channel, before) = relay.member_channel(&kind, &id, &user).await?;
    let now = now_ms();
    let add = ids_of(body.get("add_members"))?;
    let remove = ids_of(body.get("remove_members"))?;
    let added = relay.db().add_members(&channel.cid, &add, now).await?;
    let removed = relay.db().remove_members(&channel.cid, &remove).await?;
    if let Some(Value::Object(given)) = body.get("data") {
        let mut data: Map<String, Value> = serde_json::from_str(&channel.data).unwrap_or_default();
        for (k, v) in given {
            if !matches!(k.as_str(), "members" | "id" | "type" | "cid" | "created_by") {
                data.insert(k.clone(), v.clone());
            }
        }
        relay
            .db()
            .update_channel_data(&channel.cid, &Value::Object(data).to_string(), now)
            .await?;
    }
    let channel = relay.db().channel(&channel.cid).await?.unwrap_or(channel);
    let after = relay.member_ids(&channel.cid).await?;
    let everyone: Vec<String> = before.iter().chain(added.iter()).cloned().collect();
    let channel_json = relay.channel_json(&channel, after.len());
    for id in &added {
        let member = json!({ "user_id": id, "user": relay.user_json(id) });
        // As Stream does, `user` is the member the event is about (stream-chat updates
        // the channel's members by it), not who made the change.
        relay.announce(
            &everyone,
            &channel,
            "member.added",
            Some(id),
            json!({ "member": member }),
        );
        relay.announce(
            std::slice::from_ref(id),
            &channel,
            "notification.added_to_channel",
            None,
            json!({ "channel": channel_json, "member": member }),
        );
    }
    for id in &removed {
        let member = json!({ "user_id": id, "user": relay.user_json(id) });
        relay.announce(
            &everyone,
            &channel,
            "member.removed",
            Some(id),
            json!({ "member": member }),
        );
        relay.announce(
            std::slice::from_ref(id),
            &channel,
            "notification.removed_from_channel",
            None,
            json!({ "channel": channel_json }),
        );
    }
    if body.get("data").is_some() {
        relay.announce(
            &after,
            &channel,
            "channel.updated",
            Some(&user),
            json!({ "channel": channel_json }),
        );
    }
    let members: Vec<Value> = relay
        .db()
        .members(&channel.cid)
        .await?
        .iter()
        .map(|m| relay.member_json(&channel.created_by, m))
        .collect();
    Ok(Json(
        json!({ "channel": channel_json, "members": members, "duration": "0.00ms" }),
    ))
}

/// Attachments, mentions and custom fields of a message input, as stored in `extra`.
fn message_extra(input: &Map<String, Value>) -> Result<String, StreamError> {
    let mut extra = Map::new();
    if let Some(attachments) = input.get("attachments") {
        if !attachments.is_array() && !attachments.is_null() {
            return Err(StreamError::input("attachments must be an array"));
        }
        if attachments.as_array().is_some_and(|a| !a.is_empty()) {
            extra.insert("attachments".into(), attachments.clone());
        }
    }
    if let Some(mentioned) = input.get("mentioned_users") {
        let ids = ids_of(Some(mentioned))?;
        if !ids.is_empty() {
            extra.insert("mentioned_users".into(), json!(ids));
        }
    }
    if let Some(silent) = input.get("silent").and_then(Value::as_bool) {
        extra.insert("silent".into(), json!(silent));
    }
    let custom: Map<String, Value> = input
        .iter()
        .filter(|(k, _)| !MESSAGE_FIELDS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !custom.is_empty() {
        extra.insert("custom".into(), Value::Object(custom));
    }
    Ok(Value::Object(extra).to_string())
}

fn checked_text(input: &Map<String, Value>) -> Result<String, StreamError> {
    let text = match input.get("text") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(StreamError::input("message.text must be a string")),
    };
    let length = text.chars().count();
    if length > MAX_MESSAGE_LENGTH {
        return Err(StreamError::input(format!(
            "message is too long: {length} characters, the limit is {MAX_MESSAGE_LENGTH}"
        )));
    }
    Ok(text)
}

async fn send_message(
    State(relay): State<Arc<Relay>>,
    StreamUser(user): StreamUser,
    Path((kind, id)): Path<(String, String)>,
    Body(body): Body,
) -> Answer {
    let (channel, members) = relay.member_channel(&kind, &id, &user).await?;
    let input = body
        .get("message")
        .and_then(Value::as_object)
        .ok_or_else(|| StreamError::input("the body must have a `message` object"))?;
    let text = checked_text(input)?;
    let message_id = match input.get("id").and_then(Value::as_str) {
        Some(given) if valid_message_id(given) => given.to_owned(),
        Some(_) => {
            return Err(StreamError::input(
                "message.id is 1 to 255 of a-z, A-Z, 0-9, @, _, -, . and :",
            ))
        }
        None => uuid::Uuid::new_v4().to_string(),
    };
    let parent_id = input
        .get("parent_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(parent) = &parent_id {
        let found = relay.db().message(parent).await?;
        if !matches!(found, Some(p) if p.cid == channel.cid) {
            return Err(StreamError::input(format!(
                "parent message {parent} is not in this channel"
            )));
        }
    }
    let quoted = input
        .get("quoted_message_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let now = now_ms();
    let row = MessageRow {
        id: message_id,
        cid: channel.cid.clone(),
        seq: 0,
        user_id: user.clone(),
        text,
        parent_id,
        show_in_channel: i64::from(
            input
                .get("show_in_channel")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        ),
        quoted_message_id: quoted,
        extra: message_extra(input)?,
        created_at: now,
        updated_at: now,
        text_updated_at: None,
        deleted_at: None,
        reply_count: 0,
    };
    match relay.db().insert_message(&row).await {
        Ok(_) => {}
        Err(InsertError::Duplicate) => {
            return Err(StreamError::input(format!(
                "a message with ID {} already exists",
                row.id
            )))
        }
        Err(InsertError::Database(e)) => return Err(e.into()),
    }
    let message = relay.stored_message(&row.id).await?;
    let channel = relay.db().channel(&channel.cid).await?.unwrap_or(channel);
    let new = relay
        .event(
            &channel,
            "message.new",
            Some(&user),
            json!({ "message": message }),
        )
        .to_string();
    let notification = relay
        .event(
            &channel,
            "notification.message_new",
            Some(&user),
            json!({ "message": message, "channel": relay.channel_json(&channel, members.len()) }),
        )
        .to_string();
    relay.hub.send(&members, Some(&channel.cid), |watching| {
        Some(if watching {
            new.clone()
        } else {
            notification.clone()
        })
    });
    if let Some(parent) = &row.parent_id {
        if let Some(parent_row) = relay.db().message(parent).await? {
            let parent_json = relay.message_one(parent_row).await?;
            relay.announce(
                &members,
                &channel,
                "message.updated",
                Some(&user),
                json!({ "message": parent_json }),
            );
        }
    }
    Ok(Json(json!({ "message": message, "duration": "0.00ms" })))
}

async fn get_message(
    State(relay): State<Arc<Relay>>,
    StreamUser(user): StreamUser,
    Path(id): Path<String>,
) -> Answer {
    let (message, _, _) = relay.member_message(&id, &user).await?;
    let message = relay.message_one(message).await?;
    Ok(Json(json!({ "message": message, "duration": "0.00ms" })))
}

async fn update_message(
    State(relay): State<Arc<Relay>>,
    StreamUser(user): StreamUser,
    Path(id): Path<String>,
    Body(body): Body,
) -> Answer {
    let (message, channel, members) = relay.member_message(&id, &user).await?;
    if message.user_id != user {
        return Err(StreamError::forbidden("only the author may edit a message"));
    }
    if message.deleted_at.is_some() {
        return Err(StreamError::input("a deleted message cannot be edited"));
    }
    let input = body
        .get("message")
        .and_then(Value::as_object)
        .ok_or_else(|| StreamError::input("the body must have a `message` object"))?;
    let text = checked_text(input)?;
    let quoted = input.get("quoted_message_id").and_then(Value::as_str);
    relay
        .db()
        .update_message(&id, &text, quoted, &message_extra(input)?, now_ms())
        .await?;
    let message = relay.stored_message(&id).await?;
    relay.announce(
        &members,
        &channel,
        "message.updated",
        Some(&user),
        json!({ "message": message }),
    );
    Ok(Json(json!({ "message": message, "duration": "0.00ms" })))
}

#[derive(Deserialize)]
struct DeleteParams {
    hard: Option<bool>,
}

async fn delete_message(
    State(relay): State<Arc<Relay>>,
    StreamUser(user): StreamUser,
    Path(id): Path<String>,
    Query(params): Query<DeleteParams>,
) -> Answer {
    let (message, channel, members) = relay.member_message(&id, &user).await?;
    if message.user_id != user {
        return Err(StreamError::forbidden(
            "only the author may delete a message",
        ));
    }
    let hard = params.hard.unwrap_or(false);
    relay.db().delete_message(&id, hard, now_ms()).await?;
    let answer = match relay.db().message(&id).await? {
        Some(row) => relay.message_one(row).await?,
        None => {
            let mut gone = message;
            gone.text = String::new();
            gone.extra = "{}".into();
            gone.deleted_at = Some(now_ms());
            relay.message_json(&gone, None)
        }
    };
    relay.announce(
        &members,
        &channel,
        "message.deleted",
        Some(&user),
        json!({ "message": answer, "hard_delete": hard }),
    );
    Ok(Json(json!({ "message": answer, "duration": "0.00ms" })))
}

#[derive(Deserialize)]
struct RepliesParams {
    limit: Option<i64>,
    id_lt: Option<String>,
    id_gt: Option<String>,
    id_lte: Option<String>,
    id_gte: Option<String>,
}

async fn get_replies(
    State(relay): State<Arc<Relay>>,
    StreamUser(user): StreamUser,
    Path(id): Path<String>,
    Query(params): Query<RepliesParams>,
) -> Answer {
    relay.member_message(&id, &user).await?;
    let options = json!({
        "limit": params.limit.unwrap_or(25),
        "id_lt": params.id_lt, "id_gt": params.id_gt,
        "id_lte": params.id_lte, "id_gte": params.id_gte,
    });
    let options: Map<String, Value> = options
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let page = page_of(&relay, Some(&Value::Object(options)), 25).await?;
    let rows = relay.db().replies(&id, page).await?;
    let messages = relay.messages_json(&rows).await?;
    Ok(Json(json!({ "messages": messages, "duration": "0.00ms" })))
}

async fn mark_read(
    State(relay): State<Arc<Relay>>,
    StreamUser(user): StreamUser,
    Path((kind, id)): Path<(String, String)>,
    Body(body): Body,
) -> Answer {
    let (channel, members) = relay.member_channel(&kind, &id, &user).await?;
    let last = match body.get("message_id").and_then(Value::as_str) {
        Some(id) => Some(id.to_owned()),
        None => relay
            .db()
            .messages(&channel.cid, Page::Latest(1))
            .await?
            .pop()
            .map(|m| m.id),
    };
    relay
        .db()
        .mark_read(&channel.cid, &user, last.as_deref(), now_ms())
        .await?;
    let event = relay.announce(
        &members,
        &channel,
        "message.read",
        Some(&user),
        json!({ "last_read_message_id": last }),
    );
    Ok(Json(json!({ "event": event, "duration": "0.00ms" })))
}

async fn mark_all_read(State(relay): State<Arc<Relay>>, StreamUser(user): StreamUser) -> Answer {
    let now = now_ms();
    for channel in relay.db().channels_of(&user).await? {
        relay.db().mark_read(&channel.cid, &user, None, now).await?;
    }
    Ok(Json(json!({ "duration": "0.00ms" })))
}

async fn send_event(
    State(relay): State<Arc<Relay>>,
    StreamUser(user): StreamUser,
    Path((kind, id)): Path<(String, String)>,
    Body(body): Body,
) -> Answer {
    let (channel, members) = relay.member_channel(&kind, &id, &user).await?;
    let given = body
        .get("event")
        .and_then(Value::as_object)
        .ok_or_else(|| StreamError::input("the body must have an `event` object"))?;
    let kind = given
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| StreamError::input("event.type is required"))?;
    if kind.starts_with("message.")
        || kind.starts_with("notification.")
        || kind.starts_with("member.")
        || kind.starts_with("channel.")
    {
        return Err(StreamError::input(format!(
            "{kind} is sent by the server, not by clients"
        )));
    }
    let mut extra = given.clone();
    for reserved in [
        "type",
        "user",
        "cid",
        "channel_id",
        "channel_type",
        "created_at",
    ] {
        extra.remove(reserved);
    }
    let event = relay.announce(&members, &channel, kind, Some(&user), Value::Object(extra));
    Ok(Json(json!({ "event": event, "duration": "0.00ms" })))
}

async fn stop_watching(
    State(relay): State<Arc<Relay>>,
    StreamUser(user): StreamUser,
    Path((kind, id)): Path<(String, String)>,
    Query(conn): Query<ConnectionParams>,
) -> Answer {
    let (channel, _) = relay.member_channel(&kind, &id, &user).await?;
    if relay
        .hub
        .unwatch(conn.connection_id.as_deref(), &user, &channel.cid)
    {
        relay.watching_changed(&user, &channel.cid, false).await;
    }
    Ok(Json(json!({ "duration": "0.00ms" })))
}

#[derive(Deserialize)]
struct DraftParams {
    parent_id: Option<String>,
}

fn draft_json(cid: &str, parent: &str, message: &str, at: i64) -> Value {
    let message: Value = serde_json::from_str(message).unwrap_or(Value::Null);
    let mut draft = json!({ "channel_cid": cid, "created_at": iso(at), "message": message });
    if !parent.is_empty() {
        set(&mut draft, "parent_id", json!(parent));
    }
    draft
}

async fn put_draft(
    State(relay): State<Arc<Relay>>,
    StreamUser(user): StreamUser,
    Path((kind, id)): Path<(String, String)>,
    Body(body): Body,
) -> Answer {
    let (channel, _) = relay.member_channel(&kind, &id, &user).await?;
    let mut message = body
        .get("message")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| StreamError::input("the body must have a `message` object"))?;
    checked_text(&message)?;
    message
        .entry("id")
        .or_insert_with(|| json!(uuid::Uuid::new_v4().to_string()));
    let parent = message
        .get("parent_id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let text = Value::Object(message).to_string();
    let now = now_ms();
    relay
        .db()
        .put_draft(&channel.cid, &user, &parent, &text, now)
        .await?;
    Ok(Json(
        json!({ "draft": draft_json(&channel.cid, &parent, &text, now), "duration": "0.00ms" }),
    ))
}

async fn get_draft(
    State(relay): State<Arc<Relay>>,
    StreamUser(user): StreamUser,
    Path((kind, id)): Path<(String, String)>,
    Query(params): Query<DraftParams>,
) -> Answer {
    let (channel, _) = relay.member_channel(&kind, &id, &user).await?;
    let parent = params.parent_id.unwrap_or_default();
    let found = relay
        .db()
        .drafts(&channel.cid, &user, Some(&parent))
        .await?
        .pop()
        .ok_or_else(|| StreamError::not_found("no draft"))?;
    Ok(Json(
        json!({ "draft": draft_json(&channel.cid, &found.0, &found.1, found.2), "duration": "0.00ms" }),
    ))
}

async fn delete_draft(
    State(relay): State<Arc<Relay>>,
    StreamUser(user): StreamUser,
    Path((kind, id)): Path<(String, String)>,
    Query(params): Query<DraftParams>,
) -> Answer {
    let (channel, _) = relay.member_channel(&kind, &id, &user).await?;
    relay
        .db()
        .delete_draft(&channel.cid, &user, &params.parent_id.unwrap_or_default())
        .await?;
    Ok(Json(json!({ "duration": "0.00ms" })))
}

/// Room in an upload's body, beyond the file, for the multipart framing and the other parts
/// (stream-chat adds `user`, the uploader as JSON).
const UPLOAD_SLACK: u64 = 64 * 1024;

/// `POST` (upload) and `DELETE` (remove) of `/channels/{type}/{id}/file` and `/image`; the
/// uploads get a body limit of their own instead of the server's 64 KiB.
fn upload_routes(relay: &Relay) -> axum::routing::MethodRouter<Arc<Relay>> {
    let post_upload = post(upload);
    let post_upload = match relay.uploads() {
        Some(uploads) => {
            let limit = uploads.limit().saturating_add(UPLOAD_SLACK);
            post_upload.layer(DefaultBodyLimit::max(
                usize::try_from(limit).unwrap_or(usize::MAX),
            ))
        }
        None => post_upload,
    };
    post_upload.delete(delete_upload)
}

/// Stores the `file` part of a multipart upload, as Stream's CDN would, and answers
/// `{"file": URL}`. The bytes go to a temporary file as they arrive (never all in memory),
/// which becomes the upload only once the whole body has been read.
async fn upload(
    State(relay): State<Arc<Relay>>,
    StreamUser(user): StreamUser,
    Path((kind, id)): Path<(String, String)>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Answer {
    let started = std::time::Instant::now();
    let (channel, _) = relay.member_channel(&kind, &id, &user).await?;
    let uploads = relay
        .uploads()
        .ok_or_else(|| StreamError::input("this demo chat relay does not accept uploads"))?;
    let mut multipart = multipart.map_err(|_| {
        StreamError::input("send the upload as multipart/form-data, in a part named `file`")
    })?;
    let mut received = None;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_refusal(&e, uploads))?
    {
        // Other parts (stream-chat's `user`) and any second `file` are skipped.
        if received.is_none() && field.name() == Some("file") {
            received = Some(receive_file(uploads, &mut field).await?);
        }
    }
    let (temp, size) =
        received.ok_or_else(|| StreamError::input("the upload has no part named `file`"))?;
    let name = temp
        .keep(uploads)
        .await
        .map_err(|e| StreamError::storage(&e))?;
    let size = i64::try_from(size).unwrap_or(i64::MAX);
    let recorded = relay
        .db()
        .insert_upload(&name, &channel.cid, &user, size, now_ms())
        .await;
    if let Err(e) = recorded {
        if let Err(removed) = tokio::fs::remove_file(uploads.path(&name)).await {
            tracing::warn!(cause = %removed, "relay: cannot remove an unrecorded upload");
        }
        return Err(e.into());
    }
    Ok(Json(json!({
        "file": upload_url(&headers, &name),
        "duration": format!("{}ms", started.elapsed().as_millis()),
    })))
}

/// Writes a `file` part to a new temporary file; refused past the limit (the temporary file
/// is removed when the returned guard, or the error, drops it).
async fn receive_file(
    uploads: &Uploads,
    field: &mut axum::extract::multipart::Field<'_>,
) -> Result<(uploads::Temp, u64), StreamError> {
    let (mut file, temp) = uploads.temp().await.map_err(|e| StreamError::storage(&e))?;
    let mut size: u64 = 0;
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| multipart_refusal(&e, uploads))?
    {
        size = size.saturating_add(u64::try_from(chunk.len()).unwrap_or(u64::MAX));
        if size > uploads.limit() {
            drop(file);
            drop(temp);
            // Read the rest of the part (at most the route's body limit, discarded) so the
            // client, still sending, reads the 413 rather than a reset connection.
            while let Ok(Some(_)) = field.chunk().await {}
            return Err(StreamError::too_large(uploads.limit()));
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| StreamError::storage(&e))?;
    }
    file.sync_all()
        .await
        .map_err(|e| StreamError::storage(&e))?;
    Ok((temp, size))
}

fn multipart_refusal(
    err: &axum::extract::multipart::MultipartError,
    uploads: &Uploads,
) -> StreamError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        StreamError::too_large(uploads.limit())
    } else {
        StreamError::input(format!("cannot read the upload: {}", err.body_text()))
    }
}

/// The URL of an upload: absolute on the host the request reached (as the client must
/// fetch it from there), relative when the request named no usable host.
fn upload_url(headers: &HeaderMap, name: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.contains('@')
                && h.parse::<axum::http::uri::Authority>()
                    .is_ok_and(|a| a.as_str() == *h)
        });
    match host {
        Some(host) => format!("http://{host}/uploads/{name}"),
        None => format!("/uploads/{name}"),
    }
}

#[derive(Deserialize)]
struct UrlParams {
    url: Option<String>,
}

/// Stream's "delete file/image": removes an upload of this channel. An unknown URL, or one
/// of another channel, is answered the same way and removes nothing.
async fn delete_upload(
    State(relay): State<Arc<Relay>>,
    StreamUser(user): StreamUser,
    Path((kind, id)): Path<(String, String)>,
    Query(params): Query<UrlParams>,
) -> Answer {
    let (channel, _) = relay.member_channel(&kind, &id, &user).await?;
    let url = params
        .url
        .ok_or_else(|| StreamError::input("url is required"))?;
    if let (Some(uploads), Some(name)) = (relay.uploads(), uploads::name_in_url(&url)) {
        let owner = relay.db().upload_channel(name).await?;
        if owner.as_deref() == Some(channel.cid.as_str()) {
            match tokio::fs::remove_file(uploads.path(name)).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StreamError::storage(&e)),
            }
            relay.db().delete_upload(name, &channel.cid).await?;
        }
    }
    Ok(Json(json!({ "duration": "0ms" })))
}

/// `GET /uploads/{name}`: the stored bytes, streamed from disk, as a download. No token:
/// see the module's documentation.
async fn download(
    State(relay): State<Arc<Relay>>,
    name: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    use tower::ServiceExt;
    let not_found = || StreamError::not_found("no such upload").into_response();
    let (Some(uploads), Ok(Path(name))) = (relay.uploads(), name) else {
        return not_found();
    };
    if !uploads::valid_name(&name) {
        return not_found();
    }
    let served = tower_http::services::ServeFile::new(uploads.path(&name))
        .oneshot(request)
        .await;
    let mut response = match served {
        Ok(response) => response.map(HttpBody::new),
        Err(never) => match never {},
    };
    if response.status() == StatusCode::NOT_FOUND {
        return not_found();
    }
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "application/octet-stream"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (
            header::CACHE_CONTROL,
            "private, max-age=31536000, immutable",
        ),
        (header::CONTENT_DISPOSITION, "attachment"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[derive(Deserialize)]
struct PayloadParams {
    payload: Option<String>,
}

async fn query_users(
    State(relay): State<Arc<Relay>>,
    StreamUser(_): StreamUser,
    Query(params): Query<PayloadParams>,
) -> Answer {
    let payload: Value = match params.payload.as_deref() {
        Some(p) => serde_json::from_str(p)
            .map_err(|e| StreamError::input(format!("payload is not JSON: {e}")))?,
        None => Value::Null,
    };
    let filter = payload
        .get("filter_conditions")
        .cloned()
        .unwrap_or(Value::Null);
    let limit = payload
        .get("limit")
        .and_then(Value::as_u64)
        .unwrap_or(30)
        .min(100) as usize;
    let offset = payload.get("offset").and_then(Value::as_u64).unwrap_or(0) as usize;
    let mut users: Vec<(String, String)> = relay
        .users
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .map(|(id, name)| (id.clone(), name.clone()))
        .collect();
    users.sort();
    let mut found = Vec::new();
    for (id, name) in &users {
        let lookup = |field: &str| -> Option<Option<Field<'_>>> {
            Some(match field {
                "id" => Some(Field::One(id.as_str())),
                "name" => Some(Field::One(name.as_str())),
                "role" => Some(Field::One("user")),
                _ => return None,
            })
        };
        let empty = filter.is_null() || filter.as_object().is_some_and(Map::is_empty);
        if empty || filter::matches(&filter, &lookup)? {
            found.push(relay.user_json(id));
        }
    }
    let users: Vec<Value> = found.into_iter().skip(offset).take(limit).collect();
    Ok(Json(json!({ "users": users, "duration": "0.00ms" })))
}

#[derive(Deserialize)]
struct OgParams {
    url: Option<String>,
}

/// A link preview without the page: the relay never fetches what it is asked to.
async fn og(StreamUser(_): StreamUser, Query(params): Query<OgParams>) -> Answer {
    let url = params
        .url
        .ok_or_else(|| StreamError::input("url is required"))?;
    Ok(Json(json!({ "og_scrape_url": url, "duration": "0.00ms" })))
}

/// The largest file clients are told they may pick (stream-chat checks it before
/// uploading): the upload limit less 1/11 for encryption overhead, so 100 MiB of the
/// default 110 MiB.
fn file_size_limit(upload_limit: u64) -> u64 {
    upload_limit - upload_limit / 11
}

async fn app_settings(State(relay): State<Arc<Relay>>, StreamUser(_): StreamUser) -> Answer {
    let mut config = json!({
        "allowed_file_extensions": [],
        "blocked_file_extensions": [],
        "allowed_mime_types": [],
        "blocked_mime_types": [],
    });
    if let Some(uploads) = relay.uploads() {
        set(
            &mut config,
            "size_limit",
            json!(file_size_limit(uploads.limit())),
        );
    }
    Ok(Json(json!({
        "app": {
            "name": "chatseal demo relay",
            "file_upload_config": config,
            "image_upload_config": config,
        },
        "duration": "0.00ms",
    })))
}
