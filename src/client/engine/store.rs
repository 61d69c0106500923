//! What a device keeps for an identity ([`Record`]s in a [`Store`]), and the engine's
//! loads and saves of them.

use std::cell::RefCell;
use std::collections::HashMap;

use zeroize::Zeroizing;

use super::{Directory, Engine};
use crate::client::groups::{Outbound, Sessions};
use crate::client::{Error, Identity, Trust};
use crate::proto::Keyring;

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

/// The keys `store` holds for `identity`, checked.
pub(super) async fn load_keys(
    store: &impl Store,
    identity: &str,
) -> Result<Option<Identity>, Error> {
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

/// Merges the group sessions `store` holds for `identity` into `sessions`. A record that
/// cannot be read or is damaged counts as none, never as a failure: a new outbound
/// session is then started (never an index reused) and shares are fetched again.
pub(super) async fn load_sessions(store: &impl Store, identity: &str, sessions: &mut Sessions) {
    sessions.outbound = load_outbound(store, identity).await;
    if let Ok(Some(bytes)) = store.load(identity, Record::Inbound).await {
        let _ = sessions.merge_inbound(&bytes);
    }
}

/// The outbound sessions `store` holds for `identity` (none when unreadable, see
/// [`load_sessions`]).
pub(super) async fn load_outbound(store: &impl Store, identity: &str) -> HashMap<String, Outbound> {
    match store.load(identity, Record::Outbound).await {
        Ok(Some(bytes)) => Sessions::decode_outbound(&bytes).unwrap_or_default(),
        _ => HashMap::new(),
    }
}

/// The pins `store` holds for `identity`'s client (none yet: empty).
pub(super) async fn load_pins(store: &impl Store, identity: &str) -> Result<Trust, Error> {
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

impl<D: Directory + Clone + 'static, S: Store> Engine<D, S> {
    /// Stores the pins after they moved. Best effort: a failure keeps them in memory for
    /// this session rather than failing the read that moved them.
    pub(super) async fn save_pins(&self) {
        let text = self.state.borrow().trust.encode();
        let _ = self
            .store
            .save(&self.identity, Record::Pins, text.as_bytes())
            .await;
    }

    pub(super) async fn save_keys(&self) -> Result<(), Error> {
        let bytes = {
            let state = self.state.borrow();
            let keys = state.keys.as_ref().ok_or(Error::NoLocalKey)?;
            keys.keyring().encode()?
        };
        self.store
            .save(&self.identity, Record::Keyring, &bytes)
            .await
    }

    pub(super) async fn reload_outbound(&self) -> Result<(), Error> {
        let outbound = load_outbound(&self.store, &self.identity).await;
        self.state.borrow_mut().sessions.outbound = outbound;
        Ok(())
    }

    pub(super) async fn save_outbound(&self) -> Result<(), Error> {
        let bytes = self.state.borrow().sessions.encode_outbound()?;
        self.store
            .save(&self.identity, Record::Outbound, &bytes)
            .await
    }

    /// Stores the inbound sessions. Best effort: shares can be fetched again.
    pub(super) async fn save_inbound(&self) {
        let bytes = self.state.borrow().sessions.encode_inbound();
        if let Ok(bytes) = bytes {
            let _ = self
                .store
                .save(&self.identity, Record::Inbound, &bytes)
                .await;
        }
    }
}
