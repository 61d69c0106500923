//! An identity on this device: its keyring (every key generation, newest first) and the
//! operations the low-level JS API exposes one to one.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use rand_core::CryptoRngCore;

use super::Error;
use crate::proto::envelope::{self, Content};
use crate::proto::pairwise::{self, PairKey, Pairwise, Side};
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

/// An identity's keys on this device, and the §11 pair keys derived with them (in
/// memory only, once per pair of cards).
pub struct Identity {
    keyring: Keyring,
    /// (own card, other card) → their §11 pair key.
    pair_keys: RefCell<HashMap<(CardId, CardId), Rc<PairKey>>>,
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
        Ok(Identity::from_keyring(Keyring::new(entry)))
    }

    /// The identity sealed in a `csb1.` backup.
    pub fn restore(backup_text: &str, password: &str) -> Result<Identity, Error> {
        Ok(Identity::from_keyring(backup::open(backup_text, password)?))
    }

    /// An identity from its keyring.
    pub fn from_keyring(keyring: Keyring) -> Identity {
        Identity {
            keyring,
            pair_keys: RefCell::new(HashMap::new()),
        }
    }

    /// The §11 pair key of this identity's card `own` (current or older) and `other`,
    /// derived on first use and then kept in memory. `NotARecipient` when `own` is not
    /// in the keyring; `Integrity` for an all-zero pair secret.
    pub fn pair_key(&self, own: &CardId, other: &Card) -> Result<Rc<PairKey>, Error> {
        let slot = (*own, other.id());
        if let Some(key) = self.pair_keys.borrow().get(&slot) {
            return Ok(Rc::clone(key));
        }
        let entry = self
            .keyring
            .find(own)
            .ok_or(crate::proto::Error::NotARecipient)?;
        let key = Rc::new(PairKey::derive(entry.keys(), other)?);
        self.pair_keys.borrow_mut().insert(slot, Rc::clone(&key));
        Ok(key)
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
    /// `context`, dated `sent_at` (unix milliseconds): a §11 pairwise message when `to`
    /// holds exactly one card other than this identity's current one (this identity
    /// reads its own copy as its sender), a §3 message otherwise.
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
        let own = self.keyring.current();
        let mut others: Vec<&Card> = Vec::with_capacity(to.len());
        for card in to {
            if card.id() != own.card().id() && !others.iter().any(|c| c.id() == card.id()) {
                others.push(card);
            }
        }
        if let [other] = others.as_slice() {
            let own_id = own.card().id();
            let pair_key = self
                .pair_key(&own_id, other)
                .map_err(|_| crate::proto::Error::InvalidArgument("recipient enc_pk"))?;
            let mut msg_id = [0u8; 16];
            rng.fill_bytes(&mut msg_id);
            return Ok(pairwise::seal_with(
                &pair_key,
                own_id,
                other.id(),
                msg_id,
                &content,
            )?);
        }
        Ok(envelope::encrypt(rng, own, to, &content)?)
    }

    /// Decrypts and verifies `text` (a §3 `csm2.` or a §11 `csp2.` message); `resolve`
    /// gives a card for its id (the sender's, or for a pairwise message this identity
    /// sent, the recipient's; this identity's own cards resolve locally).
    pub fn decrypt(
        &self,
        text: &str,
        resolve: impl FnOnce(&CardId) -> Option<Card>,
        from: Option<&str>,
        context: Option<&str>,
    ) -> Result<Decrypted, Error> {
        if text.starts_with(pairwise::TEXT_PREFIX) {
            let message = self.decrypt_pairwise(text, resolve, from, context)?;
            return Decrypted::from_message(message);
        }
        let message = envelope::decrypt(text, &self.keyring, resolve, from, context)?;
        Decrypted::from_message(message)
    }

    /// §11 steps 1–7, with the pair key from memory once derived.
    fn decrypt_pairwise(
        &self,
        text: &str,
        resolve: impl FnOnce(&CardId) -> Option<Card>,
        from: Option<&str>,
        context: Option<&str>,
    ) -> Result<Message, Error> {
        let message = Pairwise::parse(text)?;
        let (side, own, other_id) = message.side(&self.keyring)?;
        let other = match self.keyring.find(&other_id) {
            Some(entry) => entry.card().clone(),
            None => resolve(&other_id)
                .filter(|c| c.id() == other_id)
                .ok_or(crate::proto::Error::UnknownSender)?,
        };
        let pair_key = self.pair_key(&own.card().id(), &other)?;
        let sender = match side {
            Side::Recipient => &other,
            Side::Sender => own.card(),
        };
        Ok(message.open(&pair_key, sender, from, context)?)
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
        // One other card: a §11 pairwise message.
        assert!(text.starts_with("csp2."));
        let resolve = |id: &CardId| (*id == old_card.id()).then(|| old_card.clone());
        let got = bob
            .decrypt(&text, resolve, Some("alice"), Some("c1"))
            .unwrap();
        assert_eq!(got.text.as_deref(), Some("hi"));
        assert_eq!((got.sender.as_str(), got.sent_at), ("alice", 5));
        assert_eq!(got.content_type_name(), "text");
        assert!(!format!("{got:?}").contains("hi\""));

        // After a rotation the old message still opens for Alice herself (as its sender,
        // with the recipient's card).
        alice.rotate(&mut OsRng, 2).unwrap();
        assert_ne!(alice.card().id(), old_card.id());
        let bob_card = bob.card().clone();
        let resolve = |id: &CardId| (*id == bob_card.id()).then(|| bob_card.clone());
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
    fn one_other_card_is_pairwise_and_more_is_a_section_3_message() {
        let alice = Identity::generate(&mut OsRng, "alice", 1).unwrap();
        let bob = Identity::generate(&mut OsRng, "bob", 1).unwrap();
        let carol = Identity::generate(&mut OsRng, "carol", 1).unwrap();
        let seal = |to: &[&Card]| {
            alice
                .encrypt(&mut OsRng, to, ContentType::Text, b"x", "c", 5)
                .unwrap()
        };
        // The sender's own card, given or not, does not count as another member.
        assert!(seal(&[bob.card()]).starts_with("csp2."));
        assert!(seal(&[alice.card(), bob.card(), bob.card()]).starts_with("csp2."));
        assert!(seal(&[bob.card(), carol.card()]).starts_with("csm2."));
        assert!(seal(&[alice.card()]).starts_with("csm2."));
        // The pair key is derived once per pair of cards.
        assert_eq!(alice.pair_keys.borrow().len(), 1);
        let text = seal(&[bob.card()]);
        let alice_card = alice.card().clone();
        let got = bob
            .decrypt(
                &text,
                |id| (*id == alice_card.id()).then(|| alice_card.clone()),
                Some("alice"),
                Some("c"),
            )
            .unwrap();
        assert_eq!(got.data, b"x");
        assert_eq!(
            bob.decrypt(&text, |_| None, None, None).unwrap_err().code(),
            "UnknownSender"
        );
        assert_eq!(
            carol
                .decrypt(&text, |_| Some(alice_card.clone()), None, None)
                .unwrap_err()
                .code(),
            "NotARecipient"
        );
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
