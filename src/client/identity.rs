//! An identity on this device: its keyring (every key generation, newest first) and the
//! operations the low-level JS API exposes one to one.

use std::fmt;

use rand_core::CryptoRngCore;

use super::Error;
use crate::proto::envelope::{self, Content};
use crate::proto::{backup, Card, CardId, ContentType, Keyring, KeyringEntry, Message};

/// A decrypted, verified message as the JS API returns it.
#[derive(Clone, PartialEq, Eq)]
pub struct Decrypted {
    /// The content as text, for text and JSON content.
    pub text: Option<String>,
    /// The content's bytes (for `decryptBytes`).
    pub data: Vec<u8>,
    /// What the content is.
    pub content_type: ContentType,
    /// The sender's identity, from its verified card.
    pub sender: String,
    /// The sender's card id, hex.
    pub sender_card_id: String,
    /// Unix milliseconds, by the sender's clock.
    pub sent_at: u64,
    /// The message id, hex.
    pub msg_id: String,
    /// The context the message is bound to.
    pub context: String,
    /// The sender's card is not the one this client knew, and no valid rotation chain
    /// links them (set by the directory-aware engine; never by the low-level API).
    pub key_changed: bool,
}

impl Decrypted {
    /// The result object of a verified message. Text and JSON content must be UTF-8.
    pub fn from_message(message: Message) -> Result<Decrypted, Error> {
        let text = match message.content_type {
            ContentType::Text | ContentType::Json => Some(
                String::from_utf8(message.data.clone())
                    .map_err(|_| crate::proto::Error::Malformed("message: text is not UTF-8"))?,
            ),
            // A file descriptor (§10) that does not decode is refused with the message.
            ContentType::FileDescriptor => {
                crate::proto::file::Descriptor::parse(&message.data)?;
                None
            }
            _ => None,
        };
        Ok(Decrypted {
            text,
            data: message.data,
            content_type: message.content_type,
            sender: message.sender,
            sender_card_id: message.sender_card_id.to_string(),
            sent_at: message.sent_at,
            msg_id: hex::encode(message.msg_id),
            context: message.context,
            key_changed: false,
        })
    }

    /// The content type's name in the JS API: `"text"`, `"json"`, `"bytes"`,
    /// `"sessionShare"`, `"fileDescriptor"`.
    pub fn content_type_name(&self) -> &'static str {
        match self.content_type {
            ContentType::Text => "text",
            ContentType::Json => "json",
            ContentType::Bytes => "bytes",
            ContentType::SessionShare => "sessionShare",
            ContentType::FileDescriptor => "fileDescriptor",
        }
    }
}

impl fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Confidential content: its size only.
        f.debug_struct("Decrypted")
            .field("content_type", &self.content_type)
            .field("data_len", &self.data.len())
            .field("sender", &self.sender)
            .field("sender_card_id", &self.sender_card_id)
            .field("context", &self.context)
            .field("key_changed", &self.key_changed)
            .finish_non_exhaustive()
    }
}

/// An identity's keys on this device.
pub struct Identity {
    keyring: Keyring,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("identity", &self.identity())
            .field("card_id", &self.card().id())
            .field("generations", &self.keyring.len())
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// New keys and a card for `identity`, created at `now` (unix seconds).
    pub fn generate(
        rng: &mut impl CryptoRngCore,
        identity: &str,
        now: u64,
    ) -> Result<Identity, Error> {
        let entry = KeyringEntry::generate(rng, identity, now, None)?;
        Ok(Identity {
            keyring: Keyring::new(entry),
        })
    }

    /// The identity sealed in a `csb1.` backup.
    pub fn restore(backup_text: &str, password: &str) -> Result<Identity, Error> {
        Ok(Identity {
            keyring: backup::open(backup_text, password)?,
        })
    }

    /// An identity from its keyring.
    pub fn from_keyring(keyring: Keyring) -> Identity {
        Identity { keyring }
    }

    /// Every key generation, newest first.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The identity string.
    pub fn identity(&self) -> &str {
        self.card().identity()
    }

    /// The current card.
    pub fn card(&self) -> &Card {
        self.keyring.current().card()
    }

    /// Seals every key generation under `password` (`csb1.` text).
    pub fn backup(
        &self,
        rng: &mut impl CryptoRngCore,
        password: &str,
        params: backup::Params,
    ) -> Result<String, Error> {
        Ok(backup::seal(rng, &self.keyring, password, params)?)
    }

    /// A new key generation whose card names the current one; older keys stay to read
    /// history.
    pub fn rotate(&mut self, rng: &mut impl CryptoRngCore, now: u64) -> Result<&Card, Error> {
        Ok(self.keyring.rotate(rng, now)?.card())
    }

    /// Encrypts `data` to the `to` cards and to this identity's own card, bound to
    /// `context`, dated `sent_at` (unix milliseconds).
    pub fn encrypt(
        &self,
        rng: &mut impl CryptoRngCore,
        to: &[&Card],
        content_type: ContentType,
        data: &[u8],
        context: &str,
        sent_at: u64,
    ) -> Result<String, Error> {
        let content = Content {
            content_type,
            sent_at,
            context,
            // No directory head yet (§12): epoch 0, a zero root.
            head_epoch: 0,
            head_root: [0; 32],
            data,
        };
        Ok(envelope::encrypt(
            rng,
            self.keyring.current(),
            to,
            &content,
        )?)
    }

    /// Decrypts and verifies `text`; `resolve` gives the sender's card for its id.
    pub fn decrypt(
        &self,
        text: &str,
        resolve: impl FnOnce(&CardId) -> Option<Card>,
        from: Option<&str>,
        context: Option<&str>,
    ) -> Result<Decrypted, Error> {
        let message = envelope::decrypt(text, &self.keyring, resolve, from, context)?;
        Decrypted::from_message(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    fn fast() -> backup::Params {
        backup::Params {
            m_kib: 19456,
            t: 2,
            p: 1,
        }
    }

    #[test]
    fn round_trip_rotation_and_backup() {
        let mut alice = Identity::generate(&mut OsRng, "alice", 1).unwrap();
        let bob = Identity::generate(&mut OsRng, "bob", 1).unwrap();
        let old_card = alice.card().clone();
        let text = alice
            .encrypt(
                &mut OsRng,
                &[bob.card()],
                ContentType::Text,
                "hi".as_bytes(),
                "c1",
                5,
            )
            .unwrap();
        let resolve = |id: &CardId| (*id == old_card.id()).then(|| old_card.clone());
        let got = bob
            .decrypt(&text, resolve, Some("alice"), Some("c1"))
            .unwrap();
        assert_eq!(got.text.as_deref(), Some("hi"));
        assert_eq!((got.sender.as_str(), got.sent_at), ("alice", 5));
        assert_eq!(got.content_type_name(), "text");
        assert!(!format!("{got:?}").contains("hi\""));

        // After a rotation the old message still opens for Alice herself.
        alice.rotate(&mut OsRng, 2).unwrap();
        assert_ne!(alice.card().id(), old_card.id());
        let mine = alice.decrypt(&text, resolve, None, None).unwrap();
        assert_eq!(mine.text.as_deref(), Some("hi"));

        let sealed = alice.backup(&mut OsRng, "pw", fast()).unwrap();
        let back = Identity::restore(&sealed, "pw").unwrap();
        assert_eq!(back.keyring().len(), 2);
        assert_eq!(back.card(), alice.card());
        let err = Identity::restore(&sealed, "wrong").unwrap_err();
        assert_eq!(err.code(), "Integrity");
    }

    #[test]
    fn bytes_are_not_text_and_bad_utf8_text_is_malformed() {
        let alice = Identity::generate(&mut OsRng, "alice", 1).unwrap();
        let card = alice.card().clone();
        let bytes = alice
            .encrypt(&mut OsRng, &[], ContentType::Bytes, &[0xff, 0], "", 1)
            .unwrap();
        let got = alice
            .decrypt(&bytes, |_| Some(card.clone()), None, None)
            .unwrap();
        assert_eq!((got.text, got.data), (None, vec![0xff, 0]));
        let bad = alice
            .encrypt(&mut OsRng, &[], ContentType::Text, &[0xff], "", 1)
            .unwrap();
        let err = alice
            .decrypt(&bad, |_| Some(card.clone()), None, None)
            .unwrap_err();
        assert_eq!(err.code(), "Malformed");
    }
}
