//! The test vectors of PROTOCOL.md §8: their JSON shapes, the fixed inputs they are
//! generated from, and the checks that read them back.
//!
//! Shared by `examples/gen_vectors.rs` (which writes `tests/vectors/*.json`) and
//! `tests/vectors.rs` (which checks every element in both directions and that the
//! generator still writes exactly the committed files).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;

use chatseal::proto::envelope::{self, Content, Header, Stanza};
use chatseal::proto::file;
use chatseal::proto::group::{self, ChainKey, GroupHeader, SessionId, Share};
use chatseal::proto::{
    backup, safety, Card, CardId, ContentType, IdentityKeys, Keyring, KeyringEntry,
};
use ed25519_dalek::Signer as _;
use hpke::{Kem as _, Serializable as _};
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization as _;
use zeroize::Zeroizing;

/// A key object of §8.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Key {
    pub identity: String,
    pub created_at: u64,
    pub sign_seed: String,
    pub enc_sk: String,
    pub prev_card_id: Option<String>,
}

impl Key {
    pub fn entry(&self) -> KeyringEntry {
        let keys = IdentityKeys::from_secrets(&hex32(&self.sign_seed), &hex32(&self.enc_sk));
        let prev = self
            .prev_card_id
            .as_deref()
            .map(|h| CardId::from_hex(h).unwrap());
        let card = Card::create(&keys, &self.identity, self.created_at, prev).unwrap();
        KeyringEntry::new(card, keys).unwrap()
    }

    pub fn card(&self) -> Card {
        self.entry().card().clone()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardVector {
    #[serde(flatten)]
    pub key: Key,
    pub card: String,
    pub card_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageVector {
    pub sender: Key,
    pub recipients: Vec<Key>,
    pub cek: String,
    pub msg_id: String,
    pub ikm_e: Vec<String>,
    pub content_type: u8,
    pub sent_at: u64,
    pub context: String,
    pub data: String,
    pub envelope: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupVector {
    pub sender: Key,
    pub session_id: String,
    pub chain_key: String,
    pub index: u32,
    pub content_type: u8,
    pub sent_at: u64,
    pub context: String,
    pub data: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupVector {
    pub password: String,
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
    pub salt: String,
    pub nonce: String,
    pub keyring: Vec<Key>,
    pub backup: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SafetyVector {
    pub a: Key,
    pub b: Key,
    pub safety_number: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvalidVector {
    pub kind: String,
    pub description: String,
    pub input: String,
    pub error: String,
    #[serde(flatten)]
    pub with: Needs,
}

/// What decoding an invalid input needs, by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Needs {
    /// A group message (§9): what a message needs, plus the shares (§3 texts) the
    /// directory returns for its session. First: an untagged `Message` would match too.
    Group {
        keyring: Vec<Key>,
        directory: Vec<Key>,
        shares: Vec<String>,
        from: Option<String>,
        context: Option<String>,
    },
    Message {
        keyring: Vec<Key>,
        directory: Vec<Key>,
        from: Option<String>,
        context: Option<String>,
    },
    Backup {
        password: String,
    },
    /// A file (§10): the encrypted file the descriptor in `input` is checked against.
    File {
        encrypted: Vec<Segment>,
    },
    Nothing {},
}

pub fn hex32(h: &str) -> [u8; 32] {
    hex_n(h)
}

fn hex_n<const N: usize>(h: &str) -> [u8; N] {
    hex::decode(h).unwrap().try_into().unwrap()
}

/// An RNG that hands out exactly the bytes it was given (the HPKE ephemeral inputs of a
/// message vector), and fails the test if asked for more.
pub struct ScriptedRng {
    bytes: Vec<u8>,
    pos: usize,
}

impl ScriptedRng {
    pub fn new(bytes: Vec<u8>) -> Self {
        ScriptedRng { bytes, pos: 0 }
    }
    pub fn is_exhausted(&self) -> bool {
        self.pos == self.bytes.len()
    }
}

impl RngCore for ScriptedRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        let end = self.pos + dest.len();
        assert!(end <= self.bytes.len(), "scripted RNG exhausted");
        dest.copy_from_slice(&self.bytes[self.pos..end]);
        self.pos = end;
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for ScriptedRng {}

// ---------------------------------------------------------------------------------------
// From inputs to outputs: the one place each vector's output is computed.

pub fn make_card(key: &Key) -> CardVector {
    let card = key.card();
    CardVector {
        key: key.clone(),
        card: card.to_text(),
        card_id: card.id().to_string(),
    }
}

/// Computes `envelope` from the other fields of `v`.
pub fn make_envelope(v: &MessageVector) -> String {
    let sender = v.sender.entry();
    let cards: Vec<Card> = v.recipients.iter().map(Key::card).collect();
    let refs: Vec<&Card> = cards.iter().collect();
    let mut rng = ScriptedRng::new(v.ikm_e.iter().flat_map(|h| hex32(h)).collect());
    let data = hex::decode(&v.data).unwrap();
    let content = Content {
        content_type: ContentType::from_u8(v.content_type).unwrap(),
        sent_at: v.sent_at,
        context: &v.context,
        data: &data,
    };
    let text = envelope::seal_with(
        &mut rng,
        &sender,
        &refs,
        &content,
        &hex32(&v.cek),
        hex_n(&v.msg_id),
    )
    .unwrap();
    assert!(rng.is_exhausted(), "one ikm_e per stanza, no more");
    text
}

/// Computes `text` from the other fields of `v`.
pub fn make_group_message(v: &GroupVector) -> String {
    let data = hex::decode(&v.data).unwrap();
    let chain_key = ChainKey::from_bytes(hex32(&v.chain_key)).advance(v.index);
    group::seal(
        &v.sender.entry(),
        SessionId(hex_n(&v.session_id)),
        v.index,
        &chain_key,
        &Content {
            content_type: ContentType::from_u8(v.content_type).unwrap(),
            sent_at: v.sent_at,
            context: &v.context,
            data: &data,
        },
    )
    .unwrap()
}

pub fn make_backup(v: &BackupVector) -> String {
    let keyring = Keyring::from_entries(v.keyring.iter().map(Key::entry).collect()).unwrap();
    let params = backup::Params {
        m_kib: v.m_kib,
        t: v.t,
        p: v.p,
    };
    backup::seal_with(
        &keyring,
        &v.password,
        params,
        hex_n(&v.salt),
        hex_n(&v.nonce),
    )
    .unwrap()
}

pub fn make_safety_number(a: &Key, b: &Key) -> String {
    safety::safety_number(&a.card(), &b.card())
}

// ---------------------------------------------------------------------------------------
// The fixed inputs.

struct Gen {
    rng: ChaCha20Rng,
}

impl Gen {
    fn new(seed: u8) -> Self {
        Gen {
            rng: ChaCha20Rng::from_seed([seed; 32]),
        }
    }
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        self.rng.fill_bytes(&mut b);
        b
    }
    fn key(&mut self, identity: &str, created_at: u64, prev: Option<&Key>) -> Key {
        Key {
            identity: identity.into(),
            created_at,
            sign_seed: hex::encode(self.bytes::<32>()),
            enc_sk: hex::encode(self.bytes::<32>()),
            prev_card_id: prev.map(|p| p.card().id().to_string()),
        }
    }
    fn message(
        &mut self,
        sender: &Key,
        recipients: &[&Key],
        content_type: ContentType,
        sent_at: u64,
        context: &str,
        data: &[u8],
    ) -> MessageVector {
        let mut v = MessageVector {
            sender: sender.clone(),
            recipients: recipients.iter().map(|k| (*k).clone()).collect(),
            cek: hex::encode(self.bytes::<32>()),
            msg_id: hex::encode(self.bytes::<16>()),
            ikm_e: recipients
                .iter()
                .map(|_| hex::encode(self.bytes::<32>()))
                .collect(),
            content_type: content_type.to_u8(),
            sent_at,
            context: context.into(),
            data: hex::encode(data),
            envelope: String::new(),
        };
        v.envelope = make_envelope(&v);
        v
    }
}

/// The people of the vectors; alice rotates once.
pub struct Cast {
    pub alice: Key,
    pub alice2: Key,
    pub bob: Key,
    pub zoe: Key,
    pub carol: Key,
    pub nurses: Vec<Key>,
}

pub fn cast() -> Cast {
    let mut g = Gen::new(1);
    let alice = g.key("alice@clinic-a", 1_767_225_600, None);
    let alice2 = g.key("alice@clinic-a", 1_782_864_000, Some(&alice));
    let bob = g.key("bob@clinic-a", 1_767_312_000, None);
    let zoe = g.key("Zoë Ångström · 看護師", 1_767_398_400, None);
    let carol = g.key("carol@clinic-b", 1_767_484_800, None);
    let nurses = (1..=49)
        .map(|i| g.key(&format!("nurse-{i:02}@clinic-a"), 1_767_500_000 + i, None))
        .collect();
    Cast {
        alice,
        alice2,
        bob,
        zoe,
        carol,
        nurses,
    }
}

pub fn cards(c: &Cast) -> Vec<CardVector> {
    [&c.alice, &c.alice2, &c.bob, &c.zoe]
        .into_iter()
        .map(make_card)
        .collect()
}

pub fn messages(c: &Cast) -> Vec<MessageVector> {
    let mut g = Gen::new(2);
    let mut team: Vec<&Key> = vec![&c.alice];
    team.extend(c.nurses.iter());
    let binary: Vec<u8> = (0..=255u8).collect();
    vec![
        // 1 stanza: a note to self, empty context.
        g.message(
            &c.alice,
            &[&c.alice],
            ContentType::Text,
            1_767_225_601_000,
            "",
            b"Note to self: call the lab.",
        ),
        // 2 stanzas, non-ASCII text.
        g.message(
            &c.alice,
            &[&c.alice, &c.bob],
            ContentType::Text,
            1_767_312_001_250,
            "messaging:clinic-a-42",
            "Zoë: résultats prêts — 検査結果 🩺".as_bytes(),
        ),
        // JSON, sent by bob.
        g.message(
            &c.bob,
            &[&c.bob, &c.alice],
            ContentType::Json,
            1_767_312_002_000,
            "messaging:clinic-a-42",
            br#"{"type":"appointment","at":"2026-12-01T09:30:00Z"}"#,
        ),
        // 50 stanzas.
        g.message(
            &c.alice,
            &team,
            ContentType::Text,
            1_767_500_100_000,
            "team:nurses",
            b"Shift handover at 19:00 in room 4.",
        ),
        // Binary data.
        g.message(
            &c.alice,
            &[&c.alice, &c.bob, &c.zoe],
            ContentType::Bytes,
            1_767_600_000_000,
            "files",
            &binary,
        ),
        // After a rotation; empty data.
        g.message(
            &c.alice2,
            &[&c.alice2, &c.bob],
            ContentType::Text,
            1_782_864_001_000,
            "x",
            b"",
        ),
        // 17 bytes of data and an empty context: fields and signature fill exactly 96 bytes, no padding.
        g.message(
            &c.bob,
            &[&c.bob, &c.alice2],
            ContentType::Text,
            1_782_864_002_000,
            "",
            b"seventeen bytes!!",
        ),
    ]
}

pub fn group_messages(c: &Cast) -> Vec<GroupVector> {
    let mut g = Gen::new(5);
    let mut make =
        |sender: &Key, index: u32, ct: ContentType, sent_at: u64, context: &str, data: &[u8]| {
            let mut v = GroupVector {
                sender: sender.clone(),
                session_id: hex::encode(g.bytes::<16>()),
                chain_key: hex::encode(g.bytes::<32>()),
                index,
                content_type: ct.to_u8(),
                sent_at,
                context: context.into(),
                data: hex::encode(data),
                text: String::new(),
            };
            v.text = make_group_message(&v);
            v
        };
    vec![
        // Index 0: the session's first message.
        make(
            &c.alice,
            0,
            ContentType::Text,
            1_767_500_200_000,
            "team:nurses",
            b"Shift handover at 19:00 in room 4.",
        ),
        // Index 1.
        make(
            &c.bob,
            1,
            ContentType::Text,
            1_767_500_201_000,
            "team:nurses",
            b"On my way.",
        ),
        // A large index: 99,999 ratchet steps.
        make(
            &c.alice2,
            99_999,
            ContentType::Json,
            1_782_864_100_000,
            "team:ward-7",
            br#"{"type":"handover","beds":[3,4,9]}"#,
        ),
        // Non-ASCII text, empty context.
        make(
            &c.zoe,
            7,
            ContentType::Text,
            1_767_500_300_000,
            "",
            "Zoë: résultats prêts — 検査結果 🩺".as_bytes(),
        ),
    ]
}

pub fn backups(c: &Cast) -> Vec<BackupVector> {
    let mut g = Gen::new(3);
    let mut make = |password: &str, (m_kib, t, p): (u32, u32, u32), keyring: Vec<Key>| {
        let mut v = BackupVector {
            password: password.into(),
            m_kib,
            t,
            p,
            salt: hex::encode(g.bytes::<16>()),
            nonce: hex::encode(g.bytes::<24>()),
            keyring,
            backup: String::new(),
        };
        v.backup = make_backup(&v);
        v
    };
    vec![
        // Default parameters; a rotated keyring, newest first.
        make(
            "correct horse battery staple",
            (65536, 3, 1),
            vec![c.alice2.clone(), c.alice.clone()],
        ),
        // An NFD password ("Café" with a combining acute): must open with its NFC form too.
        make("Cafe\u{301} au lait", (19456, 2, 1), vec![c.bob.clone()]),
        // Four lanes, non-ASCII password.
        make("🔐 długie hasło", (19456, 2, 4), vec![c.zoe.clone()]),
    ]
}

pub fn safety_numbers(c: &Cast) -> Vec<SafetyVector> {
    [(&c.alice, &c.bob), (&c.alice2, &c.bob), (&c.bob, &c.zoe)]
        .into_iter()
        .map(|(a, b)| SafetyVector {
            a: a.clone(),
            b: b.clone(),
            safety_number: make_safety_number(a, b),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Invalid inputs: one or more for every rejection rule of §2–§4.

fn b64(bytes: &[u8]) -> String {
    chatseal::proto::b64u_encode(bytes)
}

fn unb64(text: &str, prefix: &str) -> Vec<u8> {
    chatseal::proto::b64u_decode(text.strip_prefix(prefix).unwrap()).unwrap()
}

/// A card signed by `seed` over whatever fields it is given (valid or not).
pub fn raw_card(seed: &[u8; 32], identity: &[u8], enc_pk: &[u8; 32], prev: &[u8]) -> String {
    let sk = ed25519_dalek::SigningKey::from_bytes(seed);
    let mut tbs = b"CSC1".to_vec();
    tbs.extend_from_slice(&(identity.len() as u16).to_be_bytes());
    tbs.extend_from_slice(identity);
    tbs.extend_from_slice(&1_767_225_600u64.to_be_bytes());
    tbs.extend_from_slice(sk.verifying_key().as_bytes());
    tbs.extend_from_slice(enc_pk);
    tbs.extend_from_slice(prev);
    let sig = sk.sign(&[b"chatseal/v1/card\x00".as_slice(), &tbs].concat());
    tbs.extend_from_slice(&sig.to_bytes());
    format!("csc1.{}", b64(&tbs))
}

fn flip(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[at] ^= 0x01;
    b
}

fn invalid(
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
fn raw_envelope(header: &Header, payload: Vec<u8>, cek: &[u8; 32]) -> String {
    envelope::seal_payload(header.encode().unwrap(), Zeroizing::new(payload), cek).unwrap()
}

/// `fields || sig || pad`, signed by `signer` over `header || fields`.
fn raw_payload(signer: &Key, header: &Header, fields: &[u8], pad: &[u8]) -> Vec<u8> {
    let sk = ed25519_dalek::SigningKey::from_bytes(&hex32(&signer.sign_seed));
    let header_bytes = header.encode().unwrap();
    let sig = sk.sign(&[b"chatseal/v1/msg\x00".as_slice(), &header_bytes, fields].concat());
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
        card_text.replacen("csc1.", "csm1.", 1),
        "Malformed",
    );
    let mut bad = card_bytes.clone();
    bad[3] = b'2';
    v(
        "wrong magic (CSC2)",
        format!("csc1.{}", b64(&bad)),
        "Malformed",
    );
    v(
        "truncated: last byte missing",
        format!("csc1.{}", b64(&card_bytes[..card_bytes.len() - 1])),
        "Malformed",
    );
    v(
        "truncated inside the identity",
        format!("csc1.{}", b64(&card_bytes[..10])),
        "Malformed",
    );
    v(
        "trailing byte after the signature",
        format!("csc1.{}", b64(&[card_bytes.as_slice(), &[0]].concat())),
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
        format!("csc1.{}", b64(&flip(&card_bytes, card_bytes.len() - 1))),
        "BadSignature",
    );
    v(
        "signed part altered (created_at)",
        format!("csc1.{}", b64(&flip(&card_bytes, 30))),
        "BadSignature",
    );
    {
        // alice's fields with bob's signing key: a valid signature, by the wrong key.
        let mut forged = unb64(
            &raw_card(&hex32(&c.bob.sign_seed), b"alice@clinic-a", &enc_pk, &[0]),
            "csc1.",
        );
        let alice_pk = card.sign_pk();
        forged[4 + 2 + 14 + 8..4 + 2 + 14 + 8 + 32].copy_from_slice(&alice_pk);
        v(
            "signature made by another key",
            format!("csc1.{}", b64(&forged)),
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
            format!("csc1.{}", b64(&bytes)),
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
            format!("csc1.{}", b64(&bytes)),
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
            format!("csc1.{}", b64(&bytes)),
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

    // §3 messages. m = alice → [alice, bob], read by bob.
    let m = &msgs[1];
    let m_bytes = unb64(&m.envelope, "csm1.");
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
        m.envelope.replacen("csm1.", "csc1.", 1),
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
    bad[3] = b'2';
    v(
        "wrong magic (CSM2)",
        format!("csm1.{}", b64(&bad)),
        "Malformed",
        std(),
    );
    v(
        "truncated inside the header",
        format!("csm1.{}", b64(&m_bytes[..header_len - 1])),
        "Malformed",
        std(),
    );
    v(
        "truncated: the tag cut short (an altered body)",
        format!("csm1.{}", b64(&m_bytes[..m_bytes.len() - 1])),
        "Integrity",
        std(),
    );
    v(
        "a trailing byte after the tag (an altered body)",
        format!("csm1.{}", b64(&[m_bytes.as_slice(), &[0]].concat())),
        "Integrity",
        std(),
    );
    v(
        "tampered stanza: wrapped CEK bit flipped",
        format!("csm1.{}", b64(&flip(&m_bytes, header_len - 1))),
        "Integrity",
        std(),
    );
    v(
        "tampered stanza: encapsulated key bit flipped",
        format!("csm1.{}", b64(&flip(&m_bytes, header_len - 96 + 16))),
        "Integrity",
        std(),
    );
    v(
        "tampered header: msg_id bit flipped",
        format!("csm1.{}", b64(&flip(&m_bytes, 25))),
        "Integrity",
        std(),
    );
    v(
        "tampered header: sender_card_id bit flipped",
        format!("csm1.{}", b64(&flip(&m_bytes, 4))),
        "Integrity",
        std(),
    );
    v(
        "tampered body",
        format!("csm1.{}", b64(&flip(&m_bytes, header_len + 3))),
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
        // bob's keyring as the crate encodes it; the mismatches overwrite one secret.
        let good = Keyring::new(c.bob.entry()).encode().unwrap().to_vec();
        let (sign_at, enc_at) = (good.len() - 64, good.len() - 32);
        let mut mismatch = good.clone();
        mismatch[enc_at..].copy_from_slice(&hex32(&c.carol.enc_sk));
        let mismatch = seal(&mismatch, &mut g);
        let mut wrong_sign = good.clone();
        wrong_sign[sign_at..enc_at].copy_from_slice(&hex32(&c.carol.sign_seed));
        let wrong_sign = seal(&wrong_sign, &mut g);
        let empty = seal(b"CSK1\x00\x00", &mut g);
        let trailing = seal(&[good.as_slice(), &[0]].concat(), &mut g);
        let mut magic = good.clone();
        magic[3] = b'2';
        let magic = seal(&magic, &mut g);
        let pw = || Needs::Backup {
            password: password.into(),
        };
        let mut v =
            |d: &str, input: String| out.push(invalid("backup", d, input, "Malformed", pw()));
        v("keyring key mismatch: enc_sk of another identity", mismatch);
        v(
            "keyring key mismatch: sign_sk of another identity",
            wrong_sign,
        );
        v("keyring with count 0", empty);
        v("keyring with a trailing byte", trailing);
        v("keyring with a wrong magic (CSK2)", magic);
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
                data,
            },
        )
        .unwrap()
    };
    let m3 = message(3, context, b"Room 4 is free.");
    let m3_bytes = unb64(&m3, "csg1.");
    let share = |index: u32| Share {
        session_id,
        index,
        chain_key: ck0.advance(index),
    };
    let sealed_share = |g: &mut Gen, from: &Key, to: &[&Key], ct: ContentType, data: &[u8]| {
        let mut rng = ChaCha20Rng::from_seed(g.bytes());
        let cards: Vec<Card> = to.iter().map(|k| k.card()).collect();
        let refs: Vec<&Card> = cards.iter().collect();
        envelope::seal(
            &mut rng,
            &from.entry(),
            &refs,
            &Content {
                content_type: ct,
                sent_at,
                context,
                data,
            },
        )
        .unwrap()
    };
    let good_share = sealed_share(
        &mut g,
        &c.alice,
        &[&c.bob],
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
        "wrong text prefix (csm1.)",
        m3.replacen("csg1.", "csm1.", 1),
        "Malformed",
        std(),
    );
    let mut bad = m3_bytes.clone();
    bad[3] = b'2';
    v(
        "wrong magic (CSG2)",
        format!("csg1.{}", b64(&bad)),
        "Malformed",
        std(),
    );
    v(
        "truncated inside the header",
        format!("csg1.{}", b64(&m3_bytes[..30])),
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
    // (description, sender, recipients, content type, data)
    type Case<'a> = (&'a str, &'a Key, Vec<&'a Key>, ContentType, Vec<u8>);
    let refused: Vec<Case> = vec![
        (
            "index before the share's (joined at 4)",
            &c.alice,
            vec![&c.bob],
            ContentType::SessionShare,
            share(4).encode().to_vec(),
        ),
        (
            "the only share is signed by another card (carol's)",
            &c.carol,
            vec![&c.bob],
            ContentType::SessionShare,
            good.clone(),
        ),
        (
            "the only share names another session",
            &c.alice,
            vec![&c.bob],
            ContentType::SessionShare,
            other_session.encode().to_vec(),
        ),
        (
            "the only share is content type 3, not 4",
            &c.alice,
            vec![&c.bob],
            ContentType::Bytes,
            good.clone(),
        ),
        (
            "the only share has two stanzas",
            &c.alice,
            vec![&c.bob, &c.zoe],
            ContentType::SessionShare,
            good.clone(),
        ),
        (
            "the only share is addressed to another member",
            &c.alice,
            vec![&c.zoe],
            ContentType::SessionShare,
            good.clone(),
        ),
        (
            "the only share's data is 55 bytes, not 56",
            &c.alice,
            vec![&c.bob],
            ContentType::SessionShare,
            good[..55].to_vec(),
        ),
        (
            "the only share's data has the magic CSS2",
            &c.alice,
            vec![&c.bob],
            ContentType::SessionShare,
            css2,
        ),
    ];
    for (description, from, to, content_type, data) in refused {
        let sealed = sealed_share(&mut g, from, &to, content_type, &data);
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
        // A share in alice's name, signed by carol: a forgery.
        let msg_id: [u8; 16] = g.bytes();
        let cek: [u8; 32] = g.bytes();
        let mut rng = ChaCha20Rng::from_seed(g.bytes());
        let alice_id = c.alice.card().id();
        let header = Header {
            sender_card_id: alice_id,
            msg_id,
            stanzas: vec![Stanza::seal(&mut rng, &c.bob.card(), &alice_id, &msg_id, &cek).unwrap()],
        };
        let fields = Content {
            content_type: ContentType::SessionShare,
            sent_at,
            context,
            data: &share(0).encode(),
        }
        .encode_fields()
        .unwrap();
        let pad = vec![0u8; (32 - (fields.len() + 64) % 32) % 32];
        let forged = raw_envelope(&header, raw_payload(&c.carol, &header, &fields, &pad), &cek);
        v(
            "the only share is signed by a key that is not its sender card's (a forgery is no share)",
            m3.clone(),
            "NoSessionKey",
            bob_reads(vec![forged], from_alice, Some(context)),
        );
    }

    // The body.
    let mut flipped = m3_bytes.clone();
    let last = flipped.len() - 20;
    flipped[last] ^= 1;
    v(
        "one bit of the body flipped",
        format!("csg1.{}", b64(&flipped)),
        "Integrity",
        std(),
    );
    let mut moved = m3_bytes.clone();
    moved[group::HEADER_LEN - 1] = 4;
    v(
        "the header's index changed from 3 to 4",
        format!("csg1.{}", b64(&moved)),
        "Integrity",
        std(),
    );
    v(
        "the body is shorter than a tag",
        format!("csg1.{}", b64(&m3_bytes[..group::HEADER_LEN + 10])),
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
        let sig = sk.sign(&[b"chatseal/v1/group\x00".as_slice(), &head, fields].concat());
        let payload = [fields, &sig.to_bytes(), pad].concat();
        envelope::seal_text(
            "csg1.",
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
        "context mismatch: replayed into another channel",
        m3.clone(),
        "ContextMismatch",
        bob_reads(vec![good_share.clone()], from_alice, Some("team:other")),
    );
    v(
        "context mismatch: the message's context is not the one its session was shared for",
        message(3, "team:other", b"Room 4 is free."),
        "ContextMismatch",
        bob_reads(vec![good_share.clone()], from_alice, None),
    );
    out
}

/// Every vector file, as the generator writes it.
pub fn generate_all() -> BTreeMap<&'static str, String> {
    let c = cast();
    let msgs = messages(&c);
    let baks = backups(&c);
    let files = files();
    let mut inv = invalid_vectors(&c, &msgs, &baks);
    inv.extend(invalid_group_vectors(&c));
    inv.extend(invalid_file_vectors(&files));
    let json = |v: serde_json::Value| serde_json::to_string_pretty(&v).unwrap() + "\n";
    BTreeMap::from([
        ("cards.json", json(serde_json::to_value(cards(&c)).unwrap())),
        ("messages.json", json(serde_json::to_value(&msgs).unwrap())),
        ("backups.json", json(serde_json::to_value(&baks).unwrap())),
        (
            "group_messages.json",
            json(serde_json::to_value(group_messages(&c)).unwrap()),
        ),
        (
            "safety_numbers.json",
            json(serde_json::to_value(safety_numbers(&c)).unwrap()),
        ),
        ("invalid.json", json(serde_json::to_value(&inv).unwrap())),
        ("files.json", json(serde_json::to_value(&files).unwrap())),
    ])
}

// ---------------------------------------------------------------------------------------
// Checks: bytes → fields, and every invalid input → its error.

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
    let bytes = unb64(&v.envelope, "csm1.");
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
    let bytes = unb64(&v.text, "csg1.");
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
        assert_eq!(msg.msg_id, header.msg_id());
    }
}

pub fn check_backup(v: &BackupVector) {
    assert_eq!(make_backup(v), v.backup, "inputs → backup");
    let nfc: String = v.password.nfc().collect();
    let nfd: String = v.password.nfd().collect();
    for password in [&v.password, &nfc, &nfd] {
        let keyring = backup::open(&v.backup, password).unwrap();
        assert_eq!(keyring.len(), v.keyring.len());
        for (entry, key) in keyring.entries().zip(&v.keyring) {
            assert_eq!(*entry.card(), key.card());
            assert_eq!(hex::encode(*entry.keys().sign_seed()), key.sign_seed);
            assert_eq!(hex::encode(*entry.keys().enc_sk()), key.enc_sk);
        }
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
        ("backup", Needs::Backup { password }) => backup::open(&v.input, password).map(drop),
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

// ---------------------------------------------------------------------------------------
// §10 attachments: files.json, and the file cases of invalid.json.

/// Plaintext byte `i` of a file vector of length `len` (a fixed pattern, so that the
/// vectors are reproducible; the files carry it in full as hex).
pub fn file_plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// A §8 `files.json` element: `file_key`, `plaintext`, `encrypted`, plus the descriptor's
/// other inputs and the descriptor itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileVector {
    pub description: String,
    pub file_key: String,
    pub plaintext: String,
    pub media_type: String,
    pub name: String,
    pub url: String,
    pub descriptor: String,
    pub encrypted: String,
}

/// A piece of an invalid encrypted file: a byte range of a `files.json` element's
/// `encrypted` (named by its description), or literal bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Segment {
    Range {
        from_file: String,
        start: usize,
        end: usize,
    },
    Bytes {
        hex: String,
    },
}

fn file_key_for(n: u8) -> [u8; 32] {
    let mut key = [0u8; 32];
    for (i, b) in key.iter_mut().enumerate() {
        *b = n.wrapping_mul(16).wrapping_add(i as u8);
    }
    key
}

pub fn make_file(v: &FileVector) -> (Vec<u8>, file::Descriptor) {
    file::encrypt(
        file::FileKey::from_bytes(hex32(&v.file_key)),
        &hex::decode(&v.plaintext).unwrap(),
        &v.media_type,
        &v.name,
        &v.url,
    )
    .unwrap()
}

pub fn files() -> Vec<FileVector> {
    const K: usize = file::CHUNK_SIZE;
    let cases: [(&str, usize, &str, &str, &str); 5] = [
        (
            "an empty file: one empty final chunk",
            0,
            "text/plain",
            "empty.txt",
            "",
        ),
        (
            "1 byte",
            1,
            "application/octet-stream",
            "one.bin",
            "https://cdn.example/uploads/0a1b",
        ),
        (
            "exactly 64 KiB: one full final chunk",
            K,
            "image/png",
            "scan.png",
            "",
        ),
        (
            "64 KiB + 1: a full chunk and a 1-byte final chunk",
            K + 1,
            "application/pdf",
            "lab results (2026).pdf",
            "http://127.0.0.1:8787/uploads/5f",
        ),
        (
            "1,000,000 bytes: 15 full chunks and a short final one; a non-ASCII name",
            1_000_000,
            "image/jpeg",
            "Röntgen – thorax.jpg",
            "",
        ),
    ];
    cases
        .into_iter()
        .enumerate()
        .map(|(n, (description, len, media_type, name, url))| {
            let mut v = FileVector {
                description: description.into(),
                file_key: hex::encode(file_key_for(n as u8 + 1)),
                plaintext: hex::encode(file_plaintext(len)),
                media_type: media_type.into(),
                name: name.into(),
                url: url.into(),
                descriptor: String::new(),
                encrypted: String::new(),
            };
            let (enc, d) = make_file(&v);
            v.descriptor = hex::encode(d.encode().unwrap());
            v.encrypted = hex::encode(enc);
            v
        })
        .collect()
}

/// The bytes `segments` stand for.
pub fn assemble(files: &[FileVector], segments: &[Segment]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in segments {
        match s {
            Segment::Range {
                from_file,
                start,
                end,
            } => {
                let source = files.iter().find(|f| &f.description == from_file).unwrap();
                out.extend_from_slice(&hex::decode(&source.encrypted).unwrap()[*start..*end]);
            }
            Segment::Bytes { hex } => out.extend(hex::decode(hex).unwrap()),
        }
    }
    out
}

/// Every rule of §10 broken once. A `file` case's `input` is the descriptor (hex); it
/// carries the hash of the altered file unless the hash is what it breaks, so that each
/// case fails for its one named reason. A `descriptor` case is a descriptor that does
/// not decode.
pub fn invalid_file_vectors(files: &[FileVector]) -> Vec<InvalidVector> {
    use sha2::Digest as _;
    const K: usize = file::CHUNK_SIZE;
    let sealed = K + 16;
    let by_len = |len: usize| files.iter().find(|f| f.plaintext.len() / 2 == len).unwrap();
    let (full, two, many) = (by_len(K), by_len(K + 1), by_len(1_000_000));
    let descriptor_of =
        |f: &FileVector| file::Descriptor::parse(&hex::decode(&f.descriptor).unwrap()).unwrap();
    let len_of = |f: &FileVector| f.encrypted.len() / 2;
    let range = |f: &FileVector, start: usize, end: usize| Segment::Range {
        from_file: f.description.clone(),
        start,
        end,
    };
    let sealed_chunk = |f: &FileVector, index: u64, last: bool, plain: &[u8]| {
        use chacha20poly1305::aead::{Aead as _, KeyInit as _};
        let mut nonce = [0u8; 12];
        nonce[3..11].copy_from_slice(&index.to_be_bytes());
        nonce[11] = u8::from(last);
        let bytes = chacha20poly1305::ChaCha20Poly1305::new((&hex32(&f.file_key)).into())
            .encrypt((&nonce).into(), plain)
            .unwrap();
        Segment::Bytes {
            hex: hex::encode(bytes),
        }
    };
    let mut out = Vec::new();
    let mut add =
        |description: &str, f: &FileVector, size: u64, segments: Vec<Segment>, error: &str| {
            let mut d = descriptor_of(f);
            d.size = size;
            d.hash = sha2::Sha256::digest(assemble(files, &segments)).into();
            out.push(InvalidVector {
                kind: "file".into(),
                description: description.into(),
                input: hex::encode(d.encode().unwrap()),
                error: error.into(),
                with: Needs::File {
                    encrypted: segments,
                },
            });
        };
    let size = |f: &FileVector| (f.plaintext.len() / 2) as u64;
    add(
        "truncated: the final chunk lost its last byte",
        two,
        size(two),
        vec![range(two, 0, len_of(two) - 1)],
        "Integrity",
    );
    add(
        "truncated inside the first chunk",
        two,
        size(two),
        vec![range(two, 0, 4 + 1000)],
        "Integrity",
    );
    add(
        "reordered: chunks 0 and 1 swapped",
        many,
        size(many),
        vec![
            range(many, 0, 4),
            range(many, 4 + sealed, 4 + 2 * sealed),
            range(many, 4, 4 + sealed),
            range(many, 4 + 2 * sealed, len_of(many)),
        ],
        "Integrity",
    );
    add(
        "missing final chunk (the size says so too)",
        many,
        15 * K as u64,
        vec![range(many, 0, 4 + 15 * sealed)],
        "Integrity",
    );
    add(
        "an extra chunk after a full final chunk",
        full,
        size(full),
        vec![
            range(full, 0, len_of(full)),
            sealed_chunk(full, 1, true, b"x"),
        ],
        "Integrity",
    );
    add(
        "an extra chunk after a short final chunk",
        two,
        size(two),
        vec![range(two, 0, len_of(two)), range(two, 4, 4 + sealed)],
        "Integrity",
    );
    add(
        "the size one byte more than the file",
        two,
        size(two) + 1,
        vec![range(two, 0, len_of(two))],
        "Integrity",
    );
    add(
        "the size one byte less than the file",
        two,
        size(two) - 1,
        vec![range(two, 0, len_of(two))],
        "Integrity",
    );
    let mut flipped = hex::decode(&two.encrypted).unwrap()[4 + 100..4 + 101].to_vec();
    flipped[0] ^= 0x01;
    add(
        "one bit flipped in the first chunk",
        two,
        size(two),
        vec![
            range(two, 0, 4 + 100),
            Segment::Bytes {
                hex: hex::encode(&flipped),
            },
            range(two, 4 + 101, len_of(two)),
        ],
        "Integrity",
    );
    add(
        "bad magic CSF2",
        two,
        size(two),
        vec![
            Segment::Bytes {
                hex: hex::encode(b"CSF2"),
            },
            range(two, 4, len_of(two)),
        ],
        "Malformed",
    );
    // The first chunk of the 64 KiB + 1 file is a full non-final chunk of 64 KiB.
    add(
        "64 KiB as a full chunk and an empty final chunk (only an empty file has an empty chunk)",
        two,
        K as u64,
        vec![range(two, 0, 4 + sealed), sealed_chunk(two, 1, true, b"")],
        "Integrity",
    );
    // The valid file, its descriptor's hash altered.
    let mut d = descriptor_of(two);
    d.hash[31] ^= 0x80;
    out.push(InvalidVector {
        kind: "file".into(),
        description: "wrong hash in the descriptor".into(),
        input: hex::encode(d.encode().unwrap()),
        error: "Integrity".into(),
        with: Needs::File {
            encrypted: vec![range(two, 0, len_of(two))],
        },
    });
    // Descriptors that do not decode.
    let good = hex::decode(&two.descriptor).unwrap();
    let fixed = 4 + 32 + 8 + 32;
    let mut wrong_magic = good.clone();
    wrong_magic[3] = b'2';
    let mut trailing = good.clone();
    trailing.push(0);
    let not_utf8 = |field: usize| {
        let mut bytes = good[..fixed].to_vec();
        for i in 0..3 {
            bytes.extend_from_slice(if i == field {
                &[0, 2, 0xc3, 0x28]
            } else {
                &[0, 0]
            });
        }
        bytes
    };
    for (description, bytes) in [
        ("bad magic CSD2", wrong_magic),
        ("truncated inside the hash", good[..60].to_vec()),
        ("a trailing byte", trailing),
        ("a media type that is not UTF-8", not_utf8(0)),
        ("a file name that is not UTF-8", not_utf8(1)),
        ("a url that is not UTF-8", not_utf8(2)),
    ] {
        out.push(InvalidVector {
            kind: "descriptor".into(),
            description: description.into(),
            input: hex::encode(bytes),
            error: "Malformed".into(),
            with: Needs::Nothing {},
        });
    }
    out
}

pub fn check_file(v: &FileVector) {
    let (enc, d) = make_file(v);
    assert_eq!(
        hex::encode(d.encode().unwrap()),
        v.descriptor,
        "{}: inputs → descriptor",
        v.description
    );
    assert!(
        hex::encode(&enc) == v.encrypted,
        "{}: inputs → encrypted file",
        v.description
    );
    // Bytes → fields, and the file back, whole and streamed.
    let parsed = file::Descriptor::parse(&hex::decode(&v.descriptor).unwrap()).unwrap();
    let plain = hex::decode(&v.plaintext).unwrap();
    assert_eq!(
        (
            parsed.size as usize,
            parsed.name.as_str(),
            parsed.media_type.as_str(),
            parsed.url.as_str()
        ),
        (
            plain.len(),
            v.name.as_str(),
            v.media_type.as_str(),
            v.url.as_str()
        )
    );
    assert_eq!(hex::encode(parsed.key.as_bytes()), v.file_key);
    {
        use sha2::Digest as _;
        assert_eq!(
            parsed.hash,
            <[u8; 32]>::from(sha2::Sha256::digest(&enc)),
            "the descriptor carries the file's hash"
        );
    }
    assert!(
        *file::decrypt(&parsed, &enc).unwrap() == plain,
        "{}",
        v.description
    );
    let mut dec = file::FileDecryptor::new(&parsed);
    let mut back = Vec::new();
    for piece in enc.chunks(10_000) {
        back.extend_from_slice(&dec.update(piece).unwrap());
    }
    back.extend_from_slice(&dec.finish().unwrap());
    assert!(back == plain, "{}: streamed", v.description);
}

/// The error a reader gives for a `file` case, read whole (hash first) and streamed in
/// pieces; the two must agree.
fn decode_invalid_file(
    descriptor: &str,
    segments: &[Segment],
) -> Result<(), chatseal::proto::Error> {
    let descriptor = file::Descriptor::parse(&hex::decode(descriptor).unwrap())?;
    let bytes = assemble(&files(), segments);
    let whole = file::decrypt(&descriptor, &bytes).map(drop);
    let mut dec = file::FileDecryptor::new(&descriptor);
    let streamed = bytes
        .chunks(7_000)
        .try_for_each(|piece| dec.update(piece).map(drop))
        .and_then(|()| dec.finish().map(drop));
    assert_eq!(whole, streamed, "whole and streamed reads agree");
    whole
}
