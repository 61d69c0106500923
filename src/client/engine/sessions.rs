//! Sending through group sessions (§9): the session for a channel started, rotated when
//! §9's rules end it, and shared with every member who lacks it.

use rand_core::CryptoRngCore;

use super::{Directory, Engine, ShareOut, Store, MAX_SHARES_PER_POST};
use crate::client::groups::{Members, Outbound};
use crate::client::Error;
use crate::proto::envelope::Content;
use crate::proto::group::AcceptedShare;
use crate::proto::{Card, ContentType};

impl<D: Directory + Clone + 'static, S: Store> Engine<D, S> {
    /// True when a message to `to` in `context` goes through a group session: a
    /// non-empty context and more other members than the threshold (PROTOCOL §11: "§3 for
    /// 2 to `groupThreshold` other members; §9 beyond"); one other member gets a §11
    /// pairwise message, whatever the threshold.
    pub fn uses_group_session(&self, to: &[String], context: &str) -> bool {
        let others = self.others(to).len();
        !context.is_empty() && others >= 2 && others > self.group_threshold.get()
    }

    /// §9 sending: the session for `context` (started, rotated or shared to new members
    /// as §9 says), one message at its index, the index moved on and stored before the
    /// text is returned.
    pub(super) async fn group_encrypt(
        &self,
        rng: &mut impl CryptoRngCore,
        content_type: ContentType,
        data: &[u8],
        to: &[String],
        context: &str,
        now_ms: u64,
    ) -> Result<String, Error> {
        let _held = self.send_lock.lock().await;
        let mut session = self
            .prepare_session(rng, to, context, now_ms, true)
            .await?
            .ok_or(Error::NoLocalKey)?;
        let text = {
            let state = self.state.borrow();
            let keys = state.keys.as_ref().ok_or(Error::NoLocalKey)?;
            session.seal(
                keys.keyring().current(),
                &Content {
                    content_type,
                    sent_at: now_ms,
                    context,
                    // No directory head yet (§12): epoch 0, a zero root.
                    head_epoch: 0,
                    head_root: [0; 32],
                    data,
                },
            )?
        };
        // The index is spent whether or not the store takes the new one: never reuse it.
        self.state
            .borrow_mut()
            .sessions
            .outbound
            .insert(context.to_owned(), session);
        self.save_outbound().await?;
        Ok(text)
    }

    /// The channel `context` now has the members `to`: when this device has a group
    /// session there, a member who left ends it (the next message starts a new one that
    /// the leaver gets no share of) and a member who joined gets the current chain key
    /// now, so reads from the next message on. Does nothing below the threshold or
    /// without a session.
    pub async fn update_members(
        &self,
        rng: &mut impl CryptoRngCore,
        to: &[String],
        context: &str,
        now_ms: u64,
    ) -> Result<(), Error> {
        if !self.has_local_key() || !self.uses_group_session(to, context) {
            return Ok(());
        }
        let _held = self.send_lock.lock().await;
        if let Some(session) = self
            .prepare_session(rng, to, context, now_ms, false)
            .await?
        {
            self.state
                .borrow_mut()
                .sessions
                .outbound
                .insert(context.to_owned(), session);
        }
        self.save_outbound().await
    }

    /// The outbound session for `context` that may carry the next message to `to`,
    /// shared with every member who lacks it (the directory has the shares when this
    /// returns). A session that §9's rules end is dropped; a new one is started only when
    /// `start`. Call with the send lock held.
    pub(super) async fn prepare_session(
        &self,
        rng: &mut impl CryptoRngCore,
        to: &[String],
        context: &str,
        now_ms: u64,
        start: bool,
    ) -> Result<Option<Outbound>, Error> {
        // Another tab may have sent in the meantime: the stored sessions are the truth.
        self.reload_outbound().await?;
        let looked = self.members(to, now_ms).await?;
        let own = self.own_card()?;
        let mut cards: Vec<&Card> = looked.iter().map(|l| &l.card).collect();
        cards.push(&own);
        let members: Members = cards
            .iter()
            .map(|c| (c.identity().to_owned(), c.id()))
            .collect();
        let current = self.state.borrow().sessions.outbound.get(context).cloned();
        let mut session = match current {
            Some(s) if s.expired(own.id(), &members, now_ms).is_none() => s,
            Some(_) | None if !start => {
                self.state.borrow_mut().sessions.outbound.remove(context);
                return Ok(None);
            }
            _ => Outbound::start(rng, own.id(), now_ms),
        };
        let needed: Vec<&Card> = cards
            .into_iter()
            .filter(|c| session.members.get(c.identity()) != Some(&c.id()))
            .collect();
        if !needed.is_empty() {
            let share = session.share();
            let sealed: Vec<ShareOut> = {
                let state = self.state.borrow();
                let keys = state.keys.as_ref().ok_or(Error::NoLocalKey)?;
                needed
                    .iter()
                    .map(|card| {
                        let text =
                            share.seal_to(rng, keys.keyring().current(), card, context, now_ms)?;
                        Ok((card.identity().to_owned(), share.session_id, text))
                    })
                    .collect::<Result<_, Error>>()?
            };
            for chunk in sealed.chunks(MAX_SHARES_PER_POST) {
                self.directory.post_shares(chunk).await?;
            }
            let mut state = self.state.borrow_mut();
            state.stats.shares_sent += sealed.len() as u64;
            for card in &needed {
                session
                    .members
                    .insert(card.identity().to_owned(), card.id());
            }
            if needed.iter().any(|c| c.id() == own.id()) {
                // This device reads its own messages without asking the directory.
                state.sessions.insert(AcceptedShare {
                    share,
                    sender_card_id: own.id(),
                    sender: self.identity.clone(),
                    context: context.to_owned(),
                });
            }
        }
        Ok(Some(session))
    }
}
