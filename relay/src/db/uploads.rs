//! Uploads: which channel each stored file belongs to.

use super::Db;

impl Db<'_> {
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
