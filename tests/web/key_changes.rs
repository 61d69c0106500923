//! Key changes: a replaced card is reported, never followed silently.

use super::*;

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

/// A hostile directory serves an attacker's card that names the pinned card as its
/// predecessor but whose `rotation_sig` is made by the attacker's own key (it lacks bob's):
/// the link fails (PROTOCOL §2), so it is a key change — `keyChanged`, one event, and
/// nothing encrypted to it. Needs a directory that speaks /v2 (the server branch).
#[wasm_bindgen_test]
async fn a_forged_rotation_of_the_pinned_card_is_a_key_change() {
    let (alice_id, alice, bob_id, bob) = registered_pair().await;
    let hi = wait(bob.encrypt("hi".into(), to(&[&alice_id], "")))
        .await
        .unwrap();
    wait(alice.decrypt(hi, from(&bob_id, ""))).await.unwrap(); // pins bob's card
    let marked = wait(alice.mark_verified(bob_id.as_str().into())).await;
    assert_eq!(marked.unwrap().as_bool(), Some(true));
    assert_eq!(alice.is_verified(bob_id.as_str().into()), Ok(true));
    let real = chatseal::proto::Card::parse(&card_of(&bob, &bob_id).await).unwrap();
    let keys = chatseal::proto::IdentityKeys::generate(&mut rand_core::OsRng);
    // The attacker lacks bob's key, so its rotation_sig is made by the new key itself.
    let rotation = chatseal::proto::card::Rotation {
        prev_card_id: real.id(),
        prev_keys: &keys,
    };
    let forged =
        chatseal::proto::Card::create(&keys, &bob_id, real.created_at() + 1, Some(rotation))
            .unwrap();
    let (events, _listener) = key_changes(&alice);
    let _log = hostile(&[swap_lookup(&[(&bob_id, Some(&forged.to_text()))])]);
    let looked = wait(alice.lookup(list(&[&bob_id]), JsValue::UNDEFINED)).await;
    let sent = wait(alice.encrypt("for bob".into(), to(&[&bob_id], ""))).await;
    let again = wait(alice.lookup(list(&[&bob_id]), JsValue::UNDEFINED)).await;
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
    let again = field(&again.unwrap(), &bob_id);
    assert_eq!(field(&again, "keyChanged").as_bool(), Some(true));
    assert_eq!(events.length(), 1, "told once");
    assert_eq!(
        alice.is_verified(bob_id.as_str().into()),
        Ok(false),
        "the verified state is cleared"
    );
    assert_eq!(
        field(&events.get(0), "cardId").as_string(),
        Some(forged.id().to_string())
    );
}
