//! §11 Pairwise messages: a message to exactly one other card, keyed by the static
//! X25519 secret of the two cards and authenticated by the AEAD alone (no signature).
//!
//! The pair's HKDF pseudo-random key ([`PairKey`]) is derived once per pair of cards and
//! cached by the caller; each message then costs one HKDF-Expand and one AEAD.
//! Decrypting follows §11's order: [`Pairwise::parse`] (step 1), [`Pairwise::side`]
//! (step 2), resolving the other card (step 3, the caller's or [`decrypt`]'s), then
//! [`Pairwise::open`] (steps 4–7). No plaintext is returned before step 7 succeeds.

use std::borrow::Borrow;
use std::fmt;

use chacha20poly1305::aead::{AeadInPlace as _, KeyInit as _};
use chacha20poly1305::{ChaCha20Poly1305, Nonce, Tag};
use hkdf::Hkdf;
use rand_core::CryptoRngCore;
use sha2::Sha256;
use zeroize::{Zeroize as _, Zeroizing};

use super::card::{Card, CardId};
use super::envelope::{Content, ContentType, Message, MAX_PAD, PAD_BLOCK};
use super::keyring::{Keyring, KeyringEntry};
use super::keys::IdentityKeys;
use super::wire::{from_text, to_text, Reader};
use super::Error;

const MAGIC: &[u8; 4] = b"CSP2";
const SALT: &[u8] = b"chatseal/v2/pair";
/// The text prefix of a pairwise message.
pub const TEXT_PREFIX: &str = "csp2.";
/// `"CSP2" || sender_card_id || recipient_card_id || msg_id`.
pub const HEADER_LEN: usize = 4 + 16 + 16 + 16;
const TAG_LEN: usize = 16;
const ZERO_NONCE: [u8; 12] = [0; 12];

/// The cached secret of a pair of cards: `prk = HKDF-Extract(salt = "chatseal/v2/pair",
/// ikm = X25519(own enc_sk, other enc_pk))`. The same on both sides. Boxed, zeroized on
/// drop, never printed.
pub struct PairKey(Box<[u8; 32]>);

impl PairKey {
    /// Derives the pair's key from one side's secret keys and the other side's card
    /// (the sender's own card, for a note to oneself). An all-zero `pair_secret` (a
    /// low-order `enc_pk`) is `Integrity`, as §11 step 4 says.
    pub fn derive(own: &IdentityKeys, other: &Card) -> Result<PairKey, Error> {
        let secret = own.x25519(&other.enc_pk());
        // Branch-free over the bytes: which byte was non-zero is not observable.
        if secret.iter().fold(0u8, |acc, b| acc | b) == 0 {
            return Err(Error::Integrity);
        }
        let (prk, _) = Hkdf::<Sha256>::extract(Some(SALT), secret.as_ref());
        let mut key = Box::new([0u8; 32]);
        key.copy_from_slice(&prk);
        let mut prk = prk;
        prk.as_mut_slice().zeroize();
        Ok(PairKey(key))
    }

    /// `HKDF-Expand(prk, info = pheader, 32)`: the key of one message.
    fn message_key(&self, pheader: &[u8]) -> Result<Zeroizing<[u8; 32]>, Error> {
        let hk = Hkdf::<Sha256>::from_prk(self.0.as_ref()).map_err(|_| Error::Integrity)?;
        let mut okm = Zeroizing::new([0u8; 32]);
        hk.expand(pheader, okm.as_mut())
            .map_err(|_| Error::Integrity)?;
        Ok(okm)
    }
}

impl Drop for PairKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl zeroize::ZeroizeOnDrop for PairKey {}

impl fmt::Debug for PairKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PairKey").finish_non_exhaustive()
    }
}

/// The cleartext header of a pairwise message: the AEAD's associated data and the
/// HKDF info of its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairHeader {
    /// The sender's card.
    pub sender_card_id: CardId,
    /// The recipient's card (the sender's own, for a note to oneself).
    pub recipient_card_id: CardId,
    /// Random per message.
    pub msg_id: [u8; 16],
}

impl PairHeader {
    /// `"CSP2" || sender_card_id || recipient_card_id || msg_id`.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        let (magic, rest) = out.split_at_mut(4);
        magic.copy_from_slice(MAGIC);
        let (sender, rest) = rest.split_at_mut(16);
        sender.copy_from_slice(&self.sender_card_id.0);
        let (recipient, msg_id) = rest.split_at_mut(16);
        recipient.copy_from_slice(&self.recipient_card_id.0);
        msg_id.copy_from_slice(&self.msg_id);
        out
    }
}

/// Which side of the pair the reader is (§11 step 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The reader holds the recipient card: the other card is the sender's. A note to
    /// oneself is read on this side.
    Recipient,
    /// The reader holds the sender card and reads its own history: the other card is
    /// the recipient's.
    Sender,
}

/// Encrypts `content` from `sender` to `recipient` with a fresh `msg_id` drawn from
/// `rng`, deriving the pair's key on the way (use [`seal_with`] to reuse a cached one).
pub fn seal(
    rng: &mut impl CryptoRngCore,
    sender: &KeyringEntry,
    recipient: &Card,
    content: &Content<'_>,
) -> Result<String, Error> {
    let pair_key = PairKey::derive(sender.keys(), recipient)
        .map_err(|_| Error::InvalidArgument("recipient enc_pk is of low order"))?;
    let mut msg_id = [0u8; 16];
    rng.fill_bytes(&mut msg_id);
    seal_with(
        &pair_key,
        sender.card().id(),
        recipient.id(),
        msg_id,
        content,
    )
}

/// [`seal`] with the pair's cached key and an explicit `msg_id` (each `msg_id` must be
/// used once: it is what makes every message key single-use). Deterministic.
pub fn seal_with(
    pair_key: &PairKey,
    sender_card_id: CardId,
    recipient_card_id: CardId,
    msg_id: [u8; 16],
    content: &Content<'_>,
) -> Result<String, Error> {
    let mut payload = Zeroizing::new(content.encode_fields()?);
    let pad = (PAD_BLOCK - payload.len() % PAD_BLOCK) % PAD_BLOCK;
    let padded = payload.len().saturating_add(pad);
    payload.resize(padded, 0);
    let header = PairHeader {
        sender_card_id,
        recipient_card_id,
        msg_id,
    }
    .encode();
    seal_payload(pair_key, header, payload)
}

/// `pheader || ChaCha20Poly1305-Seal(key, zero nonce, aad = pheader, payload)` in text
/// form, `payload` taken as given. The last step of [`seal_with`]; public so that test
/// vectors can build deliberately invalid payloads with the same code.
#[doc(hidden)]
pub fn seal_payload(
    pair_key: &PairKey,
    header: [u8; HEADER_LEN],
    mut payload: Zeroizing<Vec<u8>>,
) -> Result<String, Error> {
    let key = pair_key.message_key(&header)?;
    let tag = ChaCha20Poly1305::new(key.as_ref().into())
        .encrypt_in_place_detached(&Nonce::from(ZERO_NONCE), &header, payload.as_mut_slice())
        .map_err(|_| Error::InvalidArgument("payload too long"))?;
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len() + TAG_LEN);
    out.extend_from_slice(&header);
    out.extend_from_slice(&payload);
    out.extend_from_slice(&tag);
    Ok(to_text(TEXT_PREFIX, &out))
}

/// A parsed pairwise message (step 1 done): its header readable, its body sealed.
#[derive(Clone)]
pub struct Pairwise {
    header: PairHeader,
    bytes: Vec<u8>,
}

impl Pairwise {
    /// Step 1: parses the `csp2.` text and the header (`Malformed`).
    pub fn parse(text: &str) -> Result<Pairwise, Error> {
        let bytes = from_text(text, TEXT_PREFIX, "pairwise message: not csp2. text")?;
        let mut r = Reader::new(&bytes, "pairwise message");
        r.magic(MAGIC)?;
        let header = PairHeader {
            sender_card_id: CardId(r.array()?),
            recipient_card_id: CardId(r.array()?),
            msg_id: r.array()?,
        };
        Ok(Pairwise { header, bytes })
    }

    /// The header: sender card, recipient card, message id.
    pub fn header(&self) -> &PairHeader {
        &self.header
    }

    /// Step 2: the reader's side, its own key generation, and the id of the other card
    /// (to resolve, step 3). The recipient card is looked for first, so a note to
    /// oneself is read as its recipient. `NotARecipient` when neither card is local.
    pub fn side<'k>(
        &self,
        keyring: &'k Keyring,
    ) -> Result<(Side, &'k KeyringEntry, CardId), Error> {
        let h = &self.header;
        if let Some(own) = keyring.find(&h.recipient_card_id) {
            Ok((Side::Recipient, own, h.sender_card_id))
        } else if let Some(own) = keyring.find(&h.sender_card_id) {
            Ok((Side::Sender, own, h.recipient_card_id))
        } else {
            Err(Error::NotARecipient)
        }
    }

    /// Steps 4–7 with the pair's key (derived from the reader's `own` keys and the
    /// `other` card, or cached): opens the body (`Integrity`), parses the payload
    /// (`Malformed`), checks the sender card's identity against `from`, when the chat
    /// names one (`SenderMismatch`), and the context against `context`, when the caller
    /// expects one (`ContextMismatch`). `sender` is the sender's card: the other card on
    /// the recipient side, the reader's own on the sender side; a card whose id is not
    /// the header's sender card id is `UnknownSender`.
    pub fn open(
        &self,
        pair_key: &PairKey,
        sender: &Card,
        from: Option<&str>,
        context: Option<&str>,
    ) -> Result<Message, Error> {
        if sender.id() != self.header.sender_card_id {
            return Err(Error::UnknownSender);
        }
        let key = pair_key.message_key(self.bytes.get(..HEADER_LEN).ok_or(Error::Integrity)?)?;
        let mut buf = Zeroizing::new(self.bytes.clone());
        let tag_start = buf
            .len()
            .checked_sub(TAG_LEN)
            .filter(|&t| t >= HEADER_LEN)
            .ok_or(Error::Integrity)?;
        {
            let (aad, rest) = buf.split_at_mut(HEADER_LEN);
            let (payload, tag) = rest.split_at_mut(tag_start.saturating_sub(HEADER_LEN));
            ChaCha20Poly1305::new(key.as_ref().into())
                .decrypt_in_place_detached(
                    &Nonce::from(ZERO_NONCE),
                    aad,
                    payload,
                    Tag::from_slice(tag),
                )
                .map_err(|_| Error::Integrity)?;
        }
        let payload = buf.get(HEADER_LEN..tag_start).ok_or(Error::Integrity)?;
        let fields = Fields::parse(payload)?;
        if from.is_some_and(|from| from != sender.identity()) {
            return Err(Error::SenderMismatch);
        }
        if context.is_some_and(|expected| expected != fields.context) {
            return Err(Error::ContextMismatch);
        }
        Ok(Message {
            content_type: fields.content_type,
            data: fields.data.to_vec(),
            sender: sender.identity().to_owned(),
            sender_card_id: self.header.sender_card_id,
            sent_at: fields.sent_at,
            msg_id: self.header.msg_id,
            context: fields.context.to_owned(),
            head_epoch: fields.head_epoch,
            head_root: fields.head_root,
        })
    }
}

impl fmt::Debug for Pairwise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pairwise")
            .field("header", &self.header)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// §3's fields and pad, without a signature (step 5, `Malformed`).
struct Fields<'a> {
    content_type: ContentType,
    sent_at: u64,
    context: &'a str,
    head_epoch: u64,
    head_root: [u8; 32],
    data: &'a [u8],
}

impl<'a> Fields<'a> {
    fn parse(payload: &'a [u8]) -> Result<Fields<'a>, Error> {
        let mut r = Reader::new(payload, "pairwise payload");
        let content_type = ContentType::from_u8(r.u8()?)
            .ok_or(Error::Malformed("pairwise payload: unknown content type"))?;
        let sent_at = r.u64()?;
        let context = std::str::from_utf8(r.vec16()?)
            .map_err(|_| Error::Malformed("pairwise payload: context is not UTF-8"))?;
        let head_epoch = r.u64()?;
        let head_root = r.array()?;
        let data = r.vec32()?;
        let pad = r.rest();
        if pad.len() > MAX_PAD || pad.iter().any(|&b| b != 0) {
            return Err(Error::Malformed("pairwise payload: bad padding"));
        }
        Ok(Fields {
            content_type,
            sent_at,
            context,
            head_epoch,
            head_root,
            data,
        })
    }
}

/// The other card of step 3: the reader's own cards resolve locally, any other through
/// `resolve`; a card whose id is not the one asked for does not count.
fn resolve_card<C: Borrow<Card>>(
    id: &CardId,
    keyring: &Keyring,
    resolve: impl Fn(&CardId) -> Option<C>,
) -> Result<Card, Error> {
    if let Some(own) = keyring.find(id) {
        return Ok(own.card().clone());
    }
    resolve(id)
        .map(|c| c.borrow().clone())
        .filter(|c| c.id() == *id)
        .ok_or(Error::UnknownSender)
}

/// All of §11's decryption for a caller that resolves cards synchronously (and derives
/// the pair's key each time; the client caches it instead).
pub fn decrypt<C: Borrow<Card>>(
    text: &str,
    keyring: &Keyring,
    resolve: impl Fn(&CardId) -> Option<C>,
    from: Option<&str>,
    context: Option<&str>,
) -> Result<Message, Error> {
    let message = Pairwise::parse(text)?;
    let (side, own, other_id) = message.side(keyring)?;
    let other = resolve_card(&other_id, keyring, resolve)?;
    let pair_key = PairKey::derive(own.keys(), &other)?;
    let sender = match side {
        Side::Recipient => &other,
        Side::Sender => own.card(),
    };
    message.open(&pair_key, sender, from, context)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    fn entry(identity: &str) -> KeyringEntry {
        KeyringEntry::generate(&mut OsRng, identity, 1_767_225_600, None)
            .unwrap_or_else(|_| unreachable!("a valid identity"))
    }

    fn content<'a>(data: &'a [u8], context: &'a str) -> Content<'a> {
        Content {
            content_type: ContentType::Text,
            sent_at: 1_767_225_600_000,
            context,
            head_epoch: 7,
            head_root: [0xab; 32],
            data,
        }
    }

    fn copy(e: &KeyringEntry) -> KeyringEntry {
        let keys = IdentityKeys::from_secrets(&e.keys().sign_seed(), &e.keys().enc_sk());
        KeyringEntry::new(e.card().clone(), keys).unwrap_or_else(|_| unreachable!("its own keys"))
    }

    struct Pair {
        alice: KeyringEntry,
        bob: KeyringEntry,
        text: String,
    }

    fn pair() -> Result<Pair, Error> {
        let alice = entry("alice");
        let bob = entry("bob");
        let text = seal(&mut OsRng, &alice, bob.card(), &content(b"hi bob", "dm"))?;
        Ok(Pair { alice, bob, text })
    }

    fn read(
        text: &str,
        reader: &KeyringEntry,
        directory: &[&Card],
        from: Option<&str>,
        context: Option<&str>,
    ) -> Result<Message, Error> {
        let keyring = Keyring::new(copy(reader));
        decrypt(
            text,
            &keyring,
            |id: &CardId| {
                directory
                    .iter()
                    .find(|c| c.id() == *id)
                    .map(|c| (*c).clone())
            },
            from,
            context,
        )
    }

    fn hand_sealed(p: &Pair, payload: Vec<u8>) -> Result<String, Error> {
        let key = PairKey::derive(p.alice.keys(), p.bob.card())?;
        let header = PairHeader {
            sender_card_id: p.alice.card().id(),
            recipient_card_id: p.bob.card().id(),
            msg_id: [5; 16],
        };
        seal_payload(&key, header.encode(), Zeroizing::new(payload))
    }

    #[test]
    fn both_sides_read_it_and_the_key_is_the_same() -> Result<(), Error> {
        let p = pair()?;
        assert!(p.text.starts_with(TEXT_PREFIX));
        let got = read(
            &p.text,
            &p.bob,
            &[p.alice.card()],
            Some("alice"),
            Some("dm"),
        )?;
        assert_eq!(got.data, b"hi bob");
        assert_eq!(
            (got.sender.as_str(), got.sender_card_id),
            ("alice", p.alice.card().id())
        );
        assert_eq!((got.head_epoch, got.head_root), (7, [0xab; 32]));
        // The sender reads its own history: the other card is the recipient's.
        let own = read(
            &p.text,
            &p.alice,
            &[p.bob.card()],
            Some("alice"),
            Some("dm"),
        )?;
        assert_eq!(own, got);
        let ab = PairKey::derive(p.alice.keys(), p.bob.card())?;
        let ba = PairKey::derive(p.bob.keys(), p.alice.card())?;
        assert_eq!(*ab.0, *ba.0);
        // Payload padded to a multiple of 32: the body is pheader || 32k || tag.
        let raw = crate::proto::b64u_decode(&p.text[TEXT_PREFIX.len()..])?;
        assert_eq!((raw.len() - HEADER_LEN - TAG_LEN) % PAD_BLOCK, 0);
        Ok(())
    }

    #[test]
    fn a_note_to_oneself_is_read_as_its_recipient() -> Result<(), Error> {
        let alice = entry("alice");
        let text = seal(&mut OsRng, &alice, alice.card(), &content(b"me", "c"))?;
        let message = Pairwise::parse(&text)?;
        let keyring = Keyring::new(copy(&alice));
        assert_eq!(message.side(&keyring)?.0, Side::Recipient);
        // Own cards resolve locally: the directory is not asked.
        let got = read(&text, &alice, &[], Some("alice"), Some("c"))?;
        assert_eq!(got.data, b"me");
        Ok(())
    }

    #[test]
    fn step_1_text_and_header_are_malformed() -> Result<(), Error> {
        let p = pair()?;
        let dir = [p.alice.card()];
        for bad in [
            p.text.replacen("csp2.", "csm2.", 1),
            p.text.replacen("csp2.", "csp1.", 1),
            format!("{}=", p.text),
            p.text[..TEXT_PREFIX.len() + 40].to_owned(),
        ] {
            assert!(matches!(
                read(&bad, &p.bob, &dir, None, None),
                Err(Error::Malformed(_))
            ));
        }
        let mut raw = crate::proto::b64u_decode(&p.text[TEXT_PREFIX.len()..])?;
        raw[3] = b'1';
        let v1 = to_text(TEXT_PREFIX, &raw);
        assert_eq!(
            read(&v1, &p.bob, &dir, None, None).map(|_| ()),
            Err(Error::Malformed("pairwise message"))
        );
        Ok(())
    }

    #[test]
    fn step_2_neither_card_is_local() -> Result<(), Error> {
        let p = pair()?;
        let carol = entry("carol");
        let dir = [p.alice.card(), p.bob.card()];
        assert_eq!(
            read(&p.text, &carol, &dir, None, None),
            Err(Error::NotARecipient)
        );
        Ok(())
    }

    #[test]
    fn step_3_the_other_card_must_resolve() -> Result<(), Error> {
        let p = pair()?;
        assert_eq!(
            read(&p.text, &p.bob, &[], None, None),
            Err(Error::UnknownSender)
        );
        // The sender side needs the recipient's card.
        assert_eq!(
            read(&p.text, &p.alice, &[], None, None),
            Err(Error::UnknownSender)
        );
        Ok(())
    }

    #[test]
    fn step_4_the_body_must_open() -> Result<(), Error> {
        let p = pair()?;
        let dir = [p.alice.card()];
        let mut raw = crate::proto::b64u_decode(&p.text[TEXT_PREFIX.len()..])?;
        let last = raw.len() - 20;
        raw[last] ^= 1;
        let flipped = to_text(TEXT_PREFIX, &raw);
        assert_eq!(
            read(&flipped, &p.bob, &dir, None, None),
            Err(Error::Integrity)
        );
        // The header is the HKDF info and the aad: changing the msg_id breaks it.
        let mut raw = crate::proto::b64u_decode(&p.text[TEXT_PREFIX.len()..])?;
        raw[HEADER_LEN - 1] ^= 1;
        let moved = to_text(TEXT_PREFIX, &raw);
        assert_eq!(
            read(&moved, &p.bob, &dir, None, None),
            Err(Error::Integrity)
        );
        let short = to_text(TEXT_PREFIX, raw.get(..HEADER_LEN + 10).unwrap_or(&[]));
        assert_eq!(
            read(&short, &p.bob, &dir, None, None),
            Err(Error::Integrity)
        );
        // A card in alice's name with other keys: a key that is not the pair's.
        let mallory = entry("alice");
        let forged = seal(&mut OsRng, &mallory, p.bob.card(), &content(b"x", "dm"))?;
        assert_eq!(
            read(&forged, &p.bob, &dir, None, None),
            Err(Error::UnknownSender)
        );
        assert_eq!(
            read(&forged, &p.bob, &[mallory.card()], None, None)?.data,
            b"x",
            "mallory's own card opens mallory's message"
        );
        Ok(())
    }

    #[test]
    fn step_4_an_all_zero_pair_secret_is_integrity() {
        // X25519 with the identity point (a low-order u = 0) gives 32 zero bytes. No
        // card carries such an enc_pk (§2 refuses it), so the check is tested on the
        // secret itself.
        let alice = entry("alice");
        assert_eq!(*alice.keys().x25519(&[0; 32]), [0; 32]);
        let mut one = [0u8; 32];
        one[0] = 1;
        assert_eq!(*alice.keys().x25519(&one), [0; 32]);
    }

    #[test]
    fn step_5_the_payload_is_parsed() -> Result<(), Error> {
        let p = pair()?;
        let dir = [p.alice.card()];
        let fields = content(b"hi", "dm").encode_fields()?;
        let pad = |n: usize| vec![0u8; n];
        let ok = hand_sealed(&p, [fields.clone(), pad(256 - fields.len())].concat())?;
        assert!(fields.len() + 255 >= 256);
        assert!(
            read(&ok, &p.bob, &dir, None, None).is_ok(),
            "padding up to 255 bytes"
        );
        let too_much = hand_sealed(&p, [fields.clone(), pad(256)].concat())?;
        assert!(matches!(
            read(&too_much, &p.bob, &dir, None, None),
            Err(Error::Malformed(_))
        ));
        let nonzero = hand_sealed(&p, [fields.clone(), vec![0, 0, 1]].concat())?;
        assert!(matches!(
            read(&nonzero, &p.bob, &dir, None, None),
            Err(Error::Malformed(_))
        ));
        let mut unknown = fields.clone();
        unknown[0] = 9;
        let unknown = hand_sealed(&p, unknown)?;
        assert!(matches!(
            read(&unknown, &p.bob, &dir, None, None),
            Err(Error::Malformed(_))
        ));
        let truncated = hand_sealed(&p, fields[..fields.len() - 1].to_vec())?;
        assert!(matches!(
            read(&truncated, &p.bob, &dir, None, None),
            Err(Error::Malformed(_))
        ));
        Ok(())
    }

    #[test]
    fn steps_6_and_7_sender_and_context() -> Result<(), Error> {
        let p = pair()?;
        let dir = [p.alice.card()];
        assert_eq!(
            read(&p.text, &p.bob, &dir, Some("mallory"), Some("dm")),
            Err(Error::SenderMismatch)
        );
        assert_eq!(
            read(&p.text, &p.bob, &dir, Some("alice"), Some("other")),
            Err(Error::ContextMismatch)
        );
        // On the sender side the sender card is the reader's own.
        assert_eq!(
            read(&p.text, &p.alice, &[p.bob.card()], Some("bob"), None),
            Err(Error::SenderMismatch)
        );
        Ok(())
    }

    #[test]
    fn debug_prints_no_secret() -> Result<(), Error> {
        let p = pair()?;
        let key = PairKey::derive(p.alice.keys(), p.bob.card())?;
        assert_eq!(format!("{key:?}"), "PairKey { .. }");
        Ok(())
    }
}
