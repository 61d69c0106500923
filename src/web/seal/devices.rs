//! The devices half of `ChatSeal`: passkey backups (PROTOCOL §4.1) and linking a new
//! device by QR code (§13).
//!
//! The WebAuthn calls are in `glue.js` (`passkeyCreate`, `passkeyGet`): they feature-detect
//! the `prf` extension before anything is created, and map the browser's refusals to
//! `PasskeyUnsupported` and `PasskeyCancelled`. The PRF output goes straight into the
//! engine and is wiped after use; no backup is written unless the whole of it could be.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Object, Promise, Uint8Array};
use rand_core::OsRng;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use zeroize::Zeroizing;

use super::{cancellable, check_signal, exclusive_with, now_ms, ChatSeal, WebEngine};
use crate::client::engine::{Link, PendingLink, LINK_TTL_MS};
use crate::client::qr::svg_path;
use crate::client::Error;
use crate::proto::passkey::new_prf_salt;
use crate::proto::wire::{b64u_decode, b64u_encode};
use crate::web::errors::{string_arg, to_js, type_error};
use crate::web::js::{bytes_of, get, set};

/// How often a waiting new device asks the directory for its offer (ms).
const POLL_MS: u32 = 2_000;

#[wasm_bindgen(module = "/src/web/glue.js")]
extern "C" {
    #[wasm_bindgen(js_name = "passkeyCreate", catch)]
    async fn passkey_create(
        identity: &str,
        salt: &Uint8Array,
        options: &JsValue,
    ) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = "passkeyGet", catch)]
    async fn passkey_get(ids: &Array, salts: &Array, options: &JsValue)
        -> Result<JsValue, JsValue>;
}

/// `{ credentialId, prfOutput }` from glue.js, as bytes; the output in memory wiped after
/// use.
fn prf_answer(answer: &JsValue) -> Result<(Vec<u8>, Zeroizing<[u8; 32]>), JsValue> {
    let id = bytes_of(&get(answer, "credentialId"))
        .ok_or_else(|| type_error("passkey: no credential id"))?
        .to_vec();
    let output =
        bytes_of(&get(answer, "prfOutput")).ok_or_else(|| type_error("passkey: no PRF output"))?;
    let mut key = Zeroizing::new([0u8; 32]);
    if output.length() != 32 {
        return Err(to_js(&Error::PasskeyUnsupported));
    }
    output.copy_to(key.as_mut());
    output.fill(0, 0, 32);
    Ok((id, key))
}

/// The credential id argument of `removePasskey`: the base64url text `passkeys()` gave.
fn credential_arg(value: &JsValue) -> Result<Vec<u8>, JsValue> {
    let text = string_arg(value, "credentialId")?;
    b64u_decode(&text)
        .ok()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| type_error("credentialId must be a credential id as passkeys() gives it"))
}

#[wasm_bindgen]
impl ChatSeal {
    /// `addPasskey({ rpName, rpId, signal })`: creates a passkey with the WebAuthn `prf`
    /// extension and stores a backup of this device's keys sealed by it (§4.1). Resolves to
    /// `{ credentialId }`. `PasskeyUnsupported` where the browser or authenticator has no
    /// PRF (checked before the passkey is made when the browser can tell), `PasskeyCancelled`
    /// when the user dismisses the prompt; nothing is stored then.
    #[wasm_bindgen(js_name = "addPasskey")]
    pub fn add_passkey(&self, options: JsValue) -> Promise {
        let engine = Rc::clone(&self.engine);
        future_to_promise(async move {
            check_signal(&engine, &options)?;
            if !engine.has_local_key() {
                return Err(to_js(&Error::NoLocalKey));
            }
            let salt = new_prf_salt(&mut OsRng);
            let answer =
                passkey_create(engine.identity(), &Uint8Array::from(&salt[..]), &options).await?;
            let (id, output) = prf_answer(&answer)?;
            engine
                .backup_with_passkey(&mut OsRng, &id, salt, &output)
                .await
                .map_err(|e| to_js(&e))?;
            let out = Object::new();
            set(&out, "credentialId", &JsValue::from_str(&b64u_encode(&id)));
            Ok(out.into())
        })
    }

    /// `passkeys()` → `[{ credentialId }, ..]`: the passkey backups at the directory.
    pub fn passkeys(&self, options: JsValue) -> Promise {
        let engine = Rc::clone(&self.engine);
        future_to_promise(async move {
            check_signal(&engine, &options)?;
            let list = engine.passkey_backups().await.map_err(|e| to_js(&e))?;
            let out = Array::new();
            for backup in list {
                let entry = Object::new();
                let id = b64u_encode(&backup.credential_id);
                set(&entry, "credentialId", &JsValue::from_str(&id));
                out.push(&entry);
            }
            Ok(out.into())
        })
    }

    /// `restoreWithPasskey({ rpId, signal })`: asks for one of the passkeys that back this
    /// identity up, and restores the keys its backup holds (under the Web Lock). Resolves to
    /// the card text; `NoBackup` when the identity has no passkey backup.
    #[wasm_bindgen(js_name = "restoreWithPasskey")]
    pub fn restore_with_passkey(&self, options: JsValue) -> Promise {
        self.exclusive(options.clone(), move |engine| async move {
            let list = engine.passkey_backups().await.map_err(|e| to_js(&e))?;
            if list.is_empty() {
                return Err(to_js(&Error::NoBackup));
            }
            let (ids, salts) = (Array::new(), Array::new());
            for backup in &list {
                ids.push(&Uint8Array::from(&backup.credential_id[..]));
                salts.push(&Uint8Array::from(&backup.prf_salt[..]));
            }
            let answer = passkey_get(&ids, &salts, &options).await?;
            let (id, output) = prf_answer(&answer)?;
            let card = engine
                .restore_with_passkey(&id, &output)
                .await
                .map_err(|e| to_js(&e))?;
            Ok(JsValue::from_str(&card.to_text()))
        })
    }

    /// `removePasskey(credentialId)`: deletes that passkey's backup at the directory (the
    /// passkey itself stays in the authenticator; its settings remove it).
    #[wasm_bindgen(js_name = "removePasskey")]
    pub fn remove_passkey(&self, credential_id: JsValue, options: JsValue) -> Promise {
        let engine = Rc::clone(&self.engine);
        future_to_promise(async move {
            let id = credential_arg(&credential_id)?;
            check_signal(&engine, &options)?;
            engine
                .delete_passkey_backup(&id)
                .await
                .map_err(|e| to_js(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// `linkStart()` on the new device → a [`DeviceLink`]: show its `qr` (or draw
    /// `qrPath`), `await waitForOffer()` for the code, and `confirm()` once the user saw the
    /// same code on both screens.
    #[wasm_bindgen(js_name = "linkStart")]
    pub fn link_start(&self) -> DeviceLink {
        let link = self.engine.start_link(&mut OsRng, now_ms());
        let qr = link.qr();
        // A link QR (78 bytes) always fits a QR code; an empty path would only draw nothing.
        let (qr_size, qr_path) = svg_path(&qr).unwrap_or_default();
        DeviceLink {
            engine: Rc::clone(&self.engine),
            lock: self.lock.clone(),
            qr,
            qr_path,
            qr_size,
            link: Rc::new(link),
            pending: Rc::new(RefCell::new(None)),
        }
    }

    /// `linkAccept(qrText)` on a device that has the keys: seals them to the new device the
    /// QR text names and sends them through the directory. Resolves to the six-digit code to
    /// compare with the new device's screen.
    #[wasm_bindgen(js_name = "linkAccept")]
    pub fn link_accept(&self, qr: JsValue, options: JsValue) -> Promise {
        let engine = Rc::clone(&self.engine);
        future_to_promise(async move {
            let qr = string_arg(&qr, "qrText")?;
            check_signal(&engine, &options)?;
            let code = engine
                .accept_link(&mut OsRng, &qr)
                .await
                .map_err(|e| to_js(&e))?;
            Ok(JsValue::from_str(&code))
        })
    }
}

/// A device link in progress on the new device (§13).
#[wasm_bindgen]
pub struct DeviceLink {
    engine: Rc<WebEngine>,
    lock: Option<String>,
    qr: String,
    qr_path: String,
    qr_size: u32,
    link: Rc<Link>,
    pending: Rc<RefCell<Option<PendingLink>>>,
}

#[wasm_bindgen]
impl DeviceLink {
    /// The QR payload (`chatseal:link:…`), to show as a QR code or to type on the other
    /// device.
    #[wasm_bindgen(getter)]
    pub fn qr(&self) -> String {
        self.qr.clone()
    }

    /// The QR code of `qr` as an SVG path in a `qrSize` × `qrSize` box (with its quiet zone):
    /// `<svg viewBox="0 0 {qrSize} {qrSize}"><path d="{qrPath}"/></svg>`.
    #[wasm_bindgen(getter, js_name = "qrPath")]
    pub fn qr_path(&self) -> String {
        self.qr_path.clone()
    }

    /// The side of the box `qrPath` is drawn in.
    #[wasm_bindgen(getter, js_name = "qrSize")]
    pub fn qr_size(&self) -> u32 {
        self.qr_size
    }

    /// When the link stops being usable (unix ms).
    #[wasm_bindgen(getter, js_name = "expiresAt")]
    pub fn expires_at(&self) -> f64 {
        (self.link.started_ms() + LINK_TTL_MS) as f64
    }

    /// The six-digit code, once the offer has arrived.
    #[wasm_bindgen(getter)]
    pub fn code(&self) -> Option<String> {
        self.pending.borrow().as_ref().map(|p| p.code().to_owned())
    }

    /// `waitForOffer({ signal })`: asks the directory every 2 s until the other device has
    /// sent its offer, opens and checks it, and resolves to the code; nothing is stored yet.
    /// `LinkExpired` after five minutes (directory requests that fail meanwhile are
    /// retried), `Integrity` for an offer that is not for this device, `LinkRejected` when
    /// its keys are not this identity's current ones.
    #[wasm_bindgen(js_name = "waitForOffer")]
    pub fn wait_for_offer(&self, options: JsValue) -> Promise {
        let (engine, link, pending) = (
            Rc::clone(&self.engine),
            Rc::clone(&self.link),
            Rc::clone(&self.pending),
        );
        future_to_promise(async move {
            let wait = async {
                loop {
                    match engine.poll_link(&link, now_ms()).await {
                        Ok(Some(offer)) => {
                            let code = offer.code().to_owned();
                            *pending.borrow_mut() = Some(offer);
                            return Ok(JsValue::from_str(&code));
                        }
                        Ok(None) => {}
                        // A directory out of reach for a moment (a dropped connection, a
                        // request timed out) does not end the wait: the link lasts until
                        // it expires (`LinkExpired`), as the user was told.
                        Err(Error::Directory(_)) => {}
                        Err(e) => return Err(to_js(&e)),
                    }
                    gloo_timers::future::TimeoutFuture::new(POLL_MS).await;
                }
            };
            cancellable(&engine, &options, wait).await
        })
    }

    /// `confirm()`: the user saw the same code on both screens; the keys are stored on this
    /// device (under the Web Lock). Resolves to the card text.
    pub fn confirm(&self, options: JsValue) -> Promise {
        let Some(offer) = self.pending.borrow_mut().take() else {
            return Promise::reject(&to_js(&Error::Proto(crate::proto::Error::InvalidArgument(
                "link: no offer to confirm yet; await waitForOffer() first",
            ))));
        };
        exclusive_with(
            &self.engine,
            self.lock.clone(),
            options,
            move |engine| async move {
                let card = engine.confirm_link(offer).await.map_err(|e| to_js(&e))?;
                Ok(JsValue::from_str(&card.to_text()))
            },
        )
    }

    /// `cancel()`: forgets the offer, if one came; nothing was stored.
    pub fn cancel(&self) {
        self.pending.borrow_mut().take();
    }
}
