//! The account half of `ChatSeal`: register, rotate, backup and restore, password
//! changes, accepting a key change, verified contacts (§5), unregister and wiping this
//! device.

use std::rc::Rc;

use js_sys::Promise;
use rand_core::OsRng;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::{check_signal, now_ms, ChatSeal};
use crate::proto::backup;
use crate::web::errors::{password_arg, string_arg, to_js};

#[wasm_bindgen]
impl ChatSeal {
    /// Creates keys and publishes the card; `AlreadyRegistered` if the directory has a
    /// card this device has no keys for (restore instead). Resolves to the card text.
    /// Holds a Web Lock, so two tabs registering at once make one identity.
    pub fn register(&self, options: JsValue) -> Promise {
        self.exclusive(options, |engine| async move {
            let card = engine
                .register(&mut OsRng, now_ms())
                .await
                .map_err(|e| to_js(&e))?;
            Ok(JsValue::from_str(&card.to_text()))
        })
    }

    /// `acceptKeyChange(identity)`: the application accepts `identity`'s changed key
    /// (after the user checked the safety number); it is pinned and encrypted to from
    /// now on. Resolves to false when no current card of `identity` is known (look it up
    /// first).
    #[wasm_bindgen(js_name = "acceptKeyChange")]
    pub fn accept_key_change(&self, identity: JsValue) -> Promise {
        let engine = Rc::clone(&self.engine);
        future_to_promise(async move {
            let identity = string_arg(&identity, "identity")?;
            Ok(JsValue::from_bool(
                engine.accept_key_change(&identity).await,
            ))
        })
    }

    /// `markVerified(identity)`: the user compared safety numbers (§5) with `identity`
    /// and they matched. The contact stays verified across its rotations and until a key
    /// change clears it. Resolves to false when no card of `identity` is pinned yet (look
    /// it up first).
    #[wasm_bindgen(js_name = "markVerified")]
    pub fn mark_verified(&self, identity: JsValue) -> Promise {
        let engine = Rc::clone(&self.engine);
        future_to_promise(async move {
            let identity = string_arg(&identity, "identity")?;
            Ok(JsValue::from_bool(engine.mark_verified(&identity).await))
        })
    }

    /// `isVerified(identity)`: true when `identity` was verified (`markVerified`) and no
    /// key change was seen since.
    #[wasm_bindgen(js_name = "isVerified")]
    pub fn is_verified(&self, identity: JsValue) -> Result<bool, JsValue> {
        let identity = string_arg(&identity, "identity")?;
        Ok(self.engine.is_verified(&identity))
    }

    /// Rotates this device's keys (under the Web Lock); resolves to the new card text.
    pub fn rotate(&self, options: JsValue) -> Promise {
        self.exclusive(options, |engine| async move {
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
            let password = password_arg(&password, "password")?;
            check_signal(&engine, &options)?;
            engine
                .backup(&mut OsRng, &password, backup::Params::default())
                .await
                .map_err(|e| to_js(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Restores the keys from the directory's backup (under the Web Lock).
    pub fn restore(&self, password: JsValue, options: JsValue) -> Promise {
        let password = match password_arg(&password, "password") {
            Ok(p) => p,
            Err(e) => return Promise::reject(&e),
        };
        self.exclusive(options, |engine| async move {
            let card = engine.restore(&password).await.map_err(|e| to_js(&e))?;
            Ok(JsValue::from_str(&card.to_text()))
        })
    }

    /// Re-seals the directory's backup under a new password.
    #[wasm_bindgen(js_name = "changePassword")]
    pub fn change_password(&self, old: JsValue, new: JsValue, options: JsValue) -> Promise {
        let engine = Rc::clone(&self.engine);
        future_to_promise(async move {
            let old = password_arg(&old, "oldPassword")?;
            let new = password_arg(&new, "newPassword")?;
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
}
