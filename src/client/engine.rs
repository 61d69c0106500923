//! The directory-aware engine behind `ChatSeal`: local keys in a [`Store`], public
//! cards from a [`Directory`], trust on first use, and the operations of the JS API.
//!
//! Platform-neutral and single-threaded: the web layer provides a `fetch` directory and
//! an IndexedDB store; native tests provide in-memory ones. No `RefCell` borrow is held
//! across an `.await`, so a re-entrant call from JS cannot alias state.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use futures_util::future::{try_join_all, FutureExt, LocalBoxFuture, Shared, WeakShared};
use futures_util::lock::Mutex;

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use super::groups::{Members, Outbound, Sessions};
use super::{CardCache, Decrypted, Error, Identity, Observation, Trust};
use crate::proto::envelope::{Content, Envelope};
use crate::proto::group::{self, AcceptedShare, GroupMessage, SessionId};
use crate::proto::{self, backup, safety, Card, CardId, ContentType, Keyring};

/// How long a looked-up current card is reused before asking the directory again.
pub const LOOKUP_TTL_MS: u64 = 5 * 60 * 1000;

/// Channels of more members than this (the sender included) use group sessions (§9);
/// smaller ones per-message stanzas (§3). [`Engine::set_group_threshold`] changes it.
pub const DEFAULT_GROUP_THRESHOLD: usize = 10;

/// After the directory had no share for a session, messages of that session fail with
/// `NoSessionKey` without asking again for this long (a history of one unknown session
/// costs one request, not one per message).
pub const MISSING_SHARE_TTL_MS: u64 = 30 * 1000;

/// The most shares one `POST /v1/shares` carries (§7).
pub const MAX_SHARES_PER_POST: usize = 1000;

/// The longest message text (`csm1.`/`csg1.`) [`Engine::decrypt`] reads and
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
    /// Stores the caller's backup.
    async fn put_backup(&self, backup: &str) -> Result<(), Error>;
    /// The caller's backup.
    async fn get_backup(&self) -> Result<Option<String>, Error>;
    /// Deletes the caller's backup.
    async fn delete_backup(&self) -> Result<(), Error>;
    /// Stores group-session shares (at most [`MAX_SHARES_PER_POST`]), each readable only
    /// by its recipient.
    async fn post_shares(&self, shares: &[ShareOut]) -> Result<(), Error>;
    /// The caller's shares (§3 texts) of one session.
    async fn session_shares(&self, session: &SessionId) -> Result<Vec<String>, Error>;
    /// One page of the caller's shares stored after `cursor` (`""`: from the start), and
    /// the cursor to ask from next.
    async fn shares_after(&self, cursor: &str) -> Result<(Vec<String>, String), Error>;
}

/// Local storage of one identity's keyring (CSK1 bytes). Implementations seal it at
/// rest (the web store with a non-extractable WebCrypto key).
/// What a [`Store`] keeps for an identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Record {
    /// The keyring (`CSK1` bytes): private keys.
    Keyring,
    /// The pinned cards of other identities (trust on first use), so a key change
    /// between two visits is still noticed.
    Pins,
    /// This device's outbound group sessions (chain keys): written only by a sender
    /// holding the send lock, so that no index is ever used twice.
    Outbound,
    /// The inbound group sessions (shares held) and the share cursor.
    Inbound,
}

/// Where a device keeps its records. The web store seals them; bytes go in and come
/// out as given.
#[allow(async_fn_in_trait)]
pub trait Store {
    /// `identity`'s record, if stored.
    async fn load(
        &self,
        identity: &str,
        record: Record,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, Error>;
    /// Stores (replaces) `identity`'s record.
    async fn save(&self, identity: &str, record: Record, bytes: &[u8]) -> Result<(), Error>;
    /// Removes everything.
    async fn wipe(&self) -> Result<(), Error>;
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

/// One directory lookup request, shared by every `lookup` that wants its identities
/// while it is in flight. Dropping every waiter drops the request (the web directory
/// aborts its `fetch`).
type Flight = Shared<FlightFuture>;
type FlightFuture = LocalBoxFuture<'static, Result<Vec<(String, String)>, Error>>;
/// One request for a session's shares, shared the same way.
type ShareFlight = LocalBoxFuture<'static, Result<Vec<String>, Error>>;
/// One request for a sender card by id, shared the same way.
type CardFlight = LocalBoxFuture<'static, Result<Option<String>, Error>>;

/// The request in flight for `key` in `flights`, or a new one made by `start`; `true`
/// when it is new. `flights` holds them weakly: a request lives while someone waits for
/// it, and dropping every waiter drops it (the web directory aborts its `fetch`).
fn join_flight<K, T>(
    flights: &mut HashMap<K, WeakShared<LocalBoxFuture<'static, T>>>,
    key: K,
    start: impl FnOnce() -> LocalBoxFuture<'static, T>,
) -> (Shared<LocalBoxFuture<'static, T>>, bool)
where
    K: Eq + std::hash::Hash,
    T: Clone,
{
    flights.retain(|_, f| f.upgrade().is_some());
    if let Some(flight) = flights.get(&key).and_then(WeakShared::upgrade) {
        return (flight, false);
    }
    let flight = start().shared();
    if let Some(weak) = flight.downgrade() {
        flights.insert(key, weak);
    }
    (flight, true)
}

/// A looked-up card and what the engine concluded about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Looked {
    /// The current card.
    pub card: Card,
    /// It does not follow the card this client pinned for the identity.
    pub key_changed: bool,
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

/// The keys `store` holds for `identity`, checked.
async fn load_keys(store: &impl Store, identity: &str) -> Result<Option<Identity>, Error> {
    let Some(bytes) = store.load(identity, Record::Keyring).await? else {
        return Ok(None);
    };
    let keyring = Keyring::decode(&bytes)
        .map_err(|_| Error::Storage("the stored keyring is damaged".into()))?;
    if keyring.current().card().identity() != identity {
        return Err(Error::Storage(
            "the stored keyring is another identity's".into(),
        ));
    }
    Ok(Some(Identity::from_keyring(keyring)))
}

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

    /// Sets the member count above which `encrypt` uses group sessions (default
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

    /// Stores the pins after they moved. Best effort: a failure keeps them in memory for
    /// this session rather than failing the read that moved them.
    async fn save_pins(&self) {
        let text = self.state.borrow().trust.encode();
        let _ = self
            .store
            .save(&self.identity, Record::Pins, text.as_bytes())
            .await;
    }

    /// Sets the function told of each key change (once per new card).
    pub fn on_key_change(&self, listener: Option<KeyChangeListener>) {
        *self.key_change_listener.borrow_mut() = listener;
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

    async fn save_keys(&self) -> Result<(), Error> {
        let bytes = {
            let state = self.state.borrow();
            let keys = state.keys.as_ref().ok_or(Error::NoLocalKey)?;
            keys.keyring().encode()?
        };
        self.store
            .save(&self.identity, Record::Keyring, &bytes)
            .await
    }

    /// Creates keys (or uses this device's) and publishes the card. Fails with
    /// `AlreadyRegistered` when the directory has a card this device has no keys for.
    pub async fn register(&self, rng: &mut impl CryptoRngCore, now_ms: u64) -> Result<Card, Error> {
        let existing = self
            .directory
            .lookup(std::slice::from_ref(&self.identity))
            .await?;
        self.state.borrow_mut().stats.lookups += 1;
        let local = self.own_card().ok();
        if let Some((_, text)) = existing.first() {
            let card = self.verified(text)?;
            return match local {
                Some(own) if own.id() == card.id() => Ok(own),
                _ => Err(Error::AlreadyRegistered),
            };
        }
        if local.is_none() {
            let keys = Identity::generate(rng, &self.identity, now_ms / 1000)?;
            self.state.borrow_mut().keys = Some(keys);
        }
        // Keys are stored before the card is published: a card whose keys were lost
        // would lock the identity out.
        self.save_keys().await?;
        let card = self.own_card()?;
        match self.directory.publish(&card.to_text(), false).await? {
            Publish::Stored => Ok(card),
            Publish::Conflict => Err(Error::AlreadyRegistered),
        }
    }

    fn verified(&self, text: &str) -> Result<Card, Error> {
        let card = self.state.borrow_mut().cards.parse(text).map_err(|e| {
            Error::Directory(format!(
                "the directory served an invalid card ({})",
                e.code()
            ))
        })?;
        Ok(card)
    }

    /// Current cards of `identities`, from memory when fresh, else one directory request
    /// for all the others. Each card is checked against the pinned one (trust on first
    /// use; rotations proven through the history). An identity without a card is an
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
    async fn absorb(
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

    /// Pins on first sight; follows rotations through the history; true on a key change.
    async fn observe(&self, card: &Card) -> Result<bool, Error> {
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
    fn settle(&self, card: &Card, seen: &Observation) -> bool {
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

    /// The verified cards of `identity`'s history (invalid ones are skipped).
    async fn history_cards(&self, identity: &str) -> Result<Vec<Card>, Error> {
        let texts = self.directory.history(identity).await?;
        let mut state = self.state.borrow_mut();
        state.stats.lookups += 1;
        Ok(texts
            .iter()
            .filter_map(|t| state.cards.parse(t).ok())
            .filter(|c| c.identity() == identity)
            .collect())
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

    /// Encrypts to the current cards of `to` (and this device's own card), bound to
    /// `context`: with per-message stanzas (§3), or through this device's group session
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

    /// True when a message to `to` in `context` goes through a group session: a
    /// non-empty context and more members (this identity included) than the threshold.
    pub fn uses_group_session(&self, to: &[String], context: &str) -> bool {
        !context.is_empty() && self.others(to).len() + 1 > self.group_threshold.get()
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

    /// §9 sending: the session for `context` (started, rotated or shared to new members
    /// as §9 says), one message at its index, the index moved on and stored before the
    /// text is returned.
    async fn group_encrypt(
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
    async fn prepare_session(
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

    async fn reload_outbound(&self) -> Result<(), Error> {
        let outbound = load_outbound(&self.store, &self.identity).await;
        self.state.borrow_mut().sessions.outbound = outbound;
        Ok(())
    }

    async fn save_outbound(&self) -> Result<(), Error> {
        let bytes = self.state.borrow().sessions.encode_outbound()?;
        self.store
            .save(&self.identity, Record::Outbound, &bytes)
            .await
    }

    /// Stores the inbound sessions. Best effort: shares can be fetched again.
    async fn save_inbound(&self) {
        let bytes = self.state.borrow().sessions.encode_inbound();
        if let Ok(bytes) = bytes {
            let _ = self
                .store
                .save(&self.identity, Record::Inbound, &bytes)
                .await;
        }
    }

    /// Verifies shares (§3 texts from the directory) and keeps those that pass §9's
    /// checks, each at its earliest index; stores the inbound sessions when one was new.
    /// A share that fails is skipped: only messages it would have opened fail, with
    /// `NoSessionKey`.
    async fn ingest_shares(&self, texts: &[String]) -> usize {
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

    async fn open_share(&self, text: &str) -> Result<AcceptedShare, Error> {
        let envelope = Envelope::parse(text)?;
        let opened = {
            let state = self.state.borrow();
            let keys = state.keys.as_ref().ok_or(Error::NoLocalKey)?;
            envelope.open(keys.keyring())?
        };
        let card = self.sender_card(&opened.sender_card_id()).await?;
        let message = opened.verify(card.as_ref(), None, None)?;
        Ok(group::accept_share(&envelope, message)?)
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
    async fn fetch_session(&self, session: SessionId) -> Result<(), Error> {
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
    async fn group_decrypt(
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
                .ok_or(proto::Error::NoSessionKey)?;
            (inbound.open(&message)?, inbound.share.clone())
        };
        let card = self.sender_card(&opened.sender_card_id()).await?;
        let verified = opened.verify(card.as_ref(), from, context)?;
        group::check_session_context(&verified, &share)?;
        self.finish_decrypt(verified, card).await
    }

    /// A sender card by id: memory first, then the directory (old cards stay reachable
    /// there, so messages from before a rotation verify).
    async fn sender_card(&self, id: &CardId) -> Result<Option<Card>, Error> {
        let known = self.state.borrow().cards.get(id).cloned();
        if let Some(card) = known {
            self.state.borrow_mut().stats.cache_hits += 1;
            return Ok(Some(card));
        }
        // One request however many messages wait for the card (the decrypt queue's
        // workers read a new sender's history side by side).
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
        let text = flight.await?;
        match text {
            Some(text) => {
                let card = self.verified(&text)?;
                Ok((card.id() == *id).then_some(card))
            }
            None => Ok(None),
        }
    }

    /// Decrypts and verifies `text` (a §3 `csm1.` message or a §9 `csg1.` group
    /// message); the result says `key_changed` when the sender's card does not follow the
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

    /// A sender's card is trusted when it is the pinned card, a card the pinned one
    /// rotated from (older messages), or a proven rotation of it.
    async fn sender_key_changed(&self, card: &Card) -> Result<bool, Error> {
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

    /// Rotates this device's keys: a new card naming the current one, published, stored.
    pub async fn rotate(&self, rng: &mut impl CryptoRngCore, now_ms: u64) -> Result<Card, Error> {
        let card = {
            let mut state = self.state.borrow_mut();
            let keys = state.keys.as_mut().ok_or(Error::NoLocalKey)?;
            keys.rotate(rng, now_ms / 1000)?.clone()
        };
        self.save_keys().await?;
        match self.directory.publish(&card.to_text(), false).await? {
            Publish::Stored => Ok(card),
            Publish::Conflict => Err(Error::Directory(
                "the directory's current card is not this device's: restore the latest backup first".into(),
            )),
        }
    }

    /// Seals every key generation under `password` and stores it at the directory.
    pub async fn backup(
        &self,
        rng: &mut impl CryptoRngCore,
        password: &str,
        params: backup::Params,
    ) -> Result<(), Error> {
        let text = {
            let state = self.state.borrow();
            let keys = state.keys.as_ref().ok_or(Error::NoLocalKey)?;
            keys.backup(rng, password, params)?
        };
        self.directory.put_backup(&text).await
    }

    /// Restores the keys from the directory's backup with `password` and stores them.
    pub async fn restore(&self, password: &str) -> Result<Card, Error> {
        let text = self.directory.get_backup().await?.ok_or_else(|| {
            Error::Directory("this identity has no backup at the directory".into())
        })?;
        let keys = Identity::restore(&text, password)?;
        if keys.identity() != self.identity {
            return Err(Error::Proto(proto::Error::InvalidArgument(
                "the backup is another identity's",
            )));
        }
        let card = keys.card().clone();
        self.state.borrow_mut().keys = Some(keys);
        self.save_keys().await?;
        Ok(card)
    }

    /// Re-seals the directory's backup under a new password.
    pub async fn change_password(
        &self,
        rng: &mut impl CryptoRngCore,
        old: &str,
        new: &str,
        params: backup::Params,
    ) -> Result<(), Error> {
        let text = self.directory.get_backup().await?.ok_or_else(|| {
            Error::Directory("this identity has no backup at the directory".into())
        })?;
        let keys = Identity::restore(&text, old)?;
        let sealed = keys.backup(rng, new, params)?;
        self.directory.put_backup(&sealed).await
    }

    /// Deletes the directory's backup.
    pub async fn delete_backup(&self) -> Result<(), Error> {
        self.directory.delete_backup().await
    }

    /// Revokes the card at the directory and forgets the keys here.
    pub async fn unregister(&self) -> Result<(), Error> {
        self.directory.revoke().await?;
        self.wipe_local().await
    }

    /// Forgets everything on this device: keys, pins, caches.
    pub async fn wipe_local(&self) -> Result<(), Error> {
        {
            let mut state = self.state.borrow_mut();
            state.keys = None;
            state.trust.clear();
            state.current.clear();
            state.reported.clear();
            state.cards = CardCache::new();
            state.sessions = Sessions::default();
            state.missing.clear();
        }
        self.store.wipe().await
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

/// Merges the group sessions `store` holds for `identity` into `sessions`. A record that
/// cannot be read or is damaged counts as none, never as a failure: a new outbound
/// session is then started (never an index reused) and shares are fetched again.
async fn load_sessions(store: &impl Store, identity: &str, sessions: &mut Sessions) {
    sessions.outbound = load_outbound(store, identity).await;
    if let Ok(Some(bytes)) = store.load(identity, Record::Inbound).await {
        let _ = sessions.merge_inbound(&bytes);
    }
}

/// The outbound sessions `store` holds for `identity` (none when unreadable, see
/// [`load_sessions`]).
async fn load_outbound(store: &impl Store, identity: &str) -> HashMap<String, Outbound> {
    match store.load(identity, Record::Outbound).await {
        Ok(Some(bytes)) => Sessions::decode_outbound(&bytes).unwrap_or_default(),
        _ => HashMap::new(),
    }
}

/// The pins `store` holds for `identity`'s client (none yet: empty).
async fn load_pins(store: &impl Store, identity: &str) -> Result<Trust, Error> {
    let bytes = store.load(identity, Record::Pins).await?;
    Ok(bytes
        .map(|b| Trust::decode(&String::from_utf8_lossy(&b)))
        .unwrap_or_default())
}

type MemoryRecords = HashMap<(String, Record), Zeroizing<Vec<u8>>>;

/// A [`Store`] in memory: the `storage: "memory"` option, and tests. Nothing survives the
/// page (or process).
#[derive(Clone, Default)]
pub struct MemoryStore {
    records: std::rc::Rc<RefCell<MemoryRecords>>,
}

impl Store for MemoryStore {
    async fn load(
        &self,
        identity: &str,
        record: Record,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, Error> {
        Ok(self
            .records
            .borrow()
            .get(&(identity.to_owned(), record))
            .cloned())
    }

    async fn save(&self, identity: &str, record: Record, bytes: &[u8]) -> Result<(), Error> {
        self.records.borrow_mut().insert(
            (identity.to_owned(), record),
            Zeroizing::new(bytes.to_vec()),
        );
        Ok(())
    }

    async fn wipe(&self) -> Result<(), Error> {
        self.records.borrow_mut().clear();
        Ok(())
    }
}
