//! The messaging half of `ChatSeal`: lookups, encrypting and decrypting texts, bytes and
//! files, group membership and shares, safety numbers and `wrapSend`.

use std::rc::Rc;

use js_sys::{Object, Promise, Uint8Array};
use rand_core::OsRng;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::future_to_promise;
use zeroize::Zeroizing;

use super::{
    cancellable, check_signal, count_if_aborted, now_ms, string_list, ChatSeal, WebEngine,
};
use crate::proto::ContentType;
use crate::web::errors::{option_string, string_arg, to_js, type_error};
use crate::web::files;
use crate::web::js::{get, locked, set, wrap_send};

#[wasm_bindgen]
impl ChatSeal {
    /// `lookup(identities)` → `{ [identity]: { card, cardId, keyChanged } }`, batched and
    /// cached.
    /// Concurrent lookups of an identity share one request; an aborted lookup aborts its
    /// `fetch` unless another call still waits on it.
    pub fn lookup(&self, identities: JsValue, options: JsValue) -> Promise {
        let engine = Rc::clone(&self.engine);
        future_to_promise(async move {
            let list = string_list(&identities, "identities")?;
            let looked = cancellable(&engine, &options, async {
                engine.lookup(&list, now_ms()).await.map_err(|e| to_js(&e))
            })
            .await?;
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

    /// `encrypt(text, { to, context, signal })` → ciphertext for the `to` identities and
    /// this device: `csp2.` for exactly one other identity, `csm2.` for more (`csg2.`
    /// above the group threshold).
    pub fn encrypt(&self, text: JsValue, options: JsValue) -> Promise {
        let engine = Rc::clone(&self.engine);
        let lock = self.lock.clone();
        future_to_promise(async move {
            let text = Zeroizing::new(string_arg(&text, "text")?);
            seal(&engine, lock, ContentType::Text, text.as_bytes(), &options).await
        })
    }

    /// `encryptBytes(bytes, { to, context, signal })` → ciphertext, as `encrypt`.
    #[wasm_bindgen(js_name = "encryptBytes")]
    pub fn encrypt_bytes(&self, bytes: JsValue, options: JsValue) -> Promise {
        let engine = Rc::clone(&self.engine);
        let lock = self.lock.clone();
        future_to_promise(async move {
            let bytes = bytes
                .dyn_ref::<Uint8Array>()
                .ok_or_else(|| type_error("bytes must be a Uint8Array"))?
                .to_vec();
            let data = Zeroizing::new(bytes);
            seal(&engine, lock, ContentType::Bytes, &data, &options).await
        })
    }

    /// `encryptFile(file, { to, context, signal, onProgress, name, type })` → `{ blob,
    /// descriptor, name, type, mediaType, size, url }` (PROTOCOL §10). `file` is a
    /// `Blob`/`File`, bytes, a `ReadableStream` of `Uint8Array`s or a `Response`; it is
    /// encrypted a megabyte at a time into `blob` (upload it as it is), and `descriptor`
    /// is the `csm2.`/`csp2.`/`csg2.` message that carries its key, sealed like `encrypt` to `to`
    /// and this device. `name` and `type` default to the `File`'s. `onProgress({ loaded,
    /// total })` follows the plaintext read; an abort stops before the next megabyte.
    #[wasm_bindgen(js_name = "encryptFile")]
    pub fn encrypt_file(&self, file: JsValue, options: JsValue) -> Promise {
        let engine = Rc::clone(&self.engine);
        let lock = self.lock.clone();
        future_to_promise(async move {
            if !options.is_object() {
                return Err(type_error("options must be { to, context }"));
            }
            // Arguments are checked before the file is read, not after.
            string_list(&get(&options, "to"), "options.to")?;
            option_string(&options, "context", "options")?;
            check_signal(&engine, &options)?;
            let meta = files::FileMeta::from_options(&file, &options)?;
            let (blob, data, descriptor) = files::encrypt(&file, &meta, &options)
                .await
                .inspect_err(|_| count_if_aborted(&engine, &options))?;
            let text = seal(&engine, lock, ContentType::FileDescriptor, &data, &options).await?;
            let out = files::descriptor_object(&descriptor);
            set(&out, "blob", &blob);
            set(&out, "descriptor", &text);
            Ok(out.into())
        })
    }

    /// `decryptFile(descriptor, body, { from, context, signal, onProgress, stream })` →
    /// the decrypted `File` (named and typed by the descriptor; a type that could act in
    /// the page, such as HTML or SVG, becomes `application/octet-stream`), or with
    /// `stream: true` a `ReadableStream` of `Uint8Array`s. `descriptor` is the message
    /// `encryptFile` returned, checked like `decrypt` (`from`, `context`); `body` is the
    /// fetched upload: a `Response`, `Blob`, bytes or `ReadableStream`. A file that was
    /// altered, truncated, reordered or extended fails with `Integrity` and yields no
    /// plaintext (a stream errors before its last chunk).
    #[wasm_bindgen(js_name = "decryptFile")]
    pub fn decrypt_file(&self, descriptor: JsValue, body: JsValue, options: JsValue) -> Promise {
        let engine = Rc::clone(&self.engine);
        future_to_promise(async move {
            let text = string_arg(&descriptor, "descriptor")?;
            let from = option_string(&options, "from", "options")?;
            let context = option_string(&options, "context", "options")?;
            let stream = options.is_object() && get(&options, "stream").is_truthy();
            check_signal(&engine, &options)?;
            let message = cancellable(&engine, &options, async {
                engine
                    .decrypt(&text, from.as_deref(), context.as_deref())
                    .await
                    .map_err(|e| to_js(&e))
            })
            .await?;
            let descriptor =
                files::descriptor_of(message.content_type, &message.data).map_err(|e| to_js(&e))?;
            let out: Result<JsValue, JsValue> = if stream {
                files::decrypt_to_stream(&descriptor, &body, &options)
                    .await
                    .map(Into::into)
            } else {
                files::decrypt_to_file(&descriptor, &body, &options)
                    .await
                    .map(Into::into)
            };
            out.inspect_err(|_| count_if_aborted(&engine, &options))
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

    /// `updateMembers({ to, context, signal })`: the channel `context` now has the members
    /// `to`. When this device sends to it through a group session (PROTOCOL §9), a member
    /// who left ends the session (the next message starts one the leaver cannot read)
    /// and a member who joined is given the session now, to read from the next message
    /// on. Below the group threshold, or before this device's first message there, it
    /// does nothing. Chat adapters call it on membership events.
    #[wasm_bindgen(js_name = "updateMembers")]
    pub fn update_members(&self, options: JsValue) -> Promise {
        let engine = Rc::clone(&self.engine);
        let lock = self.lock.clone();
        future_to_promise(async move {
            if !options.is_object() {
                return Err(type_error("updateMembers takes { to, context }"));
            }
            let to = string_list(&get(&options, "to"), "options.to")?;
            let context = option_string(&options, "context", "options")?.unwrap_or_default();
            check_signal(&engine, &options)?;
            let work = async move {
                engine
                    .update_members(&mut OsRng, &to, &context, now_ms())
                    .await
                    .map(|()| JsValue::UNDEFINED)
                    .map_err(|e| to_js(&e))
            };
            match lock {
                Some(name) => locked(&name, work).await,
                None => work.await,
            }
        })
    }

    /// `syncShares()`: fetches the group-session shares addressed to this identity since
    /// the last call (done once by `open` in the background); resolves to the number of
    /// sessions new to this device.
    #[wasm_bindgen(js_name = "syncShares")]
    pub fn sync_shares(&self, options: JsValue) -> Promise {
        let engine = Rc::clone(&self.engine);
        future_to_promise(async move {
            let kept = cancellable(&engine, &options, async {
                engine.sync_shares().await.map_err(|e| to_js(&e))
            })
            .await?;
            Ok(JsValue::from_f64(kept as f64))
        })
    }

    /// The 60-digit safety number with `identity` (PROTOCOL §5).
    #[wasm_bindgen(js_name = "safetyNumber")]
    pub fn safety_number(&self, identity: JsValue, options: JsValue) -> Promise {
        let engine = Rc::clone(&self.engine);
        future_to_promise(async move {
            let identity = string_arg(&identity, "identity")?;
            let number = cancellable(&engine, &options, async {
                engine
                    .safety_number(&identity, now_ms())
                    .await
                    .map_err(|e| to_js(&e))
            })
            .await?;
            Ok(JsValue::from_str(&number))
        })
    }

    /// `wrapSend(send, { to, context, signal })`: the chat SDK's send function, wrapped
    /// so that the text it sends is encrypted first. The wrapped function takes what
    /// `send` takes — a string, or a message object with a string `text` (the rest of
    /// the object is passed unchanged) — and any further arguments. `to` and `context`
    /// may be values or functions of the message (e.g. reading the channel's members).
    #[wasm_bindgen(js_name = "wrapSend")]
    pub fn wrap_send(&self, send: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
        let engine = Rc::clone(&self.engine);
        let lock = self.lock.clone();
        let encrypt = Closure::<dyn Fn(JsValue, JsValue) -> Promise>::new(
            move |text: JsValue, options: JsValue| {
                let engine = Rc::clone(&engine);
                let lock = lock.clone();
                future_to_promise(async move {
                    let text = Zeroizing::new(string_arg(&text, "text")?);
                    seal(&engine, lock, ContentType::Text, text.as_bytes(), &options).await
                })
            },
        );
        wrap_send(&encrypt.into_js_value(), &send, &options)
    }
}

async fn seal(
    engine: &Rc<WebEngine>,
    lock: Option<String>,
    content_type: ContentType,
    data: &[u8],
    options: &JsValue,
) -> Result<JsValue, JsValue> {
    if !options.is_object() {
        return Err(type_error("options must be { to, context }"));
    }
    let to = string_list(&get(options, "to"), "options.to")?;
    let context = option_string(options, "context", "options")?.unwrap_or_default();
    let text = cancellable(engine, options, async {
        match lock {
            // A group session's index must never be used twice, by any tab: its sends
            // run one at a time under the Web Lock, each reading the stored index.
            Some(name) if engine.uses_group_session(&to, &context) => {
                let engine = Rc::clone(engine);
                let data = Zeroizing::new(data.to_vec());
                let sent = locked(&name, async move {
                    engine
                        .encrypt(&mut OsRng, content_type, &data, &to, &context, now_ms())
                        .await
                        .map(|text| JsValue::from_str(&text))
                        .map_err(|e| to_js(&e))
                })
                .await?;
                Ok(sent.as_string().unwrap_or_default())
            }
            _ => engine
                .encrypt(&mut OsRng, content_type, data, &to, &context, now_ms())
                .await
                .map_err(|e| to_js(&e)),
        }
    })
    .await?;
    Ok(JsValue::from_str(&text))
}
