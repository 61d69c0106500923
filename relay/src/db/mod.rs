//! The relay's tables, beside the directory's in the same database. Portable SQL (SQLite
//! and PostgreSQL), created on first use by `chatseal-relay` only: the directory alone never has
//! them. Times are unix milliseconds.

use sqlx::AnyPool;

use chatseal_server::store::Store;

// The tables by what they hold; `Db`'s methods are spread over them.
mod channels;
mod messages;
mod uploads;

pub use channels::{ChannelRow, MemberRow};
pub use messages::{InsertError, MessageRow, Page};

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
    // `text` is exactly what the client sent: with chatseal, `csp2.`, `csm2.` or `csg2.` ciphertext.
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
}
