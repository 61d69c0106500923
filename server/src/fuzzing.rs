//! What the server's fuzz targets in `fuzz/` run, also replayed over
//! `tests/fuzz-regressions/<target>/` by `server/tests/fuzz_regressions.rs`:
//! - `jwt`: §6 token verification must refuse any input with an error, never panic;
//! - `json_bodies`: every §7 route that takes a JSON body (cards, lookups, password and
//!   passkey backups, device-link offers, shares), through the real router on a real
//!   (SQLite) store with a valid token, must answer any body with a 2xx or a 4xx: never
//!   a panic, never a 5xx.
#![doc(hidden)]

use std::sync::OnceLock;

use crate::auth::{AppSecret, Verifier};

/// The fixed clock of the target (unix seconds).
pub const NOW: u64 = 1_800_000_000;
const KID: &str = "fuzz-key";

fn secret() -> &'static AppSecret {
    static SECRET: OnceLock<AppSecret> = OnceLock::new();
    // 32 bytes of 0x07 in base64url: a valid Ed25519 seed.
    SECRET.get_or_init(|| {
        AppSecret::from_b64u("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc")
            .unwrap_or_else(|_| unreachable!("a fixed 32-byte seed"))
    })
}

fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| Verifier::new(&[secret().app_key(KID)]))
}

/// §6: a token, verified with the fixed app key at [`NOW`].
pub fn jwt(data: &[u8]) {
    if let Ok(token) = std::str::from_utf8(data) {
        let _ = verifier().verify(token, NOW);
    }
}

/// Valid tokens of the fixed key, and near misses (another audience, expired).
pub fn seeds() -> Vec<Vec<u8>> {
    let s = secret();
    [
        s.directory_token(KID, "fuzz-app", "alice@fuzz", NOW - 10, 3600),
        s.token_for("another-audience", KID, "fuzz-app", "bob@fuzz", NOW, 60),
        s.directory_token(KID, "fuzz-app", "carol@fuzz", NOW - 7200, 60),
    ]
    .into_iter()
    .filter_map(Result::ok)
    .map(String::into_bytes)
    .collect()
}

/// The routes of [`json_bodies`], chosen by the input's first byte.
pub const BODY_ROUTES: [(&str, &str); 5] = [
    ("POST", "/v2/cards"),
    ("POST", "/v2/cards/lookup"),
    ("PUT", "/v2/backup"),
    ("POST", "/v2/shares"),
    ("POST", LINK_PATH),
];

/// The device-link route of [`BODY_ROUTES`], under a fixed link id (§13).
const LINK_PATH: &str = "/v2/link/00112233445566778899aabbccddeeff";

/// The identity of the target's token: the sender of `chatseal::fuzzing`'s fixture, whose
/// card is published when the target starts (so that its shares can be stored).
const BODY_IDENTITY: &str = "alice@fuzz";

struct Server {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    token: String,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| unreachable!("a runtime: {e}"));
        // On tmpfs when there is one: the store commits with synchronous=FULL, and an fsync
        // per accepted body would bound the target to a few hundred runs a second.
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let path = dir.join(format!("chatseal-fuzz-{}.db", std::process::id()));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        let store = runtime
            .block_on(crate::store::Store::open(&format!(
                "sqlite://{}",
                path.display()
            )))
            .unwrap_or_else(|e| unreachable!("a store in the temp dir: {e}"));
        let state = crate::api::AppState {
            store: std::sync::Arc::new(store),
            verifier: std::sync::Arc::new(Verifier::new(&[secret().app_key(KID)])),
            limits: std::sync::Arc::new(crate::limits::Limits::new(0, 0)),
        };
        let router = crate::api::router(state, &crate::api::Cors::None, None);
        // The router checks tokens against the real clock; the longest lifetime §6 allows
        // outlasts any fuzzing run.
        let token = secret()
            .directory_token(
                KID,
                "fuzz-app",
                BODY_IDENTITY,
                crate::auth::unix_now(),
                crate::auth::MAX_LIFETIME,
            )
            .unwrap_or_else(|_| unreachable!("a fixed token"));
        let server = Server {
            runtime,
            router,
            token,
        };
        let card = chatseal::fuzzing::fixture().alice.card().to_text();
        server.call(
            0,
            serde_json::json!({ "card": card }).to_string().as_bytes(),
        );
        server
    })
}

impl Server {
    /// Sends `body` to route `route` of [`BODY_ROUTES`]; the status.
    fn call(&self, route: usize, body: &[u8]) -> u16 {
        use tower::ServiceExt as _;
        let (method, path) = route_of(route);
        let request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {}", self.token))
            .body(axum::body::Body::from(body.to_vec()))
            .unwrap_or_else(|e| unreachable!("a fixed request: {e}"));
        let router = self.router.clone();
        self.runtime.block_on(async move {
            match router.oneshot(request).await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    // The whole answer is produced, as a client would read it.
                    let _ = axum::body::to_bytes(response.into_body(), 1 << 20).await;
                    status
                }
                Err(e) => match e {},
            }
        })
    }
}

/// §7: the first byte picks a route of [`BODY_ROUTES`], the rest is its JSON body.
/// Panics (a finding) when the server answers 5xx.
pub fn json_bodies(data: &[u8]) {
    let Some((&route, body)) = data.split_first() else {
        return;
    };
    let status = server().call(usize::from(route), body);
    let (method, path) = route_of(usize::from(route));
    assert!(
        status < 500,
        "{method} {path} answered {status} to a client's body"
    );
}

fn route_of(n: usize) -> (&'static str, &'static str) {
    BODY_ROUTES
        .get(n % BODY_ROUTES.len())
        .copied()
        .unwrap_or(("POST", "/v2/cards"))
}

/// Valid bodies for each route (the fixture's card, a lookup, a password and a passkey
/// backup, the fixture's share, a device-link offer), and a few near misses.
pub fn body_seeds() -> Vec<Vec<u8>> {
    let f = chatseal::fuzzing::fixture();
    let backup = chatseal::fuzzing::seeds("backup")
        .into_iter()
        .find(|s| s.starts_with(b"csb1."))
        .and_then(|s| String::from_utf8(s).ok())
        .unwrap_or_else(|| "csb1.AAAA".to_owned());
    let session = hex_of(&f.session_id.0);
    let share = pairwise_text(f.alice.card().id(), f.bob.current().card().id());
    let bodies = [
        (0, serde_json::json!({ "card": f.alice.card().to_text() })),
        (
            0,
            serde_json::json!({ "card": f.bob.current().card().to_text() }),
        ),
        (
            1,
            serde_json::json!({ "identities": ["alice@fuzz", "bob@fuzz", "nobody@fuzz"] }),
        ),
        (2, serde_json::json!({ "backup": backup })),
        (
            3,
            serde_json::json!({ "shares": [{ "to": "bob@fuzz", "session_id": session, "share": share }] }),
        ),
        (3, serde_json::json!({ "shares": [] })),
        (1, serde_json::json!({ "identities": [] , "extra": 1 })),
        (2, serde_json::json!({ "backup": passkey_backup_text() })),
        (
            4,
            serde_json::json!({ "offer": format!("csl1.{}", chatseal::proto::b64u_encode(&[5; 80])) }),
        ),
        // Too short for an HPKE enc and a tag.
        (4, serde_json::json!({ "offer": "csl1.AAAA" })),
    ];
    bodies
        .into_iter()
        .map(|(route, body)| {
            let mut out = vec![route];
            out.extend_from_slice(body.to_string().as_bytes());
            out
        })
        .collect()
}

/// A §4.1 passkey backup text of a fixed credential, as far as the directory can check
/// it (the sealed keyring is a stand-in: the directory cannot open one).
fn passkey_backup_text() -> String {
    chatseal::proto::passkey::seal_bytes(
        b"CSK2\0\0",
        b"fuzz-credential",
        [1; 32],
        &[2; 32],
        [3; 24],
    )
    .unwrap_or_else(|_| "csw1.AAAA".to_owned())
}

/// A §11 share text from `sender` to `recipient` as far as the directory can check it:
/// the clear header, then a fixed 48-byte stand-in for the sealed body (the directory
/// cannot open one; the core crate's fixture does not make §11 shares yet).
pub fn pairwise_text(
    sender: chatseal::proto::CardId,
    recipient: chatseal::proto::CardId,
) -> String {
    let mut bytes = b"CSP2".to_vec();
    bytes.extend_from_slice(&sender.0);
    bytes.extend_from_slice(&recipient.0);
    bytes.extend_from_slice(&[7; 16]);
    bytes.extend_from_slice(&[9; 48]);
    format!("csp2.{}", chatseal::proto::b64u_encode(&bytes))
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_seed_verifies_and_the_others_do_not() {
        let seeds = seeds();
        assert_eq!(seeds.len(), 3);
        let verify = |b: &[u8]| verifier().verify(std::str::from_utf8(b).unwrap_or(""), NOW);
        assert!(seeds.first().is_some_and(|t| verify(t).is_ok()));
        assert!(seeds.iter().skip(1).all(|t| verify(t).is_err()));
    }

    #[test]
    fn the_body_seeds_reach_the_store_and_bad_bodies_are_4xx() {
        let call = |s: &[u8]| match s.split_first() {
            Some((&route, body)) => server().call(usize::from(route), body),
            None => 0,
        };
        let statuses: Vec<u16> = body_seeds().iter().map(|s| call(s)).collect();
        // The fixture's card is already current (200), bob's is another identity's (403),
        // the lookup and backup succeed, the share is stored (201), 0 shares and an unknown
        // field are refused; the passkey backup and the offer are stored, a short offer
        // is refused.
        assert_eq!(statuses, [200, 403, 200, 201, 201, 400, 400, 201, 201, 400]);
        for bad in [
            &b"\x00"[..],
            b"\x01{",
            b"\x02null",
            b"\x03{\"shares\":[{}]}",
            b"\x00\xff\xfe",
            b"\x04{\"offer\":1}",
            b"\x02{\"backup\":\"csw1.AAAA\"}",
        ] {
            let status = call(bad);
            assert!((400..500).contains(&status), "{bad:?}: {status}");
        }
    }
}
