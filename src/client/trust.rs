//! What this client believes about other identities' cards: the card it last accepted
//! for each identity (trust on first use), whether the user verified it (§5), and how a
//! new card relates to it (PROTOCOL §2, the client's key-change rule).
//!
//! A card that walks back through `prev_card_id` to the pinned one, every link holding
//! ([`Card::links_to`]: the previous key signed the rotation), is a rotation and is
//! followed silently. Anything else — a new chain, a link that fails, a predecessor the
//! directory does not have, a chain that never reaches the pinned card or is longer than
//! [`MAX_CHAIN`] — is a *key change*: the application is told (`keyChanged`), the
//! contact's verified state is cleared, and nothing is encrypted to the new card until
//! the application accepts it. A directory that cannot be reached during the walk is an
//! error (retry), never a silent follow and never a key change.

use std::collections::{HashMap, HashSet};
use std::future::Future;

use crate::client::Error;
use crate::proto::{Card, CardId};

/// The most links a walk checks from a presented card back to the pinned one; a longer
/// chain is a key change (a contact rotating this often between two visits is not
/// plausible, and the bound caps the directory requests a hostile card can cost).
pub const MAX_CHAIN: usize = 64;

/// How a card the directory serves relates to what this client knew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// First sight of this identity: pinned.
    New,
    /// The pinned card itself.
    Same,
    /// A rotation of the pinned card, every link verified: the pin moves.
    Rotated {
        /// The card that was pinned.
        from: CardId,
    },
    /// Not a verified rotation of the pinned card: a key change the application must
    /// accept.
    Changed {
        /// The card that is (still) pinned.
        pinned: CardId,
    },
}

/// The outcome of [`walk`]: whether a card chains back to a target card, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chain {
    /// Every link from the card back to the target holds.
    Links,
    /// The walk reached a card that starts a new chain (`prev_flag = 0`).
    NewChain,
    /// A link fails §2's check (a forged or mismatched `rotation_sig`, another identity,
    /// an older `created_at`, a predecessor with another id).
    BadLink,
    /// The directory has no card (or no valid card) of a predecessor's id.
    Missing,
    /// More than [`MAX_CHAIN`] links without reaching the target.
    TooLong,
}

/// Walks from `card` back through `prev_card_id` to `target`, checking every link with
/// [`Card::links_to`]; `fetch` gives a predecessor by id (`Ok(None)`: the directory has
/// no valid card of that id). Only an `Err` of `fetch` (the directory could not be
/// asked) is an error; every other failure is a [`Chain`] that is not `Links`.
pub async fn walk<F, Fut>(card: &Card, target: &Card, mut fetch: F) -> Result<Chain, Error>
where
    F: FnMut(CardId) -> Fut,
    Fut: Future<Output = Result<Option<Card>, Error>>,
{
    let mut step = card.clone();
    for _ in 0..MAX_CHAIN {
        let Some(prev_id) = step.prev_card_id() else {
            return Ok(Chain::NewChain);
        };
        let prev = if prev_id == target.id() {
            target.clone()
        } else {
            match fetch(prev_id).await? {
                Some(prev) => prev,
                None => return Ok(Chain::Missing),
            }
        };
        if step.links_to(&prev).is_err() {
            return Ok(Chain::BadLink);
        }
        if prev.id() == target.id() {
            return Ok(Chain::Links);
        }
        step = prev;
    }
    Ok(Chain::TooLong)
}

/// The pinned card of each identity, and which identities the user verified (§5).
#[derive(Debug, Default, Clone)]
pub struct Trust {
    pinned: HashMap<String, Card>,
    verified: HashSet<String>,
}

/// The line prefix of a verified identity in [`Trust::encode`]'s text (never a card).
const VERIFIED: &str = "verified ";

impl Trust {
    /// No pins yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The pinned card of `identity`.
    pub fn pinned(&self, identity: &str) -> Option<&Card> {
        self.pinned.get(identity)
    }

    /// Pins `card` for its identity: first sight, a verified rotation, or a key change the
    /// application accepted (the user verified the safety number, or chose to go on).
    /// The verified state is kept only when the pin moves along a verified rotation:
    /// [`Trust::clear_verified`] is for key changes.
    pub fn accept(&mut self, card: &Card) {
        self.pinned.insert(card.identity().to_owned(), card.clone());
    }

    /// True when the user verified `identity`'s pinned card (§5) and no key change was
    /// seen since.
    pub fn is_verified(&self, identity: &str) -> bool {
        self.verified.contains(identity) && self.pinned.contains_key(identity)
    }

    /// Marks `identity` verified; false (and nothing marked) when nothing is pinned for it.
    pub fn set_verified(&mut self, identity: &str) -> bool {
        if !self.pinned.contains_key(identity) {
            return false;
        }
        self.verified.insert(identity.to_owned());
        true
    }

    /// Clears `identity`'s verified state (a key change); true when it was set.
    pub fn clear_verified(&mut self, identity: &str) -> bool {
        self.verified.remove(identity)
    }

    /// The pins as text, one card per line, then one `verified <identity>` line per
    /// verified identity (stored so that trust survives a reload).
    pub fn encode(&self) -> String {
        let mut cards: Vec<&Card> = self.pinned.values().collect();
        cards.sort_by(|a, b| a.identity().cmp(b.identity()));
        let mut verified: Vec<&String> = self.verified.iter().collect();
        verified.sort();
        cards
            .iter()
            .map(|c| c.to_text())
            .chain(verified.iter().map(|i| format!("{VERIFIED}{i}")))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Pins from [`Trust::encode`]'s text; lines that are neither valid cards nor
    /// verified marks are skipped.
    pub fn decode(text: &str) -> Self {
        let mut trust = Trust::default();
        for line in text.lines() {
            if let Some(identity) = line.strip_prefix(VERIFIED) {
                trust.verified.insert(identity.to_owned());
            } else if let Ok(card) = Card::parse(line) {
                trust.pinned.insert(card.identity().to_owned(), card);
            }
        }
        trust.verified.retain(|i| trust.pinned.contains_key(i));
        trust
    }

    /// Forgets every pin (wipe).
    pub fn clear(&mut self) {
        self.pinned.clear();
        self.verified.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::card::Rotation;
    use crate::proto::IdentityKeys;
    use futures_util::FutureExt;
    use rand_core::OsRng;

    /// A card of `identity` made with `keys`, rotating from `prev` signed by `prev_keys`.
    fn card(
        keys: &IdentityKeys,
        identity: &str,
        at: u64,
        prev: Option<(&Card, &IdentityKeys)>,
    ) -> Card {
        let rotation = prev.map(|(p, k)| Rotation {
            prev_card_id: p.id(),
            prev_keys: k,
        });
        Card::create(keys, identity, at, rotation).unwrap()
    }

    /// A walk against a directory that holds `cards`.
    fn walk_in(cards: &[Card], from: &Card, to: &Card) -> Result<Chain, Error> {
        walk(from, to, |id| {
            let found = cards.iter().find(|c| c.id() == id).cloned();
            async move { Ok(found) }
        })
        .now_or_never()
        .unwrap()
    }

    #[test]
    fn only_verified_links_reach_the_pinned_card() {
        let k1 = IdentityKeys::generate(&mut OsRng);
        let k2 = IdentityKeys::generate(&mut OsRng);
        let k3 = IdentityKeys::generate(&mut OsRng);
        let c1 = card(&k1, "bob", 1, None);
        let c2 = card(&k2, "bob", 2, Some((&c1, &k1)));
        let c3 = card(&k3, "bob", 3, Some((&c2, &k2)));
        let all = [c1.clone(), c2.clone(), c3.clone()];
        assert_eq!(walk_in(&all, &c2, &c1), Ok(Chain::Links));
        assert_eq!(walk_in(&all, &c3, &c1), Ok(Chain::Links));
        // The predecessor is not in the directory.
        assert_eq!(walk_in(&[], &c3, &c1), Ok(Chain::Missing));
        // A rotation signed by the new key only.
        let kf = IdentityKeys::generate(&mut OsRng);
        let forged = card(&kf, "bob", 4, Some((&c1, &kf)));
        assert_eq!(walk_in(&all, &forged, &c1), Ok(Chain::BadLink));
        // A forged link further back.
        let kg = IdentityKeys::generate(&mut OsRng);
        let mid = card(&kf, "bob", 2, Some((&c1, &kf)));
        let top = card(&kg, "bob", 3, Some((&mid, &kf)));
        assert_eq!(
            walk_in(std::slice::from_ref(&mid), &top, &c1),
            Ok(Chain::BadLink)
        );
        // A new chain, and a chain that never reaches the target.
        let fresh = card(&kf, "bob", 5, None);
        assert_eq!(walk_in(&all, &fresh, &c1), Ok(Chain::NewChain));
        let other = card(&kg, "bob", 1, None);
        let other2 = card(&kf, "bob", 2, Some((&other, &kg)));
        assert_eq!(
            walk_in(std::slice::from_ref(&other), &other2, &c1),
            Ok(Chain::NewChain)
        );
        // Another identity's card in the middle.
        let m = card(&kf, "mallory", 2, Some((&c1, &k1)));
        assert_eq!(walk_in(&all, &m, &c1), Ok(Chain::BadLink));
        // The directory failing is an error, not a verdict.
        let failed = walk(&c3, &c1, |_| async {
            Err(Error::Directory("offline".into()))
        })
        .now_or_never()
        .unwrap();
        assert_eq!(failed, Err(Error::Directory("offline".into())));
    }

    #[test]
    fn a_chain_longer_than_the_bound_is_not_followed() {
        let mut keys = IdentityKeys::generate(&mut OsRng);
        let first = card(&keys, "bob", 0, None);
        let mut cards = vec![first.clone()];
        for at in 1..=MAX_CHAIN as u64 + 1 {
            let next = IdentityKeys::generate(&mut OsRng);
            let c = card(&next, "bob", at, Some((cards.last().unwrap(), &keys)));
            cards.push(c);
            keys = next;
        }
        let top = cards.last().unwrap().clone();
        assert_eq!(walk_in(&cards, &top, &first), Ok(Chain::TooLong));
        // Exactly MAX_CHAIN links is still a rotation.
        assert_eq!(walk_in(&cards, &top, &cards[1]), Ok(Chain::Links));
    }

    #[test]
    fn verified_state_survives_encoding_and_needs_a_pin() {
        let k = IdentityKeys::generate(&mut OsRng);
        let c = card(&k, "bob", 1, None);
        let mut trust = Trust::new();
        assert!(!trust.set_verified("bob"));
        trust.accept(&c);
        assert!(trust.set_verified("bob"));
        let back = Trust::decode(&trust.encode());
        assert_eq!(back.pinned("bob"), Some(&c));
        assert!(back.is_verified("bob"));
        let mut back = back;
        assert!(back.clear_verified("bob"));
        assert!(!back.is_verified("bob"));
        // A verified mark without a pin is dropped.
        assert!(!Trust::decode("verified carol").is_verified("carol"));
    }
}
