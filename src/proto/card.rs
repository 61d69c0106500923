//! §2 Card: the public identity document, signed by its own key.

use std::fmt;

use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest as _, Sha256};

use super::keys::{validate_identity, IdentityKeys};
use super::wire::{from_text, put_vec16, to_text, Reader};
use super::Error;

const MAGIC: &[u8; 4] = b"CSC1";
const SIG_LABEL: &[u8] = b"chatseal/v1/card\x00";
/// The text prefix of a card.
pub const TEXT_PREFIX: &str = "csc1.";

/// A card id: the first 16 bytes of SHA-256 over the card's signed part.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CardId(pub [u8; 16]);

impl CardId {
    /// Parses 32 lowercase or uppercase hex digits.
    pub fn from_hex(text: &str) -> Result<Self, Error> {
        let mut out = [0u8; 16];
        hex::decode_to_slice(text, &mut out).map_err(|_| Error::Malformed("card id"))?;
        Ok(CardId(out))
    }
}

impl fmt::Display for CardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for CardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardId({self})")
    }
}

/// A verified card. The only ways to get one are [`Card::create`] (from the secret
/// keys) and [`Card::decode`]/[`Card::parse`] (which check every rule of §2), so every
/// `Card` value is well-formed and carries a valid self-signature.
#[derive(Clone, PartialEq, Eq)]
pub struct Card {
    identity: String,
    created_at: u64,
    sign_pk: VerifyingKey,
    enc_pk: [u8; 32],
    prev_card_id: Option<CardId>,
    id: CardId,
    /// `card_tbs || card_sig`.
    bytes: Vec<u8>,
}

impl Card {
    /// Makes and signs the card of `keys` for `identity`, created at `created_at` (unix
    /// seconds), replacing `prev_card_id` when this is a rotation.
    pub fn create(
        keys: &IdentityKeys,
        identity: &str,
        created_at: u64,
        prev_card_id: Option<CardId>,
    ) -> Result<Card, Error> {
        validate_identity(identity)?;
        let mut bytes = Vec::with_capacity(4 + 2 + identity.len() + 8 + 64 + 17 + 64);
        bytes.extend_from_slice(MAGIC);
        put_vec16(&mut bytes, identity.as_bytes(), "identity")?;
        bytes.extend_from_slice(&created_at.to_be_bytes());
        bytes.extend_from_slice(&keys.sign_pk());
        bytes.extend_from_slice(&keys.enc_pk());
        match prev_card_id {
            None => bytes.push(0),
            Some(prev) => {
                bytes.push(1);
                bytes.extend_from_slice(&prev.0);
            }
        }
        let sig = keys.sign(&[SIG_LABEL, &bytes].concat());
        let id = card_id(&bytes);
        bytes.extend_from_slice(&sig);
        Ok(Card {
            identity: identity.to_owned(),
            created_at,
            sign_pk: keys.verifying_key(),
            enc_pk: keys.enc_pk(),
            prev_card_id,
            id,
            bytes,
        })
    }

    /// Decodes and verifies a card's bytes (`card_tbs || card_sig`).
    ///
    /// Rejects, as `Malformed`: a bad magic, an identity that breaks §1, a `prev_flag`
    /// other than 0 or 1, truncation or trailing bytes, a low-order `enc_pk`; and as
    /// `BadSignature`: a signature (or signing key) that fails `verify_strict`.
    pub fn decode(bytes: &[u8]) -> Result<Card, Error> {
        let mut r = Reader::new(bytes, "card");
        r.magic(MAGIC)?;
        let identity = std::str::from_utf8(r.vec16()?)
            .ok()
            .filter(|id| validate_identity(id).is_ok())
            .ok_or(Error::Malformed("card: invalid identity"))?;
        let created_at = r.u64()?;
        let sign_pk: [u8; 32] = r.array()?;
        let enc_pk: [u8; 32] = r.array()?;
        let prev_card_id = match r.u8()? {
            0 => None,
            1 => Some(CardId(r.array()?)),
            _ => return Err(Error::Malformed("card: prev_flag is not 0 or 1")),
        };
        let tbs_len = bytes.len().saturating_sub(r.remaining());
        let sig: [u8; 64] = r.array()?;
        r.finish()?;
        let tbs = bytes.get(..tbs_len).ok_or(Error::Malformed("card"))?;

        let sign_pk = VerifyingKey::from_bytes(&sign_pk).map_err(|_| Error::BadSignature)?;
        sign_pk
            .verify_strict(&[SIG_LABEL, tbs].concat(), &Signature::from_bytes(&sig))
            .map_err(|_| Error::BadSignature)?;
        if is_low_order(&enc_pk) {
            return Err(Error::Malformed("card: enc_pk is a low-order point"));
        }
        Ok(Card {
            identity: identity.to_owned(),
            created_at,
            sign_pk,
            enc_pk,
            prev_card_id,
            id: card_id(tbs),
            bytes: bytes.to_vec(),
        })
    }

    /// Parses the text form `csc1.<b64u>` and verifies it as [`Card::decode`] does.
    pub fn parse(text: &str) -> Result<Card, Error> {
        Card::decode(&from_text(text, TEXT_PREFIX, "card: not csc1. text")?)
    }

    /// The encoded card, `card_tbs || card_sig`.
    pub fn to_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The text form, `csc1.<b64u>`.
    pub fn to_text(&self) -> String {
        to_text(TEXT_PREFIX, &self.bytes)
    }

    /// The card id, `SHA-256(card_tbs)[0..16]`.
    pub fn id(&self) -> CardId {
        self.id
    }

    /// The identity the card belongs to.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// When the card was made, in unix seconds (the creator's clock).
    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// The Ed25519 public key.
    pub fn sign_pk(&self) -> [u8; 32] {
        self.sign_pk.to_bytes()
    }

    pub(crate) fn verifying_key(&self) -> &VerifyingKey {
        &self.sign_pk
    }

    /// The X25519 public key.
    pub fn enc_pk(&self) -> [u8; 32] {
        self.enc_pk
    }

    /// The card this one replaces, when it is a rotation.
    pub fn prev_card_id(&self) -> Option<CardId> {
        self.prev_card_id
    }

    /// Whether `keys` are the secret keys of this card.
    pub fn matches(&self, keys: &IdentityKeys) -> bool {
        keys.sign_pk() == self.sign_pk() && keys.enc_pk() == self.enc_pk
    }
}

impl fmt::Debug for Card {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Card")
            .field("id", &self.id)
            .field("identity", &self.identity)
            .field("created_at", &self.created_at)
            .field("prev_card_id", &self.prev_card_id)
            .finish_non_exhaustive()
    }
}

fn card_id(tbs: &[u8]) -> CardId {
    let digest = Sha256::digest(tbs);
    let mut id = [0u8; 16];
    id.copy_from_slice(digest.get(..16).unwrap_or(&[0; 16]));
    CardId(id)
}

/// §2: a low-order point is one with which X25519 gives the all-zero output. The
/// scalar is clamped (a multiple of the cofactor 8), so that output is zero exactly for
/// the points of small order, on the curve and on its twist.
fn is_low_order(enc_pk: &[u8; 32]) -> bool {
    x25519_dalek::x25519([0x5a; 32], *enc_pk) == [0u8; 32]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keys(n: u8) -> IdentityKeys {
        IdentityKeys::from_secrets(&[n; 32], &[n.wrapping_add(100); 32])
    }

    #[test]
    fn create_then_decode() {
        let k = keys(1);
        let card = Card::create(&k, "alice@clinic-a", 1_700_000_000, None).unwrap();
        let back = Card::parse(&card.to_text()).unwrap();
        assert_eq!(back, card);
        assert!(back.matches(&k));
        assert!(!back.matches(&keys(2)));
        let next =
            Card::create(&keys(2), "alice@clinic-a", 1_700_000_100, Some(card.id())).unwrap();
        assert_eq!(
            Card::decode(next.to_bytes()).unwrap().prev_card_id(),
            Some(card.id())
        );
    }

    #[test]
    fn create_rejects_bad_identities() {
        assert!(matches!(
            Card::create(&keys(1), "", 0, None),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn card_ids_round_trip_through_hex() {
        let id = CardId([0xab; 16]);
        assert_eq!(id.to_string(), "ab".repeat(16));
        assert_eq!(CardId::from_hex(&id.to_string()), Ok(id));
        assert!(CardId::from_hex("ab").is_err());
        assert!(CardId::from_hex(&"zz".repeat(16)).is_err());
        assert!(CardId::from_hex(&"é".repeat(16)).is_err());
    }

    #[test]
    fn debug_is_public_only() {
        let card = Card::create(&keys(3), "bob", 5, None).unwrap();
        assert_eq!(
            format!("{card:?}"),
            format!(
                "Card {{ id: CardId({}), identity: \"bob\", created_at: 5, prev_card_id: None, .. }}",
                card.id()
            )
        );
    }

    #[test]
    fn low_order_points_are_detected() {
        assert!(is_low_order(&[0; 32]));
        let mut one = [0u8; 32];
        one[0] = 1;
        assert!(is_low_order(&one));
        assert!(!is_low_order(&keys(1).enc_pk()));
    }

    proptest! {
        #[test]
        fn cards_round_trip(seed in any::<[u8; 32]>(), enc in any::<[u8; 32]>(),
                            identity in "[^\\x00-\\x1f\\x7f]{1,64}", created_at in any::<u64>(),
                            prev in proptest::option::of(any::<[u8; 16]>())) {
            let k = IdentityKeys::from_secrets(&seed, &enc);
            let card = Card::create(&k, &identity, created_at, prev.map(CardId))?;
            let back = Card::parse(&card.to_text())?;
            prop_assert_eq!(back.identity(), identity.as_str());
            prop_assert_eq!(back.created_at(), created_at);
            prop_assert_eq!(back.prev_card_id(), prev.map(CardId));
            prop_assert_eq!(back, card);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Card::decode(&bytes);
            let mut framed = b"CSC1".to_vec();
            framed.extend_from_slice(&bytes);
            let _ = Card::decode(&framed);
        }
    }
}
