//! Invalid pairwise messages (§11): one or more for every rejection a vector can express.
//! (§11's all-zero `pair_secret` cannot be: a card with a low-order `enc_pk` is refused
//! by §2, so no directory holds one; the unit tests of `proto::pairwise` cover it.)

use super::*;

/// `u8 content_type || u64 sent_at || vec16(context) || u64 0 || 32 zero bytes ||
/// vec32(data)`, with the context as raw bytes (so that it may break UTF-8).
pub(crate) fn raw_fields(ct: u8, sent_at: u64, context: &[u8], data: &[u8]) -> Vec<u8> {
    let mut f = vec![ct];
    f.extend_from_slice(&sent_at.to_be_bytes());
    f.extend_from_slice(&(context.len() as u16).to_be_bytes());
    f.extend_from_slice(context);
    f.extend_from_slice(&0u64.to_be_bytes());
    f.extend_from_slice(&[0u8; 32]);
    f.extend_from_slice(&(data.len() as u32).to_be_bytes());
    f.extend_from_slice(data);
    f
}

/// A pairwise message of `header`, its body `payload` as given, sealed under the pair
/// key of `own` (the sealer's keys) and `other`'s card.
pub(crate) fn raw_pairwise(
    own: &Key,
    other: &Key,
    header: &PairHeader,
    payload: Vec<u8>,
) -> String {
    let key = PairKey::derive(own.entry().keys(), &other.card()).unwrap();
    pairwise::seal_payload(&key, header.encode(), Zeroizing::new(payload)).unwrap()
}

/// Invalid pairwise messages: alice writes to bob in "dm:alice-bob"; bob reads with
/// alice's card resolvable (alice, reading her own history, with bob's).
pub fn invalid_pairwise_vectors(c: &Cast) -> Vec<InvalidVector> {
    let mut g = Gen::new(8);
    let mut out = Vec::new();
    let context = "dm:alice-bob";
    let sent_at = 1_767_500_900_000;
    let data = b"Room 4 is free.";
    let header = PairHeader {
        sender_card_id: c.alice.card().id(),
        recipient_card_id: c.bob.card().id(),
        msg_id: g.bytes(),
    };
    let fields = raw_fields(1, sent_at, context.as_bytes(), data);
    let pad = vec![0u8; (32 - fields.len() % 32) % 32];
    let m = raw_pairwise(
        &c.alice,
        &c.bob,
        &header,
        [fields.clone(), pad.clone()].concat(),
    );
    let real = make_pairwise(&PairwiseVector {
        sender: c.alice.clone(),
        recipient: c.bob.clone(),
        msg_id: hex::encode(header.msg_id),
        content_type: 1,
        sent_at,
        context: context.into(),
        head_epoch: 0,
        head_root: hex::encode([0u8; 32]),
        data: hex::encode(data),
        text: String::new(),
    });
    assert_eq!(m, real, "the hand-built message is the real one");
    let bytes = unb64(&m, "csp2.");
    let reads = |reader: &Key, directory: Vec<Key>, from: Option<&str>, context: Option<&str>| {
        Needs::Message {
            keyring: vec![reader.clone()],
            directory,
            from: from.map(Into::into),
            context: context.map(Into::into),
        }
    };
    let from_alice = Some("alice@clinic-a");
    let std = || reads(&c.bob, vec![c.alice.clone()], from_alice, Some(context));
    let mut v = |d: &str, input: String, e: &str, with: Needs| {
        out.push(invalid("pairwise", d, input, e, with))
    };

    // Step 1: the text and the header.
    v(
        "wrong text prefix (csm2.)",
        m.replacen("csp2.", "csm2.", 1),
        "Malformed",
        std(),
    );
    v(
        "version 1 text prefix (csp1.)",
        m.replacen("csp2.", "csp1.", 1),
        "Malformed",
        std(),
    );
    let mut bad = bytes.clone();
    bad[3] = b'1';
    v(
        "wrong magic (CSP1)",
        format!("csp2.{}", b64(&bad)),
        "Malformed",
        std(),
    );
    let mut bad = bytes.clone();
    bad[..4].copy_from_slice(b"CSM2");
    v(
        "wrong magic (CSM2)",
        format!("csp2.{}", b64(&bad)),
        "Malformed",
        std(),
    );
    v(
        "truncated inside the header",
        format!("csp2.{}", b64(&bytes[..40])),
        "Malformed",
        std(),
    );
    v("base64url padding '='", format!("{m}="), "Malformed", std());

    // Step 2: neither card is local.
    v(
        "carol holds neither card",
        m.clone(),
        "NotARecipient",
        reads(&c.carol, vec![c.alice.clone(), c.bob.clone()], None, None),
    );

    // Step 3: the other card.
    v(
        "the directory has no card for the sender",
        m.clone(),
        "UnknownSender",
        reads(&c.bob, vec![c.carol.clone()], from_alice, Some(context)),
    );
    v(
        "the sender reading its history: the directory has no card for the recipient",
        m.clone(),
        "UnknownSender",
        reads(&c.alice, vec![], from_alice, Some(context)),
    );

    // Step 4: the body.
    let mut flipped = bytes.clone();
    let last = flipped.len() - 20;
    flipped[last] ^= 1;
    v(
        "one bit of the body flipped",
        format!("csp2.{}", b64(&flipped)),
        "Integrity",
        std(),
    );
    let mut moved = bytes.clone();
    moved[pairwise::HEADER_LEN - 1] ^= 1;
    v(
        "the msg_id changed (the key's HKDF info and the aad)",
        format!("csp2.{}", b64(&moved)),
        "Integrity",
        std(),
    );
    v(
        "the body is shorter than a tag",
        format!("csp2.{}", b64(&bytes[..pairwise::HEADER_LEN + 10])),
        "Integrity",
        std(),
    );
    v(
        "the body is empty",
        format!("csp2.{}", b64(&bytes[..pairwise::HEADER_LEN])),
        "Integrity",
        std(),
    );
    v(
        "in alice's name, sealed with the pair key of carol and bob (a forgery)",
        raw_pairwise(
            &c.carol,
            &c.bob,
            &header,
            [fields.clone(), pad.clone()].concat(),
        ),
        "Integrity",
        std(),
    );
    let to_zoe = PairHeader {
        recipient_card_id: c.zoe.card().id(),
        ..header
    };
    v(
        "the recipient card id changed to zoe's, read by alice (the sender)",
        {
            let real = raw_pairwise(
                &c.alice,
                &c.bob,
                &header,
                [fields.clone(), pad.clone()].concat(),
            );
            let mut b = unb64(&real, "csp2.");
            b[20..36].copy_from_slice(&to_zoe.recipient_card_id.0);
            format!("csp2.{}", b64(&b))
        },
        "Integrity",
        reads(&c.alice, vec![c.zoe.clone()], from_alice, Some(context)),
    );

    // Step 5: the payload, sealed under the right key.
    let sealed = |payload: Vec<u8>| raw_pairwise(&c.alice, &c.bob, &header, payload);
    v(
        "unknown content type 9",
        sealed(
            [
                raw_fields(9, sent_at, context.as_bytes(), data),
                pad.clone(),
            ]
            .concat(),
        ),
        "Malformed",
        std(),
    );
    v(
        "content type 0",
        sealed(
            [
                raw_fields(0, sent_at, context.as_bytes(), data),
                pad.clone(),
            ]
            .concat(),
        ),
        "Malformed",
        std(),
    );
    let bad_utf8 = raw_fields(1, sent_at, b"dm:\xff\xfe", data);
    v(
        "context is not UTF-8",
        sealed([bad_utf8.clone(), vec![0; (32 - bad_utf8.len() % 32) % 32]].concat()),
        "Malformed",
        reads(&c.bob, vec![c.alice.clone()], from_alice, None),
    );
    v(
        "256 bytes of padding",
        sealed([fields.clone(), vec![0; 256]].concat()),
        "Malformed",
        std(),
    );
    let mut nonzero = pad.clone();
    nonzero.extend_from_slice(&[0; 31]);
    nonzero.push(1);
    v(
        "non-zero padding",
        sealed([fields.clone(), nonzero].concat()),
        "Malformed",
        std(),
    );
    v(
        "the data runs past the end of the payload",
        sealed(fields[..fields.len() - 1].to_vec()),
        "Malformed",
        std(),
    );
    v(
        "a signature where the padding goes (a §3 payload)",
        sealed([fields.clone(), vec![0x5a; 64]].concat()),
        "Malformed",
        std(),
    );

    // Steps 6 and 7.
    v(
        "sender mismatch: the chat names another sender",
        m.clone(),
        "SenderMismatch",
        reads(
            &c.bob,
            vec![c.alice.clone()],
            Some("mallory@clinic-a"),
            Some(context),
        ),
    );
    v(
        "sender mismatch on the sender side: alice's own message named as bob's",
        m.clone(),
        "SenderMismatch",
        reads(
            &c.alice,
            vec![c.bob.clone()],
            Some("bob@clinic-a"),
            Some(context),
        ),
    );
    v(
        "context mismatch: replayed into another conversation",
        m.clone(),
        "ContextMismatch",
        reads(
            &c.bob,
            vec![c.alice.clone()],
            from_alice,
            Some("dm:alice-zoe"),
        ),
    );
    out
}
