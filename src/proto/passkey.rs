//! §4.1 Passkey backup: the keyring sealed under a key that only one WebAuthn credential
//! can produce (its `prf` extension's output for a salt stored in the backup).
//!
//! The backup names its credential and salt in the clear, so that a new device can ask
//! the authenticator for exactly that PRF output ([`Sealed::credential_id`],
//! [`Sealed::prf_salt`]) before anything is decrypted.

use hkdf::Hkdf;
use rand_core::CryptoRngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::backup::{open_keyring, seal_keyring, TAG_LEN};
use super::keyring::Keyring;
use super::wire::{from_text, put_vec16, to_text, Reader};
use super::Error;

const MAGIC: &[u8; 4] = b"CSW1";
/// The text prefix of a passkey backup.
pub const TEXT_PREFIX: &str = "csw1.";
const HKDF_SALT: &[u8] = b"chatseal/v2/passkey";

/// Seals `keyring` for the credential `credential_id`, whose PRF output for `prf_salt` is
/// `prf_output`. `prf_salt` must be the salt the PRF was evaluated with: pick it with
/// [`new_prf_salt`] and ask the authenticator for its output first. The nonce is random.
pub fn seal(
    rng: &mut impl CryptoRngCore,
    keyring: &Keyring,
    credential_id: &[u8],
    prf_salt: [u8; 32],
    prf_output: &[u8; 32],
) -> Result<String, Error> {
    let mut nonce = [0u8; 24];
    rng.fill_bytes(&mut nonce);
    seal_with(keyring, credential_id, prf_salt, prf_output, nonce)
}

/// A fresh random `prf_salt` (§4.1: random per backup).
pub fn new_prf_salt(rng: &mut impl CryptoRngCore) -> [u8; 32] {
    let mut salt = [0u8; 32];
    rng.fill_bytes(&mut salt);
    salt
}

/// [`seal`] with an explicit nonce (test vectors).
pub fn seal_with(
    keyring: &Keyring,
    credential_id: &[u8],
    prf_salt: [u8; 32],
    prf_output: &[u8; 32],
    nonce: [u8; 24],
) -> Result<String, Error> {
    seal_bytes(
        &keyring.encode()?,
        credential_id,
        prf_salt,
        prf_output,
        nonce,
    )
}

/// Seals any bytes as the keyring of a passkey backup. Public so that test vectors can
/// build a backup of a deliberately invalid keyring with the same code; use [`seal`].
#[doc(hidden)]
pub fn seal_bytes(
    keyring: &[u8],
    credential_id: &[u8],
    prf_salt: [u8; 32],
    prf_output: &[u8; 32],
    nonce: [u8; 24],
) -> Result<String, Error> {
    let mut out = Vec::with_capacity(4 + 2 + credential_id.len() + 56 + keyring.len() + TAG_LEN);
    out.extend_from_slice(MAGIC);
    put_vec16(&mut out, credential_id, "credential id too long")?;
    out.extend_from_slice(&prf_salt);
    out.extend_from_slice(&nonce);
    let key = derive_key(prf_output, credential_id);
    seal_keyring(&key, nonce, keyring, &mut out)?;
    Ok(to_text(TEXT_PREFIX, &out))
}

/// Opens a passkey backup with the PRF output of its credential for its salt. A bad
/// layout is `Malformed`; a wrong credential (hence a wrong output) and a tampered blob
/// are both `Integrity`; a keyring that does not decode is `Malformed` (or §2's error for
/// a card in it).
pub fn open(text: &str, prf_output: &[u8; 32]) -> Result<Keyring, Error> {
    Sealed::parse(text)?.open(prf_output)
}

/// A passkey backup whose layout passed §4.1's checks, still sealed.
pub struct Sealed {
    bytes: Vec<u8>,
    /// Where the ciphertext starts: every byte before it is the AEAD's associated data.
    header_len: usize,
    credential_id: Vec<u8>,
    prf_salt: [u8; 32],
    nonce: [u8; 24],
}

impl Sealed {
    /// Parses `csw1.` text: prefix, base64url, magic, the credential id, salt and nonce
    /// (`Malformed`), room for the tag (`Integrity`). Nothing is decrypted here.
    pub fn parse(text: &str) -> Result<Sealed, Error> {
        let bytes = from_text(text, TEXT_PREFIX, "passkey backup: not csw1. text")?;
        let mut r = Reader::new(&bytes, "passkey backup");
        r.magic(MAGIC)?;
        let credential_id = r.vec16()?.to_vec();
        let prf_salt: [u8; 32] = r.array()?;
        let nonce: [u8; 24] = r.array()?;
        let tail = r.remaining();
        if tail < TAG_LEN {
            return Err(Error::Integrity);
        }
        let header_len = bytes.len() - tail;
        Ok(Sealed {
            bytes,
            header_len,
            credential_id,
            prf_salt,
            nonce,
        })
    }

    /// The WebAuthn credential id the backup is sealed for (public: it is what the
    /// browser asks the authenticator for, and what the directory keys the backup by).
    pub fn credential_id(&self) -> &[u8] {
        &self.credential_id
    }

    /// The salt to evaluate the credential's PRF with.
    pub fn prf_salt(&self) -> [u8; 32] {
        self.prf_salt
    }

    /// Derives the key from the PRF output and opens the keyring (`Integrity`, then
    /// `Malformed` or §2's error for a keyring that does not decode).
    pub fn open(&self, prf_output: &[u8; 32]) -> Result<Keyring, Error> {
        let key = derive_key(prf_output, &self.credential_id);
        open_keyring(&key, &self.nonce, &self.bytes, self.header_len)
    }
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("passkey::Sealed")
            .field("credential_id_len", &self.credential_id.len())
            .field("len", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

/// `HKDF-SHA256(salt = "chatseal/v2/passkey", ikm = prf_output, info = credential_id, 32)`.
fn derive_key(prf_output: &[u8; 32], credential_id: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's limit of 255 × 32, so expand cannot fail.
    let expanded = Hkdf::<Sha256>::new(Some(HKDF_SALT), prf_output)
        .expand(credential_id, key.as_mut())
        .is_ok();
    debug_assert!(expanded);
    key
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::proto::keyring::KeyringEntry;
    use rand_chacha::rand_core::SeedableRng as _;
    use rand_chacha::ChaCha20Rng;

    fn keyring(rng: &mut ChaCha20Rng) -> Keyring {
        Keyring::new(KeyringEntry::generate(rng, "alice@clinic-a", 1_700_000_000, None).unwrap())
    }

    #[test]
    fn seals_and_opens_with_the_same_prf_output_only() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let ring = keyring(&mut rng);
        let salt = new_prf_salt(&mut rng);
        let text = seal(&mut rng, &ring, b"credential-1", salt, &[5; 32]).unwrap();
        assert!(text.starts_with(TEXT_PREFIX));
        let sealed = Sealed::parse(&text).unwrap();
        assert_eq!(sealed.credential_id(), b"credential-1");
        assert_eq!(sealed.prf_salt(), salt);
        let back = sealed.open(&[5; 32]).unwrap();
        assert_eq!(back.current().card().id(), ring.current().card().id());
        assert_eq!(open(&text, &[6; 32]).unwrap_err(), Error::Integrity);
    }

    #[test]
    fn another_credential_id_is_integrity() {
        let mut rng = ChaCha20Rng::seed_from_u64(8);
        let ring = keyring(&mut rng);
        let text = seal_with(&ring, b"cred-a", [1; 32], &[2; 32], [3; 24]).unwrap();
        let other = seal_with(&ring, b"cred-b", [1; 32], &[2; 32], [3; 24]).unwrap();
        // Swap in the other credential id (same length) with the first one's ciphertext:
        // the id is both the HKDF info and part of the associated data.
        let mut bytes = crate::proto::b64u_decode(&text[TEXT_PREFIX.len()..]).unwrap();
        let id_b = crate::proto::b64u_decode(&other[TEXT_PREFIX.len()..]).unwrap();
        bytes[6..12].copy_from_slice(&id_b[6..12]);
        let forged = format!("{TEXT_PREFIX}{}", crate::proto::b64u_encode(&bytes));
        assert_eq!(open(&forged, &[2; 32]).unwrap_err(), Error::Integrity);
    }

    #[test]
    fn layout_errors_are_malformed_and_a_short_tail_is_integrity() {
        assert!(matches!(
            Sealed::parse("csb1.AAAA"),
            Err(Error::Malformed(_))
        ));
        let mut head = b"CSW1".to_vec();
        head.extend_from_slice(&[0, 1, 9]);
        head.extend_from_slice(&[0; 32 + 24 + 15]);
        let text = format!("{TEXT_PREFIX}{}", crate::proto::b64u_encode(&head));
        assert_eq!(Sealed::parse(&text).unwrap_err(), Error::Integrity);
        let truncated = format!("{TEXT_PREFIX}{}", crate::proto::b64u_encode(&head[..40]));
        assert!(matches!(
            Sealed::parse(&truncated),
            Err(Error::Malformed(_))
        ));
    }

    #[test]
    fn debug_shows_no_bytes() {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let ring = keyring(&mut rng);
        let text = seal_with(&ring, b"cred", [1; 32], &[2; 32], [3; 24]).unwrap();
        let shown = format!("{:?}", Sealed::parse(&text).unwrap());
        assert!(!shown.contains("cred\""), "{shown}");
        assert!(shown.contains("credential_id_len: 4"), "{shown}");
    }
}
