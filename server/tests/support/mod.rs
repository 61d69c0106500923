//! Test support: a real `chatseal-server` (or `chatseal-relay`) process on loopback over a fresh SQLite file
//! or a fresh PostgreSQL database, and helpers to talk to it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use chatseal::proto::{Card, CardId, IdentityKeys, Rotation};
use chatseal_server::auth::{unix_now, AppSecret, AUDIENCE};
use rand_core::OsRng;
use serde_json::{json, Value};
use sqlx::Connection;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The binary the tests start: `chatseal-relay` in the relay crate's tests (which share
/// this harness), else `chatseal-server`.
pub const BIN: &str = match (
    option_env!("CARGO_BIN_EXE_chatseal-relay"),
    option_env!("CARGO_BIN_EXE_chatseal-server"),
) {
    (Some(bin), _) | (None, Some(bin)) => bin,
    (None, None) => panic!("the harness is for the chatseal-server and chatseal-relay tests"),
};
pub const KID: &str = "test-key";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database for one test, and a scratch folder removed with it (which
/// holds the SQLite file).
pub struct TestDb {
    pub url: String,
    dir: TempDir,
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let mut bytes = [0u8; 8];
        rand_core::RngCore::fill_bytes(&mut OsRng, &mut bytes);
        let path = std::env::temp_dir().join(format!("chatseal-test-{}", hex::encode(bytes)));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TestDb {
    /// A new database, or `None` (with the reason printed) when PostgreSQL is not available.
    pub async fn new(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let dir = TempDir::new();
                let url = format!("sqlite://{}", dir.0.join("directory.db").display());
                Some(TestDb { url, dir })
            }
            Backend::Postgres => {
                let Ok(admin) = std::env::var("CHATSEAL_TEST_POSTGRES") else {
                    let why = std::env::var("CHATSEAL_TEST_POSTGRES_SKIP").unwrap_or_else(|_| {
                        "CHATSEAL_TEST_POSTGRES is not set (run through server/tests/with-postgres.sh, as `make test` does)".into()
                    });
                    eprintln!("SKIPPED (PostgreSQL): {why}");
                    return None;
                };
                let mut bytes = [0u8; 6];
                rand_core::RngCore::fill_bytes(&mut OsRng, &mut bytes);
                let name = format!("chatseal_test_{}", hex::encode(bytes));
                let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let base = admin.rsplit_once('/').unwrap().0;
                Some(TestDb {
                    url: format!("{base}/{name}"),
                    dir: TempDir::new(),
                })
            }
        }
    }

    /// The test's scratch folder (beside the SQLite file, or alone for PostgreSQL).
    pub fn scratch(&self) -> &std::path::Path {
        &self.dir.0
    }
}

/// The app key every test server trusts, and a way to mint tokens with it.
pub struct App {
    pub secret: AppSecret,
}

impl App {
    pub fn new() -> Self {
        App {
            secret: AppSecret::generate(),
        }
    }

    pub fn app_key_arg(&self) -> String {
        format!("{KID}={}", self.secret.public_b64u())
    }

    /// A valid directory token for `sub`.
    pub fn token(&self, sub: &str) -> String {
        self.secret
            .directory_token(KID, "tests", sub, unix_now(), 3600)
            .unwrap()
    }

    /// A token with arbitrary claims, signed with the app key under `kid`.
    pub fn signed(&self, kid: &str, claims: &Value) -> String {
        self.secret.sign(kid, claims).unwrap()
    }

    /// The standard claims for `sub`, to be altered by a test.
    pub fn claims(sub: &str) -> Value {
        let now = unix_now();
        json!({"iss": "tests", "sub": sub, "aud": AUDIENCE, "iat": now, "exp": now + 600})
    }
}

/// A running server process.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub http: reqwest::Client,
    logs: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Server {
    /// Starts `chatseal-server serve` on a free port with `extra` arguments, and waits
    /// for its `listening on` line.
    pub async fn start(db: &str, app: &App, extra: &[&str]) -> Server {
        let mut args = vec![
            "serve".to_owned(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--db".into(),
            db.into(),
            "--app-key".into(),
            app.app_key_arg(),
        ];
        if !extra.iter().any(|a| a.starts_with("--rate")) {
            args.extend(["--rate-ip", "0", "--rate-identity", "0"].map(String::from));
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        Self::spawn(&args).await
    }

    /// Starts the binary with exactly `args`.
    pub async fn spawn(args: &[String]) -> Server {
        Self::spawn_with_env(args, &[]).await
    }

    /// Starts the binary with exactly `args` and these environment variables.
    pub async fn spawn_with_env(args: &[String], env: &[(&str, &str)]) -> Server {
        let mut command = Command::new(BIN);
        command.env_remove("CHATSEAL_APP_KEYS");
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start chatseal-server");
        let logs = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = logs.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut all = sink.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
        });
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("the server did not print its address within 60 s")
            .unwrap();
        let Some(line) = line else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            panic!(
                "the server exited before printing its address: {}",
                logs.lock().unwrap()
            );
        };
        let base = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Server {
            child,
            base,
            http: reqwest::Client::new(),
            logs,
        }
    }

    /// Everything the server has written to stderr (its logs) so far.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends `method path` with an optional bearer token and JSON body; returns the
    /// status and the JSON body (Null when empty).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method.parse().unwrap(), self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await.unwrap();
        read(resp).await
    }

    /// Sends a request that must be refused; returns its status and error code, having
    /// checked the §7 error shape.
    pub async fn refusal(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, &'static str) {
        let (status, body) = self.call(method, path, token, body).await;
        let code = error_code(status, &body);
        // Leaked so tests can compare with literals; a few bytes per test process.
        (status, Box::leak(code.into_boxed_str()))
    }

    /// Sends a raw body with the given content type.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method.parse().unwrap(), self.url(path))
            .body(body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        read(req.send().await.unwrap()).await
    }

    /// Kills the process with SIGKILL and waits for it.
    pub async fn kill9(mut self) {
        self.child.kill().await.unwrap();
    }

    /// Sends SIGTERM and waits up to 10 s for a clean exit; returns its success.
    pub async fn terminate(mut self) -> bool {
        let pid = self.child.id().unwrap();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .expect("no exit within 10 s of SIGTERM")
            .unwrap();
        exit.success()
    }
}

pub async fn read(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            panic!(
                "status {status}: body is not JSON: {:?}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    (status, body)
}

/// Asserts the §7 error shape and returns its code.
pub fn error_code(status: u16, body: &Value) -> String {
    assert!(
        (400..500).contains(&status),
        "expected a 4xx, got {status}: {body}"
    );
    let code = body["error"]["code"].as_str();
    let message = body["error"]["message"].as_str();
    assert!(
        code.is_some() && message.is_some_and(|m| !m.is_empty()),
        "not the error shape: {body}"
    );
    code.unwrap().to_owned()
}

/// A user: keys and the cards made from them.
pub struct User {
    pub identity: String,
    pub keys: IdentityKeys,
}

impl User {
    pub fn new(identity: &str) -> Self {
        User {
            identity: identity.to_owned(),
            keys: IdentityKeys::generate(&mut OsRng),
        }
    }

    /// A card of this user's keys; `prev` makes it a rotation from a card of these
    /// keys (signed by them, PROTOCOL §2).
    pub fn card(&self, prev: Option<CardId>) -> Card {
        rotated_card(&self.keys, &self.identity, prev.map(|id| (id, &self.keys)))
    }

    /// A card of fresh keys for this identity: a rotation (from a card of this user's
    /// keys, so `rotation_sig` is by them) or a new chain.
    pub fn new_card(&self, prev: Option<CardId>) -> Card {
        let keys = IdentityKeys::generate(&mut OsRng);
        rotated_card(&keys, &self.identity, prev.map(|id| (id, &self.keys)))
    }

    /// A rotation from `prev` by fresh keys, with `rotation_sig` by the fresh key too: it
    /// names `prev` but does not link to it (400 `bad_rotation`).
    pub fn forged_rotation(&self, prev: CardId) -> Card {
        let keys = IdentityKeys::generate(&mut OsRng);
        rotated_card(&keys, &self.identity, Some((prev, &keys)))
    }

    /// Rotates: a card of fresh keys linked to `prev` (a card of the current keys),
    /// after which the fresh keys are this user's.
    pub fn rotate(&mut self, prev: CardId) -> Card {
        let keys = IdentityKeys::generate(&mut OsRng);
        let card = rotated_card(&keys, &self.identity, Some((prev, &self.keys)));
        self.keys = keys;
        card
    }
}

/// A card of `keys` for `identity`, now; `prev` (its id and keys) makes it a rotation.
pub fn rotated_card(
    keys: &IdentityKeys,
    identity: &str,
    prev: Option<(CardId, &IdentityKeys)>,
) -> Card {
    let rotation = prev.map(|(prev_card_id, prev_keys)| Rotation {
        prev_card_id,
        prev_keys,
    });
    Card::create(keys, identity, unix_now(), rotation).unwrap()
}

/// A fresh database of `backend` and a server started on it with the default options
/// (`None` when that back end is not configured here, as [`TestDb::new`] says).
pub async fn setup(backend: Backend) -> Option<(TestDb, App, Server)> {
    let db = TestDb::new(backend).await?;
    let app = App::new();
    let server = Server::start(&db.url, &app, &[]).await;
    Some((db, app, server))
}

/// Declares each listed `async fn name(backend: Backend)` as two tests, `sqlite::name`
/// and `postgres::name`: the same suite against both databases.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::support::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::support::Backend::Postgres).await })*
        }
    };
}
