//! The test vectors of PROTOCOL.md §8: their JSON shapes, the fixed inputs they are
//! generated from, and the checks that read them back.
//!
//! Shared by `examples/gen_vectors.rs` (which writes `tests/vectors/*.json`) and
//! `tests/vectors.rs` (which checks every element in both directions and that the
//! generator still writes exactly the committed files).
//!
//! Here: the JSON shapes and `generate_all`; `inputs` (the fixed inputs and the valid
//! vectors), `invalid` and `invalid_groups` (the rejections of §2–§4 and §9), `files`
//! (§10), `pairwise_vectors` and `invalid_pairwise` (§11), `passkeys` (§4.1), `links` (§13)
//! and `checks` (reading every vector back).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;

use chatseal::proto::card::Rotation;
use chatseal::proto::envelope::{self, Content, Header, Stanza};
use chatseal::proto::file;
use chatseal::proto::group::{self, ChainKey, GroupHeader, SessionId, Share};
use chatseal::proto::pairwise::{self, PairHeader, PairKey};
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

mod checks;
mod files;
mod inputs;
mod invalid;
mod invalid_groups;
mod invalid_pairwise;
mod links;
mod pairwise_vectors;
mod passkeys;

// The generator (examples/gen_vectors.rs) writes vectors and reads none back.
#[allow(unused_imports)]
pub use checks::*;
pub use files::*;
pub use inputs::*;
pub use invalid::*;
pub use invalid_groups::*;
pub use invalid_pairwise::*;
pub use links::*;
pub use pairwise_vectors::*;
pub use passkeys::*;

/// A key object of §8.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Key {
    pub identity: String,
    pub created_at: u64,
    pub sign_seed: String,
    pub enc_sk: String,
    pub prev_card_id: Option<String>,
    /// The previous card's signing seed: given exactly when `prev_card_id` is (§8).
    pub prev_sign_seed: Option<String>,
}

impl Key {
    pub fn entry(&self) -> KeyringEntry {
        let keys = IdentityKeys::from_secrets(&hex32(&self.sign_seed), &hex32(&self.enc_sk));
        assert_eq!(
            self.prev_card_id.is_some(),
            self.prev_sign_seed.is_some(),
            "prev_sign_seed is given exactly when prev_card_id is"
        );
        // Only the signing half of the previous keys makes rotation_sig.
        let prev_keys = self
            .prev_sign_seed
            .as_deref()
            .map(|h| IdentityKeys::from_secrets(&hex32(h), &[0; 32]));
        let rotation =
            self.prev_card_id
                .as_deref()
                .zip(prev_keys.as_ref())
                .map(|(id, prev_keys)| Rotation {
                    prev_card_id: CardId::from_hex(id).unwrap(),
                    prev_keys,
                });
        let card = Card::create(&keys, &self.identity, self.created_at, rotation).unwrap();
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
    pub head_epoch: u64,
    pub head_root: String,
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
    pub head_epoch: u64,
    pub head_root: String,
    pub data: String,
    pub text: String,
}

/// A `pairwise.json` element (§8, §11).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairwiseVector {
    pub sender: Key,
    pub recipient: Key,
    pub msg_id: String,
    pub content_type: u8,
    pub sent_at: u64,
    pub context: String,
    pub head_epoch: u64,
    pub head_root: String,
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

/// A `passkey_backups.json` element (§8, §4.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasskeyVector {
    pub credential_id: String,
    pub prf_salt: String,
    pub prf_output: String,
    pub nonce: String,
    pub keyring: Vec<Key>,
    pub backup: String,
}

/// A `links.json` element (§8, §13).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkVector {
    pub link_id: String,
    pub e_sk: String,
    /// The offer's HPKE ephemeral key is `DeriveKeyPair(ikm_e)`, as in messages.json.
    pub ikm_e: String,
    pub keyring: Vec<Key>,
    pub qr: String,
    pub offer: String,
    pub code: String,
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
    /// A group message (§9): what a message needs, plus the shares (§11 texts) the
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
    /// A passkey backup (§4.1): the PRF output of its credential for its salt.
    Passkey {
        prf_output: String,
    },
    /// A link offer (§13), opened by the new device's request.
    Link {
        link_id: String,
        e_sk: String,
    },
    /// A file (§10): the encrypted file the descriptor in `input` is checked against.
    File {
        encrypted: Vec<Segment>,
    },
    /// A card (§2) that must also link to the card of `previous`.
    Card {
        previous: Key,
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

/// Every vector file, as the generator writes it.
pub fn generate_all() -> BTreeMap<&'static str, String> {
    let c = cast();
    let msgs = messages(&c);
    let baks = backups(&c);
    let pks = passkey_backups(&c);
    let lks = links(&c);
    let files = files();
    let mut inv = invalid_vectors(&c, &msgs, &baks);
    inv.extend(invalid_pairwise_vectors(&c));
    inv.extend(invalid_group_vectors(&c));
    inv.extend(invalid_file_vectors(&files));
    inv.extend(invalid_passkey_vectors(&c, &pks));
    inv.extend(invalid_link_vectors(&c, &lks));
    let json = |v: serde_json::Value| serde_json::to_string_pretty(&v).unwrap() + "\n";
    BTreeMap::from([
        ("cards.json", json(serde_json::to_value(cards(&c)).unwrap())),
        ("messages.json", json(serde_json::to_value(&msgs).unwrap())),
        (
            "pairwise.json",
            json(serde_json::to_value(pairwise_messages(&c)).unwrap()),
        ),
        ("backups.json", json(serde_json::to_value(&baks).unwrap())),
        (
            "passkey_backups.json",
            json(serde_json::to_value(&pks).unwrap()),
        ),
        ("links.json", json(serde_json::to_value(&lks).unwrap())),
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
