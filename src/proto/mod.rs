//! The chatseal protocol, version 1 (`PROTOCOL.md`), in pure Rust.
//!
//! One module per object of the spec, each with its encoder next to its decoder:
//! [`card`] (§2), [`envelope`] (§3), [`backup`] (§4) with the [`keyring`] it seals,
//! [`safety`] (§5), [`group`] sessions (§9), [`file`](mod@file) attachments (§10);
//! [`keys`] holds §1. Nothing here touches a browser, a clock or a global RNG: time is
//! passed in, randomness is injected (`rand_core::CryptoRngCore`), so that a seeded
//! generator reproduces every byte.
//!
//! No decoder panics, on any input; every failure is an [`Error`] named as in the spec.

pub mod backup;
pub mod card;
pub mod envelope;
mod error;
pub mod file;
pub mod group;
pub mod keyring;
pub mod keys;
pub mod safety;
mod suite;
pub(crate) mod wire;

pub use card::{Card, CardId};
pub use envelope::{ContentType, Envelope, Message};
pub use error::Error;
pub use keyring::{Keyring, KeyringEntry};
pub use keys::IdentityKeys;
pub use wire::{b64u_decode, b64u_encode};
