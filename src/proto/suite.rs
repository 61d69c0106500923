//! The HPKE suite of PROTOCOL.md's Primitives (RFC 9180 mode_base: DHKEM(X25519,
//! HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305), as the type aliases that both
//! [`keys`](super::keys) (§1) and [`envelope`](super::envelope) (§3) name, so that
//! neither depends on the other.

use rand_core::CryptoRngCore;

pub(crate) type Kem = hpke::kem::X25519HkdfSha256;
pub(crate) type Kdf = hpke::kdf::HkdfSha256;
pub(crate) type HpkeAead = hpke::aead::ChaCha20Poly1305;
pub(crate) type HpkePrivateKey = <Kem as hpke::Kem>::PrivateKey;
pub(crate) type HpkePublicKey = <Kem as hpke::Kem>::PublicKey;
pub(crate) type EncappedKey = <Kem as hpke::Kem>::EncappedKey;

/// Lets `&mut impl CryptoRngCore` (possibly unsized) be passed where the HPKE crate wants
/// `R: CryptoRng + RngCore`.
pub(crate) struct RngAdapter<'a, R: CryptoRngCore + ?Sized>(pub(crate) &'a mut R);

impl<R: CryptoRngCore + ?Sized> rand_core::RngCore for RngAdapter<'_, R> {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.0.try_fill_bytes(dest)
    }
}

impl<R: CryptoRngCore + ?Sized> rand_core::CryptoRng for RngAdapter<'_, R> {}
