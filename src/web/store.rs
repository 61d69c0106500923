//! Keys at rest in the browser: the keyring in IndexedDB (through rexie), sealed with
//! AES-256-GCM under a **non-extractable** WebCrypto key stored beside it.
//!
//! The database holds, per identity, the sealed keyring and the sealed pins (the cards
//! of others it trusts), each as `{ v: 1, iv, sealed }`, and, once, the wrapping
//! `CryptoKey`. The browser keeps that key's bytes out of reach of script (it can be used
//! on this origin, never exported), so a copy of the database — a dump, a backup of the
//! profile, a script that reads IndexedDB and posts it away — carries no private key
//! bytes. The identity is bound to each sealed keyring as associated data, so records
//! cannot be swapped between identities (or a keyring for pins).
//!
//! Every save and wipe is announced on a `BroadcastChannel` named after the database, so
//! other tabs (and other `ChatSeal`s in this one) reload their keys.

use js_sys::{Array, Object, Uint8Array};
use rexie::{ObjectStore, Rexie, TransactionMode};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AesGcmParams, AesKeyGenParams, CryptoKey, SubtleCrypto};
use zeroize::Zeroizing;

use super::js::{get, set};
use crate::client::{Error, MemoryStore, Record, Store};

/// The object store of sealed keyrings (key: identity).
const KEYRINGS: &str = "keyrings";
/// The object store of sealed pins (key: identity).
const PINS: &str = "pins";
/// The object stores of sealed group sessions (key: identity): outbound and inbound.
const OUTBOUND: &str = "outbound";
const INBOUND: &str = "inbound";
/// The object store of the wrapping key (key: [`WRAP_KEY`]).
const WRAPPING: &str = "wrapping";
const WRAP_KEY: &str = "aes-gcm-256";
/// Record format version.
const RECORD_V: f64 = 1.0;

fn storage(what: &str) -> impl Fn(rexie::Error) -> Error + '_ {
    move |e| Error::Storage(format!("IndexedDB: {what} failed ({e})"))
}

fn webcrypto(what: &str) -> impl Fn(JsValue) -> Error + '_ {
    move |_| Error::Storage(format!("WebCrypto: {what} failed"))
}

/// The object store of `record`.
fn store_of(record: Record) -> &'static str {
    match record {
        Record::Keyring => KEYRINGS,
        Record::Pins => PINS,
        Record::Outbound => OUTBOUND,
        Record::Inbound => INBOUND,
    }
}

/// The associated data of a sealed record: binds it to its kind and identity.
fn aad(identity: &str, record: Record) -> Vec<u8> {
    let mut out = match record {
        Record::Keyring => b"chatseal keyring v1\0".to_vec(),
        Record::Pins => b"chatseal pins v1\0".to_vec(),
        Record::Outbound => b"chatseal outbound sessions v1\0".to_vec(),
        Record::Inbound => b"chatseal inbound sessions v1\0".to_vec(),
    };
    out.extend_from_slice(identity.as_bytes());
    out
}

/// The message other tabs receive: `{ identity }` of the keyring that changed, or
/// `{ identity: null }` after a wipe.
pub fn broadcast_name(database: &str) -> String {
    format!("chatseal:{database}")
}

/// The keyring store on IndexedDB.
pub struct IdbStore {
    db: Rexie,
    channel: Option<web_sys::BroadcastChannel>,
}

impl IdbStore {
    /// Opens (or creates) the database `name`.
    pub async fn open(name: &str) -> Result<Self, Error> {
        if get(&js_sys::global(), "indexedDB").is_undefined() {
            return Err(Error::Storage(
                "this environment has no IndexedDB; pass storage: \"memory\"".into(),
            ));
        }
        let db = Rexie::builder(name)
            // Version 2 added the group sessions (§9).
            .version(2)
            .add_object_store(ObjectStore::new(KEYRINGS))
            .add_object_store(ObjectStore::new(PINS))
            .add_object_store(ObjectStore::new(OUTBOUND))
            .add_object_store(ObjectStore::new(INBOUND))
            .add_object_store(ObjectStore::new(WRAPPING))
            .build()
            .await
            .map_err(storage("opening the database"))?;
        let channel = web_sys::BroadcastChannel::new(&broadcast_name(name)).ok();
        Ok(IdbStore { db, channel })
    }

    /// The channel on which this store announces keyring changes (and hears others').
    pub fn channel(&self) -> Option<&web_sys::BroadcastChannel> {
        self.channel.as_ref()
    }

    fn announce(&self, identity: Option<&str>) {
        if let Some(channel) = &self.channel {
            let message = Object::new();
            set(
                &message,
                "identity",
                &identity.map_or(JsValue::NULL, JsValue::from_str),
            );
            let _ = channel.post_message(&message);
        }
    }

    async fn get(&self, store: &str, key: &str) -> Result<Option<JsValue>, Error> {
        let tx = self
            .db
            .transaction(&[store], TransactionMode::ReadOnly)
            .map_err(storage("reading"))?;
        let value = tx
            .store(store)
            .map_err(storage("reading"))?
            .get(JsValue::from_str(key))
            .await
            .map_err(storage("reading"))?;
        tx.done().await.map_err(storage("reading"))?;
        Ok(value.filter(|v| !v.is_undefined()))
    }

    /// The wrapping key, created on first use. Two tabs creating it at once: `add` lets
    /// one win, and both use the winner's.
    async fn wrapping_key(&self, create: bool) -> Result<Option<CryptoKey>, Error> {
        if let Some(key) = self.get(WRAPPING, WRAP_KEY).await? {
            return key
                .dyn_into::<CryptoKey>()
                .map(Some)
                .map_err(|_| Error::Storage("the stored wrapping key is not a CryptoKey".into()));
        }
        if !create {
            return Ok(None);
        }
        let params = AesKeyGenParams::new("AES-GCM", 256);
        let usages = Array::of2(&"encrypt".into(), &"decrypt".into());
        let promise = subtle()?
            .generate_key_with_object(&params, false, &usages)
            .map_err(webcrypto("generating the wrapping key"))?;
        let key: CryptoKey = JsFuture::from(promise)
            .await
            .map_err(webcrypto("generating the wrapping key"))?
            .unchecked_into();
        let tx = self
            .db
            .transaction(&[WRAPPING], TransactionMode::ReadWrite)
            .map_err(storage("storing the wrapping key"))?;
        let added = tx
            .store(WRAPPING)
            .map_err(storage("storing the wrapping key"))?
            .add(&key, Some(&JsValue::from_str(WRAP_KEY)))
            .await;
        let done = tx.done().await;
        match (added, done) {
            (Ok(_), Ok(_)) => Ok(Some(key)),
            // Another tab stored one first: use it.
            _ => self.get(WRAPPING, WRAP_KEY).await?.map_or_else(
                || Err(Error::Storage("cannot store the wrapping key".into())),
                |k| Ok(Some(k.unchecked_into())),
            ),
        }
    }
}

fn subtle() -> Result<SubtleCrypto, Error> {
    let crypto = get(&js_sys::global(), "crypto");
    let subtle = get(&crypto, "subtle");
    subtle
        .dyn_into::<SubtleCrypto>()
        .map_err(|_| Error::Storage("this environment has no WebCrypto (crypto.subtle); IndexedDB storage needs a secure context (https or localhost)".into()))
}

fn gcm(iv: &[u8], identity: &str, record: Record) -> AesGcmParams {
    let iv = Uint8Array::from(iv);
    let params = AesGcmParams::new("AES-GCM", &iv);
    params.set_additional_data(&Uint8Array::from(aad(identity, record).as_slice()));
    params
}

impl Store for IdbStore {
    async fn load(
        &self,
        identity: &str,
        kind: Record,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, Error> {
        let Some(record) = self.get(store_of(kind), identity).await? else {
            return Ok(None);
        };
        let damaged = || {
            let what = match kind {
                Record::Keyring => "keyring",
                Record::Pins => "list of trusted cards",
                Record::Outbound | Record::Inbound => "group sessions",
            };
            Error::Storage(format!(
                "the {what} of {identity:?} in IndexedDB cannot be unsealed: it was altered, or its wrapping key is gone (wipeLocal, then restore from the backup)"
            ))
        };
        if get(&record, "v").as_f64() != Some(RECORD_V) {
            return Err(damaged());
        }
        let (Ok(iv), Ok(sealed)) = (
            get(&record, "iv").dyn_into::<Uint8Array>(),
            get(&record, "sealed").dyn_into::<Uint8Array>(),
        ) else {
            return Err(damaged());
        };
        let key = self.wrapping_key(false).await?.ok_or_else(damaged)?;
        let sealed = sealed.to_vec();
        let promise = subtle()?
            .decrypt_with_object_and_u8_array(&gcm(&iv.to_vec(), identity, kind), &key, &sealed)
            .map_err(|_| damaged())?;
        let plain = JsFuture::from(promise).await.map_err(|_| damaged())?;
        let view = Uint8Array::new(&plain);
        let bytes = Zeroizing::new(view.to_vec());
        view.fill(0, 0, view.length()); // the JS copy of the keyring, wiped
        Ok(Some(bytes))
    }

    async fn save(&self, identity: &str, kind: Record, bytes: &[u8]) -> Result<(), Error> {
        let key = self
            .wrapping_key(true)
            .await?
            .ok_or_else(|| Error::Storage("no wrapping key".into()))?;
        let mut iv = [0u8; 12];
        getrandom::getrandom(&mut iv).map_err(|_| Error::Storage("no randomness".into()))?;
        // WebCrypto copies the plaintext at the call: no JS-side copy is left behind.
        let promise = subtle()?
            .encrypt_with_object_and_u8_array(&gcm(&iv, identity, kind), &key, bytes)
            .map_err(webcrypto("sealing a record"))?;
        let sealed = JsFuture::from(promise)
            .await
            .map_err(webcrypto("sealing a record"))?;
        let record = Object::new();
        set(&record, "v", &JsValue::from_f64(RECORD_V));
        set(&record, "iv", &Uint8Array::from(iv.as_slice()));
        set(&record, "sealed", &Uint8Array::new(&sealed));
        let tx = self
            .db
            .transaction(&[store_of(kind)], TransactionMode::ReadWrite)
            .map_err(storage("saving"))?;
        tx.store(store_of(kind))
            .map_err(storage("saving"))?
            .put(&record, Some(&JsValue::from_str(identity)))
            .await
            .map_err(storage("saving"))?;
        tx.done().await.map_err(storage("saving"))?;
        // Other tabs reload keys and pins; sessions are reloaded where they are used.
        if matches!(kind, Record::Keyring | Record::Pins) {
            self.announce(Some(identity));
        }
        Ok(())
    }

    async fn wipe(&self) -> Result<(), Error> {
        let tx = self
            .db
            .transaction(
                &[KEYRINGS, PINS, OUTBOUND, INBOUND, WRAPPING],
                TransactionMode::ReadWrite,
            )
            .map_err(storage("wiping"))?;
        for name in [KEYRINGS, PINS, OUTBOUND, INBOUND, WRAPPING] {
            tx.store(name)
                .map_err(storage("wiping"))?
                .clear()
                .await
                .map_err(storage("wiping"))?;
        }
        tx.done().await.map_err(storage("wiping"))?;
        self.announce(None);
        Ok(())
    }
}

impl Drop for IdbStore {
    fn drop(&mut self) {
        if let Some(channel) = &self.channel {
            channel.close();
        }
    }
}

/// The store `ChatSeal.open` picked: `storage: "indexeddb"` or `"memory"`.
pub enum WebStore {
    /// Sealed in IndexedDB.
    Idb(IdbStore),
    /// Gone with the page.
    Memory(MemoryStore),
}

impl Store for WebStore {
    async fn load(
        &self,
        identity: &str,
        record: Record,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, Error> {
        match self {
            WebStore::Idb(s) => s.load(identity, record).await,
            WebStore::Memory(s) => s.load(identity, record).await,
        }
    }

    async fn save(&self, identity: &str, record: Record, bytes: &[u8]) -> Result<(), Error> {
        match self {
            WebStore::Idb(s) => s.save(identity, record, bytes).await,
            WebStore::Memory(s) => s.save(identity, record, bytes).await,
        }
    }

    async fn wipe(&self) -> Result<(), Error> {
        match self {
            WebStore::Idb(s) => s.wipe().await,
            WebStore::Memory(s) => s.wipe().await,
        }
    }
}
