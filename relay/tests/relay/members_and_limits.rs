//! Only a channel's members reach it (members added later see the history, removed ones
//! lose access), and Stream's limits and rules with Stream's error shape.

use serde_json::json;

use super::support::{self, Backend, TestDb};
use super::{demo, forged_token, stream, stream_token};

crate::on_both_databases!(members_only_and_stream_limits);

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
