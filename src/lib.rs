//! # chatseal
//!
//! End-to-end encryption for any web chat. The chat provider, its database and the
//! cloud see only ciphertext; keys live in the browser and public cards in a key
//! directory the app runs itself.
//!
//! This crate is the Rust core, compiled to WebAssembly for the npm package. Its layers
//! depend one way: [`proto`] (the wire format of `PROTOCOL.md`, pure Rust) ←
//! [`client`] (the engine, platform-neutral) ← `web` (wasm-bindgen bindings, wasm32 only).
//!
//! ## A message, end to end
//!
//! ```
//! use chatseal::proto::{envelope, ContentType, Keyring, KeyringEntry};
//! use rand_core::OsRng;
//!
//! # fn main() -> Result<(), chatseal::proto::Error> {
//! let alice = Keyring::new(KeyringEntry::generate(&mut OsRng, "alice@clinic-a", 1_700_000_000, None)?);
//! let bob = Keyring::new(KeyringEntry::generate(&mut OsRng, "bob@clinic-a", 1_700_000_000, None)?);
//!
//! // Alice encrypts to Bob's card (and, implicitly, to her own, to read it later).
//! let text = envelope::encrypt(
//!     &mut OsRng,
//!     alice.current(),
//!     &[bob.current().card()],
//!     &envelope::Content {
//!         content_type: ContentType::Text,
//!         sent_at: 1_700_000_000_000,
//!         context: "messaging:clinic-a-42",
//!         head_epoch: 0, // the latest directory head Alice verified (§12): none yet
//!         head_root: [0; 32],
//!         data: "Your results are ready.".as_bytes(),
//!     },
//! )?;
//! assert!(text.starts_with("csm2."));
//!
//! // Bob decrypts: the chat SDK says the sender is alice, in channel clinic-a-42; the
//! // directory resolves her card id to her card.
//! let alice_card = alice.current().card().clone();
//! let msg = envelope::decrypt(
//!     &text,
//!     &bob,
//!     |id| (*id == alice_card.id()).then_some(&alice_card),
//!     Some("alice@clinic-a"),
//!     Some("messaging:clinic-a-42"),
//! )?;
//! assert_eq!(msg.data, b"Your results are ready.");
//! assert_eq!(msg.sender, "alice@clinic-a");
//!
//! // The same message relabelled as coming from someone else is refused.
//! let err = envelope::decrypt(&text, &bob, |_| Some(&alice_card), Some("mallory"), None);
//! assert_eq!(err.unwrap_err().code(), "SenderMismatch");
//! # Ok(())
//! # }
//! ```
//!
//! ## Backups and safety numbers
//!
//! ```
//! use chatseal::proto::{backup, safety, Keyring, KeyringEntry};
//! use rand_core::OsRng;
//!
//! # fn main() -> Result<(), chatseal::proto::Error> {
//! let mut keyring = Keyring::new(KeyringEntry::generate(&mut OsRng, "alice", 1, None)?);
//! keyring.rotate(&mut OsRng, 2)?; // new key, old one kept to read history
//! let params = backup::Params { m_kib: 19456, t: 2, p: 1 }; // the minimum; default is 64 MiB, t = 3
//! let text = backup::seal(&mut OsRng, &keyring, "correct horse", params)?;
//! let restored = backup::open(&text, "correct horse")?;
//! assert_eq!(restored.len(), 2);
//! assert_eq!(backup::open(&text, "wrong").unwrap_err().code(), "Integrity");
//!
//! let bob = KeyringEntry::generate(&mut OsRng, "bob", 1, None)?;
//! let number = safety::safety_number(keyring.current().card(), bob.card());
//! assert_eq!(number.len(), 60);
//! # Ok(())
//! # }
//! ```
//!
//! ## Features
//!
//! `nfc` (default): backup passwords are NFC-normalised here, as §4 requires. Without it
//! the caller passes NFC passwords; the WebAssembly package is built that way and its
//! bindings normalise with the JS engine's `String.prototype.normalize`, which keeps the
//! Unicode tables out of the download.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod client;
#[cfg(not(target_arch = "wasm32"))]
pub mod fuzzing;
pub mod proto;
#[cfg(target_arch = "wasm32")]
pub mod web;
