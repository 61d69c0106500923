//! §13 device links: links.json, and the link cases of invalid.json.

use super::*;
use chatseal::proto::link::{self, LinkQr, LinkRequest};

/// Computes `(qr, offer, code)` from the other fields of `v`: the new device's request
/// from `link_id` and `e_sk`, the old device's offer with the HPKE ephemeral key
/// `DeriveKeyPair(ikm_e)` (as in messages.json).
pub fn make_link(v: &LinkVector) -> (String, String, String) {
    let keyring = Keyring::from_entries(v.keyring.iter().map(Key::entry).collect()).unwrap();
    let qr = LinkRequest::from_parts(hex_n(&v.link_id), hex32(&v.e_sk)).qr();
    let mut rng = ScriptedRng::new(hex::decode(&v.ikm_e).unwrap());
    let (offer, code) = link::seal_offer(&mut rng, &LinkQr::parse(&qr).unwrap(), &keyring).unwrap();
    assert!(rng.is_exhausted(), "one ikm_e per offer, no more");
    (qr, offer, code)
}

/// The valid links: a keyring of one generation, one of two (a rotation) and one of
/// three.
pub fn links(c: &Cast) -> Vec<LinkVector> {
    let mut g = Gen::new(10);
    let mut make = |keyring: Vec<Key>| {
        let mut v = LinkVector {
            link_id: hex::encode(g.bytes::<16>()),
            e_sk: hex::encode(g.bytes::<32>()),
            ikm_e: hex::encode(g.bytes::<32>()),
            keyring,
            qr: String::new(),
            offer: String::new(),
            code: String::new(),
        };
        (v.qr, v.offer, v.code) = make_link(&v);
        v
    };
    vec![
        make(vec![c.bob.clone()]),
        make(vec![c.alice2.clone(), c.alice.clone()]),
        make(vec![c.alice3.clone(), c.alice2.clone(), c.alice.clone()]),
    ]
}

pub fn check_link(v: &LinkVector) {
    assert_eq!(
        make_link(v),
        (v.qr.clone(), v.offer.clone(), v.code.clone()),
        "inputs → qr, offer, code"
    );
    let request = LinkRequest::from_parts(hex_n(&v.link_id), hex32(&v.e_sk));
    let qr = LinkQr::parse(&v.qr).unwrap();
    assert_eq!(hex::encode(qr.link_id()), v.link_id);
    assert_eq!(qr.e_pk(), request.e_pk());
    // The offer's enc is DeriveKeyPair(ikm_e)'s public key (RFC 9180 §7.1.3).
    let (_, pk) = hpke::kem::X25519HkdfSha256::derive_keypair(&hex32(&v.ikm_e));
    let bytes = unb64(&v.offer, link::TEXT_PREFIX);
    assert_eq!(&bytes[..32], pk.to_bytes().as_slice());
    let offer = request.open(&v.offer).unwrap();
    assert_eq!(offer.code(), v.code);
    assert!(v.code.len() == 6 && v.code.bytes().all(|b| b.is_ascii_digit()));
    check_keyring(offer.keyring(), &v.keyring);
}

/// Invalid offers: every layout rule of §13 on the first vector, HPKE's binding of the
/// key, link id and ciphertext, and every keyring §4 refuses, sealed with the code that
/// seals valid offers.
pub fn invalid_link_vectors(c: &Cast, links: &[LinkVector]) -> Vec<InvalidVector> {
    let mut g = Gen::new(12);
    let mut out = Vec::new();
    let l = &links[0];
    let bytes = unb64(&l.offer, link::TEXT_PREFIX);
    let with = |link_id: &str, e_sk: &str| Needs::Link {
        link_id: link_id.into(),
        e_sk: e_sk.into(),
    };
    let text = |b: &[u8]| format!("{}{}", link::TEXT_PREFIX, b64(b));
    let mut v = |d: &str, input: String, e: &str| {
        out.push(invalid("link", d, input, e, with(&l.link_id, &l.e_sk)));
    };
    v(
        "a passkey backup's prefix (csw1.)",
        l.offer.replacen("csl1.", "csw1.", 1),
        "Malformed",
    );
    v(
        "base64url with a character outside the alphabet",
        format!("{}+", &l.offer[..l.offer.len() - 1]),
        "Malformed",
    );
    v(
        "shorter than its 32-byte enc",
        text(&bytes[..31]),
        "Malformed",
    );
    v("enc only, no ciphertext", text(&bytes[..32]), "Integrity");
    v("shorter than a tag", text(&bytes[..32 + 15]), "Integrity");
    for (what, at) in [("enc", 5), ("ciphertext", 40), ("tag", bytes.len() - 1)] {
        v(
            &format!("tampered {what}"),
            text(&flip(&bytes, at)),
            "Integrity",
        );
    }
    // enc = 1, a point of small order: the DH output is all zero, so nothing opens.
    let mut low = bytes.clone();
    low[..32].fill(0);
    low[0] = 1;
    v(
        "enc of low order (X25519 output all zero)",
        text(&low),
        "Integrity",
    );
    let other = &links[1];
    out.push(invalid(
        "link",
        "opened with another link_id (the same e_sk)",
        l.offer.clone(),
        "Integrity",
        with(&other.link_id, &l.e_sk),
    ));
    out.push(invalid(
        "link",
        "opened with another request's e_sk (the same link_id)",
        l.offer.clone(),
        "Integrity",
        with(&l.link_id, &other.e_sk),
    ));
    for (d, keyring, e) in bad_keyrings(c) {
        let request = LinkRequest::from_parts(g.bytes(), g.bytes());
        let qr = LinkQr::parse(&request.qr()).unwrap();
        let mut rng = ScriptedRng::new(g.bytes::<32>().to_vec());
        let (offer, _) = link::seal_offer_bytes(&mut rng, &qr, &keyring).unwrap();
        out.push(invalid(
            "link",
            d,
            offer,
            e,
            with(
                &hex::encode(request.link_id()),
                &hex::encode(request.e_sk()),
            ),
        ));
    }
    out
}
