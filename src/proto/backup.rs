//! §4 Key backup: the keyring sealed under a password (Argon2id + XChaCha20Poly1305),
//! stored opaquely by the directory.

use argon2::{Algorithm, Argon2, Version};
use chacha20poly1305::aead::{AeadInPlace as _, KeyInit as _};
use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};
use rand_core::CryptoRngCore;
#[cfg(feature = "nfc")]
use unicode_normalization::UnicodeNormalization as _;
use zeroize::Zeroizing;

use super::keyring::Keyring;
use super::wire::{from_text, to_text, Reader};
use super::Error;

const MAGIC: &[u8; 4] = b"CSB1";
/// The text prefix of a backup.
pub const TEXT_PREFIX: &str = "csb1.";
const HEADER_LEN: usize = 4 + 12 + 16 + 24;
/// The Poly1305 tag after a backup's ciphertext (§4, §4.1).
pub(super) const TAG_LEN: usize = 16;

/// Argon2id cost parameters, stored in the backup so that they can grow over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Memory, in KiB: 19456..=262144.
    pub m_kib: u32,
    /// Passes: 2..=10.
    pub t: u32,
    /// Lanes: 1..=4.
    pub p: u32,
}

impl Default for Params {
    /// m = 64 MiB, t = 3, p = 1.
    fn default() -> Self {
        Params {
            m_kib: 65536,
            t: 3,
            p: 1,
        }
    }
}

impl Params {
    /// Whether the parameters are within §4's bounds, which keep a hostile server from
    /// making a client spend gigabytes or minutes.
    pub fn in_bounds(&self) -> bool {
        (19456..=262_144).contains(&self.m_kib)
            && (2..=10).contains(&self.t)
            && (1..=4).contains(&self.p)
    }
}

/// Seals `keyring` under `password` with a random salt and nonce from `rng`.
pub fn seal(
    rng: &mut impl CryptoRngCore,
    keyring: &Keyring,
    password: &str,
    params: Params,
) -> Result<String, Error> {
    let mut salt = [0u8; 16];
    rng.fill_bytes(&mut salt);
    let mut nonce = [0u8; 24];
    rng.fill_bytes(&mut nonce);
    seal_with(keyring, password, params, salt, nonce)
}

/// [`seal`] with an explicit salt and nonce (test vectors).
pub fn seal_with(
    keyring: &Keyring,
    password: &str,
    params: Params,
    salt: [u8; 16],
    nonce: [u8; 24],
) -> Result<String, Error> {
    seal_bytes(&keyring.encode()?, password, params, salt, nonce)
}

/// Seals any bytes as the keyring of a backup. Public so that test vectors can build a
/// backup of a deliberately invalid keyring with the same code; use [`seal`].
#[doc(hidden)]
pub fn seal_bytes(
    keyring: &[u8],
    password: &str,
    params: Params,
    salt: [u8; 16],
    nonce: [u8; 24],
) -> Result<String, Error> {
    if !params.in_bounds() {
        return Err(Error::InvalidArgument("Argon2 parameters out of bounds"));
    }
    let mut out = Vec::with_capacity(HEADER_LEN + keyring.len() + TAG_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&params.m_kib.to_be_bytes());
    out.extend_from_slice(&params.t.to_be_bytes());
    out.extend_from_slice(&params.p.to_be_bytes());
    out.extend_from_slice(&salt);
    out.extend_from_slice(&nonce);
    let key = derive_key(password, &salt, params)?;
    seal_keyring(&key, nonce, keyring, &mut out)?;
    Ok(to_text(TEXT_PREFIX, &out))
}

/// Opens a backup with `password` (NFC-normalised first, so that the same password
/// typed on two keyboards opens it). Parameters out of §4's bounds and an invalid
/// keyring are `Malformed`; a wrong password and a tampered blob are both `Integrity`.
pub fn open(text: &str, password: &str) -> Result<Keyring, Error> {
    Sealed::parse(text)?.open(password)
}

/// A backup whose structure and parameters passed §4's checks, still sealed.
pub struct Sealed {
    bytes: Vec<u8>,
    params: Params,
    salt: [u8; 16],
    nonce: [u8; 24],
}

impl Sealed {
    /// Parses `csb1.` text: magic, parameters within §4's bounds (`Malformed`), room for
    /// the tag (`Integrity`). No key derivation happens here.
    pub fn parse(text: &str) -> Result<Sealed, Error> {
        let bytes = from_text(text, TEXT_PREFIX, "backup: not csb1. text")?;
        let mut r = Reader::new(&bytes, "backup");
        r.magic(MAGIC)?;
        let params = Params {
            m_kib: r.u32()?,
            t: r.u32()?,
            p: r.u32()?,
        };
        if !params.in_bounds() {
            return Err(Error::Malformed("backup: Argon2 parameters out of bounds"));
        }
        let salt: [u8; 16] = r.array()?;
        let nonce: [u8; 24] = r.array()?;
        if r.remaining() < TAG_LEN {
            return Err(Error::Integrity);
        }
        Ok(Sealed {
            bytes,
            params,
            salt,
            nonce,
        })
    }

    /// The Argon2id parameters the backup names (within §4's bounds).
    pub fn params(&self) -> Params {
        self.params
    }

    /// Derives the key from `password` and opens the keyring (`Integrity`, then
    /// `Malformed` for a keyring that does not decode).
    pub fn open(&self, password: &str) -> Result<Keyring, Error> {
        let key = derive_key(password, &self.salt, self.params)?;
        open_keyring(&key, &self.nonce, &self.bytes, HEADER_LEN)
    }
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealed")
            .field("params", &self.params)
            .field("len", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

/// Appends `XChaCha20Poly1305-Seal(key, nonce, aad = every byte of out so far, keyring)`
/// to `out`: the ciphertext of a password (§4) or passkey (§4.1) backup.
pub(super) fn seal_keyring(
    key: &[u8; 32],
    nonce: [u8; 24],
    keyring: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    let mut ct = Zeroizing::new(keyring.to_vec());
    let tag = XChaCha20Poly1305::new(key.into())
        .encrypt_in_place_detached(&XNonce::from(nonce), out, ct.as_mut_slice())
        .map_err(|_| Error::InvalidArgument("keyring too long"))?;
    out.extend_from_slice(&ct);
    out.extend_from_slice(&tag);
    Ok(())
}

/// Opens what [`seal_keyring`] appended: the first `header_len` bytes of `bytes` are the
/// associated data, the rest ciphertext and tag. `Integrity` when it does not open, then
/// the keyring's own decoding errors.
pub(super) fn open_keyring(
    key: &[u8; 32],
    nonce: &[u8; 24],
    bytes: &[u8],
    header_len: usize,
) -> Result<Keyring, Error> {
    let (aad, body) = bytes
        .split_at_checked(header_len)
        .ok_or(Error::Malformed("backup"))?;
    let ct_len = body.len().checked_sub(TAG_LEN).ok_or(Error::Integrity)?;
    let (ct, tag) = body.split_at(ct_len);
    let mut ct = Zeroizing::new(ct.to_vec());
    XChaCha20Poly1305::new(key.into())
        .decrypt_in_place_detached(
            &XNonce::from(*nonce),
            aad,
            ct.as_mut_slice(),
            Tag::from_slice(tag),
        )
        .map_err(|_| Error::Integrity)?;
    Keyring::decode(&ct)
}

/// §4's NFC form of a password.
#[cfg(feature = "nfc")]
fn nfc(password: &str) -> Zeroizing<String> {
    Zeroizing::new(password.nfc().collect())
}

/// Built without the `nfc` feature (the WebAssembly package), the caller normalises: the
/// web bindings pass every password through `String.prototype.normalize("NFC")`, which
/// spares the module the Unicode tables (about 62 KB gzipped).
#[cfg(not(feature = "nfc"))]
fn nfc(password: &str) -> Zeroizing<String> {
    Zeroizing::new(password.to_owned())
}

/// `Argon2id(NFC(password) as UTF-8, salt, m_kib, t, p, out = 32)`.
fn derive_key(
    password: &str,
    salt: &[u8; 16],
    params: Params,
) -> Result<Zeroizing<[u8; 32]>, Error> {
    let bad = |_| Error::InvalidArgument("Argon2 parameters");
    let argon = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        argon2::Params::new(params.m_kib, params.t, params.p, Some(32)).map_err(bad)?,
    );
    let normalized = nfc(password);
    let mut key = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(normalized.as_bytes(), salt, key.as_mut())
        .map_err(bad)?;
    Ok(key)
}
