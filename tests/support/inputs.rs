//! From inputs to outputs (the one place each vector's output is computed), and the
//! fixed inputs: the cast of keys and every valid vector of §8.

use super::*;

pub fn make_card(key: &Key) -> CardVector {
    let card = key.card();
    CardVector {
        key: key.clone(),
        card: card.to_text(),
        card_id: card.id().to_string(),
    }
}

/// Computes `envelope` from the other fields of `v`.
pub fn make_envelope(v: &MessageVector) -> String {
    let sender = v.sender.entry();
    let cards: Vec<Card> = v.recipients.iter().map(Key::card).collect();
    let refs: Vec<&Card> = cards.iter().collect();
    let mut rng = ScriptedRng::new(v.ikm_e.iter().flat_map(|h| hex32(h)).collect());
    let data = hex::decode(&v.data).unwrap();
    let content = Content {
        content_type: ContentType::from_u8(v.content_type).unwrap(),
        sent_at: v.sent_at,
        context: &v.context,
        head_epoch: v.head_epoch,
        head_root: hex32(&v.head_root),
        data: &data,
    };
    let text = envelope::seal_with(
        &mut rng,
        &sender,
        &refs,
        &content,
        &hex32(&v.cek),
        hex_n(&v.msg_id),
    )
    .unwrap();
    assert!(rng.is_exhausted(), "one ikm_e per stanza, no more");
    text
}

/// Computes `text` from the other fields of `v`.
pub fn make_group_message(v: &GroupVector) -> String {
    let data = hex::decode(&v.data).unwrap();
    let chain_key = ChainKey::from_bytes(hex32(&v.chain_key)).advance(v.index);
    group::seal(
        &v.sender.entry(),
        SessionId(hex_n(&v.session_id)),
        v.index,
        &chain_key,
        &Content {
            content_type: ContentType::from_u8(v.content_type).unwrap(),
            sent_at: v.sent_at,
            context: &v.context,
            head_epoch: v.head_epoch,
            head_root: hex32(&v.head_root),
            data: &data,
        },
    )
    .unwrap()
}

pub fn make_backup(v: &BackupVector) -> String {
    let keyring = Keyring::from_entries(v.keyring.iter().map(Key::entry).collect()).unwrap();
    let params = backup::Params {
        m_kib: v.m_kib,
        t: v.t,
        p: v.p,
    };
    backup::seal_with(
        &keyring,
        &v.password,
        params,
        hex_n(&v.salt),
        hex_n(&v.nonce),
    )
    .unwrap()
}

pub fn make_safety_number(a: &Key, b: &Key) -> String {
    safety::safety_number(&a.card(), &b.card())
}

// ---------------------------------------------------------------------------------------
// The fixed inputs.

pub(crate) struct Gen {
    rng: ChaCha20Rng,
}

impl Gen {
    pub(crate) fn new(seed: u8) -> Self {
        Gen {
            rng: ChaCha20Rng::from_seed([seed; 32]),
        }
    }
    pub(crate) fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        self.rng.fill_bytes(&mut b);
        b
    }
    pub(crate) fn key(&mut self, identity: &str, created_at: u64, prev: Option<&Key>) -> Key {
        Key {
            identity: identity.into(),
            created_at,
            sign_seed: hex::encode(self.bytes::<32>()),
            enc_sk: hex::encode(self.bytes::<32>()),
            prev_card_id: prev.map(|p| p.card().id().to_string()),
            prev_sign_seed: prev.map(|p| p.sign_seed.clone()),
        }
    }
    pub(crate) fn message(
        &mut self,
        sender: &Key,
        recipients: &[&Key],
        content_type: ContentType,
        sent_at: u64,
        context: &str,
        data: &[u8],
    ) -> MessageVector {
        let mut v = MessageVector {
            sender: sender.clone(),
            recipients: recipients.iter().map(|k| (*k).clone()).collect(),
            cek: hex::encode(self.bytes::<32>()),
            msg_id: hex::encode(self.bytes::<16>()),
            ikm_e: recipients
                .iter()
                .map(|_| hex::encode(self.bytes::<32>()))
                .collect(),
            content_type: content_type.to_u8(),
            sent_at,
            context: context.into(),
            head_epoch: 0,
            head_root: hex::encode([0u8; 32]),
            data: hex::encode(data),
            envelope: String::new(),
        };
        v.envelope = make_envelope(&v);
        v
    }
}

/// The people of the vectors; alice rotates twice (a rotation of a rotation).
pub struct Cast {
    pub alice: Key,
    pub alice2: Key,
    pub alice3: Key,
    pub bob: Key,
    pub zoe: Key,
    pub carol: Key,
    pub nurses: Vec<Key>,
}

pub fn cast() -> Cast {
    let mut g = Gen::new(1);
    let alice = g.key("alice@clinic-a", 1_767_225_600, None);
    let alice2 = g.key("alice@clinic-a", 1_782_864_000, Some(&alice));
    let bob = g.key("bob@clinic-a", 1_767_312_000, None);
    let zoe = g.key("Zoë Ångström · 看護師", 1_767_398_400, None);
    let carol = g.key("carol@clinic-b", 1_767_484_800, None);
    let nurses = (1..=49)
        .map(|i| g.key(&format!("nurse-{i:02}@clinic-a"), 1_767_500_000 + i, None))
        .collect();
    // Drawn last, so that every other key (and vector) stays as it was.
    let alice3 = g.key("alice@clinic-a", 1_798_761_600, Some(&alice2));
    Cast {
        alice,
        alice2,
        alice3,
        bob,
        zoe,
        carol,
        nurses,
    }
}

pub fn cards(c: &Cast) -> Vec<CardVector> {
    [&c.alice, &c.alice2, &c.bob, &c.zoe, &c.alice3]
        .into_iter()
        .map(make_card)
        .collect()
}

pub fn messages(c: &Cast) -> Vec<MessageVector> {
    let mut g = Gen::new(2);
    let mut team: Vec<&Key> = vec![&c.alice];
    team.extend(c.nurses.iter());
    let binary: Vec<u8> = (0..=255u8).collect();
    let mut out = vec![
        // 1 stanza: a note to self, empty context.
        g.message(
            &c.alice,
            &[&c.alice],
            ContentType::Text,
            1_767_225_601_000,
            "",
            b"Note to self: call the lab.",
        ),
        // 2 stanzas, non-ASCII text.
        g.message(
            &c.alice,
            &[&c.alice, &c.bob],
            ContentType::Text,
            1_767_312_001_250,
            "messaging:clinic-a-42",
            "Zoë: résultats prêts — 検査結果 🩺".as_bytes(),
        ),
        // JSON, sent by bob.
        g.message(
            &c.bob,
            &[&c.bob, &c.alice],
            ContentType::Json,
            1_767_312_002_000,
            "messaging:clinic-a-42",
            br#"{"type":"appointment","at":"2026-12-01T09:30:00Z"}"#,
        ),
        // 50 stanzas.
        g.message(
            &c.alice,
            &team,
            ContentType::Text,
            1_767_500_100_000,
            "team:nurses",
            b"Shift handover at 19:00 in room 4.",
        ),
        // Binary data.
        g.message(
            &c.alice,
            &[&c.alice, &c.bob, &c.zoe],
            ContentType::Bytes,
            1_767_600_000_000,
            "files",
            &binary,
        ),
        // After a rotation; empty data.
        g.message(
            &c.alice2,
            &[&c.alice2, &c.bob],
            ContentType::Text,
            1_782_864_001_000,
            "x",
            b"",
        ),
        // 17 bytes of data and an empty context: fields and signature fill exactly 96 bytes, no padding.
        g.message(
            &c.bob,
            &[&c.bob, &c.alice2],
            ContentType::Text,
            1_782_864_002_000,
            "",
            b"seventeen bytes!!",
        ),
    ];
    // The latest directory head the sender verified (§3, §12): epoch and root signed.
    let mut headed = g.message(
        &c.bob,
        &[&c.bob, &c.alice2],
        ContentType::Text,
        1_782_864_003_000,
        "messaging:clinic-a-42",
        b"Seen head 1234567.",
    );
    headed.head_epoch = 1_234_567;
    headed.head_root = hex::encode(g.bytes::<32>());
    headed.envelope = make_envelope(&headed);
    out.push(headed);
    out
}

pub fn group_messages(c: &Cast) -> Vec<GroupVector> {
    let mut g = Gen::new(5);
    let mut make =
        |sender: &Key, index: u32, ct: ContentType, sent_at: u64, context: &str, data: &[u8]| {
            let mut v = GroupVector {
                sender: sender.clone(),
                session_id: hex::encode(g.bytes::<16>()),
                chain_key: hex::encode(g.bytes::<32>()),
                index,
                content_type: ct.to_u8(),
                sent_at,
                context: context.into(),
                head_epoch: 0,
                head_root: hex::encode([0u8; 32]),
                data: hex::encode(data),
                text: String::new(),
            };
            v.text = make_group_message(&v);
            v
        };
    let mut out = vec![
        // Index 0: the session's first message.
        make(
            &c.alice,
            0,
            ContentType::Text,
            1_767_500_200_000,
            "team:nurses",
            b"Shift handover at 19:00 in room 4.",
        ),
        // Index 1.
        make(
            &c.bob,
            1,
            ContentType::Text,
            1_767_500_201_000,
            "team:nurses",
            b"On my way.",
        ),
        // A large index: 99,999 ratchet steps.
        make(
            &c.alice2,
            99_999,
            ContentType::Json,
            1_782_864_100_000,
            "team:ward-7",
            br#"{"type":"handover","beds":[3,4,9]}"#,
        ),
        // Non-ASCII text, empty context.
        make(
            &c.zoe,
            7,
            ContentType::Text,
            1_767_500_300_000,
            "",
            "Zoë: résultats prêts — 検査結果 🩺".as_bytes(),
        ),
    ];
    // The sender's latest verified head, signed inside the group message.
    let mut headed = make(
        &c.bob,
        2,
        ContentType::Text,
        1_767_500_202_000,
        "team:nurses",
        b"Seen head 1234567.",
    );
    headed.head_epoch = 1_234_567;
    headed.head_root = hex::encode(g.bytes::<32>());
    headed.text = make_group_message(&headed);
    out.push(headed);
    out
}

pub fn backups(c: &Cast) -> Vec<BackupVector> {
    let mut g = Gen::new(3);
    let mut make = |password: &str, (m_kib, t, p): (u32, u32, u32), keyring: Vec<Key>| {
        let mut v = BackupVector {
            password: password.into(),
            m_kib,
            t,
            p,
            salt: hex::encode(g.bytes::<16>()),
            nonce: hex::encode(g.bytes::<24>()),
            keyring,
            backup: String::new(),
        };
        v.backup = make_backup(&v);
        v
    };
    vec![
        // Default parameters; a rotated keyring, newest first.
        make(
            "correct horse battery staple",
            (65536, 3, 1),
            vec![c.alice2.clone(), c.alice.clone()],
        ),
        // An NFD password ("Café" with a combining acute): must open with its NFC form too.
        make("Cafe\u{301} au lait", (19456, 2, 1), vec![c.bob.clone()]),
        // Four lanes, non-ASCII password.
        make("🔐 długie hasło", (19456, 2, 4), vec![c.zoe.clone()]),
    ]
}

pub fn safety_numbers(c: &Cast) -> Vec<SafetyVector> {
    [(&c.alice, &c.bob), (&c.alice2, &c.bob), (&c.bob, &c.zoe)]
        .into_iter()
        .map(|(a, b)| SafetyVector {
            a: a.clone(),
            b: b.clone(),
            safety_number: make_safety_number(a, b),
        })
        .collect()
}
