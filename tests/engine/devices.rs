//! Keys onto another device: passkey backups (§4.1) next to the password backup, and
//! device links (§13) — the code on both screens, nothing stored before the user
//! confirms, and offers that are replayed, late, altered, stale or another identity's.

use chatseal::client::{Link, LINK_TTL_MS};

use super::*;

const CREDENTIAL: &[u8] = b"credential-1";
const OUTPUT: [u8; 32] = [7; 32];

/// A device of `identity` with no keys, and its store.
fn bare(world: &World, identity: &str) -> (Engine<MemDirectory, MemoryStore>, MemoryStore) {
    let store = MemoryStore::default();
    (world.device(identity, &store), store)
}

/// A link started on `new` (at `NOW`) whose QR `old` accepted: its offer is waiting.
fn offered(
    new: &Engine<MemDirectory, MemoryStore>,
    old: &Engine<MemDirectory, MemoryStore>,
) -> Link {
    let link = new.start_link(&mut OsRng, NOW);
    block_on(old.accept_link(&mut OsRng, &link.qr())).unwrap();
    link
}

/// True when a device opened on `store` finds keys there.
fn stored(world: &World, identity: &str, store: &MemoryStore) -> bool {
    world.device(identity, store).has_local_key()
}

#[test]
fn a_passkey_backup_restores_a_wiped_device_that_then_reads_its_history() {
    let world = World::new();
    let (alice, store) = world.user("alice");
    let (bob, _) = world.user("bob");
    let old = send(&bob, "before the wipe", &["alice"], "c").unwrap();
    let salt = passkey::new_prf_salt(&mut OsRng);
    block_on(alice.backup_with_passkey(&mut OsRng, CREDENTIAL, salt, &OUTPUT)).unwrap();
    let listed = block_on(alice.passkey_backups()).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].credential_id.as_slice(), listed[0].prf_salt),
        (CREDENTIAL, salt)
    );
    let card = alice.own_card().unwrap();
    block_on(alice.wipe_local()).unwrap();
    assert!(!stored(&world, "alice", &store));

    // A wrong PRF output opens nothing and stores nothing.
    assert_eq!(
        block_on(alice.restore_with_passkey(CREDENTIAL, &[8; 32])).unwrap_err(),
        Error::Proto(chatseal::proto::Error::Integrity)
    );
    assert!(!alice.has_local_key());
    assert!(!stored(&world, "alice", &store));
    // Another credential has no backup.
    assert_eq!(
        block_on(alice.restore_with_passkey(b"credential-2", &OUTPUT)).unwrap_err(),
        Error::NoBackup
    );

    assert_eq!(
        block_on(alice.restore_with_passkey(CREDENTIAL, &OUTPUT)).unwrap(),
        card
    );
    assert!(stored(&world, "alice", &store));
    assert_eq!(read(&alice, &old, "bob", "c").unwrap(), "before the wipe");
}

#[test]
fn without_a_backup_restores_say_no_backup() {
    let world = World::new();
    let (alice, _) = world.user("alice");
    let (fresh, _) = bare(&world, "alice");
    assert_eq!(block_on(fresh.restore("pw")).unwrap_err(), Error::NoBackup);
    assert_eq!(
        block_on(fresh.restore_with_passkey(CREDENTIAL, &OUTPUT)).unwrap_err(),
        Error::NoBackup
    );
    assert_eq!(Error::NoBackup.code(), "NoBackup");
    assert!(block_on(fresh.passkey_backups()).unwrap().is_empty());
    // A passkey backup is not a password backup, nor the other way round.
    block_on(alice.backup_with_passkey(&mut OsRng, CREDENTIAL, [1; 32], &OUTPUT)).unwrap();
    assert_eq!(block_on(fresh.restore("pw")).unwrap_err(), Error::NoBackup);
    block_on(alice.delete_passkey_backup(CREDENTIAL)).unwrap();
    block_on(alice.backup(&mut OsRng, "pw", FAST)).unwrap();
    assert_eq!(
        block_on(fresh.restore_with_passkey(CREDENTIAL, &OUTPUT)).unwrap_err(),
        Error::NoBackup
    );
    // No keys, no backup to make.
    assert_eq!(
        block_on(fresh.backup_with_passkey(&mut OsRng, CREDENTIAL, [1; 32], &OUTPUT)).unwrap_err(),
        Error::NoLocalKey
    );
    assert_eq!(
        block_on(alice.backup_with_passkey(&mut OsRng, b"", [1; 32], &OUTPUT))
            .unwrap_err()
            .code(),
        "InvalidArgument"
    );
}

#[test]
fn password_and_passkey_backups_coexist_and_are_listed_and_removed_one_by_one() {
    let world = World::new();
    let (alice, _) = world.user("alice");
    block_on(alice.backup(&mut OsRng, "pw", FAST)).unwrap();
    block_on(alice.backup_with_passkey(&mut OsRng, b"phone", [1; 32], &[11; 32])).unwrap();
    block_on(alice.backup_with_passkey(&mut OsRng, b"key", [2; 32], &[12; 32])).unwrap();
    // The same credential again replaces its backup (a new salt), in its place.
    block_on(alice.backup_with_passkey(&mut OsRng, b"phone", [3; 32], &[13; 32])).unwrap();
    let listed = block_on(alice.passkey_backups()).unwrap();
    let ids: Vec<(&[u8], [u8; 32])> = listed
        .iter()
        .map(|b| (b.credential_id.as_slice(), b.prf_salt))
        .collect();
    assert_eq!(ids, [(&b"phone"[..], [3; 32]), (&b"key"[..], [2; 32])]);
    // A text the engine cannot parse is skipped, not an error.
    world
        .dir
        .borrow_mut()
        .backups
        .get_mut("alice")
        .unwrap()
        .passkeys
        .push((b"junk".to_vec(), "csw1.AAAA".into()));
    assert_eq!(block_on(alice.passkey_backups()).unwrap(), listed);

    let card = alice.own_card().unwrap();
    let restores = |password: Option<&str>, credential: &[u8], output: [u8; 32]| {
        let (fresh, _) = bare(&world, "alice");
        let result = match password {
            Some(pw) => block_on(fresh.restore(pw)),
            None => block_on(fresh.restore_with_passkey(credential, &output)),
        };
        result.map(|c| c == card)
    };
    assert_eq!(restores(Some("pw"), b"", [0; 32]), Ok(true));
    assert_eq!(restores(None, b"phone", [13; 32]), Ok(true));
    assert_eq!(
        restores(None, b"phone", [11; 32]).unwrap_err().code(),
        "Integrity",
        "the replaced backup's output no longer opens it"
    );
    assert_eq!(restores(None, b"key", [12; 32]), Ok(true));

    block_on(alice.delete_passkey_backup(b"phone")).unwrap();
    let left = block_on(alice.passkey_backups()).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].credential_id, b"key");
    assert_eq!(restores(None, b"phone", [13; 32]), Err(Error::NoBackup));
    assert_eq!(restores(Some("pw"), b"", [0; 32]), Ok(true));
    block_on(alice.delete_backup()).unwrap();
    assert_eq!(restores(Some("pw"), b"", [0; 32]), Err(Error::NoBackup));
    assert_eq!(restores(None, b"key", [12; 32]), Ok(true));
    // Deleting what is not there is not an error.
    block_on(alice.delete_passkey_backup(b"phone")).unwrap();
}

#[test]
fn a_link_moves_the_keys_once_the_user_confirms_the_code() {
    let world = World::new();
    let (alice, _) = world.user("alice");
    let (bob, _) = world.user("bob");
    let old = send(&bob, "history", &["alice"], "c").unwrap();
    let (new, store) = bare(&world, "alice");
    let link = new.start_link(&mut OsRng, NOW);
    assert!(link.qr().starts_with("chatseal:link:"));
    assert!(block_on(new.poll_link(&link, NOW)).unwrap().is_none());

    let code = block_on(alice.accept_link(&mut OsRng, &link.qr())).unwrap();
    assert_eq!(code.len(), 6);
    assert!(code.bytes().all(|b| b.is_ascii_digit()));
    let pending = block_on(new.poll_link(&link, NOW + 1000)).unwrap().unwrap();
    assert_eq!(pending.code(), code, "both screens show the same code");
    assert_eq!(pending.card(), &alice.own_card().unwrap());
    // Nothing is used or stored before the user confirms.
    assert!(!new.has_local_key());
    assert!(!stored(&world, "alice", &store));
    assert_eq!(read(&new, &old, "bob", "c").unwrap_err(), Error::NoLocalKey);
    // The offer was read once.
    assert!(block_on(new.poll_link(&link, NOW + 2000))
        .unwrap()
        .is_none());

    assert_eq!(
        block_on(new.confirm_link(pending)).unwrap(),
        alice.own_card().unwrap()
    );
    assert!(stored(&world, "alice", &store));
    assert_eq!(read(&new, &old, "bob", "c").unwrap(), "history");
    let reply = send(&new, "from the new device", &["bob"], "c").unwrap();
    assert_eq!(
        read(&bob, &reply, "alice", "c").unwrap(),
        "from the new device"
    );
    assert_eq!(
        read(&alice, &reply, "alice", "c").unwrap(),
        "from the new device"
    );
}

#[test]
fn debug_of_a_link_shows_no_secret() {
    let world = World::new();
    let (alice, _) = world.user("alice");
    let (new, _) = bare(&world, "alice");
    let link = new.start_link(&mut OsRng, NOW);
    let id = hex::encode(link.link_id());
    assert_eq!(
        format!("{link:?}"),
        format!("Link {{ link_id: \"{id}\", started_ms: {NOW}, .. }}")
    );
    block_on(alice.accept_link(&mut OsRng, &link.qr())).unwrap();
    let pending = block_on(new.poll_link(&link, NOW)).unwrap().unwrap();
    let card_id = alice.own_card().unwrap().id();
    assert_eq!(
        format!("{pending:?}"),
        format!("PendingLink {{ card_id: {card_id:?}, generations: 1, .. }}")
    );
}

#[test]
fn a_replayed_late_or_bad_link_is_refused() {
    let world = World::new();
    let (alice, _) = world.user("alice");
    let (new, store) = bare(&world, "alice");

    // The same QR accepted twice: the second offer is refused.
    let link = offered(&new, &alice);
    assert_eq!(
        block_on(alice.accept_link(&mut OsRng, &link.qr())).unwrap_err(),
        Error::LinkUsed
    );
    // And again once the new device has taken the offer: the id stays used.
    assert!(block_on(new.poll_link(&link, NOW)).unwrap().is_some());
    assert_eq!(
        block_on(alice.accept_link(&mut OsRng, &link.qr())).unwrap_err(),
        Error::LinkUsed
    );
    assert!(block_on(new.poll_link(&link, NOW)).unwrap().is_none());

    // Late: from LINK_TTL_MS after the start on, the link is over.
    let late = new.start_link(&mut OsRng, NOW);
    assert!(block_on(new.poll_link(&late, NOW + LINK_TTL_MS - 1))
        .unwrap()
        .is_none());
    block_on(alice.accept_link(&mut OsRng, &late.qr())).unwrap();
    assert_eq!(
        block_on(new.poll_link(&late, NOW + LINK_TTL_MS)).unwrap_err(),
        Error::LinkExpired
    );

    // Not a QR of ours, or no keys to send.
    assert_eq!(
        block_on(alice.accept_link(&mut OsRng, "https://example.com"))
            .unwrap_err()
            .code(),
        "Malformed"
    );
    let (other_new, _) = bare(&world, "alice");
    let qr = other_new.start_link(&mut OsRng, NOW).qr();
    assert_eq!(
        block_on(new.accept_link(&mut OsRng, &qr)).unwrap_err(),
        Error::NoLocalKey
    );
    assert!(!new.has_local_key());
    assert!(!stored(&world, "alice", &store));
}

/// Replaces the offer waiting under `link` at the directory, as a hostile one may.
fn swap_offer(world: &World, link: &Link, owner: &str, offer: impl FnOnce(&str) -> String) {
    let mut s = world.dir.borrow_mut();
    let slot = s.links.get_mut(&link.link_id()).unwrap();
    slot.1 = slot.1.as_deref().map(offer);
    slot.0 = owner.to_owned();
}

#[test]
fn an_altered_offer_is_integrity_and_stores_nothing() {
    let world = World::new();
    let (alice, _) = world.user("alice");
    let (new, store) = bare(&world, "alice");

    // A flipped character.
    let link = offered(&new, &alice);
    swap_offer(&world, &link, "alice", |text| {
        let mut bytes = text.as_bytes().to_vec();
        let i = bytes.len() / 2;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).unwrap()
    });
    assert_eq!(
        block_on(new.poll_link(&link, NOW)).unwrap_err().code(),
        "Integrity"
    );

    // A genuine offer for another link (another key).
    let link = offered(&new, &alice);
    let elsewhere = offered(&new, &alice);
    let moved = world
        .dir
        .borrow_mut()
        .links
        .remove(&elsewhere.link_id())
        .and_then(|(_, offer)| offer)
        .unwrap();
    swap_offer(&world, &link, "alice", |_| moved);
    assert_eq!(
        block_on(new.poll_link(&link, NOW)).unwrap_err().code(),
        "Integrity"
    );
    // Not an offer at all.
    let link = offered(&new, &alice);
    swap_offer(&world, &link, "alice", |_| "csl2.AAAA".into());
    assert_eq!(
        block_on(new.poll_link(&link, NOW)).unwrap_err().code(),
        "Malformed"
    );
    assert!(!new.has_local_key());
    assert!(!stored(&world, "alice", &store));
}

#[test]
fn keys_that_are_not_the_current_card_are_rejected() {
    let world = World::new();
    let (alice, _) = world.user("alice");
    let (bob, _) = world.user("bob");
    let (new, store) = bare(&world, "alice");

    // The old device rotated after it sealed the offer: the offer is stale.
    let link = offered(&new, &alice);
    block_on(alice.rotate(&mut OsRng, NOW + 1000)).unwrap();
    assert_eq!(
        block_on(new.poll_link(&link, NOW)).unwrap_err(),
        Error::LinkRejected
    );

    // A device left behind by a rotation elsewhere offers its old keys.
    let (behind, _) = bare(&world, "alice");
    let pending = {
        let link = offered(&behind, &alice);
        block_on(behind.poll_link(&link, NOW)).unwrap().unwrap()
    };
    block_on(behind.confirm_link(pending)).unwrap();
    block_on(alice.rotate(&mut OsRng, NOW + 2000)).unwrap();
    let link = offered(&new, &behind);
    assert_eq!(
        block_on(new.poll_link(&link, NOW)).unwrap_err(),
        Error::LinkRejected
    );

    // Another identity's keys, handed over by a hostile directory.
    let link = offered(&new, &bob);
    assert!(
        block_on(new.poll_link(&link, NOW)).unwrap().is_none(),
        "bob's offer is not alice's to read"
    );
    swap_offer(&world, &link, "alice", |text| text.to_owned());
    assert_eq!(
        block_on(new.poll_link(&link, NOW)).unwrap_err(),
        Error::LinkRejected
    );
    assert!(!new.has_local_key());
    assert!(!stored(&world, "alice", &store));

    // Adopting another identity's keys directly is refused too.
    let entry = chatseal::proto::KeyringEntry::generate(&mut OsRng, "bob", 1, None).unwrap();
    assert_eq!(
        block_on(new.adopt(chatseal::proto::Keyring::new(entry)))
            .unwrap_err()
            .code(),
        "InvalidArgument"
    );
    assert!(!new.has_local_key());
}
