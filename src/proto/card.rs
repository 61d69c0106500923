//! §2 Card: the public identity document, signed by its own key and, when it rotates
//! a key, by the key it replaces.

use std::fmt;

use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest as _, Sha256};

use super::keys::{validate_identity, IdentityKeys};
use super::wire::{from_text, put_vec16, to_text, Reader};
use super::Error;

const MAGIC: &[u8; 4] = b"CSC2";
const SIG_LABEL: &[u8] = b"chatseal/v2/card\x00";
const ROTATE_LABEL: &[u8] = b"chatseal/v2/rotate\x00";
const SIG_LEN: usize = 64;
/// The text prefix of a card.
pub const TEXT_PREFIX: &str = "csc2.";

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

/// What making a rotated card needs (§2): the id of the card it replaces and that
/// card's secret keys, whose signing key makes `rotation_sig`. Only the holder of the
/// previous secret key can rotate.
#[derive(Clone, Copy)]
pub struct Rotation<'a> {
    /// The card being replaced (`prev_card_id`).
    pub prev_card_id: CardId,
    /// The secret keys of that card; only its signing key is used.
    pub prev_keys: &'a IdentityKeys,
}

impl fmt::Debug for Rotation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rotation")
            .field("prev_card_id", &self.prev_card_id)
            .finish_non_exhaustive()
    }
}

/// A verified card. The only ways to get one are [`Card::create`] (from the secret
/// keys) and [`Card::decode`]/[`Card::parse`] (which check every rule of §2), so every
/// `Card` value is well-formed and carries a valid self-signature. Whether a rotated
/// card links to its predecessor is a separate check, [`Card::links_to`], since it
/// needs the predecessor.
#[derive(Clone, PartialEq, Eq)]
pub struct Card {
    identity: String,
    created_at: u64,
    sign_pk: VerifyingKey,
    enc_pk: [u8; 32],
    prev_card_id: Option<CardId>,
    id: CardId,
    /// The length of `card_tbs`, a prefix of `bytes`.
    tbs_len: usize,
    /// `card_tbs || rotation_sig || card_sig` (`rotation_sig` is empty when
    /// `prev_card_id` is `None`).
    bytes: Vec<u8>,
}

impl Card {
    /// Makes and signs the card of `keys` for `identity`, created at `created_at` (unix
    /// seconds). A rotation names the card it replaces and is also signed by that card's
    /// key (`rotation_sig`); `None` starts a new chain.
    pub fn create(
        keys: &IdentityKeys,
        identity: &str,
        created_at: u64,
        rotation: Option<Rotation<'_>>,
    ) -> Result<Card, Error> {
        validate_identity(identity)?;
        let mut bytes = Vec::with_capacity(4 + 2 + identity.len() + 8 + 64 + 17 + 128);
        bytes.extend_from_slice(MAGIC);
        put_vec16(&mut bytes, identity.as_bytes(), "identity")?;
        bytes.extend_from_slice(&created_at.to_be_bytes());
        bytes.extend_from_slice(&keys.sign_pk());
        bytes.extend_from_slice(&keys.enc_pk());
        match &rotation {
            None => bytes.push(0),
            Some(rotation) => {
                bytes.push(1);
                bytes.extend_from_slice(&rotation.prev_card_id.0);
            }
        }
        let tbs_len = bytes.len();
        let id = card_id(&bytes);
        if let Some(rotation) = &rotation {
            let rotation_sig = rotation.prev_keys.sign(&[ROTATE_LABEL, &bytes].concat());
            bytes.extend_from_slice(&rotation_sig);
        }
        let card_sig = keys.sign(&[SIG_LABEL, &bytes].concat());
        bytes.extend_from_slice(&card_sig);
        Ok(Card {
            identity: identity.to_owned(),
            created_at,
            sign_pk: keys.verifying_key(),
            enc_pk: keys.enc_pk(),
            prev_card_id: rotation.map(|r| r.prev_card_id),
            id,
            tbs_len,
            bytes,
        })
    }

    /// Decodes and verifies a card's bytes (`card_tbs || rotation_sig || card_sig`).
    ///
    /// Rejects, in §2's order: a bad magic, an identity that breaks §1, a `prev_flag`
    /// other than 0 or 1, truncation or trailing bytes (all `Malformed`); a `card_sig`
    /// (or signing key) that fails `verify_strict` (`BadSignature`); a low-order
    /// `enc_pk` (`Malformed`). `rotation_sig` is not checked here: see
    /// [`Card::links_to`].
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
        if prev_card_id.is_some() {
            r.bytes(SIG_LEN)?;
        }
        let signed_len = bytes.len().saturating_sub(r.remaining());
        let card_sig: [u8; 64] = r.array()?;
        r.finish()?;
        let tbs = bytes.get(..tbs_len).ok_or(Error::Malformed("card"))?;
        let signed = bytes.get(..signed_len).ok_or(Error::Malformed("card"))?;

        let sign_pk = VerifyingKey::from_bytes(&sign_pk).map_err(|_| Error::BadSignature)?;
        sign_pk
            .verify_strict(
                &[SIG_LABEL, signed].concat(),
                &Signature::from_bytes(&card_sig),
            )
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
            tbs_len,
            bytes: bytes.to_vec(),
        })
    }

    /// Parses the text form `csc2.<b64u>` and verifies it as [`Card::decode`] does.
    pub fn parse(text: &str) -> Result<Card, Error> {
        Card::decode(&from_text(text, TEXT_PREFIX, "card: not csc2. text")?)
    }

    /// §2 Rotation: whether this card links to `prev`, checked in §2's order:
    /// `prev_card_id` is `prev`'s id, the identity is the same, `created_at` is not
    /// older, and `rotation_sig` passes `verify_strict` under `prev`'s `sign_pk`. A failed
    /// signature is `BadSignature`; anything else (a card that starts a new chain
    /// included) is `Malformed`.
    pub fn links_to(&self, prev: &Card) -> Result<(), Error> {
        if self.prev_card_id != Some(prev.id) {
            return Err(Error::Malformed(
                "card: prev_card_id does not name the previous card",
            ));
        }
        if self.identity != prev.identity {
            return Err(Error::Malformed(
                "card: the previous card has another identity",
            ));
        }
        if self.created_at < prev.created_at {
            return Err(Error::Malformed("card: older than the previous card"));
        }
        let tbs = self
            .bytes
            .get(..self.tbs_len)
            .ok_or(Error::Malformed("card"))?;
        let rotation_sig: [u8; 64] = self
            .bytes
            .get(self.tbs_len..self.tbs_len.saturating_add(SIG_LEN))
            .and_then(|s| s.try_into().ok())
            .ok_or(Error::Malformed("card"))?;
        prev.sign_pk
            .verify_strict(
                &[ROTATE_LABEL, tbs].concat(),
                &Signature::from_bytes(&rotation_sig),
            )
            .map_err(|_| Error::BadSignature)
    }

    /// The encoded card, `card_tbs || rotation_sig || card_sig`.
    pub fn to_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The text form, `csc2.<b64u>`.
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
pub(crate) fn is_low_order(enc_pk: &[u8; 32]) -> bool {
    x25519_dalek::x25519([0x5a; 32], *enc_pk) == [0u8; 32]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keys(n: u8) -> IdentityKeys {
        IdentityKeys::from_secrets(&[n; 32], &[n.wrapping_add(100); 32])
    }

    fn rotation<'a>(prev: &Card, prev_keys: &'a IdentityKeys) -> Option<Rotation<'a>> {
        Some(Rotation {
            prev_card_id: prev.id(),
            prev_keys,
        })
    }

    #[test]
    fn a_first_card_starts_a_chain() {
        let k = keys(1);
        let card = Card::create(&k, "alice@clinic-a", 1_700_000_000, None).unwrap();
        assert!(card.to_text().starts_with("csc2."));
        assert_eq!(&card.to_bytes()[..4], b"CSC2");
        let back = Card::parse(&card.to_text()).unwrap();
        assert_eq!(back, card);
        assert_eq!(back.prev_card_id(), None);
        assert!(back.matches(&k));
        assert!(!back.matches(&keys(2)));
        // card_tbs (4 + 2 + 14 + 8 + 32 + 32 + 1) || card_sig: no rotation_sig.
        assert_eq!(card.to_bytes().len(), 93 + 64);
        assert_eq!(card.id(), card_id(&card.to_bytes()[..93]));
        // A first card links to nothing.
        assert!(matches!(card.links_to(&card), Err(Error::Malformed(_))));
    }

    #[test]
    fn a_rotation_links_to_the_card_it_replaces() {
        let (k1, k2, k3) = (keys(1), keys(2), keys(3));
        let c1 = Card::create(&k1, "alice@clinic-a", 100, None).unwrap();
        let c2 = Card::create(&k2, "alice@clinic-a", 200, rotation(&c1, &k1)).unwrap();
        // card_tbs (93 + 16) || rotation_sig || card_sig.
        assert_eq!(c2.to_bytes().len(), 109 + 64 + 64);
        assert_eq!(c2.id(), card_id(&c2.to_bytes()[..109]));
        let back = Card::parse(&c2.to_text()).unwrap();
        assert_eq!(back, c2);
        assert_eq!(back.prev_card_id(), Some(c1.id()));
        assert_eq!(back.links_to(&c1), Ok(()));

        // A rotation of a rotation; the same second is allowed.
        let c3 = Card::create(&k3, "alice@clinic-a", 200, rotation(&c2, &k2)).unwrap();
        let back = Card::parse(&c3.to_text()).unwrap();
        assert_eq!(back.links_to(&c2), Ok(()));
        assert!(matches!(back.links_to(&c1), Err(Error::Malformed(_))));
    }

    #[test]
    fn links_fail_in_the_order_of_section_2() {
        let (k1, k2) = (keys(1), keys(2));
        let c1 = Card::create(&k1, "alice", 100, None).unwrap();
        let other = Card::create(&keys(4), "alice", 100, None).unwrap();

        // Signed by the new key only: the directory or a token holder cannot rotate.
        let forged = Card::create(&k2, "alice", 200, rotation(&c1, &k2)).unwrap();
        let forged = Card::decode(forged.to_bytes()).unwrap();
        assert_eq!(forged.links_to(&c1), Err(Error::BadSignature));

        // A wrong prev_card_id.
        let c2 = Card::create(&k2, "alice", 200, rotation(&c1, &k1)).unwrap();
        assert_eq!(
            c2.links_to(&other),
            Err(Error::Malformed(
                "card: prev_card_id does not name the previous card"
            ))
        );

        // Another identity (the previous key signed it, so only the identity rule fails).
        let bob = Card::create(&k2, "bob", 200, rotation(&c1, &k1)).unwrap();
        assert_eq!(
            bob.links_to(&c1),
            Err(Error::Malformed(
                "card: the previous card has another identity"
            ))
        );

        // Older than the card it replaces.
        let old = Card::create(&k2, "alice", 99, rotation(&c1, &k1)).unwrap();
        assert_eq!(
            old.links_to(&c1),
            Err(Error::Malformed("card: older than the previous card"))
        );

        // The first rule that fails names the error: another identity, older, and signed
        // by the new key gives the identity's Malformed, not BadSignature.
        let all = Card::create(&k2, "bob", 1, rotation(&c1, &k2)).unwrap();
        assert_eq!(
            all.links_to(&c1),
            Err(Error::Malformed(
                "card: the previous card has another identity"
            ))
        );
    }

    #[test]
    fn card_sig_covers_rotation_sig() {
        let (k1, k2) = (keys(1), keys(2));
        let c1 = Card::create(&k1, "alice", 100, None).unwrap();
        let c2 = Card::create(&k2, "alice", 200, rotation(&c1, &k1)).unwrap();
        let mut bytes = c2.to_bytes().to_vec();
        bytes[100] ^= 1; // the first byte of rotation_sig
        assert_eq!(Card::decode(&bytes), Err(Error::BadSignature));
        // Truncated: a rotated card without its rotation_sig.
        let mut short = c2.to_bytes()[..100].to_vec();
        short.extend_from_slice(&c2.to_bytes()[164..]);
        assert!(matches!(Card::decode(&short), Err(Error::Malformed(_))));
    }

    #[test]
    fn decode_rejects_in_order() {
        let c = Card::create(&keys(1), "alice", 100, None).unwrap();
        // Version 1 is never read.
        let mut v1 = c.to_bytes().to_vec();
        v1[3] = b'1';
        assert_eq!(Card::decode(&v1), Err(Error::Malformed("card")));
        let v1_text = format!("csc1.{}", &c.to_text()["csc2.".len()..]);
        assert!(matches!(Card::parse(&v1_text), Err(Error::Malformed(_))));
        // A prev_flag of 2, with a bad signature too: Malformed wins.
        let mut flag = c.to_bytes().to_vec();
        flag[83] = 2;
        assert_eq!(
            Card::decode(&flag),
            Err(Error::Malformed("card: prev_flag is not 0 or 1"))
        );
        // Trailing bytes, with the signature then broken too: Malformed.
        let mut long = c.to_bytes().to_vec();
        long.push(0);
        assert_eq!(Card::decode(&long), Err(Error::Malformed("card")));
        // A bad signature.
        let mut sig = c.to_bytes().to_vec();
        *sig.last_mut().unwrap() ^= 1;
        assert_eq!(Card::decode(&sig), Err(Error::BadSignature));
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
        let k = keys(3);
        let r = rotation(&card, &k).unwrap();
        let shown = format!("{r:?}");
        assert_eq!(
            shown,
            format!("Rotation {{ prev_card_id: CardId({}), .. }}", card.id())
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
                            prev_seed in any::<[u8; 32]>(),
                            identity in "[^\\x00-\\x1f\\x7f]{1,64}", created_at in any::<u64>(),
                            prev in proptest::option::of(any::<[u8; 16]>())) {
            let k = IdentityKeys::from_secrets(&seed, &enc);
            let prev_keys = IdentityKeys::from_secrets(&prev_seed, &enc);
            let rotation = prev.map(|id| Rotation { prev_card_id: CardId(id), prev_keys: &prev_keys });
            let card = Card::create(&k, &identity, created_at, rotation)?;
            let back = Card::parse(&card.to_text())?;
            prop_assert_eq!(back.identity(), identity.as_str());
            prop_assert_eq!(back.created_at(), created_at);
            prop_assert_eq!(back.prev_card_id(), prev.map(CardId));
            prop_assert_eq!(back, card);
        }

        #[test]
        fn a_rotation_links_only_when_the_previous_key_signed_it(
            seeds in any::<[[u8; 32]; 3]>(), created_at in 0..u64::MAX / 2, later in 0..1000u64,
        ) {
            let [prev_seed, next_seed, other_seed] = seeds;
            prop_assume!(prev_seed != other_seed);
            let prev_keys = IdentityKeys::from_secrets(&prev_seed, &[1; 32]);
            let next_keys = IdentityKeys::from_secrets(&next_seed, &[2; 32]);
            let other = IdentityKeys::from_secrets(&other_seed, &[3; 32]);
            let prev = Card::create(&prev_keys, "alice", created_at, None)?;
            for (signer, linked) in [(&prev_keys, true), (&other, false)] {
                let rotation = Rotation { prev_card_id: prev.id(), prev_keys: signer };
                let card = Card::create(&next_keys, "alice", created_at + later, Some(rotation))?;
                let card = Card::parse(&card.to_text())?;
                let expected = if linked { Ok(()) } else { Err(Error::BadSignature) };
                prop_assert_eq!(card.links_to(&prev), expected);
            }
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Card::decode(&bytes);
            let mut framed = b"CSC2".to_vec();
            framed.extend_from_slice(&bytes);
            if let Ok(card) = Card::decode(&framed) {
                let _ = card.links_to(&card);
            }
        }
    }
}
