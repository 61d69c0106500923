//! Passkey backups (PROTOCOL §4.1, §7 `/v2/backup`) end to end: a real server process on
//! loopback, over SQLite and over PostgreSQL, with the same tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use chatseal::proto::b64u_encode;
use chatseal_server::auth::unix_now;
use chatseal_server::store::{PasskeyPut, Store};
use serde_json::{json, Value};
use support::{setup, Backend, Server};

on_both_databases!(
    passkey_backups_sit_beside_the_password_backup,
    passkey_backups_are_listed_oldest_first,
    an_identity_keeps_at_most_16_passkey_backups,
    passkey_backups_are_checked_before_storage,
);

/// A `csw1.` text for `credential_id`; `fill` makes texts of one credential differ.
fn passkey(credential_id: &[u8], fill: u8) -> String {
    chatseal::proto::passkey::seal_bytes(
        &[fill; 40],
        credential_id,
        [fill; 32],
        &[7; 32],
        [fill; 24],
    )
    .unwrap()
}

fn body(backup: &str) -> Value {
    json!({ "backup": backup })
}

fn delete_path(credential_id: &[u8]) -> String {
    format!("/v2/backup?credential={}", b64u_encode(credential_id))
}

async fn put(s: &Server, token: &str, backup: &str) -> u16 {
    s.call("PUT", "/v2/backup", Some(token), Some(&body(backup)))
        .await
        .0
}

async fn listed(s: &Server, token: &str) -> (u16, Value) {
    s.call("GET", "/v2/backup", Some(token), None).await
}

async fn passkey_backups_sit_beside_the_password_backup(backend: Backend) {
    let Some((_db, app, s)) = setup(backend).await else {
        return;
    };
    let (ta, tb) = (app.token("alice"), app.token("bob"));
    assert_eq!(
        s.refusal("GET", "/v2/backup", Some(&ta), None).await,
        (404, "NotFound")
    );
    let (c1v1, c1v2, c2) = (passkey(b"c1", 1), passkey(b"c1", 2), passkey(b"c2", 3));
    assert_ne!(c1v1, c1v2);
    // Only a passkey backup: GET lists it alone.
    assert_eq!(put(&s, &ta, &c1v1).await, 201);
    assert_eq!(listed(&s, &ta).await, (200, json!({"backups": [c1v1]})));
    assert_eq!(put(&s, &ta, &c2).await, 201);
    let password = "csb1.AAECAwQF";
    assert_eq!(put(&s, &ta, password).await, 201);
    // The same credential again replaces its backup, keeping its place.
    assert_eq!(put(&s, &ta, &c1v2).await, 204);
    assert_eq!(
        listed(&s, &ta).await,
        (200, json!({"backups": [password, c1v2, c2]}))
    );
    // A new password backup replaces the old one and leaves the passkey ones alone.
    let password2 = "csb1.BQQDAgEA";
    assert_eq!(put(&s, &ta, password2).await, 204);
    assert_eq!(
        listed(&s, &ta).await,
        (200, json!({"backups": [password2, c1v2, c2]}))
    );

    // Bob sees, and deletes, nothing of Alice's.
    assert_eq!(listed(&s, &tb).await.0, 404);
    assert_eq!(
        s.refusal("DELETE", &delete_path(b"c1"), Some(&tb), None)
            .await,
        (404, "NotFound")
    );
    assert_eq!(
        s.refusal("DELETE", "/v2/backup", Some(&tb), None).await,
        (404, "NotFound")
    );

    // Deleting by credential deletes that one passkey backup only.
    assert_eq!(
        s.call("DELETE", &delete_path(b"c1"), Some(&ta), None)
            .await
            .0,
        204
    );
    assert_eq!(
        s.refusal("DELETE", &delete_path(b"c1"), Some(&ta), None)
            .await,
        (404, "NotFound")
    );
    assert_eq!(
        listed(&s, &ta).await,
        (200, json!({"backups": [password2, c2]}))
    );
    // Without a credential, DELETE is for the password backup only.
    assert_eq!(s.call("DELETE", "/v2/backup", Some(&ta), None).await.0, 204);
    assert_eq!(listed(&s, &ta).await, (200, json!({"backups": [c2]})));
    assert_eq!(
        s.refusal("DELETE", "/v2/backup", Some(&ta), None).await,
        (404, "NotFound")
    );
    assert_eq!(
        s.call("DELETE", &delete_path(b"c2"), Some(&ta), None)
            .await
            .0,
        204
    );
    assert_eq!(listed(&s, &ta).await.0, 404);

    for (path, why) in [
        ("/v2/backup?credential=a+b/", "base64, not base64url"),
        ("/v2/backup?credential=YWJj%3D", "padding"),
        ("/v2/backup?credential=", "an empty credential id"),
        ("/v2/backup?credential=YWJj&x=1", "an unknown parameter"),
    ] {
        assert_eq!(
            s.refusal("DELETE", path, Some(&ta), None).await,
            (400, "InvalidArgument"),
            "{why}"
        );
    }
    let long = delete_path(&[1; 1024]);
    assert_eq!(
        s.refusal("DELETE", &long, Some(&ta), None).await,
        (400, "InvalidArgument")
    );
    // Every passkey route needs the identity's token.
    assert_eq!(
        s.refusal("DELETE", &delete_path(b"c2"), None, None).await,
        (401, "Unauthorized")
    );
}

async fn passkey_backups_are_listed_oldest_first(backend: Backend) {
    let Some((db, app, s)) = setup(backend).await else {
        return;
    };
    let ta = app.token("alice");
    // Stored straight into the same database, with earlier times: the list is by time
    // first ("zz" is older than "aa"), then by credential id (both "m" ones at once).
    let store = Store::open(&db.url).await.unwrap();
    let now = unix_now() as i64;
    let (zz, m1, m2, aa) = (
        passkey(b"zz", 1),
        passkey(b"m1", 2),
        passkey(b"m2", 3),
        passkey(b"aa", 4),
    );
    for (id, text, at) in [
        (&b"zz"[..], &zz, now - 100),
        (b"m2", &m2, now - 50),
        (b"m1", &m1, now - 50),
    ] {
        assert_eq!(
            store
                .put_passkey_backup("alice", id, text, at)
                .await
                .unwrap(),
            PasskeyPut::Created
        );
    }
    assert_eq!(put(&s, &ta, &aa).await, 201);
    assert_eq!(
        listed(&s, &ta).await,
        (200, json!({"backups": [zz, m1, m2, aa]}))
    );
    // A replacement keeps its place; the password backup comes first.
    let zz2 = passkey(b"zz", 9);
    assert_eq!(put(&s, &ta, &zz2).await, 204);
    assert_eq!(put(&s, &ta, "csb1.AAAA").await, 201);
    assert_eq!(
        listed(&s, &ta).await,
        (200, json!({"backups": ["csb1.AAAA", zz2, m1, m2, aa]}))
    );
    store.close().await;
}

async fn an_identity_keeps_at_most_16_passkey_backups(backend: Backend) {
    let Some((_db, app, s)) = setup(backend).await else {
        return;
    };
    let (ta, tb) = (app.token("alice"), app.token("bob"));
    let credential = |n: u8| format!("credential-{n:02}").into_bytes();
    for n in 0..16 {
        assert_eq!(put(&s, &ta, &passkey(&credential(n), n)).await, 201);
    }
    let seventeenth = passkey(&credential(16), 16);
    assert_eq!(
        s.refusal("PUT", "/v2/backup", Some(&ta), Some(&body(&seventeenth)))
            .await,
        (409, "TooManyBackups")
    );
    // Replacing one of the 16, the password backup and another identity's are not
    // limited by it.
    assert_eq!(put(&s, &ta, &passkey(&credential(3), 99)).await, 204);
    assert_eq!(put(&s, &ta, "csb1.AAAA").await, 201);
    assert_eq!(put(&s, &tb, &seventeenth).await, 201);
    let (status, all) = listed(&s, &ta).await;
    assert_eq!(
        (status, all["backups"].as_array().unwrap().len()),
        (200, 17)
    );
    assert!(!all["backups"]
        .as_array()
        .unwrap()
        .contains(&json!(seventeenth)));
    // Once one is deleted there is room again.
    assert_eq!(
        s.call("DELETE", &delete_path(&credential(0)), Some(&ta), None)
            .await
            .0,
        204
    );
    assert_eq!(put(&s, &ta, &seventeenth).await, 201);
    assert_eq!(
        s.refusal(
            "PUT",
            "/v2/backup",
            Some(&ta),
            Some(&body(&passkey(&credential(0), 0)))
        )
        .await,
        (409, "TooManyBackups")
    );
}

async fn passkey_backups_are_checked_before_storage(backend: Backend) {
    let Some((_db, app, s)) = setup(backend).await else {
        return;
    };
    let ta = app.token("alice");
    let cases: Vec<(String, &str, &str)> = vec![
        ("csw1.AAAA".into(), "Malformed", "too short for its layout"),
        ("csw1.a+b/".into(), "Malformed", "base64, not base64url"),
        (
            passkey(b"c1", 1).replacen("csw1.", "csw1.AAAA", 1),
            "Malformed",
            "the wrong magic",
        ),
        (passkey(b"", 1), "InvalidArgument", "an empty credential id"),
        (
            passkey(&[1; 1024], 1),
            "InvalidArgument",
            "a credential id over 1023 bytes",
        ),
        (
            "csx1.AAAA".into(),
            "InvalidArgument",
            "neither csb1. nor csw1.",
        ),
        (
            "CSW1.AAAA".into(),
            "InvalidArgument",
            "an upper-case prefix",
        ),
        (String::new(), "InvalidArgument", "empty"),
        (
            format!("csw1.{}", "A".repeat(50_000)),
            "InvalidArgument",
            "over the size limit",
        ),
    ];
    for (text, code, why) in &cases {
        assert_eq!(
            s.refusal("PUT", "/v2/backup", Some(&ta), Some(&body(text)))
                .await,
            (400, *code),
            "{why}"
        );
    }
    assert_eq!(
        s.refusal("GET", "/v2/backup", Some(&ta), None).await,
        (404, "NotFound")
    );
    // The longest credential id allowed is stored, and deleted by it.
    let longest = [2; 1023];
    assert_eq!(put(&s, &ta, &passkey(&longest, 1)).await, 201);
    assert_eq!(
        s.call("DELETE", &delete_path(&longest), Some(&ta), None)
            .await
            .0,
        204
    );
    assert_eq!(
        s.refusal("PUT", "/v2/backup", None, Some(&body(&passkey(b"c1", 1))))
            .await,
        (401, "Unauthorized")
    );
}
