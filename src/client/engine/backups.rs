//! This identity's backups at the directory: one password backup (§4) and one passkey
//! backup per WebAuthn credential (§4.1), made, listed, restored, re-sealed and deleted.
//!
//! The engine never talks to an authenticator: the web layer asks the browser for a
//! credential's PRF output and passes the 32 bytes in. Both restores end in
//! [`Engine::adopt`].

use rand_core::CryptoRngCore;

use super::{Directory, Engine, Store};
use crate::client::{Error, Identity};
use crate::proto::{self, backup, passkey, Card};

/// A passkey backup at the directory, as the browser needs it to ask the authenticator
/// for the PRF output that opens it: public data only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyBackup {
    /// The WebAuthn credential the backup is sealed for.
    pub credential_id: Vec<u8>,
    /// The salt to evaluate the credential's PRF with.
    pub prf_salt: [u8; 32],
}

impl<D: Directory + Clone + 'static, S: Store> Engine<D, S> {
    /// Seals every key generation under `password` and stores it at the directory as the
    /// password backup (replacing the previous one).
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

    /// Restores the keys from the directory's password backup and stores them:
    /// `NoBackup` when there is none, `Integrity` for a wrong password.
    pub async fn restore(&self, password: &str) -> Result<Card, Error> {
        let text = self.password_backup().await?;
        self.adopt(backup::open(&text, password)?).await
    }

    /// Re-seals the directory's password backup under a new password (`NoBackup` when
    /// there is none, `Integrity` when `old` does not open it).
    pub async fn change_password(
        &self,
        rng: &mut impl CryptoRngCore,
        old: &str,
        new: &str,
        params: backup::Params,
    ) -> Result<(), Error> {
        let text = self.password_backup().await?;
        let keys = Identity::restore(&text, old)?;
        let sealed = keys.backup(rng, new, params)?;
        self.directory.put_backup(&sealed).await
    }

    /// Deletes the directory's password backup (passkey backups stay).
    pub async fn delete_backup(&self) -> Result<(), Error> {
        self.directory.delete_backup(None).await
    }

    /// The passkey backups at the directory, in the order they were first stored. A
    /// text that does not parse as a passkey backup is skipped.
    pub async fn passkey_backups(&self) -> Result<Vec<PasskeyBackup>, Error> {
        Ok(self
            .sealed_passkey_backups()
            .await?
            .iter()
            .map(|sealed| PasskeyBackup {
                credential_id: sealed.credential_id().to_vec(),
                prf_salt: sealed.prf_salt(),
            })
            .collect())
    }

    /// Seals every key generation for the passkey `credential_id`, whose PRF output for
    /// `prf_salt` is `prf_output`, and stores it at the directory (replacing that
    /// credential's previous backup). Pick `prf_salt` with [`passkey::new_prf_salt`].
    pub async fn backup_with_passkey(
        &self,
        rng: &mut impl CryptoRngCore,
        credential_id: &[u8],
        prf_salt: [u8; 32],
        prf_output: &[u8; 32],
    ) -> Result<(), Error> {
        if credential_id.is_empty() {
            return Err(proto::Error::InvalidArgument("credential id: empty").into());
        }
        let text = {
            let state = self.state.borrow();
            let keys = state.keys.as_ref().ok_or(Error::NoLocalKey)?;
            passkey::seal(rng, keys.keyring(), credential_id, prf_salt, prf_output)?
        };
        self.directory.put_backup(&text).await
    }

    /// Restores the keys from the passkey backup of `credential_id` with its PRF output
    /// and stores them: `NoBackup` when the directory has no backup for that credential,
    /// `Integrity` when the output does not open it (nothing is stored then).
    pub async fn restore_with_passkey(
        &self,
        credential_id: &[u8],
        prf_output: &[u8; 32],
    ) -> Result<Card, Error> {
        let sealed = self
            .sealed_passkey_backups()
            .await?
            .into_iter()
            .find(|sealed| sealed.credential_id() == credential_id)
            .ok_or(Error::NoBackup)?;
        self.adopt(sealed.open(prf_output)?).await
    }

    /// Deletes the directory's passkey backup of `credential_id` (the password backup
    /// and other passkeys' stay).
    pub async fn delete_passkey_backup(&self, credential_id: &[u8]) -> Result<(), Error> {
        self.directory.delete_backup(Some(credential_id)).await
    }

    /// The directory's passkey backups (`csw1.`) whose layout parses, still sealed.
    async fn sealed_passkey_backups(&self) -> Result<Vec<passkey::Sealed>, Error> {
        Ok(self
            .directory
            .backups()
            .await?
            .iter()
            .filter(|text| text.starts_with(passkey::TEXT_PREFIX))
            .filter_map(|text| passkey::Sealed::parse(text).ok())
            .collect())
    }

    /// The directory's password backup (`csb1.`), or `NoBackup`.
    async fn password_backup(&self) -> Result<String, Error> {
        self.directory
            .backups()
            .await?
            .into_iter()
            .find(|text| text.starts_with(backup::TEXT_PREFIX))
            .ok_or(Error::NoBackup)
    }
}
