//! Property tests of the protocol core against PROTOCOL.md §1–§5.
//!
//! - Round trips: envelopes (§3) for arbitrary content, 1–5 recipients, rotated recipient
//!   keys, through both `envelope::seal` and `envelope::encrypt`; §3's padding rule;
//!   keyrings (§4's `CSK1`) of 1–4 generations; backups (§4), including NFC/NFD passwords;
//!   safety numbers (§5).
//! - An exhaustive single-bit-flip sweep over one envelope, in byte form and in text form:
//!   every flip is refused with a protocol error, and each region of the envelope with
//!   the error that §3's decryption order names; the same over a keyring, whose only
//!   accepted flips are the `enc_sk` bits that X25519 clamps.
//! - Decoders never panic: arbitrary bytes and strings, structured near-valid inputs, and
//!   random edits of valid encodings (an edited envelope is refused or decrypts to the
//!   very same message).
//! - Secret hygiene: `Debug` (and `Display`) never shows a secret key or a plaintext.
//!
//! Argon2 is slow by design, so the backup properties run few cases with the minimum
//! parameters §4 allows. Failure persistence is off so that a failing case writes no file
//! next to this one; proptest prints the minimal failing input instead.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::LazyLock;

use chatseal::proto::envelope::Content;
use chatseal::proto::{
    b64u_decode, b64u_encode, backup, envelope, keyring, safety, Card, CardId, ContentType,
    Envelope, Error, IdentityKeys, Keyring, KeyringEntry, Message,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::TestCaseError;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng as _;
use unicode_normalization::UnicodeNormalization as _;

// ---------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------

/// The error names §2–§4 give to received data (`InvalidArgument` is never caused by it).
const RECEIVED: &[&str] = &[
    "Malformed",
    "BadSignature",
    "NotARecipient",
    "Integrity",
    "UnknownSender",
    "SenderMismatch",
    "ContextMismatch",
];
/// §2: a card decoder's only errors.
const CARD_ERRORS: &[&str] = &["Malformed", "BadSignature"];
/// §4: a backup decoder's only errors.
const BACKUP_ERRORS: &[&str] = &["Malformed", "Integrity"];

/// The cheapest Argon2 parameters §4 allows.
const MIN_PARAMS: backup::Params = backup::Params {
    m_kib: 19456,
    t: 2,
    p: 1,
};

/// A valid §1 identity of at most 40 chars (≤ 160 bytes).
const IDENTITY: &str = "[^\\x00-\\x1f\\x7f]{1,40}";
/// A context: up to 100 arbitrary chars (any Unicode scalar, newlines included).
const CONTEXT: &str = "(?s).{0,100}";
/// An arbitrary string for the "never panics" properties.
const ANY_TEXT: &str = "(?s).{0,200}";

/// No regression files next to this one (see the module comment).
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// A keyring of `generations` key pairs made with [`Keyring::rotate`], newest first.
fn new_keyring(rng: &mut ChaCha20Rng, identity: &str, generations: usize) -> Keyring {
    let first = KeyringEntry::generate(rng, identity, 1_700_000_000, None).unwrap();
    let mut keyring = Keyring::new(first);
    for i in 1..generations {
        keyring.rotate(rng, 1_700_000_000 + i as u64).unwrap();
    }
    keyring
}

/// §3 decryption as `reader`, with a directory that knows `sender`'s card only.
fn decrypt_as(
    text: &str,
    reader: &Keyring,
    sender: &Card,
    from: Option<&str>,
    context: Option<&str>,
) -> Result<Message, Error> {
    envelope::decrypt(
        text,
        reader,
        |id| (*id == sender.id()).then_some(sender),
        from,
        context,
    )
}

/// `len(header)` of §3 for `n` stanzas.
fn header_len(stanzas: usize) -> usize {
    4 + 16 + 16 + 2 + 96 * stanzas
}

fn text_form(prefix: &str, bytes: &[u8]) -> String {
    format!("{prefix}{}", b64u_encode(bytes))
}

fn strip_text(text: &str, prefix: &str) -> Vec<u8> {
    b64u_decode(text.strip_prefix(prefix).unwrap()).unwrap()
}

/// The input must be refused, with one of the `allowed` error names.
fn refused<T>(result: Result<T, Error>, allowed: &[&str], what: &str) -> Result<(), TestCaseError> {
    match result {
        Ok(_) => Err(TestCaseError::fail(format!("{what}: accepted"))),
        Err(e) => {
            prop_assert!(allowed.contains(&e.code()), "{what}: unexpected {e:?}");
            Ok(())
        }
    }
}

/// The input may be accepted; if refused, then with one of the `allowed` error names.
fn tolerated<T>(
    result: &Result<T, Error>,
    allowed: &[&str],
    what: &str,
) -> Result<(), TestCaseError> {
    if let Err(e) = result {
        prop_assert!(allowed.contains(&e.code()), "{what}: unexpected {e:?}");
    }
    Ok(())
}

/// Built once per test process: two identities, a message between them, and valid
/// encodings of every object, for the sweep and the mutation properties.
struct Fixture {
    /// Two key generations (so that the keyring and backup have an older entry).
    alice: Keyring,
    bob: Keyring,
    context: String,
    /// From alice to [alice, bob].
    envelope_text: String,
    envelope_bytes: Vec<u8>,
    /// What bob reads from it.
    message: Message,
    /// Alice's current card (a rotation: it has a `prev_card_id`).
    card_bytes: Vec<u8>,
    keyring_bytes: Vec<u8>,
    password: String,
    backup_bytes: Vec<u8>,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let mut rng = rng(0x5eed);
    let alice = new_keyring(&mut rng, "alice@clinic-a", 2);
    let bob = new_keyring(&mut rng, "bob@clinic-a", 1);
    let context = "messaging:clinic-a-42".to_owned();
    let envelope_text = envelope::encrypt(
        &mut rng,
        alice.current(),
        &[bob.current().card()],
        &Content {
            content_type: ContentType::Text,
            sent_at: 1_700_000_000_123,
            context: &context,
            data: b"see you at 3",
        },
    )
    .unwrap();
    let message = decrypt_as(
        &envelope_text,
        &bob,
        alice.current().card(),
        Some("alice@clinic-a"),
        Some(&context),
    )
    .unwrap();
    let password = "correct horse battery staple".to_owned();
    let backup_text = backup::seal(&mut rng, &alice, &password, MIN_PARAMS).unwrap();
    Fixture {
        envelope_bytes: strip_text(&envelope_text, "csm1."),
        card_bytes: alice.current().card().to_bytes().to_vec(),
        keyring_bytes: alice.encode().unwrap().to_vec(),
        backup_bytes: strip_text(&backup_text, "csb1."),
        alice,
        bob,
        context,
        envelope_text,
        message,
        password,
    }
});

impl Fixture {
    fn alice_card(&self) -> &Card {
        self.alice.current().card()
    }

    /// Bob's decryption with everything the chat SDK and the directory know.
    fn bob_reads(&self, text: &str) -> Result<Message, Error> {
        decrypt_as(
            text,
            &self.bob,
            self.alice_card(),
            Some("alice@clinic-a"),
            Some(&self.context),
        )
    }
}

/// Two keyrings hold the same key generations: same cards, same secrets.
fn same_keyring(a: &Keyring, b: &Keyring) -> Result<(), TestCaseError> {
    prop_assert_eq!(a.len(), b.len());
    for (x, y) in a.entries().zip(b.entries()) {
        prop_assert_eq!(x.card(), y.card());
        prop_assert_eq!(*x.keys().sign_seed(), *y.keys().sign_seed());
        prop_assert_eq!(*x.keys().enc_sk(), *y.keys().enc_sk());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// 1. Round trips
// ---------------------------------------------------------------------------------------

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
            data: &data,
        };
        let text = if via_encrypt {
            envelope::encrypt(&mut rng, alice.current(), &cards, &content)?
        } else {
            envelope::seal(&mut rng, alice.current(), &cards, &content)?
        };
        prop_assert!(text.starts_with("csm1."));

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
            &Content { content_type: ContentType::Bytes, sent_at: 0, context: &context, data: &data },
        )?;
        let bytes = strip_text(&text, "csm1.");
        let payload_len = bytes.len() - header_len(stanzas) - 16;
        prop_assert_eq!(payload_len % 32, 0, "payload of {} bytes", payload_len);
        let unpadded = 1 + 8 + 2 + context.len() + 4 + data_len + 64;
        prop_assert!(payload_len >= unpadded && payload_len - unpadded <= 255);
        prop_assert_eq!(decrypt_as(&text, &f.alice, f.alice_card(), None, Some(&context))?.data, data);
    }

    /// §4's `CSK1`: 1..4 generations made by rotation decode to the same cards and
    /// secrets, newest first, each card naming the one it replaces.
    #[test]
    fn keyrings_round_trip(seed in any::<u64>(), identity in IDENTITY, generations in 1usize..=4) {
        let mut rng = rng(seed);
        let original = new_keyring(&mut rng, &identity, generations);
        prop_assert_eq!(original.len(), generations);
        let bytes = original.encode()?;
        prop_assert_eq!(&bytes[..4], b"CSK1");
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

// ---------------------------------------------------------------------------------------
// 2. Exhaustive single-bit flips
// ---------------------------------------------------------------------------------------

/// Decrypts `text` as bob, turning a panic into a test failure that names the flip.
fn bob_reads_or_panic_report(text: &str, what: &str) -> Result<Message, Error> {
    let f = &*FIXTURE;
    match catch_unwind(AssertUnwindSafe(|| f.bob_reads(text))) {
        Ok(result) => result,
        Err(_) => panic!("decrypt panicked on {what}"),
    }
}

fn print_counts(title: &str, counts: &BTreeMap<&'static str, usize>) {
    println!("{title}:");
    for (code, n) in counts {
        println!("  {code:<14} {n:>6}");
    }
}

/// Every bit of every byte of an envelope from alice to [alice, bob], flipped, is refused
/// when bob decrypts it, with the error that §3's order names for where the bit is:
/// magic → `Malformed`; sender card id, msg id → `Integrity` (the HPKE info binds them);
/// stanza count → `Malformed` or `Integrity` (a count of 3 takes a stanza out of the
/// body); bob's recipient card id → `NotARecipient`; anything else of the header, the
/// body and the tag → `Integrity` (the header is the body's associated data).
#[test]
fn every_single_bit_flip_of_an_envelope_is_refused() {
    let f = &*FIXTURE;
    let bytes = &f.envelope_bytes;
    assert_eq!(f.bob_reads(&f.envelope_text).unwrap(), f.message);
    let header = Envelope::decode(bytes.clone()).unwrap().header().clone();
    assert_eq!(header.stanzas.len(), 2);
    let bob_index = header
        .stanzas
        .iter()
        .position(|s| s.recipient_card_id == f.bob.current().card().id())
        .unwrap();
    let bob_id_start = header_len(bob_index);
    let bob_id = bob_id_start..bob_id_start + 16;

    let expected = |offset: usize| -> &'static [&'static str] {
        match offset {
            0..=3 => &["Malformed"],
            36 | 37 => &["Malformed", "Integrity"],
            o if bob_id.contains(&o) => &["NotARecipient"],
            _ => &["Integrity"],
        }
    };

    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    for offset in 0..bytes.len() {
        for bit in 0..8 {
            let mut flipped = bytes.clone();
            flipped[offset] ^= 1 << bit;
            let what = format!("byte {offset} bit {bit}");
            match bob_reads_or_panic_report(&text_form("csm1.", &flipped), &what) {
                Ok(_) => panic!("{what}: accepted"),
                Err(e) => {
                    assert!(
                        expected(offset).contains(&e.code()),
                        "{what}: {e:?}, expected one of {:?}",
                        expected(offset)
                    );
                    *counts.entry(e.code()).or_default() += 1;
                }
            }
        }
    }
    println!(
        "bit flips of the {}-byte envelope (header {} bytes, 2 stanzas):",
        bytes.len(),
        header_len(2)
    );
    print_counts("  by error", &counts);
    assert_eq!(counts.values().sum::<usize>(), 8 * bytes.len());
    assert_eq!(counts.get("NotARecipient"), Some(&(8 * 16)));
}

/// The same over the text form: every bit of every character of `csm1.<b64u>` flipped
/// (skipping the flips that leave UTF-8, i.e. bit 7 of an ASCII character) is refused.
#[test]
fn every_single_bit_flip_of_an_envelope_text_is_refused() {
    let f = &*FIXTURE;
    let text = f.envelope_text.as_bytes();
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut not_utf8 = 0usize;
    for offset in 0..text.len() {
        for bit in 0..8 {
            let mut flipped = text.to_vec();
            flipped[offset] ^= 1 << bit;
            let Ok(flipped) = String::from_utf8(flipped) else {
                not_utf8 += 1;
                continue;
            };
            let what = format!("text char {offset} bit {bit}");
            match bob_reads_or_panic_report(&flipped, &what) {
                Ok(_) => panic!("{what}: accepted"),
                Err(e) => {
                    assert!(RECEIVED.contains(&e.code()), "{what}: {e:?}");
                    if offset < 5 {
                        assert_eq!(e.code(), "Malformed", "{what}: the prefix");
                    }
                    *counts.entry(e.code()).or_default() += 1;
                }
            }
        }
    }
    println!(
        "bit flips of the {}-character envelope text ({not_utf8} not UTF-8, skipped):",
        text.len()
    );
    print_counts("  by error", &counts);
    assert_eq!(
        not_utf8,
        text.len(),
        "the text is ASCII: only bit 7 leaves UTF-8"
    );
    assert_eq!(counts.values().sum::<usize>() + not_utf8, 8 * text.len());
}

/// Every bit of every byte of a two-generation keyring, flipped, is refused
/// (`Malformed`), except the five bits of each `enc_sk` that X25519 clamps (bits 0–2 of
/// byte 0, bits 6–7 of byte 31): with them flipped the secret still gives the card's
/// `enc_pk`, so §4's "cards match their secret keys" holds and the keyring decodes, to
/// the same cards and public keys (the `CSK1` encoding is not canonical in those bits).
#[test]
fn every_single_bit_flip_of_a_keyring_is_refused_but_clamped_bits() {
    let f = &*FIXTURE;
    let bytes = &f.keyring_bytes;
    // Where each entry's enc_sk starts: "CSK1" u16, then vec32(card) sign_sk enc_sk.
    let mut enc_sk_starts = Vec::new();
    let mut at = 6;
    for entry in f.alice.entries() {
        at += 4 + entry.card().to_bytes().len() + 32;
        enc_sk_starts.push(at);
        at += 32;
    }
    assert_eq!(at, bytes.len());
    let clamped = |offset: usize, bit: u32| {
        enc_sk_starts
            .iter()
            .any(|&start| (offset == start && bit <= 2) || (offset == start + 31 && bit >= 6))
    };

    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    for offset in 0..bytes.len() {
        for bit in 0..8u32 {
            let mut flipped = bytes.clone();
            flipped[offset] ^= 1 << bit;
            let what = format!("keyring byte {offset} bit {bit}");
            let result = catch_unwind(|| Keyring::decode(&flipped))
                .unwrap_or_else(|_| panic!("{what}: panicked"));
            match result {
                Ok(decoded) => {
                    assert!(clamped(offset, bit), "{what}: accepted");
                    for (x, y) in decoded.entries().zip(f.alice.entries()) {
                        assert_eq!(x.card(), y.card(), "{what}");
                        assert_eq!(x.keys().enc_pk(), y.keys().enc_pk(), "{what}");
                    }
                    // The flipped secret is kept as it is, not clamped.
                    assert_eq!(decoded.encode().unwrap().as_slice(), &flipped[..], "{what}");
                    *counts.entry("Ok (clamped bit)").or_default() += 1;
                }
                Err(e) => {
                    assert!(!clamped(offset, bit), "{what}: {e:?}");
                    assert_eq!(e.code(), "Malformed", "{what}");
                    *counts.entry(e.code()).or_default() += 1;
                }
            }
        }
    }
    println!(
        "bit flips of the {}-byte keyring (2 generations):",
        bytes.len()
    );
    print_counts("  by result", &counts);
    assert_eq!(counts.get("Ok (clamped bit)"), Some(&10));
    assert_eq!(counts.values().sum::<usize>(), 8 * bytes.len());
}

// ---------------------------------------------------------------------------------------
// 3. Decoders never panic
// ---------------------------------------------------------------------------------------

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
        refused(Card::decode(&behind(b"CSC1")), CARD_ERRORS, "CSC1 + bytes")?;
        refused(Card::parse(&text_form("csc1.", &bytes)), CARD_ERRORS, "csc1. text")?;
        refused(Card::parse(&text_form("csc1.", &behind(b"CSC1"))), CARD_ERRORS, "csc1. CSC1 text")?;

        tolerated(&Envelope::decode(bytes.clone()), &["Malformed"], "envelope bytes")?;
        tolerated(&Envelope::decode(behind(b"CSM1")), &["Malformed"], "CSM1 + bytes")?;
        tolerated(&Envelope::parse(&text_form("csm1.", &bytes)), &["Malformed"], "csm1. text")?;
        tolerated(&Envelope::parse(&text_form("csm1.", &behind(b"CSM1"))), &["Malformed"], "csm1. text")?;
        refused(f.bob_reads(&text_form("csm1.", &bytes)), RECEIVED, "decrypt bytes")?;
        refused(f.bob_reads(&text_form("csm1.", &behind(b"CSM1"))), RECEIVED, "decrypt CSM1 + bytes")?;

        refused(Keyring::decode(&bytes), &["Malformed"], "keyring bytes")?;
        refused(Keyring::decode(&behind(b"CSK1")), &["Malformed"], "CSK1 + bytes")?;
        for count in 0u16..=3 {
            let framed = [&b"CSK1"[..], &count.to_be_bytes(), &bytes].concat();
            refused(Keyring::decode(&framed), &["Malformed"], "CSK1 + count + bytes")?;
        }

        // Without the magic, no Argon2 runs.
        prop_assume!(!bytes.starts_with(b"CSB1"));
        refused(backup::open(&text_form("csb1.", &bytes), "pw"), &["Malformed"], "backup bytes")?;
    }

    /// Arbitrary strings, raw and behind each text prefix.
    #[test]
    fn decoders_never_panic_on_arbitrary_text(text in ANY_TEXT, b64ish in "[A-Za-z0-9_+/= -]{0,60}") {
        let f = &*FIXTURE;
        for s in [text.clone(), format!("csc1.{text}"), format!("csc1.{b64ish}")] {
            refused(Card::parse(&s), CARD_ERRORS, "card text")?;
        }
        for s in [text.clone(), format!("csm1.{text}"), format!("csm1.{b64ish}")] {
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
        let err = f.bob_reads(&text_form("csm1.", &bytes)).unwrap_err();
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
        let bytes = [&b"CSM1"[..], &ids, &n.to_be_bytes(), &rest].concat();
        match Envelope::decode(bytes.clone()) {
            Ok(env) => {
                prop_assert!((1..=1000).contains(&n));
                prop_assert!(rest.len() >= 96 * usize::from(n));
                prop_assert_eq!(env.header().stanzas.len(), usize::from(n));
                refused(f.bob_reads(&text_form("csm1.", &bytes)), &["NotARecipient"], "random stanzas")?;
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

    /// Random edits of a valid keyring: refused (`Malformed`), or the same key
    /// generations (same cards, same public keys).
    #[test]
    fn edited_keyrings_are_refused(edits in edits()) {
        let f = &*FIXTURE;
        let bytes = mutate(&f.keyring_bytes, &edits);
        let result = Keyring::decode(&bytes);
        tolerated(&result, &["Malformed"], "edited keyring")?;
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
        let result = f.bob_reads(&text_form("csm1.", &bytes));
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

// ---------------------------------------------------------------------------------------
// 4. Secret hygiene
// ---------------------------------------------------------------------------------------

/// Ways a 32-byte secret could show up in text: hex (either case, whole or any 8-byte
/// window), `Debug` of the array (decimal or hex), base64url.
fn secret_forms(secret: &[u8; 32]) -> Vec<String> {
    let mut forms = vec![
        hex::encode(secret),
        hex::encode_upper(secret),
        format!("{secret:?}"),
        format!("{secret:x?}"),
        format!("{secret:#?}"),
        b64u_encode(secret),
    ];
    forms.extend(secret.windows(8).map(hex::encode));
    forms
}

/// Ways a plaintext could show up: itself, any 12-byte window of it, hex, `Debug` of its
/// bytes (the first eight, without the closing bracket), base64url.
fn plaintext_forms(plaintext: &[u8]) -> Vec<String> {
    let mut forms = vec![
        hex::encode(plaintext),
        b64u_encode(plaintext),
        format!("{:?}", &plaintext[..8])
            .trim_end_matches(']')
            .to_owned(),
    ];
    forms.extend(
        plaintext
            .windows(12)
            .map(|w| String::from_utf8_lossy(w).into_owned()),
    );
    forms
}

#[test]
fn debug_never_shows_secret_keys_or_plaintext() {
    let mut rng = rng(0xdeb);
    let alice = new_keyring(&mut rng, "alice", 2);
    let bob = new_keyring(&mut rng, "bob", 1);
    let eve = new_keyring(&mut rng, "eve", 1);
    let plaintext = b"PLAINTEXT-canary-6b1f: the lab results are ready".as_slice();
    let context = "room-7";

    let mut needles: Vec<String> = plaintext_forms(plaintext);
    for keyring in [&alice, &bob] {
        for entry in keyring.entries() {
            needles.extend(secret_forms(&entry.keys().sign_seed()));
            needles.extend(secret_forms(&entry.keys().enc_sk()));
        }
    }

    let alice_card = alice.current().card();
    let text = envelope::encrypt(
        &mut rng,
        alice.current(),
        &[bob.current().card()],
        &Content {
            content_type: ContentType::Text,
            sent_at: 1,
            context,
            data: plaintext,
        },
    )
    .unwrap();
    let message = decrypt_as(&text, &bob, alice_card, Some("alice"), Some(context)).unwrap();
    assert_eq!(message.data, plaintext);
    let parsed = Envelope::parse(&text).unwrap();
    let opened = parsed.open(&bob).unwrap();
    let keys = IdentityKeys::from_secrets(
        &alice.current().keys().sign_seed(),
        &alice.current().keys().enc_sk(),
    );

    // One error of each kind, from real failures.
    let mut tampered = strip_text(&text, "csm1.");
    *tampered.last_mut().unwrap() ^= 1;
    let mut bad_card = alice_card.to_bytes().to_vec();
    *bad_card.last_mut().unwrap() ^= 1;
    let mut bad_keyring = alice.encode().unwrap().to_vec();
    *bad_keyring.last_mut().unwrap() ^= 0x01; // enc_sk bit 248 (not one X25519 clamps)
    let errors: Vec<Error> = vec![
        decrypt_as("csm1.!", &bob, alice_card, None, None).unwrap_err(),
        decrypt_as(&text, &eve, alice_card, None, None).unwrap_err(),
        decrypt_as(&text_form("csm1.", &tampered), &bob, alice_card, None, None).unwrap_err(),
        decrypt_as(&text, &bob, eve.current().card(), None, None).unwrap_err(),
        decrypt_as(&text, &bob, alice_card, Some("mallory"), None).unwrap_err(),
        decrypt_as(&text, &bob, alice_card, None, Some("room-8")).unwrap_err(),
        Card::decode(&bad_card).unwrap_err(),
        Keyring::decode(&bad_keyring).unwrap_err(),
        KeyringEntry::new(
            alice_card.clone(),
            IdentityKeys::from_secrets(&[1; 32], &[2; 32]),
        )
        .unwrap_err(),
    ];
    let codes: Vec<&str> = errors.iter().map(Error::code).collect();
    assert_eq!(
        codes,
        [
            "Malformed",
            "NotARecipient",
            "Integrity",
            "UnknownSender",
            "SenderMismatch",
            "ContextMismatch",
            "BadSignature",
            "Malformed",
            "InvalidArgument"
        ]
    );

    let mut shown = vec![
        format!("{keys:?}"),
        format!("{keys:#?}"),
        format!("{:?}", alice.current()),
        format!("{:#?}", alice.current()),
        format!("{alice:?}"),
        format!("{alice:#?}"),
        format!("{bob:?}"),
        format!("{message:?}"),
        format!("{message:#?}"),
        format!("{parsed:?}"),
        format!("{opened:?}"),
    ];
    for e in &errors {
        shown.push(format!("{e:?}"));
        shown.push(e.to_string());
    }
    for s in &shown {
        for needle in &needles {
            assert!(!s.contains(needle.as_str()), "{s:?} shows {needle:?}");
        }
    }
    // The check has teeth: the forms are found where they are.
    assert!(format!("{:?}", plaintext).contains(&needles[2]));
    assert!(format!("{:?}", message.data).contains(&needles[2]));
}
