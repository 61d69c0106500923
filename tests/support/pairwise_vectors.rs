//! Pairwise messages (§11): the valid vectors of `pairwise.json`, and their checks.

use super::*;

/// Computes `text` from the other fields of `v`: the sender's keys and the recipient's
/// card make the pair key.
pub fn make_pairwise(v: &PairwiseVector) -> String {
    let sender = v.sender.entry();
    let recipient = v.recipient.card();
    let key = PairKey::derive(sender.keys(), &recipient).unwrap();
    let data = hex::decode(&v.data).unwrap();
    pairwise::seal_with(
        &key,
        sender.card().id(),
        recipient.id(),
        hex_n(&v.msg_id),
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

/// The valid pairwise vectors: a text, a rotated sender, non-ASCII text with no
/// context, a head, and a note to oneself carrying a session share (§9's own share).
pub fn pairwise_messages(c: &Cast) -> Vec<PairwiseVector> {
    let mut g = Gen::new(7);
    let share = Share {
        session_id: SessionId(g.bytes()),
        index: 0,
        chain_key: ChainKey::from_bytes(g.bytes()),
    };
    let mut make = |sender: &Key,
                    recipient: &Key,
                    ct: ContentType,
                    sent_at: u64,
                    context: &str,
                    data: &[u8]| {
        let mut v = PairwiseVector {
            sender: sender.clone(),
            recipient: recipient.clone(),
            msg_id: hex::encode(g.bytes::<16>()),
            content_type: ct.to_u8(),
            sent_at,
            context: context.into(),
            head_epoch: 0,
            head_root: hex::encode([0u8; 32]),
            data: hex::encode(data),
            text: String::new(),
        };
        v.text = make_pairwise(&v);
        v
    };
    let mut out = vec![
        make(
            &c.alice,
            &c.bob,
            ContentType::Text,
            1_767_500_500_000,
            "dm:alice-bob",
            b"Can you cover my shift on Friday?",
        ),
        make(
            &c.bob,
            &c.alice2,
            ContentType::Json,
            1_782_864_200_000,
            "dm:alice-bob",
            br#"{"reply":"yes","shift":"2026-07-03"}"#,
        ),
        make(
            &c.zoe,
            &c.carol,
            ContentType::Text,
            1_767_500_600_000,
            "",
            "Zoë: 検査結果 — prêts 🩺".as_bytes(),
        ),
        make(
            &c.carol,
            &c.zoe,
            ContentType::Bytes,
            1_767_500_601_000,
            "dm:carol-zoe",
            &[0, 1, 2, 0xfe, 0xff],
        ),
    ];
    out.push(make(
        &c.alice,
        &c.alice,
        ContentType::SessionShare,
        1_767_500_700_000,
        "team:nurses",
        &share.encode(),
    ));
    let mut headed = make(
        &c.alice,
        &c.bob,
        ContentType::Text,
        1_767_500_800_000,
        "dm:alice-bob",
        b"Seen head 1234567.",
    );
    headed.head_epoch = 1_234_567;
    headed.head_root = hex::encode(g.bytes::<32>());
    headed.text = make_pairwise(&headed);
    out.push(headed);
    out
}

/// Both directions (§8): the inputs make the text; the text parses to the inputs and
/// decrypts for its recipient and for its sender.
pub fn check_pairwise(v: &PairwiseVector) {
    assert_eq!(make_pairwise(v), v.text, "inputs → pairwise message");
    let message = pairwise::Pairwise::parse(&v.text).unwrap();
    let header = *message.header();
    let sender = v.sender.card();
    let recipient = v.recipient.card();
    assert_eq!(
        header,
        PairHeader {
            sender_card_id: sender.id(),
            recipient_card_id: recipient.id(),
            msg_id: hex_n(&v.msg_id),
        }
    );
    let bytes = unb64(&v.text, "csp2.");
    assert_eq!(
        (bytes.len() - pairwise::HEADER_LEN - 16) % 32,
        0,
        "senders pad the payload to a multiple of 32"
    );
    for (reader, other) in [(&v.recipient, &sender), (&v.sender, &recipient)] {
        let keyring = Keyring::new(reader.entry());
        let msg = pairwise::decrypt(
            &v.text,
            &keyring,
            |id: &CardId| (*id == other.id()).then(|| other.clone()),
            Some(&v.sender.identity),
            Some(&v.context),
        )
        .unwrap();
        assert_eq!(msg.content_type.to_u8(), v.content_type);
        assert_eq!(hex::encode(&msg.data), v.data);
        assert_eq!(msg.sender, v.sender.identity);
        assert_eq!(msg.sender_card_id, sender.id());
        assert_eq!(msg.sent_at, v.sent_at);
        assert_eq!(msg.msg_id, header.msg_id);
        assert_eq!(msg.context, v.context);
        assert_eq!(msg.head_epoch, v.head_epoch);
        assert_eq!(hex::encode(msg.head_root), v.head_root);
    }
}
