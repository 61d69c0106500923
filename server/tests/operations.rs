//! Operations and the command line: rate limits, CORS, logs, health, OpenAPI, graceful
//! shutdown, and `keygen`/`token`/`serve` as a script would use them. (The demo backend's
//! tests are in `relay/tests/demo.rs`.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::process::Command;

use serde_json::{json, Value};
use support::{error_code, App, Backend, Server, TestDb, User, BIN};

async fn sqlite_server(extra: &[&str]) -> (TestDb, App, Server) {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let app = App::new();
    let server = Server::start(&db.url, &app, extra).await;
    (db, app, server)
}

#[tokio::test]
async fn per_ip_rate_limit_answers_429_with_retry_after() {
    let (_db, app, s) = sqlite_server(&["--rate-ip", "2", "--rate-identity", "0"]).await;
    let ask = json!({"identities": ["alice"]});
    let mut limited = None;
    for n in 0..40 {
        let resp = s
            .http
            .post(s.url("/v2/cards/lookup"))
            .bearer_auth(app.token(&format!("user{n}")))
            .json(&ask)
            .send()
            .await
            .unwrap();
        if resp.status() == 429 {
            let retry: u64 = resp.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            let (status, body) = support::read(resp).await;
            assert_eq!(error_code(status, &body), "RateLimited");
            limited = Some((n, retry));
            break;
        }
    }
    let (n, retry) = limited.expect("40 requests at once from one IP were never limited");
    assert!(
        (8..=10).contains(&n),
        "the burst is 4x the rate (8); limited after {n}"
    );
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    // Health checks are not counted.
    assert_eq!(s.call("GET", "/healthz", None, None).await.0, 200);
}

#[tokio::test]
async fn per_identity_rate_limit_spares_other_identities() {
    let (_db, app, s) = sqlite_server(&["--rate-ip", "0", "--rate-identity", "1"]).await;
    let ask = json!({"identities": ["x"]});
    let alice = app.token("alice");
    let statuses: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..6 {
            v.push(
                s.call("POST", "/v2/cards/lookup", Some(&alice), Some(&ask))
                    .await
                    .0,
            );
        }
        v
    };
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429]);
    let bob = app.token("bob");
    assert_eq!(
        s.call("POST", "/v2/cards/lookup", Some(&bob), Some(&ask))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn cors_is_off_unless_origins_are_given() {
    let preflight = |s: &Server, origin: &'static str| {
        s.http
            .request(reqwest::Method::OPTIONS, s.url("/v2/cards/lookup"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let (_db, _app, s) = sqlite_server(&[]).await;
    let resp = preflight(&s, "https://app.example").await.unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());

    let (_db, _app, s) = sqlite_server(&["--cors-origin", "https://app.example"]).await;
    let resp = preflight(&s, "https://app.example").await.unwrap();
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let resp = preflight(&s, "https://evil.example").await.unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn logs_name_routes_but_never_tokens_cards_or_backups() {
    let (_db, app, s) = sqlite_server(&[]).await;
    let alice = User::new("alice");
    let t = app.token("alice");
    let card = alice.card(None).to_text();
    assert_eq!(
        s.call("POST", "/v2/cards", Some(&t), Some(&json!({"card": card})))
            .await
            .0,
        201
    );
    let backup = "csb1.c2VjcmV0LWJhY2t1cA";
    assert_eq!(
        s.call(
            "PUT",
            "/v2/backup",
            Some(&t),
            Some(&json!({"backup": backup}))
        )
        .await
        .0,
        201
    );
    s.call("GET", "/v2/cards/alice/history", Some(&t), None)
        .await;
    s.call(
        "POST",
        "/v2/cards/lookup",
        Some("not-a-token"),
        Some(&json!({"identities": []})),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let logs = s.logs();
    assert!(
        logs.contains("/v2/cards/{identity}/history"),
        "route templates are logged:\n{logs}"
    );
    for secret in [t.as_str(), card.as_str(), backup, "not-a-token", "alice"] {
        assert!(
            !logs.contains(secret),
            "the log contains {secret:?}:\n{logs}"
        );
    }
}

#[tokio::test]
async fn health_and_openapi_describe_the_api() {
    let (_db, _app, s) = sqlite_server(&[]).await;
    assert_eq!(
        s.call("GET", "/healthz", None, None).await,
        (200, json!({"status": "ok"}))
    );
    let (status, doc) = s.call("GET", "/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for path in [
        "/v2/cards",
        "/v2/cards/lookup",
        "/v2/cards/{identity}/history",
        "/v2/cards/by-id/{card_id}",
        "/v2/backup",
        "/v2/shares",
        "/healthz",
    ] {
        assert!(paths.contains(&path), "{path} missing from {paths:?}");
    }
    let backup = &doc["paths"]["/v2/backup"];
    assert!(backup["get"].is_object() && backup["put"].is_object() && backup["delete"].is_object());
    let shares = &doc["paths"]["/v2/shares"];
    assert!(shares["get"].is_object() && shares["post"].is_object());
    let query: Vec<(&str, &str)> = shares["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["in"].as_str().unwrap()))
        .collect();
    assert_eq!(query, [("session_id", "query"), ("after", "query")]);
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn sigterm_finishes_cleanly_and_keeps_the_data() {
    let (db, app, s) = sqlite_server(&[]).await;
    let t = app.token("alice");
    let card = User::new("alice").card(None).to_text();
    assert_eq!(
        s.call("POST", "/v2/cards", Some(&t), Some(&json!({"card": card})))
            .await
            .0,
        201
    );
    assert!(s.terminate().await, "exit status after SIGTERM");
    let s = Server::start(&db.url, &app, &[]).await;
    let (_, body) = s
        .call(
            "POST",
            "/v2/cards/lookup",
            Some(&t),
            Some(&json!({"identities": ["alice"]})),
        )
        .await;
    assert_eq!(body["results"]["alice"]["card"], json!(card));
}

fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("CHATSEAL_APP_KEYS")
        .env_remove("CHATSEAL_APP_PRIVATE_KEY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn keygen() -> (String, String, String) {
    let (code, out, _) = run(&["keygen"], &[]);
    assert_eq!(code, 0);
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name}= in {out:?}"))
            .to_owned()
    };
    assert_eq!(out.lines().count(), 3, "{out}");
    (field("kid"), field("private"), field("public"))
}

#[tokio::test]
async fn keygen_token_and_serve_work_together() {
    let (kid, private, public) = keygen();
    assert_eq!(chatseal::proto::b64u_decode(&private).unwrap().len(), 32);
    assert_eq!(chatseal::proto::b64u_decode(&public).unwrap().len(), 32);
    let (code, json_out, _) = run(&["keygen", "--json"], &[]);
    assert_eq!(code, 0);
    let parsed: Value = serde_json::from_str(&json_out).unwrap();
    assert!(
        parsed["kid"].is_string() && parsed["private"].is_string() && parsed["public"].is_string()
    );

    let (code, token, _) = run(
        &[
            "token", "--key", &private, "--kid", &kid, "--sub", "alice", "--ttl", "600",
        ],
        &[],
    );
    assert_eq!(code, 0);
    // Two app keys from the environment: tokens of either are accepted.
    let (kid2, private2, public2) = keygen();
    let (_, token2, _) = run(
        &["token", "--kid", &kid2, "--sub", "bob"],
        &[("CHATSEAL_APP_PRIVATE_KEY", &private2)],
    );
    let dir = support::TempDir::new();
    let db = format!("sqlite://{}", dir.0.join("d.db").display());
    let args: Vec<String> = ["serve", "--listen", "127.0.0.1:0", "--db", &db]
        .map(String::from)
        .to_vec();
    let s = Server::spawn_with_env(
        &args,
        &[(
            "CHATSEAL_APP_KEYS",
            &format!("{kid}={public},{kid2}={public2}"),
        )],
    )
    .await;
    let ask = json!({"identities": ["alice"]});
    assert_eq!(
        s.call("POST", "/v2/cards/lookup", Some(token.trim()), Some(&ask))
            .await
            .0,
        200
    );
    assert_eq!(
        s.call("POST", "/v2/cards/lookup", Some(token2.trim()), Some(&ask))
            .await
            .0,
        200
    );
}

#[test]
fn cli_mistakes_get_clear_messages() {
    let (kid, private, public) = keygen();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["token", "--key", "!!", "--kid", &kid, "--sub", "a"],
            "not base64url",
        ),
        (
            vec!["token", "--key", "AAAA", "--kid", &kid, "--sub", "a"],
            "32-byte",
        ),
        (
            vec![
                "token", "--key", &private, "--kid", &kid, "--sub", "a", "--ttl", "86401",
            ],
            "--ttl",
        ),
        (
            vec!["token", "--key", &private, "--kid", &kid, "--sub", ""],
            "--sub",
        ),
        (vec!["serve", "--db", "sqlite://x.db"], "--app-key"),
        (vec!["serve", "--app-key", "nokey"], "KID=PUBKEY"),
        (vec!["serve", "--app-key", "k=AAAA"], "32 bytes"),
    ];
    // A key that begins with `-` (one in 64 of those keygen prints) is a value, not an
    // option: base64url of 32 bytes of 0xf8.
    let dash = "-Pj4-Pj4-Pj4-Pj4-Pj4-Pj4-Pj4-Pj4-Pj4-Pj4-Pg";
    let (code, out, err) = run(&["token", "--key", dash, "--kid", &kid, "--sub", "a"], &[]);
    assert_eq!(code, 0, "a key beginning with '-': {err}");
    assert_eq!(out.trim().split('.').count(), 3, "a JWT: {out}");
    for (args, expected) in cases {
        let (code, out, err) = run(&args, &[]);
        assert_ne!(code, 0, "{args:?} succeeded: {out}");
        assert!(
            err.contains(expected),
            "{args:?}: expected {expected:?} in {err:?}"
        );
        assert!(!err.contains(&private), "the private key was echoed");
    }
    let app_key = format!("{kid}={public}");
    let (code, _, err) = run(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--app-key",
            &app_key,
            "--db",
            "mysql://x",
        ],
        &[],
    );
    assert_ne!(code, 0);
    assert!(
        err.contains("--db must be sqlite://PATH or postgres://"),
        "{err}"
    );
}
