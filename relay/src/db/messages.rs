//! Messages, their pages and replies, and composer drafts.

use sqlx::FromRow;

use super::Db;

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

impl Db<'_> {
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
}
