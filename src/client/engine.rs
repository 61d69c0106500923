//! The directory-aware engine behind `ChatSeal`: local keys in a [`Store`], public
//! cards from a [`Directory`], trust on first use, and the operations of the JS API.
//!
//! Platform-neutral and single-threaded: the web layer provides a `fetch` directory and
//! an IndexedDB store; native tests provide in-memory ones. No `RefCell` borrow is held
//! across an `.await`, so a re-entrant call from JS cannot alias state.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use futures_util::future::{try_join_all, FutureExt, LocalBoxFuture, Shared, WeakShared};

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use super::{CardCache, Decrypted, Error, Identity, Observation, Trust};
use crate::proto::{self, backup, safety, Card, CardId, ContentType, Keyring};

/// How long a looked-up current card is reused before asking the directory again.
pub const LOOKUP_TTL_MS: u64 = 5 * 60 * 1000;

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
}

/// One identity's client.
pub struct Engine<D, S> {
    identity: String,
    directory: D,
    store: S,
    state: RefCell<State>,
    key_change_listener: RefCell<Option<KeyChangeListener>>,
}

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
        let engine = Engine {
            identity: identity.to_owned(),
            directory,
            store,
            state: RefCell::new(State {
                keys,
                trust,
                ..State::default()
            }),
            key_change_listener: RefCell::new(None),
        };
        Ok(engine)
    }

    /// Reads the keys from the store again: another tab (or instance) on the same store
    /// registered, rotated, restored or wiped.
    pub async fn reload(&self) -> Result<(), Error> {
        let keys = load_keys(&self.store, &self.identity).await?;
        let trust = load_pins(&self.store, &self.identity).await?;
        let mut state = self.state.borrow_mut();
        state.keys = keys;
        state.trust = trust;
        Ok(())
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
    /// `context`. Refuses (`Directory`) to encrypt to a card that is a key change not yet
    /// accepted.
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
        let others: Vec<String> = to
            .iter()
            .filter(|i| **i != self.identity)
            .cloned()
            .collect();
        let looked = self.lookup(&others, now_ms).await?;
        if let Some(changed) = looked.iter().find(|l| l.key_changed) {
            return Err(Error::Directory(format!(
                "the key of {:?} changed outside its rotation chain; compare safety numbers and accept the new key before sending",
                changed.card.identity()
            )));
        }
        let cards: Vec<&Card> = looked.iter().map(|l| &l.card).collect();
        let state = self.state.borrow();
        let keys = state.keys.as_ref().ok_or(Error::NoLocalKey)?;
        keys.encrypt(rng, &cards, content_type, data, context, now_ms)
    }

    /// A sender card by id: memory first, then the directory (old cards stay reachable
    /// there, so messages from before a rotation verify).
    async fn sender_card(&self, id: &CardId) -> Result<Option<Card>, Error> {
        let known = self.state.borrow().cards.get(id).cloned();
        if let Some(card) = known {
            self.state.borrow_mut().stats.cache_hits += 1;
            return Ok(Some(card));
        }
        let text = self.directory.card_by_id(id).await?;
        self.state.borrow_mut().stats.lookups += 1;
        match text {
            Some(text) => {
                let card = self.verified(&text)?;
                Ok((card.id() == *id).then_some(card))
            }
            None => Ok(None),
        }
    }

    /// Decrypts and verifies `text`; the result says `key_changed` when the sender's card
    /// does not follow the one this client pinned for them.
    pub async fn decrypt(
        &self,
        text: &str,
        from: Option<&str>,
        context: Option<&str>,
    ) -> Result<Decrypted, Error> {
        // Parse and open before any network: a message not for us costs no request.
        let envelope = proto::Envelope::parse(text)?;
        let opened = {
            let state = self.state.borrow();
            let keys = state.keys.as_ref().ok_or(Error::NoLocalKey)?;
            envelope.open(keys.keyring())?
        };
        let card = self.sender_card(&opened.sender_card_id()).await?;
        let message = opened.verify(card.as_ref(), from, context)?;
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
