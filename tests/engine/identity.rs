//! Registering an identity: reopening on the same storage, a second device that cannot
//! make a second identity, safety numbers, and unregistering (which revokes the card).

use super::*;

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
