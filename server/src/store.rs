//! Storage: one set of portable SQL statements over `sqlx::Any`, for SQLite (the
//! embedded default) and PostgreSQL (several servers on one database).
//!
//! Durability: a handler answers 2xx only after its transaction has committed. SQLite
//! runs in WAL mode with `synchronous=FULL`, so a commit is on disk when it returns;
//! PostgreSQL's default `synchronous_commit=on` gives the same. The `kill -9` tests in
//! `tests/directory.rs` and `tests/faults/kill_9_mid_burst.rs` check it for both.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use tokio::sync::Mutex;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Which database is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite (`sqlite://PATH`).
    Sqlite,
    /// PostgreSQL (`postgres://…`).
    Postgres,
}

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The URL names neither `sqlite:` nor `postgres:`.
    #[error("--db must be sqlite://PATH or postgres://USER@HOST/DB, not {0:?}")]
    Scheme(String),
    /// The database refused the connection or the migrations.
    #[error("cannot open the database: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A card row of an identity's history.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    /// The card, text form.
    pub card: String,
    /// Its id, hex.
    pub card_id: String,
    /// When the directory accepted it (unix seconds).
    pub published_at: i64,
    /// Published with `?replace=true` over a current card it did not chain to.
    pub replaced: bool,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
    /// The card lookups answer with.
    pub current: bool,
}

/// What publishing a card did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// Stored as the new current card.
    Created,
    /// The same card was already current (an idempotent retry).
    AlreadyCurrent,
    /// Refused (409 `Conflict`): the card starts a new chain (`prev_flag = 0`) while a
    /// current card exists, and `replace` was not asked for (`current` is its id).
    NotChained {
        /// The id of the current card.
        current: String,
    },
    /// Refused (409 `not_current`): the card is a rotation whose `prev_card_id` is not
    /// the identity's current card (an older card, another identity's card, or none,
    /// when the identity has no current card). `current` is the current card's id.
    NotCurrent {
        /// The id of the current card, if there is one.
        current: Option<String>,
    },
    /// Refused (400 `bad_rotation`): the card names the current card but does not link
    /// to it (PROTOCOL §2: `created_at` older, or a `rotation_sig` that fails).
    BadRotation(chatseal::proto::Error),
    /// Refused: this very card (its `card_id`) is in the history but is not current, or
    /// another card with this `card_id` is current.
    Republished,
}

/// A card to publish, already verified by `chatseal::proto`.
#[derive(Debug, Clone)]
pub struct NewCard<'a> {
    /// The decoded card (self-signature checked).
    pub card: &'a chatseal::proto::Card,
    /// The text form, as the client sent it.
    pub text: &'a str,
}

/// A group-session share to store (PROTOCOL §7 `POST /v2/shares`), already checked.
#[derive(Debug, Clone)]
pub struct NewShare<'a> {
    /// The identity that may read it.
    pub recipient: &'a str,
    /// The session it is for, 32 lowercase hex digits.
    pub session_id: &'a str,
    /// The `csp2.` text (PROTOCOL §11).
    pub share: &'a str,
    /// Lowercase hex SHA-256 of `share`.
    pub share_hash: String,
}

/// A stored share as the `after` feed answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredShare {
    /// Its id: the feed's cursor.
    pub id: i64,
    /// The session it is for.
    pub session_id: String,
    /// The `csp2.` text (PROTOCOL §11).
    pub share: String,
}

/// What storing a passkey backup did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyPut {
    /// Stored as the identity's backup for a credential it had none for.
    Created,
    /// Replaced the identity's earlier backup for this credential.
    Replaced,
    /// Refused: the identity already keeps [`MAX_PASSKEY_BACKUPS`] passkey backups.
    TooMany,
}

/// What storing a device-link offer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPut {
    /// Stored, to be read once.
    Created,
    /// Refused: this link id (of any identity) was used within [`LINK_TTL`]: its offer
    /// is waiting, or was read.
    Taken,
    /// Refused: the identity already has [`MAX_PENDING_LINKS`] unexpired offers waiting.
    TooMany,
}

/// How long a request waits for a database connection before it is answered 500
/// `Internal`. While PostgreSQL is unreachable, a request keeps trying to connect for
/// this long (a refused connection is retried with backoff): an outage shorter than this
/// only delays requests, and during a longer one they fail after this wait.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The most shares one read answers with.
pub const SHARES_PAGE: i64 = 100;
/// The most passkey backups one identity may keep (PROTOCOL §4.1: one per credential).
pub const MAX_PASSKEY_BACKUPS: i64 = 16;
/// How long a device-link offer is kept, in seconds (PROTOCOL §7, §13: 5 minutes).
pub const LINK_TTL: i64 = 300;
/// The most unexpired offers one identity may have waiting to be read.
pub const MAX_PENDING_LINKS: i64 = 8;
/// Rows per INSERT statement when storing shares (7 parameters each; SQLite allows
/// 32,766 parameters a statement, PostgreSQL 65,535).
const SHARES_PER_INSERT: usize = 100;

/// The directory's database.
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer at a time; taking turns here avoids `SQLITE_BUSY` on
    /// transactions that read before they write. PostgreSQL needs no such lock.
    write_lock: Option<Mutex<()>>,
}

impl Store {
    /// Opens (creating if needed) the database at `url` and runs the migrations.
    pub async fn open(url: &str) -> Result<Store, OpenError> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if let Some(rest) = url.strip_prefix("sqlite:") {
            // Create the file when missing unless the URL says otherwise.
            let url = if rest.contains("mode=") {
                url.to_owned()
            } else if rest.contains('?') {
                format!("{url}&mode=rwc")
            } else {
                format!("{url}?mode=rwc")
            };
            (Backend::Sqlite, url)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            (Backend::Postgres, url.to_owned())
        } else {
            return Err(OpenError::Scheme(url.to_owned()));
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A pooled connection is checked before use, so one that PostgreSQL closed
            // (restart, `pg_terminate_backend`, failover) is replaced, not handed to a
            // request (the default, stated because recovery without a restart needs it;
            // `tests/faults/postgres_outage.rs` checks it).
            .test_before_acquire(true)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Store {
            pool,
            backend,
            write_lock: (backend == Backend::Sqlite).then(|| Mutex::new(())),
        })
    }

    /// The database kind.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection (graceful shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// True when the database answers.
    pub async fn healthy(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// The connection pool, for tables of a program built on the directory (the demo's
    /// chat relay, `chatseal-relay`, keeps its `relay_*` tables here). Write through
    /// [`Store::write_turn`].
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Waits for this server's turn to write (SQLite); `None` on PostgreSQL. Hold it
    /// across every write to [`Store::pool`].
    pub async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.write_lock {
            Some(lock) => Some(lock.lock().await),
            None => None,
        }
    }

    /// Publishes `card` as the identity's current card under PROTOCOL §2's rule: a
    /// rotation (`prev_flag = 1`) must link to the current card; a new chain over a
    /// current card needs `replace` and is recorded (`replaced`). The check and the
    /// write are one transaction, and the write is conditional on the card that was
    /// checked still being current, so of two concurrent rotations of one card exactly
    /// one wins; the other gets [`Published::NotCurrent`].
    pub async fn publish(
        &self,
        new: &NewCard<'_>,
        replace: bool,
        now: i64,
    ) -> Result<Published, sqlx::Error> {
        let card = new.card;
        let identity = card.identity();
        let card_id = card.id().to_string();
        let prev_card_id = card.prev_card_id().map(|id| id.to_string());
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await?;
        let current: Option<(String, String)> = sqlx::query_as(
            "SELECT card_id, card FROM cards WHERE identity = $1 AND is_current = 1",
        )
        .bind(identity)
        .fetch_optional(&mut *tx)
        .await?;
        let replaced = match (&current, &prev_card_id) {
            (Some((id, text)), _) if *id == card_id => {
                // card_id names card_tbs only: the same id with other signatures is
                // another card, not a retry.
                return Ok(if text == new.text {
                    Published::AlreadyCurrent
                } else {
                    Published::Republished
                });
            }
            // A rotation: it must link to the current card, whatever `replace` says.
            (None, Some(_)) => return Ok(Published::NotCurrent { current: None }),
            (Some((id, _)), Some(prev)) if id != prev => {
                return Ok(Published::NotCurrent {
                    current: Some(id.clone()),
                })
            }
            (Some((_, text)), Some(_)) => {
                // The stored card was checked when it was published; a row that no
                // longer parses (v1 text, say) cannot be linked to.
                let linked = chatseal::proto::Card::parse(text).and_then(|p| card.links_to(&p));
                if let Err(e) = linked {
                    return Ok(Published::BadRotation(e));
                }
                false
            }
            // A new chain.
            (None, None) => false,
            (Some((id, _)), None) => {
                if !replace {
                    return Ok(Published::NotChained {
                        current: id.clone(),
                    });
                }
                true
            }
        };
        let seen: Option<(i64,)> = sqlx::query_as("SELECT seq FROM cards WHERE card_id = $1")
            .bind(card_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if seen.is_some() {
            return Ok(Published::Republished);
        }
        if let Some((current_id, _)) = &current {
            // Conditional on the card checked above: if another server rotated in between
            // (PostgreSQL, READ COMMITTED: this waits for its commit, then matches
            // nothing), this one loses.
            let done = sqlx::query(
                "UPDATE cards SET is_current = 0 WHERE card_id = $1 AND is_current = 1",
            )
            .bind(current_id.as_str())
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                drop(tx);
                return self.lost_race(identity, prev_card_id.is_some()).await;
            }
        }
        let result = sqlx::query(
            "INSERT INTO cards (identity, seq, card_id, card, published_at, replaced, is_current) \
             VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM cards WHERE identity = $2), \
                     $3, $4, $5, $6, 1)",
        )
        .bind(identity)
        .bind(identity)
        .bind(card_id.as_str())
        .bind(new.text)
        .bind(now)
        .bind(i64::from(replaced))
        .execute(&mut *tx)
        .await;
        match result {
            Ok(_) => {}
            // Another server (PostgreSQL) published for this identity at the same moment:
            // the loser answers as if it had seen the winner's card first.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                drop(tx);
                return self.lost_race(identity, prev_card_id.is_some()).await;
            }
            Err(e) => return Err(e),
        }
        tx.commit().await?;
        Ok(Published::Created)
    }

    /// Another publish for the same identity committed first: answer as if its card had
    /// been current all along.
    async fn lost_race(&self, identity: &str, rotation: bool) -> Result<Published, sqlx::Error> {
        let current = self.current_card_id(identity).await?;
        Ok(if rotation {
            Published::NotCurrent { current }
        } else {
            Published::NotChained {
                current: current.unwrap_or_default(),
            }
        })
    }

    async fn current_card_id(&self, identity: &str) -> Result<Option<String>, sqlx::Error> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT card_id FROM cards WHERE identity = $1 AND is_current = 1")
                .bind(identity)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(id,)| id))
    }

    /// The current cards of `identities` (at most a few hundred), as (identity, text).
    pub async fn lookup(
        &self,
        identities: &[String],
    ) -> Result<Vec<(String, String)>, sqlx::Error> {
        if identities.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=identities.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT identity, card FROM cards WHERE is_current = 1 AND identity IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query_as::<_, (String, String)>(&sql);
        for identity in identities {
            query = query.bind(identity.as_str());
        }
        query.fetch_all(&self.pool).await
    }

    /// Every card the identity has published, oldest first.
    pub async fn history(&self, identity: &str) -> Result<Vec<HistoryEntry>, sqlx::Error> {
        let rows: Vec<(String, String, i64, i64, Option<i64>, i64)> = sqlx::query_as(
            "SELECT card, card_id, published_at, replaced, revoked_at, is_current \
             FROM cards WHERE identity = $1 ORDER BY seq",
        )
        .bind(identity)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(card, card_id, published_at, replaced, revoked_at, current)| HistoryEntry {
                    card,
                    card_id,
                    published_at,
                    replaced: replaced != 0,
                    revoked_at,
                    current: current != 0,
                },
            )
            .collect())
    }

    /// The card with this id (lowercase hex), current or not.
    pub async fn card_by_id(&self, card_id: &str) -> Result<Option<String>, sqlx::Error> {
        let row: Option<(String,)> = sqlx::query_as("SELECT card FROM cards WHERE card_id = $1")
            .bind(card_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(card,)| card))
    }

    /// Revokes the identity's current card; returns its id, or `None` if there was none.
    pub async fn revoke(&self, identity: &str, now: i64) -> Result<Option<String>, sqlx::Error> {
        let _turn = self.write_turn().await;
        // One statement, so a concurrent rotation cannot slip in between read and write.
        let revoked: Option<(String,)> = sqlx::query_as(
            "UPDATE cards SET is_current = 0, revoked_at = $1 \
             WHERE identity = $2 AND is_current = 1 RETURNING card_id",
        )
        .bind(now)
        .bind(identity)
        .fetch_optional(&self.pool)
        .await?;
        Ok(revoked.map(|(id,)| id))
    }

    /// Stores (replaces) the identity's backup; true when it created one.
    pub async fn put_backup(
        &self,
        identity: &str,
        backup: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await?;
        let existed: Option<(i64,)> =
            sqlx::query_as("SELECT updated_at FROM backups WHERE identity = $1")
                .bind(identity)
                .fetch_optional(&mut *tx)
                .await?;
        sqlx::query(
            "INSERT INTO backups (identity, backup, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (identity) DO UPDATE SET backup = excluded.backup, updated_at = excluded.updated_at",
        )
        .bind(identity)
        .bind(backup)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(existed.is_none())
    }

    /// The identity's backup, if any.
    pub async fn get_backup(&self, identity: &str) -> Result<Option<String>, sqlx::Error> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT backup FROM backups WHERE identity = $1")
                .bind(identity)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(b,)| b))
    }

    /// Deletes the identity's backup; true when there was one.
    pub async fn delete_backup(&self, identity: &str) -> Result<bool, sqlx::Error> {
        let _turn = self.write_turn().await;
        let done = sqlx::query("DELETE FROM backups WHERE identity = $1")
            .bind(identity)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The identity's passkey backups (PROTOCOL §4.1), by `created_at`, then credential id.
    pub async fn passkey_backups(&self, identity: &str) -> Result<Vec<String>, sqlx::Error> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT backup FROM passkey_backups WHERE identity = $1 \
             ORDER BY created_at, credential_id",
        )
        .bind(identity)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(b,)| b).collect())
    }

    /// Stores (replaces) the identity's passkey backup for `credential_id`, unless that
    /// would make more than [`MAX_PASSKEY_BACKUPS`]. A replacement keeps its `created_at`,
    /// hence its place in [`Store::passkey_backups`].
    pub async fn put_passkey_backup(
        &self,
        identity: &str,
        credential_id: &[u8],
        backup: &str,
        now: i64,
    ) -> Result<PasskeyPut, sqlx::Error> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await?;
        let replaced = sqlx::query(
            "UPDATE passkey_backups SET backup = $1, updated_at = $2 \
             WHERE identity = $3 AND credential_id = $4",
        )
        .bind(backup)
        .bind(now)
        .bind(identity)
        .bind(credential_id)
        .execute(&mut *tx)
        .await?;
        if replaced.rows_affected() > 0 {
            tx.commit().await?;
            return Ok(PasskeyPut::Replaced);
        }
        let (count,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM passkey_backups WHERE identity = $1")
                .bind(identity)
                .fetch_one(&mut *tx)
                .await?;
        if count >= MAX_PASSKEY_BACKUPS {
            return Ok(PasskeyPut::TooMany);
        }
        // Another server (PostgreSQL) may have stored this credential's first backup in
        // between: then this one replaces it.
        sqlx::query(
            "INSERT INTO passkey_backups (identity, credential_id, backup, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (identity, credential_id) \
             DO UPDATE SET backup = excluded.backup, updated_at = excluded.updated_at",
        )
        .bind(identity)
        .bind(credential_id)
        .bind(backup)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(PasskeyPut::Created)
    }

    /// Deletes the identity's passkey backup for `credential_id`; true when there was one.
    pub async fn delete_passkey_backup(
        &self,
        identity: &str,
        credential_id: &[u8],
    ) -> Result<bool, sqlx::Error> {
        let _turn = self.write_turn().await;
        let done =
            sqlx::query("DELETE FROM passkey_backups WHERE identity = $1 AND credential_id = $2")
                .bind(identity)
                .bind(credential_id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Stores a device-link offer (PROTOCOL §13) under `link_id` for `identity`, first
    /// deleting every offer older than [`LINK_TTL`] at `now`.
    pub async fn put_link(
        &self,
        link_id: &[u8],
        identity: &str,
        offer: &str,
        now: i64,
    ) -> Result<LinkPut, sqlx::Error> {
        let cutoff = now.saturating_sub(LINK_TTL);
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM links WHERE created_at < $1")
            .bind(cutoff)
            .execute(&mut *tx)
            .await?;
        let taken: Option<(i64,)> =
            sqlx::query_as("SELECT created_at FROM links WHERE link_id = $1")
                .bind(link_id)
                .fetch_optional(&mut *tx)
                .await?;
        let outcome = if taken.is_some() {
            LinkPut::Taken
        } else {
            let (pending,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM links WHERE identity = $1 AND created_at >= $2 \
                 AND offer <> ''",
            )
            .bind(identity)
            .bind(cutoff)
            .fetch_one(&mut *tx)
            .await?;
            if pending >= MAX_PENDING_LINKS {
                LinkPut::TooMany
            } else {
                // DO NOTHING: another server (PostgreSQL) may have taken the id in between.
                let done = sqlx::query(
                    "INSERT INTO links (link_id, identity, offer, created_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (link_id) DO NOTHING",
                )
                .bind(link_id)
                .bind(identity)
                .bind(offer)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 1 {
                    LinkPut::Created
                } else {
                    LinkPut::Taken
                }
            }
        };
        // Also when refused: the purge above stands.
        tx.commit().await?;
        Ok(outcome)
    }

    /// Reads the offer under `link_id` if `identity` stored it at most [`LINK_TTL`] before
    /// `now`, and empties it: an offer is read at most once, and a read by another
    /// identity, or too late, takes nothing. The emptied row stays until it expires, so
    /// that the link id cannot be used again meanwhile ([`LinkPut::Taken`]): a replayed
    /// offer is refused, not handed to a device that already linked.
    pub async fn take_link(
        &self,
        link_id: &[u8],
        identity: &str,
        now: i64,
    ) -> Result<Option<String>, sqlx::Error> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await?;
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT offer FROM links WHERE link_id = $1 AND identity = $2 AND created_at >= $3 \
             AND offer <> ''",
        )
        .bind(link_id)
        .bind(identity)
        .bind(now.saturating_sub(LINK_TTL))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((offer,)) = row else {
            return Ok(None);
        };
        // Compare and set: of two readers at once (PostgreSQL), one empties it.
        let done = sqlx::query("UPDATE links SET offer = '' WHERE link_id = $1 AND offer <> ''")
            .bind(link_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((done.rows_affected() == 1).then_some(offer))
    }

    /// Stores `shares` from `sender` in one transaction; the same share for the same
    /// recipient is stored once (also within `shares`). Returns how many rows are new.
    pub async fn put_shares(
        &self,
        sender: &str,
        shares: &[NewShare<'_>],
        now: i64,
    ) -> Result<u64, sqlx::Error> {
        let mut seen = std::collections::HashSet::with_capacity(shares.len());
        let unique: Vec<&NewShare<'_>> = shares
            .iter()
            .filter(|s| seen.insert((s.recipient, s.share_hash.as_str())))
            .collect();
        if unique.is_empty() {
            return Ok(0);
        }
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await?;
        // Takes the ids and locks the counter row until commit (see the migration).
        let (last,): (i64,) =
            sqlx::query_as("UPDATE share_ids SET last_id = last_id + $1 RETURNING last_id")
                .bind(unique.len() as i64)
                .fetch_one(&mut *tx)
                .await?;
        let mut next_id = last - unique.len() as i64 + 1;
        let mut stored = 0;
        for chunk in unique.chunks(SHARES_PER_INSERT) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|r| {
                    let p = r * 7;
                    format!(
                        "(${}, ${}, ${}, ${}, ${}, ${}, ${})",
                        p + 1,
                        p + 2,
                        p + 3,
                        p + 4,
                        p + 5,
                        p + 6,
                        p + 7
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO shares (id, recipient, sender, session_id, share, share_hash, created_at) \
                 VALUES {} ON CONFLICT (recipient, share_hash) DO NOTHING",
                rows.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for share in chunk {
                query = query
                    .bind(next_id)
                    .bind(share.recipient)
                    .bind(sender)
                    .bind(share.session_id)
                    .bind(share.share)
                    .bind(share.share_hash.as_str())
                    .bind(now);
                next_id += 1;
            }
            stored += query.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(stored)
    }

    /// The identity a card (by lowercase hex id) belongs to, current or not.
    pub async fn card_identity(&self, card_id: &str) -> Result<Option<String>, sqlx::Error> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT identity FROM cards WHERE card_id = $1")
                .bind(card_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(identity,)| identity))
    }

    /// The shares addressed to `recipient` for `session_id`, oldest first, at most
    /// [`SHARES_PAGE`].
    pub async fn session_shares(
        &self,
        recipient: &str,
        session_id: &str,
    ) -> Result<Vec<String>, sqlx::Error> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT share FROM shares WHERE recipient = $1 AND session_id = $2 \
             ORDER BY id LIMIT $3",
        )
        .bind(recipient)
        .bind(session_id)
        .bind(SHARES_PAGE)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(share,)| share).collect())
    }

    /// The shares addressed to `recipient` with an id above `after`, oldest first, at
    /// most [`SHARES_PAGE`].
    pub async fn shares_after(
        &self,
        recipient: &str,
        after: i64,
    ) -> Result<Vec<StoredShare>, sqlx::Error> {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT id, session_id, share FROM shares WHERE recipient = $1 AND id > $2 \
             ORDER BY id LIMIT $3",
        )
        .bind(recipient)
        .bind(after)
        .bind(SHARES_PAGE)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, session_id, share)| StoredShare {
                id,
                session_id,
                share,
            })
            .collect())
    }

    /// Deletes the shares stored more than `retention_days` days before `now` (unix
    /// seconds); returns how many. `--share-retention-days` runs it hourly.
    pub async fn expire_shares(&self, now: i64, retention_days: u32) -> Result<u64, sqlx::Error> {
        let cutoff = now.saturating_sub(i64::from(retention_days) * 86_400);
        let _turn = self.write_turn().await;
        let done = sqlx::query("DELETE FROM shares WHERE created_at < $1")
            .bind(cutoff)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
