//! Round trips (PROTOCOL §3–§5, §11): envelopes for arbitrary content and 1–5 recipients,
//! through `envelope::seal` and `envelope::encrypt`; §3's padding rule; keyrings of 1–4
//! generations; backups, including NFC/NFD passwords; safety numbers.

use super::*;

proptest! {
    #![proptest_config(config(64))]

    /// §3: every recipient (current or older key) reads every field back; the stanzas
    /// are in recipient order; a non-recipient gets `NotARecipient`.
    #[test]
    fn envelopes_round_trip(
        seed in any::<u64>(),
        sender_identity in IDENTITY,
        content_type in 1u8..=5,
        sent_at in any::<u64>(),
        context in CONTEXT,
        data in vec(any::<u8>(), 0..2000),
        // Per recipient: does its keyring have an older generation, and is the message
        // sealed to that older card?
        recipients in vec((any::<bool>(), any::<bool>()), 1..=5),
        via_encrypt in any::<bool>(),
    ) {
        let mut rng = rng(seed);
        let alice = new_keyring(&mut rng, &sender_identity, 1);
        let alice_card = alice.current().card();
        let readers: Vec<Keyring> = recipients
            .iter()
            .enumerate()
            .map(|(i, &(rotated, _))| new_keyring(&mut rng, &format!("r{i}"), 1 + usize::from(rotated)))
            .collect();
        let cards: Vec<&Card> = readers
            .iter()
            .zip(&recipients)
            .map(|(kr, &(_, older))| {
                if older { kr.entries().last().unwrap().card() } else { kr.current().card() }
            })
            .collect();
        let content = Content {
            content_type: ContentType::from_u8(content_type).unwrap(),
            sent_at,
            context: &context,
            head_epoch: 0,
            head_root: [0; 32],
            data: &data,
        };
        let text = if via_encrypt {
            envelope::encrypt(&mut rng, alice.current(), &cards, &content)?
        } else {
            envelope::seal(&mut rng, alice.current(), &cards, &content)?
        };
        prop_assert!(text.starts_with("csm2."));

        let parsed = Envelope::parse(&text)?;
        let mut expected_ids: Vec<CardId> = Vec::new();
        if via_encrypt {
            expected_ids.push(alice_card.id());
        }
        expected_ids.extend(cards.iter().map(|c| c.id()));
        let ids: Vec<CardId> = parsed.header().stanzas.iter().map(|s| s.recipient_card_id).collect();
        prop_assert_eq!(&ids, &expected_ids);
        prop_assert_eq!(parsed.sender_card_id(), alice_card.id());
        let msg_id = parsed.header().msg_id;

        let mut all_readers: Vec<&Keyring> = readers.iter().collect();
        if via_encrypt {
            all_readers.push(&alice);
        }
        for reader in all_readers {
            let msg = decrypt_as(&text, reader, alice_card, Some(&sender_identity), Some(&context))?;
            prop_assert_eq!(&msg.data, &data);
            prop_assert_eq!(msg.content_type, content.content_type);
            prop_assert_eq!(msg.sent_at, sent_at);
            prop_assert_eq!(&msg.context, &context);
            prop_assert_eq!(msg.msg_id, msg_id);
            prop_assert_eq!(&msg.sender, &sender_identity);
            prop_assert_eq!(msg.sender_card_id, alice_card.id());
            // The caller need not name the sender or the context.
            prop_assert_eq!(&decrypt_as(&text, reader, alice_card, None, None)?, &msg);
        }
        if !via_encrypt {
            let err = decrypt_as(&text, &alice, alice_card, None, None).unwrap_err();
            prop_assert_eq!(err.code(), "NotARecipient");
        }
        let eve = new_keyring(&mut rng, "eve", 1);
        let err = decrypt_as(&text, &eve, alice_card, None, None).unwrap_err();
        prop_assert_eq!(err.code(), "NotARecipient");
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// §3: "Senders pad so that len(payload) is a multiple of 32" (and within the 255
    /// bytes decoders accept), whatever the lengths of the data and the context.
    #[test]
    fn padding_makes_the_payload_a_multiple_of_32(
        seed in any::<u64>(),
        data_len in 0usize..3000,
        context in CONTEXT,
        stanzas in 1usize..=3,
    ) {
        let f = &*FIXTURE;
        let mut rng = rng(seed);
        let data = vec![0xa5u8; data_len];
        let older = f.alice.entries().nth(1).unwrap().card();
        let cards = [f.alice_card(), older, f.bob.current().card()];
        let text = envelope::seal(
            &mut rng,
            f.alice.current(),
            &cards[..stanzas],
            &Content { content_type: ContentType::Bytes, sent_at: 0, context: &context, head_epoch: 0, head_root: [0; 32], data: &data },
        )?;
        let bytes = strip_text(&text, "csm2.");
        let payload_len = bytes.len() - header_len(stanzas) - 16;
        prop_assert_eq!(payload_len % 32, 0, "payload of {} bytes", payload_len);
        let unpadded = 1 + 8 + 2 + context.len() + 8 + 32 + 4 + data_len + 64;
        prop_assert!(payload_len >= unpadded && payload_len - unpadded <= 255);
        prop_assert_eq!(decrypt_as(&text, &f.alice, f.alice_card(), None, Some(&context))?.data, data);
    }

    /// §4's `CSK2`: 1..4 generations made by rotation decode to the same cards and
    /// secrets, newest first, each card naming the one it replaces.
    #[test]
    fn keyrings_round_trip(seed in any::<u64>(), identity in IDENTITY, generations in 1usize..=4) {
        let mut rng = rng(seed);
        let original = new_keyring(&mut rng, &identity, generations);
        prop_assert_eq!(original.len(), generations);
        let bytes = original.encode()?;
        prop_assert_eq!(&bytes[..4], b"CSK2");
        prop_assert_eq!(usize::from(u16::from_be_bytes([bytes[4], bytes[5]])), generations);
        let decoded = keyring::Keyring::decode(&bytes)?;
        same_keyring(&decoded, &original)?;
        let reencoded = decoded.encode()?;
        prop_assert_eq!(reencoded.as_slice(), bytes.as_slice());

        let entries: Vec<&KeyringEntry> = decoded.entries().collect();
        for pair in entries.windows(2) {
            prop_assert_eq!(pair[0].card().prev_card_id(), Some(pair[1].card().id()));
            prop_assert!(pair[0].card().created_at() > pair[1].card().created_at());
        }
        prop_assert_eq!(entries.last().unwrap().card().prev_card_id(), None);
        for e in &entries {
            prop_assert_eq!(e.card().identity(), identity.as_str());
            prop_assert!(e.card().matches(e.keys()));
            prop_assert_eq!(decoded.find(&e.card().id()).map(|x| x.card()), Some(e.card()));
        }
    }
}

proptest! {
    #![proptest_config(config(8))]

    /// §5: 60 ASCII digits, the same for both parties, made of the two 30-digit halves,
    /// smaller first; another key gives another number.
    #[test]
    fn safety_numbers_are_symmetric(seed in any::<u64>(), id_a in IDENTITY, id_b in IDENTITY) {
        let mut rng = rng(seed);
        let a = KeyringEntry::generate(&mut rng, &id_a, 1, None)?;
        let b = KeyringEntry::generate(&mut rng, &id_b, 1, None)?;
        let number = safety::safety_number(a.card(), b.card());
        prop_assert_eq!(number.len(), 60);
        prop_assert!(number.bytes().all(|c| c.is_ascii_digit()), "{}", number);
        prop_assert_eq!(&number, &safety::safety_number(b.card(), a.card()));

        let da = safety::digits(&id_a, &a.card().sign_pk());
        let db = safety::digits(&id_b, &b.card().sign_pk());
        prop_assert_eq!(da.len(), 30);
        let (lo, hi) = if da <= db { (&da, &db) } else { (&db, &da) };
        prop_assert_eq!(&number, &format!("{lo}{hi}"));

        // (Each `digits` is 5,200 SHA-512s, slow in a debug build: few calls, few cases.)
        let b2 = KeyringEntry::generate(&mut rng, &id_b, 2, None)?;
        prop_assert_ne!(&db, &safety::digits(&id_b, &b2.card().sign_pk()));
    }
}

/// Passwords that often differ between NFC and NFD: combining marks, precomposed
/// letters, compatibility-equivalent signs, Hangul jamo and syllables, and anything else.
fn password_strategy() -> impl Strategy<Value = String> {
    let special = select(vec![
        'e', 'a', '\u{301}', '\u{308}', '\u{e9}', '\u{e4}', '\u{212b}', '\u{c5}', '\u{1100}',
        '\u{1161}', '\u{11a8}', '\u{ac00}', '\u{1e9b}', '\u{323}',
    ]);
    vec(prop_oneof![special, any::<char>()], 0..16).prop_map(|cs| cs.into_iter().collect())
}

proptest! {
    #![proptest_config(config(4))]

    /// §4: a backup opens with its password in any normalisation form (the key is
    /// Argon2id of NFC(password)), to the same keyring; another password is `Integrity`.
    #[test]
    fn backups_round_trip(seed in any::<u64>(), password in password_strategy(), generations in 1usize..=2) {
        let mut rng = rng(seed);
        let original = new_keyring(&mut rng, "carol", generations);
        let nfc: String = password.nfc().collect();
        let nfd: String = password.nfd().collect();
        let text = backup::seal(&mut rng, &original, &nfc, MIN_PARAMS)?;
        prop_assert!(text.starts_with("csb1."));
        let bytes = strip_text(&text, "csb1.");
        prop_assert_eq!(&bytes[..4], b"CSB1");
        prop_assert_eq!(&bytes[4..16], &[19456u32.to_be_bytes(), 2u32.to_be_bytes(), 1u32.to_be_bytes()].concat()[..]);
        prop_assert_eq!(bytes.len(), 4 + 12 + 16 + 24 + original.encode()?.len() + 16);

        same_keyring(&backup::open(&text, &nfd)?, &original)?;
        same_keyring(&backup::open(&text, &password)?, &original)?;
        let err = backup::open(&text, &format!("{nfc}!")).unwrap_err();
        prop_assert_eq!(err.code(), "Integrity");
    }
}

/// §4 `NFC(password)`: "é" typed as U+00E9 and as U+0065 U+0301 is the same password, in
/// either direction; "e" alone is not.
#[test]
fn backup_passwords_are_normalised() {
    let mut rng = rng(1);
    let keyring = new_keyring(&mut rng, "dave", 1);
    let composed = "caf\u{e9} cr\u{e8}me";
    let decomposed = "cafe\u{301} cre\u{300}me";
    assert_ne!(composed, decomposed);
    for (seal_with, open_with) in [(composed, decomposed), (decomposed, composed)] {
        let text = backup::seal(&mut rng, &keyring, seal_with, MIN_PARAMS).unwrap();
        let opened = backup::open(&text, open_with).unwrap();
        assert_eq!(opened.current().card(), keyring.current().card());
        if seal_with == composed {
            let err = backup::open(&text, "cafe creme").unwrap_err();
            assert_eq!(err.code(), "Integrity");
        }
    }
}

proptest! {
    #![proptest_config(config(64))]

    /// §11: the recipient and the sender (with the other's card, current or older keys)
    /// read every field back; the payload is padded to a multiple of 32; a third party
    /// gets `NotARecipient`; any single-bit flip is refused with a protocol error.
    #[test]
    fn pairwise_messages_round_trip(
        seed in any::<u64>(),
        content_type in 1u8..=5,
        sent_at in any::<u64>(),
        context in CONTEXT,
        data in vec(any::<u8>(), 0..2000),
        rotated in any::<bool>(),
        to_self in any::<bool>(),
        flip in any::<Index>(),
    ) {
        let mut rng = rng(seed);
        let alice = new_keyring(&mut rng, "alice", 1);
        let bob = new_keyring(&mut rng, "bob", 1 + usize::from(rotated));
        let bob_card = if to_self { alice.current().card() } else { bob.entries().last().unwrap().card() };
        let content = Content {
            content_type: ContentType::from_u8(content_type).unwrap(),
            sent_at,
            context: &context,
            head_epoch: 3,
            head_root: [7; 32],
            data: &data,
        };
        let text = pairwise::seal(&mut rng, alice.current(), bob_card, &content)?;
        prop_assert!(text.starts_with("csp2."));
        let bytes = strip_text(&text, "csp2.");
        prop_assert_eq!((bytes.len() - pairwise::HEADER_LEN - 16) % 32, 0);
        let cards = [alice.current().card().clone(), bob_card.clone()];
        let resolve = |id: &CardId| cards.iter().find(|c| c.id() == *id).cloned();
        let readers: Vec<&Keyring> = if to_self { vec![&alice] } else { vec![&bob, &alice] };
        for reader in readers {
            let msg = pairwise::decrypt(&text, reader, resolve, Some("alice"), Some(&context))?;
            prop_assert_eq!(&msg.data, &data);
            prop_assert_eq!(msg.content_type, content.content_type);
            prop_assert_eq!(msg.sent_at, sent_at);
            prop_assert_eq!(&msg.context, &context);
            prop_assert_eq!((msg.head_epoch, msg.head_root), (3, [7; 32]));
            prop_assert_eq!(msg.sender_card_id, alice.current().card().id());
        }
        let eve = new_keyring(&mut rng, "eve", 1);
        prop_assert_eq!(pairwise::decrypt(&text, &eve, resolve, None, None).unwrap_err().code(), "NotARecipient");
        let mut flipped = bytes.clone();
        let at = flip.index(flipped.len() * 8);
        flipped[at / 8] ^= 1 << (at % 8);
        let flipped = format!("csp2.{}", b64u_encode(&flipped));
        let reader = if to_self { &alice } else { &bob };
        let err = pairwise::decrypt(&flipped, reader, resolve, None, None).unwrap_err();
        prop_assert!(RECEIVED.contains(&err.code()), "{}", err.code());
    }
}
