//! Decoders never panic: arbitrary bytes and strings, structured near-valid inputs, and
//! random edits of valid encodings (an edited envelope is refused or decrypts to the very
//! same message).

use super::*;

#[derive(Clone, Copy, Debug)]
enum Edit {
    Truncate(Index),
    Insert(Index, u8),
    Delete(Index),
    Overwrite(Index, u8),
    FlipBit(Index, u8),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        any::<Index>().prop_map(Edit::Truncate),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<Index>().prop_map(Edit::Delete),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Overwrite(i, b)),
        (any::<Index>(), 0u8..8).prop_map(|(i, b)| Edit::FlipBit(i, b)),
    ];
    vec(edit, 1..=3)
}

fn mutate(original: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut out = original.to_vec();
    for edit in edits {
        let len = out.len();
        match *edit {
            Edit::Truncate(i) => out.truncate(i.index(len + 1)),
            Edit::Insert(i, b) => out.insert(i.index(len + 1), b),
            Edit::Delete(i) if len > 0 => {
                out.remove(i.index(len));
            }
            Edit::Overwrite(i, b) if len > 0 => out[i.index(len)] = b,
            Edit::FlipBit(i, b) if len > 0 => out[i.index(len)] ^= 1 << b,
            _ => {}
        }
    }
    out
}

/// Argon2 parameters as a backup header states them, if it has the magic and them.
fn stated_params(bytes: &[u8]) -> Option<backup::Params> {
    let word = |at: usize| Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    (bytes.get(..4)? == b"CSB1").then_some(())?;
    Some(backup::Params {
        m_kib: word(4)?,
        t: word(8)?,
        p: word(12)?,
    })
}

fn backup_header(params: backup::Params) -> Vec<u8> {
    [
        &b"CSB1"[..],
        &params.m_kib.to_be_bytes(),
        &params.t.to_be_bytes(),
        &params.p.to_be_bytes(),
    ]
    .concat()
}

/// Values near and far outside §4's bounds, and in-bounds ones, for each parameter.
fn param_value(edges: Vec<u32>) -> impl Strategy<Value = u32> {
    prop_oneof![select(edges), any::<u32>()]
}

proptest! {
    #![proptest_config(config(1024))]

    /// Arbitrary bytes, raw and behind each object's magic or text prefix.
    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(bytes in vec(any::<u8>(), 0..600)) {
        let f = &*FIXTURE;
        let behind = |magic: &[u8]| [magic, &bytes[..]].concat();

        refused(Card::decode(&bytes), CARD_ERRORS, "card bytes")?;
        refused(Card::decode(&behind(b"CSC2")), CARD_ERRORS, "CSC2 + bytes")?;
        refused(Card::parse(&text_form("csc2.", &bytes)), CARD_ERRORS, "csc2. text")?;
        refused(Card::parse(&text_form("csc2.", &behind(b"CSC2"))), CARD_ERRORS, "csc2. CSC2 text")?;

        tolerated(&Envelope::decode(bytes.clone()), &["Malformed"], "envelope bytes")?;
        tolerated(&Envelope::decode(behind(b"CSM2")), &["Malformed"], "CSM2 + bytes")?;
        tolerated(&Envelope::parse(&text_form("csm2.", &bytes)), &["Malformed"], "csm2. text")?;
        tolerated(&Envelope::parse(&text_form("csm2.", &behind(b"CSM2"))), &["Malformed"], "csm2. text")?;
        refused(f.bob_reads(&text_form("csm2.", &bytes)), RECEIVED, "decrypt bytes")?;
        refused(f.bob_reads(&text_form("csm2.", &behind(b"CSM2"))), RECEIVED, "decrypt CSM2 + bytes")?;

        refused(Keyring::decode(&bytes), &["Malformed"], "keyring bytes")?;
        refused(Keyring::decode(&behind(b"CSK2")), &["Malformed"], "CSK2 + bytes")?;
        for count in 0u16..=3 {
            let framed = [&b"CSK2"[..], &count.to_be_bytes(), &bytes].concat();
            refused(Keyring::decode(&framed), &["Malformed"], "CSK2 + count + bytes")?;
        }

        // Without the magic, no Argon2 runs.
        prop_assume!(!bytes.starts_with(b"CSB1"));
        refused(backup::open(&text_form("csb1.", &bytes), "pw"), &["Malformed"], "backup bytes")?;
    }

    /// Arbitrary strings, raw and behind each text prefix.
    #[test]
    fn decoders_never_panic_on_arbitrary_text(text in ANY_TEXT, b64ish in "[A-Za-z0-9_+/= -]{0,60}") {
        let f = &*FIXTURE;
        for s in [text.clone(), format!("csc2.{text}"), format!("csc2.{b64ish}")] {
            refused(Card::parse(&s), CARD_ERRORS, "card text")?;
        }
        for s in [text.clone(), format!("csm2.{text}"), format!("csm2.{b64ish}")] {
            tolerated(&Envelope::parse(&s), &["Malformed"], "envelope text")?;
            refused(f.bob_reads(&s), RECEIVED, "decrypt text")?;
            refused(decrypt_as(&s, &f.alice, f.alice_card(), None, None), RECEIVED, "decrypt text")?;
        }
        for s in [text.clone(), format!("csb1.{text}"), format!("csb1.{b64ish}")] {
            let bytes = s.strip_prefix("csb1.").and_then(|b| b64u_decode(b).ok());
            prop_assume!(!bytes.is_some_and(|b| b.starts_with(b"CSB1")));
            refused(backup::open(&s, "pw"), &["Malformed"], "backup text")?;
        }
        // b64u is strict, hence canonical: whatever decodes re-encodes to the same text.
        for s in [&text, &b64ish] {
            match b64u_decode(s) {
                Ok(bytes) => prop_assert_eq!(&b64u_encode(&bytes), s),
                Err(e) => prop_assert_eq!(e.code(), "Malformed"),
            }
        }
    }

    /// A valid header (bob is a recipient) then an arbitrary body: §3 step 3 refuses it
    /// (`Integrity`) after the HPKE open succeeds.
    #[test]
    fn a_valid_header_with_an_arbitrary_body_is_integrity(body in vec(any::<u8>(), 0..600)) {
        let f = &*FIXTURE;
        let bytes = [&f.envelope_bytes[..header_len(2)], &body[..]].concat();
        let err = f.bob_reads(&text_form("csm2.", &bytes)).unwrap_err();
        prop_assert_eq!(err.code(), "Integrity");
    }

    /// A header with an arbitrary stanza count and arbitrary stanzas: parsed only when
    /// the count is 1..=1000 and the stanzas are all there; never addressed to bob.
    #[test]
    fn arbitrary_stanza_counts_are_bounded(
        ids in any::<[u8; 32]>(),
        n in prop_oneof![0u16..=7, select(vec![1000u16, 1001, u16::MAX])],
        rest in vec(any::<u8>(), 0..800),
    ) {
        let f = &*FIXTURE;
        let bytes = [&b"CSM2"[..], &ids, &n.to_be_bytes(), &rest].concat();
        match Envelope::decode(bytes.clone()) {
            Ok(env) => {
                prop_assert!((1..=1000).contains(&n));
                prop_assert!(rest.len() >= 96 * usize::from(n));
                prop_assert_eq!(env.header().stanzas.len(), usize::from(n));
                refused(f.bob_reads(&text_form("csm2.", &bytes)), &["NotARecipient"], "random stanzas")?;
            }
            Err(e) => {
                prop_assert_eq!(e.code(), "Malformed");
                prop_assert!(n == 0 || n > 1000 || rest.len() < 96 * usize::from(n));
            }
        }
    }

    /// §4: a backup whose Argon2 parameters are out of bounds is `Malformed`, whatever
    /// follows, and costs no Argon2 (or this would take minutes and gigabytes).
    #[test]
    fn backup_params_out_of_bounds_are_malformed(
        m_kib in param_value(vec![0, 1, 8, 19455, 19456, 262_144, 262_145, 4_194_304, u32::MAX]),
        t in param_value(vec![0, 1, 2, 10, 11, 1000, u32::MAX]),
        p in param_value(vec![0, 1, 4, 5, 16, 255, u32::MAX]),
        tail in vec(any::<u8>(), 0..200),
    ) {
        let params = backup::Params { m_kib, t, p };
        prop_assume!(!params.in_bounds());
        let bytes = [backup_header(params), tail].concat();
        refused(backup::open(&text_form("csb1.", &bytes), "pw"), &["Malformed"], "out-of-bounds params")?;
    }

    /// A valid header too short to hold salt, nonce and tag is refused (before Argon2).
    #[test]
    fn short_backups_are_refused(tail in vec(any::<u8>(), 0..56)) {
        let bytes = [backup_header(MIN_PARAMS), tail].concat();
        refused(backup::open(&text_form("csb1.", &bytes), "pw"), BACKUP_ERRORS, "short backup")?;
    }

    /// Random edits of a valid card: refused (`Malformed`/`BadSignature`), or the very
    /// same card (an Ed25519 `verify_strict` signature is not malleable).
    #[test]
    fn edited_cards_are_refused(edits in edits()) {
        let f = &*FIXTURE;
        let bytes = mutate(&f.card_bytes, &edits);
        let result = Card::decode(&bytes);
        tolerated(&result, CARD_ERRORS, "edited card")?;
        if let Ok(card) = result {
            prop_assert_eq!(&bytes, &f.card_bytes);
            prop_assert_eq!(&card, f.alice_card());
        }
        let text = mutate(f.alice_card().to_text().as_bytes(), &edits);
        if let Ok(text) = String::from_utf8(text) {
            let result = Card::parse(&text);
            tolerated(&result, CARD_ERRORS, "edited card text")?;
            if let Ok(card) = result {
                prop_assert_eq!(&card, f.alice_card());
            }
        }
    }

    /// Random edits of a valid keyring: refused (`Malformed`, or §2's `BadSignature` for
    /// an edited card, §4), or the same key generations (same cards, same public keys).
    #[test]
    fn edited_keyrings_are_refused(edits in edits()) {
        let f = &*FIXTURE;
        let bytes = mutate(&f.keyring_bytes, &edits);
        let result = Keyring::decode(&bytes);
        tolerated(&result, &["Malformed", "BadSignature"], "edited keyring")?;
        if let Ok(decoded) = result {
            prop_assert_eq!(decoded.len(), f.alice.len());
            for (x, y) in decoded.entries().zip(f.alice.entries()) {
                prop_assert_eq!(x.card(), y.card());
                prop_assert_eq!(x.keys().sign_pk(), y.keys().sign_pk());
                prop_assert_eq!(x.keys().enc_pk(), y.keys().enc_pk());
            }
        }
    }
}

proptest! {
    #![proptest_config(config(2048))]

    /// Random edits of a valid envelope, in byte and in text form: refused with a
    /// protocol error, or decrypted to the very same message. An edit can never yield a
    /// different accepted plaintext.
    #[test]
    fn edited_envelopes_are_refused_or_unchanged(edits in edits()) {
        let f = &*FIXTURE;
        let bytes = mutate(&f.envelope_bytes, &edits);
        let result = f.bob_reads(&text_form("csm2.", &bytes));
        tolerated(&result, RECEIVED, "edited envelope")?;
        if let Ok(msg) = result {
            prop_assert_eq!(&msg, &f.message);
        }
        let text = mutate(f.envelope_text.as_bytes(), &edits);
        if let Ok(text) = String::from_utf8(text) {
            let result = f.bob_reads(&text);
            tolerated(&result, RECEIVED, "edited envelope text")?;
            if let Ok(msg) = result {
                prop_assert_eq!(&msg, &f.message);
            }
        }
    }
}

proptest! {
    #![proptest_config(config(3))]

    /// A header with the minimum in-bounds parameters, then arbitrary salt, nonce and
    /// ciphertext: Argon2 runs, and the result is `Integrity`. (Few cases: Argon2.)
    #[test]
    fn arbitrary_backup_bodies_are_integrity(tail in vec(any::<u8>(), 56..300)) {
        let bytes = [backup_header(MIN_PARAMS), tail].concat();
        refused(backup::open(&text_form("csb1.", &bytes), "pw"), &["Integrity"], "random backup body")?;
    }
}

proptest! {
    #![proptest_config(config(10))]

    /// Random edits of a valid backup: refused (`Malformed`/`Integrity`), or the same
    /// keyring. Edits that turn the parameters into other in-bounds ones are skipped:
    /// they would run Argon2 with up to 256 MiB and 10 passes.
    #[test]
    fn edited_backups_are_refused(edits in edits()) {
        let f = &*FIXTURE;
        let bytes = mutate(&f.backup_bytes, &edits);
        let cheap = match stated_params(&bytes) {
            Some(p) => !p.in_bounds() || p == MIN_PARAMS,
            None => true,
        };
        prop_assume!(cheap);
        let result = backup::open(&text_form("csb1.", &bytes), &f.password);
        tolerated(&result, BACKUP_ERRORS, "edited backup")?;
        if let Ok(opened) = result {
            same_keyring(&opened, &f.alice)?;
        }
    }
}
