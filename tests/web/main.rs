//! `ChatSeal` in headless Chromium against a real `chatseal-relay` (its URL baked
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

use std::rc::Rc;

use chatseal::web::ChatSeal;
use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

// One module per feature; the harness and the helpers they share are below.
mod files;
mod hostile_chat;
mod hostile_directory;
mod key_changes;
mod messages;
mod storage;

wasm_bindgen_test_configure!(run_in_browser);

const DIRECTORY: &str = match option_env!("CHATSEAL_TEST_DIRECTORY") {
    Some(url) => url,
    None => "http://127.0.0.1:9/set-CHATSEAL_TEST_DIRECTORY-by-running-tests/web-run.sh",
};

#[wasm_bindgen(module = "/tests/web/page.js")]
extern "C" {
    #[wasm_bindgen(js_name = "tokenGetter")]
    fn token_getter(base: &str, identity: &str, counter: &Object) -> JsValue;
    fn unique(name: &str) -> String;
    #[wasm_bindgen(js_name = "abortedSignal")]
    fn aborted_signal() -> JsValue;
    #[wasm_bindgen(js_name = "queueAndAbort")]
    fn queue_and_abort(seal: ChatSeal, texts: &js_sys::Array, from: &str, keep: u32) -> Promise;
    #[wasm_bindgen(js_name = "authedFetch")]
    fn authed_fetch(base: &str, identity: &str, method: &str, path: &str, body: JsValue)
        -> Promise;
    #[wasm_bindgen(js_name = "dumpDatabase")]
    fn dump_database(name: &str) -> Promise;
    fn tamper(name: &str, identity: &str) -> Promise;
    fn until(check: &js_sys::Function, ms: u32) -> Promise;
    #[wasm_bindgen(js_name = "slowFetch")]
    fn slow_fetch(delay_ms: u32) -> js_sys::Array;
    #[wasm_bindgen(js_name = "restoreFetch")]
    fn restore_fetch();
    fn settle(promise: &Promise) -> Promise;
    fn controller() -> web_sys::AbortController;
    fn recorder() -> js_sys::Function;
    #[wasm_bindgen(js_name = "timeHistory")]
    fn time_history(seal: ChatSeal, texts: &js_sys::Array, from: &str) -> Promise;
    #[wasm_bindgen(js_name = "makeV1Database")]
    fn make_v1_database(name: &str) -> Promise;
    #[wasm_bindgen(js_name = "databaseInfo")]
    fn database_info(name: &str) -> Promise;
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
    try_open(identity, counter, None)
        .await
        .expect("ChatSeal.open")
}

/// Opens on IndexedDB database `database` (or in memory without one).
async fn try_open(
    identity: &str,
    counter: &Object,
    database: Option<&str>,
) -> Result<ChatSeal, JsValue> {
    let storage = match database {
        Some(name) => vec![("storage", "indexeddb".into()), ("database", name.into())],
        None => vec![("storage", "memory".into())],
    };
    let mut pairs = vec![
        ("identity", identity.into()),
        ("directoryUrl", DIRECTORY.into()),
        ("getToken", token_getter(DIRECTORY, identity, counter)),
    ];
    pairs.extend(storage);
    let seal = wait(ChatSeal::open(obj(&pairs))).await?;
    // `open` resolves to a ChatSeal object; take it back as the Rust type.
    let ptr = Reflect::get(&seal, &JsValue::from_str("__wbg_ptr")).unwrap();
    assert!(ptr.as_f64().is_some());
    Ok(seal_from(seal))
}

#[wasm_bindgen(module = "/tests/web/page.js")]
extern "C" {
    #[wasm_bindgen(js_name = "same")]
    fn seal_from(value: JsValue) -> ChatSeal;
}

/// Two users, both opened in memory and registered.
async fn registered_pair() -> (String, ChatSeal, String, ChatSeal) {
    let (alice_id, bob_id) = (unique("alice"), unique("bob"));
    let alice = open(&alice_id, &Object::new()).await;
    let bob = open(&bob_id, &Object::new()).await;
    wait(alice.register(JsValue::UNDEFINED)).await.unwrap();
    wait(bob.register(JsValue::UNDEFINED)).await.unwrap();
    (alice_id, alice, bob_id, bob)
}

/// Replaces `identity`'s card at the directory with a new key outside any rotation chain
/// (`?replace=true`: a lost device, or a hostile directory); returns the new keys.
async fn replace_card(identity: &str) -> chatseal::web::Identity {
    let keys = chatseal::web::Identity::generate(&identity.into()).unwrap();
    let replaced = wait(authed_fetch(
        DIRECTORY,
        identity,
        "POST",
        "/v2/cards?replace=true",
        obj(&[("card", keys.card().text().into())]),
    ))
    .await
    .unwrap();
    assert!(field(&replaced, "status").as_f64().unwrap() < 300.0);
    keys
}

fn code(err: &JsValue) -> String {
    field(err, "code")
        .as_string()
        .unwrap_or_else(|| format!("not a ChatSealError: {err:?}"))
}

/// Asserts that `err` is the ChatSealError `expected` and that its message says `says`.
fn fails_with(err: &JsValue, expected: &str, says: &str) {
    assert_eq!(code(err), expected, "{err:?}");
    let message = field(err, "message").as_string().unwrap_or_default();
    assert!(message.contains(says), "{expected}: {message:?}");
}

fn list(items: &[&str]) -> JsValue {
    items
        .iter()
        .map(|s| JsValue::from_str(s))
        .collect::<js_sys::Array>()
        .into()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

// A hostile directory and a hostile chat server, built in the page. `hostileFetch(rules)`
// wraps `fetch`: a request whose method is `rule.method` and whose path contains
// `rule.path` gets the rule's answer, every other request reaches the real directory.
// A rule's answer is one of:
//   cards: { identity: text | null }  the real lookup answer with these cards put in (null: removed)
//   never: true                       no answer at all: waits until the request is aborted
//   endless: true                     an answer whose body starts and never ends
//   huge: n, declared                 an n-byte body made as it is read (`rule.read` counts the
//                                     bytes handed out); `declared`: with its Content-Length
//   hugeText: n                       an n-byte body of valid JSON, in one piece
//   status, body, headers             a made-up answer (`body` a string)
// `rule.hits` counts the requests it answered; the returned log has { method, path, signal }.
#[wasm_bindgen(module = "/tests/web/page.js")]
extern "C" {
    #[wasm_bindgen(js_name = "hostileFetch")]
    fn hostile_fetch(rules: &js_sys::Array) -> js_sys::Array;
    #[wasm_bindgen(js_name = "honestFetch")]
    fn honest_fetch();
    #[wasm_bindgen(js_name = "watchConsole")]
    fn watch_console();
    #[wasm_bindgen(js_name = "unwatchConsole")]
    fn unwatch_console() -> js_sys::Array;
    #[wasm_bindgen(js_name = "waitMs")]
    fn wait_ms(ms: u32) -> Promise;
    #[wasm_bindgen(js_name = "attemptAll")]
    fn attempt_all(promises: &js_sys::Array) -> Promise;
    fn timer(ms: u32) -> JsValue;
    fn lateness(timer: &JsValue) -> Promise;
}

/// One rule of `hostileFetch`: `method` and a part of the path, and the answer's fields.
fn rule(method: &str, path: &str, answer: &[(&str, JsValue)]) -> JsValue {
    let mut pairs = vec![("method", method.into()), ("path", path.into())];
    pairs.extend(answer.iter().cloned());
    obj(&pairs)
}

/// Installs the hostile directory of `rules`; returns its request log.
fn hostile(rules: &[JsValue]) -> js_sys::Array {
    hostile_fetch(&rules.iter().collect())
}

/// The lookup answer rewritten: `identity`'s result → `card` (None: withheld, null).
fn swap_lookup(cards: &[(&str, Option<&str>)]) -> JsValue {
    let map = Object::new();
    for (identity, card) in cards {
        let value = card.map_or(JsValue::NULL, JsValue::from_str);
        Reflect::set(&map, &JsValue::from_str(identity), &value).unwrap();
    }
    rule("POST", "/v2/cards/lookup", &[("cards", map.into())])
}

/// `GET /v2/cards/by-id/{id}` answered with `status` and `body`.
fn by_id(id: &str, status: u16, body: &str) -> JsValue {
    rule(
        "GET",
        &format!("/v2/cards/by-id/{id}"),
        &[("status", status.into()), ("body", body.into())],
    )
}

/// `{ to, context }`.
fn to(ids: &[&str], context: &str) -> JsValue {
    obj(&[("to", list(ids)), ("context", context.into())])
}

/// `{ from, context }`.
fn from(id: &str, context: &str) -> JsValue {
    obj(&[("from", id.into()), ("context", context.into())])
}

/// What `settle` made of a promise; every failure's message is kept in `messages`.
async fn outcome(promise: Promise, messages: &mut Vec<String>) -> JsValue {
    let out = wait(settle(&promise)).await.unwrap();
    if let Some(message) = field(&out, "message").as_string() {
        messages.push(message);
    }
    out
}

/// Asserts that `out` (from [`outcome`]) failed with the ChatSealError `code` and a
/// message containing `says`.
fn refused(out: &JsValue, code: &str, says: &str, what: &str) {
    assert_eq!(field(out, "ok").as_bool(), Some(false), "{what}: {out:?}");
    assert_eq!(
        field(out, "name").as_string().as_deref(),
        Some("ChatSealError"),
        "{what}: {out:?}"
    );
    assert_eq!(
        field(out, "code").as_string().as_deref(),
        Some(code),
        "{what}: {out:?}"
    );
    let message = field(out, "message").as_string().unwrap_or_default();
    assert!(message.contains(says), "{what}: {message:?}");
}

/// Registers a new user named after `name`.
async fn registered(name: &str) -> (String, ChatSeal) {
    let id = unique(name);
    let seal = open(&id, &Object::new()).await;
    wait(seal.register(JsValue::UNDEFINED)).await.unwrap();
    (id, seal)
}

/// The current card text of `identity`, as `seal` looks it up.
async fn card_of(seal: &ChatSeal, identity: &str) -> String {
    let looked = wait(seal.lookup(list(&[identity]), JsValue::UNDEFINED))
        .await
        .unwrap();
    field(&field(&looked, identity), "card")
        .as_string()
        .unwrap()
}

/// The sender card id of a `csp2.` or `csm2.` text.
fn sender_card_id(text: &JsValue) -> String {
    let text = text.as_string().unwrap();
    match chatseal::proto::pairwise::Pairwise::parse(&text) {
        Ok(pairwise) => pairwise.header().sender_card_id.to_string(),
        Err(_) => chatseal::proto::Envelope::parse(&text)
            .unwrap()
            .sender_card_id()
            .to_string(),
    }
}

/// Records the `keychanged` events of `seal` (keep the closure alive while listening).
fn key_changes(seal: &ChatSeal) -> (js_sys::Array, Closure<dyn Fn(web_sys::CustomEvent)>) {
    let events = js_sys::Array::new();
    let listener = Closure::<dyn Fn(web_sys::CustomEvent)>::new({
        let events = events.clone();
        move |e: web_sys::CustomEvent| {
            events.push(&e.detail());
        }
    });
    seal.add_event_listener("keychanged".into(), listener.as_ref().clone())
        .unwrap();
    (events, listener)
}

/// `identity`'s keyring, by the only way a test can see its private keys: a backup made
/// with `seal.backup`, fetched from the directory and opened.
async fn keyring_from_backup(seal: &ChatSeal, identity: &str) -> chatseal::proto::Keyring {
    wait(seal.backup("pw".into(), JsValue::UNDEFINED))
        .await
        .unwrap();
    let got = wait(authed_fetch(
        DIRECTORY,
        identity,
        "GET",
        "/v2/backup",
        JsValue::NULL,
    ))
    .await
    .unwrap();
    let backups = js_sys::Array::from(&field(&field(&got, "body"), "backups"));
    let text = backups
        .iter()
        .filter_map(|b| b.as_string())
        .find(|b| b.starts_with("csb1."))
        .unwrap();
    chatseal::proto::backup::open(&text, "pw").unwrap()
}

/// How `identity`'s private keys could be printed: hex, base64 and base64url of each
/// secret, from its backup at the directory (taken with `seal.backup`).
async fn printed_secrets(seal: &ChatSeal, identity: &str) -> Vec<String> {
    use base64::Engine as _;
    let keyring = keyring_from_backup(seal, identity).await;
    let mut out = Vec::new();
    for entry in keyring.entries() {
        let keys = entry.keys();
        for secret in [keys.sign_seed(), keys.enc_sk()] {
            for encoded in [
                hex::encode(&secret[..]),
                hex::encode_upper(&secret[..]),
                base64::engine::general_purpose::STANDARD.encode(&secret[..]),
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&secret[..]),
            ] {
                out.push(encoded[..16].to_owned());
            }
            // As a JS array or a Rust slice would print it.
            out.push(format!("{:?}", &secret[..8]));
            out.push(
                secret[..8]
                    .iter()
                    .map(u8::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            );
        }
    }
    out
}

/// Stops watching the console and asserts that nothing printed, and no error message of
/// the test, shows a secret (a plaintext or a private key).
fn assert_nothing_leaked(messages: &[String], secrets: &[String]) {
    let printed: Vec<String> = unwatch_console()
        .iter()
        .filter_map(|l| l.as_string())
        .collect();
    for (where_, text) in printed
        .iter()
        .map(|l| ("console", l))
        .chain(messages.iter().map(|m| ("an error message", m)))
    {
        for secret in secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{where_} shows a secret ({secret:?}): {text:?}"
            );
        }
    }
}
