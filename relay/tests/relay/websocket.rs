//! Events reach a channel's members over the WebSocket.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::support::{self, Backend, Server, TestDb};
use super::{demo, forged_token, stream, stream_token};

crate::on_both_databases!(
    events_reach_members_over_the_websocket,
    reading_tells_the_reader_what_is_left_unread,
);

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
