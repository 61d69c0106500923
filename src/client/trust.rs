//! What this client believes about other identities' cards: the card it first saw for
//! each identity (trust on first use) and how a new card relates to it.
//!
//! A card that follows the pinned one through a valid rotation chain (each card naming
//! the previous one as `prev_card_id`, all of the same identity, all signed) is a
//! rotation and is accepted silently. Anything else — a card with no chain, a chain that
//! skips the pinned card, a `?replace=true` replacement — is a *key change*: the
//! application is told (`keyChanged`) and nothing is encrypted to the new card until it
//! accepts it.
//!
//! Known gap: PROTOCOL §2 signs a card with its own (new) key only, so the chain proves
//! nothing the directory could not forge: a card of its own making that names the pinned
//! card is followed as a rotation. Only a rotation signed by the previous key (a new
//! protocol version) closes it; safety numbers (§5) catch it meanwhile.

use std::collections::HashMap;

use crate::proto::{Card, CardId};

/// How a card the directory serves as current relates to what this client knew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// First sight of this identity: pinned.
    New,
    /// The pinned card itself.
    Same,
    /// A rotation of the pinned card, proven by the history: the pin moves.
    Rotated {
        /// The card that was pinned.
        from: CardId,
    },
    /// Not reachable from the pinned card: a key change the application must accept.
    Changed {
        /// The card that is (still) pinned.
        pinned: CardId,
    },
}

/// The pinned card of each identity.
#[derive(Debug, Default, Clone)]
pub struct Trust {
    pinned: HashMap<String, Card>,
}

impl Trust {
    /// No pins yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The pinned card of `identity`.
    pub fn pinned(&self, identity: &str) -> Option<&Card> {
        self.pinned.get(identity)
    }

    /// Compares `current` (the directory's current card of its identity) with the pin,
    /// using `history` (the identity's cards, any order) to follow a rotation chain, and
    /// moves the pin on first sight or a proven rotation. Cards of other identities in
    /// `history` are ignored.
    pub fn observe(&mut self, current: &Card, history: &[Card]) -> Observation {
        let identity = current.identity();
        let Some(pinned) = self.pinned.get(identity) else {
            self.pinned.insert(identity.to_owned(), current.clone());
            return Observation::New;
        };
        let pinned_id = pinned.id();
        if current.id() == pinned_id {
            return Observation::Same;
        }
        if chains_to(current, pinned_id, history) {
            self.pinned.insert(identity.to_owned(), current.clone());
            Observation::Rotated { from: pinned_id }
        } else {
            Observation::Changed { pinned: pinned_id }
        }
    }

    /// The application accepted a key change (or the user verified the safety number):
    /// pin `card`.
    pub fn accept(&mut self, card: &Card) {
        self.pinned.insert(card.identity().to_owned(), card.clone());
    }

    /// The pins as text, one card per line (stored so that trust survives a reload).
    pub fn encode(&self) -> String {
        let mut cards: Vec<&Card> = self.pinned.values().collect();
        cards.sort_by(|a, b| a.identity().cmp(b.identity()));
        cards
            .iter()
            .map(|c| c.to_text())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Pins from [`Trust::encode`]'s text; lines that are not valid cards are skipped.
    pub fn decode(text: &str) -> Self {
        let pinned = text
            .lines()
            .filter_map(|line| Card::parse(line).ok())
            .map(|card| (card.identity().to_owned(), card))
            .collect();
        Trust { pinned }
    }

    /// Forgets every pin (wipe).
    pub fn clear(&mut self) {
        self.pinned.clear();
    }
}

/// True when following `prev_card_id` links from `card` through `history` reaches
/// `target`, every step staying within `card`'s identity.
fn chains_to(card: &Card, target: CardId, history: &[Card]) -> bool {
    let by_id: HashMap<CardId, &Card> = history
        .iter()
        .filter(|c| c.identity() == card.identity())
        .map(|c| (c.id(), c))
        .collect();
    let mut step = card;
    // At most one step per history card: a cycle cannot loop forever.
    for _ in 0..=by_id.len() {
        match step.prev_card_id() {
            Some(prev) if prev == target => return true,
            Some(prev) => match by_id.get(&prev) {
                Some(next) => step = next,
                None => return false,
            },
            None => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::IdentityKeys;
    use rand_core::OsRng;

    /// A card naming `prev`; its `rotation_sig` is made by a throwaway key, since these
    /// tests exercise the `prev_card_id` chain only.
    fn card(identity: &str, prev: Option<CardId>) -> Card {
        let signer = IdentityKeys::generate(&mut OsRng);
        let rotation = prev.map(|prev_card_id| crate::proto::card::Rotation {
            prev_card_id,
            prev_keys: &signer,
        });
        Card::create(&IdentityKeys::generate(&mut OsRng), identity, 1, rotation).unwrap()
    }

    #[test]
    fn rotations_follow_the_chain_and_swaps_do_not() {
        let mut trust = Trust::new();
        let c1 = card("bob", None);
        assert_eq!(trust.observe(&c1, &[]), Observation::New);
        assert_eq!(trust.observe(&c1, &[]), Observation::Same);

        // Two rotations at once, proven through the history.
        let c2 = card("bob", Some(c1.id()));
        let c3 = card("bob", Some(c2.id()));
        let history = [c1.clone(), c2.clone(), c3.clone()];
        assert_eq!(
            trust.observe(&c3, &history),
            Observation::Rotated { from: c1.id() }
        );
        assert_eq!(trust.pinned("bob"), Some(&c3));

        // A card with no chain (a replacement, or an attacker's) is a key change, and
        // the pin stays until the application accepts it.
        let swap = card("bob", None);
        let seen = trust.observe(&swap, &[c1.clone(), c2.clone(), c3.clone(), swap.clone()]);
        assert_eq!(seen, Observation::Changed { pinned: c3.id() });
        assert_eq!(trust.pinned("bob"), Some(&c3));
        // A chain through a missing card, or through another identity's card, is no proof.
        let c5 = card("bob", Some(c2.id()));
        assert_eq!(
            trust.observe(&c5, std::slice::from_ref(&c5)),
            Observation::Changed { pinned: c3.id() }
        );
        let other = card("mallory", Some(c3.id()));
        let c6 = card("bob", Some(other.id()));
        assert_eq!(
            trust.observe(&c6, &[other.clone(), c6.clone()]),
            Observation::Changed { pinned: c3.id() }
        );
        trust.accept(&swap);
        assert_eq!(trust.observe(&swap, &[]), Observation::Same);
    }
}
