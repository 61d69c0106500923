//! §1 Identity keys: an identity string and its two independent key pairs.

use std::fmt;

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;
use x25519_dalek::{PublicKey as XPublicKey, StaticSecret};
use zeroize::{Zeroize as _, Zeroizing};

use super::suite::HpkePrivateKey;
use super::Error;

/// The longest identity, in bytes of UTF-8.
pub const MAX_IDENTITY_LEN: usize = 256;

/// Checks an identity string against §1: 1..=256 bytes of UTF-8 with no control
/// characters (U+0000..U+001F, U+007F).
pub fn validate_identity(identity: &str) -> Result<(), Error> {
    let ok = (1..=MAX_IDENTITY_LEN).contains(&identity.len())
        && !identity.chars().any(|c| c <= '\u{1f}' || c == '\u{7f}');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(
            "identity: must be 1 to 256 bytes of UTF-8 without control characters",
        ))
    }
}

/// The secret half of one key generation: an Ed25519 signing key and an X25519 secret.
///
/// Both halves are zeroized when dropped; the value lives in one heap allocation so
/// that moving it copies no secret bytes. `Debug` shows only the public keys.
pub struct IdentityKeys(Box<KeysInner>);

struct KeysInner {
    sign: SigningKey,
    enc: StaticSecret,
    enc_pk: [u8; 32],
}

impl IdentityKeys {
    /// Generates a fresh pair of key pairs: 32 random bytes for the Ed25519 seed, then 32
    /// for the X25519 secret.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut sign_seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(sign_seed.as_mut());
        let mut enc_sk = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(enc_sk.as_mut());
        Self::from_secrets(&sign_seed, &enc_sk)
    }

    /// Rebuilds the keys from their 32-byte secrets (the Ed25519 seed and the X25519
    /// secret, as stored in a keyring).
    pub fn from_secrets(sign_seed: &[u8; 32], enc_sk: &[u8; 32]) -> Self {
        let sign = SigningKey::from_bytes(sign_seed);
        let enc = StaticSecret::from(*enc_sk);
        let enc_pk = XPublicKey::from(&enc).to_bytes();
        IdentityKeys(Box::new(KeysInner { sign, enc, enc_pk }))
    }

    /// The Ed25519 public key.
    pub fn sign_pk(&self) -> [u8; 32] {
        self.0.sign.verifying_key().to_bytes()
    }

    pub(crate) fn verifying_key(&self) -> VerifyingKey {
        self.0.sign.verifying_key()
    }

    /// The X25519 public key, `X25519(enc_sk, 9)`.
    pub fn enc_pk(&self) -> [u8; 32] {
        self.0.enc_pk
    }

    /// The 32-byte Ed25519 seed (for a keyring or backup).
    pub fn sign_seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.sign.to_bytes())
    }

    /// The 32-byte X25519 secret (for a keyring or backup).
    pub fn enc_sk(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.enc.to_bytes())
    }

    /// Signs `label || parts…` (every signature of the protocol has a domain label).
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign.sign(message).to_bytes()
    }

    /// `X25519(enc_sk, their_pk)`: the static shared secret of §11, zeroized on drop.
    /// The caller rejects the all-zero output (a low-order `their_pk`).
    pub(crate) fn x25519(&self, their_pk: &[u8; 32]) -> Zeroizing<[u8; 32]> {
        let shared = self.0.enc.diffie_hellman(&XPublicKey::from(*their_pk));
        Zeroizing::new(shared.to_bytes())
    }

    /// The X25519 secret as the HPKE crate's private key type.
    pub(crate) fn hpke_private_key(&self) -> Result<HpkePrivateKey, Error> {
        use hpke::Deserializable as _;
        let mut bytes = self.0.enc.to_bytes();
        let key = HpkePrivateKey::from_bytes(&bytes).map_err(|_| Error::InvalidArgument("enc_sk"));
        bytes.zeroize();
        key
    }
}

impl fmt::Debug for IdentityKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityKeys")
            .field("sign_pk", &hex::encode(self.sign_pk()))
            .field("enc_pk", &hex::encode(self.enc_pk()))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_follow_section_1() {
        assert!(validate_identity("alice@clinic-a").is_ok());
        assert!(validate_identity("Zoë 🩺").is_ok());
        assert!(validate_identity(&"a".repeat(256)).is_ok());
        assert!(validate_identity("").is_err());
        assert!(validate_identity(&"a".repeat(257)).is_err());
        assert!(validate_identity(&"é".repeat(129)).is_err()); // 258 bytes
        assert!(validate_identity("a\u{0}b").is_err());
        assert!(validate_identity("a\nb").is_err());
        assert!(validate_identity("a\u{7f}").is_err());
        assert!(validate_identity("a\u{80}").is_ok()); // only C0 and DEL are excluded
    }

    #[test]
    fn debug_shows_only_public_keys() {
        let keys = IdentityKeys::from_secrets(&[7; 32], &[9; 32]);
        let shown = format!("{keys:?}");
        assert_eq!(
            shown,
            format!(
                "IdentityKeys {{ sign_pk: {:?}, enc_pk: {:?}, .. }}",
                hex::encode(keys.sign_pk()),
                hex::encode(keys.enc_pk())
            )
        );
        assert!(!shown.contains(&hex::encode([7; 32])) && !shown.contains(&hex::encode([9; 32])));
    }

    #[test]
    fn enc_pk_is_x25519_of_the_base_point() {
        let keys = IdentityKeys::from_secrets(&[1; 32], &[2; 32]);
        assert_eq!(
            keys.enc_pk(),
            x25519_dalek::x25519([2; 32], x25519_dalek::X25519_BASEPOINT_BYTES)
        );
        assert_eq!(*keys.enc_sk(), [2; 32]);
        assert_eq!(*keys.sign_seed(), [1; 32]);
    }
}
