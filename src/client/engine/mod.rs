//! The directory-aware engine behind `ChatSeal`: local keys in a [`Store`], public
//! cards from a [`Directory`], trust on first use, and the operations of the JS API.
//!
//! Platform-neutral and single-threaded: the web layer provides a `fetch` directory and
//! an IndexedDB store; native tests provide in-memory ones. No `RefCell` borrow is held
//! across an `.await`, so a re-entrant call from JS cannot alias state.
//!
//! This module holds the engine's state and its entry points (open, encrypt, decrypt);
//! each job has its own module:
//! - `store`: what a device keeps ([`Record`], [`Store`], [`MemoryStore`]) and the
//!   engine's loads and saves;
//! - `lookup`: the card cache — current cards from the directory, sender cards by id;
//! - `key_changes`: trust on first use, verified rotations followed, key changes
//!   reported;
//! - `account`: this identity's own keys — register, rotate, adopt, unregister, wipe;
//! - `backups`: the password backup (§4) and passkey backups (§4.1) at the directory —
//!   made, listed, restored, re-sealed, deleted;
//! - `linking`: §13 device links — the new device's QR and poll, the old device's
//!   offer, the code confirmed before the keys are used;
//! - `sessions`: sending through group sessions (§9) and sharing them;
//! - `shares`: receiving group sessions — shares fetched, checked and kept;
//! - `pairwise`: §11 messages — the pair keys kept in memory, the other card resolved;
//! - `flights`: one directory request shared by every caller that waits for it.

mod account;
mod backups;
mod flights;
mod key_changes;
mod linking;
mod lookup;
mod pairwise;
mod sessions;
mod shares;
mod store;

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use futures_util::future::WeakShared;
use futures_util::lock::Mutex;

use rand_core::CryptoRngCore;

use super::groups::Sessions;
use super::{CardCache, Decrypted, Error, Identity, Trust};
use crate::proto::group::{self, SessionId};

use crate::proto::{self, safety, Card, CardId, ContentType};
use flights::{CardFlight, FlightFuture, ShareFlight};
use store::{load_keys, load_pins, load_sessions};

pub use backups::PasskeyBackup;
pub use key_changes::{KeyChange, KeyChangeListener};
pub use linking::{Link, PendingLink, LINK_TTL_MS};
pub use lookup::Looked;
pub use store::{MemoryStore, Record, Store};

/// How long a looked-up current card is reused before asking the directory again.
pub const LOOKUP_TTL_MS: u64 = 5 * 60 * 1000;

/// Channels with more other members than this use group sessions (§9); smaller ones
/// per-message stanzas (§3), and one other member pairwise messages (§11). [`Engine::set_group_threshold`] changes it.
pub const DEFAULT_GROUP_THRESHOLD: usize = 10;

/// After the directory had no share for a session, messages of that session fail with
/// `NoSessionKey` without asking again for this long (a history of one unknown session
/// costs one request, not one per message).
pub const MISSING_SHARE_TTL_MS: u64 = 30 * 1000;

/// The most shares one `POST /v2/shares` carries (§7).
pub const MAX_SHARES_PER_POST: usize = 1000;

/// The longest message text (`csm2.`/`csg2.`) [`Engine::decrypt`] reads and
/// [`Engine::encrypt`] writes, in bytes: a §3 message to the most recipients (1000
/// stanzas, ~125 KiB of text) still has room for 670 KiB of content; larger content goes
/// in a file (§10). `decrypt` checks it before any decoding, so a hostile text (from a chat
/// server, say) costs no work.
pub const MAX_MESSAGE_TEXT: usize = 1024 * 1024;

/// `Malformed` text of a message over [`MAX_MESSAGE_TEXT`].
const TOO_LONG_TO_READ: &str = "message: longer than 1 MiB of text";

/// The error of `decrypt` for a text over [`MAX_MESSAGE_TEXT`], for callers that can tell
/// before they have the text as a `&str` (a JS string longer than that in UTF-16 units is
/// longer in UTF-8 bytes too).
pub fn too_long_to_read() -> Error {
    proto::Error::Malformed(TOO_LONG_TO_READ).into()
}
/// `InvalidArgument` text of content whose message would be over [`MAX_MESSAGE_TEXT`].
const TOO_LONG_TO_SEND: &str =
    "message: longer than 1 MiB of text; send large content as a file (encryptFile)";

/// One share for the directory: (recipient identity, session, the share's §3 text).
pub type ShareOut = (String, SessionId, String);

/// What a publish did at the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Publish {
    /// Stored as the new current card (or it already was).
    Stored,
    /// Refused: another current card exists and the new one does not chain to it.
    Conflict,
}

/// The key directory (PROTOCOL §7), as the engine needs it. Texts are returned as
/// received; the engine verifies every card itself.
#[allow(async_fn_in_trait)] // single-threaded by design (wasm32): no Send bounds wanted
pub trait Directory {
    /// Current cards of up to 100 identities: `(identity, card text)` pairs.
    async fn lookup(&self, identities: &[String]) -> Result<Vec<(String, String)>, Error>;
    /// Every card `identity` published, oldest first.
    async fn history(&self, identity: &str) -> Result<Vec<String>, Error>;
    /// A card by id, current or not.
    async fn card_by_id(&self, id: &CardId) -> Result<Option<String>, Error>;
    /// Publishes the caller's card.
    async fn publish(&self, card: &str, replace: bool) -> Result<Publish, Error>;
    /// Revokes the caller's current card.
    async fn revoke(&self) -> Result<(), Error>;
    /// Stores one of the caller's backups: the password backup (`csb1.`, §4) or the
    /// passkey backup (`csw1.`, §4.1) of the credential it names, replacing the one of
    /// the same kind.
    async fn put_backup(&self, backup: &str) -> Result<(), Error>;
    /// Every backup of the caller, as the directory returns them (the password backup
    /// first); empty when there is none.
    async fn backups(&self) -> Result<Vec<String>, Error>;
    /// Deletes the caller's password backup (`None`) or the passkey backup of
    /// `credential`; deleting one that does not exist is not an error.
    async fn delete_backup(&self, credential: Option<&[u8]>) -> Result<(), Error>;
    /// Stores a device-link offer (§13) under `link_id`: `LinkUsed` when one is already
    /// waiting there.
    async fn post_link(&self, link_id: &[u8; 16], offer: &str) -> Result<(), Error>;
    /// Takes the offer waiting under `link_id` (it is gone afterwards); `None` when there
    /// is none (not yet, already taken, or expired).
    async fn take_link(&self, link_id: &[u8; 16]) -> Result<Option<String>, Error>;
    /// Stores group-session shares (at most [`MAX_SHARES_PER_POST`]), each readable only
    /// by its recipient.
    async fn post_shares(&self, shares: &[ShareOut]) -> Result<(), Error>;
    /// The caller's shares (§3 texts) of one session.
    async fn session_shares(&self, session: &SessionId) -> Result<Vec<String>, Error>;
    /// One page of the caller's shares stored after `cursor` (`""`: from the start), and
    /// the cursor to ask from next.
    async fn shares_after(&self, cursor: &str) -> Result<(Vec<String>, String), Error>;
}

/// Counters for `stats()`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages decrypted and verified.
    pub decrypted: u64,
    /// Jobs cancelled before their crypto ran.
    pub cancelled: u64,
    /// Requests made to the directory for cards.
    pub lookups: u64,
    /// Cards answered from memory instead of the directory.
    pub cache_hits: u64,
    /// Key changes seen (cards that do not follow the pinned one).
    pub key_changes: u64,
    /// Group-session shares sent to the directory.
    pub shares_sent: u64,
    /// Group-session shares accepted from the directory.
    pub shares_accepted: u64,
    /// Requests made to the directory for shares.
    pub share_requests: u64,
}

#[derive(Default)]
struct State {
    keys: Option<Identity>,
    cards: CardCache,
    trust: Trust,
    /// identity → (current card, fetched at ms, key changed)
    current: HashMap<String, (Card, u64, bool)>,
    /// identity → the lookup request in flight for it.
    in_flight: HashMap<String, WeakShared<FlightFuture>>,
    /// Card ids already reported as key changes (one report per new card).
    reported: HashSet<CardId>,
    /// (card, target) → whether the card walks back to the target through verified links
    /// (§2): each verdict costs its directory requests once.
    chains: HashMap<(CardId, CardId), bool>,
    stats: Stats,
    sessions: Sessions,
    /// Sessions the directory had no share for, and when it said so (ms).
    missing: HashMap<SessionId, u64>,
    /// session → the share request in flight for it.
    share_flights: HashMap<SessionId, WeakShared<ShareFlight>>,
    /// card id → the card request in flight for it.
    card_flights: HashMap<CardId, WeakShared<CardFlight>>,
}

/// One identity's client.
pub struct Engine<D, S> {
    identity: String,
    directory: D,
    store: S,
    state: RefCell<State>,
    key_change_listener: RefCell<Option<KeyChangeListener>>,
    group_threshold: Cell<usize>,
    clock: RefCell<Clock>,
    /// Held by every change of an outbound session (this instance; the web layer adds a
    /// Web Lock across tabs).
    send_lock: Mutex<()>,
}

/// The time in unix milliseconds.
pub type Clock = Rc<dyn Fn() -> u64>;

impl<D: Directory + Clone + 'static, S: Store> Engine<D, S> {
    /// Opens the client of `identity`, loading its keys from `store` if it has them.
    pub async fn open(identity: &str, directory: D, store: S) -> Result<Self, Error> {
        proto::keys::validate_identity(identity)?;
        let keys = load_keys(&store, identity).await?;
        let trust = load_pins(&store, identity).await?;
        let mut sessions = Sessions::default();
        load_sessions(&store, identity, &mut sessions).await;
        let engine = Engine {
            identity: identity.to_owned(),
            directory,
            store,
            state: RefCell::new(State {
                keys,
                trust,
                sessions,
                ..State::default()
            }),
            key_change_listener: RefCell::new(None),
            group_threshold: Cell::new(DEFAULT_GROUP_THRESHOLD),
            clock: RefCell::new(Rc::new(|| 0)),
            send_lock: Mutex::new(()),
        };
        Ok(engine)
    }

    /// Reads the keys from the store again: another tab (or instance) on the same store
    /// registered, rotated, restored or wiped.
    pub async fn reload(&self) -> Result<(), Error> {
        let keys = load_keys(&self.store, &self.identity).await?;
        let trust = load_pins(&self.store, &self.identity).await?;
        let mut sessions = self.state.borrow().sessions.clone();
        load_sessions(&self.store, &self.identity, &mut sessions).await;
        let mut state = self.state.borrow_mut();
        state.keys = keys;
        state.trust = trust;
        state.sessions = sessions;
        Ok(())
    }

    /// Sets the count of other members above which `encrypt` uses group sessions (default
    /// [`DEFAULT_GROUP_THRESHOLD`]).
    pub fn set_group_threshold(&self, members: usize) {
        self.group_threshold.set(members);
    }

    /// Sets the clock (unix ms) used to expire remembered missing shares. The default
    /// clock reads 0: a missing share is then asked for again only after
    /// [`Engine::sync_shares`].
    pub fn set_clock(&self, clock: Clock) {
        *self.clock.borrow_mut() = clock;
    }

    fn now(&self) -> u64 {
        let clock = self.clock.borrow().clone();
        clock()
    }

    /// The identity this client speaks for.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// True when this device holds keys for the identity.
    pub fn has_local_key(&self) -> bool {
        self.state.borrow().keys.is_some()
    }

    /// The current card of this device's keys.
    pub fn own_card(&self) -> Result<Card, Error> {
        self.state
            .borrow()
            .keys
            .as_ref()
            .map(|k| k.card().clone())
            .ok_or(Error::NoLocalKey)
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        let state = self.state.borrow();
        Stats {
            cache_hits: state.stats.cache_hits + state.cards.hits(),
            ..state.stats
        }
    }

    /// Counts a job cancelled before its crypto ran.
    pub fn count_cancelled(&self) {
        self.state.borrow_mut().stats.cancelled += 1;
    }

    /// Encrypts to the current cards of `to` (and this device's own card), bound to
    /// `context`: as a pairwise message (§11) when `to` names exactly one other
    /// identity, with per-message stanzas (§3), or through this device's group session
    /// for `context` (§9) when [`Engine::uses_group_session`] says so. Refuses
    /// (`Directory`) to encrypt to a card that is a key change not yet accepted.
    pub async fn encrypt(
        &self,
        rng: &mut impl CryptoRngCore,
        content_type: ContentType,
        data: &[u8],
        to: &[String],
        context: &str,
        now_ms: u64,
    ) -> Result<String, Error> {
        if !self.has_local_key() {
            return Err(Error::NoLocalKey);
        }
        // base64 alone makes the text 4/3 of the content: refused before any work.
        if data.len() > MAX_MESSAGE_TEXT / 4 * 3 {
            return Err(proto::Error::InvalidArgument(TOO_LONG_TO_SEND).into());
        }
        let text = if self.uses_group_session(to, context) {
            self.group_encrypt(rng, content_type, data, to, context, now_ms)
                .await?
        } else {
            let looked = self.members(to, now_ms).await?;
            let cards: Vec<&Card> = looked.iter().map(|l| &l.card).collect();
            let state = self.state.borrow();
            let keys = state.keys.as_ref().ok_or(Error::NoLocalKey)?;
            keys.encrypt(rng, &cards, content_type, data, context, now_ms)?
        };
        // Nobody would read it (the stanzas and padding took it over the limit).
        if text.len() > MAX_MESSAGE_TEXT {
            return Err(proto::Error::InvalidArgument(TOO_LONG_TO_SEND).into());
        }
        Ok(text)
    }

    /// The current cards of `to` other than this identity, refusing any key change not
    /// yet accepted.
    async fn members(&self, to: &[String], now_ms: u64) -> Result<Vec<Looked>, Error> {
        let looked = self.lookup(&self.others(to), now_ms).await?;
        if let Some(changed) = looked.iter().find(|l| l.key_changed) {
            return Err(Error::Directory(format!(
                "the key of {:?} changed outside its rotation chain; compare safety numbers and accept the new key before sending",
                changed.card.identity()
            )));
        }
        Ok(looked)
    }

    /// The identities of `to` other than this one, each once, sorted.
    fn others(&self, to: &[String]) -> Vec<String> {
        let mut others: Vec<String> = to
            .iter()
            .filter(|i| **i != self.identity)
            .cloned()
            .collect();
        others.sort_unstable();
        others.dedup();
        others
    }

    /// Decrypts and verifies `text` (a §3 `csm2.` message, a §11 `csp2.` pairwise
    /// message or a §9 `csg2.` group message); the result says `key_changed` when the sender's card does not follow the
    /// one this client pinned for them.
    pub async fn decrypt(
        &self,
        text: &str,
        from: Option<&str>,
        context: Option<&str>,
    ) -> Result<Decrypted, Error> {
        if text.len() > MAX_MESSAGE_TEXT {
            return Err(too_long_to_read());
        }
        if text.starts_with(group::TEXT_PREFIX) {
            return self.group_decrypt(text, from, context).await;
        }
        if text.starts_with(proto::pairwise::TEXT_PREFIX) {
            if !self.has_local_key() {
                return Err(Error::NoLocalKey);
            }
            let (message, card) = self.pairwise_open(text, from, context).await?;
            return self.finish_decrypt(message, Some(card)).await;
        }
        // Parse and open before any network: a message not for us costs no request.
        let envelope = proto::Envelope::parse(text)?;
        let opened = {
            let state = self.state.borrow();
            let keys = state.keys.as_ref().ok_or(Error::NoLocalKey)?;
            envelope.open(keys.keyring())?
        };
        let card = self.sender_card(&opened.sender_card_id()).await?;
        let message = opened.verify(card.as_ref(), from, context)?;
        self.finish_decrypt(message, card).await
    }

    /// The result of a verified message, with the trust check of its sender's card.
    async fn finish_decrypt(
        &self,
        message: proto::Message,
        card: Option<Card>,
    ) -> Result<Decrypted, Error> {
        let mut result = Decrypted::from_message(message)?;
        if let Some(card) = card {
            if card.identity() != self.identity {
                result.key_changed = self.sender_key_changed(&card).await?;
            }
        }
        self.state.borrow_mut().stats.decrypted += 1;
        Ok(result)
    }

    /// The safety number (§5) of this identity and `other`'s current card.
    pub async fn safety_number(&self, other: &str, now_ms: u64) -> Result<String, Error> {
        let own = self.own_card()?;
        let looked = self.lookup(&[other.to_owned()], now_ms).await?;
        let theirs = looked
            .first()
            .map(|l| l.card.clone())
            .ok_or_else(|| Error::Directory(format!("{other:?} has no card")))?;
        Ok(safety::safety_number(&own, &theirs))
    }
}
