//! The group-session share mailbox (PROTOCOL §7 `/v2/shares`, §9) end to end: a real
//! server process on loopback, over SQLite and over PostgreSQL, with the same tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::Duration;

use chatseal::proto::{b64u_encode, Card, KeyringEntry, Rotation};
use chatseal_server::auth::unix_now;
use chatseal_server::store::{NewShare, Store};
use rand_core::OsRng;
use rand_core::RngCore;
use serde_json::{json, Value};
use support::{error_code, setup, App, Backend, Server};

on_both_databases!(
    only_the_recipient_reads_a_share,
    shares_are_checked_before_storage,
    the_body_limit_is_1_mib_for_shares_only,
    a_retry_stores_nothing_new,
    the_feed_pages_by_100,
    retention_deletes_old_shares_only,
    shares_survive_a_restart,
    shares_need_a_token,
    a_reader_following_the_feed_misses_nothing,
);

const S1: &str = "00112233445566778899aabbccddeeff";
const S2: &str = "ffeeddccbbaa99887766554433221100";

/// A member with keys; `card()` is published by `join`.
struct Member {
    identity: String,
    entry: KeyringEntry,
}

impl Member {
    fn new(identity: &str) -> Self {
        Member {
            identity: identity.to_owned(),
            entry: KeyringEntry::generate(&mut OsRng, identity, unix_now(), None).unwrap(),
        }
    }

    fn card(&self) -> &Card {
        self.entry.card()
    }

    /// Publishes the card and returns a token for this member.
    async fn join(&self, s: &Server, app: &App) -> String {
        let t = app.token(&self.identity);
        let (status, body) = s
            .call(
                "POST",
                "/v2/cards",
                Some(&t),
                Some(&json!({"card": self.card().to_text()})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        t
    }

    /// A share: a §11 pairwise text from this member's card to `to`. The directory
    /// checks only its clear header (`CSP2`, sender and recipient card ids, msg_id); the
    /// sealed body, content type 4 inside it, is random bytes here, as long as a body
    /// with a context of `context_len` bytes, so that sizes stay near a real share's.
    fn share_to(&self, to: &Card, context_len: usize) -> String {
        pairwise(self.card(), to, context_len + 240)
    }
}

/// `"csp2." || b64u(pheader || body)` from `from` to `to`, with a random msg_id and a
/// random `body_len`-byte body (PROTOCOL §11).
fn pairwise(from: &Card, to: &Card, body_len: usize) -> String {
    let mut bytes = b"CSP2".to_vec();
    bytes.extend_from_slice(&from.id().0);
    bytes.extend_from_slice(&to.id().0);
    let mut rest = vec![0u8; 16 + body_len];
    OsRng.fill_bytes(&mut rest);
    bytes.extend_from_slice(&rest);
    format!("csp2.{}", b64u_encode(&bytes))
}

fn entry(to: &str, session_id: &str, share: &str) -> Value {
    json!({"to": to, "session_id": session_id, "share": share})
}

fn body(entries: Vec<Value>) -> Value {
    json!({ "shares": entries })
}

async fn post(s: &Server, t: &str, entries: Vec<Value>) -> (u16, Value) {
    s.call("POST", "/v2/shares", Some(t), Some(&body(entries)))
        .await
}

async fn session(s: &Server, t: &str, session_id: &str) -> Vec<String> {
    let (status, body) = s
        .call(
            "GET",
            &format!("/v2/shares?session_id={session_id}"),
            Some(t),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body["shares"].clone()).unwrap()
}

/// One page of the feed: (session_id, share, cursor) triples and `next`.
async fn feed(s: &Server, t: &str, after: &str) -> (Vec<(String, String, String)>, String) {
    let (status, body) = s
        .call("GET", &format!("/v2/shares?after={after}"), Some(t), None)
        .await;
    assert_eq!(status, 200, "{body}");
    let shares = body["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e.as_object().unwrap().len(), 3, "{e}");
            (
                e["session_id"].as_str().unwrap().to_owned(),
                e["share"].as_str().unwrap().to_owned(),
                e["cursor"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (shares, body["next"].as_str().unwrap().to_owned())
}

/// Every share of the feed from the beginning, page after page.
async fn whole_feed(s: &Server, t: &str) -> Vec<(String, String, String)> {
    let (mut all, mut next) = (Vec::new(), "0".to_owned());
    loop {
        let (page, after) = feed(s, t, &next).await;
        if page.is_empty() {
            assert_eq!(after, next);
            return all;
        }
        all.extend(page);
        next = after;
    }
}

async fn only_the_recipient_reads_a_share(backend: Backend) {
    let Some((_db, app, s)) = setup(backend).await else {
        return;
    };
    let (alice, bob, carol) = (
        Member::new("alice"),
        Member::new("bob@clinic-a"),
        Member::new("carol"),
    );
    let ta = alice.join(&s, &app).await;
    let tb = bob.join(&s, &app).await;
    let tc = carol.join(&s, &app).await;
    let to_alice = alice.share_to(alice.card(), 9);
    let to_bob_s1 = alice.share_to(bob.card(), 9);
    let to_bob_s2 = alice.share_to(bob.card(), 9);
    let (status, answer) = post(
        &s,
        &ta,
        vec![
            entry("alice", S1, &to_alice),
            entry("bob@clinic-a", S1, &to_bob_s1),
            entry("bob@clinic-a", S2, &to_bob_s2),
        ],
    )
    .await;
    assert_eq!((status, answer), (201, json!({"stored": 3})));

    // Each reads what is addressed to it, for the session asked for only.
    assert_eq!(session(&s, &tb, S1).await, [to_bob_s1.as_str()]);
    assert_eq!(session(&s, &tb, S2).await, [to_bob_s2.as_str()]);
    assert_eq!(session(&s, &ta, S1).await, [to_alice.as_str()]);
    assert!(session(&s, &ta, S2).await.is_empty());
    // Carol, with a valid token, sees nothing of it: not by session, not in her feed.
    assert!(session(&s, &tc, S1).await.is_empty());
    assert!(session(&s, &tc, S2).await.is_empty());
    assert_eq!(feed(&s, &tc, "0").await, (vec![], "0".to_owned()));
    assert!(whole_feed(&s, &tc).await.is_empty());
    // Bob's feed: both his shares, oldest first, with their sessions.
    let bobs = whole_feed(&s, &tb).await;
    let got: Vec<(&str, &str)> = bobs
        .iter()
        .map(|(sid, share, _)| (sid.as_str(), share.as_str()))
        .collect();
    assert_eq!(got, [(S1, to_bob_s1.as_str()), (S2, to_bob_s2.as_str())]);
    // The sender does not read its recipients' shares either.
    let alices = whole_feed(&s, &ta).await;
    assert_eq!(alices.len(), 1);
    assert_eq!(alices[0].1, to_alice);

    // A share from an older card of the sender's (after a rotation) is still the
    // sender's; so is one from a revoked card.
    let rotated = KeyringEntry::generate(
        &mut OsRng,
        "alice",
        unix_now(),
        Some(Rotation {
            prev_card_id: alice.card().id(),
            prev_keys: alice.entry.keys(),
        }),
    )
    .unwrap();
    let (status, _) = s
        .call(
            "POST",
            "/v2/cards",
            Some(&ta),
            Some(&json!({"card": rotated.card().to_text()})),
        )
        .await;
    assert_eq!(status, 201);
    let from_old = alice.share_to(carol.card(), 3);
    assert_eq!(
        post(&s, &ta, vec![entry("carol", S1, &from_old)]).await,
        (201, json!({"stored": 1}))
    );
    assert_eq!(s.call("DELETE", "/v2/cards", Some(&ta), None).await.0, 200);
    let from_revoked = Member {
        identity: "alice".into(),
        entry: rotated,
    }
    .share_to(carol.card(), 3);
    assert_eq!(
        post(&s, &ta, vec![entry("carol", S1, &from_revoked)]).await,
        (201, json!({"stored": 1}))
    );
    assert_eq!(session(&s, &tc, S1).await, [from_old, from_revoked]);
}

async fn shares_are_checked_before_storage(backend: Backend) {
    let Some((_db, app, s)) = setup(backend).await else {
        return;
    };
    let (alice, bob, mallory) = (
        Member::new("alice"),
        Member::new("bob"),
        Member::new("mallory"),
    );
    let ta = alice.join(&s, &app).await;
    let tb = bob.join(&s, &app).await;
    mallory.join(&s, &app).await;
    let good = alice.share_to(bob.card(), 9);

    // A share sent from someone else's card, or from a card the directory does not
    // know, is not the caller's to store.
    let from_mallory = mallory.share_to(bob.card(), 9);
    let unpublished = Member::new("alice").share_to(bob.card(), 9);
    for (share, why) in [
        (&from_mallory, "another identity"),
        (&unpublished, "not in the directory"),
    ] {
        let (status, answer) = post(
            &s,
            &ta,
            vec![entry("bob", S1, &good), entry("bob", S1, share)],
        )
        .await;
        assert_eq!(error_code(status, &answer), "Forbidden", "{why}");
        assert_eq!(status, 403);
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("shares[1]") && message.contains(why),
            "{message}"
        );
        assert!(!message.contains(share.as_str()));
    }

    // Not a §11 text: a §3 message, a v1 share, a wrong magic, a header cut short, a
    // body shorter than its 16-byte tag (`Integrity`, PROTOCOL's Notation).
    let header = |magic: &[u8], len: usize| {
        let mut bytes = magic.to_vec();
        bytes.extend_from_slice(&alice.card().id().0);
        bytes.extend_from_slice(&bob.card().id().0);
        bytes.resize(bytes.len() + len, 3);
        format!("csp2.{}", b64u_encode(&bytes))
    };
    let csm2 = good.replacen("csp2.", "csm2.", 1);
    let csm1 = good.replacen("csp2.", "csm1.", 1);
    let bad_magic = header(b"CSP1", 32);
    let cut_short = header(b"CSP2", 15);
    let no_tag = header(b"CSP2", 16 + 15);
    let just_a_tag = header(b"CSP2", 16 + 16);
    let padded = format!("{good}=");
    let card_text = alice.card().to_text();
    let long = alice.share_to(bob.card(), 3200);
    assert!(long.len() > 4096, "{}", long.len());
    let uppercase = S1.to_uppercase();
    let cases: Vec<(Value, &str, &str)> = vec![
        (entry("bob", S1, &csm2), "Malformed", "not a csp2. message"),
        (entry("bob", S1, &csm1), "Malformed", "shares[1].share"),
        (entry("bob", S1, &bad_magic), "Malformed", "bad magic"),
        (entry("bob", S1, &cut_short), "Malformed", "too short"),
        (entry("bob", S1, &no_tag), "Integrity", "shares[1].share"),
        (entry("bob", S1, &padded), "Malformed", "shares[1].share"),
        (entry("bob", S1, ""), "Malformed", "shares[1].share"),
        (entry("bob", S1, "hello"), "Malformed", "shares[1].share"),
        (
            entry("bob", S1, "csp2.AAAA"),
            "Malformed",
            "shares[1].share",
        ),
        (
            entry("bob", S1, "csp2.!!!!"),
            "Malformed",
            "shares[1].share",
        ),
        (entry("bob", S1, &card_text), "Malformed", "shares[1].share"),
        (
            entry("bob", S1, &long),
            "InvalidArgument",
            "shares[1].share",
        ),
        (
            entry("bob", &uppercase, &good),
            "InvalidArgument",
            "shares[1].session_id",
        ),
        (
            entry("bob", &S1[1..], &good),
            "InvalidArgument",
            "shares[1].session_id",
        ),
        (
            entry("bob", &format!("{S1}00"), &good),
            "InvalidArgument",
            "shares[1].session_id",
        ),
        (
            entry("bob", &S1.replace('a', "g"), &good),
            "InvalidArgument",
            "shares[1].session_id",
        ),
        (
            entry("bob", "", &good),
            "InvalidArgument",
            "shares[1].session_id",
        ),
        (entry("", S1, &good), "InvalidArgument", "shares[1].to"),
        (
            entry("b\u{7}ob", S1, &good),
            "InvalidArgument",
            "shares[1].to",
        ),
        (
            entry(&"b".repeat(257), S1, &good),
            "InvalidArgument",
            "shares[1].to",
        ),
    ];
    for (bad, code, names) in cases {
        let (status, answer) = post(&s, &ta, vec![entry("bob", S1, &good), bad.clone()]).await;
        assert_eq!(
            (status, error_code(status, &answer).as_str()),
            (400, code),
            "{bad}"
        );
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(names), "{message}");
        let text = bad["share"].as_str().unwrap();
        assert!(
            text.len() < 8 || !message.contains(text),
            "echoes the share: {message}"
        );
    }
    // Not 1 to 1000 entries, or not the JSON this endpoint takes.
    assert_eq!(
        s.refusal("POST", "/v2/shares", Some(&ta), Some(&body(vec![])))
            .await,
        (400, "InvalidArgument")
    );
    let many = vec![entry("bob", S1, &good); 1001];
    assert_eq!(
        s.refusal("POST", "/v2/shares", Some(&ta), Some(&body(many)))
            .await,
        (400, "InvalidArgument")
    );
    for bad in [
        json!({}),
        json!({"shares": {}}),
        json!({"shares": [{"to": "bob", "session_id": S1}]}),
        json!({"shares": [{"to": "bob", "session_id": S1, "share": good, "x": 1}]}),
        json!({"shares": [], "extra": 1}),
    ] {
        assert_eq!(
            s.refusal("POST", "/v2/shares", Some(&ta), Some(&bad)).await,
            (400, "Malformed"),
            "{bad}"
        );
    }
    // All or nothing: the valid first entry of every refused request was not stored.
    assert!(whole_feed(&s, &tb).await.is_empty());
    // 1000 entries are fine.
    let most = vec![entry("bob", S1, &good); 1000];
    assert_eq!(post(&s, &ta, most).await, (201, json!({"stored": 1})));
    assert_eq!(session(&s, &tb, S1).await, [good]);
    // The shortest body there is, just its tag, is a share as far as the directory can
    // tell.
    assert_eq!(
        post(&s, &ta, vec![entry("bob", S2, &just_a_tag)]).await,
        (201, json!({"stored": 1}))
    );

    // Bad queries.
    for query in [
        "",
        "?",
        &format!("?session_id={S1}&after=0"),
        "?session_id=",
        &format!("?session_id={}", S1.to_uppercase()),
        "?session_id=abc",
        "?after=-1",
        "?after=abc",
        "?after=1.5",
        "?after=%2B5",
        "?after=%201",
        "?after=9223372036854775808",
        "?after=99999999999999999999",
        "?after=0&after=1",
        "?cursor=0",
        "?after=0&limit=10",
    ] {
        assert_eq!(
            s.refusal("GET", &format!("/v2/shares{query}"), Some(&tb), None)
                .await,
            (400, "InvalidArgument"),
            "{query}"
        );
    }
    let (page, next) = feed(&s, &tb, "9223372036854775807").await;
    assert_eq!((page.len(), next.as_str()), (0, "9223372036854775807"));
    assert_eq!(
        s.refusal("DELETE", "/v2/shares", Some(&tb), None).await,
        (405, "MethodNotAllowed")
    );
}

async fn the_body_limit_is_1_mib_for_shares_only(backend: Backend) {
    let Some((_db, app, s)) = setup(backend).await else {
        return;
    };
    let (alice, bob) = (Member::new("alice"), Member::new("bob"));
    let ta = alice.join(&s, &app).await;
    let tb = bob.join(&s, &app).await;
    // Shares near the 4096-byte limit (a long context), each one distinct.
    let sample = alice.share_to(bob.card(), 2700);
    assert!((3900..=4096).contains(&sample.len()), "{}", sample.len());
    let request = |n: usize| {
        let entries = (0..n)
            .map(|_| entry("bob", S1, &alice.share_to(bob.card(), 2700)))
            .collect();
        serde_json::to_vec(&body(entries)).unwrap()
    };
    let json_ct = Some("application/json");
    let fits = request(232);
    assert!(
        (900 * 1024..1024 * 1024).contains(&fits.len()),
        "{}",
        fits.len()
    );
    let (status, answer) = s.raw("POST", "/v2/shares", Some(&ta), json_ct, fits).await;
    assert_eq!((status, answer), (201, json!({"stored": 232})));
    assert_eq!(session(&s, &tb, S1).await.len(), 100);

    let over = request(270);
    assert!(over.len() > 1024 * 1024, "{}", over.len());
    let (status, answer) = s.raw("POST", "/v2/shares", Some(&ta), json_ct, over).await;
    assert_eq!(
        (status, error_code(status, &answer).as_str()),
        (413, "PayloadTooLarge")
    );
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap()
        .contains("1048576"));
    // Every other route keeps its 64 KiB limit.
    let big = format!("{{\"identities\": [\"{}\"]}}", "a".repeat(70 * 1024)).into_bytes();
    let (status, answer) = s
        .raw("POST", "/v2/cards/lookup", Some(&ta), json_ct, big)
        .await;
    assert_eq!(
        (status, error_code(status, &answer).as_str()),
        (413, "PayloadTooLarge")
    );
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap()
        .contains("65536"));
}

async fn a_retry_stores_nothing_new(backend: Backend) {
    let Some((_db, app, s)) = setup(backend).await else {
        return;
    };
    let (alice, bob, carol) = (
        Member::new("alice"),
        Member::new("bob"),
        Member::new("carol"),
    );
    let ta = alice.join(&s, &app).await;
    let tb = bob.join(&s, &app).await;
    let tc = carol.join(&s, &app).await;
    let shares: Vec<String> = (0..3).map(|_| alice.share_to(bob.card(), 5)).collect();
    let entries: Vec<Value> = shares.iter().map(|sh| entry("bob", S1, sh)).collect();
    assert_eq!(
        post(&s, &ta, entries.clone()).await,
        (201, json!({"stored": 3}))
    );
    let before = whole_feed(&s, &tb).await;
    assert_eq!(
        post(&s, &ta, entries.clone()).await,
        (201, json!({"stored": 0}))
    );
    // Repeats inside one request count once; an old one beside a new one is skipped.
    let fresh = alice.share_to(bob.card(), 5);
    let mut again = entries;
    again.extend([entry("bob", S1, &fresh), entry("bob", S1, &fresh)]);
    assert_eq!(post(&s, &ta, again).await, (201, json!({"stored": 1})));
    let after = whole_feed(&s, &tb).await;
    assert_eq!(&after[..3], &before[..]);
    assert_eq!(after.len(), 4);
    assert_eq!(after[3].1, fresh);
    // The same text for another recipient is another share (the server cannot tell
    // whom it is sealed to); carol stores it too.
    assert_eq!(
        post(
            &s,
            &tc,
            vec![entry("alice", S2, &carol.share_to(alice.card(), 5))]
        )
        .await,
        (201, json!({"stored": 1}))
    );
    assert_eq!(
        post(&s, &ta, vec![entry("carol", S1, &shares[0])]).await,
        (201, json!({"stored": 1}))
    );
    assert_eq!(session(&s, &tc, S1).await, [shares[0].clone()]);
}

async fn the_feed_pages_by_100(backend: Backend) {
    let Some((_db, app, s)) = setup(backend).await else {
        return;
    };
    let (alice, bob) = (Member::new("alice"), Member::new("bob"));
    let ta = alice.join(&s, &app).await;
    let tb = bob.join(&s, &app).await;
    // 250 shares in two requests, alternating between two sessions; a share for alice
    // in between must not show in bob's feed.
    let sent: Vec<(&str, String)> = (0..250)
        .map(|i| {
            (
                if i % 2 == 0 { S1 } else { S2 },
                alice.share_to(bob.card(), 1),
            )
        })
        .collect();
    let entries = |range: std::ops::Range<usize>| {
        sent[range]
            .iter()
            .map(|(sid, sh)| entry("bob", sid, sh))
            .collect::<Vec<_>>()
    };
    assert_eq!(post(&s, &ta, entries(0..120)).await.0, 201);
    let own = alice.share_to(alice.card(), 1);
    assert_eq!(post(&s, &ta, vec![entry("alice", S1, &own)]).await.0, 201);
    assert_eq!(post(&s, &ta, entries(120..250)).await.0, 201);

    let (first, empty_after) = feed(&s, &tb, "").await;
    assert_eq!(first, feed(&s, &tb, "0").await.0, "after= is after=0");
    let mut pages = vec![first.len()];
    let mut all = first;
    let mut next = empty_after;
    assert_eq!(next, all.last().unwrap().2);
    loop {
        let (page, after) = feed(&s, &tb, &next).await;
        pages.push(page.len());
        if page.is_empty() {
            assert_eq!(
                after, next,
                "an empty page gives back the cursor asked with"
            );
            break;
        }
        assert_eq!(after, page.last().unwrap().2);
        all.extend(page);
        next = after;
    }
    assert_eq!(pages, [100, 100, 50, 0]);
    let got: Vec<(&str, &str)> = all
        .iter()
        .map(|(sid, sh, _)| (sid.as_str(), sh.as_str()))
        .collect();
    let want: Vec<(&str, &str)> = sent.iter().map(|(sid, sh)| (*sid, sh.as_str())).collect();
    assert_eq!(got, want, "every share once, oldest first");
    let cursors: Vec<u64> = all.iter().map(|(_, _, c)| c.parse().unwrap()).collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]));
    // Resuming in the middle gives the rest.
    let (rest, _) = feed(&s, &tb, &all[199].2).await;
    assert_eq!(rest, all[200..]);
    // By session: at most 100, oldest first, only that session.
    let s1 = session(&s, &tb, S1).await;
    let want_s1: Vec<String> = sent
        .iter()
        .filter(|(sid, _)| *sid == S1)
        .take(100)
        .map(|(_, sh)| sh.clone())
        .collect();
    assert_eq!(s1, want_s1);
    assert_eq!(session(&s, &ta, S1).await, [own]);
    assert!(session(&s, &ta, S2).await.is_empty());
}

async fn retention_deletes_old_shares_only(backend: Backend) {
    let Some((db, app, s)) = setup(backend).await else {
        return;
    };
    let (alice, bob) = (Member::new("alice"), Member::new("bob"));
    let ta = alice.join(&s, &app).await;
    let tb = bob.join(&s, &app).await;
    let recent = alice.share_to(bob.card(), 1);
    assert_eq!(post(&s, &ta, vec![entry("bob", S1, &recent)]).await.0, 201);
    // Older shares, stored straight into the same database with earlier times.
    let store = Store::open(&db.url).await.unwrap();
    let now = unix_now() as i64;
    let (ten_days, two_days) = (alice.share_to(bob.card(), 1), alice.share_to(bob.card(), 1));
    for (text, age_days) in [(&ten_days, 10), (&two_days, 2)] {
        let share = NewShare {
            recipient: "bob",
            session_id: S1,
            share: text,
            share_hash: format!("test-{age_days}"),
        };
        assert_eq!(
            store
                .put_shares("alice", &[share], now - age_days * 86_400)
                .await
                .unwrap(),
            1
        );
    }
    assert_eq!(session(&s, &tb, S1).await.len(), 3);
    // Keep 7 days: only the 10-day-old one goes.
    assert_eq!(store.expire_shares(now, 7).await.unwrap(), 1);
    assert_eq!(store.expire_shares(now, 7).await.unwrap(), 0);
    assert_eq!(session(&s, &tb, S1).await, [recent.clone(), two_days]);
    assert!(s.terminate().await);

    // The server's hourly task, which also runs at start, keeps 1 day.
    let s = Server::start(&db.url, &app, &["--share-retention-days", "1"]).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let left = session(&s, &tb, S1).await;
        if left == [recent.clone()] {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the 2-day-old share is still there: {} left",
            left.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    while !s.logs().contains("expired shares") {
        assert!(tokio::time::Instant::now() < deadline, "{}", s.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Deleting everything does not make ids restart: a later share sorts after the
    // cursor a client already holds.
    let held = feed(&s, &tb, "0").await.1;
    assert_eq!(store.expire_shares(now + 30 * 86_400, 1).await.unwrap(), 1);
    assert_eq!(feed(&s, &tb, &held).await, (vec![], held.clone()));
    let later = alice.share_to(bob.card(), 1);
    assert_eq!(post(&s, &ta, vec![entry("bob", S2, &later)]).await.0, 201);
    let (page, _) = feed(&s, &tb, &held).await;
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].1, later);
    store.close().await;
}

async fn shares_survive_a_restart(backend: Backend) {
    let Some((db, app, s)) = setup(backend).await else {
        return;
    };
    let (alice, bob) = (Member::new("alice"), Member::new("bob"));
    let ta = alice.join(&s, &app).await;
    let tb = app.token("bob");
    s.call(
        "POST",
        "/v2/cards",
        Some(&tb),
        Some(&json!({"card": bob.card().to_text()})),
    )
    .await;
    let first: Vec<String> = (0..3).map(|_| alice.share_to(bob.card(), 1)).collect();
    let entries = first.iter().map(|sh| entry("bob", S1, sh)).collect();
    assert_eq!(post(&s, &ta, entries).await.0, 201);
    let before = whole_feed(&s, &tb).await;
    s.kill9().await;

    let s = Server::start(&db.url, &app, &[]).await;
    assert_eq!(whole_feed(&s, &tb).await, before);
    assert_eq!(session(&s, &tb, S1).await, first);
    // New shares continue after the old ones.
    let more = alice.share_to(bob.card(), 1);
    assert_eq!(
        post(&s, &ta, vec![entry("bob", S1, &more)]).await,
        (201, json!({"stored": 1}))
    );
    let (page, next) = feed(&s, &tb, &before.last().unwrap().2).await;
    assert_eq!(page.len(), 1);
    assert_eq!(
        (page[0].1.as_str(), page[0].2.as_str()),
        (more.as_str(), next.as_str())
    );
}

async fn shares_need_a_token(backend: Backend) {
    let Some((_db, app, s)) = setup(backend).await else {
        return;
    };
    let (alice, bob) = (Member::new("alice"), Member::new("bob"));
    let ta = alice.join(&s, &app).await;
    let share = alice.share_to(bob.card(), 1);
    let request = body(vec![entry("bob", S1, &share)]);
    let expired = {
        let mut claims = App::claims("bob");
        claims["iat"] = json!(unix_now() - 7200);
        claims["exp"] = json!(unix_now() - 3600);
        app.signed(support::KID, &claims)
    };
    for token in [None, Some("not-a-jwt"), Some(expired.as_str())] {
        for (method, path, b) in [
            ("POST", "/v2/shares".to_owned(), Some(&request)),
            ("GET", format!("/v2/shares?session_id={S1}"), None),
            ("GET", "/v2/shares?after=0".to_owned(), None),
        ] {
            assert_eq!(
                s.refusal(method, &path, token, b).await,
                (401, "Unauthorized"),
                "{method} {path} {token:?}"
            );
        }
    }
    // Without a token nothing was stored.
    assert!(session(&s, &app.token("bob"), S1).await.is_empty());
    assert_eq!(
        post(&s, &ta, vec![entry("bob", S1, &share)]).await,
        (201, json!({"stored": 1}))
    );
}

/// Writers post at once while a reader follows the feed: every share reaches the reader
/// exactly once, as no id becomes visible before a smaller one (the `share_ids` row).
async fn a_reader_following_the_feed_misses_nothing(backend: Backend) {
    use std::collections::HashSet;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let Some((_db, app, s)) = setup(backend).await else {
        return;
    };
    let bob = Member::new("bob");
    let tb = bob.join(&s, &app).await;
    let s = Arc::new(s);
    let bob_card = Arc::new(bob.card().clone());
    let mut writers = Vec::new();
    for w in 0..6 {
        let member = Member::new(&format!("writer{w}"));
        let t = member.join(&s, &app).await;
        let (s, bob_card) = (s.clone(), bob_card.clone());
        writers.push(tokio::spawn(async move {
            let mut sent = Vec::new();
            for _ in 0..15 {
                let batch: Vec<String> = (0..4).map(|_| member.share_to(&bob_card, 1)).collect();
                let entries = batch.iter().map(|sh| entry("bob", S1, sh)).collect();
                assert_eq!(post(&s, &t, entries).await, (201, json!({"stored": 4})));
                sent.extend(batch);
            }
            sent
        }));
    }
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (s, tb, done) = (s.clone(), tb.clone(), done.clone());
        tokio::spawn(async move {
            let (mut seen, mut next) = (Vec::new(), "0".to_owned());
            loop {
                let finished = done.load(Ordering::SeqCst);
                let (page, after) = feed(&s, &tb, &next).await;
                if page.is_empty() && finished {
                    return seen;
                }
                seen.extend(page.into_iter().map(|(_, share, _)| share));
                next = after;
            }
        })
    };
    let mut sent = HashSet::new();
    for w in writers {
        sent.extend(w.await.unwrap());
    }
    done.store(true, Ordering::SeqCst);
    let seen = reader.await.unwrap();
    assert_eq!(seen.len(), 6 * 15 * 4, "each share once");
    assert_eq!(seen.into_iter().collect::<HashSet<_>>(), sent);
}
