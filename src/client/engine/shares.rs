//! Receiving group sessions (§9): shares fetched from the directory (one request per
//! session however many messages wait), checked, kept at their earliest index; and the
//! group messages they open.

use futures_util::future::FutureExt;

use super::flights::join_flight;
use super::{Directory, Engine, Store, MISSING_SHARE_TTL_MS};
use crate::client::{Decrypted, Error};
use crate::proto::group::{self, AcceptedShare, GroupMessage, SessionId};
use crate::proto::{self};

impl<D: Directory + Clone + 'static, S: Store> Engine<D, S> {
    /// Verifies shares (§11 texts from the directory) and keeps those that pass §9's
    /// checks, each at its earliest index; stores the inbound sessions when one was new.
    /// A share that fails is skipped: only messages it would have opened fail, with
    /// `NoSessionKey`.
    pub(super) async fn ingest_shares(&self, texts: &[String]) -> usize {
        let mut kept = 0;
        for text in texts {
            let Ok(accepted) = self.open_share(text).await else {
                continue;
            };
            let mut state = self.state.borrow_mut();
            state.stats.shares_accepted += 1;
            state.missing.remove(&accepted.share.session_id);
            if state.sessions.insert(accepted) {
                kept += 1;
            }
        }
        if kept > 0 {
            self.save_inbound().await;
        }
        kept
    }

    /// One share (a §11 text) through §11's checks, with no SDK-named sender and no
    /// expected context (§9: the sender card binds a share; its context is checked
    /// against each message it opens), then §9's: content type 4, a well-formed `CSS1`.
    pub(super) async fn open_share(&self, text: &str) -> Result<AcceptedShare, Error> {
        let (message, _) = self.pairwise_open(text, None, None).await?;
        Ok(group::accept_share(message)?)
    }

    /// Pulls every share stored for this identity since the last pull (the `after`
    /// cursor), so that channels open with their sessions known. Resolves to the number
    /// of new sessions.
    pub async fn sync_shares(&self) -> Result<usize, Error> {
        if !self.has_local_key() {
            return Err(Error::NoLocalKey);
        }
        let mut kept = 0;
        loop {
            let cursor = self.state.borrow().sessions.cursor.clone();
            let (texts, next) = self.directory.shares_after(&cursor).await?;
            self.state.borrow_mut().stats.share_requests += 1;
            kept += self.ingest_shares(&texts).await;
            let done = texts.is_empty() || next == cursor;
            self.state.borrow_mut().sessions.cursor = next;
            if done {
                break;
            }
        }
        self.state.borrow_mut().missing.clear();
        self.save_inbound().await;
        Ok(kept)
    }

    /// Asks the directory for the shares of `session` (one request however many messages
    /// wait for it) and keeps those that pass.
    pub(super) async fn fetch_session(&self, session: SessionId) -> Result<(), Error> {
        let now = self.now();
        let flight = {
            let mut state = self.state.borrow_mut();
            if state
                .missing
                .get(&session)
                .is_some_and(|at| now.saturating_sub(*at) < MISSING_SHARE_TTL_MS)
            {
                return Err(proto::Error::NoSessionKey.into());
            }
            let (flight, new) = join_flight(&mut state.share_flights, session, || {
                let directory = self.directory.clone();
                async move { directory.session_shares(&session).await }.boxed_local()
            });
            if new {
                state.stats.share_requests += 1;
            }
            flight
        };
        let texts = flight.await?;
        self.ingest_shares(&texts).await;
        let mut state = self.state.borrow_mut();
        if !state.sessions.inbound.keys().any(|(id, _)| *id == session) {
            state.missing.insert(session, now);
        }
        Ok(())
    }

    /// §9 reading: the session's chain key at the message's index (its shares fetched
    /// when unknown), the body, then §3's steps 5–7 and the session's context.
    pub(super) async fn group_decrypt(
        &self,
        text: &str,
        from: Option<&str>,
        context: Option<&str>,
    ) -> Result<Decrypted, Error> {
        let message = GroupMessage::parse(text)?;
        if !self.has_local_key() {
            return Err(Error::NoLocalKey);
        }
        let header = *message.header();
        let key = (header.session_id, header.sender_card_id);
        let known = self.state.borrow().sessions.inbound.contains_key(&key);
        if !known {
            self.fetch_session(header.session_id).await?;
        }
        let (opened, share) = {
            let mut state = self.state.borrow_mut();
            let inbound = state
                .sessions
                .inbound
                .get_mut(&key)
                // A share for another channel than the one expected is no share (§9).
                .filter(|inbound| inbound.share.fits(context))
                .ok_or(proto::Error::NoSessionKey)?;
            (inbound.open(&message)?, inbound.share.clone())
        };
        let card = self.sender_card(&opened.sender_card_id()).await?;
        let verified = opened.verify(card.as_ref(), from, context)?;
        group::check_session_context(&verified, &share)?;
        self.finish_decrypt(verified, card).await
    }
}
