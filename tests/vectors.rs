//! The §8 test vectors, checked in both directions: every element's inputs reproduce
//! its bytes exactly, its bytes parse back to its fields, and every invalid input is
//! refused with its named error. The generator must still write exactly the committed
//! files, so a change to the wire format cannot slip in unnoticed.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use support::*;

fn load<T: serde::de::DeserializeOwned>(name: &str) -> Vec<T> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn cards() {
    let vectors: Vec<CardVector> = load("cards.json");
    assert!(vectors.len() >= 3);
    assert!(
        vectors.iter().any(|v| v.key.prev_card_id.is_some()),
        "a rotated card"
    );
    // A rotation of a rotation: a rotated card names a card that is itself rotated.
    assert!(
        vectors.iter().any(|v| vectors.iter().any(|p| {
            Some(&p.card_id) == v.key.prev_card_id.as_ref() && p.key.prev_card_id.is_some()
        })),
        "a rotation of a rotation"
    );
    vectors.iter().for_each(check_card);
    // Every rotated card links (§2) to the card it names, whose seed made rotation_sig.
    for v in vectors.iter().filter(|v| v.key.prev_card_id.is_some()) {
        let prev = vectors
            .iter()
            .find(|p| Some(&p.card_id) == v.key.prev_card_id.as_ref())
            .expect("the previous card is a vector too");
        assert_eq!(v.key.prev_sign_seed.as_ref(), Some(&prev.key.sign_seed));
        let card = chatseal::proto::Card::parse(&v.card).unwrap();
        let prev_card = chatseal::proto::Card::parse(&prev.card).unwrap();
        assert_eq!(card.links_to(&prev_card), Ok(()));
    }
    assert!(vectors
        .iter()
        .all(|v| v.key.prev_card_id.is_some() == v.key.prev_sign_seed.is_some()));
}

#[test]
fn messages() {
    let vectors: Vec<MessageVector> = load("messages.json");
    assert!(vectors.len() >= 6);
    for n in [1, 2, 50] {
        assert!(
            vectors.iter().any(|v| v.recipients.len() == n),
            "{n} recipients"
        );
    }
    for ct in [1, 2, 3] {
        assert!(
            vectors.iter().any(|v| v.content_type == ct),
            "content type {ct}"
        );
    }
    assert!(vectors.iter().any(|v| v.context.is_empty()));
    assert!(vectors.iter().any(|v| !v.context.is_empty()));
    assert!(vectors.iter().any(|v| v.head_epoch == 0), "no head");
    assert!(vectors.iter().any(|v| v.head_epoch != 0), "a head");
    assert!(vectors
        .iter()
        .any(|v| !hex::decode(&v.data).unwrap().is_ascii() && v.content_type == 1));
    vectors.iter().for_each(check_message);
}

#[test]
fn pairwise_messages() {
    let vectors: Vec<PairwiseVector> = load("pairwise.json");
    assert!(vectors.len() >= 5);
    for ct in [1, 2, 3, 4] {
        assert!(
            vectors.iter().any(|v| v.content_type == ct),
            "content type {ct}"
        );
    }
    assert!(
        vectors.iter().any(|v| v.sender == v.recipient),
        "a note to oneself"
    );
    assert!(vectors
        .iter()
        .any(|v| v.sender.prev_card_id.is_some() || v.recipient.prev_card_id.is_some()));
    assert!(vectors.iter().any(|v| v.context.is_empty()));
    assert!(vectors.iter().any(|v| v.head_epoch != 0), "a head");
    vectors.iter().for_each(check_pairwise);
}

#[test]
fn group_messages() {
    let vectors: Vec<GroupVector> = load("group_messages.json");
    assert!(vectors.len() >= 4);
    for index in [0, 1] {
        assert!(vectors.iter().any(|v| v.index == index), "index {index}");
    }
    assert!(vectors.iter().any(|v| v.index > 10_000), "a large index");
    assert!(vectors.iter().any(|v| v.head_epoch != 0), "a head");
    assert!(vectors
        .iter()
        .any(|v| !hex::decode(&v.data).unwrap().is_ascii() && v.content_type == 1));
    vectors.iter().for_each(check_group_message);
}

#[test]
fn files() {
    let vectors: Vec<FileVector> = load("files.json");
    let k = chatseal::proto::file::CHUNK_SIZE;
    for len in [0, 1, k, k + 1] {
        assert!(
            vectors.iter().any(|v| v.plaintext.len() / 2 == len),
            "{len} bytes"
        );
    }
    assert!(
        vectors.iter().any(|v| v.plaintext.len() / 2 > 15 * k),
        "~1 MiB"
    );
    vectors.iter().for_each(check_file);
}

#[test]
fn backups() {
    let vectors: Vec<BackupVector> = load("backups.json");
    assert!(vectors.len() >= 3);
    assert!(
        vectors.iter().any(|v| {
            use unicode_normalization::UnicodeNormalization as _;
            v.password.nfc().collect::<String>() != v.password
        }),
        "an NFD password"
    );
    vectors.iter().for_each(check_backup);
}

#[test]
fn passkey_backups() {
    let vectors: Vec<PasskeyVector> = load("passkey_backups.json");
    assert!(vectors.len() >= 2);
    assert!(
        vectors.iter().any(|v| v.keyring.len() == 1),
        "one generation"
    );
    assert!(
        vectors.iter().any(|v| v.keyring.len() >= 3),
        "two rotations"
    );
    assert!(
        vectors.iter().any(|v| v.credential_id.len() / 2 > 255),
        "a long credential id"
    );
    vectors.iter().for_each(check_passkey_backup);
}

#[test]
fn links() {
    let vectors: Vec<LinkVector> = load("links.json");
    assert!(vectors.len() >= 2);
    assert!(
        vectors.iter().any(|v| v.keyring.len() == 1),
        "one generation"
    );
    assert!(vectors.iter().any(|v| v.keyring.len() >= 2), "a rotation");
    vectors.iter().for_each(check_link);
}

#[test]
fn safety_numbers() {
    let vectors: Vec<SafetyVector> = load("safety_numbers.json");
    assert!(vectors.len() >= 3);
    vectors.iter().for_each(check_safety);
}

#[test]
fn invalid_inputs_fail_with_their_named_error() {
    let vectors: Vec<InvalidVector> = load("invalid.json");
    let mut by_error: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut wrong = Vec::new();
    for v in &vectors {
        let got = decode_invalid(v);
        if got != v.error {
            wrong.push(format!(
                "{} / {}: expected {}, got {got}",
                v.kind, v.description, v.error
            ));
        }
        *by_error
            .entry((v.kind.clone(), v.error.clone()))
            .or_default() += 1;
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // §4.1's passkey backups: layout, AEAD and keyring errors.
    for error in ["Malformed", "Integrity", "BadSignature"] {
        assert!(
            vectors
                .iter()
                .any(|v| matches!(v.with, Needs::Passkey { .. }) && v.error == error),
            "passkey {error}"
        );
    }
    // Every error name of §2–§4, §9, §10 and §11 is exercised, and §2's link rule.
    assert!(vectors
        .iter()
        .any(|v| matches!(v.with, Needs::Card { .. }) && v.error == "BadSignature"));
    assert!(vectors
        .iter()
        .any(|v| matches!(v.with, Needs::Card { .. }) && v.error == "Malformed"));
    for (kind, error) in [
        ("card", "Malformed"),
        ("card", "BadSignature"),
        ("backup", "BadSignature"),
        ("message", "Malformed"),
        ("message", "NotARecipient"),
        ("message", "Integrity"),
        ("message", "UnknownSender"),
        ("message", "SenderMismatch"),
        ("message", "BadSignature"),
        ("message", "ContextMismatch"),
        ("backup", "Malformed"),
        ("backup", "Integrity"),
        ("pairwise", "Malformed"),
        ("pairwise", "NotARecipient"),
        ("pairwise", "UnknownSender"),
        ("pairwise", "Integrity"),
        ("pairwise", "SenderMismatch"),
        ("pairwise", "ContextMismatch"),
        ("group", "Malformed"),
        ("group", "Integrity"),
        ("group", "NoSessionKey"),
        ("group", "BadSignature"),
        ("group", "SenderMismatch"),
        ("group", "ContextMismatch"),
        ("file", "Integrity"),
        ("file", "Malformed"),
        ("descriptor", "Malformed"),
        ("link", "Malformed"),
        ("link", "Integrity"),
        ("link", "BadSignature"),
    ] {
        assert!(
            by_error.contains_key(&(kind.into(), error.into())),
            "{kind} {error}"
        );
    }
}

#[test]
fn the_generator_writes_exactly_the_committed_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    for (name, json) in generate_all() {
        let committed = std::fs::read_to_string(dir.join(name)).unwrap();
        assert!(committed == json, "{name} differs from the generator's output: run `cargo run --example gen_vectors` and review the diff");
    }
}

#[test]
fn hand_built_cards_are_valid_when_their_fields_are() {
    // The invalid card vectors are built by `raw_card`; with valid fields it must give a
    // card that decodes, so each invalid case fails for its one named reason.
    let c = cast();
    let seed = hex32(&c.alice.sign_seed);
    let card = c.alice.card();
    let text = raw_card(&seed, b"alice@clinic-a", &card.enc_pk(), &[0]);
    let parsed = chatseal::proto::Card::parse(&text).unwrap();
    assert_eq!(parsed.identity(), "alice@clinic-a");
    assert_eq!(parsed.enc_pk(), card.enc_pk());
}
