//! Criterion benchmarks of the protocol core (`chatseal::proto`), native code.
//!
//! What is measured, one benchmark each:
//!
//! - `keygen`: [`KeyringEntry::generate`], i.e. both key pairs and the signed card.
//! - `encrypt_1to1`: [`envelope::encrypt`] of a 200-byte UTF-8 text from alice to bob
//!   (2 stanzas: alice's own card and bob's).
//! - `decrypt_1to1`: [`envelope::decrypt`] of that message by bob: parse, open, resolve
//!   alice's card from a prepared one, verify sender, signature and context.
//! - `decrypt_history_1000`: 1,000 distinct alice→bob messages decrypted one after the
//!   other; one iteration is all 1,000.
//! - `encrypt_group_50`: a 200-byte text to 50 other cards (51 stanzas with the
//!   sender's own).
//! - `file_1mib`: 1 MiB of [`ContentType::Bytes`] encrypted to bob and decrypted by bob;
//!   one iteration is both, reported as throughput.
//! - `backup_seal_default`: [`backup::seal`] of a one-generation keyring with
//!   [`backup::Params::default`] (Argon2id, 64 MiB, t = 3, p = 1).
//! - `safety_number`: [`safety::safety_number`] of two cards (2 × 5200 SHA-512).
//!
//! Run all of them with `make bench` or `cargo bench --bench proto`; for a quick look, add
//! `-- --warm-up-time 1 --measurement-time 3`, and pass a name to run just one
//! (`cargo bench --bench proto -- decrypt_1to1`). They print figures and assert nothing
//! about time. Fixtures come from a seeded ChaCha20 generator, so every run measures
//! the same keys and messages.
//!
//! `cargo bench` builds with the `bench` profile: the release profile (LTO) at
//! `opt-level = 3`, since the release profile's `"z"` is tuned for the size of the wasm
//! download and distorts native figures (see Cargo.toml).

// The crate denies these lints for library code; a benchmark's fixtures may fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use chatseal::proto::envelope::{self, Content};
use chatseal::proto::{backup, safety, Card, ContentType, Keyring, KeyringEntry};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng as _;

const ALICE: &str = "alice@clinic-42";
const BOB: &str = "bob@clinic-42";
const CONTEXT: &str = "messaging:clinic-42";
/// Unix seconds, for cards.
const CREATED_AT: u64 = 1_700_000_000;
/// Unix milliseconds, for messages.
const SENT_AT: u64 = 1_700_000_000_000;
const TEXT_LEN: usize = 200;
const HISTORY: usize = 1000;
const GROUP: usize = 50;
const MIB: usize = 1 << 20;

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn keyring(rng: &mut ChaCha20Rng, identity: &str) -> Keyring {
    Keyring::new(KeyringEntry::generate(rng, identity, CREATED_AT, None).unwrap())
}

/// Exactly `TEXT_LEN` bytes of UTF-8, mixing 1-, 2-, 3- and 4-byte characters; `n`
/// makes the texts distinct.
fn text(n: usize) -> String {
    const PHRASES: &str = "Vos résultats sont prêts — Ihre Befunde liegen vor. \
                           検査結果が出ました 🩺 Rendez-vous à 14 h, salle 3. ";
    let mut s = format!("#{n:04} ");
    for ch in PHRASES.chars().cycle() {
        if s.len() + ch.len_utf8() > TEXT_LEN {
            break;
        }
        s.push(ch);
    }
    while s.len() < TEXT_LEN {
        s.push('.');
    }
    assert_eq!(s.len(), TEXT_LEN);
    assert!(!s.is_ascii());
    s
}

fn content<'a>(content_type: ContentType, sent_at: u64, data: &'a [u8]) -> Content<'a> {
    Content {
        content_type,
        sent_at,
        context: CONTEXT,
        head_epoch: 0,
        head_root: [0; 32],
        data,
    }
}

/// Bob's full decryption path, with alice's card as the directory's answer.
fn decrypt_as_bob(text: &str, bob: &Keyring, alice_card: &Card) -> envelope::Message {
    envelope::decrypt(
        text,
        bob,
        |id| (*id == alice_card.id()).then_some(alice_card),
        Some(ALICE),
        Some(CONTEXT),
    )
    .unwrap()
}

fn keygen(c: &mut Criterion) {
    let mut rng = rng(1);
    c.bench_function("keygen", |b| {
        b.iter(|| {
            KeyringEntry::generate(&mut rng, black_box(ALICE), black_box(CREATED_AT), None).unwrap()
        })
    });
}

fn encrypt_1to1(c: &mut Criterion) {
    let mut rng = rng(2);
    let alice = keyring(&mut rng, ALICE);
    let bob = keyring(&mut rng, BOB);
    let msg = text(0);
    c.bench_function("encrypt_1to1", |b| {
        b.iter(|| {
            envelope::encrypt(
                &mut rng,
                alice.current(),
                &[bob.current().card()],
                &content(ContentType::Text, SENT_AT, black_box(msg.as_bytes())),
            )
            .unwrap()
        })
    });
}

fn decrypt_1to1(c: &mut Criterion) {
    let mut rng = rng(3);
    let alice = keyring(&mut rng, ALICE);
    let bob = keyring(&mut rng, BOB);
    let alice_card = alice.current().card().clone();
    let msg = text(0);
    let sealed = envelope::encrypt(
        &mut rng,
        alice.current(),
        &[bob.current().card()],
        &content(ContentType::Text, SENT_AT, msg.as_bytes()),
    )
    .unwrap();
    assert_eq!(
        decrypt_as_bob(&sealed, &bob, &alice_card).data,
        msg.as_bytes()
    );
    c.bench_function("decrypt_1to1", |b| {
        b.iter(|| decrypt_as_bob(black_box(&sealed), &bob, &alice_card))
    });
}

fn decrypt_history_1000(c: &mut Criterion) {
    let mut rng = rng(4);
    let alice = keyring(&mut rng, ALICE);
    let bob = keyring(&mut rng, BOB);
    let alice_card = alice.current().card().clone();
    let history: Vec<String> = (0..HISTORY)
        .map(|i| {
            envelope::encrypt(
                &mut rng,
                alice.current(),
                &[bob.current().card()],
                &content(ContentType::Text, SENT_AT + i as u64, text(i).as_bytes()),
            )
            .unwrap()
        })
        .collect();
    for (i, sealed) in history.iter().enumerate() {
        assert_eq!(
            decrypt_as_bob(sealed, &bob, &alice_card).data,
            text(i).as_bytes()
        );
    }

    let mut group = c.benchmark_group("decrypt_history_1000");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .throughput(Throughput::Elements(HISTORY as u64));
    group.bench_function("alice_to_bob", |b| {
        b.iter(|| {
            for sealed in &history {
                black_box(decrypt_as_bob(black_box(sealed), &bob, &alice_card));
            }
        })
    });
    group.finish();
}

fn encrypt_group_50(c: &mut Criterion) {
    let mut rng = rng(5);
    let alice = keyring(&mut rng, ALICE);
    // 50 `to` cards, none of them alice's: `encrypt` adds her own card first, so each
    // message carries 51 stanzas.
    let members: Vec<KeyringEntry> = (0..GROUP)
        .map(|i| {
            KeyringEntry::generate(&mut rng, &format!("member{i}@clinic-42"), CREATED_AT, None)
                .unwrap()
        })
        .collect();
    let to: Vec<&Card> = members.iter().map(KeyringEntry::card).collect();
    let msg = text(0);
    let sealed = envelope::encrypt(
        &mut rng,
        alice.current(),
        &to,
        &content(ContentType::Text, SENT_AT, msg.as_bytes()),
    )
    .unwrap();
    assert_eq!(
        envelope::Envelope::parse(&sealed)
            .unwrap()
            .header()
            .stanzas
            .len(),
        GROUP + 1
    );

    c.bench_function("encrypt_group_50", |b| {
        b.iter(|| {
            envelope::encrypt(
                &mut rng,
                alice.current(),
                black_box(&to),
                &content(ContentType::Text, SENT_AT, black_box(msg.as_bytes())),
            )
            .unwrap()
        })
    });
}

fn file_1mib(c: &mut Criterion) {
    let mut rng = rng(6);
    let alice = keyring(&mut rng, ALICE);
    let bob = keyring(&mut rng, BOB);
    let alice_card = alice.current().card().clone();
    let mut data = vec![0u8; MIB];
    rand_core::RngCore::fill_bytes(&mut rng, &mut data);

    let mut group = c.benchmark_group("file_1mib");
    group
        .sample_size(20)
        .throughput(Throughput::Bytes(MIB as u64));
    group.bench_function("encrypt_decrypt", |b| {
        b.iter(|| {
            let sealed = envelope::encrypt(
                &mut rng,
                alice.current(),
                &[bob.current().card()],
                &content(ContentType::Bytes, SENT_AT, black_box(&data)),
            )
            .unwrap();
            decrypt_as_bob(black_box(&sealed), &bob, &alice_card)
        })
    });
    group.finish();

    let sealed = envelope::encrypt(
        &mut rng,
        alice.current(),
        &[bob.current().card()],
        &content(ContentType::Bytes, SENT_AT, &data),
    )
    .unwrap();
    let opened = decrypt_as_bob(&sealed, &bob, &alice_card);
    assert_eq!(opened.content_type, ContentType::Bytes);
    assert!(opened.data == data);
}

fn backup_seal_default(c: &mut Criterion) {
    let mut rng = rng(7);
    let alice = keyring(&mut rng, ALICE);
    let params = backup::Params::default();
    assert_eq!(
        params,
        backup::Params {
            m_kib: 64 * 1024,
            t: 3,
            p: 1
        }
    );

    let mut group = c.benchmark_group("backup_seal_default");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    group.bench_function("argon2id_m64MiB_t3_p1", |b| {
        b.iter(|| {
            backup::seal(
                &mut rng,
                &alice,
                black_box("correct horse battery staple"),
                params,
            )
            .unwrap()
        })
    });
    group.finish();
}

fn safety_number(c: &mut Criterion) {
    let mut rng = rng(8);
    let alice = keyring(&mut rng, ALICE);
    let bob = keyring(&mut rng, BOB);
    let (a, b) = (alice.current().card(), bob.current().card());
    assert_eq!(safety::safety_number(a, b).len(), 60);
    c.bench_function("safety_number", |bench| {
        bench.iter(|| safety::safety_number(black_box(a), black_box(b)))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets =
        keygen,
        encrypt_1to1,
        decrypt_1to1,
        decrypt_history_1000,
        encrypt_group_50,
        file_1mib,
        backup_seal_default,
        safety_number,
}
criterion_main!(benches);
