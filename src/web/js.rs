//! Small helpers over `js_sys` for what the bindings need from JavaScript: property
//! access, promises, the global `fetch`. Written against the global object, so the same
//! code runs in a page, a worker and Node.

use js_sys::{Function, JsString, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// `object[key]`.
pub fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsString::from(key)).unwrap_or(JsValue::UNDEFINED)
}

/// `object[key] = value` on a fresh or given object.
pub fn set(object: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(object, &JsString::from(key), value);
}

/// Awaits `value` if it is a promise (or any thenable), else returns it.
pub async fn resolve(value: JsValue) -> Result<JsValue, JsValue> {
    JsFuture::from(Promise::resolve(&value)).await
}

/// The global `fetch`.
pub fn fetch_fn() -> Result<Function, JsValue> {
    get(&js_sys::global(), "fetch")
        .dyn_into::<Function>()
        .map_err(|_| js_sys::Error::new("this environment has no global fetch").into())
}

/// A `DOMException` named `AbortError` (what `fetch` and the platform reject with).
pub fn abort_error() -> JsValue {
    let ctor = get(&js_sys::global(), "DOMException");
    match ctor.dyn_into::<Function>() {
        Ok(ctor) => Reflect::construct(
            &ctor,
            &js_sys::Array::of2(
                &JsValue::from_str("The operation was aborted."),
                &JsValue::from_str("AbortError"),
            ),
        )
        .unwrap_or_else(|e| e),
        Err(_) => {
            let err = js_sys::Error::new("The operation was aborted.");
            err.set_name("AbortError");
            err.into()
        }
    }
}
