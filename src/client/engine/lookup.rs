//! The card cache: current cards from the directory (one request for many identities,
//! reused for [`LOOKUP_TTL_MS`](super::LOOKUP_TTL_MS)), sender cards and rotation
//! predecessors by id, every card verified before use.

use futures_util::future::{try_join_all, FutureExt, WeakShared};

use super::flights::{join_flight, Flight};
use super::{Directory, Engine, Store, LOOKUP_TTL_MS};
use crate::client::Error;
use crate::proto::{self, Card, CardId};

/// A looked-up card and what the engine concluded about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Looked {
    /// The current card.
    pub card: Card,
    /// It does not follow the card this client pinned for the identity.
    pub key_changed: bool,
}

impl<D: Directory + Clone + 'static, S: Store> Engine<D, S> {
    pub(super) fn verified(&self, text: &str) -> Result<Card, Error> {
        let card = self.state.borrow_mut().cards.parse(text).map_err(|e| {
            Error::Directory(format!(
                "the directory served an invalid card ({})",
                e.code()
            ))
        })?;
        Ok(card)
    }

    /// This identity's current card, asked of the directory (the cache is neither read
    /// nor filled) and verified; `None` when it has none.
    pub(super) async fn directory_own_card(&self) -> Result<Option<Card>, Error> {
        let answer = self
            .directory
            .lookup(std::slice::from_ref(&self.identity))
            .await?;
        self.state.borrow_mut().stats.lookups += 1;
        answer
            .iter()
            .find(|(identity, _)| *identity == self.identity)
            .map(|(_, text)| self.verified(text))
            .transpose()
    }

    /// Current cards of `identities`, from memory when fresh, else one directory request
    /// for all the others. Each card is checked against the pinned one (trust on first
    /// use; rotations followed only through verified links, §2). An identity without a card is an
    /// error naming it.
    pub async fn lookup(&self, identities: &[String], now_ms: u64) -> Result<Vec<Looked>, Error> {
        let mut wanted: Vec<String> = Vec::new();
        for identity in identities {
            proto::keys::validate_identity(identity)?;
            let fresh = {
                let mut state = self.state.borrow_mut();
                let hit = state
                    .current
                    .get(identity)
                    .is_some_and(|(_, at, _)| now_ms.saturating_sub(*at) < LOOKUP_TTL_MS);
                if hit {
                    state.stats.cache_hits += 1;
                }
                hit
            };
            if !fresh && !wanted.contains(identity) {
                wanted.push(identity.clone());
            }
        }
        // Identities already being fetched join that request; the rest go out in new
        // requests of at most 100 (the §7 limit).
        let mut waits: Vec<(Vec<String>, Flight, bool)> = Vec::new();
        let mut new: Vec<String> = Vec::new();
        {
            let mut state = self.state.borrow_mut();
            state
                .in_flight
                .retain(|_, flight| flight.upgrade().is_some());
            for identity in wanted {
                match state.in_flight.get(&identity).and_then(WeakShared::upgrade) {
                    Some(flight) => {
                        state.stats.cache_hits += 1;
                        match waits.iter_mut().find(|(_, f, _)| f.ptr_eq(&flight)) {
                            Some((mine, _, _)) => mine.push(identity),
                            None => waits.push((vec![identity], flight, false)),
                        }
                    }
                    None => new.push(identity),
                }
            }
            for chunk in new.chunks(100) {
                let directory = self.directory.clone();
                let asked = chunk.to_vec();
                let flight = async move { directory.lookup(&asked).await }
                    .boxed_local()
                    .shared();
                if let Some(weak) = flight.downgrade() {
                    for identity in chunk {
                        state.in_flight.insert(identity.clone(), weak.clone());
                    }
                }
                state.stats.lookups += 1;
                waits.push((chunk.to_vec(), flight, true));
            }
        }
        let answers = try_join_all(waits.iter().map(|(_, flight, _)| flight.clone())).await?;
        for ((mine, _, _), answer) in waits.iter().zip(answers) {
            self.absorb(mine, answer, now_ms).await?;
        }
        let state = self.state.borrow();
        identities
            .iter()
            .map(|identity| {
                state
                    .current
                    .get(identity)
                    .map(|(card, _, key_changed)| Looked {
                        card: card.clone(),
                        key_changed: *key_changed,
                    })
                    .ok_or_else(|| {
                        Error::Directory(format!(
                            "{identity:?} has no card in the directory: they have not registered (or revoked their key)"
                        ))
                    })
            })
            .collect()
    }

    /// Takes a lookup answer for the identities in `asked` (others are ignored): each card
    /// verified, of the identity it is served for, checked against the pin, cached.
    pub(super) async fn absorb(
        &self,
        asked: &[String],
        answer: Vec<(String, String)>,
        now_ms: u64,
    ) -> Result<(), Error> {
        {
            // What the directory no longer has (revoked) must not linger in memory.
            let mut state = self.state.borrow_mut();
            for identity in asked {
                state.current.remove(identity);
            }
        }
        for (identity, text) in answer {
            if !asked.contains(&identity) {
                continue; // not asked for: ignore
            }
            let card = self.verified(&text)?;
            if card.identity() != identity {
                return Err(Error::Directory(format!(
                    "the directory answered {identity:?} with a card of another identity"
                )));
            }
            let key_changed = self.observe(&card).await?;
            self.state
                .borrow_mut()
                .current
                .insert(identity, (card, now_ms, key_changed));
        }
        Ok(())
    }

    /// A sender card by id: memory first, then the directory (old cards stay reachable
    /// there, so messages from before a rotation verify). A card the directory serves
    /// that fails to verify is an error.
    pub(super) async fn sender_card(&self, id: &CardId) -> Result<Option<Card>, Error> {
        match self.card_text_by_id(id).await? {
            Known::Card(card) => Ok(Some(*card)),
            Known::Text(text) => {
                let card = self.verified(&text)?;
                Ok((card.id() == *id).then_some(card))
            }
            Known::Absent => Ok(None),
        }
    }

    /// A predecessor in a rotation walk (§2, §7 `by-id`): memory first, then the
    /// directory. A card it does not have, or serves invalid or under another id, is
    /// `None` (the walk fails: a key change); only a failed request is an error.
    pub(super) async fn predecessor(&self, id: &CardId) -> Result<Option<Card>, Error> {
        match self.card_text_by_id(id).await? {
            Known::Card(card) => Ok(Some(*card)),
            Known::Text(text) => {
                let card = self.state.borrow_mut().cards.parse(&text).ok();
                Ok(card.filter(|c| c.id() == *id))
            }
            Known::Absent => Ok(None),
        }
    }

    /// A card by id from memory, else its text from the directory: one request however
    /// many callers wait for it (the decrypt queue's workers read a new sender's history
    /// side by side).
    async fn card_text_by_id(&self, id: &CardId) -> Result<Known, Error> {
        let known = self.state.borrow().cards.get(id).cloned();
        if let Some(card) = known {
            self.state.borrow_mut().stats.cache_hits += 1;
            return Ok(Known::Card(Box::new(card)));
        }
        let flight = {
            let mut state = self.state.borrow_mut();
            let wanted = *id;
            let (flight, new) = join_flight(&mut state.card_flights, wanted, || {
                let directory = self.directory.clone();
                async move { directory.card_by_id(&wanted).await }.boxed_local()
            });
            if new {
                state.stats.lookups += 1;
            }
            flight
        };
        Ok(match flight.await? {
            Some(text) => Known::Text(text),
            None => Known::Absent,
        })
    }
}

/// What [`Engine::card_text_by_id`] found.
enum Known {
    /// A card already verified.
    Card(Box<Card>),
    /// The directory's text, not yet verified.
    Text(String),
    /// The directory has no card of that id.
    Absent,
}
