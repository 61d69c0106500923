//! The client engine against an in-memory directory that follows PROTOCOL §7 and an
//! in-memory store: registration, exchange, rotation, key changes, group sessions,
//! backups, device links, caching. This file holds the harness (the directory, the world of devices)
//! and the helpers the modules share.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use chatseal::client::{Directory, Engine, Error, MemoryStore, Publish, ShareOut};
use chatseal::proto::group::SessionId;
use chatseal::proto::{backup, passkey, Card, CardId, ContentType};
use pollster::block_on;
use rand_core::OsRng;

// One module per feature; the harness and the helpers they share are below.
mod devices;
mod groups;
mod identity;
mod key_changes;
mod one_to_one;
mod storage;

const FAST: backup::Params = backup::Params {
    m_kib: 19456,
    t: 2,
    p: 1,
};
const NOW: u64 = 1_800_000_000_000;

#[derive(Default)]
struct DirState {
    history: HashMap<String, Vec<(String, bool)>>, // identity → [(card text, current)]
    /// identity → its backups.
    backups: HashMap<String, Backups>,
    /// link id → (the identity whose token posted it, the offer until it is read): each
    /// read once, and the id used for good, as the server keeps it until it expires.
    links: HashMap<[u8; 16], (String, Option<String>)>,
    requests: u64,
    /// Lookups wait this many polls before answering (to overlap concurrent calls).
    slow_polls: u32,
    /// A hostile directory: answer lookups of the key with this card text instead.
    swap: HashMap<String, String>,
    /// Group-session shares: (recipient, session, text), in arrival order.
    shares: Vec<(String, SessionId, String)>,
    /// Share requests answered (by session id or cursor).
    share_requests: u64,
    /// A hostile directory: answer share requests with nothing.
    withhold_shares: bool,
    /// `by-id` answers 404 for these ids although the card is stored.
    hide_by_id: Vec<CardId>,
    /// `by-id` fails as a network failure would.
    offline_by_id: bool,
}

/// One identity's backups, as the directory keeps them (§7): one password backup and
/// one passkey backup per credential, in the order first stored.
#[derive(Default)]
struct Backups {
    password: Option<String>,
    passkeys: Vec<(Vec<u8>, String)>,
}

/// One caller's view of a shared in-memory directory.
#[derive(Clone)]
struct MemDirectory {
    me: String,
    state: Rc<RefCell<DirState>>,
}

impl Directory for MemDirectory {
    async fn lookup(&self, identities: &[String]) -> Result<Vec<(String, String)>, Error> {
        let polls = self.state.borrow().slow_polls;
        for _ in 0..polls {
            Pending(false).await;
        }
        let mut s = self.state.borrow_mut();
        s.requests += 1;
        Ok(identities
            .iter()
            .filter_map(|i| {
                if let Some(t) = s.swap.get(i) {
                    return Some((i.clone(), t.clone()));
                }
                let h = s.history.get(i)?;
                h.iter()
                    .find(|(_, cur)| *cur)
                    .map(|(t, _)| (i.clone(), t.clone()))
            })
            .collect())
    }
    async fn history(&self, identity: &str) -> Result<Vec<String>, Error> {
        let mut s = self.state.borrow_mut();
        s.requests += 1;
        Ok(s.history
            .get(identity)
            .map(|h| h.iter().map(|(t, _)| t.clone()).collect())
            .unwrap_or_default())
    }
    async fn card_by_id(&self, id: &CardId) -> Result<Option<String>, Error> {
        let polls = self.state.borrow().slow_polls;
        for _ in 0..polls {
            Pending(false).await;
        }
        let mut s = self.state.borrow_mut();
        s.requests += 1;
        if s.offline_by_id {
            return Err(Error::Directory(
                "card by id: the directory is unreachable".into(),
            ));
        }
        if s.hide_by_id.contains(id) {
            return Ok(None);
        }
        Ok(s.history
            .values()
            .flatten()
            .map(|(t, _)| t)
            .find(|t| Card::parse(t).unwrap().id() == *id)
            .cloned())
    }
    async fn publish(&self, text: &str, replace: bool) -> Result<Publish, Error> {
        let card = Card::parse(text).unwrap();
        assert_eq!(
            card.identity(),
            self.me,
            "publish with another identity's token"
        );
        let mut s = self.state.borrow_mut();
        let h = s.history.entry(self.me.clone()).or_default();
        if let Some((cur, _)) = h.iter().find(|(_, c)| *c) {
            let cur = Card::parse(cur).unwrap();
            if cur.id() == card.id() {
                return Ok(Publish::Stored);
            }
            if card.prev_card_id() != Some(cur.id()) && !replace {
                return Ok(Publish::Conflict);
            }
        }
        h.iter_mut().for_each(|e| e.1 = false);
        h.push((text.to_owned(), true));
        Ok(Publish::Stored)
    }
    async fn revoke(&self) -> Result<(), Error> {
        let mut s = self.state.borrow_mut();
        s.history
            .entry(self.me.clone())
            .or_default()
            .iter_mut()
            .for_each(|e| e.1 = false);
        Ok(())
    }
    async fn put_backup(&self, backup: &str) -> Result<(), Error> {
        let mut s = self.state.borrow_mut();
        let mine = s.backups.entry(self.me.clone()).or_default();
        if backup.starts_with(passkey::TEXT_PREFIX) {
            let credential = passkey::Sealed::parse(backup)?.credential_id().to_vec();
            match mine.passkeys.iter_mut().find(|(c, _)| *c == credential) {
                Some(slot) => slot.1 = backup.to_owned(),
                None => mine.passkeys.push((credential, backup.to_owned())),
            }
        } else {
            assert!(backup.starts_with(backup::TEXT_PREFIX), "not a backup");
            mine.password = Some(backup.to_owned());
        }
        Ok(())
    }
    async fn backups(&self) -> Result<Vec<String>, Error> {
        let s = self.state.borrow();
        Ok(s.backups
            .get(&self.me)
            .map(|b| {
                let passkeys = b.passkeys.iter().map(|(_, t)| t.clone());
                b.password.iter().cloned().chain(passkeys).collect()
            })
            .unwrap_or_default())
    }
    async fn delete_backup(&self, credential: Option<&[u8]>) -> Result<(), Error> {
        let mut s = self.state.borrow_mut();
        if let Some(mine) = s.backups.get_mut(&self.me) {
            match credential {
                None => mine.password = None,
                Some(id) => mine.passkeys.retain(|(c, _)| c != id),
            }
        }
        Ok(())
    }
    async fn post_link(&self, link_id: &[u8; 16], offer: &str) -> Result<(), Error> {
        let mut s = self.state.borrow_mut();
        if s.links.contains_key(link_id) {
            return Err(Error::LinkUsed);
        }
        s.links
            .insert(*link_id, (self.me.clone(), Some(offer.to_owned())));
        Ok(())
    }
    async fn take_link(&self, link_id: &[u8; 16]) -> Result<Option<String>, Error> {
        let mut s = self.state.borrow_mut();
        Ok(match s.links.get_mut(link_id) {
            Some((who, offer)) if *who == self.me => offer.take(),
            _ => None,
        })
    }
    async fn post_shares(&self, shares: &[ShareOut]) -> Result<(), Error> {
        assert!(shares.len() <= 1000);
        self.state
            .borrow_mut()
            .shares
            .extend(shares.iter().cloned());
        Ok(())
    }
    async fn session_shares(&self, session: &SessionId) -> Result<Vec<String>, Error> {
        let mut s = self.state.borrow_mut();
        s.share_requests += 1;
        if s.withhold_shares {
            return Ok(vec![]);
        }
        Ok(s.shares
            .iter()
            .filter(|(to, id, _)| *to == self.me && id == session)
            .map(|(_, _, t)| t.clone())
            .collect())
    }
    async fn shares_after(&self, cursor: &str) -> Result<(Vec<String>, String), Error> {
        let mut s = self.state.borrow_mut();
        s.share_requests += 1;
        let from: usize = cursor.parse().unwrap_or(0);
        let page: Vec<(usize, String)> = s
            .shares
            .iter()
            .enumerate()
            .skip(from)
            .filter(|(_, (to, _, _))| *to == self.me)
            .take(100)
            .map(|(i, (_, _, t))| (i + 1, t.clone()))
            .collect();
        let next = page
            .last()
            .map_or(cursor.to_owned(), |(i, _)| i.to_string());
        Ok((page.into_iter().map(|(_, t)| t).collect(), next))
    }
}

/// A future that is pending once (waking itself), then ready.
struct Pending(bool);

impl std::future::Future for Pending {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

struct World {
    dir: Rc<RefCell<DirState>>,
}

impl World {
    fn new() -> Self {
        World { dir: Rc::default() }
    }
    fn device(&self, identity: &str, store: &MemoryStore) -> Engine<MemDirectory, MemoryStore> {
        let dir = MemDirectory {
            me: identity.to_owned(),
            state: self.dir.clone(),
        };
        block_on(Engine::open(identity, dir, store.clone())).unwrap()
    }
    /// Replaces `identity`'s card with a new key outside any rotation chain
    /// (`?replace=true`: a lost device, or a hostile directory); returns the new keys.
    fn replace_card(&self, identity: &str) -> chatseal::client::Identity {
        let keys = chatseal::client::Identity::generate(&mut OsRng, identity, 2).unwrap();
        let dir = MemDirectory {
            me: identity.to_owned(),
            state: self.dir.clone(),
        };
        assert_eq!(
            block_on(dir.publish(&keys.card().to_text(), true)).unwrap(),
            Publish::Stored
        );
        keys
    }
    /// Stores `card` for its identity as a hostile directory may, with no check; `current`
    /// makes it the one lookups answer.
    fn put(&self, card: &Card, current: bool) {
        let mut s = self.dir.borrow_mut();
        let h = s.history.entry(card.identity().to_owned()).or_default();
        if current {
            h.iter_mut().for_each(|e| e.1 = false);
        }
        h.push((card.to_text(), current));
    }
    fn user(&self, identity: &str) -> (Engine<MemDirectory, MemoryStore>, MemoryStore) {
        let store = MemoryStore::default();
        let engine = self.device(identity, &store);
        block_on(engine.register(&mut OsRng, NOW)).unwrap();
        (engine, store)
    }
}

fn send(
    from: &Engine<MemDirectory, MemoryStore>,
    text: &str,
    to: &[&str],
    context: &str,
) -> Result<String, Error> {
    let to: Vec<String> = to.iter().map(|s| s.to_string()).collect();
    block_on(from.encrypt(
        &mut OsRng,
        ContentType::Text,
        text.as_bytes(),
        &to,
        context,
        NOW,
    ))
}

fn read(
    reader: &Engine<MemDirectory, MemoryStore>,
    text: &str,
    from: &str,
    context: &str,
) -> Result<String, Error> {
    block_on(reader.decrypt(text, Some(from), Some(context)))
        .map(|m| String::from_utf8(m.data.clone()).unwrap())
}

fn code(result: Result<String, Error>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}

/// A channel of `n` registered members `m00`…; `m00` sends.
fn team(world: &World, n: usize) -> (Vec<Engine<MemDirectory, MemoryStore>>, Vec<String>) {
    let names: Vec<String> = (0..n).map(|i| format!("m{i:02}")).collect();
    let engines = names.iter().map(|name| world.user(name).0).collect();
    (engines, names)
}

fn send_to(
    from: &Engine<MemDirectory, MemoryStore>,
    text: &str,
    to: &[String],
    context: &str,
) -> String {
    block_on(from.encrypt(
        &mut OsRng,
        ContentType::Text,
        text.as_bytes(),
        to,
        context,
        NOW,
    ))
    .unwrap()
}
