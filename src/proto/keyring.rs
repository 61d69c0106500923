//! The keyring: an identity's current key pair and the older ones kept to read history,
//! and its `CSK2` encoding (the plaintext of a backup, §4).

use std::fmt;

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use super::card::{Card, CardId, Rotation};
use super::keys::IdentityKeys;
use super::wire::{put_vec32, Reader};
use super::Error;

const MAGIC: &[u8; 4] = b"CSK2";

/// One key generation: a card and the secret keys that belong to it.
pub struct KeyringEntry {
    card: Card,
    keys: IdentityKeys,
}

impl KeyringEntry {
    /// Pairs a card with its secret keys; fails when they do not belong together.
    pub fn new(card: Card, keys: IdentityKeys) -> Result<Self, Error> {
        if card.matches(&keys) {
            Ok(KeyringEntry { card, keys })
        } else {
            Err(Error::InvalidArgument(
                "the secret keys do not belong to the card",
            ))
        }
    }

    /// Generates fresh keys and their card; a [`Rotation`] makes the card link to the
    /// one it replaces (§2), `None` starts a new chain.
    pub fn generate(
        rng: &mut impl CryptoRngCore,
        identity: &str,
        created_at: u64,
        rotation: Option<Rotation<'_>>,
    ) -> Result<Self, Error> {
        let keys = IdentityKeys::generate(rng);
        let card = Card::create(&keys, identity, created_at, rotation)?;
        Ok(KeyringEntry { card, keys })
    }

    /// The public card.
    pub fn card(&self) -> &Card {
        &self.card
    }

    /// The secret keys.
    pub fn keys(&self) -> &IdentityKeys {
        &self.keys
    }
}

impl fmt::Debug for KeyringEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyringEntry")
            .field("card", &self.card)
            .finish_non_exhaustive()
    }
}

/// An identity's keys, newest first; never empty.
#[derive(Debug)]
pub struct Keyring {
    current: KeyringEntry,
    /// Older generations, newest first, kept to read history.
    older: Vec<KeyringEntry>,
}

const MAX_GENERATIONS: usize = u16::MAX as usize;

impl Keyring {
    /// A keyring holding one key generation.
    pub fn new(entry: KeyringEntry) -> Self {
        Keyring {
            current: entry,
            older: Vec::new(),
        }
    }

    /// A keyring from its entries, newest first.
    pub fn from_entries(entries: Vec<KeyringEntry>) -> Result<Self, Error> {
        let mut entries = entries.into_iter();
        match entries.next() {
            Some(current) if entries.len() < MAX_GENERATIONS => Ok(Keyring {
                current,
                older: entries.collect(),
            }),
            _ => Err(Error::InvalidArgument(
                "a keyring holds 1 to 65535 key generations",
            )),
        }
    }

    /// The current (newest) key generation.
    pub fn current(&self) -> &KeyringEntry {
        &self.current
    }

    /// Every key generation, newest first.
    pub fn entries(&self) -> impl Iterator<Item = &KeyringEntry> {
        std::iter::once(&self.current).chain(self.older.iter())
    }

    /// How many key generations the keyring holds (at least 1).
    pub fn len(&self) -> usize {
        self.older.len().saturating_add(1)
    }

    /// Always false: a keyring holds at least its current key generation.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The key generation whose card has this id, current or older.
    pub fn find(&self, id: &CardId) -> Option<&KeyringEntry> {
        self.entries().find(|e| e.card.id() == *id)
    }

    /// Rotates: generates a new key generation whose card links to the current one
    /// (`prev_card_id`, and `rotation_sig` made with the current signing key, §2), and
    /// makes it current. Older keys stay, to read history; the new current one is what
    /// signs the next rotation. `created_at` may not be older than the current card's.
    pub fn rotate(
        &mut self,
        rng: &mut impl CryptoRngCore,
        created_at: u64,
    ) -> Result<&KeyringEntry, Error> {
        if self.len() >= MAX_GENERATIONS {
            return Err(Error::InvalidArgument(
                "a keyring holds 1 to 65535 key generations",
            ));
        }
        let current = &self.current;
        if created_at < current.card.created_at() {
            return Err(Error::InvalidArgument(
                "a rotated card cannot be older than the card it replaces",
            ));
        }
        let rotation = Rotation {
            prev_card_id: current.card.id(),
            prev_keys: &current.keys,
        };
        let entry =
            KeyringEntry::generate(rng, current.card.identity(), created_at, Some(rotation))?;
        let previous = std::mem::replace(&mut self.current, entry);
        self.older.insert(0, previous);
        Ok(&self.current)
    }

    /// `"CSK2" || u16 count || count × (vec32(card) || sign_sk || enc_sk)`.
    pub fn encode(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        let count = u16::try_from(self.len())
            .map_err(|_| Error::InvalidArgument("too many key generations"))?;
        let mut out = Zeroizing::new(Vec::with_capacity(6 + self.len() * 400));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&count.to_be_bytes());
        for e in self.entries() {
            put_vec32(&mut out, e.card.to_bytes(), "card")?;
            out.extend_from_slice(e.keys.sign_seed().as_ref());
            out.extend_from_slice(e.keys.enc_sk().as_ref());
        }
        Ok(out)
    }

    /// Decodes a keyring. A bad magic (`CSK1` included), a count of zero, truncation or
    /// trailing bytes, or secrets that do not match their card are `Malformed`; a card
    /// that fails §2 gives §2's error.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes, "keyring");
        r.magic(MAGIC)?;
        let count = r.u16()?;
        if count == 0 {
            return Err(Error::Malformed("keyring: empty"));
        }
        let mut entries = Vec::with_capacity(usize::from(count).min(r.remaining() / 100));
        for _ in 0..count {
            let card = Card::decode(r.vec32()?)?;
            let sign_seed = Zeroizing::new(r.array::<32>()?);
            let enc_sk = Zeroizing::new(r.array::<32>()?);
            let keys = IdentityKeys::from_secrets(&sign_seed, &enc_sk);
            let entry = KeyringEntry::new(card, keys)
                .map_err(|_| Error::Malformed("keyring: secret keys do not match their card"))?;
            entries.push(entry);
        }
        r.finish()?;
        Keyring::from_entries(entries).map_err(|_| Error::Malformed("keyring"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    #[test]
    fn rotations_link_and_the_keyring_keeps_the_next_signer() {
        let mut keyring =
            Keyring::new(KeyringEntry::generate(&mut OsRng, "alice", 100, None).unwrap());
        let first = keyring.current().card().clone();
        keyring.rotate(&mut OsRng, 200).unwrap();
        let second = keyring.current().card().clone();
        assert_eq!(second.links_to(&first), Ok(()));

        // Through CSK2 and back, the restored keyring signs the next rotation.
        let bytes = keyring.encode().unwrap();
        assert_eq!(&bytes[..4], b"CSK2");
        let mut restored = Keyring::decode(&bytes).unwrap();
        assert_eq!(restored.len(), 2);
        restored.rotate(&mut OsRng, 200).unwrap();
        let third = restored.current().card();
        assert_eq!(third.links_to(&second), Ok(()));
        assert_eq!(restored.find(&first.id()).map(|e| e.card()), Some(&first));

        // A rotation older than the current card could never link: refused.
        assert!(matches!(
            restored.rotate(&mut OsRng, 199),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn version_1_and_bad_cards_are_refused() {
        let keyring = Keyring::new(KeyringEntry::generate(&mut OsRng, "alice", 1, None).unwrap());
        let mut bytes = keyring.encode().unwrap().to_vec();
        let mut v1 = bytes.clone();
        v1[3] = b'1';
        assert_eq!(
            Keyring::decode(&v1).map(|_| ()),
            Err(Error::Malformed("keyring"))
        );
        // The last byte of the card's card_sig (before the 64 secret bytes): §2's error.
        let at = bytes.len() - 65;
        bytes[at] ^= 1;
        assert_eq!(
            Keyring::decode(&bytes).map(|_| ()),
            Err(Error::BadSignature)
        );
    }
}
