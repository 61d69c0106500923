//! Group sessions (PROTOCOL §9): when messages become group messages and shares are sent,
//! members joining and leaving, session rotation (1000 messages, 7 days, a card rotation),
//! concurrent sends, and a directory that withholds or forges shares.

use super::*;

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
