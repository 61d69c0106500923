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
        "/v1/cards?replace=true",
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
    let (alice_id, alice, bob_id, bob) = registered_pair().await;
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
    let (alice_id, alice, bob_id, bob) = registered_pair().await;
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
    // Bob has alice's card at hand, so no job waits on the directory (one that does lets
    // the queue's other workers go past it).
    card_of(&bob, &alice_id).await;
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

#[wasm_bindgen_test]
async fn keys_in_indexeddb_survive_a_reopen_and_are_sealed() {
    use base64::Engine as _;
    let db = unique("db");
    let (alice_id, bob_id) = (unique("alice"), unique("bob"));
    let alice = try_open(&alice_id, &Object::new(), Some(&db))
        .await
        .unwrap();
    wait(alice.register(JsValue::UNDEFINED)).await.unwrap();
    let bob = open(&bob_id, &Object::new()).await;
    wait(bob.register(JsValue::UNDEFINED)).await.unwrap();
    let text = wait(bob.encrypt("for alice".into(), obj(&[("to", list(&[&alice_id]))])))
        .await
        .unwrap();

    // A new ChatSeal on the same database has the key and reads the message.
    let again = try_open(&alice_id, &Object::new(), Some(&db))
        .await
        .unwrap();
    assert!(again.has_local_key());
    let msg = wait(again.decrypt(text.clone(), obj(&[("from", bob_id.as_str().into())])))
        .await
        .unwrap();
    assert_eq!(
        field(&msg, "text").as_string().as_deref(),
        Some("for alice")
    );

    // Trust survives the reopen too: bob's card, pinned by `again`, is replaced outside
    // a rotation chain; the next instance on this database notices.
    wait(again.lookup(list(&[&bob_id]), JsValue::UNDEFINED))
        .await
        .unwrap();
    replace_card(&bob_id).await;
    let next = try_open(&alice_id, &Object::new(), Some(&db))
        .await
        .unwrap();
    let looked = wait(next.lookup(list(&[&bob_id]), JsValue::UNDEFINED))
        .await
        .unwrap();
    assert_eq!(
        field(&field(&looked, &bob_id), "keyChanged").as_bool(),
        Some(true)
    );

    // The private keys, from alice's backup, appear nowhere in the raw database.
    let keyring = keyring_from_backup(&alice, &alice_id).await;
    let dump = wait(dump_database(&db)).await.unwrap();
    let bytes = js_sys::Uint8Array::new(&field(&dump, "bytes")).to_vec();
    let strings = field(&dump, "text").as_string().unwrap();
    assert!(field(&dump, "records").as_f64().unwrap() >= 2.0);
    assert!(bytes.len() > 64, "the sealed keyring is in the database");
    for entry in keyring.entries() {
        let keys = entry.keys();
        for secret in [keys.sign_seed(), keys.enc_sk()] {
            assert!(
                !contains(&bytes, &secret[..]),
                "a raw private key in IndexedDB"
            );
            for encoded in [
                hex::encode(&secret[..]),
                base64::engine::general_purpose::STANDARD.encode(&secret[..]),
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&secret[..]),
            ] {
                assert!(!strings.contains(&encoded[..16]), "an encoded private key");
                assert!(!contains(&bytes, &encoded.as_bytes()[..16]));
            }
        }
    }
    // The wrapping key is a CryptoKey the page cannot export.
    let keys = js_sys::Array::from(&field(&dump, "keys"));
    assert_eq!(keys.length(), 1);
    assert_eq!(field(&keys.get(0), "extractable").as_bool(), Some(false));
    assert_eq!(
        field(&keys.get(0), "algorithm").as_string().as_deref(),
        Some("AES-GCM")
    );

    // An altered record is a Storage error, not a crash or a silent new identity.
    wait(tamper(&db, &alice_id)).await.unwrap();
    let err = try_open(&alice_id, &Object::new(), Some(&db))
        .await
        .err()
        .unwrap();
    fails_with(&err, "Storage", "cannot be unsealed");

    // wipeLocal empties the database.
    wait(again.wipe_local(JsValue::UNDEFINED)).await.unwrap();
    let dump = wait(dump_database(&db)).await.unwrap();
    assert_eq!(field(&dump, "records").as_f64(), Some(0.0));
    let fresh = try_open(&alice_id, &Object::new(), Some(&db))
        .await
        .unwrap();
    assert!(!fresh.has_local_key());
}

#[wasm_bindgen_test]
async fn two_tabs_registering_at_once_make_one_identity_and_others_hear_of_it() {
    let db = unique("db");
    let id = unique("alice");
    // Three instances on one database, as three tabs would be.
    let a = try_open(&id, &Object::new(), Some(&db)).await.unwrap();
    let b = try_open(&id, &Object::new(), Some(&db)).await.unwrap();
    let watcher = try_open(&id, &Object::new(), Some(&db)).await.unwrap();
    let pa = a.register(JsValue::UNDEFINED);
    let pb = b.register(JsValue::UNDEFINED);
    let (ca, cb) = (wait(pa).await.unwrap(), wait(pb).await.unwrap());
    assert_eq!(ca, cb, "both tabs end with the one card");
    let history = wait(authed_fetch(
        DIRECTORY,
        &id,
        "GET",
        &format!("/v1/cards/{}/history", js_sys::encode_uri_component(&id)),
        JsValue::NULL,
    ))
    .await
    .unwrap();
    let cards = js_sys::Array::from(&field(&field(&history, "body"), "cards"));
    assert_eq!(cards.length(), 1, "one card published");
    // The third tab learns of the keys through the BroadcastChannel.
    let watcher = Rc::new(watcher);
    let seen = Rc::clone(&watcher);
    let check = Closure::<dyn Fn() -> bool>::new(move || seen.has_local_key());
    let heard = wait(until(check.as_ref().unchecked_ref(), 3000))
        .await
        .unwrap();
    assert_eq!(heard.as_bool(), Some(true));
    // And it can use them: a message to itself.
    let text = wait(watcher.encrypt("note".into(), obj(&[("to", list(&[]))])))
        .await
        .unwrap();
    let msg = wait(a.decrypt(text, JsValue::UNDEFINED)).await.unwrap();
    assert_eq!(field(&msg, "text").as_string().as_deref(), Some("note"));
}

#[wasm_bindgen_test]
async fn lookups_coalesce_and_an_aborted_lookup_aborts_its_fetch() {
    let alice_id = unique("alice");
    let alice = open(&alice_id, &Object::new()).await;
    wait(alice.register(JsValue::UNDEFINED)).await.unwrap();
    let others: Vec<String> = ["bob", "carol", "dave"].iter().map(|n| unique(n)).collect();
    for id in &others {
        wait(open(id, &Object::new()).await.register(JsValue::UNDEFINED))
            .await
            .unwrap();
    }
    let (bob, carol, dave) = (&others[0], &others[1], &others[2]);
    let log = slow_fetch(300);
    let lookups = |s: &ChatSeal| field(&s.stats(), "lookups").as_f64().unwrap();
    let before = lookups(&alice);

    // Two lookups of bob at once: one request.
    let p1 = alice.lookup(list(&[bob]), JsValue::UNDEFINED);
    let p2 = alice.lookup(list(&[bob]), JsValue::UNDEFINED);
    let (r1, r2) = (wait(p1).await.unwrap(), wait(p2).await.unwrap());
    assert_eq!(
        field(&field(&r1, bob), "cardId"),
        field(&field(&r2, bob), "cardId")
    );
    assert_eq!(lookups(&alice) - before, 1.0);
    let requests = |log: &js_sys::Array| {
        log.iter()
            .filter(|e| {
                field(e, "url")
                    .as_string()
                    .unwrap()
                    .ends_with("/v1/cards/lookup")
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(requests(&log).len(), 1);

    // Aborted while in flight: rejects at once with AbortError, and the fetch is aborted.
    let c = controller();
    let pending = settle(&alice.lookup(list(&[carol]), obj(&[("signal", c.signal().into())])));
    wait(until(
        Closure::<dyn Fn() -> bool>::new({
            let log = log.clone();
            move || requests(&log).len() == 2
        })
        .as_ref()
        .unchecked_ref(),
        2000,
    ))
    .await
    .unwrap();
    c.abort();
    let outcome = wait(pending).await.unwrap();
    assert_eq!(
        field(&outcome, "name").as_string().as_deref(),
        Some("AbortError")
    );
    assert!(
        field(&outcome, "ms").as_f64().unwrap() < 300.0,
        "rejected before the answer"
    );
    let carol_request = requests(&log)[1].clone();
    assert_eq!(
        field(&field(&carol_request, "signal"), "aborted").as_bool(),
        Some(true)
    );

    // Shared by two calls, aborted by one: the other still gets the card.
    let c = controller();
    let aborted = settle(&alice.lookup(list(&[dave]), obj(&[("signal", c.signal().into())])));
    let kept = settle(&alice.lookup(list(&[dave]), JsValue::UNDEFINED));
    c.abort();
    let (aborted, kept) = (wait(aborted).await.unwrap(), wait(kept).await.unwrap());
    restore_fetch();
    assert_eq!(
        field(&aborted, "name").as_string().as_deref(),
        Some("AbortError")
    );
    assert_eq!(field(&kept, "ok").as_bool(), Some(true), "{kept:?}");
    let dave_request = requests(&log)[2].clone();
    assert_eq!(
        field(&field(&dave_request, "signal"), "aborted").as_bool(),
        Some(false)
    );
    assert_eq!(requests(&log).len(), 3);
}

#[wasm_bindgen_test]
async fn a_replaced_key_fires_keychanged_and_wrap_send_encrypts() {
    let (alice_id, alice, bob_id, bob) = registered_pair().await;
    let events = js_sys::Array::new();
    let listener = Closure::<dyn Fn(web_sys::CustomEvent)>::new({
        let events = events.clone();
        move |e: web_sys::CustomEvent| {
            events.push(&e.detail());
        }
    });
    alice
        .add_event_listener("keychanged".into(), listener.as_ref().clone())
        .unwrap();

    // wrapSend: a string, then a message object with other fields and extra arguments.
    let sdk = recorder();
    let send = alice
        .wrap_send(
            sdk.clone().into(),
            obj(&[("to", list(&[&bob_id])), ("context", "cid-1".into())]),
        )
        .unwrap()
        .unchecked_into::<js_sys::Function>();
    assert_eq!(
        wait(
            send.call1(&JsValue::UNDEFINED, &"hi bob".into())
                .unwrap()
                .into()
        )
        .await
        .unwrap(),
        "sent"
    );
    let message = obj(&[("text", "with fields".into()), ("pinned", true.into())]);
    wait(
        send.call2(&JsValue::UNDEFINED, &message, &"extra".into())
            .unwrap()
            .into(),
    )
    .await
    .unwrap();
    let calls = js_sys::Array::from(&field(&sdk, "calls"));
    let first = js_sys::Array::from(&calls.get(0)).get(0);
    let second = js_sys::Array::from(&calls.get(1));
    assert!(chatseal::web::is_encrypted(&first));
    assert_eq!(field(&second.get(0), "pinned").as_bool(), Some(true));
    assert_eq!(second.get(1).as_string().as_deref(), Some("extra"));
    for (sealed, expected) in [
        (first, "hi bob"),
        (field(&second.get(0), "text"), "with fields"),
    ] {
        let msg = wait(bob.decrypt(
            sealed,
            obj(&[
                ("from", alice_id.as_str().into()),
                ("context", "cid-1".into()),
            ]),
        ))
        .await
        .unwrap();
        assert_eq!(field(&msg, "text").as_string().as_deref(), Some(expected));
    }
    let err = send.call1(&JsValue::UNDEFINED, &JsValue::from(5)).unwrap();
    let err = wait(err.into()).await.unwrap_err();
    assert_eq!(
        field(&err, "name").as_string().as_deref(),
        Some("TypeError")
    );

    // Bob's card is replaced outside a rotation chain (a lost device, or a hostile
    // directory); a message from the new key is flagged, and the event fires once.
    let new_bob = replace_card(&bob_id).await;
    let alice_card = chatseal::web::Card::parse(
        &wait(alice.lookup(list(&[&alice_id]), JsValue::UNDEFINED))
            .await
            .map(|r| field(&field(&r, &alice_id), "card"))
            .unwrap(),
    )
    .unwrap();
    let cards = js_sys::Array::of1(&JsValue::from(alice_card));
    for i in 0..2 {
        let text = new_bob
            .encrypt(&format!("new key {i}").into(), &cards, &JsValue::UNDEFINED)
            .unwrap();
        let msg = wait(alice.decrypt(text.into(), obj(&[("from", bob_id.as_str().into())])))
            .await
            .unwrap();
        assert_eq!(field(&msg, "keyChanged").as_bool(), Some(true));
    }
    assert_eq!(events.length(), 1, "one event per new card");
    let detail = events.get(0);
    assert_eq!(field(&detail, "identity").as_string(), Some(bob_id.clone()));
    assert_eq!(
        field(&detail, "cardId").as_string(),
        Some(new_bob.card().id())
    );
    assert_ne!(field(&detail, "previousCardId"), field(&detail, "cardId"));
    // Sending to bob is refused until the change is accepted.
    let err = wait(
        send.call1(&JsValue::UNDEFINED, &"after".into())
            .unwrap()
            .into(),
    )
    .await
    .unwrap_err();
    fails_with(&err, "Directory", "changed");
    let accepted = wait(alice.accept_key_change(bob_id.as_str().into())).await;
    assert_eq!(accepted.unwrap().as_bool(), Some(true));
    wait(
        send.call1(&JsValue::UNDEFINED, &"after".into())
            .unwrap()
            .into(),
    )
    .await
    .unwrap();
}

#[wasm_bindgen_test]
async fn a_refused_token_is_unauthorized_after_one_retry() {
    let counter = Object::new();
    let bad = Closure::<dyn Fn() -> JsValue>::new({
        let counter = counter.clone();
        move || {
            let calls = field(&counter, "calls").as_f64().unwrap_or(0.0);
            Reflect::set(&counter, &"calls".into(), &(calls + 1.0).into()).unwrap();
            JsValue::from_str("not-a-jwt")
        }
    });
    let seal = wait(ChatSeal::open(obj(&[
        ("identity", unique("eve").as_str().into()),
        ("directoryUrl", DIRECTORY.into()),
        ("getToken", bad.as_ref().clone()),
        ("storage", "memory".into()),
    ])))
    .await
    .map(seal_from)
    .unwrap();
    let err = wait(seal.lookup(list(&["bob@clinic"]), JsValue::UNDEFINED))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "Unauthorized");
    assert_eq!(
        field(&counter, "calls").as_f64(),
        Some(2.0),
        "asked again once"
    );
}

#[wasm_bindgen_test]
async fn decrypt_and_verify_timing_in_this_browser() {
    let (alice_id, alice, bob_id, bob) = registered_pair().await;
    let texts = js_sys::Array::new();
    let body = "x".repeat(200);
    for _ in 0..200 {
        texts.push(
            &wait(alice.encrypt(body.as_str().into(), obj(&[("to", list(&[&bob_id]))])))
                .await
                .unwrap(),
        );
    }
    let result = wait(time_history(bob, &texts, &alice_id)).await.unwrap();
    assert_eq!(field(&result, "ok").as_f64(), Some(200.0));
    let ms = field(&result, "ms").as_f64().unwrap();
    console_log!(
        "decrypt+verify through ChatSeal's queue ({} build): 200 messages in {ms:.1} ms, {:.0} µs each",
        if cfg!(debug_assertions) { "debug" } else { "release" },
        ms * 1000.0 / 200.0
    );
}

#[wasm_bindgen_test]
async fn group_sessions_across_two_tabs_on_a_database_from_version_1() {
    // A database as the previous release left it is upgraded in place.
    let db = unique("db");
    wait(make_v1_database(&db)).await.unwrap();
    let names: Vec<String> = (0..12).map(|i| unique(&format!("m{i}"))).collect();
    let tab_a = try_open(&names[0], &Object::new(), Some(&db))
        .await
        .unwrap();
    let info = wait(database_info(&db)).await.unwrap();
    assert_eq!(field(&info, "version").as_f64(), Some(2.0));
    assert_eq!(
        field(&info, "marker").as_string().as_deref(),
        Some("v1 marker")
    );
    assert!(field(&info, "stores")
        .as_string()
        .unwrap()
        .contains("outbound"));
    wait(tab_a.register(JsValue::UNDEFINED)).await.unwrap();
    let tab_b = try_open(&names[0], &Object::new(), Some(&db))
        .await
        .unwrap();
    let mut others = Vec::new();
    for name in &names[1..] {
        let seal = open(name, &Object::new()).await;
        wait(seal.register(JsValue::UNDEFINED)).await.unwrap();
        others.push(seal);
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let to = list(&refs);
    let options = || obj(&[("to", to.clone()), ("context", "team:ward-7".into())]);

    // Both tabs send at once: six messages, six different indices of one session.
    let sends: Vec<Promise> = (0..6)
        .map(|i| {
            let tab = if i % 2 == 0 { &tab_a } else { &tab_b };
            tab.encrypt(format!("message {i}").into(), options())
        })
        .collect();
    let mut texts = Vec::new();
    for p in sends {
        texts.push(wait(p).await.unwrap().as_string().unwrap());
    }
    let headers: Vec<_> = texts
        .iter()
        .map(|t| {
            *chatseal::proto::group::GroupMessage::parse(t)
                .unwrap()
                .header()
        })
        .collect();
    let mut indices: Vec<u32> = headers.iter().map(|h| h.index).collect();
    indices.sort_unstable();
    assert_eq!(
        indices,
        vec![0, 1, 2, 3, 4, 5],
        "no index used twice across tabs"
    );
    assert!(headers
        .iter()
        .all(|h| h.session_id == headers[0].session_id));

    // A member reads them all, with one share request.
    let reader = &others[3];
    for (i, t) in texts.iter().enumerate() {
        let got = wait(reader.decrypt(
            t.as_str().into(),
            obj(&[
                ("from", names[0].as_str().into()),
                ("context", "team:ward-7".into()),
            ]),
        ))
        .await
        .unwrap();
        assert_eq!(
            field(&got, "text").as_string(),
            Some(format!("message {i}"))
        );
    }
    assert_eq!(field(&reader.stats(), "shareRequests").as_f64(), Some(1.0));
    assert!(chatseal::client::is_encrypted(&texts[0]));

    // m5 leaves (11 members stay, still above the threshold): told through
    // updateMembers, the next message is one m5 cannot read.
    let without: Vec<&str> = refs.iter().copied().filter(|n| *n != names[5]).collect();
    wait(tab_b.update_members(obj(&[
        ("to", list(&without)),
        ("context", "team:ward-7".into()),
    ])))
    .await
    .unwrap();
    let next = wait(tab_a.encrypt(
        "after m5 left".into(),
        obj(&[("to", list(&without)), ("context", "team:ward-7".into())]),
    ))
    .await
    .unwrap();
    let from = || {
        obj(&[
            ("from", names[0].as_str().into()),
            ("context", "team:ward-7".into()),
        ])
    };
    let err = wait(others[4].decrypt(next.clone(), from()))
        .await
        .unwrap_err();
    fails_with(&err, "NoSessionKey", "no session key");
    let got = wait(others[5].decrypt(next, from())).await.unwrap();
    assert_eq!(
        field(&got, "text").as_string().as_deref(),
        Some("after m5 left")
    );
    // A bad threshold is refused by name.
    let bad = wait(ChatSeal::open(obj(&[
        ("identity", names[0].as_str().into()),
        ("directoryUrl", DIRECTORY.into()),
        (
            "getToken",
            token_getter(DIRECTORY, &names[0], &Object::new()),
        ),
        ("storage", "memory".into()),
        ("groupThreshold", JsValue::from_f64(2.5)),
    ])))
    .await
    .unwrap_err();
    assert!(field(&bad, "message")
        .as_string()
        .unwrap()
        .contains("groupThreshold"));
}

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

/// The lookup answer rewritten: `identity` → `card` (None: withheld).
fn swap_lookup(cards: &[(&str, Option<&str>)]) -> JsValue {
    let map = Object::new();
    for (identity, card) in cards {
        let value = card.map_or(JsValue::NULL, JsValue::from_str);
        Reflect::set(&map, &JsValue::from_str(identity), &value).unwrap();
    }
    rule("POST", "/v1/cards/lookup", &[("cards", map.into())])
}

/// `GET /v1/cards/by-id/{id}` answered with `status` and `body`.
fn by_id(id: &str, status: u16, body: &str) -> JsValue {
    rule(
        "GET",
        &format!("/v1/cards/by-id/{id}"),
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

/// The sender card id of a `csm1.` text.
fn sender_card_id(text: &JsValue) -> String {
    chatseal::proto::Envelope::parse(&text.as_string().unwrap())
        .unwrap()
        .sender_card_id()
        .to_string()
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
        "/v1/backup",
        JsValue::NULL,
    ))
    .await
    .unwrap();
    let text = field(&field(&got, "body"), "backup").as_string().unwrap();
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

#[wasm_bindgen_test]
async fn a_hostile_directory_swapping_withholding_or_replaying_cards_is_caught() {
    watch_console();
    let mut messages = Vec::new();
    let mut plaintexts = Vec::new();
    let (alice_id, alice, bob_id, bob) = registered_pair().await;
    let (events, _listener) = key_changes(&alice);
    let alice_card = card_of(&alice, &alice_id).await;

    // (a) Bob's card swapped for an attacker's, by rewriting the lookup answer. Bob's
    // first message pinned his real card (and cached no lookup).
    let hello = "hello alice, bob here";
    plaintexts.push(hello.to_owned());
    let sealed = wait(bob.encrypt(hello.into(), to(&[&alice_id], "dm")))
        .await
        .unwrap();
    let bob_card_id = sender_card_id(&sealed);
    let msg = wait(alice.decrypt(sealed, from(&bob_id, "dm")))
        .await
        .unwrap();
    assert_eq!(field(&msg, "keyChanged").as_bool(), Some(false));
    let mallory = chatseal::web::Identity::generate(&bob_id.as_str().into()).unwrap();
    let mallory_card = mallory.card();
    let log = hostile(&[swap_lookup(&[(&bob_id, Some(&mallory_card.text()))])]);
    let looked = wait(alice.lookup(list(&[&bob_id]), JsValue::UNDEFINED))
        .await
        .unwrap();
    let entry = field(&looked, &bob_id);
    assert_eq!(field(&entry, "keyChanged").as_bool(), Some(true));
    assert_eq!(field(&entry, "cardId").as_string(), Some(mallory_card.id()));
    assert_eq!(events.length(), 1);
    let detail = events.get(0);
    assert_eq!(field(&detail, "identity").as_string(), Some(bob_id.clone()));
    assert_eq!(
        field(&detail, "cardId").as_string(),
        Some(mallory_card.id())
    );
    assert_eq!(
        field(&detail, "previousCardId").as_string(),
        Some(bob_card_id.clone())
    );
    // Nothing is encrypted to the swapped key…
    plaintexts.push("meet at six".to_owned());
    let out = outcome(
        alice.encrypt("meet at six".into(), to(&[&bob_id], "dm")),
        &mut messages,
    )
    .await;
    refused(&out, "Directory", "changed", "encrypt to a swapped key");
    // …and what the attacker signs is flagged (the event is not repeated).
    let cards = js_sys::Array::of1(
        &chatseal::web::Card::parse(&alice_card.as_str().into())
            .unwrap()
            .into(),
    );
    let forged_text = "it's me, bob, on a new phone";
    plaintexts.push(forged_text.to_owned());
    let forged = mallory
        .encrypt(
            &forged_text.into(),
            &cards,
            &obj(&[("context", "dm".into())]),
        )
        .unwrap();
    let msg = wait(alice.decrypt(forged.into(), from(&bob_id, "dm")))
        .await
        .unwrap();
    assert_eq!(field(&msg, "keyChanged").as_bool(), Some(true));
    assert_eq!(events.length(), 1);
    assert_eq!(log.length(), 1, "the swap came from the hostile directory");
    // Only the application's acceptKeyChange lets a message go to the new key; then it
    // is for that key alone (bob's real device cannot read it).
    assert_eq!(
        wait(alice.accept_key_change(bob_id.as_str().into()))
            .await
            .unwrap()
            .as_bool(),
        Some(true)
    );
    plaintexts.push("sent after accepting zq1".to_owned());
    let sent = wait(alice.encrypt("sent after accepting zq1".into(), to(&[&bob_id], "dm")))
        .await
        .unwrap();
    let out = outcome(bob.decrypt(sent, from(&alice_id, "dm")), &mut messages).await;
    refused(
        &out,
        "NotARecipient",
        "",
        "bob's real key after the swap was accepted",
    );
    honest_fetch();

    // (b) Carol's lookup answered with another identity's (valid, signed) card: refused,
    // and nothing is encrypted to it.
    let (carol_id, carol) = registered("carol").await;
    let log = hostile(&[swap_lookup(&[(&carol_id, Some(&alice_card))])]);
    let out = outcome(
        alice.lookup(list(&[&carol_id]), JsValue::UNDEFINED),
        &mut messages,
    )
    .await;
    refused(&out, "Directory", "card of another identity", "lookup");
    plaintexts.push("for carol only".to_owned());
    let out = outcome(
        alice.encrypt("for carol only".into(), to(&[&carol_id], "c")),
        &mut messages,
    )
    .await;
    refused(&out, "Directory", "card of another identity", "encrypt");
    assert_eq!(log.length(), 2, "each call asked the directory again");
    honest_fetch();
    let sent = wait(alice.encrypt("for carol only".into(), to(&[&carol_id], "c")))
        .await
        .unwrap();
    let msg = wait(carol.decrypt(sent, from(&alice_id, "c")))
        .await
        .unwrap();
    assert_eq!(
        field(&msg, "text").as_string().as_deref(),
        Some("for carol only")
    );
    assert_eq!(field(&msg, "keyChanged").as_bool(), Some(false));

    // (c) A sender's card withheld (404, another card) or answered with no card or a
    // broken one: the message is not read (UnknownSender; Directory for a directory
    // that answers 200 without a valid card).
    let (erin_id, erin) = registered("erin").await;
    let erins = "erin's first note";
    plaintexts.push(erins.to_owned());
    let note = wait(erin.encrypt(erins.into(), to(&[&alice_id], "e")))
        .await
        .unwrap();
    let erin_card_id = sender_card_id(&note);
    let carol_card = card_of(&alice, &carol_id).await;
    for (status, body, code, says) in [
        (
            404,
            r#"{"error": {"code": "NotFound", "message": "no such card"}}"#.to_owned(),
            "UnknownSender",
            "unknown sender",
        ),
        (200, "{}".to_owned(), "Directory", r#"no "card" text"#),
        (200, "".to_owned(), "Directory", r#"no "card" text"#),
        (
            200,
            format!("{{\"card\": \"{carol_card}\"}}"),
            "UnknownSender",
            "unknown sender",
        ),
        (
            200,
            r#"{"card": "csc1.AAAA"}"#.to_owned(),
            "Directory",
            "invalid card",
        ),
    ] {
        let log = hostile(&[by_id(&erin_card_id, status, &body)]);
        let out = outcome(
            alice.decrypt(note.clone(), from(&erin_id, "e")),
            &mut messages,
        )
        .await;
        honest_fetch();
        refused(
            &out,
            code,
            says,
            &format!("card by id answered {status} {body}"),
        );
        assert_eq!(log.length(), 1);
    }
    let msg = wait(alice.decrypt(note, from(&erin_id, "e")))
        .await
        .unwrap();
    assert_eq!(field(&msg, "text").as_string().as_deref(), Some(erins));

    // (d) An old card served as current after a rotation: alice pinned frank's first
    // card, then followed his rotation (proven: the new card names the old one); the old
    // card served again is a key change, not a silent step back.
    let (frank_id, frank) = registered("frank").await;
    let before = wait(frank.encrypt("before rotating".into(), to(&[&alice_id], "f")))
        .await
        .unwrap();
    let old_card = card_of(&frank, &frank_id).await;
    let old_id = sender_card_id(&before);
    wait(alice.decrypt(before.clone(), from(&frank_id, "f")))
        .await
        .unwrap();
    wait(frank.rotate(JsValue::UNDEFINED)).await.unwrap();
    let after = wait(frank.encrypt("after rotating".into(), to(&[&alice_id], "f")))
        .await
        .unwrap();
    let new_id = sender_card_id(&after);
    let msg = wait(alice.decrypt(after, from(&frank_id, "f")))
        .await
        .unwrap();
    assert_eq!(
        field(&msg, "keyChanged").as_bool(),
        Some(false),
        "a rotation"
    );
    let changes = events.length();
    let _log = hostile(&[swap_lookup(&[(&frank_id, Some(&old_card))])]);
    let looked = wait(alice.lookup(list(&[&frank_id]), JsValue::UNDEFINED))
        .await
        .unwrap();
    let entry = field(&looked, &frank_id);
    assert_eq!(field(&entry, "cardId").as_string(), Some(old_id.clone()));
    assert_eq!(field(&entry, "keyChanged").as_bool(), Some(true));
    assert_eq!(events.length(), changes + 1);
    let detail = events.get(changes);
    assert_eq!(field(&detail, "cardId").as_string(), Some(old_id));
    assert_eq!(field(&detail, "previousCardId").as_string(), Some(new_id));
    let out = outcome(
        alice.encrypt("to frank zq2".into(), to(&[&frank_id], "f")),
        &mut messages,
    )
    .await;
    refused(&out, "Directory", "changed", "encrypt to a rolled-back key");
    // A message frank signed with the old card before rotating still reads, unflagged.
    let msg = wait(alice.decrypt(before, from(&frank_id, "f")))
        .await
        .unwrap();
    assert_eq!(field(&msg, "keyChanged").as_bool(), Some(false));
    honest_fetch();

    plaintexts.extend(["before rotating", "after rotating", "to frank zq2"].map(String::from));
    let mut secrets = printed_secrets(&alice, &alice_id).await;
    secrets.extend(plaintexts);
    assert_nothing_leaked(&messages, &secrets);
}

#[wasm_bindgen_test]
async fn a_hostile_directory_answering_garbage_gets_typed_errors_and_no_hang() {
    const MAX_RESPONSE: f64 = 4.0 * 1024.0 * 1024.0; // src/web/directory.rs
    const TWENTY_MB: u32 = 20_000_000;
    watch_console();
    let mut messages = Vec::new();
    let (alice_id, alice, bob_id, bob) = registered_pair().await;
    let lookup = |answer: &[(&str, JsValue)]| rule("POST", "/v1/cards/lookup", answer);
    let made_up =
        |status: u16, body: &str| lookup(&[("status", status.into()), ("body", body.into())]);
    let cases = [
        ("not JSON", made_up(200, r#"{"cards": {"#), "not JSON"),
        ("a JSON list", made_up(200, "[]"), r#"no "cards" object"#),
        (
            "cards not an object",
            made_up(200, r#"{"cards": 5}"#),
            r#"no "cards" object"#,
        ),
        ("an empty body", made_up(200, ""), r#"no "cards" object"#),
        (
            "a number for a card",
            made_up(200, &format!(r#"{{"cards": {{"{bob_id}": 42}}}}"#)),
            "has no card",
        ),
        (
            "a card that is not one",
            made_up(200, &format!(r#"{{"cards": {{"{bob_id}": "csc1.AAAA"}}}}"#)),
            "invalid card",
        ),
        (
            "a proxy's error page",
            made_up(502, "<html>Bad gateway</html>"),
            "HTTP 502",
        ),
        (
            "20 MB, declared",
            lookup(&[("huge", TWENTY_MB.into()), ("declared", true.into())]),
            "more than 4 MiB",
        ),
        (
            "20 MB, streamed without a length",
            lookup(&[("huge", TWENTY_MB.into())]),
            "more than 4 MiB",
        ),
        (
            "20 MB of valid JSON in one piece",
            lookup(&[("hugeText", TWENTY_MB.into())]),
            "more than 4 MiB",
        ),
    ];
    for (what, answer, says) in cases {
        let log = hostile(std::slice::from_ref(&answer));
        let out = outcome(
            alice.lookup(list(&[&bob_id]), JsValue::UNDEFINED),
            &mut messages,
        )
        .await;
        honest_fetch();
        refused(&out, "Directory", says, what);
        assert_eq!(log.length(), 1, "{what}: one request");
        let ms = field(&out, "ms").as_f64().unwrap();
        assert!(ms < 10_000.0, "{what}: {ms} ms");
        if let Some(read) = field(&answer, "read").as_f64() {
            // Refused by its length or after the first 4 MiB: the rest is never read.
            assert!(
                read <= MAX_RESPONSE + 256.0 * 1024.0,
                "{what}: {read} bytes read"
            );
            assert_eq!(field(&answer, "cancelled").as_bool(), Some(true), "{what}");
        }
    }
    // The honest directory is still believed: nothing above was cached or pinned.
    let looked = wait(alice.lookup(list(&[&bob_id]), JsValue::UNDEFINED))
        .await
        .unwrap();
    assert_eq!(
        field(&field(&looked, &bob_id), "keyChanged").as_bool(),
        Some(false)
    );

    // A card by id that is not JSON: Directory, and the message is not read.
    let (carol_id, carol) = registered("carol").await;
    let note = "carol's note zq3";
    let sealed = wait(carol.encrypt(note.into(), to(&[&alice_id], "g")))
        .await
        .unwrap();
    let carol_card_id = sender_card_id(&sealed);
    let _log = hostile(&[by_id(&carol_card_id, 200, "{oops")]);
    let out = outcome(
        alice.decrypt(sealed.clone(), from(&carol_id, "g")),
        &mut messages,
    )
    .await;
    honest_fetch();
    refused(&out, "Directory", "not JSON", "card by id");

    // No answer, or an answer that never ends: the caller's signal ends the wait at
    // once and aborts the request (without a signal, the request timeout of 30 s would).
    for (what, answer) in [
        ("never answers", lookup(&[("never", true.into())])),
        ("never ends", lookup(&[("endless", true.into())])),
    ] {
        let log = hostile(std::slice::from_ref(&answer));
        let c = controller();
        let pending = settle(&alice.lookup(
            list(&[&unique("nobody")]),
            obj(&[("signal", c.signal().into())]),
        ));
        let asked = Closure::<dyn Fn() -> bool>::new({
            let log = log.clone();
            move || log.length() == 1
        });
        wait(until(asked.as_ref().unchecked_ref(), 5000))
            .await
            .unwrap();
        wait(wait_ms(200)).await.unwrap();
        c.abort();
        let out = wait(pending).await.unwrap();
        honest_fetch();
        assert_eq!(
            field(&out, "name").as_string().as_deref(),
            Some("AbortError"),
            "{what}: {out:?}"
        );
        let ms = field(&out, "ms").as_f64().unwrap();
        assert!(ms < 5_000.0, "{what}: {ms} ms");
        let signal = field(&log.get(0), "signal");
        assert_eq!(field(&signal, "aborted").as_bool(), Some(true), "{what}");
        assert_eq!(field(&answer, "aborted").as_bool(), Some(true), "{what}");
    }
    // Without a signal, the request timeout ends the wait (`requestTimeout`: 300 ms here;
    // 30 s by default) and aborts the request.
    let opened = |id: &str, timeout: JsValue| {
        ChatSeal::open(obj(&[
            ("identity", id.into()),
            ("directoryUrl", DIRECTORY.into()),
            ("getToken", token_getter(DIRECTORY, id, &Object::new())),
            ("storage", "memory".into()),
            ("requestTimeout", timeout),
        ]))
    };
    let quick_id = unique("quick");
    let quick = seal_from(wait(opened(&quick_id, 300.into())).await.unwrap());
    let answer = lookup(&[("never", true.into())]);
    let log = hostile(std::slice::from_ref(&answer));
    let out = outcome(
        quick.lookup(list(&[&unique("nobody")]), JsValue::UNDEFINED),
        &mut messages,
    )
    .await;
    honest_fetch();
    refused(
        &out,
        "Directory",
        "did not answer within 300 ms",
        "a lookup past requestTimeout",
    );
    let ms = field(&out, "ms").as_f64().unwrap();
    assert!((250.0..3_000.0).contains(&ms), "timed out after {ms} ms");
    assert_eq!(
        field(&field(&log.get(0), "signal"), "aborted").as_bool(),
        Some(true)
    );
    assert_eq!(field(&answer, "aborted").as_bool(), Some(true));
    for bad in [
        JsValue::from(0),
        JsValue::from(99),
        JsValue::from(300.5),
        JsValue::from("300"),
        JsValue::from(600_001),
    ] {
        let out = wait(settle(&opened(&quick_id, bad.clone()))).await.unwrap();
        assert_eq!(
            field(&out, "name").as_string().as_deref(),
            Some("TypeError"),
            "requestTimeout {bad:?}: {out:?}"
        );
    }

    // The same for a decrypt waiting on a sender's card.
    let log = hostile(&[rule(
        "GET",
        &format!("/v1/cards/by-id/{carol_card_id}"),
        &[("never", true.into())],
    )]);
    let c = controller();
    let pending = settle(&alice.decrypt(
        sealed.clone(),
        obj(&[
            ("from", carol_id.as_str().into()),
            ("signal", c.signal().into()),
        ]),
    ));
    let asked = Closure::<dyn Fn() -> bool>::new({
        let log = log.clone();
        move || log.length() == 1
    });
    wait(until(asked.as_ref().unchecked_ref(), 5000))
        .await
        .unwrap();
    // Meanwhile the queue goes on: a message whose sender's card comes is read at once,
    // not after the silent request's 30 s timeout.
    let from_bob = "bob's reply 7kq";
    let reply = wait(bob.encrypt(from_bob.into(), to(&[&alice_id], "g")))
        .await
        .unwrap();
    let read = wait(settle(&alice.decrypt(reply, from(&bob_id, "g"))))
        .await
        .unwrap();
    assert_eq!(
        field(&field(&read, "value"), "text").as_string().as_deref(),
        Some(from_bob),
        "{read:?}"
    );
    let ms = field(&read, "ms").as_f64().unwrap();
    assert!(
        ms < 5_000.0,
        "read after {ms} ms, behind the silent request"
    );
    assert_eq!(log.length(), 1);
    c.abort();
    let out = wait(pending).await.unwrap();
    honest_fetch();
    assert_eq!(
        field(&out, "name").as_string().as_deref(),
        Some("AbortError")
    );
    assert_eq!(
        field(&field(&log.get(0), "signal"), "aborted").as_bool(),
        Some(true)
    );
    let msg = wait(alice.decrypt(sealed, from(&carol_id, "g")))
        .await
        .unwrap();
    assert_eq!(field(&msg, "text").as_string().as_deref(), Some(note));

    let mut secrets = printed_secrets(&alice, &alice_id).await;
    secrets.push(note.to_owned());
    assert_nothing_leaked(&messages, &secrets);
}

#[wasm_bindgen_test]
async fn a_hostile_chat_server_cannot_move_relabel_or_alter_a_message() {
    use base64::Engine as _;
    const B64U: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    watch_console();
    let mut messages = Vec::new();
    let (alice_id, alice, bob_id, bob) = registered_pair().await;
    let (carol_id, _carol) = registered("carol").await;
    let secret = "the vault code is 4-8-15-16-23-42";
    let read = || from(&alice_id, "room-1");
    // A text whose base64 has both `-` and `_` (so that the standard alphabet differs).
    let mut text = String::new();
    for _ in 0..20 {
        text = wait(alice.encrypt(secret.into(), to(&[&bob_id], "room-1")))
            .await
            .unwrap()
            .as_string()
            .unwrap();
        if text.contains('-') && text.contains('_') {
            break;
        }
    }
    let msg = wait(bob.decrypt(text.as_str().into(), read()))
        .await
        .unwrap();
    assert_eq!(field(&msg, "text").as_string().as_deref(), Some(secret));
    let decrypted = || field(&bob.stats(), "decrypted").as_f64().unwrap();
    let before = decrypted();

    // Replayed into another channel; relabelled with another (real) sender.
    let out = outcome(
        bob.decrypt(text.as_str().into(), from(&alice_id, "room-2")),
        &mut messages,
    )
    .await;
    refused(&out, "ContextMismatch", "", "replayed into room-2");
    let out = outcome(
        bob.decrypt(text.as_str().into(), from(&carol_id, "room-1")),
        &mut messages,
    )
    .await;
    refused(&out, "SenderMismatch", "", "relabelled as carol's");

    // Truncated, re-encoded and bit-flipped copies.
    let body = text.strip_prefix("csm1.").unwrap();
    let bytes = B64U.decode(body).unwrap();
    let mut variants: Vec<(String, String)> = Vec::new();
    let len = text.len();
    for n in [
        0,
        1,
        4,
        5,
        6,
        7,
        8,
        9,
        30,
        100,
        300,
        len / 2,
        len - 100,
        len - 22,
        len - 3,
        len - 2,
        len - 1,
    ] {
        variants.push((format!("truncated to {n}"), text[..n].to_owned()));
    }
    let standard = body.replace('-', "+").replace('_', "/");
    assert_ne!(standard, body);
    let wrapped: String = body
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\r\n");
    let middle = body.len() / 2;
    for (what, variant) in [
        ("padded with =", format!("csm1.{body}=")),
        ("padded with ==", format!("csm1.{body}==")),
        (
            "padded to a multiple of 4",
            format!("csm1.{body}{}", "=".repeat((4 - body.len() % 4) % 4 + 4)),
        ),
        ("standard alphabet", format!("csm1.{standard}")),
        ("wrapped at 76 columns", format!("csm1.{wrapped}")),
        ("a trailing newline", format!("{text}\n")),
        ("a leading space", format!(" {text}")),
        ("a trailing space", format!("{text} ")),
        (
            "a space inside",
            format!("csm1.{} {}", &body[..middle], &body[middle..]),
        ),
        (
            "a zero-width space inside",
            format!("csm1.{}\u{200b}{}", &body[..middle], &body[middle..]),
        ),
        ("an upper-case prefix", format!("CSM1.{body}")),
        ("a mixed-case prefix", format!("Csm1.{body}")),
        ("a group prefix", format!("csg1.{body}")),
        ("no prefix", body.to_owned()),
        ("a doubled prefix", format!("csm1.{text}")),
        (
            "percent-encoded",
            text.replace('-', "%2D").replace('_', "%5F"),
        ),
        ("twice", format!("{text}{body}")),
        (
            "base64 of the text",
            format!("csm1.{}", B64U.encode(text.as_bytes())),
        ),
    ] {
        variants.push((what.to_owned(), variant));
    }
    // One bit flipped in every byte (bit i mod 8 of byte i), then all eight bits of the
    // magic, the stanza count and the tag.
    let mut flip = |i: usize, bit: u8| {
        let mut b = bytes.clone();
        b[i] ^= 1 << bit;
        variants.push((
            format!("bit {bit} of byte {i} flipped"),
            format!("csm1.{}", B64U.encode(&b)),
        ));
    };
    for i in 0..bytes.len() {
        flip(i, (i % 8) as u8);
    }
    let tag = bytes.len() - 16;
    for i in (0..4).chain(36..38).chain(tag..bytes.len()) {
        for bit in 0..8 {
            if bit != (i % 8) as u8 {
                flip(i, bit);
            }
        }
    }
    assert!(variants.len() > 500, "{} variants", variants.len());
    let decrypts: js_sys::Array = variants
        .iter()
        .map(|(_, t)| JsValue::from(bob.decrypt(t.as_str().into(), read())))
        .collect();
    let all = wait(attempt_all(&decrypts)).await.unwrap();
    let outcomes = js_sys::Array::from(&field(&all, "outcomes"));
    let mut codes: std::collections::BTreeMap<String, u32> = Default::default();
    for ((what, _), out) in variants.iter().zip(outcomes.iter()) {
        assert_eq!(field(&out, "ok").as_bool(), Some(false), "{what}: read!");
        assert_eq!(
            field(&out, "name").as_string().as_deref(),
            Some("ChatSealError"),
            "{what}: {out:?}"
        );
        let code = field(&out, "code").as_string().unwrap();
        assert!(
            [
                "Malformed",
                "Integrity",
                "NotARecipient",
                "BadSignature",
                "UnknownSender"
            ]
            .contains(&code.as_str()),
            "{what}: {code}"
        );
        messages.push(field(&out, "message").as_string().unwrap());
        *codes.entry(code).or_default() += 1;
    }
    assert_eq!(decrypted(), before, "no altered copy was read");
    console_log!(
        "{} altered copies refused in {:.0} ms: {codes:?}",
        variants.len(),
        field(&all, "ms").as_f64().unwrap()
    );

    // 10 MB of text is refused before any decoding, and the page stays responsive.
    let ten_mb = 10_000_000;
    for (what, huge) in [
        (
            "10 MB after the prefix",
            format!("csm1.{}", "A".repeat(ten_mb)),
        ),
        (
            "a real message and 10 MB more",
            format!("{text}{}", "A".repeat(ten_mb)),
        ),
        (
            "a 10 MB group message",
            format!("csg1.{}", "A".repeat(ten_mb)),
        ),
    ] {
        let due = timer(20);
        let out = outcome(bob.decrypt(huge.into(), read()), &mut messages).await;
        let late = wait(lateness(&due)).await.unwrap().as_f64().unwrap();
        refused(&out, "Malformed", "longer than 1 MiB", what);
        let ms = field(&out, "ms").as_f64().unwrap();
        assert!(ms < 2_000.0, "{what}: refused after {ms} ms");
        assert!(late < 1_000.0, "{what}: a timer fired {late} ms late");
    }
    assert_eq!(decrypted(), before);
    // The limit leaves room for any real message: 700 KB of text is sent and read; a
    // text whose message would pass it is refused when sending.
    let long = "l".repeat(700_000);
    let sealed = wait(alice.encrypt(long.as_str().into(), to(&[&bob_id], "room-1")))
        .await
        .unwrap();
    assert!(sealed.as_string().unwrap().len() <= 1024 * 1024);
    let msg = wait(bob.decrypt(sealed, read())).await.unwrap();
    assert_eq!(
        field(&msg, "text").as_string().map(|t| t.len()),
        Some(700_000)
    );
    let out = outcome(
        alice.encrypt("l".repeat(800_000).into(), to(&[&bob_id], "room-1")),
        &mut messages,
    )
    .await;
    refused(
        &out,
        "InvalidArgument",
        "longer than 1 MiB",
        "sending 800 KB",
    );

    let mut secrets = printed_secrets(&bob, &bob_id).await;
    secrets.push(secret.to_owned());
    secrets.push(B64U.encode(secret.as_bytes())[..16].to_owned());
    assert_nothing_leaked(&messages, &secrets);
}

/// A KNOWN GAP, left failing (ignored) until it is fixed: a card's `prev_card_id` is signed
/// only by the new card's own key (PROTOCOL §2), so a hostile directory can serve an
/// attacker's card that names the pinned card as its predecessor, and the client follows
/// it as a rotation: no `keyChanged`, no event, and messages go to the attacker's key. A
/// rotation needs the previous key's signature over the new card (a protocol change).
#[wasm_bindgen_test]
#[ignore = "known gap: a rotation is not signed by the previous key (PROTOCOL §2)"]
async fn a_forged_rotation_of_the_pinned_card_is_a_key_change() {
    let (alice_id, alice, bob_id, bob) = registered_pair().await;
    let hi = wait(bob.encrypt("hi".into(), to(&[&alice_id], "")))
        .await
        .unwrap();
    wait(alice.decrypt(hi, from(&bob_id, ""))).await.unwrap(); // pins bob's card
    let real = chatseal::proto::Card::parse(&card_of(&bob, &bob_id).await).unwrap();
    let keys = chatseal::proto::IdentityKeys::generate(&mut rand_core::OsRng);
    let forged =
        chatseal::proto::Card::create(&keys, &bob_id, real.created_at() + 1, Some(real.id()))
            .unwrap();
    let _log = hostile(&[swap_lookup(&[(&bob_id, Some(&forged.to_text()))])]);
    let looked = wait(alice.lookup(list(&[&bob_id]), JsValue::UNDEFINED)).await;
    let sent = wait(alice.encrypt("for bob".into(), to(&[&bob_id], ""))).await;
    honest_fetch();
    let entry = field(&looked.unwrap(), &bob_id);
    assert_eq!(
        field(&entry, "cardId").as_string(),
        Some(forged.id().to_string())
    );
    assert_eq!(
        field(&entry, "keyChanged").as_bool(),
        Some(true),
        "followed silently"
    );
    assert_eq!(code(&sent.unwrap_err()), "Directory");
}
