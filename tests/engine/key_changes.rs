//! Rotation and key changes (PROTOCOL §2): a rotation followed silently, a swapped or
//! replaced key reported once and not encrypted to until accepted, pins that survive a
//! reopen, and bob's cards made by hand to forge rotations, new chains, missing
//! predecessors and chains longer than the bound.

use super::*;

use chatseal::client::engine::LOOKUP_TTL_MS;
use chatseal::client::KeyChange;
use chatseal::proto::{IdentityKeys, Keyring, KeyringEntry, Rotation};

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
