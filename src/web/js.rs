//! Small helpers over `js_sys` for what the bindings need from JavaScript: property
//! access, promises, the global `fetch`. Written against the global object, so the same
//! code runs in a page, a worker and Node.

use std::future::Future;

use futures_util::future::{select, Either};
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

#[wasm_bindgen(module = "/src/web/glue.js")]
extern "C" {
    #[wasm_bindgen(js_name = "withLock")]
    fn with_lock(name: &str, run: &JsValue) -> Promise;
    /// The JS side of `ChatSeal.wrapSend`: message shapes, then `encrypt`, then `send`.
    #[wasm_bindgen(js_name = "wrapSend", catch)]
    pub fn wrap_send(
        encrypt: &JsValue,
        send: &JsValue,
        options: &JsValue,
    ) -> Result<JsValue, JsValue>;
}

/// Runs `work` holding the Web Lock `name` (exclusive across this origin's tabs and
/// workers); without the Web Locks API (Node), runs it directly.
pub async fn locked<F>(name: &str, work: F) -> Result<JsValue, JsValue>
where
    F: Future<Output = Result<JsValue, JsValue>> + 'static,
{
    let run = Closure::once_into_js(move || wasm_bindgen_futures::future_to_promise(work));
    JsFuture::from(with_lock(name, &run)).await
}

/// `options.signal` when it is given (`undefined` otherwise); a `TypeError` when it is
/// not an AbortSignal.
pub fn signal_of(options: &JsValue) -> Result<Option<web_sys::AbortSignal>, JsValue> {
    if !options.is_object() {
        return Ok(None);
    }
    let signal = get(options, "signal");
    if signal.is_undefined() || signal.is_null() {
        return Ok(None);
    }
    signal
        .dyn_into::<web_sys::AbortSignal>()
        .map(Some)
        .map_err(|_| crate::web::errors::type_error("options.signal must be an AbortSignal"))
}

/// Removes the abort listener when the race is over.
struct Listening {
    signal: web_sys::AbortSignal,
    listener: Function,
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self
            .signal
            .remove_event_listener_with_callback("abort", &self.listener);
    }
}

/// Awaits `work` unless `signal` aborts first; then `work` is dropped (a directory
/// `fetch` it was waiting on is aborted with it) and the result is `None`.
pub async fn abortable<T>(
    signal: Option<&web_sys::AbortSignal>,
    work: impl Future<Output = T>,
) -> Option<T> {
    let Some(signal) = signal else {
        return Some(work.await);
    };
    if signal.aborted() {
        return None;
    }
    let mut listening = None;
    let aborted = Promise::new(&mut |resolve, _| {
        let _ = signal.add_event_listener_with_callback("abort", &resolve);
        listening = Some(Listening {
            signal: signal.clone(),
            listener: resolve,
        });
    });
    let work = std::pin::pin!(work);
    let outcome = select(work, JsFuture::from(aborted)).await;
    drop(listening);
    match outcome {
        Either::Left((result, _)) => Some(result),
        Either::Right(_) => None,
    }
}

/// An `ArrayBuffer` or any `ArrayBufferView`, as bytes; also one made in another realm
/// (an iframe, a DOM emulation such as jsdom), where `instanceof Uint8Array` fails.
pub fn bytes_of(value: &JsValue) -> Option<js_sys::Uint8Array> {
    use js_sys::{ArrayBuffer, Uint8Array};
    if let Some(bytes) = value.dyn_ref::<Uint8Array>() {
        return Some(bytes.clone());
    }
    if let Some(buffer) = value.dyn_ref::<ArrayBuffer>() {
        return Some(Uint8Array::new(buffer));
    }
    if ArrayBuffer::is_view(value) {
        let buffer = get(value, "buffer");
        let offset = get(value, "byteOffset").as_f64()? as u32;
        let length = get(value, "byteLength").as_f64()? as u32;
        return Some(Uint8Array::new_with_byte_offset_and_length(
            &buffer, offset, length,
        ));
    }
    None
}
