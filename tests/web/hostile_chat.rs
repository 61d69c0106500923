//! A hostile chat server: a message moved, relabelled or altered fails, typed.

use super::*;

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
    let decrypted = || field(&bob.stats(), "decrypted").as_f64().unwrap();
    let mut text = String::new();
    // A one-to-one message (csp2.) and one to two others (csm2.).
    let two = [bob_id.as_str(), carol_id.as_str()];
    let kinds = [("csp2.", "csm2.", &two[..1]), ("csm2.", "csg2.", &two[..])];
    for (kind, other, recipients) in kinds {
        // A text whose base64 has both `-` and `_` (so that the standard alphabet differs).
        for _ in 0..20 {
            text = wait(alice.encrypt(secret.into(), to(recipients, "room-1")))
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
        let prefix = &text[..5];
        assert_eq!(prefix, kind, "{recipients:?}");
        let body = &text[5..];
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
            if let Some(cut) = text.get(..n) {
                variants.push((format!("truncated to {n}"), cut.to_owned()));
            }
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
            ("padded with =", format!("{prefix}{body}=")),
            ("padded with ==", format!("{prefix}{body}==")),
            (
                "padded to a multiple of 4",
                format!("{prefix}{body}{}", "=".repeat((4 - body.len() % 4) % 4 + 4)),
            ),
            ("standard alphabet", format!("{prefix}{standard}")),
            ("wrapped at 76 columns", format!("{prefix}{wrapped}")),
            ("a trailing newline", format!("{text}\n")),
            ("a leading space", format!(" {text}")),
            ("a trailing space", format!("{text} ")),
            (
                "a space inside",
                format!("{prefix}{} {}", &body[..middle], &body[middle..]),
            ),
            (
                "a zero-width space inside",
                format!("{prefix}{}\u{200b}{}", &body[..middle], &body[middle..]),
            ),
            (
                "an upper-case prefix",
                format!("{}{body}", prefix.to_uppercase()),
            ),
            ("a mixed-case prefix", format!("C{}{body}", &prefix[1..])),
            ("another kind's prefix", format!("{other}{body}")),
            ("no prefix", body.to_owned()),
            ("a doubled prefix", format!("{prefix}{text}")),
            (
                "percent-encoded",
                text.replace('-', "%2D").replace('_', "%5F"),
            ),
            ("twice", format!("{text}{body}")),
            (
                "base64 of the text",
                format!("{prefix}{}", B64U.encode(text.as_bytes())),
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
                format!("{prefix}{}", B64U.encode(&b)),
            ));
        };
        for i in 0..bytes.len() {
            flip(i, (i % 8) as u8);
        }
        let tag = bytes.len() - 16;
        // The magic, the stanza count (csm2.) or the message id (csp2.), and the tag.
        let fields = if kind == "csm2." { 36..38 } else { 36..52 };
        for i in (0..4).chain(fields).chain(tag..bytes.len()) {
            for bit in 0..8 {
                if bit != (i % 8) as u8 {
                    flip(i, bit);
                }
            }
        }
        // Every byte once, and every bit of the magic, the fields and the tag.
        assert!(
            variants.len() > bytes.len() + 150,
            "{} variants of {} bytes",
            variants.len(),
            bytes.len()
        );
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
        assert_eq!(decrypted(), before, "no altered {kind} copy was read");
        console_log!(
            "{} altered copies refused in {:.0} ms: {codes:?}",
            variants.len(),
            field(&all, "ms").as_f64().unwrap()
        );
    }
    let before = decrypted();

    // 10 MB of text is refused before any decoding, and the page stays responsive.
    let ten_mb = 10_000_000;
    for (what, huge) in [
        (
            "10 MB after the prefix",
            format!("csp2.{}", "A".repeat(ten_mb)),
        ),
        (
            "a real message and 10 MB more",
            format!("{text}{}", "A".repeat(ten_mb)),
        ),
        (
            "a 10 MB group message",
            format!("csg2.{}", "A".repeat(ten_mb)),
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
