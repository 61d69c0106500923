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
use chatseal::client::{Directory, Engine, Error, KeyChange, MemoryStore, Publish, ShareOut};
use chatseal::proto::group::SessionId;
use chatseal::proto::{
    backup, Card, CardId, ContentType, IdentityKeys, Keyring, KeyringEntry, Rotation,
};
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
    /// Group-session shares: (recipient, session, text), in arrival order.
    shares: Vec<(String, SessionId, String)>,
    /// Share requests answered (by session id or cursor).
    share_requests: u64,
    /// A hostile directory: answer share requests with nothing.
    withhold_shares: bool,
    /// `by-id` answers 404 for these ids although the card is stored.
    hide_by_id: Vec<CardId>,
    /// `by-id` fails as a network failure would.
    offline_by_id: bool,
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
        let polls = self.state.borrow().slow_polls;
        for _ in 0..polls {
            Pending(false).await;
        }
        let mut s = self.state.borrow_mut();
        s.requests += 1;
        if s.offline_by_id {
            return Err(Error::Directory(
                "card by id: the directory is unreachable".into(),
            ));
        }
        if s.hide_by_id.contains(id) {
            return Ok(None);
        }
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
    async fn post_shares(&self, shares: &[ShareOut]) -> Result<(), Error> {
        assert!(shares.len() <= 1000);
        self.state
            .borrow_mut()
            .shares
            .extend(shares.iter().cloned());
        Ok(())
    }
    async fn session_shares(&self, session: &SessionId) -> Result<Vec<String>, Error> {
        let mut s = self.state.borrow_mut();
        s.share_requests += 1;
        if s.withhold_shares {
            return Ok(vec![]);
        }
        Ok(s.shares
            .iter()
            .filter(|(to, id, _)| *to == self.me && id == session)
            .map(|(_, _, t)| t.clone())
            .collect())
    }
    async fn shares_after(&self, cursor: &str) -> Result<(Vec<String>, String), Error> {
        let mut s = self.state.borrow_mut();
        s.share_requests += 1;
        let from: usize = cursor.parse().unwrap_or(0);
        let page: Vec<(usize, String)> = s
            .shares
            .iter()
            .enumerate()
            .skip(from)
            .filter(|(_, (to, _, _))| *to == self.me)
            .take(100)
            .map(|(i, (_, _, t))| (i + 1, t.clone()))
            .collect();
        let next = page
            .last()
            .map_or(cursor.to_owned(), |(i, _)| i.to_string());
        Ok((page.into_iter().map(|(_, t)| t).collect(), next))
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
    /// Stores `card` for its identity as a hostile directory may, with no check; `current`
    /// makes it the one lookups answer.
    fn put(&self, card: &Card, current: bool) {
        let mut s = self.dir.borrow_mut();
        let h = s.history.entry(card.identity().to_owned()).or_default();
        if current {
            h.iter_mut().for_each(|e| e.1 = false);
        }
        h.push((card.to_text(), current));
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
    // One other member: a §11 pairwise message, which alice reads back as its sender.
    assert!(text.starts_with("csp2."), "{}", &text[..5]);
    assert_eq!(
        read(&alice, &text, "alice", "dm:alice:bob").unwrap(),
        "hello bob"
    );
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
fn concurrent_decrypts_from_a_new_sender_fetch_its_card_once() {
    let world = World::new();
    let (alice, _) = world.user("alice");
    let (bob, _) = world.user("bob");
    let texts: Vec<String> = (0..4)
        .map(|i| send(&alice, &format!("note {i}"), &["bob"], "c").unwrap())
        .collect();
    world.dir.borrow_mut().slow_polls = 3;
    let before = world.dir.borrow().requests;
    let read = block_on(futures_util::future::join_all(
        texts
            .iter()
            .map(|t| bob.decrypt(t, Some("alice"), Some("c"))),
    ));
    for (i, msg) in read.into_iter().enumerate() {
        assert_eq!(msg.unwrap().text, Some(format!("note {i}")));
    }
    // Bob had never seen alice's card: one request for it, shared by the four.
    assert_eq!(world.dir.borrow().requests - before, 1);
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

// ---------------------------------------------------------------------------------------
// Group sessions (PROTOCOL §9).

fn read(
    reader: &Engine<MemDirectory, MemoryStore>,
    text: &str,
    from: &str,
    context: &str,
) -> Result<String, Error> {
    block_on(reader.decrypt(text, Some(from), Some(context)))
        .map(|m| String::from_utf8(m.data.clone()).unwrap())
}

fn code(result: Result<String, Error>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}

/// A channel of `n` registered members `m00`…; `m00` sends.
fn team(world: &World, n: usize) -> (Vec<Engine<MemDirectory, MemoryStore>>, Vec<String>) {
    let names: Vec<String> = (0..n).map(|i| format!("m{i:02}")).collect();
    let engines = names.iter().map(|name| world.user(name).0).collect();
    (engines, names)
}

fn send_to(
    from: &Engine<MemDirectory, MemoryStore>,
    text: &str,
    to: &[String],
    context: &str,
) -> String {
    block_on(from.encrypt(
        &mut OsRng,
        ContentType::Text,
        text.as_bytes(),
        to,
        context,
        NOW,
    ))
    .unwrap()
}

#[test]
fn above_the_threshold_messages_are_group_messages_shared_once() {
    let world = World::new();
    let (m, names) = team(&world, 12);
    // Up to 10 other members (the default threshold): per-message stanzas; 11 or more
    // other members: a group session.
    let small = send_to(&m[0], "hi ten", &names[..10], "small");
    assert!(small.starts_with("csm2."));
    let first = send_to(&m[0], "hello team", &names, "team");
    assert!(first.starts_with("csg2."), "{}", &first[..10]);
    assert_eq!(
        m[0].stats().shares_sent,
        12,
        "one share per member, the sender's own included"
    );
    let second = send_to(&m[0], "second", &names, "team");
    assert_eq!(
        m[0].stats().shares_sent,
        12,
        "no new share for the next message"
    );
    // O(1) in the members: the same text to 12 members costs what it costs to 100
    // (293 characters for "hello team": 40-byte header, 69 bytes of v2 fields, 64 of
    // signature, padded to 160, a tag).
    assert!(first.len() < 300, "{} characters", first.len());
    for (reader, name) in m.iter().zip(&names).skip(1) {
        assert_eq!(
            read(reader, &first, "m00", "team").unwrap(),
            "hello team",
            "{name}"
        );
        assert_eq!(
            read(reader, &second, "m00", "team").unwrap(),
            "second",
            "{name}"
        );
        assert_eq!(
            reader.stats().share_requests,
            1,
            "{name}: one share request for the session"
        );
    }
    // The sender reads its own messages without asking the directory.
    let before = world.dir.borrow().share_requests;
    assert_eq!(read(&m[0], &first, "m00", "team").unwrap(), "hello team");
    assert_eq!(world.dir.borrow().share_requests, before);
    // A second sender has a session of its own.
    let reply = send_to(&m[3], "reply", &names, "team");
    assert_eq!(read(&m[7], &reply, "m03", "team").unwrap(), "reply");
    assert_eq!(read(&m[0], &reply, "m03", "team").unwrap(), "reply");
    // Setting the threshold higher goes back to stanzas.
    m[0].set_group_threshold(20);
    assert!(send_to(&m[0], "x", &names, "team").starts_with("csm2."));
    // No context: stanzas whatever the size.
    m[0].set_group_threshold(2);
    assert!(send_to(&m[0], "x", &names, "").starts_with("csm2."));
    // One other member: a pairwise message (§11), whatever the threshold.
    m[0].set_group_threshold(1);
    let one = send_to(&m[0], "just you", &names[..2], "team");
    assert!(one.starts_with("csp2."), "{}", &one[..5]);
    assert_eq!(read(&m[1], &one, "m00", "team").unwrap(), "just you");
}

#[test]
fn a_member_who_left_cannot_read_on_and_one_who_joined_reads_from_the_join() {
    let world = World::new();
    let (m, names) = team(&world, 14);
    let all = names.clone();
    let without_12: Vec<String> = names.iter().filter(|n| *n != "m12").cloned().collect();
    let before_join = send_to(&m[0], "before m12 joined", &without_12, "ward");
    // m12 joins: told through update_members (the adapter's membership event).
    block_on(m[0].update_members(&mut OsRng, &all, "ward", NOW)).unwrap();
    let after_join = send_to(&m[0], "after m12 joined", &all, "ward");
    assert_eq!(
        code(read(&m[12], &before_join, "m00", "ward")),
        "NoSessionKey"
    );
    assert_eq!(
        read(&m[12], &after_join, "m00", "ward").unwrap(),
        "after m12 joined"
    );
    // m05 leaves: the next message is in a new session m05 has no share of.
    let without_5: Vec<String> = all.iter().filter(|n| *n != "m05").cloned().collect();
    block_on(m[0].update_members(&mut OsRng, &without_5, "ward", NOW)).unwrap();
    let after_leave = send_to(&m[0], "after m05 left", &without_5, "ward");
    assert_eq!(
        code(read(&m[5], &after_leave, "m00", "ward")),
        "NoSessionKey"
    );
    assert_eq!(
        read(&m[5], &after_join, "m00", "ward").unwrap(),
        "after m12 joined"
    );
    for i in [1, 6, 12] {
        assert_eq!(
            read(&m[i], &after_leave, "m00", "ward").unwrap(),
            "after m05 left"
        );
    }
    // Without update_members, a send to fewer members rotates too.
    let without_6: Vec<String> = without_5.iter().filter(|n| *n != "m06").cloned().collect();
    let after_6 = send_to(&m[0], "after m06 left", &without_6, "ward");
    assert_eq!(code(read(&m[6], &after_6, "m00", "ward")), "NoSessionKey");
    assert_eq!(
        read(&m[1], &after_6, "m00", "ward").unwrap(),
        "after m06 left"
    );
}

#[test]
fn sessions_rotate_after_1000_messages_7_days_and_a_card_rotation() {
    let world = World::new();
    let (m, names) = team(&world, 12);
    let session = |text: &str| {
        chatseal::proto::group::GroupMessage::parse(text)
            .unwrap()
            .header()
            .session_id
    };
    let index = |text: &str| {
        chatseal::proto::group::GroupMessage::parse(text)
            .unwrap()
            .header()
            .index
    };
    let first = send_to(&m[0], "0", &names, "c");
    let mut last = first.clone();
    for i in 1..1000 {
        last = send_to(&m[0], &i.to_string(), &names, "c");
    }
    assert_eq!((session(&last), index(&last)), (session(&first), 999));
    let next = send_to(&m[0], "1000", &names, "c");
    assert_ne!(
        session(&next),
        session(&first),
        "a new session after 1000 messages"
    );
    assert_eq!(index(&next), 0);
    // Reading the whole history newest-first costs no quadratic ratchet: it finishes, and
    // every message reads back.
    assert_eq!(read(&m[4], &last, "m00", "c").unwrap(), "999");
    assert_eq!(read(&m[4], &first, "m00", "c").unwrap(), "0");
    // 7 days later.
    let week = 7 * 24 * 3600 * 1000;
    let late = block_on(m[0].encrypt(
        &mut OsRng,
        ContentType::Text,
        b"late",
        &names,
        "c",
        NOW + week,
    ))
    .unwrap();
    assert_ne!(session(&late), session(&next));
    // Own card rotated.
    block_on(m[0].rotate(&mut OsRng, NOW + week)).unwrap();
    let rotated = block_on(m[0].encrypt(
        &mut OsRng,
        ContentType::Text,
        b"new key",
        &names,
        "c",
        NOW + week,
    ))
    .unwrap();
    assert_ne!(session(&rotated), session(&late));
    assert_eq!(read(&m[2], &rotated, "m00", "c").unwrap(), "new key");
    assert_eq!(read(&m[2], &late, "m00", "c").unwrap(), "late");
}

#[test]
fn concurrent_sends_never_share_an_index() {
    let world = World::new();
    let (m, names) = team(&world, 12);
    world.dir.borrow_mut().slow_polls = 3;
    let sends: Vec<_> = (0..8)
        .map(|i| {
            let text = format!("message {i}");
            let names = names.clone();
            let m0 = &m[0];
            async move {
                m0.encrypt(
                    &mut OsRng,
                    ContentType::Text,
                    text.as_bytes(),
                    &names,
                    "c",
                    NOW,
                )
                .await
                .unwrap()
            }
        })
        .collect();
    let texts = block_on(futures_util::future::join_all(sends));
    let mut indices: Vec<u32> = texts
        .iter()
        .map(|t| {
            chatseal::proto::group::GroupMessage::parse(t)
                .unwrap()
                .header()
                .index
        })
        .collect();
    indices.sort_unstable();
    assert_eq!(indices, (0..8).collect::<Vec<u32>>());
    for (i, t) in texts.iter().enumerate() {
        assert_eq!(read(&m[1], t, "m00", "c").unwrap(), format!("message {i}"));
    }
}

#[test]
fn a_restored_device_reads_the_whole_history_its_own_messages_included() {
    let world = World::new();
    let (m, names) = team(&world, 12);
    block_on(m[0].backup(&mut OsRng, "pw", FAST)).unwrap();
    let mine = send_to(&m[0], "mine", &names, "c");
    let theirs = send_to(&m[3], "theirs", &names, "c");
    // One-to-one (§11): the restored device reads its own side and the other's.
    let mine_1to1 = send_to(&m[0], "just you", &names[3..4], "dm");
    let theirs_1to1 = send_to(&m[3], "and you", &names[..1], "dm");
    assert!(mine_1to1.starts_with("csp2.") && theirs_1to1.starts_with("csp2."));
    let store = MemoryStore::default();
    let fresh = world.device("m00", &store);
    block_on(fresh.restore("pw")).unwrap();
    assert_eq!(read(&fresh, &mine, "m00", "c").unwrap(), "mine");
    assert_eq!(read(&fresh, &theirs, "m03", "c").unwrap(), "theirs");
    assert_eq!(read(&fresh, &mine_1to1, "m00", "dm").unwrap(), "just you");
    assert_eq!(read(&fresh, &theirs_1to1, "m03", "dm").unwrap(), "and you");
    // Pulled in advance with the cursor: every session known before any message.
    let other = world.device("m00", &MemoryStore::default());
    block_on(other.restore("pw")).unwrap();
    assert_eq!(block_on(other.sync_shares()).unwrap(), 2);
    let requests = world.dir.borrow().share_requests;
    assert_eq!(read(&other, &theirs, "m03", "c").unwrap(), "theirs");
    assert_eq!(
        world.dir.borrow().share_requests,
        requests,
        "no request at read time"
    );
    assert_eq!(
        block_on(other.sync_shares()).unwrap(),
        0,
        "the cursor moved on"
    );
}

#[test]
fn the_outbound_index_survives_a_reopen_so_no_index_is_used_twice() {
    let world = World::new();
    let (_m, mut names) = team(&world, 12);
    let (dev, store) = world.user("z");
    names.push("z".into());
    let a = send_to(&dev, "a", &names, "c");
    drop(dev);
    let dev = world.device("z", &store);
    let b = send_to(&dev, "b", &names, "c");
    let header = |t: &str| {
        *chatseal::proto::group::GroupMessage::parse(t)
            .unwrap()
            .header()
    };
    assert_eq!(header(&a).session_id, header(&b).session_id);
    assert_eq!((header(&a).index, header(&b).index), (0, 1));
    assert_eq!(
        dev.stats().shares_sent,
        0,
        "the members still hold the session"
    );
}

#[test]
fn a_hostile_directory_that_withholds_or_forges_shares_yields_no_plaintext() {
    let world = World::new();
    let (m, names) = team(&world, 12);
    let text = send_to(&m[0], "secret", &names, "c");
    // Withheld: NoSessionKey, and asked once however many messages wait.
    world.dir.borrow_mut().withhold_shares = true;
    assert_eq!(code(read(&m[1], &text, "m00", "c")), "NoSessionKey");
    let requests = world.dir.borrow().share_requests;
    assert_eq!(code(read(&m[1], &text, "m00", "c")), "NoSessionKey");
    assert_eq!(
        world.dir.borrow().share_requests,
        requests,
        "remembered as missing"
    );
    world.dir.borrow_mut().withhold_shares = false;
    // Forged: m09 shares a session under m00's session id, signed by m09's own card.
    let header = *chatseal::proto::group::GroupMessage::parse(&text)
        .unwrap()
        .header();
    let forged_share = chatseal::proto::group::Share {
        session_id: header.session_id,
        index: 0,
        chain_key: chatseal::proto::group::ChainKey::from_bytes([7; 32]),
    };
    let keys = chatseal::client::Identity::generate(&mut OsRng, "m09", 1).unwrap();
    let entry = keys.keyring().current();
    let m2_card = block_on(m[2].lookup(&["m02".to_owned()], NOW)).unwrap()[0]
        .card
        .clone();
    let sealed = forged_share
        .seal_to(&mut OsRng, entry, &m2_card, "c", NOW)
        .unwrap();
    {
        let mut d = world.dir.borrow_mut();
        d.shares.retain(|(to, _, _)| to != "m02");
        d.shares.push(("m02".into(), header.session_id, sealed));
    }
    assert_eq!(code(read(&m[2], &text, "m00", "c")), "NoSessionKey");
    // A group message replayed into another channel (its share, for "c", is not
    // accepted there: §9), or relabelled.
    assert_eq!(code(read(&m[3], &text, "m00", "other")), "NoSessionKey");
    assert_eq!(code(read(&m[3], &text, "m04", "c")), "SenderMismatch");
    assert_eq!(read(&m[3], &text, "m00", "c").unwrap(), "secret");
}

// PROTOCOL §2, the client's key-change rule, with bob's cards made by hand so that the
// tests can forge them.

/// An identity of `card` and its secret `keys`.
fn by_hand(card: Card, keys: IdentityKeys) -> chatseal::client::Identity {
    chatseal::client::Identity::from_keyring(Keyring::new(KeyringEntry::new(card, keys).unwrap()))
}

/// Bob's first card (a new chain).
fn bob_first(at: u64) -> chatseal::client::Identity {
    chatseal::client::Identity::generate(&mut OsRng, "bob", at).unwrap()
}

/// A proper rotation of `prev`: signed by `prev`'s key.
fn rotated(prev: &chatseal::client::Identity, at: u64) -> chatseal::client::Identity {
    let keys = IdentityKeys::generate(&mut OsRng);
    let rotation = Rotation {
        prev_card_id: prev.card().id(),
        prev_keys: prev.keyring().current().keys(),
    };
    by_hand(
        Card::create(&keys, "bob", at, Some(rotation)).unwrap(),
        keys,
    )
}

/// A forged rotation of `prev`: naming it, but signed by the new key only.
fn forged(prev: &Card, at: u64) -> chatseal::client::Identity {
    let keys = IdentityKeys::generate(&mut OsRng);
    let rotation = Rotation {
        prev_card_id: prev.id(),
        prev_keys: &keys,
    };
    by_hand(
        Card::create(&keys, "bob", at, Some(rotation)).unwrap(),
        keys,
    )
}

/// A message from `bob` to `alice`.
fn from_bob(bob: &chatseal::client::Identity, alice: &Engine<MemDirectory, MemoryStore>) -> String {
    let alice_card = alice.own_card().unwrap();
    bob.encrypt(
        &mut OsRng,
        &[&alice_card],
        ContentType::Text,
        b"hi",
        "c",
        NOW,
    )
    .unwrap()
}

/// Alice's view of bob's message: (key changed, or the error code).
fn alice_reads(
    alice: &Engine<MemDirectory, MemoryStore>,
    bob: &chatseal::client::Identity,
) -> Result<bool, &'static str> {
    block_on(alice.decrypt(&from_bob(bob, alice), Some("bob"), Some("c")))
        .map(|m| m.key_changed)
        .map_err(|e| e.code())
}

/// Alice with bob's `first` card pinned (and verified), and a counter of key-change events.
fn alice_pinning(
    world: &World,
    first: &chatseal::client::Identity,
) -> (
    Engine<MemDirectory, MemoryStore>,
    Rc<RefCell<Vec<KeyChange>>>,
) {
    let (alice, _) = world.user("alice");
    world.put(first.card(), true);
    assert_eq!(alice_reads(&alice, first), Ok(false));
    assert!(block_on(alice.mark_verified("bob")));
    let told: Rc<RefCell<Vec<KeyChange>>> = Rc::default();
    let sink = told.clone();
    alice.on_key_change(Some(Rc::new(move |change: &KeyChange| {
        sink.borrow_mut().push(change.clone())
    })));
    (alice, told)
}

#[test]
fn a_verified_rotation_and_a_rotation_of_a_rotation_are_followed_silently() {
    let world = World::new();
    let c1 = bob_first(1);
    let (alice, told) = alice_pinning(&world, &c1);
    let c2 = rotated(&c1, 2);
    world.put(c2.card(), true);
    assert_eq!(alice_reads(&alice, &c2), Ok(false));
    // Two rotations at once: c3's predecessor c2 is fetched by id, both links checked.
    let c3 = rotated(&c2, 3);
    let c4 = rotated(&c3, 4);
    world.put(c3.card(), false);
    world.put(c4.card(), true);
    assert_eq!(alice_reads(&alice, &c4), Ok(false));
    // Older messages still verify with no alarm, and the lookup agrees.
    assert_eq!(alice_reads(&alice, &c1), Ok(false));
    assert_eq!(alice_reads(&alice, &c3), Ok(false));
    let looked = block_on(alice.lookup(&["bob".into()], NOW)).unwrap();
    assert_eq!(
        (looked[0].card.id(), looked[0].key_changed),
        (c4.card().id(), false)
    );
    assert!(told.borrow().is_empty());
    assert!(
        alice.is_verified("bob"),
        "a rotation keeps the verified state"
    );
    assert_eq!(alice.stats().key_changes, 0);
    send(&alice, "to c4", &["bob"], "c").unwrap();
}

#[test]
fn a_forged_rotation_is_a_key_change_told_once_for_many_messages() {
    let world = World::new();
    let c1 = bob_first(1);
    let (alice, told) = alice_pinning(&world, &c1);
    let fake = forged(c1.card(), 2);
    world.put(fake.card(), true);
    for _ in 0..20 {
        assert_eq!(alice_reads(&alice, &fake), Ok(true), "every result says so");
    }
    let looked = block_on(alice.lookup(&["bob".into()], NOW)).unwrap();
    assert!(looked[0].key_changed);
    assert_eq!(told.borrow().len(), 1, "one event per change");
    assert_eq!(
        told.borrow()[0],
        KeyChange {
            identity: "bob".into(),
            card_id: fake.card().id(),
            pinned: c1.card().id(),
        }
    );
    assert_eq!(alice.stats().key_changes, 1);
    assert!(!alice.is_verified("bob"), "the verified state is cleared");
    let err = send(&alice, "x", &["bob"], "c").unwrap_err();
    assert!(err.to_string().contains("changed"), "{err}");
    // The pinned card's own messages are still fine.
    assert_eq!(alice_reads(&alice, &c1), Ok(false));

    // A forged link further back: a good rotation of a forged card.
    let world = World::new();
    let (alice, told) = alice_pinning(&world, &c1);
    let on_top = rotated(&fake, 3);
    world.put(fake.card(), false);
    world.put(on_top.card(), true);
    assert_eq!(alice_reads(&alice, &on_top), Ok(true));
    assert_eq!(told.borrow().len(), 1);

    // Seen first in a lookup (the directory serves the forged card as current).
    let world = World::new();
    let (alice, told) = alice_pinning(&world, &c1);
    world.put(fake.card(), true);
    let looked = block_on(alice.lookup(&["bob".into()], NOW)).unwrap();
    assert_eq!(
        (looked[0].card.id(), looked[0].key_changed),
        (fake.card().id(), true)
    );
    assert_eq!(alice_reads(&alice, &fake), Ok(true));
    assert_eq!(told.borrow().len(), 1);
    assert!(!alice.is_verified("bob"));
    // Accepting is not verifying: the next message is no longer a key change.
    assert!(block_on(alice.accept_key_change("bob")));
    assert_eq!(alice_reads(&alice, &fake), Ok(false));
    assert!(!alice.is_verified("bob"));
}

#[test]
fn a_new_chain_or_one_that_never_reaches_the_pin_is_a_key_change() {
    let world = World::new();
    let c1 = bob_first(1);
    let (alice, told) = alice_pinning(&world, &c1);
    let fresh = bob_first(2);
    world.put(fresh.card(), true);
    assert_eq!(alice_reads(&alice, &fresh), Ok(true));
    // Another chain, properly linked within itself, that never reaches c1.
    let other = rotated(&fresh, 3);
    world.put(other.card(), true);
    assert_eq!(alice_reads(&alice, &other), Ok(true));
    assert_eq!(told.borrow().len(), 2, "one event per new card");
    assert!(!alice.is_verified("bob"));
}

#[test]
fn a_predecessor_the_directory_does_not_have_is_a_key_change_and_offline_is_an_error() {
    let world = World::new();
    let c1 = bob_first(1);
    let (alice, told) = alice_pinning(&world, &c1);
    let c2 = rotated(&c1, 2);
    let c3 = rotated(&c2, 3);
    world.put(c2.card(), false);
    world.put(c3.card(), true);
    // The directory cannot be reached: an error to retry, neither followed nor a change.
    world.dir.borrow_mut().offline_by_id = true;
    assert_eq!(alice_reads(&alice, &c3), Err("Directory"));
    assert!(told.borrow().is_empty());
    assert!(alice.is_verified("bob"));
    // c2 is 404: a key change.
    world.dir.borrow_mut().offline_by_id = false;
    world.dir.borrow_mut().hide_by_id.push(c2.card().id());
    assert_eq!(alice_reads(&alice, &c3), Ok(true));
    assert_eq!(told.borrow().len(), 1);
    assert!(!alice.is_verified("bob"));

    // The same rotation with the directory back: followed silently.
    let world = World::new();
    let (alice, told) = alice_pinning(&world, &c1);
    world.put(c2.card(), false);
    world.put(c3.card(), true);
    world.dir.borrow_mut().offline_by_id = true;
    assert_eq!(alice_reads(&alice, &c3), Err("Directory"));
    world.dir.borrow_mut().offline_by_id = false;
    assert_eq!(alice_reads(&alice, &c3), Ok(false));
    assert!(told.borrow().is_empty());
}

#[test]
fn a_chain_longer_than_the_bound_is_a_key_change() {
    let world = World::new();
    let c1 = bob_first(1);
    let (alice, told) = alice_pinning(&world, &c1);
    let mut last = c1;
    for at in 2..=(chatseal::client::trust::MAX_CHAIN as u64 + 2) {
        let next = rotated(&last, at);
        world.put(next.card(), true);
        last = next;
    }
    assert_eq!(alice_reads(&alice, &last), Ok(true));
    assert_eq!(told.borrow().len(), 1);
}
