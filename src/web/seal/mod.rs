//! `ChatSeal`, the high-level API of DESIGN.md: keys on this device, cards from the
//! directory, every method async (a `Promise`) and cancellable with `{ signal }`.
//!
//! Cancellation: reads (`lookup`, `encrypt`, `decrypt`, `safetyNumber`) stop as soon as
//! their signal aborts, and a directory `fetch` they wait on is aborted with them (unless
//! another call shares it). Calls that change state (`register`, `rotate`, `restore`,
//! backups, `unregister`, `wipeLocal`) honour the signal until they start changing
//! anything, then finish, so an abort never leaves keys half-written.

use std::future::Future;
use std::rc::{Rc, Weak};

use js_sys::{Array, Function, Object, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, spawn_local};
use web_sys::{BroadcastChannel, CustomEvent, CustomEventInit, EventTarget, MessageEvent};

use super::directory::{FetchDirectory, REQUEST_TIMEOUT_MS};
use super::errors::{option_string, string_arg, to_js, type_error};
use super::js::{abort_error, abortable, get, locked, set, signal_of};
use super::lowlevel::result_object;
use super::queue::{Job, Queue, Runner};
use super::store::{IdbStore, WebStore};
use crate::client::engine::{too_long_to_read, MAX_MESSAGE_TEXT};
use crate::client::{Engine, KeyChange, MemoryStore};

// The methods by job: the account (keys and backups) and messaging; the state, opening
// and events are here.
mod account;
mod devices;
mod messages;

type WebEngine = Engine<FetchDirectory, WebStore>;
type Listener = Closure<dyn FnMut(MessageEvent)>;

/// The database `ChatSeal.open` uses unless `options.database` names another.
const DEFAULT_DATABASE: &str = "chatseal";

fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// Rejects with `AbortError` (and counts it) when `options.signal` is already aborted;
/// a `TypeError` when it is not an AbortSignal.
fn check_signal(engine: &WebEngine, options: &JsValue) -> Result<(), JsValue> {
    if signal_of(options)?.is_some_and(|s| s.aborted()) {
        engine.count_cancelled();
        return Err(abort_error());
    }
    Ok(())
}

/// Counts a call that failed because its signal aborted as cancelled.
fn count_if_aborted(engine: &WebEngine, options: &JsValue) {
    if matches!(signal_of(options), Ok(Some(s)) if s.aborted()) {
        engine.count_cancelled();
    }
}

/// Runs `work` unless `options.signal` aborts first (or already has): then `work` is
/// dropped, the call counted as cancelled, and the result is an `AbortError`.
async fn cancellable<T>(
    engine: &WebEngine,
    options: &JsValue,
    work: impl Future<Output = Result<T, JsValue>>,
) -> Result<T, JsValue> {
    let signal = signal_of(options)?;
    match abortable(signal.as_ref(), work).await {
        Some(outcome) => outcome,
        None => {
            engine.count_cancelled();
            Err(abort_error())
        }
    }
}

/// End-to-end encryption for one identity in this browser.
///
/// Events (`addEventListener`): `keychanged`, a `CustomEvent` whose `detail` is
/// `{ identity, cardId, previousCardId }`, once for each card (seen in a lookup or a
/// message) that is not a verified rotation of the one this client pinned (PROTOCOL §2;
/// see `acceptKeyChange`), however many results say `keyChanged`.
#[wasm_bindgen]
pub struct ChatSeal {
    engine: Rc<WebEngine>,
    queue: Rc<Queue>,
    runner: Runner,
    events: EventTarget,
    /// The Web Lock taken by register/rotate/restore (IndexedDB storage only).
    lock: Option<String>,
    /// Announcements of keyring changes by other tabs, and our listener.
    channel: Option<(BroadcastChannel, Listener)>,
}

impl ChatSeal {
    fn new_with(
        engine: WebEngine,
        lock: Option<String>,
        channel: Option<BroadcastChannel>,
    ) -> ChatSeal {
        let engine = Rc::new(engine);
        let counter = Rc::clone(&engine);
        let queue = Queue::new(Rc::new(move || counter.count_cancelled()));
        let worker = Rc::clone(&engine);
        let runner: Runner = Rc::new(move |job: &Job| {
            let engine = Rc::clone(&worker);
            let (text, from, context, bytes, signal) = (
                job.text.clone(),
                job.from.clone(),
                job.context.clone(),
                job.bytes,
                job.signal.clone(),
            );
            Box::pin(async move {
                // An abort while the job runs (waiting for a sender's card) ends it too.
                let work = async {
                    // A text too long to read is refused before it is copied in.
                    let long = text
                        .dyn_ref::<js_sys::JsString>()
                        .is_some_and(|t| t.length() as usize > MAX_MESSAGE_TEXT);
                    if long {
                        return Err(to_js(&too_long_to_read()));
                    }
                    let text = text.as_string().unwrap_or_default();
                    let message = engine
                        .decrypt(&text, from.as_deref(), context.as_deref())
                        .await
                        .map_err(|e| to_js(&e))?;
                    result_object(&message, bytes)
                };
                match abortable(signal.as_ref(), work).await {
                    Some(outcome) => outcome,
                    None => {
                        engine.count_cancelled();
                        Err(abort_error())
                    }
                }
            })
        });
        let events = EventTarget::new().unwrap_or_else(|_| Object::new().unchecked_into());
        let target = events.clone();
        engine.on_key_change(Some(Rc::new(move |change: &KeyChange| {
            dispatch_key_change(&target, change);
        })));
        let channel = channel.map(|channel| {
            let weak: Weak<WebEngine> = Rc::downgrade(&engine);
            let listener = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let Some(engine) = weak.upgrade() else { return };
                let about = get(&event.data(), "identity");
                if about.is_null() || about.as_string().as_deref() == Some(engine.identity()) {
                    spawn_local(async move {
                        // A failed reload keeps what we had; the next call reports it.
                        let _ = engine.reload().await;
                    });
                }
            });
            channel.set_onmessage(Some(listener.as_ref().unchecked_ref()));
            (channel, listener)
        });
        ChatSeal {
            engine,
            queue,
            runner,
            events,
            lock,
            channel,
        }
    }

    /// Queues a decrypt (arguments checked first; an already-aborted signal rejects at once).
    fn enqueue(&self, text: JsValue, options: JsValue, bytes: bool) -> Promise {
        let checked = (|| {
            // Only checked here; the worker copies it in (see `Job::text`).
            if !text.is_string() {
                return Err(type_error("text must be a string"));
            }
            let from = option_string(&options, "from", "options")?;
            let context = option_string(&options, "context", "options")?;
            check_signal(&self.engine, &options)?;
            let signal = signal_of(&options)?;
            Ok::<_, JsValue>((text, from, context, signal))
        })();
        match checked {
            Ok((text, from, context, signal)) => {
                self.queue
                    .push(text, from, context, bytes, signal, Rc::clone(&self.runner))
            }
            Err(error) => Promise::reject(&error),
        }
    }

    /// Runs a keyring change under the Web Lock, after reloading the keys (another tab
    /// may have changed them while we waited).
    fn exclusive<F, Fut>(&self, options: JsValue, work: F) -> Promise
    where
        F: FnOnce(Rc<WebEngine>) -> Fut + 'static,
        Fut: Future<Output = Result<JsValue, JsValue>> + 'static,
    {
        exclusive_with(&self.engine, self.lock.clone(), options, work)
    }
}

/// [`ChatSeal::exclusive`] for the objects a `ChatSeal` hands out (a `DeviceLink`).
fn exclusive_with<F, Fut>(
    engine: &Rc<WebEngine>,
    lock: Option<String>,
    options: JsValue,
    work: F,
) -> Promise
where
    F: FnOnce(Rc<WebEngine>) -> Fut + 'static,
    Fut: Future<Output = Result<JsValue, JsValue>> + 'static,
{
    let engine = Rc::clone(engine);
    future_to_promise(async move {
        check_signal(&engine, &options)?;
        let run = async move {
            engine.reload().await.map_err(|e| to_js(&e))?;
            check_signal(&engine, &options)?;
            work(engine).await
        };
        match lock {
            Some(name) => locked(&name, run).await,
            None => run.await,
        }
    })
}

fn dispatch_key_change(target: &EventTarget, change: &KeyChange) {
    let detail = Object::new();
    set(&detail, "identity", &JsValue::from_str(&change.identity));
    set(
        &detail,
        "cardId",
        &JsValue::from_str(&change.card_id.to_string()),
    );
    set(
        &detail,
        "previousCardId",
        &JsValue::from_str(&change.pinned.to_string()),
    );
    let init = CustomEventInit::new();
    init.set_detail(&detail);
    if let Ok(event) = CustomEvent::new_with_event_init_dict("keychanged", &init) {
        let _ = target.dispatch_event(&event);
    }
}

impl Drop for ChatSeal {
    fn drop(&mut self) {
        if let Some((channel, _)) = self.channel.take() {
            channel.set_onmessage(None);
        }
        self.engine.on_key_change(None);
    }
}

#[wasm_bindgen]
impl ChatSeal {
    /// Not public: use `await ChatSeal.open(options)`.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Result<ChatSeal, JsValue> {
        Err(type_error(
            "use `await ChatSeal.open({ identity, directoryUrl, getToken })`",
        ))
    }

    /// `ChatSeal.open({ identity, directoryUrl, getToken, storage, database,
    /// groupThreshold, requestTimeout })`: loads this device's keys for `identity`, if
    /// any. A directory request that takes longer than `requestTimeout` ms (default 30,000)
    /// is aborted (`Directory` error). Channels of
    /// more than `groupThreshold` other members (default 10) are encrypted through group
    /// sessions (PROTOCOL §9), smaller ones per message (§3), and a channel with one other
    /// member by pairwise messages (§11). `storage` is `"indexeddb"` (the
    /// default where IndexedDB exists: keys sealed under a non-extractable WebCrypto key
    /// in the database `database`, default `"chatseal"`) or `"memory"` (the default
    /// elsewhere, e.g. Node: keys gone with the page or process).
    pub fn open(options: JsValue) -> Promise {
        future_to_promise(async move {
            if !options.is_object() {
                return Err(type_error(
                    "ChatSeal.open takes { identity, directoryUrl, getToken }",
                ));
            }
            let identity = option_string(&options, "identity", "options")?
                .ok_or_else(|| type_error("options.identity must be a string"))?;
            let url = option_string(&options, "directoryUrl", "options")?
                .ok_or_else(|| type_error("options.directoryUrl must be a string"))?;
            let get_token = get(&options, "getToken")
                .dyn_into::<Function>()
                .map_err(|_| {
                    type_error("options.getToken must be a function returning the directory JWT")
                })?;
            let database = option_string(&options, "database", "options")?
                .unwrap_or_else(|| DEFAULT_DATABASE.to_owned());
            let has_idb = !get(&js_sys::global(), "indexedDB").is_undefined();
            let storage = option_string(&options, "storage", "options")?;
            let (store, lock, channel) = match storage.as_deref() {
                Some("indexeddb") => idb(&database, &identity).await?,
                None if has_idb => idb(&database, &identity).await?,
                None | Some("memory") => (WebStore::Memory(MemoryStore::default()), None, None),
                Some(_) => {
                    return Err(type_error(
                        "options.storage must be \"indexeddb\" or \"memory\"",
                    ))
                }
            };
            let threshold = get(&options, "groupThreshold");
            let threshold = match threshold.as_f64() {
                None if threshold.is_undefined() => None,
                Some(n) if n.fract() == 0.0 && (1.0..=1000.0).contains(&n) => Some(n as usize),
                _ => {
                    return Err(type_error(
                        "options.groupThreshold must be a whole number of members, 1 to 1000",
                    ))
                }
            };
            let timeout = get(&options, "requestTimeout");
            let timeout = match timeout.as_f64() {
                None if timeout.is_undefined() => REQUEST_TIMEOUT_MS,
                Some(n) if n.fract() == 0.0 && (100.0..=600_000.0).contains(&n) => n as u32,
                _ => return Err(type_error(
                    "options.requestTimeout must be a whole number of milliseconds, 100 to 600000",
                )),
            };
            let directory = FetchDirectory::new(&url, get_token, timeout);
            let engine = Engine::open(&identity, directory, store)
                .await
                .map_err(|e| to_js(&e))?;
            engine.set_clock(Rc::new(now_ms));
            if let Some(threshold) = threshold {
                engine.set_group_threshold(threshold);
            }
            let seal = ChatSeal::new_with(engine, lock, channel);
            if seal.engine.has_local_key() {
                // Sessions shared while this device was away, pulled in the background; a
                // failure costs nothing (a message of an unknown session fetches its own).
                let engine = Rc::clone(&seal.engine);
                spawn_local(async move {
                    let _ = engine.sync_shares().await;
                });
            }
            Ok(seal.into())
        })
    }

    /// The identity this instance speaks for.
    #[wasm_bindgen(getter)]
    pub fn identity(&self) -> String {
        self.engine.identity().to_owned()
    }

    /// True when this device holds keys for the identity.
    #[wasm_bindgen(js_name = "hasLocalKey")]
    pub fn has_local_key(&self) -> bool {
        self.engine.has_local_key()
    }

    /// `addEventListener("keychanged", listener)`.
    #[wasm_bindgen(js_name = "addEventListener")]
    pub fn add_event_listener(&self, kind: JsValue, listener: JsValue) -> Result<(), JsValue> {
        let kind = string_arg(&kind, "type")?;
        let listener = listener
            .dyn_into::<Function>()
            .map_err(|_| type_error("listener must be a function"))?;
        self.events
            .add_event_listener_with_callback(&kind, &listener)
    }

    /// `removeEventListener(type, listener)`.
    #[wasm_bindgen(js_name = "removeEventListener")]
    pub fn remove_event_listener(&self, kind: JsValue, listener: JsValue) -> Result<(), JsValue> {
        let kind = string_arg(&kind, "type")?;
        let listener = listener
            .dyn_into::<Function>()
            .map_err(|_| type_error("listener must be a function"))?;
        self.events
            .remove_event_listener_with_callback(&kind, &listener)
    }

    /// Stops listening to other tabs and to key changes; the instance keeps working for
    /// calls already made. (Also done by `free()`.)
    pub fn close(&mut self) {
        if let Some((channel, _)) = self.channel.take() {
            channel.set_onmessage(None);
        }
    }

    /// `{ decrypted, cancelled, lookups, cacheHits, keyChanges, sharesSent,
    /// sharesAccepted, shareRequests }`.
    pub fn stats(&self) -> JsValue {
        let s = self.engine.stats();
        let out = Object::new();
        for (key, value) in [
            ("decrypted", s.decrypted),
            ("cancelled", s.cancelled),
            ("lookups", s.lookups),
            ("cacheHits", s.cache_hits),
            ("keyChanges", s.key_changes),
            ("sharesSent", s.shares_sent),
            ("sharesAccepted", s.shares_accepted),
            ("shareRequests", s.share_requests),
        ] {
            set(&out, key, &JsValue::from_f64(value as f64));
        }
        out.into()
    }
}

fn string_list(value: &JsValue, what: &str) -> Result<Vec<String>, JsValue> {
    let array = value
        .dyn_ref::<Array>()
        .ok_or_else(|| type_error(&format!("{what} must be an array of strings")))?;
    array
        .iter()
        .map(|v| {
            v.as_string()
                .ok_or_else(|| type_error(&format!("{what} must be an array of strings")))
        })
        .collect()
}

/// The IndexedDB store of `database`, the Web Lock name for `identity`'s keyring, and
/// the channel on which keyring changes are announced.
async fn idb(
    database: &str,
    identity: &str,
) -> Result<(WebStore, Option<String>, Option<BroadcastChannel>), JsValue> {
    let store = IdbStore::open(database).await.map_err(|e| to_js(&e))?;
    let channel = store.channel().cloned();
    let lock = format!("chatseal:{database}:{identity}");
    Ok((WebStore::Idb(store), Some(lock), channel))
}
