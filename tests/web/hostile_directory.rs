//! A hostile directory: swapped, withheld or replayed cards are caught, and garbage answers
//! get typed errors, never a hang.

use super::*;

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
            r#"{"card": "csc2.AAAA"}"#.to_owned(),
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
    let lookup = |answer: &[(&str, JsValue)]| rule("POST", "/v2/cards/lookup", answer);
    let made_up =
        |status: u16, body: &str| lookup(&[("status", status.into()), ("body", body.into())]);
    let cases = [
        ("not JSON", made_up(200, r#"{"results": {"#), "not JSON"),
        ("a JSON list", made_up(200, "[]"), r#"no "results" object"#),
        (
            "results not an object",
            made_up(200, r#"{"results": 5}"#),
            r#"no "results" object"#,
        ),
        ("an empty body", made_up(200, ""), r#"no "results" object"#),
        (
            "a number for a card",
            made_up(
                200,
                &format!(r#"{{"results": {{"{bob_id}": {{"card": 42}}}}}}"#),
            ),
            "has no card",
        ),
        (
            "a card that is not one",
            made_up(
                200,
                &format!(r#"{{"results": {{"{bob_id}": {{"card": "csc1.AAAA"}}}}}}"#),
            ),
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
        &format!("/v2/cards/by-id/{carol_card_id}"),
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
