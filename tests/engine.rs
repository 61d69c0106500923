//! The client engine against an in-memory directory that follows PROTOCOL §7 and an
//! in-memory store: registration, exchange, rotation, key changes, backups, caching.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use chatseal::client::engine::LOOKUP_TTL_MS;
use chatseal::client::{Directory, Engine, Error, KeyChange, MemoryStore, Publish};
use chatseal::proto::{backup, Card, CardId, ContentType};
use pollster::block_on;
use rand_core::OsRng;

const FAST: backup::Params = backup::Params {
    m_kib: 19456,
    t: 2,
    p: 1,
};
const NOW: u64 = 1_800_000_000_000;

#[derive(Default)]
struct DirState {
    history: HashMap<String, Vec<(String, bool)>>, // identity → [(card text, current)]
    backups: HashMap<String, String>,
    requests: u64,
    /// Lookups wait this many polls before answering (to overlap concurrent calls).
    slow_polls: u32,
    /// A hostile directory: answer lookups of the key with this card text instead.
    swap: HashMap<String, String>,
}

/// One caller's view of a shared in-memory directory.
#[derive(Clone)]
struct MemDirectory {
    me: String,
    state: Rc<RefCell<DirState>>,
}

impl Directory for MemDirectory {
    async fn lookup(&self, identities: &[String]) -> Result<Vec<(String, String)>, Error> {
        let polls = self.state.borrow().slow_polls;
        for _ in 0..polls {
            Pending(false).await;
        }
        let mut s = self.state.borrow_mut();
        s.requests += 1;
        Ok(identities
            .iter()
            .filter_map(|i| {
                if let Some(t) = s.swap.get(i) {
                    return Some((i.clone(), t.clone()));
                }
                let h = s.history.get(i)?;
                h.iter()
                    .find(|(_, cur)| *cur)
                    .map(|(t, _)| (i.clone(), t.clone()))
            })
            .collect())
    }
    async fn history(&self, identity: &str) -> Result<Vec<String>, Error> {
        let mut s = self.state.borrow_mut();
        s.requests += 1;
        Ok(s.history
            .get(identity)
            .map(|h| h.iter().map(|(t, _)| t.clone()).collect())
            .unwrap_or_default())
    }
    async fn card_by_id(&self, id: &CardId) -> Result<Option<String>, Error> {
        let mut s = self.state.borrow_mut();
        s.requests += 1;
        Ok(s.history
            .values()
            .flatten()
            .map(|(t, _)| t)
            .find(|t| Card::parse(t).unwrap().id() == *id)
            .cloned())
    }
    async fn publish(&self, text: &str, replace: bool) -> Result<Publish, Error> {
        let card = Card::parse(text).unwrap();
        assert_eq!(
            card.identity(),
            self.me,
            "publish with another identity's token"
        );
        let mut s = self.state.borrow_mut();
        let h = s.history.entry(self.me.clone()).or_default();
        if let Some((cur, _)) = h.iter().find(|(_, c)| *c) {
            let cur = Card::parse(cur).unwrap();
            if cur.id() == card.id() {
                return Ok(Publish::Stored);
            }
            if card.prev_card_id() != Some(cur.id()) && !replace {
                return Ok(Publish::Conflict);
            }
        }
        h.iter_mut().for_each(|e| e.1 = false);
        h.push((text.to_owned(), true));
        Ok(Publish::Stored)
    }
    async fn revoke(&self) -> Result<(), Error> {
        let mut s = self.state.borrow_mut();
        s.history
            .entry(self.me.clone())
            .or_default()
            .iter_mut()
            .for_each(|e| e.1 = false);
        Ok(())
    }
    async fn put_backup(&self, backup: &str) -> Result<(), Error> {
        self.state
            .borrow_mut()
            .backups
            .insert(self.me.clone(), backup.to_owned());
        Ok(())
    }
    async fn get_backup(&self) -> Result<Option<String>, Error> {
        Ok(self.state.borrow().backups.get(&self.me).cloned())
    }
    async fn delete_backup(&self) -> Result<(), Error> {
        self.state.borrow_mut().backups.remove(&self.me);
        Ok(())
    }
}

/// A future that is pending once (waking itself), then ready.
struct Pending(bool);

impl std::future::Future for Pending {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

struct World {
    dir: Rc<RefCell<DirState>>,
}

impl World {
    fn new() -> Self {
        World { dir: Rc::default() }
    }
    fn device(&self, identity: &str, store: &MemoryStore) -> Engine<MemDirectory, MemoryStore> {
        let dir = MemDirectory {
            me: identity.to_owned(),
            state: self.dir.clone(),
        };
        block_on(Engine::open(identity, dir, store.clone())).unwrap()
    }
    /// Replaces `identity`'s card with a new key outside any rotation chain
    /// (`?replace=true`: a lost device, or a hostile directory); returns the new keys.
    fn replace_card(&self, identity: &str) -> chatseal::client::Identity {
        let keys = chatseal::client::Identity::generate(&mut OsRng, identity, 2).unwrap();
        let dir = MemDirectory {
            me: identity.to_owned(),
            state: self.dir.clone(),
        };
        assert_eq!(
            block_on(dir.publish(&keys.card().to_text(), true)).unwrap(),
            Publish::Stored
        );
        keys
    }
    fn user(&self, identity: &str) -> (Engine<MemDirectory, MemoryStore>, MemoryStore) {
        let store = MemoryStore::default();
        let engine = self.device(identity, &store);
        block_on(engine.register(&mut OsRng, NOW)).unwrap();
        (engine, store)
    }
}

fn send(
    from: &Engine<MemDirectory, MemoryStore>,
    text: &str,
    to: &[&str],
    context: &str,
) -> Result<String, Error> {
    let to: Vec<String> = to.iter().map(|s| s.to_string()).collect();
    block_on(from.encrypt(
        &mut OsRng,
        ContentType::Text,
        text.as_bytes(),
        &to,
        context,
        NOW,
    ))
}

#[test]
fn register_reopen_and_a_second_device() {
    let world = World::new();
    let store = MemoryStore::default();
    let alice = world.device("alice", &store);
    assert!(!alice.has_local_key());
    assert_eq!(send(&alice, "x", &[], "c").unwrap_err(), Error::NoLocalKey);
    let card = block_on(alice.register(&mut OsRng, NOW)).unwrap();
    // Registering again from the same device is a no-op.
    assert_eq!(block_on(alice.register(&mut OsRng, NOW)).unwrap(), card);
    // Reopened on the same storage: the key is there.
    let again = world.device("alice", &store);
    assert!(again.has_local_key());
    assert_eq!(again.own_card().unwrap(), card);
    // A fresh device cannot make a second identity.
    let other = world.device("alice", &MemoryStore::default());
    assert_eq!(
        block_on(other.register(&mut OsRng, NOW)).unwrap_err(),
        Error::AlreadyRegistered
    );
}

#[test]
fn exchange_with_caching_and_stats() {
    let world = World::new();
    let (alice, _) = world.user("alice");
    let (bob, _) = world.user("bob");
    let text = send(&alice, "hello bob", &["bob"], "dm:alice:bob").unwrap();
    let before = world.dir.borrow().requests;
    let msg = block_on(bob.decrypt(&text, Some("alice"), Some("dm:alice:bob"))).unwrap();
    assert_eq!(
        (msg.text.as_deref(), msg.key_changed),
        (Some("hello bob"), false)
    );
    // 100 more messages from alice: her card is fetched once.
    for i in 0..100 {
        let t = send(&alice, &format!("m{i}"), &["bob"], "dm:alice:bob").unwrap();
        block_on(bob.decrypt(&t, Some("alice"), Some("dm:alice:bob"))).unwrap();
    }
    assert_eq!(
        world.dir.borrow().requests - before,
        1,
        "one card fetch for 101 messages"
    );
    let stats = bob.stats();
    assert_eq!(stats.decrypted, 101);
    assert!(stats.cache_hits >= 100, "{stats:?}");
    // Alice's lookups of bob are cached too.
    let s = alice.stats();
    assert_eq!(s.lookups, 2, "register + one lookup of bob: {s:?}");
    // Errors keep their protocol names.
    assert_eq!(
        block_on(bob.decrypt(&text, Some("mallory"), None))
            .unwrap_err()
            .code(),
        "SenderMismatch"
    );
    assert_eq!(
        block_on(bob.decrypt(&text, None, Some("other")))
            .unwrap_err()
            .code(),
        "ContextMismatch"
    );
    let (carol, _) = world.user("carol");
    assert_eq!(
        block_on(carol.decrypt(&text, None, None))
            .unwrap_err()
            .code(),
        "NotARecipient"
    );
    assert_eq!(
        send(&alice, "x", &["nobody"], "c").unwrap_err().code(),
        "Directory"
    );
}

#[test]
fn rotation_keeps_old_messages_verifiable_and_is_not_a_key_change() {
    let world = World::new();
    let (alice, _) = world.user("alice");
    let (bob, _) = world.user("bob");
    let old = send(&alice, "before", &["bob"], "c").unwrap();
    assert!(
        !block_on(bob.decrypt(&old, Some("alice"), None))
            .unwrap()
            .key_changed
    );
    let new_card = block_on(alice.rotate(&mut OsRng, NOW + 1000)).unwrap();
    let fresh = send(&alice, "after", &["bob"], "c").unwrap();
    let got = block_on(bob.decrypt(&fresh, Some("alice"), None)).unwrap();
    assert_eq!(
        (got.sender_card_id, got.key_changed),
        (new_card.id().to_string(), false)
    );
    // The old message, by a now-superseded card, still verifies, with no alarm.
    let got = block_on(bob.decrypt(&old, Some("alice"), None)).unwrap();
    assert_eq!(
        (got.text.as_deref(), got.key_changed),
        (Some("before"), false)
    );
    // Alice reads her own old message after rotating.
    assert_eq!(
        block_on(alice.decrypt(&old, None, None))
            .unwrap()
            .text
            .as_deref(),
        Some("before")
    );
    // Bob's lookups (after the TTL) follow the rotation silently.
    let looked = block_on(bob.lookup(&["alice".into()], NOW + 10 * 60 * 1000)).unwrap();
    assert_eq!(
        (looked[0].card.id(), looked[0].key_changed),
        (new_card.id(), false)
    );
}

#[test]
fn a_swapped_key_is_reported_and_not_encrypted_to_until_accepted() {
    let world = World::new();
    let (alice, _) = world.user("alice");
    let (bob, _) = world.user("bob");
    send(&alice, "hi", &["bob"], "c").unwrap(); // pins bob's card
                                                // Bob loses his device and re-registers with ?replace=true (or an attacker swaps it).
    let bob2 = world.device("bob", &MemoryStore::default());
    let card = world.replace_card("bob").card().clone();
    drop((bob, bob2));
    let told: Rc<RefCell<Vec<KeyChange>>> = Rc::default();
    let sink = told.clone();
    alice.on_key_change(Some(Rc::new(move |change: &KeyChange| {
        sink.borrow_mut().push(change.clone())
    })));
    let later = NOW + 10 * 60 * 1000;
    let looked = block_on(alice.lookup(&["bob".into()], later)).unwrap();
    assert!(looked[0].key_changed);
    // Seen again (after the cache expired): still a key change, but told only once.
    let again = block_on(alice.lookup(&["bob".into()], later + LOOKUP_TTL_MS)).unwrap();
    assert!(again[0].key_changed);
    assert_eq!(told.borrow().len(), 1);
    assert_eq!(told.borrow()[0].identity, "bob");
    assert_eq!(told.borrow()[0].card_id, card.id());
    assert_ne!(told.borrow()[0].pinned, card.id());
    let err = block_on(alice.encrypt(
        &mut OsRng,
        ContentType::Text,
        b"x",
        &["bob".into()],
        "c",
        later,
    ))
    .unwrap_err();
    assert_eq!(err.code(), "Directory");
    assert!(err.to_string().contains("changed"), "{err}");
    assert_eq!(alice.stats().key_changes, 1);
    assert!(block_on(alice.accept_key_change("bob")));
    assert!(block_on(alice.encrypt(
        &mut OsRng,
        ContentType::Text,
        b"x",
        &["bob".into()],
        "c",
        later
    ))
    .is_ok());
}

#[test]
fn a_key_change_seen_in_a_message_is_not_encrypted_to_from_a_stale_cache() {
    let world = World::new();
    let (alice, _) = world.user("alice");
    let (bob, _) = world.user("bob");
    send(&alice, "hi", &["bob"], "c").unwrap(); // pins and caches bob's card
    drop(bob);
    let new_bob = world.replace_card("bob");
    let alice_card = alice.own_card().unwrap();
    let text = new_bob
        .encrypt(
            &mut OsRng,
            &[&alice_card],
            ContentType::Text,
            b"new",
            "c",
            NOW,
        )
        .unwrap();
    let msg = block_on(alice.decrypt(&text, Some("bob"), Some("c"))).unwrap();
    assert!(msg.key_changed);
    // Still within the lookup TTL: the cached (old) card must not be used silently.
    let err = send(&alice, "x", &["bob"], "c").unwrap_err();
    assert!(err.to_string().contains("changed"), "{err}");
    assert_eq!(alice.stats().key_changes, 1);
}

#[test]
fn pins_survive_a_reopen_so_a_swap_between_visits_is_noticed() {
    let world = World::new();
    let (alice, store) = world.user("alice");
    world.user("bob");
    send(&alice, "hi", &["bob"], "c").unwrap(); // pins bob's card
    drop(alice);
    world.replace_card("bob");
    // The next visit: a new engine on the same store.
    let alice = world.device("alice", &store);
    let looked = block_on(alice.lookup(&["bob".into()], NOW)).unwrap();
    assert!(
        looked[0].key_changed,
        "the pin from the last visit was kept"
    );
    // After a wipe, nothing is pinned: first sight again.
    block_on(alice.wipe_local()).unwrap();
    let alice = world.device("alice", &store);
    let looked = block_on(alice.lookup(&["bob".into()], NOW)).unwrap();
    assert!(!looked[0].key_changed);
}

#[test]
fn concurrent_lookups_share_one_request_and_dropping_one_keeps_the_other() {
    let world = World::new();
    let (alice, _) = world.user("alice");
    for name in ["bob", "carol", "dave"] {
        world.user(name);
    }
    world.dir.borrow_mut().slow_polls = 3;
    let before = (world.dir.borrow().requests, alice.stats().lookups);
    let bob_carol = ["bob".to_string(), "carol".to_string()];
    let carol_dave = ["carol".to_string(), "dave".to_string()];
    let (a, b) = block_on(futures_util::future::join(
        alice.lookup(&bob_carol, NOW),
        alice.lookup(&carol_dave, NOW),
    ));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a[1].card, b[0].card, "both calls see carol's one card");
    assert_eq!(b[1].card.identity(), "dave");
    // Two requests: {bob, carol}, then {dave}; carol's second want joined the first.
    let after = (world.dir.borrow().requests, alice.stats().lookups);
    assert_eq!((after.0 - before.0, after.1 - before.1), (2, 2));

    // One waiter dropped mid-flight (an aborted call): the other still gets its answer.
    let later = NOW + LOOKUP_TTL_MS;
    let eve = ["bob".to_string()];
    let kept = block_on(async {
        let mut dropped = Box::pin(alice.lookup(&eve, later));
        let mut kept = Box::pin(alice.lookup(&eve, later));
        for mut future in [dropped.as_mut(), kept.as_mut()] {
            let poll = std::future::poll_fn(|cx| {
                std::task::Poll::Ready(std::future::Future::poll(future.as_mut(), cx))
            })
            .await;
            assert!(poll.is_pending());
        }
        drop(dropped);
        kept.await
    })
    .unwrap();
    assert_eq!(kept[0].card.identity(), "bob");
    assert_eq!(alice.stats().lookups, after.1 + 1);
}

#[test]
fn a_directory_answering_with_another_identitys_card_is_refused() {
    let world = World::new();
    let (alice, _) = world.user("alice");
    let (mallory, _) = world.user("mallory");
    let mallory_card = mallory.own_card().unwrap().to_text();
    world
        .dir
        .borrow_mut()
        .swap
        .insert("bob".into(), mallory_card);
    let err = send(&alice, "x", &["bob"], "c").unwrap_err();
    assert_eq!(err.code(), "Directory");
    assert!(err.to_string().contains("another identity"), "{err}");
}

#[test]
fn backup_wipe_restore_on_a_fresh_device() {
    let world = World::new();
    let (alice, _) = world.user("alice");
    let (bob, _) = world.user("bob");
    let text = send(&bob, "for alice", &["alice"], "c").unwrap();
    block_on(alice.backup(&mut OsRng, "correct horse", FAST)).unwrap();
    block_on(alice.wipe_local()).unwrap();
    assert!(!alice.has_local_key());
    assert_eq!(
        block_on(alice.decrypt(&text, None, None)).unwrap_err(),
        Error::NoLocalKey
    );

    let fresh = world.device("alice", &MemoryStore::default());
    assert_eq!(
        block_on(fresh.restore("wrong")).unwrap_err().code(),
        "Integrity"
    );
    block_on(fresh.restore("correct horse")).unwrap();
    assert_eq!(
        block_on(fresh.decrypt(&text, Some("bob"), None))
            .unwrap()
            .text
            .as_deref(),
        Some("for alice")
    );
    block_on(fresh.change_password(&mut OsRng, "correct horse", "battery staple", FAST)).unwrap();
    let third = world.device("alice", &MemoryStore::default());
    assert_eq!(
        block_on(third.restore("correct horse")).unwrap_err().code(),
        "Integrity"
    );
    block_on(third.restore("battery staple")).unwrap();
    block_on(third.delete_backup()).unwrap();
    assert_eq!(
        block_on(
            world
                .device("alice", &MemoryStore::default())
                .restore("battery staple")
        )
        .unwrap_err()
        .code(),
        "Directory"
    );
}

#[test]
fn safety_numbers_agree_and_unregister_revokes() {
    let world = World::new();
    let (alice, _) = world.user("alice");
    let (bob, _) = world.user("bob");
    let a = block_on(alice.safety_number("bob", NOW)).unwrap();
    let b = block_on(bob.safety_number("alice", NOW)).unwrap();
    assert_eq!((a.len(), &a), (60, &b));
    block_on(bob.unregister()).unwrap();
    assert!(!bob.has_local_key());
    let later = NOW + 10 * 60 * 1000;
    let err = block_on(alice.encrypt(
        &mut OsRng,
        ContentType::Text,
        b"x",
        &["bob".into()],
        "c",
        later,
    ))
    .unwrap_err();
    assert!(err.to_string().contains("no card"), "{err}");
}
