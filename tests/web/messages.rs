//! Messages between two users through the real directory: the round trip, the decrypt queue
//! and its cancellation, coalesced lookups, a refused token, and the timing in this
//! browser.

use super::*;

#[wasm_bindgen_test]
async fn two_users_exchange_messages_through_the_real_directory() {
    let (alice_id, bob_id) = (unique("alice"), unique("bob"));
    let counter = Object::new();
    let alice = open(&alice_id, &counter).await;
    let bob = open(&bob_id, &Object::new()).await;
    assert!(!alice.has_local_key());
    let card = wait(alice.register(JsValue::UNDEFINED)).await.unwrap();
    assert!(card.as_string().unwrap().starts_with("csc2."));
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
                    .ends_with("/v2/cards/lookup")
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
