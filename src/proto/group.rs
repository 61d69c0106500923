//! §9 Group sessions: a sender's ratcheting chain key, shared once per member through
//! the directory (a [`Share`] inside a §11 pairwise message), then channel messages of
//! constant size that name only the session and an index.
//!
//! Decrypting follows §9: [`GroupMessage::parse`] (step 1), [`accept_share`] for each
//! share the directory returns, [`GroupMessage::open`] with the chain key at the
//! message's index (the key derivation and the body, `Integrity`; the payload,
//! `Malformed`), then [`Opened::verify`] (steps 5–7) and [`check_session_context`]. No
//! plaintext is reachable before the signature is verified. [`decrypt`] runs all of them
//! for a caller that holds its shares and cards in memory.

use std::borrow::Borrow;
use std::fmt;

use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};
use zeroize::{Zeroize, Zeroizing};

use super::card::{Card, CardId};
use super::envelope::{open_body, sign_and_seal, Content, ContentType, Message, Opened};
use super::keyring::{Keyring, KeyringEntry};
use super::pairwise;
use super::wire::{from_text, Reader};
use super::Error;

const MAGIC: &[u8; 4] = b"CSG2";
const SHARE_MAGIC: &[u8; 4] = b"CSS1";
const SIG_LABEL: &[u8] = b"chatseal/v2/group\x00";
/// The text prefix of a group message.
pub const TEXT_PREFIX: &str = "csg2.";
/// The furthest a receiver ratchets from the index of its share: a message that claims a
/// later index is `Malformed` (a sender starts a new session after 1,000 messages).
pub const MAX_STEPS: u32 = 100_000;
/// `"CSG2" || sender_card_id || session_id || u32 index`.
pub const HEADER_LEN: usize = 4 + 16 + 16 + 4;
/// `"CSS1" || session_id || u32 index || chain_key`.
pub const SHARE_LEN: usize = 4 + 16 + 4 + 32;

/// A session id: 16 random bytes chosen by the sender.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub [u8; 16]);

impl SessionId {
    /// Parses 32 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, Error> {
        let mut out = [0u8; 16];
        hex::decode_to_slice(text, &mut out).map_err(|_| Error::Malformed("session id"))?;
        Ok(SessionId(out))
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

/// A chain key: 32 secret bytes, zeroized on drop, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ChainKey([u8; 32]);

impl ChainKey {
    /// The chain key of the given bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        ChainKey(bytes)
    }

    /// The secret bytes (to store them sealed).
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0)
    }

    fn hmac(&self, byte: u8) -> [u8; 32] {
        // HMAC accepts keys of any length: `new_from_slice` cannot fail for 32 bytes.
        let mut out = [0u8; 32];
        if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) {
            mac.update(&[byte]);
            out.copy_from_slice(&mac.finalize().into_bytes());
        }
        out
    }

    /// `message_key(ck) = HMAC-SHA256(ck, 0x01)`.
    pub fn message_key(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.hmac(0x01))
    }

    /// `next(ck) = HMAC-SHA256(ck, 0x02)`: the chain key of the next index.
    pub fn next(&self) -> ChainKey {
        ChainKey(self.hmac(0x02))
    }

    /// The chain key `steps` indices further on.
    pub fn advance(&self, steps: u32) -> ChainKey {
        let mut ck = self.clone();
        for _ in 0..steps {
            ck = ck.next();
        }
        ck
    }
}

impl Drop for ChainKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChainKey(..)")
    }
}

/// A session share: the chain key of `session_id` at `index` (§9
/// `"CSS1" || session_id || u32 index || chain_key`).
#[derive(Clone, PartialEq, Eq)]
pub struct Share {
    /// The session.
    pub session_id: SessionId,
    /// The index `chain_key` belongs to: the earliest message its holder can read.
    pub index: u32,
    /// The chain key at `index`.
    pub chain_key: ChainKey,
}

impl Share {
    /// The share's bytes (secret: the data of a §11 message, content type 4).
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(SHARE_LEN));
        out.extend_from_slice(SHARE_MAGIC);
        out.extend_from_slice(&self.session_id.0);
        out.extend_from_slice(&self.index.to_be_bytes());
        out.extend_from_slice(&self.chain_key.0);
        out
    }

    /// Decodes share bytes (`Malformed`).
    pub fn decode(bytes: &[u8]) -> Result<Share, Error> {
        let mut r = Reader::new(bytes, "session share");
        r.magic(SHARE_MAGIC)?;
        let session_id = SessionId(r.array()?);
        let index = r.u32()?;
        let chain_key = ChainKey(r.array()?);
        r.finish()?;
        Ok(Share {
            session_id,
            index,
            chain_key,
        })
    }

    /// The chain key at `index`, ratcheted forward from this share: `NoSessionKey` for an
    /// index before the share's, `Malformed` for more than [`MAX_STEPS`] steps.
    pub fn chain_key_at(&self, index: u32) -> Result<ChainKey, Error> {
        Ok(self.chain_key.advance(steps(self.index, index)?))
    }

    /// The §11 pairwise message that carries this share from `sender`'s card to
    /// `member` (the sender's own card included: a note to itself), content type 4,
    /// bound to the channel's `context`.
    pub fn seal_to(
        &self,
        rng: &mut impl rand_core::CryptoRngCore,
        sender: &KeyringEntry,
        member: &Card,
        context: &str,
        sent_at: u64,
    ) -> Result<String, Error> {
        let data = self.encode();
        pairwise::seal(
            rng,
            sender,
            member,
            &Content {
                content_type: ContentType::SessionShare,
                sent_at,
                context,
                // No directory head yet (§12): epoch 0, a zero root.
                head_epoch: 0,
                head_root: [0; 32],
                data: &data,
            },
        )
    }
}

impl fmt::Debug for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Share")
            .field("session_id", &self.session_id)
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

/// The steps from a share's index to `index`: `NoSessionKey` before it, `Malformed`
/// past [`MAX_STEPS`].
pub fn steps(from: u32, index: u32) -> Result<u32, Error> {
    let steps = index.checked_sub(from).ok_or(Error::NoSessionKey)?;
    if steps > MAX_STEPS {
        return Err(Error::Malformed(
            "group message: index over 100000 steps past the share",
        ));
    }
    Ok(steps)
}

/// A share that passed §9's checks, with what the receiver must hold it to.
#[derive(Clone, PartialEq, Eq)]
pub struct AcceptedShare {
    /// The share.
    pub share: Share,
    /// The card that sent it (the §11 sender card): the only card whose group messages
    /// it opens.
    pub sender_card_id: CardId,
    /// The identity of that card.
    pub sender: String,
    /// The channel it was shared for: every message of the session must carry it.
    pub context: String,
}

impl fmt::Debug for AcceptedShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcceptedShare")
            .field("share", &self.share)
            .field("sender_card_id", &self.sender_card_id)
            .field("sender", &self.sender)
            .field("context", &self.context)
            .finish()
    }
}

/// Checks a share's §11 message once it has passed §11's checks: it must carry a
/// share (content type 4 and a well-formed `CSS1`, `Malformed` otherwise). Which
/// session, sender card and channel it may serve is then [`AcceptedShare::serves`]'s
/// and [`AcceptedShare::fits`]'s question.
pub fn accept_share(message: Message) -> Result<AcceptedShare, Error> {
    if message.content_type != ContentType::SessionShare {
        return Err(Error::Malformed("session share: not content type 4"));
    }
    let share = Share::decode(&message.data)?;
    Ok(AcceptedShare {
        share,
        sender_card_id: message.sender_card_id,
        sender: message.sender.clone(),
        context: message.context.clone(),
    })
}

impl AcceptedShare {
    /// True when this share may open messages of `header`: same session, same sender
    /// card (a share signed by anyone else is ignored).
    pub fn serves(&self, header: &GroupHeader) -> bool {
        self.share.session_id == header.session_id && self.sender_card_id == header.sender_card_id
    }

    /// True when the caller expects no context, or this share's (§9: a share is
    /// accepted only if its §11 checks pass with the caller's expected context).
    pub fn fits(&self, context: Option<&str>) -> bool {
        context.map_or(true, |c| c == self.context)
    }
}

/// The cleartext header of a group message: the AEAD's associated data and part of what
/// the sender signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupHeader {
    /// The sender's card.
    pub sender_card_id: CardId,
    /// The session.
    pub session_id: SessionId,
    /// The message's index in the session.
    pub index: u32,
}

impl GroupHeader {
    /// `"CSG2" || sender_card_id || session_id || u32 index`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.sender_card_id.0);
        out.extend_from_slice(&self.session_id.0);
        out.extend_from_slice(&self.index.to_be_bytes());
        out
    }

    /// The message id of a group message, which has none on the wire: the first 16
    /// bytes of SHA-256 over its header (unique per session and index).
    pub fn msg_id(&self) -> [u8; 16] {
        let digest = Sha256::digest(self.encode());
        let mut id = [0u8; 16];
        id.copy_from_slice(digest.get(..16).unwrap_or(&[0; 16]));
        id
    }
}

/// Encrypts `content` as message `index` of `session_id`: `chain_key` is the chain key
/// at `index` (the sender then keeps only its `next()`). Deterministic.
pub fn seal(
    sender: &KeyringEntry,
    session_id: SessionId,
    index: u32,
    chain_key: &ChainKey,
    content: &Content<'_>,
) -> Result<String, Error> {
    let header = GroupHeader {
        sender_card_id: sender.card().id(),
        session_id,
        index,
    };
    sign_and_seal(
        TEXT_PREFIX,
        SIG_LABEL,
        header.encode(),
        sender.keys(),
        content,
        &chain_key.message_key(),
    )
}

/// A parsed group message (step 1 done): its header readable, its body sealed.
#[derive(Clone)]
pub struct GroupMessage {
    header: GroupHeader,
    bytes: Vec<u8>,
}

impl GroupMessage {
    /// Step 1: parses the `csg2.` text and the header (`Malformed`).
    pub fn parse(text: &str) -> Result<GroupMessage, Error> {
        let bytes = from_text(text, TEXT_PREFIX, "group message: not csg2. text")?;
        let mut r = Reader::new(&bytes, "group message");
        r.magic(MAGIC)?;
        let header = GroupHeader {
            sender_card_id: CardId(r.array()?),
            session_id: SessionId(r.array()?),
            index: r.u32()?,
        };
        Ok(GroupMessage { header, bytes })
    }

    /// The header: sender card, session, index.
    pub fn header(&self) -> &GroupHeader {
        &self.header
    }

    /// Derives the message key from `chain_key` (the chain key at this message's index),
    /// opens the body (`Integrity`) and parses the payload (`Malformed`).
    pub fn open(&self, chain_key: &ChainKey) -> Result<Opened, Error> {
        open_body(
            SIG_LABEL,
            &self.bytes,
            HEADER_LEN,
            &chain_key.message_key(),
            self.header.sender_card_id,
            self.header.msg_id(),
        )
    }
}

impl fmt::Debug for GroupMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupMessage")
            .field("header", &self.header)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// The last check of a group message, after [`Opened::verify`]: its signed context must
/// be the one its session was shared for, so that a session shared for one channel
/// cannot carry messages into another. §9 makes "its context is the channel's" a
/// condition of accepting the share, and a share that fails acceptance is ignored: with
/// it ignored the message has no session key (`NoSessionKey`).
pub fn check_session_context(message: &Message, share: &AcceptedShare) -> Result<(), Error> {
    if message.context == share.context {
        Ok(())
    } else {
        Err(Error::NoSessionKey)
    }
}

/// Picks, among verified shares, the one to read `header` with: the earliest index of
/// those that serve it. `NoSessionKey` when none does.
pub fn earliest<'a>(
    shares: impl IntoIterator<Item = &'a AcceptedShare>,
    header: &GroupHeader,
) -> Result<&'a AcceptedShare, Error> {
    shares
        .into_iter()
        .filter(|s| s.serves(header))
        .min_by_key(|s| s.share.index)
        .ok_or(Error::NoSessionKey)
}

/// All of §9's decryption for a caller that holds the session's shares (§11 texts, as
/// the directory returns them) and resolves cards synchronously. A share that fails any
/// of its checks is not accepted; with no accepted share for the message's session and
/// sender card, the error is `NoSessionKey` (a forged share is the same as none).
pub fn decrypt<C: Borrow<Card>>(
    text: &str,
    keyring: &Keyring,
    shares: &[&str],
    resolve: impl Fn(&CardId) -> Option<C>,
    from: Option<&str>,
    context: Option<&str>,
) -> Result<Message, Error> {
    let message = GroupMessage::parse(text)?;
    let accepted: Vec<AcceptedShare> = shares
        .iter()
        .filter_map(|share| open_share(share, keyring, &resolve).ok())
        .filter(|share| share.fits(context))
        .collect();
    // The reader's own cards resolve locally (§3): a sender reads its own messages.
    let resolve_own = |id: &CardId| match keyring.find(id) {
        Some(own) => Some(own.card().clone()),
        None => resolve(id).map(|c| c.borrow().clone()),
    };
    decrypt_parsed(&message, &accepted, resolve_own, from, context)
}

/// [`decrypt`] for a parsed message and shares already accepted ([`open_share`]); a
/// share for another context than the expected one is ignored.
pub fn decrypt_parsed<C: Borrow<Card>>(
    message: &GroupMessage,
    accepted: &[AcceptedShare],
    resolve: impl Fn(&CardId) -> Option<C>,
    from: Option<&str>,
    context: Option<&str>,
) -> Result<Message, Error> {
    let fitting = accepted.iter().filter(|s| s.fits(context));
    let share = earliest(fitting, message.header())?;
    let chain_key = share.share.chain_key_at(message.header().index)?;
    let opened = message.open(&chain_key)?;
    let card = resolve(&opened.sender_card_id());
    let verified = opened.verify(card.as_ref().map(Borrow::borrow), from, context)?;
    check_session_context(&verified, share)?;
    Ok(verified)
}

/// Opens and checks one share's §11 text with `keyring`, the other card resolved by
/// `resolve` (the reader's own cards resolve locally). No SDK-named sender applies to
/// shares (§9): the sender card binds them instead.
pub fn open_share<C: Borrow<Card>>(
    text: &str,
    keyring: &Keyring,
    resolve: impl Fn(&CardId) -> Option<C>,
) -> Result<AcceptedShare, Error> {
    accept_share(pairwise::decrypt(text, keyring, resolve, None, None)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::envelope;
    use rand_core::OsRng;

    fn entry(identity: &str) -> KeyringEntry {
        KeyringEntry::generate(&mut OsRng, identity, 1_767_225_600, None).unwrap_or_else(|_| {
            unreachable!("a valid identity");
        })
    }

    fn content<'a>(text: &'a str, context: &'a str) -> Content<'a> {
        Content {
            content_type: ContentType::Text,
            sent_at: 1_767_225_600_000,
            context,
            // No directory head yet (§12): epoch 0, a zero root.
            head_epoch: 0,
            head_root: [0; 32],
            data: text.as_bytes(),
        }
    }

    #[test]
    fn the_ratchet_is_hmac_sha256_of_one_byte() {
        // HMAC-SHA256 with a 32-byte key, computed by hand: the spec's two derivations.
        let ck = ChainKey::from_bytes([7; 32]);
        let by_hand = |byte: u8| {
            let mut k = [0u8; 64];
            k[..32].copy_from_slice(&[7; 32]);
            let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).chain([byte]).collect();
            let inner = Sha256::digest(&ipad);
            let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).chain(inner).collect();
            <[u8; 32]>::from(Sha256::digest(&opad))
        };
        assert_eq!(*ck.message_key(), by_hand(1));
        assert_eq!(*ck.next().to_bytes(), by_hand(2));
        assert_eq!(ck.advance(3), ck.next().next().next());
        assert_eq!(ck.advance(0), ck);
    }

    #[test]
    fn a_member_reads_from_its_share_on_and_not_before() -> Result<(), Error> {
        let alice = entry("alice");
        let bob = entry("bob");
        let session_id = SessionId([9; 16]);
        let ck0 = ChainKey::from_bytes([3; 32]);
        let texts: Vec<String> = (0..5u32)
            .map(|i| seal(&alice, session_id, i, &ck0.advance(i), &content("hi", "c")))
            .collect::<Result<_, _>>()?;
        let share = Share {
            session_id,
            index: 2,
            chain_key: ck0.advance(2),
        };
        let sealed = share.seal_to(&mut OsRng, &alice, bob.card(), "c", 0)?;
        let keyring = Keyring::new(bob);
        let card = alice.card().clone();
        let resolve = |id: &CardId| (*id == card.id()).then_some(&card);
        for (i, text) in texts.iter().enumerate() {
            let got = decrypt(
                text,
                &keyring,
                &[&sealed],
                resolve,
                Some("alice"),
                Some("c"),
            );
            if i < 2 {
                assert_eq!(got, Err(Error::NoSessionKey), "index {i}");
            } else {
                assert_eq!(got?.data, b"hi");
            }
        }
        Ok(())
    }

    #[test]
    fn shares_are_pairwise_and_follow_section_9s_acceptance() -> Result<(), Error> {
        let alice = entry("alice");
        let bob = entry("bob");
        let session_id = SessionId([4; 16]);
        let ck = ChainKey::from_bytes([5; 32]);
        let text = seal(&alice, session_id, 0, &ck, &content("hi", "c"))?;
        let share = Share {
            session_id,
            index: 0,
            chain_key: ck.clone(),
        };
        let to_bob = share.seal_to(&mut OsRng, &alice, bob.card(), "c", 0)?;
        assert!(to_bob.starts_with(pairwise::TEXT_PREFIX));
        let card = alice.card().clone();
        let resolve = |id: &CardId| (*id == card.id()).then_some(&card);
        // The sender reads its own messages through its note to itself.
        let to_self = share.seal_to(&mut OsRng, &alice, alice.card(), "c", 0)?;
        let alice_keys = Keyring::new(alice);
        let got = decrypt(&text, &alice_keys, &[&to_self], resolve, None, Some("c"))?;
        assert_eq!(got.data, b"hi");
        let bob_keys = Keyring::new(bob);
        assert_eq!(
            decrypt(
                &text,
                &bob_keys,
                &[&to_bob],
                resolve,
                Some("alice"),
                Some("c")
            )?
            .data,
            b"hi"
        );
        // Expected in another channel: the share (for "c") is not accepted there.
        assert_eq!(
            decrypt(&text, &bob_keys, &[&to_bob], resolve, None, Some("d")),
            Err(Error::NoSessionKey)
        );
        // A share for another channel than the message's is no share for it.
        let for_d = share.seal_to(
            &mut OsRng,
            alice_keys.current(),
            bob_keys.current().card(),
            "d",
            0,
        )?;
        assert_eq!(
            decrypt(&text, &bob_keys, &[&for_d], resolve, None, None),
            Err(Error::NoSessionKey)
        );
        // A §3 message is not a share.
        let csm2 = envelope::seal(
            &mut OsRng,
            alice_keys.current(),
            &[bob_keys.current().card()],
            &Content {
                content_type: ContentType::SessionShare,
                data: &share.encode(),
                ..content("", "c")
            },
        )?;
        assert!(matches!(
            open_share(&csm2, &bob_keys, resolve),
            Err(Error::Malformed(_))
        ));
        Ok(())
    }

    #[test]
    fn group_messages_are_v2_and_carry_the_head() -> Result<(), Error> {
        let alice = entry("alice");
        let session_id = SessionId([9; 16]);
        let ck = ChainKey::from_bytes([3; 32]);
        let mut c = content("hi", "c");
        c.head_epoch = 42;
        c.head_root = [0xee; 32];
        let text = seal(&alice, session_id, 0, &ck, &c)?;
        assert!(text.starts_with("csg2."));
        let message = GroupMessage::parse(&text)?;
        let verified = message
            .open(&ck)?
            .verify(Some(alice.card()), Some("alice"), Some("c"))?;
        assert_eq!((verified.head_epoch, verified.head_root), (42, [0xee; 32]));

        // Version 1 is never read: neither its text prefix nor its magic.
        let v1_text = format!("csg1.{}", &text["csg2.".len()..]);
        assert!(matches!(
            GroupMessage::parse(&v1_text),
            Err(Error::Malformed(_))
        ));
        let mut bytes = crate::proto::b64u_decode(&text["csg2.".len()..])?;
        bytes[3] = b'1';
        let v1_magic = format!("csg2.{}", crate::proto::b64u_encode(&bytes));
        assert_eq!(
            GroupMessage::parse(&v1_magic).map(|_| ()),
            Err(Error::Malformed("group message"))
        );
        Ok(())
    }

    #[test]
    fn share_round_trips_and_rejects_bad_lengths() -> Result<(), Error> {
        let share = Share {
            session_id: SessionId([1; 16]),
            index: 77,
            chain_key: ChainKey::from_bytes([2; 32]),
        };
        let bytes = share.encode();
        assert_eq!(bytes.len(), SHARE_LEN);
        assert_eq!(Share::decode(&bytes)?, share);
        assert!(Share::decode(&bytes[..SHARE_LEN - 1]).is_err());
        assert!(Share::decode(&[bytes.as_slice(), &[0]].concat()).is_err());
        assert!(!format!("{share:?}").contains("2, 2"));
        Ok(())
    }

    #[test]
    fn steps_are_bounded() {
        assert_eq!(steps(5, 4), Err(Error::NoSessionKey));
        assert_eq!(steps(5, 5), Ok(0));
        assert_eq!(steps(0, MAX_STEPS), Ok(MAX_STEPS));
        assert!(matches!(steps(0, MAX_STEPS + 1), Err(Error::Malformed(_))));
        assert!(matches!(steps(0, u32::MAX), Err(Error::Malformed(_))));
    }
}
