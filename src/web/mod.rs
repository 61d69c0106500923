//! The JavaScript API, compiled to WebAssembly with wasm-bindgen (wasm32 only).
//!
//! Thin bindings: every operation is in [`crate::client`], where native tests reach it.
//! This layer converts arguments (refusing wrong types with a `TypeError`), supplies the
//! browser's clock and randomness, and turns [`crate::client::Error`] into a
//! `ChatSealError` with a stable `code`.

mod directory;
mod errors;
mod files;
mod js;
mod lowlevel;
mod queue;
mod seal;
mod store;

pub use errors::chat_seal_error_class;
pub use lowlevel::{Card, GroupSession, Identity, InboundSession};
pub use seal::ChatSeal;

use wasm_bindgen::prelude::*;

/// Runs once when the module is instantiated: panics (which the code is written never
/// to hit on input) are reported on the console instead of as an opaque trap.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// `isEncrypted(text)`: true when `text` is a chatseal message (`csm2.` or `csg2.`), so mixed
/// histories can pass plaintext through. Non-strings are not encrypted.
#[wasm_bindgen(js_name = "isEncrypted")]
pub fn is_encrypted(text: &JsValue) -> bool {
    text.as_string()
        .is_some_and(|t| crate::client::is_encrypted(&t))
}
