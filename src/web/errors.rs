//! `ChatSealError` (a JS `Error` subclass with a stable `code`), `TypeError` for wrong
//! argument types, and the conversions from [`crate::client::Error`].

use js_sys::{JsString, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use zeroize::Zeroizing;

use crate::client::Error;

#[wasm_bindgen(module = "/src/web/glue.js")]
extern "C" {
    #[wasm_bindgen(js_name = "chatSealError")]
    fn chat_seal_error(code: &str, message: &str) -> JsValue;
    #[wasm_bindgen(js_name = "ChatSealError", thread_local_v2)]
    static CHAT_SEAL_ERROR: JsValue;
}

/// The `ChatSealError` class itself, for `instanceof` checks:
/// `err instanceof chatSealErrorClass()`. The npm package re-exports it as `ChatSealError`.
#[wasm_bindgen(js_name = "chatSealErrorClass")]
pub fn chat_seal_error_class() -> JsValue {
    CHAT_SEAL_ERROR.with(JsValue::clone)
}

/// `new ChatSealError(code, message)`.
pub fn to_js(err: &Error) -> JsValue {
    chat_seal_error(err.code(), &err.to_string())
}

/// A `TypeError` for an argument of the wrong type.
pub fn type_error(message: &str) -> JsValue {
    js_sys::TypeError::new(message).into()
}

/// The string value of `value`, or a `TypeError` naming `what`.
pub fn string_arg(value: &JsValue, what: &str) -> Result<String, JsValue> {
    value
        .as_string()
        .ok_or_else(|| type_error(&format!("{what} must be a string")))
}

/// A password argument, as PROTOCOL §4 wants it: NFC-normalised — here by the JS engine's
/// `String.prototype.normalize`, so the WebAssembly build carries no Unicode tables (it is
/// built without the `nfc` feature) — and copied into memory that is wiped after use.
pub fn password_arg(value: &JsValue, what: &str) -> Result<Zeroizing<String>, JsValue> {
    let text = value
        .dyn_ref::<JsString>()
        .ok_or_else(|| type_error(&format!("{what} must be a string")))?;
    Ok(Zeroizing::new(String::from(text.normalize("NFC"))))
}

/// The optional string property `key` of an options object (`undefined`/`null` → None).
pub fn option_string(options: &JsValue, key: &str, what: &str) -> Result<Option<String>, JsValue> {
    if options.is_undefined() || options.is_null() {
        return Ok(None);
    }
    if !options.is_object() {
        return Err(type_error(&format!("{what} must be an object")));
    }
    let value = Reflect::get(options, &JsString::from(key))?;
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value
        .as_string()
        .map(Some)
        .ok_or_else(|| type_error(&format!("{what}.{key} must be a string")))
}
