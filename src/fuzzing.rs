//! What the fuzz targets in `fuzz/` run, one function per target, so that the same code
//! also replays every input in `tests/fuzz-regressions/` as a normal test
//! (`tests/fuzz_regressions.rs`). Each function takes arbitrary bytes and must return
//! without panicking whatever they are: every decoder of the protocol refuses bad input
//! with an error. [`seeds`] gives each target's starting corpus: valid inputs for the
//! fixed keys below, so that the fuzzer starts past the signature and AEAD checks.
#![doc(hidden)]

use std::sync::OnceLock;

use rand_core::{RngCore, SeedableRng};

use crate::client::groups::Sessions;
use crate::proto::envelope::{self, Content, ContentType, Envelope};
use crate::proto::group::{self, ChainKey, GroupMessage, SessionId, Share};
use crate::proto::link::{self, LinkQr, LinkRequest};
use crate::proto::pairwise::{self, Pairwise};
use crate::proto::{backup, passkey, Card, CardId, IdentityKeys, Keyring, KeyringEntry};

/// The context every fixed message is bound to.
pub const CONTEXT: &str = "fuzz:channel";

/// The fixed world the targets decrypt in: alice sends, bob reads; one group session of
/// alice's, shared with bob at index 0.
pub struct Fixture {
    /// The sender.
    pub alice: KeyringEntry,
    /// The reader's keyring.
    pub bob: Keyring,
    /// The cards the reader can resolve.
    pub directory: Vec<Card>,
    /// alice's session, and its share for bob.
    pub session_id: SessionId,
    /// The chain key at index 0.
    pub chain_key: ChainKey,
    /// The share of the session for bob (§11 text).
    pub share: String,
    /// The same share, opened and accepted by bob.
    pub accepted: group::AcceptedShare,
    /// alice's keyring (the sender reading its own pairwise messages).
    pub alice_keyring: Keyring,
}

fn entry(sign: u8, enc: u8, identity: &str) -> KeyringEntry {
    let keys = IdentityKeys::from_secrets(&[sign; 32], &[enc; 32]);
    // Fixed, valid inputs: card creation cannot fail for them.
    let card = Card::create(&keys, identity, 1_767_225_600, None)
        .unwrap_or_else(|_| unreachable!("a valid fixed identity"));
    KeyringEntry::new(card, keys).unwrap_or_else(|_| unreachable!("matching keys"))
}

/// The fixture, built once.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let alice = entry(1, 2, "alice@fuzz");
        let bob = entry(3, 4, "bob@fuzz");
        let directory = vec![alice.card().clone(), bob.card().clone()];
        let session_id = SessionId([5; 16]);
        let chain_key = ChainKey::from_bytes([6; 32]);
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([7; 32]);
        let share = Share {
            session_id,
            index: 0,
            chain_key: chain_key.clone(),
        }
        .seal_to(&mut rng, &alice, bob.card(), CONTEXT, 1)
        .unwrap_or_else(|_| unreachable!("a fixed share seals"));
        let bob = Keyring::new(bob);
        let accepted = group::open_share(&share, &bob, |id: &CardId| {
            directory.iter().find(|c| c.id() == *id).cloned()
        })
        .unwrap_or_else(|_| unreachable!("bob accepts the fixed share"));
        let alice_keyring = Keyring::new(entry(1, 2, "alice@fuzz"));
        Fixture {
            alice,
            alice_keyring,
            bob,
            directory,
            session_id,
            chain_key,
            share,
            accepted,
        }
    })
}

fn resolve(id: &CardId) -> Option<&'static Card> {
    fixture().directory.iter().find(|c| c.id() == *id)
}

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// §2: a card as text and as bytes.
pub fn card(data: &[u8]) {
    if let Some(t) = text(data) {
        let _ = Card::parse(t);
    }
    let _ = Card::decode(data);
}

/// §3: an envelope as text (parsed, then fully decrypted by bob) and as bytes.
pub fn envelope(data: &[u8]) {
    let f = fixture();
    if let Some(t) = text(data) {
        let _ = Envelope::parse(t);
        let _ = envelope::decrypt(t, &f.bob, resolve, Some("alice@fuzz"), Some(CONTEXT));
    }
    if let Ok(env) = Envelope::decode(data.to_vec()) {
        if let Ok(opened) = env.open(&f.bob) {
            let card = resolve(&opened.sender_card_id());
            let _ = opened.verify(card, None, None);
        }
    }
}

/// §11: a pairwise message as text, parsed, then fully decrypted by bob (as its
/// recipient) and by alice (as its sender).
pub fn pairwise(data: &[u8]) {
    let f = fixture();
    let Some(t) = text(data) else {
        return;
    };
    let _ = Pairwise::parse(t);
    let _ = pairwise::decrypt(t, &f.bob, resolve, Some("alice@fuzz"), Some(CONTEXT));
    let _ = pairwise::decrypt(t, &f.alice_keyring, resolve, None, None);
}

/// §9: a group message read with bob's share, and a share offered for alice's session.
pub fn group(data: &[u8]) {
    let f = fixture();
    let Some(t) = text(data) else {
        let _ = Share::decode(data);
        return;
    };
    if let Ok(message) = GroupMessage::parse(t) {
        let accepted = std::slice::from_ref(&f.accepted);
        let from = Some("alice@fuzz");
        let _ = group::decrypt_parsed(&message, accepted, resolve, from, Some(CONTEXT));
        let _ = group::decrypt_parsed(&message, accepted, resolve, None, None);
    }
    // The input as a share of the session: opened, then used on a fixed message.
    if let Ok(share) = group::open_share(t, &f.bob, resolve) {
        if let Ok(message) = GroupMessage::parse(&fixed_group_message(3)) {
            let _ = group::decrypt_parsed(&message, &[share], resolve, None, None);
        }
    }
    let _ = Share::decode(data);
}

fn fixed_group_message(index: u32) -> String {
    let f = fixture();
    group::seal(
        &f.alice,
        f.session_id,
        index,
        &f.chain_key.advance(index),
        &Content {
            content_type: ContentType::Text,
            sent_at: 2,
            context: CONTEXT,
            head_epoch: 0,
            head_root: [0; 32],
            data: b"fixed",
        },
    )
    .unwrap_or_else(|_| unreachable!("a fixed message seals"))
}

/// §4: a backup's structure (the key derivation is Argon2's, at up to 256 MiB a try, so
/// it is not fuzzed) and the keyring inside it.
pub fn backup(data: &[u8]) {
    if let Some(t) = text(data) {
        let _ = backup::Sealed::parse(t);
    }
    let _ = Keyring::decode(data);
}

/// The PRF output the fixed passkey backups are sealed under.
const PRF_OUTPUT: [u8; 32] = [12; 32];

/// §4.1: a passkey backup parsed, then opened with the fixed PRF output (its key
/// derivation is one HKDF, so unlike §4's Argon2 it is fuzzed through).
pub fn passkey(data: &[u8]) {
    if let Some(t) = text(data) {
        let _ = passkey::Sealed::parse(t);
        let _ = passkey::open(t, &PRF_OUTPUT);
    }
}

/// The new device's fixed link request.
fn link_request() -> LinkRequest {
    LinkRequest::from_parts([13; 16], [14; 32])
}

/// §13: the input as a QR payload (the old device's side) and as an offer opened by the
/// fixed request (the new device's).
pub fn link(data: &[u8]) {
    if let Some(t) = text(data) {
        let _ = LinkQr::parse(t);
        let _ = link_request().open(t);
    }
}

/// The client's stored group sessions (sealed at rest, but decoded after unsealing).
pub fn sessions(data: &[u8]) {
    let _ = Sessions::decode_outbound(data);
    let _ = Sessions::default().merge_inbound(data);
}

/// Valid starting inputs for `target` (`card`, `envelope`, `pairwise`, `group`,
/// `backup`, `passkey`, `link`, `sessions`), from the fixed keys and a seeded RNG.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    let f = fixture();
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([8; 32]);
    let bob_card = f.bob.current().card();
    let message = |rng: &mut rand_chacha::ChaCha20Rng, to: &[&Card], data: &[u8]| {
        envelope::seal(
            rng,
            &f.alice,
            to,
            &Content {
                content_type: ContentType::Text,
                sent_at: 3,
                context: CONTEXT,
                head_epoch: 0,
                head_root: [0; 32],
                data,
            },
        )
        .unwrap_or_default()
        .into_bytes()
    };
    match target {
        "card" => f
            .directory
            .iter()
            .flat_map(|c| [c.to_text().into_bytes(), c.to_bytes().to_vec()])
            .collect(),
        "envelope" => vec![
            message(&mut rng, &[bob_card], b"hello"),
            message(&mut rng, &[f.alice.card(), bob_card], &[0x41; 100]),
        ],
        "pairwise" => {
            let to_bob = pairwise::seal(
                &mut rng,
                &f.alice,
                bob_card,
                &Content {
                    content_type: ContentType::Text,
                    sent_at: 3,
                    context: CONTEXT,
                    head_epoch: 0,
                    head_root: [0; 32],
                    data: b"hello",
                },
            )
            .unwrap_or_default();
            vec![to_bob.into_bytes(), f.share.clone().into_bytes()]
        }
        "group" => vec![
            fixed_group_message(0).into_bytes(),
            fixed_group_message(7).into_bytes(),
            f.share.clone().into_bytes(),
            Share {
                session_id: f.session_id,
                index: 1,
                chain_key: f.chain_key.next(),
            }
            .encode()
            .to_vec(),
        ],
        "backup" => {
            let keyring = Keyring::new(entry(1, 2, "alice@fuzz"));
            let encoded = keyring.encode().map(|k| k.to_vec()).unwrap_or_default();
            let mut salt = [0u8; 16];
            rng.fill_bytes(&mut salt);
            let sealed = backup::seal_with(
                &keyring,
                "pw",
                backup::Params {
                    m_kib: 19456,
                    t: 2,
                    p: 1,
                },
                salt,
                [9; 24],
            )
            .unwrap_or_default();
            vec![encoded, sealed.into_bytes()]
        }
        "passkey" => {
            let keyring = Keyring::new(entry(1, 2, "alice@fuzz"));
            let sealed =
                passkey::seal_with(&keyring, b"fuzz-credential", [15; 32], &PRF_OUTPUT, [9; 24])
                    .unwrap_or_default();
            vec![sealed.into_bytes()]
        }
        "link" => {
            let keyring = Keyring::new(entry(1, 2, "alice@fuzz"));
            let qr = link_request().qr();
            let offer = LinkQr::parse(&qr)
                .and_then(|q| link::seal_offer(&mut rng, &q, &keyring))
                .map(|(offer, _code)| offer)
                .unwrap_or_default();
            vec![qr.into_bytes(), offer.into_bytes()]
        }
        "sessions" => {
            let mut sessions = Sessions {
                cursor: "17".into(),
                ..Sessions::default()
            };
            if let Ok(share) = group::open_share(&f.share, &f.bob, resolve) {
                sessions.insert(share);
            }
            let mut outbound =
                crate::client::groups::Outbound::start(&mut rng, f.alice.card().id(), 4);
            outbound.members.insert("bob@fuzz".into(), bob_card.id());
            sessions.outbound.insert(CONTEXT.into(), outbound);
            [sessions.encode_outbound(), sessions.encode_inbound()]
                .into_iter()
                .filter_map(Result::ok)
                .map(|z| z.to_vec())
                .collect()
        }
        _ => Vec::new(),
    }
}

/// What a target runs on one input.
pub type Target = fn(&[u8]);

/// Every target, by name.
pub const TARGETS: [(&str, Target); 8] = [
    ("card", card),
    ("envelope", envelope),
    ("pairwise", pairwise),
    ("group", group),
    ("backup", backup),
    ("passkey", passkey),
    ("link", link),
    ("sessions", sessions),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_are_valid_inputs() {
        let f = fixture();
        for seed in seeds("envelope").iter().take(2) {
            let t = std::str::from_utf8(seed).unwrap_or_default();
            let got = envelope::decrypt(t, &f.bob, resolve, Some("alice@fuzz"), Some(CONTEXT));
            assert!(got.is_ok(), "{got:?}");
        }
        for seed in seeds("pairwise") {
            let t = std::str::from_utf8(&seed).unwrap_or_default();
            assert!(pairwise::decrypt(t, &f.bob, resolve, Some("alice@fuzz"), None).is_ok());
            assert!(pairwise::decrypt(t, &f.alice_keyring, resolve, None, None).is_ok());
        }
        let t = String::from_utf8(seeds("group")[1].clone()).unwrap_or_default();
        let got = group::decrypt(&t, &f.bob, &[&f.share], resolve, None, Some(CONTEXT));
        assert_eq!(got.map(|m| m.data), Ok(b"fixed".to_vec()));
        assert!(seeds("backup").len() == 2 && seeds("sessions").len() == 2);
        let t = String::from_utf8(seeds("passkey")[0].clone()).unwrap_or_default();
        assert!(passkey::open(&t, &PRF_OUTPUT).is_ok());
        let link_seeds = seeds("link");
        let qr = String::from_utf8(link_seeds[0].clone()).unwrap_or_default();
        assert!(LinkQr::parse(&qr).is_ok());
        let offer = String::from_utf8(link_seeds[1].clone()).unwrap_or_default();
        assert!(link_request().open(&offer).is_ok());
        for (name, run) in TARGETS {
            for seed in seeds(name) {
                run(&seed);
            }
        }
    }
}
