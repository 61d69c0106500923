//! Property tests of the protocol core against PROTOCOL.md §1–§5.
//!
//! - Round trips: envelopes (§3) for arbitrary content, 1–5 recipients, rotated recipient
//!   keys, through both `envelope::seal` and `envelope::encrypt`; §3's padding rule;
//!   keyrings (§4's `CSK2`) of 1–4 generations; backups (§4), including NFC/NFD passwords;
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
    b64u_decode, b64u_encode, backup, envelope, keyring, pairwise, safety, Card, CardId,
    ContentType, Envelope, Error, IdentityKeys, Keyring, KeyringEntry, Message,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::TestCaseError;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng as _;
use unicode_normalization::UnicodeNormalization as _;

// One module per kind of property; the fixtures and helpers they share are below.
mod bit_flips;
mod decoders;
mod hygiene;
mod round_trips;

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
            head_epoch: 0,
            head_root: [0; 32],
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
        envelope_bytes: strip_text(&envelope_text, "csm2."),
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
