//! The client engine (`chatseal::client::Engine`) against the real directory: a native
//! `Directory` over HTTP, the same contract the browser's `fetch` directory implements.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::Instant;

use chatseal::client::{Directory, Engine, Error, MemoryStore, PasskeyBackup, Publish, ShareOut};
use chatseal::proto::group::{GroupMessage, SessionId};
use chatseal::proto::{b64u_encode, passkey, CardId, ContentType};
use rand_core::OsRng;
use serde_json::{json, Value};
use support::{App, Backend, Server, TestDb};

#[derive(Clone)]
struct HttpDirectory {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl HttpDirectory {
    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), Error> {
        let mut req = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| Error::Directory(e.to_string()))?;
        let (status, body) = support::read(resp).await;
        match status {
            401 => Err(Error::Unauthorized(body["error"]["message"].to_string())),
            500.. => Err(Error::Directory(format!("status {status}"))),
            _ => Ok((status, body)),
        }
    }
}

impl Directory for HttpDirectory {
    async fn lookup(&self, identities: &[String]) -> Result<Vec<(String, String)>, Error> {
        let (_, body) = self
            .call(
                "POST",
                "/v2/cards/lookup",
                Some(json!({"identities": identities})),
            )
            .await?;
        Ok(body["results"]
            .as_object()
            .unwrap()
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v["card"].as_str()?.to_owned())))
            .collect())
    }
    async fn history(&self, identity: &str) -> Result<Vec<String>, Error> {
        let path = format!("/v2/cards/{}/history", identity.replace('@', "%40"));
        let (_, body) = self.call("GET", &path, None).await?;
        Ok(body["cards"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect())
    }
    async fn card_by_id(&self, id: &CardId) -> Result<Option<String>, Error> {
        let (status, body) = self
            .call("GET", &format!("/v2/cards/by-id/{id}"), None)
            .await?;
        Ok((status == 200).then(|| body["card"].as_str().unwrap().to_owned()))
    }
    async fn publish(&self, card: &str, replace: bool) -> Result<Publish, Error> {
        let path = if replace {
            "/v2/cards?replace=true"
        } else {
            "/v2/cards"
        };
        let (status, body) = self.call("POST", path, Some(json!({"card": card}))).await?;
        match status {
            200 | 201 => Ok(Publish::Stored),
            409 => Ok(Publish::Conflict),
            _ => Err(Error::Directory(body.to_string())),
        }
    }
    async fn revoke(&self) -> Result<(), Error> {
        self.call("DELETE", "/v2/cards", None).await.map(|_| ())
    }
    async fn put_backup(&self, backup: &str) -> Result<(), Error> {
        self.call("PUT", "/v2/backup", Some(json!({"backup": backup})))
            .await
            .map(|_| ())
    }
    async fn backups(&self) -> Result<Vec<String>, Error> {
        let (status, body) = self.call("GET", "/v2/backup", None).await?;
        match status {
            200 => Ok(body["backups"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b.as_str().unwrap().to_owned())
                .collect()),
            404 => Ok(Vec::new()),
            _ => Err(Error::Directory(format!("{status} {body}"))),
        }
    }
    async fn delete_backup(&self, credential: Option<&[u8]>) -> Result<(), Error> {
        let path = match credential {
            None => "/v2/backup".to_owned(),
            Some(id) => format!("/v2/backup?credential={}", b64u_encode(id)),
        };
        let (status, body) = self.call("DELETE", &path, None).await?;
        match status {
            204 | 404 => Ok(()),
            _ => Err(Error::Directory(format!("{status} {body}"))),
        }
    }
    async fn post_link(&self, link_id: &[u8; 16], offer: &str) -> Result<(), Error> {
        let path = format!("/v2/link/{}", hex::encode(link_id));
        let (status, body) = self
            .call("POST", &path, Some(json!({ "offer": offer })))
            .await?;
        match status {
            201 => Ok(()),
            409 if body["error"]["code"] == "Conflict" => Err(Error::LinkUsed),
            _ => Err(Error::Directory(format!("{status} {body}"))),
        }
    }
    async fn take_link(&self, link_id: &[u8; 16]) -> Result<Option<String>, Error> {
        let path = format!("/v2/link/{}", hex::encode(link_id));
        let (status, body) = self.call("GET", &path, None).await?;
        match status {
            200 => Ok(Some(body["offer"].as_str().unwrap().to_owned())),
            404 => Ok(None),
            _ => Err(Error::Directory(format!("{status} {body}"))),
        }
    }
    async fn post_shares(&self, shares: &[ShareOut]) -> Result<(), Error> {
        let list: Vec<Value> = shares
            .iter()
            .map(|(to, session, share)| {
                json!({"to": to, "session_id": session.to_string(), "share": share})
            })
            .collect();
        let (status, body) = self
            .call("POST", "/v2/shares", Some(json!({ "shares": list })))
            .await?;
        match status {
            200 | 201 => Ok(()),
            _ => Err(Error::Directory(format!("{status} {body}"))),
        }
    }
    async fn session_shares(&self, session: &SessionId) -> Result<Vec<String>, Error> {
        let (status, body) = self
            .call("GET", &format!("/v2/shares?session_id={session}"), None)
            .await?;
        assert_eq!(status, 200, "{body}");
        Ok(body["shares"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect())
    }
    async fn shares_after(&self, cursor: &str) -> Result<(Vec<String>, String), Error> {
        let (status, body) = self
            .call("GET", &format!("/v2/shares?after={cursor}"), None)
            .await?;
        assert_eq!(status, 200, "{body}");
        let shares = body["shares"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["share"].as_str().unwrap().to_owned())
            .collect();
        Ok((shares, body["next"].as_str().unwrap().to_owned()))
    }
}

fn now_ms() -> u64 {
    chatseal_server::auth::unix_now() * 1000
}

#[tokio::test]
async fn two_users_rotation_key_change_and_backup_through_the_real_directory() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let app = App::new();
    let server = Server::start(&db.url, &app, &[]).await;
    let device = |identity: &'static str, store: &MemoryStore| {
        let dir = HttpDirectory {
            base: server.base.clone(),
            token: app.token(identity),
            http: reqwest::Client::new(),
        };
        Engine::open(identity, dir, store.clone())
    };
    let alice = device("alice@clinic-a", &MemoryStore::default())
        .await
        .unwrap();
    let bob = device("bob@clinic-a", &MemoryStore::default())
        .await
        .unwrap();
    alice.register(&mut OsRng, now_ms()).await.unwrap();
    bob.register(&mut OsRng, now_ms()).await.unwrap();
    let second = device("bob@clinic-a", &MemoryStore::default())
        .await
        .unwrap();
    assert_eq!(
        second.register(&mut OsRng, now_ms()).await.unwrap_err(),
        Error::AlreadyRegistered
    );

    let to_bob = vec!["bob@clinic-a".to_owned()];
    let old = alice
        .encrypt(
            &mut OsRng,
            ContentType::Text,
            b"before",
            &to_bob,
            "dm",
            now_ms(),
        )
        .await
        .unwrap();
    let got = bob
        .decrypt(&old, Some("alice@clinic-a"), Some("dm"))
        .await
        .unwrap();
    assert_eq!(
        (got.text.as_deref(), got.key_changed),
        (Some("before"), false)
    );

    // Alice rotates: the directory accepts the chain, old and new messages verify, no alarm.
    alice.rotate(&mut OsRng, now_ms()).await.unwrap();
    let new = alice
        .encrypt(
            &mut OsRng,
            ContentType::Text,
            b"after",
            &to_bob,
            "dm",
            now_ms(),
        )
        .await
        .unwrap();
    let fresh_bob = device("bob@clinic-a", &MemoryStore::default())
        .await
        .unwrap();
    assert!(!fresh_bob.has_local_key());
    for (text, expected) in [(&new, "after"), (&old, "before")] {
        let got = bob
            .decrypt(text, Some("alice@clinic-a"), Some("dm"))
            .await
            .unwrap();
        assert_eq!(
            (got.text.as_deref(), got.key_changed),
            (Some(expected), false)
        );
    }

    // Backup, then a new device restores and reads the history.
    bob.backup(
        &mut OsRng,
        "correct horse",
        chatseal::proto::backup::Params {
            m_kib: 19456,
            t: 2,
            p: 1,
        },
    )
    .await
    .unwrap();
    fresh_bob.restore("correct horse").await.unwrap();
    assert_eq!(
        fresh_bob
            .decrypt(&old, Some("alice@clinic-a"), None)
            .await
            .unwrap()
            .text
            .as_deref(),
        Some("before")
    );

    // Alice loses everything and starts over with ?replace=true: Bob is told.
    let keys = chatseal::proto::IdentityKeys::generate(&mut OsRng);
    let card = chatseal::proto::Card::create(&keys, "alice@clinic-a", 1, None).unwrap();
    let dir = HttpDirectory {
        base: server.base.clone(),
        token: app.token("alice@clinic-a"),
        http: reqwest::Client::new(),
    };
    assert_eq!(
        dir.publish(&card.to_text(), false).await.unwrap(),
        Publish::Conflict
    );
    assert_eq!(
        dir.publish(&card.to_text(), true).await.unwrap(),
        Publish::Stored
    );
    let carol = device("carol@clinic-a", &MemoryStore::default())
        .await
        .unwrap();
    let looked = carol
        .lookup(&["alice@clinic-a".to_owned()], now_ms())
        .await
        .unwrap();
    assert!(
        !looked[0].key_changed,
        "first sight: pinned (trust on first use)"
    );
    // Bob's restored device pinned Alice's old key when it read her message.
    let looked = fresh_bob
        .lookup(&["alice@clinic-a".to_owned()], now_ms())
        .await
        .unwrap();
    assert!(looked[0].key_changed);
    let later = now_ms() + 10 * 60 * 1000;
    let looked = bob
        .lookup(&["alice@clinic-a".to_owned()], later)
        .await
        .unwrap();
    assert!(
        looked[0].key_changed,
        "the device that knew the old key sees the change"
    );
    assert_eq!(bob.stats().key_changes, 1);
}

/// PROTOCOL §9 at the size of a care team: 500 members with cards generated here, one
/// real directory. Prints the message size and the times next to per-message stanzas
/// for 50 members (run with `--nocapture` to see them).
#[tokio::test(flavor = "current_thread")]
async fn a_500_member_channel_through_the_real_directory() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let app = App::new();
    let server = Server::start(&db.url, &app, &[]).await;
    let open = |identity: String, store: MemoryStore| {
        let dir = HttpDirectory {
            base: server.base.clone(),
            token: app.token(&identity),
            http: reqwest::Client::new(),
        };
        async move { Engine::open(&identity, dir, store).await.unwrap() }
    };
    let names: Vec<String> = (0..501).map(|i| format!("nurse-{i:03}@ward-7")).collect();
    let started = Instant::now();
    let mut members = Vec::new();
    for name in &names {
        let engine = open(name.clone(), MemoryStore::default()).await;
        engine.register(&mut OsRng, now_ms()).await.unwrap();
        members.push(engine);
    }
    let registered = started.elapsed();
    let team: Vec<String> = names[..500].to_vec();
    let sender = &members[0];
    let send = |to: &[String], text: &str| {
        let to = to.to_vec();
        let text = text.to_owned();
        async move {
            sender
                .encrypt(
                    &mut OsRng,
                    ContentType::Text,
                    text.as_bytes(),
                    &to,
                    "messaging:ward-7",
                    now_ms(),
                )
                .await
                .unwrap()
        }
    };
    let text = "Handover: bed 4 needs a dressing change at 14:00.";

    let t = Instant::now();
    let first = send(&team, text).await;
    let first_time = t.elapsed();
    assert!(first.starts_with("csg2."));
    assert_eq!(sender.stats().shares_sent, 500);
    let t = Instant::now();
    let mut steady = String::new();
    for _ in 0..20 {
        steady = send(&team, text).await;
    }
    let steady_time = t.elapsed() / 20;
    assert_eq!(
        sender.stats().shares_sent,
        500,
        "no share for the next messages"
    );

    // Every member reads both; the first read of a session fetches its share.
    let t = Instant::now();
    for (member, name) in members[1..500].iter().zip(&names[1..500]) {
        let got = member
            .decrypt(&first, Some(&names[0]), Some("messaging:ward-7"))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got.text.as_deref(), Some(text));
    }
    let first_reads = t.elapsed() / 499;
    let t = Instant::now();
    for member in &members[1..500] {
        let got = member
            .decrypt(&steady, Some(&names[0]), Some("messaging:ward-7"))
            .await
            .unwrap();
        assert_eq!(got.text.as_deref(), Some(text));
    }
    let steady_reads = t.elapsed() / 499;

    // Per-message stanzas for 50 members, for comparison.
    sender.set_group_threshold(1000);
    let t = Instant::now();
    let stanzas_50 = send(&team[..50], text).await;
    let stanzas_time = t.elapsed();
    assert!(stanzas_50.starts_with("csm2."));
    sender.set_group_threshold(10);

    // Someone leaves: the next message is a new session they cannot read.
    let without_7: Vec<String> = team.iter().filter(|n| **n != names[7]).cloned().collect();
    sender
        .update_members(&mut OsRng, &without_7, "messaging:ward-7", now_ms())
        .await
        .unwrap();
    let after_leave = send(&without_7, "after nurse-007 left").await;
    assert_eq!(
        members[7]
            .decrypt(&after_leave, Some(&names[0]), Some("messaging:ward-7"))
            .await
            .unwrap_err()
            .code(),
        "NoSessionKey"
    );
    // Someone joins: reads from the join on, not before.
    let mut with_500 = without_7.clone();
    with_500.push(names[500].clone());
    sender
        .update_members(&mut OsRng, &with_500, "messaging:ward-7", now_ms())
        .await
        .unwrap();
    let after_join = send(&with_500, "after nurse-500 joined").await;
    let newcomer = &members[500];
    assert_eq!(
        newcomer
            .decrypt(&after_leave, Some(&names[0]), Some("messaging:ward-7"))
            .await
            .unwrap_err()
            .code(),
        "NoSessionKey"
    );
    assert_eq!(
        newcomer
            .decrypt(&after_join, Some(&names[0]), Some("messaging:ward-7"))
            .await
            .unwrap()
            .text
            .as_deref(),
        Some("after nurse-500 joined")
    );
    assert_eq!(
        members[12]
            .decrypt(&after_join, Some(&names[0]), Some("messaging:ward-7"))
            .await
            .unwrap()
            .text
            .as_deref(),
        Some("after nurse-500 joined")
    );

    // The sender on a new device: restore, pull the shares, read the whole history.
    sender
        .backup(
            &mut OsRng,
            "pw",
            chatseal::proto::backup::Params {
                m_kib: 19456,
                t: 2,
                p: 1,
            },
        )
        .await
        .unwrap();
    let restored = open(names[0].clone(), MemoryStore::default()).await;
    restored.restore("pw").await.unwrap();
    assert_eq!(
        restored.sync_shares().await.unwrap(),
        2,
        "the two sessions it started"
    );
    for (message, expected) in [
        (&first, text),
        (&after_leave, "after nurse-007 left"),
        (&after_join, "after nurse-500 joined"),
    ] {
        let got = restored
            .decrypt(message, Some(&names[0]), Some("messaging:ward-7"))
            .await
            .unwrap();
        assert_eq!(got.text.as_deref(), Some(expected));
    }
    assert_eq!(
        GroupMessage::parse(&after_join).unwrap().header().index,
        1,
        "the join kept the session"
    );

    println!(
        "group-500: {} characters a message (per-message stanzas for 50 members: {}); \
         first message {:.1} ms (500 shares sealed and stored), then {:.2} ms a message; \
         a member's first read {:.2} ms (share fetched), then {:.2} ms; \
         stanzas for 50: {:.1} ms; 501 registrations {:.1} s",
        steady.len(),
        stanzas_50.len(),
        first_time.as_secs_f64() * 1e3,
        steady_time.as_secs_f64() * 1e3,
        first_reads.as_secs_f64() * 1e3,
        steady_reads.as_secs_f64() * 1e3,
        stanzas_time.as_secs_f64() * 1e3,
        registered.as_secs_f64(),
    );
}

type HttpEngine = Engine<HttpDirectory, MemoryStore>;

/// An engine of `identity` on `store`, talking to `server` with a token of `app`.
async fn device(server: &Server, app: &App, identity: &str, store: &MemoryStore) -> HttpEngine {
    let dir = HttpDirectory {
        base: server.base.clone(),
        token: app.token(identity),
        http: reqwest::Client::new(),
    };
    Engine::open(identity, dir, store.clone()).await.unwrap()
}

/// Alice and Bob registered, and a message from Bob to Alice in context `"dm"`.
async fn alice_and_bob(server: &Server, app: &App) -> (HttpEngine, HttpEngine, String) {
    let alice = device(server, app, "alice@clinic-a", &MemoryStore::default()).await;
    let bob = device(server, app, "bob@clinic-a", &MemoryStore::default()).await;
    alice.register(&mut OsRng, now_ms()).await.unwrap();
    bob.register(&mut OsRng, now_ms()).await.unwrap();
    let old = dm(&bob, "alice@clinic-a", "history").await;
    (alice, bob, old)
}

/// `text` from `from` to `to` in context `"dm"`.
async fn dm(from: &HttpEngine, to: &str, text: &str) -> String {
    from.encrypt(
        &mut OsRng,
        ContentType::Text,
        text.as_bytes(),
        &[to.to_owned()],
        "dm",
        now_ms(),
    )
    .await
    .unwrap()
}

/// PROTOCOL §4.1 through the real directory: a passkey backup next to the password
/// backup, a wrong PRF output refused, the right one restoring a new device that reads
/// the history, then the passkey backup removed on its own.
#[tokio::test]
async fn a_passkey_backup_restores_a_new_device_through_the_real_directory() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let app = App::new();
    let server = Server::start(&db.url, &app, &[]).await;
    let (alice, _bob, old) = alice_and_bob(&server, &app).await;
    let fast = chatseal::proto::backup::Params {
        m_kib: 19456,
        t: 2,
        p: 1,
    };
    alice.backup(&mut OsRng, "pw", fast).await.unwrap();
    let salt = passkey::new_prf_salt(&mut OsRng);
    alice
        .backup_with_passkey(&mut OsRng, b"credential-1", salt, &[7; 32])
        .await
        .unwrap();
    assert_eq!(
        alice.passkey_backups().await.unwrap(),
        [PasskeyBackup {
            credential_id: b"credential-1".to_vec(),
            prf_salt: salt
        }]
    );

    let fresh = device(&server, &app, "alice@clinic-a", &MemoryStore::default()).await;
    assert_eq!(
        fresh
            .restore_with_passkey(b"credential-1", &[8; 32])
            .await
            .unwrap_err()
            .code(),
        "Integrity"
    );
    assert!(!fresh.has_local_key());
    assert_eq!(
        fresh
            .restore_with_passkey(b"credential-2", &[7; 32])
            .await
            .unwrap_err(),
        Error::NoBackup
    );
    let card = fresh
        .restore_with_passkey(b"credential-1", &[7; 32])
        .await
        .unwrap();
    assert_eq!(card, alice.own_card().unwrap());
    let got = fresh
        .decrypt(&old, Some("bob@clinic-a"), Some("dm"))
        .await
        .unwrap();
    assert_eq!(got.text.as_deref(), Some("history"));

    fresh.delete_passkey_backup(b"credential-1").await.unwrap();
    assert!(fresh.passkey_backups().await.unwrap().is_empty());
    let third = device(&server, &app, "alice@clinic-a", &MemoryStore::default()).await;
    assert_eq!(
        third
            .restore_with_passkey(b"credential-1", &[7; 32])
            .await
            .unwrap_err(),
        Error::NoBackup
    );
    assert_eq!(
        third.restore("pw").await.unwrap(),
        card,
        "the password backup stays"
    );
}

/// PROTOCOL §13 through the real directory, across two engines of one identity: the QR,
/// the offer, the same code on both screens, nothing stored before the confirmation, a
/// replayed offer refused, and a stale one rejected.
#[tokio::test]
async fn a_device_link_through_the_real_directory() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let app = App::new();
    let server = Server::start(&db.url, &app, &[]).await;
    let (alice, bob, old) = alice_and_bob(&server, &app).await;
    let store = MemoryStore::default();
    let new = device(&server, &app, "alice@clinic-a", &store).await;
    let link = new.start_link(&mut OsRng, now_ms());
    assert!(new.poll_link(&link, now_ms()).await.unwrap().is_none());
    let code = alice.accept_link(&mut OsRng, &link.qr()).await.unwrap();
    assert_eq!(
        alice.accept_link(&mut OsRng, &link.qr()).await.unwrap_err(),
        Error::LinkUsed
    );
    assert!(
        bob.poll_link(&link, now_ms()).await.unwrap().is_none(),
        "another identity's token reads nothing"
    );
    let pending = new.poll_link(&link, now_ms()).await.unwrap().unwrap();
    assert_eq!(pending.code(), code);
    assert!(new.poll_link(&link, now_ms()).await.unwrap().is_none());
    assert!(!new.has_local_key());
    assert!(!device(&server, &app, "alice@clinic-a", &store)
        .await
        .has_local_key());
    let card = new.confirm_link(pending).await.unwrap();
    assert_eq!(card, alice.own_card().unwrap());
    assert!(device(&server, &app, "alice@clinic-a", &store)
        .await
        .has_local_key());
    let got = new
        .decrypt(&old, Some("bob@clinic-a"), Some("dm"))
        .await
        .unwrap();
    assert_eq!(got.text.as_deref(), Some("history"));
    let reply = dm(&new, "bob@clinic-a", "from the new device").await;
    let got = bob
        .decrypt(&reply, Some("alice@clinic-a"), Some("dm"))
        .await
        .unwrap();
    assert_eq!(
        (got.text.as_deref(), got.key_changed),
        (Some("from the new device"), false)
    );

    // The old device rotates after sealing an offer: the offer is stale.
    let third = device(&server, &app, "alice@clinic-a", &MemoryStore::default()).await;
    let link = third.start_link(&mut OsRng, now_ms());
    alice.accept_link(&mut OsRng, &link.qr()).await.unwrap();
    alice.rotate(&mut OsRng, now_ms()).await.unwrap();
    assert_eq!(
        third.poll_link(&link, now_ms()).await.unwrap_err(),
        Error::LinkRejected
    );
    assert!(!third.has_local_key());
}
