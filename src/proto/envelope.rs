//! §3 Message envelope: a body encrypted once under a fresh content key (CEK), the CEK
//! wrapped by HPKE for each recipient card, and the sender's signature inside the body.
//!
//! Decryption follows §3's order exactly and is split in two so that the caller can
//! fetch the sender's card while the crypto runs:
//! [`Envelope::parse`] (step 1) → [`Envelope::open`] (steps 2–4) →
//! [`Opened::verify`] (steps 5–7). No plaintext is reachable before step 6 succeeds.
//! [`decrypt`] runs all of them for a caller that can resolve cards synchronously.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Range;

use chacha20poly1305::aead::{AeadInPlace as _, KeyInit as _};
use chacha20poly1305::{ChaCha20Poly1305, Nonce, Tag};
use ed25519_dalek::Signature;
use hpke::{Deserializable as _, OpModeR, OpModeS, Serializable as _};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use super::card::{Card, CardId};
use super::keyring::{Keyring, KeyringEntry};
use super::keys::IdentityKeys;
use super::suite::{EncappedKey, HpkeAead, HpkePublicKey, Kdf, Kem, RngAdapter};
use super::wire::{from_text, put_vec16, put_vec32, to_text, Reader};
use super::Error;

const MAGIC: &[u8; 4] = b"CSM2";
const SIG_LABEL: &[u8] = b"chatseal/v2/msg\x00";
const CEK_INFO: &[u8] = b"chatseal/v2/cek";
/// The text prefix of a message.
pub const TEXT_PREFIX: &str = "csm2.";
/// The most stanzas (recipient cards) one message may carry.
pub const MAX_RECIPIENTS: usize = 1000;
/// Senders pad the payload to a multiple of this many bytes.
pub const PAD_BLOCK: usize = 32;
/// Decoders reject more padding than this.
pub const MAX_PAD: usize = 255;
const TAG_LEN: usize = 16;
const ZERO_NONCE: [u8; 12] = [0; 12];

/// What the data of a message is (the `content_type` byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContentType {
    /// 1: `text/plain;charset=utf-8`.
    Text,
    /// 2: `application/json`.
    Json,
    /// 3: `application/octet-stream`.
    Bytes,
    /// 4: a group-session share (§9).
    SessionShare,
    /// 5: a file descriptor (§10).
    FileDescriptor,
}

impl ContentType {
    /// The wire value.
    pub fn to_u8(self) -> u8 {
        match self {
            ContentType::Text => 1,
            ContentType::Json => 2,
            ContentType::Bytes => 3,
            ContentType::SessionShare => 4,
            ContentType::FileDescriptor => 5,
        }
    }

    /// The content type of a wire value, if it is one of §3's.
    pub fn from_u8(value: u8) -> Option<Self> {
        Some(match value {
            1 => ContentType::Text,
            2 => ContentType::Json,
            3 => ContentType::Bytes,
            4 => ContentType::SessionShare,
            5 => ContentType::FileDescriptor,
            _ => return None,
        })
    }
}

/// One recipient's copy of the content key: HPKE-sealed to the recipient card's
/// `enc_pk`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stanza {
    /// The card the CEK is sealed to.
    pub recipient_card_id: CardId,
    /// The HPKE encapsulated key.
    pub enc: [u8; 32],
    /// The HPKE ciphertext of the CEK (32 bytes and a 16-byte tag).
    pub wrapped: [u8; 48],
}

fn cek_info(sender_card_id: &CardId, msg_id: &[u8; 16]) -> [u8; 47] {
    let mut info = [0u8; 47];
    let (label, ids) = info.split_at_mut(CEK_INFO.len());
    label.copy_from_slice(CEK_INFO);
    let (sender, msg) = ids.split_at_mut(16);
    sender.copy_from_slice(&sender_card_id.0);
    msg.copy_from_slice(msg_id);
    info
}

impl Stanza {
    /// Seals `cek` to `recipient`: `SealBase(pkR = enc_pk, info = "chatseal/v2/cek" ||
    /// sender_card_id || msg_id, aad = recipient card id, pt = cek)`. The HPKE ephemeral
    /// key is `DeriveKeyPair` of 32 bytes drawn from `rng`.
    pub fn seal(
        rng: &mut impl CryptoRngCore,
        recipient: &Card,
        sender_card_id: &CardId,
        msg_id: &[u8; 16],
        cek: &[u8; 32],
    ) -> Result<Stanza, Error> {
        let pk = HpkePublicKey::from_bytes(&recipient.enc_pk())
            .map_err(|_| Error::InvalidArgument("recipient enc_pk"))?;
        let mut wrapped = [0u8; 48];
        let (ct, tag_out) = wrapped.split_at_mut(32);
        ct.copy_from_slice(cek);
        let (enc, tag) = hpke::single_shot_seal_in_place_detached::<HpkeAead, Kdf, Kem, _>(
            &OpModeS::Base,
            &pk,
            &cek_info(sender_card_id, msg_id),
            ct,
            &recipient.id().0,
            &mut RngAdapter(rng),
        )
        .map_err(|_| Error::InvalidArgument("recipient enc_pk"))?;
        tag_out.copy_from_slice(&tag.to_bytes());
        let mut enc_bytes = [0u8; 32];
        enc_bytes.copy_from_slice(&enc.to_bytes());
        Ok(Stanza {
            recipient_card_id: recipient.id(),
            enc: enc_bytes,
            wrapped,
        })
    }

    /// Opens the CEK with the recipient's keys (`Integrity` on any failure).
    fn open(
        &self,
        keys: &IdentityKeys,
        sender_card_id: &CardId,
        msg_id: &[u8; 16],
    ) -> Result<Zeroizing<[u8; 32]>, Error> {
        let sk = keys.hpke_private_key()?;
        let enc = EncappedKey::from_bytes(&self.enc).map_err(|_| Error::Integrity)?;
        let mut cek = Zeroizing::new([0u8; 32]);
        let (ct, tag) = self.wrapped.split_at(32);
        cek.copy_from_slice(ct);
        let tag = hpke::aead::AeadTag::<HpkeAead>::from_bytes(tag).map_err(|_| Error::Integrity)?;
        hpke::single_shot_open_in_place_detached::<HpkeAead, Kdf, Kem>(
            &OpModeR::Base,
            &sk,
            &enc,
            &cek_info(sender_card_id, msg_id),
            cek.as_mut(),
            &self.recipient_card_id.0,
            &tag,
        )
        .map_err(|_| Error::Integrity)?;
        Ok(cek)
    }
}

/// The cleartext header of an envelope. It is the AEAD's associated data and part of
/// what the sender signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The card of the sender, resolved through the directory on decryption.
    pub sender_card_id: CardId,
    /// Random per message.
    pub msg_id: [u8; 16],
    /// One per recipient card, the sender's own included.
    pub stanzas: Vec<Stanza>,
}

impl Header {
    /// `"CSM2" || sender_card_id || msg_id || u16 n || n × stanza`. Encodes what it is
    /// given; the rules on `n` and on duplicates are enforced by [`seal`] and decoders.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        let n = u16::try_from(self.stanzas.len())
            .map_err(|_| Error::InvalidArgument("too many stanzas"))?;
        let mut out = Vec::with_capacity(38 + self.stanzas.len() * 96);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.sender_card_id.0);
        out.extend_from_slice(&self.msg_id);
        out.extend_from_slice(&n.to_be_bytes());
        for s in &self.stanzas {
            out.extend_from_slice(&s.recipient_card_id.0);
            out.extend_from_slice(&s.enc);
            out.extend_from_slice(&s.wrapped);
        }
        Ok(out)
    }

    fn decode(r: &mut Reader<'_>) -> Result<Header, Error> {
        r.magic(MAGIC)?;
        let sender_card_id = CardId(r.array()?);
        let msg_id = r.array()?;
        let n = usize::from(r.u16()?);
        if !(1..=MAX_RECIPIENTS).contains(&n) {
            return Err(Error::Malformed("message: stanza count is not 1..=1000"));
        }
        let mut stanzas = Vec::with_capacity(n);
        for _ in 0..n {
            stanzas.push(Stanza {
                recipient_card_id: CardId(r.array()?),
                enc: r.array()?,
                wrapped: r.array()?,
            });
        }
        if has_duplicates(stanzas.iter().map(|s| s.recipient_card_id)) {
            return Err(Error::Malformed("message: duplicate recipient"));
        }
        Ok(Header {
            sender_card_id,
            msg_id,
            stanzas,
        })
    }
}

fn has_duplicates(ids: impl Iterator<Item = CardId>) -> bool {
    let mut ids: Vec<CardId> = ids.collect();
    ids.sort_unstable();
    ids.windows(2).any(|w| matches!(w, [a, b] if a == b))
}

/// What a sender puts in a message: the signed fields of §3.
#[derive(Clone, Copy)]
pub struct Content<'a> {
    /// What the data is.
    pub content_type: ContentType,
    /// Unix milliseconds, the sender's clock.
    pub sent_at: u64,
    /// The application's binding, e.g. the channel id; may be empty; at most 65,535 bytes.
    pub context: &'a str,
    /// The epoch of the latest directory head the sender verified (§12); 0 if none.
    pub head_epoch: u64,
    /// That head's root hash; 32 zero bytes if none.
    pub head_root: [u8; 32],
    /// The content.
    pub data: &'a [u8],
}

impl Content<'_> {
    /// `u8 content_type || u64 sent_at || vec16(context) || u64 head_epoch ||
    /// head_root || vec32(data)`.
    pub fn encode_fields(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(55 + self.context.len() + self.data.len());
        out.push(self.content_type.to_u8());
        out.extend_from_slice(&self.sent_at.to_be_bytes());
        put_vec16(
            &mut out,
            self.context.as_bytes(),
            "context: over 65535 bytes",
        )?;
        out.extend_from_slice(&self.head_epoch.to_be_bytes());
        out.extend_from_slice(&self.head_root);
        put_vec32(&mut out, self.data, "data: over 4 GiB")?;
        Ok(out)
    }
}

impl fmt::Debug for Content<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Content")
            .field("content_type", &self.content_type)
            .field("sent_at", &self.sent_at)
            .field("context", &self.context)
            .field("head_epoch", &self.head_epoch)
            .field("head_root", &hex::encode(self.head_root))
            .field("data_len", &self.data.len())
            .finish()
    }
}

/// Encrypts `content` from `sender` to exactly `recipients`, in that stanza order, with
/// a fresh CEK and `msg_id` drawn from `rng`. The sender's own card must be among the
/// recipients for the sender to read the message later (see [`encrypt`], which adds it).
pub fn seal(
    rng: &mut impl CryptoRngCore,
    sender: &KeyringEntry,
    recipients: &[&Card],
    content: &Content<'_>,
) -> Result<String, Error> {
    let mut cek = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(cek.as_mut());
    let mut msg_id = [0u8; 16];
    rng.fill_bytes(&mut msg_id);
    seal_with(rng, sender, recipients, content, &cek, msg_id)
}

/// [`seal`] with an explicit CEK and `msg_id`; `rng` provides only the HPKE ephemeral
/// keys, 32 bytes per stanza in stanza order. For test vectors.
pub fn seal_with(
    rng: &mut impl CryptoRngCore,
    sender: &KeyringEntry,
    recipients: &[&Card],
    content: &Content<'_>,
    cek: &[u8; 32],
    msg_id: [u8; 16],
) -> Result<String, Error> {
    if !(1..=MAX_RECIPIENTS).contains(&recipients.len()) {
        return Err(Error::InvalidArgument(
            "a message has 1 to 1000 recipient cards, the sender's own included",
        ));
    }
    if has_duplicates(recipients.iter().map(|c| c.id())) {
        return Err(Error::InvalidArgument("a recipient card is listed twice"));
    }
    let sender_card_id = sender.card().id();
    let stanzas = recipients
        .iter()
        .map(|card| Stanza::seal(rng, card, &sender_card_id, &msg_id, cek))
        .collect::<Result<Vec<_>, _>>()?;
    let header = Header {
        sender_card_id,
        msg_id,
        stanzas,
    }
    .encode()?;
    sign_and_seal(TEXT_PREFIX, SIG_LABEL, header, sender.keys(), content, cek)
}

/// `prefix || b64u(header || body)` where `body` seals `fields || sig || pad` under `key`
/// with `aad = header`, and `sig` signs `label || header || fields`: the shared second
/// half of a §3 envelope and a §9 group message.
pub(crate) fn sign_and_seal(
    prefix: &str,
    label: &[u8],
    header: Vec<u8>,
    signer: &IdentityKeys,
    content: &Content<'_>,
    key: &[u8; 32],
) -> Result<String, Error> {
    let fields = content.encode_fields()?;
    let sig = signer.sign(&[label, &header, &fields].concat());
    let unpadded = fields.len().saturating_add(sig.len());
    let pad = (PAD_BLOCK - unpadded % PAD_BLOCK) % PAD_BLOCK;
    let mut payload = Zeroizing::new(fields);
    payload.reserve(sig.len() + pad + TAG_LEN);
    payload.extend_from_slice(&sig);
    payload.resize(unpadded.saturating_add(pad), 0);
    seal_text(prefix, header, payload, key)
}

/// Encrypts `content` to the `to` cards and to the sender's own card (first), skipping
/// repeats: what an application means by "send this to these people".
pub fn encrypt(
    rng: &mut impl CryptoRngCore,
    sender: &KeyringEntry,
    to: &[&Card],
    content: &Content<'_>,
) -> Result<String, Error> {
    let mut recipients: Vec<&Card> = Vec::with_capacity(to.len().saturating_add(1));
    recipients.push(sender.card());
    for card in to {
        if !recipients.iter().any(|c| c.id() == card.id()) {
            recipients.push(card);
        }
    }
    seal(rng, sender, &recipients, content)
}

/// `header || ChaCha20Poly1305-Seal(cek, zero nonce, aad = header, payload)` in text
/// form. The last step of [`seal_with`]; public so that test vectors can build
/// deliberately invalid payloads with the same code.
#[doc(hidden)]
pub fn seal_payload(
    header: Vec<u8>,
    payload: Zeroizing<Vec<u8>>,
    cek: &[u8; 32],
) -> Result<String, Error> {
    seal_text(TEXT_PREFIX, header, payload, cek)
}

/// [`seal_payload`] with the text prefix of the object (`csm2.` or `csg2.`).
#[doc(hidden)]
pub fn seal_text(
    prefix: &str,
    header: Vec<u8>,
    mut payload: Zeroizing<Vec<u8>>,
    cek: &[u8; 32],
) -> Result<String, Error> {
    let tag = ChaCha20Poly1305::new(cek.into())
        .encrypt_in_place_detached(&Nonce::from(ZERO_NONCE), &header, payload.as_mut_slice())
        .map_err(|_| Error::InvalidArgument("payload too long"))?;
    let mut envelope = header;
    envelope.reserve(payload.len() + TAG_LEN);
    envelope.extend_from_slice(&payload);
    envelope.extend_from_slice(&tag);
    Ok(to_text(prefix, &envelope))
}

/// A parsed envelope (step 1 done): its header is readable, its body still sealed.
#[derive(Clone)]
pub struct Envelope {
    header: Header,
    /// The whole envelope; the header is `bytes[..header_len]`.
    bytes: Vec<u8>,
    header_len: usize,
}

impl Envelope {
    /// Step 1: parses the text form and the header (`Malformed`).
    pub fn parse(text: &str) -> Result<Envelope, Error> {
        Envelope::decode(from_text(text, TEXT_PREFIX, "message: not csm2. text")?)
    }

    /// Step 1 on the envelope bytes.
    pub fn decode(bytes: Vec<u8>) -> Result<Envelope, Error> {
        let mut r = Reader::new(&bytes, "message");
        let header = Header::decode(&mut r)?;
        let header_len = bytes.len().saturating_sub(r.remaining());
        Ok(Envelope {
            header,
            bytes,
            header_len,
        })
    }

    /// The header: sender card id, message id, stanzas.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The sender's card id, to resolve through the directory (step 5).
    pub fn sender_card_id(&self) -> CardId {
        self.header.sender_card_id
    }

    /// Steps 2–4: finds a stanza for a key of `keyring` (`NotARecipient`), opens the
    /// CEK and the body (`Integrity`), parses the payload (`Malformed`).
    pub fn open(&self, keyring: &Keyring) -> Result<Opened, Error> {
        let (stanza, entry) = self
            .header
            .stanzas
            .iter()
            .find_map(|s| keyring.find(&s.recipient_card_id).map(|e| (s, e)))
            .ok_or(Error::NotARecipient)?;
        let cek = stanza.open(
            entry.keys(),
            &self.header.sender_card_id,
            &self.header.msg_id,
        )?;
        open_body(
            SIG_LABEL,
            &self.bytes,
            self.header_len,
            &cek,
            self.header.sender_card_id,
            self.header.msg_id,
        )
    }
}

/// Opens `bytes = header || body` (the header is `bytes[..header_len]`) under `key` with
/// `aad = header` (`Integrity`) and parses the payload (`Malformed`): the shared second
/// half of opening a §3 envelope and a §9 group message. `label` is what the sender's
/// signature covers before the header.
pub(crate) fn open_body(
    label: &[u8],
    bytes: &[u8],
    header_len: usize,
    key: &[u8; 32],
    sender_card_id: CardId,
    msg_id: [u8; 16],
) -> Result<Opened, Error> {
    // buf = label || header || body, decrypted in place: the signed message of step 6
    // is then a prefix of `buf`, with no further copy.
    let mut buf = Zeroizing::new(Vec::with_capacity(label.len() + bytes.len()));
    buf.extend_from_slice(label);
    buf.extend_from_slice(bytes);
    let payload_start = label.len().saturating_add(header_len);
    let tag_start = buf
        .len()
        .checked_sub(TAG_LEN)
        .filter(|&t| t >= payload_start)
        .ok_or(Error::Integrity)?;
    {
        let (signed_head, rest) = buf.split_at_mut(payload_start);
        let aad = signed_head.get(label.len()..).ok_or(Error::Integrity)?;
        let (payload, tag) = rest.split_at_mut(tag_start.saturating_sub(payload_start));
        ChaCha20Poly1305::new(key.into())
            .decrypt_in_place_detached(&Nonce::from(ZERO_NONCE), aad, payload, Tag::from_slice(tag))
            .map_err(|_| Error::Integrity)?;
    }
    buf.truncate(tag_start);

    let payload = buf.get(payload_start..).ok_or(Error::Integrity)?;
    let mut r = Reader::new(payload, "message payload");
    let content_type = ContentType::from_u8(r.u8()?)
        .ok_or(Error::Malformed("message payload: unknown content type"))?;
    let sent_at = r.u64()?;
    let context = r.vec16()?;
    let context = std::str::from_utf8(context)
        .map_err(|_| Error::Malformed("message payload: context is not UTF-8"))?
        .to_owned();
    let head_epoch = r.u64()?;
    let head_root: [u8; 32] = r.array()?;
    let data_len = r.vec32()?.len();
    let fields_len = payload.len().saturating_sub(r.remaining());
    let sig: [u8; 64] = r.array()?;
    let pad = r.rest();
    if pad.len() > MAX_PAD || pad.iter().any(|&b| b != 0) {
        return Err(Error::Malformed("message payload: bad padding"));
    }
    let signed_len = payload_start.saturating_add(fields_len);
    Ok(Opened {
        buf,
        signed_len,
        data: signed_len.saturating_sub(data_len)..signed_len,
        sig: Signature::from_bytes(&sig),
        content_type,
        sent_at,
        context,
        head_epoch,
        head_root,
        sender_card_id,
        msg_id,
    })
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("sender_card_id", &self.header.sender_card_id)
            .field("stanzas", &self.header.stanzas.len())
            .field("len", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

/// A decrypted but not yet verified message (steps 1–4 done). Its plaintext is not
/// reachable until [`Opened::verify`] succeeds.
pub struct Opened {
    /// `label || header || fields || sig || pad`, zeroized on drop.
    buf: Zeroizing<Vec<u8>>,
    /// `buf[..signed_len]` is what the sender signed.
    signed_len: usize,
    data: Range<usize>,
    sig: Signature,
    content_type: ContentType,
    sent_at: u64,
    context: String,
    head_epoch: u64,
    head_root: [u8; 32],
    sender_card_id: CardId,
    msg_id: [u8; 16],
}

impl Opened {
    /// The sender card id the header names.
    pub fn sender_card_id(&self) -> CardId {
        self.sender_card_id
    }

    /// Steps 5–7: `sender_card` is what the directory returned for the sender card id
    /// (`None`, or a card with another id, is `UnknownSender`); `from` is the sender as
    /// the chat SDK names it (`SenderMismatch`); the signature must verify
    /// (`BadSignature`); `context`, when given, must equal the message's
    /// (`ContextMismatch`).
    pub fn verify(
        self,
        sender_card: Option<&Card>,
        from: Option<&str>,
        context: Option<&str>,
    ) -> Result<Message, Error> {
        let card = sender_card
            .filter(|c| c.id() == self.sender_card_id)
            .ok_or(Error::UnknownSender)?;
        if from.is_some_and(|from| from != card.identity()) {
            return Err(Error::SenderMismatch);
        }
        let signed = self.buf.get(..self.signed_len).ok_or(Error::BadSignature)?;
        card.verifying_key()
            .verify_strict(signed, &self.sig)
            .map_err(|_| Error::BadSignature)?;
        if context.is_some_and(|expected| expected != self.context) {
            return Err(Error::ContextMismatch);
        }
        let data = self.buf.get(self.data.clone()).ok_or(Error::BadSignature)?;
        Ok(Message {
            content_type: self.content_type,
            data: data.to_vec(),
            sender: card.identity().to_owned(),
            sender_card_id: self.sender_card_id,
            sent_at: self.sent_at,
            msg_id: self.msg_id,
            context: self.context,
            head_epoch: self.head_epoch,
            head_root: self.head_root,
        })
    }
}

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opened")
            .field("sender_card_id", &self.sender_card_id)
            .finish_non_exhaustive()
    }
}

/// A decrypted and verified message.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    /// What the data is.
    pub content_type: ContentType,
    /// The content.
    pub data: Vec<u8>,
    /// The sender's identity, from its verified card.
    pub sender: String,
    /// The sender's card id.
    pub sender_card_id: CardId,
    /// Unix milliseconds, the sender's clock.
    pub sent_at: u64,
    /// The message id.
    pub msg_id: [u8; 16],
    /// The context the message is bound to.
    pub context: String,
    /// The epoch of the latest directory head the sender verified (§12); 0 means "no
    /// head", whatever `head_root` says.
    pub head_epoch: u64,
    /// That head's root hash, as the sender signed it.
    pub head_root: [u8; 32],
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The content is confidential: show its size, never its bytes.
        f.debug_struct("Message")
            .field("content_type", &self.content_type)
            .field("data_len", &self.data.len())
            .field("sender", &self.sender)
            .field("sender_card_id", &self.sender_card_id)
            .field("sent_at", &self.sent_at)
            .field("context", &self.context)
            .field("head_epoch", &self.head_epoch)
            .field("head_root", &hex::encode(self.head_root))
            .finish_non_exhaustive()
    }
}

/// All of §3's decryption, for a caller that resolves sender cards synchronously:
/// `resolve` maps the sender card id to a card (e.g. from a cache).
pub fn decrypt<C: Borrow<Card>>(
    text: &str,
    keyring: &Keyring,
    resolve: impl FnOnce(&CardId) -> Option<C>,
    from: Option<&str>,
    context: Option<&str>,
) -> Result<Message, Error> {
    let envelope = Envelope::parse(text)?;
    let opened = envelope.open(keyring)?;
    let card = resolve(&opened.sender_card_id());
    opened.verify(card.as_ref().map(Borrow::borrow), from, context)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    fn keyring(identity: &str) -> Keyring {
        Keyring::new(KeyringEntry::generate(&mut OsRng, identity, 1, None).unwrap())
    }

    fn content(head_epoch: u64, head_root: [u8; 32]) -> Content<'static> {
        Content {
            content_type: ContentType::Text,
            sent_at: 7,
            context: "ctx",
            head_epoch,
            head_root,
            data: b"hello",
        }
    }

    #[test]
    fn fields_put_the_head_between_context_and_data() {
        let fields = content(0x0102, [0xaa; 32]).encode_fields().unwrap();
        let mut expected = vec![1];
        expected.extend_from_slice(&7u64.to_be_bytes());
        expected.extend_from_slice(&[0, 3]);
        expected.extend_from_slice(b"ctx");
        expected.extend_from_slice(&0x0102u64.to_be_bytes());
        expected.extend_from_slice(&[0xaa; 32]);
        expected.extend_from_slice(&[0, 0, 0, 5]);
        expected.extend_from_slice(b"hello");
        assert_eq!(fields, expected);
    }

    #[test]
    fn messages_are_v2_and_carry_the_signed_head() {
        let (alice, bob) = (keyring("alice"), keyring("bob"));
        let card = alice.current().card().clone();
        for (epoch, root) in [(0, [0; 32]), (9, [0x55; 32])] {
            let text = encrypt(
                &mut OsRng,
                alice.current(),
                &[bob.current().card()],
                &content(epoch, root),
            )
            .unwrap();
            assert!(text.starts_with("csm2."));
            let msg = decrypt(&text, &bob, |_| Some(&card), Some("alice"), Some("ctx")).unwrap();
            assert_eq!((msg.head_epoch, msg.head_root), (epoch, root));
            assert_eq!(msg.data, b"hello");
        }
    }

    #[test]
    fn the_signature_covers_the_head() {
        // The same fields with another head_root, signed over the original: the body
        // opens (the key is the sender's) but the signature does not verify.
        let (alice, bob) = (keyring("alice"), keyring("bob"));
        let sender = alice.current();
        let card = sender.card().clone();
        let cek = [4u8; 32];
        let header = Header {
            sender_card_id: card.id(),
            msg_id: [5; 16],
            stanzas: vec![Stanza::seal(
                &mut OsRng,
                bob.current().card(),
                &card.id(),
                &[5; 16],
                &cek,
            )
            .unwrap()],
        }
        .encode()
        .unwrap();
        let signed = content(1, [1; 32]).encode_fields().unwrap();
        let sig = sender.keys().sign(&[SIG_LABEL, &header, &signed].concat());
        let mut payload = Zeroizing::new(content(1, [2; 32]).encode_fields().unwrap());
        payload.extend_from_slice(&sig);
        let text = seal_payload(header, payload, &cek).unwrap();
        let got = decrypt(&text, &bob, |_| Some(&card), None, None);
        assert_eq!(got, Err(Error::BadSignature));
    }

    #[test]
    fn version_1_is_malformed() {
        let (alice, bob) = (keyring("alice"), keyring("bob"));
        let text = encrypt(
            &mut OsRng,
            alice.current(),
            &[bob.current().card()],
            &content(0, [0; 32]),
        )
        .unwrap();
        let body = &text["csm2.".len()..];
        assert!(matches!(
            Envelope::parse(&format!("csm1.{body}")),
            Err(Error::Malformed(_))
        ));
        let mut bytes = crate::proto::b64u_decode(body).unwrap();
        bytes[3] = b'1';
        assert_eq!(
            Envelope::decode(bytes).map(|_| ()),
            Err(Error::Malformed("message"))
        );
    }
}
