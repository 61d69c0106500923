//! Invalid inputs: one or more for every rejection rule of §2–§4.

use super::*;

pub(crate) fn b64(bytes: &[u8]) -> String {
    chatseal::proto::b64u_encode(bytes)
}

pub(crate) fn unb64(text: &str, prefix: &str) -> Vec<u8> {
    chatseal::proto::b64u_decode(text.strip_prefix(prefix).unwrap()).unwrap()
}

/// A card signed by `seed` over whatever fields it is given (valid or not).
pub fn raw_card(seed: &[u8; 32], identity: &[u8], enc_pk: &[u8; 32], prev: &[u8]) -> String {
    let sk = ed25519_dalek::SigningKey::from_bytes(seed);
    let mut tbs = b"CSC2".to_vec();
    tbs.extend_from_slice(&(identity.len() as u16).to_be_bytes());
    tbs.extend_from_slice(identity);
    tbs.extend_from_slice(&1_767_225_600u64.to_be_bytes());
    tbs.extend_from_slice(sk.verifying_key().as_bytes());
    tbs.extend_from_slice(enc_pk);
    tbs.extend_from_slice(prev);
    let sig = sk.sign(&[b"chatseal/v2/card\x00".as_slice(), &tbs].concat());
    tbs.extend_from_slice(&sig.to_bytes());
    format!("csc2.{}", b64(&tbs))
}

pub(crate) fn flip(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[at] ^= 0x01;
    b
}

pub(crate) fn invalid(
    kind: &str,
    description: &str,
    input: String,
    error: &str,
    with: Needs,
) -> InvalidVector {
    InvalidVector {
        kind: kind.into(),
        description: description.into(),
        input,
        error: error.into(),
        with,
    }
}

/// A raw envelope: `header` with a valid body around `payload`, sealed under `cek`.
pub(crate) fn raw_envelope(header: &Header, payload: Vec<u8>, cek: &[u8; 32]) -> String {
    envelope::seal_payload(header.encode().unwrap(), Zeroizing::new(payload), cek).unwrap()
}

/// `fields || sig || pad`, signed by `signer` over `header || fields`.
pub(crate) fn raw_payload(signer: &Key, header: &Header, fields: &[u8], pad: &[u8]) -> Vec<u8> {
    let sk = ed25519_dalek::SigningKey::from_bytes(&hex32(&signer.sign_seed));
    let header_bytes = header.encode().unwrap();
    let sig = sk.sign(&[b"chatseal/v2/msg\x00".as_slice(), &header_bytes, fields].concat());
    [fields, &sig.to_bytes(), pad].concat()
}

pub fn invalid_vectors(
    c: &Cast,
    msgs: &[MessageVector],
    baks: &[BackupVector],
) -> Vec<InvalidVector> {
    let mut g = Gen::new(4);
    let mut out = Vec::new();
    let none = || Needs::Nothing {};

    // §2 cards. alice's card is 157 bytes: 157 = 3·52 + 1, so its text ends in 2
    // characters carrying 4 unused bits.
    let card = c.alice.card();
    let card_text = card.to_text();
    let card_bytes = card.to_bytes().to_vec();
    let seed = hex32(&c.alice.sign_seed);
    let enc_pk = card.enc_pk();
    let mut v = |d: &str, input: String, e: &str| out.push(invalid("card", d, input, e, none()));
    v(
        "wrong text prefix",
        card_text.replacen("csc2.", "csm2.", 1),
        "Malformed",
    );
    v(
        "version 1 text prefix (csc1.)",
        card_text.replacen("csc2.", "csc1.", 1),
        "Malformed",
    );
    let mut bad = card_bytes.clone();
    bad[3] = b'1';
    v(
        "wrong magic (CSC1, version 1)",
        format!("csc2.{}", b64(&bad)),
        "Malformed",
    );
    v(
        "truncated: last byte missing",
        format!("csc2.{}", b64(&card_bytes[..card_bytes.len() - 1])),
        "Malformed",
    );
    v(
        "truncated inside the identity",
        format!("csc2.{}", b64(&card_bytes[..10])),
        "Malformed",
    );
    v(
        "trailing byte after the signature",
        format!("csc2.{}", b64(&[card_bytes.as_slice(), &[0]].concat())),
        "Malformed",
    );
    v(
        "base64url: a character outside the alphabet ('+')",
        format!("{}+{}", &card_text[..20], &card_text[21..]),
        "Malformed",
    );
    v(
        "base64url: padding '=' appended",
        format!("{card_text}=="),
        "Malformed",
    );
    v(
        "base64url: whitespace inside",
        format!("{} {}", &card_text[..20], &card_text[20..]),
        "Malformed",
    );
    {
        // Set one of the unused trailing bits of the last character.
        let last = card_text.chars().last().unwrap();
        const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let idx = ALPHABET.find(last).unwrap();
        assert_eq!(idx & 0x0f, 0, "the last character carries 4 unused bits");
        let noncanonical = ALPHABET.as_bytes()[idx | 1] as char;
        v(
            "base64url: non-zero trailing bits (non-canonical encoding)",
            format!("{}{}", &card_text[..card_text.len() - 1], noncanonical),
            "Malformed",
        );
    }
    v(
        "identity: empty (signed)",
        raw_card(&seed, b"", &enc_pk, &[0]),
        "Malformed",
    );
    v(
        "identity: 257 bytes (signed)",
        raw_card(&seed, &[b'a'; 257], &enc_pk, &[0]),
        "Malformed",
    );
    v(
        "identity: contains U+000A (signed)",
        raw_card(&seed, b"alice\nadmin", &enc_pk, &[0]),
        "Malformed",
    );
    v(
        "identity: contains U+007F (signed)",
        raw_card(&seed, b"alice\x7f", &enc_pk, &[0]),
        "Malformed",
    );
    v(
        "identity: not UTF-8 (signed)",
        raw_card(&seed, b"alice\xff", &enc_pk, &[0]),
        "Malformed",
    );
    v(
        "prev_flag = 2 (signed)",
        raw_card(&seed, b"alice@clinic-a", &enc_pk, &[2; 17]),
        "Malformed",
    );
    v(
        "prev_flag = 1 without prev_card_id (signed)",
        raw_card(&seed, b"alice@clinic-a", &enc_pk, &[1]),
        "Malformed",
    );
    v(
        "signature: one bit flipped",
        format!("csc2.{}", b64(&flip(&card_bytes, card_bytes.len() - 1))),
        "BadSignature",
    );
    v(
        "signed part altered (created_at)",
        format!("csc2.{}", b64(&flip(&card_bytes, 30))),
        "BadSignature",
    );
    {
        // alice's fields with bob's signing key: a valid signature, by the wrong key.
        let mut forged = unb64(
            &raw_card(&hex32(&c.bob.sign_seed), b"alice@clinic-a", &enc_pk, &[0]),
            "csc2.",
        );
        let alice_pk = card.sign_pk();
        forged[4 + 2 + 14 + 8..4 + 2 + 14 + 8 + 32].copy_from_slice(&alice_pk);
        v(
            "signature made by another key",
            format!("csc2.{}", b64(&forged)),
            "BadSignature",
        );
    }
    {
        // Signature malleability: S + L (the group order) verifies under a lax verifier.
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut bytes = card_bytes.clone();
        let s_at = bytes.len() - 32;
        let mut carry = 0u16;
        for i in 0..32 {
            let sum = u16::from(bytes[s_at + i]) + u16::from(L[i]) + carry;
            bytes[s_at + i] = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0);
        v(
            "signature with a non-canonical S (S + L)",
            format!("csc2.{}", b64(&bytes)),
            "BadSignature",
        );
    }
    {
        // sign_pk replaced by the identity point (small order): verify_strict rejects it.
        let mut bytes = card_bytes.clone();
        let pk_at = 4 + 2 + 14 + 8;
        let mut identity_point = [0u8; 32];
        identity_point[0] = 1;
        bytes[pk_at..pk_at + 32].copy_from_slice(&identity_point);
        v(
            "sign_pk is a small-order point",
            format!("csc2.{}", b64(&bytes)),
            "BadSignature",
        );
        // sign_pk that is not the encoding of a curve point.
        let not_a_point = (2u8..)
            .map(|y| {
                let mut p = [0u8; 32];
                p[0] = y;
                p
            })
            .find(|p| ed25519_dalek::VerifyingKey::from_bytes(p).is_err())
            .unwrap();
        bytes[pk_at..pk_at + 32].copy_from_slice(&not_a_point);
        v(
            "sign_pk is not a curve point",
            format!("csc2.{}", b64(&bytes)),
            "BadSignature",
        );
    }
    v(
        "enc_pk is the zero point (low order, signed)",
        raw_card(&seed, b"alice@clinic-a", &[0; 32], &[0]),
        "Malformed",
    );
    {
        let mut order8 = [0u8; 32];
        order8.copy_from_slice(
            &hex::decode("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")
                .unwrap(),
        );
        v(
            "enc_pk is a point of order 8 (signed)",
            raw_card(&seed, b"alice@clinic-a", &order8, &[0]),
            "Malformed",
        );
        let mut one = [0u8; 32];
        one[0] = 1;
        v(
            "enc_pk is the point u = 1 (order 4, signed)",
            raw_card(&seed, b"alice@clinic-a", &one, &[0]),
            "Malformed",
        );
    }

    // §2 rotation: cards that decode but do not link to the `previous` card, in §2's
    // order. alice2 is alice's rotation; each case changes one thing about it.
    {
        let alice_keys = c.alice.entry();
        let alice2_keys = c.alice2.entry();
        let previous = || Needs::Card {
            previous: c.alice.clone(),
        };
        let rotated =
            |identity: &str, created_at: u64, prev_card_id: CardId, signer: &IdentityKeys| {
                Card::create(
                    alice2_keys.keys(),
                    identity,
                    created_at,
                    Some(Rotation {
                        prev_card_id,
                        prev_keys: signer,
                    }),
                )
                .unwrap()
                .to_text()
            };
        let (alice_id, created) = (c.alice.card().id(), c.alice2.created_at);
        let mut v =
            |d: &str, input: String, e: &str| out.push(invalid("card", d, input, e, previous()));
        v(
            "rotation: rotation_sig made by the new key, not the previous card's",
            rotated("alice@clinic-a", created, alice_id, alice2_keys.keys()),
            "BadSignature",
        );
        v(
            "rotation: prev_card_id names another card",
            rotated(
                "alice@clinic-a",
                created,
                CardId(g.bytes()),
                alice_keys.keys(),
            ),
            "Malformed",
        );
        v(
            "rotation: another identity than the previous card's",
            rotated("mallory@clinic-a", created, alice_id, alice_keys.keys()),
            "Malformed",
        );
        v(
            "rotation: created_at older than the previous card's",
            rotated(
                "alice@clinic-a",
                c.alice.created_at - 1,
                alice_id,
                alice_keys.keys(),
            ),
            "Malformed",
        );
        v(
            "rotation: another identity and signed by the new key (the identity rule comes first)",
            rotated("mallory@clinic-a", created, alice_id, alice2_keys.keys()),
            "Malformed",
        );
        v(
            "rotation: a card that starts a new chain (prev_flag = 0)",
            c.bob.card().to_text(),
            "Malformed",
        );
        // rotation_sig altered: card_sig covers it, so the card itself fails to decode.
        let alice2_bytes = c.alice2.card().to_bytes().to_vec();
        let rotation_sig_at = alice2_bytes.len() - 128;
        v(
            "rotation: a bit of rotation_sig flipped (card_sig covers it)",
            format!("csc2.{}", b64(&flip(&alice2_bytes, rotation_sig_at))),
            "BadSignature",
        );
        v(
            "rotation: a rotated card without its rotation_sig",
            format!(
                "csc2.{}",
                b64(&[
                    &alice2_bytes[..rotation_sig_at],
                    &alice2_bytes[rotation_sig_at + 64..]
                ]
                .concat())
            ),
            "Malformed",
        );
    }

    // §3 messages. m = alice → [alice, bob], read by bob.
    let m = &msgs[1];
    let m_bytes = unb64(&m.envelope, "csm2.");
    let header_len = 4 + 16 + 16 + 2 + 2 * 96;
    let bob_reads =
        |from: Option<&str>, context: Option<&str>, directory: Vec<Key>| Needs::Message {
            keyring: vec![c.bob.clone()],
            directory,
            from: from.map(Into::into),
            context: context.map(Into::into),
        };
    let ctx = Some(m.context.as_str());
    let alice_dir = || vec![c.alice.clone()];
    let from_alice = Some("alice@clinic-a");
    let mut v = |d: &str, input: String, e: &str, with: Needs| {
        out.push(invalid("message", d, input, e, with))
    };
    let std = || bob_reads(from_alice, ctx, alice_dir());
    v(
        "wrong text prefix",
        m.envelope.replacen("csm2.", "csc2.", 1),
        "Malformed",
        std(),
    );
    v(
        "version 1 text prefix (csm1.)",
        m.envelope.replacen("csm2.", "csm1.", 1),
        "Malformed",
        std(),
    );
    v(
        "base64url: padding '=' appended",
        format!("{}=", m.envelope),
        "Malformed",
        std(),
    );
    v(
        "base64url: a character outside the alphabet ('/')",
        format!("{}/", &m.envelope[..m.envelope.len() - 1]),
        "Malformed",
        std(),
    );
    let mut bad = m_bytes.clone();
    bad[3] = b'1';
    v(
        "wrong magic (CSM1, version 1)",
        format!("csm2.{}", b64(&bad)),
        "Malformed",
        std(),
    );
    v(
        "truncated inside the header",
        format!("csm2.{}", b64(&m_bytes[..header_len - 1])),
        "Malformed",
        std(),
    );
    v(
        "truncated: the tag cut short (an altered body)",
        format!("csm2.{}", b64(&m_bytes[..m_bytes.len() - 1])),
        "Integrity",
        std(),
    );
    v(
        "a trailing byte after the tag (an altered body)",
        format!("csm2.{}", b64(&[m_bytes.as_slice(), &[0]].concat())),
        "Integrity",
        std(),
    );
    v(
        "tampered stanza: wrapped CEK bit flipped",
        format!("csm2.{}", b64(&flip(&m_bytes, header_len - 1))),
        "Integrity",
        std(),
    );
    v(
        "tampered stanza: encapsulated key bit flipped",
        format!("csm2.{}", b64(&flip(&m_bytes, header_len - 96 + 16))),
        "Integrity",
        std(),
    );
    v(
        "tampered header: msg_id bit flipped",
        format!("csm2.{}", b64(&flip(&m_bytes, 25))),
        "Integrity",
        std(),
    );
    v(
        "tampered header: sender_card_id bit flipped",
        format!("csm2.{}", b64(&flip(&m_bytes, 4))),
        "Integrity",
        std(),
    );
    v(
        "tampered body",
        format!("csm2.{}", b64(&flip(&m_bytes, header_len + 3))),
        "Integrity",
        std(),
    );
    v(
        "not a recipient (read by carol)",
        m.envelope.clone(),
        "NotARecipient",
        Needs::Message {
            keyring: vec![c.carol.clone()],
            directory: alice_dir(),
            from: from_alice.map(Into::into),
            context: ctx.map(Into::into),
        },
    );
    v(
        "unknown sender: the directory has no card for sender_card_id",
        m.envelope.clone(),
        "UnknownSender",
        bob_reads(from_alice, ctx, vec![c.bob.clone()]),
    );
    v(
        "sender mismatch: the chat names another sender",
        m.envelope.clone(),
        "SenderMismatch",
        bob_reads(Some("mallory@clinic-a"), ctx, alice_dir()),
    );
    v(
        "context mismatch: replayed into another channel",
        m.envelope.clone(),
        "ContextMismatch",
        bob_reads(from_alice, Some("messaging:clinic-a-43"), alice_dir()),
    );

    // Hand-built envelopes: a header, a payload, a valid body.
    let sender_card_id = c.alice.card().id();
    let cek: [u8; 32] = g.bytes();
    let msg_id: [u8; 16] = g.bytes();
    let stanza_to = |k: &Key, g: &mut Gen| {
        let mut rng = ChaCha20Rng::from_seed(g.bytes());
        Stanza::seal(&mut rng, &k.card(), &sender_card_id, &msg_id, &cek).unwrap()
    };
    let good_fields = |ct: u8, context: &[u8], data: &[u8]| {
        let mut f = vec![ct];
        f.extend_from_slice(&1_767_312_003_000u64.to_be_bytes());
        f.extend_from_slice(&(context.len() as u16).to_be_bytes());
        f.extend_from_slice(context);
        // head_epoch 0 and a zero head_root: no directory head (§3).
        f.extend_from_slice(&0u64.to_be_bytes());
        f.extend_from_slice(&[0u8; 32]);
        f.extend_from_slice(&(data.len() as u32).to_be_bytes());
        f.extend_from_slice(data);
        f
    };
    let h2 = Header {
        sender_card_id,
        msg_id,
        stanzas: vec![stanza_to(&c.alice, &mut g), stanza_to(&c.bob, &mut g)],
    };
    let ctx_b = m.context.as_bytes();
    let fields = good_fields(1, ctx_b, b"hello bob");
    let pad_to_32 = |f: &[u8]| vec![0u8; (32 - (f.len() + 64) % 32) % 32];
    {
        let payload = raw_payload(&c.alice, &h2, &fields, &pad_to_32(&fields));
        // Sanity: this hand-built envelope is valid.
        out.push(invalid(
            "message",
            "control: hand-built envelope, valid except for the wrong expected context",
            raw_envelope(&h2, payload, &cek),
            "ContextMismatch",
            bob_reads(from_alice, Some("other"), alice_dir()),
        ));
    }
    let mut v = |d: &str, input: String, e: &str, with: Needs| {
        out.push(invalid("message", d, input, e, with))
    };
    let std = || bob_reads(from_alice, ctx, alice_dir());
    {
        let mut pad = pad_to_32(&fields);
        pad.extend_from_slice(&[0; 32]);
        *pad.last_mut().unwrap() = 1;
        v(
            "non-zero padding (signed, sealed)",
            raw_envelope(&h2, raw_payload(&c.alice, &h2, &fields, &pad), &cek),
            "Malformed",
            std(),
        );
        let mut pad = pad_to_32(&fields);
        pad.extend_from_slice(&[0; 256]);
        assert!(pad.len() > 255);
        v(
            "padding over 255 bytes (signed, sealed)",
            raw_envelope(&h2, raw_payload(&c.alice, &h2, &fields, &pad), &cek),
            "Malformed",
            std(),
        );
        let sig_bad = {
            let mut p = raw_payload(&c.alice, &h2, &fields, &pad_to_32(&fields));
            p[fields.len()] ^= 0x80;
            p
        };
        v(
            "bad message signature: one bit of sig flipped (sealed)",
            raw_envelope(&h2, sig_bad, &cek),
            "BadSignature",
            std(),
        );
        v(
            "message signed by another key (bob's), sender_card_id alice's (sealed)",
            raw_envelope(
                &h2,
                raw_payload(&c.bob, &h2, &fields, &pad_to_32(&fields)),
                &cek,
            ),
            "BadSignature",
            std(),
        );
        for ct in [0u8, 6] {
            let f = good_fields(ct, ctx_b, b"hello bob");
            v(
                &format!("content type {ct} (signed, sealed)"),
                raw_envelope(&h2, raw_payload(&c.alice, &h2, &f, &pad_to_32(&f)), &cek),
                "Malformed",
                std(),
            );
        }
        let f = good_fields(1, b"chan\xff", b"hello bob");
        v(
            "context is not UTF-8 (signed, sealed)",
            raw_envelope(&h2, raw_payload(&c.alice, &h2, &f, &pad_to_32(&f)), &cek),
            "Malformed",
            std(),
        );
        let mut f = good_fields(1, ctx_b, b"hello bob");
        // The vec32 length of the 9-byte data, set to 65,535.
        let len_at = f.len() - 9 - 4;
        f[len_at..len_at + 4].copy_from_slice(&65_535u32.to_be_bytes());
        v(
            "data length runs past the payload (signed, sealed)",
            raw_envelope(&h2, [f.as_slice(), &[0u8; 64]].concat(), &cek),
            "Malformed",
            std(),
        );
        v(
            "payload shorter than a signature (sealed)",
            raw_envelope(&h2, fields.clone(), &cek),
            "Malformed",
            std(),
        );
    }
    {
        let h0 = Header {
            sender_card_id,
            msg_id,
            stanzas: vec![],
        };
        let p = raw_payload(&c.alice, &h0, &fields, &pad_to_32(&fields));
        v(
            "zero stanzas",
            raw_envelope(&h0, p, &cek),
            "Malformed",
            std(),
        );
        let mut stanzas = vec![stanza_to(&c.bob, &mut g)];
        for _ in 0..1000 {
            stanzas.push(Stanza {
                recipient_card_id: CardId(g.bytes()),
                enc: g.bytes(),
                wrapped: g.bytes(),
            });
        }
        let h1001 = Header {
            sender_card_id,
            msg_id,
            stanzas,
        };
        let p = raw_payload(&c.alice, &h1001, &fields, &pad_to_32(&fields));
        v(
            "1001 stanzas",
            raw_envelope(&h1001, p, &cek),
            "Malformed",
            std(),
        );
        let hdup = Header {
            sender_card_id,
            msg_id,
            stanzas: vec![
                stanza_to(&c.bob, &mut g),
                stanza_to(&c.alice, &mut g),
                stanza_to(&c.bob, &mut g),
            ],
        };
        let p = raw_payload(&c.alice, &hdup, &fields, &pad_to_32(&fields));
        v(
            "duplicate recipient_card_id",
            raw_envelope(&hdup, p, &cek),
            "Malformed",
            std(),
        );
    }

    // §4 backups. b = bob's backup with the minimum parameters.
    let b = &baks[1];
    let b_bytes = unb64(&b.backup, "csb1.");
    let pw = || Needs::Backup {
        password: b.password.clone(),
    };
    let mut v = |d: &str, input: String, e: &str, with: Needs| {
        out.push(invalid("backup", d, input, e, with))
    };
    v(
        "wrong text prefix",
        b.backup.replacen("csb1.", "csk1.", 1),
        "Malformed",
        pw(),
    );
    let mut bad = b_bytes.clone();
    bad[3] = b'2';
    v(
        "wrong magic (CSB2)",
        format!("csb1.{}", b64(&bad)),
        "Malformed",
        pw(),
    );
    v(
        "truncated inside the header",
        format!("csb1.{}", b64(&b_bytes[..40])),
        "Malformed",
        pw(),
    );
    for (what, at, value) in [
        ("m_kib = 19455", 4, 19455u32),
        ("m_kib = 262145", 4, 262_145),
        ("t = 1", 8, 1),
        ("t = 11", 8, 11),
        ("p = 0", 12, 0),
        ("p = 5", 12, 5),
    ] {
        let mut bad = b_bytes.clone();
        bad[at..at + 4].copy_from_slice(&value.to_be_bytes());
        v(
            &format!("Argon2 parameters out of bounds: {what}"),
            format!("csb1.{}", b64(&bad)),
            "Malformed",
            pw(),
        );
    }
    v(
        "wrong password",
        b.backup.clone(),
        "Integrity",
        Needs::Backup {
            password: "Cafe au lait".into(),
        },
    );
    v(
        "tampered ciphertext",
        format!("csb1.{}", b64(&flip(&b_bytes, 70))),
        "Integrity",
        pw(),
    );
    v(
        "tampered salt",
        format!("csb1.{}", b64(&flip(&b_bytes, 17))),
        "Integrity",
        pw(),
    );
    v(
        "tampered tag",
        format!("csb1.{}", b64(&flip(&b_bytes, b_bytes.len() - 1))),
        "Integrity",
        pw(),
    );
    v(
        "truncated: shorter than a tag",
        format!("csb1.{}", b64(&b_bytes[..4 + 12 + 16 + 24 + 15])),
        "Integrity",
        pw(),
    );
    {
        let params = backup::Params {
            m_kib: 19456,
            t: 2,
            p: 1,
        };
        let password = "keyring tests";
        let seal = |keyring: &[u8], g: &mut Gen| {
            backup::seal_bytes(keyring, password, params, g.bytes(), g.bytes()).unwrap()
        };
        let pw = || Needs::Backup {
            password: password.into(),
        };
        for (d, keyring, e) in bad_keyrings(c) {
            out.push(invalid("backup", d, seal(&keyring, &mut g), e, pw()));
        }
        let good = Keyring::new(c.bob.entry()).encode().unwrap().to_vec();
        // Control: the unaltered keyring, valid.
        out.push(invalid(
            "backup",
            "control: hand-built keyring, valid, opened with a wrong password",
            seal(&good, &mut g),
            "Integrity",
            Needs::Backup {
                password: "not it".into(),
            },
        ));
    }
    out
}

/// Keyrings that §4 refuses, each with its description and error, in the order the
/// backup cases seal them: bob's keyring as the crate encodes it, altered once. Every
/// format that carries a keyring (§4, §4.1, §13) seals each of them.
pub(crate) fn bad_keyrings(c: &Cast) -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let good = Keyring::new(c.bob.entry()).encode().unwrap().to_vec();
    // The mismatches overwrite one secret.
    let (sign_at, enc_at) = (good.len() - 64, good.len() - 32);
    let mut mismatch = good.clone();
    mismatch[enc_at..].copy_from_slice(&hex32(&c.carol.enc_sk));
    let mut wrong_sign = good.clone();
    wrong_sign[sign_at..enc_at].copy_from_slice(&hex32(&c.carol.sign_seed));
    // The card's card_sig is just before the 64 secret bytes.
    let mut bad_card = good.clone();
    bad_card[sign_at - 1] ^= 1;
    let mut magic = good.clone();
    magic[3] = b'1';
    vec![
        (
            "keyring key mismatch: enc_sk of another identity",
            mismatch,
            "Malformed",
        ),
        (
            "keyring key mismatch: sign_sk of another identity",
            wrong_sign,
            "Malformed",
        ),
        (
            "keyring holding a card whose card_sig fails (§2's error)",
            bad_card,
            "BadSignature",
        ),
        (
            "keyring with count 0",
            b"CSK2\x00\x00".to_vec(),
            "Malformed",
        ),
        (
            "keyring with a trailing byte",
            [good.as_slice(), &[0]].concat(),
            "Malformed",
        ),
        (
            "keyring with a wrong magic (CSK1, version 1)",
            magic,
            "Malformed",
        ),
        (
            "keyring with an unknown magic (CSK3)",
            [b"CSK3", &good[4..]].concat(),
            "Malformed",
        ),
    ]
}
