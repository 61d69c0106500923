//! The group sessions (PROTOCOL §9) one device keeps: its outbound session per channel
//! context, with the members it has shared it with, and the inbound sessions it holds
//! shares for, each at its earliest index. [`Sessions`] is stored (sealed, like the
//! keyring) as two records, outbound and inbound; the ratchet checkpoints that make reading a long history
//! linear live in memory only.

use std::collections::HashMap;
use std::fmt;

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::proto::envelope::{Content, Opened};
use crate::proto::group::{self, AcceptedShare, ChainKey, GroupMessage, SessionId, Share};
use crate::proto::keyring::KeyringEntry;
use crate::proto::wire::{put_vec16, Reader};
use crate::proto::{CardId, Error as ProtoError};

/// A sender starts a new session after this many messages (§9).
pub const MAX_MESSAGES: u32 = 1000;
/// … and after this long (§9: 7 days).
pub const MAX_AGE_MS: u64 = 7 * 24 * 60 * 60 * 1000;
/// A ratchet checkpoint is kept every this many indices, so that reading index `i`
/// costs at most this many HMACs once the session's checkpoints exist.
pub const CHECKPOINT_EVERY: u32 = 32;

/// Identities and the card each holds a share for, sorted by identity. (A sorted `Vec`:
/// in WebAssembly a `BTreeMap` per key type costs kilobytes of download.)
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Members(Vec<(String, CardId)>);

impl Members {
    fn position(&self, identity: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(m, _)| m.as_str().cmp(identity))
    }

    /// The card `identity` holds a share for.
    pub fn get(&self, identity: &str) -> Option<&CardId> {
        let at = self.position(identity).ok()?;
        self.0.get(at).map(|(_, card)| card)
    }

    /// True when `identity` is a member.
    pub fn contains(&self, identity: &str) -> bool {
        self.position(identity).is_ok()
    }

    /// Records that `identity` holds a share for `card`.
    pub fn insert(&mut self, identity: String, card: CardId) {
        match self.position(&identity) {
            Ok(at) => {
                if let Some(entry) = self.0.get_mut(at) {
                    entry.1 = card;
                }
            }
            Err(at) => self.0.insert(at, (identity, card)),
        }
    }

    /// Forgets `identity`.
    pub fn remove(&mut self, identity: &str) {
        if let Ok(at) = self.position(identity) {
            self.0.remove(at);
        }
    }

    /// How many members.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The members, sorted by identity.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &CardId)> {
        self.0.iter().map(|(m, c)| (m, c))
    }
}

impl FromIterator<(String, CardId)> for Members {
    fn from_iter<I: IntoIterator<Item = (String, CardId)>>(iter: I) -> Self {
        let mut members = Members::default();
        for (identity, card) in iter {
            members.insert(identity, card);
        }
        members
    }
}

const OUTBOUND_MAGIC: &[u8; 4] = b"CSO1";
const INBOUND_MAGIC: &[u8; 4] = b"CSI1";

/// This device's session for one channel context.
#[derive(Clone)]
pub struct Outbound {
    /// The session.
    pub session_id: SessionId,
    /// The index of the next message.
    pub index: u32,
    /// The chain key at `index`.
    pub chain_key: ChainKey,
    /// When the session started (unix ms).
    pub created_ms: u64,
    /// The sender card the session belongs to (a rotation starts a new session).
    pub card_id: CardId,
    /// Everyone holding a share, the sender included: identity → the card shared to.
    pub members: Members,
}

impl Outbound {
    /// A fresh session: random id and chain key, index 0, no member yet.
    pub fn start(rng: &mut impl CryptoRngCore, card_id: CardId, now_ms: u64) -> Outbound {
        let mut id = [0u8; 16];
        rng.fill_bytes(&mut id);
        let mut ck = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(ck.as_mut());
        Outbound {
            session_id: SessionId(id),
            index: 0,
            chain_key: ChainKey::from_bytes(*ck),
            created_ms: now_ms,
            card_id,
            members: Members::default(),
        }
    }

    /// Why this session may not carry the next message to `members` (identity → current
    /// card) from `card_id` at `now_ms`, if it may not: §9's rotation rules.
    pub fn expired(&self, card_id: CardId, members: &Members, now_ms: u64) -> Option<&'static str> {
        if self.card_id != card_id {
            Some("own card rotated")
        } else if self.index >= MAX_MESSAGES {
            Some("1000 messages")
        } else if now_ms.saturating_sub(self.created_ms) >= MAX_AGE_MS {
            Some("7 days old")
        } else if self.members.iter().any(|(m, _)| !members.contains(m)) {
            Some("a member left")
        } else {
            None
        }
    }

    /// Seals `content` as the session's next message and moves the index on (the chain
    /// key of the spent index is forgotten).
    pub fn seal(
        &mut self,
        sender: &KeyringEntry,
        content: &Content<'_>,
    ) -> Result<String, ProtoError> {
        if sender.card().id() != self.card_id {
            return Err(ProtoError::InvalidArgument(
                "the session belongs to another card",
            ));
        }
        let text = group::seal(
            sender,
            self.session_id,
            self.index,
            &self.chain_key,
            content,
        )?;
        self.chain_key = self.chain_key.next();
        self.index = self.index.saturating_add(1);
        Ok(text)
    }

    /// The share of this session at its current index.
    pub fn share(&self) -> Share {
        Share {
            session_id: self.session_id,
            index: self.index,
            chain_key: self.chain_key.clone(),
        }
    }
}

impl fmt::Debug for Outbound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbound")
            .field("session_id", &self.session_id)
            .field("index", &self.index)
            .field("members", &self.members.len())
            .finish_non_exhaustive()
    }
}

/// An inbound session: the earliest share this device holds, and checkpoints of the
/// ratchet past it (memory only).
#[derive(Clone)]
pub struct Inbound {
    /// The share, as accepted.
    pub share: AcceptedShare,
    /// (index, chain key), sorted by index.
    checkpoints: Vec<(u32, ChainKey)>,
}

impl Inbound {
    /// An inbound session from an accepted share.
    pub fn new(share: AcceptedShare) -> Inbound {
        Inbound {
            share,
            checkpoints: Vec::new(),
        }
    }

    /// Opens `message` with this session (§9: the key at its index, the body, the
    /// payload): `NoSessionKey` when the session or sender card is not this one's. The
    /// caller then verifies the signature ([`Opened::verify`]) and the session's context
    /// ([`group::check_session_context`] with [`Inbound::share`]).
    pub fn open(&mut self, message: &GroupMessage) -> Result<Opened, ProtoError> {
        if !self.share.serves(message.header()) {
            return Err(ProtoError::NoSessionKey);
        }
        let chain_key = self.chain_key_at(message.header().index)?;
        message.open(&chain_key)
    }

    /// The chain key at `index`: from the nearest checkpoint at or before it, keeping a
    /// checkpoint every [`CHECKPOINT_EVERY`] indices on the way. `NoSessionKey` before the
    /// share's index; `Malformed` past [`group::MAX_STEPS`] from it.
    pub fn chain_key_at(&mut self, index: u32) -> Result<ChainKey, ProtoError> {
        let from = self.share.share.index;
        group::steps(from, index)?;
        let after = self.checkpoints.partition_point(|(at, _)| *at <= index);
        let (mut at, mut ck) = match after.checked_sub(1).and_then(|i| self.checkpoints.get(i)) {
            Some((at, ck)) => (*at, ck.clone()),
            None => (from, self.share.share.chain_key.clone()),
        };
        let mut insert_at = after;
        while at < index {
            ck = ck.next();
            at += 1;
            if at % CHECKPOINT_EVERY == 0 {
                self.checkpoints.insert(insert_at, (at, ck.clone()));
                insert_at += 1;
            }
        }
        Ok(ck)
    }
}

impl fmt::Debug for Inbound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbound")
            .field("share", &self.share)
            .field("checkpoints", &self.checkpoints.len())
            .finish()
    }
}

/// Every session of one device.
#[derive(Clone, Default)]
pub struct Sessions {
    /// Channel context → this device's session for it.
    pub outbound: HashMap<String, Outbound>,
    /// (session, sender card) → the earliest share held.
    pub inbound: HashMap<(SessionId, CardId), Inbound>,
    /// The directory's `after` cursor: shares up to it have been pulled.
    pub cursor: String,
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions")
            .field("outbound", &self.outbound.len())
            .field("inbound", &self.inbound.len())
            .field("cursor", &self.cursor)
            .finish()
    }
}

impl Sessions {
    /// Keeps `share` unless a share of the same session and sender card with an earlier
    /// (or the same) index is held. True when it was kept.
    pub fn insert(&mut self, share: AcceptedShare) -> bool {
        let key = (share.share.session_id, share.sender_card_id);
        match self.inbound.get(&key) {
            Some(held) if held.share.share.index <= share.share.index => false,
            _ => {
                self.inbound.insert(key, Inbound::new(share));
                true
            }
        }
    }

    /// The stored form of the outbound sessions: `"CSO1" || u32 n × (vec16(context) ||
    /// session_id || u32 index || chain_key || u64 created_ms || card_id || u32 m ×
    /// (vec16(identity) || card_id))`. Secret (chain keys): the store seals it. Stored
    /// apart from the inbound sessions: only a sender, under its lock, writes it.
    pub fn encode_outbound(&self) -> Result<Zeroizing<Vec<u8>>, ProtoError> {
        let mut out = Zeroizing::new(Vec::new());
        out.extend_from_slice(OUTBOUND_MAGIC);
        put_count(&mut out, self.outbound.len())?;
        for (context, o) in &self.outbound {
            put_vec16(&mut out, context.as_bytes(), "context: over 65535 bytes")?;
            out.extend_from_slice(&o.session_id.0);
            out.extend_from_slice(&o.index.to_be_bytes());
            out.extend_from_slice(o.chain_key.to_bytes().as_ref());
            out.extend_from_slice(&o.created_ms.to_be_bytes());
            out.extend_from_slice(&o.card_id.0);
            put_count(&mut out, o.members.len())?;
            for (identity, card) in o.members.iter() {
                put_vec16(&mut out, identity.as_bytes(), "identity: too long")?;
                out.extend_from_slice(&card.0);
            }
        }
        Ok(out)
    }

    /// Reads [`Sessions::encode_outbound`]'s output (`Malformed` on any damage).
    pub fn decode_outbound(bytes: &[u8]) -> Result<HashMap<String, Outbound>, ProtoError> {
        let mut r = Reader::new(bytes, "stored sessions");
        r.magic(OUTBOUND_MAGIC)?;
        let mut outbound = HashMap::new();
        for _ in 0..r.u32()? {
            let context = utf8(r.vec16()?)?;
            let session_id = SessionId(r.array()?);
            let index = r.u32()?;
            let chain_key = ChainKey::from_bytes(r.array()?);
            let created_ms = r.u64()?;
            let card_id = CardId(r.array()?);
            let mut members = Members::default();
            for _ in 0..r.u32()? {
                let identity = utf8(r.vec16()?)?;
                members.insert(identity, CardId(r.array()?));
            }
            outbound.insert(
                context,
                Outbound {
                    session_id,
                    index,
                    chain_key,
                    created_ms,
                    card_id,
                    members,
                },
            );
        }
        r.finish()?;
        Ok(outbound)
    }

    /// The stored form of the inbound sessions and the cursor: `"CSI1" || vec16(cursor) ||
    /// u32 n × (share || sender_card_id || vec16(sender) || vec16(context))`. Secret.
    pub fn encode_inbound(&self) -> Result<Zeroizing<Vec<u8>>, ProtoError> {
        let mut out = Zeroizing::new(Vec::new());
        out.extend_from_slice(INBOUND_MAGIC);
        put_vec16(&mut out, self.cursor.as_bytes(), "cursor: too long")?;
        put_count(&mut out, self.inbound.len())?;
        for i in self.inbound.values() {
            let s = &i.share;
            out.extend_from_slice(&s.share.encode());
            out.extend_from_slice(&s.sender_card_id.0);
            put_vec16(&mut out, s.sender.as_bytes(), "identity: too long")?;
            put_vec16(&mut out, s.context.as_bytes(), "context: over 65535 bytes")?;
        }
        Ok(out)
    }

    /// Merges [`Sessions::encode_inbound`]'s output into these sessions (earliest shares
    /// kept; the stored cursor taken). `Malformed` on any damage, with nothing merged.
    pub fn merge_inbound(&mut self, bytes: &[u8]) -> Result<(), ProtoError> {
        let mut r = Reader::new(bytes, "stored sessions");
        r.magic(INBOUND_MAGIC)?;
        let cursor = utf8(r.vec16()?)?;
        let mut shares = Vec::new();
        for _ in 0..r.u32()? {
            let share = Share::decode(r.bytes(group::SHARE_LEN)?)?;
            let sender_card_id = CardId(r.array()?);
            let sender = utf8(r.vec16()?)?;
            let context = utf8(r.vec16()?)?;
            shares.push(AcceptedShare {
                share,
                sender_card_id,
                sender,
                context,
            });
        }
        r.finish()?;
        self.cursor = cursor;
        for share in shares {
            self.insert(share);
        }
        Ok(())
    }
}

fn put_count(out: &mut Vec<u8>, n: usize) -> Result<(), ProtoError> {
    let n = u32::try_from(n).map_err(|_| ProtoError::InvalidArgument("too many sessions"))?;
    out.extend_from_slice(&n.to_be_bytes());
    Ok(())
}

fn utf8(bytes: &[u8]) -> Result<String, ProtoError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| ProtoError::Malformed("stored sessions"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    fn accepted(index: u32, ck: &ChainKey) -> AcceptedShare {
        AcceptedShare {
            share: Share {
                session_id: SessionId([4; 16]),
                index,
                chain_key: ck.advance(index),
            },
            sender_card_id: CardId([5; 16]),
            sender: "alice".into(),
            context: "team".into(),
        }
    }

    #[test]
    fn checkpoints_give_the_same_keys_in_any_order() -> Result<(), ProtoError> {
        let ck0 = ChainKey::from_bytes([1; 32]);
        let mut inbound = Inbound::new(accepted(3, &ck0));
        for index in [500, 3, 40, 499, 64, 65, 1000, 4] {
            assert_eq!(inbound.chain_key_at(index)?, ck0.advance(index), "{index}");
        }
        assert!(inbound.checkpoints.len() <= 1000 / 32 + 1);
        assert_eq!(inbound.chain_key_at(2), Err(ProtoError::NoSessionKey));
        Ok(())
    }

    #[test]
    fn the_earliest_share_wins() {
        let ck0 = ChainKey::from_bytes([1; 32]);
        let mut s = Sessions::default();
        assert!(s.insert(accepted(5, &ck0)));
        assert!(!s.insert(accepted(9, &ck0)));
        assert!(s.insert(accepted(2, &ck0)));
        assert_eq!(s.inbound.len(), 1);
        assert!(s.inbound.values().all(|i| i.share.share.index == 2));
    }

    #[test]
    fn sessions_round_trip_and_damage_is_malformed() -> Result<(), ProtoError> {
        let ck0 = ChainKey::from_bytes([1; 32]);
        let mut s = Sessions {
            cursor: "42".into(),
            ..Sessions::default()
        };
        s.insert(accepted(7, &ck0));
        let mut o = Outbound::start(&mut OsRng, CardId([5; 16]), 1_000);
        o.members.insert("bob".into(), CardId([6; 16]));
        o.index = 12;
        s.outbound.insert("team".into(), o.clone());
        let outbound = s.encode_outbound()?;
        let inbound = s.encode_inbound()?;
        let mut back = Sessions {
            outbound: Sessions::decode_outbound(&outbound)?,
            ..Sessions::default()
        };
        back.merge_inbound(&inbound)?;
        assert_eq!(back.cursor, "42");
        let b = &back.outbound["team"];
        assert_eq!(
            (b.session_id, b.index, b.created_ms),
            (o.session_id, 12, 1_000)
        );
        assert_eq!(b.chain_key, o.chain_key);
        assert_eq!(b.members, o.members);
        assert_eq!(back.inbound.len(), 1);
        for cut in 0..outbound.len() {
            assert!(
                Sessions::decode_outbound(&outbound[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        for cut in 0..inbound.len() {
            assert!(back.merge_inbound(&inbound[..cut]).is_err(), "cut at {cut}");
        }
        Ok(())
    }

    #[test]
    fn rotation_rules() {
        let me = CardId([1; 16]);
        let mut o = Outbound::start(&mut OsRng, me, 0);
        let mut members: Members = [("me".to_owned(), me), ("bob".to_owned(), CardId([2; 16]))]
            .into_iter()
            .collect();
        o.members = members.clone();
        assert_eq!(o.expired(me, &members, MAX_AGE_MS - 1), None);
        assert_eq!(
            o.expired(CardId([3; 16]), &members, 0),
            Some("own card rotated")
        );
        assert_eq!(o.expired(me, &members, MAX_AGE_MS), Some("7 days old"));
        members.insert("carol".into(), CardId([4; 16]));
        assert_eq!(
            o.expired(me, &members, 0),
            None,
            "a member joining keeps it"
        );
        members.remove("bob");
        assert_eq!(o.expired(me, &members, 0), Some("a member left"));
        o.index = MAX_MESSAGES;
        assert_eq!(o.expired(me, &o.members.clone(), 0), Some("1000 messages"));
        assert!(!format!("{o:?}").contains("chain_key"));
    }
}
