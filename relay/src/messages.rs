//! Messages: send, read, update and delete messages and thread replies; drafts.

use super::*;

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

pub(crate) async fn send_message(
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

pub(crate) async fn get_message(
    State(relay): State<Arc<Relay>>,
    StreamUser(user): StreamUser,
    Path(id): Path<String>,
) -> Answer {
    let (message, _, _) = relay.member_message(&id, &user).await?;
    let message = relay.message_one(message).await?;
    Ok(Json(json!({ "message": message, "duration": "0.00ms" })))
}

pub(crate) async fn update_message(
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
pub(crate) struct DeleteParams {
    hard: Option<bool>,
}

pub(crate) async fn delete_message(
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
pub(crate) struct RepliesParams {
    limit: Option<i64>,
    id_lt: Option<String>,
    id_gt: Option<String>,
    id_lte: Option<String>,
    id_gte: Option<String>,
}

pub(crate) async fn get_replies(
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

#[derive(Deserialize)]
pub(crate) struct DraftParams {
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

pub(crate) async fn put_draft(
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

pub(crate) async fn get_draft(
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

pub(crate) async fn delete_draft(
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
