//! Secrets never reach `Debug` output or error messages: every type that holds key
//! material or plaintext is printed (`{:?}` and `{:#?}`), and so is every error that the
//! operations on them produce, and none of it contains a private key, a chain key, a file
//! key or the plaintext, in any of the encodings a leak would take (hex, the decimal
//! arrays of a derived `Debug`, base64, base64url, or the text itself).
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::Engine as _;
use chatseal::client::{Decrypted, Identity};
use chatseal::proto::envelope::Content;
use chatseal::proto::file::{self, FileEncryptor, FileKey};
use chatseal::proto::group::{self, ChainKey, SessionId, Share};
use chatseal::proto::{backup, pairwise, Card, ContentType, Keyring};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const PLAINTEXT: &str = "Diagnosis for patient 4711: benign";
const PASSWORD: &str = "correct horse battery staple";

/// Every way `secret` could show up in text.
fn encodings(secret: &[u8]) -> Vec<String> {
    let decimal = |bytes: &[u8]| {
        bytes
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    vec![
        hex::encode(&secret[..12]),
        hex::encode_upper(&secret[..12]),
        decimal(&secret[..6]),
        base64::engine::general_purpose::STANDARD.encode(secret)[..16].to_owned(),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)[..16].to_owned(),
    ]
}

struct Secrets {
    needles: Vec<(String, String)>,
}

impl Secrets {
    fn new() -> Self {
        Secrets {
            needles: Vec::new(),
        }
    }

    fn add(&mut self, what: &str, secret: &[u8]) {
        for e in encodings(secret) {
            self.needles.push((what.to_owned(), e));
        }
    }

    fn add_text(&mut self, what: &str, text: &str) {
        self.needles.push((what.to_owned(), text.to_owned()));
        self.needles
            .push((what.to_owned(), text[..text.len() / 2].to_owned()));
    }

    /// Fails if `printed` (the output of `label`) contains any secret.
    fn check(&self, label: &str, printed: &str) {
        for (what, needle) in &self.needles {
            assert!(
                !printed.contains(needle.as_str()),
                "{label} shows {what} ({needle}): {printed}"
            );
        }
    }

    fn debug(&self, label: &str, value: &impl std::fmt::Debug) {
        self.check(label, &format!("{value:?}"));
        self.check(label, &format!("{value:#?}"));
    }

    fn error(&self, label: &str, error: &(impl std::fmt::Debug + std::fmt::Display)) {
        self.check(label, &error.to_string());
        self.debug(label, error);
    }

    /// Every way reading `text` (`sender`'s message to `reader`) fails, and a bit flipped
    /// in turn through the whole text: whatever the error, it names no secret.
    /// `outsider` is no recipient; `old_card` is the reader's card before a rotation.
    fn failures(
        &self,
        text: &str,
        reader: &Identity,
        outsider: &Identity,
        sender: &Card,
        old_card: &Card,
    ) {
        let sender_card = |_: &_| Some(sender.clone());
        let failures = [
            (
                "wrong sender",
                reader.decrypt(text, sender_card, Some("mallory"), None),
            ),
            (
                "wrong context",
                reader.decrypt(text, sender_card, None, Some("room-2")),
            ),
            ("unknown sender", reader.decrypt(text, |_| None, None, None)),
            (
                "not a recipient",
                outsider.decrypt(text, sender_card, None, None),
            ),
            (
                "another card",
                reader.decrypt(text, |_| Some(old_card.clone()), None, None),
            ),
            (
                "truncated",
                reader.decrypt(&text[..text.len() - 5], |_| None, None, None),
            ),
        ];
        for (label, result) in &failures {
            self.error(label, result.as_ref().err().unwrap());
        }
        let (prefix, body) = text.split_at(5);
        let bytes = chatseal::proto::b64u_decode(body).unwrap();
        for i in (0..bytes.len() * 8).step_by(5) {
            let mut flipped = bytes.clone();
            flipped[i / 8] ^= 1 << (i % 8);
            let altered = format!("{prefix}{}", chatseal::proto::b64u_encode(&flipped));
            if let Err(e) = reader.decrypt(&altered, sender_card, None, None) {
                self.error("a flipped bit", &e);
            }
        }
    }
}

#[test]
fn no_secret_in_debug_output_or_error_messages() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let alice = Identity::generate(&mut rng, "alice@clinic-a", 1_700_000_000).unwrap();
    let mut bob = Identity::generate(&mut rng, "bob@clinic-a", 1_700_000_000).unwrap();
    let bob_first_card = bob.card().clone();
    bob.rotate(&mut rng, 1_700_000_100).unwrap();
    let carol = Identity::generate(&mut rng, "carol@clinic-a", 1_700_000_000).unwrap();

    let mut secrets = Secrets::new();
    for who in [&alice, &bob, &carol] {
        for entry in who.keyring().entries() {
            secrets.add("a signing seed", &entry.keys().sign_seed()[..]);
            secrets.add("an X25519 secret", &entry.keys().enc_sk()[..]);
        }
    }
    secrets.add_text("the plaintext", PLAINTEXT);
    secrets.add_text("the password", PASSWORD);

    // The check itself catches a derived `Debug` of a key, and its hex.
    let seed = alice.keyring().current().keys().sign_seed();
    for leak in [format!("{:?}", &seed[..]), hex::encode(&seed[..])] {
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            secrets.check("probe", &leak)
        }));
        assert!(caught.is_err(), "the check missed {leak}");
    }

    // Keys, keyrings, identities.
    secrets.debug("Identity", &alice);
    secrets.debug("Identity after a rotation", &bob);
    secrets.debug("Keyring", bob.keyring());
    for entry in bob.keyring().entries() {
        secrets.debug("KeyringEntry", entry);
        secrets.debug("IdentityKeys", entry.keys());
    }

    // A message to two others (an envelope), sealed and read; and every way reading it
    // fails.
    let text = alice
        .encrypt(
            &mut rng,
            &[bob.card(), carol.card()],
            ContentType::Text,
            PLAINTEXT.as_bytes(),
            "room-1",
            1_700_000_200_000,
        )
        .unwrap();
    let alice_card = alice.card().clone();
    let read: Decrypted = bob
        .decrypt(
            &text,
            |_| Some(alice_card.clone()),
            Some("alice@clinic-a"),
            Some("room-1"),
        )
        .unwrap();
    assert_eq!(read.text.as_deref(), Some(PLAINTEXT));
    secrets.debug("Decrypted", &read);
    let envelope = chatseal::proto::Envelope::parse(&text).unwrap();
    secrets.debug("Envelope", &envelope);
    let opened = envelope.open(bob.keyring()).unwrap();
    secrets.debug("Opened", &opened);
    let message = opened.verify(Some(&alice_card), None, None).unwrap();
    secrets.debug("Message", &message);
    let content = Content {
        content_type: ContentType::Text,
        sent_at: 1,
        context: "room-1",
        head_epoch: 0,
        head_root: [0; 32],
        data: PLAINTEXT.as_bytes(),
    };
    secrets.debug("Content", &content);

    let eve = Identity::generate(&mut rng, "eve", 1).unwrap();
    secrets.failures(&text, &bob, &eve, &alice_card, &bob_first_card);

    // A one-to-one message (pairwise, §11): the message, the pair key, and every way
    // reading it fails.
    let pair_text = alice
        .encrypt(
            &mut rng,
            &[bob.card()],
            ContentType::Text,
            PLAINTEXT.as_bytes(),
            "room-1",
            1_700_000_200_000,
        )
        .unwrap();
    assert!(pair_text.starts_with(pairwise::TEXT_PREFIX));
    let read = bob
        .decrypt(
            &pair_text,
            |_| Some(alice_card.clone()),
            None,
            Some("room-1"),
        )
        .unwrap();
    assert_eq!(read.text.as_deref(), Some(PLAINTEXT));
    secrets.debug("Decrypted, pairwise", &read);
    let pair_message = pairwise::Pairwise::parse(&pair_text).unwrap();
    secrets.debug("Pairwise", &pair_message);
    let pair_key = pairwise::PairKey::derive(bob.keyring().current().keys(), &alice_card).unwrap();
    secrets.debug("PairKey", &pair_key);
    secrets.failures(&pair_text, &bob, &eve, &alice_card, &bob_first_card);

    // A backup, its parse, and a wrong password.
    let params = backup::Params {
        m_kib: 19456,
        t: 2,
        p: 1,
    };
    let sealed = bob.backup(&mut rng, PASSWORD, params).unwrap();
    let parsed = backup::Sealed::parse(&sealed).unwrap();
    secrets.debug("backup::Sealed", &parsed);
    secrets.error(
        "wrong password",
        &Identity::restore(&sealed, "wrong password").unwrap_err(),
    );
    let restored: Keyring = backup::open(&sealed, PASSWORD).unwrap();
    secrets.debug("restored Keyring", &restored);

    // Group sessions: the chain key and a share.
    let chain = ChainKey::from_bytes([0x5a; 32]);
    secrets.add("a chain key", &[0x5a; 32]);
    secrets.add("a message key", &chain.message_key()[..]);
    secrets.add("the next chain key", &chain.next().message_key()[..]);
    secrets.debug("ChainKey", &chain);
    let session = SessionId([3; 16]);
    let share = Share {
        session_id: session,
        index: 0,
        chain_key: chain.clone(),
    };
    secrets.debug("Share", &share);
    let group_text = group::seal(alice.keyring().current(), session, 0, &chain, &content).unwrap();
    let group_message = group::GroupMessage::parse(&group_text).unwrap();
    secrets.debug("GroupMessage", &group_message);
    secrets.error(
        "a group message before the share",
        &share
            .chain_key_at(0)
            .and_then(|_| {
                Share {
                    index: 5,
                    ..share.clone()
                }
                .chain_key_at(1)
            })
            .unwrap_err(),
    );

    // Files: the key, the descriptor, and a damaged file.
    let key = [0x6b; 32];
    secrets.add("a file key", &key);
    secrets.debug("FileKey", &FileKey::from_bytes(key));
    let (encrypted, descriptor) = file::encrypt(
        FileKey::from_bytes(key),
        PLAINTEXT.as_bytes(),
        "text/plain",
        "notes.txt",
        "",
    )
    .unwrap();
    secrets.debug("Descriptor", &descriptor);
    let mut damaged = encrypted.clone();
    damaged[10] ^= 1;
    secrets.error(
        "a damaged file",
        &file::decrypt(&descriptor, &damaged).unwrap_err(),
    );
    let mut encryptor = FileEncryptor::with_key(FileKey::from_bytes(key));
    let _ = encryptor.update(PLAINTEXT.as_bytes());
    let ciphertext_only = encryptor.finish("", "", "").unwrap().0;
    assert!(!String::from_utf8_lossy(&ciphertext_only).contains(PLAINTEXT));
}
