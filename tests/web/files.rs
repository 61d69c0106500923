//! Files (PROTOCOL §10), encrypted in chunks, streamed, checked and cancellable; the
//! scenarios run in the page (`fileScenarios` in page.js).

use super::*;

#[wasm_bindgen(module = "/tests/web/page.js")]
extern "C" {
    #[wasm_bindgen(js_name = "fileScenarios")]
    fn file_scenarios(alice: ChatSeal, bob: ChatSeal, alice_id: &str, bob_id: &str) -> Promise;
}

#[wasm_bindgen_test]
async fn files_are_encrypted_in_chunks_streamed_checked_and_cancellable() {
    let (alice_id, alice, bob_id, bob) = registered_pair().await;
    let log = wait(file_scenarios(alice, bob, &alice_id, &bob_id))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    for line in js_sys::Array::from(&log).iter() {
        console_log!("{}", line.as_string().unwrap_or_default());
    }
}
