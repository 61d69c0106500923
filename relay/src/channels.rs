//! Channels: query (with filters, sort and pages), create or watch (distinct channels too), update members, mark read, typing and other events, stop watching.

use super::*;

pub(crate) fn ids_of(list: Option<&Value>) -> Result<Vec<String>, StreamError> {
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
pub(crate) async fn page_of(
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

pub(crate) async fn query_channels(
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

pub(crate) async fn query_distinct(
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

pub(crate) async fn query_channel(
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

pub(crate) async fn update_channel(
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

pub(crate) async fn mark_read(
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
    // As Stream does, the reader's own connections are also told how much is left unread
    // (stream-chat-react clears the channel list's badge on this, not on `message.read`).
    let mut counts = relay.unread_counts(&user).await?;
    set(&mut counts, "last_read_message_id", json!(last));
    set(
        &mut counts,
        "channel",
        relay.channel_json(&channel, members.len()),
    );
    relay.announce(
        std::slice::from_ref(&user),
        &channel,
        "notification.mark_read",
        Some(&user),
        counts,
    );
    Ok(Json(json!({ "event": event, "duration": "0.00ms" })))
}

pub(crate) async fn mark_all_read(
    State(relay): State<Arc<Relay>>,
    StreamUser(user): StreamUser,
) -> Answer {
    let now = now_ms();
    for channel in relay.db().channels_of(&user).await? {
        relay.db().mark_read(&channel.cid, &user, None, now).await?;
    }
    // Stream's `notification.mark_read` without a channel: every channel is read.
    let mut event = relay.unread_counts(&user).await?;
    set(&mut event, "type", json!("notification.mark_read"));
    set(&mut event, "user", relay.user_json(&user));
    set(&mut event, "created_at", json!(iso(now)));
    let text = event.to_string();
    relay
        .hub
        .send(std::slice::from_ref(&user), None, |_| Some(text.clone()));
    Ok(Json(json!({ "duration": "0.00ms" })))
}

pub(crate) async fn send_event(
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

pub(crate) async fn stop_watching(
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

impl Relay {
    /// The channel, if `user` is one of its members.
    pub(crate) async fn member_channel(
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

    /// What `user` has left unread across their channels, in the fields of Stream's
    /// `notification.mark_read` (`total_unread_count`, `unread_count`, `unread_channels`,
    /// and no threads: the relay keeps no per-thread read state).
    pub(crate) async fn unread_counts(&self, user: &str) -> Result<Value, sqlx::Error> {
        let (mut messages, mut channels) = (0_i64, 0_i64);
        for c in self.db().channels_of(user).await? {
            let members = self.db().members(&c.cid).await?;
            let Some(me) = members.iter().find(|m| m.user_id == user) else {
                continue;
            };
            let unread = self.db().unread(&c.cid, user, me.last_read).await?;
            messages += unread;
            channels += i64::from(unread > 0);
        }
        Ok(json!({
            "total_unread_count": messages,
            "unread_count": messages,
            "unread_channels": channels,
            "unread_threads": 0,
            "unread_thread_messages": 0,
        }))
    }

    pub(crate) async fn member_ids(&self, cid: &str) -> Result<Vec<String>, sqlx::Error> {
        Ok(self
            .db()
            .members(cid)
            .await?
            .into_iter()
            .map(|m| m.user_id)
            .collect())
    }

    /// A message of a channel `user` is a member of.
    pub(crate) async fn member_message(
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
