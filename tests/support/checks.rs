//! Checks: bytes → fields, and every invalid input → its error.

use super::*;

pub fn check_card(v: &CardVector) {
    assert_eq!(make_card(&v.key), *v, "inputs → card");
    let card = Card::parse(&v.card).unwrap();
    let keys = IdentityKeys::from_secrets(&hex32(&v.key.sign_seed), &hex32(&v.key.enc_sk));
    assert_eq!(card.identity(), v.key.identity);
    assert_eq!(card.created_at(), v.key.created_at);
    assert_eq!(card.sign_pk(), keys.sign_pk());
    assert_eq!(card.enc_pk(), keys.enc_pk());
    assert_eq!(
        card.prev_card_id().map(|id| id.to_string()),
        v.key.prev_card_id
    );
    assert_eq!(card.id().to_string(), v.card_id);
    assert_eq!(card.to_text(), v.card);
}

pub fn check_message(v: &MessageVector) {
    assert_eq!(make_envelope(v), v.envelope, "inputs → envelope");
    let env = envelope::Envelope::parse(&v.envelope).unwrap();
    let header = env.header();
    assert_eq!(header.sender_card_id, v.sender.card().id());
    assert_eq!(hex::encode(header.msg_id), v.msg_id);
    assert_eq!(header.stanzas.len(), v.recipients.len());
    for ((stanza, key), ikm) in header.stanzas.iter().zip(&v.recipients).zip(&v.ikm_e) {
        assert_eq!(stanza.recipient_card_id, key.card().id());
        // The ephemeral key is DeriveKeyPair(ikm_e) (RFC 9180 §7.1.3), independently of
        // how the encoder consumed its RNG.
        let (_, pk) = hpke::kem::X25519HkdfSha256::derive_keypair(&hex32(ikm));
        assert_eq!(stanza.enc.as_slice(), pk.to_bytes().as_slice());
    }
    let sender_card = v.sender.card();
    let bytes = unb64(&v.envelope, "csm2.");
    let payload_len = bytes.len() - (4 + 16 + 16 + 2 + 96 * v.recipients.len()) - 16;
    assert_eq!(
        payload_len % 32,
        0,
        "senders pad the payload to a multiple of 32"
    );
    for r in &v.recipients {
        let keyring = Keyring::new(r.entry());
        let msg = envelope::decrypt(
            &v.envelope,
            &keyring,
            |id| (*id == sender_card.id()).then_some(&sender_card),
            Some(&v.sender.identity),
            Some(&v.context),
        )
        .unwrap();
        assert_eq!(msg.content_type.to_u8(), v.content_type);
        assert_eq!(hex::encode(&msg.data), v.data);
        assert_eq!(msg.sender, v.sender.identity);
        assert_eq!(msg.sender_card_id, sender_card.id());
        assert_eq!(msg.sent_at, v.sent_at);
        assert_eq!(hex::encode(msg.msg_id), v.msg_id);
        assert_eq!(msg.context, v.context);
        assert_eq!(msg.head_epoch, v.head_epoch);
        assert_eq!(hex::encode(msg.head_root), v.head_root);
    }
}

pub fn check_group_message(v: &GroupVector) {
    assert_eq!(make_group_message(v), v.text, "inputs → group message");
    let message = group::GroupMessage::parse(&v.text).unwrap();
    let header = message.header();
    let sender_card = v.sender.card();
    assert_eq!(header.sender_card_id, sender_card.id());
    assert_eq!(header.session_id.to_string(), v.session_id);
    assert_eq!(header.index, v.index);
    let bytes = unb64(&v.text, "csg2.");
    assert_eq!(
        (bytes.len() - group::HEADER_LEN - 16) % 32,
        0,
        "senders pad the payload to a multiple of 32"
    );
    // Read through a share at index 0 (as a member since the start) and one at the
    // message's own index (a member who joined just then).
    let ck0 = ChainKey::from_bytes(hex32(&v.chain_key));
    for from in [0, v.index] {
        let share = Share {
            session_id: header.session_id,
            index: from,
            chain_key: ck0.advance(from),
        };
        let msg = message
            .open(&share.chain_key_at(v.index).unwrap())
            .unwrap()
            .verify(
                Some(&sender_card),
                Some(&v.sender.identity),
                Some(&v.context),
            )
            .unwrap();
        assert_eq!(msg.content_type.to_u8(), v.content_type);
        assert_eq!(hex::encode(&msg.data), v.data);
        assert_eq!(msg.sender, v.sender.identity);
        assert_eq!(msg.sent_at, v.sent_at);
        assert_eq!(msg.context, v.context);
        assert_eq!(msg.head_epoch, v.head_epoch);
        assert_eq!(hex::encode(msg.head_root), v.head_root);
        assert_eq!(msg.msg_id, header.msg_id());
    }
    // And as the sender's own device reads it (§9): through its §11 share to itself.
    let sender = v.sender.entry();
    let share = Share {
        session_id: header.session_id,
        index: 0,
        chain_key: ck0,
    }
    .seal_to(
        &mut ChaCha20Rng::from_seed([9; 32]),
        &sender,
        sender.card(),
        &v.context,
        v.sent_at,
    )
    .unwrap();
    let keyring = Keyring::new(v.sender.entry());
    let msg = group::decrypt(
        &v.text,
        &keyring,
        &[&share],
        |_: &CardId| None::<Card>,
        Some(&v.sender.identity),
        Some(&v.context),
    )
    .unwrap();
    assert_eq!(hex::encode(&msg.data), v.data);
}

pub fn check_backup(v: &BackupVector) {
    assert_eq!(make_backup(v), v.backup, "inputs → backup");
    let nfc: String = v.password.nfc().collect();
    let nfd: String = v.password.nfd().collect();
    for password in [&v.password, &nfc, &nfd] {
        check_keyring(&backup::open(&v.backup, password).unwrap(), &v.keyring);
    }
}

/// A keyring read back from a vector holds exactly the vector's keys, in order.
pub fn check_keyring(keyring: &Keyring, keys: &[Key]) {
    assert_eq!(keyring.len(), keys.len());
    for (entry, key) in keyring.entries().zip(keys) {
        assert_eq!(*entry.card(), key.card());
        assert_eq!(hex::encode(*entry.keys().sign_seed()), key.sign_seed);
        assert_eq!(hex::encode(*entry.keys().enc_sk()), key.enc_sk);
    }
}

pub fn check_safety(v: &SafetyVector) {
    assert_eq!(make_safety_number(&v.a, &v.b), v.safety_number);
    assert_eq!(make_safety_number(&v.b, &v.a), v.safety_number);
    assert_eq!(v.safety_number.len(), 60);
}

/// The error code that decoding `v.input` gives (`"ok"` if it decodes).
pub fn decode_invalid(v: &InvalidVector) -> String {
    let result: Result<(), chatseal::proto::Error> = match (v.kind.as_str(), &v.with) {
        ("card", Needs::Nothing {}) => Card::parse(&v.input).map(drop),
        ("card", Needs::Card { previous }) => {
            Card::parse(&v.input).and_then(|card| card.links_to(&previous.card()))
        }
        (
            "message",
            Needs::Message {
                keyring,
                directory,
                from,
                context,
            },
        ) => {
            let keyring = Keyring::from_entries(keyring.iter().map(Key::entry).collect()).unwrap();
            let directory: Vec<Card> = directory.iter().map(Key::card).collect();
            envelope::decrypt(
                &v.input,
                &keyring,
                |id| directory.iter().find(|c| c.id() == *id),
                from.as_deref(),
                context.as_deref(),
            )
            .map(drop)
        }
        (
            "pairwise",
            Needs::Message {
                keyring,
                directory,
                from,
                context,
            },
        ) => {
            let keyring = Keyring::from_entries(keyring.iter().map(Key::entry).collect()).unwrap();
            let directory: Vec<Card> = directory.iter().map(Key::card).collect();
            pairwise::decrypt(
                &v.input,
                &keyring,
                |id| directory.iter().find(|c| c.id() == *id),
                from.as_deref(),
                context.as_deref(),
            )
            .map(drop)
        }
        ("backup", Needs::Backup { password }) => backup::open(&v.input, password).map(drop),
        ("backup", Needs::Passkey { prf_output }) => {
            chatseal::proto::passkey::open(&v.input, &hex32(prf_output)).map(drop)
        }
        ("link", Needs::Link { link_id, e_sk }) => {
            chatseal::proto::link::LinkRequest::from_parts(hex_n(link_id), hex32(e_sk))
                .open(&v.input)
                .map(drop)
        }
        ("file", Needs::File { encrypted }) => decode_invalid_file(&v.input, encrypted),
        ("descriptor", Needs::Nothing {}) => {
            file::Descriptor::parse(&hex::decode(&v.input).unwrap()).map(drop)
        }
        (
            "group",
            Needs::Group {
                keyring,
                directory,
                shares,
                from,
                context,
            },
        ) => {
            let keyring = Keyring::from_entries(keyring.iter().map(Key::entry).collect()).unwrap();
            let directory: Vec<Card> = directory.iter().map(Key::card).collect();
            let shares: Vec<&str> = shares.iter().map(String::as_str).collect();
            group::decrypt(
                &v.input,
                &keyring,
                &shares,
                |id| directory.iter().find(|c| c.id() == *id),
                from.as_deref(),
                context.as_deref(),
            )
            .map(drop)
        }
        (kind, _) => panic!("invalid vector of kind {kind} without what it needs"),
    };
    match result {
        Ok(()) => "ok".into(),
        Err(e) => e.code().into(),
    }
}
