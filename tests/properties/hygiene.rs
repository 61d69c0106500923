//! Secret hygiene: `Debug` (and `Display`) never shows a secret key or a plaintext.

use super::*;

/// Ways a 32-byte secret could show up in text: hex (either case, whole or any 8-byte
/// window), `Debug` of the array (decimal or hex), base64url.
fn secret_forms(secret: &[u8; 32]) -> Vec<String> {
    let mut forms = vec![
        hex::encode(secret),
        hex::encode_upper(secret),
        format!("{secret:?}"),
        format!("{secret:x?}"),
        format!("{secret:#?}"),
        b64u_encode(secret),
    ];
    forms.extend(secret.windows(8).map(hex::encode));
    forms
}

/// Ways a plaintext could show up: itself, any 12-byte window of it, hex, `Debug` of its
/// bytes (the first eight, without the closing bracket), base64url.
fn plaintext_forms(plaintext: &[u8]) -> Vec<String> {
    let mut forms = vec![
        hex::encode(plaintext),
        b64u_encode(plaintext),
        format!("{:?}", &plaintext[..8])
            .trim_end_matches(']')
            .to_owned(),
    ];
    forms.extend(
        plaintext
            .windows(12)
            .map(|w| String::from_utf8_lossy(w).into_owned()),
    );
    forms
}

#[test]
fn debug_never_shows_secret_keys_or_plaintext() {
    let mut rng = rng(0xdeb);
    let alice = new_keyring(&mut rng, "alice", 2);
    let bob = new_keyring(&mut rng, "bob", 1);
    let eve = new_keyring(&mut rng, "eve", 1);
    let plaintext = b"PLAINTEXT-canary-6b1f: the lab results are ready".as_slice();
    let context = "room-7";

    let mut needles: Vec<String> = plaintext_forms(plaintext);
    for keyring in [&alice, &bob] {
        for entry in keyring.entries() {
            needles.extend(secret_forms(&entry.keys().sign_seed()));
            needles.extend(secret_forms(&entry.keys().enc_sk()));
        }
    }

    let alice_card = alice.current().card();
    let text = envelope::encrypt(
        &mut rng,
        alice.current(),
        &[bob.current().card()],
        &Content {
            content_type: ContentType::Text,
            sent_at: 1,
            context,
            head_epoch: 0,
            head_root: [0; 32],
            data: plaintext,
        },
    )
    .unwrap();
    let message = decrypt_as(&text, &bob, alice_card, Some("alice"), Some(context)).unwrap();
    assert_eq!(message.data, plaintext);
    let parsed = Envelope::parse(&text).unwrap();
    let opened = parsed.open(&bob).unwrap();
    let keys = IdentityKeys::from_secrets(
        &alice.current().keys().sign_seed(),
        &alice.current().keys().enc_sk(),
    );

    // One error of each kind, from real failures.
    let mut tampered = strip_text(&text, "csm2.");
    *tampered.last_mut().unwrap() ^= 1;
    let mut bad_card = alice_card.to_bytes().to_vec();
    *bad_card.last_mut().unwrap() ^= 1;
    let mut bad_keyring = alice.encode().unwrap().to_vec();
    *bad_keyring.last_mut().unwrap() ^= 0x01; // enc_sk bit 248 (not one X25519 clamps)
    let errors: Vec<Error> = vec![
        decrypt_as("csm2.!", &bob, alice_card, None, None).unwrap_err(),
        decrypt_as(&text, &eve, alice_card, None, None).unwrap_err(),
        decrypt_as(&text_form("csm2.", &tampered), &bob, alice_card, None, None).unwrap_err(),
        decrypt_as(&text, &bob, eve.current().card(), None, None).unwrap_err(),
        decrypt_as(&text, &bob, alice_card, Some("mallory"), None).unwrap_err(),
        decrypt_as(&text, &bob, alice_card, None, Some("room-8")).unwrap_err(),
        Card::decode(&bad_card).unwrap_err(),
        Keyring::decode(&bad_keyring).unwrap_err(),
        KeyringEntry::new(
            alice_card.clone(),
            IdentityKeys::from_secrets(&[1; 32], &[2; 32]),
        )
        .unwrap_err(),
    ];
    let codes: Vec<&str> = errors.iter().map(Error::code).collect();
    assert_eq!(
        codes,
        [
            "Malformed",
            "NotARecipient",
            "Integrity",
            "UnknownSender",
            "SenderMismatch",
            "ContextMismatch",
            "BadSignature",
            "Malformed",
            "InvalidArgument"
        ]
    );

    let mut shown = vec![
        format!("{keys:?}"),
        format!("{keys:#?}"),
        format!("{:?}", alice.current()),
        format!("{:#?}", alice.current()),
        format!("{alice:?}"),
        format!("{alice:#?}"),
        format!("{bob:?}"),
        format!("{message:?}"),
        format!("{message:#?}"),
        format!("{parsed:?}"),
        format!("{opened:?}"),
    ];
    for e in &errors {
        shown.push(format!("{e:?}"));
        shown.push(e.to_string());
    }
    for s in &shown {
        for needle in &needles {
            assert!(!s.contains(needle.as_str()), "{s:?} shows {needle:?}");
        }
    }
    // The check has teeth: the forms are found where they are.
    assert!(format!("{:?}", plaintext).contains(&needles[2]));
    assert!(format!("{:?}", message.data).contains(&needles[2]));
}
