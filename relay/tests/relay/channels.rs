//! Channels and their messages: a distinct channel's cid, paging, what the database holds,
//! and all of it still there after the relay restarts.

use serde_json::{json, Value};

use super::support::{self, Backend, TestDb};
use super::{demo, stream, stream_token};

crate::on_both_databases!(channels_and_messages_survive_a_restart);

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
