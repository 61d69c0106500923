//! §13 device links. The new device (no keys yet) calls [`Engine::start_link`] and shows
//! [`Link::qr`]; the old device scans it and calls [`Engine::accept_link`], which seals its
//! keyring to the QR's key, posts it and returns the six-digit code to show. The new
//! device calls [`Engine::poll_link`] until a [`PendingLink`] arrives, shows
//! [`PendingLink::code`], and once the user has seen the same code on both screens calls
//! [`Engine::confirm_link`]. Nothing is stored before that.

use std::fmt;

use rand_core::CryptoRngCore;

use super::{Directory, Engine, Store};
use crate::client::Error;
use crate::proto::keyring::Keyring;
use crate::proto::link::{self, LinkQr, LinkRequest};
use crate::proto::Card;

/// How long a new device waits for the offer of a link, from [`Engine::start_link`]: the
/// time the directory keeps an offer (§7).
pub const LINK_TTL_MS: u64 = 5 * 60 * 1000;

/// The new device's side of a link in progress: the QR to show and the secret key the
/// offer is sealed to. `Debug` shows the link id and start time only.
pub struct Link {
    request: LinkRequest,
    started_ms: u64,
}

impl Link {
    /// The QR payload to show (`chatseal:link:…`).
    pub fn qr(&self) -> String {
        self.request.qr()
    }

    /// The link id the offer is posted under.
    pub fn link_id(&self) -> [u8; 16] {
        self.request.link_id()
    }

    /// When the link was started (unix ms); [`Engine::poll_link`] gives `LinkExpired`
    /// from `started_ms + LINK_TTL_MS` on.
    pub fn started_ms(&self) -> u64 {
        self.started_ms
    }
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("link_id", &hex::encode(self.link_id()))
            .field("started_ms", &self.started_ms)
            .finish_non_exhaustive()
    }
}

/// An offer that opened and holds this identity's current keys, waiting for the user to
/// confirm that both screens show [`PendingLink::code`]. Nothing is stored yet. `Debug`
/// shows the card id and the number of key generations only.
pub struct PendingLink {
    keyring: Keyring,
    code: String,
}

impl PendingLink {
    /// The six-digit code the old device shows too.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The current card of the keys offered.
    pub fn card(&self) -> &Card {
        self.keyring.current().card()
    }
}

impl fmt::Debug for PendingLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingLink")
            .field("card_id", &self.card().id())
            .field("generations", &self.keyring.len())
            .finish_non_exhaustive()
    }
}

impl<D: Directory + Clone + 'static, S: Store> Engine<D, S> {
    /// New device: a fresh link (a random link id and X25519 key), started at `now_ms`.
    pub fn start_link(&self, rng: &mut impl CryptoRngCore, now_ms: u64) -> Link {
        Link {
            request: LinkRequest::new(rng),
            started_ms: now_ms,
        }
    }

    /// New device: asks the directory for the link's offer. `Ok(None)` while there is none
    /// yet; `LinkExpired` from [`LINK_TTL_MS`] after the start on (nothing is asked then).
    /// An offer is taken from the directory (a second poll gives `None`) and opened
    /// (`Integrity` when it was altered or sealed to another key, `Malformed` for a bad
    /// layout); `LinkRejected` when its keys are not this identity's current card, as the
    /// directory says now. Nothing is stored: see [`Engine::confirm_link`].
    pub async fn poll_link(&self, link: &Link, now_ms: u64) -> Result<Option<PendingLink>, Error> {
        if now_ms.saturating_sub(link.started_ms) >= LINK_TTL_MS {
            return Err(Error::LinkExpired);
        }
        let Some(text) = self.directory.take_link(&link.link_id()).await? else {
            return Ok(None);
        };
        let offer = link.request.open(&text)?;
        let offered = offer.keyring().current().card();
        if offered.identity() != self.identity {
            return Err(Error::LinkRejected);
        }
        match self.directory_own_card().await? {
            Some(current) if current.id() == offered.id() => {}
            _ => return Err(Error::LinkRejected),
        }
        let code = offer.code().to_owned();
        Ok(Some(PendingLink {
            keyring: offer.into_keyring(),
            code,
        }))
    }

    /// New device, once the user confirmed the code: makes the offered keys this device's
    /// and stores them ([`Engine::adopt`]).
    pub async fn confirm_link(&self, pending: PendingLink) -> Result<Card, Error> {
        self.adopt(pending.keyring).await
    }

    /// Old device: seals this device's keyring to the scanned QR (`Malformed` when it is
    /// not a link QR; `NoLocalKey` without keys), posts the offer (`LinkUsed` when that
    /// QR was used already) and returns the six-digit code to show.
    pub async fn accept_link(
        &self,
        rng: &mut impl CryptoRngCore,
        qr_text: &str,
    ) -> Result<String, Error> {
        let qr = LinkQr::parse(qr_text)?;
        let (offer, code) = {
            let state = self.state.borrow();
            let keys = state.keys.as_ref().ok_or(Error::NoLocalKey)?;
            link::seal_offer(rng, &qr, keys.keyring())?
        };
        self.directory.post_link(&qr.link_id(), &offer).await?;
        Ok(code)
    }
}
