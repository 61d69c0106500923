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
#[path = "../../server/tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use support::{Backend, Server, TestDb};
use tokio_tungstenite::tungstenite::Message;

on_both_databases!(
    channels_and_messages_survive_a_restart,
    members_only_and_stream_limits,
    events_reach_members_over_the_websocket,
    reading_tells_the_reader_what_is_left_unread,
    uploads_are_stored_served_and_removed,
    uploads_folder_defaults,
);

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

fn texts(channel_state: &Value) -> Vec<String> {
    channel_state["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect()
}

async fn channels_and_messages_survive_a_restart(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let s = demo(&db).await;
    let (alice, _) = stream_token(&s, "alice").await;
    let (bob, session) = stream_token(&s, "bob").await;

    // A distinct channel: the same cid whoever opens it, whatever the order of members.
    let (status, a) = stream(
        &s,
        &alice,
        "POST",
        "/channels/messaging/query",
        Some(json!({"data": {"members": ["alice", "bob"]}, "state": true})),
    )
    .await;
    assert_eq!(status, 200, "{a}");
    let cid = a["channel"]["cid"].as_str().unwrap().to_owned();
    let id = a["channel"]["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("!members-"), "{id}");
    let (_, b) = stream(
        &s,
        &bob,
        "POST",
        "/channels/messaging/query",
        Some(json!({"data": {"members": ["bob", "alice", "bob"]}})),
    )
    .await;
    assert_eq!(b["channel"]["cid"], json!(cid));
    assert_eq!(b["members"].as_array().unwrap().len(), 2);

    let send = |token: &str, text: &str, extra: Value| {
        let mut message = json!({ "text": text });
        message
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let token = token.to_owned();
        let path = format!("/channels/messaging/{id}/message");
        let s = &s;
        async move {
            stream(
                s,
                &token,
                "POST",
                &path,
                Some(json!({ "message": message })),
            )
            .await
        }
    };
    let (status, first) = send(&alice, "csm1.first", json!({"id": "alice-1"})).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["message"]["user"]["id"], "alice");
    let (_, second) = send(&bob, "csm1.second", json!({"quoted_message_id": "alice-1"})).await;
    assert_eq!(second["message"]["quoted_message"]["text"], "csm1.first");
    let (_, reply) = send(&bob, "csm1.reply", json!({"parent_id": "alice-1"})).await;
    assert_eq!(reply["message"]["type"], "reply");
    let (status, edited) = stream(
        &s,
        &alice,
        "POST",
        "/messages/alice-1",
        Some(json!({"message": {"text": "csm1.first-edited"}})),
    )
    .await;
    assert_eq!(status, 200, "{edited}");
    assert!(edited["message"]["message_text_updated_at"].is_string());
    let (status, _) = stream(
        &s,
        &bob,
        "POST",
        &format!("/channels/messaging/{id}/read"),
        None,
    )
    .await;
    assert_eq!(status, 200);

    // After a restart (new process, same database), everything is there.
    assert!(s.terminate().await, "clean exit on SIGTERM");
    let s = demo(&db).await;
    let (bob, session_after) = stream_token(&s, "bob").await;
    let (status, listed) = stream(
        &s,
        &bob,
        "POST",
        "/channels",
        Some(json!({
            "filter_conditions": {"type": "messaging", "members": {"$in": ["bob"]}},
            "sort": [{"field": "last_message_at", "direction": -1}],
            "state": true, "watch": false, "limit": 10,
        })),
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    let channels = listed["channels"].as_array().unwrap();
    assert_eq!(channels.len(), 1);
    let state = &channels[0];
    assert_eq!(
        texts(state),
        ["csm1.first-edited", "csm1.second"],
        "replies stay in their thread"
    );
    assert_eq!(state["messages"][0]["reply_count"], 1);
    let bob_read = state["read"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["user"]["id"] == "bob")
        .unwrap();
    assert_eq!(bob_read["unread_messages"], 0);
    let (_, replies) = stream(&s, &bob, "GET", "/messages/alice-1/replies", None).await;
    assert_eq!(replies["messages"][0]["text"], "csm1.reply");
    // Paging: the one message before the newest.
    let second_id = state["messages"][1]["id"].as_str().unwrap();
    let (_, page) = stream(
        &s,
        &bob,
        "POST",
        &format!("/channels/messaging/{id}/query"),
        Some(json!({"messages": {"limit": 5, "id_lt": second_id}})),
    )
    .await;
    assert_eq!(texts(&page), ["csm1.first-edited"]);

    // What the database holds, as the demo's "what the server sees" panel shows it.
    for token in [&session, &session_after] {
        let (status, stored) = s
            .call(
                "GET",
                &format!("/v1/relay/channels/messaging/{id}/stored"),
                Some(token),
                None,
            )
            .await;
        if token == &session {
            assert_eq!(
                status, 401,
                "a session of the previous process is not valid"
            );
            continue;
        }
        assert_eq!(status, 200, "{stored}");
        let stored: Vec<&str> = stored["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["text"].as_str().unwrap())
            .collect();
        assert_eq!(stored, ["csm1.first-edited", "csm1.second", "csm1.reply"]);
    }
}

async fn members_only_and_stream_limits(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let s = demo(&db).await;
    let (alice, _) = stream_token(&s, "alice").await;
    let (carol, _) = stream_token(&s, "carol").await;
    let (status, created) = stream(
        &s,
        &alice,
        "POST",
        "/channels/messaging/care-team/query",
        Some(json!({"data": {"members": ["alice", "bob"], "name": "Care team"}})),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["channel"]["name"], "Care team");
    let message = |text: String| Some(json!({"message": {"text": text}}));

    // Someone who is not a member can neither read nor write nor list it.
    for (method, path, body) in [
        ("POST", "/channels/messaging/care-team/query", None),
        (
            "POST",
            "/channels/messaging/care-team/message",
            message("hi".into()),
        ),
        (
            "POST",
            "/channels/messaging/care-team/event",
            Some(json!({"event": {"type": "typing.start"}})),
        ),
    ] {
        let (status, body) = stream(&s, &carol, method, path, body).await;
        assert_eq!(
            (status, body["code"].clone()),
            (403, json!(17)),
            "{path}: {body}"
        );
        assert!(
            body["message"].as_str().unwrap().contains("not a member"),
            "{body}"
        );
    }
    let (_, listed) = stream(
        &s,
        &carol,
        "POST",
        "/channels",
        Some(json!({"filter_conditions": {}})),
    )
    .await;
    assert_eq!(listed["channels"], json!([]));

    // Stream's limits and rules, with Stream's error shape.
    let (status, body) = stream(
        &s,
        &alice,
        "POST",
        "/channels/messaging/care-team/message",
        message("x".repeat(5001)),
    )
    .await;
    assert_eq!((status, body["code"].clone()), (400, json!(4)), "{body}");
    assert!(body["message"].as_str().unwrap().contains("5000"), "{body}");
    let (status, _) = stream(
        &s,
        &alice,
        "POST",
        "/channels/messaging/care-team/message",
        message("é".repeat(5000)),
    )
    .await;
    assert_eq!(status, 200, "5000 characters (10000 bytes) fit");
    let with_id = Some(json!({"message": {"id": "m-1", "text": "one"}}));
    let path = "/channels/messaging/care-team/message";
    assert_eq!(
        stream(&s, &alice, "POST", path, with_id.clone()).await.0,
        200
    );
    let (status, body) = stream(&s, &alice, "POST", path, with_id).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("already exists"));
    let (bob, _) = stream_token(&s, "bob").await;
    let (status, _) = stream(
        &s,
        &bob,
        "POST",
        "/messages/m-1",
        Some(json!({"message": {"text": "forged"}})),
    )
    .await;
    assert_eq!(status, 403, "only the author edits");
    let (status, body) = stream(
        &s,
        &alice,
        "POST",
        "/channels",
        Some(json!({"filter_conditions": {"frozen": true}})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("`frozen`"),
        "{body}"
    );
    let (status, _) = stream(
        &s,
        &alice,
        "POST",
        "/channels/messaging/bad%20id/query",
        None,
    )
    .await;
    assert_eq!(status, 400);
    for token in ["", "not-a-jwt", &forged_token("alice")] {
        let (status, body) = stream(&s, token, "POST", "/channels", None).await;
        assert_eq!((status, body["code"].clone()), (401, json!(5)), "{body}");
    }
    // A user id Stream would refuse gets a clear refusal from the demo backend.
    let (_, body) = s
        .call(
            "POST",
            "/v1/authenticate",
            None,
            Some(&json!({"identity": "Dr Who"})),
        )
        .await;
    let session = body["authToken"].as_str().unwrap();
    let (status, body) = s
        .call("POST", "/v1/stream-credentials", Some(session), None)
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("letters, digits"),
        "{body}"
    );

    // Members added later see the history; removed members lose access.
    let (status, body) = stream(
        &s,
        &alice,
        "POST",
        "/channels/messaging/care-team",
        Some(json!({"add_members": ["carol"], "remove_members": ["bob"]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = stream(
        &s,
        &carol,
        "POST",
        "/channels/messaging/care-team/query",
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = stream(
        &s,
        &bob,
        "POST",
        "/channels/messaging/care-team/query",
        None,
    )
    .await;
    assert_eq!(status, 403);
}

/// An HS256 token for `user` signed with a key the relay does not have.
fn forged_token(user: &str) -> String {
    use chatseal::proto::b64u_encode;
    let header = b64u_encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = b64u_encode(format!(r#"{{"user_id":"{user}"}}"#).as_bytes());
    format!("{header}.{claims}.{}", b64u_encode(&[7u8; 32]))
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(s: &Server, user: &str, token: &str) -> (Socket, Value) {
    let json =
        json!({"user_id": user, "user_details": {"id": user, "name": format!("{user} (name)")}});
    let url = format!(
        "{}/connect?json={}&api_key=chatseal-demo&authorization={token}&stream-auth-type=jwt",
        s.base.replacen("http", "ws", 1),
        urlencode(&json.to_string()),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let first = next_event(&mut socket).await;
    (socket, first)
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn next_event(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("an event within 10 s")
            .expect("the socket is open")
            .unwrap();
        if let Message::Text(text) = frame {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

/// The next event of `kind`, skipping others (health checks, presence).
async fn next_of(socket: &mut Socket, kind: &str) -> Value {
    loop {
        let event = next_event(socket).await;
        if event["type"] == kind {
            return event;
        }
    }
}

async fn events_reach_members_over_the_websocket(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let s = demo(&db).await;
    let (alice, _) = stream_token(&s, "alice").await;
    let (bob, _) = stream_token(&s, "bob").await;
    let (carol, _) = stream_token(&s, "carol").await;
    let (mut bob_ws, hello) = connect(&s, "bob", &bob).await;
    assert_eq!(hello["type"], "health.check");
    assert_eq!(hello["me"]["id"], "bob");
    assert_eq!(hello["me"]["name"], "bob (name)");
    let connection_id = hello["connection_id"].as_str().unwrap().to_owned();
    let (mut carol_ws, _) = connect(&s, "carol", &carol).await;

    // Created with bob as a member: bob is told, and so is no one else.
    let (status, _) = stream(
        &s,
        &alice,
        "POST",
        "/channels/messaging/ward-3/query",
        Some(json!({"data": {"members": ["alice", "bob"]}})),
    )
    .await;
    assert_eq!(status, 200);
    let added = next_of(&mut bob_ws, "notification.added_to_channel").await;
    assert_eq!(added["channel"]["cid"], "messaging:ward-3");

    // Not watching yet: a notification with the channel; watching: message.new.
    let send = |text: &'static str| {
        let alice = alice.clone();
        let s = &s;
        async move {
            stream(
                s,
                &alice,
                "POST",
                "/channels/messaging/ward-3/message",
                Some(json!({"message": {"text": text}})),
            )
            .await
        }
    };
    send("csm1.one").await;
    let note = next_of(&mut bob_ws, "notification.message_new").await;
    assert_eq!(note["message"]["text"], "csm1.one");
    assert_eq!(note["channel"]["cid"], "messaging:ward-3");
    let (status, _) = stream(
        &s,
        &bob,
        "POST",
        &format!("/channels/messaging/ward-3/query?connection_id={connection_id}"),
        Some(json!({"watch": true, "state": true})),
    )
    .await;
    assert_eq!(status, 200);
    // Alice, on the socket too, sees bob watching (stream-chat-react's "Online").
    let (mut alice_ws, hello) = connect(&s, "alice", &alice).await;
    let alice_connection = hello["connection_id"].as_str().unwrap().to_owned();
    let (_, state) = stream(
        &s,
        &alice,
        "POST",
        &format!("/channels/messaging/ward-3/query?connection_id={alice_connection}"),
        Some(json!({"watch": true})),
    )
    .await;
    let watchers: Vec<&str> = state["watchers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(watchers, ["alice", "bob"]);
    let online = next_of(&mut bob_ws, "user.presence.changed").await;
    assert_eq!(online["user"]["id"], "alice");
    assert_eq!(online["user"]["online"], true);
    let watching = next_of(&mut bob_ws, "user.watching.start").await;
    assert_eq!(watching["user"]["id"], "alice");
    assert_eq!(watching["watcher_count"], 2);
    send("csm1.two").await;
    let new = next_of(&mut bob_ws, "message.new").await;
    assert_eq!(new["message"]["text"], "csm1.two");
    assert_eq!(new["user"]["id"], "alice");
    assert_eq!(new["cid"], "messaging:ward-3");

    // Alice leaves: she stops watching, and she is offline.
    alice_ws.close(None).await.unwrap();
    let stopped = next_of(&mut bob_ws, "user.watching.stop").await;
    assert_eq!(stopped["user"]["id"], "alice");
    let offline = next_of(&mut bob_ws, "user.presence.changed").await;
    assert_eq!(offline["user"]["id"], "alice");
    assert_eq!(offline["user"]["online"], false);

    // Typing and read events reach the members.
    stream(
        &s,
        &alice,
        "POST",
        "/channels/messaging/ward-3/event",
        Some(json!({"event": {"type": "typing.start"}})),
    )
    .await;
    let typing = next_of(&mut bob_ws, "typing.start").await;
    assert_eq!(typing["user"]["id"], "alice");
    // And its end (stream-chat sends it once the message is sent).
    stream(
        &s,
        &alice,
        "POST",
        "/channels/messaging/ward-3/event",
        Some(json!({"event": {"type": "typing.stop"}})),
    )
    .await;
    let stopped = next_of(&mut bob_ws, "typing.stop").await;
    assert_eq!(stopped["user"]["id"], "alice");
    assert_eq!(stopped["cid"], "messaging:ward-3");
    let (status, body) = stream(
        &s,
        &alice,
        "POST",
        "/channels/messaging/ward-3/event",
        Some(json!({"event": {"type": "message.new", "message": {"text": "forged"}}})),
    )
    .await;
    assert_eq!(status, 400, "clients cannot send server events: {body}");

    // Health checks are answered.
    bob_ws
        .send(Message::Text(
            json!([{"type": "health.check", "client_id": "x"}])
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    let pong = next_of(&mut bob_ws, "health.check").await;
    assert_eq!(pong["connection_id"], json!(connection_id));

    // Carol, not a member, saw none of it: the next thing she gets is her own health check.
    carol_ws
        .send(Message::Text(
            json!({"type": "health.check"}).to_string().into(),
        ))
        .await
        .unwrap();
    let first = next_event(&mut carol_ws).await;
    assert_eq!(first["type"], "health.check", "carol got {first}");

    // A bad token is refused on the socket with Stream's error shape.
    let url = format!(
        "{}/connect?json={}&api_key=chatseal-demo&authorization={}",
        s.base.replacen("http", "ws", 1),
        urlencode(&json!({"user_id": "alice"}).to_string()),
        forged_token("alice"),
    );
    let (mut bad, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let refused = next_event(&mut bad).await;
    assert_eq!(refused["error"]["code"], 5, "{refused}");
    // And a token for bob does not connect as alice.
    let url = format!(
        "{}/connect?json={}&api_key=chatseal-demo&authorization={bob}",
        s.base.replacen("http", "ws", 1),
        urlencode(&json!({"user_id": "alice"}).to_string()),
    );
    let (mut impostor, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let refused = next_event(&mut impostor).await;
    assert_eq!(refused["error"]["code"], 5, "{refused}");

    // Open sockets do not hold up a shutdown (Ctrl-C on `make demo`).
    let started = std::time::Instant::now();
    assert!(s.terminate().await, "clean exit with sockets open");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    drop((bob_ws, carol_ws));
}

/// Stream's read protocol: a mark-read sends `message.read` to the channel's members and
/// `notification.mark_read`, with what is left unread, to the reader's own connections (it
/// is what clears stream-chat-react's badge); marking everything read sends one without a
/// channel.
async fn reading_tells_the_reader_what_is_left_unread(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let s = demo(&db).await;
    let (alice, _) = stream_token(&s, "alice").await;
    let (bob, _) = stream_token(&s, "bob").await;
    for (room, texts) in [
        ("ward-1", ["csm1.a", "csm1.b"]),
        ("ward-2", ["csm1.c", "csm1.d"]),
    ] {
        let (status, _) = stream(
            &s,
            &alice,
            "POST",
            &format!("/channels/messaging/{room}/query"),
            Some(json!({"data": {"members": ["alice", "bob"]}})),
        )
        .await;
        assert_eq!(status, 200);
        for text in texts {
            let (status, _) = stream(
                &s,
                &alice,
                "POST",
                &format!("/channels/messaging/{room}/message"),
                Some(json!({"message": {"text": text}})),
            )
            .await;
            assert_eq!(status, 200);
        }
    }
    let (mut bob_ws, _) = connect(&s, "bob", &bob).await;
    let (mut alice_ws, _) = connect(&s, "alice", &alice).await;

    let (status, body) = stream(
        &s,
        &bob,
        "POST",
        "/channels/messaging/ward-1/read",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["event"]["type"], "message.read");
    let read = next_of(&mut bob_ws, "message.read").await;
    assert_eq!(read["user"]["id"], "bob");
    let note = next_of(&mut bob_ws, "notification.mark_read").await;
    assert_eq!(note["cid"], "messaging:ward-1", "{note}");
    assert_eq!(note["channel_id"], "ward-1");
    assert_eq!(note["channel_type"], "messaging");
    assert_eq!(note["channel"]["cid"], "messaging:ward-1");
    assert_eq!(note["user"]["id"], "bob");
    assert_eq!(note["last_read_message_id"], read["last_read_message_id"]);
    assert!(note["last_read_message_id"].is_string(), "{note}");
    // ward-2 is still unread: two messages in one channel.
    assert_eq!(note["unread_channels"], 1, "{note}");
    assert_eq!(note["total_unread_count"], 2, "{note}");
    assert_eq!(note["unread_count"], 2, "{note}");
    assert!(note["created_at"].is_string());

    // Alice, a member, hears that bob read; the notification was bob's alone: the next
    // thing after `message.read` on her socket is the answer to her health check.
    let read = next_of(&mut alice_ws, "message.read").await;
    assert_eq!(read["user"]["id"], "bob");
    alice_ws
        .send(Message::Text(
            json!({"type": "health.check"}).to_string().into(),
        ))
        .await
        .unwrap();
    let next = next_event(&mut alice_ws).await;
    assert_eq!(next["type"], "health.check", "alice got {next}");

    // Everything read: one notification without a channel, nothing left unread.
    let (status, body) = stream(&s, &bob, "POST", "/channels/read", Some(json!({}))).await;
    assert_eq!(status, 200, "{body}");
    let all = next_of(&mut bob_ws, "notification.mark_read").await;
    assert!(all.get("cid").is_none(), "{all}");
    assert_eq!(all["user"]["id"], "bob");
    assert_eq!(all["unread_channels"], 0, "{all}");
    assert_eq!(all["total_unread_count"], 0, "{all}");

    // What the channels say agrees.
    let (_, state) = stream(
        &s,
        &bob,
        "POST",
        "/channels",
        Some(json!({"filter_conditions": {"members": {"$in": ["bob"]}}, "state": true})),
    )
    .await;
    for channel in state["channels"].as_array().unwrap() {
        let mine = channel["read"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["user"]["id"] == "bob")
            .unwrap();
        assert_eq!(mine["unread_messages"], 0, "{channel}");
    }
    drop((bob_ws, alice_ws));
}

/// Uploads a file as stream-chat's `sendFile` does: multipart with `file` and `user` parts.
async fn upload(s: &Server, token: &str, path: &str, bytes: &[u8]) -> (u16, Value) {
    let form = Form::new()
        .part(
            "file",
            Part::bytes(bytes.to_vec())
                .file_name("photo.jpg.sealed")
                .mime_str("application/octet-stream")
                .unwrap(),
        )
        .text("user", r#"{"id":"ignored"}"#);
    let resp = s
        .http
        .post(s.url(path))
        .header("authorization", token)
        .header("stream-auth-type", "jwt")
        .multipart(form)
        .send()
        .await
        .unwrap();
    support::read(resp).await
}

/// The names of the files in `dir`, sorted.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Bytes that are not text: every byte value, over and over, shifted by `seed`.
fn ciphertext(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

async fn uploads_are_stored_served_and_removed(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    const LIMIT: usize = 100_000;
    let folder = uploads_dir(&db);
    let folder_arg = folder.display().to_string();
    let limit_arg = LIMIT.to_string();
    let args = ["--uploads", &folder_arg, "--upload-limit", &limit_arg];
    let s = demo_with(&db.url, &args).await;
    let (alice, _) = stream_token(&s, "alice").await;
    let (bob, _) = stream_token(&s, "bob").await;
    let (carol, _) = stream_token(&s, "carol").await;
    for (id, members) in [
        ("files", json!(["alice", "bob"])),
        ("other", json!(["alice", "carol"])),
    ] {
        let (status, created) = stream(
            &s,
            &alice,
            "POST",
            &format!("/channels/messaging/{id}/query"),
            Some(json!({"data": {"members": members}})),
        )
        .await;
        assert_eq!(status, 200, "{created}");
        // Offered to stream-chat-react, which shows its attachment button for it.
        assert_eq!(created["channel"]["config"]["uploads"], true);
        assert!(
            created["channel"]["own_capabilities"]
                .as_array()
                .unwrap()
                .contains(&json!("upload-file")),
            "{created}"
        );
    }
    let (status, app) = stream(&s, &alice, "GET", "/app", None).await;
    assert_eq!(status, 200, "{app}");
    let size_limit = app["app"]["file_upload_config"]["size_limit"]
        .as_u64()
        .unwrap();
    assert!(size_limit > 0 && size_limit < LIMIT as u64, "{app}");

    // Stored as sent, served to anyone with the URL (no token) as an opaque download.
    let sealed = ciphertext(LIMIT, 7);
    let (status, body) = upload(&s, &alice, "/channels/messaging/files/file", &sealed).await;
    assert_eq!(status, 200, "{body}");
    let url = body["file"].as_str().unwrap().to_owned();
    let name = url
        .strip_prefix(&format!("{}/uploads/", s.base))
        .unwrap_or_else(|| panic!("{url} is not on this server"))
        .to_owned();
    assert!(
        name.len() == 32
            && name
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{name}"
    );
    assert!(body["duration"].as_str().unwrap().ends_with("ms"), "{body}");
    let resp = s
        .http
        .get(&url)
        .header("origin", "http://elsewhere.example")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    assert_eq!(header("content-type"), "application/octet-stream");
    assert_eq!(header("content-length"), LIMIT.to_string());
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(
        header("cache-control"),
        "private, max-age=31536000, immutable"
    );
    assert_eq!(header("content-disposition"), "attachment");
    assert_eq!(header("access-control-allow-origin"), "*");
    assert!(
        resp.bytes().await.unwrap() == sealed,
        "the bytes come back as stored"
    );
    let (status, image) = upload(&s, &bob, "/channels/messaging/files/image", b"\x00sealed").await;
    assert_eq!(status, 200, "{image}");
    let image_url = image["file"].as_str().unwrap().to_owned();
    let image_name = image_url.rsplit('/').next().unwrap().to_owned();
    assert_ne!(image_name, name);
    let mut both = vec![name.clone(), image_name.clone()];
    both.sort();
    assert_eq!(
        files_in(&folder),
        both,
        "one file per upload, no temporary files"
    );

    // Members only; Stream's error shape.
    let (status, body) = upload(&s, &carol, "/channels/messaging/files/file", b"x").await;
    assert_eq!((status, body["code"].clone()), (403, json!(17)), "{body}");
    let (status, body) = stream(
        &s,
        &carol,
        "DELETE",
        &format!("/channels/messaging/files/file?url={url}"),
        None,
    )
    .await;
    assert_eq!((status, body["code"].clone()), (403, json!(17)), "{body}");
    let (status, body) = upload(&s, "not-a-jwt", "/channels/messaging/files/file", b"x").await;
    assert_eq!((status, body["code"].clone()), (401, json!(5)), "{body}");

    // Over the limit: 413, and nothing is left behind.
    let over = ciphertext(LIMIT + 1, 9);
    let (status, body) = upload(&s, &alice, "/channels/messaging/files/file", &over).await;
    assert_eq!((status, body["code"].clone()), (413, json!(22)), "{body}");
    assert_eq!(body["StatusCode"], 413, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains(&LIMIT.to_string()),
        "{body}"
    );
    assert_eq!(files_in(&folder), both, "the refused upload left nothing");

    // Not an upload: no `file` part, or not multipart at all.
    let resp = s
        .http
        .post(s.url("/channels/messaging/files/file"))
        .header("authorization", &alice)
        .multipart(Form::new().text("user", "{}"))
        .send()
        .await
        .unwrap();
    let (status, body) = support::read(resp).await;
    assert_eq!((status, body["code"].clone()), (400, json!(4)), "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("`file`"),
        "{body}"
    );
    let (status, body) = stream(
        &s,
        &alice,
        "POST",
        "/channels/messaging/files/file",
        Some(json!({"file": "x"})),
    )
    .await;
    assert_eq!((status, body["code"].clone()), (400, json!(4)), "{body}");
    assert_eq!(files_in(&folder), both);

    // Only upload names are served: no other name, and no path, reaches the folder.
    for bad in [
        "xyz".to_owned(),
        name.to_uppercase(),
        name[..31].to_owned(),
        format!("{name}0"),
        "..%2F..%2F..%2Fetc%2Fpasswd".to_owned(),
        "%2e%2e".to_owned(),
        format!(".upload-{}", &name[8..]),
        "0123456789abcdef0123456789abcdef".to_owned(),
        format!("{name}/x"),
    ] {
        let resp = s
            .http
            .get(s.url(&format!("/uploads/{bad}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404, "/uploads/{bad}");
    }

    // Removing: only in the channel the upload belongs to; unknown URLs are no error.
    let delete = |token: &str, channel: &str, url: &str| {
        let path = format!("/channels/messaging/{channel}/file?url={}", encode(url));
        let token = token.to_owned();
        let s = &s;
        async move { stream(s, &token, "DELETE", &path, None).await }
    };
    let (status, body) = delete(&alice, "other", &url).await;
    assert_eq!((status, body), (200, json!({"duration": "0ms"})));
    assert_eq!(files_in(&folder), both, "not an upload of that channel");
    for unknown in [
        "http://nowhere/uploads/0123456789abcdef0123456789abcdef",
        "junk",
        "",
    ] {
        let (status, body) = delete(&alice, "files", unknown).await;
        assert_eq!(
            (status, body),
            (200, json!({"duration": "0ms"})),
            "{unknown}"
        );
    }
    let (status, body) = stream(&s, &alice, "DELETE", "/channels/messaging/files/file", None).await;
    assert_eq!((status, body["code"].clone()), (400, json!(4)), "{body}");
    let (status, body) = delete(&bob, "files", &url).await;
    assert_eq!((status, body), (200, json!({"duration": "0ms"})));
    assert_eq!(files_in(&folder), std::slice::from_ref(&image_name));
    let resp = s.http.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 404);

    // A restart keeps the files and what the relay knows of them.
    assert!(s.terminate().await, "clean exit on SIGTERM");
    let s = demo_with(&db.url, &args).await;
    let resp = s
        .http
        .get(s.url(&format!("/uploads/{image_name}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(&resp.bytes().await.unwrap()[..], b"\x00sealed");
    let (alice, _) = stream_token(&s, "alice").await;
    let path = format!("/channels/messaging/files/image?url={}", encode(&image_url));
    let (status, _) = stream(&s, &alice, "DELETE", &path, None).await;
    assert_eq!(status, 200);
    assert_eq!(files_in(&folder), Vec::<String>::new());
}

/// Percent-encodes a query parameter value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Without `--uploads`: beside a SQLite file, or (PostgreSQL) a temporary folder removed
/// at exit; a folder that cannot be made stops the server with a clear error.
async fn uploads_folder_defaults(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let s = demo_with(&db.url, &[]).await;
    let (alice, _) = stream_token(&s, "alice").await;
    let (status, _) = stream(
        &s,
        &alice,
        "POST",
        "/channels/messaging/solo/query",
        Some(json!({"data": {"members": ["alice"]}})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = upload(&s, &alice, "/channels/messaging/solo/file", b"sealed").await;
    assert_eq!(status, 200, "{body}");
    let name = body["file"].as_str().unwrap().rsplit('/').next().unwrap();
    let logs = without_colours(&s.logs());
    let folder = logs
        .split_whitespace()
        .find_map(|w| w.strip_prefix("folder="))
        .unwrap_or_else(|| panic!("no uploads folder in the logs: {logs}"));
    let folder = PathBuf::from(folder);
    assert_eq!(files_in(&folder), [name]);
    assert!(s.terminate().await, "clean exit on SIGTERM");
    match backend {
        Backend::Sqlite => {
            let db_file = db.url.strip_prefix("sqlite://").unwrap();
            assert_eq!(folder, PathBuf::from(format!("{db_file}-uploads")));
            assert!(folder.is_dir(), "kept with the database");
        }
        Backend::Postgres => {
            assert!(
                folder.starts_with(std::env::temp_dir()),
                "{}",
                folder.display()
            );
            assert!(!folder.exists(), "the temporary folder is removed at exit");
        }
    }

    std::fs::write(db.scratch().join("a-file"), b"").unwrap();
    let out = tokio::process::Command::new(support::BIN)
        .args(["--listen", "127.0.0.1:0", "--db", &db.url])
        .arg("--uploads")
        .arg(db.scratch().join("a-file").join("uploads"))
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot create the uploads folder") && stderr.contains("--uploads"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "it never listened");
}

/// `text` without its ANSI colour codes.
fn without_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
