//! Messages between individuals (a §11 pairwise message to one other member): the
//! exchange and its errors, the card cache and stats, concurrent lookups and decrypts
//! sharing one request, and a directory answering with another identity's card.

use super::*;

use chatseal::client::engine::LOOKUP_TTL_MS;

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
