//! §13 Linking a new device: the new device shows a QR code naming a fresh X25519 key,
//! the old device seals the keyring to it (HPKE), the directory carries the sealed offer,
//! and both screens show a six-digit code the user compares before the keys are used.
//!
//! The directory never sees `e_pk` (it travels by camera, or typed by hand), so it cannot
//! seal an offer of its own; the code covers a QR typed by hand, where a swapped `e_pk`
//! would otherwise go unseen.

use hpke::{Deserializable as _, OpModeR, OpModeS, Serializable as _};
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::card::is_low_order;
use super::keyring::Keyring;
use super::suite::{EncappedKey, HpkeAead, HpkePrivateKey, HpkePublicKey, Kdf, Kem, RngAdapter};
use super::wire::{b64u_decode, from_text, to_text};
use super::Error;

/// The prefix of the QR payload the new device shows.
pub const QR_PREFIX: &str = "chatseal:link:";
/// The text prefix of a sealed offer.
pub const TEXT_PREFIX: &str = "csl1.";
const INFO_LABEL: &[u8] = b"chatseal/v2/link";
const CODE_LABEL: &[u8] = b"chatseal/v2/link-code";
const ENC_LEN: usize = 32;
const TAG_LEN: usize = 16;

/// The new device's side of a link: a fresh X25519 pair and a random link id. Holds the
/// secret key; `Debug` shows only the link id.
pub struct LinkRequest {
    link_id: [u8; 16],
    e_sk: Zeroizing<[u8; 32]>,
    e_pk: [u8; 32],
}

impl LinkRequest {
    /// A fresh request: 16 random bytes of link id and a random X25519 secret key.
    pub fn new(rng: &mut impl CryptoRngCore) -> LinkRequest {
        let mut link_id = [0u8; 16];
        rng.fill_bytes(&mut link_id);
        let mut e_sk = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(e_sk.as_mut());
        LinkRequest::from_parts(link_id, *e_sk)
    }

    /// A request from explicit parts (test vectors; restoring a pending link).
    pub fn from_parts(link_id: [u8; 16], e_sk: [u8; 32]) -> LinkRequest {
        let e_pk = x25519_dalek::x25519(e_sk, x25519_dalek::X25519_BASEPOINT_BYTES);
        LinkRequest {
            link_id,
            e_sk: Zeroizing::new(e_sk),
            e_pk,
        }
    }

    /// The link id, the key of `/v2/link/{hex link_id}`.
    pub fn link_id(&self) -> [u8; 16] {
        self.link_id
    }

    /// The public key the offer is sealed to.
    pub fn e_pk(&self) -> [u8; 32] {
        self.e_pk
    }

    /// The secret key, for a caller that must keep a pending link across a reload.
    pub fn e_sk(&self) -> &[u8; 32] {
        &self.e_sk
    }

    /// The QR payload: `"chatseal:link:" || b64u(link_id || e_pk)`.
    pub fn qr(&self) -> String {
        LinkQr {
            link_id: self.link_id,
            e_pk: self.e_pk,
        }
        .to_text()
    }

    /// Opens an offer sealed to this request: `Malformed` for a bad layout (prefix,
    /// base64url, shorter than `enc`), `Integrity` when it does not open (altered, or
    /// sealed to another key or link), then the keyring's own decoding errors.
    pub fn open(&self, text: &str) -> Result<Offer, Error> {
        let bytes = from_text(text, TEXT_PREFIX, "link offer: not csl1. text")?;
        if bytes.len() < ENC_LEN {
            return Err(Error::Malformed("link offer: shorter than its HPKE enc"));
        }
        let (enc_bytes, sealed) = bytes.split_at(ENC_LEN);
        if sealed.len() < TAG_LEN {
            return Err(Error::Integrity);
        }
        let (ct, tag) = sealed.split_at(sealed.len() - TAG_LEN);
        let sk = HpkePrivateKey::from_bytes(self.e_sk.as_ref()).map_err(|_| Error::Integrity)?;
        let enc = EncappedKey::from_bytes(enc_bytes).map_err(|_| Error::Integrity)?;
        let tag = hpke::aead::AeadTag::<HpkeAead>::from_bytes(tag).map_err(|_| Error::Integrity)?;
        let mut pt = Zeroizing::new(ct.to_vec());
        hpke::single_shot_open_in_place_detached::<HpkeAead, Kdf, Kem>(
            &OpModeR::Base,
            &sk,
            &enc,
            &info(&self.link_id),
            pt.as_mut_slice(),
            &self.link_id,
            &tag,
        )
        .map_err(|_| Error::Integrity)?;
        let keyring = Keyring::decode(&pt)?;
        let mut enc_arr = [0u8; ENC_LEN];
        enc_arr.copy_from_slice(enc_bytes);
        Ok(Offer {
            keyring,
            code: code(&self.link_id, &self.e_pk, &enc_arr),
        })
    }
}

impl std::fmt::Debug for LinkRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkRequest")
            .field("link_id", &super::wire::b64u_encode(&self.link_id))
            .finish_non_exhaustive()
    }
}

/// An opened offer: the keyring, not to be used before the user has confirmed that both
/// screens show [`Offer::code`].
pub struct Offer {
    keyring: Keyring,
    code: String,
}

impl Offer {
    /// The keyring the old device sent (newest card first).
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The keyring, once the user has confirmed the code.
    pub fn into_keyring(self) -> Keyring {
        self.keyring
    }

    /// The six-digit code, as the old device shows it.
    pub fn code(&self) -> &str {
        &self.code
    }
}

impl std::fmt::Debug for Offer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Offer")
            .field("cards", &self.keyring.len())
            .finish_non_exhaustive()
    }
}

/// A parsed QR payload, as the old device reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkQr {
    link_id: [u8; 16],
    e_pk: [u8; 32],
}

impl LinkQr {
    /// Parses `"chatseal:link:" || b64u(link_id || e_pk)`. Surrounding whitespace (a
    /// scanner's or a paste's) is ignored; anything else wrong is `Malformed`, including
    /// an `e_pk` of low order, to which nothing can be sealed.
    pub fn parse(text: &str) -> Result<LinkQr, Error> {
        let payload = text
            .trim()
            .strip_prefix(QR_PREFIX)
            .ok_or(Error::Malformed("link QR: not chatseal:link: text"))?;
        let bytes = b64u_decode(payload)?;
        if bytes.len() != 48 {
            return Err(Error::Malformed("link QR: not 16 + 32 bytes"));
        }
        let (id, pk) = bytes.split_at(16);
        let mut link_id = [0u8; 16];
        link_id.copy_from_slice(id);
        let mut e_pk = [0u8; 32];
        e_pk.copy_from_slice(pk);
        if is_low_order(&e_pk) {
            return Err(Error::Malformed("link QR: e_pk of low order"));
        }
        Ok(LinkQr { link_id, e_pk })
    }

    /// The link id the offer is posted under.
    pub fn link_id(&self) -> [u8; 16] {
        self.link_id
    }

    /// The new device's public key.
    pub fn e_pk(&self) -> [u8; 32] {
        self.e_pk
    }

    fn to_text(self) -> String {
        let mut bytes = [0u8; 48];
        bytes[..16].copy_from_slice(&self.link_id);
        bytes[16..].copy_from_slice(&self.e_pk);
        format!("{QR_PREFIX}{}", super::wire::b64u_encode(&bytes))
    }
}

/// The old device's side: seals `keyring` to the QR's key. Returns the `csl1.` text to
/// post and the six-digit code to show. The HPKE ephemeral key is `DeriveKeyPair` of 32
/// bytes drawn from `rng` (so a scripted generator gives a vector's `ikm_e`).
pub fn seal_offer(
    rng: &mut impl CryptoRngCore,
    qr: &LinkQr,
    keyring: &Keyring,
) -> Result<(String, String), Error> {
    seal_offer_bytes(rng, qr, &keyring.encode()?)
}

/// Seals any bytes as the keyring of an offer. Public so that test vectors can build an
/// offer of a deliberately invalid keyring with the same code; use [`seal_offer`].
#[doc(hidden)]
pub fn seal_offer_bytes(
    rng: &mut impl CryptoRngCore,
    qr: &LinkQr,
    keyring: &[u8],
) -> Result<(String, String), Error> {
    let pk = HpkePublicKey::from_bytes(&qr.e_pk).map_err(|_| Error::InvalidArgument("e_pk"))?;
    let mut ct = Zeroizing::new(keyring.to_vec());
    let (enc, tag) = hpke::single_shot_seal_in_place_detached::<HpkeAead, Kdf, Kem, _>(
        &OpModeS::Base,
        &pk,
        &info(&qr.link_id),
        ct.as_mut_slice(),
        &qr.link_id,
        &mut RngAdapter(rng),
    )
    .map_err(|_| Error::InvalidArgument("e_pk"))?;
    let mut enc_arr = [0u8; ENC_LEN];
    enc_arr.copy_from_slice(&enc.to_bytes());
    let mut out = Vec::with_capacity(ENC_LEN + ct.len() + TAG_LEN);
    out.extend_from_slice(&enc_arr);
    out.extend_from_slice(&ct);
    out.extend_from_slice(&tag.to_bytes());
    Ok((
        to_text(TEXT_PREFIX, &out),
        code(&qr.link_id, &qr.e_pk, &enc_arr),
    ))
}

fn info(link_id: &[u8; 16]) -> [u8; 32] {
    let mut info = [0u8; 32];
    info[..16].copy_from_slice(INFO_LABEL);
    info[16..].copy_from_slice(link_id);
    info
}

/// `u32(SHA-256("chatseal/v2/link-code" || link_id || e_pk || enc)[0..4]) mod 1,000,000`,
/// as six digits.
fn code(link_id: &[u8; 16], e_pk: &[u8; 32], enc: &[u8; ENC_LEN]) -> String {
    let digest = Sha256::new()
        .chain_update(CODE_LABEL)
        .chain_update(link_id)
        .chain_update(e_pk)
        .chain_update(enc)
        .finalize();
    let first = digest.first_chunk::<4>().copied().unwrap_or_default();
    format!("{:06}", u32::from_be_bytes(first) % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::keyring::KeyringEntry;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn keyring(rng: &mut ChaCha20Rng) -> Keyring {
        Keyring::new(KeyringEntry::generate(rng, "alice", 1_700_000_000, None).unwrap())
    }

    #[test]
    fn round_trip_and_codes_match() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let request = LinkRequest::new(&mut rng);
        let qr = LinkQr::parse(&request.qr()).unwrap();
        assert_eq!(qr.link_id(), request.link_id());
        assert_eq!(qr.e_pk(), request.e_pk());
        let ring = keyring(&mut rng);
        let (text, code) = seal_offer(&mut rng, &qr, &ring).unwrap();
        assert!(text.starts_with(TEXT_PREFIX));
        assert_eq!(code.len(), 6);
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        let offer = request.open(&text).unwrap();
        assert_eq!(offer.code(), code);
        assert_eq!(offer.keyring().current().card(), ring.current().card());
        assert!(!format!("{offer:?} {request:?}")
            .contains(&super::super::wire::b64u_encode(request.e_sk())));
    }

    #[test]
    fn another_request_or_a_flipped_bit_is_integrity() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let request = LinkRequest::new(&mut rng);
        let other = LinkRequest::new(&mut rng);
        let ring = keyring(&mut rng);
        let qr = LinkQr::parse(&request.qr()).unwrap();
        let (text, _) = seal_offer(&mut rng, &qr, &ring).unwrap();
        assert_eq!(other.open(&text).unwrap_err(), Error::Integrity);
        // Same key, other link id: the info and aad bind the id.
        let moved = LinkRequest::from_parts(other.link_id(), *request.e_sk());
        assert_eq!(moved.open(&text).unwrap_err(), Error::Integrity);
        let mut bytes = b64u_decode(&text[TEXT_PREFIX.len()..]).unwrap();
        for i in [0, 31, 32, bytes.len() - 1] {
            bytes[i] ^= 1;
            let flipped = to_text(TEXT_PREFIX, &bytes);
            assert_eq!(
                request.open(&flipped).unwrap_err(),
                Error::Integrity,
                "byte {i}"
            );
            bytes[i] ^= 1;
        }
    }

    #[test]
    fn bad_layouts() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let request = LinkRequest::new(&mut rng);
        assert!(matches!(
            request.open("csl2.AAAA"),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            request.open(&to_text(TEXT_PREFIX, &[7; 31])),
            Err(Error::Malformed(_))
        ));
        assert_eq!(
            request.open(&to_text(TEXT_PREFIX, &[7; 47])).unwrap_err(),
            Error::Integrity
        );
        assert!(matches!(
            LinkQr::parse("chatseal:lnk:AAAA"),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            LinkQr::parse(&format!(
                "{QR_PREFIX}{}",
                super::super::wire::b64u_encode(&[1; 47])
            )),
            Err(Error::Malformed(_))
        ));
        let mut low = [0u8; 48];
        low[16] = 1; // e_pk = 1, a point of small order
        assert!(matches!(
            LinkQr::parse(&format!(
                "{QR_PREFIX}{}",
                super::super::wire::b64u_encode(&low)
            )),
            Err(Error::Malformed(_))
        ));
        // A pasted QR with a newline still reads.
        assert!(LinkQr::parse(&format!(" {}\n", request.qr())).is_ok());
    }
}
