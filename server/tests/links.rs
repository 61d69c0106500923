//! Device links (PROTOCOL §7 `/v2/link/{link_id}`, §13) end to end: a real server process
//! on loopback, over SQLite and over PostgreSQL, with the same tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use chatseal::proto::b64u_encode;
use chatseal_server::auth::unix_now;
use chatseal_server::store::{LinkPut, Store, LINK_TTL};
use serde_json::{json, Value};
use support::{setup, Backend, Server};

on_both_databases!(
    an_offer_is_read_once_by_its_identity,
    offers_are_checked_before_storage,
    an_identity_has_at_most_8_offers_waiting,
    offers_expire_after_5_minutes,
);

/// The path of link id `n` (16 bytes, lowercase hex).
fn link(n: u8) -> String {
    format!("/v2/link/{}", link_hex(n))
}

fn link_hex(n: u8) -> String {
    hex::encode(link_id(n))
}

fn link_id(n: u8) -> [u8; 16] {
    let mut id = [0xab; 16];
    id[15] = n;
    id
}

/// A `csl1.` text of `len` bytes (an HPKE enc and a sealed keyring, as far as the
/// directory can tell).
fn offer(fill: u8, len: usize) -> String {
    format!("csl1.{}", b64u_encode(&vec![fill; len]))
}

fn body(offer: &str) -> Value {
    json!({ "offer": offer })
}

async fn post(s: &Server, token: &str, path: &str, offer: &str) -> (u16, Value) {
    s.call("POST", path, Some(token), Some(&body(offer))).await
}

async fn an_offer_is_read_once_by_its_identity(backend: Backend) {
    let Some((_db, app, s)) = setup(backend).await else {
        return;
    };
    let (ta, tb) = (app.token("alice"), app.token("bob"));
    let sent = offer(1, 500);
    // 404 before it exists.
    assert_eq!(
        s.refusal("GET", &link(1), Some(&ta), None).await,
        (404, "NotFound")
    );
    assert_eq!(post(&s, &ta, &link(1), &sent).await, (201, Value::Null));
    // The id is taken, for this identity and any other.
    assert_eq!(
        s.refusal("POST", &link(1), Some(&ta), Some(&body(&offer(2, 500))))
            .await,
        (409, "Conflict")
    );
    assert_eq!(
        s.refusal("POST", &link(1), Some(&tb), Some(&body(&offer(3, 500))))
            .await,
        (409, "Conflict")
    );
    // Another identity's token reads nothing and consumes nothing.
    assert_eq!(
        s.refusal("GET", &link(1), Some(&tb), None).await,
        (404, "NotFound")
    );
    assert_eq!(
        s.call("GET", &link(1), Some(&ta), None).await,
        (200, json!({ "offer": sent }))
    );
    // Once read, it is gone.
    assert_eq!(
        s.refusal("GET", &link(1), Some(&ta), None).await,
        (404, "NotFound")
    );
    // ... and its id stays used until it expires: a replayed offer is refused (409), so
    // the old device learns that the link was used, and nothing reaches a device that
    // already linked.
    assert_eq!(
        s.refusal("POST", &link(1), Some(&ta), Some(&body(&offer(4, 48))))
            .await,
        (409, "Conflict")
    );
    assert_eq!(
        s.refusal("GET", &link(1), Some(&ta), None).await,
        (404, "NotFound")
    );
    // Both routes need a token.
    assert_eq!(
        s.refusal("GET", &link(2), None, None).await,
        (401, "Unauthorized")
    );
    assert_eq!(
        s.refusal("POST", &link(2), None, Some(&body(&sent))).await,
        (401, "Unauthorized")
    );
}

async fn offers_are_checked_before_storage(backend: Backend) {
    let Some((_db, app, s)) = setup(backend).await else {
        return;
    };
    let ta = app.token("alice");
    let good = offer(1, 100);
    for (id, why) in [
        ("ABABABABABABABABABABABABABABAB01", "upper-case hex"),
        ("abababababababababababababababa", "31 digits"),
        ("ababababababababababababababab0102", "17 bytes"),
        ("abababababababababababababababzz", "not hex"),
        ("+bababababababababababababababab", "a sign"),
    ] {
        let path = format!("/v2/link/{id}");
        assert_eq!(
            s.refusal("POST", &path, Some(&ta), Some(&body(&good)))
                .await,
            (400, "InvalidArgument"),
            "POST {why}"
        );
        assert_eq!(
            s.refusal("GET", &path, Some(&ta), None).await,
            (400, "InvalidArgument"),
            "GET {why}"
        );
    }
    for (text, why) in [
        (good.replacen("csl1.", "", 1), "no prefix"),
        (good.replacen("csl1.", "csl2.", 1), "another prefix"),
        ("csl1.a+b/".to_owned(), "base64, not base64url"),
        ("csl1.AA==".to_owned(), "padding"),
        (offer(1, 47), "shorter than enc and tag"),
        (String::new(), "empty"),
        (offer(1, 60 * 1024 * 3 / 4 + 3), "over 60 KiB of text"),
    ] {
        assert_eq!(
            s.refusal("POST", &link(1), Some(&ta), Some(&body(&text)))
                .await,
            (400, "InvalidArgument"),
            "{why}"
        );
    }
    for (raw, why) in [
        (json!({ "offer": good, "extra": 1 }), "an unknown field"),
        (json!({ "offer": 1 }), "not a string"),
        (json!({}), "no offer"),
    ] {
        assert_eq!(
            s.refusal("POST", &link(1), Some(&ta), Some(&raw)).await,
            (400, "Malformed"),
            "{why}"
        );
    }
    // Nothing was stored; the edges of the limits are.
    assert_eq!(
        s.refusal("GET", &link(1), Some(&ta), None).await,
        (404, "NotFound")
    );
    let shortest = offer(2, 48);
    let longest = offer(3, 60 * 1024 * 3 / 4);
    assert_eq!(longest.len(), 60 * 1024 + 5);
    let longest = longest[..60 * 1024].to_owned();
    for (n, text) in [(1, &shortest), (2, &longest)] {
        assert_eq!(post(&s, &ta, &link(n), text).await.0, 201);
        assert_eq!(
            s.call("GET", &link(n), Some(&ta), None).await,
            (200, json!({ "offer": text }))
        );
    }
}

async fn an_identity_has_at_most_8_offers_waiting(backend: Backend) {
    let Some((_db, app, s)) = setup(backend).await else {
        return;
    };
    let (ta, tb) = (app.token("alice"), app.token("bob"));
    for n in 0..8 {
        assert_eq!(post(&s, &ta, &link(n), &offer(n, 64)).await.0, 201);
    }
    assert_eq!(
        s.refusal("POST", &link(8), Some(&ta), Some(&body(&offer(8, 64))))
            .await,
        (409, "TooManyLinks")
    );
    // A taken id is a conflict whatever the count.
    assert_eq!(
        s.refusal("POST", &link(0), Some(&ta), Some(&body(&offer(8, 64))))
            .await,
        (409, "Conflict")
    );
    // The limit is per identity.
    assert_eq!(post(&s, &tb, &link(8), &offer(8, 64)).await.0, 201);
    // A read frees a place.
    assert_eq!(s.call("GET", &link(3), Some(&ta), None).await.0, 200);
    assert_eq!(post(&s, &ta, &link(9), &offer(9, 64)).await.0, 201);
    assert_eq!(
        s.refusal("POST", &link(10), Some(&ta), Some(&body(&offer(10, 64))))
            .await,
        (409, "TooManyLinks")
    );
    for n in [0, 1, 2, 4, 5, 6, 7, 9] {
        assert_eq!(
            s.call("GET", &link(n), Some(&ta), None).await,
            (200, json!({ "offer": offer(n, 64) }))
        );
    }
    assert_eq!(
        s.call("GET", &link(8), Some(&tb), None).await,
        (200, json!({ "offer": offer(8, 64) }))
    );
}

async fn offers_expire_after_5_minutes(backend: Backend) {
    let Some((db, app, s)) = setup(backend).await else {
        return;
    };
    let ta = app.token("alice");
    // Offers stored straight into the same database, with earlier times.
    let store = Store::open(&db.url).await.unwrap();
    let now = unix_now() as i64;
    let put = |n: u8, at: i64| {
        let store = &store;
        async move {
            store
                .put_link(&link_id(n), "alice", &offer(n, 64), at)
                .await
                .unwrap()
        }
    };
    assert_eq!(put(1, now - LINK_TTL - 2).await, LinkPut::Created);
    assert_eq!(put(2, now - LINK_TTL + 60).await, LinkPut::Created);
    // Too old to read: 404, though it was never read.
    assert_eq!(
        s.refusal("GET", &link(1), Some(&ta), None).await,
        (404, "NotFound")
    );
    assert_eq!(
        s.call("GET", &link(2), Some(&ta), None).await,
        (200, json!({ "offer": offer(2, 64) }))
    );

    // The TTL, at explicit times: readable at exactly 300 s, not at 301 s, and a late
    // read takes nothing.
    assert_eq!(put(3, now).await, LinkPut::Created);
    assert_eq!(
        store
            .take_link(&link_id(3), "alice", now + LINK_TTL + 1)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .take_link(&link_id(3), "bob", now + LINK_TTL)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .take_link(&link_id(3), "alice", now + LINK_TTL)
            .await
            .unwrap(),
        Some(offer(3, 64))
    );
    // Read, its id stays used until the offer would have expired, then is free.
    assert_eq!(
        store
            .take_link(&link_id(3), "alice", now + LINK_TTL)
            .await
            .unwrap(),
        None
    );
    let again = |at: i64| {
        let store = &store;
        async move {
            store
                .put_link(&link_id(3), "alice", &offer(4, 64), at)
                .await
                .unwrap()
        }
    };
    assert_eq!(again(now + LINK_TTL).await, LinkPut::Taken);
    assert_eq!(again(now + LINK_TTL + 1).await, LinkPut::Created);
    assert_eq!(
        store
            .take_link(&link_id(3), "alice", now + LINK_TTL + 1)
            .await
            .unwrap(),
        Some(offer(4, 64))
    );

    // Expired offers count against no limit and are purged by the next POST: 8 old
    // ones do not stop a new one, and their ids are free again.
    for n in 10..18 {
        assert_eq!(put(n, now - LINK_TTL - 10).await, LinkPut::Created);
    }
    assert_eq!(post(&s, &ta, &link(10), &offer(99, 64)).await.0, 201);
    for n in 11..18 {
        assert_eq!(
            store
                .take_link(&link_id(n), "alice", now - LINK_TTL - 10)
                .await
                .unwrap(),
            None,
            "link {n} was purged"
        );
    }
    assert_eq!(
        s.call("GET", &link(10), Some(&ta), None).await,
        (200, json!({ "offer": offer(99, 64) }))
    );
    // An expired id that was not yet purged is free too.
    assert_eq!(put(20, now - LINK_TTL - 5).await, LinkPut::Created);
    assert_eq!(put(20, now).await, LinkPut::Created);
    store.close().await;
}
