//! This identity's own keys: registered, rotated, adopted (from a backup or another
//! device), revoked and wiped.

use rand_core::CryptoRngCore;

use super::{Directory, Engine, Publish, Store};
use crate::client::groups::Sessions;
use crate::client::{CardCache, Error, Identity};
use crate::proto::keyring::Keyring;
use crate::proto::{self, Card};

impl<D: Directory + Clone + 'static, S: Store> Engine<D, S> {
    /// Creates keys (or uses this device's) and publishes the card. Fails with
    /// `AlreadyRegistered` when the directory has a card this device has no keys for.
    pub async fn register(&self, rng: &mut impl CryptoRngCore, now_ms: u64) -> Result<Card, Error> {
        let existing = self.directory_own_card().await?;
        let local = self.own_card().ok();
        if let Some(card) = existing {
            return match local {
                Some(own) if own.id() == card.id() => Ok(own),
                _ => Err(Error::AlreadyRegistered),
            };
        }
        if local.is_none() {
            let keys = Identity::generate(rng, &self.identity, now_ms / 1000)?;
            self.state.borrow_mut().keys = Some(keys);
        }
        // Keys are stored before the card is published: a card whose keys were lost
        // would lock the identity out.
        self.save_keys().await?;
        let card = self.own_card()?;
        match self.directory.publish(&card.to_text(), false).await? {
            Publish::Stored => Ok(card),
            Publish::Conflict => Err(Error::AlreadyRegistered),
        }
    }

    /// Rotates this device's keys: a new card naming the current one, published, stored.
    pub async fn rotate(&self, rng: &mut impl CryptoRngCore, now_ms: u64) -> Result<Card, Error> {
        let card = {
            let mut state = self.state.borrow_mut();
            let keys = state.keys.as_mut().ok_or(Error::NoLocalKey)?;
            keys.rotate(rng, now_ms / 1000)?.clone()
        };
        self.save_keys().await?;
        match self.directory.publish(&card.to_text(), false).await? {
            Publish::Stored => Ok(card),
            Publish::Conflict => Err(Error::Directory(
                "the directory's current card is not this device's: restore the latest backup first".into(),
            )),
        }
    }

    /// Makes `keyring` this device's keys and stores them: the one way keys arrive from
    /// elsewhere (a password or passkey backup, a device link). `InvalidArgument` when a
    /// card in it is another identity's; nothing is changed then.
    pub async fn adopt(&self, keyring: Keyring) -> Result<Card, Error> {
        if keyring
            .entries()
            .any(|entry| entry.card().identity() != self.identity)
        {
            return Err(Error::Proto(proto::Error::InvalidArgument(
                "the keys are another identity's",
            )));
        }
        let keys = Identity::from_keyring(keyring);
        let card = keys.card().clone();
        self.state.borrow_mut().keys = Some(keys);
        self.save_keys().await?;
        Ok(card)
    }

    /// Revokes the card at the directory and forgets the keys here.
    pub async fn unregister(&self) -> Result<(), Error> {
        self.directory.revoke().await?;
        self.wipe_local().await
    }

    /// Forgets everything on this device: keys, pins, caches.
    pub async fn wipe_local(&self) -> Result<(), Error> {
        {
            let mut state = self.state.borrow_mut();
            state.keys = None;
            state.trust.clear();
            state.current.clear();
            state.reported.clear();
            state.chains.clear();
            state.cards = CardCache::new();
            state.sessions = Sessions::default();
            state.missing.clear();
        }
        self.store.wipe().await
    }
}
