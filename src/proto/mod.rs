//! The chatseal protocol, version 2 (`PROTOCOL.md`), in pure Rust.
//!
//! One module per object of the spec, each with its encoder next to its decoder:
//! [`card`] (§2), [`envelope`] (§3), [`backup`] (§4) with the [`keyring`] it seals,
//! [`passkey`] backups (§4.1),
//! [`safety`] (§5), [`group`] sessions (§9), [`file`](mod@file) attachments (§10), [`pairwise`]
//! messages (§11), [`link`]ing a new device (§13);
//! [`keys`] holds §1. Nothing here touches a browser, a clock or a global RNG: time is
//! passed in, randomness is injected (`rand_core::CryptoRngCore`), so that a seeded
//! generator reproduces every byte.
//!
//! No decoder panics, on any input; every failure is an [`Error`] named as in the spec.

// In the order of PROTOCOL.md (version 2, the version this code implements; §12 is
// not here yet).
// Notation: integers, `vec16`/`vec32`, the `prefix.b64u` text form.
pub(crate) mod wire;

// Primitives: the HPKE suite (the key wrap of §3, the key of §1).
mod suite;

// §1 Identity keys.
pub mod keys;

// §2 Card: the public identity document.
pub mod card;

// §3 Message envelope.
pub mod envelope;

// §4 Key backup, part 1: the keyring (`CSK2`), the plaintext a backup seals.
pub mod keyring;

// §4 Key backup, part 2: the password-sealed backup (`CSB1`).
pub mod backup;

// §4.1 Passkey backup (`CSW1`).
pub mod passkey;

// §5 Safety number.
pub mod safety;

// §9 Group sessions.
pub mod group;

// §10 Attachments.
pub mod file;

// §11 Pairwise messages (one other person).
pub mod pairwise;

// §13 Linking a new device.
pub mod link;

// The failure names every section uses (not a section of its own).
mod error;

pub use card::{Card, CardId, Rotation};
pub use envelope::{ContentType, Envelope, Message};
pub use error::Error;
pub use keyring::{Keyring, KeyringEntry};
pub use keys::IdentityKeys;
pub use wire::{b64u_decode, b64u_encode};
