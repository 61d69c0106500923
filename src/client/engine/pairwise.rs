//! §11 pairwise messages in the engine: the other card resolved (own cards locally,
//! others through the card cache), the pair key from the identity's memory, and the
//! message opened in §11's order. Session shares (§9) and messages to one other member
//! are read here; [`Identity::encrypt`](crate::client::Identity::encrypt) writes them.

use std::rc::Rc;

use crate::client::Error;
use crate::proto::pairwise::{PairKey, Pairwise, Side};
use crate::proto::{self, Card, CardId};

use super::{Directory, Engine, Store};

impl<D: Directory + Clone + 'static, S: Store> Engine<D, S> {
    /// The pair key of this device's card `own` and the card `other`: derived on first
    /// use by the identity, then kept in its memory (never stored). An all-zero pair
    /// secret is `Integrity` (§11 step 4).
    pub(super) fn pair_key(&self, own: &CardId, other: &Card) -> Result<Rc<PairKey>, Error> {
        let state = self.state.borrow();
        let keys = state.keys.as_ref().ok_or(Error::NoLocalKey)?;
        keys.pair_key(own, other)
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
