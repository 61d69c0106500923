//! The demo backend (`chatseal-relay`): its session tokens, Stream credentials and
//! directory tokens, with the local relay and with Stream's cloud keys.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

// The directory's test harness, shared: `support::BIN` is this crate's `chatseal-relay`.
#[path = "../../server/tests/support/mod.rs"]
mod support;

use serde_json::{json, Value};
use support::{Server, User};

/// `chatseal-relay` on a fresh SQLite file with `env`, and a session for alice.
async fn demo_with_alice(env: &[(&str, &str)]) -> (support::TempDir, Server, String) {
    let dir = support::TempDir::new();
    let db = format!("sqlite://{}", dir.0.join("demo.db").display());
    let args: Vec<String> = ["--listen", "127.0.0.1:0", "--db", &db]
        .map(String::from)
        .to_vec();
    let s = Server::spawn_with_env(&args, env).await;
    let (status, body) = s
        .call(
            "POST",
            "/v1/authenticate",
            None,
            Some(&json!({"identity": "alice"})),
        )
        .await;
    assert_eq!(status, 200);
    let session = body["authToken"].as_str().unwrap().to_owned();
    (dir, s, session)
}

#[tokio::test]
async fn demo_backend_issues_sessions_and_credentials() {
    let (_dir, s, session) = demo_with_alice(&[]).await;
    // A session token is not a directory token.
    let (status, _) = s
        .call(
            "POST",
            "/v2/cards/lookup",
            Some(&session),
            Some(&json!({"identities": []})),
        )
        .await;
    assert_eq!(status, 401);
    let (status, body) = s
        .call("POST", "/v1/chatseal-credentials", Some(&session), None)
        .await;
    assert_eq!(status, 200);
    let directory_token = body["token"].as_str().unwrap().to_owned();
    let card = User::new("alice").card(None).to_text();
    let (status, _) = s
        .call(
            "POST",
            "/v2/cards",
            Some(&directory_token),
            Some(&json!({"card": card})),
        )
        .await;
    assert_eq!(
        status, 201,
        "the demo's directory token works at its directory"
    );
    let (status, body) = s
        .call("POST", "/v1/stream-credentials", Some(&session), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["apiKey"], "chatseal-demo");
    assert_eq!(body["user"]["id"], "alice");
    let stream_token = body["token"].as_str().unwrap();
    let claims = stream_token.split('.').nth(1).unwrap();
    let claims: Value =
        serde_json::from_slice(&chatseal::proto::b64u_decode(claims).unwrap()).unwrap();
    assert_eq!(claims["user_id"], "alice");
    // Refusals keep the §7 shape.
    assert_eq!(
        s.refusal("POST", "/v1/chatseal-credentials", None, None)
            .await,
        (401, "Unauthorized")
    );
    assert_eq!(
        s.refusal(
            "POST",
            "/v1/stream-credentials",
            Some(&directory_token),
            None,
        )
        .await,
        (401, "Unauthorized")
    );
    assert_eq!(
        s.refusal(
            "POST",
            "/v1/authenticate",
            None,
            Some(&json!({"identity": ""})),
        )
        .await,
        (400, "InvalidArgument")
    );
    assert_eq!(
        s.refusal(
            "POST",
            "/v1/authenticate",
            None,
            Some(&json!({"user": "x"})),
        )
        .await,
        (400, "Malformed")
    );
    // CORS is open in demo mode (the Vite dev server is another origin).
    let resp = s
        .http
        .get(s.url("/healthz"))
        .header("origin", "http://localhost:5173")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(s.logs().contains("INSECURE BY DESIGN"), "{}", s.logs());
}

#[tokio::test]
async fn demo_with_stream_keys_mints_stream_tokens_and_no_relay() {
    let secret = "a-stream-app-secret-for-the-test";
    let (_dir, s, session) = demo_with_alice(&[
        ("STREAM_API_KEY", "stream-key-1"),
        ("STREAM_API_SECRET", secret),
    ])
    .await;
    let (status, body) = s
        .call("POST", "/v1/stream-credentials", Some(&session), None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["apiKey"], "stream-key-1");
    assert_eq!(
        body["baseUrl"],
        Value::Null,
        "Stream's cloud, not a local relay"
    );
    // The token is Stream's: HS256 over {user_id}, signed with the app's secret.
    let token = body["token"].as_str().unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .expect("signed with STREAM_API_SECRET")
    .claims;
    assert_eq!(claims["user_id"], "alice");
    // No relay: Stream's paths are not served here.
    let (status, _) = s.call("POST", "/channels", Some(token), None).await;
    assert_eq!(status, 404);
    let (status, _) = s
        .call(
            "GET",
            "/v1/relay/channels/messaging/x/stored",
            Some(&session),
            None,
        )
        .await;
    assert_eq!(status, 404);
}
