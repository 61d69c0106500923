//! The directory API (PROTOCOL §7) end to end: a real server process on loopback, over
//! SQLite and over PostgreSQL, with the same tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use serde_json::{json, Value};
use support::{error_code, setup, App, Backend, Server, User};

on_both_databases!(
    publish_lookup_rotate_history,
    revoke_keeps_history,
    backups_are_per_identity,
    cards_are_verified_before_storage,
    every_token_rule_is_enforced,
    bad_input_is_always_a_4xx,
    concurrent_rotations_keep_one_current,
    rotations_must_link_to_the_current_card,
    a_replacement_is_a_new_chain_recorded_in_history,
);

fn publish_body(card: &chatseal::proto::Card) -> Value {
    json!({ "card": card.to_text() })
}

async fn publish_lookup_rotate_history(backend: Backend) {
    let Some((_db, app, s)) = setup(backend).await else {
        return;
    };
    let alice = User::new("alice@clinic-a");
    let t = app.token(&alice.identity);
    let bob_token = app.token("bob@clinic-a");

    let c1 = alice.card(None);
    let (status, body) = s
        .call("POST", "/v2/cards", Some(&t), Some(&publish_body(&c1)))
        .await;
    assert_eq!(
        (status, body["card_id"].as_str()),
        (201, Some(c1.id().to_string().as_str()))
    );
    // No §12 log yet: the epoch is always 0.
    assert_eq!(body["epoch"], json!(0));
    // The same card again is an idempotent retry.
    let (status, body) = s
        .call("POST", "/v2/cards", Some(&t), Some(&publish_body(&c1)))
        .await;
    assert_eq!(
        (status, body["card_id"].as_str()),
        (200, Some(c1.id().to_string().as_str()))
    );

    // Any valid token may look up; duplicates are answered once; an identity with no
    // card is answered with null.
    let ask = json!({"identities": ["zed", "alice@clinic-a", "bob@clinic-a", "alice@clinic-a"]});
    let (status, body) = s
        .call("POST", "/v2/cards/lookup", Some(&bob_token), Some(&ask))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"results": {
            "alice@clinic-a": {"card": c1.to_text()},
            "bob@clinic-a": {"card": null},
            "zed": {"card": null},
        }})
    );

    // A rotation names the current card and is signed by its key.
    let c2 = alice.new_card(Some(c1.id()));
    let (status, _) = s
        .call("POST", "/v2/cards", Some(&t), Some(&publish_body(&c2)))
        .await;
    assert_eq!(status, 201);
    // A new chain over a current card is refused, naming the current card…
    let c3 = alice.new_card(None);
    let (status, body) = s
        .call("POST", "/v2/cards", Some(&t), Some(&publish_body(&c3)))
        .await;
    assert_eq!(error_code(status, &body), "Conflict");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains(&c2.id().to_string()));
    // A rotation from an older card (it links to c1, which is no longer current) is 409
    // `not_current`, naming the current card.
    let stale = alice.new_card(Some(c1.id()));
    let (status, body) = s
        .call("POST", "/v2/cards", Some(&t), Some(&publish_body(&stale)))
        .await;
    assert_eq!(error_code(status, &body), "not_current");
    assert_eq!(status, 409);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains(&c2.id().to_string()));
    // `?replace=true` does not excuse a rotation: it is judged by its link.
    assert_eq!(
        s.refusal(
            "POST",
            "/v2/cards?replace=true",
            Some(&t),
            Some(&publish_body(&stale))
        )
        .await,
        (409, "not_current")
    );
    // …unless the user lost the key and says so.
    let (status, _) = s
        .call(
            "POST",
            "/v2/cards?replace=true",
            Some(&t),
            Some(&publish_body(&c3)),
        )
        .await;
    assert_eq!(status, 201);
    // A card from the history cannot come back as current.
    assert_eq!(
        s.refusal(
            "POST",
            "/v2/cards?replace=true",
            Some(&t),
            Some(&publish_body(&c1)),
        )
        .await,
        (409, "Conflict")
    );

    let (status, body) = s
        .call("POST", "/v2/cards/lookup", Some(&t), Some(&ask))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["results"]["alice@clinic-a"]["card"],
        json!(c3.to_text())
    );

    // History: every card ever published, oldest first, the replacement flagged.
    let (status, body) = s
        .call(
            "GET",
            "/v2/cards/alice%40clinic-a/history",
            Some(&bob_token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["cards"],
        json!([c1.to_text(), c2.to_text(), c3.to_text()])
    );
    let flags: Vec<(bool, bool)> = body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["replaced"].as_bool().unwrap(),
                e["current"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(flags, [(false, false), (false, false), (true, true)]);
    let (status, body) = s
        .call("GET", "/v2/cards/nobody/history", Some(&t), None)
        .await;
    assert_eq!((status, body), (200, json!({"cards": [], "entries": []})));

    // By id: old cards stay reachable (to verify old messages); hex in either case.
    let upper = c1.id().to_string().to_uppercase();
    let (status, body) = s
        .call(
            "GET",
            &format!("/v2/cards/by-id/{upper}"),
            Some(&bob_token),
            None,
        )
        .await;
    assert_eq!((status, body), (200, json!({"card": c1.to_text()})));
    assert_eq!(
        s.refusal(
            "GET",
            &format!("/v2/cards/by-id/{}", "0".repeat(32)),
            Some(&t),
            None,
        )
        .await,
        (404, "NotFound")
    );
    assert_eq!(
        s.refusal("GET", "/v2/cards/by-id/xyz", Some(&t), None)
            .await,
        (400, "InvalidArgument")
    );

    // Non-ASCII identities travel percent-encoded in the path.
    let zoe = User::new("Zoë Ångström · 看護師");
    let zc = zoe.card(None);
    let (status, _) = s
        .call(
            "POST",
            "/v2/cards",
            Some(&app.token(&zoe.identity)),
            Some(&publish_body(&zc)),
        )
        .await;
    assert_eq!(status, 201);
    let path =
        "/v2/cards/Zo%C3%AB%20%C3%85ngstr%C3%B6m%20%C2%B7%20%E7%9C%8B%E8%AD%B7%E5%B8%AB/history";
    let (status, body) = s.call("GET", path, Some(&t), None).await;
    assert_eq!(
        (status, body["cards"].clone()),
        (200, json!([zc.to_text()]))
    );

    // Lookup takes at most 100 identities.
    let many: Vec<String> = (0..100).map(|i| format!("user{i}")).collect();
    let (status, body) = s
        .call(
            "POST",
            "/v2/cards/lookup",
            Some(&t),
            Some(&json!({"identities": many})),
        )
        .await;
    assert_eq!(
        (status, body["results"].as_object().unwrap().len()),
        (200, 100)
    );
    let too_many: Vec<String> = (0..101).map(|i| format!("user{i}")).collect();
    assert_eq!(
        s.refusal(
            "POST",
            "/v2/cards/lookup",
            Some(&t),
            Some(&json!({"identities": too_many})),
        )
        .await,
        (400, "InvalidArgument")
    );
}

async fn revoke_keeps_history(backend: Backend) {
    let Some((_db, app, s)) = setup(backend).await else {
        return;
    };
    let bob = User::new("bob");
    let t = app.token("bob");
    assert_eq!(
        s.refusal("DELETE", "/v2/cards", Some(&t), None).await,
        (404, "NotFound")
    );
    let c1 = bob.card(None);
    s.call("POST", "/v2/cards", Some(&t), Some(&publish_body(&c1)))
        .await;
    let (status, body) = s.call("DELETE", "/v2/cards", Some(&t), None).await;
    assert_eq!(
        (status, body),
        (200, json!({"revoked": c1.id().to_string()}))
    );
    let (_, body) = s
        .call(
            "POST",
            "/v2/cards/lookup",
            Some(&t),
            Some(&json!({"identities": ["bob"]})),
        )
        .await;
    assert_eq!(body, json!({"results": {"bob": {"card": null}}}));
    let (_, body) = s.call("GET", "/v2/cards/bob/history", Some(&t), None).await;
    assert_eq!(body["cards"], json!([c1.to_text()]));
    assert!(body["entries"][0]["revoked_at"].as_i64().unwrap() > 0);
    assert_eq!(body["entries"][0]["current"], json!(false));
    // After a revocation there is no current card to chain to: a fresh start is allowed.
    // …but not a rotation: there is no current card for it to link to.
    assert_eq!(
        s.refusal(
            "POST",
            "/v2/cards",
            Some(&t),
            Some(&publish_body(&bob.new_card(Some(c1.id()))))
        )
        .await,
        (409, "not_current")
    );
    let c2 = bob.new_card(None);
    let (status, _) = s
        .call("POST", "/v2/cards", Some(&t), Some(&publish_body(&c2)))
        .await;
    assert_eq!(status, 201);
    let (_, body) = s.call("GET", "/v2/cards/bob/history", Some(&t), None).await;
    assert_eq!(body["cards"], json!([c1.to_text(), c2.to_text()]));
    assert_eq!(body["entries"][1]["revoked_at"], Value::Null);
}

async fn backups_are_per_identity(backend: Backend) {
    let Some((_db, app, s)) = setup(backend).await else {
        return;
    };
    let (ta, tb) = (app.token("alice"), app.token("bob"));
    assert_eq!(
        s.refusal("GET", "/v2/backup", Some(&ta), None).await,
        (404, "NotFound")
    );
    let v1 = json!({"backup": "csb1.AAECAwQF"});
    let v2 = json!({"backup": format!("csb1.{}", "A".repeat(40_000))});
    assert_eq!(
        s.call("PUT", "/v2/backup", Some(&ta), Some(&v1)).await.0,
        201
    );
    assert_eq!(
        s.call("PUT", "/v2/backup", Some(&ta), Some(&v2)).await.0,
        204
    );
    let listed = json!({"backups": [v2["backup"]]});
    assert_eq!(
        s.call("GET", "/v2/backup", Some(&ta), None).await,
        (200, listed.clone())
    );
    // Bob sees only his own (none).
    assert_eq!(s.call("GET", "/v2/backup", Some(&tb), None).await.0, 404);
    assert_eq!(s.call("DELETE", "/v2/backup", Some(&tb), None).await.0, 404);
    for (bad, why) in [
        (json!({"backup": "AAECAwQF"}), "no csb1. prefix"),
        (json!({"backup": "csb1.AA=="}), "padding is not base64url"),
        (json!({"backup": "csb1.a+b/"}), "base64, not base64url"),
        (
            json!({"backup": format!("csb1.{}", "A".repeat(50_000))}),
            "over the size limit",
        ),
    ] {
        let (status, body) = s.call("PUT", "/v2/backup", Some(&ta), Some(&bad)).await;
        assert_eq!(
            (status, error_code(status, &body).as_str()),
            (400, "InvalidArgument"),
            "{why}"
        );
    }
    assert_eq!(
        s.call("GET", "/v2/backup", Some(&ta), None).await,
        (200, listed)
    );
    assert_eq!(s.call("DELETE", "/v2/backup", Some(&ta), None).await.0, 204);
    assert_eq!(s.call("GET", "/v2/backup", Some(&ta), None).await.0, 404);
}

async fn cards_are_verified_before_storage(backend: Backend) {
    let Some((_db, app, s)) = setup(backend).await else {
        return;
    };
    let alice = User::new("alice");
    let t = app.token("alice");
    // A valid card of another identity.
    let mallory_card = User::new("mallory").card(None);
    assert_eq!(
        s.refusal(
            "POST",
            "/v2/cards",
            Some(&t),
            Some(&publish_body(&mallory_card)),
        )
        .await,
        (403, "Forbidden")
    );
    // A forged signature: flip one bit of the last (signature) byte.
    let mut bytes = alice.card(None).to_bytes().to_vec();
    *bytes.last_mut().unwrap() ^= 0x01;
    let forged = format!("csc2.{}", chatseal::proto::b64u_encode(&bytes));
    assert_eq!(
        s.refusal(
            "POST",
            "/v2/cards",
            Some(&t),
            Some(&json!({"card": forged})),
        )
        .await,
        (400, "BadSignature")
    );
    // A card whose identity field was changed to the token's (signature no longer matches).
    let mut bytes = User::new("alicf").card(None).to_bytes().to_vec();
    let at = bytes.windows(5).position(|w| w == b"alicf").unwrap();
    bytes[at + 4] = b'e';
    let relabelled = format!("csc2.{}", chatseal::proto::b64u_encode(&bytes));
    assert_eq!(
        s.refusal(
            "POST",
            "/v2/cards",
            Some(&t),
            Some(&json!({"card": relabelled})),
        )
        .await,
        (400, "BadSignature")
    );
    // A v1 card (the same bytes under the old prefix) is never read (PROTOCOL v2).
    let v1 = format!(
        "csc1.{}",
        chatseal::proto::b64u_encode(alice.card(None).to_bytes())
    );
    for bad in [
        "",
        "csc2.",
        "csc2.!!!!",
        "csc2.AAAA",
        "csm2.AAAA",
        "hello",
        v1.as_str(),
    ] {
        let (status, body) = s
            .call("POST", "/v2/cards", Some(&t), Some(&json!({"card": bad})))
            .await;
        assert_eq!(
            (status, error_code(status, &body).as_str()),
            (400, "Malformed"),
            "{bad:?}"
        );
    }
    let (_, body) = s
        .call("GET", "/v2/cards/alice/history", Some(&t), None)
        .await;
    assert_eq!(body["cards"], json!([]), "nothing bad was stored");
}

async fn every_token_rule_is_enforced(backend: Backend) {
    use chatseal::proto::b64u_encode;
    let Some((_db, app, s)) = setup(backend).await else {
        return;
    };
    let now = chatseal_server::auth::unix_now();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut claims = App::claims("alice");
        f(&mut claims);
        app.signed(support::KID, &claims)
    };
    let good = with(&|_| {});
    let unsigned = |header: Value, claims: &Value| {
        format!(
            "{}.{}.",
            b64u_encode(header.to_string().as_bytes()),
            b64u_encode(claims.to_string().as_bytes())
        )
    };
    let hs256 = {
        // The classic confusion: HMAC keyed with the app's public key.
        let key = jsonwebtoken::EncodingKey::from_secret(app.secret.public_b64u().as_bytes());
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(support::KID.into());
        jsonwebtoken::encode(&header, &App::claims("alice"), &key).unwrap()
    };
    let other_key = chatseal_server::auth::AppSecret::generate()
        .sign(support::KID, &App::claims("alice"))
        .unwrap();
    let (h, p, sig) = {
        let mut parts = good.split('.');
        (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        )
    };
    let cases: Vec<(&str, String)> = vec![
        (
            "alg none",
            unsigned(
                json!({"alg": "none", "typ": "JWT", "kid": support::KID}),
                &App::claims("alice"),
            ),
        ),
        (
            "alg none without kid",
            unsigned(json!({"alg": "none"}), &App::claims("alice")),
        ),
        ("alg HS256 keyed with the public key", hs256),
        (
            "alg ES256 header on an EdDSA signature",
            format!(
                "{}.{p}.{sig}",
                b64u_encode(
                    json!({"alg": "ES256", "kid": support::KID})
                        .to_string()
                        .as_bytes()
                )
            ),
        ),
        (
            "alg RS256 header",
            format!(
                "{}.{p}.{sig}",
                b64u_encode(
                    json!({"alg": "RS256", "kid": support::KID})
                        .to_string()
                        .as_bytes()
                )
            ),
        ),
        (
            "unknown kid",
            app.signed("other-kid", &App::claims("alice")),
        ),
        (
            "no kid",
            format!(
                "{}.{p}.{sig}",
                b64u_encode(json!({"alg": "EdDSA", "typ": "JWT"}).to_string().as_bytes())
            ),
        ),
        ("signed by another key", other_key),
        (
            "signature of other claims",
            format!(
                "{h}.{}.{sig}",
                b64u_encode(App::claims("mallory").to_string().as_bytes())
            ),
        ),
        (
            "missing exp",
            with(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
        ),
        (
            "exp past the 60 s leeway",
            with(&|c| {
                c["iat"] = json!(now - 3600);
                c["exp"] = json!(now - 61);
            }),
        ),
        ("exp a string", with(&|c| c["exp"] = json!("tomorrow"))),
        (
            "lifetime over 24 h",
            with(&|c| c["exp"] = json!(now + 24 * 3600 + 1)),
        ),
        (
            "iat in the future",
            with(&|c| {
                c["iat"] = json!(now + 3600);
                c["exp"] = json!(now + 7200);
            }),
        ),
        (
            "missing iat",
            with(&|c| {
                c.as_object_mut().unwrap().remove("iat");
            }),
        ),
        ("wrong aud", with(&|c| c["aud"] = json!("chatseal"))),
        (
            "aud a list without the directory",
            with(&|c| c["aud"] = json!(["other"])),
        ),
        (
            "missing aud",
            with(&|c| {
                c.as_object_mut().unwrap().remove("aud");
            }),
        ),
        (
            "missing sub",
            with(&|c| {
                c.as_object_mut().unwrap().remove("sub");
            }),
        ),
        ("empty sub", with(&|c| c["sub"] = json!(""))),
        (
            "sub with a control character",
            with(&|c| c["sub"] = json!("ali\u{7}ce")),
        ),
        (
            "sub over 256 bytes",
            with(&|c| c["sub"] = json!("a".repeat(257))),
        ),
        ("sub a number", with(&|c| c["sub"] = json!(42))),
        ("not a JWT", "hello".into()),
        ("two segments", format!("{h}.{p}")),
        ("garbage base64", "%%%.%%%.%%%".into()),
    ];
    let ask = json!({"identities": ["alice"]});
    assert_eq!(
        s.call("POST", "/v2/cards/lookup", Some(&good), Some(&ask))
            .await
            .0,
        200
    );
    let leeway = with(&|c| {
        c["iat"] = json!(now - 3600);
        c["exp"] = json!(now - 30);
    });
    assert_eq!(
        s.call("POST", "/v2/cards/lookup", Some(&leeway), Some(&ask))
            .await
            .0,
        200,
        "within the leeway"
    );
    for (why, token) in &cases {
        for (method, path, body) in [
            ("POST", "/v2/cards/lookup", Some(&ask)),
            ("GET", "/v2/backup", None),
        ] {
            let (status, resp) = s.call(method, path, Some(token), body).await;
            assert_eq!(
                (status, error_code(status, &resp).as_str()),
                (401, "Unauthorized"),
                "{why}: {resp}"
            );
        }
    }
    // No header, and other schemes.
    assert_eq!(
        s.refusal("POST", "/v2/cards/lookup", None, Some(&ask))
            .await,
        (401, "Unauthorized")
    );
    let resp = s
        .http
        .post(s.url("/v2/cards/lookup"))
        .header("authorization", format!("Basic {good}"))
        .json(&ask)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["www-authenticate"],
        "Bearer realm=\"chatseal-directory\""
    );
    assert_eq!(resp.status(), 401);
}

async fn bad_input_is_always_a_4xx(backend: Backend) {
    let Some((_db, app, s)) = setup(backend).await else {
        return;
    };
    let t = app.token("alice");
    let json_ct = Some("application/json");
    let big = format!("{{\"card\": \"{}\"}}", "A".repeat(70 * 1024)).into_bytes();
    let long_identity = format!("/v2/cards/{}/history", "a".repeat(257));
    let long_id = format!("/v2/cards/by-id/{}", "0".repeat(33));
    type Case<'a> = (&'a str, &'a str, Option<&'a str>, Vec<u8>, u16);
    let cases: Vec<Case> = vec![
        ("POST", "/v2/cards", json_ct, b"{".to_vec(), 400),
        ("POST", "/v2/cards", json_ct, b"".to_vec(), 400),
        ("POST", "/v2/cards", json_ct, b"null".to_vec(), 400),
        ("POST", "/v2/cards", json_ct, b"[]".to_vec(), 400),
        ("POST", "/v2/cards", json_ct, b"{\"card\": 5}".to_vec(), 400),
        (
            "POST",
            "/v2/cards",
            json_ct,
            b"{\"card\": null}".to_vec(),
            400,
        ),
        ("POST", "/v2/cards", json_ct, b"{}".to_vec(), 400),
        (
            "POST",
            "/v2/cards",
            json_ct,
            b"{\"card\": \"csc1.AA\", \"extra\": 1}".to_vec(),
            400,
        ),
        ("POST", "/v2/cards", json_ct, vec![0xff, 0xfe, 0x00], 400),
        (
            "POST",
            "/v2/cards",
            None,
            b"{\"card\": \"x\"}".to_vec(),
            415,
        ),
        (
            "POST",
            "/v2/cards",
            Some("text/plain"),
            b"{\"card\": \"x\"}".to_vec(),
            415,
        ),
        ("POST", "/v2/cards", json_ct, big.clone(), 413),
        (
            "POST",
            "/v2/cards?replace=maybe",
            json_ct,
            b"{\"card\": \"x\"}".to_vec(),
            400,
        ),
        (
            "POST",
            "/v2/cards/lookup",
            json_ct,
            b"{\"identities\": \"alice\"}".to_vec(),
            400,
        ),
        (
            "POST",
            "/v2/cards/lookup",
            json_ct,
            b"{\"identities\": [1, 2]}".to_vec(),
            400,
        ),
        (
            "POST",
            "/v2/cards/lookup",
            json_ct,
            b"{\"identities\": [\"\"]}".to_vec(),
            400,
        ),
        (
            "POST",
            "/v2/cards/lookup",
            json_ct,
            b"{\"identities\": [\"a\\u0000b\"]}".to_vec(),
            400,
        ),
        (
            "POST",
            "/v2/cards/lookup",
            json_ct,
            b"{\"ids\": []}".to_vec(),
            400,
        ),
        ("POST", "/v2/cards/lookup", json_ct, big.clone(), 413),
        (
            "PUT",
            "/v2/backup",
            json_ct,
            b"{\"backup\": [1]}".to_vec(),
            400,
        ),
        (
            "PUT",
            "/v2/backup",
            json_ct,
            b"{\"backup\": \"csb1.\\ud800\"}".to_vec(),
            400,
        ),
        ("PUT", "/v2/backup", json_ct, big, 413),
        ("GET", "/v2/cards/%FF%FE/history", None, vec![], 400),
        ("GET", &long_identity, None, vec![], 400),
        ("GET", "/v2/cards/a%0Ab/history", None, vec![], 400),
        ("GET", "/v2/cards/by-id/%FF", None, vec![], 400),
        ("GET", &long_id, None, vec![], 400),
        ("PATCH", "/v2/cards", json_ct, b"{}".to_vec(), 405),
        ("GET", "/v2/cards", None, vec![], 405),
        // Version 1 was never deployed and is gone (PROTOCOL v2).
        ("GET", "/v1/cards", None, vec![], 404),
        ("POST", "/v1/cards", json_ct, b"{}".to_vec(), 404),
        ("POST", "/v1/shares", json_ct, b"{}".to_vec(), 404),
        ("POST", "/v2/shares", json_ct, b"{}".to_vec(), 400),
        ("GET", "/v2/shares", None, vec![], 400),
        ("PUT", "/v2/shares", json_ct, b"{}".to_vec(), 405),
    ];
    for (method, path, ct, body, expected) in cases {
        let (status, resp) = s.raw(method, path, Some(&t), ct, body).await;
        error_code(status, &resp);
        assert_eq!(status, expected, "{method} {path}: {resp}");
    }
    // The same without a token: still the error shape, never a 5xx.
    let (status, resp) = s
        .raw("POST", "/v2/cards", None, json_ct, b"{".to_vec())
        .await;
    assert_eq!(
        (status, error_code(status, &resp).as_str()),
        (401, "Unauthorized")
    );
}

async fn concurrent_rotations_keep_one_current(backend: Backend) {
    let Some((_db, app, s)) = setup(backend).await else {
        return;
    };
    let carol = User::new("carol");
    let t = app.token("carol");
    let c1 = carol.card(None);
    s.call("POST", "/v2/cards", Some(&t), Some(&publish_body(&c1)))
        .await;
    // Eight devices rotate from c1 at once: exactly one wins, the rest get 409
    // `not_current`. On PostgreSQL they go through two servers on the one database (the
    // several-servers setup), so the transaction, not a lock in one process, decides.
    let rotations: Vec<_> = (0..8).map(|_| carol.new_card(Some(c1.id()))).collect();
    let second = match backend {
        Backend::Postgres => Some(Server::start(&_db.url, &app, &[]).await),
        Backend::Sqlite => None,
    };
    let servers = std::sync::Arc::new([Some(s), second]);
    let mut tasks = Vec::new();
    for (i, card) in rotations.into_iter().enumerate() {
        let (servers, t) = (servers.clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            let s = servers[i % 2].as_ref().or(servers[0].as_ref()).unwrap();
            let (status, body) = s
                .call("POST", "/v2/cards", Some(&t), Some(&publish_body(&card)))
                .await;
            if status != 201 {
                assert_eq!(error_code(status, &body), "not_current");
            }
            status
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses.sort_unstable();
    let s = servers[0].as_ref().unwrap();
    let (_, body) = s
        .call("GET", "/v2/cards/carol/history", Some(&t), None)
        .await;
    eprintln!("{statuses:?} {:#}", body["entries"]);
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409]);
    assert_eq!(body["cards"].as_array().unwrap().len(), 2);
    let current: Vec<_> = body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["current"] == json!(true))
        .collect();
    assert_eq!(current.len(), 1);
}

fn history_ids(body: &Value) -> Vec<String> {
    body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["card_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn rotations_must_link_to_the_current_card(backend: Backend) {
    let Some((_db, app, s)) = setup(backend).await else {
        return;
    };
    let dana = User::new("dana");
    let mut dana2 = User::new("dana");
    let t = app.token("dana");
    let c1 = dana.card(None);
    assert_eq!(
        s.call("POST", "/v2/cards", Some(&t), Some(&publish_body(&c1)))
            .await
            .0,
        201
    );
    // Signed only by the new key (rotation_sig by it, not by c1's): 400 `bad_rotation`,
    // the failed signature named in the message.
    let forged = dana.forged_rotation(c1.id());
    let (status, body) = s
        .call("POST", "/v2/cards", Some(&t), Some(&publish_body(&forged)))
        .await;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (400, "bad_rotation")
    );
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("BadSignature"));
    // Older than the card it rotates from: also `bad_rotation` (Malformed in §2's terms).
    let fresh = chatseal::proto::IdentityKeys::generate(&mut rand_core::OsRng);
    let older = chatseal::proto::Card::create(
        &fresh,
        "dana",
        c1.created_at() - 1,
        Some(chatseal::proto::Rotation {
            prev_card_id: c1.id(),
            prev_keys: &dana.keys,
        }),
    )
    .unwrap();
    let (status, body) = s
        .call("POST", "/v2/cards", Some(&t), Some(&publish_body(&older)))
        .await;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (400, "bad_rotation")
    );
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Malformed"));
    // A prev_card_id that names no card: 409 `not_current`.
    let nowhere = dana.new_card(Some(chatseal::proto::CardId([0x5a; 16])));
    assert_eq!(
        s.refusal("POST", "/v2/cards", Some(&t), Some(&publish_body(&nowhere)))
            .await,
        (409, "not_current")
    );
    // One that names another identity's current card: 409 `not_current`, even when
    // signed by that card's key.
    let erin = User::new("erin");
    let te = app.token("erin");
    let e1 = erin.card(None);
    s.call("POST", "/v2/cards", Some(&te), Some(&publish_body(&e1)))
        .await;
    let across = support::rotated_card(&fresh, "dana", Some((e1.id(), &erin.keys)));
    assert_eq!(
        s.refusal("POST", "/v2/cards", Some(&t), Some(&publish_body(&across)))
            .await,
        (409, "not_current")
    );
    let (_, body) = s
        .call("GET", "/v2/cards/dana/history", Some(&t), None)
        .await;
    assert_eq!(
        history_ids(&body),
        [c1.id().to_string()],
        "nothing refused was stored"
    );

    // A chain of real rotations, each signed by the key before it.
    let c2 = support::rotated_card(&dana2.keys, "dana", Some((c1.id(), &dana.keys)));
    let (status, body) = s
        .call("POST", "/v2/cards", Some(&t), Some(&publish_body(&c2)))
        .await;
    assert_eq!((status, body["epoch"].clone()), (201, json!(0)));
    // A retry of the rotation is idempotent.
    assert_eq!(
        s.call("POST", "/v2/cards", Some(&t), Some(&publish_body(&c2)))
            .await
            .0,
        200
    );
    // Naming c2 but signed by c1's (older) key: it does not link, 400.
    let by_old_key = support::rotated_card(&fresh, "dana", Some((c2.id(), &dana.keys)));
    assert_eq!(
        s.refusal(
            "POST",
            "/v2/cards",
            Some(&t),
            Some(&publish_body(&by_old_key))
        )
        .await,
        (400, "bad_rotation")
    );
    let c3 = dana2.rotate(c2.id());
    assert_eq!(
        s.call("POST", "/v2/cards", Some(&t), Some(&publish_body(&c3)))
            .await
            .0,
        201
    );
    let (_, body) = s
        .call("GET", "/v2/cards/dana/history", Some(&t), None)
        .await;
    assert_eq!(
        history_ids(&body),
        [
            c1.id().to_string(),
            c2.id().to_string(),
            c3.id().to_string()
        ]
    );
    assert!(body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["replaced"] == json!(false)));
    // Only the identity's own token may publish it.
    assert_eq!(
        s.refusal(
            "POST",
            "/v2/cards",
            Some(&te),
            Some(&publish_body(&dana2.rotate(c3.id())))
        )
        .await,
        (403, "Forbidden")
    );
}

async fn a_replacement_is_a_new_chain_recorded_in_history(backend: Backend) {
    let Some((_db, app, s)) = setup(backend).await else {
        return;
    };
    let mut fay = User::new("fay");
    let t = app.token("fay");
    let c1 = fay.card(None);
    s.call("POST", "/v2/cards", Some(&t), Some(&publish_body(&c1)))
        .await;
    // The key of c1 is lost: a new chain needs ?replace=true…
    let mut lost = User::new("fay");
    let r1 = lost.card(None);
    assert_eq!(
        s.refusal("POST", "/v2/cards", Some(&t), Some(&publish_body(&r1)))
            .await,
        (409, "Conflict")
    );
    let (status, body) = s
        .call(
            "POST",
            "/v2/cards?replace=true",
            Some(&t),
            Some(&publish_body(&r1)),
        )
        .await;
    assert_eq!(
        (status, body["card_id"].as_str()),
        (201, Some(r1.id().to_string().as_str()))
    );
    // …and the old chain is over: a rotation from c1 is not current any more.
    assert_eq!(
        s.refusal(
            "POST",
            "/v2/cards",
            Some(&t),
            Some(&publish_body(&fay.rotate(c1.id())))
        )
        .await,
        (409, "not_current")
    );
    // The new chain rotates as usual.
    let r2 = lost.rotate(r1.id());
    assert_eq!(
        s.call("POST", "/v2/cards", Some(&t), Some(&publish_body(&r2)))
            .await
            .0,
        201
    );
    // History shows the replacement: `replaced` on the card that started the new chain.
    let (status, body) = s
        .call(
            "GET",
            "/v2/cards/fay/history",
            Some(&app.token("gus")),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["cards"],
        json!([c1.to_text(), r1.to_text(), r2.to_text()])
    );
    let flags: Vec<(bool, bool)> = body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["replaced"].as_bool().unwrap(),
                e["current"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(flags, [(false, false), (true, false), (false, true)]);
    // A replacement with no current card (after a revocation) is a plain first card.
    s.call("DELETE", "/v2/cards", Some(&t), None).await;
    let n1 = User::new("fay").card(None);
    assert_eq!(
        s.call(
            "POST",
            "/v2/cards?replace=true",
            Some(&t),
            Some(&publish_body(&n1))
        )
        .await
        .0,
        201
    );
    let (_, body) = s.call("GET", "/v2/cards/fay/history", Some(&t), None).await;
    assert_eq!(body["entries"][3]["replaced"], json!(false));
}
