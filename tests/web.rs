//! `ChatSeal` in headless Chromium against a real `chatseal-server demo` (its URL baked
//! in at build time by `tests/web-run.sh` as CHATSEAL_TEST_DIRECTORY). Tokens come from
//! the demo backend's `/v1/authenticate` and `/v1/chatseal-credentials`, as an app's
//! `getToken` would fetch them.
#![cfg(target_arch = "wasm32")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use chatseal::web::ChatSeal;
use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const DIRECTORY: &str = match option_env!("CHATSEAL_TEST_DIRECTORY") {
    Some(url) => url,
    None => "http://127.0.0.1:9/set-CHATSEAL_TEST_DIRECTORY-by-running-tests/web-run.sh",
};

#[wasm_bindgen(inline_js = r#"
export function tokenGetter(base, identity, counter) {
  return async () => {
    counter.calls = (counter.calls || 0) + 1;
    const post = (path, token, body) => fetch(base + path, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: "Bearer " + token } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    }).then((r) => r.json());
    const { authToken } = await post("/v1/authenticate", null, { identity });
    const { token } = await post("/v1/chatseal-credentials", authToken);
    return token;
  };
}
export function unique(name) { return name + "-" + Math.random().toString(36).slice(2, 10) + "@clinic"; }
export function abortedSignal() { const c = new AbortController(); c.abort(); return c.signal; }
export async function queueAndAbort(seal, texts, from, keep) {
  const controllers = texts.map(() => new AbortController());
  const order = [];
  const promises = texts.map((t, i) =>
    seal.decrypt(t, { from, signal: controllers[i].signal }).then(
      (m) => { order.push(i); return "ok"; },
      (e) => (e.name === "AbortError" ? "aborted" : "error:" + (e.code || e.message)),
    ));
  // Abort all but the last `keep` (the newest) right after queueing them.
  controllers.slice(0, texts.length - keep).forEach((c) => c.abort());
  const outcomes = await Promise.all(promises);
  const count = (x) => outcomes.filter((o) => o === x).length;
  return { ok: count("ok"), aborted: count("aborted"), errors: outcomes.filter((o) => o.startsWith("error")), order, stats: seal.stats() };
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = "tokenGetter")]
    fn token_getter(base: &str, identity: &str, counter: &Object) -> JsValue;
    fn unique(name: &str) -> String;
    #[wasm_bindgen(js_name = "abortedSignal")]
    fn aborted_signal() -> JsValue;
    #[wasm_bindgen(js_name = "queueAndAbort")]
    fn queue_and_abort(seal: ChatSeal, texts: &js_sys::Array, from: &str, keep: u32) -> Promise;
}

fn obj(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    }
    o.into()
}

async fn wait(p: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(p).await
}

fn field(v: &JsValue, k: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(k)).unwrap()
}

async fn open(identity: &str, counter: &Object) -> ChatSeal {
    let options = obj(&[
        ("identity", identity.into()),
        ("directoryUrl", DIRECTORY.into()),
        ("getToken", token_getter(DIRECTORY, identity, counter)),
        ("storage", "memory".into()),
    ]);
    let seal = wait(ChatSeal::open(options)).await.expect("ChatSeal.open");
    // `open` resolves to a ChatSeal object; take it back as the Rust type.
    let ptr = Reflect::get(&seal, &JsValue::from_str("__wbg_ptr")).unwrap();
    assert!(ptr.as_f64().is_some());
    seal_from(seal)
}

#[wasm_bindgen(inline_js = "export function same(x) { return x; }")]
extern "C" {
    #[wasm_bindgen(js_name = "same")]
    fn seal_from(value: JsValue) -> ChatSeal;
}

fn code(err: &JsValue) -> String {
    field(err, "code")
        .as_string()
        .unwrap_or_else(|| format!("not a ChatSealError: {err:?}"))
}

#[wasm_bindgen_test]
async fn two_users_exchange_messages_through_the_real_directory() {
    let (alice_id, bob_id) = (unique("alice"), unique("bob"));
    let counter = Object::new();
    let alice = open(&alice_id, &counter).await;
    let bob = open(&bob_id, &Object::new()).await;
    assert!(!alice.has_local_key());
    let card = wait(alice.register(JsValue::UNDEFINED)).await.unwrap();
    assert!(card.as_string().unwrap().starts_with("csc1."));
    wait(bob.register(JsValue::UNDEFINED)).await.unwrap();
    assert!(alice.has_local_key());

    let to = js_sys::Array::of1(&bob_id.as_str().into());
    let text = wait(alice.encrypt(
        "hello bob".into(),
        obj(&[("to", to.into()), ("context", "dm-1".into())]),
    ))
    .await
    .unwrap();
    let msg = wait(bob.decrypt(
        text.clone(),
        obj(&[
            ("from", alice_id.as_str().into()),
            ("context", "dm-1".into()),
        ]),
    ))
    .await
    .unwrap();
    assert_eq!(
        field(&msg, "text").as_string().as_deref(),
        Some("hello bob")
    );
    assert_eq!(field(&msg, "sender").as_string(), Some(alice_id.clone()));
    assert_eq!(field(&msg, "keyChanged").as_bool(), Some(false));

    // Typed errors from the real flow.
    let err = wait(bob.decrypt(text.clone(), obj(&[("context", "dm-2".into())])))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ContextMismatch");
    let err = wait(bob.decrypt(text.clone(), obj(&[("from", "mallory".into())])))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "SenderMismatch");
    let nobody = js_sys::Array::of1(&unique("nobody").as_str().into());
    let err = wait(alice.encrypt("x".into(), obj(&[("to", nobody.into())])))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "Directory");
    let err = wait(
        open(&alice_id, &Object::new())
            .await
            .register(JsValue::UNDEFINED),
    )
    .await
    .unwrap_err();
    assert_eq!(code(&err), "AlreadyRegistered");
    let err = wait(
        open(&unique("carol"), &Object::new())
            .await
            .encrypt("x".into(), obj(&[("to", js_sys::Array::new().into())])),
    )
    .await
    .unwrap_err();
    assert_eq!(code(&err), "NoLocalKey");

    // An already-aborted signal rejects with AbortError before any work, and is counted.
    let err = wait(bob.decrypt(text, obj(&[("signal", aborted_signal())])))
        .await
        .unwrap_err();
    assert_eq!(
        field(&err, "name").as_string().as_deref(),
        Some("AbortError")
    );
    let stats = bob.stats();
    assert_eq!(field(&stats, "cancelled").as_f64(), Some(1.0));
    assert_eq!(field(&stats, "decrypted").as_f64(), Some(1.0));
    // getToken was called once and its token reused.
    assert_eq!(field(&counter, "calls").as_f64(), Some(1.0));
}

#[wasm_bindgen_test]
async fn rotation_backup_and_restore_in_the_browser() {
    let (alice_id, bob_id) = (unique("alice"), unique("bob"));
    let alice = open(&alice_id, &Object::new()).await;
    let bob = open(&bob_id, &Object::new()).await;
    wait(alice.register(JsValue::UNDEFINED)).await.unwrap();
    wait(bob.register(JsValue::UNDEFINED)).await.unwrap();
    let to = || obj(&[("to", js_sys::Array::of1(&bob_id.as_str().into()).into())]);
    let old = wait(alice.encrypt("before".into(), to())).await.unwrap();
    wait(alice.rotate(JsValue::UNDEFINED)).await.unwrap();
    let new = wait(alice.encrypt("after".into(), to())).await.unwrap();
    for (text, expected) in [(old.clone(), "before"), (new, "after")] {
        let msg = wait(bob.decrypt(text, obj(&[("from", alice_id.as_str().into())])))
            .await
            .unwrap();
        assert_eq!(field(&msg, "text").as_string().as_deref(), Some(expected));
        assert_eq!(field(&msg, "keyChanged").as_bool(), Some(false));
    }
    // Backup (default Argon2id: 64 MiB) → wipe → restore on a new instance.
    wait(bob.backup("correct horse".into(), JsValue::UNDEFINED))
        .await
        .unwrap();
    wait(bob.wipe_local(JsValue::UNDEFINED)).await.unwrap();
    assert!(!bob.has_local_key());
    let fresh = open(&bob_id, &Object::new()).await;
    let err = wait(fresh.restore("wrong".into(), JsValue::UNDEFINED))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "Integrity");
    wait(fresh.restore("correct horse".into(), JsValue::UNDEFINED))
        .await
        .unwrap();
    let msg = wait(fresh.decrypt(old, obj(&[("from", alice_id.as_str().into())])))
        .await
        .unwrap();
    assert_eq!(field(&msg, "text").as_string().as_deref(), Some("before"));
    let a = wait(fresh.safety_number(alice_id.as_str().into(), JsValue::UNDEFINED))
        .await
        .unwrap();
    let b = wait(alice.safety_number(bob_id.as_str().into(), JsValue::UNDEFINED))
        .await
        .unwrap();
    assert_eq!(a.as_string().unwrap().len(), 60);
    assert_eq!(a, b);
}

#[wasm_bindgen_test]
async fn aborted_decrypts_leave_the_queue_before_any_work() {
    let (alice_id, bob_id) = (unique("alice"), unique("bob"));
    let alice = open(&alice_id, &Object::new()).await;
    let bob = open(&bob_id, &Object::new()).await;
    wait(alice.register(JsValue::UNDEFINED)).await.unwrap();
    wait(bob.register(JsValue::UNDEFINED)).await.unwrap();
    let texts = js_sys::Array::new();
    for i in 0..1000 {
        let to = obj(&[
            ("to", js_sys::Array::of1(&bob_id.as_str().into()).into()),
            ("context", "c".into()),
        ]);
        texts.push(
            &wait(alice.encrypt(format!("message {i}").into(), to))
                .await
                .unwrap(),
        );
    }
    let result = wait(queue_and_abort(bob, &texts, &alice_id, 10))
        .await
        .unwrap();
    assert_eq!(field(&result, "aborted").as_f64(), Some(990.0));
    assert_eq!(field(&result, "ok").as_f64(), Some(10.0));
    assert_eq!(js_sys::Array::from(&field(&result, "errors")).length(), 0);
    let stats = field(&result, "stats");
    assert!(
        field(&stats, "decrypted").as_f64().unwrap() <= 10.0,
        "{stats:?}"
    );
    assert_eq!(field(&stats, "cancelled").as_f64(), Some(990.0));
    // Newest first: the kept jobs (indices 990..999) finished in descending order.
    let order: Vec<u32> = js_sys::Array::from(&field(&result, "order"))
        .iter()
        .map(|v| v.as_f64().unwrap() as u32)
        .collect();
    assert_eq!(order, (990..1000).rev().collect::<Vec<_>>());
}
