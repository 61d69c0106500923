//! What outlives a page: rotation, backup and restore, the sealed IndexedDB keyring, two
//! tabs on one database, and a database from version 1.

use super::*;

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
        &format!("/v2/cards/{}/history", js_sys::encode_uri_component(&id)),
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
async fn group_sessions_across_two_tabs_on_a_database_from_version_1() {
    // A database as the previous release left it is upgraded in place.
    let db = unique("db");
    wait(make_v1_database(&db)).await.unwrap();
    // 13 members: the sender and 12 others, above the default threshold of 10 others
    // (PROTOCOL §11) even after one leaves.
    let names: Vec<String> = (0..13).map(|i| unique(&format!("m{i}"))).collect();
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

    // m5 leaves (the sender and 11 others stay, still above the threshold): told through
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
