//! The demo's chat relay (the part of Stream Chat's protocol stream-chat-react uses), end to
//! end: a real `chatseal-relay` process, its REST API and its WebSocket, over SQLite
//! and over PostgreSQL. stream-chat-react itself runs against it in `tests/js/stream` and in
//! the demo's browser tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

// The directory's test harness, shared: `support::BIN` is this crate's `chatseal-relay`.
#[path = "../../../server/tests/support/mod.rs"]
mod support;

// One module per feature; the helpers below are shared by them.
mod channels;
mod members_and_limits;
mod uploads;
mod websocket;

use std::path::PathBuf;

use serde_json::{json, Value};
use support::{Server, TestDb};

/// `chatseal-relay` on `db`, its uploads in the test's scratch folder.
async fn demo(db: &TestDb) -> Server {
    demo_with(
        &db.url,
        &["--uploads", &uploads_dir(db).display().to_string()],
    )
    .await
}

fn uploads_dir(db: &TestDb) -> PathBuf {
    db.scratch().join("uploads")
}

/// `chatseal-relay` on the database at `db_url`, with `extra` arguments.
async fn demo_with(db_url: &str, extra: &[&str]) -> Server {
    let mut args: Vec<String> = [
        "--listen",
        "127.0.0.1:0",
        "--db",
        db_url,
        "--rate-ip",
        "0",
        "--rate-identity",
        "0",
    ]
    .map(String::from)
    .to_vec();
    args.extend(extra.iter().map(|a| a.to_string()));
    Server::spawn(&args).await
}

/// The relay token the demo backend mints for `user`, and the demo session.
async fn stream_token(s: &Server, user: &str) -> (String, String) {
    let (status, body) = s
        .call(
            "POST",
            "/v1/authenticate",
            None,
            Some(&json!({"identity": user})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let session = body["authToken"].as_str().unwrap().to_owned();
    let (status, body) = s
        .call("POST", "/v1/stream-credentials", Some(&session), None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["baseUrl"], json!(s.base), "the relay is this server");
    (body["token"].as_str().unwrap().to_owned(), session)
}

/// A request as stream-chat sends it: the token as `Authorization`, no `Bearer`.
async fn stream(
    s: &Server,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = s
        .http
        .request(method.parse().unwrap(), s.url(path))
        .header("authorization", token)
        .header("stream-auth-type", "jwt");
    if let Some(body) = body {
        req = req.json(&body);
    }
    support::read(req.send().await.unwrap()).await
}

/// An HS256 token for `user` signed with a key the relay does not have.
fn forged_token(user: &str) -> String {
    use chatseal::proto::b64u_encode;
    let header = b64u_encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = b64u_encode(format!(r#"{{"user_id":"{user}"}}"#).as_bytes());
    format!("{header}.{claims}.{}", b64u_encode(&[7u8; 32]))
}
