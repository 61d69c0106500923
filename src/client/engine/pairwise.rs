//! §11 pairwise messages in the engine: the pair key of two cards derived once and kept
//! in memory only, the other card resolved (own cards locally, others through the card
//! cache), and the message opened in §11's order. Session shares (§9) are read here.

use std::rc::Rc;

use crate::client::Error;
use crate::proto::pairwise::{PairKey, Pairwise, Side};
use crate::proto::{self, Card, CardId};

use super::{Directory, Engine, Store};

impl<D: Directory + Clone + 'static, S: Store> Engine<D, S> {
    /// The pair key of this device's card `own` and the card `other`, derived on first
    /// use and then kept in memory (never stored). An all-zero pair secret is
    /// `Integrity` (§11 step 4).
    pub(super) fn pair_key(&self, own: &CardId, other: &Card) -> Result<Rc<PairKey>, Error> {
        let slot = (*own, other.id());
        if let Some(key) = self.state.borrow().pair_keys.get(&slot) {
            return Ok(Rc::clone(key));
        }
        let key = {
            let state = self.state.borrow();
            let keys = state.keys.as_ref().ok_or(Error::NoLocalKey)?;
            let entry = keys
                .keyring()
                .find(own)
                .ok_or(proto::Error::NotARecipient)?;
            Rc::new(PairKey::derive(entry.keys(), other)?)
        };
        self.state
            .borrow_mut()
            .pair_keys
            .insert(slot, Rc::clone(&key));
        Ok(key)
    }

    /// A card of the pair: this device's own cards resolve locally, any other through
    /// the card cache and the directory (`UnknownSender` when it cannot be found).
    async fn pair_card(&self, id: &CardId) -> Result<Card, Error> {
        let own = {
            let state = self.state.borrow();
            let keys = state.keys.as_ref().ok_or(Error::NoLocalKey)?;
            keys.keyring().find(id).map(|e| e.card().clone())
        };
        match own {
            Some(card) => Ok(card),
            None => Ok(self
                .sender_card(id)
                .await?
                .ok_or(proto::Error::UnknownSender)?),
        }
    }

    /// §11 steps 1–7 for `text`, with the sender's card for the trust check.
    pub(super) async fn pairwise_open(
        &self,
        text: &str,
        from: Option<&str>,
        context: Option<&str>,
    ) -> Result<(proto::Message, Card), Error> {
        let message = Pairwise::parse(text)?;
        let (side, own, other_id) = {
            let state = self.state.borrow();
            let keys = state.keys.as_ref().ok_or(Error::NoLocalKey)?;
            let (side, own, other_id) = message.side(keys.keyring())?;
            (side, own.card().clone(), other_id)
        };
        let other = self.pair_card(&other_id).await?;
        let pair_key = self.pair_key(&own.id(), &other)?;
        let sender = match side {
            Side::Recipient => other,
            Side::Sender => own,
        };
        let opened = message.open(&pair_key, &sender, from, context)?;
        Ok((opened, sender))
    }
}
