//! Invalid group messages (§9): one or more for every rejection rule.

use super::*;

/// Invalid group messages (§9): one or more for every rejection rule. alice sends
/// message 3 of session S in "team:nurses"; bob reads it with the share alice made him.
pub fn invalid_group_vectors(c: &Cast) -> Vec<InvalidVector> {
    let mut g = Gen::new(6);
    let mut out = Vec::new();
    let context = "team:nurses";
    let session_id = SessionId(g.bytes());
    let ck0 = ChainKey::from_bytes(g.bytes());
    let alice = c.alice.entry();
    let sent_at = 1_767_500_400_000;
    let message = |index: u32, context: &str, data: &[u8]| {
        group::seal(
            &alice,
            session_id,
            index,
            &ck0.advance(index),
            &Content {
                content_type: ContentType::Text,
                sent_at,
                context,
                head_epoch: 0,
                head_root: [0; 32],
                data,
            },
        )
        .unwrap()
    };
    let m3 = message(3, context, b"Room 4 is free.");
    let m3_bytes = unb64(&m3, "csg2.");
    let share = |index: u32| Share {
        session_id,
        index,
        chain_key: ck0.advance(index),
    };
    // A share: a §11 message from `from` to `to` in `ctx` (§9).
    let sealed_in = |g: &mut Gen, from: &Key, to: &Key, ct: ContentType, data: &[u8], ctx: &str| {
        let mut rng = ChaCha20Rng::from_seed(g.bytes());
        pairwise::seal(
            &mut rng,
            &from.entry(),
            &to.card(),
            &Content {
                content_type: ct,
                sent_at,
                context: ctx,
                head_epoch: 0,
                head_root: [0; 32],
                data,
            },
        )
        .unwrap()
    };
    let sealed_share = |g: &mut Gen, from: &Key, to: &Key, ct: ContentType, data: &[u8]| {
        sealed_in(g, from, to, ct, data, context)
    };
    let good_share = sealed_share(
        &mut g,
        &c.alice,
        &c.bob,
        ContentType::SessionShare,
        &share(0).encode(),
    );
    let bob_reads = |shares: Vec<String>, from: Option<&str>, context: Option<&str>| Needs::Group {
        keyring: vec![c.bob.clone()],
        directory: vec![c.alice.clone(), c.carol.clone()],
        shares,
        from: from.map(Into::into),
        context: context.map(Into::into),
    };
    let from_alice = Some("alice@clinic-a");
    let std = || bob_reads(vec![good_share.clone()], from_alice, Some(context));
    let mut v = |d: &str, input: String, e: &str, with: Needs| {
        out.push(invalid("group", d, input, e, with))
    };

    // Step 1: the text and the header.
    v(
        "wrong text prefix (csm2.)",
        m3.replacen("csg2.", "csm2.", 1),
        "Malformed",
        std(),
    );
    v(
        "version 1 text prefix (csg1.)",
        m3.replacen("csg2.", "csg1.", 1),
        "Malformed",
        std(),
    );
    let mut bad = m3_bytes.clone();
    bad[3] = b'1';
    v(
        "wrong magic (CSG1, version 1)",
        format!("csg2.{}", b64(&bad)),
        "Malformed",
        std(),
    );
    let mut bad = m3_bytes.clone();
    bad[..4].copy_from_slice(b"CSP2");
    v(
        "wrong magic (CSP2)",
        format!("csg2.{}", b64(&bad)),
        "Malformed",
        std(),
    );
    v(
        "truncated inside the header",
        format!("csg2.{}", b64(&m3_bytes[..30])),
        "Malformed",
        std(),
    );
    v(
        "index over 100000 steps past the share",
        message(100_001, context, b"far"),
        "Malformed",
        std(),
    );

    // The session: the share that opens it.
    v(
        "no share for the session",
        m3.clone(),
        "NoSessionKey",
        bob_reads(vec![], from_alice, Some(context)),
    );
    // Shares that fail one of §9's checks each: with no other share, the session is unknown.
    let good = share(0).encode().to_vec();
    let other_session = Share {
        session_id: SessionId(g.bytes()),
        index: 0,
        chain_key: ck0.clone(),
    };
    let mut css2 = good.clone();
    css2[3] = b'2';
    // (description, sender, recipient, content type, data)
    type Case<'a> = (&'a str, &'a Key, &'a Key, ContentType, Vec<u8>);
    let refused: Vec<Case> = vec![
        (
            "index before the share's (joined at 4)",
            &c.alice,
            &c.bob,
            ContentType::SessionShare,
            share(4).encode().to_vec(),
        ),
        (
            "the only share is from another card (carol's) than the message's sender card",
            &c.carol,
            &c.bob,
            ContentType::SessionShare,
            good.clone(),
        ),
        (
            "the only share names another session",
            &c.alice,
            &c.bob,
            ContentType::SessionShare,
            other_session.encode().to_vec(),
        ),
        (
            "the only share is content type 3, not 4",
            &c.alice,
            &c.bob,
            ContentType::Bytes,
            good.clone(),
        ),
        (
            "the only share is addressed to another member",
            &c.alice,
            &c.zoe,
            ContentType::SessionShare,
            good.clone(),
        ),
        (
            "the only share's data is 55 bytes, not 56",
            &c.alice,
            &c.bob,
            ContentType::SessionShare,
            good[..55].to_vec(),
        ),
        (
            "the only share's data has the magic CSS2",
            &c.alice,
            &c.bob,
            ContentType::SessionShare,
            css2,
        ),
    ];
    for (description, from, to, content_type, data) in refused {
        let sealed = sealed_share(&mut g, from, to, content_type, &data);
        v(
            description,
            m3.clone(),
            "NoSessionKey",
            bob_reads(vec![sealed], from_alice, Some(context)),
        );
    }
    v(
        "the directory has no card for the sender (its share cannot be verified)",
        m3.clone(),
        "NoSessionKey",
        Needs::Group {
            keyring: vec![c.bob.clone()],
            directory: vec![c.carol.clone()],
            shares: vec![good_share.clone()],
            from: from_alice.map(Into::into),
            context: Some(context.into()),
        },
    );
    {
        // A share in alice's name, sealed with the pair key of carol and bob: a forgery.
        let header = PairHeader {
            sender_card_id: c.alice.card().id(),
            recipient_card_id: c.bob.card().id(),
            msg_id: g.bytes(),
        };
        let fields = raw_fields(4, sent_at, context.as_bytes(), &share(0).encode());
        let pad = vec![0u8; (32 - fields.len() % 32) % 32];
        let forged = raw_pairwise(&c.carol, &c.bob, &header, [fields, pad].concat());
        v(
            "the only share names alice's card but is sealed with carol's pair key (a forgery is no share)",
            m3.clone(),
            "NoSessionKey",
            bob_reads(vec![forged], from_alice, Some(context)),
        );
        // A §3 message carrying the share: version 2 shares are §11 messages only.
        let mut rng = ChaCha20Rng::from_seed(g.bytes());
        let csm2 = envelope::seal(
            &mut rng,
            &c.alice.entry(),
            &[&c.bob.card()],
            &Content {
                content_type: ContentType::SessionShare,
                sent_at,
                context,
                head_epoch: 0,
                head_root: [0; 32],
                data: &share(0).encode(),
            },
        )
        .unwrap();
        v(
            "the only share is a §3 message (csm2.), not a §11 one",
            m3.clone(),
            "NoSessionKey",
            bob_reads(vec![csm2], from_alice, Some(context)),
        );
        let other_channel = sealed_in(
            &mut g,
            &c.alice,
            &c.bob,
            ContentType::SessionShare,
            &share(0).encode(),
            "team:other",
        );
        v(
            "the only share is for another channel than the one the caller expects",
            m3.clone(),
            "NoSessionKey",
            bob_reads(vec![other_channel.clone()], from_alice, Some(context)),
        );
        v(
            "the only share's context is not the message's (no context expected)",
            m3.clone(),
            "NoSessionKey",
            bob_reads(vec![other_channel.clone()], from_alice, None),
        );
        // Of a share for another channel and one for this one, this one is used.
        v(
            "context mismatch: a message of another channel under a session shared for this one",
            message(3, "team:other", b"Room 4 is free."),
            "ContextMismatch",
            bob_reads(
                vec![other_channel, good_share.clone()],
                from_alice,
                Some(context),
            ),
        );
    }

    // The body.
    let mut flipped = m3_bytes.clone();
    let last = flipped.len() - 20;
    flipped[last] ^= 1;
    v(
        "one bit of the body flipped",
        format!("csg2.{}", b64(&flipped)),
        "Integrity",
        std(),
    );
    let mut moved = m3_bytes.clone();
    moved[group::HEADER_LEN - 1] = 4;
    v(
        "the header's index changed from 3 to 4",
        format!("csg2.{}", b64(&moved)),
        "Integrity",
        std(),
    );
    v(
        "the body is shorter than a tag",
        format!("csg2.{}", b64(&m3_bytes[..group::HEADER_LEN + 10])),
        "Integrity",
        std(),
    );

    // Hand-built payloads under the right message key.
    let header = GroupHeader {
        sender_card_id: c.alice.card().id(),
        session_id,
        index: 3,
    };
    let raw = |signer: &Key, fields: &[u8], pad: &[u8]| {
        let head = header.encode();
        let sk = ed25519_dalek::SigningKey::from_bytes(&hex32(&signer.sign_seed));
        let sig = sk.sign(&[b"chatseal/v2/group\x00".as_slice(), &head, fields].concat());
        let payload = [fields, &sig.to_bytes(), pad].concat();
        envelope::seal_text(
            "csg2.",
            head,
            Zeroizing::new(payload),
            &ck0.advance(3).message_key(),
        )
        .unwrap()
    };
    let fields = |ct: u8, data: &[u8]| {
        let mut f = vec![ct];
        f.extend_from_slice(&sent_at.to_be_bytes());
        f.extend_from_slice(&(context.len() as u16).to_be_bytes());
        f.extend_from_slice(context.as_bytes());
        // head_epoch 0 and a zero head_root: no directory head (§3).
        f.extend_from_slice(&0u64.to_be_bytes());
        f.extend_from_slice(&[0u8; 32]);
        f.extend_from_slice(&(data.len() as u32).to_be_bytes());
        f.extend_from_slice(data);
        f
    };
    let text = fields(1, b"Room 4 is free.");
    let pad = vec![0u8; (32 - (text.len() + 64) % 32) % 32];
    assert_eq!(
        raw(&c.alice, &text, &pad),
        m3,
        "the hand-built message is the real one"
    );
    v(
        "signed by another key (carol's)",
        raw(&c.carol, &text, &pad),
        "BadSignature",
        std(),
    );
    let mut bad_pad = pad.clone();
    bad_pad.extend_from_slice(&[0; 31]);
    bad_pad.push(1);
    v(
        "non-zero padding (signed, sealed)",
        raw(&c.alice, &text, &bad_pad),
        "Malformed",
        std(),
    );
    let bad_utf8 = raw_fields(1, sent_at, b"team:\xff", b"Room 4 is free.");
    v(
        "context is not UTF-8 (signed, sealed)",
        raw(
            &c.alice,
            &bad_utf8,
            &vec![0u8; (32 - (bad_utf8.len() + 64) % 32) % 32],
        ),
        "Malformed",
        bob_reads(vec![good_share.clone()], from_alice, None),
    );
    v(
        "256 bytes of padding (signed, sealed)",
        raw(&c.alice, &text, &[0u8; 256]),
        "Malformed",
        std(),
    );
    let unknown = fields(9, b"Room 4 is free.");
    v(
        "unknown content type 9 (signed, sealed)",
        raw(&c.alice, &unknown, &pad),
        "Malformed",
        std(),
    );

    // Steps 5–7.
    v(
        "sender mismatch: the chat names another sender",
        m3.clone(),
        "SenderMismatch",
        bob_reads(
            vec![good_share.clone()],
            Some("mallory@clinic-a"),
            Some(context),
        ),
    );
    v(
        "replayed into another channel: its share is not accepted there (§9)",
        m3.clone(),
        "NoSessionKey",
        bob_reads(vec![good_share.clone()], from_alice, Some("team:other")),
    );
    v(
        "the message's context is not the one its session was shared for: no share for it",
        message(3, "team:other", b"Room 4 is free."),
        "NoSessionKey",
        bob_reads(vec![good_share.clone()], from_alice, None),
    );
    v(
        "context mismatch: a message of another channel, the caller expecting this one",
        message(3, "team:other", b"Room 4 is free."),
        "ContextMismatch",
        bob_reads(vec![good_share.clone()], from_alice, Some(context)),
    );
    out
}
