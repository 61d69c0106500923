//! Rows as Stream's JSON: users, messages (with what they quote), members, channels and a channel's state.

use super::*;

/// Fields of a message input the relay keeps in columns or computes itself.
pub(crate) const MESSAGE_FIELDS: &[&str] = &[
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

impl Relay {
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

    fn name_of(&self, id: &str) -> String {
        self.users
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_owned())
    }

    pub(crate) fn user_json(&self, id: &str) -> Value {
        json!({
            "id": id,
            "name": self.name_of(id),
            "role": "user",
            "banned": false,
            "online": self.hub.online(id),
        })
    }

    pub(crate) fn message_json(&self, m: &MessageRow, quoted: Option<&MessageRow>) -> Value {
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
    pub(crate) async fn message_one(&self, row: MessageRow) -> Result<Value, sqlx::Error> {
        let mut one = self.messages_json(std::slice::from_ref(&row)).await?;
        Ok(one.pop().unwrap_or(Value::Null))
    }

    /// The message `id` as stored now (after the write that made or changed it), as JSON.
    pub(crate) async fn stored_message(&self, id: &str) -> Result<Value, StreamError> {
        let row = self
            .db()
            .message(id)
            .await?
            .ok_or_else(|| StreamError::not_found("the message vanished"))?;
        Ok(self.message_one(row).await?)
    }

    /// Messages as JSON, with the messages they quote.
    pub(crate) async fn messages_json(
        &self,
        rows: &[MessageRow],
    ) -> Result<Vec<Value>, sqlx::Error> {
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

    pub(crate) fn member_json(&self, cid_owner: &str, m: &MemberRow) -> Value {
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

    pub(crate) fn channel_json(&self, c: &ChannelRow, member_count: usize) -> Value {
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
    pub(crate) async fn channel_state(
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
}
