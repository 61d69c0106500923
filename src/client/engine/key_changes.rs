//! PROTOCOL §2's key-change rule: a contact's card pinned on first sight; a different
//! card followed silently only when it walks back to the pinned one through links that
//! all hold (each predecessor fetched by id, each rotation signed by the previous key);
//! everything else a key change — reported in every result, the contact's verified state
//! cleared, and the application told once per new card.

use std::rc::Rc;

use super::{Directory, Engine, Store};
use crate::client::trust::{walk, Chain};
use crate::client::Error;
use crate::proto::{Card, CardId};

/// A key change, as told to the listener set with [`Engine::on_key_change`]: `identity`
/// presented a card that is not a verified rotation of the one this client pinned.
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

    /// A card the directory serves as `card.identity()`'s current one: pinned on first
    /// sight, followed when it is a verified rotation of the pin; true on a key change.
    /// Err only when the directory could not be asked for a predecessor (retry).
    pub(super) async fn observe(&self, card: &Card) -> Result<bool, Error> {
        let pinned = self.state.borrow().trust.pinned(card.identity()).cloned();
        let Some(pinned) = pinned else {
            self.state.borrow_mut().trust.accept(card);
            self.save_pins().await;
            return Ok(false);
        };
        if pinned.id() == card.id() {
            return Ok(false);
        }
        if self.chains(card, &pinned).await? {
            self.follow(card).await;
            return Ok(false);
        }
        Ok(self.settle(card, &pinned).await)
    }

    /// True when `card` walks back to `target` with every link holding; the verdict is
    /// remembered (a hostile card costs its requests once), a directory failure is not.
    async fn chains(&self, card: &Card, target: &Card) -> Result<bool, Error> {
        let key = (card.id(), target.id());
        if let Some(known) = self.state.borrow().chains.get(&key) {
            return Ok(*known);
        }
        let chain = walk(
            card,
            target,
            |id| async move { self.predecessor(&id).await },
        )
        .await?;
        let links = chain == Chain::Links;
        let mut state = self.state.borrow_mut();
        if state.chains.len() >= crate::client::cards::CAPACITY {
            state.chains.clear(); // bounded like the card cache: verdicts are cheap to redo
        }
        state.chains.insert(key, links);
        Ok(links)
    }

    /// Moves the pin along a verified rotation (the verified state moves with it).
    async fn follow(&self, card: &Card) {
        self.state.borrow_mut().trust.accept(card);
        self.save_pins().await;
    }

    /// A key change: `card` is not a verified rotation of `pinned`. The contact's
    /// verified state is cleared; the first time `card` is seen as one, it is counted and
    /// the listener is told. Always true.
    pub(super) async fn settle(&self, card: &Card, pinned: &Card) -> bool {
        let (first, cleared) = {
            let mut state = self.state.borrow_mut();
            let cleared = state.trust.clear_verified(card.identity());
            let first = state.reported.insert(card.id());
            if first {
                state.stats.key_changes += 1;
            }
            (first, cleared)
        };
        if cleared {
            self.save_pins().await;
        }
        // No borrow is held here: the listener may call back into the engine.
        let listener = self.key_change_listener.borrow().clone();
        if let (true, Some(listener)) = (first, listener) {
            listener(&KeyChange {
                identity: card.identity().to_owned(),
                card_id: card.id(),
                pinned: pinned.id(),
            });
        }
        true
    }

    /// The application accepts `identity`'s new key (after the user checked it): the
    /// current card is pinned. False when no current card of `identity` is known (look
    /// it up first). Accepting is not verifying: see [`Engine::mark_verified`].
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

    /// The user compared safety numbers (§5) for `identity`'s pinned card and they
    /// matched: the contact is verified until a key change clears it. False when nothing
    /// is pinned for `identity`.
    pub async fn mark_verified(&self, identity: &str) -> bool {
        let marked = self.state.borrow_mut().trust.set_verified(identity);
        if marked {
            self.save_pins().await;
        }
        marked
    }

    /// True when `identity` is verified (§5) and no key change was seen since.
    pub fn is_verified(&self, identity: &str) -> bool {
        self.state.borrow().trust.is_verified(identity)
    }

    /// A message sender's card: trusted when it is the pinned card, a verified rotation
    /// of it (the pin moves), or a card the pinned one is a verified rotation of (an older
    /// message); anything else is a key change. Err only when the directory could not be
    /// asked (retry).
    pub(super) async fn sender_key_changed(&self, card: &Card) -> Result<bool, Error> {
        let pinned = self.state.borrow().trust.pinned(card.identity()).cloned();
        let Some(pinned) = pinned else {
            return self.observe(card).await;
        };
        if pinned.id() == card.id() {
            return Ok(false);
        }
        let newer = self.chains(card, &pinned).await?;
        if !newer && self.chains(&pinned, card).await? {
            return Ok(false); // an older card of the pinned chain
        }
        {
            // A newer card or a key change: either way a cached current card is stale.
            let mut state = self.state.borrow_mut();
            let stale = state
                .current
                .get(card.identity())
                .is_some_and(|(c, _, _)| c.id() != card.id());
            if stale {
                state.current.remove(card.identity());
            }
        }
        if newer {
            self.follow(card).await;
            return Ok(false);
        }
        Ok(self.settle(card, &pinned).await)
    }
}
