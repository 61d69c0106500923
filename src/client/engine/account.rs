//! This identity's own keys: registered, rotated, backed up and restored, revoked and
//! wiped.

use rand_core::CryptoRngCore;

use super::{Directory, Engine, Publish, Store};
use crate::client::groups::Sessions;
use crate::client::{CardCache, Error, Identity};
use crate::proto::{self, backup, Card};

impl<D: Directory + Clone + 'static, S: Store> Engine<D, S> {
    /// Creates keys (or uses this device's) and publishes the card. Fails with
    /// `AlreadyRegistered` when the directory has a card this device has no keys for.
    pub async fn register(&self, rng: &mut impl CryptoRngCore, now_ms: u64) -> Result<Card, Error> {
        let existing = self
            .directory
            .lookup(std::slice::from_ref(&self.identity))
            .await?;
        self.state.borrow_mut().stats.lookups += 1;
        let local = self.own_card().ok();
        if let Some((_, text)) = existing.first() {
            let card = self.verified(text)?;
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

    /// Seals every key generation under `password` and stores it at the directory.
    pub async fn backup(
        &self,
        rng: &mut impl CryptoRngCore,
        password: &str,
        params: backup::Params,
    ) -> Result<(), Error> {
        let text = {
            let state = self.state.borrow();
            let keys = state.keys.as_ref().ok_or(Error::NoLocalKey)?;
            keys.backup(rng, password, params)?
        };
        self.directory.put_backup(&text).await
    }

    /// Restores the keys from the directory's backup with `password` and stores them.
    pub async fn restore(&self, password: &str) -> Result<Card, Error> {
        let text = self.directory.get_backup().await?.ok_or_else(|| {
            Error::Directory("this identity has no backup at the directory".into())
        })?;
        let keys = Identity::restore(&text, password)?;
        if keys.identity() != self.identity {
            return Err(Error::Proto(proto::Error::InvalidArgument(
                "the backup is another identity's",
            )));
        }
        let card = keys.card().clone();
        self.state.borrow_mut().keys = Some(keys);
        self.save_keys().await?;
        Ok(card)
    }

    /// Re-seals the directory's backup under a new password.
    pub async fn change_password(
        &self,
        rng: &mut impl CryptoRngCore,
        old: &str,
        new: &str,
        params: backup::Params,
    ) -> Result<(), Error> {
        let text = self.directory.get_backup().await?.ok_or_else(|| {
            Error::Directory("this identity has no backup at the directory".into())
        })?;
        let keys = Identity::restore(&text, old)?;
        let sealed = keys.backup(rng, new, params)?;
        self.directory.put_backup(&sealed).await
    }

    /// Deletes the directory's backup.
    pub async fn delete_backup(&self) -> Result<(), Error> {
        self.directory.delete_backup().await
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
