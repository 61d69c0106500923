//! Storage and backups: backup, wipe and restore on a fresh device, password change and
//! backup deletion, a restored device reading the whole history, and the outbound group
//! index kept across a reopen.

use super::*;

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
        .unwrap_err(),
        Error::NoBackup
    );
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
