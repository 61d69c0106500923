//! A bounded cache of verified cards, keyed by their text, so that a card seen again
//! (every message of a history from the same sender, every send to the same channel)
//! is parsed and signature-checked once.

use std::collections::HashMap;

use crate::proto::{Card, CardId};

/// The most cards kept; beyond it the cache starts over (cards are cheap to re-verify,
/// and a chat rarely involves this many).
pub const CAPACITY: usize = 4096;

/// Verified cards by text and by id.
#[derive(Default)]
pub struct CardCache {
    by_text: HashMap<String, Card>,
    by_id: HashMap<CardId, Card>,
    hits: u64,
}

impl CardCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The card of `text`, verified once (§2) and then remembered.
    pub fn parse(&mut self, text: &str) -> Result<Card, crate::proto::Error> {
        if let Some(card) = self.by_text.get(text) {
            self.hits = self.hits.saturating_add(1);
            return Ok(card.clone());
        }
        let card = Card::parse(text)?;
        self.insert(text, &card);
        Ok(card)
    }

    /// Remembers an already verified card.
    pub fn remember(&mut self, card: &Card) {
        if !self.by_id.contains_key(&card.id()) {
            self.insert(&card.to_text(), card);
        }
    }

    fn insert(&mut self, text: &str, card: &Card) {
        if self.by_text.len() >= CAPACITY {
            self.by_text.clear();
            self.by_id.clear();
        }
        self.by_text.insert(text.to_owned(), card.clone());
        self.by_id.insert(card.id(), card.clone());
    }

    /// A remembered card by id.
    pub fn get(&self, id: &CardId) -> Option<&Card> {
        self.by_id.get(id)
    }

    /// How many lookups were answered from the cache.
    pub fn hits(&self) -> u64 {
        self.hits
    }

    /// The number of cards remembered.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::KeyringEntry;
    use rand_core::OsRng;

    #[test]
    fn parses_once_and_refuses_bad_cards() {
        let card = KeyringEntry::generate(&mut OsRng, "alice", 1, None)
            .unwrap()
            .card()
            .clone();
        let mut cache = CardCache::new();
        assert_eq!(cache.parse(&card.to_text()).unwrap(), card);
        assert_eq!(cache.parse(&card.to_text()).unwrap(), card);
        assert_eq!(cache.hits(), 1);
        assert_eq!(cache.get(&card.id()), Some(&card));
        assert_eq!(cache.parse("csc1.AAAA").unwrap_err().code(), "Malformed");
        assert_eq!(cache.len(), 1);
    }
}
