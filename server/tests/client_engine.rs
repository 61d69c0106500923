//! The client engine (`chatseal::client::Engine`) against the real directory: a native
//! `Directory` over HTTP, the same contract the browser's `fetch` directory implements.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use chatseal::client::{Directory, Engine, Error, MemoryStore, Publish};
use chatseal::proto::{CardId, ContentType};
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
                "/v1/cards/lookup",
                Some(json!({"identities": identities})),
            )
            .await?;
        Ok(body["cards"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect())
    }
    async fn history(&self, identity: &str) -> Result<Vec<String>, Error> {
        let path = format!("/v1/cards/{}/history", identity.replace('@', "%40"));
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
            .call("GET", &format!("/v1/cards/by-id/{id}"), None)
            .await?;
        Ok((status == 200).then(|| body["card"].as_str().unwrap().to_owned()))
    }
    async fn publish(&self, card: &str, replace: bool) -> Result<Publish, Error> {
        let path = if replace {
            "/v1/cards?replace=true"
        } else {
            "/v1/cards"
        };
        let (status, body) = self.call("POST", path, Some(json!({"card": card}))).await?;
        match status {
            200 | 201 => Ok(Publish::Stored),
            409 => Ok(Publish::Conflict),
            _ => Err(Error::Directory(body.to_string())),
        }
    }
    async fn revoke(&self) -> Result<(), Error> {
        self.call("DELETE", "/v1/cards", None).await.map(|_| ())
    }
    async fn put_backup(&self, backup: &str) -> Result<(), Error> {
        self.call("PUT", "/v1/backup", Some(json!({"backup": backup})))
            .await
            .map(|_| ())
    }
    async fn get_backup(&self) -> Result<Option<String>, Error> {
        let (status, body) = self.call("GET", "/v1/backup", None).await?;
        Ok((status == 200).then(|| body["backup"].as_str().unwrap().to_owned()))
    }
    async fn delete_backup(&self) -> Result<(), Error> {
        self.call("DELETE", "/v1/backup", None).await.map(|_| ())
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
