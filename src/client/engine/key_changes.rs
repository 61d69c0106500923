//! Trust on first use: cards pinned on first sight, rotations followed through the
//! history, and everything else reported as a key change (once per new card).

use std::rc::Rc;

use super::{Directory, Engine, Store};
use crate::client::{Error, Observation, Trust};
use crate::proto::{Card, CardId};

/// A key change, as told to the listener set with [`Engine::on_key_change`]: the
/// directory serves `identity` a card that does not follow the one this client pinned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyChange {
    /// Whose key changed.
    pub identity: String,
    /// The new card's id.
    pub card_id: CardId,
    /// The card this client pinned (and still encrypts to until the change is accepted).
    pub pinned: CardId,
}

/// Called once per key change seen (per new card).
pub type KeyChangeListener = Rc<dyn Fn(&KeyChange)>;

impl<D: Directory + Clone + 'static, S: Store> Engine<D, S> {
    /// Sets the function told of each key change (once per new card).
    pub fn on_key_change(&self, listener: Option<KeyChangeListener>) {
        *self.key_change_listener.borrow_mut() = listener;
    }

    /// Pins on first sight; follows rotations through the history; true on a key change.
    pub(super) async fn observe(&self, card: &Card) -> Result<bool, Error> {
        let first = self.state.borrow_mut().trust.observe(card, &[]);
        let seen = match first {
            Observation::Changed { .. } => {
                // Maybe a rotation: fetch the history and look for the chain.
                let history = self.history_cards(card.identity()).await?;
                self.state.borrow_mut().trust.observe(card, &history)
            }
            other => other,
        };
        if matches!(seen, Observation::New | Observation::Rotated { .. }) {
            self.save_pins().await;
        }
        Ok(self.settle(card, &seen))
    }

    /// True when `seen` is a key change; the first time a card is seen as one, it is
    /// counted and the listener is told.
    pub(super) fn settle(&self, card: &Card, seen: &Observation) -> bool {
        let Observation::Changed { pinned } = seen else {
            return false;
        };
        let first = {
            let mut state = self.state.borrow_mut();
            let first = state.reported.insert(card.id());
            if first {
                state.stats.key_changes += 1;
            }
            first
        };
        // No borrow is held here: the listener may call back into the engine.
        let listener = self.key_change_listener.borrow().clone();
        if let (true, Some(listener)) = (first, listener) {
            listener(&KeyChange {
                identity: card.identity().to_owned(),
                card_id: card.id(),
                pinned: *pinned,
            });
        }
        true
    }

    /// The application accepts `identity`'s new key (after the user checked it): the
    /// current card is pinned. False when no current card of `identity` is known (look
    /// it up first).
    pub async fn accept_key_change(&self, identity: &str) -> bool {
        let accepted = {
            let mut state = self.state.borrow_mut();
            match state.current.get_mut(identity) {
                Some((card, _, changed)) => {
                    *changed = false;
                    let card = card.clone();
                    state.trust.accept(&card);
                    true
                }
                None => false,
            }
        };
        if accepted {
            self.save_pins().await;
        }
        accepted
    }

    /// A sender's card is trusted when it is the pinned card, a card the pinned one
    /// rotated from (older messages), or a proven rotation of it.
    pub(super) async fn sender_key_changed(&self, card: &Card) -> Result<bool, Error> {
        let pinned = self.state.borrow().trust.pinned(card.identity()).cloned();
        match pinned {
            None => self.observe(card).await,
            Some(p) if p.id() == card.id() => Ok(false),
            Some(p) => {
                let history = self.history_cards(card.identity()).await?;
                // An older card: the pinned one chains back to it.
                let mut older = Trust::new();
                older.accept(card);
                if !matches!(older.observe(&p, &history), Observation::Changed { .. }) {
                    return Ok(false);
                }
                // A newer card: it chains forward from the pinned one (the pin moves),
                // or it is a key change. Either way a cached current card is stale.
                let seen = {
                    let mut state = self.state.borrow_mut();
                    let stale = state
                        .current
                        .get(card.identity())
                        .is_some_and(|(c, _, _)| c.id() != card.id());
                    if stale {
                        state.current.remove(card.identity());
                    }
                    state.trust.observe(card, &history)
                };
                if matches!(seen, Observation::Rotated { .. }) {
                    self.save_pins().await;
                }
                Ok(self.settle(card, &seen))
            }
        }
    }
}
