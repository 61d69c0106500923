//! The WebSocket at `/connect`: health checks, then the events of the channels a connection watches; who is online, and the fan-out of channel events to connections.

use super::*;

#[derive(Default)]
pub(crate) struct Hub {
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

    pub(crate) fn online(&self, user: &str) -> bool {
        self.lock().values().any(|c| c.user == user)
    }

    fn watches(connections: &HashMap<String, Connection>, user: &str, cid: &str) -> bool {
        connections
            .values()
            .any(|c| c.user == user && c.watching.contains(cid))
    }

    /// `user`'s connection starts watching `cid`; true when the user was not watching it
    /// through any connection before.
    pub(crate) fn watch(&self, connection_id: Option<&str>, user: &str, cid: &str) -> bool {
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
    pub(crate) fn unwatch(&self, connection_id: Option<&str>, user: &str, cid: &str) -> bool {
        let mut connections = self.lock();
        let removed = match connection_id.and_then(|id| connections.get_mut(id)) {
            Some(c) if c.user == user => c.watching.remove(cid),
            _ => false,
        };
        removed && !Self::watches(&connections, user, cid)
    }

    /// Closes a connection; returns the channels its user no longer watches at all.
    pub(crate) fn remove(&self, connection_id: &str) -> Vec<String> {
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
    pub(crate) fn watchers(&self, cid: &str) -> Vec<String> {
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
    pub(crate) fn send(
        &self,
        users: &[String],
        cid: Option<&str>,
        event: impl Fn(bool) -> Option<String>,
    ) {
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

#[derive(Deserialize)]
pub(crate) struct ConnectParams {
    json: Option<String>,
    api_key: Option<String>,
    authorization: Option<String>,
}

pub(crate) async fn connect(
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

impl Relay {
    /// `user`'s connection watches `cid` from now on (its events arrive as `message.new`
    /// rather than `notification.message_new`); the members hear of a new watcher.
    pub(crate) async fn start_watching(&self, connection_id: Option<&str>, user: &str, cid: &str) {
        if self.hub.watch(connection_id, user, cid) {
            self.watching_changed(user, cid, true).await;
        }
    }

    /// Tells the members of `cid` that `user` started or stopped watching it
    /// (`user.watching.start`/`stop`: stream-chat-react's "Online" in a 1:1 header).
    pub(crate) async fn watching_changed(&self, user: &str, cid: &str, start: bool) {
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

    pub(crate) fn event(
        &self,
        c: &ChannelRow,
        kind: &str,
        user: Option<&str>,
        extra: Value,
    ) -> Value {
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
    pub(crate) fn announce(
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
}
