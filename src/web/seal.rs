//! `ChatSeal`, the high-level API of DESIGN.md: keys on this device, cards from the
//! directory, every method async (a `Promise`) and cancellable with `{ signal }`.

use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Uint8Array};
use rand_core::OsRng;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use zeroize::Zeroizing;

use super::directory::FetchDirectory;
use super::errors::{option_string, string_arg, to_js, type_error};
use super::js::{abort_error, get, set};
use super::lowlevel::result_object;
use super::queue::{Job, Queue, Runner};
use crate::client::{Engine, MemoryStore};
use crate::proto::{backup, ContentType};

type WebEngine = Engine<FetchDirectory, MemoryStore>;

fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// Rejects with `AbortError` (and counts it) when `options.signal` is already aborted.
fn check_signal(engine: &WebEngine, options: &JsValue) -> Result<(), JsValue> {
    if options.is_object() {
        let signal = get(options, "signal");
        if !signal.is_undefined() && !signal.is_null() {
            if !signal.is_object() {
                return Err(type_error("options.signal must be an AbortSignal"));
            }
            if get(&signal, "aborted").as_bool() == Some(true) {
                engine.count_cancelled();
                return Err(abort_error());
            }
        }
    }
    Ok(())
}

/// End-to-end encryption for one identity in this browser.
#[wasm_bindgen]
pub struct ChatSeal {
    engine: Rc<WebEngine>,
    queue: Rc<Queue>,
    runner: Runner,
}

impl ChatSeal {
    fn new_with(engine: WebEngine) -> ChatSeal {
        let engine = Rc::new(engine);
        let counter = Rc::clone(&engine);
        let queue = Queue::new(Rc::new(move || counter.count_cancelled()));
        let worker = Rc::clone(&engine);
        let runner: Runner = Rc::new(move |job: &Job| {
            let engine = Rc::clone(&worker);
            let (text, from, context, bytes) = (
                job.text.clone(),
                job.from.clone(),
                job.context.clone(),
                job.bytes,
            );
            Box::pin(async move {
                let message = engine
                    .decrypt(&text, from.as_deref(), context.as_deref())
                    .await
                    .map_err(|e| to_js(&e))?;
                result_object(&message, bytes)
            })
        });
        ChatSeal {
            engine,
            queue,
            runner,
        }
    }

    /// Queues a decrypt (arguments checked first; an already-aborted signal rejects at once).
    fn enqueue(&self, text: JsValue, options: JsValue, bytes: bool) -> Promise {
        let checked = (|| {
            let text = string_arg(&text, "text")?;
            let from = option_string(&options, "from", "options")?;
            let context = option_string(&options, "context", "options")?;
            check_signal(&self.engine, &options)?;
            let signal = if options.is_object() {
                get(&options, "signal")
            } else {
                JsValue::UNDEFINED
            };
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

    /// `ChatSeal.open({ identity, directoryUrl, getToken, storage })`: loads this
    /// device's keys for `identity`, if any. `storage` is `"memory"` for now
    /// (`"indexeddb"` lands next).
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
            match option_string(&options, "storage", "options")?.as_deref() {
                None | Some("memory") => {}
                Some("indexeddb") => {
                    return Err(to_js(&crate::client::Error::Storage(
                        "IndexedDB storage is not in this build yet; pass storage: \"memory\""
                            .into(),
                    )))
                }
                Some(_) => {
                    return Err(type_error(
                        "options.storage must be \"memory\" or \"indexeddb\"",
                    ))
                }
            }
            let directory = FetchDirectory::new(&url, get_token);
            let engine = Engine::open(&identity, directory, MemoryStore::default())
                .await
                .map_err(|e| to_js(&e))?;
            Ok(ChatSeal::new_with(engine).into())
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

    /// Creates keys and publishes the card; `AlreadyRegistered` if the directory has a
    /// card this device has no keys for (restore instead). Resolves to the card text.
    pub fn register(&self, options: JsValue) -> Promise {
        let engine = Rc::clone(&self.engine);
        future_to_promise(async move {
            check_signal(&engine, &options)?;
            let card = engine
                .register(&mut OsRng, now_ms())
                .await
                .map_err(|e| to_js(&e))?;
            Ok(JsValue::from_str(&card.to_text()))
        })
    }

    /// `lookup(identities)` → `{ [identity]: { card, cardId, keyChanged } }`, batched and
    /// cached.
    pub fn lookup(&self, identities: JsValue, options: JsValue) -> Promise {
        let engine = Rc::clone(&self.engine);
        future_to_promise(async move {
            check_signal(&engine, &options)?;
            let list = string_list(&identities, "identities")?;
            let looked = engine
                .lookup(&list, now_ms())
                .await
                .map_err(|e| to_js(&e))?;
            let out = Object::new();
            for (identity, l) in list.iter().zip(looked) {
                let entry = Object::new();
                set(&entry, "card", &JsValue::from_str(&l.card.to_text()));
                set(
                    &entry,
                    "cardId",
                    &JsValue::from_str(&l.card.id().to_string()),
                );
                set(&entry, "keyChanged", &JsValue::from_bool(l.key_changed));
                set(&out, identity, &entry);
            }
            Ok(out.into())
        })
    }

    /// `encrypt(text, { to, context, signal })` → `csm1.` text for the `to` identities and
    /// this device.
    pub fn encrypt(&self, text: JsValue, options: JsValue) -> Promise {
        let engine = Rc::clone(&self.engine);
        future_to_promise(async move {
            let text = Zeroizing::new(string_arg(&text, "text")?);
            seal(&engine, ContentType::Text, text.as_bytes(), &options).await
        })
    }

    /// `encryptBytes(bytes, { to, context, signal })` → `csm1.` text.
    #[wasm_bindgen(js_name = "encryptBytes")]
    pub fn encrypt_bytes(&self, bytes: JsValue, options: JsValue) -> Promise {
        let engine = Rc::clone(&self.engine);
        future_to_promise(async move {
            let bytes = bytes
                .dyn_ref::<Uint8Array>()
                .ok_or_else(|| type_error("bytes must be a Uint8Array"))?
                .to_vec();
            let data = Zeroizing::new(bytes);
            seal(&engine, ContentType::Bytes, &data, &options).await
        })
    }

    /// `decrypt(text, { from, context, signal })` → `{ text, contentType, sender,
    /// senderCardId, sentAt, msgId, context, keyChanged }`. Queued newest-first; an abort
    /// while waiting removes it before any work.
    pub fn decrypt(&self, text: JsValue, options: JsValue) -> Promise {
        self.enqueue(text, options, false)
    }

    /// `decryptBytes(text, { from, context, signal })` → the same object with `data`.
    #[wasm_bindgen(js_name = "decryptBytes")]
    pub fn decrypt_bytes(&self, text: JsValue, options: JsValue) -> Promise {
        self.enqueue(text, options, true)
    }

    /// The application accepts `identity`'s changed key (after checking the safety number).
    #[wasm_bindgen(js_name = "acceptKeyChange")]
    pub fn accept_key_change(&self, identity: JsValue) -> Result<(), JsValue> {
        self.engine
            .accept_key_change(&string_arg(&identity, "identity")?);
        Ok(())
    }

    /// Rotates this device's keys; resolves to the new card text.
    pub fn rotate(&self, options: JsValue) -> Promise {
        let engine = Rc::clone(&self.engine);
        future_to_promise(async move {
            check_signal(&engine, &options)?;
            let card = engine
                .rotate(&mut OsRng, now_ms())
                .await
                .map_err(|e| to_js(&e))?;
            Ok(JsValue::from_str(&card.to_text()))
        })
    }

    /// Seals the keys under `password` and stores the backup at the directory.
    pub fn backup(&self, password: JsValue, options: JsValue) -> Promise {
        let engine = Rc::clone(&self.engine);
        future_to_promise(async move {
            let password = Zeroizing::new(string_arg(&password, "password")?);
            check_signal(&engine, &options)?;
            engine
                .backup(&mut OsRng, &password, backup::Params::default())
                .await
                .map_err(|e| to_js(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Restores the keys from the directory's backup.
    pub fn restore(&self, password: JsValue, options: JsValue) -> Promise {
        let engine = Rc::clone(&self.engine);
        future_to_promise(async move {
            let password = Zeroizing::new(string_arg(&password, "password")?);
            check_signal(&engine, &options)?;
            let card = engine.restore(&password).await.map_err(|e| to_js(&e))?;
            Ok(JsValue::from_str(&card.to_text()))
        })
    }

    /// Re-seals the directory's backup under a new password.
    #[wasm_bindgen(js_name = "changePassword")]
    pub fn change_password(&self, old: JsValue, new: JsValue, options: JsValue) -> Promise {
        let engine = Rc::clone(&self.engine);
        future_to_promise(async move {
            let old = Zeroizing::new(string_arg(&old, "oldPassword")?);
            let new = Zeroizing::new(string_arg(&new, "newPassword")?);
            check_signal(&engine, &options)?;
            engine
                .change_password(&mut OsRng, &old, &new, backup::Params::default())
                .await
                .map_err(|e| to_js(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Deletes the directory's backup.
    #[wasm_bindgen(js_name = "deleteBackup")]
    pub fn delete_backup(&self, options: JsValue) -> Promise {
        let engine = Rc::clone(&self.engine);
        future_to_promise(async move {
            check_signal(&engine, &options)?;
            engine.delete_backup().await.map_err(|e| to_js(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Revokes the card at the directory and forgets the keys on this device.
    pub fn unregister(&self, options: JsValue) -> Promise {
        let engine = Rc::clone(&self.engine);
        future_to_promise(async move {
            check_signal(&engine, &options)?;
            engine.unregister().await.map_err(|e| to_js(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Forgets everything on this device.
    #[wasm_bindgen(js_name = "wipeLocal")]
    pub fn wipe_local(&self, options: JsValue) -> Promise {
        let engine = Rc::clone(&self.engine);
        future_to_promise(async move {
            check_signal(&engine, &options)?;
            engine.wipe_local().await.map_err(|e| to_js(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The 60-digit safety number with `identity` (PROTOCOL §5).
    #[wasm_bindgen(js_name = "safetyNumber")]
    pub fn safety_number(&self, identity: JsValue, options: JsValue) -> Promise {
        let engine = Rc::clone(&self.engine);
        future_to_promise(async move {
            let identity = string_arg(&identity, "identity")?;
            check_signal(&engine, &options)?;
            let number = engine
                .safety_number(&identity, now_ms())
                .await
                .map_err(|e| to_js(&e))?;
            Ok(JsValue::from_str(&number))
        })
    }

    /// `{ decrypted, cancelled, lookups, cacheHits, keyChanges }`.
    pub fn stats(&self) -> JsValue {
        let s = self.engine.stats();
        let out = Object::new();
        for (key, value) in [
            ("decrypted", s.decrypted),
            ("cancelled", s.cancelled),
            ("lookups", s.lookups),
            ("cacheHits", s.cache_hits),
            ("keyChanges", s.key_changes),
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

async fn seal(
    engine: &WebEngine,
    content_type: ContentType,
    data: &[u8],
    options: &JsValue,
) -> Result<JsValue, JsValue> {
    if !options.is_object() {
        return Err(type_error("options must be { to, context }"));
    }
    let to = string_list(&get(options, "to"), "options.to")?;
    let context = option_string(options, "context", "options")?.unwrap_or_default();
    check_signal(engine, options)?;
    let text = engine
        .encrypt(&mut OsRng, content_type, data, &to, &context, now_ms())
        .await
        .map_err(|e| to_js(&e))?;
    Ok(JsValue::from_str(&text))
}
