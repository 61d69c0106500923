//! Channels, their members and the members' read state.

use sqlx::FromRow;

use super::Db;

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

impl Db<'_> {
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
