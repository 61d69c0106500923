//! The relay's tables, beside the directory's in the same database. Portable SQL (SQLite
//! and PostgreSQL), created on first use by `chatseal-relay` only: the directory alone never has
//! them. Times are unix milliseconds.

use sqlx::{AnyPool, FromRow};

use chatseal_server::store::Store;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS relay_users (
        id          TEXT   NOT NULL PRIMARY KEY,
        name        TEXT   NOT NULL,
        created_at  BIGINT NOT NULL,
        last_active BIGINT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS relay_channels (
        cid             TEXT   NOT NULL PRIMARY KEY,
        kind            TEXT   NOT NULL,
        id              TEXT   NOT NULL,
        data            TEXT   NOT NULL,
        created_by      TEXT   NOT NULL,
        created_at      BIGINT NOT NULL,
        updated_at      BIGINT NOT NULL,
        last_message_at BIGINT
    )",
    "CREATE TABLE IF NOT EXISTS relay_members (
        cid                  TEXT   NOT NULL,
        user_id              TEXT   NOT NULL,
        created_at           BIGINT NOT NULL,
        last_read            BIGINT,
        last_read_message_id TEXT,
        PRIMARY KEY (cid, user_id)
    )",
    "CREATE INDEX IF NOT EXISTS relay_members_by_user ON relay_members (user_id)",
    // `text` is exactly what the client sent: with chatseal, `csm1.` ciphertext.
    "CREATE TABLE IF NOT EXISTS relay_messages (
        id                TEXT   NOT NULL PRIMARY KEY,
        cid               TEXT   NOT NULL,
        seq               BIGINT NOT NULL,
        user_id           TEXT   NOT NULL,
        text              TEXT   NOT NULL,
        parent_id         TEXT,
        show_in_channel   BIGINT NOT NULL DEFAULT 0,
        quoted_message_id TEXT,
        extra             TEXT   NOT NULL,
        created_at        BIGINT NOT NULL,
        updated_at        BIGINT NOT NULL,
        text_updated_at   BIGINT,
        deleted_at        BIGINT
    )",
    "CREATE UNIQUE INDEX IF NOT EXISTS relay_messages_order ON relay_messages (cid, seq)",
    "CREATE INDEX IF NOT EXISTS relay_messages_by_parent ON relay_messages (parent_id)",
    "CREATE TABLE IF NOT EXISTS relay_drafts (
        cid        TEXT   NOT NULL,
        user_id    TEXT   NOT NULL,
        parent_id  TEXT   NOT NULL,
        message    TEXT   NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (cid, user_id, parent_id)
    )",
    // One row per stored upload: `name` is its file in the uploads folder (32 hex digits),
    // `cid` the channel it was uploaded to, `user_id` who uploaded it. The bytes are
    // whatever the client sent: with chatseal, ciphertext.
    "CREATE TABLE IF NOT EXISTS relay_uploads (
        name       TEXT   NOT NULL PRIMARY KEY,
        cid        TEXT   NOT NULL,
        user_id    TEXT   NOT NULL,
        size       BIGINT NOT NULL,
        created_at BIGINT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS relay_uploads_by_channel ON relay_uploads (cid)",
];

/// A channel as stored.
#[derive(Debug, Clone, FromRow)]
pub struct ChannelRow {
    pub cid: String,
    pub kind: String,
    pub id: String,
    /// Custom data (`name`, …) as a JSON object.
    pub data: String,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_message_at: Option<i64>,
}

/// A channel membership with its read state.
#[derive(Debug, Clone, FromRow)]
pub struct MemberRow {
    pub user_id: String,
    pub created_at: i64,
    pub last_read: Option<i64>,
    pub last_read_message_id: Option<String>,
}

/// A message as stored, with its reply count.
#[derive(Debug, Clone, FromRow)]
pub struct MessageRow {
    pub id: String,
    pub cid: String,
    pub seq: i64,
    pub user_id: String,
    pub text: String,
    pub parent_id: Option<String>,
    pub show_in_channel: i64,
    pub quoted_message_id: Option<String>,
    /// Attachments, mentions and custom fields, as a JSON object.
    pub extra: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub text_updated_at: Option<i64>,
    pub deleted_at: Option<i64>,
    pub reply_count: i64,
}

/// Which slice of a message list to read.
#[derive(Debug, Clone, Copy)]
pub enum Page {
    /// The newest `limit`.
    Latest(i64),
    /// The newest `limit` older than (`inclusive`: or at) `seq`.
    Before {
        seq: i64,
        inclusive: bool,
        limit: i64,
    },
    /// The oldest `limit` newer than (`inclusive`: or at) `seq`.
    After {
        seq: i64,
        inclusive: bool,
        limit: i64,
    },
}

const MESSAGE_COLUMNS: &str = "m.id, m.cid, m.seq, m.user_id, m.text, m.parent_id, \
    m.show_in_channel, m.quoted_message_id, m.extra, m.created_at, m.updated_at, \
    m.text_updated_at, m.deleted_at, \
    (SELECT COUNT(*) FROM relay_messages r WHERE r.parent_id = m.id AND r.deleted_at IS NULL) AS reply_count";

/// Why a message was not inserted.
#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    /// A message with this id exists.
    #[error("a message with this id already exists")]
    Duplicate,
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The relay's view of the store.
pub struct Db<'a>(pub &'a Store);

impl Db<'_> {
    fn pool(&self) -> &AnyPool {
        self.0.pool()
    }

    /// Creates the relay's tables if they are missing.
    pub async fn init(&self) -> Result<(), sqlx::Error> {
        let _turn = self.0.write_turn().await;
        for statement in SCHEMA {
            sqlx::query(statement).execute(self.pool()).await?;
        }
        Ok(())
    }

    pub async fn users(&self) -> Result<Vec<(String, String)>, sqlx::Error> {
        sqlx::query_as("SELECT id, name FROM relay_users")
            .fetch_all(self.pool())
            .await
    }

    pub async fn upsert_user(&self, id: &str, name: &str, now: i64) -> Result<(), sqlx::Error> {
        let _turn = self.0.write_turn().await;
        sqlx::query(
            "INSERT INTO relay_users (id, name, created_at, last_active) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, last_active = excluded.last_active",
        )
        .bind(id)
        .bind(name)
        .bind(now)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn channel(&self, cid: &str) -> Result<Option<ChannelRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT cid, kind, id, data, created_by, created_at, updated_at, last_message_at \
             FROM relay_channels WHERE cid = $1",
        )
        .bind(cid)
        .fetch_optional(self.pool())
        .await
    }

    /// The channels `user` is a member of.
    pub async fn channels_of(&self, user: &str) -> Result<Vec<ChannelRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT c.cid, c.kind, c.id, c.data, c.created_by, c.created_at, c.updated_at, \
                    c.last_message_at \
             FROM relay_channels c JOIN relay_members mb ON mb.cid = c.cid \
             WHERE mb.user_id = $1",
        )
        .bind(user)
        .fetch_all(self.pool())
        .await
    }

    /// Creates the channel with `members` unless it exists; true when it created it.
    pub async fn create_channel(
        &self,
        channel: &ChannelRow,
        members: &[String],
    ) -> Result<bool, sqlx::Error> {
        let _turn = self.0.write_turn().await;
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "INSERT INTO relay_channels (cid, kind, id, data, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (cid) DO NOTHING",
        )
        .bind(channel.cid.as_str())
        .bind(channel.kind.as_str())
        .bind(channel.id.as_str())
        .bind(channel.data.as_str())
        .bind(channel.created_by.as_str())
        .bind(channel.created_at)
        .bind(channel.updated_at)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        for user in members {
            insert_member(&mut tx, &channel.cid, user, channel.created_at).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    pub async fn update_channel_data(
        &self,
        cid: &str,
        data: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let _turn = self.0.write_turn().await;
        sqlx::query("UPDATE relay_channels SET data = $1, updated_at = $2 WHERE cid = $3")
            .bind(data)
            .bind(now)
            .bind(cid)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn members(&self, cid: &str) -> Result<Vec<MemberRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT user_id, created_at, last_read, last_read_message_id \
             FROM relay_members WHERE cid = $1 ORDER BY created_at, user_id",
        )
        .bind(cid)
        .fetch_all(self.pool())
        .await
    }

    /// Adds `users`; returns those who were not members yet.
    pub async fn add_members(
        &self,
        cid: &str,
        users: &[String],
        now: i64,
    ) -> Result<Vec<String>, sqlx::Error> {
        let _turn = self.0.write_turn().await;
        let mut tx = self.pool().begin().await?;
        let mut added = Vec::new();
        for user in users {
            if insert_member(&mut tx, cid, user, now).await? {
                added.push(user.clone());
            }
        }
        tx.commit().await?;
        Ok(added)
    }

    /// Removes `users`; returns those who were members.
    pub async fn remove_members(
        &self,
        cid: &str,
        users: &[String],
    ) -> Result<Vec<String>, sqlx::Error> {
        let _turn = self.0.write_turn().await;
        let mut tx = self.pool().begin().await?;
        let mut removed = Vec::new();
        for user in users {
            let done = sqlx::query("DELETE FROM relay_members WHERE cid = $1 AND user_id = $2")
                .bind(cid)
                .bind(user.as_str())
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() > 0 {
                removed.push(user.clone());
            }
        }
        tx.commit().await?;
        Ok(removed)
    }

    /// A page of the channel's messages (thread replies only where shown in the channel),
    /// oldest first.
    pub async fn messages(&self, cid: &str, page: Page) -> Result<Vec<MessageRow>, sqlx::Error> {
        self.page(
            "m.cid = $1 AND (m.parent_id IS NULL OR m.show_in_channel = 1)",
            cid,
            page,
        )
        .await
    }

    /// A page of every message of the channel, replies and deleted ones included.
    pub async fn page_all(&self, cid: &str, page: Page) -> Result<Vec<MessageRow>, sqlx::Error> {
        self.page("m.cid = $1", cid, page).await
    }

    /// A page of the replies to `parent`, oldest first.
    pub async fn replies(&self, parent: &str, page: Page) -> Result<Vec<MessageRow>, sqlx::Error> {
        self.page("m.parent_id = $1", parent, page).await
    }

    async fn page(
        &self,
        condition: &str,
        key: &str,
        page: Page,
    ) -> Result<Vec<MessageRow>, sqlx::Error> {
        let (bound, order, limit, seq) = match page {
            Page::Latest(limit) => ("", "DESC", limit, None),
            Page::Before {
                seq,
                inclusive,
                limit,
            } => (
                if inclusive {
                    " AND m.seq <= $2"
                } else {
                    " AND m.seq < $2"
                },
                "DESC",
                limit,
                Some(seq),
            ),
            Page::After {
                seq,
                inclusive,
                limit,
            } => (
                if inclusive {
                    " AND m.seq >= $2"
                } else {
                    " AND m.seq > $2"
                },
                "ASC",
                limit,
                Some(seq),
            ),
        };
        let limit_param = if seq.is_some() { "$3" } else { "$2" };
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM relay_messages m WHERE {condition}{bound} \
             ORDER BY m.seq {order} LIMIT {limit_param}"
        );
        let mut query = sqlx::query_as::<_, MessageRow>(&sql).bind(key);
        if let Some(seq) = seq {
            query = query.bind(seq);
        }
        let mut rows = query.bind(limit).fetch_all(self.pool()).await?;
        if order == "DESC" {
            rows.reverse();
        }
        Ok(rows)
    }

    pub async fn message(&self, id: &str) -> Result<Option<MessageRow>, sqlx::Error> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM relay_messages m WHERE m.id = $1");
        sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await
    }

    /// Stores a new message at the end of its channel; returns its `seq`.
    pub async fn insert_message(&self, m: &MessageRow) -> Result<i64, InsertError> {
        let _turn = self.0.write_turn().await;
        // PostgreSQL: two servers may pick the same seq; the unique index refuses the
        // second, which tries again.
        for _ in 0..5 {
            let mut tx = self.pool().begin().await?;
            let exists: Option<(String,)> =
                sqlx::query_as("SELECT id FROM relay_messages WHERE id = $1")
                    .bind(m.id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
            if exists.is_some() {
                return Err(InsertError::Duplicate);
            }
            let (seq,): (i64,) = sqlx::query_as(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM relay_messages WHERE cid = $1",
            )
            .bind(m.cid.as_str())
            .fetch_one(&mut *tx)
            .await?;
            let inserted = sqlx::query(
                "INSERT INTO relay_messages (id, cid, seq, user_id, text, parent_id, \
                    show_in_channel, quoted_message_id, extra, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(m.id.as_str())
            .bind(m.cid.as_str())
            .bind(seq)
            .bind(m.user_id.as_str())
            .bind(m.text.as_str())
            .bind(m.parent_id.as_deref())
            .bind(m.show_in_channel)
            .bind(m.quoted_message_id.as_deref())
            .bind(m.extra.as_str())
            .bind(m.created_at)
            .bind(m.updated_at)
            .execute(&mut *tx)
            .await;
            match inserted {
                Ok(_) => {}
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => continue,
                Err(e) => return Err(e.into()),
            }
            if m.parent_id.is_none() || m.show_in_channel != 0 {
                sqlx::query(
                    "UPDATE relay_channels SET last_message_at = $1, updated_at = $2 WHERE cid = $3",
                )
                .bind(m.created_at)
                .bind(m.created_at)
                .bind(m.cid.as_str())
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            return Ok(seq);
        }
        Err(InsertError::Database(sqlx::Error::Protocol(
            "could not find a free place in the channel's message order".into(),
        )))
    }

    /// Replaces the text and the extra fields of a message.
    pub async fn update_message(
        &self,
        id: &str,
        text: &str,
        quoted_message_id: Option<&str>,
        extra: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let _turn = self.0.write_turn().await;
        sqlx::query(
            "UPDATE relay_messages SET text = $1, quoted_message_id = $2, extra = $3, \
                updated_at = $4, text_updated_at = $5 WHERE id = $6",
        )
        .bind(text)
        .bind(quoted_message_id)
        .bind(extra)
        .bind(now)
        .bind(now)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Marks a message deleted and forgets its text and attachments (`hard`: removes it).
    pub async fn delete_message(&self, id: &str, hard: bool, now: i64) -> Result<(), sqlx::Error> {
        let _turn = self.0.write_turn().await;
        let query = if hard {
            sqlx::query("DELETE FROM relay_messages WHERE id = $1").bind(id)
        } else {
            sqlx::query(
                "UPDATE relay_messages SET text = '', extra = '{}', deleted_at = $1, \
                    updated_at = $2 WHERE id = $3",
            )
            .bind(now)
            .bind(now)
            .bind(id)
        };
        query.execute(self.pool()).await?;
        Ok(())
    }

    pub async fn mark_read(
        &self,
        cid: &str,
        user: &str,
        message_id: Option<&str>,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let _turn = self.0.write_turn().await;
        sqlx::query(
            "UPDATE relay_members SET last_read = $1, last_read_message_id = $2 \
             WHERE cid = $3 AND user_id = $4",
        )
        .bind(now)
        .bind(message_id)
        .bind(cid)
        .bind(user)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Messages of others in `cid` since `since` (all of them when never read).
    pub async fn unread(
        &self,
        cid: &str,
        user: &str,
        since: Option<i64>,
    ) -> Result<i64, sqlx::Error> {
        let (count,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM relay_messages WHERE cid = $1 AND user_id <> $2 \
             AND deleted_at IS NULL AND (parent_id IS NULL OR show_in_channel = 1) \
             AND created_at > $3",
        )
        .bind(cid)
        .bind(user)
        .bind(since.unwrap_or(0))
        .fetch_one(self.pool())
        .await?;
        Ok(count)
    }

    pub async fn put_draft(
        &self,
        cid: &str,
        user: &str,
        parent_id: &str,
        message: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let _turn = self.0.write_turn().await;
        sqlx::query(
            "INSERT INTO relay_drafts (cid, user_id, parent_id, message, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (cid, user_id, parent_id) \
             DO UPDATE SET message = excluded.message, created_at = excluded.created_at",
        )
        .bind(cid)
        .bind(user)
        .bind(parent_id)
        .bind(message)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The user's drafts in `cid` (one `parent_id`, or all of them): (parent_id, message, at).
    pub async fn drafts(
        &self,
        cid: &str,
        user: &str,
        parent_id: Option<&str>,
    ) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
        let mut sql = String::from(
            "SELECT parent_id, message, created_at FROM relay_drafts WHERE cid = $1 AND user_id = $2",
        );
        if parent_id.is_some() {
            sql.push_str(" AND parent_id = $3");
        }
        sql.push_str(" ORDER BY created_at");
        let mut query = sqlx::query_as(&sql).bind(cid).bind(user);
        if let Some(parent) = parent_id {
            query = query.bind(parent);
        }
        query.fetch_all(self.pool()).await
    }

    /// Every draft kept in `cid`: (user_id, parent_id, message).
    pub async fn drafts_in(&self, cid: &str) -> Result<Vec<(String, String, String)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT user_id, parent_id, message FROM relay_drafts WHERE cid = $1 ORDER BY created_at",
        )
        .bind(cid)
        .fetch_all(self.pool())
        .await
    }

    pub async fn delete_draft(
        &self,
        cid: &str,
        user: &str,
        parent_id: &str,
    ) -> Result<(), sqlx::Error> {
        let _turn = self.0.write_turn().await;
        sqlx::query("DELETE FROM relay_drafts WHERE cid = $1 AND user_id = $2 AND parent_id = $3")
            .bind(cid)
            .bind(user)
            .bind(parent_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Records the stored upload `name` of `cid`, by `user`, of `size` bytes.
    pub async fn insert_upload(
        &self,
        name: &str,
        cid: &str,
        user: &str,
        size: i64,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let _turn = self.0.write_turn().await;
        sqlx::query(
            "INSERT INTO relay_uploads (name, cid, user_id, size, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(name)
        .bind(cid)
        .bind(user)
        .bind(size)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The channel the upload `name` belongs to, if it is recorded.
    pub async fn upload_channel(&self, name: &str) -> Result<Option<String>, sqlx::Error> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT cid FROM relay_uploads WHERE name = $1")
                .bind(name)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|(cid,)| cid))
    }

    /// Forgets the upload `name` of `cid`; true when there was one.
    pub async fn delete_upload(&self, name: &str, cid: &str) -> Result<bool, sqlx::Error> {
        let _turn = self.0.write_turn().await;
        let done = sqlx::query("DELETE FROM relay_uploads WHERE name = $1 AND cid = $2")
            .bind(name)
            .bind(cid)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

async fn insert_member(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    cid: &str,
    user: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO relay_members (cid, user_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (cid, user_id) DO NOTHING",
    )
    .bind(cid)
    .bind(user)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}
