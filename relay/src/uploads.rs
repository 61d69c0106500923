//! Where the relay keeps uploaded files: one folder, one file per upload, named by 16
//! random bytes in lowercase hex. The relay never reads what it stores: with chatseal the
//! client uploads only ciphertext. A file is written under a temporary name (starting with
//! `.`, so never a valid upload name) and renamed once complete, so a reader never sees a
//! partial upload.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The default largest upload, in bytes: 110 MiB, so a 100 MiB file plus its encryption
/// overhead fits.
pub const DEFAULT_LIMIT: u64 = 110 * 1024 * 1024;
/// Temporary files of unfinished uploads begin with this.
const TEMP_PREFIX: &str = ".upload-";
/// Temporary files older than this are left-overs of a crash, removed at start.
const STALE: Duration = Duration::from_secs(24 * 3600);

/// The folder uploads are stored in and the largest upload accepted.
#[derive(Debug, Clone)]
pub struct Uploads {
    dir: PathBuf,
    limit: u64,
}

/// Why the uploads folder cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum UploadsError {
    /// The folder could not be created.
    #[error("cannot create the uploads folder {}: {source}", dir.display())]
    Create {
        /// The folder.
        dir: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A file could not be written in the folder.
    #[error("cannot write in the uploads folder {}: {source}", dir.display())]
    Write {
        /// The folder.
        dir: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The limit is zero.
    #[error("the upload limit must be at least 1 byte")]
    ZeroLimit,
}

impl Uploads {
    /// Uploads in `dir` (created if missing, checked writable, cleared of stale temporary
    /// files), at most `limit` bytes each.
    pub fn open(dir: impl Into<PathBuf>, limit: u64) -> Result<Uploads, UploadsError> {
        let dir = dir.into();
        if limit == 0 {
            return Err(UploadsError::ZeroLimit);
        }
        std::fs::create_dir_all(&dir).map_err(|source| UploadsError::Create {
            dir: dir.clone(),
            source,
        })?;
        let probe = dir.join(temp_name());
        std::fs::write(&probe, b"")
            .and_then(|()| std::fs::remove_file(&probe))
            .map_err(|source| UploadsError::Write {
                dir: dir.clone(),
                source,
            })?;
        remove_stale(&dir);
        Ok(Uploads { dir, limit })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The largest upload accepted, in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Where the upload `name` is (`name` must be [`valid_name`]).
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A new temporary file for an upload in progress, removed when the returned guard is
    /// dropped before [`Temp::keep`] (a refused, failed or abandoned upload).
    pub(crate) async fn temp(&self) -> io::Result<(tokio::fs::File, Temp)> {
        let path = self.dir.join(temp_name());
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await?;
        Ok((file, Temp { path: Some(path) }))
    }
}

/// A temporary upload file, removed on drop unless kept.
pub(crate) struct Temp {
    path: Option<PathBuf>,
}

impl Temp {
    /// Renames the finished file to a new random upload name; returns the name.
    pub(crate) async fn keep(mut self, uploads: &Uploads) -> io::Result<String> {
        let Some(from) = self.path.as_ref() else {
            return Err(io::Error::other("the temporary upload is gone"));
        };
        let name = new_name();
        tokio::fs::rename(from, uploads.path(&name)).await?;
        self.path = None;
        Ok(name)
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            if let Err(e) = std::fs::remove_file(&path) {
                if e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(cause = %e, "relay: cannot remove an unfinished upload");
                }
            }
        }
    }
}

fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    hex::encode(bytes)
}

/// A fresh upload name: 16 random bytes, 32 lowercase hex digits.
fn new_name() -> String {
    random_hex()
}

fn temp_name() -> String {
    format!("{TEMP_PREFIX}{}", random_hex())
}

/// Whether `name` is an upload name: exactly 32 lowercase hex digits (so never a path).
pub fn valid_name(name: &str) -> bool {
    name.len() == 32 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The upload name in an upload URL as the relay hands them out (`…/uploads/NAME`,
/// absolute or not, with or without a query), if it is one.
pub fn name_in_url(url: &str) -> Option<&str> {
    let (_, rest) = url.rsplit_once("/uploads/")?;
    let name = rest.split(['?', '#']).next().unwrap_or(rest);
    valid_name(name).then_some(name)
}

/// Removes temporary files a crash left behind (older than a day, so that an upload in
/// progress on another server sharing the folder is not touched).
fn remove_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let is_temp = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(TEMP_PREFIX));
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|at| now.duration_since(at).ok())
            .is_some_and(|age| age > STALE);
        if is_temp && old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Where uploads go when `--uploads` is not given, for the database at `db_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefaultDir {
    /// Beside a SQLite database file, named after it (`chatseal.db` → `chatseal.db-uploads`,
    /// as SQLite names its `-wal` and `-shm` files).
    BesideDatabase(PathBuf),
    /// A fresh folder in the system's temporary folder (in-memory SQLite, PostgreSQL):
    /// the uploads last as long as the process.
    Temporary,
}

impl DefaultDir {
    /// The default for `db_url` (`sqlite://PATH`, `sqlite::memory:`, `postgres://…`).
    pub fn for_database(db_url: &str) -> DefaultDir {
        let Some(rest) = db_url
            .strip_prefix("sqlite://")
            .or_else(|| db_url.strip_prefix("sqlite:"))
        else {
            return DefaultDir::Temporary;
        };
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let in_memory =
            path.is_empty() || path == ":memory:" || query.split('&').any(|p| p == "mode=memory");
        if in_memory {
            return DefaultDir::Temporary;
        }
        DefaultDir::BesideDatabase(PathBuf::from(format!("{path}-uploads")))
    }

    /// A new, empty folder in the system's temporary folder.
    pub fn create_temporary() -> Result<PathBuf, UploadsError> {
        let dir = std::env::temp_dir().join(format!("chatseal-uploads-{}", random_hex()));
        std::fs::create_dir(&dir).map_err(|source| UploadsError::Create {
            dir: dir.clone(),
            source,
        })?;
        Ok(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_name("0123456789abcdef0123456789abcdef"));
        for bad in [
            "",
            "0123456789abcdef0123456789abcde",
            "0123456789abcdef0123456789abcdef0",
            "0123456789ABCDEF0123456789abcdef",
            "../23456789abcdef0123456789abcdef",
            ".upload-89abcdef0123456789abcdef",
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
        let name = new_name();
        assert!(valid_name(&name), "{name}");
        assert!(!valid_name(&temp_name()));
        assert_ne!(new_name(), new_name());
    }

    #[test]
    fn names_in_urls() {
        let name = "0123456789abcdef0123456789abcdef";
        for url in [
            format!("http://127.0.0.1:8787/uploads/{name}"),
            format!("/uploads/{name}"),
            format!("http://h/uploads/{name}?x=1"),
        ] {
            assert_eq!(name_in_url(&url), Some(name), "{url}");
        }
        for url in [
            "",
            "/uploads/",
            "/uploads/../etc/passwd",
            "http://h/other/x",
        ] {
            assert_eq!(name_in_url(url), None, "{url}");
        }
    }

    #[test]
    fn default_dirs() {
        let beside = |p: &str| DefaultDir::BesideDatabase(PathBuf::from(p));
        assert_eq!(
            DefaultDir::for_database("sqlite://chatseal.db"),
            beside("chatseal.db-uploads")
        );
        assert_eq!(
            DefaultDir::for_database("sqlite:///var/lib/c/x.db?mode=rwc"),
            beside("/var/lib/c/x.db-uploads")
        );
        for url in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite://shared?mode=memory&cache=shared",
            "postgres://u@h/db",
            "postgresql://u@h/db",
        ] {
            assert_eq!(
                DefaultDir::for_database(url),
                DefaultDir::Temporary,
                "{url}"
            );
        }
    }
}
